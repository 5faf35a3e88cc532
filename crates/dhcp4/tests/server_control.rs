//! The control socket of the real binary: built-in commands with Kea 2.2's texts,
//! reconfiguration without losing leases, and the process life cycle (PID file, SIGHUP,
//! SIGTERM, `shutdown` with an exit value).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Msg, Nestor, POOL_FIRST, Relay, config, mac};
use nestor_proto::pkt::{MessageType, code};
use nestor_test_support::Signal;
use serde_json::json;

fn text(a: &serde_json::Value) -> &str {
    a["text"].as_str().unwrap_or("")
}

#[test]
fn built_in_commands_answer_as_kea() {
    let n = Nestor::start(config);
    let list = n.command(json!({"command": "list-commands"}));
    let names: Vec<&str> = list["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for c in [
        "build-report",
        "config-get",
        "config-reload",
        "config-set",
        "config-test",
        "config-write",
        "dhcp-disable",
        "dhcp-enable",
        "leases-reclaim",
        "list-commands",
        "server-tag-get",
        "shutdown",
        "statistic-get",
        "statistic-get-all",
        "statistic-remove",
        "statistic-remove-all",
        "statistic-reset",
        "statistic-reset-all",
        "status-get",
        "version-get",
    ] {
        assert!(names.contains(&c), "{c} missing from {names:?}");
    }
    let v = n.command(json!({"command": "version-get"}));
    assert_eq!(v["result"], 0);
    assert!(v["arguments"]["extended"].as_str().unwrap().contains('\n'));

    let s = n.command(json!({"command": "status-get"}));
    assert_eq!(s["result"], 0);
    assert!(s.get("text").is_none());
    assert_eq!(s["arguments"]["pid"], n.child.as_ref().unwrap().pid());
    assert_eq!(s["arguments"]["sockets"]["status"], "ready");
    assert_eq!(s["arguments"]["multi-threading-enabled"], false);

    assert_eq!(
        n.command(json!({"command": "server-tag-get"}))["arguments"],
        json!({"server-tag": ""})
    );
    let cfg = n.command(json!({"command": "config-get"}));
    assert_eq!(
        cfg["arguments"]["Dhcp4"]["subnet4"][0]["subnet"],
        "198.18.0.0/24"
    );
    assert_eq!(cfg["arguments"]["Dhcp4"]["valid-lifetime"], 4000);

    let unknown = n.command(json!({"command": "foo"}));
    assert_eq!(unknown["result"], 2);
    assert_eq!(text(&unknown), "'foo' command not supported.");

    for (cmd, want) in [
        (
            json!({"command": "dhcp-disable", "arguments": {"max-period": -1}}),
            "'max-period' must be positive integer",
        ),
        (
            json!({"command": "dhcp-disable", "arguments": {"origin": "foo"}}),
            "invalid value used for 'origin' parameter: foo",
        ),
        (
            json!({"command": "leases-reclaim"}),
            "Missing mandatory 'remove' parameter.",
        ),
        (
            json!({"command": "leases-reclaim", "arguments": {"remove": 1}}),
            "'remove' parameter expected to be a boolean.",
        ),
        (
            json!({"command": "shutdown", "arguments": [1]}),
            "Argument must be a map",
        ),
        (
            json!({"command": "shutdown", "arguments": {"exit-value": "a"}}),
            "parameter 'exit-value' is not an integer",
        ),
        (
            json!({"command": "config-test"}),
            "Missing mandatory 'arguments' parameter.",
        ),
        (
            json!({"command": "config-test", "arguments": {}}),
            "Missing mandatory 'Dhcp4' parameter.",
        ),
        (
            json!({"command": "config-write", "arguments": {"filename": 1}}),
            "passed parameter 'filename' is not a string",
        ),
    ] {
        let a = n.command(cmd.clone());
        assert_eq!(a["result"], 1, "{cmd}: {a}");
        assert_eq!(text(&a), want, "{cmd}");
    }
    let ok = n.command(json!({"command": "leases-reclaim", "arguments": {"remove": true}}));
    assert_eq!(text(&ok), "Reclamation of expired leases is complete.");
    let t = n.command(json!({"command": "config-test", "arguments": cfg["arguments"].clone()}));
    assert_eq!(t["result"], 0, "{t}");
    assert!(text(&t).starts_with("Configuration seems sane."));
    let bad = n.command(json!({"command": "config-test", "arguments": {"Dhcp4": {"foo": 1}}}));
    assert_eq!(bad["result"], 1);

    let out = n.dir.path().join("written.json");
    let w = n.command(json!({"command": "config-write", "arguments": {"filename": out}}));
    assert_eq!(w["result"], 0, "{w}");
    assert_eq!(
        text(&w),
        format!("Configuration written to {} successful", out.display())
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(w["arguments"]["size"], written.len());
    assert!(
        nestor_config::parse_dhcp4_str(&written, "written").is_ok(),
        "config-write output loads"
    );
}

#[test]
fn dhcp_disable_drops_packets_until_enabled() {
    let n = Nestor::start(config);
    let r = Relay::new(n.server_addr());
    let d = n.command(json!({"command": "dhcp-disable"}));
    assert_eq!(text(&d), "DHCPv4 service disabled");
    r.send(Msg::new(MessageType::Discover, 1, mac(1)));
    r.expect_silence(Duration::from_millis(500));
    assert_eq!(n.stat("pkt4-receive-drop"), 1);
    let e = n.command(json!({"command": "dhcp-enable"}));
    assert_eq!(text(&e), "DHCP service successfully enabled");
    assert_eq!(r.dora(2, mac(1)), POOL_FIRST);
    let d = n.command(json!({"command": "dhcp-disable", "arguments": {"max-period": 1}}));
    assert_eq!(text(&d), "DHCPv4 service disabled for 1 seconds");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        r.exchange(Msg::new(MessageType::Discover, 3, mac(2)))
            .is_some(),
        "re-enabled after max-period"
    );
}

#[test]
fn reconfiguration_keeps_leases_and_bad_configs_change_nothing() {
    let mut n = Nestor::start(config);
    let r = Relay::new(n.server_addr());
    let a = r.dora(1, mac(1));

    // config-set with a different lifetime: the lease is still the client's.
    let mut cfg = config(n.dir.path());
    cfg["Dhcp4"]["valid-lifetime"] = json!(5000);
    let s = n.command(json!({"command": "config-set", "arguments": cfg}));
    assert_eq!(s["result"], 0, "{s}");
    assert_eq!(text(&s), "Configuration successful.");
    let renew = r
        .exchange(Msg::new(MessageType::Request, 2, mac(1)).ciaddr(a))
        .unwrap();
    assert_eq!(renew.msg_type(), MessageType::Ack);
    assert_eq!(renew.yiaddr(), a);
    assert_eq!(
        renew.option(code::LEASE_TIME).unwrap(),
        5000u32.to_be_bytes()
    );

    // A rejected configuration leaves the running one in place.
    let bad = n.command(json!({"command": "config-set", "arguments": {"Dhcp4": {"subnet4": [{"subnet": "1.2.3.0/24", "pools": [{"pool": "1.2.4.1-1.2.4.2"}]}]}}}));
    assert_eq!(bad["result"], 1, "{bad}");
    let cfg_now = n.command(json!({"command": "config-get"}));
    assert_eq!(cfg_now["arguments"]["Dhcp4"]["valid-lifetime"], 5000);

    // config-reload re-reads the file (4000); SIGHUP too, after the file changed (6000).
    let re = n.command(json!({"command": "config-reload"}));
    assert_eq!(text(&re), "Configuration successful.", "{re}");
    assert_eq!(
        n.command(json!({"command": "config-get"}))["arguments"]["Dhcp4"]["valid-lifetime"],
        4000
    );
    let mut file_cfg = config(n.dir.path());
    file_cfg["Dhcp4"]["valid-lifetime"] = json!(6000);
    std::fs::write(&n.config_path, file_cfg.to_string()).unwrap();
    n.signal(Signal::SIGHUP);
    let reloaded =
        nestor_test_support::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            n.command(json!({"command": "config-get"}))["arguments"]["Dhcp4"]["valid-lifetime"]
                == 6000
        });
    assert!(reloaded, "SIGHUP reloaded the file");
    let renew = r
        .exchange(Msg::new(MessageType::Request, 3, mac(1)).ciaddr(a))
        .unwrap();
    assert_eq!(renew.yiaddr(), a, "lease kept across reloads");
    assert_eq!(
        renew.option(code::LEASE_TIME).unwrap(),
        6000u32.to_be_bytes()
    );
    assert_eq!(
        r.dora(4, mac(2)),
        Ipv4Addr::new(198, 18, 0, 11),
        "the pool pointer and leases survived"
    );
}

#[test]
fn sigterm_shuts_down_cleanly_and_pid_file_guards_the_instance() {
    let mut n = Nestor::start(config);
    let pid_file = n.pid_file();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid.trim(), n.child.as_ref().unwrap().pid().to_string());

    // A second server with the same configuration refuses to start.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_nestor-dhcp4"))
        .arg("-c")
        .arg(&n.config_path)
        .arg("-p")
        .arg("1")
        .env("KEA_PIDFILE_DIR", n.dir.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{second:?}"
    );

    let r = Relay::new(n.server_addr());
    r.dora(1, mac(1));
    n.signal(Signal::SIGTERM);
    assert_eq!(n.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!pid_file.exists(), "PID file removed");
    assert!(!n.socket().exists(), "control socket removed");
    let log = n.log();
    assert!(log.contains("DHCP4_SHUTDOWN "), "{log}");
}

#[test]
fn sigint_is_a_clean_shutdown_too() {
    let mut n = Nestor::start(config);
    n.signal(Signal::SIGINT);
    assert_eq!(n.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!n.pid_file().exists());
}

#[test]
fn shutdown_command_exits_with_its_value() {
    let mut n = Nestor::start(config);
    let a = n.command(json!({"command": "shutdown", "arguments": {"exit-value": 3}}));
    assert_eq!(text(&a), "Shutting down.");
    assert_eq!(n.wait_exit(Duration::from_secs(10)), Some(3));
}

#[test]
fn config_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"Dhcp4": {"valid-lifetime": "x"}}"#).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nestor-dhcp4"))
        .arg("-c")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sql = dir.path().join("sql.json");
    std::fs::write(
        &sql,
        r#"{"Dhcp4": {"lease-database": {"type": "mysql", "name": "kea"}}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nestor-dhcp4"))
        .arg("-c")
        .arg(&sql)
        .env("KEA_PIDFILE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not supported"),
        "{out:?}"
    );
}

#[test]
fn service_sockets_are_retried_until_they_open() {
    // Something else holds the server's address and port (no SO_REUSEADDR): the first bind
    // fails, the retries succeed once it is gone.
    let port = nestor_test_support::free_udp_port().unwrap();
    let blocker = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    let mut n = Nestor::start(|dir| {
        let mut c = config(dir);
        c["Dhcp4"]["interfaces-config"]["service-sockets-max-retries"] = json!(50);
        c["Dhcp4"]["interfaces-config"]["service-sockets-retry-wait-time"] = json!(100);
        c
    });
    // Nestor::start picked its own port: restart on the blocked one.
    n.child.take().unwrap().stop().unwrap();
    n.port = port;
    n.spawn();
    let s = n.command(json!({"command": "status-get"}));
    assert_eq!(s["arguments"]["sockets"]["status"], "failed", "{s}");
    drop(blocker);
    let ready =
        nestor_test_support::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            n.command(json!({"command": "status-get"}))["arguments"]["sockets"]["status"] == "ready"
        });
    assert!(ready, "socket opened by a retry");
    let r = Relay::new(n.server_addr());
    assert_eq!(r.dora(1, mac(1)), POOL_FIRST);
}
