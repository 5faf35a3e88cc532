//! `dhcp-socket-type: raw` end to end (root only): the server in one network namespace, a
//! client without an address in another, both on one L2 segment (198.18.0.0/24). Real DHCP
//! clients (`udhcpc`, `dhclient`) broadcast from 0.0.0.0; the server receives them on its
//! AF_PACKET socket and answers with frames it builds itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nestor_test_support::{ChildGuard, Netns, Segment, require_root, require_tool, wait_until};
use serde_json::json;

struct Lab {
    dir: tempfile::TempDir,
    _segment: Segment,
    _server_ns: Netns,
    client_ns: Netns,
    client_if: String,
    _server: ChildGuard,
}

fn lab(prefix: &str) -> Lab {
    lab_with(prefix, "198.18.0.100 - 198.18.0.150", false, "DEBUG")
}

fn lab_with(prefix: &str, pool: &str, client_addr: bool, severity: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let segment = Segment::new(&format!("{prefix}-seg")).unwrap();
    let server_ns = Netns::new(&format!("{prefix}-srv")).unwrap();
    let client_ns = Netns::new(&format!("{prefix}-cli")).unwrap();
    let server_if = segment.attach(&server_ns, "198.18.0.1/16").unwrap();
    let client_if = if client_addr {
        segment.attach(&client_ns, "198.18.0.2/16").unwrap()
    } else {
        segment.attach_unnumbered(&client_ns).unwrap()
    };
    let cfg = json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [server_if], "dhcp-socket-type": "raw"},
        "control-socket": {"socket-type": "unix", "socket-name": dir.path().join("ctrl.sock")},
        "lease-database": {"type": "memfile", "name": dir.path().join("leases.csv"), "lfc-interval": 0},
        "valid-lifetime": 600, "renew-timer": 300, "rebind-timer": 500,
        "subnet4": [{"id": 1, "subnet": "198.18.0.0/16",
                     "pools": [{"pool": pool}],
                     "option-data": [{"name": "routers", "data": "198.18.0.1"}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": severity, "debuglevel": 99,
                     "output_options": [{"output": dir.path().join("nestor.log")}]}]
    }});
    let cfg_path = dir.path().join("raw.json");
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let mut cmd = server_ns.command(env!("CARGO_BIN_EXE_nestor-dhcp4"));
    cmd.arg("-c")
        .arg(&cfg_path)
        .env("KEA_PIDFILE_DIR", dir.path());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("stderr.txt")).unwrap(),
        ));
    let server = ChildGuard::spawn(&mut cmd).unwrap();
    let sock = dir.path().join("ctrl.sock");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            UnixStream::connect(&sock).is_ok()
        }),
        "server did not start: {}",
        std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default()
    );
    Lab {
        dir,
        _segment: segment,
        _server_ns: server_ns,
        client_ns,
        client_if,
        _server: server,
    }
}

fn lease_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("leases.csv"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

fn client_mac(lab: &Lab) -> String {
    let out = lab
        .client_ns
        .ip(&["-o", "link", "show", &lab.client_if])
        .unwrap();
    out.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap()
        .to_owned()
}

/// The last `lines` lines of `path` (empty if it cannot be read): enough of a debug log to see
/// the exchange that went wrong without burying the assertion message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all.get(all.len().saturating_sub(lines)..)
        .unwrap_or_default()
        .join("\n")
}

#[test]
fn udhcpc_obtains_renews_and_releases_a_lease_over_raw_sockets() {
    if !require_root("network namespaces and AF_PACKET sockets") {
        return;
    }
    let Some(udhcpc) = require_tool("udhcpc", "udhcpc") else {
        return;
    };
    let lab = lab("rawu");
    let mac = client_mac(&lab);
    // The script configures the address udhcpc gets (its RELEASE is a unicast from it) and
    // only then logs the event: a logged `bound` or `renew` means udhcpc has processed the ACK
    // and is BOUND as soon as the script returns.
    let script = lab.dir.path().join("udhcpc.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in bound) ip addr add \"$ip/$mask\" dev \"$interface\" >> {log} 2>&1;; esac\necho \"$1 $ip/$mask\" >> {log}\nexit 0\n",
            log = lab.dir.path().join("script.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // In the foreground; SIGUSR1 renews, SIGUSR2 releases (busybox udhcpc).
    let out_path = lab.dir.path().join("udhcpc.out");
    let mut cmd = lab.client_ns.command(&udhcpc);
    cmd.args(["-i", &lab.client_if, "-f", "-t", "5", "-T", "1", "-s"])
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(
            std::fs::File::create(lab.dir.path().join("udhcpc.err")).unwrap(),
        ));
    let mut client = ChildGuard::spawn(&mut cmd).unwrap();
    let rows_for = |dir: &Path| -> Vec<Vec<String>> {
        lease_lines(dir)
            .into_iter()
            .filter(|l| l.starts_with("198.18.0.100,"))
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    };
    let events = |dir: &Path, event: &str| -> usize {
        std::fs::read_to_string(dir.join("script.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(event))
            .count()
    };
    let diag = |lab: &Lab| {
        let dir = lab.dir.path();
        format!(
            "rows {:?}\nscript:\n{}\nudhcpc:\n{}{}\nserver log (tail):\n{}\nserver stderr:\n{}",
            lease_lines(dir),
            std::fs::read_to_string(dir.join("script.log")).unwrap_or_default(),
            std::fs::read_to_string(dir.join("udhcpc.out")).unwrap_or_default(),
            std::fs::read_to_string(dir.join("udhcpc.err")).unwrap_or_default(),
            tail(&dir.join("nestor.log"), 60),
            tail(&dir.join("stderr.txt"), 20),
        )
    };
    // The server commits the lease before it sends the ACK, so the lease row alone does not
    // mean udhcpc is BOUND: busybox udhcpc (1.35) consumes a SIGUSR1 that arrives while it is
    // still REQUESTING, takes the ACK that follows, and never renews. Each signal therefore
    // waits for the server's row *and* the client's script run for that ACK (a signal that
    // arrives during the script is handled after it, in BOUND).
    let bound = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        rows_for(lab.dir.path()).iter().any(|r| r[1] == mac) && events(lab.dir.path(), "bound") == 1
    });
    assert!(bound, "obtained: {}", diag(&lab));
    client.signal(nestor_test_support::Signal::SIGUSR1).unwrap();
    // udhcpc unicasts its renewal from the address the script configured; the server answers
    // it through the kernel's routing. The bound leaves room for udhcpc's retries on a loaded
    // machine; the wait ends as soon as both sides report the renewal.
    let renewed = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        rows_for(lab.dir.path()).len() >= 2 && events(lab.dir.path(), "renew") == 1
    });
    assert!(renewed, "renewed: {}", diag(&lab));
    client.signal(nestor_test_support::Signal::SIGUSR2).unwrap();
    let released = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        rows_for(lab.dir.path()).last().is_some_and(|r| r[3] == "0")
    });
    assert!(released, "released: {}", diag(&lab));
}

#[test]
fn dhclient_obtains_and_reboots_into_its_lease_over_raw_sockets() {
    if !require_root("network namespaces and AF_PACKET sockets") {
        return;
    }
    let Some(dhclient) = require_tool("dhclient", "isc-dhcp-client") else {
        return;
    };
    let lab = lab("rawd");
    let leases = lab.dir.path().join("dhclient.leases");
    let pid = lab.dir.path().join("dhclient.pid");
    let mut cmd = std::process::Command::new(&dhclient);
    cmd.arg("-1")
        .arg("-v")
        .arg("-sf")
        .arg("/bin/true")
        .arg("-lf")
        .arg(&leases)
        .arg("-pf")
        .arg(&pid)
        .arg(&lab.client_if);
    let out = lab
        .client_ns
        .exec_timeout(&cmd, Duration::from_secs(30))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(text.contains("bound to 198.18.0.100"), "{text}");
    // dhclient went to the background; stop it by its PID file (it is in our namespace).
    if let Ok(p) = std::fs::read_to_string(&pid)
        && let Ok(p) = p.trim().parse::<i32>()
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    // Renew: a second run finds its lease in the lease file and asks for it (INIT-REBOOT).
    let out = lab
        .client_ns
        .exec_timeout(&cmd, Duration::from_secs(30))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(text.contains("bound to 198.18.0.100"), "{text}");
    if let Ok(p) = std::fs::read_to_string(&pid)
        && let Ok(p) = p.trim().parse::<i32>()
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let rows: Vec<String> = lease_lines(lab.dir.path())
        .into_iter()
        .filter(|l| l.starts_with("198.18.0.100,"))
        .collect();
    assert!(rows.len() >= 2, "obtained and renewed: {rows:?}");
}

#[test]
fn perfdhcp_completes_every_four_way_exchange() {
    if !require_root("network namespaces and AF_PACKET sockets") {
        return;
    }
    let Some(perfdhcp) = require_tool("perfdhcp", "kea-admin") else {
        return;
    };
    // Packet-level logging off: this checks completeness, not the speed of a debug build's
    // log file.
    let lab = lab_with("rawp", "198.18.1.0 - 198.18.100.255", true, "INFO");
    // 10 000 simulated clients, each doing DISCOVER-OFFER-REQUEST-ACK once, at a rate a debug
    // build on a shared 2-core machine sustains with a wide margin (other test binaries may be
    // running beside it).
    let mut cmd = std::process::Command::new(&perfdhcp);
    cmd.args([
        "-4",
        "-l",
        &lab.client_if,
        "-r",
        "500",
        "-R",
        "10000",
        "-n",
        "10000",
        "-p",
        "60",
        "-W",
        "2000000",
    ]);
    let out = lab
        .client_ns
        .exec_timeout(&cmd, Duration::from_secs(90))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}");
    let field = |name: &str| -> Vec<u64> {
        text.lines()
            .filter(|l| l.trim_start().starts_with(name))
            .filter_map(|l| {
                l.rsplit(':')
                    .next()?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    };
    let sent = field("sent packets");
    let received = field("received packets");
    let drops = field("drops");
    assert_eq!(sent.len(), 2, "two exchanges (DO, RA) reported: {text}");
    assert_eq!(sent, [10_000, 10_000], "{text}");
    assert_eq!(received, sent, "every exchange completed: {text}");
    assert!(drops.iter().all(|d| *d == 0), "{text}");
    let acks = std::fs::read_to_string(lab.dir.path().join("leases.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(acks, 10_000, "one lease row per ACK");
}

/// A relay on the segment (port 67, as real relays): the server answers it through its UDP
/// socket, to port 67 of the relay, exactly once, and its own outgoing reply (UDP port 67, the
/// port the AF_PACKET filter passes) is never taken for a query.
#[test]
fn relayed_queries_on_a_raw_interface_are_answered_once() {
    if !require_root("network namespaces and AF_PACKET sockets") {
        return;
    }
    let Some(python) = require_tool("python3", "python3") else {
        return;
    };
    let lab = lab_with("rawr", "198.18.1.0 - 198.18.1.100", true, "DEBUG");
    let relay = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.2", 67)); s.settimeout(3)
hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 1, 0x4242, 0, 0, bytes(4), bytes(4),
                  bytes(4), socket.inet_aton("198.18.0.2"), bytes([2, 0, 0, 0, 0, 9]) + bytes(10),
                  bytes(64), bytes(128))
s.sendto(hdr + bytes([99, 130, 83, 99, 53, 1, 1, 255]), ("198.18.0.1", 67))
d, a = s.recvfrom(2000)
print("reply", a[0], a[1], socket.inet_ntoa(d[16:20]), d[242])
try:
    s.recvfrom(2000); print("second reply")
except socket.timeout:
    print("no second reply")
"#;
    let mut cmd = std::process::Command::new(&python);
    cmd.arg("-c").arg(relay);
    let out = lab
        .client_ns
        .exec_timeout(&cmd, Duration::from_secs(20))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("reply 198.18.0.1 67 198.18.1.0 2"),
        "OFFER to the relay: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("no second reply"), "{text}");
    let mut s = UnixStream::connect(lab.dir.path().join("ctrl.sock")).unwrap();
    std::io::Write::write_all(&mut s, br#"{"command": "statistic-get-all"}"#).unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let stat = |n: &str| v["arguments"][n][0][0].as_i64().unwrap();
    assert_eq!(
        stat("pkt4-received"),
        1,
        "the server's own OFFER was not received back"
    );
    assert_eq!(stat("pkt4-receive-drop"), 0);
    assert_eq!(stat("pkt4-offer-sent"), 1);
}
