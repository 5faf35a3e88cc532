//! Shared test harness of the Nestor workspace (a dev-dependency only; never shipped).
//!
//! * [`require_tool`] / [`require_root`]: the project's policy for tests that need an external
//!   tool or root. Present: the test runs. Missing with `CI` set (non-empty, not `0`/`false`):
//!   the test **fails**, naming the Debian package. Missing otherwise: a loud
//!   `*** SKIPPED: <test>: ... ***` on stderr and the test returns early.
//! * [`KeaDhcp4`], [`KeaCtrlAgent`], [`kea_check`]: real Kea 2.2 daemons in a temporary directory,
//!   started and waited for (bounded) until their control channel answers.
//! * [`Netns`], [`Segment`]: network namespaces and L2 segments (root only), addresses from
//!   198.18.0.0/15.
//! * [`ChildGuard`], [`wait_until`], [`run_bounded`], [`free_udp_port`], [`free_tcp_port`].
//!
//! Everything is bounded in time, and every process or namespace a harness creates is stopped
//! (by PID) or deleted when its guard drops, also when the test panicked. Harness functions
//! return [`HarnessError`] rather than panicking; only the CI arm of the policy panics.
//!
//! ```no_run
//! use nestor_test_support::{KeaDhcp4, require_tool};
//! use serde_json::json;
//!
//! # fn t() -> Result<(), nestor_test_support::HarnessError> {
//! if require_tool("kea-dhcp4", "kea-dhcp4-server").is_none() {
//!     return Ok(());
//! }
//! let kea = KeaDhcp4::start(json!({"Dhcp4": {"valid-lifetime": 4000}}))?;
//! let answer = kea.command(&json!({"command": "version-get"}))?;
//! assert_eq!(answer["result"], 0);
//! # Ok(()) }
//! ```

mod error;
mod kea;
mod netns;
mod policy;
mod ports;
mod process;

pub use error::{HarnessError, Result};
pub use kea::{
    COMMAND_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, KeaConfig, KeaCtrlAgent, KeaCtrlAgentBuilder,
    KeaDhcp4, KeaDhcp4Builder, TMPDIR_PLACEHOLDER, http_post_json, kea_check, unix_command,
};
pub use netns::{EXEC_TIMEOUT, Netns, Segment, remove_stale_namespaces};
pub use policy::{find_tool, in_ci, require_root, require_tool};
pub use ports::{free_tcp_port, free_udp_port};
pub use process::{ChildGuard, DEFAULT_GRACE, Signal, run_bounded, wait_until};
