//! The memfile lease store: Kea's default backend (reference 5), an in-memory index with an
//! append-only CSV file.
//!
//! * [`Memfile::open`] replays the lease files in Kea's order (`.completed`, else `.2` then `.1`;
//!   then always the lease file itself), refusing while a cleanup process is running, and opens
//!   the lease file for appending. A lease file in an older or newer schema is first rewritten in
//!   place in the current one (deletion rows kept, bad rows dropped), so appended rows always
//!   match the header; Kea instead runs a cleanup at once for the same reason.
//! * Changes are applied to the [`LeaseIndex`] and their rows queued to the group-commit
//!   [`Writer`] under the address's shard lock, so memory and file agree on the order of changes
//!   to one address; the caller then awaits the returned [`Commit`]. A change is visible to
//!   readers slightly before it is durable; what is never allowed is answering the client before
//!   the commit completes, and the server awaits it before its ACK. If the write fails the change
//!   stays in memory (the client got no ACK and will retry; the same address goes back to it).
//! * [`Memfile::rotate`] is the server's half of the cleanup (main file to `.1`, fresh main
//!   file); [`lfc::run`] is the cleanup process's half.

pub mod index;
pub mod lfc;
pub mod load;
pub mod writer;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::csv::{SchemaState, deletion_row, encode_row};
use crate::lease::{Lease4, UnixTime};
use crate::store::LeaseError;

pub use index::{BulkLoad, Change, LeaseIndex, StateCounts};
pub use load::{FileReport, LoadError, RowErrorAt};
pub use writer::{Commit, CommitError, Rotation, SyncPolicy, Writer};

/// The family of files around a lease file `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFiles {
    name: PathBuf,
}

impl LeaseFiles {
    /// The files of lease file `name`.
    pub fn new(name: &Path) -> Self {
        LeaseFiles {
            name: name.to_owned(),
        }
    }

    fn with_suffix(&self, suffix: &str) -> PathBuf {
        let mut s = self.name.clone().into_os_string();
        s.push(suffix);
        PathBuf::from(s)
    }

    /// The lease file itself.
    pub fn main(&self) -> PathBuf {
        self.name.clone()
    }

    /// `<name>.2`: the previous cleanup's output.
    pub fn previous(&self) -> PathBuf {
        self.with_suffix(".2")
    }

    /// `<name>.1`: the lease file as rotated for the cleanup.
    pub fn input(&self) -> PathBuf {
        self.with_suffix(".1")
    }

    /// `<name>.output`: the cleanup's output being written.
    pub fn output(&self) -> PathBuf {
        self.with_suffix(".output")
    }

    /// `<name>.completed`: the cleanup's finished output, before its rotation.
    pub fn finish(&self) -> PathBuf {
        self.with_suffix(".completed")
    }

    /// `<name>.pid`: the cleanup process's PID file.
    pub fn pid(&self) -> PathBuf {
        self.with_suffix(".pid")
    }

    /// The files to replay at startup, in order (reference 5.3 step 2).
    pub fn replay_order(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if self.finish().exists() {
            files.push(self.finish());
        } else {
            files.extend(
                [self.previous(), self.input()]
                    .into_iter()
                    .filter(|p| p.exists()),
            );
        }
        if self.name.exists() {
            files.push(self.main());
        }
        files
    }
}

/// `lease-database` settings for memfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemfileConfig {
    /// `name`: the lease file.
    pub path: PathBuf,
    /// `persist`: write changes to the file (Kea's default true).
    pub persist: bool,
    /// `max-row-errors`: 0 = unlimited.
    pub max_row_errors: u32,
    /// Nestor extension: how far a batch is pushed before its commits complete.
    pub sync: SyncPolicy,
}

impl MemfileConfig {
    /// Kea's defaults for a lease file at `path`: persist, unlimited row errors, flush only.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MemfileConfig {
            path: path.into(),
            persist: true,
            max_row_errors: 0,
            sync: SyncPolicy::Flush,
        }
    }
}

/// What [`Memfile::open`] loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// One report per file replayed, in replay order.
    pub files: Vec<FileReport>,
    /// Leases in memory after the replay.
    pub leases: usize,
    /// Whether the lease file was rewritten to the current schema.
    pub converted: bool,
}

/// The memfile lease store.
#[derive(Debug)]
pub struct Memfile {
    index: LeaseIndex,
    writer: Option<Writer>,
    files: LeaseFiles,
}

impl Memfile {
    /// A store that keeps leases in memory only (`persist: false`).
    pub fn in_memory() -> Self {
        Memfile {
            index: LeaseIndex::new(),
            writer: None,
            files: LeaseFiles::new(Path::new("")),
        }
    }

    /// Loads the lease files and, with `persist`, opens the lease file for appending.
    pub fn open(config: &MemfileConfig) -> Result<(Memfile, LoadReport), LoadError> {
        let files = LeaseFiles::new(&config.path);
        if let Some(pid) = load::live_pid(&files.pid()) {
            return Err(LoadError::CleanupInProgress { pid });
        }
        let mut report = LoadReport::default();
        let replay = files.replay_order();
        let total: u64 = replay
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        // ~90 bytes a row.
        let mut bulk = BulkLoad::with_capacity(usize::try_from(total / 90).unwrap_or(0));
        for path in replay {
            report.files.push(load::read_lease_file(
                &path,
                config.max_row_errors,
                &mut |lease| bulk.apply(lease),
            )?);
        }
        let index = bulk.finish();
        report.leases = index.len();
        let writer = if config.persist {
            let main = files.main();
            let stale = report
                .files
                .last()
                .filter(|f| f.path == main && f.schema != SchemaState::Current)
                .is_some();
            if stale {
                convert_in_place(&main, config.max_row_errors)?;
                report.converted = true;
            }
            let writer = Writer::open(&main, config.sync)
                .map_err(|source| LoadError::Io { path: main, source })?;
            Some(writer)
        } else {
            None
        };
        Ok((
            Memfile {
                index,
                writer,
                files,
            },
            report,
        ))
    }

    /// The in-memory index, for synchronous reads on the packet path.
    pub fn index(&self) -> &LeaseIndex {
        &self.index
    }

    /// The lease file's family of paths.
    pub fn files(&self) -> &LeaseFiles {
        &self.files
    }

    fn log(&self, change: Change<'_>) -> Commit {
        let Some(writer) = &self.writer else {
            return Commit::done();
        };
        writer.append(|buf| {
            // Identity was checked before the change was applied; deletion rows copy a stored
            // lease, which passed the same check.
            let _ = match change {
                Change::Upsert(lease) => encode_row(lease, buf),
                Change::Delete(lease) => encode_row(&deletion_row(lease), buf),
            };
        })
    }

    /// Adds a lease for a free address; [`LeaseError::Conflict`] if the address has one.
    pub fn add(&self, lease: Lease4) -> Result<Commit, LeaseError> {
        lease.check_identity()?;
        self.index
            .insert(lease, |change| self.log(change))
            .map_err(|occupied| LeaseError::Conflict {
                address: occupied.0.address,
            })
    }

    /// Replaces an existing lease, returning the old one; [`LeaseError::NotFound`] if there is
    /// none.
    pub fn update(&self, lease: Lease4) -> Result<(Lease4, Commit), LeaseError> {
        lease.check_identity()?;
        let address = lease.address;
        self.index
            .update(lease, |change| self.log(change))
            .ok_or(LeaseError::NotFound { address })
    }

    /// Adds or replaces a lease, returning the replaced one.
    pub fn upsert(&self, lease: Lease4) -> Result<(Option<Lease4>, Commit), LeaseError> {
        lease.check_identity()?;
        Ok(self.index.upsert(lease, |change| self.log(change)))
    }

    /// Deletes the lease of `address` (a row with valid lifetime 0), returning it.
    pub fn delete(&self, address: Ipv4Addr) -> Option<(Lease4, Commit)> {
        self.index.remove(address, |change| self.log(change))
    }

    /// Deletes every lease of `subnet_id` (all leases when `None`), as Kea's `wipeLeases4`: one
    /// deletion row each. Returns the number deleted and the commit of all those rows.
    pub fn wipe(&self, subnet_id: Option<u32>) -> (u64, Commit) {
        let mut deleted = 0;
        let mut all = Commit::done();
        for address in self.index.addresses_in(subnet_id) {
            if let Some((_, commit)) = self.index.remove_if(
                address,
                |l| subnet_id.is_none_or(|s| s == l.subnet_id),
                |c| self.log(c),
            ) {
                deleted += 1;
                all = all.and(commit);
            }
        }
        (deleted, all)
    }

    /// Deletes up to `limit` (0 = all) expired-reclaimed leases whose expiration is at or before
    /// `now - hold_reclaimed_time` (Kea's `deleteExpiredReclaimedLeases4`).
    pub fn flush_reclaimed(
        &self,
        now: UnixTime,
        hold_reclaimed_time: u32,
        limit: usize,
    ) -> (u64, Commit) {
        let cutoff = now.saturating_sub(u64::from(hold_reclaimed_time));
        let mut deleted = 0;
        let mut all = Commit::done();
        for lease in self.index.reclaimed_before(cutoff, limit) {
            let still_due = |l: &Lease4| {
                l.state == crate::lease::LeaseState::ExpiredReclaimed && l.expire() <= cutoff
            };
            if let Some((_, commit)) = self
                .index
                .remove_if(lease.address, still_due, |c| self.log(c))
            {
                deleted += 1;
                all = all.and(commit);
            }
        }
        (deleted, all)
    }

    /// The server's half of a cleanup: once every queued row is written, renames the lease
    /// file to `<name>.1` and continues in a fresh one. Blocks; call it from a blocking context.
    /// Without persistence there is nothing to rotate.
    pub fn rotate(&self) -> std::io::Result<Rotation> {
        match &self.writer {
            Some(writer) => writer.rotate(),
            None => Ok(Rotation::PendingCleanup),
        }
    }

    /// Writes pending rows and closes the file; later changes fail to commit.
    pub fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close();
        }
    }
}

/// Rewrites a lease file of another schema in the current one, row for row (deletion rows kept,
/// so the replay of this file after `.1`/`.2` still removes what it removed).
fn convert_in_place(path: &Path, max_row_errors: u32) -> Result<(), LoadError> {
    let tmp = LeaseFiles::new(path).with_suffix(".converting");
    let io_err = |source| LoadError::Io {
        path: tmp.clone(),
        source,
    };
    let mut rows = String::new();
    load::read_lease_file(path, max_row_errors, &mut |lease| {
        let _ = encode_row(&lease, &mut rows);
    })?;
    let mut text = String::with_capacity(rows.len() + crate::csv::HEADER.len() + 1);
    text.push_str(crate::csv::HEADER);
    text.push('\n');
    text.push_str(&rows);
    std::fs::write(&tmp, text).map_err(io_err)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_err)?;
    std::fs::rename(&tmp, path).map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::HEADER;
    use crate::lease::{ClientId, Hostname, HwAddr, LeaseState};

    fn lease(last: u8, cltt: u64) -> Lease4 {
        let mut l = Lease4::new(
            Ipv4Addr::new(192, 0, 2, last),
            HwAddr::ether(&[1, 2, 3, 4, 5, last]).unwrap(),
            Some(ClientId::new(&[1, last]).unwrap()),
            3600,
            cltt,
            1,
        );
        l.hostname = Hostname::new("a,b&c");
        l
    }

    #[test]
    fn changes_survive_a_reopen_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let config = MemfileConfig::new(dir.path().join("leases4.csv"));
        let (store, report) = Memfile::open(&config).unwrap();
        assert_eq!(report.leases, 0);
        for i in 1..=10 {
            store.add(lease(i, 1000)).unwrap().wait().unwrap();
        }
        assert!(matches!(
            store.add(lease(3, 5)),
            Err(LeaseError::Conflict { .. })
        ));
        let mut renewed = lease(4, 2000);
        renewed.user_context =
            Some(crate::lease::UserContext::from_json_text("{ \"a\": \"x,y\" }").unwrap());
        store.update(renewed.clone()).unwrap().1.wait().unwrap();
        store
            .delete(Ipv4Addr::new(192, 0, 2, 5))
            .unwrap()
            .1
            .wait()
            .unwrap();
        let mut declined = lease(6, 0);
        declined.decline(86400, 3000);
        store.update(declined.clone()).unwrap().1.wait().unwrap();
        assert!(matches!(
            store.update(lease(99, 1)),
            Err(LeaseError::NotFound { .. })
        ));
        let mut anonymous = lease(7, 1);
        anonymous.hwaddr = HwAddr::EMPTY;
        anonymous.client_id = None;
        assert!(matches!(
            store.update(anonymous),
            Err(LeaseError::Invalid(_))
        ));
        store.close();

        let (reopened, report) = Memfile::open(&config).unwrap();
        assert_eq!(report.leases, 9);
        assert_eq!(reopened.index().get(renewed.address), Some(renewed));
        assert_eq!(
            reopened.index().get(declined.address).unwrap().state,
            LeaseState::Declined
        );
        assert_eq!(reopened.index().get(Ipv4Addr::new(192, 0, 2, 5)), None);
        assert_eq!(
            reopened.index().get(Ipv4Addr::new(192, 0, 2, 9)),
            Some(lease(9, 1000))
        );
    }

    #[test]
    fn replay_order_and_cleanup_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let files = LeaseFiles::new(&dir.path().join("leases4.csv"));
        let row =
            |addr: &str, valid: u32| format!("{addr},01:02:03:04:05:06,,{valid},5000,1,0,0,,0,\n");
        std::fs::write(
            files.previous(),
            format!("{HEADER}\n{}{}", row("10.0.0.1", 100), row("10.0.0.2", 100)),
        )
        .unwrap();
        std::fs::write(files.input(), format!("{HEADER}\n{}", row("10.0.0.1", 0))).unwrap();
        std::fs::write(files.main(), format!("{HEADER}\n{}", row("10.0.0.3", 100))).unwrap();
        let config = MemfileConfig {
            persist: false,
            ..MemfileConfig::new(files.main())
        };
        let (store, _) = Memfile::open(&config).unwrap();
        let addrs: Vec<_> = store
            .index()
            .page(None, 10)
            .iter()
            .map(|l| l.address.to_string())
            .collect();
        assert_eq!(addrs, ["10.0.0.2", "10.0.0.3"]);

        // A .completed file wins over .2 and .1.
        std::fs::write(
            files.finish(),
            format!("{HEADER}\n{}", row("10.0.0.9", 100)),
        )
        .unwrap();
        let (store, _) = Memfile::open(&config).unwrap();
        let addrs: Vec<_> = store
            .index()
            .page(None, 10)
            .iter()
            .map(|l| l.address.to_string())
            .collect();
        assert_eq!(addrs, ["10.0.0.3", "10.0.0.9"]);

        std::fs::write(files.pid(), format!("{}\n", std::process::id())).unwrap();
        let err = Memfile::open(&config).unwrap_err();
        assert!(err.to_string().starts_with(
            "unable to load leases from files while the lease file cleanup is in progress"
        ));
    }

    #[test]
    fn newer_schema_file_is_rewritten_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases4.csv");
        std::fs::write(
            &path,
            format!(
                "{HEADER},pool_id\n10.0.0.1,01:02:03:04:05:06,,100,5000,1,0,0,,0,,0\n10.0.0.1,01:02:03:04:05:06,,0,4900,1,0,0,,0,,0\n"
            ),
        )
        .unwrap();
        let (store, report) = Memfile::open(&MemfileConfig::new(&path)).unwrap();
        assert!(report.converted);
        assert_eq!(report.leases, 0);
        let mut l = lease(1, 10);
        l.address = Ipv4Addr::new(10, 0, 0, 2);
        store.add(l).unwrap().wait().unwrap();
        store.close();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next(), Some(HEADER));
        assert_eq!(
            text.lines().count(),
            4,
            "header, both old rows, the new row:\n{text}"
        );
    }

    #[test]
    fn wipe_and_flush_write_deletion_rows() {
        let dir = tempfile::tempdir().unwrap();
        let config = MemfileConfig::new(dir.path().join("leases4.csv"));
        let (store, _) = Memfile::open(&config).unwrap();
        for i in 1..=6 {
            let mut l = lease(i, 100);
            l.subnet_id = u32::from(i % 2) + 1;
            if i > 4 {
                l.state = LeaseState::ExpiredReclaimed;
            }
            store.add(l).unwrap().wait().unwrap();
        }
        // leases 5 and 6 are reclaimed and expired at 3700.
        assert_eq!(store.flush_reclaimed(3700 + 10, 20, 0).0, 0);
        let (flushed, commit) = store.flush_reclaimed(3700 + 10, 10, 0);
        commit.wait().unwrap();
        assert_eq!(flushed, 2);
        let (wiped, commit) = store.wipe(Some(1));
        commit.wait().unwrap();
        assert_eq!(wiped, 2);
        store.close();
        let (reopened, _) = Memfile::open(&config).unwrap();
        assert_eq!(reopened.index().len(), 2);
        assert!(!reopened.index().counts().contains_key(&1));
    }

    /// Memory and file must agree on the order of changes to one address even when many
    /// threads race on the same addresses: the reloaded store equals the one in memory.
    #[test]
    fn concurrent_changes_replay_to_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let config = MemfileConfig::new(dir.path().join("leases4.csv"));
        let (store, _) = Memfile::open(&config).unwrap();
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..400u64 {
                        // 32 addresses shared by all threads.
                        let last = u8::try_from((i * 7 + t) % 32).unwrap() + 1;
                        let mut l = lease(last, t * 1000 + i);
                        l.valid_lifetime = u32::try_from(t + 1).unwrap();
                        let commit = if i % 5 == 4 {
                            store
                                .delete(l.address)
                                .map(|(_, c)| c)
                                .unwrap_or_else(Commit::done)
                        } else {
                            store.upsert(l).unwrap().1
                        };
                        commit.wait().unwrap();
                    }
                })
            })
            .collect();
        // Readers on the same shards meanwhile: lookups must neither block for good nor see a
        // lease under a key it does not have.
        let reader = {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    let last = u8::try_from(i % 32).unwrap() + 1;
                    let hw = HwAddr::ether(&[1, 2, 3, 4, 5, last]).unwrap();
                    for l in store.index().by_hwaddr(&hw, Some(1)) {
                        assert_eq!(l.hwaddr, hw);
                    }
                    let _ = store.index().page(None, 8);
                    let _ = store.index().expired(u64::MAX, 4);
                }
            })
        };
        for t in threads {
            t.join().unwrap();
        }
        reader.join().unwrap();
        store.close();
        let in_memory = store.index().page(None, 1000);
        let (reloaded, report) = Memfile::open(&config).unwrap();
        assert_eq!(
            report.files[0].rows as usize,
            report.files[0].leases as usize
        );
        assert_eq!(reloaded.index().page(None, 1000), in_memory);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_file_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000), header in proptest::bool::ANY) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("leases4.csv");
            let mut bytes = if header { format!("{HEADER}\n").into_bytes() } else { Vec::new() };
            bytes.extend_from_slice(&body);
            std::fs::write(&path, bytes).unwrap();
            let config = MemfileConfig { persist: false, ..MemfileConfig::new(&path) };
            let _ = Memfile::open(&config);
        }
    }
}
