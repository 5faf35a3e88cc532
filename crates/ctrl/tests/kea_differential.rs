//! Differential test: the same raw inputs sent to a real `kea-dhcp4` 2.2 control socket and to a
//! Nestor control server whose registry has Kea's command names must get the same answers.
//!
//! Needs `kea-dhcp4` (Debian `kea-dhcp4-server`; `KEA_DHCP4` may name the binary). Without it
//! the test prints a SKIPPED line, or fails when `CI` is set. Kea runs with no DHCP interfaces,
//! its PID and lock files in a temporary directory, and is killed by PID at the end.

// A test harness: helpers outside `#[test]` functions may panic on setup failures too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nestor_ctrl::{
    Answer, CancellationToken, Command, CommandRegistry, ControlServer, ServerConfig, ServerError,
    send_raw,
};
use serde_json::Value;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// How the two answers must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agree {
    /// Byte for byte (spacing, key order, text).
    Bytes,
    /// Same JSON value (used where Kea escapes non-ASCII bytes differently).
    Value,
    /// Same `result` only: the text is a JSON parser's message, which differs (see report).
    Result,
}

fn find_kea() -> Option<PathBuf> {
    // `KEA_DHCP4` names the binary; naming a missing file exercises the "not installed" path.
    if let Some(path) = std::env::var_os("KEA_DHCP4") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|dir| dir.join("kea-dhcp4"))
        .find(|candidate| candidate.is_file())
}

/// A running `kea-dhcp4`, killed (by its PID, via `Child`) when dropped.
struct Kea {
    child: Child,
    socket: PathBuf,
}

impl Drop for Kea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kea(binary: &Path, dir: &Path) -> Kea {
    let socket = dir.join("kea4.sock");
    let config = serde_json::json!({
        "Dhcp4": {
            "interfaces-config": {"interfaces": [], "dhcp-socket-type": "udp"},
            "control-socket": {"socket-type": "unix", "socket-name": socket},
            "lease-database": {"type": "memfile", "persist": false},
            "loggers": [{
                "name": "kea-dhcp4",
                "output_options": [{"output": dir.join("kea.log")}],
                "severity": "INFO"
            }]
        }
    });
    let config_path = dir.join("kea.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(&config_path)
        // No interface is configured, so no DHCP socket opens; unprivileged ports anyway.
        .args(["-p", "16767", "-P", "16768"])
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_LOCKFILE_DIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut kea = Kea { child, socket };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !kea.socket.exists() {
        if let Some(status) = kea.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("kea.log")).unwrap_or_default();
            panic!("kea-dhcp4 exited with {status} before opening its socket:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "kea-dhcp4 did not open its control socket in 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kea
}

async fn ask(path: &Path, input: &[u8]) -> Vec<u8> {
    send_raw(path, input, CLIENT_TIMEOUT)
        .await
        .unwrap_or_else(|err| panic!("{} on input {input:?}", err))
}

/// Writes `input` one byte per write, 2 ms apart, then reads the answer to EOF.
async fn drip_feed(path: &Path, input: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(path).await.unwrap();
    for byte in input {
        stream.write_all(std::slice::from_ref(byte)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut out = Vec::new();
    tokio::time::timeout(CLIENT_TIMEOUT, stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|err| {
        panic!(
            "answer {:?} is not JSON: {err}",
            String::from_utf8_lossy(bytes)
        )
    })
}

fn compare(input: &[u8], agree: Agree, kea: &[u8], nestor: &[u8]) {
    let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let context = format!(
        "input {:?}\n  kea:    {}\n  nestor: {}",
        shown(input),
        shown(kea),
        shown(nestor)
    );
    match agree {
        Agree::Bytes => assert_eq!(kea, nestor, "{context}"),
        Agree::Value => assert_eq!(parse(kea), parse(nestor), "{context}"),
        Agree::Result => assert_eq!(parse(kea)["result"], parse(nestor)["result"], "{context}"),
    }
    println!("agree ({agree:?}): {context}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_kea_2_2() {
    let Some(binary) = find_kea() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kea-dhcp4 is required in CI (install kea-dhcp4-server)"
        );
        eprintln!("\n*** SKIPPED answers_match_kea_2_2: kea-dhcp4 not installed ***\n");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kea = start_kea(&binary, dir.path());

    // Both lock `<socket-name>.lock` with flock(2): Nestor refuses to take over Kea's socket.
    let err = ControlServer::bind(
        ServerConfig::new(&kea.socket),
        Arc::new(CommandRegistry::new()),
    )
    .unwrap_err();
    assert!(matches!(err, ServerError::InUse { .. }), "{err}");

    // Nestor gets exactly Kea's command names; the cases below never reach a handler except
    // `list-commands`, which the registry answers itself.
    let kea_list = parse(&ask(&kea.socket, br#"{"command": "list-commands"}"#).await);
    let registry = CommandRegistry::new();
    for name in kea_list["arguments"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        if name != "list-commands" {
            registry
                .register(name, |c: Command| async move {
                    Answer::error(format!("'{}' is not implemented by this test", c.command))
                })
                .unwrap();
        }
    }
    let nestor_path = dir.path().join("nestor4.sock");
    let server = ControlServer::bind(ServerConfig::new(&nestor_path), Arc::new(registry)).unwrap();
    let shutdown = CancellationToken::new();
    let server_task = tokio::spawn(server.run(shutdown.clone()));

    // The timeout cases take Kea's 10 s each: run them all at once, beside the others.
    let timeout_inputs: [&[u8]; 4] = [
        br#"{"command": "list-commands""#,
        b"/* c */ {\"command\": /* in */ \"x\"",
        b"",
        b"# only a comment",
    ];
    let timeouts: Vec<_> = timeout_inputs
        .into_iter()
        .map(|input| {
            let (kea_socket, nestor_path) = (kea.socket.clone(), nestor_path.clone());
            tokio::spawn(async move {
                let (k, n) = tokio::join!(ask(&kea_socket, input), ask(&nestor_path, input));
                (input, k, n)
            })
        })
        .collect();

    let cases: &[(&[u8], Agree)] = &[
        (b"garbage", Agree::Bytes),
        (b"\"str\"", Agree::Bytes),
        (b"  x", Agree::Bytes),
        (b"/x", Agree::Bytes),
        (b"{\"a\": /x}", Agree::Bytes),
        (b"\xff", Agree::Value),
        (b"[1, 2]", Agree::Bytes),
        (b"{}", Agree::Bytes),
        (br#"{"foo": 1}"#, Agree::Bytes),
        (br#"{"command": 5}"#, Agree::Bytes),
        (br#"{"command": null}"#, Agree::Bytes),
        (br#"{"command": "foo"}"#, Agree::Bytes),
        (br#"{"command": "a\"}b"}"#, Agree::Bytes),
        (br#"{"command": "foo", "bar": 1}"#, Agree::Bytes),
        (
            br#"{"zz": 2, "command": "version-get", "extra": 1}"#,
            Agree::Bytes,
        ),
        (br#"{"command": 5, "bar": 1}"#, Agree::Bytes),
        (br#"{"command": "foo", "service": "x"}"#, Agree::Bytes),
        (
            br#"{"command": "foo", "remote-address": "1.2.3.4", "service": ["dhcp4"]}"#,
            Agree::Bytes,
        ),
        (br#"{"command": "list-commands"}"#, Agree::Bytes),
        (
            br#"{"command": "list-commands", "service": ["dhcp4"], "arguments": 5}"#,
            Agree::Bytes,
        ),
        (
            b"# hash\n// slash\n/* block\n */ {\"command\": /* in */ \"foo\" // eol\n}",
            Agree::Bytes,
        ),
        (br#"{"command": "foo"} trailing junk"#, Agree::Bytes),
        (br#"{"command":"foo"}}"#, Agree::Bytes),
        (
            br#"{"command": "foo"}{"command": "list-commands"}"#,
            Agree::Bytes,
        ),
        (br#"{"command": }"#, Agree::Result),
        (br#"{"command": "foo"]"#, Agree::Result),
        (br#"{"command": "foo" "x"}"#, Agree::Result),
    ];
    for &(input, agree) in cases {
        let kea_answer = ask(&kea.socket, input).await;
        let nestor_answer = ask(&nestor_path, input).await;
        compare(input, agree, &kea_answer, &nestor_answer);
    }
    // Byte-at-a-time delivery, comments and a string full of delimiters.
    let drip = b"# c\n{ \"command\": /* } */ \"a}{\\\"//\" // x\n}";
    let (kea_answer, nestor_answer) =
        tokio::join!(drip_feed(&kea.socket, drip), drip_feed(&nestor_path, drip));
    compare(drip, Agree::Bytes, &kea_answer, &nestor_answer);

    for timeout_case in timeouts {
        let (input, kea_answer, nestor_answer) = timeout_case.await.unwrap();
        compare(input, Agree::Bytes, &kea_answer, &nestor_answer);
    }

    shutdown.cancel();
    server_task.await.unwrap().unwrap();
    drop(kea);
}
