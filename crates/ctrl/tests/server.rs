//! The control socket server over a real unix socket in a temporary directory.

// A test harness: helpers outside `#[test]` functions may panic on setup failures too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nestor_ctrl::{
    Answer, CancellationToken, Command, CommandRegistry, ControlServer, ServerConfig, ServerError,
    ServerStats, send_command, send_raw,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

struct Running {
    _dir: tempfile::TempDir,
    path: PathBuf,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), ServerError>>,
    stats: Arc<ServerStats>,
}

impl Running {
    async fn stop(self) -> PathBuf {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops within the drain bound")
            .expect("server task does not panic")
            .expect("server run succeeds");
        self.path
    }
}

fn registry() -> Arc<CommandRegistry> {
    let registry = CommandRegistry::new();
    registry
        .register("version-get", |_c: Command| async {
            Answer::success("2.2.0")
        })
        .unwrap();
    registry
        .register("echo", |c: Command| async move {
            Answer::success("echo").with_arguments(c.arguments.unwrap_or(Value::Null))
        })
        .unwrap();
    registry
        .register("sleep", |c: Command| async move {
            let ms = c
                .arguments
                .as_ref()
                .and_then(|a| a["ms"].as_u64())
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Answer::success(format!("slept {ms} ms"))
        })
        .unwrap();
    registry
        .register("boom", |_c: Command| async {
            if true {
                panic!("handler bug");
            }
            Answer::success("unreachable")
        })
        .unwrap();
    Arc::new(registry)
}

fn start_with(config: impl FnOnce(&Path) -> ServerConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let path = config.socket_name.clone();
    let server = ControlServer::bind(config, registry()).unwrap();
    let stats = server.stats();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    Running {
        _dir: dir,
        path,
        shutdown,
        task,
        stats,
    }
}

fn start() -> Running {
    start_with(|dir| ServerConfig::new(dir.join("kea4-ctrl-socket")))
}

async fn raw(path: &Path, input: &[u8]) -> String {
    let bytes = send_raw(path, input, CLIENT_TIMEOUT).await.unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn normal_and_unknown_commands() {
    let server = start();
    let answer = send_command(
        &server.path,
        &json!({"command": "version-get"}),
        CLIENT_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(answer, json!({"result": 0, "text": "2.2.0"}));
    let cmd = Command::new("echo")
        .with_arguments(json!({"a": [1, 2]}))
        .with_services(["dhcp4"]);
    let answer = send_command(&server.path, &cmd, CLIENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"arguments": {"a": [1, 2]}, "result": 0, "text": "echo"})
    );
    // Byte-exact: Kea's spacing, no trailing newline.
    assert_eq!(
        raw(&server.path, br#"{"command": "foo"}"#).await,
        r#"{ "result": 2, "text": "'foo' command not supported." }"#
    );
    assert_eq!(
        raw(&server.path, br#"{"command": "list-commands"}"#).await,
        r#"{ "arguments": [ "boom", "echo", "list-commands", "sleep", "version-get" ], "result": 0 }"#
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_inputs_get_keas_answers() {
    let server = start();
    let cases: [(&[u8], &str); 7] = [
        (
            b"garbage",
            r#"{ "result": 1, "text": "invalid first character g" }"#,
        ),
        (b"  x", r#"{ "result": 1, "text": "invalid character x" }"#),
        (b"/x", r#"{ "result": 1, "text": "invalid characters /x" }"#),
        (
            b"[1, 2]",
            r#"{ "result": 1, "text": "Error during command processing: Invalid command Element specified, expected map" }"#,
        ),
        (
            br#"{"foo": 1}"#,
            r#"{ "result": 1, "text": "Error during command processing: Invalid answer specified, does not contain mandatory 'command'" }"#,
        ),
        (
            br#"{"command": 5}"#,
            r#"{ "result": 1, "text": "Error during command processing: 'command' element in command message is not a string" }"#,
        ),
        (
            b"# c\n/* c */ {\"command\": /* c */ \"version-get\" // c\n} trailing {",
            r#"{ "result": 0, "text": "2.2.0" }"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(raw(&server.path, input).await, expected, "input {input:?}");
    }
    // Balanced braces but not JSON: an error answer (the text is serde_json's, not Kea's).
    let answer: Value =
        serde_json::from_str(&raw(&server.path, br#"{"command": }"#).await).unwrap();
    assert_eq!(answer["result"], 1);
    server.stop().await;
}

#[tokio::test]
async fn partial_command_times_out() {
    let server = start_with(|dir| ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::new(dir.join("s"))
    });
    assert_eq!(
        raw(&server.path, br#"{"command": "list-commands""#).await,
        r#"{ "result": 1, "text": "Connection over control channel timed out, discarded partial command of 27 bytes" }"#
    );
    assert_eq!(
        raw(&server.path, b"").await,
        r#"{ "result": 1, "text": "Connection over control channel timed out" }"#
    );
    assert_eq!(server.stats.snapshot().read_timeouts, 2);
    server.stop().await;
}

#[tokio::test]
async fn stuck_client_does_not_block_others() {
    let server = start();
    // Holds a partial command open for the whole test (idle timeout 10 s).
    let mut stuck = UnixStream::connect(&server.path).await.unwrap();
    stuck.write_all(br#"{"command": "ver"#).await.unwrap();
    let started = std::time::Instant::now();
    let clients: Vec<_> = (0..40)
        .map(|i| {
            let path = server.path.clone();
            tokio::spawn(async move {
                let cmd = Command::new("echo").with_arguments(json!({"i": i}));
                send_command(&path, &cmd, CLIENT_TIMEOUT).await.unwrap()
            })
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        assert_eq!(client.await.unwrap()["arguments"], json!({"i": i}));
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "40 clients took {:?} beside a stuck one",
        started.elapsed()
    );
    drop(stuck);
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_bound_are_refused_at_once() {
    let server = start_with(|dir| ServerConfig {
        max_connections: 1,
        ..ServerConfig::new(dir.join("s"))
    });
    let mut stuck = UnixStream::connect(&server.path).await.unwrap();
    stuck.write_all(b"{").await.unwrap();
    // Let the server accept the first connection and take the only permit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        raw(&server.path, br#"{"command": "version-get"}"#).await,
        r#"{ "result": 1, "text": "too many connections over control channel (limit 1); try again later" }"#
    );
    drop(stuck);
    // The permit comes back once the stuck peer is gone.
    let mut answer = None;
    for _ in 0..50 {
        let reply = raw(&server.path, br#"{"command": "version-get"}"#).await;
        if reply.contains("2.2.0") {
            answer = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        answer.is_some(),
        "the server never freed the connection slot"
    );
    server.stop().await;
}

#[tokio::test]
async fn handler_panic_is_answered_and_server_survives() {
    let server = start();
    let answer = send_command(&server.path, &Command::new("boom"), CLIENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"result": 1, "text": "Error during command processing: internal error in the 'boom' command handler: handler bug"})
    );
    let answer = send_command(&server.path, &Command::new("version-get"), CLIENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer["result"], 0);
    server.stop().await;
}

#[tokio::test]
async fn socket_and_lock_file_have_mode_0600() {
    let server = start();
    let meta = std::fs::symlink_metadata(&server.path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let lock = std::fs::metadata(server.path.with_file_name("kea4-ctrl-socket.lock")).unwrap();
    assert_eq!(lock.permissions().mode() & 0o777, 0o600);
    // No temporary bind directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(server.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    server.stop().await;
}

#[tokio::test]
async fn second_server_on_the_same_socket_is_refused() {
    let server = start();
    let err = ControlServer::bind(ServerConfig::new(&server.path), registry()).unwrap_err();
    assert!(matches!(err, ServerError::InUse { .. }), "{err}");
    assert!(
        err.to_string().contains("is in use by another server"),
        "{err}"
    );
    // The first server is untouched.
    let answer = send_command(&server.path, &Command::new("version-get"), CLIENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer["text"], "2.2.0");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_removes_socket_and_lock() {
    let server = start();
    let lock = server.path.with_file_name("kea4-ctrl-socket.lock");
    assert!(lock.exists());
    let path = server.stop().await;
    assert!(!path.exists());
    assert!(!lock.exists());
    let err = send_command(&path, &Command::new("version-get"), CLIENT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(err.is_offline(), "{err}");
}

#[tokio::test]
async fn shutdown_drains_a_running_command() {
    let server = start();
    let path = server.path.clone();
    let client = tokio::spawn(async move {
        let cmd = Command::new("sleep").with_arguments(json!({"ms": 300}));
        send_command(&path, &cmd, CLIENT_TIMEOUT).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await;
    assert_eq!(client.await.unwrap().unwrap()["text"], "slept 300 ms");
}

#[tokio::test]
async fn idle_connection_is_closed_at_shutdown() {
    let server = start();
    let mut idle = UnixStream::connect(&server.path).await.unwrap();
    idle.write_all(b"{").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut out = Vec::new();
    idle.read_to_end(&mut out).await.unwrap();
    assert!(
        out.is_empty(),
        "no answer to a command that never completed"
    );
}

#[tokio::test]
async fn stale_socket_is_replaced_and_other_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    // A crashed server leaves its socket file behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let server = ControlServer::bind(ServerConfig::new(&path), registry()).unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    let answer = send_command(&path, &Command::new("version-get"), CLIENT_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer["result"], 0);
    shutdown.cancel();
    task.await.unwrap().unwrap();

    let file = dir.path().join("regular");
    std::fs::write(&file, "keep me").unwrap();
    let err = ControlServer::bind(ServerConfig::new(&file), registry()).unwrap_err();
    assert!(matches!(err, ServerError::NotASocket { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test]
async fn dropping_an_unstarted_server_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sock");
    let server = ControlServer::bind(ServerConfig::new(&path), registry()).unwrap();
    assert!(path.exists());
    drop(server);
    assert!(!path.exists());
    // And the path can be bound again.
    drop(ControlServer::bind(ServerConfig::new(&path), registry()).unwrap());
}

#[tokio::test]
async fn drain_is_bounded() {
    let server = start_with(|dir| ServerConfig {
        drain_timeout: Duration::from_millis(200),
        ..ServerConfig::new(dir.join("s"))
    });
    let path = server.path.clone();
    let client = tokio::spawn(async move {
        let cmd = Command::new("sleep").with_arguments(json!({"ms": 60_000}));
        send_command(&path, &cmd, CLIENT_TIMEOUT).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "drain took {:?}",
        started.elapsed()
    );
    let err = client.await.unwrap().unwrap_err();
    assert!(
        matches!(err, nestor_ctrl::ClientError::Closed { received: 0, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn command_delivered_one_byte_at_a_time() {
    let server = start();
    let mut stream = UnixStream::connect(&server.path).await.unwrap();
    let input = b"# c\n{\"command\": /* } */ \"echo\", \"arguments\": {\"s\": \"}{\\\"\"}}";
    for byte in input {
        stream.write_all(std::slice::from_ref(byte)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["arguments"], json!({"s": "}{\""}));
    server.stop().await;
}
