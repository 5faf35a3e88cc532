//! The dedicated HA listener (Kea's HA+MT `CmdHttpListener`, reference 1.14): `nestor-dhcp4`
//! itself answers control commands over HTTP on this server's peer `url`, so peers need no
//! ctrl-agent in between.
//!
//! It behaves like the agent toward a peer: `POST` with a JSON command, answer list-wrapped
//! (`[ {...} ]`) as `application/json`, HTTP/1.1 keep-alive; commands run through the server's
//! command registry (so `status-get` gets its HA part and the lease commands work).
//! With `restrict-commands` only Kea's HA command set is accepted, others get HTTP 403 with
//! `{ "result": 403, "text": "Forbidden" }`. Timeouts as Kea: 10 s to receive a request, 30 s
//! idle. Plain HTTP only for now (no server-side TLS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use nestor_ctrl::{Answer, CancellationToken, CommandRegistry, ResultCode, to_kea_json};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Time allowed to receive one request once its first byte arrived.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time an idle kept-alive connection stays open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request accepted (a `lease4-update` is a few hundred bytes).
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Commands accepted when `restrict-commands` is true (Kea 2.2's v4 list).
pub const RESTRICTED_COMMANDS: [&str; 12] = [
    "list-commands",
    "status-get",
    "dhcp-disable",
    "dhcp-enable",
    "ha-reset",
    "ha-heartbeat",
    "lease4-update",
    "lease4-del",
    "lease4-get-all",
    "lease4-get-page",
    "ha-maintenance-notify",
    "ha-sync-complete-notify",
];

/// Binds `addr` and serves until `cancel`.
pub async fn serve(
    addr: SocketAddr,
    commands: Arc<CommandRegistry>,
    restrict: bool,
    cancel: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = cancel.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let commands = Arc::clone(&commands);
                    let cancel = cancel.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            () = cancel.cancelled() => {}
                            () = connection(stream, commands, restrict) => {}
                        }
                    });
                }
                // Per-connection accept errors (EMFILE, aborted handshakes) are not fatal.
                Err(e) => {
                    tracing::warn!(target: "kea-dhcp4.ha-hooks", "HA dedicated listener accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    Ok(bound)
}

async fn connection(mut stream: TcpStream, commands: Arc<CommandRegistry>, restrict: bool) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Wait for the next request (idle timeout), then give it REQUEST_TIMEOUT to complete.
        let Some((head_len, body_len)) =
            (match tokio::time::timeout(IDLE_TIMEOUT, read_more(&mut stream, &mut buf)).await {
                Ok(Ok(true)) => {
                    tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream, &mut buf))
                        .await
                        .ok()
                        .flatten()
                }
                _ => None,
            })
        else {
            return;
        };
        let body = buf
            .get(head_len..head_len + body_len)
            .unwrap_or_default()
            .to_vec();
        buf.drain(..head_len + body_len);
        let (status, payload) = answer(&body, &commands, restrict).await;
        let reason = if status == 200 {
            "OK"
        } else if status == 403 {
            "Forbidden"
        } else {
            "Bad Request"
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{payload}",
            payload.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    if !buf.is_empty() {
        return Ok(true);
    }
    buf.reserve(4096);
    Ok(stream.read_buf(buf).await? > 0)
}

/// Reads until a whole request is buffered: `(head length, body length)`.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = request.parse(buf) {
            let length = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if length > MAX_REQUEST_BYTES {
                return None;
            }
            if buf.len() >= head_len + length {
                return Some((head_len, length));
            }
        } else if buf.len() > MAX_REQUEST_BYTES {
            return None;
        }
        buf.reserve(4096);
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

async fn answer(body: &[u8], commands: &CommandRegistry, restrict: bool) -> (u16, String) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let answer = Answer::new(ResultCode::Error, "invalid JSON in the request body");
        return (400, to_kea_json(&vec![answer]));
    };
    let name = value
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if restrict && !RESTRICTED_COMMANDS.contains(&name) {
        return (403, r#"{ "result": 403, "text": "Forbidden" }"#.to_owned());
    }
    let answer = commands.process(value).await;
    (200, to_kea_json(&vec![answer]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::PeerClient;
    use nestor_config::hooks::ha::{HaPeer, PeerRole, parse_peer_url};

    fn peer(addr: SocketAddr) -> HaPeer {
        HaPeer {
            name: "server1".into(),
            url: parse_peer_url(&format!("http://{addr}/")).unwrap(),
            role: PeerRole::Primary,
            auto_failover: true,
            basic_auth_user: None,
            basic_auth_password: None,
            basic_auth_password_file: None,
            trust_anchor: None,
            cert_file: None,
            key_file: None,
        }
    }

    #[tokio::test]
    async fn answers_commands_list_wrapped_and_restricts_when_asked() {
        let commands = Arc::new(CommandRegistry::new());
        commands
            .register("ha-heartbeat", |_c: nestor_ctrl::Command| async {
                Answer::success("HA peer status returned.")
            })
            .unwrap();
        commands
            .register("config-get", |_c: nestor_ctrl::Command| async {
                Answer::success("config")
            })
            .unwrap();
        let cancel = CancellationToken::new();
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::clone(&commands),
            true,
            cancel.clone(),
        )
        .await
        .unwrap();
        let client = PeerClient::new(&peer(addr), [None; 3], 2).unwrap();
        for _ in 0..3 {
            let a = client
                .send("ha-heartbeat", None, Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(a.text.as_deref(), Some("HA peer status returned."));
        }
        let refused = client
            .send("config-get", None, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, crate::http::PeerError::Status { status: 403, .. }),
            "{refused}"
        );
        let unknown = serve(
            "127.0.0.1:0".parse().unwrap(),
            commands,
            false,
            cancel.clone(),
        )
        .await
        .unwrap();
        let open = PeerClient::new(&peer(unknown), [None; 3], 1).unwrap();
        assert_eq!(
            open.send("config-get", None, Duration::from_secs(5))
                .await
                .unwrap()
                .text
                .as_deref(),
            Some("config")
        );
        assert_eq!(
            open.send("bogus", None, Duration::from_secs(5))
                .await
                .unwrap()
                .result,
            ResultCode::Unsupported
        );
        cancel.cancel();
    }
}
