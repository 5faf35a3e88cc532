//! `server-tag-get`: `{"server-tag": "..."}` from the running configuration.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::json;

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, _cmd: Command) -> Answer {
    Answer::success_with_arguments(json!({ "server-tag": server.config().server_tag }))
}
