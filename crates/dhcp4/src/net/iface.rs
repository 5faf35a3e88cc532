//! Interface discovery: names, indexes, MAC addresses and IPv4 addresses of this machine
//! (`getifaddrs(3)` through `nix`), and the selection of the interfaces `interfaces-config`
//! names (Kea's `CfgIface`: `eth0`, `eth0/192.0.2.1`, `*`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use nestor_config::dhcp4::InterfaceSpec;
use nix::net::if_::InterfaceFlags;

/// One network interface as discovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Kernel name (`eth0`).
    pub name: Arc<str>,
    /// Kernel index (for AF_PACKET binds).
    pub index: u32,
    /// Hardware address; all zero when the link has none (loopback).
    pub mac: [u8; 6],
    /// IPv4 addresses, in the order the kernel lists them.
    pub addrs: Vec<Ipv4Addr>,
    /// `IFF_LOOPBACK`.
    pub loopback: bool,
    /// `IFF_UP`.
    pub up: bool,
}

/// Why interfaces could not be listed or selected.
#[derive(Debug, thiserror::Error)]
pub enum IfaceError {
    /// getifaddrs failed.
    #[error("cannot list network interfaces: {0}")]
    List(#[from] nix::Error),
    /// A configured interface does not exist.
    #[error("interface '{0}' not found")]
    NotFound(String),
    /// `eth0/addr` names an address the interface does not have.
    #[error("interface '{name}' has no address {addr}")]
    NoSuchAddress {
        /// The interface.
        name: String,
        /// The address asked for.
        addr: Ipv4Addr,
    },
}

/// Lists this machine's interfaces, sorted by index.
pub fn discover() -> Result<Vec<Interface>, IfaceError> {
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    for ifa in nix::ifaddrs::getifaddrs()? {
        let entry = by_name
            .entry(ifa.interface_name.clone())
            .or_insert_with(|| Interface {
                name: Arc::from(ifa.interface_name.as_str()),
                index: nix::net::if_::if_nametoindex(ifa.interface_name.as_str()).unwrap_or(0),
                mac: [0; 6],
                addrs: Vec::new(),
                loopback: ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK),
                up: ifa.flags.contains(InterfaceFlags::IFF_UP),
            });
        let Some(addr) = ifa.address else { continue };
        if let Some(sin) = addr.as_sockaddr_in() {
            entry.addrs.push(sin.ip());
        } else if let Some(ll) = addr.as_link_addr()
            && let Some(mac) = ll.addr()
        {
            entry.mac = mac;
        }
    }
    let mut list: Vec<Interface> = by_name.into_values().collect();
    list.sort_by_key(|i| i.index);
    Ok(list)
}

/// An interface chosen by `interfaces-config`, with the addresses to serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The interface.
    pub iface: Interface,
    /// The addresses to open sockets on: all of the interface's, or the one `eth0/addr` named.
    pub addrs: Vec<Ipv4Addr>,
}

/// Resolves `specs` against `available`. `*` selects every interface that is up except
/// loopback (Kea's wildcard skips loopback); a name selects that interface whatever its state;
/// `name/addr` restricts it to one address. Duplicates merge.
pub fn select(
    specs: &[InterfaceSpec],
    available: &[Interface],
) -> Result<Vec<Selected>, IfaceError> {
    let mut chosen: BTreeMap<u32, Selected> = BTreeMap::new();
    let find = |name: &str| {
        available
            .iter()
            .find(|i| &*i.name == name)
            .ok_or_else(|| IfaceError::NotFound(name.to_owned()))
    };
    // Specific addresses first, so that a later plain name for the same interface widens it.
    let mut restricted: BTreeMap<u32, Vec<Ipv4Addr>> = BTreeMap::new();
    let mut whole: Vec<u32> = Vec::new();
    for spec in specs {
        match spec {
            InterfaceSpec::All => {
                whole.extend(
                    available
                        .iter()
                        .filter(|i| i.up && !i.loopback)
                        .map(|i| i.index),
                );
            }
            InterfaceSpec::Name(name) => whole.push(find(name)?.index),
            InterfaceSpec::Address(name, addr) => {
                let iface = find(name)?;
                if !iface.addrs.contains(addr) {
                    return Err(IfaceError::NoSuchAddress {
                        name: name.clone(),
                        addr: *addr,
                    });
                }
                restricted.entry(iface.index).or_default().push(*addr);
            }
        }
    }
    for iface in available {
        let addrs = if whole.contains(&iface.index) {
            iface.addrs.clone()
        } else if let Some(addrs) = restricted.remove(&iface.index) {
            addrs
        } else {
            continue;
        };
        chosen.insert(
            iface.index,
            Selected {
                iface: iface.clone(),
                addrs,
            },
        );
    }
    Ok(chosen.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(index: u32, name: &str, addrs: &[Ipv4Addr], loopback: bool) -> Interface {
        Interface {
            name: Arc::from(name),
            index,
            mac: [0, 1, 2, 3, 4, u8::try_from(index).unwrap()],
            addrs: addrs.to_vec(),
            loopback,
            up: true,
        }
    }

    fn machine() -> Vec<Interface> {
        vec![
            iface(1, "lo", &[Ipv4Addr::LOCALHOST], true),
            iface(
                2,
                "eth0",
                &[Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)],
                false,
            ),
            iface(3, "eth1", &[Ipv4Addr::new(198, 19, 0, 1)], false),
        ]
    }

    #[test]
    fn loopback_is_listed() {
        let list = discover().unwrap();
        let lo = list.iter().find(|i| i.loopback).unwrap();
        assert!(lo.addrs.contains(&Ipv4Addr::LOCALHOST));
        assert!(lo.index > 0);
    }

    #[test]
    fn wildcard_skips_loopback() {
        let got = select(&[InterfaceSpec::All], &machine()).unwrap();
        let names: Vec<&str> = got.iter().map(|s| &*s.iface.name).collect();
        assert_eq!(names, ["eth0", "eth1"]);
    }

    #[test]
    fn address_restricts_and_name_widens() {
        let a = Ipv4Addr::new(198, 18, 0, 2);
        let got = select(&[InterfaceSpec::Address("eth0".into(), a)], &machine()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].addrs, [a]);
        let got = select(
            &[
                InterfaceSpec::Address("eth0".into(), a),
                InterfaceSpec::Name("eth0".into()),
            ],
            &machine(),
        )
        .unwrap();
        assert_eq!(got[0].addrs.len(), 2);
    }

    #[test]
    fn unknown_names_and_addresses_are_errors() {
        assert!(matches!(
            select(&[InterfaceSpec::Name("nope".into())], &machine()),
            Err(IfaceError::NotFound(n)) if n == "nope"
        ));
        assert!(matches!(
            select(
                &[InterfaceSpec::Address("eth1".into(), Ipv4Addr::LOCALHOST)],
                &machine()
            ),
            Err(IfaceError::NoSuchAddress { .. })
        ));
    }
}
