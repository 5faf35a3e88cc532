//! `nestor-ctrl-agent`: the counterpart of Kea 2.2's `kea-ctrl-agent` (Kea ARM "The Kea Control
//! Agent"; reference `kea-2.2.md` sections 3.3 to 3.5).
//!
//! One HTTP(S) endpoint, any path: a `POST` of `{"command", "service", "arguments"}` is either
//! answered by the agent itself or forwarded to the unix control socket of each service named in
//! `service`, and the answers come back as one JSON list, byte for byte as kea-ctrl-agent writes
//! it (sorted keys, Kea's spacing, the same HTTP status codes, headers and error bodies).
//!
//! * [`http`]: the HTTP/1.x subset as values (heads, responses, dates), no I/O;
//! * [`auth`]: Basic authentication from `authentication.clients`;
//! * [`tls`]: HTTPS and mutual TLS (`trust-anchor`, `cert-file`, `key-file`, `cert-required`);
//! * [`agent`]: routing by `service`, forwarding, the configuration snapshot;
//! * [`commands`]: the agent's own commands;
//! * [`server`]: the listener, connection loop, timeouts and limits;
//! * [`logging`], [`pidfile`]: Kea's process conventions.
//!
//! Compared with the real kea-ctrl-agent 2.2 (tests `kea_interop`): 25 requests through both
//! agents in front of one kea-dhcp4 give identical statuses and bodies, byte for byte; so do
//! 401 answers with their headers and `config-get` of a configuration with authentication,
//! loggers and user context.
//!
//! Deliberate differences from Kea 2.2 (each one safer, none visible to a well-behaved client):
//! bodies over 16 MiB get `413` and heads over 64 KiB `431` (Kea reads anything); more than
//! [`server::Limits::max_connections`] connections at once get `503`; pipelined requests are all
//! answered (Kea drops the second); `config-write` leaves out an empty `control-sockets` map
//! (Kea writes it and then refuses its own file). `version-get`, `build-report`, `-v`, `-V` and
//! `-W` describe Nestor, not Kea; log timestamps are UTC.
//!
//! Panic policy: nothing a client sends and nothing in a configuration file can panic the agent.

pub mod agent;
pub mod auth;
pub mod commands;
pub mod http;
pub mod logging;
pub mod pidfile;
pub mod server;
pub mod tls;

pub use agent::{Agent, ApplyError, FORWARD_TIMEOUT, Snapshot};
pub use server::{Limits, Server, ServerError};
