//! The Kea harnesses against the real Kea 2.2 daemons: start, readiness, commands over the unix
//! socket and over the Control Agent's HTTP, failure reports, and cleanup (no process, no
//! directory left). Without Kea each test skips loudly, or fails under `CI`.

// Test helpers outside `#[test]` functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use nestor_test_support::{
    HarnessError, KeaCtrlAgent, KeaDhcp4, free_udp_port, kea_check, require_tool, wait_until,
};
use serde_json::{Value, json};

fn kea_installed() -> bool {
    require_tool("kea-dhcp4", "kea-dhcp4-server").is_some()
}

/// Whether `pid` names a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn small_config() -> Value {
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": []},
        "valid-lifetime": 4000,
        "subnet4": [{"id": 1, "subnet": "198.18.0.0/24",
                     "pools": [{"pool": "198.18.0.100 - 198.18.0.200"}]}]
    }})
}

#[test]
fn kea_dhcp4_runs_in_its_directory_and_is_cleaned_up() {
    if !kea_installed() {
        return;
    }
    let kea = KeaDhcp4::start(small_config()).unwrap();
    let pid = kea.pid().unwrap();
    let dir = kea.dir().to_path_buf();
    assert!(alive(pid));

    // The socket answers with this very process's PID.
    let status = kea.command(&json!({"command": "status-get"})).unwrap();
    assert_eq!(status["result"], 0, "{status}");
    assert_eq!(status["arguments"]["pid"], pid);

    // Socket and lease file were placed in the directory, and Kea uses them.
    assert!(kea.socket_path().starts_with(&dir));
    let lease_file = kea.lease_file().unwrap().to_path_buf();
    assert!(lease_file.starts_with(&dir));
    assert!(
        lease_file.exists(),
        "Kea did not create {}",
        lease_file.display()
    );
    let config = kea.command(&json!({"command": "config-get"})).unwrap();
    let dhcp4 = &config["arguments"]["Dhcp4"];
    assert_eq!(
        dhcp4["control-socket"]["socket-name"],
        json!(kea.socket_path())
    );
    assert_eq!(dhcp4["lease-database"]["name"], json!(lease_file));
    // The PID file went to KEA_PIDFILE_DIR.
    let pid_file = dir.join("kea-dhcp4.kea-dhcp4.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    // Kea's default logger writes to stdout, which the harness keeps.
    assert!(kea.output().contains("DHCP4_STARTED"), "{}", kea.output());

    drop(kea);
    assert!(!alive(pid), "kea-dhcp4 {pid} survived its harness");
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[test]
fn kea_dhcp4_stop_keeps_the_lease_file_until_drop() {
    if !kea_installed() {
        return;
    }
    let mut kea = KeaDhcp4::start(small_config()).unwrap();
    let pid = kea.pid().unwrap();
    let status = kea.stop().unwrap();
    // SIGTERM is Kea's clean shutdown.
    assert!(status.success(), "{status}");
    assert!(!alive(pid));
    assert_eq!(kea.pid(), None);
    assert!(kea.lease_file().unwrap().exists());
    assert!(kea.stop().is_err(), "a second stop must say so");
    assert!(kea.command(&json!({"command": "status-get"})).is_err());
}

#[test]
fn kea_dhcp4_listens_on_the_port_it_is_given() {
    if !kea_installed() {
        return;
    }
    let port = free_udp_port().unwrap();
    let mut config = small_config();
    config["Dhcp4"]["interfaces-config"] = json!({"interfaces": ["lo"], "dhcp-socket-type": "udp"});
    let kea = KeaDhcp4::builder(config)
        .server_port(port)
        .client_port(free_udp_port().unwrap())
        .start()
        .unwrap();
    // Kea opens its DHCP sockets while applying its configuration, before its main loop first
    // serves the control socket: once ready, the port is taken.
    assert!(
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err(),
        "kea-dhcp4 -p {port} did not bind it: {}",
        kea.output()
    );
    drop(kea);
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        }),
        "port {port} still taken after the harness was dropped"
    );
}

#[test]
fn kea_dhcp4_text_config_with_comments() {
    if !kea_installed() {
        return;
    }
    let text = r#"
        # A Kea configuration as an operator writes it.
        {
          "Dhcp4": {
            // Control socket named by the test, in the harness's directory.
            "control-socket": { "socket-type": "unix", "socket-name": "@TMPDIR@/own.sock" },
            /* no DHCP sockets */
            "interfaces-config": { "interfaces": [ ] },
            "lease-database": { "type": "memfile", "persist": false }
          }
        }
    "#;
    let kea = KeaDhcp4::start(text).unwrap();
    assert_eq!(kea.socket_path(), kea.dir().join("own.sock"));
    assert_eq!(kea.lease_file(), None);
    let written = std::fs::read_to_string(kea.config_path()).unwrap();
    assert!(written.contains("# A Kea configuration"));
    assert!(!written.contains("@TMPDIR@"));
    let answer = kea.command(&json!({"command": "version-get"})).unwrap();
    assert_eq!(answer["result"], 0, "{answer}");
    assert!(
        answer["text"].as_str().unwrap().starts_with("2.2"),
        "{answer}"
    );
}

#[test]
fn kea_dhcp4_start_failure_carries_keas_words() {
    if !kea_installed() {
        return;
    }
    let mut config = small_config();
    config["Dhcp4"]["subnet4"][0]["pools"] = json!([{"pool": "198.19.0.1 - 198.19.0.5"}]);
    let err = KeaDhcp4::start(config).unwrap_err();
    match &err {
        HarnessError::ExitedEarly { output, .. } => {
            assert!(
                output.contains("does not match the prefix of a subnet"),
                "{err}"
            )
        }
        other => panic!("expected ExitedEarly, got {other}"),
    }

    // A text configuration without a control socket cannot be waited for.
    let err = KeaDhcp4::start(r#"{"Dhcp4": {}}"#).unwrap_err();
    assert!(matches!(err, HarnessError::NoControlSocket { .. }), "{err}");
}

#[test]
fn kea_dhcp4_that_cannot_open_its_socket_exits_early() {
    if !kea_installed() {
        return;
    }
    let text = r#"{"Dhcp4": {
        "control-socket": {"socket-type": "unix", "socket-name": "/nonexistent-dir/x.sock"},
        "interfaces-config": {"interfaces": []},
        "lease-database": {"type": "memfile", "persist": false}}}"#;
    let err = KeaDhcp4::start(text).unwrap_err();
    assert!(matches!(err, HarnessError::ExitedEarly { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent-dir/x.sock"), "{err}");
}

#[test]
fn server_that_never_answers_is_not_ready_and_is_killed() {
    // A stand-in for kea-dhcp4 that starts, records its PID and never opens the socket.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let fake = dir.path().join("fake-kea");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 30\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let started = std::time::Instant::now();
    let err = KeaDhcp4::builder(small_config())
        .binary(&fake)
        .startup_timeout(Duration::from_millis(800))
        .start()
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, HarnessError::NotReady { .. }), "{err}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(10),
        "{took:?}"
    );
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the stand-in {pid} survived the failed start");
}

#[test]
fn kea_check_gives_keas_verdict() {
    if !kea_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&good, small_config().to_string()).unwrap();
    let mut config = small_config();
    config["Dhcp4"]["valid-lifetime"] = json!("x");
    std::fs::write(&bad, config.to_string()).unwrap();

    let (accepted, message) = kea_check(&good).unwrap();
    assert!(accepted, "{message}");
    let (accepted, message) = kea_check(&bad).unwrap();
    assert!(!accepted);
    assert!(message.contains("syntax error"), "{message}");
    // Nothing was written beside the configuration (PID/lock files went to a scratch dir).
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    assert_eq!(files, ["bad.json", "good.json"]);
    // A missing file is a rejection by Kea, not a harness error.
    let (accepted, _) = kea_check(Path::new("/nonexistent/kea.json")).unwrap();
    assert!(!accepted);
}

#[test]
fn ctrl_agent_forwards_to_kea_dhcp4() {
    if !kea_installed() || require_tool("kea-ctrl-agent", "kea-ctrl-agent").is_none() {
        return;
    }
    let kea = KeaDhcp4::start(small_config()).unwrap();
    let agent = KeaCtrlAgent::start(kea.socket_path()).unwrap();
    let agent_pid = agent.pid().unwrap();
    assert_eq!(agent.addr().ip(), Ipv4Addr::LOCALHOST);

    // Forwarded to kea-dhcp4: one answer per service, from that very process.
    let answer = agent
        .command(&json!({"command": "status-get", "service": ["dhcp4"]}))
        .unwrap();
    assert_eq!(answer[0]["result"], 0, "{answer}");
    assert_eq!(answer[0]["arguments"]["pid"], kea.pid().unwrap());

    // Without a service the agent answers itself, with its own PID (still as a list).
    let own = agent.command(&json!({"command": "status-get"})).unwrap();
    assert_eq!(own[0]["arguments"]["pid"], agent_pid, "{own}");

    // A service the agent has no socket for.
    let answer = agent
        .command(&json!({"command": "status-get", "service": ["dhcp6"]}))
        .unwrap();
    assert_eq!(answer[0]["result"], 1, "{answer}");

    drop(agent);
    assert!(!alive(agent_pid));
}
