//! `config-write`: writes the running configuration (as `config-get` renders it) to
//! `filename`, by default the `-c` file; answers the file name and the size written.

use std::sync::Arc;

use nestor_ctrl::{Answer, Command};
use serde_json::{Value, json};

use crate::server::Server;

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let filename = match cmd.arguments.as_ref().and_then(|a| a.get("filename")) {
        None => server.options().config_path.to_string_lossy().into_owned(),
        Some(Value::String(f)) => f.clone(),
        Some(_) => return Answer::error("passed parameter 'filename' is not a string"),
    };
    let text = match serde_json::to_string_pretty(&server.config().to_kea_json()) {
        Ok(t) => t,
        Err(e) => return Answer::error(format!("Error during config-write: {e}")),
    };
    let size = text.len();
    let path = filename.clone();
    match tokio::task::spawn_blocking(move || std::fs::write(&path, text)).await {
        Ok(Ok(())) => Answer::success(format!("Configuration written to {filename} successful"))
            .with_arguments(json!({ "filename": filename, "size": size })),
        Ok(Err(e)) => Answer::error(format!("Unable to open file {filename} for writing: {e}")),
        Err(e) => Answer::error(format!("Error during config-write: {e}")),
    }
}
