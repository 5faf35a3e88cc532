//! `leases-reclaim`: one reclamation of all expired leases now; `remove` (mandatory boolean)
//! deletes them instead of keeping them as expired-reclaimed.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::Value;

use crate::engine::ReclaimLimits;
use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let remove = match cmd.arguments.as_ref().and_then(|a| a.get("remove")) {
        None => return Answer::error("Missing mandatory 'remove' parameter."),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Answer::error("'remove' parameter expected to be a boolean."),
    };
    // Kea reclaims every expired lease, with no time limit, when asked by command.
    let limits = ReclaimLimits {
        max_leases: 0,
        max_time: None,
        remove,
    };
    match crate::reclaim::reclaim_once(&server, limits).await {
        Ok(_) => Answer::success("Reclamation of expired leases is complete."),
        Err(e) => Answer::error(format!("Reclamation of expired leases failed: {e}")),
    }
}
