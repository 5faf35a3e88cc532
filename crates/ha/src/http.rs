//! The HTTP/1.1 client HA uses to talk to a peer (reference 1.14), over the partner's
//! ctrl-agent or its dedicated listener.
//!
//! Requests are exactly Kea's (capture `capture-hs.http.txt`):
//!
//! ```text
//! POST / HTTP/1.1
//! Host: 198.18.0.2                  <- the peer URL's IP, no port
//! Content-Length: 53
//! Content-Type: application/json
//! [Authorization: Basic ...]        <- when the peer entry has basic-auth-user
//!
//! { "command": "ha-heartbeat", "service": [ "dhcp4" ] }
//! ```
//!
//! The answer is JSON: a list `[ {result, text, arguments} ]` through an agent, or a bare map
//! from a dedicated listener; both are accepted.
//!
//! Unlike Kea 2.2's single in-order queue per peer, connections are kept alive in a small pool
//! and up to `max_connections` requests are in flight at once (one per connection), so a lease
//! update never waits behind a slow sync page. A request that fails on a reused idle connection
//! before any answer byte arrived is retried once on a fresh one (the peer closed the idle
//! connection; the request was not processed).
//!
//! Errors say whether trying again later makes sense ([`PeerError::retryable`]), in the spirit of
//! pingora's error types: connection and timeout problems do, a malformed answer or a refusal
//! does not.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nestor_config::hooks::ha::HaPeer;
use nestor_ctrl::{Answer, to_kea_json};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Kea's `TIMEOUT_DEFAULT_HTTP_CLIENT_REQUEST`: heartbeats, lease updates, `dhcp-disable`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer accepted (a `lease4-get-page` of 10 000 leases is about 3 MB).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Largest response head.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why a request to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// TCP connect failed (refused, unreachable).
    #[error("{peer}: cannot connect: {source}")]
    Connect {
        /// The peer's name.
        peer: String,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake failed.
    #[error("{peer}: TLS handshake failed: {source}")]
    Handshake {
        /// The peer's name.
        peer: String,
        /// The TLS error.
        #[source]
        source: io::Error,
    },
    /// Reading or writing failed mid-request, or the peer closed the connection.
    #[error("{peer}: connection error: {source}")]
    Io {
        /// The peer's name.
        peer: String,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// No complete answer within the timeout.
    #[error("{peer}: no answer within {after:?}")]
    Timeout {
        /// The peer's name.
        peer: String,
        /// The timeout.
        after: Duration,
    },
    /// The peer answered with an HTTP error status.
    #[error("{peer}: HTTP status {status}")]
    Status {
        /// The peer's name.
        peer: String,
        /// The status code.
        status: u16,
    },
    /// The answer is not HTTP/1.x with a JSON control answer.
    #[error("{peer}: malformed answer: {reason}")]
    Malformed {
        /// The peer's name.
        peer: String,
        /// What is wrong.
        reason: String,
    },
    /// The TLS files of the peer entry cannot be used.
    #[error("{peer}: TLS configuration: {reason}")]
    TlsConfig {
        /// The peer's name.
        peer: String,
        /// What is wrong.
        reason: String,
    },
}

impl PeerError {
    /// Whether the same request may succeed if tried again later: transport trouble and
    /// server-side HTTP errors yes; a malformed answer, a refusal (4xx: authentication,
    /// forbidden command) or a TLS configuration problem no.
    pub fn retryable(&self) -> bool {
        match self {
            PeerError::Connect { .. }
            | PeerError::Handshake { .. }
            | PeerError::Io { .. }
            | PeerError::Timeout { .. } => true,
            PeerError::Status { status, .. } => *status >= 500,
            PeerError::Malformed { .. } | PeerError::TlsConfig { .. } => false,
        }
    }
}

/// Builds a control command as Kea writes it: keys in alphabetical order (`arguments`,
/// `command`, `service`), `service: ["dhcp4"]`, Kea's spacing.
pub fn command_body(command: &str, arguments: Option<Value>) -> String {
    let mut map = Map::new();
    if let Some(arguments) = arguments {
        map.insert("arguments".into(), sort_keys(arguments));
    }
    map.insert("command".into(), Value::String(command.into()));
    map.insert(
        "service".into(),
        Value::Array(vec![Value::String("dhcp4".into())]),
    );
    to_kea_json(&Value::Object(map))
}

/// Kea's `Element` maps are ordered by key; the workspace's serde_json preserves insertion
/// order, so sort explicitly.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Reads a control answer out of a JSON body: the first element of a list, or a map.
pub fn parse_answer(body: &[u8]) -> Result<Answer, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    let answer = match &value {
        Value::Array(items) => items
            .first()
            .ok_or_else(|| "answer is an empty list".to_owned())?,
        other => other,
    };
    Answer::from_value(answer).map_err(|e| e.to_string())
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read_buf(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => read_some(s, buf).await,
            Stream::Tls(s) => read_some(s.as_mut(), buf).await,
        }
    }
}

async fn read_some<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    buf.reserve(8192);
    r.read_buf(buf).await
}

/// One peer's endpoint and connection pool.
pub struct PeerClient {
    name: String,
    addr: SocketAddr,
    head: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    idle: Mutex<Vec<Stream>>,
    slots: Semaphore,
}

impl fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerClient")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("available", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl PeerClient {
    /// A client for `peer`, with at most `max_connections` requests in flight (at least one).
    /// `tls_defaults` are the global `trust-anchor`/`cert-file`/`key-file` the peer inherits.
    pub fn new(
        peer: &HaPeer,
        tls_defaults: [Option<&str>; 3],
        max_connections: usize,
    ) -> Result<Self, PeerError> {
        let url = &peer.url;
        let host = url.ip.to_string();
        let mut head = format!("POST {} HTTP/1.1\r\nHost: {host}\r\n", url.path);
        if let Some(user) = peer.basic_auth_user.as_deref().filter(|u| !u.is_empty()) {
            let password = match (&peer.basic_auth_password, &peer.basic_auth_password_file) {
                (Some(p), _) => p.clone(),
                (None, Some(file)) => std::fs::read_to_string(file)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|e| PeerError::TlsConfig {
                        peer: peer.name.clone(),
                        reason: format!("cannot read basic-auth-password-file {file}: {e}"),
                    })?,
                (None, None) => String::new(),
            };
            let token = data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes());
            head.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        let tls = if url.https {
            let pick = |own: &Option<String>, default: Option<&str>| {
                own.clone().or_else(|| default.map(str::to_owned))
            };
            let ca = pick(&peer.trust_anchor, tls_defaults[0]);
            let cert = pick(&peer.cert_file, tls_defaults[1]);
            let key = pick(&peer.key_file, tls_defaults[2]);
            let connector = tls_connector(ca.as_deref(), cert.as_deref(), key.as_deref()).map_err(
                |reason| PeerError::TlsConfig {
                    peer: peer.name.clone(),
                    reason,
                },
            )?;
            Some((connector, ServerName::IpAddress(url.ip.into())))
        } else {
            None
        };
        Ok(Self {
            name: peer.name.clone(),
            addr: SocketAddr::new(url.ip, url.port),
            head,
            tls,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(max_connections.max(1)),
        })
    }

    /// The peer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// POSTs a command and returns the peer's answer, whatever its result code (the caller
    /// decides what a result means for it).
    pub async fn send(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Answer, PeerError> {
        let body = command_body(command, arguments);
        let mut request = self.head.clone();
        request.push_str(&format!(
            "Content-Length: {}\r\nContent-Type: application/json\r\n\r\n",
            body.len()
        ));
        request.push_str(&body);
        let _slot = self.slots.acquire().await.map_err(|_| PeerError::Io {
            peer: self.name.clone(),
            source: io::Error::other("client closed"),
        })?;
        match tokio::time::timeout(timeout, self.exchange(request.as_bytes())).await {
            Ok(result) => result,
            Err(_) => Err(PeerError::Timeout {
                peer: self.name.clone(),
                after: timeout,
            }),
        }
    }

    async fn exchange(&self, request: &[u8]) -> Result<Answer, PeerError> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(mut stream) = reused {
            match self.round_trip(&mut stream, request).await {
                Ok((answer, keep)) => {
                    self.release(stream, keep);
                    return Ok(answer);
                }
                // Nothing came back on an idle connection: the peer closed it; try afresh.
                Err((true, _)) => {}
                Err((false, err)) => return Err(err),
            }
        }
        let mut stream = self.connect().await?;
        match self.round_trip(&mut stream, request).await {
            Ok((answer, keep)) => {
                self.release(stream, keep);
                Ok(answer)
            }
            Err((_, err)) => Err(err),
        }
    }

    fn release(&self, stream: Stream, keep: bool) {
        if keep {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(stream);
        }
    }

    async fn connect(&self) -> Result<Stream, PeerError> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|source| PeerError::Connect {
                peer: self.name.clone(),
                source,
            })?;
        // Lease updates are small and latency-bound.
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Stream::Plain(tcp)),
            Some((connector, name)) => connector
                .connect(name.clone(), tcp)
                .await
                .map(|s| Stream::Tls(Box::new(s)))
                .map_err(|source| PeerError::Handshake {
                    peer: self.name.clone(),
                    source,
                }),
        }
    }

    /// One request and its answer. `Err((true, _))` when nothing at all was received (safe to
    /// retry on a new connection).
    async fn round_trip(
        &self,
        stream: &mut Stream,
        request: &[u8],
    ) -> Result<(Answer, bool), (bool, PeerError)> {
        let io = |source: io::Error| PeerError::Io {
            peer: self.name.clone(),
            source,
        };
        let malformed = |reason: String| PeerError::Malformed {
            peer: self.name.clone(),
            reason,
        };
        if let Err(e) = stream.write_all(request).await {
            return Err((true, io(e)));
        }
        let mut buf = Vec::with_capacity(8192);
        let (status, head_len, content_length, keep) = loop {
            let n = stream
                .read_buf(&mut buf)
                .await
                .map_err(|e| (buf.is_empty(), io(e)))?;
            if n == 0 {
                return Err((
                    buf.is_empty(),
                    io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed by the peer",
                    )),
                ));
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.unwrap_or(0);
                    let mut length = None;
                    let mut keep = response.version == Some(1);
                    for h in response.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<usize>().ok());
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                            keep = v.contains("keep-alive") || (keep && !v.contains("close"));
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err((
                                false,
                                malformed(
                                    "chunked answers are not supported (Kea sends Content-Length)"
                                        .into(),
                                ),
                            ));
                        }
                    }
                    let Some(length) = length else {
                        return Err((false, malformed("no Content-Length".into())));
                    };
                    if length > MAX_ANSWER_BYTES {
                        return Err((
                            false,
                            malformed(format!("answer of {length} bytes is too large")),
                        ));
                    }
                    break (status, head_len, length, keep);
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) => {
                    return Err((false, malformed("response head too large".into())));
                }
                Err(e) => return Err((false, malformed(format!("bad HTTP response: {e}")))),
            }
        };
        while buf.len() < head_len + content_length {
            let n = stream
                .read_buf(&mut buf)
                .await
                .map_err(|e| (false, io(e)))?;
            if n == 0 {
                return Err((
                    false,
                    io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "answer truncated",
                    )),
                ));
            }
        }
        let body = buf
            .get(head_len..head_len + content_length)
            .unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err((
                false,
                PeerError::Status {
                    peer: self.name.clone(),
                    status,
                },
            ));
        }
        let keep = keep && buf.len() == head_len + content_length;
        parse_answer(body)
            .map(|answer| (answer, keep))
            .map_err(|reason| (false, malformed(reason)))
    }
}

/// The TLS client of a peer: trust the `trust-anchor` (file or directory), present
/// `cert-file`/`key-file` (Kea always presents its certificate).
fn tls_connector(
    ca: Option<&str>,
    cert: Option<&str>,
    key: Option<&str>,
) -> Result<TlsConnector, String> {
    let ca = ca.ok_or("https peer without trust-anchor")?;
    let mut roots = RootCertStore::empty();
    let anchor = Path::new(ca);
    let files: Vec<std::path::PathBuf> = if anchor.is_dir() {
        std::fs::read_dir(anchor)
            .map_err(|e| format!("cannot read trust-anchor {ca}: {e}"))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect()
    } else {
        vec![anchor.to_path_buf()]
    };
    for file in files {
        for cert in CertificateDer::pem_file_iter(&file)
            .map_err(|e| format!("cannot load trust-anchor {}: {e}", file.display()))?
            .flatten()
        {
            roots
                .add(cert)
                .map_err(|e| format!("bad trust-anchor certificate in {}: {e}", file.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(format!("no certificate in trust-anchor {ca}"));
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("cannot load cert-file {cert}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cannot load cert-file {cert}: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot load key-file {key}: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::hooks::ha::{PeerRole, parse_peer_url};
    use serde_json::json;
    use tokio::net::TcpListener;

    fn peer(url: &str, user: Option<&str>) -> HaPeer {
        HaPeer {
            name: "server2".into(),
            url: parse_peer_url(url).unwrap(),
            role: PeerRole::Standby,
            auto_failover: true,
            basic_auth_user: user.map(str::to_owned),
            basic_auth_password: user.map(|_| "secret".to_owned()),
            basic_auth_password_file: None,
            trust_anchor: None,
            cert_file: None,
            key_file: None,
        }
    }

    #[test]
    fn bodies_are_byte_for_byte_the_captured_ones() {
        assert_eq!(
            command_body("ha-heartbeat", None),
            r#"{ "command": "ha-heartbeat", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(
            command_body(
                "dhcp-disable",
                Some(json!({"origin": "ha-partner", "max-period": 60}))
            ),
            r#"{ "arguments": { "max-period": 60, "origin": "ha-partner" }, "command": "dhcp-disable", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(
            command_body(
                "lease4-get-page",
                Some(json!({"limit": 10000, "from": "start"}))
            ),
            r#"{ "arguments": { "from": "start", "limit": 10000 }, "command": "lease4-get-page", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(
            command_body("ha-heartbeat", None).len(),
            53,
            "Content-Length in the capture"
        );
    }

    #[test]
    fn answers_as_list_or_map() {
        let list = br#"[ { "result": 0, "text": "IPv4 lease added." } ]"#;
        let a = parse_answer(list).unwrap();
        assert_eq!(
            (a.result.code(), a.text.as_deref()),
            (0, Some("IPv4 lease added."))
        );
        let map = br#"{ "result": 3, "text": "0 IPv4 lease(s) found.", "arguments": { "count": 0, "leases": [ ] } }"#;
        assert_eq!(parse_answer(map).unwrap().result.code(), 3);
        assert!(parse_answer(b"[]").is_err());
        assert!(parse_answer(b"not json").is_err());
        assert!(parse_answer(br#"[ { "text": "x" } ]"#).is_err());
    }

    /// A fake peer: answers each request on one kept-alive connection, records the requests.
    async fn fake_peer(
        answers: Vec<&'static str>,
        close_after_first: bool,
    ) -> (SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut answers: std::collections::VecDeque<&str> = answers.into();
            'accept: while let Ok((mut sock, _)) = listener.accept().await {
                loop {
                    let mut buf = Vec::new();
                    let request = loop {
                        let mut chunk = [0u8; 4096];
                        let n = sock.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            if answers.is_empty() {
                                return seen;
                            }
                            continue 'accept;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("Content-Length: "))
                                .unwrap()
                                .parse()
                                .unwrap();
                            if body.len() >= len {
                                break text;
                            }
                        }
                    };
                    seen.push(request);
                    let Some(body) = answers.pop_front() else {
                        return seen;
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\nDate: Wed, 25 Nov 2026 19:28:56 GMT\r\n\r\n{body}",
                        body.len()
                    );
                    sock.write_all(response.as_bytes()).await.unwrap();
                    if close_after_first {
                        drop(sock);
                        if answers.is_empty() {
                            return seen;
                        }
                        continue 'accept;
                    }
                }
            }
            seen
        });
        (addr, task)
    }

    #[tokio::test]
    async fn sends_kea_requests_and_keeps_the_connection_alive() {
        let (addr, task) = fake_peer(
            vec![
                r#"[ { "arguments": { "date-time": "Wed, 25 Nov 2026 19:28:56 GMT", "scopes": [  ], "state": "waiting", "unsent-update-count": 0 }, "result": 0, "text": "HA peer status returned." } ]"#,
                r#"[ { "result": 0, "text": "IPv4 lease added." } ]"#,
            ],
            false,
        )
        .await;
        let client = PeerClient::new(
            &peer(&format!("http://{addr}/"), Some("admin")),
            [None; 3],
            2,
        )
        .unwrap();
        let a = client
            .send("ha-heartbeat", None, DEFAULT_REQUEST_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(a.text.as_deref(), Some("HA peer status returned."));
        let a = client
            .send(
                "lease4-update",
                Some(json!({"ip-address": "198.18.1.0"})),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(a.result.code(), 0);
        drop(client);
        let seen = task.await.unwrap();
        assert_eq!(seen.len(), 2, "both on one connection");
        assert_eq!(
            seen[0],
            format!(
                "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Length: 53\r\nContent-Type: application/json\r\n\r\n{}",
                r#"{ "command": "ha-heartbeat", "service": [ "dhcp4" ] }"#
            )
        );
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_replaced() {
        let (addr, task) = fake_peer(
            vec![
                r#"{ "result": 0, "text": "a" }"#,
                r#"{ "result": 0, "text": "b" }"#,
            ],
            true,
        )
        .await;
        let client =
            PeerClient::new(&peer(&format!("http://{addr}/"), None), [None; 3], 1).unwrap();
        assert_eq!(
            client
                .send("x", None, DEFAULT_REQUEST_TIMEOUT)
                .await
                .unwrap()
                .text
                .as_deref(),
            Some("a")
        );
        assert_eq!(
            client
                .send("x", None, DEFAULT_REQUEST_TIMEOUT)
                .await
                .unwrap()
                .text
                .as_deref(),
            Some("b")
        );
        drop(client);
        assert!(!task.await.unwrap()[0].contains("Authorization"));
    }

    #[tokio::test]
    async fn errors_say_whether_to_retry() {
        // Nobody listens.
        let closed = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let client =
            PeerClient::new(&peer(&format!("http://{closed}/"), None), [None; 3], 1).unwrap();
        let err = client
            .send("ha-heartbeat", None, DEFAULT_REQUEST_TIMEOUT)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PeerError::Connect { .. }) && err.retryable(),
            "{err}"
        );

        // Accepts and never answers.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let client =
            PeerClient::new(&peer(&format!("http://{addr}/"), None), [None; 3], 1).unwrap();
        let err = client
            .send("ha-heartbeat", None, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PeerError::Timeout { .. }) && err.retryable(),
            "{err}"
        );
        drop(silent);

        // Answers garbage.
        let (addr, _task) = fake_peer(vec!["<html>"], false).await;
        let client =
            PeerClient::new(&peer(&format!("http://{addr}/"), None), [None; 3], 1).unwrap();
        let err = client
            .send("ha-heartbeat", None, DEFAULT_REQUEST_TIMEOUT)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PeerError::Malformed { .. }) && !err.retryable(),
            "{err}"
        );

        assert!(
            !PeerError::Status {
                peer: "p".into(),
                status: 401
            }
            .retryable()
        );
        assert!(
            PeerError::Status {
                peer: "p".into(),
                status: 503
            }
            .retryable()
        );
    }
}
