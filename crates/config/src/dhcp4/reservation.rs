//! Host reservations (`reservations` in a subnet or at the global level).
//!
//! As Kea 2.2: exactly one identifier among `hw-address`, `duid`, `circuit-id`, `client-id`,
//! `flex-id`, written in hex (`01:02:03`, `010203`, `0x010203`) or as quoted text
//! (`'charter950'`); an `ip-address` must lie in the subnet; within one subnet an identifier may
//! be reserved once and (with `ip-reservations-unique`, the default) an address once.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
use nestor_proto::option::OptionDefs;

use super::options::{ConfiguredOption, parse_option_data};
use crate::error::ErrorKind;
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// Host identifier types, in Kea's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifierType {
    HwAddress,
    Duid,
    CircuitId,
    ClientId,
    FlexId,
}

impl IdentifierType {
    /// In the order Kea lists them in its "one of the supported identifiers" message.
    pub const ALL: [IdentifierType; 5] = [
        IdentifierType::CircuitId,
        IdentifierType::ClientId,
        IdentifierType::Duid,
        IdentifierType::FlexId,
        IdentifierType::HwAddress,
    ];

    /// Kea's key name.
    pub fn kea_name(self) -> &'static str {
        match self {
            IdentifierType::HwAddress => "hw-address",
            IdentifierType::Duid => "duid",
            IdentifierType::CircuitId => "circuit-id",
            IdentifierType::ClientId => "client-id",
            IdentifierType::FlexId => "flex-id",
        }
    }

    /// From Kea's key name.
    pub fn from_kea_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.kea_name() == s)
    }

    fn label(self) -> &'static str {
        match self {
            IdentifierType::HwAddress => "HW address",
            IdentifierType::Duid => "DUID",
            IdentifierType::CircuitId => "circuit-id",
            IdentifierType::ClientId => "client-id",
            IdentifierType::FlexId => "flex-id",
        }
    }
}

/// A reservation's identifier: type and raw bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostIdentifier {
    pub kind: IdentifierType,
    pub value: Vec<u8>,
}

impl HostIdentifier {
    /// Colon-separated lowercase hex, as Kea prints identifiers.
    pub fn to_hex(&self) -> String {
        self.value
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// One host reservation.
#[derive(Clone, Debug, PartialEq)]
pub struct Reservation {
    pub identifier: HostIdentifier,
    pub ip_address: Option<Ipv4Addr>,
    pub hostname: String,
    pub client_classes: Vec<String>,
    pub options: Vec<ConfiguredOption>,
    pub next_server: Option<Ipv4Addr>,
    pub server_hostname: String,
    pub boot_file_name: String,
    pub user_context: Option<serde_json::Value>,
}

impl Reservation {
    /// Kea's `config-get` rendering.
    pub fn to_kea_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert(
            self.identifier.kind.kea_name().into(),
            self.identifier.to_hex().into(),
        );
        if let Some(a) = self.ip_address {
            m.insert("ip-address".into(), a.to_string().into());
        }
        m.insert("hostname".into(), self.hostname.clone().into());
        m.insert("client-classes".into(), self.client_classes.clone().into());
        m.insert(
            "option-data".into(),
            self.options
                .iter()
                .map(ConfiguredOption::to_kea_json)
                .collect::<Vec<_>>()
                .into(),
        );
        m.insert(
            "next-server".into(),
            self.next_server
                .unwrap_or(Ipv4Addr::UNSPECIFIED)
                .to_string()
                .into(),
        );
        m.insert(
            "server-hostname".into(),
            self.server_hostname.clone().into(),
        );
        m.insert("boot-file-name".into(), self.boot_file_name.clone().into());
        if let Some(uc) = &self.user_context {
            m.insert("user-context".into(), uc.clone());
        }
        serde_json::Value::Object(m)
    }
}

/// Decodes an identifier: `'text'`, or hex with `:`/` ` separators (one or two digits per
/// group), or a contiguous even-length hex string with optional `0x`.
pub fn decode_identifier(s: &str) -> Option<Vec<u8>> {
    if let Some(text) = s.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return (!text.is_empty()).then(|| text.as_bytes().to_vec());
    }
    if s.contains(':') || s.contains(' ') {
        let sep = if s.contains(':') { ':' } else { ' ' };
        let mut out = Vec::new();
        for group in s.split(sep) {
            if group.is_empty() || group.len() > 2 {
                return None;
            }
            out.push(u8::from_str_radix(group, 16).ok()?);
        }
        return Some(out);
    }
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Parses a `reservations` list. `subnet` is `Some((id, prefix))` inside a subnet, `None` for
/// global reservations. `ip_unique` is `ip-reservations-unique`.
pub(crate) fn parse_reservations(
    ctx: &mut Ctx,
    items: &[Node],
    path: &str,
    defs: &OptionDefs,
    subnet: Option<(u32, Ipv4Network)>,
    ip_unique: bool,
) -> Vec<Reservation> {
    let mut out: Vec<Reservation> = Vec::with_capacity(items.len());
    // Hashed uniqueness checks: a subnet may hold tens of thousands of reservations.
    let mut seen_ids: HashSet<HostIdentifier> = HashSet::with_capacity(items.len());
    let mut seen_ips: HashSet<Ipv4Addr> = HashSet::with_capacity(items.len());
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "reservations") else {
            continue;
        };
        let mut ids: Vec<(IdentifierType, &str)> = Vec::new();
        for kind in IdentifierType::ALL {
            if let Some(v) = m.str(ctx, kind.kea_name()) {
                ids.push((kind, v));
            }
        }
        let ip = m
            .str(ctx, "ip-address")
            .map(|s| (s, m.get("ip-address").map_or(&node.loc, |n| &n.loc)));
        let hostname = m.str(ctx, "hostname").unwrap_or("").to_string();
        let client_classes: Vec<String> = m
            .str_list(ctx, "client-classes")
            .map(|l| l.into_iter().map(|(s, _)| s.to_string()).collect())
            .unwrap_or_default();
        let options = match m.list(ctx, "option-data") {
            Some(list) => parse_option_data(ctx, list, &m.child("option-data"), defs),
            None => Vec::new(),
        };
        let next_server = m.str(ctx, "next-server").and_then(|s| {
            let parsed = s.parse::<Ipv4Addr>().ok();
            if parsed.is_none() {
                ctx.error(
                    &format!("{p}.next-server"),
                    &node.loc,
                    ErrorKind::Invalid(format!("invalid address '{s}' specified for next-server")),
                );
            }
            parsed
        });
        let server_hostname = m.str(ctx, "server-hostname").unwrap_or("").to_string();
        let boot_file_name = m.str(ctx, "boot-file-name").unwrap_or("").to_string();
        let user_context = m.user_context(ctx);
        m.finish(ctx);

        // Kea walks the map in key order and names the later identifier first.
        ids.sort_by_key(|(k, _)| k.kea_name());
        let identifier = match ids.as_slice() {
            [] => {
                let names = IdentifierType::ALL
                    .iter()
                    .map(|t| t.kea_name())
                    .collect::<Vec<_>>()
                    .join(", ");
                ctx.error(&p, &node.loc, ErrorKind::Invalid(format!(
                    "one of the supported identifiers must be specified for host reservation: {names}"
                )));
                continue;
            }
            [(kind, value)] => match decode_identifier(value) {
                Some(v) => HostIdentifier {
                    kind: *kind,
                    value: v,
                },
                None => {
                    ctx.error(
                        &format!("{p}.{}", kind.kea_name()),
                        &node.loc,
                        ErrorKind::Invalid(format!("invalid host identifier value '{value}'")),
                    );
                    continue;
                }
            },
            [(a, _), (b, _), ..] => {
                ctx.error(
                    &p,
                    &node.loc,
                    ErrorKind::Invalid(format!(
                        "the '{}' and '{}' are mutually exclusive",
                        b.kea_name(),
                        a.kea_name()
                    )),
                );
                continue;
            }
        };
        let ip_address = match ip {
            None => None,
            Some((s, loc)) => match s.parse::<Ipv4Addr>() {
                Ok(a) if a.is_unspecified() || a.is_broadcast() => {
                    ctx.error(
                        &format!("{p}.ip-address"),
                        loc,
                        ErrorKind::Invalid(format!(
                            "must not make reservation for the '{a}' address"
                        )),
                    );
                    continue;
                }
                Ok(a) => Some(a),
                Err(_) => {
                    ctx.error(
                        &format!("{p}.ip-address"),
                        loc,
                        ErrorKind::Invalid(format!("invalid IPv4 address '{s}'")),
                    );
                    continue;
                }
            },
        };
        if let (Some(addr), Some((_, prefix))) = (ip_address, subnet)
            && !prefix.contains(addr)
        {
            ctx.error(
                &format!("{p}.ip-address"),
                &node.loc,
                ErrorKind::Invalid(format!(
                    "specified reservation '{addr}' is not within the IPv4 subnet '{prefix}'"
                )),
            );
            continue;
        }
        let has_resource = ip_address.is_some()
            || !hostname.is_empty()
            || !options.is_empty()
            || !client_classes.is_empty()
            || next_server.is_some_and(|a| !a.is_unspecified())
            || !server_hostname.is_empty()
            || !boot_file_name.is_empty();
        if !has_resource {
            ctx.error(&p, &node.loc, ErrorKind::Invalid(format!(
                "specified reservation for {} {} must include at least one resource, i.e. hostname, IPv4 address, IPv6 address/prefix, options",
                identifier.kind.label(), identifier.to_hex()
            )));
            continue;
        }
        let where_ = match subnet {
            Some((id, _)) => format!("the IPv4 subnet id '{id}'"),
            None => "the global reservations".to_string(),
        };
        if seen_ids.contains(&identifier) {
            ctx.error(&p, &node.loc, ErrorKind::Duplicate(format!(
                "failed to add new host using the {} '{}' to {where_} as this host has already been added",
                identifier.kind.label(), identifier.to_hex()
            )));
            continue;
        }
        if let Some(addr) = ip_address.filter(|_| ip_unique)
            && seen_ips.contains(&addr)
        {
            ctx.error(&p, &node.loc, ErrorKind::Duplicate(format!(
                    "failed to add new host using the {} '{}' to {where_} for the address {addr}: There's already a reservation for this address",
                    identifier.kind.label(), identifier.to_hex()
                )));
            continue;
        }
        seen_ids.insert(identifier.clone());
        if let Some(addr) = ip_address {
            seen_ips.insert(addr);
        }
        out.push(Reservation {
            identifier,
            ip_address,
            hostname,
            client_classes,
            options,
            next_server,
            server_hostname,
            boot_file_name,
            user_context,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_identifier;

    #[test]
    fn identifier_forms() {
        assert_eq!(decode_identifier("aa:bb:cc"), Some(vec![0xaa, 0xbb, 0xcc]));
        assert_eq!(decode_identifier("1:2"), Some(vec![1, 2]));
        assert_eq!(decode_identifier("aabbcc"), Some(vec![0xaa, 0xbb, 0xcc]));
        assert_eq!(decode_identifier("0xaabb"), Some(vec![0xaa, 0xbb]));
        assert_eq!(
            decode_identifier("'charter950'"),
            Some(b"charter950".to_vec())
        );
        assert_eq!(decode_identifier("01 02 03"), Some(vec![1, 2, 3]));
        assert_eq!(decode_identifier("zz"), None);
        assert_eq!(decode_identifier("abc"), None);
        assert_eq!(decode_identifier("aa::bb"), None);
        assert_eq!(decode_identifier(""), None);
        assert_eq!(decode_identifier("''"), None);
    }
}
