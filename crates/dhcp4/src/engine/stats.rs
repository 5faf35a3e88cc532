//! Statistic changes decided by the engine, named as Kea 2.2 names them.
//!
//! The engine does not own the statistics store (the server does, with the packet counters such
//! as `pkt4-offer-sent`); it reports what an exchange changed as [`StatDelta`]s and the server
//! adds them. Names were read from a running `kea-dhcp4` 2.2 (`statistic-get-all`):
//! `assigned-addresses`, `cumulative-assigned-addresses`, `declined-addresses`,
//! `reclaimed-declined-addresses`, `reclaimed-leases` (global and per subnet, except
//! `assigned-addresses` which is per subnet only) and the `v4-allocation-fail*` family (global,
//! and per subnet as Kea's allocation engine records them on failure).

/// One statistic the engine changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    /// `subnet[N].assigned-addresses`.
    AssignedAddresses,
    /// `cumulative-assigned-addresses`.
    CumulativeAssignedAddresses,
    /// `declined-addresses`.
    DeclinedAddresses,
    /// `reclaimed-declined-addresses`.
    ReclaimedDeclinedAddresses,
    /// `reclaimed-leases`.
    ReclaimedLeases,
    /// `v4-allocation-fail`.
    AllocationFail,
    /// `v4-allocation-fail-subnet`: the subnet's pools are exhausted.
    AllocationFailSubnet,
    /// `v4-allocation-fail-shared-network`: every pool of the shared network is exhausted.
    AllocationFailSharedNetwork,
    /// `v4-allocation-fail-no-pools`: no pool the client may use.
    AllocationFailNoPools,
    /// `v4-allocation-fail-classes`: pools exist but client classes exclude the client.
    AllocationFailClasses,
    /// `v4-reservation-conflicts`: a reserved address is leased to another client. Kea 2.2
    /// creates it (0) with the others; the engine does not change it (when Kea does is not
    /// verified), the server only initialises it.
    ReservationConflicts,
}

impl Stat {
    /// Every statistic the engine knows.
    pub const ALL: [Stat; 11] = [
        Stat::AssignedAddresses,
        Stat::CumulativeAssignedAddresses,
        Stat::DeclinedAddresses,
        Stat::ReclaimedDeclinedAddresses,
        Stat::ReclaimedLeases,
        Stat::AllocationFail,
        Stat::AllocationFailSubnet,
        Stat::AllocationFailSharedNetwork,
        Stat::AllocationFailNoPools,
        Stat::AllocationFailClasses,
        Stat::ReservationConflicts,
    ];

    /// Whether kea-dhcp4 2.2 lists the global statistic (value 0) right after start-up
    /// (observed with `statistic-get-all`): all but `assigned-addresses`, which is per subnet
    /// only.
    pub fn global_at_startup(self) -> bool {
        self != Stat::AssignedAddresses
    }

    /// Whether kea-dhcp4 2.2 lists `subnet[N].<name>` (value 0) for every subnet right after
    /// start-up; the per-subnet allocation failures appear only once incremented. (Kea also
    /// lists `subnet[N].total-addresses`, which the server computes from the pools.)
    pub fn subnet_at_startup(self) -> bool {
        matches!(
            self,
            Stat::AssignedAddresses
                | Stat::CumulativeAssignedAddresses
                | Stat::DeclinedAddresses
                | Stat::ReclaimedDeclinedAddresses
                | Stat::ReclaimedLeases
                | Stat::ReservationConflicts
        )
    }

    /// Kea's statistic name (without the `subnet[N].` prefix).
    pub fn kea_name(self) -> &'static str {
        match self {
            Stat::AssignedAddresses => "assigned-addresses",
            Stat::CumulativeAssignedAddresses => "cumulative-assigned-addresses",
            Stat::DeclinedAddresses => "declined-addresses",
            Stat::ReclaimedDeclinedAddresses => "reclaimed-declined-addresses",
            Stat::ReclaimedLeases => "reclaimed-leases",
            Stat::AllocationFail => "v4-allocation-fail",
            Stat::AllocationFailSubnet => "v4-allocation-fail-subnet",
            Stat::AllocationFailSharedNetwork => "v4-allocation-fail-shared-network",
            Stat::AllocationFailNoPools => "v4-allocation-fail-no-pools",
            Stat::AllocationFailClasses => "v4-allocation-fail-classes",
            Stat::ReservationConflicts => "v4-reservation-conflicts",
        }
    }
}

/// A change of one statistic: global when `subnet_id` is `None`, else `subnet[id].<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatDelta {
    pub stat: Stat,
    pub subnet_id: Option<u32>,
    pub delta: i64,
}

impl StatDelta {
    /// The full Kea name, e.g. `subnet[1].assigned-addresses`.
    pub fn name(&self) -> String {
        match self.subnet_id {
            Some(id) => format!("subnet[{id}].{}", self.stat.kea_name()),
            None => self.stat.kea_name().to_string(),
        }
    }
}

/// Statistic changes of one exchange or reclamation cycle, merged per name. The first
/// [`StatDeltas::INLINE`] distinct statistics are stored inline: an exchange changes at most a
/// handful and most change none, so the packet path makes no heap allocation for them; a
/// reclamation cycle spanning many subnets spills into a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatDeltas {
    inline: [Option<StatDelta>; Self::INLINE],
    len: usize,
    spill: Vec<StatDelta>,
}

impl Default for StatDeltas {
    fn default() -> Self {
        StatDeltas {
            inline: [None; Self::INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl StatDeltas {
    /// Distinct statistics stored without allocating (an inline reclaim plus a new assignment
    /// plus an allocation failure in every family stays below it).
    pub const INLINE: usize = 16;

    /// Records `delta` for `stat`, merging with an earlier change of the same statistic.
    pub fn add(&mut self, stat: Stat, subnet_id: Option<u32>, delta: i64) {
        let same = |d: &&mut StatDelta| d.stat == stat && d.subnet_id == subnet_id;
        if let Some(d) = self
            .inline
            .iter_mut()
            .take(self.len)
            .flatten()
            .chain(self.spill.iter_mut())
            .find(same)
        {
            d.delta += delta;
            return;
        }
        let d = StatDelta {
            stat,
            subnet_id,
            delta,
        };
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(d);
                self.len += 1;
            }
            None => self.spill.push(d),
        }
    }

    /// Records `delta` both globally and for `subnet_id`.
    pub fn add_both(&mut self, stat: Stat, subnet_id: u32, delta: i64) {
        self.add(stat, None, delta);
        self.add(stat, Some(subnet_id), delta);
    }

    /// Merges another set of changes into this one.
    pub fn extend(&mut self, other: &StatDeltas) {
        for d in other.iter() {
            self.add(d.stat, d.subnet_id, d.delta);
        }
    }

    /// The non-zero changes.
    pub fn iter(&self) -> impl Iterator<Item = &StatDelta> + '_ {
        self.inline
            .iter()
            .take(self.len)
            .flatten()
            .chain(self.spill.iter())
            .filter(|d| d.delta != 0)
    }

    /// The change recorded for one statistic (0 if none).
    pub fn get(&self, stat: Stat, subnet_id: Option<u32>) -> i64 {
        self.iter()
            .find(|d| d.stat == stat && d.subnet_id == subnet_id)
            .map_or(0, |d| d.delta)
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_merging() {
        let mut s = StatDeltas::default();
        s.add_both(Stat::ReclaimedLeases, 3, 1);
        s.add(Stat::AssignedAddresses, Some(3), -1);
        s.add(Stat::AssignedAddresses, Some(3), 1);
        assert_eq!(s.get(Stat::ReclaimedLeases, None), 1);
        assert_eq!(s.get(Stat::ReclaimedLeases, Some(3)), 1);
        // +1 -1 cancel out and are not reported.
        assert_eq!(s.iter().count(), 2);
        let names: Vec<_> = s.iter().map(StatDelta::name).collect();
        assert_eq!(names, ["reclaimed-leases", "subnet[3].reclaimed-leases"]);
        let mut t = StatDeltas::default();
        assert!(t.is_empty());
        t.extend(&s);
        assert!(t.iter().eq(s.iter()));
        // Past the inline capacity, changes spill and still merge.
        let mut many = StatDeltas::default();
        for id in 0..40u32 {
            many.add(Stat::ReclaimedLeases, Some(id), 1);
        }
        many.add(Stat::ReclaimedLeases, Some(39), 1);
        assert_eq!(many.iter().count(), 40);
        assert_eq!(many.get(Stat::ReclaimedLeases, Some(39)), 2);
    }
}
