//! `version-get`: the version as `text`, build details in `arguments.extended` (as Kea's
//! "2.2.0" / multi-line extended version).

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::json;

use crate::server::Server;

/// The extended version (`-V`).
pub(super) fn extended() -> String {
    format!(
        "{}\nnestor\nlinked with:\ntokio\ndatabase:\nMemfile backend 2.1",
        env!("CARGO_PKG_VERSION")
    )
}

pub(super) async fn handle(_server: Arc<Server>, _cmd: Command) -> Answer {
    Answer::success(env!("CARGO_PKG_VERSION")).with_arguments(json!({ "extended": extended() }))
}
