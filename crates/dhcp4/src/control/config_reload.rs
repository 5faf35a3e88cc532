//! `config-reload`: re-reads the `-c` file and applies it, as SIGHUP does.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, _cmd: Command) -> Answer {
    match server.reload_file().await {
        Ok(()) => Answer::success("Configuration successful."),
        Err(e) => Answer::error(format!("Config reload failed: {e}")),
    }
}
