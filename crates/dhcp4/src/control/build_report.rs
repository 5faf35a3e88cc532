//! `build-report`: the build's configuration report as `text` (what `-W` prints).

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

/// The report `-W` prints and `build-report` answers.
pub fn report() -> String {
    format!(
        "Nestor DHCPv4 server {}\n  target: {}-{}\n  profile: {}\n  lease backends: memfile\n  hooks: built-in (libdhcp_lease_cmds.so, libdhcp_ha.so)\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

pub(super) async fn handle(_server: Arc<Server>, _cmd: Command) -> Answer {
    Answer::success(report())
}
