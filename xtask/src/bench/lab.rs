//! The benchmark's lab: one L2 segment (a bridge in its own namespace) with a server host and a
//! client host, and the servers under test started in it with the same configuration, each
//! pinned to its own CPU.
//!
//! Addresses: the server is 198.18.0.1/15, the client 198.18.0.2/15, and the pool is the rest
//! of 198.18.0.0/15 from 198.18.1.0 (130 815 addresses): everything the benchmark puts on a wire
//! or in a lease stays in RFC 2544's benchmarking range. perfdhcp and the built-in generator
//! act as a relay (giaddr 198.18.0.2), so the servers answer by unicast UDP to port 67.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nestor_test_support::{ChildGuard, Netns, Segment, unix_command, wait_until};
use serde_json::{Value, json};

pub(crate) const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub(crate) const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub(crate) const SUBNET: &str = "198.18.0.0/15";
pub(crate) const POOL: &str = "198.18.1.0 - 198.19.255.254";
/// Addresses in [`POOL`].
pub(crate) const POOL_SIZE: u32 = (1 << 17) - 256 - 1;

/// Which CPU the server and the load generator run on (`taskset -c`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pinning {
    pub server_cpu: usize,
    pub generator_cpu: usize,
}

/// The servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    Nestor,
    KeaSingle,
    KeaMulti,
}

impl ServerKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            ServerKind::Nestor => "Nestor",
            ServerKind::KeaSingle => "Kea 2.2 ST",
            ServerKind::KeaMulti => "Kea 2.2 MT",
        }
    }

    fn is_kea(self) -> bool {
        self != ServerKind::Nestor
    }
}

/// Paths of the programs under test.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    pub nestor: PathBuf,
    pub kea: PathBuf,
    /// `xtask` itself, in release, for `bench-loadgen`.
    pub loadgen: PathBuf,
}

impl Binaries {
    fn of(&self, kind: ServerKind) -> &Path {
        if kind.is_kea() {
            &self.kea
        } else {
            &self.nestor
        }
    }
}

/// The configuration both servers get; only Kea's multi-threading differs between its two runs
/// (Nestor runs with its defaults). ARM 2.2 recommends 4 threads and a queue of 28 for memfile.
pub(crate) fn dora_config(kind: ServerKind, interface: &str, dir: &Path) -> Value {
    let mut dhcp4 = json!({
        "interfaces-config": {"interfaces": [interface], "dhcp-socket-type": "raw"},
        "control-socket": {"socket-type": "unix", "socket-name": dir.join("ctrl.sock")},
        "lease-database": {
            "type": "memfile", "persist": true, "name": dir.join("leases4.csv"),
            "lfc-interval": 0
        },
        // Longer than any run: every exchange allocates, nothing expires meanwhile.
        "valid-lifetime": 7200, "renew-timer": 1800, "rebind-timer": 3600,
        "subnet4": [{
            "id": 1, "subnet": SUBNET, "pools": [{"pool": POOL}],
            "option-data": [{"name": "routers", "data": SERVER_ADDR.to_string()}]
        }],
        "loggers": [{
            "name": "kea-dhcp4", "severity": "WARN",
            "output_options": [{"output": dir.join("server.log")}]
        }]
    });
    if kind.is_kea()
        && let Some(map) = dhcp4.as_object_mut()
    {
        let enabled = kind == ServerKind::KeaMulti;
        let mut mt = json!({"enable-multi-threading": enabled});
        if enabled {
            mt["thread-pool-size"] = json!(4);
            mt["packet-queue-size"] = json!(28);
        }
        map.insert("multi-threading".into(), mt);
    }
    json!({ "Dhcp4": dhcp4 })
}

/// A segment with a server host and a client host. Field order is drop order: the hosts (and
/// whatever still runs in them) go before the segment.
#[derive(Debug)]
pub(crate) struct Lab {
    pub server_ns: Netns,
    pub client_ns: Netns,
    pub server_if: String,
    pub client_if: String,
    _segment: Segment,
}

impl Lab {
    pub(crate) fn new() -> Result<Self> {
        let segment = Segment::new("bench-seg")?;
        let server_ns = Netns::new("bench-srv")?;
        let client_ns = Netns::new("bench-cli")?;
        let server_if = segment.attach(&server_ns, &format!("{SERVER_ADDR}/15"))?;
        let client_if = segment.attach(&client_ns, &format!("{CLIENT_ADDR}/15"))?;
        Ok(Self {
            server_ns,
            client_ns,
            server_if,
            client_if,
            _segment: segment,
        })
    }
}

/// A server under test, stopped by PID when dropped; its directory (config, lease file, log)
/// is deleted after it.
#[derive(Debug)]
pub(crate) struct RunningServer {
    guard: ChildGuard,
    pub socket: PathBuf,
    /// From `exec` until `status-get` was first answered.
    pub startup: Duration,
    started: Instant,
    dir: tempfile::TempDir,
}

impl RunningServer {
    /// Writes `config` into a fresh directory and starts `kind` on it inside `ns`, pinned to
    /// `cpu`; returns once the control socket answers `status-get` (bounded by `timeout`).
    pub(crate) fn start(
        ns: &Netns,
        kind: ServerKind,
        binaries: &Binaries,
        cpu: usize,
        config: impl FnOnce(&Path) -> Value,
        prepare: impl FnOnce(&Path) -> Result<()>,
        timeout: Duration,
    ) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nestor-bench-")
            .tempdir()
            .context("temporary directory")?;
        prepare(dir.path())?;
        let config = config(dir.path());
        let socket = PathBuf::from(
            config["Dhcp4"]["control-socket"]["socket-name"]
                .as_str()
                .context("config without a control socket")?,
        );
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
        let mut command = ns.command("taskset");
        command
            .args(["-c", &cpu.to_string()])
            .arg(binaries.of(kind))
            .arg("-c")
            .arg(&config_path)
            .env("KEA_PIDFILE_DIR", dir.path())
            .env("KEA_LOCKFILE_DIR", dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout.txt"))?)
            .stderr(File::create(dir.path().join("stderr.txt"))?);
        let started = Instant::now();
        let guard = ChildGuard::spawn(&mut command)?.with_grace(Duration::from_secs(10));
        let mut server = Self {
            guard,
            socket,
            startup: Duration::ZERO,
            started,
            dir,
        };
        let status = json!({"command": "status-get"});
        let mut exited = None;
        let ready = wait_until(timeout, Duration::from_millis(10), || {
            if let Ok(Some(code)) = server.guard.try_wait() {
                exited = Some(code);
                return true;
            }
            unix_command(&server.socket, &status, Duration::from_secs(2))
                .is_ok_and(|a| a["result"] == 0)
        });
        server.startup = started.elapsed();
        if let Some(code) = exited {
            bail!(
                "{} exited ({code}) at start:\n{}",
                kind.label(),
                server.log_tail()
            );
        }
        if !ready {
            bail!(
                "{} did not answer status-get within {timeout:?}:\n{}",
                kind.label(),
                server.log_tail()
            );
        }
        Ok(server)
    }

    /// Time since the server was started.
    pub(crate) fn startup_elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Sends a command on the control socket.
    pub(crate) fn command(&self, command: &Value) -> Result<Value> {
        Ok(unix_command(
            &self.socket,
            command,
            Duration::from_secs(30),
        )?)
    }

    /// CPU time (user + system, all threads) the server has used so far.
    pub(crate) fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        proc_stat_cpu(&stat).context("unreadable /proc/PID/stat")
    }

    /// Resident set size in KiB (`VmRSS` of /proc/PID/status).
    pub(crate) fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }

    /// Whether the server is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.guard.try_wait(), Ok(None))
    }

    /// The end of the server's output and log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        ["stderr.txt", "stdout.txt", "server.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines.get(lines.len().saturating_sub(15)..).unwrap_or(&[]);
                format!("--- {name}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// utime + stime (fields 14 and 15) of a /proc/PID/stat line, in clock ticks of 10 ms (Linux
/// reports USER_HZ = 100 there whatever the kernel's HZ).
fn proc_stat_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) may contain spaces and parentheses: count after the last ')'.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // After ')' the first field is field 3 (state): utime is field 14, stime 15.
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_from_proc_stat() {
        let stat = "30875 (nestor (dhcp4)) S 1 2 3 0 -1 4194560 900 0 0 0 117 74 0 0 20 0 3 0 \
                    5 6 7";
        assert_eq!(proc_stat_cpu(stat), Some(Duration::from_millis(1910)));
        assert_eq!(proc_stat_cpu("garbage"), None);
    }

    #[test]
    fn pool_is_inside_the_benchmarking_range() {
        assert_eq!(POOL_SIZE, 130_815);
        let cfg = dora_config(ServerKind::KeaMulti, "eth0", Path::new("/tmp/x"));
        let mt = &cfg["Dhcp4"]["multi-threading"];
        assert_eq!(mt["enable-multi-threading"], true);
        assert_eq!(mt["thread-pool-size"], 4);
        let cfg = dora_config(ServerKind::Nestor, "eth0", Path::new("/tmp/x"));
        assert!(cfg["Dhcp4"].get("multi-threading").is_none());
        assert_eq!(cfg["Dhcp4"]["lease-database"]["persist"], true);
    }
}
