//! The `expired-leases-processing` timers (reference 4.3, 6.6): every
//! `reclaim-timer-wait-time` seconds, measured from the end of the previous cycle as Kea does,
//! one bounded cycle of [`Engine::reclaim`](crate::engine::Engine::reclaim); every
//! `flush-reclaimed-timer-wait-time` seconds, the deletion of reclaimed leases older than
//! `hold-reclaimed-time`. A value of 0 disables the timer. Cycles run as ordinary tasks next
//! to packet processing (the engine writes lease by lease through the store), so packets are
//! never stalled behind them; a cycle that left work behind `unwarned-reclaim-cycles` times in
//! a row is logged as Kea warns.

use std::sync::Arc;
use std::time::Duration;

use nestor_config::dhcp4::ExpiredLeasesProcessing;
use tokio_util::sync::CancellationToken;

use crate::engine::{ReclaimLimits, ReclaimReport};
use crate::server::{Server, unix_now};

/// Runs one reclamation cycle with `limits` (also the `leases-reclaim` command).
pub async fn reclaim_once(
    server: &Server,
    limits: ReclaimLimits,
) -> Result<ReclaimReport, nestor_leases::LeaseError> {
    let engine = server.engine();
    tracing::debug!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_LEASES_RECLAMATION_START",
        "starting reclamation of expired leases (limit = {} leases or {:?})", limits.max_leases, limits.max_time);
    let report = engine
        .reclaim(&**server.store(), unix_now(), limits)
        .await?;
    tracing::debug!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_LEASES_RECLAMATION_COMPLETE",
        "reclaimed {} leases", report.expired.len());
    server.record_stats(report.stats.iter());
    Ok(report)
}

/// Runs both timers until `cancel`.
pub async fn run_timers(
    server: Arc<Server>,
    cfg: ExpiredLeasesProcessing,
    cancel: CancellationToken,
) {
    let reclaim = async {
        if cfg.reclaim_timer_wait_time == 0 {
            return;
        }
        let wait = Duration::from_secs(u64::from(cfg.reclaim_timer_wait_time));
        let mut unwarned = 0u32;
        loop {
            tokio::time::sleep(wait).await;
            let limits = server.engine().reclaim_limits();
            match reclaim_once(&server, limits).await {
                Ok(report) if report.incomplete => {
                    unwarned += 1;
                    if cfg.unwarned_reclaim_cycles > 0 && unwarned >= cfg.unwarned_reclaim_cycles {
                        tracing::warn!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_LEASES_RECLAMATION_SLOW",
                            "expired leases still exist after {unwarned} reclamations");
                        unwarned = 0;
                    }
                }
                Ok(_) => unwarned = 0,
                Err(e) => {
                    tracing::error!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_LEASES_RECLAMATION_FAILED",
                    "reclamation of expired leases failed: {e}")
                }
            }
        }
    };
    let flush = async {
        if cfg.flush_reclaimed_timer_wait_time == 0 {
            return;
        }
        let wait = Duration::from_secs(u64::from(cfg.flush_reclaimed_timer_wait_time));
        loop {
            tokio::time::sleep(wait).await;
            match server
                .engine()
                .flush_reclaimed(&**server.store(), unix_now())
                .await
            {
                Ok(n) => {
                    tracing::debug!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_RECLAIMED_LEASES_DELETE_COMPLETE",
                    "successfully deleted {n} expired-reclaimed leases")
                }
                Err(e) => {
                    tracing::error!(target: "kea-dhcp4.alloc-engine", id = "ALLOC_ENGINE_V4_RECLAIMED_LEASES_DELETE_FAILED",
                    "deletion of expired-reclaimed leases failed: {e}")
                }
            }
        }
    };
    tokio::select! {
        () = cancel.cancelled() => {}
        () = async { tokio::join!(reclaim, flush); } => {}
    }
}
