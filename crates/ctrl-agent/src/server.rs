//! The HTTP(S) listener and the per-connection loop.
//!
//! Kea's timers (reference 3.4, measured on kea-ctrl-agent 2.2): a request must be complete
//! [`Limits::request_timeout`] (10 s) after the connection opened or, on a kept-alive
//! connection, after its first byte arrived, else `408` with `{ "result": 408, "text": "Request
//! Timeout" }`; a kept-alive connection with no new request for [`Limits::idle_timeout`] (30 s)
//! is closed. An HTTP-level error other than 401 closes the connection after its answer. Pipelined requests
//! are answered in order (Kea 2.2 silently drops the second one: a deliberate improvement).
//!
//! Robustness, beyond Kea: at most [`Limits::max_connections`] connections are served at once
//! (the next one is answered `503` and closed, so a flood of idle sockets cannot starve the
//! agent: each of them is gone after the request timeout); heads and bodies are bounded
//! ([`crate::http::MAX_HEAD_SIZE`], [`Limits::max_body`], `431`/`413`); writes are bounded by the
//! request timeout, so a client that never reads cannot pin a task. Each connection is its own
//! task; nothing a client sends can panic the agent (the command path turns handler panics into
//! answers, see `nestor_ctrl::CommandRegistry`).
//!
//! Shutdown: the accept loop stops, kept-alive connections close after their current exchange,
//! and the server waits at most [`DRAIN_TIMEOUT`] for them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Snapshot};
use crate::auth::AuthOutcome;
use crate::http::{HeadError, MAX_BODY_SIZE, Response, Status, Version, parse_head};

/// How long shutdown waits for connections to finish their current exchange.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-connection bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time for a whole request to arrive (Kea: 10 s).
    pub request_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request (Kea: 30 s).
    pub idle_timeout: Duration,
    /// Largest body accepted.
    pub max_body: usize,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_body: MAX_BODY_SIZE,
            max_connections: 128,
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    agent: Agent,
    limits: Limits,
    listener: TcpListener,
    addr: SocketAddr,
}

fn listen_addr(snapshot: &Snapshot) -> SocketAddr {
    SocketAddr::new(snapshot.config.http_host, snapshot.config.http_port)
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    Ok((listener, local))
}

impl Server {
    /// Binds `http-host`:`http-port` of the agent's configuration.
    pub async fn bind(agent: Agent, limits: Limits) -> Result<Self, ServerError> {
        let (listener, addr) = bind(listen_addr(&agent.snapshot())).await?;
        tracing::info!(
            target: "kea-ctrl-agent.ctrl-agent",
            "CTRL_AGENT_HTTP_SERVICE_STARTED HTTP service bound to address {}:{}",
            addr.ip(),
            addr.port()
        );
        Ok(Self {
            agent,
            limits,
            listener,
            addr,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the agent's shutdown token is cancelled, then drains.
    pub async fn run(self) {
        let Self {
            agent,
            limits,
            mut listener,
            mut addr,
        } = self;
        let shutdown = agent.shutdown_token();
        let mut changes = agent.subscribe();
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    // A new configuration may move the listener (TLS and credentials are read
                    // per connection, so they need nothing here).
                    let wanted = listen_addr(&changes.borrow_and_update());
                    if wanted != addr && !(wanted.port() == 0 && wanted.ip() == addr.ip()) {
                        match bind(wanted).await {
                            Ok((new_listener, new_addr)) => {
                                listener = new_listener;
                                addr = new_addr;
                                tracing::info!(target: "kea-ctrl-agent.ctrl-agent", "CTRL_AGENT_HTTP_SERVICE_STARTED HTTP service bound to address {}:{}", addr.ip(), addr.port());
                            }
                            Err(err) => tracing::error!(target: "kea-ctrl-agent.ctrl-agent", "CTRL_AGENT_HTTP_SERVICE_REUSE_FAILED {err}; still listening on {addr}"),
                        }
                    }
                }
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(pair) => pair,
                        Err(err) => {
                            // EMFILE and friends: recoverable, back off briefly.
                            tracing::warn!(target: "kea-ctrl-agent.http", "HTTP_CONNECTION_ACCEPT_FAILED {err}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        tasks.spawn(refuse_busy(stream));
                        continue;
                    };
                    let agent = agent.clone();
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move {
                        accept_connection(stream, peer, agent, limits, shutdown).await;
                        drop(permit);
                    });
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        let drained = timeout(DRAIN_TIMEOUT, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
        }
    }
}

async fn refuse_busy(mut stream: TcpStream) {
    tracing::warn!(target: "kea-ctrl-agent.http", "HTTP_CONNECTION_LIMIT too many connections; refusing one");
    let bytes =
        Response::error(Status::ServiceUnavailable).encode(Version::Http11, SystemTime::now());
    let _ = timeout(Duration::from_secs(1), stream.write_all(&bytes)).await;
    let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
}

async fn accept_connection(
    stream: TcpStream,
    peer: SocketAddr,
    agent: Agent,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let snapshot = agent.snapshot();
    match &snapshot.tls {
        None => serve(stream, peer, agent, limits, shutdown).await,
        Some(acceptor) => {
            let acceptor = acceptor.clone();
            drop(snapshot);
            match timeout(limits.request_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => serve(tls, peer, agent, limits, shutdown).await,
                Ok(Err(err)) => {
                    tracing::info!(target: "kea-ctrl-agent.http", "HTTP_CONNECTION_HANDSHAKE_FAILED TLS handshake with {peer} failed: {err}")
                }
                Err(_) => {
                    tracing::info!(target: "kea-ctrl-agent.http", "HTTP_CONNECTION_HANDSHAKE_FAILED TLS handshake with {peer} timed out")
                }
            }
        }
    }
}

/// Reads more bytes into `buf`; `Ok(0)` is EOF.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    Ok(n)
}

enum Next {
    /// Answered; the connection may carry another request.
    KeepAlive,
    /// Answered or gave up; close.
    Close,
}

/// Serves requests on one connection until it closes, errs, idles out, or the agent stops.
pub(crate) async fn serve<S>(
    mut stream: S,
    peer: SocketAddr,
    agent: Agent,
    limits: Limits,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(4096);
    let mut first = true;
    loop {
        if !first && buf.is_empty() {
            // Kept alive: wait for the next request's first byte.
            tokio::select! {
                () = shutdown.cancelled() => break,
                read = timeout(limits.idle_timeout, read_more(&mut stream, &mut buf)) => match read {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => break,
                },
            }
        }
        first = false;
        match exchange(&mut stream, &mut buf, peer, &agent, &limits).await {
            Next::KeepAlive if !shutdown.is_cancelled() => {}
            _ => break,
        }
    }
    let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
    version: Version,
    limits: &Limits,
) -> bool {
    let bytes = response.encode(version, SystemTime::now());
    matches!(
        timeout(limits.request_timeout, async {
            stream.write_all(&bytes).await?;
            stream.flush().await
        })
        .await,
        Ok(Ok(()))
    )
}

/// Reads one request from `buf` + `stream`, answers it.
async fn exchange<S>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
    agent: &Agent,
    limits: &Limits,
) -> Next
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + limits.request_timeout;
    let head = loop {
        match parse_head(buf) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(err) => {
                let status = match err {
                    HeadError::Malformed => Status::BadRequest,
                    HeadError::TooLarge => Status::HeaderFieldsTooLarge,
                };
                tracing::debug!(target: "kea-ctrl-agent.http", "HTTP_BAD_CLIENT_REQUEST_RECEIVED from {peer}: {err}");
                write_response(stream, &Response::error(status), Version::Http10, limits).await;
                return Next::Close;
            }
        }
        match timeout_at(deadline, read_more(stream, buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Next::Close,
            Err(_) => {
                tracing::debug!(target: "kea-ctrl-agent.http", "HTTP_CLIENT_REQUEST_TIMEOUT_OCCURRED request from {peer} timed out");
                let version = if buf.is_empty() {
                    Version::Http10
                } else {
                    Version::Http11
                };
                write_response(
                    stream,
                    &Response::error(Status::RequestTimeout),
                    version,
                    limits,
                )
                .await;
                return Next::Close;
            }
        }
    };
    let version = head.version;
    let length = head.content_length.unwrap_or(0);
    if length > limits.max_body {
        write_response(
            stream,
            &Response::error(Status::PayloadTooLarge),
            version,
            limits,
        )
        .await;
        return Next::Close;
    }
    let end = head.head_len + length;
    while buf.len() < end {
        match timeout_at(deadline, read_more(stream, buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Next::Close,
            Err(_) => {
                write_response(
                    stream,
                    &Response::error(Status::RequestTimeout),
                    version,
                    limits,
                )
                .await;
                return Next::Close;
            }
        }
    }
    let body: Vec<u8> = buf.drain(..end).skip(head.head_len).collect();
    let response = respond(&head, &body, peer, agent).await;
    // Kea keeps the connection after a 200 and after a 401 (so a client can retry with
    // credentials on it); every other error closes it.
    let keep = matches!(response.status, Status::Ok | Status::Unauthorized) && head.keep_alive;
    if !write_response(stream, &response, version, limits).await || !keep {
        return Next::Close;
    }
    Next::KeepAlive
}

/// Kea's order: an unacceptable request or unparsable JSON is a 400 before credentials are
/// looked at; then 401; then the command.
async fn respond(
    head: &crate::http::RequestHead,
    body: &[u8],
    peer: SocketAddr,
    agent: &Agent,
) -> Response {
    if !head.is_acceptable() {
        return Response::error(Status::BadRequest);
    }
    let value = if body.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(err) => {
                tracing::debug!(target: "kea-ctrl-agent.http", "HTTP_BAD_CLIENT_REQUEST_RECEIVED bad JSON from {peer}: {err}");
                return Response::error(Status::BadRequest);
            }
        }
    };
    let snapshot = agent.snapshot();
    if let Some(auth) = &snapshot.auth {
        match auth.check(head.authorization.as_deref()) {
            AuthOutcome::NotRequired => {}
            AuthOutcome::Authorized(user) => {
                tracing::info!(target: "kea-ctrl-agent.auth", "HTTP_CLIENT_REQUEST_AUTHORIZED received HTTP request authorized for '{user}'");
            }
            AuthOutcome::Denied(reason) => {
                tracing::info!(target: "kea-ctrl-agent.auth", "HTTP_CLIENT_REQUEST_NOT_AUTHORIZED received HTTP request from {peer} not authorized: {reason}");
                return Response::unauthorized(auth.realm());
            }
        }
    }
    drop(snapshot);
    Response::ok(agent.process(value, peer.ip()).await)
}
