//! Kea 2.2's iterative allocator (`IterativeAllocator::pickAddress`, reference 6.2), made
//! lock-free, and the in-process address claims that keep concurrent packets apart.
//!
//! # Candidate order
//!
//! Each subnet remembers the pool of its last pick and each pool the offset of its next
//! candidate, in memory only: after a restart every pool starts again at its first address, as
//! in Kea. A pick takes the next address of the current pool if the client's classes allow
//! that pool (else of the first allowed pool); at a pool's end the pool is rewound and the next
//! allowed pool continues from its own position; past the last pool every allowed pool is
//! rewound and the first allowed pool's first address comes next. That is Kea's sequence
//! (offers 10, 11, 12, then 13 for the next client: an OFFER advances the pointer without
//! creating a lease).
//!
//! Kea serialises `pickAddress` under a mutex. Here each step is one atomic `fetch_add` on the
//! pool's offset, so threads never wait for each other; under contention two threads get two
//! successive addresses, and a rewind racing with a pick may repeat or skip a candidate once.
//! Neither matters for correctness: a candidate is only a proposal, checked against the lease
//! store and claimed before use.
//!
//! # Claims
//!
//! Between "this address is free" and "the lease is written" another packet could pick the same
//! address. [`Claims`] is a sharded set of addresses being committed by this process; a packet
//! must claim an address before writing its lease and releases the claim when the write is
//! done. Across processes sharing a database, `LeaseStore::add` reporting
//! `LeaseError::Conflict` plays the same role. OFFERs claim nothing and write nothing (Kea
//! does not create leases on DISCOVER), so two concurrent DISCOVERs may be offered the same
//! address, exactly as with Kea; the REQUESTs then race for the claim and the loser is NAKed
//! (SELECTING for an address now leased to someone else, reference 6.4).

use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use nestor_config::dhcp4::{Pool, Subnet4};

use super::classify::ClientClasses;

/// Allocation state of one pool.
#[derive(Debug)]
pub(crate) struct PoolCursor {
    first: u32,
    last: u32,
    /// Offset of the next candidate from `first`; `>= size` means the pool is used up for this
    /// round.
    next: AtomicU64,
}

impl PoolCursor {
    fn size(&self) -> u64 {
        u64::from(self.last) - u64::from(self.first) + 1
    }
}

/// Allocation state of one subnet.
#[derive(Debug)]
pub(crate) struct SubnetCursor {
    pools: Vec<PoolCursor>,
    /// Index of the pool of the last pick.
    current: AtomicUsize,
}

impl SubnetCursor {
    pub(crate) fn new(subnet: &Subnet4) -> Self {
        SubnetCursor {
            pools: subnet
                .pools
                .iter()
                .map(|p| PoolCursor {
                    first: u32::from(p.first),
                    last: u32::from(p.last),
                    next: AtomicU64::new(0),
                })
                .collect(),
            current: AtomicUsize::new(0),
        }
    }

    /// A cursor for `subnet` that continues where `old` was for every pool with the same
    /// range (a reconfiguration keeps the allocation order).
    pub(crate) fn carried_over(subnet: &Subnet4, old: Option<&SubnetCursor>) -> Self {
        let new = SubnetCursor::new(subnet);
        if let Some(old) = old {
            for p in &new.pools {
                if let Some(o) = old
                    .pools
                    .iter()
                    .find(|o| o.first == p.first && o.last == p.last)
                {
                    p.next
                        .store(o.next.load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
            let cur = old.current.load(Ordering::Relaxed);
            if let Some(o) = old.pools.get(cur)
                && let Some(i) = new
                    .pools
                    .iter()
                    .position(|p| p.first == o.first && p.last == o.last)
            {
                new.current.store(i, Ordering::Relaxed);
            }
        }
        new
    }

    /// The next candidate among the pools of `pools` the client's classes allow, or `None`
    /// when none is allowed.
    pub(crate) fn pick(&self, pools: &[Pool], classes: &ClientClasses) -> Option<Ipv4Addr> {
        let allowed = |i: usize| {
            pools
                .get(i)
                .is_some_and(|p| classes.allows(p.client_class.as_deref()))
        };
        let first_allowed = (0..self.pools.len()).find(|&i| allowed(i))?;
        let mut i = self.current.load(Ordering::Relaxed);
        if !allowed(i) {
            i = first_allowed;
        }
        // At most one pass over the pools plus the rewind.
        for _ in 0..=self.pools.len() {
            let Some(p) = self.pools.get(i) else { break };
            let off = p.next.fetch_add(1, Ordering::Relaxed);
            if off < p.size() {
                self.current.store(i, Ordering::Relaxed);
                return u32::try_from(u64::from(p.first) + off)
                    .ok()
                    .map(Ipv4Addr::from);
            }
            // End of this pool: rewind it and continue with the next allowed one.
            p.next.store(0, Ordering::Relaxed);
            match (i + 1..self.pools.len()).find(|&j| allowed(j)) {
                Some(j) => i = j,
                None => {
                    // Past the last pool: Kea rewinds every allowed pool and starts over.
                    for (j, p) in self.pools.iter().enumerate() {
                        if allowed(j) {
                            p.next.store(0, Ordering::Relaxed);
                        }
                    }
                    i = first_allowed;
                }
            }
        }
        None
    }

    /// Number of addresses in the pools the client may use (Kea's `getPoolCapacity` with
    /// classes): the bound on candidates tried in this subnet.
    pub(crate) fn capacity(&self, pools: &[Pool], classes: &ClientClasses) -> u64 {
        self.pools
            .iter()
            .zip(pools)
            .filter(|(_, p)| classes.allows(p.client_class.as_deref()))
            .map(|(c, _)| c.size())
            .sum()
    }
}

const CLAIM_SHARDS: usize = 64;

/// Addresses whose lease this process is writing right now.
#[derive(Debug)]
pub(crate) struct Claims {
    shards: [Mutex<Vec<Ipv4Addr>>; CLAIM_SHARDS],
}

impl Default for Claims {
    fn default() -> Self {
        Claims {
            shards: std::array::from_fn(|_| Mutex::new(Vec::new())),
        }
    }
}

impl Claims {
    fn shard(&self, a: Ipv4Addr) -> &Mutex<Vec<Ipv4Addr>> {
        let h = u32::from(a).wrapping_mul(0x9e37_79b9) >> 26;
        // `h < 64` by construction; the fallback only keeps the lookup panic-free.
        self.shards.get(h as usize).unwrap_or(&self.shards[0])
    }

    /// Claims `a`; `None` when another packet holds it. The claim ends when the guard drops.
    pub(crate) fn claim(&self, a: Ipv4Addr) -> Option<Claim<'_>> {
        // The lock is held for a few instructions and never across an await.
        let mut held = self
            .shard(a)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.contains(&a) {
            return None;
        }
        held.push(a);
        Some(Claim {
            claims: self,
            addr: a,
        })
    }
}

/// An address claimed by one packet.
#[derive(Debug)]
pub(crate) struct Claim<'c> {
    claims: &'c Claims,
    addr: Ipv4Addr,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut held = self
            .claims
            .shard(self.addr)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = held.iter().position(|x| *x == self.addr) {
            held.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pool(a: u8, b: u8, class: Option<&str>) -> Pool {
        Pool {
            first: Ipv4Addr::new(10, 0, 0, a),
            last: Ipv4Addr::new(10, 0, 0, b),
            options: vec![],
            client_class: class.map(str::to_string),
            require_client_classes: vec![],
            user_context: None,
        }
    }

    fn cursor(pools: &[Pool]) -> SubnetCursor {
        SubnetCursor {
            pools: pools
                .iter()
                .map(|p| PoolCursor {
                    first: u32::from(p.first),
                    last: u32::from(p.last),
                    next: AtomicU64::new(0),
                })
                .collect(),
            current: AtomicUsize::new(0),
        }
    }

    fn last(a: Option<Ipv4Addr>) -> u8 {
        a.map_or(0, |a| a.octets()[3])
    }

    #[test]
    fn walks_pools_in_order_and_wraps() {
        let pools = [pool(10, 12, None), pool(20, 21, None)];
        let c = cursor(&pools);
        let cl = ClientClasses::default();
        let got: Vec<u8> = (0..7).map(|_| last(c.pick(&pools, &cl))).collect();
        assert_eq!(got, [10, 11, 12, 20, 21, 10, 11]);
        assert_eq!(c.capacity(&pools, &cl), 5);
    }

    #[test]
    fn class_restricted_pools_keep_their_own_position() {
        let pools = [pool(10, 19, Some("a")), pool(20, 29, Some("b"))];
        let c = cursor(&pools);
        let mut a = ClientClasses::default();
        a.insert(Arc::from("a"));
        let mut b = ClientClasses::default();
        b.insert(Arc::from("b"));
        assert_eq!(last(c.pick(&pools, &a)), 10);
        assert_eq!(last(c.pick(&pools, &b)), 20);
        assert_eq!(last(c.pick(&pools, &a)), 11);
        assert_eq!(last(c.pick(&pools, &b)), 21);
        assert_eq!(c.pick(&pools, &ClientClasses::default()), None);
        assert_eq!(c.capacity(&pools, &a), 10);
    }

    #[test]
    fn reconfiguration_keeps_positions_of_unchanged_pools() {
        let text = r#"{"Dhcp4":{"subnet4":[{"id":1,"subnet":"10.0.0.0/24",
            "pools":[{"pool":"10.0.0.10-10.0.0.19"}]}]}}"#;
        let cfg = nestor_config::parse_dhcp4_str_with(text, "t", &Default::default())
            .map_err(|e| e.to_string())
            .unwrap()
            .config;
        let s = &cfg.subnets[0];
        let c = SubnetCursor::new(s);
        let cl = ClientClasses::default();
        c.pick(&s.pools, &cl);
        c.pick(&s.pools, &cl);
        let d = SubnetCursor::carried_over(s, Some(&c));
        assert_eq!(last(d.pick(&s.pools, &cl)), 12);
    }

    #[test]
    fn claims_are_exclusive_until_dropped() {
        let claims = Claims::default();
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let g = claims.claim(a);
        assert!(g.is_some());
        assert!(claims.claim(a).is_none());
        assert!(claims.claim(Ipv4Addr::new(10, 0, 0, 2)).is_some());
        drop(g);
        assert!(claims.claim(a).is_some());
    }
}
