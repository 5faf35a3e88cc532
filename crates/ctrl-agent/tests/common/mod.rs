//! Helpers shared by the integration tests: an in-process agent on a free port, a fake daemon
//! socket that records what it receives, and a raw HTTP/1.x client that shows the bytes.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nestor_ctrl_agent::{Agent, Limits, Server, Snapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener};

/// An agent serving in this process.
pub struct TestAgent {
    pub addr: SocketAddr,
    pub agent: Agent,
    pub task: tokio::task::JoinHandle<()>,
}

impl TestAgent {
    pub async fn start(control_agent: serde_json::Value, limits: Limits) -> Self {
        let mut map = control_agent;
        map["http-host"] = "127.0.0.1".into();
        map["http-port"] = 0.into();
        let text = serde_json::json!({ "Control-agent": map }).to_string();
        let snapshot = Snapshot::from_text(&text, "test").unwrap();
        let agent = Agent::with_forward_timeout(snapshot, None, Duration::from_secs(3));
        let server = Server::bind(agent.clone(), limits).await.unwrap();
        let addr = server.local_addr();
        let task = tokio::spawn(server.run());
        Self { addr, agent, task }
    }
}

/// A fake daemon on a unix socket: records each request, answers `answer`, closes.
pub struct FakeDaemon {
    pub path: PathBuf,
    pub received: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl FakeDaemon {
    pub fn start(answer: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake4.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let mut got = Vec::new();
                    // One command per connection, complete when it parses.
                    loop {
                        let n = conn.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                        if serde_json::from_slice::<serde_json::Value>(&got).is_ok() {
                            break;
                        }
                    }
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&got).into_owned());
                    let _ = conn.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self {
            path,
            received,
            _dir: dir,
        }
    }
}

pub fn socket_config(service: &str, path: &Path) -> serde_json::Value {
    serde_json::json!({ service: { "socket-type": "unix", "socket-name": path } })
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Splits `raw` into the responses it holds (Content-Length framed); the rest is returned.
pub fn parse_replies(mut raw: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap().to_owned();
        let status = parts.next().unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_owned(), v.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap();
        let body_end = end + 4 + length;
        if raw.len() < body_end {
            break;
        }
        let body = String::from_utf8_lossy(&raw[end + 4..body_end]).into_owned();
        out.push(Reply {
            version,
            status,
            headers,
            body,
        });
        raw = &raw[body_end..];
    }
    out
}

/// Sends `request`, reads until EOF or `wait` of silence; returns the bytes and whether the
/// server closed the connection.
pub async fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_for(&mut stream, wait).await
}

pub async fn read_for(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// A request with the given version, content type and body.
pub fn request(
    method: &str,
    version: &str,
    content_type: Option<&str>,
    body: &str,
    extra: &str,
) -> Vec<u8> {
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} / HTTP/{version}\r\nHost: x\r\n{ct}Content-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn post(body: &str) -> Vec<u8> {
    request("POST", "1.1", Some("application/json"), body, "")
}

/// Sends `request` and reads one complete response, then waits `linger` for the server to
/// close: (response bytes, closed).
pub async fn exchange_one(addr: SocketAddr, request: &[u8], linger: Duration) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while parse_replies(&out).is_empty() {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    let (rest, closed) = read_for(&mut stream, linger).await;
    out.extend(rest);
    (out, closed)
}
