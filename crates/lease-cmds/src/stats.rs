//! The statistics the lease commands keep up to date: Kea 2.2's `updateStatsOnAdd`,
//! `updateStatsOnUpdate` and `updateStatsOnDelete` (`lease_cmds.cc`).
//!
//! A lease counts in `subnet[N].assigned-addresses` unless it is expired-reclaimed; a declined
//! lease also counts in `subnet[N].declined-addresses` and the global `declined-addresses`.
//! Statistics that do not exist yet are created by the first change, as Kea's `addValue` does.

use nestor_hooks::Stats;
use nestor_hooks::stats::dhcp4::subnet_stat_name;
use nestor_leases::{Lease4, LeaseState};

fn counts(lease: &Lease4) -> bool {
    lease.state != LeaseState::ExpiredReclaimed
}

fn declined(lease: &Lease4) -> bool {
    lease.state == LeaseState::Declined
}

fn add_assigned(stats: &Stats, subnet_id: u32, delta: i64) {
    stats.add(&subnet_stat_name(subnet_id, "assigned-addresses"), delta);
}

fn add_declined(stats: &Stats, subnet_id: u32, delta: i64) {
    stats.add("declined-addresses", delta);
    stats.add(&subnet_stat_name(subnet_id, "declined-addresses"), delta);
}

/// A lease was added.
pub(crate) fn on_add(stats: &Stats, lease: &Lease4) {
    if counts(lease) {
        add_assigned(stats, lease.subnet_id, 1);
        if declined(lease) {
            add_declined(stats, lease.subnet_id, 1);
        }
    }
}

/// `existing` was replaced by `lease`.
pub(crate) fn on_update(stats: &Stats, existing: &Lease4, lease: &Lease4) {
    if !counts(existing) {
        on_add(stats, lease);
        return;
    }
    // Kea moves the assigned count only between subnets; a lease going from assigned to
    // expired-reclaimed by command keeps its count, as in Kea 2.2.
    let moved = existing.subnet_id != lease.subnet_id;
    if moved {
        add_assigned(stats, existing.subnet_id, -1);
    }
    if declined(existing) {
        add_declined(stats, existing.subnet_id, -1);
    }
    if counts(lease) {
        if moved {
            add_assigned(stats, lease.subnet_id, 1);
        }
        if declined(lease) {
            add_declined(stats, lease.subnet_id, 1);
        }
    }
}

/// `lease` was deleted.
pub(crate) fn on_delete(stats: &Stats, lease: &Lease4) {
    if counts(lease) {
        add_assigned(stats, lease.subnet_id, -1);
        if declined(lease) {
            add_declined(stats, lease.subnet_id, -1);
        }
    }
}

/// `lease4-wipe` of one subnet: its counters are zeroed and the global declined count loses
/// what the subnet had.
pub(crate) fn on_wipe_subnet(stats: &Stats, subnet_id: u32) {
    let declined_name = subnet_stat_name(subnet_id, "declined-addresses");
    let previous_declined = stats.value(&declined_name).unwrap_or(0);
    stats.set(&subnet_stat_name(subnet_id, "assigned-addresses"), 0);
    stats.set(&declined_name, 0);
    stats.add("declined-addresses", -previous_declined);
}

/// `lease4-wipe` of every configured subnet.
pub(crate) fn on_wipe_all(stats: &Stats, subnet_ids: &[u32]) {
    for &id in subnet_ids {
        stats.set(&subnet_stat_name(id, "assigned-addresses"), 0);
        stats.set(&subnet_stat_name(id, "declined-addresses"), 0);
    }
    stats.set("declined-addresses", 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_hooks::TestClock;
    use nestor_leases::HwAddr;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn lease(subnet_id: u32, state: LeaseState) -> Lease4 {
        let mut l = Lease4::new(
            Ipv4Addr::new(198, 18, 0, 1),
            HwAddr::from_text("aa:bb:cc:dd:ee:ff").unwrap(),
            None,
            60,
            1,
            subnet_id,
        );
        l.state = state;
        l
    }

    fn value(stats: &Stats, name: &str) -> i64 {
        stats.value(name).unwrap_or(i64::MIN)
    }

    #[test]
    fn follows_kea() {
        let stats = Stats::new(Arc::new(TestClock::at_unix_secs(1000)));
        on_add(&stats, &lease(1, LeaseState::Default));
        on_add(&stats, &lease(1, LeaseState::Declined));
        on_add(&stats, &lease(1, LeaseState::ExpiredReclaimed));
        assert_eq!(value(&stats, "subnet[1].assigned-addresses"), 2);
        assert_eq!(value(&stats, "subnet[1].declined-addresses"), 1);
        assert_eq!(value(&stats, "declined-addresses"), 1);

        // Declined in subnet 1 -> assigned in subnet 2.
        on_update(
            &stats,
            &lease(1, LeaseState::Declined),
            &lease(2, LeaseState::Default),
        );
        assert_eq!(value(&stats, "subnet[1].assigned-addresses"), 1);
        assert_eq!(value(&stats, "subnet[2].assigned-addresses"), 1);
        assert_eq!(value(&stats, "declined-addresses"), 0);

        // Reclaimed -> declined counts as an addition.
        on_update(
            &stats,
            &lease(2, LeaseState::ExpiredReclaimed),
            &lease(2, LeaseState::Declined),
        );
        assert_eq!(value(&stats, "subnet[2].assigned-addresses"), 2);
        assert_eq!(value(&stats, "subnet[2].declined-addresses"), 1);

        on_delete(&stats, &lease(2, LeaseState::Declined));
        assert_eq!(value(&stats, "subnet[2].assigned-addresses"), 1);
        assert_eq!(value(&stats, "declined-addresses"), 0);

        on_add(&stats, &lease(2, LeaseState::Declined));
        on_add(&stats, &lease(1, LeaseState::Declined));
        on_wipe_subnet(&stats, 2);
        assert_eq!(value(&stats, "subnet[2].assigned-addresses"), 0);
        assert_eq!(value(&stats, "declined-addresses"), 1);
        on_wipe_all(&stats, &[1, 2]);
        assert_eq!(value(&stats, "subnet[1].assigned-addresses"), 0);
        assert_eq!(value(&stats, "declined-addresses"), 0);
    }
}
