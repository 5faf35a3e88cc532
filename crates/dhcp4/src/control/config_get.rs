//! `config-get`: the running configuration as Kea's fully-defaulted JSON, `{"Dhcp4": {...}}`.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, _cmd: Command) -> Answer {
    Answer::success_with_arguments(server.config().to_kea_json())
}
