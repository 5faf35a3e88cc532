//! `nestorctl`: the keactrl-style supervisor of the Nestor daemons (ISC Kea 2.2 ARM, "Managing
//! Kea with keactrl"; reference section 7).
//!
//! `nestorctl start | stop | reload | status | version [-c nestorctl.conf] [-s dhcp4,ctrl_agent]`
//! reads a keactrl.conf-style file ([`conf`]), finds each daemon's PID file where Kea writes it
//! ([`process`]) and starts, signals or reports the daemons ([`commands`]), printing keactrl's
//! messages with a `nestorctl` prefix. Where keactrl is weak, nestorctl does better:
//! * a PID file whose PID was reused by another program does not count as running;
//! * `start` checks the configuration with `<binary> -t` first and refuses a broken one, then
//!   waits (bounded) for the daemon to write its PID file, reporting the exit status of a daemon
//!   that died during start-up; `reload` also checks with `-t` before sending SIGHUP (Kea keeps
//!   its old configuration on a failed reload and only logs why); `stop` waits (bounded) for the
//!   daemon to exit;
//! * a stale PID file is removed before starting (Kea refuses to start over a PID file whose PID
//!   is alive, even when another program reused it);
//! * the started daemon gets its own process group and `/dev/null` (or a log file) as stdio,
//!   instead of the terminal keactrl leaves attached;
//! * the conf file is read, not executed by a shell, and every error in it is reported.
//!
//! Everything that depends on the process environment comes in through [`Environment`], so the
//! library is tested without touching this process's environment.
//!
//! Panic policy: nothing here panics; every failure is a message and exit status 1.

pub mod cli;
pub mod commands;
pub mod conf;
pub mod daemon;
pub mod process;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// nestorctl's version (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where `nestorctl.conf` is when neither `-c` nor `$NESTORCTL_CONF` says.
pub const DEFAULT_CONF: &str = "/etc/nestor/nestorctl.conf";

/// Directories searched after `PATH` for daemon binaries: daemons live in `sbin`, which a user's
/// `PATH` often lacks.
const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// What nestorctl takes from its process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The directory of the `nestorctl` executable: default binaries are looked for there first
    /// (an installation, or `target/debug`, keeps them side by side).
    pub exe_dir: Option<PathBuf>,
    /// `PATH`.
    pub path: Option<OsString>,
    /// `${KEA_PIDFILE_DIR:-/run/kea}`.
    pub pidfile_dir: PathBuf,
    /// `$NESTOR_PIDFILE_DIR`, which the Nestor daemons prefer to `KEA_PIDFILE_DIR`.
    pub nestor_pidfile_dir: Option<PathBuf>,
    /// Variables a conf file may expand (`${HOME}` ...).
    pub vars: Vec<(String, String)>,
    /// stdout is a terminal: `status` colours `active` / `inactive` as keactrl does.
    pub color: bool,
}

impl Environment {
    /// This process's environment.
    pub fn from_process() -> Self {
        Self {
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            path: std::env::var_os("PATH"),
            pidfile_dir: std::env::var_os("KEA_PIDFILE_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(
                    || PathBuf::from(process::DEFAULT_PIDFILE_DIR),
                    PathBuf::from,
                ),
            nestor_pidfile_dir: std::env::var_os("NESTOR_PIDFILE_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            color: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        }
    }

    /// Where the daemon `binary_name` writes its PID file: a Nestor daemon (`nestor-*`) looks at
    /// `NESTOR_PIDFILE_DIR` first, Kea's only at `KEA_PIDFILE_DIR`.
    pub fn pidfile_dir_for(&self, binary_name: &str) -> &Path {
        match &self.nestor_pidfile_dir {
            Some(dir) if binary_name.starts_with("nestor-") => dir,
            _ => &self.pidfile_dir,
        }
    }

    /// An environment variable, for conf expansion.
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// A binary named in the conf: a path is taken as is, a bare name is looked up on `PATH`.
    pub fn resolve_binary(&self, name: &str) -> PathBuf {
        if name.contains('/') {
            PathBuf::from(name)
        } else {
            self.search_path(name)
                .unwrap_or_else(|| PathBuf::from(name))
        }
    }

    /// A daemon's default binary: beside `nestorctl`, else on `PATH`, else the bare name (which
    /// then fails to run with a message naming it).
    pub fn default_binary(&self, name: &str) -> PathBuf {
        self.exe_dir
            .as_ref()
            .map(|d| d.join(name))
            .filter(|p| is_executable(p))
            .or_else(|| self.search_path(name))
            .unwrap_or_else(|| PathBuf::from(name))
    }

    fn search_path(&self, name: &str) -> Option<PathBuf> {
        self.path
            .as_deref()
            .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(SBIN_DIRS.iter().map(PathBuf::from))
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    }
}

/// A regular file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
