//! Group commit: one writer thread appends the rows of many concurrent lease changes with one
//! `write(2)` (and, if asked, one `fdatasync(2)`) per batch.
//!
//! A change is encoded into the open batch's buffer under a short mutex and the caller gets a
//! [`Commit`]: a future (and a blocking [`Commit::wait`]) that resolves only once the batch holding
//! its row has been written. The server sends its ACK after awaiting the commit, which gives the
//! durability contract ("no ACK for a lease not yet in the file") while a burst of N concurrent
//! leases costs one system call instead of N. While the thread writes one batch, the next one
//! fills; batches are never delayed on purpose, so an idle server writes each row at once.
//!
//! Durability levels ([`SyncPolicy`]): `Flush` hands the bytes to the kernel before completing,
//! as Kea does (a `kill -9` of the server loses nothing; a power cut may); `Fsync` also waits for
//! the disk.
//!
//! A failed write fails every commit of that batch (the server drops those replies); the next
//! batch starts on a fresh line so a partial row costs one row error on reload, not two. After a
//! failed reopen (rotation) every commit fails until the store is reopened: Kea would silently
//! stop persisting instead.
//!
//! Completion uses std primitives only (a mutex, a condvar and the wakers of pending futures), so
//! this module works under any executor and from plain threads.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use thiserror::Error;

use crate::csv::HEADER;

/// How hard a batch is pushed to storage before its commits complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// `write(2)` only, as Kea (its rows are flushed with `std::endl`, never fsynced).
    #[default]
    Flush,
    /// `write(2)` then `fdatasync(2)`.
    Fsync,
}

/// Why a commit failed.
#[derive(Debug, Clone, Error)]
pub enum CommitError {
    /// Writing (or syncing) the batch failed.
    #[error("writing lease file {path} failed: {source}")]
    Write {
        /// The lease file.
        path: PathBuf,
        /// The I/O error, shared by every commit of the batch.
        source: Arc<io::Error>,
    },
    /// The lease file could not be reopened after rotation; nothing is persisted any more.
    #[error("lease file {path} is not open (reopen after rotation failed: {source})")]
    NotOpen {
        /// The lease file.
        path: PathBuf,
        /// Why the reopen failed.
        source: Arc<io::Error>,
    },
    /// The writer has shut down.
    #[error("the lease file writer is closed")]
    Closed,
}

#[derive(Default)]
struct BatchState {
    result: Option<Result<(), CommitError>>,
    wakers: Vec<Waker>,
}

/// One batch's completion, shared by all commits whose rows it carries.
#[derive(Default)]
struct Batch {
    state: Mutex<BatchState>,
    done: Condvar,
}

impl Batch {
    fn lock(&self) -> MutexGuard<'_, BatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn complete(&self, result: Result<(), CommitError>) {
        let wakers = {
            let mut state = self.lock();
            state.result = Some(result);
            std::mem::take(&mut state.wakers)
        };
        self.done.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The pending durability of one lease change (or of several, see [`Commit::and`]). Await it
/// (or [`Commit::wait`]) before answering the client.
#[must_use = "a lease change is durable only once its commit has completed"]
pub struct Commit(CommitInner);

enum CommitInner {
    Done(Option<Result<(), CommitError>>),
    Pending(Arc<Batch>),
    /// Several batches, oldest first; completes when all have, with the first error.
    All(Vec<Arc<Batch>>),
}

impl std::fmt::Debug for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.0 {
            CommitInner::Done(_) => "done",
            CommitInner::Pending(_) | CommitInner::All(_) => "pending",
        };
        f.debug_tuple("Commit").field(&state).finish()
    }
}

impl Batch {
    /// The batch's result, or `None` after registering `waker` to be woken with it.
    fn poll_result(&self, waker: &Waker) -> Option<Result<(), CommitError>> {
        let mut state = self.lock();
        if let Some(result) = &state.result {
            return Some(result.clone());
        }
        if !state.wakers.iter().any(|w| w.will_wake(waker)) {
            state.wakers.push(waker.clone());
        }
        None
    }

    fn wait(&self) -> Result<(), CommitError> {
        let mut state = self.lock();
        loop {
            if let Some(result) = &state.result {
                return result.clone();
            }
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Commit {
    /// A commit that is already complete (nothing to persist).
    pub fn done() -> Self {
        Commit(CommitInner::Done(Some(Ok(()))))
    }

    fn failed(error: CommitError) -> Self {
        Commit(CommitInner::Done(Some(Err(error))))
    }

    /// A commit that completes when both have; rows of one batch are counted once, so joining
    /// the commits of a wipe of a million leases keeps one entry per batch.
    pub fn and(self, other: Commit) -> Commit {
        let mut batches = match self.0 {
            CommitInner::Done(Some(Err(e))) => return Commit::failed(e),
            CommitInner::Done(_) => Vec::new(),
            CommitInner::Pending(batch) => vec![batch],
            CommitInner::All(batches) => batches,
        };
        let more = match other.0 {
            CommitInner::Done(Some(Err(e))) => return Commit::failed(e),
            CommitInner::Done(_) => Vec::new(),
            CommitInner::Pending(batch) => vec![batch],
            CommitInner::All(more) => more,
        };
        for batch in more {
            if !batches.last().is_some_and(|last| Arc::ptr_eq(last, &batch)) {
                batches.push(batch);
            }
        }
        match batches.len() {
            0 => Commit::done(),
            1 => Commit(CommitInner::Pending(batches.swap_remove(0))),
            _ => Commit(CommitInner::All(batches)),
        }
    }

    /// Blocks the calling thread until the row is written.
    pub fn wait(self) -> Result<(), CommitError> {
        match self.0 {
            CommitInner::Done(result) => result.unwrap_or(Ok(())),
            CommitInner::Pending(batch) => batch.wait(),
            CommitInner::All(batches) => batches.iter().try_for_each(|b| b.wait()),
        }
    }
}

impl Future for Commit {
    type Output = Result<(), CommitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            CommitInner::Done(result) => Poll::Ready(result.take().unwrap_or(Ok(()))),
            CommitInner::Pending(batch) => match batch.poll_result(cx.waker()) {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            },
            CommitInner::All(batches) => {
                // Batches complete in order: drop the finished ones from the front.
                while let Some(first) = batches.first() {
                    match first.poll_result(cx.waker()) {
                        None => return Poll::Pending,
                        Some(Err(e)) => return Poll::Ready(Err(e)),
                        Some(Ok(())) => {
                            batches.remove(0);
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// `name` became `name.1` and a fresh `name` (header only) is being appended to.
    Rotated,
    /// `name.1` or `name.completed` already exists: a previous cleanup has not finished, so the
    /// file was left alone (Kea then only starts the LFC again).
    PendingCleanup,
}

struct Pending {
    buf: String,
    batch: Arc<Batch>,
    rotations: Vec<mpsc::Sender<io::Result<Rotation>>>,
    shutdown: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The group-commit writer of one lease file.
pub struct Writer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// Opens `path` for appending, creating it with Kea's header if it is missing or empty.
pub(crate) fn open_lease_file(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    if file.metadata()?.len() == 0 {
        file.write_all(HEADER.as_bytes())?;
        file.write_all(b"\n")?;
    }
    Ok(file)
}

impl Writer {
    /// Opens (or creates) the lease file and starts the writer thread.
    pub fn open(path: &Path, policy: SyncPolicy) -> io::Result<Writer> {
        let file = open_lease_file(path)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: String::new(),
                batch: Arc::default(),
                rotations: Vec::new(),
                shutdown: false,
            }),
            wake: Condvar::new(),
        });
        let mut thread = WriterThread {
            shared: Arc::clone(&shared),
            path: path.to_owned(),
            file: Ok(file),
            policy,
            torn_line: false,
        };
        let handle = std::thread::Builder::new()
            .name("lease-writer".into())
            .spawn(move || thread.run())?;
        Ok(Writer {
            shared,
            thread: Mutex::new(Some(handle)),
        })
    }

    /// Appends what `encode` writes (whole rows ending in `\n`) to the open batch.
    pub fn append(&self, encode: impl FnOnce(&mut String)) -> Commit {
        let mut pending = self.shared.lock();
        if pending.shutdown {
            return Commit::failed(CommitError::Closed);
        }
        let was_idle = pending.buf.is_empty();
        encode(&mut pending.buf);
        let commit = Commit(CommitInner::Pending(Arc::clone(&pending.batch)));
        drop(pending);
        if was_idle {
            self.shared.wake.notify_one();
        }
        commit
    }

    /// Renames the lease file to `<name>.1` and continues in a fresh file, after every row
    /// appended so far has been written (Kea's LFC step 1-2, reference 5.4). Blocks.
    pub fn rotate(&self) -> io::Result<Rotation> {
        let (tx, rx) = mpsc::channel();
        {
            let mut pending = self.shared.lock();
            if pending.shutdown {
                return Err(io::Error::other("the lease file writer is closed"));
            }
            pending.rotations.push(tx);
        }
        self.shared.wake.notify_one();
        rx.recv()
            .unwrap_or_else(|_| Err(io::Error::other("the lease file writer stopped")))
    }

    /// Writes what is pending, then stops the thread. Later appends fail with
    /// [`CommitError::Closed`].
    pub fn close(&self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // The thread only returns; a panic there would already have failed its batch.
            let _ = handle.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

struct WriterThread {
    shared: Arc<Shared>,
    path: PathBuf,
    file: Result<File, Arc<io::Error>>,
    policy: SyncPolicy,
    torn_line: bool,
}

impl WriterThread {
    fn run(&mut self) {
        let mut spare = String::new();
        loop {
            let (mut buf, batch, rotations, shutdown) = {
                let mut pending = self.shared.lock();
                while pending.buf.is_empty() && pending.rotations.is_empty() && !pending.shutdown {
                    pending = self
                        .shared
                        .wake
                        .wait(pending)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                let buf = std::mem::replace(&mut pending.buf, std::mem::take(&mut spare));
                let batch = std::mem::take(&mut pending.batch);
                (
                    buf,
                    batch,
                    std::mem::take(&mut pending.rotations),
                    pending.shutdown,
                )
            };
            let result = if buf.is_empty() {
                Ok(())
            } else {
                self.write(&buf)
            };
            batch.complete(result);
            for reply in rotations {
                // The requester may have given up; nothing to do then.
                let _ = reply.send(self.rotate());
            }
            buf.clear();
            spare = buf;
            if shutdown {
                // Appends after the flag are refused, so nothing can be left behind.
                return;
            }
        }
    }

    fn write(&mut self, rows: &str) -> Result<(), CommitError> {
        let file = match &mut self.file {
            Ok(file) => file,
            Err(source) => {
                return Err(CommitError::NotOpen {
                    path: self.path.clone(),
                    source: Arc::clone(source),
                });
            }
        };
        let mut attempt = || -> io::Result<()> {
            if self.torn_line {
                file.write_all(b"\n")?;
                self.torn_line = false;
            }
            file.write_all(rows.as_bytes())?;
            if self.policy == SyncPolicy::Fsync {
                file.sync_data()?;
            }
            Ok(())
        };
        attempt().map_err(|e| {
            self.torn_line = true;
            CommitError::Write {
                path: self.path.clone(),
                source: Arc::new(e),
            }
        })
    }

    fn rotate(&mut self) -> io::Result<Rotation> {
        let files = super::LeaseFiles::new(&self.path);
        if files.input().exists() || files.finish().exists() {
            return Ok(Rotation::PendingCleanup);
        }
        std::fs::rename(&self.path, files.input())?;
        match open_lease_file(&self.path) {
            Ok(file) => {
                self.file = Ok(file);
                self.torn_line = false;
                Ok(Rotation::Rotated)
            }
            Err(e) => {
                let kind = e.kind();
                let message = e.to_string();
                self.file = Err(Arc::new(e));
                Err(io::Error::new(kind, message))
            }
        }
    }
}

/// A minimal executor for the crate's tests: poll, park until woken.
#[cfg(test)]
pub(crate) fn block_on_for_tests<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_appends_all_land_once_and_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases4.csv");
        let writer = Arc::new(Writer::open(&path, SyncPolicy::Flush).unwrap());
        let completed = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let writer = Arc::clone(&writer);
                let completed = Arc::clone(&completed);
                std::thread::spawn(move || {
                    for i in 0..250 {
                        let commit = writer.append(|buf| buf.push_str(&format!("row {t} {i}\n")));
                        if i % 2 == 0 {
                            commit.wait().unwrap();
                        } else {
                            block_on_for_tests(commit).unwrap();
                        }
                        completed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        writer.close();
        assert_eq!(completed.load(Ordering::Relaxed), 2000);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER));
        let mut rows: Vec<_> = lines.collect();
        assert_eq!(rows.len(), 2000);
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), 2000);
        // Per thread, rows are in program order.
        for t in 0..8 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("row {t} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(matches!(
            writer.append(|b| b.push('x')).wait(),
            Err(CommitError::Closed)
        ));
    }

    #[test]
    fn write_failure_reaches_the_caller() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("SKIPPED: /dev/full not present");
            return;
        }
        let mut thread = WriterThread {
            shared: Arc::new(Shared {
                pending: Mutex::new(Pending {
                    buf: String::new(),
                    batch: Arc::default(),
                    rotations: Vec::new(),
                    shutdown: false,
                }),
                wake: Condvar::new(),
            }),
            path: full.to_owned(),
            file: OpenOptions::new().append(true).open(full).map_err(Arc::new),
            policy: SyncPolicy::Flush,
            torn_line: false,
        };
        assert!(matches!(
            thread.write("row\n"),
            Err(CommitError::Write { .. })
        ));
        assert!(thread.torn_line, "the next batch starts on a fresh line");
    }

    #[test]
    fn rotation_moves_the_file_and_continues_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases4.csv");
        let writer = Writer::open(&path, SyncPolicy::Fsync).unwrap();
        writer.append(|b| b.push_str("before\n")).wait().unwrap();
        assert_eq!(writer.rotate().unwrap(), Rotation::Rotated);
        writer.append(|b| b.push_str("after\n")).wait().unwrap();
        assert_eq!(writer.rotate().unwrap(), Rotation::PendingCleanup);
        writer.close();
        let one = std::fs::read_to_string(dir.path().join("leases4.csv.1")).unwrap();
        assert_eq!(one, format!("{HEADER}\nbefore\n"));
        let main = std::fs::read_to_string(&path).unwrap();
        assert_eq!(main, format!("{HEADER}\nafter\n"));
    }

    #[test]
    fn joined_commits_wait_for_every_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases4.csv");
        let writer = Writer::open(&path, SyncPolicy::Flush).unwrap();
        let mut all = Commit::done();
        for i in 0..100 {
            all = all.and(writer.append(|b| b.push_str(&format!("{i}\n"))));
        }
        if let CommitInner::All(batches) = &all.0 {
            assert!(batches.len() <= 100);
        }
        block_on_for_tests(all).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 101);
        let failed = Commit::failed(CommitError::Closed).and(Commit::done());
        assert!(matches!(failed.wait(), Err(CommitError::Closed)));
        assert!(Commit::done().and(Commit::done()).wait().is_ok());
    }
}
