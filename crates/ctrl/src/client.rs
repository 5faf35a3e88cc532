//! The control socket client: connect, write one command, read one answer.
//!
//! Used by nestor-ctrl-agent to forward commands (Kea's `ClientConnection`, 60 s timeout in the
//! agent), by nestorctl and by tests. The answer is complete at EOF or as soon as one JSON value
//! is closed (read through the same [`JsonFeed`] as the server), whichever comes first.
//!
//! Errors say whether the daemon looks offline (`ENOENT`, `ECONNREFUSED` on connect) and can
//! render the text kea-ctrl-agent answers for a failed forward.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::feed::{FeedError, FeedStatus, JsonFeed};

/// Kea's `TIMEOUT_AGENT_FORWARD_COMMAND`.
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// Default bound on an answer: `lease4-get-all` of a million leases is a few hundred MB.
pub const DEFAULT_MAX_ANSWER_SIZE: usize = 1024 * 1024 * 1024;

/// Which step of the exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Writing the command.
    Write,
    /// Reading the answer.
    Read,
}

/// Why a command got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached; see [`ClientError::is_offline`].
    #[error("cannot connect to control socket {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The connection failed after it was established.
    #[error("I/O error on control socket {path} during {stage:?}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// Write or read.
        stage: Stage,
        /// The OS error.
        source: io::Error,
    },
    /// No complete answer within the timeout.
    #[error("no answer from control socket {path} within {} ms", timeout.as_millis())]
    Timeout {
        /// The socket path.
        path: PathBuf,
        /// The timeout.
        timeout: Duration,
    },
    /// The server closed the connection before a complete answer; `received` bytes came.
    #[error(
        "control socket {path} closed the connection after {received} bytes without a complete answer"
    )]
    Closed {
        /// The socket path.
        path: PathBuf,
        /// Bytes received.
        received: usize,
    },
    /// The answer is not JSON, or is larger than the limit.
    #[error("invalid answer from control socket {path}: {source}")]
    InvalidAnswer {
        /// The socket path.
        path: PathBuf,
        /// Framing or parse error.
        source: FeedError,
    },
    /// The command could not be serialised.
    #[error("cannot serialise command: {0}")]
    Encode(#[source] serde_json::Error),
}

impl ClientError {
    /// Whether the daemon is not running: the socket file is missing or nobody listens on it.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            Self::Connect { source, .. }
                if matches!(source.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused)
        )
    }

    /// kea-ctrl-agent's text for a forward to `service` that failed this way, e.g.
    /// `unable to forward command to the dhcp4 service: No such file or directory. The server is
    /// likely to be offline` (the middle part is the `strerror` text, or Boost's `End of file`
    /// for a connection closed early).
    pub fn kea_forward_text(&self, service: &str) -> String {
        let reason = match self {
            Self::Connect { source, .. } | Self::Io { source, .. } => os_message(source),
            Self::Timeout { .. } => "Connection timed out".to_owned(),
            Self::Closed { .. } => "End of file".to_owned(),
            Self::InvalidAnswer { source, .. } => {
                return format!(
                    "internal server error: unable to parse server's answer to the forwarded message: {source}"
                );
            }
            Self::Encode(err) => return format!("internal server error: {err}"),
        };
        format!(
            "unable to forward command to the {service} service: {reason}. The server is likely to be offline"
        )
    }
}

/// `strerror` without Rust's ` (os error N)` suffix, as Kea prints it.
fn os_message(err: &io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map_or_else(|| text.clone(), str::to_owned),
        None => text,
    }
}

/// Sends `command` (a [`crate::Command`], a `serde_json::Value`, anything serialisable) and
/// returns the parsed answer. `timeout` bounds the whole exchange.
pub async fn send_command<T: Serialize + ?Sized>(
    socket_path: impl AsRef<Path>,
    command: &T,
    timeout: Duration,
) -> Result<Value, ClientError> {
    let request = serde_json::to_vec(command).map_err(ClientError::Encode)?;
    let path = socket_path.as_ref();
    let (feed, _raw) = exchange(path, &request, timeout, DEFAULT_MAX_ANSWER_SIZE).await?;
    feed.to_value()
        .map_err(|source| ClientError::InvalidAnswer {
            path: path.to_path_buf(),
            source,
        })
}

/// Sends raw bytes and returns the raw answer bytes (up to the end of the first JSON value,
/// or everything up to EOF if the server sent no JSON). For tests and protocol debugging.
pub async fn send_raw(
    socket_path: impl AsRef<Path>,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ClientError> {
    exchange(
        socket_path.as_ref(),
        request,
        timeout,
        DEFAULT_MAX_ANSWER_SIZE,
    )
    .await
    .map(|(_feed, raw)| raw)
}

async fn exchange(
    path: &Path,
    request: &[u8],
    timeout: Duration,
    max_answer: usize,
) -> Result<(JsonFeed, Vec<u8>), ClientError> {
    match tokio::time::timeout(timeout, exchange_unbounded(path, request, max_answer)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(ClientError::Timeout {
            path: path.to_path_buf(),
            timeout,
        }),
    }
}

async fn exchange_unbounded(
    path: &Path,
    request: &[u8],
    max_answer: usize,
) -> Result<(JsonFeed, Vec<u8>), ClientError> {
    let io_error = |stage: Stage| {
        move |source: io::Error| ClientError::Io {
            path: path.to_path_buf(),
            stage,
            source,
        }
    };
    let mut stream = UnixStream::connect(path)
        .await
        .map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    stream
        .write_all(request)
        .await
        .map_err(io_error(Stage::Write))?;
    // No half-close, as Kea's own client: a server sees EOF before a complete command as the
    // peer giving up, and would close without answering an incomplete one.

    let mut feed = JsonFeed::with_max_size(max_answer);
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        let len = stream
            .read(&mut chunk)
            .await
            .map_err(io_error(Stage::Read))?;
        if len == 0 {
            if feed.is_complete() {
                return Ok((feed, raw));
            }
            return Err(ClientError::Closed {
                path: path.to_path_buf(),
                received: raw.len(),
            });
        }
        let data = chunk.get(..len).unwrap_or_default();
        match feed.push(data) {
            Ok(FeedStatus::NeedMoreData) => raw.extend_from_slice(data),
            Ok(FeedStatus::Complete { consumed }) => {
                raw.extend_from_slice(data.get(..consumed).unwrap_or_default());
                return Ok((feed, raw));
            }
            Err(source) => {
                return Err(ClientError::InvalidAnswer {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_socket_is_offline_with_keas_text() {
        let dir = tempfile::tempdir().unwrap();
        let err = send_command(
            dir.path().join("nope"),
            &serde_json::json!({"command": "x"}),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(err.is_offline(), "{err}");
        assert_eq!(
            err.kea_forward_text("dhcp4"),
            "unable to forward command to the dhcp4 service: No such file or directory. The server is likely to be offline"
        );
    }

    #[tokio::test]
    async fn socket_without_listener_is_offline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = send_command(
            &path,
            &serde_json::json!({"command": "x"}),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(err.is_offline(), "{err}");
        assert_eq!(
            err.kea_forward_text("dhcp4"),
            "unable to forward command to the dhcp4 service: Connection refused. The server is likely to be offline"
        );
    }

    #[test]
    fn other_errors_are_not_offline() {
        let err = ClientError::Closed {
            path: PathBuf::from("/s"),
            received: 0,
        };
        assert!(!err.is_offline());
        assert_eq!(
            err.kea_forward_text("dhcp4"),
            "unable to forward command to the dhcp4 service: End of file. The server is likely to be offline"
        );
    }
}
