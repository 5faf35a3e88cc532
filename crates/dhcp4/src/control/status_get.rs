//! `status-get`: `pid`, `uptime` and `reload` (seconds), `multi-threading-enabled` and the
//! state of the service sockets, no `text` (Kea 2.2). Plugins add their parts (HA) through the
//! registry's `command_processed` hook.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::json;

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, _cmd: Command) -> Answer {
    let cfg = server.config();
    let mut args = json!({
        "pid": std::process::id(),
        "uptime": server.uptime(),
        "reload": server.since_reload(),
        "multi-threading-enabled": cfg.multi_threading.enable,
        "sockets": server.sockets_status(),
    });
    if cfg.multi_threading.enable
        && let Some(m) = args.as_object_mut()
    {
        m.insert(
            "thread-pool-size".into(),
            json!(tokio::runtime::Handle::current().metrics().num_workers()),
        );
        m.insert(
            "packet-queue-size".into(),
            json!(cfg.multi_threading.packet_queue_size),
        );
    }
    Answer::success_with_arguments(args)
}
