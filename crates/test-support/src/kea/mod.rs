//! Real ISC Kea 2.2 processes for differential and interop tests.
//!
//! Every Kea started here lives in a fresh temporary directory: its configuration file, its PID
//! and lock files (`KEA_PIDFILE_DIR`, `KEA_LOCKFILE_DIR`, set on the child only), its stdout and
//! stderr, and by default its control socket and memfile lease file. The working directory of
//! the child is that directory too, so relative paths in a configuration land there. Starting
//! waits (bounded) until the server answers on its control channel; dropping the harness stops
//! the process by PID and removes the directory.

mod agent;
mod client;
mod dhcp4;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use agent::{KeaCtrlAgent, KeaCtrlAgentBuilder};
pub use client::{http_post_json, unix_command};
pub use dhcp4::{KeaConfig, KeaDhcp4, KeaDhcp4Builder, TMPDIR_PLACEHOLDER};

use crate::error::{HarnessError, Result};
use crate::policy::find_tool;
use crate::process::run_bounded;

/// How long a Kea daemon gets to answer on its control channel after it was started.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one control command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// `kea-dhcp4 -t` takes 20-50 ms; this much means it hangs.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `kea-dhcp4 -t config_path` (PID and lock files in a temporary directory) and returns
/// whether Kea accepted the file and what it printed (stdout, then stderr, trimmed).
///
/// An error means Kea could not give a verdict at all (not installed, could not run, hung), which
/// a differential test must not mistake for a rejection.
pub fn kea_check(config_path: &Path) -> Result<(bool, String)> {
    let binary = kea_binary("kea-dhcp4", "kea-dhcp4-server")?;
    let dir = scratch_dir("nestor-kea-check-")?;
    let mut command = Command::new(binary);
    command.arg("-t").arg(config_path);
    kea_env(&mut command, dir.path());
    let output = run_bounded(&mut command, CHECK_TIMEOUT)?;
    let message = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok((output.status.success(), message.trim().to_owned()))
}

fn kea_binary(name: &str, package: &str) -> Result<PathBuf> {
    find_tool(name).ok_or_else(|| HarnessError::ToolMissing {
        tool: name.to_owned(),
        package: package.to_owned(),
    })
}

fn scratch_dir(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| HarnessError::io("creating a temporary directory", e))
}

/// PID/lock files into `dir`, on this child only (`std::env::set_var` would race other tests).
fn kea_env(command: &mut Command, dir: &Path) {
    command
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_LOCKFILE_DIR", dir)
        .current_dir(dir);
}

/// Names of the files a daemon's stdout and stderr go to (files, not pipes: nobody has to drain
/// them, and they survive for the error message).
const STDOUT_FILE: &str = "stdout.log";
const STDERR_FILE: &str = "stderr.log";

fn log_to_files(command: &mut Command, dir: &Path) -> Result<()> {
    let open = |name: &str| {
        std::fs::File::create(dir.join(name))
            .map_err(|e| HarnessError::io(format!("creating {}", dir.join(name).display()), e))
    };
    command
        .stdin(Stdio::null())
        .stdout(open(STDOUT_FILE)?)
        .stderr(open(STDERR_FILE)?);
    Ok(())
}

/// The last lines of what a daemon printed, for error messages.
fn output_tail(dir: &Path) -> String {
    const LINES: usize = 40;
    let mut out = String::new();
    for name in [STDOUT_FILE, STDERR_FILE] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(LINES)..)
            .unwrap_or_default();
        if !tail.is_empty() {
            out.push_str(&format!("--- {name} ---\n{}\n", tail.join("\n")));
        }
    }
    if out.is_empty() {
        out.push_str("(nothing)");
    }
    out
}
