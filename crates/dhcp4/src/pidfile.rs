//! The server's PID file, as Kea's `Daemon::createPIDFile` (reference 3.5):
//! `<dir>/<config basename without extension>.nestor-dhcp4.pid`, where `<dir>` is
//! `$NESTOR_PIDFILE_DIR`, else `$KEA_PIDFILE_DIR`, else `/run/kea` (created if missing).
//! Starting is refused while the PID written in the file names a live process; a stale file
//! is replaced. The file is removed when the [`PidFile`] drops (clean shutdown).

use std::io;
use std::path::{Path, PathBuf};

/// Kea's default PID file directory.
pub const DEFAULT_DIR: &str = "/run/kea";

/// Why the PID file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// Another server with this configuration runs.
    #[error(
        "DHCP4_ALREADY_RUNNING nestor-dhcp4 already running? PID file {path} names live process {pid}"
    )]
    AlreadyRunning {
        /// The PID file.
        path: PathBuf,
        /// Its live PID.
        pid: i32,
    },
    /// The directory or file could not be written.
    #[error("unable to create PID file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// A created PID file; removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

/// The PID file path for configuration file `config`.
pub fn path_for(config: &Path, dir: Option<&Path>) -> PathBuf {
    let dir = dir.map(Path::to_owned).unwrap_or_else(|| {
        std::env::var_os("NESTOR_PIDFILE_DIR")
            .or_else(|| std::env::var_os("KEA_PIDFILE_DIR"))
            .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from)
    });
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nestor-dhcp4".to_owned());
    dir.join(format!("{stem}.nestor-dhcp4.pid"))
}

/// Whether process `pid` exists (signal 0).
pub fn is_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

impl PidFile {
    /// Creates the PID file at `path` with this process's PID.
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        let io_err = |source| PidFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid != i32::try_from(std::process::id()).unwrap_or(0)
            && is_alive(pid)
        {
            return Err(PidFileError::AlreadyRunning {
                path: path.to_owned(),
                pid,
            });
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(io_err)?;
        Ok(PidFile {
            path: path.to_owned(),
        })
    }

    /// Where it is.
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
    fn name_follows_the_config_basename() {
        let p = path_for(
            Path::new("/etc/kea/kea-dhcp4.conf"),
            Some(Path::new("/tmp/x")),
        );
        assert_eq!(p, Path::new("/tmp/x/kea-dhcp4.nestor-dhcp4.pid"));
    }

    #[test]
    fn live_pid_refuses_stale_pid_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.nestor-dhcp4.pid");
        {
            let pf = PidFile::create(&path).unwrap();
            assert_eq!(
                std::fs::read_to_string(pf.path()).unwrap().trim(),
                std::process::id().to_string()
            );
        }
        assert!(!path.exists(), "removed on drop");
        // PID 1 is always alive.
        std::fs::write(&path, "1\n").unwrap();
        assert!(matches!(
            PidFile::create(&path),
            Err(PidFileError::AlreadyRunning { pid: 1, .. })
        ));
        // A PID that cannot exist is stale.
        std::fs::write(&path, "2147483646\n").unwrap();
        assert!(PidFile::create(&path).is_ok());
    }
}
