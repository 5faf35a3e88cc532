//! The seed's hot-standby scenario with two real `nestor-dhcp4` processes, each behind its own
//! `nestor-ctrl-agent` (the seed's Kea 1.5-style setup: the peer URL is the partner's agent),
//! with short timers: the primary alone goes WAITING -> PARTNER-DOWN; the standby then goes
//! WAITING -> SYNCING -> READY -> HOT-STANDBY and so does the primary; a relayed DORA answered
//! by the primary leaves the same lease in the standby's store.
//!
//! Needs `target/debug/nestor-ctrl-agent` (`cargo build -p nestor-ctrl-agent`): skipped with a
//! loud message when missing, failed when missing in CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Nestor, Relay, config, mac};
use nestor_test_support::{ChildGuard, free_tcp_port, in_ci, wait_until};
use serde_json::{Value, json};

fn agent_binary() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let path = target.join("debug/nestor-ctrl-agent");
    path.exists().then_some(path)
}

fn ha_config(dir: &Path, me: &str, agents: [u16; 2]) -> Value {
    ha_config_with(dir, me, agents, false)
}

/// `ports` are the agents' (through agents) or the servers' own listeners (dedicated).
fn ha_config_with(dir: &Path, me: &str, ports: [u16; 2], dedicated: bool) -> Value {
    let agents = ports;
    let mut cfg = config(dir);
    cfg["Dhcp4"]["hooks-libraries"] = json!([
        {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
        {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so", "parameters": {
            "high-availability": [{
                "this-server-name": me, "mode": "hot-standby",
                "heartbeat-delay": 200, "max-response-delay": 800,
                "max-ack-delay": 1000, "max-unacked-clients": 0,
                "multi-threading": {"enable-multi-threading": dedicated, "http-dedicated-listener": dedicated},
                "peers": [
                    {"name": "kea_1", "url": format!("http://127.0.0.1:{}/", agents[0]), "role": "primary"},
                    {"name": "kea_2", "url": format!("http://127.0.0.1:{}/", agents[1]), "role": "standby"}
                ]
            }]
        }}
    ]);
    cfg
}

fn start_agent(binary: &Path, server: &Nestor, port: u16) -> ChildGuard {
    let path = server.dir.path().join("agent.json");
    let cfg = json!({"Control-agent": {"http-host": "127.0.0.1", "http-port": port,
        "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": server.socket()}}}});
    std::fs::write(&path, cfg.to_string()).unwrap();
    let mut cmd = Command::new(binary);
    cmd.arg("-c")
        .arg(&path)
        .env("KEA_PIDFILE_DIR", server.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(server.dir.path().join("agent.stderr")).unwrap(),
        ));
    let mut agent = ChildGuard::spawn(&mut cmd).unwrap();
    let up = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "agent on port {port} did not start ({:?}): {}",
        agent.try_wait(),
        std::fs::read_to_string(server.dir.path().join("agent.stderr")).unwrap_or_default()
    );
    agent
}

fn ha_state(n: &Nestor) -> String {
    let answer = n.command(json!({"command": "ha-heartbeat"}));
    assert_eq!(answer["text"], "HA peer status returned.", "{answer}");
    answer["arguments"]["state"].as_str().unwrap().to_owned()
}

fn wait_state(n: &Nestor, want: &str) {
    let reached = wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
        ha_state(n) == want
    });
    assert!(
        reached,
        "still {} instead of {want}; log:\n{}",
        ha_state(n),
        n.log()
    );
}

#[test]
fn seed_hot_standby_pair_through_agents() {
    let Some(agent) = agent_binary() else {
        assert!(
            !in_ci(),
            "nestor-ctrl-agent is not built: cargo build -p nestor-ctrl-agent"
        );
        eprintln!(
            "*** SKIPPED: seed_hot_standby_pair_through_agents: nestor-ctrl-agent not built (cargo build -p nestor-ctrl-agent) ***"
        );
        return;
    };
    let agents = [free_tcp_port().unwrap(), free_tcp_port().unwrap()];

    // The primary alone: waiting, then partner-down once max-response-delay has passed.
    let primary = Nestor::start(|dir| ha_config(dir, "kea_1", agents));
    let _agent1 = start_agent(&agent, &primary, agents[0]);
    assert_eq!(ha_state(&primary), "waiting");
    wait_state(&primary, "partner-down");

    // The standby: syncs from the primary, then both go hot-standby.
    let standby = Nestor::start(|dir| ha_config(dir, "kea_2", agents));
    let _agent2 = start_agent(&agent, &standby, agents[1]);
    wait_state(&standby, "hot-standby");
    wait_state(&primary, "hot-standby");

    let primary_log = primary.log();
    assert!(primary_log.contains("HA_STATE_TRANSITION server transitions from WAITING to PARTNER-DOWN state, partner state is UNDEFINED"), "{primary_log}");
    assert!(primary_log.contains("HA_STATE_TRANSITION server transitions from PARTNER-DOWN to HOT-STANDBY state, partner state is READY"), "{primary_log}");
    let standby_log = standby.log();
    for line in [
        "HA_STATE_TRANSITION server transitions from WAITING to SYNCING state, partner state is PARTNER-DOWN",
        "HA_STATE_TRANSITION server transitions from SYNCING to READY state, partner state is PARTNER-DOWN",
        "HA_STATE_TRANSITION server transitions from READY to HOT-STANDBY state, partner state is HOT-STANDBY",
    ] {
        assert!(standby_log.contains(line), "missing {line}:\n{standby_log}");
    }

    // A relayed DORA to the primary: the ACK waits for the standby's ack of the lease update.
    let relay = Relay::new(primary.server_addr());
    let address = relay.dora(0x4841, mac(0x48));
    let on_standby = standby.command(json!({"command": "lease4-get",
        "arguments": {"ip-address": address.to_string()}}));
    assert_eq!(on_standby["result"], 0, "{on_standby}");
    let on_primary = primary.command(json!({"command": "lease4-get",
        "arguments": {"ip-address": address.to_string()}}));
    assert_eq!(on_standby["arguments"], on_primary["arguments"]);

    // status-get carries the HA part; the partner's last state follows the next heartbeat.
    let ha_status = || {
        primary.command(json!({"command": "status-get"}))["arguments"]["high-availability"][0]
            .clone()
    };
    let seen = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        ha_status()["ha-servers"]["remote"]["last-state"] == "hot-standby"
    });
    let ha = ha_status();
    assert!(seen, "{ha}");
    assert_eq!(ha["ha-mode"], "hot-standby");
    assert_eq!(
        ha["ha-servers"]["local"],
        json!({"role": "primary", "scopes": ["kea_1"], "state": "hot-standby"})
    );
    assert_eq!(ha["ha-servers"]["remote"]["role"], "standby");
    assert_eq!(ha["ha-servers"]["remote"]["in-touch"], true);
}

/// The same pair without agents: each server answers its peer on its own `url`
/// (`http-dedicated-listener`, Kea's HA+MT).
#[test]
fn seed_hot_standby_pair_through_dedicated_listeners() {
    let ports = [free_tcp_port().unwrap(), free_tcp_port().unwrap()];
    let primary = Nestor::start(|dir| ha_config_with(dir, "kea_1", ports, true));
    wait_state(&primary, "partner-down");
    let standby = Nestor::start(|dir| ha_config_with(dir, "kea_2", ports, true));
    wait_state(&standby, "hot-standby");
    wait_state(&primary, "hot-standby");
    let relay = Relay::new(primary.server_addr());
    let address = relay.dora(0x4842, mac(0x49));
    let on_standby = standby.command(json!({"command": "lease4-get",
        "arguments": {"ip-address": address.to_string()}}));
    assert_eq!(on_standby["result"], 0, "{on_standby}");
    assert_eq!(on_standby["arguments"]["hw-address"], "02:00:00:00:00:49");
}
