//! The agent's own commands (those sent without `service`), with kea-ctrl-agent 2.2's texts:
//! `build-report`, `config-get`, `config-reload`, `config-set`, `config-test`, `config-write`,
//! `list-commands` (from the registry), `shutdown`, `status-get`, `version-get`.
//!
//! Texts checked against the real agent: `Configuration check successful`, `Configuration
//! applied successfully.`, `Missing mandatory 'arguments' parameter.`, `Missing mandatory
//! 'Control-agent' parameter.`, `Configuration written to <file> successful`, `Error during
//! write-config:Unable to open file <file> for writing`, `Argument must be a map`, `Control Agent
//! is shutting down`.

use std::sync::atomic::Ordering;
use std::sync::{PoisonError, Weak};

use nestor_config::AgentConfig;
use nestor_ctrl::{Answer, Command, CommandRegistry};
use serde_json::{Map, Value, json};

use crate::agent::{Inner, Snapshot, sort_keys};

/// Nestor's version, answered by `version-get`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn register(registry: &CommandRegistry, agent: Weak<Inner>) {
    type Handler = fn(&Inner, &Command) -> Answer;
    let commands: [(&str, Handler); 9] = [
        ("build-report", build_report),
        ("config-get", config_get),
        ("config-reload", config_reload),
        ("config-set", config_set),
        ("config-test", config_test),
        ("config-write", config_write),
        ("shutdown", shutdown),
        ("status-get", status_get),
        ("version-get", version_get),
    ];
    for (name, handler) in commands {
        let agent = agent.clone();
        // Names are distinct and none is `list-commands`, so registration cannot fail; a
        // failure would only mean a command missing from `list-commands`, which tests catch.
        let _ = registry.register(name, move |command: Command| {
            let agent = agent.upgrade();
            async move {
                match agent {
                    Some(agent) => handler(&agent, &command),
                    None => Answer::error("the agent is shutting down"),
                }
            }
        });
    }
}

/// `config-get`'s rendering of a configuration: `{"Control-agent": {...}}`, keys sorted.
pub fn render_config(config: &AgentConfig) -> Value {
    let mut agent = Map::new();
    agent.insert("http-host".into(), json!(config.http_host.to_string()));
    agent.insert("http-port".into(), json!(config.http_port));
    let sockets: Map<String, Value> = config
        .control_sockets
        .iter()
        .map(|(service, socket)| (service.clone(), socket.to_kea_json()))
        .collect();
    // Kea renders the map even when it is empty (its parser refuses an empty one on input).
    agent.insert("control-sockets".into(), Value::Object(sockets));
    let hooks: Vec<Value> = config
        .hooks
        .iter()
        .map(|hook| {
            let mut entry = json!({"library": hook.library});
            if let (Some(parameters), Some(map)) = (&hook.parameters, entry.as_object_mut()) {
                map.insert("parameters".into(), parameters.to_json());
            }
            entry
        })
        .collect();
    agent.insert("hooks-libraries".into(), Value::Array(hooks));
    if let (Some(ca), Some(cert), Some(key)) =
        (&config.trust_anchor, &config.cert_file, &config.key_file)
    {
        agent.insert("trust-anchor".into(), json!(ca));
        agent.insert("cert-file".into(), json!(cert));
        agent.insert("key-file".into(), json!(key));
        agent.insert("cert-required".into(), json!(config.cert_required));
    }
    if let Some(auth) = &config.authentication {
        let clients: Vec<Value> = auth
            .clients
            .iter()
            .map(|c| {
                let mut m = Map::new();
                for (key, value) in [
                    ("user", &c.user),
                    ("user-file", &c.user_file),
                    ("password", &c.password),
                    ("password-file", &c.password_file),
                ] {
                    if let Some(value) = value {
                        m.insert(key.into(), json!(value));
                    }
                }
                Value::Object(m)
            })
            .collect();
        let mut a = json!({"type": "basic", "realm": auth.realm, "clients": clients});
        if !auth.directory.is_empty()
            && let Some(map) = a.as_object_mut()
        {
            map.insert("directory".into(), json!(auth.directory));
        }
        agent.insert("authentication".into(), a);
    }
    if !config.loggers.is_empty() {
        let loggers: Vec<Value> = config.loggers.iter().map(|l| l.to_kea_json()).collect();
        agent.insert("loggers".into(), Value::Array(loggers));
    }
    if let Some(context) = &config.user_context {
        agent.insert("user-context".into(), context.clone());
    }
    let mut value = json!({ "Control-agent": agent });
    sort_keys(&mut value);
    value
}

fn config_get(agent: &Inner, _command: &Command) -> Answer {
    let snapshot = agent.current();
    Answer::success_with_arguments(render_config(&snapshot.config))
}

/// The `config-set`/`config-test` argument checks, then the candidate configuration.
fn candidate(command: &Command) -> Result<Snapshot, Answer> {
    let Some(arguments) = &command.arguments else {
        return Err(Answer::error("Missing mandatory 'arguments' parameter."));
    };
    let Some(map) = arguments.as_object() else {
        return Err(Answer::error("'arguments' must be a map"));
    };
    if !map.contains_key("Control-agent") {
        return Err(Answer::error(
            "Missing mandatory 'Control-agent' parameter.",
        ));
    }
    Snapshot::from_text(&arguments.to_string(), "<string>")
        .map_err(|e| Answer::error(e.to_string()))
}

fn config_test(_agent: &Inner, command: &Command) -> Answer {
    match candidate(command) {
        Ok(_) => Answer::success("Configuration check successful"),
        Err(answer) => answer,
    }
}

fn config_set(agent: &Inner, command: &Command) -> Answer {
    match candidate(command) {
        Ok(snapshot) => {
            agent.apply(snapshot);
            tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_COMPLETE server has completed configuration (config-set)");
            Answer::success("Configuration applied successfully.")
        }
        Err(answer) => answer,
    }
}

fn config_reload(agent: &Inner, _command: &Command) -> Answer {
    match agent.reload() {
        Ok(()) => {
            tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_COMPLETE server has completed configuration (config-reload)");
            Answer::success("Configuration applied successfully.")
        }
        Err(err) => {
            tracing::error!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_FILE_LOAD_FAIL {err}");
            Answer::error(format!("Config reload failed: {err}"))
        }
    }
}

fn config_write(agent: &Inner, command: &Command) -> Answer {
    let filename = match command.arguments.as_ref().and_then(|a| a.get("filename")) {
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Answer::error("filename parameter must be a string"),
        None => match &agent.config_path {
            Some(path) => path.display().to_string(),
            None => {
                return Answer::error(
                    "Unable to determine filename. Please specify valid filename in arguments",
                );
            }
        },
    };
    let snapshot = agent.current();
    let mut config = render_config(&snapshot.config);
    // Kea writes an empty `control-sockets` map, and then refuses its own file (`kea-ctrl-agent
    // -t`: "unexpected }, expecting dhcp4 or dhcp6 or d2"); leave it out so that the file loads
    // again, with Nestor and with Kea.
    if let Some(agent) = config
        .get_mut("Control-agent")
        .and_then(Value::as_object_mut)
        && agent
            .get("control-sockets")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
    {
        agent.shift_remove("control-sockets");
    }
    let text = kea_pretty(&config);
    match std::fs::write(&filename, &text) {
        Ok(()) => Answer::success(format!("Configuration written to {filename} successful"))
            .with_arguments(json!({"filename": filename, "size": text.len()})),
        Err(_) => Answer::error(format!(
            "Error during write-config:Unable to open file {filename} for writing"
        )),
    }
}

/// Kea's `Element::prettyPrint` (step 2), the format `config-write` files have: maps one key
/// per line, lists of maps or lists one item per line, other lists inline (`[ 1, 2 ]`), empty
/// containers as `{ }` and `[ ]`, scalars as in compact JSON.
pub fn kea_pretty(value: &Value) -> String {
    let mut out = String::new();
    pretty_into(value, 0, &mut out);
    out
}

fn pretty_into(value: &Value, indent: usize, out: &mut String) {
    const STEP: usize = 2;
    match value {
        Value::Array(items) if items.is_empty() => out.push_str("[ ]"),
        Value::Array(items) => {
            let complex = matches!(items.first(), Some(Value::Array(_) | Value::Object(_)));
            out.push_str(if complex { "[\n" } else { "[ " });
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if complex { ",\n" } else { ", " });
                }
                if complex {
                    out.push_str(&" ".repeat(indent + STEP));
                }
                pretty_into(item, indent + STEP, out);
            }
            if complex {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push(']');
            } else {
                out.push_str(" ]");
            }
        }
        Value::Object(map) if map.is_empty() => out.push_str("{ }"),
        Value::Object(map) => {
            out.push_str("{\n");
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent + STEP));
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                pretty_into(item, indent + STEP, out);
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn shutdown(agent: &Inner, command: &Command) -> Answer {
    let mut exit = 0;
    if let Some(arguments) = &command.arguments {
        let Some(map) = arguments.as_object() else {
            return Answer::error("Argument must be a map");
        };
        if let Some(value) = map.get("exit-value") {
            match value.as_i64().and_then(|v| i32::try_from(v).ok()) {
                Some(v) => exit = v,
                None => return Answer::error("parameter 'exit-value' is not an integer"),
            }
        }
    }
    agent.exit_code.store(exit, Ordering::Relaxed);
    // The server stops accepting and closes each connection after its current response, so
    // this answer still reaches the client.
    agent.shutdown.cancel();
    Answer::success("Control Agent is shutting down")
}

fn status_get(agent: &Inner, _command: &Command) -> Answer {
    let reload = agent
        .last_reload
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .elapsed()
        .as_secs();
    Answer::success_with_arguments(json!({
        "pid": std::process::id(),
        "reload": reload,
        "uptime": agent.started.elapsed().as_secs(),
    }))
}

fn version_get(_agent: &Inner, _command: &Command) -> Answer {
    Answer::success(VERSION).with_arguments(json!({ "extended": extended_version() }))
}

fn extended_version() -> String {
    format!(
        "{VERSION}\nnestor-ctrl-agent (Kea 2.2 Control Agent compatible)\nlinked with:\nrustls (ring provider)\n"
    )
}

fn build_report(_agent: &Inner, _command: &Command) -> Answer {
    Answer::success(format!(
        " \n        Nestor build report\n     -=-=-=-=-=-=-=-=-=-=-=-=-=-=-=-=-=-\n \n Package:\n   Name:              nestor-ctrl-agent\n   Version:           {VERSION}\n   OS Family:         {}\n   Architecture:      {}\n \n TLS:\n   Library:           rustls (ring provider)\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_write_format_is_keas() {
        // Written by kea-ctrl-agent 2.2's `config-write` (348 bytes, no trailing newline).
        let kea = "{\n  \"Control-agent\": {\n    \"control-sockets\": {\n      \"dhcp4\": {\n        \"socket-name\": \"/tmp/caexp/fake4.sock\",\n        \"socket-type\": \"unix\"\n      },\n      \"dhcp6\": {\n        \"socket-name\": \"/tmp/caexp/none6.sock\",\n        \"socket-type\": \"unix\"\n      }\n    },\n    \"hooks-libraries\": [ ],\n    \"http-host\": \"127.0.0.1\",\n    \"http-port\": 18451\n  }\n}";
        assert_eq!(kea.len(), 348);
        let loaded = nestor_config::parse_agent_str(kea, "kea").unwrap();
        assert_eq!(kea_pretty(&render_config(&loaded.config)), kea);
        let lists = json!({"a": [1, "x"], "b": [{"c": {}}, []], "d": []});
        assert_eq!(
            kea_pretty(&lists),
            "{\n  \"a\": [ 1, \"x\" ],\n  \"b\": [\n    {\n      \"c\": { }\n    },\n    [ ]\n  ],\n  \"d\": [ ]\n}"
        );
    }
}
