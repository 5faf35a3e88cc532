//! Kea's PID file (reference 3.5): `$KEA_PIDFILE_DIR` (default `/run/kea`) /
//! `<config file name without extension>.nestor-ctrl-agent.pid`. Starting refuses when the PID
//! written there belongs to a live process; the file is removed on a clean exit.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The PID file's binary name part.
pub const BINARY: &str = "nestor-ctrl-agent";

/// Why the PID file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// Another copy runs.
    #[error("DCTL_ALREADY_RUNNING nestor-ctrl-agent already running? PID {pid} in {path} is alive")]
    AlreadyRunning {
        /// The file.
        path: PathBuf,
        /// The live PID.
        pid: i32,
    },
    /// The file could not be written.
    #[error("cannot write PID file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// A written PID file, removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Where the PID file of an agent started with `config` goes, under `dir`.
    pub fn path_for(dir: &Path, config: &Path) -> PathBuf {
        let stem = config.file_stem().map_or_else(
            || "nestor-ctrl-agent".into(),
            |s| s.to_string_lossy().into_owned(),
        );
        dir.join(format!("{stem}.{BINARY}.pid"))
    }

    /// The directory from `KEA_PIDFILE_DIR`, else `/run/kea`.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("KEA_PIDFILE_DIR").map_or_else(|| PathBuf::from("/run/kea"), PathBuf::from)
    }

    /// Writes our PID to `path` unless a live process holds it.
    pub fn create(path: PathBuf) -> Result<Self, PidFileError> {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid > 0
            && pid != std::process::id() as i32
            // EPERM: the process exists but belongs to someone else.
            && matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
        {
            return Err(PidFileError::AlreadyRunning { path, pid });
        }
        std::fs::write(&path, format!("{}\n", std::process::id())).map_err(|source| {
            PidFileError::Write {
                path: path.clone(),
                source,
            }
        })?;
        Ok(Self { path })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_liveness() {
        let dir = tempfile::tempdir().unwrap();
        let path = PidFile::path_for(dir.path(), Path::new("/etc/kea/kea-ctrl-agent.conf"));
        assert_eq!(
            path,
            dir.path().join("kea-ctrl-agent.nestor-ctrl-agent.pid")
        );
        // PID 1 is always alive.
        std::fs::write(&path, "1\n").unwrap();
        assert!(matches!(
            PidFile::create(path.clone()),
            Err(PidFileError::AlreadyRunning { pid: 1, .. })
        ));
        // A stale file (no such PID) is taken over.
        std::fs::write(&path, "999999999\n").unwrap();
        let file = PidFile::create(path.clone()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(file);
        assert!(!path.exists());
    }
}
