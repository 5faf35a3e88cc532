//! The HTTP behaviour table of kea-ctrl-agent 2.2 (reference 3.4; every expected body below was
//! observed on the real agent), plus Nestor's limits, against an in-process agent and a fake
//! daemon socket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use nestor_ctrl_agent::Limits;
use serde_json::json;
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_millis(400);
const BAD_REQUEST: &str = r#"{ "result": 400, "text": "Bad Request" }"#;
const LIST: &str = r#"[ { "arguments": [ "build-report", "config-get", "config-reload", "config-set", "config-test", "config-write", "list-commands", "shutdown", "status-get", "version-get" ], "result": 0 } ]"#;
const FAKE_ANSWER: &str =
    r#"{ "result": 0, "text": "fake", "arguments": {"b": [1, {}], "a": [] } }"#;

async fn agent() -> (TestAgent, FakeDaemon) {
    let daemon = FakeDaemon::start(FAKE_ANSWER);
    let agent = TestAgent::start(
        json!({ "control-sockets": {
            "dhcp4": { "socket-type": "unix", "socket-name": daemon.path },
            "dhcp6": { "socket-type": "unix", "socket-name": daemon.path.with_file_name("none6.sock") } } }),
        Limits::default(),
    )
    .await;
    (agent, daemon)
}

async fn one(agent: &TestAgent, raw: &[u8]) -> (Reply, bool) {
    let (bytes, closed) = exchange_one(agent.addr, raw, Duration::from_millis(150)).await;
    let mut replies = parse_replies(&bytes);
    assert_eq!(replies.len(), 1, "{}", String::from_utf8_lossy(&bytes));
    (replies.remove(0), closed)
}

#[tokio::test]
async fn http_level_refusals_are_400_and_close() {
    let (agent, _d) = agent().await;
    let body = r#"{"command":"list-commands"}"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("GET", request("GET", "1.1", Some("application/json"), body, "")),
        ("PUT", request("PUT", "1.1", Some("application/json"), body, "")),
        ("no content type", request("POST", "1.1", None, body, "")),
        ("text/plain", request("POST", "1.1", Some("text/plain"), body, "")),
        ("charset", request("POST", "1.1", Some("application/json; charset=utf-8"), body, "")),
        ("bad JSON", post("{bad")),
        ("trailing data", post(r#"{"command":"list-commands"} trailing"#)),
        (
            "chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1b\r\n{\"command\":\"list-commands\"}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "no length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n".to_vec(),
        ),
    ];
    for (name, raw) in cases {
        let (reply, closed) = one(&agent, &raw).await;
        assert_eq!(reply.status, 400, "{name}");
        assert_eq!(reply.body, BAD_REQUEST, "{name}");
        assert!(closed, "{name}: the connection must close");
        assert_eq!(
            reply.header("Content-Type"),
            Some("application/json"),
            "{name}"
        );
        let names: Vec<&str> = reply.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Content-Length", "Content-Type", "Date"], "{name}");
    }
    // Garbage: answered in HTTP/1.0, as Kea.
    let (reply, closed) = one(&agent, b"hello world\r\n\r\n").await;
    assert_eq!(
        (reply.version.as_str(), reply.status, closed),
        ("HTTP/1.0", 400, true)
    );
}

#[tokio::test]
async fn any_path_keep_alive_and_http10() {
    let (agent, _d) = agent().await;
    let body = r#"{"command":"list-commands"}"#;
    // HTTP/1.1 on /a/b: 200, kept open; a second request on the same connection works.
    let mut stream = tokio::net::TcpStream::connect(agent.addr).await.unwrap();
    let raw = String::from_utf8(post(body))
        .unwrap()
        .replacen("POST / ", "POST /a/b ", 1);
    stream.write_all(raw.as_bytes()).await.unwrap();
    let (bytes, closed) = read_for(&mut stream, WAIT).await;
    assert!(!closed);
    let replies = parse_replies(&bytes);
    assert_eq!(replies[0].status, 200);
    assert_eq!(replies[0].body, LIST);
    stream.write_all(&post(body)).await.unwrap();
    let (bytes, _) = read_for(&mut stream, WAIT).await;
    assert_eq!(parse_replies(&bytes)[0].body, LIST);
    // Pipelined: both answered, in order.
    let mut two = post(r#"{"command":"nope"}"#);
    two.extend(post(body));
    stream.write_all(&two).await.unwrap();
    let (bytes, _) = read_for(&mut stream, WAIT).await;
    let replies = parse_replies(&bytes);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].json()[0]["result"], 2);
    assert_eq!(replies[1].body, LIST);

    // HTTP/1.0 closes unless keep-alive is asked for; the answer is 1.0.
    let (reply, closed) = one(
        &agent,
        &request("POST", "1.0", Some("application/json"), body, ""),
    )
    .await;
    assert_eq!(
        (reply.version.as_str(), reply.status, closed),
        ("HTTP/1.0", 200, true)
    );
    let (reply, closed) = one(
        &agent,
        &request(
            "POST",
            "1.0",
            Some("application/json"),
            body,
            "Connection: keep-alive\r\n",
        ),
    )
    .await;
    assert_eq!((reply.version.as_str(), closed), ("HTTP/1.0", false));
    let (_, closed) = one(
        &agent,
        &request(
            "POST",
            "1.1",
            Some("application/json"),
            body,
            "Connection: close\r\n",
        ),
    )
    .await;
    assert!(closed);
    // The content type is matched case-insensitively.
    let (reply, _) = one(
        &agent,
        &request("POST", "1.1", Some("Application/JSON"), body, ""),
    )
    .await;
    assert_eq!(reply.body, LIST);
}

#[tokio::test]
async fn routing_texts_are_keas() {
    let (agent, daemon) = agent().await;
    let cases = [
        // Observed on kea-ctrl-agent 2.2 with the same fake daemon.
        (
            r#"{ "command": "foo-bar", "service": [ "dhcp4", "dhcp6", "d2" ], "arguments": {"x": 1} }"#,
            r#"[ { "arguments": { "a": [  ], "b": [ 1, {  } ] }, "result": 0, "text": "fake" }, { "result": 1, "text": "unable to forward command to the dhcp6 service: No such file or directory. The server is likely to be offline" }, { "result": 1, "text": "forwarding socket is not configured for the server type d2" } ]"#,
        ),
        (
            r#"{"command":"foo","service":"dhcp4"}"#,
            r#"[ { "result": 1, "text": "service value must be a list" } ]"#,
        ),
        (
            r#"{"command":"x","service":null}"#,
            r#"[ { "result": 1, "text": "service value must be a list" } ]"#,
        ),
        (
            r#"{"command":"x","service":["foo"]}"#,
            r#"[ { "result": 1, "text": "forwarding socket is not configured for the server type foo" } ]"#,
        ),
        (
            "[1]",
            r#"[ { "result": 1, "text": "Error during command processing: Invalid command Element specified, expected map" } ]"#,
        ),
        (
            r#"{"x":1}"#,
            r#"[ { "result": 1, "text": "Error during command processing: Invalid answer specified, does not contain mandatory 'command'" } ]"#,
        ),
        (
            r#"{"command":"x","service":[],"extra":1}"#,
            r#"[ { "result": 1, "text": "Error during command processing: Received command contains unsupported parameter 'extra'" } ]"#,
        ),
        (
            r#"{"command":"foo"}"#,
            r#"[ { "result": 2, "text": "'foo' command not supported. You did not include \"service\" parameter in the command, which indicates that Kea Control Agent should process this command rather than forward it to one or more Kea servers. If you aimed to send this command to one of the Kea servers you should include the \"service\" parameter in your request, e.g. \"service\": [ \"dhcp4\" ] to forward the command to the DHCPv4 server, or \"service\": [ \"dhcp4\", \"dhcp6\", \"d2\" ] to forward it to DHCPv4, DHCPv6 and D2 servers etc." } ]"#,
        ),
        (r#"{"command":"list-commands","service":[]}"#, LIST),
        // An empty body reaches the command manager as null.
        (
            "",
            r#"[ { "result": 1, "text": "Command processing failed: NULL command parameter" } ]"#,
        ),
        (
            r#"{"command":"config-test"}"#,
            r#"[ { "result": 1, "text": "Missing mandatory 'arguments' parameter." } ]"#,
        ),
        (
            r#"{"command":"config-test","arguments":{"Dhcp4":{}}}"#,
            r#"[ { "result": 1, "text": "Missing mandatory 'Control-agent' parameter." } ]"#,
        ),
        (
            r#"{"command":"config-test","arguments":{"Control-agent":{"http-port":18451}}}"#,
            r#"[ { "result": 0, "text": "Configuration check successful" } ]"#,
        ),
        (
            r#"{"command":"shutdown","arguments":"x"}"#,
            r#"[ { "result": 1, "text": "Argument must be a map" } ]"#,
        ),
    ];
    for (body, expected) in cases {
        let (reply, _) = one(&agent, &post(body)).await;
        assert_eq!(reply.status, 200, "{body}");
        assert_eq!(reply.body, expected, "{body}");
    }
    // The forwarded payload, byte for byte what kea-ctrl-agent 2.2 sent to the same fake
    // daemon: keys sorted, Kea's spacing, a client's remote-address replaced, service kept.
    let (_, _) = one(
        &agent,
        &post(r#"{"command":"x","service":["dhcp4"],"remote-address":"9.9.9.9"}"#),
    )
    .await;
    let received = daemon.received.lock().unwrap().clone();
    assert_eq!(
        received,
        [
            r#"{ "arguments": { "x": 1 }, "command": "foo-bar", "remote-address": "127.0.0.1", "service": [ "dhcp4", "dhcp6", "d2" ] }"#,
            r#"{ "command": "x", "remote-address": "127.0.0.1", "service": [ "dhcp4" ] }"#,
        ]
    );
}

#[tokio::test]
async fn local_commands() {
    let (agent, _d) = agent().await;
    let (reply, _) = one(&agent, &post(r#"{"command":"status-get"}"#)).await;
    let status = reply.json();
    assert_eq!(status[0]["result"], 0);
    assert_eq!(status[0]["arguments"]["pid"], std::process::id());
    assert!(status[0]["arguments"]["uptime"].is_u64());
    let (reply, _) = one(&agent, &post(r#"{"command":"config-get"}"#)).await;
    let config = reply.json();
    let ca = &config[0]["arguments"]["Control-agent"];
    assert_eq!(ca["http-host"], "127.0.0.1");
    assert_eq!(ca["hooks-libraries"], json!([]));
    assert_eq!(ca["control-sockets"]["dhcp4"]["socket-type"], "unix");
    let (reply, _) = one(&agent, &post(r#"{"command":"version-get"}"#)).await;
    assert_eq!(reply.json()[0]["text"], env!("CARGO_PKG_VERSION"));
    // config-set replaces the sockets: dhcp4 is then "not configured".
    let set = r#"{"command":"config-set","arguments":{"Control-agent":{"http-host":"127.0.0.1","http-port":0}}}"#;
    let (reply, _) = one(&agent, &post(set)).await;
    assert_eq!(
        reply.body,
        r#"[ { "result": 0, "text": "Configuration applied successfully." } ]"#
    );
    let (reply, _) = one(&agent, &post(r#"{"command":"x","service":["dhcp4"]}"#)).await;
    assert_eq!(
        reply.body,
        r#"[ { "result": 1, "text": "forwarding socket is not configured for the server type dhcp4" } ]"#
    );
    // config-write of the applied configuration.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.json");
    let write = json!({"command": "config-write", "arguments": {"filename": file}}).to_string();
    let (reply, _) = one(&agent, &post(&write)).await;
    let answer = reply.json();
    assert_eq!(
        answer[0]["text"],
        format!("Configuration written to {} successful", file.display())
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(answer[0]["arguments"]["size"], written.len());
    assert!(nestor_config::parse_agent_str(&written, "w").is_ok());
    let bad = r#"{"command":"config-write","arguments":{"filename":"/nonexistent/x.json"}}"#;
    let (reply, _) = one(&agent, &post(bad)).await;
    assert_eq!(
        reply.body,
        r#"[ { "result": 1, "text": "Error during write-config:Unable to open file /nonexistent/x.json for writing" } ]"#
    );
    // shutdown answers, then the server stops.
    let (reply, _) = one(
        &agent,
        &post(r#"{"command":"shutdown","arguments":{"exit-value":3}}"#),
    )
    .await;
    assert_eq!(
        reply.body,
        r#"[ { "result": 0, "text": "Control Agent is shutting down" } ]"#
    );
    tokio::time::timeout(Duration::from_secs(10), agent.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(agent.agent.exit_code(), 3);
}

#[tokio::test]
async fn basic_auth() {
    let daemon = FakeDaemon::start(FAKE_ANSWER);
    let agent = TestAgent::start(
        json!({
            "authentication": { "type": "basic", "realm": "myrealm",
                                "clients": [ { "user": "admin", "password": "1234" } ] },
            "control-sockets": socket_config("dhcp4", &daemon.path) }),
        Limits::default(),
    )
    .await;
    let body = r#"{"command":"list-commands"}"#;
    let auth = |v: &str| format!("Authorization: {v}\r\n");
    for extra in [
        String::new(),
        auth("Basic YWRtaW46YmFk"), // admin:bad
        auth("Bearer YWRtaW46MTIzNA=="),
        auth("Basic %%%"),
    ] {
        let (reply, closed) = one(
            &agent,
            &request("POST", "1.1", Some("application/json"), body, &extra),
        )
        .await;
        assert_eq!(reply.status, 401, "{extra}");
        assert_eq!(reply.body, r#"{ "result": 401, "text": "Unauthorized" }"#);
        assert_eq!(
            reply.header("WWW-Authenticate"),
            Some(r#"Basic realm="myrealm""#)
        );
        let names: Vec<&str> = reply.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Content-Length", "Content-Type", "Date", "WWW-Authenticate"]
        );
        // Kea keeps the connection open after a 401, for a retry with credentials.
        assert!(!closed);
    }
    // Scheme case-insensitive.
    let good = auth("bAsIc YWRtaW46MTIzNA==");
    let (reply, _) = one(
        &agent,
        &request("POST", "1.1", Some("application/json"), body, &good),
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, LIST));
    // Kea checks the request (method, type, JSON) before credentials: 400, not 401.
    let (reply, _) = one(&agent, &request("GET", "1.1", None, "", "")).await;
    assert_eq!(reply.status, 400);
    let (reply, _) = one(&agent, &post("{bad")).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn limits_and_timeouts() {
    let daemon = FakeDaemon::start(FAKE_ANSWER);
    let limits = Limits {
        request_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(800),
        max_body: 1000,
        max_connections: 4,
    };
    let agent = TestAgent::start(
        json!({ "control-sockets": socket_config("dhcp4", &daemon.path) }),
        limits,
    )
    .await;
    // Body over the limit: 413 without reading it.
    let big = format!(
        r#"{{"command":"list-commands","arguments":{{"x":"{}"}}}}"#,
        "a".repeat(2000)
    );
    let (reply, closed) = one(&agent, &post(&big)).await;
    assert_eq!((reply.status, closed), (413, true));
    assert_eq!(
        reply.body,
        r#"{ "result": 413, "text": "Payload Too Large" }"#
    );
    // Head over 64 KiB: 431.
    let huge = format!("POST / HTTP/1.1\r\nX-A: {}\r\n\r\n", "a".repeat(70_000));
    let (reply, _) = one(&agent, huge.as_bytes()).await;
    assert_eq!(reply.status, 431);
    // An incomplete request: 408 after the request timeout, as Kea's after 10 s.
    let start = std::time::Instant::now();
    let partial = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"com";
    let (bytes, closed) = exchange(agent.addr, partial, Duration::from_secs(3)).await;
    let replies = parse_replies(&bytes);
    assert_eq!(replies[0].status, 408);
    assert_eq!(
        replies[0].body,
        r#"{ "result": 408, "text": "Request Timeout" }"#
    );
    assert!(closed && start.elapsed() < Duration::from_secs(2));
    // A kept-alive connection is closed after the idle timeout, silently.
    let mut stream = tokio::net::TcpStream::connect(agent.addr).await.unwrap();
    stream
        .write_all(&post(r#"{"command":"list-commands"}"#))
        .await
        .unwrap();
    let (bytes, closed) = read_for(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(parse_replies(&bytes).len(), 1);
    assert!(closed, "idle connection must be closed");
}

#[tokio::test]
async fn slow_and_excess_clients_do_not_stop_others() {
    let daemon = FakeDaemon::start(FAKE_ANSWER);
    let limits = Limits {
        max_connections: 3,
        ..Limits::default()
    };
    let agent = TestAgent::start(
        json!({ "control-sockets": socket_config("dhcp4", &daemon.path) }),
        limits,
    )
    .await;
    // Two slowloris connections hold two of the three slots.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(agent.addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A well-behaved client is served meanwhile.
    let (reply, _) = one(&agent, &post(r#"{"command":"list-commands"}"#)).await;
    assert_eq!(reply.body, LIST);
    // With all slots taken, the next connection gets 503 at once instead of waiting.
    let mut third = tokio::net::TcpStream::connect(agent.addr).await.unwrap();
    third.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (bytes, closed) = exchange(agent.addr, &post(r#"{"command":"list-commands"}"#), WAIT).await;
    let replies = parse_replies(&bytes);
    assert_eq!((replies[0].status, closed), (503, true));
    drop(third);
    drop(slow);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (reply, _) = one(&agent, &post(r#"{"command":"list-commands"}"#)).await;
    assert_eq!(reply.body, LIST);
}

#[tokio::test]
async fn config_set_moves_the_listener() {
    let (agent, _d) = agent().await;
    let port = nestor_test_support::free_tcp_port().unwrap();
    let set = json!({"command": "config-set", "arguments": {"Control-agent": {
        "http-host": "127.0.0.1", "http-port": port }}})
    .to_string();
    let (reply, _) = one(&agent, &post(&set)).await;
    assert_eq!(reply.json()[0]["result"], 0, "{}", reply.body);
    let moved = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut served = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(moved).await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "nothing listens on the new port");
    let (bytes, _) = exchange(moved, &post(r#"{"command":"list-commands"}"#), WAIT).await;
    assert_eq!(parse_replies(&bytes)[0].body, LIST);
    // The old port is closed.
    assert!(tokio::net::TcpStream::connect(agent.addr).await.is_err());
}

#[tokio::test]
async fn a_hung_daemon_delays_only_its_own_request() {
    // A daemon that accepts and never answers.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hung.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let agent = TestAgent::start(
        json!({ "control-sockets": socket_config("dhcp4", &path) }),
        Limits::default(),
    )
    .await;
    let addr = agent.addr;
    let hung = tokio::spawn(async move {
        exchange(
            addr,
            &request(
                "POST",
                "1.1",
                Some("application/json"),
                r#"{"command":"status-get","service":["dhcp4"]}"#,
                "Connection: close\r\n",
            ),
            Duration::from_secs(6),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = std::time::Instant::now();
    let (reply, _) = one(&agent, &post(r#"{"command":"list-commands"}"#)).await;
    assert_eq!(reply.body, LIST);
    assert!(start.elapsed() < Duration::from_secs(1));
    // The forward gives up after the forward timeout (3 s in these tests; Kea's 60 s) with the
    // entry kea-ctrl-agent 2.2 gave when a daemon never answered.
    let (bytes, _) = hung.await.unwrap();
    let replies = parse_replies(&bytes);
    assert_eq!(
        replies[0].body,
        r#"[ { "result": 1, "text": "unable to forward command to the dhcp4 service: Operation canceled. The server is likely to be offline" } ]"#
    );
    holder.abort();
}
