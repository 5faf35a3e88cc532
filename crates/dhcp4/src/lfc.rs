//! The server's half of Lease File Cleanup (reference 5.4): every `lfc-interval` seconds,
//! rotate the lease file (`<name>` -> `<name>.1`, unless a previous cleanup left `.1` or
//! `.completed` behind) and start `nestor-lfc -4 -x <name>.2 -i <name>.1 -o <name>.output
//! -f <name>.completed -p <name>.pid -c <config>` as a separate process, so compaction never
//! stalls packet processing. The executable is `$NESTOR_LFC_EXECUTABLE` (Kea:
//! `KEA_LFC_EXECUTABLE`), else `nestor-lfc` next to the running executable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nestor_leases::Memfile;
use nestor_leases::memfile::{LeaseFiles, Rotation};
use tokio_util::sync::CancellationToken;

/// The cleanup executable to run.
pub fn executable() -> PathBuf {
    if let Some(p) = std::env::var_os("NESTOR_LFC_EXECUTABLE") {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("nestor-lfc")))
        .unwrap_or_else(|| PathBuf::from("nestor-lfc"))
}

/// The command line kea-lfc gets.
pub fn arguments(files: &LeaseFiles, config: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["-4".into()];
    for (flag, path) in [
        ("-x", files.previous()),
        ("-i", files.input()),
        ("-o", files.output()),
        ("-f", files.finish()),
        ("-p", files.pid()),
    ] {
        args.push(flag.into());
        args.push(path.into_os_string());
    }
    args.push("-c".into());
    args.push(config.as_os_str().to_owned());
    args
}

/// Runs one cleanup: rotates (blocking, off the reactor) and spawns `exe`. The child is reaped
/// in the background; its handle is returned (`None` if nothing was started).
pub async fn run_once(
    store: Arc<Memfile>,
    config: PathBuf,
    exe: &Path,
) -> Option<tokio::task::JoinHandle<Option<std::process::ExitStatus>>> {
    let rotated = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.rotate()).await
    };
    match rotated {
        Ok(Ok(rotation)) => {
            if matches!(rotation, Rotation::PendingCleanup) {
                tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_LEASE_FILE_REOPEN",
                    "a previous lease file cleanup left its files; running the cleanup again");
            }
        }
        Ok(Err(e)) => {
            tracing::error!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_LEASE_FILE_RENAME_FAIL",
                "failed to rotate lease file {} for cleanup: {e}", store.files().main().display());
            return None;
        }
        Err(e) => {
            tracing::error!(target: "kea-dhcp4.dhcpsrv", "lease file rotation task failed: {e}");
            return None;
        }
    }
    let args = arguments(store.files(), &config);
    tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_EXECUTE",
        "executing Lease File Cleanup using: {} {}", exe.display(),
        args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    match tokio::process::Command::new(exe)
        .args(&args)
        .kill_on_drop(false)
        .spawn()
    {
        Ok(mut child) => Some(tokio::spawn(async move {
            match child.wait().await {
                Ok(status) => {
                    if !status.success() {
                        tracing::warn!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_FAILED",
                            "lease file cleanup exited with {status}");
                    }
                    Some(status)
                }
                Err(e) => {
                    tracing::warn!(target: "kea-dhcp4.dhcpsrv", "waiting for lease file cleanup: {e}");
                    None
                }
            }
        })),
        Err(e) => {
            tracing::error!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_SPAWN_FAIL",
                "lease file cleanup failed to run {}: {e}", exe.display());
            None
        }
    }
}

/// The `lfc-interval` timer: runs until `shutdown`. `interval` 0 disables it (the task ends).
pub async fn run_timer(
    store: Arc<Memfile>,
    config: PathBuf,
    interval: u32,
    shutdown: CancellationToken,
) {
    if interval == 0 {
        return;
    }
    tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LFC_SETUP",
        "setting up the Lease File Cleanup interval to {interval} sec");
    let period = Duration::from_secs(u64::from(interval));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                let _ = run_once(store.clone(), config.clone(), &executable()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_leases::{Lease4, LeaseStore, MemfileConfig};

    fn lease(n: u8) -> Lease4 {
        Lease4::new(
            std::net::Ipv4Addr::new(198, 18, 0, n),
            nestor_leases::HwAddr::new(1, &[2, 0, 0, 0, 0, n]).unwrap(),
            None,
            3600,
            1_700_000_000,
            1,
        )
    }

    /// The whole cycle with the real cleanup library standing in for the process: rotation by
    /// the server, then compaction, then the server reloads the same leases.
    #[tokio::test]
    async fn rotation_then_cleanup_keeps_every_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.csv");
        let (store, _) = Memfile::open(&MemfileConfig::new(&path)).unwrap();
        let store = Arc::new(store);
        for n in 1..=5 {
            LeaseStore::add(&*store, lease(n)).await.unwrap();
        }
        let mut renewed = lease(3);
        renewed.cltt += 100;
        LeaseStore::update(&*store, renewed).await.unwrap();
        // `/bin/true` as the cleanup program: only the rotation is observed here.
        let child = run_once(
            store.clone(),
            dir.path().join("c.json"),
            Path::new("/bin/true"),
        )
        .await
        .unwrap();
        assert!(child.await.unwrap().unwrap().success());
        let files = LeaseFiles::new(&path);
        assert!(files.input().exists(), "lease file rotated to .1");
        nestor_leases::memfile::lfc::run(
            &nestor_leases::memfile::lfc::LfcPaths::for_lease_file(&path),
            100,
        )
        .unwrap();
        assert!(files.previous().exists() && !files.input().exists());
        LeaseStore::add(&*store, lease(6)).await.unwrap();
        store.close();
        let (reloaded, report) = Memfile::open(&MemfileConfig::new(&path)).unwrap();
        assert_eq!(report.leases, 6);
        assert_eq!(
            LeaseStore::get(&reloaded, lease(3).address)
                .await
                .unwrap()
                .unwrap()
                .cltt,
            1_700_000_100
        );
    }

    #[test]
    fn command_line_is_kea_lfcs() {
        let files = LeaseFiles::new(Path::new("/var/lib/kea/l.csv"));
        let args: Vec<String> = arguments(&files, Path::new("/etc/k.json"))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "-4",
                "-x",
                "/var/lib/kea/l.csv.2",
                "-i",
                "/var/lib/kea/l.csv.1",
                "-o",
                "/var/lib/kea/l.csv.output",
                "-f",
                "/var/lib/kea/l.csv.completed",
                "-p",
                "/var/lib/kea/l.csv.pid",
                "-c",
                "/etc/k.json"
            ]
        );
    }
}
