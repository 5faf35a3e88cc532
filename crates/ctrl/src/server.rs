//! The unix control socket server (Kea's `control-socket` with `socket-type: unix`).
//!
//! Kea 2.2 (`CommandMgrImpl::openCommandSocket`): a lock file `<socket-name>.lock` (mode 0600) is
//! `flock`ed exclusively, non-blocking, so a second server on the same socket fails; holding that
//! lock proves any existing socket file is stale (left by a crashed server) and it is removed
//! before binding. On close both files are removed. One command per connection (see
//! [`crate::connection`]).
//!
//! Where Nestor does better than Kea, and why:
//! * the socket is created with mode 0600 (Kea's follows the umask, 0755 on Debian). It is bound
//!   inside a fresh 0700 directory, chmod'ed, then renamed into place, so there is no moment at
//!   which another user can connect;
//! * an existing `socket-name` that is not a socket is refused instead of deleted;
//! * concurrent connections are bounded; a connection over the bound is answered at once with an
//!   error and closed, so the accept loop never waits on a slow client;
//! * shutdown by a [`CancellationToken`]: accepting stops, connections still reading are closed,
//!   commands being executed get a bounded drain to finish and answer, the rest are aborted.
//!
//! The lock is a `flock(2)` (std's `File::try_lock` on Linux), the same primitive as Kea's, so a
//! Nestor server and a Kea server configured with the same socket exclude each other too.

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::answer::Answer;
use crate::connection::{Connection, Request};
use crate::feed::DEFAULT_MAX_COMMAND_SIZE;
use crate::registry::CommandRegistry;

/// Kea's `TIMEOUT_DHCP_SERVER_RECEIVE_COMMAND`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bound on concurrently served connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Default time given to executing commands when the server shuts down.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to pause accepting after a resource error (`EMFILE`, `ENFILE`, `ENOBUFS`), which
/// would otherwise repeat immediately and spin the loop.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Settings of a control socket server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Kea's `socket-name`.
    pub socket_name: PathBuf,
    /// Idle time after which a partial command is discarded (and the time a client gets to read
    /// the answer).
    pub idle_timeout: Duration,
    /// Largest accepted command, in bytes.
    pub max_command_size: usize,
    /// Connections served at once (at least 1); more are answered with an error and closed.
    pub max_connections: usize,
    /// Time given to executing commands at shutdown before they are aborted.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// Defaults for `socket_name`: Kea's 10 s idle timeout, 16 MiB commands, 64 connections,
    /// 5 s drain.
    pub fn new(socket_name: impl Into<PathBuf>) -> Self {
        Self {
            socket_name: socket_name.into(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_command_size: DEFAULT_MAX_COMMAND_SIZE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The lock file could not be created or locked.
    #[error("cannot create socket lockfile, {path}: {source}")]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another process holds the lock: a server already runs on this socket.
    #[error(
        "control socket {socket} is in use by another server (lock file {lock} is locked); \
         refusing to start a second one"
    )]
    InUse {
        /// The socket path.
        socket: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// `socket-name` exists and is not a socket; it is not ours to delete.
    #[error("{path} exists and is not a unix socket; refusing to replace it")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Creating, binding or moving the socket failed.
    #[error("cannot create control socket {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Counters of a running server (what was served, what was refused).
#[derive(Debug, Default)]
pub struct ServerStats {
    accepted: AtomicU64,
    rejected_busy: AtomicU64,
    read_timeouts: AtomicU64,
    commands: AtomicU64,
}

/// A snapshot of [`ServerStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections refused because `max_connections` were being served.
    pub rejected_busy: u64,
    /// Connections answered with the idle timeout text.
    pub read_timeouts: u64,
    /// Commands handed to the registry.
    pub commands: u64,
}

impl ServerStats {
    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected_busy: self.rejected_busy.load(Ordering::Relaxed),
            read_timeouts: self.read_timeouts.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
        }
    }
}

/// The socket file and its lock; removes both when dropped, while still holding the lock.
#[derive(Debug)]
struct SocketFiles {
    socket: PathBuf,
    lock_path: PathBuf,
    /// Held for the life of the server; the `flock` goes with the descriptor.
    _lock: File,
}

impl Drop for SocketFiles {
    fn drop(&mut self) {
        for path in [&self.socket, &self.lock_path] {
            if let Err(err) = std::fs::remove_file(path)
                && err.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove control socket file");
            }
        }
    }
}

/// A bound control socket, ready to [`run`](ControlServer::run).
#[derive(Debug)]
pub struct ControlServer {
    listener: std::os::unix::net::UnixListener,
    files: SocketFiles,
    config: ServerConfig,
    registry: Arc<CommandRegistry>,
    stats: Arc<ServerStats>,
}

impl ControlServer {
    /// Locks `<socket-name>.lock`, removes a stale socket, and binds the socket with mode 0600.
    ///
    /// Synchronous and usable outside a runtime, so that a daemon can report a busy socket before
    /// it starts anything else.
    pub fn bind(config: ServerConfig, registry: Arc<CommandRegistry>) -> Result<Self, ServerError> {
        let socket = config.socket_name.clone();
        let lock_path = lock_path(&socket);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|source| ServerError::LockFile {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ServerError::InUse {
                    socket,
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(ServerError::LockFile {
                    path: lock_path,
                    source,
                });
            }
        }
        // Holding the lock proves that no live server owns an existing socket file.
        remove_stale_socket(&socket)?;
        let listener = bind_private(&socket).map_err(|source| ServerError::Bind {
            path: socket.clone(),
            source,
        })?;
        let files = SocketFiles {
            socket,
            lock_path,
            _lock: lock,
        };
        tracing::info!(socket = %files.socket.display(), "COMMAND_ACCEPTOR_START");
        Ok(Self {
            listener,
            files,
            config,
            registry,
            stats: Arc::new(ServerStats::default()),
        })
    }

    /// The socket path.
    pub fn socket_path(&self) -> &Path {
        &self.files.socket
    }

    /// The registry commands are dispatched to.
    pub fn registry(&self) -> &Arc<CommandRegistry> {
        &self.registry
    }

    /// The server's counters, readable while it runs.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Serves connections until `shutdown` is cancelled, then drains and removes the socket.
    ///
    /// Errors on single connections are logged and never end the loop. Returns an error only if
    /// the bound socket cannot be registered with the runtime.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServerError> {
        let Self {
            listener,
            files,
            config,
            registry,
            stats,
        } = self;
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| UnixListener::from_std(listener))
            .map_err(|source| ServerError::Bind {
                path: files.socket.clone(),
                source,
            })?;
        let config = Arc::new(config);
        // At least one, or the server would refuse every client.
        let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let mut tasks = JoinSet::new();

        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _addr)) => {
                        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                            stats.rejected_busy.fetch_add(1, Ordering::Relaxed);
                            reject_busy(stream, config.max_connections);
                            continue;
                        };
                        stats.accepted.fetch_add(1, Ordering::Relaxed);
                        let registry = Arc::clone(&registry);
                        let config = Arc::clone(&config);
                        let stats = Arc::clone(&stats);
                        let cancel = shutdown.clone();
                        tasks.spawn(async move {
                            serve(stream, &registry, &config, &stats, &cancel).await;
                            drop(permit);
                        });
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "COMMAND_SOCKET_ACCEPT_FAIL");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => log_join(joined),
            }
        }

        // New clients must see the server gone (ENOENT) at once, not queue on a dead listener.
        drop(listener);
        if let Err(err) = std::fs::remove_file(&files.socket)
            && err.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(error = %err, "cannot remove control socket");
        }
        let drained = tokio::time::timeout(config.drain_timeout, async {
            while let Some(joined) = tasks.join_next().await {
                log_join(joined);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                remaining = tasks.len(),
                "control socket connections still busy after the drain timeout; aborting them"
            );
            tasks.shutdown().await;
        }
        drop(files);
        Ok(())
    }
}

/// One connection: read a command (unless shutting down), process it, answer, close.
async fn serve(
    stream: tokio::net::UnixStream,
    registry: &CommandRegistry,
    config: &ServerConfig,
    stats: &ServerStats,
    cancel: &CancellationToken,
) {
    let mut conn = Connection::new(stream, config.max_command_size);
    // A connection that has not delivered its command yet is not worth waiting for at shutdown.
    let request = tokio::select! {
        request = conn.read_request(config.idle_timeout) => request,
        () = cancel.cancelled() => return,
    };
    let answer = match request {
        Ok(Request::Command(value)) => {
            stats.commands.fetch_add(1, Ordering::Relaxed);
            registry.process(value).await
        }
        Ok(Request::TimedOut(answer)) => {
            stats.read_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::info!("COMMAND_SOCKET_CONNECTION_TIMEOUT");
            answer
        }
        Ok(Request::Invalid(answer)) => {
            tracing::warn!(error = ?answer.text, "COMMAND_PROCESS_ERROR1");
            answer
        }
        Ok(Request::Closed { partial }) => {
            tracing::info!(
                partial_bytes = partial,
                "COMMAND_SOCKET_CLOSED_BY_FOREIGN_HOST"
            );
            return;
        }
        Err(err) => {
            tracing::error!(error = %err, "COMMAND_SOCKET_READ_FAIL");
            return;
        }
    };
    if let Err(err) = conn.write_answer(&answer, config.idle_timeout).await {
        tracing::warn!(error = %err, "COMMAND_SOCKET_WRITE_FAIL");
    }
}

/// Best-effort answer to a client over the connection bound, without ever waiting on it.
fn reject_busy(stream: tokio::net::UnixStream, limit: usize) {
    tracing::warn!(
        limit,
        "control channel connection refused: too many connections"
    );
    let answer = Answer::error(format!(
        "too many connections over control channel (limit {limit}); try again later"
    ));
    // One non-blocking write(2) on the plain socket (tokio's `try_write` would depend on a
    // readiness event the fresh socket may not have had yet). A new socket's send buffer takes
    // a short answer whole; if not, the client just sees the connection closed.
    if let Ok(mut stream) = stream.into_std() {
        let _ = std::io::Write::write(&mut stream, answer.to_kea_json().as_bytes());
    }
}

fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(err) = joined
        && err.is_panic()
    {
        tracing::error!(error = %err, "control connection task panicked");
    }
}

/// `<socket-name>.lock`.
fn lock_path(socket: &Path) -> PathBuf {
    let mut name = OsString::from(socket.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

fn remove_stale_socket(socket: &Path) -> Result<(), ServerError> {
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            tracing::info!(socket = %socket.display(), "removing stale control socket");
            std::fs::remove_file(socket).map_err(|source| ServerError::Bind {
                path: socket.to_path_buf(),
                source,
            })
        }
        Ok(_) => Err(ServerError::NotASocket {
            path: socket.to_path_buf(),
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ServerError::Bind {
            path: socket.to_path_buf(),
            source,
        }),
    }
}

/// Longest path `bind(2)` takes for a unix socket (`sun_path` is 108 bytes with its NUL).
const SUN_PATH_MAX: usize = 107;

/// Binds `socket` so that it is never reachable with a mode other than 0600: bind inside a new
/// 0700 directory next to it, chmod, then rename into place (same file system, so the bound
/// inode keeps its address).
fn bind_private(socket: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    let parent = match socket.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // Unique per process and per bind, so that concurrent binds in one directory never meet.
    static BIND_SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = BIND_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let private_dir = parent.join(format!(".nestor-ctrl.{}.{sequence}", std::process::id()));
    let temp = private_dir.join("s");
    if temp.as_os_str().len() > SUN_PATH_MAX {
        // The detour does not fit in `sun_path` although the socket itself may: bind in place
        // and chmod at once. The lock file already keeps other servers away; only a local
        // client racing the chmod could connect with the umask's mode.
        tracing::debug!(socket = %socket.display(), "socket path too long for a private bind");
        let listener = std::os::unix::net::UnixListener::bind(socket)?;
        std::fs::set_permissions(socket, Permissions::from_mode(0o600))?;
        return Ok(listener);
    }
    // A directory of that name can only be left over from a crashed process with our PID.
    match std::fs::remove_dir_all(&private_dir) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    DirBuilder::new().mode(0o700).create(&private_dir)?;
    let bound = (|| -> io::Result<_> {
        let listener = std::os::unix::net::UnixListener::bind(&temp)?;
        std::fs::set_permissions(&temp, Permissions::from_mode(0o600))?;
        std::fs::rename(&temp, socket)?;
        Ok(listener)
    })();
    let cleanup = std::fs::remove_dir_all(&private_dir);
    let listener = bound?;
    cleanup?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_socket_paths_are_still_bound_with_mode_0600() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        // A parent directory so deep that the socket fits in sun_path but the private detour
        // (`<parent>/.nestor-ctrl.<pid>.<n>/s`) does not.
        let mut parent = dir.path().to_path_buf();
        while parent.as_os_str().len() < SUN_PATH_MAX - 10 {
            parent.push("d");
        }
        std::fs::create_dir_all(&parent).unwrap();
        let socket = parent.join("sock");
        assert!(socket.as_os_str().len() <= SUN_PATH_MAX);
        drop(bind_private(&socket).unwrap());
        assert_eq!(std::fs::metadata(&socket).unwrap().mode() & 0o777, 0o600);
        // The usual path: a short parent.
        let short = dir.path().join("short");
        drop(bind_private(&short).unwrap());
        assert_eq!(std::fs::metadata(&short).unwrap().mode() & 0o777, 0o600);
        // No private directory is left behind in either place.
        assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn lock_path_appends_suffix() {
        assert_eq!(
            lock_path(Path::new("/run/kea/kea4-ctrl-socket")),
            PathBuf::from("/run/kea/kea4-ctrl-socket.lock")
        );
    }
}
