//! The built-in control commands of `nestor-dhcp4`, one module per command (Kea 2.2's
//! `ControlledDhcpv4Srv` command handlers; reference 3.2). Each module parses its `arguments`
//! into a typed value with Kea's error texts, applies it and answers with Kea's texts.
//! `list-commands` and unknown commands are answered by [`nestor_ctrl::CommandRegistry`]; the
//! `statistic-*` commands come from [`nestor_hooks::register_statistics_commands`].

mod build_report;
mod config_get;
mod config_reload;
mod config_set;
mod config_test;
mod config_write;
mod dhcp_disable;
mod dhcp_enable;
mod leases_reclaim;
mod server_tag_get;
mod shutdown;
mod status_get;
mod version_get;

use std::future::Future;
use std::sync::{Arc, Weak};

use nestor_ctrl::{Answer, Command, CommandRegistry};
use serde_json::{Map, Value};

use crate::server::Server;

pub use build_report::report as build_report;

/// Registers a handler that gets the server. The registry holds a weak reference, so the
/// registry (owned by the server) does not keep the server alive.
fn register<F, Fut>(registry: &CommandRegistry, server: &Arc<Server>, name: &str, handler: F)
where
    F: Fn(Arc<Server>, Command) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let weak: Weak<Server> = Arc::downgrade(server);
    let handler = Arc::new(handler);
    let result = registry.register(name, move |cmd: Command| {
        let weak = weak.clone();
        let handler = handler.clone();
        async move {
            match weak.upgrade() {
                Some(server) => handler(server, cmd).await,
                None => Answer::error("server is shutting down"),
            }
        }
    });
    if let Err(e) = result {
        tracing::error!(target: "kea-dhcp4.commands", "cannot register command {name}: {e}");
    }
}

/// Registers every built-in command.
pub fn register_all(registry: &CommandRegistry, server: &Arc<Server>) {
    register(registry, server, "build-report", build_report::handle);
    register(registry, server, "config-get", config_get::handle);
    register(registry, server, "config-reload", config_reload::handle);
    register(registry, server, "config-set", config_set::handle);
    register(registry, server, "config-test", config_test::handle);
    register(registry, server, "config-write", config_write::handle);
    register(registry, server, "dhcp-disable", dhcp_disable::handle);
    register(registry, server, "dhcp-enable", dhcp_enable::handle);
    register(registry, server, "leases-reclaim", leases_reclaim::handle);
    register(registry, server, "server-tag-get", server_tag_get::handle);
    register(registry, server, "shutdown", shutdown::handle);
    register(registry, server, "status-get", status_get::handle);
    register(registry, server, "version-get", version_get::handle);
}

/// The arguments as a map: absent is an empty map; another type is Kea's error.
fn args_map(
    cmd: &Command,
    not_map: impl FnOnce() -> String,
) -> Result<Option<&Map<String, Value>>, Answer> {
    match &cmd.arguments {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(Answer::error(not_map())),
    }
}

/// `{"Dhcp4": {...}}` of config-set / config-test parsed and validated, with Kea's texts for
/// missing pieces.
fn parse_dhcp4_arguments(cmd: &Command) -> Result<nestor_config::Dhcp4Config, Answer> {
    let Some(args) = &cmd.arguments else {
        return Err(Answer::error("Missing mandatory 'arguments' parameter."));
    };
    let Some(dhcp4) = args.get("Dhcp4") else {
        return Err(Answer::error("Missing mandatory 'Dhcp4' parameter."));
    };
    let text = serde_json::json!({ "Dhcp4": dhcp4 }).to_string();
    match nestor_config::parse_dhcp4_str(&text, "<wire>") {
        Ok(loaded) => Ok(loaded.config),
        Err(errors) => Err(Answer::error(
            errors
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}
