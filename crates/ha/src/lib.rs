//! `nestor-ha`: Nestor's built-in `libdhcp_ha.so`, Kea 2.2's High Availability hook
//! (reference `kea-2.2.md` section 1, Kea ARM "High Availability").
//!
//! Organised by concept (STYLE habits 7 and 11), pure modules first, I/O last:
//!
//! * [`state`]: the HA state machine, a pure `(state, event) -> (state, actions)` function of
//!   Kea 2.2's state handlers (`ha_service.cc`): every state, the transition table per mode and
//!   role, DHCP service, scopes and lease-update policy per state, `state-machine` pausing, and
//!   the state side of the HA commands. Time never appears in it: what time implies (is the
//!   communication interrupted? is the clock skew fatal?) arrives as an [`state::Observation`].
//! * [`failure`]: the communication state (`communication_state.cc`): heartbeat pokes,
//!   `max-response-delay`, the secs-based unacked-client analysis of `max-ack-delay` /
//!   `max-unacked-clients`, the partner's unsent-update counts and the clock-skew verdict, with
//!   the monotonic and wall clocks passed in by the caller.
//! * [`scope`]: RFC 3074 load balancing and hot-standby scopes (`query_filter.cc`): the Pearson
//!   hash over client-id else chaddr, the `HA_<name>` class of every query, the served-scope set.
//! * [`http`]: the HTTP/1.1 client to peers (keep-alive pool, concurrent requests, Basic auth,
//!   TLS), requests byte-for-byte as Kea sends them, errors that say whether to retry.
//! * [`listener`]: the dedicated HA listener (`http-dedicated-listener`): commands over HTTP
//!   answered by `nestor-dhcp4` itself through its command registry.
//! * [`httpdate`]: RFC 1123 dates as the heartbeat's `date-time` carries them.
//! * [`wire`]: the peer protocol's payloads (lease updates with `expire` and `force-create`,
//!   the `ha-heartbeat` answer, sync requests, `status-get`'s HA part) and the HA commands'
//!   argument checks, with Kea's texts; byte-for-byte tests against the captured traffic.
//! * [`service`]: the I/O: heartbeat task, lease updates with parked replies, sync task, HA
//!   commands, `status-get`'s HA part, and the [`HaPlugin`] built by [`constructor`].
//!
//! Panic policy: nothing here panics on input from the wire, the partner or the configuration.

pub mod failure;
pub mod http;
pub mod httpdate;
pub mod listener;
pub mod scope;
pub mod service;
pub mod state;
pub mod wire;

pub use service::{HaPlugin, HaService, constructor};
