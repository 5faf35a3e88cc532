//! Lease File Cleanup: the compaction `kea-lfc` performs (reference 5.4), as a library function so
//! that `nestor-lfc` is a thin wrapper around [`run`].
//!
//! Steps, crash-safe because the server's load order prefers `.completed` over `.2` + `.1`:
//! 1. refuse to run if the PID file names a live process, else write our PID;
//! 2. unless `.completed` exists: replay `.2` then `.1`, write every surviving lease (expired ones
//!    included: LFC never drops a lease whose lifetime is not 0) to `.output`, fsync it, rename it
//!    to `.completed`;
//! 3. rotate: delete `.2`, delete `.1`, rename `.completed` to `.2`;
//! 4. remove the PID file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::load::{FileReport, LoadError, live_pid, read_lease_file};
use crate::csv::{HEADER, encode_row};
use crate::lease::Lease4;

/// The files of one cleanup run, as `kea-lfc -x -i -o -f -p` name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfcPaths {
    /// `-x`: the previous cleanup's output, `<name>.2`.
    pub previous: PathBuf,
    /// `-i`: the rotated lease file, `<name>.1`.
    pub input: PathBuf,
    /// `-o`: the output being written, `<name>.output`.
    pub output: PathBuf,
    /// `-f`: the finished output, `<name>.completed`.
    pub finish: PathBuf,
    /// `-p`: the PID file, `<name>.pid`.
    pub pid: PathBuf,
}

impl LfcPaths {
    /// The paths Kea derives from the lease file name.
    pub fn for_lease_file(name: &Path) -> Self {
        let files = super::LeaseFiles::new(name);
        LfcPaths {
            previous: files.previous(),
            input: files.input(),
            output: files.output(),
            finish: files.finish(),
            pid: files.pid(),
        }
    }
}

/// Why a cleanup failed.
#[derive(Debug, Error)]
pub enum LfcError {
    /// Another cleanup is running.
    #[error("lease file cleanup already running (pid {pid})")]
    AlreadyRunning {
        /// Its PID.
        pid: u32,
    },
    /// An input file could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// What a cleanup did.
#[derive(Debug, Clone, Default)]
pub struct LfcReport {
    /// Reports of the files replayed (empty when a `.completed` from an interrupted run was
    /// finished instead).
    pub inputs: Vec<FileReport>,
    /// Leases written to the new `.2`.
    pub leases_written: u64,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LfcError {
    let path = path.to_owned();
    move |source| LfcError::Io {
        action,
        path,
        source,
    }
}

fn remove_if_exists(path: &Path) -> Result<(), LfcError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("cannot remove", path)(e)),
        _ => Ok(()),
    }
}

/// Removes the PID file when the run ends, whatever the outcome.
struct PidGuard<'a>(&'a Path);

impl Drop for PidGuard<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

/// Runs one cleanup. `max_row_errors` applies per input file (kea-lfc uses 100).
pub fn run(paths: &LfcPaths, max_row_errors: u32) -> Result<LfcReport, LfcError> {
    if let Some(pid) = live_pid(&paths.pid) {
        return Err(LfcError::AlreadyRunning { pid });
    }
    std::fs::write(&paths.pid, format!("{}\n", std::process::id()))
        .map_err(io_error("cannot write", &paths.pid))?;
    let _guard = PidGuard(&paths.pid);

    let mut report = LfcReport::default();
    if !paths.finish.exists() {
        // Ordered by address: the output is sorted, which Kea's own output (its address index
        // order) also is.
        let mut leases: BTreeMap<u32, Lease4> = BTreeMap::new();
        for input in [&paths.previous, &paths.input] {
            if !input.exists() {
                continue;
            }
            let file_report = read_lease_file(input, max_row_errors, &mut |lease: Lease4| {
                let key = u32::from(lease.address);
                if lease.valid_lifetime == 0 {
                    leases.remove(&key);
                } else {
                    leases.insert(key, lease);
                }
            })?;
            report.inputs.push(file_report);
        }
        report.leases_written = write_lease_file(&paths.output, leases.values())?;
        std::fs::rename(&paths.output, &paths.finish)
            .map_err(io_error("cannot rename", &paths.output))?;
    }
    remove_if_exists(&paths.previous)?;
    remove_if_exists(&paths.input)?;
    std::fs::rename(&paths.finish, &paths.previous)
        .map_err(io_error("cannot rename", &paths.finish))?;
    Ok(report)
}

/// Writes a complete lease file (header and one row per lease) and fsyncs it. Leases that Kea
/// would refuse to write (no client identity, not declined) are skipped; the count written is
/// returned.
pub fn write_lease_file<'a>(
    path: &Path,
    leases: impl IntoIterator<Item = &'a Lease4>,
) -> Result<u64, LfcError> {
    let file = File::create(path).map_err(io_error("cannot create", path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut row = String::with_capacity(256);
    let mut written = 0;
    out.write_all(HEADER.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(io_error("cannot write", path))?;
    for lease in leases {
        row.clear();
        if encode_row(lease, &mut row).is_ok() {
            out.write_all(row.as_bytes())
                .map_err(io_error("cannot write", path))?;
            written += 1;
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| io_error("cannot write", path)(e.into_error()))?;
    file.sync_all().map_err(io_error("cannot sync", path))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(addr: &str, valid: u32, expire: u64) -> String {
        format!("{addr},01:02:03:04:05:06,,{valid},{expire},1,0,0,,0,\n")
    }

    #[test]
    fn compacts_previous_and_input_then_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let paths = LfcPaths::for_lease_file(&dir.path().join("leases4.csv"));
        let previous = format!(
            "{HEADER}\n{}{}",
            row("10.0.0.1", 100, 1100),
            row("10.0.0.2", 100, 1100)
        );
        let input = format!(
            "{HEADER}\n{}{}{}bad row\n",
            row("10.0.0.1", 0, 1000),
            row("10.0.0.2", 200, 5000),
            row("10.0.0.3", 50, 60)
        );
        std::fs::write(&paths.previous, previous).unwrap();
        std::fs::write(&paths.input, input).unwrap();
        let report = run(&paths, 100).unwrap();
        assert_eq!(report.leases_written, 2);
        assert_eq!(report.inputs[1].error_count, 1);
        let out = std::fs::read_to_string(&paths.previous).unwrap();
        assert_eq!(
            out,
            format!(
                "{HEADER}\n{}{}",
                row("10.0.0.2", 200, 5000),
                row("10.0.0.3", 50, 60)
            )
        );
        for gone in [&paths.input, &paths.output, &paths.finish, &paths.pid] {
            assert!(!gone.exists(), "{} should be gone", gone.display());
        }
    }

    #[test]
    fn finishes_an_interrupted_run_and_refuses_a_concurrent_one() {
        let dir = tempfile::tempdir().unwrap();
        let paths = LfcPaths::for_lease_file(&dir.path().join("leases4.csv"));
        let completed = format!("{HEADER}\n{}", row("10.0.0.9", 100, 1100));
        std::fs::write(&paths.finish, &completed).unwrap();
        std::fs::write(
            &paths.input,
            format!("{HEADER}\n{}", row("10.0.0.1", 100, 1100)),
        )
        .unwrap();
        let report = run(&paths, 100).unwrap();
        assert!(report.inputs.is_empty());
        assert_eq!(std::fs::read_to_string(&paths.previous).unwrap(), completed);
        assert!(!paths.input.exists());

        std::fs::write(&paths.pid, format!("{}\n", std::process::id())).unwrap();
        assert!(matches!(
            run(&paths, 100),
            Err(LfcError::AlreadyRunning { .. })
        ));
    }
}
