//! `nestor-leases`: the DHCPv4 lease model and lease stores.
//!
//! * [`lease`]: [`Lease4`] and its identifiers, Kea 2.2's `Lease4` semantics (reference 2.1,
//!   6.2, 6.6): states, expiry against an injected clock, `belongsToClient`.
//! * [`csv`]: Kea 2.2's memfile CSV codec (reference 5.1, 5.2), pure and synchronous.
//! * [`memfile`]: the memfile store: replay (5.3), the sharded in-memory index, group-commit
//!   appends, rotation and the lease file cleanup (5.4) as a library for `nestor-lfc`.
//! * [`store`]: the [`LeaseStore`] trait that memfile implements and the SQL backends will.
//!
//! Panic policy: nothing here panics on any input read from a lease file or given through the
//! API; malformed rows are errors carrying their line number. Lock poisoning is recovered from
//! (no code path panics while holding a lock).

pub mod csv;
pub mod lease;
pub mod memfile;
pub mod store;

pub use lease::{ClientId, Hostname, HwAddr, Lease4, LeaseState, UnixTime, UserContext};
pub use memfile::{Commit, Memfile, MemfileConfig, SyncPolicy};
pub use store::{DynLeaseStore, LeaseError, LeaseStore};
