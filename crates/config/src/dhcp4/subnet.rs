//! `subnet4`, `pools` and `shared-networks`.
//!
//! Kea 2.2 rules reproduced here (checked against `kea-dhcp4 -t`):
//! * `subnet` is `prefix/len`; a non-canonical prefix (`10.0.0.5/8`) is accepted and kept as
//!   written; overlapping subnets are accepted, an identical prefix twice is not;
//! * `id` is 0..4294967294; 0 or absent means auto-numbering: a counter starting at 1, advanced
//!   for each auto-numbered subnet in the order Kea parses them (subnets of `shared-networks`
//!   first, because Kea walks the `Dhcp4` map in key order, then `subnet4`); a clash between an
//!   automatic and an explicit id is an error, as in Kea;
//! * pools as `first - last` or `prefix/len` (the whole prefix, network and broadcast
//!   included), inside the subnet, not overlapping within the subnet;
//! * every subnet of a shared network must agree with the network on `authoritative`.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
use nestor_proto::option::OptionDefs;

use super::options::{ConfiguredOption, parse_option_data};
use super::params::{LeaseParams, ScopeParams, read_scope_params};
use super::reservation::{Reservation, parse_reservations};
use crate::error::{ErrorKind, Location};
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// Largest subnet id (Kea: `SUBNET_ID_MAX`).
pub const SUBNET_ID_MAX: u32 = 4_294_967_294;

/// An address pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub options: Vec<ConfiguredOption>,
    pub client_class: Option<String>,
    pub require_client_classes: Vec<String>,
    pub user_context: Option<serde_json::Value>,
}

impl Pool {
    /// Whether the pool holds `addr`.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.first <= addr && addr <= self.last
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        u64::from(u32::from(self.last)) - u64::from(u32::from(self.first)) + 1
    }
}

/// A subnet with everything resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Subnet4 {
    pub id: u32,
    /// As written (Kea keeps a non-canonical prefix as given).
    pub prefix: Ipv4Network,
    pub pools: Vec<Pool>,
    pub options: Vec<ConfiguredOption>,
    pub reservations: Vec<Reservation>,
    /// `relay.ip-addresses` (inherited from the shared network when the subnet has none).
    pub relay_addresses: Vec<Ipv4Addr>,
    /// Interface name, inherited from the shared network.
    pub interface: Option<String>,
    pub client_class: Option<String>,
    pub require_client_classes: Vec<String>,
    /// Index into `Dhcp4Config::shared_networks`.
    pub shared_network: Option<usize>,
    /// Lifetimes, timers and the other inherited scalars.
    pub params: LeaseParams,
    /// What this subnet itself sets (for `config-get`, which shows explicit values).
    pub configured: ScopeParams,
    /// `4o6-interface`, `4o6-interface-id`, `4o6-subnet` as written (DHCPv4-over-DHCPv6 is not
    /// served by Nestor; kept for `config-get`).
    pub dhcp4o6: [String; 3],
    pub user_context: Option<serde_json::Value>,
    /// Where the subnet map starts.
    pub location: Location,
}

/// A shared network.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedNetwork {
    pub name: String,
    /// Ids of the member subnets.
    pub subnet_ids: Vec<u32>,
    pub interface: Option<String>,
    pub relay_addresses: Vec<Ipv4Addr>,
    pub client_class: Option<String>,
    pub require_client_classes: Vec<String>,
    pub options: Vec<ConfiguredOption>,
    /// The network's own parameters after inheritance from the global level.
    pub params: LeaseParams,
    /// What the network itself sets.
    pub configured: ScopeParams,
    pub user_context: Option<serde_json::Value>,
}

/// Parses `"a - b"` or `"prefix/len"`.
pub fn parse_pool_range(s: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if let Some((a, b)) = s.split_once('-') {
        let first: Ipv4Addr = a.trim().parse().ok()?;
        let last: Ipv4Addr = b.trim().parse().ok()?;
        return Some((first, last));
    }
    let (addr, len) = s.split_once('/')?;
    let net = Ipv4Network::new(addr.trim().parse().ok()?, len.trim().parse().ok()?).ok()?;
    Some((net.network(), net.broadcast()))
}

/// What the level above a subnet provides.
pub(crate) struct Parent<'p> {
    pub(crate) params: &'p ScopeParams,
    pub(crate) network: Option<(usize, &'p SharedNetworkDraft)>,
}

/// A shared network while its subnets are being read.
#[derive(Debug, Default)]
pub(crate) struct SharedNetworkDraft {
    pub(crate) interface: Option<String>,
    pub(crate) relay: Vec<Ipv4Addr>,
    pub(crate) client_class: Option<String>,
    pub(crate) require_client_classes: Vec<String>,
    pub(crate) authoritative: Option<bool>,
}

/// Subnet numbering state for one load.
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    next_auto: u32,
    /// Ids and prefixes (as written) of every subnet added so far; hashed so that configs with
    /// tens of thousands of subnets load in linear time.
    ids: std::collections::HashSet<u32>,
    prefixes: std::collections::HashSet<Ipv4Network>,
}

pub(crate) struct SubnetCtx<'a> {
    pub(crate) defs: &'a OptionDefs,
    pub(crate) ip_unique: bool,
    pub(crate) numbering: &'a mut Numbering,
}

fn relay_addresses(ctx: &mut Ctx, m: &mut MapReader<'_>) -> Vec<Ipv4Addr> {
    let Some(node) = m.map(ctx, "relay") else {
        return Vec::new();
    };
    let path = m.child("relay");
    let Some(mut r) = MapReader::new(ctx, node, &path, "relay") else {
        return Vec::new();
    };
    let mut raw: Vec<(String, &str, &Location)> = Vec::new();
    if let Some(list) = r.str_list(ctx, "ip-addresses") {
        raw.extend(
            list.into_iter()
                .enumerate()
                .map(|(i, (s, l))| (format!("{path}.ip-addresses[{i}]"), s, l)),
        );
    }
    if let Some(single) = r.str(ctx, "ip-address") {
        if r.has("ip-addresses") {
            ctx.error(
                &path,
                &node.loc,
                ErrorKind::Invalid("specify either ip-address or ip-addresses, not both".into()),
            );
        }
        let loc = r.get("ip-address").map_or(&node.loc, |n| &n.loc);
        raw.push((format!("{path}.ip-address"), single, loc));
    }
    r.finish(ctx);
    let mut out = Vec::new();
    for (p, s, loc) in raw {
        match s.parse::<Ipv4Addr>() {
            Ok(a) => out.push(a),
            Err(_) => ctx.error(
                &p,
                loc,
                ErrorKind::Invalid(format!("relay address: {s} is not a valid IPv4 address")),
            ),
        }
    }
    out
}

fn string_list(ctx: &mut Ctx, m: &mut MapReader<'_>, key: &str) -> Vec<String> {
    m.str_list(ctx, key)
        .map(|l| l.into_iter().map(|(s, _)| s.to_string()).collect())
        .unwrap_or_default()
}

/// Reads one `subnet4` entry.
pub(crate) fn parse_subnet(
    ctx: &mut Ctx,
    sc: &mut SubnetCtx<'_>,
    node: &Node,
    path: &str,
    parent: &Parent<'_>,
) -> Option<Subnet4> {
    let mut m = MapReader::new(ctx, node, path, "subnet4")?;
    let own = read_scope_params(ctx, &mut m);
    let subnet_str = m.req_str(ctx, "subnet");
    let id_node_loc = m.get("id").map(|n| n.loc.clone());
    let id_given = m.int(ctx, "id", 0, i64::from(SUBNET_ID_MAX));
    let id_bad = m.has("id") && id_given.is_none();
    let m_interface_loc = m.get("interface").map(|n| n.loc.clone());
    let interface = m
        .str(ctx, "interface")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let client_class = m
        .str(ctx, "client-class")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let require_client_classes = string_list(ctx, &mut m, "require-client-classes");
    let relay = relay_addresses(ctx, &mut m);
    let dhcp4o6 = [
        m.str(ctx, "4o6-interface").unwrap_or("").to_string(),
        m.str(ctx, "4o6-interface-id").unwrap_or("").to_string(),
        m.str(ctx, "4o6-subnet").unwrap_or("").to_string(),
    ];
    let user_context = m.user_context(ctx);
    let options = match m.list(ctx, "option-data") {
        Some(list) => parse_option_data(ctx, list, &m.child("option-data"), sc.defs),
        None => Vec::new(),
    };
    let pools_list = m.list(ctx, "pools");
    let pools_path = m.child("pools");
    let reservations_list = m.list(ctx, "reservations");
    let reservations_path = m.child("reservations");
    m.finish(ctx);

    let subnet_str = subnet_str?;
    let prefix = match subnet_str.split_once('/') {
        None => {
            ctx.error(
                &format!("{path}.subnet"),
                &node.loc,
                ErrorKind::Invalid(format!(
                    "Invalid subnet syntax (prefix/len expected):{subnet_str}"
                )),
            );
            return None;
        }
        Some((addr, len)) => {
            let Ok(addr) = addr.parse::<Ipv4Addr>() else {
                ctx.error(
                    &format!("{path}.subnet"),
                    &node.loc,
                    ErrorKind::Invalid(format!(
                        "Failed to convert string to address '{addr}': Invalid argument"
                    )),
                );
                return None;
            };
            match len
                .parse::<u8>()
                .ok()
                .and_then(|l| Ipv4Network::new(addr, l).ok())
            {
                Some(n) => n,
                None => {
                    ctx.error(
                        &format!("{path}.subnet"),
                        &node.loc,
                        ErrorKind::Invalid(format!(
                            "Invalid prefix length specified for subnet: {len}"
                        )),
                    );
                    return None;
                }
            }
        }
    };
    if id_bad {
        return None;
    }
    if let Some(name) = interface.as_deref().filter(|n| !ctx.interface_exists(n)) {
        let loc = m_interface_loc.unwrap_or_else(|| node.loc.clone());
        ctx.error(&format!("{path}.interface"), &loc, ErrorKind::Invalid(format!(
            "Specified network interface name {name} for subnet {prefix} is not present in the system"
        )));
        return None;
    }

    // Numbering and uniqueness, in Kea's order and with Kea's texts.
    let id = match id_given
        .and_then(|i| u32::try_from(i).ok())
        .filter(|&i| i != 0)
    {
        Some(i) => i,
        None => {
            sc.numbering.next_auto += 1;
            sc.numbering.next_auto
        }
    };
    let id_loc = id_node_loc.unwrap_or_else(|| node.loc.clone());
    if sc.numbering.ids.contains(&id) {
        ctx.error(
            path,
            &id_loc,
            ErrorKind::Duplicate(format!(
                "ID of the new IPv4 subnet '{id}' is already in use"
            )),
        );
        return None;
    }
    if sc.numbering.prefixes.contains(&prefix) {
        ctx.error(
            path,
            &node.loc,
            ErrorKind::Duplicate(format!(
                "subnet with the prefix of '{prefix}' already exists"
            )),
        );
        return None;
    }
    sc.numbering.ids.insert(id);
    sc.numbering.prefixes.insert(prefix);

    let inherited = own.inherit(parent.params);
    inherited.check(&own, ctx, path, &node.loc);

    let mut pools: Vec<Pool> = Vec::new();
    if let Some(list) = pools_list {
        for (_, pp, pnode) in each_map(ctx, list, &pools_path) {
            if let Some(pool) = parse_pool(ctx, sc.defs, pnode, &pp, prefix, &pools) {
                pools.push(pool);
            }
        }
    }
    let reservations = match reservations_list {
        Some(list) => parse_reservations(
            ctx,
            list,
            &reservations_path,
            sc.defs,
            Some((id, prefix)),
            sc.ip_unique,
        ),
        None => Vec::new(),
    };

    let (network, net) = match parent.network {
        Some((i, n)) => (Some(i), Some(n)),
        None => (None, None),
    };
    if let Some(n) = net
        && let (Some(net_auth), Some(sub_auth)) = (n.authoritative, own.authoritative)
        && net_auth != sub_auth
    {
        ctx.error(path, &node.loc, ErrorKind::Invalid(format!(
                    "Subnet {prefix} has different authoritative setting {sub_auth} than the shared-network itself: {net_auth}"
                )));
    }
    Some(Subnet4 {
        id,
        prefix,
        pools,
        options,
        reservations,
        relay_addresses: if relay.is_empty() {
            net.map(|n| n.relay.clone()).unwrap_or_default()
        } else {
            relay
        },
        interface: interface.or_else(|| net.and_then(|n| n.interface.clone())),
        client_class: client_class.or_else(|| net.and_then(|n| n.client_class.clone())),
        require_client_classes: if require_client_classes.is_empty() {
            net.map(|n| n.require_client_classes.clone())
                .unwrap_or_default()
        } else {
            require_client_classes
        },
        shared_network: network,
        params: inherited.resolve(),
        configured: own,
        dhcp4o6,
        user_context,
        location: node.loc.clone(),
    })
}

fn parse_pool(
    ctx: &mut Ctx,
    defs: &OptionDefs,
    node: &Node,
    path: &str,
    prefix: Ipv4Network,
    existing: &[Pool],
) -> Option<Pool> {
    let mut m = MapReader::new(ctx, node, path, "pools")?;
    let pool_loc = m
        .get("pool")
        .map_or_else(|| node.loc.clone(), |n| n.loc.clone());
    let text = m.req_str(ctx, "pool");
    let options = match m.list(ctx, "option-data") {
        Some(list) => parse_option_data(ctx, list, &m.child("option-data"), defs),
        None => Vec::new(),
    };
    let client_class = m
        .str(ctx, "client-class")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let require_client_classes = string_list(ctx, &mut m, "require-client-classes");
    let user_context = m.user_context(ctx);
    m.finish(ctx);
    let text = text?;
    let ppath = format!("{path}.pool");
    let Some((first, last)) = parse_pool_range(text) else {
        ctx.error(&ppath, &pool_loc, ErrorKind::Invalid(format!(
            "invalid pool definition: {text}. There are two acceptable formats <min address-max address> or <prefix/len>"
        )));
        return None;
    };
    if first > last {
        ctx.error(
            &ppath,
            &pool_loc,
            ErrorKind::Invalid(format!("Failed to create pool defined by: {first}-{last}")),
        );
        return None;
    }
    if !prefix.contains(first) || !prefix.contains(last) {
        ctx.error(&ppath, &pool_loc, ErrorKind::Invalid(format!(
            "a pool of type V4, with the following address range: {first}-{last} does not match the prefix of a subnet: {prefix} to which it is being added"
        )));
        return None;
    }
    if existing.iter().any(|p| p.first <= last && first <= p.last) {
        ctx.error(&ppath, &pool_loc, ErrorKind::Invalid(format!(
            "a pool of type V4, with the following address range: {first}-{last} overlaps with an existing pool in the subnet: {prefix} to which it is being added"
        )));
        return None;
    }
    Some(Pool {
        first,
        last,
        options,
        client_class,
        require_client_classes,
        user_context,
    })
}

/// Reads `shared-networks`, appending member subnets to `subnets`.
pub(crate) fn parse_shared_networks(
    ctx: &mut Ctx,
    sc: &mut SubnetCtx<'_>,
    items: &[Node],
    path: &str,
    global: &ScopeParams,
    subnets: &mut Vec<Subnet4>,
) -> Vec<SharedNetwork> {
    let mut out: Vec<SharedNetwork> = Vec::new();
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "shared-networks") else {
            continue;
        };
        let own = read_scope_params(ctx, &mut m);
        let name = m.req_str(ctx, "name");
        let iface_loc = m
            .get("interface")
            .map_or_else(|| node.loc.clone(), |n| n.loc.clone());
        let draft = SharedNetworkDraft {
            interface: m
                .str(ctx, "interface")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            relay: relay_addresses(ctx, &mut m),
            client_class: m
                .str(ctx, "client-class")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            require_client_classes: string_list(ctx, &mut m, "require-client-classes"),
            // Effective value (the network's own or the global one): Kea compares a subnet's
            // explicit setting with what the network ends up with.
            authoritative: Some(own.authoritative.or(global.authoritative).unwrap_or(false)),
        };
        let options = match m.list(ctx, "option-data") {
            Some(list) => parse_option_data(ctx, list, &m.child("option-data"), sc.defs),
            None => Vec::new(),
        };
        let user_context = m.user_context(ctx);
        let subnet_list = m.list(ctx, "subnet4");
        let subnets_path = m.child("subnet4");
        m.finish(ctx);
        let Some(name) = name else { continue };
        if let Some(iface) = draft
            .interface
            .as_deref()
            .filter(|n| !ctx.interface_exists(n))
        {
            ctx.error(&format!("{p}.interface"), &iface_loc, ErrorKind::Invalid(format!(
                "Specified network interface name {iface} for shared network {name} is not present in the system"
            )));
            continue;
        }
        if out.iter().any(|n| n.name == name) {
            ctx.error(
                &p,
                &node.loc,
                ErrorKind::Duplicate(format!(
                    "duplicate network '{name}' found in the configuration"
                )),
            );
            continue;
        }
        let inherited = own.inherit(global);
        inherited.check(&own, ctx, &p, &node.loc);
        let index = out.len();
        let mut ids = Vec::new();
        if let Some(list) = subnet_list {
            let parent = Parent {
                params: &inherited,
                network: Some((index, &draft)),
            };
            for (_, sp, snode) in each_map(ctx, list, &subnets_path) {
                if let Some(s) = parse_subnet(ctx, sc, snode, &sp, &parent) {
                    ids.push(s.id);
                    subnets.push(s);
                }
            }
        }
        out.push(SharedNetwork {
            name: name.to_string(),
            subnet_ids: ids,
            interface: draft.interface,
            relay_addresses: draft.relay,
            client_class: draft.client_class,
            require_client_classes: draft.require_client_classes,
            options,
            params: inherited.resolve(),
            configured: own,
            user_context,
        });
    }
    out
}

impl Numbering {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_pool_range;
    use std::net::Ipv4Addr;

    #[test]
    fn pool_forms() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            parse_pool_range("10.0.0.1 - 10.0.0.9"),
            Some((a("10.0.0.1"), a("10.0.0.9")))
        );
        assert_eq!(
            parse_pool_range("10.0.0.1-10.0.0.9"),
            Some((a("10.0.0.1"), a("10.0.0.9")))
        );
        assert_eq!(
            parse_pool_range("10.0.0.0/25"),
            Some((a("10.0.0.0"), a("10.0.0.127")))
        );
        // Non-canonical prefix: Kea takes the whole prefix.
        assert_eq!(
            parse_pool_range("10.0.0.5/25"),
            Some((a("10.0.0.0"), a("10.0.0.127")))
        );
        assert_eq!(parse_pool_range("10.0.0.1"), None);
        assert_eq!(parse_pool_range("10.0.0.0/33"), None);
        assert_eq!(parse_pool_range("junk"), None);
    }
}
