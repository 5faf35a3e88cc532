//! `nestor_dhcp4`: the Nestor DHCPv4 server library (the `nestor-dhcp4` binary is a thin
//! `main` around [`server`]).
//!
//! * [`engine`]: the DHCP decision logic (subnet selection, allocation, replies), no sockets.
//! * [`net`]: service sockets per `interfaces-config` (UDP and AF_PACKET raw), interface
//!   discovery.
//! * [`server`]: the packet pipeline (receive loop per socket, bounded in-flight work, engine,
//!   send) with the hook callouts of `nestor-hooks`, configuration (re)loading, timers,
//!   shutdown.
//! * [`control`]: the built-in control commands, one module per command.
//! * [`logging`]: Kea's `loggers` on `tracing`, Kea's line layout and message IDs.
//! * [`reclaim`], [`lfc`]: the expired-lease and lease-file-cleanup timers.
//! * [`pidfile`]: Kea's PID file convention.
//!
//! Panic policy: nothing received from the network or the control socket can panic the server.

pub mod control;
pub mod engine;
pub mod lfc;
pub mod logging;
pub mod net;
pub mod pidfile;
pub mod reclaim;
pub mod server;
