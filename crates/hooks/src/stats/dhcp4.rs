//! The statistics `kea-dhcp4` 2.2 keeps, with its names, and when it creates them.
//!
//! Captured from a running `kea-dhcp4` 2.2 (`statistic-get-all` right after start, see
//! `tests/kea_statistics.rs`) and read from its source:
//! * at start (`Dhcpv4Srv` constructor and allocation engine): [`GLOBAL_AT_START`], all 0;
//! * at every (re)configuration (`CfgSubnets4::updateStatistics`, then
//!   `LeaseMgr::recountLeaseStats4` when there is at least one subnet): per subnet
//!   [`SUBNET_STATS`], `total-addresses` set to the pools' capacity, `assigned-addresses` and
//!   `declined-addresses` recounted from the lease store, the cumulative and reclaimed counters
//!   kept if they exist; globally `declined-addresses` recounted and [`GLOBAL_AT_CONFIG`] created
//!   if missing. The previous configuration's subnet statistics are removed first
//!   (`CfgSubnets4::removeStatistics`: all but `v4-reservation-conflicts`).

use std::collections::{BTreeMap, HashMap};

use nestor_config::Dhcp4Config;
use nestor_leases::memfile::StateCounts;
use nestor_proto::pkt::MessageType;

use super::{StatCounter, Stats};

/// Global statistics `kea-dhcp4` 2.2 creates with 0 when it starts, in its order.
pub const GLOBAL_AT_START: [&str; 22] = [
    "pkt4-received",
    "pkt4-discover-received",
    "pkt4-offer-received",
    "pkt4-request-received",
    "pkt4-ack-received",
    "pkt4-nak-received",
    "pkt4-release-received",
    "pkt4-decline-received",
    "pkt4-inform-received",
    "pkt4-unknown-received",
    "pkt4-sent",
    "pkt4-offer-sent",
    "pkt4-ack-sent",
    "pkt4-nak-sent",
    "pkt4-parse-failed",
    "pkt4-receive-drop",
    "v4-allocation-fail",
    "v4-allocation-fail-subnet",
    "v4-allocation-fail-shared-network",
    "v4-allocation-fail-no-pools",
    "v4-allocation-fail-classes",
    "v4-reservation-conflicts",
];

/// Global statistics created at configuration when there is at least one subnet
/// (`recountLeaseStats4`); `declined-addresses` is recounted, the others only created.
pub const GLOBAL_AT_CONFIG: [&str; 4] = [
    "declined-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "cumulative-assigned-addresses",
];

/// Per-subnet statistics created at configuration (the part after `subnet[ID].`).
pub const SUBNET_STATS: [&str; 7] = [
    "total-addresses",
    "cumulative-assigned-addresses",
    "v4-reservation-conflicts",
    "assigned-addresses",
    "declined-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
];

/// Kea's `StatsMgr::generateName("subnet", id, name)`: `subnet[ID].NAME`.
pub fn subnet_stat_name(subnet_id: u32, name: &str) -> String {
    format!("subnet[{subnet_id}].{name}")
}

/// Handles on the global statistics the packet path changes.
#[derive(Debug, Clone)]
pub struct Dhcp4Counters {
    pub pkt4_received: StatCounter,
    pub pkt4_discover_received: StatCounter,
    pub pkt4_offer_received: StatCounter,
    pub pkt4_request_received: StatCounter,
    pub pkt4_ack_received: StatCounter,
    pub pkt4_nak_received: StatCounter,
    pub pkt4_release_received: StatCounter,
    pub pkt4_decline_received: StatCounter,
    pub pkt4_inform_received: StatCounter,
    pub pkt4_unknown_received: StatCounter,
    pub pkt4_sent: StatCounter,
    pub pkt4_offer_sent: StatCounter,
    pub pkt4_ack_sent: StatCounter,
    pub pkt4_nak_sent: StatCounter,
    pub pkt4_parse_failed: StatCounter,
    pub pkt4_receive_drop: StatCounter,
    pub v4_allocation_fail: StatCounter,
    pub v4_allocation_fail_subnet: StatCounter,
    pub v4_allocation_fail_shared_network: StatCounter,
    pub v4_allocation_fail_no_pools: StatCounter,
    pub v4_allocation_fail_classes: StatCounter,
    pub v4_reservation_conflicts: StatCounter,
}

impl Dhcp4Counters {
    /// Creates [`GLOBAL_AT_START`] with 0 (keeping values that exist) and returns their handles.
    pub fn register(stats: &Stats) -> Self {
        let [
            pkt4_received,
            pkt4_discover_received,
            pkt4_offer_received,
            pkt4_request_received,
            pkt4_ack_received,
            pkt4_nak_received,
            pkt4_release_received,
            pkt4_decline_received,
            pkt4_inform_received,
            pkt4_unknown_received,
            pkt4_sent,
            pkt4_offer_sent,
            pkt4_ack_sent,
            pkt4_nak_sent,
            pkt4_parse_failed,
            pkt4_receive_drop,
            v4_allocation_fail,
            v4_allocation_fail_subnet,
            v4_allocation_fail_shared_network,
            v4_allocation_fail_no_pools,
            v4_allocation_fail_classes,
            v4_reservation_conflicts,
        ] = GLOBAL_AT_START.map(|name| stats.counter(name));
        Self {
            pkt4_received,
            pkt4_discover_received,
            pkt4_offer_received,
            pkt4_request_received,
            pkt4_ack_received,
            pkt4_nak_received,
            pkt4_release_received,
            pkt4_decline_received,
            pkt4_inform_received,
            pkt4_unknown_received,
            pkt4_sent,
            pkt4_offer_sent,
            pkt4_ack_sent,
            pkt4_nak_sent,
            pkt4_parse_failed,
            pkt4_receive_drop,
            v4_allocation_fail,
            v4_allocation_fail_subnet,
            v4_allocation_fail_shared_network,
            v4_allocation_fail_no_pools,
            v4_allocation_fail_classes,
            v4_reservation_conflicts,
        }
    }

    /// The `pkt4-<type>-received` counter of a query (Kea's `processStatsReceived`; the caller
    /// also counts `pkt4-received`, earlier). No message type, or one a server does not expect
    /// from a client (`FORCERENEW`, leasequery...), is `pkt4-unknown-received`.
    pub fn received(&self, message_type: Option<MessageType>) -> &StatCounter {
        match message_type {
            Some(MessageType::Discover) => &self.pkt4_discover_received,
            Some(MessageType::Offer) => &self.pkt4_offer_received,
            Some(MessageType::Request) => &self.pkt4_request_received,
            Some(MessageType::Ack) => &self.pkt4_ack_received,
            Some(MessageType::Nak) => &self.pkt4_nak_received,
            Some(MessageType::Release) => &self.pkt4_release_received,
            Some(MessageType::Decline) => &self.pkt4_decline_received,
            Some(MessageType::Inform) => &self.pkt4_inform_received,
            _ => &self.pkt4_unknown_received,
        }
    }

    /// Counts a reply sent (Kea's `processStatsSent`): `pkt4-sent`, and `pkt4-offer-sent`,
    /// `pkt4-ack-sent` or `pkt4-nak-sent` by type.
    pub fn count_sent(&self, message_type: MessageType) {
        self.pkt4_sent.inc();
        match message_type {
            MessageType::Offer => self.pkt4_offer_sent.inc(),
            MessageType::Ack => self.pkt4_ack_sent.inc(),
            MessageType::Nak => self.pkt4_nak_sent.inc(),
            _ => {}
        }
    }
}

/// Handles on one subnet's statistics, for the allocation and reclamation paths.
#[derive(Debug, Clone)]
pub struct SubnetCounters {
    pub subnet_id: u32,
    pub total_addresses: StatCounter,
    pub assigned_addresses: StatCounter,
    pub cumulative_assigned_addresses: StatCounter,
    pub declined_addresses: StatCounter,
    pub reclaimed_declined_addresses: StatCounter,
    pub reclaimed_leases: StatCounter,
    pub v4_reservation_conflicts: StatCounter,
    /// Created on the first failure, as Kea's allocation engine does.
    pub v4_allocation_fail: StatCounter,
    pub v4_allocation_fail_subnet: StatCounter,
    pub v4_allocation_fail_shared_network: StatCounter,
    pub v4_allocation_fail_no_pools: StatCounter,
    pub v4_allocation_fail_classes: StatCounter,
}

impl SubnetCounters {
    fn new(stats: &Stats, subnet_id: u32) -> Self {
        let counter = |name: &str| stats.counter(&subnet_stat_name(subnet_id, name));
        let lazy = |name: &str| stats.lazy_counter(&subnet_stat_name(subnet_id, name));
        Self {
            subnet_id,
            total_addresses: counter("total-addresses"),
            cumulative_assigned_addresses: counter("cumulative-assigned-addresses"),
            v4_reservation_conflicts: counter("v4-reservation-conflicts"),
            assigned_addresses: counter("assigned-addresses"),
            declined_addresses: counter("declined-addresses"),
            reclaimed_declined_addresses: counter("reclaimed-declined-addresses"),
            reclaimed_leases: counter("reclaimed-leases"),
            v4_allocation_fail: lazy("v4-allocation-fail"),
            v4_allocation_fail_subnet: lazy("v4-allocation-fail-subnet"),
            v4_allocation_fail_shared_network: lazy("v4-allocation-fail-shared-network"),
            v4_allocation_fail_no_pools: lazy("v4-allocation-fail-no-pools"),
            v4_allocation_fail_classes: lazy("v4-allocation-fail-classes"),
        }
    }
}

/// The statistics of a configuration, applied as Kea applies them when a configuration is
/// committed (start, `config-set`, `config-reload`).
///
/// `previous` is the configuration being replaced (its subnets' statistics are removed first);
/// `counts` are the lease store's counts per subnet and state
/// ([`nestor_leases::LeaseStore::counts`]). Returns the per-subnet handles by subnet id.
pub fn apply_config(
    stats: &Stats,
    previous: Option<&Dhcp4Config>,
    config: &Dhcp4Config,
    counts: &BTreeMap<u32, StateCounts>,
) -> HashMap<u32, SubnetCounters> {
    stats.configure(
        config.statistic_default_sample_count,
        config.statistic_default_sample_age,
    );
    if let Some(previous) = previous {
        for subnet in &previous.subnets {
            for name in SUBNET_STATS
                .iter()
                .filter(|name| **name != "v4-reservation-conflicts")
            {
                stats.remove(&subnet_stat_name(subnet.id, name));
            }
        }
    }
    let mut handles = HashMap::with_capacity(config.subnets.len());
    for subnet in &config.subnets {
        let capacity = subnet
            .pools
            .iter()
            .fold(0u64, |total, pool| total.saturating_add(pool.size()));
        stats.set(
            &subnet_stat_name(subnet.id, "total-addresses"),
            i64::try_from(capacity).unwrap_or(i64::MAX),
        );
        for name in ["cumulative-assigned-addresses", "v4-reservation-conflicts"] {
            let name = subnet_stat_name(subnet.id, name);
            if !stats.contains(&name) {
                stats.set(&name, 0);
            }
        }
    }
    if !config.subnets.is_empty() {
        recount(stats, config, counts);
    }
    for subnet in &config.subnets {
        handles.insert(subnet.id, SubnetCounters::new(stats, subnet.id));
    }
    handles
}

/// Kea's `LeaseMgr::recountLeaseStats4`.
fn recount(stats: &Stats, config: &Dhcp4Config, counts: &BTreeMap<u32, StateCounts>) {
    stats.set("declined-addresses", 0);
    for name in [
        "reclaimed-declined-addresses",
        "reclaimed-leases",
        "cumulative-assigned-addresses",
    ] {
        if !stats.contains(name) {
            stats.set(name, 0);
        }
    }
    for subnet in &config.subnets {
        stats.set(&subnet_stat_name(subnet.id, "assigned-addresses"), 0);
        stats.set(&subnet_stat_name(subnet.id, "declined-addresses"), 0);
        for name in ["reclaimed-declined-addresses", "reclaimed-leases"] {
            let name = subnet_stat_name(subnet.id, name);
            if !stats.contains(&name) {
                stats.set(&name, 0);
            }
        }
    }
    // Kea walks every row of the lease table, including subnets no longer configured (their
    // statistics come back); declined leases also count as assigned.
    for (subnet_id, count) in counts {
        let assigned = i64::try_from(count.default).unwrap_or(i64::MAX);
        let declined = i64::try_from(count.declined).unwrap_or(i64::MAX);
        if assigned > 0 {
            stats.add(
                &subnet_stat_name(*subnet_id, "assigned-addresses"),
                assigned,
            );
        }
        if declined > 0 {
            stats.set(
                &subnet_stat_name(*subnet_id, "declined-addresses"),
                declined,
            );
            stats.add("declined-addresses", declined);
            stats.add(
                &subnet_stat_name(*subnet_id, "assigned-addresses"),
                declined,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use std::sync::Arc;

    fn config(text: &str) -> Dhcp4Config {
        nestor_config::parse_dhcp4_str_with(text, "test", &nestor_config::LoadOptions::offline())
            .unwrap()
            .config
    }

    #[test]
    fn start_and_config_create_keas_names() {
        let stats = Stats::new(Arc::new(TestClock::new(0)));
        let counters = Dhcp4Counters::register(&stats);
        let cfg = config(
            r#"{"Dhcp4": {"subnet4": [
                {"id": 1, "subnet": "198.18.0.0/24", "pools": [{"pool": "198.18.0.10-198.18.0.20"}]},
                {"id": 7, "subnet": "198.18.1.0/24", "pools": [{"pool": "198.18.1.10-198.18.1.19"}, {"pool": "198.18.1.100/30"}]}
            ]}}"#,
        );
        let mut counts = BTreeMap::new();
        counts.insert(
            7,
            StateCounts {
                default: 3,
                declined: 1,
                reclaimed: 2,
            },
        );
        let subnets = apply_config(&stats, None, &cfg, &counts);
        let mut expected: Vec<String> = GLOBAL_AT_START
            .iter()
            .chain(GLOBAL_AT_CONFIG.iter())
            .map(|name| (*name).to_owned())
            .chain([1u32, 7].iter().flat_map(|id| {
                SUBNET_STATS
                    .iter()
                    .map(move |name| subnet_stat_name(*id, name))
            }))
            .collect();
        expected.sort();
        assert_eq!(stats.names(), expected);
        assert_eq!(stats.value("subnet[1].total-addresses"), Some(11));
        assert_eq!(stats.value("subnet[7].total-addresses"), Some(14));
        assert_eq!(stats.value("subnet[7].assigned-addresses"), Some(4));
        assert_eq!(stats.value("subnet[7].declined-addresses"), Some(1));
        assert_eq!(stats.value("declined-addresses"), Some(1));

        counters.received(Some(MessageType::Discover)).inc();
        counters.received(None).inc();
        counters.count_sent(MessageType::Offer);
        assert_eq!(stats.value("pkt4-discover-received"), Some(1));
        assert_eq!(stats.value("pkt4-unknown-received"), Some(1));
        assert_eq!(stats.value("pkt4-offer-sent"), Some(1));
        assert_eq!(stats.value("pkt4-sent"), Some(1));

        subnets[&7].assigned_addresses.inc();
        subnets[&7].v4_allocation_fail_subnet.inc();
        assert_eq!(stats.value("subnet[7].assigned-addresses"), Some(5));
        assert_eq!(stats.value("subnet[7].v4-allocation-fail-subnet"), Some(1));

        // Reconfigure without subnet 1: its statistics go, except v4-reservation-conflicts
        // (Kea's removeStatistics forgets it); the cumulative counter of the kept subnet 7 is
        // removed and recreated with 0, as Kea's removeStatistics/updateStatistics do.
        subnets[&7].cumulative_assigned_addresses.add(9);
        let cfg2 = config(
            r#"{"Dhcp4": {"subnet4": [
                {"id": 7, "subnet": "198.18.1.0/24", "pools": [{"pool": "198.18.1.10-198.18.1.19"}]}
            ]}}"#,
        );
        let subnets = apply_config(&stats, Some(&cfg), &cfg2, &counts);
        assert!(!stats.contains("subnet[1].total-addresses"));
        assert!(stats.contains("subnet[1].v4-reservation-conflicts"));
        assert_eq!(stats.value("subnet[7].total-addresses"), Some(10));
        assert_eq!(
            stats.value("subnet[7].cumulative-assigned-addresses"),
            Some(0)
        );
        assert_eq!(stats.value("subnet[7].assigned-addresses"), Some(4));
        assert_eq!(subnets.len(), 1);
    }

    #[test]
    fn no_subnets_no_recount() {
        let stats = Stats::new(Arc::new(TestClock::new(0)));
        Dhcp4Counters::register(&stats);
        apply_config(
            &stats,
            None,
            &config(r#"{"Dhcp4": {"valid-lifetime": 4000}}"#),
            &BTreeMap::new(),
        );
        assert!(!stats.contains("declined-addresses"));
        assert_eq!(stats.names().len(), GLOBAL_AT_START.len());
    }
}
