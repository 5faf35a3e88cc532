//! One exchange: acceptance, classification, then the per-message logic of Kea 2.2's
//! `Dhcpv4Srv::processDiscover/Request/Decline/Release/Inform` and `AllocEngine::
//! discoverLease4/requestLease4` (reference 6.1 to 6.5).

use std::net::Ipv4Addr;
use std::sync::Arc;

use nestor_config::dhcp4::{LeaseParams, Reservation, Subnet4};
use nestor_leases::{
    ClientId, Hostname, HwAddr, Lease4, LeaseError, LeaseState, LeaseStore, UnixTime,
};
use nestor_proto::pkt::{BROADCAST_FLAG, EncodeLimits, MessageBuilder, MessageType, Packet, code};

use super::classify::{ClientClasses, circuit_id, served_type};
use super::hosts::{ClientIdentifiers, HostRef, resolve};
use super::names::{self, ClientName};
use super::reply::{self, OptionLevels};
use super::stats::{Stat, StatDeltas};
use super::{DropReason, Engine, LeaseChange, Outcome, RecvMeta, Reply, select};

pub(crate) struct Exchange<'e, 'p, 'a> {
    engine: &'e Engine,
    pkt: &'p Packet<'a>,
    meta: &'p RecvMeta,
    qtype: MessageType,
    hwaddr: HwAddr,
    client_id: Option<ClientId>,
    circuit: Option<Vec<u8>>,
    classes: ClientClasses,
    subnet: Option<usize>,
    host: Option<HostRef>,
    stats: StatDeltas,
    changes: Vec<LeaseChange>,
}

/// What the allocation decided.
enum Decision {
    Lease { addr: Ipv4Addr, subnet: usize },
    Nak,
    Drop(DropReason),
}

fn malformed(e: impl std::fmt::Display) -> DropReason {
    DropReason::MalformedOption(e.to_string())
}

impl<'e, 'p, 'a> Exchange<'e, 'p, 'a> {
    /// Acceptance checks, classification, subnet selection and host lookup.
    pub(crate) fn start(
        engine: &'e Engine,
        pkt: &'p Packet<'a>,
        meta: &'p RecvMeta,
        extra: &[Arc<str>],
    ) -> Result<Self, DropReason> {
        let cfg = &*engine.cfg;
        if pkt.op() != nestor_proto::pkt::BOOTREQUEST {
            return Err(DropReason::NotRequest);
        }
        let qtype = pkt
            .message_type()
            .map_err(malformed)?
            .ok_or(DropReason::NoMessageType)?;
        if !served_type(qtype) {
            return Err(DropReason::UnsupportedType(qtype));
        }
        let client_id = match pkt.client_id().map_err(malformed)? {
            Some(raw) => Some(ClientId::new(&raw).map_err(|_| DropReason::BadClientId)?),
            None => None,
        };
        let hwaddr = HwAddr::new(pkt.htype(), pkt.chaddr()).unwrap_or(HwAddr::EMPTY);
        if hwaddr.is_empty() && client_id.is_none() && qtype != MessageType::Inform {
            return Err(DropReason::NoClientIdentity);
        }
        if let Some(sid) = pkt.server_id().map_err(malformed)? {
            if qtype == MessageType::Discover {
                return Err(DropReason::ServerIdInDiscover);
            }
            let override_id = pkt
                .relay_agent_info()
                .and_then(|r| r.server_id_override().ok().flatten());
            let ours = engine.socket_addrs.contains(&sid)
                || meta.iface_addrs.contains(&sid)
                || (!meta.local_addr.is_unspecified() && meta.local_addr == sid)
                || engine.configured_ids.contains(&sid)
                || override_id == Some(sid);
            if !ours {
                return Err(DropReason::ServerIdMismatch(sid));
            }
        }
        if qtype == MessageType::Inform
            && pkt.giaddr().is_unspecified()
            && meta.src.ip().is_unspecified()
            && pkt.ciaddr().is_unspecified()
        {
            return Err(DropReason::InformNoAddress);
        }
        let mut classes = engine
            .classes
            .classify(&cfg.client_classes, pkt, meta, extra);
        if classes.contains("DROP") {
            return Err(DropReason::DropClass);
        }
        let subnet = select::select(cfg, pkt, meta, &classes);
        if subnet.is_none() && pkt.giaddr().is_unspecified() && meta.broadcast {
            return Err(DropReason::NotDirectlyConnected);
        }
        let mut ex = Exchange {
            engine,
            pkt,
            meta,
            qtype,
            hwaddr,
            client_id,
            circuit: circuit_id(pkt),
            classes: ClientClasses::default(),
            subnet,
            host: None,
            stats: StatDeltas::default(),
            changes: Vec::new(),
        };
        ex.host = ex.lookup_host(subnet);
        if let Some(h) = ex.host.and_then(|h| resolve(cfg, h)) {
            for c in &h.client_classes {
                match engine.classes.interned(c) {
                    Some(name) => classes.insert(name.clone()),
                    None => classes.insert(Arc::from(c.as_str())),
                }
            }
            classes.insert(engine.classes.known.clone());
        } else {
            classes.insert(engine.classes.unknown.clone());
        }
        engine
            .classes
            .classify_after_host(&cfg.client_classes, pkt, meta, &mut classes);
        if classes.contains("DROP") {
            return Err(DropReason::DropClass);
        }
        ex.classes = classes;
        Ok(ex)
    }

    fn lookup_host(&self, subnet: Option<usize>) -> Option<HostRef> {
        let cfg = &*self.engine.cfg;
        if self.engine.hosts.is_empty() {
            return None;
        }
        let s = subnet.and_then(|i| cfg.subnets.get(i));
        let flags = s.map_or(cfg.global_params.reservations, |s| s.params.reservations);
        let ids = ClientIdentifiers {
            hwaddr: self.hwaddr.as_bytes(),
            client_id: self.client_id.as_ref().map(ClientId::as_bytes),
            circuit_id: self.circuit.as_deref(),
        };
        self.engine.hosts.find(s.map(|s| s.id), flags, &ids)
    }

    fn subnet_cfg(&self, i: usize) -> Option<&'e Subnet4> {
        self.engine.cfg.subnets.get(i)
    }

    fn host_cfg(&self) -> Option<&'e Reservation> {
        self.host.and_then(|h| resolve(&self.engine.cfg, h))
    }

    /// The reserved address when it belongs to subnet `i`.
    fn reserved_addr(&self, i: usize) -> Option<Ipv4Addr> {
        let s = self.subnet_cfg(i)?;
        self.host_cfg()?
            .ip_address
            .filter(|a| s.prefix.contains(*a))
    }

    /// The client identifier as the lease stores and matches it in subnet `i`.
    fn cid_for(&self, i: usize) -> Option<&ClientId> {
        self.subnet_cfg(i)
            .filter(|s| s.params.match_client_id)
            .and(self.client_id.as_ref())
    }

    /// Kea's `addressReserved`: `addr` is reserved in subnet `i` for another host.
    fn reserved_for_other(&self, i: usize, addr: Ipv4Addr) -> bool {
        let Some(s) = self.subnet_cfg(i) else {
            return false;
        };
        let flags = s.params.reservations;
        if !flags.in_subnet || (flags.out_of_pool && s.pools.iter().any(|p| p.contains(addr))) {
            return false;
        }
        match self.engine.hosts.by_address(s.id, flags, addr) {
            Some(h) => Some(h) != self.host,
            None => false,
        }
    }

    /// The subnet of `chain` with a pool the client may use containing `addr`
    /// (Kea's `inAllowedPool`).
    fn in_allowed_pool(&self, chain: &[usize], addr: Ipv4Addr) -> Option<usize> {
        chain.iter().copied().find(|&i| {
            self.subnet_cfg(i).is_some_and(|s| {
                s.pools
                    .iter()
                    .any(|p| p.contains(addr) && self.classes.allows(p.client_class.as_deref()))
            })
        })
    }

    /// Kea's `findClientLease`: by client identifier (subnets with `match-client-id`), then by
    /// hardware address with `belongsToClient`, subnet by subnet along `chain`.
    async fn find_client_lease<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        chain: &[usize],
    ) -> Result<Option<(Lease4, usize)>, LeaseError> {
        if let Some(cid) = &self.client_id
            && chain
                .iter()
                .any(|&i| self.subnet_cfg(i).is_some_and(|s| s.params.match_client_id))
        {
            let leases = store.get_by_client_id(cid, None).await?;
            for &i in chain {
                let Some(s) = self.subnet_cfg(i) else {
                    continue;
                };
                if !s.params.match_client_id {
                    continue;
                }
                if let Some(l) = leases.iter().find(|l| l.subnet_id == s.id) {
                    return Ok(Some((l.clone(), i)));
                }
            }
        }
        if !self.hwaddr.is_empty() {
            let leases = store.get_by_hwaddr(&self.hwaddr, None).await?;
            for &i in chain {
                let Some(s) = self.subnet_cfg(i) else {
                    continue;
                };
                let cid = self.cid_for(i);
                if let Some(l) = leases
                    .iter()
                    .find(|l| l.subnet_id == s.id && l.belongs_to_client(Some(&self.hwaddr), cid))
                {
                    return Ok(Some((l.clone(), i)));
                }
            }
        }
        Ok(None)
    }

    /// Whether `addr` can be given to this client: no lease, an expired or reclaimed lease, or
    /// the client's own lease.
    async fn usable<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        addr: Ipv4Addr,
        subnet: usize,
        now: UnixTime,
    ) -> Result<bool, LeaseError> {
        Ok(match store.get(addr).await? {
            None => true,
            Some(l) => {
                l.is_expired(now)
                    || l.state == LeaseState::ExpiredReclaimed
                    || (l.state == LeaseState::Default
                        && l.belongs_to_client(Some(&self.hwaddr), self.cid_for(subnet)))
            }
        })
    }

    pub(crate) async fn run<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        now: UnixTime,
    ) -> Outcome {
        let result = match self.qtype {
            MessageType::Discover => self.discover(store, now).await,
            MessageType::Request => self.request(store, now).await,
            MessageType::Decline => self.decline(store, now).await,
            MessageType::Release => self.release(store).await,
            _ => Ok(self.inform()),
        };
        match result {
            Ok(o) => o,
            Err(e) => Outcome::Drop {
                reason: DropReason::LeaseStore(e.to_string()),
                stats: std::mem::take(&mut self.stats),
            },
        }
    }

    fn requested_address(&self) -> Result<Option<Ipv4Addr>, DropReason> {
        self.pkt.requested_address().map_err(malformed)
    }

    // ---- DISCOVER ----

    async fn discover<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        now: UnixTime,
    ) -> Result<Outcome, LeaseError> {
        let cfg = &*self.engine.cfg;
        let Some(first) = self.subnet else {
            return Ok(Outcome::drop(DropReason::NoSubnet));
        };
        let hint = match self.requested_address() {
            Ok(h) => h.unwrap_or(self.pkt.ciaddr()),
            Err(r) => return Ok(Outcome::drop(r)),
        };
        let mut chain = select::chain(cfg, first, &self.classes);
        let client_lease = self.find_client_lease(store, &chain).await?;
        if let Some((_, i)) = &client_lease
            && *i != first
        {
            self.switch_subnet(*i, &mut chain);
        }
        let sub = chain.first().copied().unwrap_or(first);

        // 1. The reserved address, if free or already the client's.
        if let Some(r) = self.reserved_addr(sub)
            && (client_lease.as_ref().is_some_and(|(l, _)| l.address == r)
                || self.usable(store, r, sub, now).await?)
        {
            return Ok(self.offer(r, sub));
        }
        // 2. The client's lease (also an expired or reclaimed one: lease affinity).
        if let Some((l, i)) = &client_lease
            && self.in_allowed_pool(&chain, l.address).is_some()
            && !self.reserved_for_other(*i, l.address)
        {
            return Ok(self.offer(l.address, *i));
        }
        // 3. The requested address.
        if !hint.is_unspecified()
            && let Some(i) = self.in_allowed_pool(&chain, hint)
            && !self.reserved_for_other(i, hint)
            && self.usable(store, hint, i, now).await?
        {
            return Ok(self.offer(hint, i));
        }
        // 4. The iterative allocator.
        match self.iterate(store, &chain, now, false).await? {
            Some((addr, i)) => Ok(self.offer(addr, i)),
            None => {
                self.allocation_failed(&chain);
                Ok(Outcome::Drop {
                    reason: DropReason::NoAddress,
                    stats: std::mem::take(&mut self.stats),
                })
            }
        }
    }

    fn sid(&self, i: usize) -> u32 {
        self.subnet_cfg(i).map_or(0, |s| s.id)
    }

    /// The client's lease is in another subnet of the shared network: serve it from there.
    fn switch_subnet(&mut self, i: usize, chain: &mut select::Chain) {
        self.subnet = Some(i);
        *chain = select::chain(&self.engine.cfg, i, &self.classes);
        self.host = self.lookup_host(Some(i));
    }

    /// Walks the allocator over `chain`. Without `commit`, returns the first usable address
    /// (an OFFER); with it, claims and writes the lease, moving on when another packet or
    /// server got there first.
    async fn iterate<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        chain: &[usize],
        now: UnixTime,
        commit: bool,
    ) -> Result<Option<(Ipv4Addr, usize)>, LeaseError> {
        for &i in chain {
            let (Some(s), Some(cursor)) = (self.subnet_cfg(i), self.engine.cursors.get(i)) else {
                continue;
            };
            let capacity = cursor.capacity(&s.pools, &self.classes);
            let mut tried = 0u64;
            while tried < capacity {
                tried += 1;
                let Some(addr) = cursor.pick(&s.pools, &self.classes) else {
                    break;
                };
                if self.reserved_for_other(i, addr) {
                    continue;
                }
                if !commit {
                    if self.free_for_new(store, addr, now).await? {
                        return Ok(Some((addr, i)));
                    }
                    continue;
                }
                let engine = self.engine;
                let Some(_claim) = engine.claims.claim(addr) else {
                    continue;
                };
                // Read again under the claim: the OFFER-time view may be stale.
                let existing = store.get(addr).await?;
                if existing
                    .as_ref()
                    .is_some_and(|l| !l.is_expired(now) && l.state != LeaseState::ExpiredReclaimed)
                {
                    continue;
                }
                match self.write_new(store, addr, i, existing, now).await {
                    Ok(()) => return Ok(Some((addr, i))),
                    // Another server sharing the database got there first.
                    Err(LeaseError::Conflict { .. } | LeaseError::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    /// No lease, or one that expired (or was reclaimed): free for a new client.
    async fn free_for_new<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        addr: Ipv4Addr,
        now: UnixTime,
    ) -> Result<bool, LeaseError> {
        Ok(store
            .get(addr)
            .await?
            .is_none_or(|l| l.is_expired(now) || l.state == LeaseState::ExpiredReclaimed))
    }

    /// Kea 2.2's statistics of a failed allocation (`allocateUnreservedLease4`), observed on
    /// kea-dhcp4 2.2: `v4-allocation-fail-subnet` (or `-shared-network`), then
    /// `v4-allocation-fail` when some pool was tried (`-no-pools` when none was allowed), then
    /// `v4-allocation-fail-classes` whenever the packet has classes, which is always (`ALL`);
    /// each globally and for the subnet.
    fn allocation_failed(&mut self, chain: &[usize]) {
        let cfg = &*self.engine.cfg;
        let Some(&first) = chain.first() else { return };
        let id = self.sid(first);
        let attempts: u64 = chain
            .iter()
            .filter_map(|&i| Some((self.subnet_cfg(i)?, self.engine.cursors.get(i)?)))
            .map(|(s, c)| c.capacity(&s.pools, &self.classes))
            .sum();
        if cfg
            .subnets
            .get(first)
            .and_then(|s| s.shared_network)
            .is_some()
        {
            self.stats
                .add_both(Stat::AllocationFailSharedNetwork, id, 1);
        } else {
            self.stats.add_both(Stat::AllocationFailSubnet, id, 1);
        }
        if attempts == 0 {
            self.stats.add_both(Stat::AllocationFailNoPools, id, 1);
        } else {
            self.stats.add_both(Stat::AllocationFail, id, 1);
        }
        if self.classes.iter().next().is_some() {
            self.stats.add_both(Stat::AllocationFailClasses, id, 1);
        }
    }

    // ---- REQUEST ----

    async fn request<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        now: UnixTime,
    ) -> Result<Outcome, LeaseError> {
        let cfg = &*self.engine.cfg;
        let opt50 = match self.requested_address() {
            Ok(a) => a,
            Err(r) => return Ok(Outcome::drop(r)),
        };
        let has_sid = self.pkt.has_option(code::SERVER_ID);
        let Some(first) = self.subnet else {
            // Kea: DHCP4_PACKET_NAK_0001, no subnet for a REQUEST.
            return Ok(self.nak());
        };
        let authoritative = self
            .subnet_cfg(first)
            .is_some_and(|s| s.params.authoritative);
        let ciaddr = self.pkt.ciaddr();
        let hint = opt50.unwrap_or(ciaddr);
        let mut chain = select::chain(cfg, first, &self.classes);
        let client_lease = self.find_client_lease(store, &chain).await?;

        // INIT-REBOOT: no server identifier, option 50.
        if !has_sid && let Some(requested) = opt50 {
            let known = client_lease.as_ref();
            if known.is_none() && !authoritative {
                return Ok(Outcome::drop(DropReason::InitRebootUnknownClient(
                    requested,
                )));
            }
            let in_range = self
                .subnet_cfg(first)
                .is_some_and(|s| s.prefix.contains(requested));
            if known.is_some_and(|(l, _)| l.address != requested) || known.is_none() || !in_range {
                return Ok(self.nak());
            }
        }
        if let Some((_, i)) = &client_lease
            && *i != first
        {
            self.switch_subnet(*i, &mut chain);
        }
        let sub = chain.first().copied().unwrap_or(first);

        let decision = self
            .request_lease(store, &chain, sub, hint, client_lease.as_ref(), now)
            .await?;
        match decision {
            Decision::Lease { addr, subnet } => Ok(self.ack(addr, subnet)),
            Decision::Nak => Ok(self.nak()),
            Decision::Drop(r) => Ok(Outcome::Drop {
                reason: r,
                stats: std::mem::take(&mut self.stats),
            }),
        }
    }

    /// Kea's `AllocEngine::requestLease4`.
    async fn request_lease<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        chain: &[usize],
        sub: usize,
        hint: Ipv4Addr,
        client_lease: Option<&(Lease4, usize)>,
        now: UnixTime,
    ) -> Result<Decision, LeaseError> {
        let reserved = self.reserved_addr(sub);
        let mut requested = hint;
        if !requested.is_unspecified() {
            if self.reserved_for_other(sub, requested) {
                return Ok(Decision::Nak);
            }
        } else if let Some(r) = reserved {
            requested = r;
        }
        if !requested.is_unspecified() {
            if let Some(l) = store.get(requested).await?
                && !l.is_expired(now)
                && l.state != LeaseState::ExpiredReclaimed
                && !l.belongs_to_client(Some(&self.hwaddr), self.cid_for(sub))
            {
                return Ok(Decision::Nak);
            }
            if let Some(r) = reserved
                && r != requested
                && self.free_for_new(store, r, now).await?
            {
                // The reserved address is free: the client should come back for it.
                return Ok(Decision::Nak);
            }
            if reserved != Some(requested) && self.in_allowed_pool(chain, requested).is_none() {
                // Kea: unknown_requested_addr_; not in any pool of the network -> no NAK.
                let in_any_pool = chain.iter().any(|&i| {
                    self.subnet_cfg(i)
                        .is_some_and(|s| s.pools.iter().any(|p| p.contains(requested)))
                });
                return Ok(if in_any_pool {
                    Decision::Nak
                } else {
                    Decision::Drop(DropReason::UnknownAddressRequested(requested))
                });
            }
        }
        // Renew the client's lease when it asks for it (or for nothing).
        if let Some((l, li)) = client_lease
            && (l.address == requested || requested.is_unspecified())
            && (reserved == Some(l.address) || self.in_allowed_pool(chain, l.address).is_some())
        {
            let engine = self.engine;
            let Some(_claim) = engine.claims.claim(l.address) else {
                return Ok(Decision::Drop(DropReason::InFlight(l.address)));
            };
            let current = store.get(l.address).await?;
            self.write_renew(store, l.address, *li, current, now)
                .await?;
            return Ok(Decision::Lease {
                addr: l.address,
                subnet: *li,
            });
        }
        let got = if !requested.is_unspecified() {
            let i = self
                .in_allowed_pool(chain, requested)
                .or_else(|| (reserved == Some(requested)).then_some(sub))
                .unwrap_or(sub);
            let engine = self.engine;
            let Some(_claim) = engine.claims.claim(requested) else {
                return Ok(Decision::Drop(DropReason::InFlight(requested)));
            };
            let existing = store.get(requested).await?;
            if existing
                .as_ref()
                .is_some_and(|l| !l.is_expired(now) && l.state != LeaseState::ExpiredReclaimed)
            {
                None
            } else {
                match self.write_new(store, requested, i, existing, now).await {
                    Ok(()) => Some((requested, i)),
                    Err(LeaseError::Conflict { .. } | LeaseError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                }
            }
        } else {
            let got = self.iterate(store, chain, now, true).await?;
            if got.is_none() {
                self.allocation_failed(chain);
            }
            got
        };
        let Some((addr, i)) = got else {
            return Ok(Decision::Nak);
        };
        // The client moved: its old lease goes.
        if let Some((old, _)) = client_lease
            && old.address != addr
            && let Some(gone) = store.delete(old.address).await?
        {
            if gone.state == LeaseState::Default {
                self.stats
                    .add(Stat::AssignedAddresses, Some(gone.subnet_id), -1);
            }
            self.changes.push(LeaseChange::Deleted(gone));
        }
        Ok(Decision::Lease { addr, subnet: i })
    }

    fn new_lease(&self, addr: Ipv4Addr, i: usize, now: UnixTime) -> Lease4 {
        let cfg = &*self.engine.cfg;
        let params = self.subnet_cfg(i).map_or(&cfg.global_params, |s| &s.params);
        let valid = self.lifetime(params);
        let mut l = Lease4::new(
            addr,
            self.hwaddr,
            self.cid_for(i).cloned(),
            valid,
            now,
            self.sid(i),
        );
        l.hostname = self
            .client_name(addr, params)
            .map_or_else(Hostname::default, |n| Hostname::new(&n.lease_hostname));
        l
    }

    fn lifetime(&self, params: &LeaseParams) -> u32 {
        let requested = self.pkt.lease_time().ok().flatten();
        reply::valid_lifetime(&self.engine.cfg, params, &self.classes, requested)
    }

    /// The client's name for `addr` in subnet params `params` (option 81 wins over 12;
    /// see [`names`]).
    fn client_name(&self, addr: Ipv4Addr, params: &LeaseParams) -> Option<ClientName> {
        let reserved = self.host_cfg().map(|h| h.hostname.as_str());
        if let Ok(Some(fqdn)) = self.pkt.client_fqdn() {
            return Some(names::fqdn_option(&fqdn, reserved, params, addr));
        }
        let sent = self.pkt.hostname();
        names::hostname_option(sent.as_deref(), reserved, params)
    }

    /// Writes a lease for `addr` for this client, replacing an expired or reclaimed one.
    async fn write_new<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        addr: Ipv4Addr,
        i: usize,
        existing: Option<Lease4>,
        now: UnixTime,
    ) -> Result<(), LeaseError> {
        let lease = self.new_lease(addr, i, now);
        match existing {
            None => store.add(lease.clone()).await?,
            Some(old) => {
                store.update(lease.clone()).await?;
                self.inline_reclaim_stats(&old, now);
            }
        }
        let id = lease.subnet_id;
        self.stats.add(Stat::AssignedAddresses, Some(id), 1);
        self.stats
            .add_both(Stat::CumulativeAssignedAddresses, id, 1);
        self.changes.push(LeaseChange::Added(lease));
        Ok(())
    }

    /// Statistics of an expired lease reclaimed on the spot to be reused (Kea's
    /// `reclaimExpiredLease` called from the allocation engine).
    fn inline_reclaim_stats(&mut self, old: &Lease4, now: UnixTime) {
        if old.state == LeaseState::ExpiredReclaimed || !old.is_expired(now) {
            return;
        }
        let id = old.subnet_id;
        self.stats.add(Stat::AssignedAddresses, Some(id), -1);
        self.stats.add_both(Stat::ReclaimedLeases, id, 1);
        if old.state == LeaseState::Declined {
            self.stats.add_both(Stat::DeclinedAddresses, id, -1);
            self.stats.add_both(Stat::ReclaimedDeclinedAddresses, id, 1);
        }
    }

    /// Renews the client's own lease (Kea's `renewLease4`).
    async fn write_renew<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        addr: Ipv4Addr,
        i: usize,
        current: Option<Lease4>,
        now: UnixTime,
    ) -> Result<(), LeaseError> {
        let mut lease = self.new_lease(addr, i, now);
        match current {
            None => {
                store.add(lease.clone()).await?;
                let id = lease.subnet_id;
                self.stats.add(Stat::AssignedAddresses, Some(id), 1);
                self.stats
                    .add_both(Stat::CumulativeAssignedAddresses, id, 1);
            }
            Some(old) => {
                lease.fqdn_fwd = old.fqdn_fwd;
                lease.fqdn_rev = old.fqdn_rev;
                lease.user_context = old.user_context.clone();
                store.update(lease.clone()).await?;
                let was_live = old.state == LeaseState::Default && !old.is_expired(now);
                if !was_live {
                    self.inline_reclaim_stats(&old, now);
                    self.stats
                        .add(Stat::AssignedAddresses, Some(lease.subnet_id), 1);
                    self.stats
                        .add_both(Stat::CumulativeAssignedAddresses, lease.subnet_id, 1);
                } else if old.subnet_id != lease.subnet_id {
                    self.stats
                        .add(Stat::AssignedAddresses, Some(old.subnet_id), -1);
                    self.stats
                        .add(Stat::AssignedAddresses, Some(lease.subnet_id), 1);
                }
            }
        }
        self.changes.push(LeaseChange::Updated(lease));
        Ok(())
    }

    // ---- DECLINE, RELEASE ----

    async fn decline<S: LeaseStore + ?Sized>(
        &mut self,
        store: &S,
        now: UnixTime,
    ) -> Result<Outcome, LeaseError> {
        let addr = match self.requested_address() {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(Outcome::drop(DropReason::DeclineNoAddress)),
            Err(r) => return Ok(Outcome::drop(r)),
        };
        let engine = self.engine;
        let Some(_claim) = engine.claims.claim(addr) else {
            return Ok(Outcome::drop(DropReason::InFlight(addr)));
        };
        // Kea: DHCP4_DECLINE_LEASE_NOT_FOUND / DHCP4_DECLINE_LEASE_MISMATCH are logged only.
        if let Some(mut lease) = store.get(addr).await?
            && lease.belongs_to_client(Some(&self.hwaddr), self.client_id.as_ref())
        {
            lease.decline(engine.cfg.decline_probation_period, now);
            store.update(lease.clone()).await?;
            self.stats
                .add_both(Stat::DeclinedAddresses, lease.subnet_id, 1);
            self.changes.push(LeaseChange::Updated(lease));
        }
        Ok(self.no_reply())
    }

    async fn release<S: LeaseStore + ?Sized>(&mut self, store: &S) -> Result<Outcome, LeaseError> {
        let addr = self.pkt.ciaddr();
        let engine = self.engine;
        let Some(_claim) = engine.claims.claim(addr) else {
            return Ok(Outcome::drop(DropReason::InFlight(addr)));
        };
        // Kea matches the release by the client identifier it carries, whatever
        // match-client-id says (no subnet is selected for a RELEASE).
        if let Some(lease) = store.get(addr).await?
            && lease.belongs_to_client(Some(&self.hwaddr), self.client_id.as_ref())
            && let Some(gone) = store.delete(addr).await?
        {
            if gone.state == LeaseState::Default {
                self.stats
                    .add(Stat::AssignedAddresses, Some(gone.subnet_id), -1);
            }
            self.changes.push(LeaseChange::Deleted(gone));
        }
        Ok(self.no_reply())
    }

    fn no_reply(&mut self) -> Outcome {
        Outcome::NoReply {
            changes: std::mem::take(&mut self.changes),
            stats: std::mem::take(&mut self.stats),
        }
    }

    // ---- replies ----

    fn base(&self, t: MessageType) -> MessageBuilder {
        let mut msg = MessageBuilder::new(nestor_proto::pkt::BOOTREPLY);
        msg.reply_to(self.pkt, t);
        if self.engine.cfg.echo_client_id
            && let Some(cid) = &self.client_id
        {
            let _ = msg.set_option(code::CLIENT_ID, cid.as_bytes());
        }
        if let Some(rai) = self
            .pkt
            .option(code::RELAY_AGENT_INFO)
            .filter(|r| !r.is_empty())
        {
            let _ = msg.set_option(code::RELAY_AGENT_INFO, &rai);
        }
        if let Some(sel) = self.pkt.option(code::SUBNET_SELECTION) {
            let _ = msg.set_option(code::SUBNET_SELECTION, &sel);
        }
        msg
    }

    fn finish(
        &mut self,
        mut msg: MessageBuilder,
        t: MessageType,
        yiaddr: Ipv4Addr,
        subnet: Option<usize>,
    ) -> Outcome {
        let cfg = &*self.engine.cfg;
        let s = subnet.and_then(|i| self.subnet_cfg(i));
        let levels = OptionLevels::new(cfg, self.host_cfg(), s, yiaddr, &self.classes);
        let sid = reply::server_id(levels.server_id(), self.meta);
        let _ = msg.set_option(code::SERVER_ID, &sid.octets());
        let mut dest = reply::destination(self.pkt, self.meta, t, yiaddr, self.qtype);
        if self.qtype == MessageType::Inform {
            if self.pkt.ciaddr().is_unspecified() && !self.pkt.giaddr().is_unspecified() {
                msg.set_flags(self.pkt.flags() | BROADCAST_FLAG);
            }
            if !matches!(dest, reply::Destination::Relay(_)) {
                msg.set_hops(0).set_giaddr(Ipv4Addr::UNSPECIFIED);
                msg.remove_option(code::RELAY_AGENT_INFO);
            }
            dest = reply::destination(self.pkt, self.meta, t, yiaddr, self.qtype);
        }
        Outcome::Reply(Box::new(Reply {
            msg,
            dest,
            limits: EncodeLimits::unlimited(),
            changes: std::mem::take(&mut self.changes),
            stats: std::mem::take(&mut self.stats),
            subnet_id: s.map(|s| s.id),
            message_type: t,
            classes: std::mem::take(&mut self.classes),
        }))
    }

    /// Evaluates the classes required by the subnet, its shared network and the pool of
    /// `addr` (Kea's `requiredClassify`, run once the lease is known).
    fn classify_required(&mut self, s: Option<&'e Subnet4>, addr: Ipv4Addr) {
        let Some(s) = s else { return };
        let cfg = &*self.engine.cfg;
        let pool = s.pools.iter().find(|p| p.contains(addr));
        let network = s.shared_network.and_then(|n| cfg.shared_networks.get(n));
        // Kea's order: shared network, then subnet, then pool.
        let required = network
            .map(|n| n.require_client_classes.as_slice())
            .unwrap_or_default()
            .iter()
            .chain(s.require_client_classes.iter())
            .chain(
                pool.map(|p| p.require_client_classes.as_slice())
                    .unwrap_or_default(),
            )
            .map(String::as_str);
        self.engine.classes.classify_required(
            &cfg.client_classes,
            required,
            self.pkt,
            self.meta,
            &mut self.classes,
        );
    }

    /// OFFER or ACK for `addr` in subnet `i`.
    fn lease_reply(&mut self, t: MessageType, addr: Ipv4Addr, i: usize) -> Outcome {
        let cfg = &*self.engine.cfg;
        let Some(s) = self.subnet_cfg(i) else {
            return Outcome::drop(DropReason::NoSubnet);
        };
        let mut msg = self.base(t);
        msg.set_yiaddr(addr);
        if t == MessageType::Ack {
            msg.set_ciaddr(self.pkt.ciaddr());
        }
        self.classify_required(Some(s), addr);
        let valid = self.lifetime(&s.params);
        let _ = msg.set_option(code::SUBNET_MASK, &reply::mask(s.prefix.prefix()).octets());
        let _ = msg.set_option(code::LEASE_TIME, &valid.to_be_bytes());
        let (t1, t2) = reply::tee_times(&s.params, valid);
        if let Some(t1) = t1 {
            let _ = msg.set_option(code::RENEWAL_TIME, &t1.to_be_bytes());
        }
        if let Some(t2) = t2 {
            let _ = msg.set_option(code::REBINDING_TIME, &t2.to_be_bytes());
        }
        if let Some(name) = self.client_name(addr, &s.params) {
            // Option 81 is always answered; option 12 when the client sent one, or asked for
            // it and has a reserved name.
            let (code, payload) = &name.option;
            let send = *code == code::CLIENT_FQDN
                || self.pkt.has_option(code::HOST_NAME)
                || self
                    .pkt
                    .parameter_request_list()
                    .is_some_and(|p| p.contains(&code::HOST_NAME));
            if send {
                let _ = msg.set_option(*code, payload);
            }
        }
        let levels = OptionLevels::new(cfg, self.host_cfg(), Some(s), addr, &self.classes);
        let prl = self.pkt.parameter_request_list().unwrap_or_default();
        levels.append(&mut msg, &prl);
        reply::set_fixed_fields(
            &mut msg,
            cfg,
            Some(&s.params),
            &self.classes,
            self.host_cfg(),
        );
        self.subnet = Some(i);
        self.finish(msg, t, addr, Some(i))
    }

    fn offer(&mut self, addr: Ipv4Addr, i: usize) -> Outcome {
        self.lease_reply(MessageType::Offer, addr, i)
    }

    fn ack(&mut self, addr: Ipv4Addr, i: usize) -> Outcome {
        self.lease_reply(MessageType::Ack, addr, i)
    }

    /// NAK: 53, 54, 61 / 82 / 118 echoes; yiaddr 0; no host name (reference 6.4).
    fn nak(&mut self) -> Outcome {
        let msg = self.base(MessageType::Nak);
        let subnet = self.subnet;
        self.finish(msg, MessageType::Nak, Ipv4Addr::UNSPECIFIED, subnet)
    }

    /// INFORM: an ACK with configuration options, no lease, yiaddr 0, ciaddr echoed.
    fn inform(&mut self) -> Outcome {
        let cfg = &*self.engine.cfg;
        let s = self.subnet.and_then(|i| self.subnet_cfg(i));
        self.classify_required(s, Ipv4Addr::UNSPECIFIED);
        let mut msg = self.base(MessageType::Ack);
        msg.set_ciaddr(self.pkt.ciaddr());
        let levels = OptionLevels::new(
            cfg,
            self.host_cfg(),
            s,
            Ipv4Addr::UNSPECIFIED,
            &self.classes,
        );
        let prl = self.pkt.parameter_request_list().unwrap_or_default();
        // Observed on kea-dhcp4 2.2: no subnet mask in the INFORM ACK even when requested
        // (the mask comes with a lease, and an INFORM has none).
        levels.append(&mut msg, &prl);
        reply::set_fixed_fields(
            &mut msg,
            cfg,
            s.map(|s| &s.params),
            &self.classes,
            self.host_cfg(),
        );
        let subnet = self.subnet;
        self.finish(msg, MessageType::Ack, Ipv4Addr::UNSPECIFIED, subnet)
    }
}
