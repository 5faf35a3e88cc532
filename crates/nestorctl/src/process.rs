//! PID files and liveness, as Kea 2.2 names and writes them (reference 3.5, 7).
//!
//! A daemon started with `-c /etc/kea/kea-dhcp4.conf` writes its PID to
//! `${KEA_PIDFILE_DIR:-/run/kea}/kea-dhcp4.<binary name>.pid` and removes it on a clean exit.
//! (nestor-dhcp4 reads `NESTOR_PIDFILE_DIR` before `KEA_PIDFILE_DIR`; nestorctl looks where
//! the configured binary writes, see [`crate::Environment::pidfile_dir_for`].)
//! keactrl calls a daemon running when that file holds a PID and `ps -p PID` finds a process.
//! After a crash or a reboot the PID can belong to an unrelated process; nestorctl therefore also
//! requires that process to be the daemon's binary (`/proc/PID/exe`, or `/proc/PID/comm` when
//! the link cannot be read), and does not count zombies.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where Kea writes PID files when `KEA_PIDFILE_DIR` is unset (Debian's `runstatedir`/kea).
pub const DEFAULT_PIDFILE_DIR: &str = "/run/kea";

/// How often bounded waits look again.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Linux truncates `comm` to 15 bytes.
const COMM_LEN: usize = 15;

/// `<dir>/<config basename without its last extension>.<binary name>.pid`.
pub fn pid_file_path(dir: &Path, config_file: &Path, binary_name: &str) -> PathBuf {
    let stem = config_file
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    dir.join(format!("{stem}.{binary_name}.pid"))
}

/// What the PID file of a daemon says, checked against the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// The file names a live process running the daemon's binary.
    Running { pid: i32 },
    /// No PID file.
    NoPidFile,
    /// A PID file that does not describe a running daemon.
    Stale { reason: String },
}

impl RunState {
    pub fn pid(&self) -> Option<i32> {
        match self {
            RunState::Running { pid } => Some(*pid),
            _ => None,
        }
    }
}

/// Reads `pid_file` and checks the process it names against `binary`.
pub fn probe(pid_file: &Path, binary: &Path) -> RunState {
    let text = match std::fs::read_to_string(pid_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return RunState::NoPidFile,
        Err(e) => {
            return RunState::Stale {
                reason: format!("cannot read it: {e}"),
            };
        }
    };
    let Some(pid) = text.trim().parse::<i32>().ok().filter(|p| *p > 0) else {
        return RunState::Stale {
            reason: format!("it holds no PID: {:?}", text.trim()),
        };
    };
    match identify(pid, binary) {
        Ok(()) => RunState::Running { pid },
        Err(reason) => RunState::Stale { reason },
    }
}

/// Whether `pid` is a live (not zombie) process running `binary`; else why not.
pub fn identify(pid: i32, binary: &Path) -> Result<(), String> {
    match kill(Pid::from_raw(pid), None) {
        // EPERM: it exists but belongs to someone else; the /proc checks below still apply.
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return Err(format!("PID {pid} is not running")),
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !Path::new("/proc/self").exists() {
        // No procfs: keactrl's test is all there is.
        return Ok(());
    }
    if let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) {
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, Some('Z' | 'X')) {
            return Err(format!("PID {pid} has exited (zombie)"));
        }
    }
    let names = binary_names(binary);
    if let Ok(exe) = std::fs::read_link(proc_dir.join("exe")) {
        let exe = exe.to_string_lossy();
        // A binary replaced on disk (a rebuild, a package upgrade) keeps running as "(deleted)".
        let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
        let name = Path::new(exe)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return if names.contains(&name) {
            Ok(())
        } else {
            Err(format!("PID {pid} is another program ({exe})"))
        };
    }
    let comm = std::fs::read_to_string(proc_dir.join("comm"))
        .map_err(|_| format!("PID {pid} is not running"))?;
    let comm = comm.trim_end_matches('\n');
    if names.iter().any(|n| truncate(n, COMM_LEN) == comm) {
        Ok(())
    } else {
        Err(format!("PID {pid} is another program ({comm})"))
    }
}

/// The file names a process running `binary` can show: the configured one and, through
/// symlinks, the real one.
fn binary_names(binary: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let resolved = std::fs::canonicalize(binary).ok();
    for p in std::iter::once(binary).chain(resolved.as_deref()) {
        if let Some(n) = p.file_name() {
            let n = n.to_string_lossy().into_owned();
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or(s)
}

/// Sends `signal` to `pid`.
pub fn signal(pid: i32, signal: Signal) -> Result<(), Errno> {
    kill(Pid::from_raw(pid), signal)
}

/// A program run to completion under a time limit.
#[derive(Debug)]
pub struct Finished {
    /// `None`: killed at the time limit.
    pub status: Option<ExitStatus>,
    /// stdout then stderr, lossily decoded.
    pub output: String,
}

/// Runs `command` with captured output; kills it (by its PID, it is our child) after `timeout`.
pub fn run_bounded(command: &mut Command, timeout: Duration) -> std::io::Result<Finished> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Readers on threads so that a chatty program cannot block on a full pipe while we wait.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(POLL.min(Duration::from_millis(10)));
    };
    let mut output = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    output.push_str(&String::from_utf8_lossy(&err.join().unwrap_or_default()));
    Ok(Finished { status, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_name_follows_kea() {
        let p = pid_file_path(
            Path::new("/run/kea"),
            Path::new("/etc/kea/kea-dhcp4.conf"),
            "nestor-dhcp4",
        );
        assert_eq!(p, Path::new("/run/kea/kea-dhcp4.nestor-dhcp4.pid"));
        // Only the last extension goes.
        let p = pid_file_path(Path::new("/d"), Path::new("a.b.json"), "kea-dhcp4");
        assert_eq!(p, Path::new("/d/a.b.kea-dhcp4.pid"));
    }

    #[test]
    fn probe_tells_live_from_stale() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.pid");
        let me = std::env::current_exe().unwrap();
        assert_eq!(probe(&file, &me), RunState::NoPidFile);

        std::fs::write(&file, format!("{}\n", std::process::id())).unwrap();
        let pid = i32::try_from(std::process::id()).unwrap();
        assert_eq!(probe(&file, &me), RunState::Running { pid });
        // The same live PID, but the conf names another binary: a recycled PID.
        let RunState::Stale { reason } = probe(&file, Path::new("/usr/sbin/nestor-dhcp4")) else {
            panic!("not stale");
        };
        assert!(reason.contains("another program"), "{reason}");

        std::fs::write(&file, "garbage").unwrap();
        assert!(matches!(probe(&file, &me), RunState::Stale { .. }));
    }

    #[test]
    fn exited_child_is_not_running() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        // Unreaped: a zombie, which kill(pid, 0) alone would call alive.
        thread::sleep(Duration::from_millis(200));
        let err = identify(pid, Path::new("/usr/bin/true")).unwrap_err();
        assert!(err.contains(&pid.to_string()), "{err}");
        child.wait().unwrap();
        assert!(identify(pid, Path::new("/usr/bin/true")).is_err());
    }

    #[test]
    fn bounded_run_collects_output_and_kills_at_the_limit() {
        let f = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(f.status.and_then(|s| s.code()), Some(3));
        assert_eq!(f.output, "out\nerr\n");
        let started = Instant::now();
        let f = run_bounded(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap();
        assert!(f.status.is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
