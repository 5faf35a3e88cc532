//! Network namespaces for end-to-end tests (root only): hosts with their own interfaces,
//! addresses and routing, joined by L2 segments, with nothing visible outside them.
//!
//! * [`Netns`]: one namespace `nestor-<prefix>-<pid>-<n>`, loopback up. Dropping it stops every
//!   process still inside (they can only be ours) and deletes it, which destroys its veths.
//! * [`Segment`]: an L2 segment, i.e. a bridge `br0` in a namespace of its own; hosts are attached
//!   by a veth pair, with an address from 198.18.0.0/15 (RFC 2544's benchmarking range, the only
//!   one the project's tests may use) or none (for DHCP clients).
//!
//! Interface names are limited to 15 bytes (`IFNAMSIZ`); namespace names are not (they are file
//! names under `/run/netns`). Each veth end is created directly inside its namespace, so the short
//! names (`eth0`, `p1`) only have to be unique there and never clash with the host's interfaces.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::policy::find_tool;
use crate::process::{ChildGuard, Signal, run_bounded, wait_until};

/// The default bound of [`Netns::exec`] and of every `ip` call.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// How long processes left in a namespace get between SIGTERM and SIGKILL when it is dropped.
const DROP_GRACE: Duration = Duration::from_secs(3);

/// The bridge of a [`Segment`].
const BRIDGE: &str = "br0";

/// Every namespace of this process gets a new number.
static NEXT_NS: AtomicU32 = AtomicU32::new(0);

pub(crate) fn ip_binary() -> Result<PathBuf> {
    find_tool("ip").ok_or_else(|| HarnessError::ToolMissing {
        tool: "ip".into(),
        package: "iproute2".into(),
    })
}

/// A network namespace of this test process, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    ip: PathBuf,
    /// Next `ethN` index for [`Segment::attach`].
    next_if: AtomicU32,
}

impl Netns {
    /// Creates `nestor-<prefix>-<pid>-<n>` with its loopback up. `prefix`: 1 to 20 of
    /// `[a-z0-9-]`.
    pub fn new(prefix: &str) -> Result<Self> {
        let valid = (1..=20).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(HarnessError::invalid(format!(
                "namespace prefix {prefix:?}: use 1 to 20 of [a-z0-9-]"
            )));
        }
        let ip = ip_binary()?;
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            if let Err(err) = remove_stale_namespaces() {
                eprintln!("nestor-test-support: removing stale namespaces: {err}");
            }
        });
        let name = format!(
            "nestor-{prefix}-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::Relaxed)
        );
        run_ip(&ip, &["netns", "add", &name])?;
        // From here on, drop deletes it.
        let ns = Self {
            name,
            ip,
            next_if: AtomicU32::new(0),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (`ip netns exec <name> ...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NAME program`); add
    /// arguments and stdio to it as to any [`Command`]. `ip netns exec` execs the program, so the
    /// spawned PID is the program's.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(&self.ip);
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs `command` (program, arguments, environment and working directory; not its stdio)
    /// inside the namespace to completion, output captured, bounded by [`EXEC_TIMEOUT`].
    pub fn exec(&self, command: &Command) -> Result<Output> {
        self.exec_timeout(command, EXEC_TIMEOUT)
    }

    /// [`Netns::exec`] with another bound.
    pub fn exec_timeout(&self, command: &Command, timeout: Duration) -> Result<Output> {
        run_bounded(&mut self.wrap(command), timeout)
    }

    /// Starts `command` inside the namespace (stdin, stdout and stderr to `/dev/null`; for other
    /// stdio build it with [`Netns::command`] and spawn it with [`ChildGuard::spawn`]). The guard
    /// stops it by PID; dropping the namespace does too.
    pub fn spawn(&self, command: &Command) -> Result<ChildGuard> {
        let mut wrapped = self.wrap(command);
        wrapped
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        ChildGuard::spawn(&mut wrapped)
    }

    /// Runs `ip -n NAME ARGS...` and returns its stdout; a failure is an error with ip's stderr.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ip(&self.ip, &full)
    }

    /// The PIDs of the processes inside the namespace.
    pub fn pids(&self) -> Result<Vec<u32>> {
        Ok(run_ip(&self.ip, &["netns", "pids", &self.name])?
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect())
    }

    fn wrap(&self, command: &Command) -> Command {
        let mut wrapped = self.command(command.get_program());
        wrapped.args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    fn next_interface(&self) -> String {
        format!("eth{}", self.next_if.fetch_add(1, Ordering::Relaxed))
    }

    /// Stops what still runs inside: only this test can have started it.
    fn stop_processes(&self) -> Result<()> {
        let signal_all = |signal| -> Result<bool> {
            let pids = self.pids()?;
            for pid in &pids {
                if let Ok(pid) = i32::try_from(*pid) {
                    // Gone in between is fine.
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
                }
            }
            Ok(!pids.is_empty())
        };
        if signal_all(Signal::SIGTERM)? {
            let gone = wait_until(DROP_GRACE, Duration::from_millis(50), || {
                self.pids().is_ok_and(|p| p.is_empty())
            });
            if !gone {
                signal_all(Signal::SIGKILL)?;
            }
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(err) = self.stop_processes() {
            eprintln!(
                "nestor-test-support: stopping processes in {}: {err}",
                self.name
            );
        }
        if let Err(err) = run_ip(&self.ip, &["netns", "del", &self.name]) {
            eprintln!("nestor-test-support: {err}");
        }
    }
}

/// Deletes the namespaces named `nestor-<prefix>-<pid>-<n>` whose test process `<pid>` is gone
/// (it was killed before its guards could run) and returns their names. Processes still inside
/// are left alone; deleting the name only unmounts it. Runs once, by the first [`Netns::new`] of
/// a process.
pub fn remove_stale_namespaces() -> Result<Vec<String>> {
    let ip = ip_binary()?;
    let mut removed = Vec::new();
    for line in run_ip(&ip, &["netns", "list"])?.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if let Some(pid) = creator_pid(name)
            && pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            run_ip(&ip, &["netns", "del", name])?;
            removed.push(name.to_owned());
        }
    }
    Ok(removed)
}

/// The `<pid>` of a name made by [`Netns::new`].
fn creator_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("nestor-")?;
    let mut parts = rest.rsplitn(3, '-');
    let n = parts.next()?;
    let pid = parts.next()?;
    let prefix = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(n) && !prefix.is_empty()).then(|| pid.parse().ok())?
}

/// An L2 segment: a bridge in a namespace of its own, deleted (with every veth attached to it)
/// on drop.
#[derive(Debug)]
pub struct Segment {
    ns: Netns,
    next_port: AtomicU32,
}

impl Segment {
    /// Creates the segment's namespace (`nestor-<prefix>-...`) and its bridge.
    pub fn new(prefix: &str) -> Result<Self> {
        let ns = Netns::new(prefix)?;
        ns.ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ns.ip(&["link", "set", BRIDGE, "up"])?;
        Ok(Self {
            ns,
            next_port: AtomicU32::new(0),
        })
    }

    /// The segment's own namespace (e.g. to capture on `br0` with tshark).
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// Connects `host` to the segment with a new interface carrying `cidr` (e.g.
    /// `"198.18.0.2/24"`, which must lie in 198.18.0.0/15), up; returns its name in `host`.
    pub fn attach(&self, host: &Netns, cidr: &str) -> Result<String> {
        check_benchmarking_cidr(cidr)?;
        let interface = self.attach_unnumbered(host)?;
        host.ip(&["addr", "add", cidr, "dev", &interface])?;
        Ok(interface)
    }

    /// Connects `host` with a new interface without an address (a DHCP client's), up.
    pub fn attach_unnumbered(&self, host: &Netns) -> Result<String> {
        let port = format!("p{}", self.next_port.fetch_add(1, Ordering::Relaxed));
        let interface = host.next_interface();
        // Created in the segment's namespace, the peer directly in the host's.
        self.ns.ip(&[
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            &interface,
            "netns",
            host.name(),
        ])?;
        self.ns
            .ip(&["link", "set", &port, "master", BRIDGE, "up"])?;
        host.ip(&["link", "set", &interface, "up"])?;
        Ok(interface)
    }
}

/// Checks `a.b.c.d/len` with the address in 198.18.0.0/15.
fn check_benchmarking_cidr(cidr: &str) -> Result<()> {
    let parsed = cidr
        .split_once('/')
        .and_then(|(addr, len)| Some((addr.parse::<Ipv4Addr>().ok()?, len.parse::<u8>().ok()?)));
    match parsed {
        Some((addr, len)) if len <= 32 => {
            if u32::from(addr) & 0xfffe_0000 == u32::from(Ipv4Addr::new(198, 18, 0, 0)) {
                Ok(())
            } else {
                Err(HarnessError::invalid(format!(
                    "{cidr}: test hosts take addresses from 198.18.0.0/15 only"
                )))
            }
        }
        _ => Err(HarnessError::invalid(format!(
            "{cidr}: not an IPv4 address/prefix"
        ))),
    }
}

fn run_ip(ip: &PathBuf, args: &[&str]) -> Result<String> {
    let mut command = Command::new(ip);
    command.args(args);
    let output = run_bounded(&mut command, EXEC_TIMEOUT)?;
    if !output.status.success() {
        return Err(HarnessError::CommandFailed {
            command: format!("ip {}", args.join(" ")),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_benchmarking_addresses() {
        assert!(check_benchmarking_cidr("198.18.0.2/24").is_ok());
        assert!(check_benchmarking_cidr("198.19.255.254/15").is_ok());
        assert!(check_benchmarking_cidr("198.20.0.1/24").is_err());
        assert!(check_benchmarking_cidr("198.17.255.255/24").is_err());
        assert!(check_benchmarking_cidr("10.0.0.1/8").is_err());
        assert!(check_benchmarking_cidr("198.18.0.2/33").is_err());
        assert!(check_benchmarking_cidr("198.18.0.2").is_err());
    }

    #[test]
    fn creator_pid_of_harness_names_only() {
        assert_eq!(creator_pid("nestor-seg-1234-0"), Some(1234));
        assert_eq!(creator_pid("nestor-range-host-99-12"), Some(99));
        // scripts/captures.sh's names, and anything else, are not the harness's.
        assert_eq!(creator_pid("nestor-cap-srv"), None);
        assert_eq!(creator_pid("nestor--1-2"), None);
        assert_eq!(creator_pid("nestor-a-x1-2"), None);
        assert_eq!(creator_pid("other-a-1-2"), None);
    }

    #[test]
    fn prefix_is_validated() {
        for bad in ["", "UPPER", "a b", "this-prefix-is-far-too-long", "x/y"] {
            assert!(
                matches!(Netns::new(bad), Err(HarnessError::Invalid { .. })),
                "{bad:?}"
            );
        }
    }
}
