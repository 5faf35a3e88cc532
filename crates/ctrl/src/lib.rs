//! `nestor-ctrl`: the control channel shared by nestor-dhcp4, its plugins and nestor-ctrl-agent.
//!
//! It speaks Kea 2.2's control protocol (Kea ARM "Management API"; reference
//! `kea-2.2.md` sections 3.1 and 3.2):
//!
//! * [`Command`] and [`Answer`]: the JSON shapes, with Kea's validation texts and result codes
//!   ([`ResultCode`]: 0 success, 1 error, 2 unsupported, 3 empty, 4 conflict, others for plugins);
//! * [`JsonFeed`]: Kea's framing of one command in a byte stream (no I/O);
//! * [`CommandRegistry`]: named async handlers, `list-commands`, unknown commands, the
//!   `command_processed` hook, panics and timeouts turned into answers;
//! * [`ControlServer`]: the unix socket server (lock file, mode 0600, one command per connection,
//!   bounded connections, shutdown by `CancellationToken`);
//! * [`send_command`]: the client the control agent forwards with.
//!
//! Panic policy: nothing read from a socket can panic; a panicking command handler or hook is
//! contained and answered as an error.

mod answer;
mod client;
mod command;
mod connection;
mod feed;
mod registry;
mod server;

pub use answer::{Answer, AnswerError, ResultCode, to_kea_json};
pub use client::{
    ClientError, DEFAULT_FORWARD_TIMEOUT, DEFAULT_MAX_ANSWER_SIZE, Stage, send_command, send_raw,
};
pub use command::{Command, CommandError};
pub use feed::{DEFAULT_MAX_COMMAND_SIZE, FeedError, FeedStatus, JsonFeed};
pub use registry::{
    CommandHandler, CommandProcessedHook, CommandRegistry, HandlerError, HandlerFuture, HookId,
    IntoAnswer, LIST_COMMANDS, RegistryError,
};
pub use server::{
    ControlServer, DEFAULT_DRAIN_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    ServerConfig, ServerError, ServerStats, StatsSnapshot,
};
pub use tokio_util::sync::CancellationToken;
