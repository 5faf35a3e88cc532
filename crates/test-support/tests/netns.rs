//! Network namespaces and segments (root only): two hosts on one bridge reach each other and
//! nothing else, processes inside are stopped and the namespaces are gone after drop. Without
//! root, `ip` or `ping` each test skips loudly, or fails under `CI`.

// Test helpers outside `#[test]` functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use nestor_test_support::{
    KeaDhcp4, Netns, Segment, find_tool, remove_stale_namespaces, require_root, require_tool,
    wait_until,
};
use serde_json::json;

fn prerequisites(ping: bool) -> bool {
    require_root("network namespaces")
        && require_tool("ip", "iproute2").is_some()
        && (!ping || require_tool("ping", "iputils-ping").is_some())
}

fn namespaces() -> String {
    let ip = find_tool("ip").unwrap();
    let out = Command::new(ip).args(["netns", "list"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn listed(name: &str) -> bool {
    namespaces()
        .lines()
        .any(|line| line.split_whitespace().next() == Some(name))
}

/// One ping, one second to answer; retried for a few seconds (the first may race the links
/// coming up).
fn pings(from: &Netns, to: &str, attempts: u32) -> bool {
    (0..attempts).any(|_| {
        from.exec(Command::new("ping").args(["-c1", "-W1", to]))
            .unwrap()
            .status
            .success()
    })
}

#[test]
fn two_hosts_on_a_segment_reach_each_other_and_are_removed() {
    if !prerequisites(true) {
        return;
    }
    let segment = Segment::new("seg").unwrap();
    let a = Netns::new("a").unwrap();
    let b = Netns::new("b").unwrap();
    let if_a = segment.attach(&a, "198.18.0.1/24").unwrap();
    let if_b = segment.attach(&b, "198.18.0.2/24").unwrap();
    assert!(if_a.len() <= 15 && if_b.len() <= 15);
    let names = [
        segment.netns().name().to_owned(),
        a.name().to_owned(),
        b.name().to_owned(),
    ];
    for name in &names {
        assert!(listed(name), "{name} missing from `ip netns list`");
    }
    assert!(
        a.ip(&["-4", "addr", "show", "dev", &if_a])
            .unwrap()
            .contains("198.18.0.1/24")
    );

    assert!(pings(&a, "198.18.0.2", 5), "a cannot reach b");
    assert!(pings(&b, "198.18.0.1", 5), "b cannot reach a");
    // The check can fail: an address nobody holds does not answer.
    assert!(!pings(&a, "198.18.0.3", 1), "198.18.0.3 answered");
    // Loopback is up in every host.
    assert!(pings(&a, "127.0.0.1", 3));

    drop((segment, a, b));
    for name in &names {
        assert!(!listed(name), "{name} still exists after drop");
    }
}

#[test]
fn exec_keeps_arguments_environment_and_status() {
    if !prerequisites(false) {
        return;
    }
    let ns = Netns::new("exec").unwrap();
    let out = ns
        .exec(
            Command::new("sh")
                .args(["-c", "echo \"$NESTOR_X\"; ip -o link show | wc -l; exit 7"])
                .env("NESTOR_X", "from-the-test"),
        )
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("from-the-test"));
    // Only `lo` inside a fresh namespace.
    assert_eq!(lines.next(), Some("1"));
    // A failing `ip` call is an error that carries ip's words.
    let err = ns.ip(&["link", "set", "nosuchif", "up"]).unwrap_err();
    assert!(err.to_string().contains("nosuchif"), "{err}");
}

#[test]
fn dropping_a_namespace_stops_what_runs_inside() {
    if !prerequisites(false) {
        return;
    }
    let ns = Netns::new("procs").unwrap();
    // One started without a guard, one under a guard that outlives nothing.
    let mut loose = ns.command("sleep").arg("60").spawn().unwrap();
    let guarded = ns.spawn(Command::new("sleep").arg("60")).unwrap();
    let mut pids = ns.pids().unwrap();
    pids.sort_unstable();
    let mut expected = vec![loose.id(), guarded.pid()];
    expected.sort_unstable();
    assert_eq!(
        pids, expected,
        "`ip netns exec` must exec the program itself"
    );

    drop(guarded);
    assert_eq!(ns.pids().unwrap(), [loose.id()]);
    let name = ns.name().to_owned();
    drop(ns);
    let ended = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        loose.try_wait().unwrap().is_some()
    });
    assert!(ended, "sleep inside {name} survived the namespace");
    assert!(!listed(&name));
}

#[test]
fn kea_runs_inside_a_namespace() {
    if !prerequisites(false) || require_tool("kea-dhcp4", "kea-dhcp4-server").is_none() {
        return;
    }
    let segment = Segment::new("kseg").unwrap();
    let server = Netns::new("kea").unwrap();
    let interface = segment.attach(&server, "198.18.1.1/24").unwrap();
    let kea = KeaDhcp4::builder(json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [interface], "dhcp-socket-type": "raw"},
        "subnet4": [{"id": 1, "subnet": "198.18.1.0/24",
                     "pools": [{"pool": "198.18.1.100 - 198.18.1.200"}]}]
    }}))
    .in_netns(&server)
    .start()
    .unwrap();
    let pid = kea.pid().unwrap();
    assert_eq!(server.pids().unwrap(), [pid]);
    // The control socket is a file: reachable from outside the namespace.
    let answer = kea.command(&json!({"command": "status-get"})).unwrap();
    assert_eq!(answer["arguments"]["pid"], pid, "{answer}");
    drop(kea);
    assert!(server.pids().unwrap().is_empty());
}

#[test]
fn addresses_outside_the_benchmarking_range_are_refused() {
    if !prerequisites(false) {
        return;
    }
    let segment = Segment::new("range").unwrap();
    let host = Netns::new("range-host").unwrap();
    assert!(segment.attach(&host, "192.168.1.1/24").is_err());
    // Nothing was created for the refused attachment.
    let links = host.ip(&["-o", "link", "show"]).unwrap();
    assert_eq!(links.lines().count(), 1, "{links}");
}

#[test]
fn namespaces_of_dead_test_processes_are_swept() {
    if !prerequisites(false) {
        return;
    }
    // A PID that just ended stands for a test process killed before its guards ran.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let stale = format!("nestor-stale-{}-0", gone.id());
    let ip = find_tool("ip").unwrap();
    assert!(
        Command::new(&ip)
            .args(["netns", "add", &stale])
            .status()
            .unwrap()
            .success()
    );
    // One of this process, which must stay.
    let live = Netns::new("live").unwrap();

    let removed = remove_stale_namespaces().unwrap();
    assert!(removed.contains(&stale), "{removed:?}");
    assert!(!listed(&stale));
    assert!(listed(live.name()));
}

#[test]
fn a_panicking_test_still_removes_its_namespaces() {
    if !prerequisites(false) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let segment = Segment::new("panic").unwrap();
        let host = Netns::new("panic-host").unwrap();
        segment.attach(&host, "198.18.2.1/24").unwrap();
        let sleeper = host.command("sleep").arg("60").spawn().unwrap();
        tx.send((
            segment.netns().name().to_owned(),
            host.name().to_owned(),
            sleeper,
        ))
        .unwrap();
        panic!("the test failed");
    })
    .join();
    assert!(outcome.is_err());
    let (segment, host, mut sleeper) = rx.recv().unwrap();
    assert!(!listed(&segment) && !listed(&host));
    // The namespace's drop stopped it; reaped here, as its parent.
    let ended = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        sleeper.try_wait().unwrap().is_some()
    });
    assert!(ended);
}
