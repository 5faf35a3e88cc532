//! A lease as the commands render it: Kea 2.2's `Lease4::toElement` (reference 2.1).
//!
//! Keys in Kea's (alphabetical) order; `client-id` only when the lease has one, `user-context`
//! only when set; `cltt` rather than `expire`.

use nestor_leases::Lease4;
use serde_json::{Map, Value};

use crate::position::sorted;

/// The lease's JSON map.
pub(crate) fn to_element(lease: &Lease4) -> Value {
    let mut map = Map::new();
    if let Some(client_id) = &lease.client_id {
        map.insert("client-id".into(), Value::from(client_id.to_string()));
    }
    map.insert("cltt".into(), Value::from(lease.cltt));
    map.insert("fqdn-fwd".into(), Value::from(lease.fqdn_fwd));
    map.insert("fqdn-rev".into(), Value::from(lease.fqdn_rev));
    map.insert("hostname".into(), Value::from(lease.hostname.as_str()));
    map.insert("hw-address".into(), Value::from(lease.hwaddr.to_string()));
    map.insert("ip-address".into(), Value::from(lease.address.to_string()));
    map.insert("state".into(), Value::from(lease.state.as_u32()));
    map.insert("subnet-id".into(), Value::from(lease.subnet_id));
    if let Some(context) = &lease.user_context {
        map.insert(
            "user-context".into(),
            sorted(Value::Object(context.to_map())),
        );
    }
    map.insert("valid-lft".into(), Value::from(lease.valid_lifetime));
    Value::Object(map)
}

/// `{"leases": [...]}` for the list commands.
pub(crate) fn leases_list(leases: &[Lease4]) -> Value {
    Value::Array(leases.iter().map(to_element).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_leases::{ClientId, Hostname, HwAddr, LeaseState, UserContext};
    use std::net::Ipv4Addr;

    #[test]
    fn kea_shape() {
        let mut lease = Lease4::new(
            Ipv4Addr::new(192, 0, 2, 50),
            HwAddr::from_text("1a:1b:1c:1d:1e:1f").unwrap(),
            Some(ClientId::from_text("01:02:03").unwrap()),
            4000,
            1_795_632_329,
            1,
        );
        lease.hostname = Hostname::new("a,b&c.example");
        let json = to_element(&lease);
        // Reference 2.1, verbatim.
        assert_eq!(
            crate::position::kea_str(&json),
            r#"{ "client-id": "01:02:03", "cltt": 1795632329, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "a,b&c.example", "hw-address": "1a:1b:1c:1d:1e:1f", "ip-address": "192.0.2.50", "state": 0, "subnet-id": 1, "valid-lft": 4000 }"#
        );
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            serde_json::to_string(&crate::position::sorted(json.clone())).unwrap(),
            "keys already in Kea's order"
        );
        lease.client_id = None;
        lease.state = LeaseState::Declined;
        lease.user_context = Some(UserContext::from_json_text(r#"{"z": 1, "a": [2]}"#).unwrap());
        let json = to_element(&lease);
        assert!(json.get("client-id").is_none());
        assert_eq!(json["state"], 1);
        assert_eq!(
            crate::position::kea_str(&json["user-context"]),
            r#"{ "a": [ 2 ], "z": 1 }"#
        );
    }
}
