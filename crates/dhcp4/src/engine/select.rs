//! Subnet selection (Kea's `CfgSubnets4::selectSubnet`, reference 6.1): RAI link-selection
//! (82.5), then option 118, then giaddr against `relay.ip-addresses`, then a prefix match of
//! giaddr, else ciaddr (unless broadcast), else the source address (unless broadcast), else the
//! receiving interface (subnet `interface`, then the interface's addresses). Subnets and shared
//! networks restricted to a client class admit only its members.

use std::net::Ipv4Addr;

use nestor_config::Dhcp4Config;
use nestor_config::dhcp4::Subnet4;
use nestor_proto::pkt::Packet;

use super::RecvMeta;
use super::classify::ClientClasses;

/// Whether the classes admit the subnet (and its shared network).
pub(crate) fn allowed(cfg: &Dhcp4Config, s: &Subnet4, classes: &ClientClasses) -> bool {
    classes.allows(s.client_class.as_deref())
        && s.shared_network
            .and_then(|n| cfg.shared_networks.get(n))
            .is_none_or(|n| classes.allows(n.client_class.as_deref()))
}

fn by_prefix(cfg: &Dhcp4Config, a: Ipv4Addr, classes: &ClientClasses) -> Option<usize> {
    cfg.subnets
        .iter()
        .position(|s| s.prefix.contains(a) && allowed(cfg, s, classes))
}

/// The index (into `cfg.subnets`) of the subnet for this packet.
pub(crate) fn select(
    cfg: &Dhcp4Config,
    pkt: &Packet<'_>,
    meta: &RecvMeta,
    classes: &ClientClasses,
) -> Option<usize> {
    let link = pkt
        .relay_agent_info()
        .and_then(|r| r.link_selection().ok().flatten());
    if let Some(a) = link.or_else(|| pkt.subnet_selection().ok().flatten()) {
        return by_prefix(cfg, a, classes);
    }
    let giaddr = pkt.giaddr();
    if !giaddr.is_unspecified() {
        if let Some(i) = cfg
            .subnets
            .iter()
            .position(|s| s.relay_addresses.contains(&giaddr) && allowed(cfg, s, classes))
        {
            return Some(i);
        }
        return by_prefix(cfg, giaddr, classes);
    }
    let ciaddr = pkt.ciaddr();
    if !ciaddr.is_unspecified() && !meta.broadcast {
        return by_prefix(cfg, ciaddr, classes);
    }
    let src = *meta.src.ip();
    if !src.is_unspecified() && !meta.broadcast {
        return by_prefix(cfg, src, classes);
    }
    if let Some(i) = cfg
        .subnets
        .iter()
        .position(|s| s.interface.as_deref() == Some(&*meta.iface) && allowed(cfg, s, classes))
    {
        return Some(i);
    }
    meta.iface_addrs
        .first()
        .and_then(|a| by_prefix(cfg, *a, classes))
}

/// The subnets allocation may use, first to last.
#[derive(Debug, Clone)]
pub(crate) enum Chain {
    /// A subnet outside any shared network (the common case: no allocation).
    One([usize; 1]),
    /// Members of a shared network.
    Many(Vec<usize>),
}

impl std::ops::Deref for Chain {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        match self {
            Chain::One(one) => one,
            Chain::Many(many) => many,
        }
    }
}

/// The subnets allocation may use, starting with `first`: its shared network's members the
/// classes admit, in network order from `first` (Kea's `getNextSubnet`), or `first` alone.
pub(crate) fn chain(cfg: &Dhcp4Config, first: usize, classes: &ClientClasses) -> Chain {
    let Some(net) = cfg.subnets.get(first).and_then(|s| s.shared_network) else {
        return Chain::One([first]);
    };
    let members: Vec<usize> = cfg
        .subnets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.shared_network == Some(net))
        .map(|(i, _)| i)
        .collect();
    let start = members.iter().position(|&i| i == first).unwrap_or(0);
    let mut out = Vec::with_capacity(members.len());
    out.push(first);
    for k in 1..members.len() {
        if let Some(&i) = members.get((start + k) % members.len())
            && cfg.subnets.get(i).is_some_and(|s| allowed(cfg, s, classes))
        {
            out.push(i);
        }
    }
    Chain::Many(out)
}
