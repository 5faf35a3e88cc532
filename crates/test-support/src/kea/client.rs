//! Tiny blocking clients for Kea's two control channels: the unix socket (one JSON command per
//! connection; the server closes the connection after its answer, so the answer is read to EOF)
//! and the Control Agent's HTTP (`POST /` with a JSON body). Bounded by a deadline each; meant
//! for tests, not for production use.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{HarnessError, Result};

/// Sends one command over Kea's unix control socket and returns the parsed answer.
pub fn unix_command(socket: &Path, command: &Value, timeout: Duration) -> Result<Value> {
    let what = || format!("control socket {}", socket.display());
    let io = |e| HarnessError::io(what(), e);
    let deadline = Instant::now() + timeout;
    let mut stream = UnixStream::connect(socket).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    stream
        .write_all(command.to_string().as_bytes())
        .map_err(io)?;
    let mut answer = Vec::new();
    read_until_eof(&mut stream, &mut answer, deadline, |s, t| {
        s.set_read_timeout(t)
    })
    .map_err(io)?;
    parse(what(), &answer)
}

/// `POST path` with a JSON body over HTTP/1.1 to `addr`; returns the status code and the JSON
/// body (the Control Agent answers a list, one element per service).
pub fn http_post_json(
    addr: SocketAddr,
    path: &str,
    body: &Value,
    timeout: Duration,
) -> Result<(u16, Value)> {
    let what = || format!("POST http://{addr}{path}");
    let io = |e| HarnessError::io(what(), e);
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(io)?;

    // Read until the headers are in and then until Content-Length bytes of body (or EOF when
    // the server gives no length).
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some((status, body_start, length)) =
            parse_head(&raw).map_err(|what| HarnessError::Http { what })?
            && length.is_none_or(|len| raw.len() >= body_start + len)
        {
            let end = length.map_or(raw.len(), |len| body_start + len);
            let body = raw.get(body_start..end).unwrap_or_default();
            return Ok((status, parse(what(), body)?));
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HarnessError::Http {
                what: format!("{}: no complete answer within {timeout:?}", what()),
            });
        }
        stream.set_read_timeout(Some(remaining)).map_err(io)?;
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            // EOF: complete only if the server sent no length.
            return match parse_head(&raw).map_err(|what| HarnessError::Http { what })? {
                Some((status, body_start, None)) => Ok((
                    status,
                    parse(what(), raw.get(body_start..).unwrap_or_default())?,
                )),
                _ => Err(HarnessError::Http {
                    what: format!(
                        "{}: connection closed mid-answer: {:?}",
                        what(),
                        String::from_utf8_lossy(&raw)
                    ),
                }),
            };
        }
        raw.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Parses the status line and headers once they are complete: (status, body offset,
/// Content-Length).
fn parse_head(raw: &[u8]) -> std::result::Result<Option<(u16, usize, Option<usize>)>, String> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?,
            );
        }
    }
    Ok(Some((status, end + 4, length)))
}

fn read_until_eof<S: std::io::Read>(
    stream: &mut S,
    out: &mut Vec<u8>,
    deadline: Instant,
    set_timeout: impl Fn(&S, Option<Duration>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no complete answer before the deadline",
            ));
        }
        set_timeout(stream, Some(remaining))?;
        match stream.read(&mut chunk)? {
            0 => return Ok(()),
            n => out.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

fn parse(what: String, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|source| HarnessError::BadAnswer {
        what,
        answer: String::from_utf8_lossy(bytes).into_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::TcpListener;
    use std::os::unix::net::UnixListener;

    #[test]
    fn unix_command_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let n = conn.read(&mut buf).unwrap();
            let got: Value = serde_json::from_slice(&buf[..n]).unwrap();
            // Answer in two writes, then close: the client must read to EOF.
            conn.write_all(br#"{"result": 0, "#).unwrap();
            conn.write_all(format!(r#""arguments": {got}}}"#).as_bytes())
                .unwrap();
        });
        let answer = unix_command(&path, &json!({"command": "x"}), Duration::from_secs(5)).unwrap();
        assert_eq!(answer, json!({"result": 0, "arguments": {"command": "x"}}));
        server.join().unwrap();
    }

    #[test]
    fn unix_command_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        // Accepts and never answers.
        let server = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_secs(2));
            drop(conn);
        });
        let start = Instant::now();
        let err = unix_command(&path, &json!({}), Duration::from_millis(300)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn http_post_reads_content_length_body() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(br#"{"command":"x"}"#) {
                let n = conn.read(&mut buf).unwrap();
                assert_ne!(n, 0);
                request.extend_from_slice(&buf[..n]);
            }
            let request = String::from_utf8(request).unwrap();
            assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
            assert!(request.contains("Content-Length: 15\r\n"), "{request}");
            let body = r#"[{"result": 0}]"#;
            // The connection stays open: the client must stop at Content-Length.
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap();
            std::thread::sleep(Duration::from_secs(1));
        });
        let (status, answer) =
            http_post_json(addr, "/", &json!({"command": "x"}), Duration::from_secs(5)).unwrap();
        assert_eq!(status, 200);
        assert_eq!(answer, json!([{"result": 0}]));
        server.join().unwrap();
    }

    #[test]
    fn head_parsing() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap(), None);
        let raw = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}";
        // The body is the last two bytes.
        assert_eq!(
            parse_head(raw).unwrap(),
            Some((401, raw.len() - 2, Some(2)))
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }
}
