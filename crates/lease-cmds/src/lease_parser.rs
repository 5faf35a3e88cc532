//! The lease given to `lease4-add` and `lease4-update` (and sent by HA partners): Kea 2.2's
//! `Lease4Parser::parse` (reference 2.2), its checks in its order, its texts.
//!
//! Unknown keys are ignored, as in Kea (HA 2.4+ adds `origin`, older peers do not).

use std::net::Ipv4Addr;

use nestor_config::Dhcp4Config;
use nestor_config::dhcp4::Subnet4;
use nestor_leases::{Hostname, Lease4, LeaseState, UnixTime, UserContext};
use serde_json::{Map, Value};

use crate::args::Args;
use crate::error::CommandError;
use crate::ident;
use crate::position::kea_str;

/// A parsed lease and the `force-create` flag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeaseInput {
    /// The lease to store.
    pub(crate) lease: Lease4,
    /// `lease4-update`: create the lease when the address has none.
    pub(crate) force_create: bool,
}

/// Kea's `CfgSubnets4::selectSubnet(address)` with no client classes: the first subnet whose
/// prefix holds the address and which is not restricted to a class.
pub(crate) fn select_subnet(config: &Dhcp4Config, address: Ipv4Addr) -> Option<&Subnet4> {
    config
        .subnets
        .iter()
        .find(|s| s.prefix.contains(address) && s.client_class.is_none())
}

/// Parses the lease fields of `arguments` against the configuration in force; `now` is the
/// `cltt` of a lease given without `expire`.
pub(crate) fn parse(
    arguments: &Value,
    config: &Dhcp4Config,
    now: UnixTime,
) -> Result<LeaseInput, CommandError> {
    let args = Args::new(arguments)?;

    let address = args.address("ip-address")?;
    let address = ident::v4(address)
        .ok_or_else(|| CommandError::rejected(format!("Non-IPv4 address specified: {address}")))?;

    let hwaddr = ident::hw_address(args.string("hw-address")?).map_err(CommandError::Rejected)?;

    let requested_subnet = if args.contains("subnet-id") {
        args.u32("subnet-id")?
    } else {
        0
    };
    let subnet = if requested_subnet != 0 {
        let subnet = config.subnet(requested_subnet).ok_or_else(|| {
            CommandError::rejected(format!(
                "Invalid subnet-id: No IPv4 subnet with subnet-id={requested_subnet} currently \
                 configured."
            ))
        })?;
        if !subnet.prefix.contains(address) {
            return Err(CommandError::rejected(format!(
                "The address {address} does not belong to subnet {}, subnet-id={requested_subnet}",
                subnet.prefix
            )));
        }
        subnet
    } else {
        select_subnet(config, address).ok_or_else(|| {
            CommandError::rejected(format!(
                "subnet-id not specified and failed to find a subnet for address {address}"
            ))
        })?
    };

    let client_id = if args.contains("client-id") {
        Some(ident::client_id(args.string("client-id")?).map_err(CommandError::Rejected)?)
    } else {
        None
    };

    let valid_lifetime = if args.contains("valid-lft") {
        args.u32("valid-lft")?
    } else {
        subnet.params.valid_lifetime.default
    };

    // Kea allows an expiration in the past (migrating a database as it is).
    let cltt = if args.contains("expire") {
        let expire = args.integer("expire")?;
        if expire <= 0 {
            return Err(CommandError::rejected(format!(
                "expiration time must be positive for address {address}"
            )));
        }
        if expire < i64::from(valid_lifetime) {
            return Err(CommandError::rejected(format!(
                "expiration time must be greater than valid lifetime for address {address}"
            )));
        }
        // expire >= valid_lifetime >= 0 here.
        u64::try_from(expire - i64::from(valid_lifetime)).unwrap_or(0)
    } else {
        now
    };

    let fqdn_fwd = args.contains("fqdn-fwd") && args.boolean("fqdn-fwd")?;
    let fqdn_rev = args.contains("fqdn-rev") && args.boolean("fqdn-rev")?;
    let hostname = if args.contains("hostname") {
        args.string("hostname")?
    } else {
        ""
    };
    if hostname.is_empty() && (fqdn_fwd || fqdn_rev) {
        return Err(CommandError::rejected(
            "No hostname specified and either forward or reverse fqdn was set to true.",
        ));
    }

    let state = if args.contains("state") {
        args.u8("state")?
    } else {
        0
    };
    let state = LeaseState::try_from(u32::from(state)).map_err(|_| {
        CommandError::rejected(format!(
            "Invalid state value: {state}, supported values are: 0 (default), 1 (declined) and \
             2 (expired-reclaimed)"
        ))
    })?;

    let user_context = user_context(&args)?;

    let force_create = args.contains("force-create") && args.boolean("force-create")?;

    let mut lease = Lease4::new(address, hwaddr, client_id, valid_lifetime, cltt, subnet.id);
    lease.fqdn_fwd = fqdn_fwd;
    lease.fqdn_rev = fqdn_rev;
    lease.hostname = Hostname::new(hostname);
    lease.state = state;
    lease.user_context = user_context;
    Ok(LeaseInput {
        lease,
        force_create,
    })
}

/// `user-context` (a map) with `comment` merged into it, as Kea does.
fn user_context(args: &Args<'_>) -> Result<Option<UserContext>, CommandError> {
    let context = match args.get("user-context") {
        None => None,
        Some(Value::Object(map)) => Some(map),
        Some(other) => {
            return Err(CommandError::rejected(format!(
                "Invalid user context '{}' is not a JSON map.",
                kea_str(other)
            )));
        }
    };
    let Some(comment) = args.get("comment") else {
        return Ok(context.map(UserContext::from_map));
    };
    if let Some(map) = context
        && map.contains_key("comment")
    {
        return Err(CommandError::rejected(format!(
            "Duplicated comment entry '{}' in user context '{}'",
            kea_str(comment),
            kea_str(&Value::Object(map.clone()))
        )));
    }
    let mut merged: Map<String, Value> = context.cloned().unwrap_or_default();
    merged.insert("comment".into(), comment.clone());
    Ok(Some(UserContext::from_map(&merged)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn config() -> Dhcp4Config {
        nestor_config::parse_dhcp4_str_with(
            r#"{"Dhcp4": {"valid-lifetime": 4000, "subnet4": [
                {"id": 1, "subnet": "198.18.0.0/24"},
                {"id": 2, "subnet": "198.18.1.0/24", "valid-lifetime": 7200},
                {"id": 3, "subnet": "198.18.2.0/24", "client-class": "x"}]}}"#,
            "test",
            &nestor_config::LoadOptions::offline(),
        )
        .unwrap()
        .config
    }

    fn err(args: Value) -> String {
        parse(&args, &config(), 1000).unwrap_err().to_string()
    }

    #[test]
    fn full_lease() {
        let input = parse(
            &json!({"ip-address": "198.18.0.6", "hw-address": "AA:bb:cc:dd:ee:01",
                "client-id": "01:aa:bb:cc:dd:ee:01", "hostname": "Host-A.Example.",
                "fqdn-fwd": true, "comment": "c", "user-context": {"x": [1, 2]},
                "expire": 1_795_632_329, "valid-lft": 300, "state": 1, "extra": 1}),
            &config(),
            1000,
        )
        .unwrap();
        assert!(!input.force_create);
        let lease = input.lease;
        assert_eq!(lease.subnet_id, 1);
        assert_eq!(lease.cltt, 1_795_632_029);
        assert_eq!(lease.hostname.as_str(), "host-a.example.");
        assert_eq!(lease.state, LeaseState::Declined);
        assert_eq!(
            lease.user_context.unwrap().as_str(),
            r#"{ "comment": "c", "x": [ 1, 2 ] }"#
        );
    }

    #[test]
    fn defaults_from_the_subnet_selected_by_address() {
        let input = parse(
            &json!({"ip-address": "198.18.1.7", "hw-address": "aa:bb:cc:dd:ee:02",
                "subnet-id": 0, "force-create": true}),
            &config(),
            1000,
        )
        .unwrap();
        assert!(input.force_create);
        assert_eq!(input.lease.subnet_id, 2);
        assert_eq!(input.lease.valid_lifetime, 7200);
        assert_eq!(input.lease.cltt, 1000);
    }

    /// Texts Kea 2.2 answered for the same arguments.
    #[test]
    fn kea_refusals() {
        let hw = "aa:bb:cc:dd:ee:01";
        assert_eq!(
            err(json!({"ip-address": "198.18.0.5"})),
            "missing parameter 'hw-address' (<wire>:0:16)"
        );
        assert_eq!(
            err(json!({"ip-address": "2001:db8::1", "hw-address": hw})),
            "Non-IPv4 address specified: 2001:db8::1"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "subnet-id": 7})),
            "Invalid subnet-id: No IPv4 subnet with subnet-id=7 currently configured."
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "subnet-id": 2})),
            "The address 198.18.0.6 does not belong to subnet 198.18.1.0/24, subnet-id=2"
        );
        assert_eq!(
            err(json!({"ip-address": "10.0.0.1", "hw-address": hw})),
            "subnet-id not specified and failed to find a subnet for address 10.0.0.1"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.2.1", "hw-address": hw})),
            "subnet-id not specified and failed to find a subnet for address 198.18.2.1",
            "a class-restricted subnet is not selected without classes"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "state": 3})),
            "Invalid state value: 3, supported values are: 0 (default), 1 (declined) and 2 \
             (expired-reclaimed)"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "state": 300})),
            "out of range value (300) specified for parameter 'state' (<wire>:0:89)"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "fqdn-fwd": true})),
            "No hostname specified and either forward or reverse fqdn was set to true."
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "expire": -5})),
            "expiration time must be positive for address 198.18.0.6"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "expire": 100})),
            "expiration time must be greater than valid lifetime for address 198.18.0.6"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "user-context": [1]})),
            "Invalid user context '[ 1 ]' is not a JSON map."
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw,
                "user-context": {"comment": "a"}, "comment": "b"})),
            r#"Duplicated comment entry '"b"' in user context '{ "comment": "a" }'"#
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": hw, "force-create": "yes"})),
            "invalid type specified for parameter 'force-create' (<wire>:0:33)"
        );
        assert_eq!(
            err(json!({"ip-address": "198.18.0.6", "hw-address": "zz"})),
            "'z' is not a valid hexadecimal digit in decoded string 'zz'"
        );
    }
}
