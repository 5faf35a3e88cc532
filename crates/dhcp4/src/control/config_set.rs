//! `config-set`: applies `{"Dhcp4": {...}}` as the running configuration (in memory only; the
//! `-c` file is not changed). A configuration that fails leaves the running one untouched.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let cfg = match super::parse_dhcp4_arguments(&cmd) {
        Ok(cfg) => cfg,
        Err(answer) => return answer,
    };
    match server.reconfigure(Arc::new(cfg)).await {
        Ok(()) => Answer::success("Configuration successful."),
        Err(e) => Answer::error(e.to_string()),
    }
}
