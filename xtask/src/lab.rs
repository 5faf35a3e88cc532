//! `cargo xtask lab [up [--fast] | status | down]`: the HA walkthrough on this machine, in
//! network namespaces (root only), with addresses from 198.18.0.0/15.
//!
//! `up` builds the release binaries and an L2 segment (a bridge in namespace `nlab-br`) with two
//! server hosts, `nlab-s1` (198.18.0.2, `nestor_1`, primary) and `nlab-s2` (198.18.0.3,
//! `nestor_2`, standby), and a client host `nlab-c1`. Each server host runs nestor-dhcp4 and
//! nestor-ctrl-agent (port 8080) under nestorctl, with the configurations of `deploy/seed/node*`
//! (their `/run`, `/var/lib` and `/var/log` paths moved into the lab's state directory). Then it
//! replays the walkthrough: the primary starts alone (`ha-heartbeat` shows waiting, then
//! partner-down), the standby starts (syncing, ready, then both hot-standby), `udhcpc` on the
//! client gets a lease from the primary, and `lease4-get-all` on the standby shows the same lease.
//! The curl commands it runs are the walkthrough's. `--fast` shortens the HA timers (heartbeat
//! 1 s, partner down after 3 s) instead of the walkthrough's 10 s.
//!
//! The lab stays up for experiments until `down` stops the daemons and deletes the namespaces.
//! Namespaces are named `nlab-*` so the test harness's sweeper of stale `nestor-*` namespaces
//! never takes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const BRIDGE_NS: &str = "nlab-br";
const CLIENT_NS: &str = "nlab-c1";

/// A server host of the lab.
struct Host {
    ns: &'static str,
    node: &'static str,
    addr: &'static str,
}

const SERVERS: [Host; 2] = [
    Host {
        ns: "nlab-s1",
        node: "node1",
        addr: "198.18.0.2",
    },
    Host {
        ns: "nlab-s2",
        node: "node2",
        addr: "198.18.0.3",
    },
];

fn state_dir() -> PathBuf {
    std::env::var_os("NESTOR_LAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/nestor-lab"))
}

fn host_dir(host: &Host) -> PathBuf {
    state_dir().join(host.node)
}

pub(crate) fn run(args: &[String], root: &Path) -> Result<()> {
    let fast = args.iter().any(|a| a == "--fast");
    let action = args.iter().find(|a| !a.starts_with("--"));
    match action.map(String::as_str).unwrap_or("up") {
        "up" => up(root, fast),
        "status" => status(root),
        "down" => down(root),
        other => bail!("unknown lab action {other:?}: use up [--fast], status or down"),
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn require_root() -> Result<()> {
    if !is_root() {
        bail!("the lab builds network namespaces: run it as root (sudo -E cargo xtask lab)");
    }
    Ok(())
}

/// Runs a command with a time bound, failing with its stderr.
fn sh(program: &str, args: &[&str]) -> Result<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{program} {}` did not finish in 30 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> Result<String> {
    sh("ip", args)
}

fn in_ns(ns: &str, program: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    sh("ip", &all)
}

fn namespaces() -> Result<Vec<String>> {
    Ok(ip(&["netns", "list"])?
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("nlab-"))
        .map(str::to_owned)
        .collect())
}

fn up(root: &Path, fast: bool) -> Result<()> {
    require_root()?;
    if !namespaces()?.is_empty() {
        bail!("the lab is already up: `cargo xtask lab status`, or `cargo xtask lab down` first");
    }
    crate::run(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "nestor-dhcp4",
            "-p",
            "nestor-ctrl-agent",
            "-p",
            "nestorctl",
            "-p",
            "nestor-leases",
            "--bins",
        ],
    )?;
    let result = walkthrough(root, fast);
    if result.is_err() {
        eprintln!("the lab failed; its files are in {}", state_dir().display());
    }
    result
}

fn walkthrough(root: &Path, fast: bool) -> Result<()> {
    let bin = root.join("target/release");
    build_segment()?;
    for host in &SERVERS {
        write_host_files(root, &bin, host, fast)?;
    }
    let (primary, standby) = (&SERVERS[0], &SERVERS[1]);
    let deadline = if fast { 30 } else { 90 };

    println!("\n== {}: nestorctl start (the primary, alone)", primary.ns);
    nestorctl(&bin, primary, "start")?;
    wait_for_agent(primary)?;
    heartbeat(primary, primary)?;
    wait_for_state(primary, "partner-down", deadline)?;

    println!("\n== {}: nestorctl start (the standby)", standby.ns);
    nestorctl(&bin, standby, "start")?;
    wait_for_agent(standby)?;
    wait_for_state(standby, "hot-standby", deadline)?;
    wait_for_state(primary, "hot-standby", deadline)?;

    println!("\n== {CLIENT_NS}: udhcpc asks for a lease (broadcast on the segment)");
    let script = state_dir().join("udhcpc.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n# udhcpc event script: configure the address and say what was leased.\n\
         [ \"$1\" = bound ] || [ \"$1\" = renew ] || exit 0\n\
         ip addr flush dev \"$interface\"\n\
         ip addr add \"$ip/$mask\" dev \"$interface\"\n\
         echo \"lease: $ip/$mask router $router dns $dns lease-time $lease server $serverid\"\n",
    )?;
    set_executable(&script)?;
    let out = in_ns(
        CLIENT_NS,
        "udhcpc",
        &[
            "-i",
            "eth0",
            "-n",
            "-q",
            "-f",
            "-t",
            "5",
            "-T",
            "2",
            "-s",
            &script.to_string_lossy(),
        ],
    )
    .context("udhcpc got no lease")?;
    print!("{out}");

    println!("\n== the standby's lease store (lease4-update from the primary before its ACK)");
    let all = post(
        standby,
        r#"{ "command": "lease4-get-all", "service": [ "dhcp4" ] }"#,
    )?;
    println!("{all}");
    if !all.contains("\"ip-address\"") {
        bail!("the standby holds no lease");
    }
    println!(
        "\nThe lab is up: nestor_1 (primary) {p}, nestor_2 (standby) {s}, client {CLIENT_NS}. Try:\n  \
         ip netns exec {pns} curl -sS -X POST -H \"Content-Type: application/json\" \
         -d '{{ \"command\": \"ha-heartbeat\", \"service\": [ \"dhcp4\" ] }}' http://{s}:8080/\n  \
         cargo xtask lab status\n  cargo xtask lab down",
        p = primary.addr,
        s = standby.addr,
        pns = primary.ns,
    );
    Ok(())
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// A bridge in its own namespace and one veth per host; servers get their addresses.
fn build_segment() -> Result<()> {
    let hosts: Vec<(&str, Option<&str>)> = SERVERS
        .iter()
        .map(|h| (h.ns, Some(h.addr)))
        .chain([(CLIENT_NS, None)])
        .collect();
    ip(&["netns", "add", BRIDGE_NS])?;
    ip(&["-n", BRIDGE_NS, "link", "set", "lo", "up"])?;
    ip(&["-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge"])?;
    ip(&["-n", BRIDGE_NS, "link", "set", "br0", "up"])?;
    for (n, (ns, addr)) in hosts.into_iter().enumerate() {
        let port = format!("p{n}");
        ip(&["netns", "add", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&[
            "-n", BRIDGE_NS, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            ns,
        ])?;
        ip(&["-n", BRIDGE_NS, "link", "set", &port, "master", "br0", "up"])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        if let Some(addr) = addr {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/16"),
                "dev",
                "eth0",
            ])?;
        }
    }
    Ok(())
}

/// The node's deploy/seed files with their system paths moved into the lab's directory.
fn write_host_files(root: &Path, bin: &Path, host: &Host, fast: bool) -> Result<()> {
    let dir = host_dir(host);
    std::fs::create_dir_all(&dir)?;
    let d = dir.display().to_string();
    let relocate = |text: String| {
        text.replace("/run/nestor/", &format!("{d}/"))
            .replace("/var/lib/nestor/", &format!("{d}/"))
            .replace("/var/log/nestor/", &format!("{d}/"))
    };
    let seed = root.join("deploy/seed").join(host.node);
    let mut dhcp4 = relocate(std::fs::read_to_string(seed.join("nestor-dhcp4.json"))?);
    if fast {
        dhcp4 = dhcp4
            .replace("\"heartbeat-delay\": 10000", "\"heartbeat-delay\": 1000")
            .replace(
                "\"max-response-delay\": 10000",
                "\"max-response-delay\": 3000",
            )
            .replace("\"max-ack-delay\": 5000", "\"max-ack-delay\": 1000");
    }
    std::fs::write(dir.join("nestor-dhcp4.json"), dhcp4)?;
    let agent = relocate(std::fs::read_to_string(
        seed.join("nestor-ctrl-agent.json"),
    )?);
    std::fs::write(dir.join("nestor-ctrl-agent.json"), agent)?;
    std::fs::write(
        dir.join("nestorctl.conf"),
        format!(
            "# nestorctl.conf of the lab's {node}\n\
             dhcp4_srv={bin}/nestor-dhcp4\n\
             ctrl_agent_srv={bin}/nestor-ctrl-agent\n\
             kea_dhcp4_config_file={d}/nestor-dhcp4.json\n\
             kea_ctrl_agent_config_file={d}/nestor-ctrl-agent.json\n\
             dhcp4=yes\n\
             ctrl_agent=yes\n\
             log_dir={d}\n",
            node = host.node,
            bin = bin.display(),
        ),
    )?;
    Ok(())
}

fn nestorctl(bin: &Path, host: &Host, action: &str) -> Result<()> {
    let dir = host_dir(host);
    let out = in_ns(
        host.ns,
        "env",
        &[
            &format!("KEA_PIDFILE_DIR={}", dir.display()),
            &bin.join("nestorctl").to_string_lossy(),
            action,
            "-c",
            &dir.join("nestorctl.conf").to_string_lossy(),
        ],
    )?;
    println!("{}", out.trim_end());
    Ok(())
}

/// The walkthrough's curl, from the host itself to its agent.
fn post(host: &Host, body: &str) -> Result<String> {
    post_from(host, host, body)
}

/// The walkthrough's curl, from `from`'s namespace to `target`'s agent.
fn post_from(from: &Host, target: &Host, body: &str) -> Result<String> {
    in_ns(
        from.ns,
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            &format!("http://{}:8080/", target.addr),
        ],
    )
}

const HEARTBEAT: &str = r#"{ "command": "ha-heartbeat", "service": [ "dhcp4" ] }"#;

/// The `state` of an `ha-heartbeat` answer ("?" when there is none).
fn state_of(answer: &str) -> String {
    answer
        .split("\"state\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("?")
        .to_owned()
}

fn wait_for_agent(host: &Host) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while post(host, r#"{ "command": "version-get" }"#).is_err() {
        if Instant::now() > deadline {
            bail!("the agent on {} did not answer in 10 s", host.addr);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Prints the `ha-heartbeat` answer of `target` as seen from `from`.
fn heartbeat(from: &Host, target: &Host) -> Result<()> {
    let answer = post_from(from, target, HEARTBEAT)?;
    println!("ha-heartbeat {}: {}", target.addr, answer.trim());
    Ok(())
}

/// Polls `ha-heartbeat` until `host` reports `state`, printing each change, bounded.
fn wait_for_state(host: &Host, state: &str, seconds: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut last = String::new();
    loop {
        let now = state_of(&post(host, HEARTBEAT).unwrap_or_default());
        if now != last {
            println!("{} ({}): {now}", host.addr, host.node);
            last = now;
        }
        if last == state {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not reach {state} within {seconds} s (last: {last})",
                host.addr
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn status(root: &Path) -> Result<()> {
    require_root()?;
    let up = namespaces()?;
    if up.is_empty() {
        println!("the lab is down");
        return Ok(());
    }
    println!("namespaces: {}", up.join(", "));
    let bin = root.join("target/release");
    for host in &SERVERS {
        if up.iter().any(|n| n == host.ns) && host_dir(host).join("nestorctl.conf").exists() {
            println!("\n== {} ({})", host.ns, host.node);
            nestorctl(&bin, host, "status")?;
            let _ = heartbeat(host, host);
        }
    }
    Ok(())
}

/// Stops the daemons, then any process left in a lab namespace (they can only be the lab's),
/// then deletes the namespaces and the state directory. Safe to run twice.
fn down(root: &Path) -> Result<()> {
    require_root()?;
    let up = namespaces()?;
    let bin = root.join("target/release");
    for host in &SERVERS {
        let running = up.iter().any(|n| n == host.ns);
        if running
            && host_dir(host).join("nestorctl.conf").exists()
            && let Err(err) = nestorctl(&bin, host, "stop")
        {
            eprintln!("nestorctl stop on {}: {err:#}", host.ns);
        }
    }
    for ns in up {
        for pid in ip(&["netns", "pids", &ns]).unwrap_or_default().lines() {
            let _ = sh("kill", &["-TERM", pid.trim()]);
        }
        ip(&["netns", "del", &ns])?;
        println!("deleted namespace {ns}");
    }
    let dir = state_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}
