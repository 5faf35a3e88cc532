//! A clean directory per test: daemon configs, a `nestorctl.conf`, PID and lock files
//! (`KEA_PIDFILE_DIR` / `KEA_LOCKFILE_DIR` set on the nestorctl child only), and a guard that
//! stops, by PID, every daemon nestorctl started, also when the test fails.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

use nestor_test_support::{Signal, run_bounded, wait_until};
use serde_json::Value;

/// nestorctl's own waits are bounded by seconds; a whole command far less than this.
const NESTORCTL_TIMEOUT: Duration = Duration::from_secs(90);

pub(crate) struct Lab {
    pub(crate) dir: tempfile::TempDir,
    /// Every daemon PID seen (from nestorctl's "started, PID n" lines and from PID files),
    /// with its binary, to stop at the end.
    started: Mutex<Vec<(i32, PathBuf)>>,
}

pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Lab {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("nestorctl-test-")
            .tempdir()
            .unwrap();
        Self {
            dir,
            started: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub(crate) fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string_pretty(value).unwrap())
    }

    /// `nestorctl <args>` with this lab's PID/lock directory.
    pub(crate) fn nestorctl(&self, args: &[&str]) -> Run {
        self.nestorctl_with(args, |_| {})
    }

    pub(crate) fn nestorctl_with(&self, args: &[&str], tweak: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nestorctl"));
        cmd.args(args)
            .env("KEA_PIDFILE_DIR", self.dir.path())
            .env("KEA_LOCKFILE_DIR", self.dir.path())
            .env_remove("NESTORCTL_CONF")
            .env_remove("NESTOR_PIDFILE_DIR")
            .current_dir(self.dir.path());
        tweak(&mut cmd);
        let Output {
            status,
            stdout,
            stderr,
        } = run_bounded(&mut cmd, NESTORCTL_TIMEOUT).unwrap();
        let run = Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        };
        self.remember(&run);
        run
    }

    /// Records PIDs nestorctl reported, so that the guard stops them even if no PID file names
    /// them any more.
    fn remember(&self, run: &Run) {
        let mut started = self.started.lock().unwrap();
        for line in run.stdout.lines() {
            let Some(rest) = line.strip_prefix("INFO/nestorctl: ") else {
                continue;
            };
            if let Some((name, pid)) = rest.split_once(" started, PID ")
                && let Ok(pid) = pid.trim_end_matches('.').parse::<i32>()
            {
                started.push((pid, PathBuf::from(name)));
            }
        }
    }

    /// The PID in `<stem>.<binary>.pid`, if the file exists.
    pub(crate) fn pid(&self, config_stem: &str, binary: &str) -> Option<i32> {
        std::fs::read_to_string(self.pid_file(config_stem, binary))
            .ok()
            .and_then(|t| t.trim().parse().ok())
    }

    pub(crate) fn pid_file(&self, config_stem: &str, binary: &str) -> PathBuf {
        self.path(&format!("{config_stem}.{binary}.pid"))
    }
}

/// Whether `pid` is a live process running a binary named `name`.
pub(crate) fn alive_as(pid: i32, name: &str) -> bool {
    nestorctl::process::identify(pid, Path::new(name)).is_ok()
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut victims: Vec<(i32, PathBuf)> =
            self.started.lock().map(|v| v.clone()).unwrap_or_default();
        // Anything a PID file names (a daemon started by a nestorctl run that failed midway).
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".pid") else {
                    continue;
                };
                let Some((_, binary)) = stem.rsplit_once('.') else {
                    continue;
                };
                if let Some(pid) = std::fs::read_to_string(e.path())
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok())
                {
                    victims.push((pid, PathBuf::from(binary)));
                }
            }
        }
        for (pid, binary) in &victims {
            // Only a process that is still that daemon: never a recycled PID.
            if nestorctl::process::identify(*pid, binary).is_ok() {
                let _ = nestorctl::process::signal(*pid, Signal::SIGTERM);
            }
        }
        for (pid, binary) in &victims {
            let gone = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
                nestorctl::process::identify(*pid, binary).is_err()
            });
            if !gone {
                let _ = nestorctl::process::signal(*pid, Signal::SIGKILL);
            }
        }
    }
}

/// A `-t`-clean `Dhcp4` config in `lab`, with a control socket and a
/// lease file inside the lab and the given `valid-lifetime` (what `reload` tests change).
pub(crate) fn dhcp4_config(lab: &Lab, valid_lifetime: u32) -> Value {
    serde_json::json!({
        "Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {
                "type": "memfile",
                "name": lab.path("leases4.csv"),
                "lfc-interval": 0
            },
            "control-socket": {"socket-type": "unix", "socket-name": lab.path("d4.sock")},
            "valid-lifetime": valid_lifetime,
            "loggers": [{
                "name": "kea-dhcp4",
                "severity": "INFO",
                "output_options": [{"output": lab.path("dhcp4.log")}]
            }]
        }
    })
}
