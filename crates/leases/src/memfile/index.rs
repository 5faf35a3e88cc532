//! The in-memory lease indexes behind memfile: sharded, compact, without a global lock.
//!
//! # Layout
//!
//! * **Address shards** (`SHARDS` of them, chosen by the address's low bits so one busy /24
//!   spreads over all of them). Each shard, behind its own `RwLock`, owns its leases in a dense
//!   `Vec<Lease4>` (removal is `swap_remove` plus one index fix-up, so there are no holes and no
//!   per-lease allocation), a `BTreeMap<u32, u32>` from address to slot (ordered, for
//!   `lease4-get-page`), the expiration order of its leases, and its per-subnet state counts.
//! * **Secondary indexes** (hardware address, client identifier, hostname), each split into
//!   `SHARDS` mutex-protected `BTreeSet<u64>`s chosen by a hash of the key. An entry is
//!   `hash32 << 32 | address`: 8 bytes, no copy of the key. A lookup takes the candidate addresses
//!   for the hash and then checks each lease against the real key, so hash collisions cost a
//!   wasted read, never a wrong answer.
//! * **Expiration**: per shard, `expire << 32 | address` keys (expire clamped to `u32::MAX`,
//!   i.e. year 2106) in two sets: leases awaiting reclamation (assigned or declined) and
//!   expired-reclaimed leases awaiting the flush, as Kea's memfile expiration index separates them.
//!
//! # Why this shape
//!
//! Memory: a lease costs its 96-byte `Lease4`, 8-16 bytes of address map and 8-16 bytes per
//! secondary and expiration entry (the low figure for trees built by [`BulkLoad`], which packs
//! the nodes), plus its client-id and hostname allocations when present. Measured with
//! `examples/load_million.rs` (7-byte client-id on every lease, hostname on half): about
//! 190 bytes a lease, 1 000 000 leases in ~188 MB RSS. A `HashMap` per key type holding cloned
//! keys would cost about twice that.
//!
//! Concurrency: the packet path touches one address shard per lease write and one secondary
//! shard per lookup; packets for different addresses or clients rarely meet on a lock, and no
//! operation takes a global lock. Locks are always taken address shard first, then secondary
//! shards one at a time, so there is no lock-order cycle. Readers never hold two locks at once: a
//! secondary lookup copies the candidate addresses out before visiting the address shards.
//!
//! Cross-shard queries (pages, expired leases, counts) visit the shards one after another; they
//! see each shard consistently but not a global snapshot, which is what the lease commands and
//! the reclamation need (Kea's answers are equally point-in-time per lease).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::lease::{ClientId, HwAddr, Lease4, LeaseState, UnixTime};

const SHARDS: usize = 64;

/// Per-subnet lease counts by state, for the `subnet[id].assigned-addresses` and
/// `declined-addresses` statistics.
///
/// Kea's statistics recount (`LeaseMgr::recountLeaseStats4`) adds declined leases to
/// `assigned-addresses` too: assigned = `default + declined`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Leases in state 0 (assigned).
    pub default: u64,
    /// Leases in state 1 (declined, in probation).
    pub declined: u64,
    /// Leases in state 2 (expired-reclaimed, kept for affinity).
    pub reclaimed: u64,
}

impl StateCounts {
    fn slot(&mut self, state: LeaseState) -> &mut u64 {
        match state {
            LeaseState::Default => &mut self.default,
            LeaseState::Declined => &mut self.declined,
            LeaseState::ExpiredReclaimed => &mut self.reclaimed,
        }
    }

    fn is_zero(&self) -> bool {
        *self == StateCounts::default()
    }
}

/// A change the index is about to make visible, handed to the caller's logging hook while the
/// address shard is still locked (so the lease file sees changes to one address in the same
/// order as memory does).
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// The lease was added or replaced.
    Upsert(&'a Lease4),
    /// The lease was removed.
    Delete(&'a Lease4),
}

/// What a lease contributes to its shard's expiration sets and counts.
#[derive(Clone, Copy)]
struct Accounting {
    key: u64,
    state: LeaseState,
    subnet_id: u32,
}

impl Accounting {
    fn of(lease: &Lease4) -> Self {
        Accounting {
            key: expiry_key(lease),
            state: lease.state,
            subnet_id: lease.subnet_id,
        }
    }
}

#[derive(Default)]
struct Shard {
    leases: Vec<Lease4>,
    by_addr: BTreeMap<u32, u32>,
    awaiting_reclaim: BTreeSet<u64>,
    reclaimed: BTreeSet<u64>,
    counts: BTreeMap<u32, StateCounts>,
}

fn expiry_key(lease: &Lease4) -> u64 {
    let expire = lease.expire().min(u64::from(u32::MAX));
    expire << 32 | u64::from(u32::from(lease.address))
}

impl Shard {
    fn get(&self, addr: u32) -> Option<&Lease4> {
        let slot = *self.by_addr.get(&addr)?;
        self.leases.get(slot as usize)
    }

    fn expiry_set(&mut self, state: LeaseState) -> &mut BTreeSet<u64> {
        match state {
            LeaseState::ExpiredReclaimed => &mut self.reclaimed,
            LeaseState::Default | LeaseState::Declined => &mut self.awaiting_reclaim,
        }
    }

    fn account(&mut self, lease: &Lease4, add: bool) {
        self.account_parts(Accounting::of(lease), add);
    }

    fn account_parts(
        &mut self,
        Accounting {
            key,
            state,
            subnet_id,
        }: Accounting,
        add: bool,
    ) {
        let set = self.expiry_set(state);
        if add {
            set.insert(key);
        } else {
            set.remove(&key);
        }
        let counts = self.counts.entry(subnet_id).or_default();
        let slot = counts.slot(state);
        *slot = if add {
            slot.saturating_add(1)
        } else {
            slot.saturating_sub(1)
        };
        if counts.is_zero() {
            self.counts.remove(&subnet_id);
        }
    }

    /// Stores `lease`, returning the lease it replaced.
    fn put(&mut self, lease: Lease4) -> Option<Lease4> {
        let addr = u32::from(lease.address);
        let existing = self.by_addr.get(&addr).copied();
        if let Some(slot) = existing.filter(|&s| (s as usize) < self.leases.len()) {
            let new = Accounting::of(&lease);
            let old = std::mem::replace(self.leases.get_mut(slot as usize)?, lease);
            self.account(&old, false);
            self.account_parts(new, true);
            return Some(old);
        }
        self.account(&lease, true);
        // A shard never holds more than 2^32 leases: there are only 2^32 addresses.
        let slot = u32::try_from(self.leases.len()).unwrap_or(u32::MAX);
        self.leases.push(lease);
        self.by_addr.insert(addr, slot);
        None
    }

    fn take(&mut self, addr: u32) -> Option<Lease4> {
        let slot = self.by_addr.remove(&addr)? as usize;
        if slot >= self.leases.len() {
            return None;
        }
        let old = self.leases.swap_remove(slot);
        if let Some(moved) = self.leases.get(slot) {
            self.by_addr.insert(u32::from(moved.address), slot as u32);
        }
        self.account(&old, false);
        Some(old)
    }
}

/// Which secondary index.
#[derive(Clone, Copy)]
enum Key<'a> {
    HwAddr(&'a HwAddr),
    ClientId(&'a ClientId),
    Hostname(&'a str),
}

impl Key<'_> {
    /// 32-bit FNV-1a of the key bytes (stable across runs; collisions only cost a lookup).
    fn hash(self) -> u32 {
        let bytes = match self {
            Key::HwAddr(hw) => hw.as_bytes(),
            Key::ClientId(id) => id.as_bytes(),
            Key::Hostname(name) => name.as_bytes(),
        };
        bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    fn matches(self, lease: &Lease4) -> bool {
        match self {
            Key::HwAddr(hw) => lease.hwaddr.as_bytes() == hw.as_bytes(),
            Key::ClientId(id) => lease.client_id.as_ref() == Some(id),
            Key::Hostname(name) => lease.hostname.as_str() == name,
        }
    }
}

struct Secondary {
    shards: Box<[Mutex<BTreeSet<u64>>]>,
}

impl Secondary {
    fn new() -> Self {
        Secondary {
            shards: (0..SHARDS).map(|_| Mutex::new(BTreeSet::new())).collect(),
        }
    }

    fn shard(&self, hash: u32) -> Option<MutexGuard<'_, BTreeSet<u64>>> {
        let shard = self.shards.get(hash as usize % SHARDS)?;
        Some(shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn entry(hash: u32, addr: u32) -> u64 {
        u64::from(hash) << 32 | u64::from(addr)
    }

    fn insert(&self, hash: u32, addr: u32) {
        if let Some(mut set) = self.shard(hash) {
            set.insert(Self::entry(hash, addr));
        }
    }

    fn remove(&self, hash: u32, addr: u32) {
        if let Some(mut set) = self.shard(hash) {
            set.remove(&Self::entry(hash, addr));
        }
    }

    /// The addresses filed under `hash`, copied out so that no secondary lock is held while
    /// the address shards are read (writers lock in the other order).
    fn candidates(&self, hash: u32) -> Candidates {
        let mut out = Candidates::default();
        if let Some(set) = self.shard(hash) {
            // The low 32 bits are the address by construction.
            for entry in set.range(Self::entry(hash, 0)..=Self::entry(hash, u32::MAX)) {
                out.push(*entry as u32);
            }
        }
        out
    }
}

/// A few addresses inline (a client rarely holds more than one lease), spilling to the heap:
/// the packet path's lookups then allocate nothing.
#[derive(Default)]
struct Candidates {
    inline: [u32; 4],
    len: usize,
    spill: Vec<u32>,
}

impl Candidates {
    fn push(&mut self, addr: u32) {
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = addr;
            self.len += 1;
        } else {
            self.spill.push(addr);
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.inline
            .iter()
            .take(self.len)
            .chain(self.spill.iter())
            .copied()
    }
}

/// The sharded in-memory lease store. See the module documentation for the layout.
pub struct LeaseIndex {
    shards: Box<[RwLock<Shard>]>,
    by_hwaddr: Secondary,
    by_client_id: Secondary,
    by_hostname: Secondary,
}

impl std::fmt::Debug for LeaseIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseIndex")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for LeaseIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// The existing lease that made an insert fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupied(pub Lease4);

impl LeaseIndex {
    /// An empty index.
    pub fn new() -> Self {
        LeaseIndex {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            by_hwaddr: Secondary::new(),
            by_client_id: Secondary::new(),
            by_hostname: Secondary::new(),
        }
    }

    fn shard_of(&self, addr: u32) -> Option<&RwLock<Shard>> {
        self.shards.get(addr as usize % SHARDS)
    }

    fn read(lock: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
        lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(lock: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
        lock.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Updates the secondary indexes for `addr` going from `old` to `new` (either may be absent).
    /// Called with the address shard locked.
    fn reindex(&self, addr: u32, old: Option<&Lease4>, new: Option<&Lease4>) {
        let hw = |l: Option<&Lease4>| l.map(|l| l.hwaddr).filter(|h| !h.is_empty());
        let (old_hw, new_hw) = (hw(old), hw(new));
        if old_hw.map(|h| Key::HwAddr(&h).hash()) != new_hw.map(|h| Key::HwAddr(&h).hash()) {
            if let Some(h) = old_hw {
                self.by_hwaddr.remove(Key::HwAddr(&h).hash(), addr);
            }
            if let Some(h) = new_hw {
                self.by_hwaddr.insert(Key::HwAddr(&h).hash(), addr);
            }
        }
        let cid = |l: Option<&Lease4>| {
            l.and_then(|l| l.client_id.as_ref())
                .map(|c| Key::ClientId(c).hash())
        };
        let (old_cid, new_cid) = (cid(old), cid(new));
        if old_cid != new_cid {
            if let Some(h) = old_cid {
                self.by_client_id.remove(h, addr);
            }
            if let Some(h) = new_cid {
                self.by_client_id.insert(h, addr);
            }
        }
        let host = |l: Option<&Lease4>| {
            l.map(|l| l.hostname.as_str())
                .filter(|h| !h.is_empty())
                .map(|h| Key::Hostname(h).hash())
        };
        let (old_host, new_host) = (host(old), host(new));
        if old_host != new_host {
            if let Some(h) = old_host {
                self.by_hostname.remove(h, addr);
            }
            if let Some(h) = new_host {
                self.by_hostname.insert(h, addr);
            }
        }
    }

    /// Adds a lease for an address that has none; `log` runs under the shard lock once the
    /// change is decided. An existing lease is returned untouched in `Err`.
    pub fn insert<T>(
        &self,
        lease: Lease4,
        log: impl FnOnce(Change<'_>) -> T,
    ) -> Result<T, Occupied> {
        let addr = u32::from(lease.address);
        let Some(lock) = self.shard_of(addr) else {
            return Err(Occupied(lease));
        };
        let mut shard = Self::write(lock);
        if let Some(existing) = shard.get(addr) {
            return Err(Occupied(existing.clone()));
        }
        let out = log(Change::Upsert(&lease));
        self.reindex(addr, None, Some(&lease));
        shard.put(lease);
        Ok(out)
    }

    /// Replaces the lease of an address that has one, returning the old lease; `Ok(None)` and no
    /// call to `log` when the address has no lease.
    pub fn update<T>(
        &self,
        lease: Lease4,
        log: impl FnOnce(Change<'_>) -> T,
    ) -> Option<(Lease4, T)> {
        let addr = u32::from(lease.address);
        let mut shard = Self::write(self.shard_of(addr)?);
        let old = shard.get(addr)?;
        self.reindex(addr, Some(old), Some(&lease));
        let out = log(Change::Upsert(&lease));
        let old = shard.put(lease)?;
        Some((old, out))
    }

    /// Adds or replaces, returning the replaced lease.
    pub fn upsert<T>(
        &self,
        lease: Lease4,
        log: impl FnOnce(Change<'_>) -> T,
    ) -> (Option<Lease4>, T) {
        let addr = u32::from(lease.address);
        let Some(lock) = self.shard_of(addr) else {
            return (None, log(Change::Upsert(&lease)));
        };
        let mut shard = Self::write(lock);
        self.reindex(addr, shard.get(addr), Some(&lease));
        let out = log(Change::Upsert(&lease));
        (shard.put(lease), out)
    }

    /// Removes the lease of `address`, if any.
    pub fn remove<T>(
        &self,
        address: Ipv4Addr,
        log: impl FnOnce(Change<'_>) -> T,
    ) -> Option<(Lease4, T)> {
        let addr = u32::from(address);
        let mut shard = Self::write(self.shard_of(addr)?);
        let old = shard.take(addr)?;
        self.reindex(addr, Some(&old), None);
        let out = log(Change::Delete(&old));
        Some((old, out))
    }

    /// Removes the lease of `address` only if `pred` holds for it (used by conditional deletes
    /// such as the reclaimed-lease flush, which must not remove a lease renewed meanwhile).
    pub fn remove_if<T>(
        &self,
        address: Ipv4Addr,
        pred: impl FnOnce(&Lease4) -> bool,
        log: impl FnOnce(Change<'_>) -> T,
    ) -> Option<(Lease4, T)> {
        let addr = u32::from(address);
        let mut shard = Self::write(self.shard_of(addr)?);
        if !pred(shard.get(addr)?) {
            return None;
        }
        let old = shard.take(addr)?;
        self.reindex(addr, Some(&old), None);
        let out = log(Change::Delete(&old));
        Some((old, out))
    }

    /// Applies one lease-file row during replay (reference 5.3): `valid_lifetime` 0 removes the
    /// address's lease, anything else adds or replaces it.
    pub fn replay(&self, lease: Lease4) {
        if lease.valid_lifetime == 0 {
            self.remove(lease.address, |_| ());
        } else {
            self.upsert(lease, |_| ());
        }
    }

    /// The lease of `address`.
    pub fn get(&self, address: Ipv4Addr) -> Option<Lease4> {
        let addr = u32::from(address);
        Self::read(self.shard_of(addr)?).get(addr).cloned()
    }

    /// Runs `f` on the lease of `address` without cloning it.
    pub fn with<R>(&self, address: Ipv4Addr, f: impl FnOnce(&Lease4) -> R) -> Option<R> {
        let addr = u32::from(address);
        Self::read(self.shard_of(addr)?).get(addr).map(f)
    }

    /// Calls `f` on each lease filed under `key` (in `subnet_id` if given), in no particular
    /// order, each under its shard's read lock.
    fn visit(
        &self,
        table: &Secondary,
        key: Key<'_>,
        subnet_id: Option<u32>,
        mut f: impl FnMut(&Lease4),
    ) {
        for addr in table.candidates(key.hash()).iter() {
            let Some(lock) = self.shard_of(addr) else {
                continue;
            };
            if let Some(lease) = Self::read(lock).get(addr)
                && key.matches(lease)
                && subnet_id.is_none_or(|s| s == lease.subnet_id)
            {
                f(lease);
            }
        }
    }

    fn lookup(&self, table: &Secondary, key: Key<'_>, subnet_id: Option<u32>) -> Vec<Lease4> {
        let mut out = Vec::new();
        self.visit(table, key, subnet_id, |l| out.push(l.clone()));
        out.sort_by_key(|l| l.address);
        out
    }

    /// The allocation-free form of [`Self::by_hwaddr`] for the packet path: `f` sees each lease
    /// by reference (do not call back into the index from `f`).
    pub fn visit_by_hwaddr(&self, hwaddr: &HwAddr, subnet_id: Option<u32>, f: impl FnMut(&Lease4)) {
        if !hwaddr.is_empty() {
            self.visit(&self.by_hwaddr, Key::HwAddr(hwaddr), subnet_id, f);
        }
    }

    /// The allocation-free form of [`Self::by_client_id`]; same rules as
    /// [`Self::visit_by_hwaddr`].
    pub fn visit_by_client_id(
        &self,
        client_id: &ClientId,
        subnet_id: Option<u32>,
        f: impl FnMut(&Lease4),
    ) {
        self.visit(&self.by_client_id, Key::ClientId(client_id), subnet_id, f);
    }

    /// Leases whose hardware address bytes equal `hwaddr`'s (any hardware type, as Kea's memfile
    /// hardware address index), optionally only in `subnet_id`; ascending by address.
    pub fn by_hwaddr(&self, hwaddr: &HwAddr, subnet_id: Option<u32>) -> Vec<Lease4> {
        if hwaddr.is_empty() {
            return Vec::new();
        }
        self.lookup(&self.by_hwaddr, Key::HwAddr(hwaddr), subnet_id)
    }

    /// Leases with this client identifier, optionally only in `subnet_id`.
    pub fn by_client_id(&self, client_id: &ClientId, subnet_id: Option<u32>) -> Vec<Lease4> {
        self.lookup(&self.by_client_id, Key::ClientId(client_id), subnet_id)
    }

    /// Leases whose stored (lower-cased) hostname equals `hostname` exactly, as Kea 2.2 compares.
    pub fn by_hostname(&self, hostname: &str) -> Vec<Lease4> {
        if hostname.is_empty() {
            return Vec::new();
        }
        self.lookup(&self.by_hostname, Key::Hostname(hostname), None)
    }

    /// Up to `limit` leases with addresses strictly above `after` (from the lowest when `None`),
    /// ascending: `lease4-get-page`.
    pub fn page(&self, after: Option<Ipv4Addr>, limit: usize) -> Vec<Lease4> {
        let lower = match after {
            Some(a) => Bound::Excluded(u32::from(a)),
            None => Bound::Unbounded,
        };
        let mut addrs: Vec<u32> = Vec::new();
        for lock in self.shards.iter() {
            let shard = Self::read(lock);
            addrs.extend(
                shard
                    .by_addr
                    .range((lower, Bound::Unbounded))
                    .take(limit)
                    .map(|(a, _)| *a),
            );
        }
        addrs.sort_unstable();
        addrs.truncate(limit);
        addrs
            .into_iter()
            .filter_map(|a| self.get(Ipv4Addr::from(a)))
            .collect()
    }

    /// Leases in the given subnets (all leases when `None`), ascending by address.
    pub fn by_subnets(&self, subnets: Option<&[u32]>) -> Vec<Lease4> {
        let mut out = Vec::new();
        for lock in self.shards.iter() {
            let shard = Self::read(lock);
            out.extend(
                shard
                    .leases
                    .iter()
                    .filter(|l| subnets.is_none_or(|s| s.contains(&l.subnet_id)))
                    .cloned(),
            );
        }
        out.sort_by_key(|l| l.address);
        out
    }

    /// Calls `f` for every lease, shard by shard (no order).
    pub fn for_each(&self, mut f: impl FnMut(&Lease4)) {
        for lock in self.shards.iter() {
            Self::read(lock).leases.iter().for_each(&mut f);
        }
    }

    fn earliest(&self, reclaimed: bool, until: UnixTime, limit: usize) -> Vec<Lease4> {
        let limit = if limit == 0 { usize::MAX } else { limit };
        let until = until.min(u64::from(u32::MAX));
        let upper = until << 32 | u64::from(u32::MAX);
        let mut keys: Vec<u64> = Vec::new();
        for lock in self.shards.iter() {
            let shard = Self::read(lock);
            let set = if reclaimed {
                &shard.reclaimed
            } else {
                &shard.awaiting_reclaim
            };
            keys.extend(set.range(..=upper).take(limit));
        }
        keys.sort_unstable();
        keys.truncate(limit);
        keys.into_iter()
            .filter_map(|k| self.get(Ipv4Addr::from(k as u32)))
            .collect()
    }

    /// Leases awaiting reclamation (assigned or declined) whose expiration time is at or before
    /// `now`, earliest first, at most `limit` (0 = all): Kea's memfile `getExpiredLeases4`.
    pub fn expired(&self, now: UnixTime, limit: usize) -> Vec<Lease4> {
        self.earliest(false, now, limit)
    }

    /// Expired-reclaimed leases whose expiration time is at or before `cutoff`
    /// (`now - hold-reclaimed-time`), earliest first, at most `limit` (0 = all).
    pub fn reclaimed_before(&self, cutoff: UnixTime, limit: usize) -> Vec<Lease4> {
        self.earliest(true, cutoff, limit)
    }

    /// Per-subnet counts by state.
    pub fn counts(&self) -> BTreeMap<u32, StateCounts> {
        let mut out: BTreeMap<u32, StateCounts> = BTreeMap::new();
        for lock in self.shards.iter() {
            for (subnet, c) in &Self::read(lock).counts {
                let total = out.entry(*subnet).or_default();
                total.default += c.default;
                total.declined += c.declined;
                total.reclaimed += c.reclaimed;
            }
        }
        out
    }

    /// Number of leases held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|l| Self::read(l).leases.len()).sum()
    }

    /// Whether no lease is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Addresses of the leases in `subnet_id` (all when `None`), for wipes.
    pub fn addresses_in(&self, subnet_id: Option<u32>) -> Vec<Ipv4Addr> {
        let mut out = Vec::new();
        for lock in self.shards.iter() {
            let shard = Self::read(lock);
            out.extend(
                shard
                    .leases
                    .iter()
                    .filter(|l| subnet_id.is_none_or(|s| s == l.subnet_id))
                    .map(|l| l.address),
            );
        }
        out.sort_unstable();
        out
    }
}

/// Bulk loading: replays lease-file rows into bare per-shard lease vectors and address maps,
/// then builds every other index in one pass ([`BulkLoad::finish`]).
///
/// Inserting a million hash-ordered keys one by one into B-trees is dominated by cache misses
/// and leaves nodes half full; sorting the keys and building each tree from a sorted run is
/// several times faster and packs the nodes, so a loaded store is also smaller.
#[derive(Default)]
pub struct BulkLoad {
    shards: Vec<(Vec<Lease4>, BTreeMap<u32, u32>)>,
}

impl std::fmt::Debug for BulkLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len: usize = self.shards.iter().map(|s| s.0.len()).sum();
        f.debug_struct("BulkLoad").field("len", &len).finish()
    }
}

impl BulkLoad {
    /// An empty load, sized for about `leases` leases.
    pub fn with_capacity(leases: usize) -> Self {
        BulkLoad {
            shards: (0..SHARDS)
                .map(|_| (Vec::with_capacity(leases / SHARDS + 1), BTreeMap::new()))
                .collect(),
        }
    }

    /// Applies one row (reference 5.3): `valid_lifetime` 0 removes the address's lease, anything
    /// else adds or replaces it.
    pub fn apply(&mut self, lease: Lease4) {
        let addr = u32::from(lease.address);
        if self.shards.is_empty() {
            *self = Self::with_capacity(0);
        }
        let Some((leases, by_addr)) = self.shards.get_mut(addr as usize % SHARDS) else {
            return;
        };
        match (by_addr.get(&addr).copied(), lease.valid_lifetime) {
            (Some(slot), 0) => {
                by_addr.remove(&addr);
                let slot = slot as usize;
                if slot < leases.len() {
                    leases.swap_remove(slot);
                    if let Some(moved) = leases.get(slot) {
                        by_addr.insert(u32::from(moved.address), slot as u32);
                    }
                }
            }
            (None, 0) => {}
            (Some(slot), _) => {
                if let Some(old) = leases.get_mut(slot as usize) {
                    *old = lease;
                }
            }
            (None, _) => {
                by_addr.insert(addr, u32::try_from(leases.len()).unwrap_or(u32::MAX));
                leases.push(lease);
            }
        }
    }

    /// Builds the index.
    pub fn finish(self) -> LeaseIndex {
        let mut hw: Vec<Vec<u64>> = vec![Vec::new(); SHARDS];
        let mut cid: Vec<Vec<u64>> = vec![Vec::new(); SHARDS];
        let mut host: Vec<Vec<u64>> = vec![Vec::new(); SHARDS];
        let push = |table: &mut Vec<Vec<u64>>, hash: u32, addr: u32| {
            if let Some(v) = table.get_mut(hash as usize % SHARDS) {
                v.push(Secondary::entry(hash, addr));
            }
        };
        let mut shards = Vec::with_capacity(SHARDS);
        for (mut leases, _) in self.shards {
            leases.shrink_to_fit();
            let mut shard = Shard {
                by_addr: leases
                    .iter()
                    .enumerate()
                    .map(|(slot, l)| (u32::from(l.address), slot as u32))
                    .collect(),
                ..Shard::default()
            };
            let mut awaiting = Vec::new();
            let mut reclaimed = Vec::new();
            for lease in &leases {
                let addr = u32::from(lease.address);
                if !lease.hwaddr.is_empty() {
                    push(&mut hw, Key::HwAddr(&lease.hwaddr).hash(), addr);
                }
                if let Some(c) = &lease.client_id {
                    push(&mut cid, Key::ClientId(c).hash(), addr);
                }
                if !lease.hostname.is_empty() {
                    push(
                        &mut host,
                        Key::Hostname(lease.hostname.as_str()).hash(),
                        addr,
                    );
                }
                match lease.state {
                    LeaseState::ExpiredReclaimed => reclaimed.push(expiry_key(lease)),
                    LeaseState::Default | LeaseState::Declined => awaiting.push(expiry_key(lease)),
                }
                let counts = shard.counts.entry(lease.subnet_id).or_default();
                *counts.slot(lease.state) += 1;
            }
            shard.awaiting_reclaim = awaiting.into_iter().collect();
            shard.reclaimed = reclaimed.into_iter().collect();
            shard.leases = leases;
            shards.push(RwLock::new(shard));
        }
        let table = |entries: Vec<Vec<u64>>| Secondary {
            shards: entries
                .into_iter()
                .map(|v| Mutex::new(v.into_iter().collect()))
                .collect(),
        };
        LeaseIndex {
            shards: shards.into_boxed_slice(),
            by_hwaddr: table(hw),
            by_client_id: table(cid),
            by_hostname: table(host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::Hostname;

    fn lease(last: u32, mac: u8, cltt: u64) -> Lease4 {
        let mut l = Lease4::new(
            Ipv4Addr::from(0x0a00_0000 | last),
            HwAddr::ether(&[0, 1, 2, 3, 4, mac]).unwrap(),
            Some(ClientId::new(&[1, mac]).unwrap()),
            100,
            cltt,
            1 + last % 2,
        );
        l.hostname = Hostname::new(&format!("Host{mac}"));
        l
    }

    #[test]
    fn insert_conflicts_and_lookups() {
        let idx = LeaseIndex::new();
        for i in 0..200 {
            idx.insert(lease(i, (i % 50) as u8, 1000 + u64::from(i)), |_| ())
                .unwrap();
        }
        let dup = idx.insert(lease(7, 99, 0), |_| ());
        assert_eq!(dup.unwrap_err().0, lease(7, 7, 1007));
        assert_eq!(idx.len(), 200);

        let hw = HwAddr::ether(&[0, 1, 2, 3, 4, 7]).unwrap();
        let found = idx.by_hwaddr(&hw, None);
        assert_eq!(
            found
                .iter()
                .map(|l| u32::from(l.address) & 0xff)
                .collect::<Vec<_>>(),
            [7, 57, 107, 157]
        );
        assert_eq!(idx.by_hwaddr(&hw, Some(2)).len(), 4);
        assert_eq!(idx.by_hwaddr(&hw, Some(1)).len(), 0);
        assert_eq!(
            idx.by_client_id(&ClientId::new(&[1, 8]).unwrap(), Some(1))
                .len(),
            4
        );
        assert_eq!(idx.by_hostname("host9").len(), 4);
        assert_eq!(
            idx.by_hostname("Host9").len(),
            0,
            "compared as given, like Kea 2.2"
        );

        // Changing the identity moves the secondary entries.
        let mut moved = lease(7, 7, 2000);
        moved.hwaddr = HwAddr::ether(&[9, 9]).unwrap();
        moved.client_id = None;
        moved.hostname = Hostname::default();
        let (old, ()) = idx.update(moved, |_| ()).unwrap();
        assert_eq!(old.cltt, 1007);
        assert_eq!(idx.by_hwaddr(&hw, None).len(), 3);
        assert_eq!(idx.by_hostname("host7").len(), 3);
        assert_eq!(
            idx.by_hwaddr(&HwAddr::ether(&[9, 9]).unwrap(), None).len(),
            1
        );
        assert!(idx.update(lease(250, 1, 1), |_| ()).is_none());
    }

    #[test]
    fn visitors_and_many_leases_per_key() {
        let idx = LeaseIndex::new();
        // Ten leases for one hardware address: more than the inline candidate buffer.
        for i in 0..10 {
            idx.upsert(lease(i, 42, 0), |_| ());
        }
        let mut seen = Vec::new();
        idx.visit_by_hwaddr(&HwAddr::ether(&[0, 1, 2, 3, 4, 42]).unwrap(), None, |l| {
            seen.push(l.address)
        });
        seen.sort();
        assert_eq!(seen.len(), 10);
        let mut count = 0;
        idx.visit_by_client_id(&ClientId::new(&[1, 42]).unwrap(), Some(1), |_| count += 1);
        assert_eq!(count, 5);
    }

    #[test]
    fn removal_keeps_slots_consistent() {
        let idx = LeaseIndex::new();
        for i in 0..1000 {
            idx.upsert(lease(i, (i % 251) as u8, 0), |_| ());
        }
        for i in (0..1000).step_by(3) {
            assert!(
                idx.remove(Ipv4Addr::from(0x0a00_0000 | i), |_| ())
                    .is_some()
            );
        }
        assert!(idx.remove(Ipv4Addr::from(0x0a00_0000u32), |_| ()).is_none());
        for i in 0..1000u32 {
            let got = idx.get(Ipv4Addr::from(0x0a00_0000 | i));
            assert_eq!(got.is_some(), i % 3 != 0, "address {i}");
            if let Some(l) = got {
                assert_eq!(l, lease(i, (i % 251) as u8, 0));
            }
        }
        assert_eq!(idx.len(), 666);
    }

    #[test]
    fn paging_is_ordered_and_exclusive() {
        let idx = LeaseIndex::new();
        for i in (0..300).rev() {
            idx.upsert(lease(i, 1, 0), |_| ());
        }
        let first = idx.page(None, 100);
        assert_eq!(first.len(), 100);
        assert!(first.windows(2).all(|w| w[0].address < w[1].address));
        let second = idx.page(Some(first[99].address), 250);
        assert_eq!(second.len(), 200);
        assert_eq!(
            u32::from(second[0].address),
            u32::from(first[99].address) + 1
        );
        assert!(
            idx.page(Some(Ipv4Addr::new(255, 255, 255, 255)), 10)
                .is_empty()
        );
    }

    #[test]
    fn expiry_order_states_and_counts() {
        let idx = LeaseIndex::new();
        for i in 0..10 {
            // expire = cltt + 100, decreasing with i
            idx.upsert(lease(i, i as u8, 1000 - u64::from(i) * 10), |_| ());
        }
        let expired = idx.expired(1100 - 45, 0);
        // expire <= 1055  <=>  1100 - 10 i <= 1055  <=>  i >= 5 (4.5)
        assert_eq!(
            expired
                .iter()
                .map(|l| u32::from(l.address) & 0xff)
                .collect::<Vec<_>>(),
            [9, 8, 7, 6, 5]
        );
        assert_eq!(idx.expired(2000, 2).len(), 2);

        let mut reclaimed = expired[0].clone();
        reclaimed.state = LeaseState::ExpiredReclaimed;
        idx.update(reclaimed, |_| ()).unwrap();
        assert_eq!(idx.expired(1055, 0).len(), 4);
        assert_eq!(idx.reclaimed_before(1055, 0).len(), 1);
        assert_eq!(idx.reclaimed_before(1000, 0).len(), 0);

        let counts = idx.counts();
        // even last octets are in subnet 1, odd in subnet 2; address .9 is reclaimed
        assert_eq!(
            counts[&1],
            StateCounts {
                default: 5,
                declined: 0,
                reclaimed: 0
            }
        );
        assert_eq!(
            counts[&2],
            StateCounts {
                default: 4,
                declined: 0,
                reclaimed: 1
            }
        );
        for a in idx.addresses_in(Some(2)) {
            idx.remove(a, |_| ());
        }
        assert!(!idx.counts().contains_key(&2));
    }

    #[test]
    fn log_hook_sees_the_change_in_order() {
        let idx = LeaseIndex::new();
        let mut seen = Vec::new();
        idx.insert(lease(1, 1, 0), |c| {
            seen.push(format!("{c:?}").starts_with("Upsert"))
        })
        .unwrap();
        idx.remove(Ipv4Addr::from(0x0a00_0001u32), |c| {
            seen.push(matches!(c, Change::Delete(_)))
        });
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn bulk_load_matches_incremental_replay() {
        let incremental = LeaseIndex::new();
        let mut bulk = BulkLoad::with_capacity(10);
        for round in 0..3u64 {
            for i in 0..500u32 {
                let mut l = lease(i, (i % 97) as u8, round * 10 + u64::from(i % 7));
                if (i + round as u32).is_multiple_of(5) {
                    l.valid_lifetime = 0;
                }
                if i % 11 == 0 {
                    l.state = LeaseState::ExpiredReclaimed;
                }
                incremental.replay(l.clone());
                bulk.apply(l);
            }
        }
        let bulk = bulk.finish();
        assert_eq!(bulk.page(None, 10_000), incremental.page(None, 10_000));
        assert_eq!(bulk.counts(), incremental.counts());
        assert_eq!(bulk.expired(25, 0), incremental.expired(25, 0));
        assert_eq!(
            bulk.reclaimed_before(25, 0),
            incremental.reclaimed_before(25, 0)
        );
        let hw = HwAddr::ether(&[0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(bulk.by_hwaddr(&hw, None), incremental.by_hwaddr(&hw, None));
        let cid = ClientId::new(&[1, 5]).unwrap();
        assert_eq!(
            bulk.by_client_id(&cid, None),
            incremental.by_client_id(&cid, None)
        );
        assert_eq!(bulk.by_hostname("host5"), incremental.by_hostname("host5"));
        assert!(!bulk.by_hostname("host5").is_empty());
        // The bulk-built index keeps working incrementally.
        bulk.remove(Ipv4Addr::from(0x0a00_0001u32), |_| ());
        incremental.remove(Ipv4Addr::from(0x0a00_0001u32), |_| ());
        assert_eq!(bulk.page(None, 10_000), incremental.page(None, 10_000));
    }
}
