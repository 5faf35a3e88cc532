//! The binary's process conventions: `-t`, `-v`, the PID file, SIGHUP reload, SIGTERM exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use nestor_test_support::{
    ChildGuard, Signal, free_tcp_port, http_post_json, run_bounded, wait_until,
};
use serde_json::json;

const NESTOR: &str = env!("CARGO_BIN_EXE_nestor-ctrl-agent");

fn run(args: &[&str]) -> (bool, String) {
    let output = run_bounded(Command::new(NESTOR).args(args), Duration::from_secs(10)).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_and_version_flags() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{ "Control-agent": { "http-port": 8000 } // comment
    }"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{ "Control-agent": { "http-port": "x" } }"#).unwrap();
    assert!(run(&["-t", good.to_str().unwrap()]).0);
    let (ok, text) = run(&["-t", bad.to_str().unwrap()]);
    assert!(!ok && text.contains("http-port"), "{text}");
    let (ok, text) = run(&["-v"]);
    assert!(ok);
    assert_eq!(text.trim(), env!("CARGO_PKG_VERSION"));
    assert!(!run(&["-x"]).0);
    assert!(!run(&[]).0);
}

#[test]
fn pid_file_reload_and_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port().unwrap();
    let config = dir.path().join("agent.json");
    let write = |sockets: serde_json::Value| {
        let mut agent = json!({"http-host": "127.0.0.1", "http-port": port});
        // Kea refuses an empty `control-sockets` map: leave the key out instead.
        if sockets.as_object().is_some_and(|m| !m.is_empty()) {
            agent["control-sockets"] = sockets;
        }
        let text = json!({ "Control-agent": agent });
        std::fs::write(&config, text.to_string()).unwrap();
    };
    write(json!({}));
    let mut command = Command::new(NESTOR);
    command
        .stdout(std::process::Stdio::null())
        .arg("-c")
        .arg(&config)
        .env("KEA_PIDFILE_DIR", dir.path())
        .current_dir(dir.path());
    let mut guard = ChildGuard::spawn(&mut command).unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let ask = || {
        http_post_json(
            addr,
            "/",
            &json!({"command": "x", "service": ["dhcp4"]}),
            Duration::from_secs(2),
        )
    };
    assert!(wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || ask().is_ok()
    ));
    let pid_file = dir.path().join("agent.nestor-ctrl-agent.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        guard.pid().to_string()
    );
    // A second copy refuses to start.
    let (ok, text) = {
        let output = run_bounded(
            Command::new(NESTOR)
                .arg("-c")
                .arg(&config)
                .env("KEA_PIDFILE_DIR", dir.path()),
            Duration::from_secs(10),
        )
        .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    assert!(!ok && text.contains("already running"), "{text}");
    let (_, answer) = ask().unwrap();
    assert_eq!(
        answer[0]["text"],
        "forwarding socket is not configured for the server type dhcp4"
    );
    // SIGHUP re-reads the file: dhcp4 now has a socket (nobody listens on it).
    write(json!({"dhcp4": {"socket-type": "unix", "socket-name": dir.path().join("k4.sock")}}));
    guard.signal(Signal::SIGHUP).unwrap();
    assert!(wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            ask().is_ok_and(|(_, a)| {
                a[0]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("unable to forward"))
            })
        }
    ));
    // SIGTERM: clean exit, PID file removed.
    guard.signal(Signal::SIGTERM).unwrap();
    let status = guard
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!pid_file.exists());
}
