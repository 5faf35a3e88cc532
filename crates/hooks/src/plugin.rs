//! The plugin interface: one trait method per Kea callout point, each returning an explicit
//! verdict (STYLE habit 6), each with a default that lets the packet continue.
//!
//! Callout points and their Kea 2.2 counterparts (Kea ARM "Hooks Libraries", `dhcp4_srv.cc`):
//!
//! | method | Kea hook | when | what a plugin may do |
//! |---|---|---|---|
//! | [`dhcp4_srv_configured`](Plugin::dhcp4_srv_configured) | `dhcp4_srv_configured` | a configuration was committed | start its service (HA), or refuse it |
//! | [`buffer4_receive`](Plugin::buffer4_receive) | `buffer4_receive` | raw bytes, before parsing | drop; add classes |
//! | [`pkt4_receive`](Plugin::pkt4_receive) | `pkt4_receive` | parsed query, before classification and subnet selection | drop (out of this server's HA scope); add classes (`HA_server1`) |
//! | [`subnet4_select`](Plugin::subnet4_select) | `subnet4_select` | subnet chosen | choose another subnet, no subnet, or drop |
//! | [`lease4_select`](Plugin::lease4_select) | `lease4_select` | an address was picked, before it is committed | edit the lease, or refuse the address |
//! | [`leases4_committed`](Plugin::leases4_committed) | `leases4_committed` | leases written to the store, reply built | park the reply until a future completes (HA's partner ack), or drop it |
//! | [`pkt4_send`](Plugin::pkt4_send) | `pkt4_send` | reply about to be encoded | edit the reply, or drop it |
//! | [`lease4_expire`](Plugin::lease4_expire) | `lease4_expire` | reclamation of an expired lease | skip the server's reclamation of that lease |
//! | [`command_processed`](Plugin::command_processed) | `command_processed` | after every control command | add to the answer (HA's part of `status-get`) |
//! | [`commands`](Plugin::commands) | `load()` + `registerCommandCallout` | at load | the commands the plugin answers |
//!
//! Everything but `leases4_committed` is synchronous: these are decisions on in-memory state, made
//! on the packet path, and must not wait. Work that takes time (HA's lease update) is started in
//! `leases4_committed` and awaited through the parked future.

use std::fmt;
use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::sync::Arc;

use nestor_config::Dhcp4Config;
use nestor_ctrl::{Answer, CommandHandler};
use nestor_leases::Lease4;
use nestor_proto::pkt::{MessageBuilder, MessageType, Packet};
use serde_json::Value;
use tokio::time::Instant;

/// Why a plugin could not be loaded or configured.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The configuration names a library Nestor recognises but this build has no plugin for
    /// (see [`PluginRegistry::is_available`](crate::PluginRegistry::is_available)).
    #[error("hook library {library} is recognised but not built into this server")]
    NotBuiltIn {
        /// The `library` path as configured.
        library: String,
    },
    /// The library's `parameters` are invalid.
    #[error("{library}: invalid parameters at {path}: {message}")]
    InvalidParameters {
        /// The library's file name.
        library: &'static str,
        /// Key path of the offending parameter (`Dhcp4.hooks-libraries[1].parameters...`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A command of the plugin could not be registered (the name is taken).
    #[error("{library}: cannot register command '{command}': {source}")]
    Command {
        /// The library's file name.
        library: &'static str,
        /// The command.
        command: &'static str,
        /// The registry's refusal.
        #[source]
        source: nestor_ctrl::RegistryError,
    },
    /// The plugin refused to start with this configuration.
    #[error("{library}: {message}")]
    Failed {
        /// The library's file name.
        library: &'static str,
        /// Why.
        message: String,
    },
}

/// What the server knows about a query, shared by every callout of that query. The server fills
/// the receive metadata; plugins add client classes.
#[derive(Debug, Clone)]
pub struct QueryContext {
    /// The interface the query came in on.
    pub iface: Arc<str>,
    /// The query's IP source.
    pub src: SocketAddrV4,
    /// When it was received (tokio time, for latency and HA's `secs` analysis).
    pub received_at: Instant,
    /// The subnet selected for it, once selected.
    pub subnet_id: Option<u32>,
    classes: ClientClasses,
}

impl QueryContext {
    /// A context with no classes and no subnet.
    pub fn new(iface: Arc<str>, src: SocketAddrV4, received_at: Instant) -> Self {
        Self {
            iface,
            src,
            received_at,
            subnet_id: None,
            classes: ClientClasses::default(),
        }
    }

    /// Adds a client class (`HA_server1`); adding one twice keeps one.
    pub fn add_class(&mut self, class: &Arc<str>) {
        self.classes.add(class);
    }

    /// The classes plugins added, in the order added: the engine's `extra_classes`.
    pub fn classes(&self) -> &ClientClasses {
        &self.classes
    }
}

/// Client classes added by plugins; no allocation until the first class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientClasses(Vec<Arc<str>>);

impl ClientClasses {
    /// Adds `class` unless present.
    pub fn add(&mut self, class: &Arc<str>) {
        if !self.contains(class) {
            self.0.push(Arc::clone(class));
        }
    }

    /// Whether `class` was added.
    pub fn contains(&self, class: &str) -> bool {
        self.0.iter().any(|c| &**c == class)
    }

    /// The classes, in the order added.
    pub fn as_slice(&self) -> &[Arc<str>] {
        &self.0
    }

    /// Whether no class was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Verdict of [`Plugin::buffer4_receive`] and [`Plugin::pkt4_receive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ReceiveVerdict {
    /// Process the query.
    Continue,
    /// Drop it silently. The server counts it in `pkt4-receive-drop` (as Kea does for a hook's
    /// DROP at both points); the plugin logs why (HA: `HA_BUFFER4_RECEIVE_NOT_FOR_US`).
    Drop,
}

/// Verdict of [`Plugin::subnet4_select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SubnetVerdict {
    /// Keep the selection as it stands.
    Continue,
    /// Use this subnet instead (it must exist in the configuration, or the server treats the
    /// query as having no subnet).
    Select(u32),
    /// Serve the query as if no subnet matched (Kea's SKIP).
    NoSubnet,
    /// Drop the query (counted in `pkt4-receive-drop`).
    Drop,
}

/// Verdict of [`Plugin::lease4_select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum LeaseSelectVerdict {
    /// Commit the lease (as possibly edited by the plugin).
    Continue,
    /// Do not allocate this lease (Kea's SKIP: the allocation fails for this query).
    Skip,
}

/// Verdict of [`Plugin::pkt4_send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SendVerdict {
    /// Encode and send the reply (as possibly edited).
    Continue,
    /// Do not send it.
    Drop,
}

/// Verdict of [`Plugin::lease4_expire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ExpireVerdict {
    /// Reclaim the lease as configured.
    Continue,
    /// Leave the lease alone: the plugin took care of it (Kea's SKIP).
    Skip,
}

/// How a parked reply ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum ParkResult {
    /// Send the reply.
    Continue,
    /// Drop the reply (HA: the partner did not acknowledge the lease update); the reason is
    /// logged by the server.
    Drop {
        /// Why, for the log.
        reason: String,
    },
}

/// The future a plugin parks a reply on.
pub type ParkFuture = Pin<Box<dyn Future<Output = ParkResult> + Send + 'static>>;

/// Verdict of [`Plugin::leases4_committed`].
#[must_use]
pub enum CommittedVerdict {
    /// Send the reply now.
    Continue,
    /// Do not send the reply.
    Drop,
    /// Send the reply once this future resolves to [`ParkResult::Continue`]; drop it otherwise.
    ///
    /// The server may drop the future without polling it (parking lot full, shutdown): work that
    /// must happen whatever becomes of the reply (sending the lease update to the partner) must
    /// be started before `leases4_committed` returns, typically by spawning it and parking on a
    /// `oneshot` receiver of its outcome.
    Park(ParkFuture),
}

impl fmt::Debug for CommittedVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Continue => f.write_str("Continue"),
            Self::Drop => f.write_str("Drop"),
            Self::Park(_) => f.write_str("Park(..)"),
        }
    }
}

/// The leases a query changed, as `leases4_committed` reports them (Kea's `leases4` and
/// `deleted_leases4` arguments).
#[derive(Debug, Clone, Copy)]
pub struct CommittedLeases<'a> {
    /// The query's message type.
    pub query_type: MessageType,
    /// Leases added or updated (REQUEST: the new or renewed lease; DECLINE: the declined lease).
    pub leases: &'a [Lease4],
    /// Leases deleted (RELEASE; REQUEST for a different address than the client had).
    pub deleted: &'a [Lease4],
}

/// A built-in hook library. Implementations are shared (`Arc<dyn Plugin>`) across the packet
/// tasks, so every method takes `&self`; state goes behind the plugin's own synchronisation.
///
/// Every callout has a default that continues, so a plugin implements only the points it uses.
pub trait Plugin: Send + Sync + 'static {
    /// The library's file name (`libdhcp_ha.so`), for logs and errors.
    fn library(&self) -> &'static str;

    /// A configuration was committed (start or reconfiguration); a plugin starts its work here
    /// (HA starts its state machine). Called on the server's tokio runtime, so the plugin may
    /// `tokio::spawn` its tasks. An error makes the configuration fail.
    fn dhcp4_srv_configured(&self, config: &Arc<Dhcp4Config>) -> Result<(), PluginError> {
        let _ = config;
        Ok(())
    }

    /// The raw query, before parsing.
    fn buffer4_receive(&self, raw: &[u8], ctx: &mut QueryContext) -> ReceiveVerdict {
        let _ = (raw, ctx);
        ReceiveVerdict::Continue
    }

    /// The parsed query, before classification and subnet selection: where HA decides whether
    /// this server serves the query (scopes, RFC 3074 hash) and adds `HA_<server>` classes.
    fn pkt4_receive(&self, query: &Packet<'_>, ctx: &mut QueryContext) -> ReceiveVerdict {
        let _ = (query, ctx);
        ReceiveVerdict::Continue
    }

    /// The server selected `selected` (`None`: no subnet matched).
    fn subnet4_select(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        selected: Option<u32>,
    ) -> SubnetVerdict {
        let _ = (query, ctx, selected);
        SubnetVerdict::Continue
    }

    /// The allocation engine picked `lease`, not yet committed; `fake` is true for a DISCOVER
    /// (an offer, nothing will be stored).
    fn lease4_select(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        lease: &mut Lease4,
        fake: bool,
    ) -> LeaseSelectVerdict {
        let _ = (query, ctx, lease, fake);
        LeaseSelectVerdict::Continue
    }

    /// The query's lease changes are durable in the lease store and the reply is built; not
    /// called for DISCOVER and INFORM (Kea resets the context) nor when nothing was committed.
    fn leases4_committed(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        leases: CommittedLeases<'_>,
    ) -> CommittedVerdict {
        let _ = (query, ctx, leases);
        CommittedVerdict::Continue
    }

    /// The reply, about to be encoded and sent.
    fn pkt4_send(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        reply: &mut MessageBuilder,
    ) -> SendVerdict {
        let _ = (query, ctx, reply);
        SendVerdict::Continue
    }

    /// Reclamation is about to process `lease` (`remove`: the lease will be deleted rather than
    /// kept in the expired-reclaimed state).
    fn lease4_expire(&self, lease: &Lease4, remove: bool) -> ExpireVerdict {
        let _ = (lease, remove);
        ExpireVerdict::Continue
    }

    /// After every control command that a handler answered, with the answer about to be sent.
    fn command_processed(&self, name: &str, arguments: Option<&Value>, answer: &mut Answer) {
        let _ = (name, arguments, answer);
    }

    /// The commands this plugin answers, registered when it is loaded and removed when it is
    /// unloaded. Handlers must not hold the plugin's [`ServerHandle`](crate::ServerHandle)
    /// strongly forever: they are dropped at unload, which breaks the cycle through the
    /// registry.
    fn commands(&self) -> Vec<(&'static str, Arc<dyn CommandHandler>)> {
        Vec::new()
    }

    /// The plugin is being unloaded (reconfiguration, shutdown): stop tasks, close connections.
    /// Its commands are deregistered by the loader.
    fn unload(&self) {}
}
