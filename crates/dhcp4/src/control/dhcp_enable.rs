//! `dhcp-enable`: serves DHCP again for an `origin` (`user`, default, or `ha-partner`).

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let args = match super::args_map(&cmd, || {
        "arguments for the 'dhcp-enable' command must be a map".into()
    }) {
        Ok(a) => a,
        Err(answer) => return answer,
    };
    match super::dhcp_disable::parse_origin(args.and_then(|a| a.get("origin"))) {
        Ok(origin) => {
            server.network().enable_all(origin);
            Answer::success("DHCP service successfully enabled")
        }
        Err(answer) => answer,
    }
}
