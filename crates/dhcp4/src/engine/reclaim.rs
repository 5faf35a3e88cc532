//! Reclamation of expired leases (reference 6.6 and 4.3 `expired-leases-processing`, Kea's
//! `AllocEngine::reclaimExpiredLeases4` and `deleteExpiredReclaimedLeases4`).
//!
//! One cycle takes up to `max-reclaim-leases` expired leases (earliest first) and stops early
//! when `max-reclaim-time` has passed. An assigned lease becomes expired-reclaimed (state 2,
//! host name and DNS flags cleared, hardware address and client identifier kept so the client
//! gets the same address back: lease affinity), or is deleted when
//! `flush-reclaimed-timer-wait-time` is 0 or the caller asks for removal
//! (`leases-reclaim {"remove": true}`). A declined lease whose probation ended is deleted: the
//! address is free again. The flush deletes reclaimed leases that expired more than
//! `hold-reclaimed-time` seconds ago.
//!
//! The engine never blocks packet processing for this (unlike Kea, which takes a write lock):
//! each lease is written through the store like any other change, and a lease renewed by its
//! client between the batch read and the write is left alone (it is read again and skipped when
//! no longer expired).

use std::time::{Duration, Instant};

use nestor_leases::{Hostname, Lease4, LeaseError, LeaseState, LeaseStore, UnixTime};

use super::stats::{Stat, StatDeltas};
use super::{Engine, LeaseChange};

/// Bounds of one reclamation cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReclaimLimits {
    /// Leases per cycle; 0 = all.
    pub max_leases: usize,
    /// Time per cycle; `None` = no limit.
    pub max_time: Option<Duration>,
    /// Delete reclaimed leases instead of keeping them in state 2.
    pub remove: bool,
}

/// What a reclamation cycle did.
#[derive(Debug, Clone, Default)]
pub struct ReclaimReport {
    /// Expired leases as they were before reclamation (for `lease4_expire` hooks).
    pub expired: Vec<Lease4>,
    /// Writes made (state-2 updates and deletions).
    pub changes: Vec<LeaseChange>,
    /// Statistics to record.
    pub stats: StatDeltas,
    /// Whether the cycle stopped on a limit with expired leases possibly left
    /// (Kea's `unwarned-reclaim-cycles` counts these).
    pub incomplete: bool,
}

impl Engine {
    /// The limits of a timer-driven cycle, from `expired-leases-processing`.
    pub fn reclaim_limits(&self) -> ReclaimLimits {
        let e = &self.cfg.expired_leases;
        ReclaimLimits {
            max_leases: usize::try_from(e.max_reclaim_leases).unwrap_or(usize::MAX),
            max_time: (e.max_reclaim_time > 0)
                .then(|| Duration::from_millis(u64::from(e.max_reclaim_time))),
            remove: e.flush_reclaimed_timer_wait_time == 0,
        }
    }

    /// Runs one reclamation cycle at time `now`.
    pub async fn reclaim<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        now: UnixTime,
        limits: ReclaimLimits,
    ) -> Result<ReclaimReport, LeaseError> {
        let started = Instant::now();
        let batch = store.get_expired(now, limits.max_leases).await?;
        let mut report = ReclaimReport {
            incomplete: limits.max_leases != 0 && batch.len() >= limits.max_leases,
            ..Default::default()
        };
        for (n, lease) in batch.into_iter().enumerate() {
            if n > 0
                && let Some(max) = limits.max_time
                && started.elapsed() >= max
            {
                report.incomplete = true;
                break;
            }
            let Some(_claim) = self.claims.claim(lease.address) else {
                // A packet is committing this address right now: next cycle.
                continue;
            };
            // Re-read: the client may have renewed since the batch was taken.
            let Some(current) = store.get(lease.address).await? else {
                continue;
            };
            if !current.is_expired(now) || current.state == LeaseState::ExpiredReclaimed {
                continue;
            }
            let id = current.subnet_id;
            let declined = current.state == LeaseState::Declined;
            if declined || limits.remove {
                if let Some(gone) = store.delete(current.address).await? {
                    report.changes.push(LeaseChange::Deleted(gone));
                }
            } else {
                let mut r = current.clone();
                r.state = LeaseState::ExpiredReclaimed;
                r.hostname = Hostname::default();
                r.fqdn_fwd = false;
                r.fqdn_rev = false;
                store.update(r.clone()).await?;
                report.changes.push(LeaseChange::Updated(r));
            }
            let stats = &mut report.stats;
            stats.add(Stat::AssignedAddresses, Some(id), -1);
            stats.add_both(Stat::ReclaimedLeases, id, 1);
            if declined {
                stats.add_both(Stat::DeclinedAddresses, id, -1);
                stats.add_both(Stat::ReclaimedDeclinedAddresses, id, 1);
            }
            report.expired.push(current);
        }
        Ok(report)
    }

    /// Deletes reclaimed leases older than `hold-reclaimed-time` (the flush timer); returns
    /// how many.
    pub async fn flush_reclaimed<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        now: UnixTime,
    ) -> Result<u64, LeaseError> {
        store
            .flush_reclaimed(now, self.cfg.expired_leases.hold_reclaimed_time)
            .await
    }
}
