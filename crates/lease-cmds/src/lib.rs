//! `nestor-lease-cmds`: the built-in `libdhcp_lease_cmds.so`, Kea 2.2's DHCPv4 lease commands
//! on the server's lease store (Kea ARM "lease_cmds: Lease Commands for Easier Lease
//! Management"; reference `kea-2.2.md` section 2).
//!
//! A configuration that lists `libdhcp_lease_cmds.so` in `hooks-libraries` gets the plugin
//! built by [`constructor`], which registers these commands:
//!
//! | command | does |
//! |---|---|
//! | `lease4-add` | stores a new lease; an address that has one is refused |
//! | `lease4-get` | one lease by `ip-address`, or by `identifier-type` + `identifier` + `subnet-id` |
//! | `lease4-get-all` | every lease, or those of `subnets` |
//! | `lease4-get-page` | a page of leases after `from` (`"start"` or an address), at most `limit` |
//! | `lease4-get-by-hw-address`, `-by-client-id`, `-by-hostname` | leases of a client |
//! | `lease4-del` | deletes one lease, designated as for `lease4-get` |
//! | `lease4-update` | replaces a lease; with `force-create` (HA's lease updates) creates it |
//! | `lease4-wipe` | deletes the leases of a subnet or of all configured subnets |
//! | `lease4-resend-ddns` | answered as Kea answers with DDNS disabled |
//!
//! Arguments are checked in Kea's order and refused with Kea's texts, including the element
//! positions of its parser (computed for the command in Kea's own layout, the one
//! `kea-ctrl-agent` and HA partners send); answers carry Kea's result codes (0
//! success, 1 error, 3 nothing found) and its lease JSON. Changes go to the shared lease store
//! (durable when the command answers, seen by the allocator at once) and update the statistics
//! Kea's plugin updates (`subnet[N].assigned-addresses`, `subnet[N].declined-addresses`,
//! `declined-addresses`).
//!
//! Kea's DHCPv6 commands (`lease6-*`) are not registered: `nestor-dhcp4` is a DHCPv4 server,
//! and an unregistered command gets Kea's result 2 `'lease6-get' command not supported.`.
//!
//! Panic policy: nothing here panics on any command input.

mod args;
mod commands;
mod error;
mod ident;
mod lease_json;
mod lease_parser;
mod lookup;
mod position;
mod stats;

use std::sync::Arc;

use nestor_config::common::HookLibrary;
use nestor_ctrl::CommandHandler;
use nestor_hooks::{Plugin, PluginError, ServerHandle};

/// The library's file name.
pub const LIBRARY: &str = "libdhcp_lease_cmds.so";

/// The commands the plugin registers, in Kea's (alphabetical) order.
pub const COMMANDS: [&str; 11] = [
    "lease4-add",
    "lease4-del",
    "lease4-get",
    "lease4-get-all",
    "lease4-get-by-client-id",
    "lease4-get-by-hostname",
    "lease4-get-by-hw-address",
    "lease4-get-page",
    "lease4-resend-ddns",
    "lease4-update",
    "lease4-wipe",
];

/// The lease commands plugin. It has no callouts, only commands.
#[derive(Debug)]
pub struct LeaseCmds {
    server: ServerHandle,
}

impl LeaseCmds {
    /// The plugin serving `server`'s lease store, configuration, statistics and clock.
    pub fn new(server: ServerHandle) -> Self {
        Self { server }
    }
}

impl Plugin for LeaseCmds {
    fn library(&self) -> &'static str {
        LIBRARY
    }

    fn commands(&self) -> Vec<(&'static str, Arc<dyn CommandHandler>)> {
        commands::all(&self.server)
    }
}

/// The [`PluginConstructor`](nestor_hooks::PluginConstructor) of `libdhcp_lease_cmds.so`:
/// register it with `PluginRegistry::with(BuiltinHook::LeaseCmds, nestor_lease_cmds::constructor)`.
///
/// Kea's library takes no parameters and ignores any it is given; so does this one.
pub fn constructor(
    library: &HookLibrary,
    server: ServerHandle,
) -> Result<Arc<dyn Plugin>, PluginError> {
    tracing::info!(library = %library.library, "LEASE_CMDS_INIT_OK");
    Ok(Arc::new(LeaseCmds::new(server)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::common::BuiltinHook;
    use nestor_ctrl::ResultCode;
    use nestor_hooks::PluginRegistry;
    use serde_json::json;

    #[tokio::test]
    async fn loads_through_the_registry_and_unloads() {
        let server = commands::test_server::server();
        let library = HookLibrary {
            library: format!("/usr/lib/x86_64-linux-gnu/kea/hooks/{LIBRARY}"),
            hook: BuiltinHook::LeaseCmds,
            parameters: None,
            parameters_path: "Dhcp4.hooks-libraries[0].parameters".into(),
        };
        let registry = PluginRegistry::new().with(BuiltinHook::LeaseCmds, constructor);
        let hooks = registry.load(&[library], &server, 0).unwrap();
        let registered: Vec<String> = server.commands().names();
        for name in COMMANDS {
            assert!(registered.iter().any(|n| n == name), "{name} registered");
        }
        let answer = server
            .commands()
            .process(json!({"command": "lease4-get-all"}))
            .await;
        assert_eq!(answer.result, ResultCode::Empty);
        assert_eq!(answer.text.as_deref(), Some("0 IPv4 lease(s) found."));
        let answer = server
            .commands()
            .process(json!({"command": "lease6-get-all"}))
            .await;
        assert_eq!(answer.result, ResultCode::Unsupported);
        hooks.unload();
        assert!(
            !server.commands().contains("lease4-add"),
            "unload removes the commands"
        );
    }

    /// What the commands change is in the lease file when they answer: a server restarted on
    /// the file finds it.
    #[tokio::test]
    async fn changes_are_persisted() {
        use nestor_hooks::{NetworkState, Stats, SystemClock};
        use nestor_leases::{Memfile, MemfileConfig};
        use std::net::Ipv4Addr;

        let dir = tempfile::tempdir().unwrap();
        let file = MemfileConfig::new(dir.path().join("leases4.csv"));
        let template = commands::test_server::server();
        let (store, _) = Memfile::open(&file).unwrap();
        let clock = Arc::new(SystemClock);
        let server = ServerHandle::new(
            Arc::new(store),
            NetworkState::new(),
            Stats::new(clock.clone()),
            clock,
            template.config(),
            Arc::new(nestor_ctrl::CommandRegistry::new()),
        );
        let plugin = LeaseCmds::new(server.clone());
        for (name, handler) in plugin.commands() {
            server
                .commands()
                .register(name, move |c| handler.handle(c))
                .unwrap();
        }
        for command in [
            json!({"command": "lease4-add", "arguments": {"ip-address": "198.18.0.5",
                "hw-address": "aa:bb:cc:dd:ee:05", "hostname": "five"}}),
            json!({"command": "lease4-add", "arguments": {"ip-address": "198.18.0.6",
                "hw-address": "aa:bb:cc:dd:ee:06"}}),
            json!({"command": "lease4-update", "arguments": {"ip-address": "198.18.1.7",
                "hw-address": "aa:bb:cc:dd:ee:07", "force-create": true}}),
            json!({"command": "lease4-update", "arguments": {"ip-address": "198.18.0.5",
                "hw-address": "aa:bb:cc:dd:ee:55"}}),
            json!({"command": "lease4-del", "arguments": {"ip-address": "198.18.0.6"}}),
        ] {
            let answer = server.commands().process(command.clone()).await;
            assert!(answer.is_success(), "{command}: {answer:?}");
        }
        drop(plugin);
        drop(server);

        let (reopened, report) = Memfile::open(&file).unwrap();
        assert_eq!(report.leases, 2);
        let five = reopened.index().get(Ipv4Addr::new(198, 18, 0, 5)).unwrap();
        assert_eq!(five.hwaddr.to_string(), "aa:bb:cc:dd:ee:55");
        assert!(five.hostname.is_empty(), "update replaced every field");
        assert!(reopened.index().get(Ipv4Addr::new(198, 18, 0, 6)).is_none());
        assert_eq!(
            reopened
                .index()
                .get(Ipv4Addr::new(198, 18, 1, 7))
                .unwrap()
                .subnet_id,
            2
        );
    }
}
