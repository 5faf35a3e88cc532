//! `config-test`: validates `{"Dhcp4": {...}}` without applying it.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

/// Kea 2.2's success text.
pub(super) const SANE: &str = "Configuration seems sane. Control-socket, hook-libraries, and D2 configuration were sanity checked, but not applied.";

pub(super) async fn handle(_server: Arc<Server>, cmd: Command) -> Answer {
    match super::parse_dhcp4_arguments(&cmd) {
        Ok(_) => Answer::success(SANE),
        Err(answer) => answer,
    }
}
