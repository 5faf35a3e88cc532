//! nestor-ctrl-agent in front of a real kea-dhcp4 2.2, side by side with the real
//! kea-ctrl-agent 2.2 in front of the same socket: same requests, same statuses, same bytes.
//! Also `kea-shell` (Debian's client) against nestor-ctrl-agent.
//!
//! Without Kea installed these tests print SKIPPED (and fail under CI), per the project policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use nestor_test_support::{KeaCtrlAgent, KeaDhcp4, require_tool, run_bounded};
use serde_json::{Value, json};

const NESTOR: &str = env!("CARGO_BIN_EXE_nestor-ctrl-agent");

/// One raw HTTP/1.1 exchange with `Connection: close`: (status, body bytes as text).
fn raw_post(
    addr: SocketAddr,
    method: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String) {
    raw_post_with(addr, method, content_type, body, "")
}

/// [`raw_post`] with extra header lines (each ending in `\r\n`); then the answer's header lines
/// other than `Date` are returned before the body, one per line.
fn raw_post_with(
    addr: SocketAddr,
    method: &str,
    content_type: Option<&str>,
    body: &str,
    extra: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} / HTTP/1.1\r\nHost: {addr}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    if extra.is_empty() {
        return (status, body.to_owned());
    }
    let headers: Vec<&str> = head
        .split("\r\n")
        .skip(1)
        .filter(|h| !h.starts_with("Date:"))
        .collect();
    (status, format!("{}\n{body}", headers.join("\n")))
}

fn kea_dhcp4() -> Option<KeaDhcp4> {
    require_tool("kea-dhcp4", "kea-dhcp4-server")?;
    require_tool("kea-ctrl-agent", "kea-ctrl-agent")?;
    Some(KeaDhcp4::start(json!({"Dhcp4": {"valid-lifetime": 4000}})).unwrap())
}

fn nestor_agent(kea: &KeaDhcp4) -> KeaCtrlAgent {
    KeaCtrlAgent::builder()
        .binary(NESTOR)
        .dhcp4_socket(kea.socket_path())
        .start()
        .unwrap()
}

/// Values that legitimately differ between two reads (time passes between them).
fn normalise(mut value: Value) -> Value {
    if let Some(items) = value.as_array_mut() {
        for item in items {
            if let Some(args) = item.get_mut("arguments").and_then(Value::as_object_mut) {
                for key in ["uptime", "reload"] {
                    if args.contains_key(key) {
                        args.insert(key.into(), json!(0));
                    }
                }
            }
        }
    }
    value
}

#[test]
fn forwards_to_kea_dhcp4() {
    let Some(kea) = kea_dhcp4() else { return };
    let agent = nestor_agent(&kea);
    let answer = agent
        .command(&json!({"command": "status-get", "service": ["dhcp4"]}))
        .unwrap();
    assert_eq!(answer[0]["result"], 0, "{answer}");
    assert_eq!(answer[0]["arguments"]["pid"], kea.pid().unwrap());
    let answer = agent
        .command(&json!({"command": "list-commands", "service": ["dhcp4"]}))
        .unwrap();
    let names = answer[0]["arguments"].as_array().unwrap();
    assert!(
        names.contains(&json!("config-get")) && names.contains(&json!("dhcp-disable")),
        "{answer}"
    );
    let answer = agent
        .command(&json!({"command": "config-get", "service": ["dhcp4"]}))
        .unwrap();
    assert_eq!(
        answer[0]["arguments"]["Dhcp4"]["valid-lifetime"], 4000,
        "{answer}"
    );
    let answer = agent
        .command(&json!({"command": "status-get", "service": ["dhcp4", "d2"]}))
        .unwrap();
    assert_eq!(
        answer[1]["text"],
        "forwarding socket is not configured for the server type d2"
    );
    let answer = agent
        .command(&json!({"command": "foo", "service": ["dhcp4"]}))
        .unwrap();
    assert_eq!(
        answer,
        json!([{"result": 2, "text": "'foo' command not supported."}])
    );
}

#[test]
fn same_answers_as_kea_ctrl_agent() {
    let Some(mut kea) = kea_dhcp4() else { return };
    let kea_agent = KeaCtrlAgent::start(kea.socket_path()).unwrap();
    let nestor = nestor_agent(&kea);
    let json_ct = Some("application/json");
    let requests: Vec<(&str, Option<&str>, &str)> = vec![
        ("POST", json_ct, r#"{"command": "list-commands"}"#),
        ("POST", json_ct, r#"{"command": "foo"}"#),
        (
            "POST",
            json_ct,
            r#"{"command": "list-commands", "service": ["dhcp4"]}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "version-get", "service": ["dhcp4"]}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "config-get", "service": ["dhcp4"]}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "status-get", "service": ["dhcp4"]}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "statistic-get", "service": ["dhcp4"], "arguments": {"name": "pkt4-received"}}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "dhcp-disable", "service": ["dhcp4"], "arguments": {"max-period": 60, "origin": "ha-partner"}}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "dhcp-enable", "service": ["dhcp4"], "arguments": {"origin": "ha-partner"}}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "lease4-get-all", "service": ["dhcp4"]}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "dhcp-disable", "service": ["dhcp4"], "arguments": {"max-period": -1}}"#,
        ),
        (
            "POST",
            json_ct,
            r#"{"command": "status-get", "service": ["dhcp4", "dhcp6", "d2"]}"#,
        ),
        ("POST", json_ct, r#"{"command": "x", "service": "dhcp4"}"#),
        ("POST", json_ct, r#"{"command": "x", "service": []}"#),
        (
            "POST",
            json_ct,
            r#"{"command": "x", "service": ["dhcp4"], "bogus": 1}"#,
        ),
        ("POST", json_ct, "[1]"),
        ("POST", json_ct, r#"{"x": 1}"#),
        ("POST", json_ct, ""),
        ("POST", json_ct, "{bad"),
        (
            "POST",
            json_ct,
            r#"{"command": "config-test", "arguments": {"Dhcp4": {}}}"#,
        ),
        ("POST", json_ct, r#"{"command": "config-test"}"#),
        (
            "POST",
            json_ct,
            r#"{"command": "shutdown", "arguments": [1]}"#,
        ),
        ("POST", None, r#"{"command": "list-commands"}"#),
        (
            "POST",
            Some("text/plain"),
            r#"{"command": "list-commands"}"#,
        ),
        ("GET", None, ""),
    ];
    let mut byte_differences = Vec::new();
    for (method, ct, body) in &requests {
        let theirs = raw_post(kea_agent.addr(), method, *ct, body);
        let ours = raw_post(nestor.addr(), method, *ct, body);
        assert_eq!(ours.0, theirs.0, "status for {method} {body}");
        let parse =
            |s: &str| normalise(serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}")));
        assert_eq!(parse(&ours.1), parse(&theirs.1), "body for {method} {body}");
        if ours.1 != theirs.1 {
            byte_differences.push(format!(
                "{body}\n  kea:    {}\n  nestor: {}",
                theirs.1, ours.1
            ));
        }
    }
    eprintln!(
        "{} requests compared with kea-ctrl-agent 2.2: same statuses and JSON, {} byte difference(s)",
        requests.len(),
        byte_differences.len()
    );
    // status-get's uptime/reload may tick between the two reads; nothing else may differ.
    for diff in &byte_differences {
        assert!(
            diff.starts_with(r#"{"command": "status-get""#),
            "byte difference: {diff}"
        );
    }
    // The daemon goes down: both agents give the same error entry.
    kea.stop().unwrap();
    let body = r#"{"command": "status-get", "service": ["dhcp4"]}"#;
    let theirs = raw_post(kea_agent.addr(), "POST", json_ct, body);
    let ours = raw_post(nestor.addr(), "POST", json_ct, body);
    assert_eq!(ours, theirs);
    assert!(
        ours.1
            .contains("unable to forward command to the dhcp4 service"),
        "{}",
        ours.1
    );
}

#[test]
fn kea_shell_works_against_nestor() {
    let Some(kea) = kea_dhcp4() else { return };
    let Some(shell) = require_tool("kea-shell", "kea-ctrl-agent") else {
        return;
    };
    let agent = nestor_agent(&kea);
    let mut command = Command::new(shell);
    command
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &agent.addr().port().to_string(),
        ])
        .args(["--timeout", "10", "--service", "dhcp4", "list-commands"])
        .stdin(Stdio::null());
    let output = run_bounded(&mut command, Duration::from_secs(30)).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(answer[0]["result"], 0);
    assert!(
        answer[0]["arguments"]
            .as_array()
            .unwrap()
            .contains(&json!("status-get"))
    );
}

#[test]
fn same_auth_and_config_get_as_kea_ctrl_agent() {
    let Some(kea) = kea_dhcp4() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("u"), "fileuser\n").unwrap();
    std::fs::write(dir.path().join("p"), "filepass\n").unwrap();
    std::fs::write(dir.path().join("u2"), "other").unwrap();
    std::fs::write(dir.path().join("up"), "both:secret").unwrap();
    let config = json!({
        "authentication": { "type": "basic", "realm": "nestor-realm", "directory": dir.path(),
            "clients": [ { "user": "admin", "password": "1234" },
                         { "user-file": "u", "password-file": "p" },
                         { "user-file": "u2", "password": "x" },
                         { "password-file": "up" } ] },
        "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": kea.socket_path() } },
        "user-context": { "site": "lab" },
        "loggers": [ { "name": "kea-ctrl-agent", "severity": "INFO",
                       "output_options": [ { "output": "stdout" } ] } ]
    });
    let map = config.as_object().unwrap().clone();
    let theirs_agent = KeaCtrlAgent::builder().config(map.clone()).start().unwrap();
    let ours_agent = KeaCtrlAgent::builder()
        .binary(NESTOR)
        .config(map)
        .start()
        .unwrap();
    let json_ct = Some("application/json");
    let admin = "Authorization: Basic YWRtaW46MTIzNA==\r\n"; // admin:1234
    // fileuser:filepass, refused by both: the files end in a newline.
    let file_user = "Authorization: Basic ZmlsZXVzZXI6ZmlsZXBhc3M=\r\n";
    let cases = [
        ("", r#"{"command": "list-commands"}"#),
        (
            "Authorization: Basic YWRtaW46YmFk\r\n",
            r#"{"command": "list-commands"}"#,
        ),
        (
            "Authorization: Bearer x\r\n",
            r#"{"command": "list-commands"}"#,
        ),
        (admin, r#"{"command": "list-commands"}"#),
        (
            file_user,
            r#"{"command": "status-get", "service": ["dhcp4"]}"#,
        ),
        ("", "{bad"),
        // Files are read whole: their newline is part of the credential (Kea's behaviour).
        (
            "Authorization: Basic ZmlsZXVzZXIKOmZpbGVwYXNzCg==\r\n",
            r#"{"command": "list-commands"}"#,
        ),
        (
            "Authorization: Basic b3RoZXI6eA==\r\n",
            r#"{"command": "list-commands"}"#,
        ), // other:x
        (
            "Authorization: Basic Ym90aDpzZWNyZXQ=\r\n",
            r#"{"command": "list-commands"}"#,
        ), // both:secret
    ];
    for (auth, body) in cases {
        // Always pass some header so that the answer's headers are compared too.
        let extra = if auth.is_empty() {
            "X-Test: 1\r\n"
        } else {
            auth
        };
        let theirs = raw_post_with(theirs_agent.addr(), "POST", json_ct, body, extra);
        let ours = raw_post_with(ours_agent.addr(), "POST", json_ct, body, extra);
        assert_eq!(ours, theirs, "{auth} {body}");
    }
    // config-get renders the same configuration, byte for byte (but for each agent's port).
    let get = |addr: SocketAddr| {
        let (status, body) =
            raw_post_with(addr, "POST", json_ct, r#"{"command": "config-get"}"#, admin);
        assert_eq!(status, 200);
        let body = body.rsplit('\n').next().unwrap();
        body.replace(
            &format!("\"http-port\": {}", addr.port()),
            "\"http-port\": 0",
        )
    };
    let theirs = get(theirs_agent.addr());
    let ours = get(ours_agent.addr());
    assert!(theirs.contains("nestor-realm"), "{theirs}");
    assert_eq!(ours, theirs);
}
