//! `nestor-hooks`: the hook API between nestor-dhcp4 and its built-in plugins (HA, lease
//! commands), and the server state those plugins may touch.
//!
//! Kea loads hook libraries (`.so`) that register callouts on named hook points and reach the
//! server through singletons. Nestor keeps Kea's points and semantics (Kea ARM "Hooks Libraries",
//! `dhcp4_srv.cc`) with Rust's means (STYLE habit 6):
//!
//! * [`Plugin`]: one trait method per callout point, each returning an explicit verdict, each
//!   defaulting to "continue"; `leases4_committed` may park the reply on a future
//!   ([`CommittedVerdict::Park`]).
//! * [`Hooks`]: the plugins of one configuration, called in configuration order, with the
//!   combined verdict the server acts on and the `parked-packet-limit` parking lot.
//! * [`PluginRegistry`]: built-in plugins selected by the `hooks-libraries` file name
//!   (`libdhcp_ha.so`, `libdhcp_lease_cmds.so`), loaded with their commands and unloaded on
//!   reconfiguration.
//! * [`ServerHandle`]: what plugins see of the server: the lease store, the [`NetworkState`],
//!   the [`Stats`], the [`Clock`], the configuration in force and the command registry.
//! * [`NetworkState`]: Kea 2.2's DHCP service enable/disable model with origins and
//!   `max-period` timers (reference 3.2).
//! * [`stats`]: Kea's statistics manager with lock-free hot-path counters, the `statistic-*`
//!   commands and the statistics `kea-dhcp4` 2.2 keeps.
//!
//! Time is injected ([`Clock`], tokio time), so every timer here runs under a paused clock in
//! tests.
//!
//! # How a server drives it
//!
//! ```no_run
//! use std::net::SocketAddrV4;
//! use std::sync::Arc;
//!
//! use nestor_hooks::stats::dhcp4::{Dhcp4Counters, apply_config};
//! use nestor_hooks::*;
//! use nestor_proto::pkt::Packet;
//!
//! # async fn example(
//! #     config: Arc<nestor_config::Dhcp4Config>,
//! #     store: Arc<dyn nestor_leases::DynLeaseStore>,
//! #     raw: &[u8],
//! #     src: SocketAddrV4,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! // Once, at start.
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//! let stats = Stats::new(Arc::clone(&clock));
//! let counters = Dhcp4Counters::register(&stats);
//! let commands = Arc::new(nestor_ctrl::CommandRegistry::new());
//! register_statistics_commands(&commands, &stats)?;
//! let handle = ServerHandle::new(store, NetworkState::new(), stats.clone(), Arc::clone(&clock),
//!     Arc::clone(&config), commands);
//!
//! // At start and at every reconfiguration (after unloading the previous `Hooks`).
//! let subnet_counters = apply_config(&stats, None, &config, &handle.leases().counts().await?);
//! let plugins = PluginRegistry::new(); // .with(BuiltinHook::Ha, <the HA plugin's constructor>)
//! for missing in plugins.unavailable(&config.hooks) {
//!     eprintln!("{} is not built in", missing.library); // or refuse the configuration
//! }
//! let hooks = plugins.load(&config.hooks, &handle, config.parked_packet_limit)?;
//! hooks.dhcp4_srv_configured(&config)?;
//!
//! // Per packet.
//! let now = clock.unix_micros();
//! counters.pkt4_received.inc_at(now);
//! let mut ctx = QueryContext::new("eth0".into(), src, tokio::time::Instant::now());
//! if hooks.buffer4_receive(raw, &mut ctx) == ReceiveVerdict::Drop {
//!     counters.pkt4_receive_drop.inc_at(now);
//!     return Ok(());
//! }
//! let query = Packet::parse(raw)?;
//! if hooks.pkt4_receive(&query, &mut ctx) == ReceiveVerdict::Drop {
//!     counters.pkt4_receive_drop.inc_at(now);
//!     return Ok(());
//! }
//! // ... classify with ctx.classes(), select a subnet, hooks.subnet4_select(..),
//! // allocate (hooks.lease4_select(..)), commit to the store, then:
//! # let (leases, deleted, query_type) = (Vec::new(), Vec::new(), nestor_proto::pkt::MessageType::Request);
//! let committed = CommittedLeases { query_type, leases: &leases, deleted: &deleted };
//! match hooks.leases4_committed(&query, &ctx, committed) {
//!     Committed::Continue => {}
//!     Committed::Drop => return Ok(()),
//!     Committed::ParkingLotFull { .. } => {
//!         counters.pkt4_receive_drop.inc();
//!         return Ok(());
//!     }
//!     Committed::Park(parked) => {
//!         if let ParkResult::Drop { reason } = parked.await {
//!             tracing::debug!(%reason, "parked reply dropped");
//!             return Ok(());
//!         }
//!     }
//! }
//! // ... hooks.pkt4_send(&query, &ctx, &mut reply), encode, send,
//! // counters.count_sent(message_type).
//! # let _ = subnet_counters;
//! # Ok(()) }
//! ```
//!
//! Panic policy: nothing here panics; poisoned locks are recovered from (no critical section
//! leaves its data inconsistent).

pub mod clock;
mod handle;
mod hooks;
pub mod network_state;
mod plugin;
mod registry;
pub mod stats;

pub use clock::{Clock, SystemClock, TestClock};
pub use handle::{Cached, ConfigCell, ServerHandle, SwapCell};
pub use hooks::{Committed, DEFAULT_PARKED_PACKET_LIMIT, Hooks, ParkedReply, SubnetOutcome};
pub use network_state::{InvalidOrigin, NetworkState, NetworkStateError, Origin, ServiceStatus};
pub use plugin::{
    ClientClasses, CommittedLeases, CommittedVerdict, ExpireVerdict, LeaseSelectVerdict,
    ParkFuture, ParkResult, Plugin, PluginError, QueryContext, ReceiveVerdict, SendVerdict,
    SubnetVerdict,
};
pub use registry::{PluginConstructor, PluginRegistry};
pub use stats::commands::{STATISTICS_COMMANDS, register_statistics_commands};
pub use stats::{SampleLimit, StatCounter, Stats};
