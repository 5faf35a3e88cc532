//! `shutdown`: stops the server; the process exits with `exit-value` (default 0).

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::Value;

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let exit = match &cmd.arguments {
        None => 0,
        Some(Value::Object(m)) => match m.get("exit-value") {
            None => 0,
            Some(v) => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
                Some(n) => n,
                None => return Answer::error("parameter 'exit-value' is not an integer"),
            },
        },
        Some(_) => return Answer::error("Argument must be a map"),
    };
    // Answer first: the control socket closes when the shutdown proceeds.
    let s = server.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.request_shutdown(exit);
    });
    Answer::success("Shutting down.")
}
