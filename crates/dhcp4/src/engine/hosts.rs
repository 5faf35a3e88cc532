//! Host reservations from the configuration (Kea's `CfgHosts`, config-file backend).
//!
//! Indexed once per configuration: by (scope, identifier type, identifier bytes) for the
//! client lookup and by (scope, address) for Kea's `addressReserved` check, so the packet path
//! does hash lookups only. The scope is a subnet id, or [`GLOBAL`] for `Dhcp4.reservations`.
//!
//! Lookup follows `host-reservation-identifiers` order (the first identifier type with a match
//! wins, as Kea's `AllocEngine::findReservation`), and a subnet's own reservations take
//! precedence over global ones (`ClientContext4::currentHost`), each consulted only when the
//! subnet's `reservations-in-subnet` / `reservations-global` allow it. Identifiers are built
//! from the packet as Kea does: `hw-address` = chaddr, `client-id` = option 61 whole, `duid` =
//! option 61 after the type (255) and IAID bytes (RFC 4361), `circuit-id` = option 82.1.
//! `flex-id` needs the flex_id hook, which Nestor does not have: such reservations never match.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use nestor_config::Dhcp4Config;
use nestor_config::dhcp4::{IdentifierType, Reservation, ReservationFlags};

/// The scope id of global reservations (Kea's `SUBNET_ID_GLOBAL` is 0).
pub const GLOBAL: u32 = 0;

/// Where a reservation lives in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRef {
    /// `Dhcp4.reservations[i]`.
    Global(usize),
    /// `subnets[s].reservations[i]` (indexes into `Dhcp4Config::subnets`).
    Subnet(usize, usize),
}

/// The identifiers of one client, extracted from its packet once.
#[derive(Debug, Default)]
pub(crate) struct ClientIdentifiers<'a> {
    pub(crate) hwaddr: &'a [u8],
    pub(crate) client_id: Option<&'a [u8]>,
    pub(crate) circuit_id: Option<&'a [u8]>,
}

impl ClientIdentifiers<'_> {
    fn get(&self, kind: IdentifierType) -> Option<&[u8]> {
        match kind {
            IdentifierType::HwAddress => (!self.hwaddr.is_empty()).then_some(self.hwaddr),
            IdentifierType::ClientId => self.client_id,
            // RFC 4361: type 255, 4-byte IAID, then the DUID.
            IdentifierType::Duid => match self.client_id {
                Some([255, _, _, _, _, duid @ ..]) if !duid.is_empty() => Some(duid),
                _ => None,
            },
            IdentifierType::CircuitId => self.circuit_id,
            IdentifierType::FlexId => None,
        }
    }
}

/// Identifier bytes -> reservation, for one scope and identifier type.
type ById = HashMap<Box<[u8]>, HostRef>;

/// The reservation index.
#[derive(Debug, Default)]
pub(crate) struct HostIndex {
    /// (scope, identifier type) -> identifier bytes -> reservation: two levels so a lookup
    /// borrows the packet's bytes instead of building an owned key.
    by_id: HashMap<(u32, IdentifierType), ById>,
    by_addr: HashMap<(u32, Ipv4Addr), HostRef>,
    order: Vec<IdentifierType>,
}

impl HostIndex {
    pub(crate) fn new(cfg: &Dhcp4Config) -> Self {
        let mut idx = HostIndex {
            order: cfg.host_reservation_identifiers.clone(),
            ..Default::default()
        };
        for (i, r) in cfg.reservations.iter().enumerate() {
            idx.insert(GLOBAL, r, HostRef::Global(i));
        }
        for (s, subnet) in cfg.subnets.iter().enumerate() {
            for (i, r) in subnet.reservations.iter().enumerate() {
                idx.insert(subnet.id, r, HostRef::Subnet(s, i));
            }
        }
        idx
    }

    fn insert(&mut self, scope: u32, r: &Reservation, at: HostRef) {
        // The first definition wins; the config loader already refuses duplicates.
        self.by_id
            .entry((scope, r.identifier.kind))
            .or_default()
            .entry(r.identifier.value.clone().into_boxed_slice())
            .or_insert(at);
        if let Some(a) = r.ip_address {
            self.by_addr.entry((scope, a)).or_insert(at);
        }
    }

    /// Whether any reservation exists (Kea skips host lookups otherwise).
    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn find_in(&self, scope: u32, ids: &ClientIdentifiers<'_>) -> Option<HostRef> {
        self.order.iter().find_map(|kind| {
            let v = ids.get(*kind)?;
            self.by_id.get(&(scope, *kind))?.get(v).copied()
        })
    }

    /// The client's reservation for a subnet with `flags`.
    pub(crate) fn find(
        &self,
        subnet_id: Option<u32>,
        flags: ReservationFlags,
        ids: &ClientIdentifiers<'_>,
    ) -> Option<HostRef> {
        if self.by_id.is_empty() {
            return None;
        }
        if let Some(id) = subnet_id
            && flags.in_subnet
            && let Some(h) = self.find_in(id, ids)
        {
            return Some(h);
        }
        if flags.global || subnet_id.is_none() {
            return self.find_in(GLOBAL, ids);
        }
        None
    }

    /// The reservation holding `addr` in the subnet (Kea's `HostMgr::get4(subnet_id, addr)`),
    /// or globally when global reservations apply.
    pub(crate) fn by_address(
        &self,
        subnet_id: u32,
        flags: ReservationFlags,
        addr: Ipv4Addr,
    ) -> Option<HostRef> {
        if self.by_addr.is_empty() {
            return None;
        }
        if flags.in_subnet
            && let Some(h) = self.by_addr.get(&(subnet_id, addr))
        {
            return Some(*h);
        }
        if flags.global {
            return self.by_addr.get(&(GLOBAL, addr)).copied();
        }
        None
    }
}

/// Resolves a [`HostRef`] against the configuration it was built from.
pub(crate) fn resolve(cfg: &Dhcp4Config, h: HostRef) -> Option<&Reservation> {
    match h {
        HostRef::Global(i) => cfg.reservations.get(i),
        HostRef::Subnet(s, i) => cfg.subnets.get(s)?.reservations.get(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::parse_dhcp4_str_with;

    #[test]
    fn lookup_order_scopes_and_addresses() {
        let text = r#"{"Dhcp4":{
            "reservations-global": true,
            "host-reservation-identifiers": ["circuit-id","hw-address","duid","client-id"],
            "reservations":[{"hw-address":"aa:bb:cc:dd:ee:01","hostname":"global"}],
            "subnet4":[{"id":5,"subnet":"198.18.0.0/24","pools":[{"pool":"198.18.0.10-198.18.0.20"}],
              "reservations":[
                {"hw-address":"aa:bb:cc:dd:ee:01","ip-address":"198.18.0.100"},
                {"client-id":"01:02:03","ip-address":"198.18.0.101"},
                {"circuit-id":"'port1'","ip-address":"198.18.0.102"},
                {"duid":"00:01:02","ip-address":"198.18.0.103"}
              ]}]}}"#;
        let cfg = parse_dhcp4_str_with(text, "t", &Default::default())
            .map_err(|e| e.to_string())
            .unwrap()
            .config;
        let idx = HostIndex::new(&cfg);
        let flags = cfg.subnets[0].params.reservations;
        assert!(flags.in_subnet && flags.global);
        let ids = ClientIdentifiers {
            hwaddr: &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01],
            client_id: Some(&[1, 2, 3]),
            circuit_id: Some(b"port1"),
        };
        // circuit-id comes first in host-reservation-identifiers.
        assert_eq!(idx.find(Some(5), flags, &ids), Some(HostRef::Subnet(0, 2)));
        let ids = ClientIdentifiers {
            client_id: Some(&[255, 0, 0, 0, 1, 0, 1, 2]),
            ..Default::default()
        };
        assert_eq!(idx.find(Some(5), flags, &ids), Some(HostRef::Subnet(0, 3)));
        let ids = ClientIdentifiers {
            hwaddr: &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01],
            ..Default::default()
        };
        // The subnet reservation shadows the global one; without in-subnet, global applies.
        assert_eq!(idx.find(Some(5), flags, &ids), Some(HostRef::Subnet(0, 0)));
        let global_only = ReservationFlags {
            global: true,
            in_subnet: false,
            out_of_pool: false,
        };
        assert_eq!(
            idx.find(Some(5), global_only, &ids),
            Some(HostRef::Global(0))
        );
        assert_eq!(
            idx.by_address(5, flags, Ipv4Addr::new(198, 18, 0, 101)),
            Some(HostRef::Subnet(0, 1))
        );
        assert_eq!(
            idx.by_address(5, flags, Ipv4Addr::new(198, 18, 0, 11)),
            None
        );
        assert_eq!(
            resolve(&cfg, HostRef::Global(0)).map(|r| r.hostname.as_str()),
            Some("global")
        );
    }
}
