//! The lease designation shared by `lease4-get` and `lease4-del`: an `ip-address`, or an
//! `identifier-type` + `identifier` + `subnet-id` (Kea 2.2's `LeaseCmdsImpl::getParameters`,
//! its checks in its order, its texts).

use std::net::Ipv4Addr;

use nestor_leases::{ClientId, DynLeaseStore, HwAddr, Lease4, LeaseError};
use serde_json::Value;

use crate::error::CommandError;
use crate::ident;
use crate::position::Position;

/// Which lease a command designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// By address.
    Address(Ipv4Addr),
    /// `identifier-type: address`: Kea then looks up its unset address (`::`), which never has
    /// an IPv4 lease.
    UnsetAddress,
    /// The client's lease in a subnet, by hardware address.
    HwAddress { hwaddr: HwAddr, subnet_id: u32 },
    /// The client's lease in a subnet, by client identifier.
    ClientId { client_id: ClientId, subnet_id: u32 },
    /// By DUID: valid only for DHCPv6; each command refuses it with its own text.
    Duid,
}

/// A parsed designation and the `update-ddns` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupParams {
    pub(crate) lookup: Lookup,
    /// `lease4-del`: ask D2 to remove the DNS entries (Nestor has no D2 client; accepted).
    pub(crate) update_ddns: bool,
}

impl LookupParams {
    /// Parses the arguments of `lease4-get` / `lease4-del`.
    pub(crate) fn parse(arguments: Option<&Value>) -> Result<Self, CommandError> {
        let Some(Value::Object(args)) = arguments else {
            return Err(CommandError::rejected(
                "Parameters missing or are not a map.",
            ));
        };
        let update_ddns = match args.get("update-ddns") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(CommandError::rejected("'update-ddns' is not a boolean")),
        };
        // The lease type matters only to DHCPv6, but Kea validates it for v4 too.
        if let Some(kind) = args.get("type") {
            let Value::String(kind) = kind else {
                return Err(CommandError::NotAString {
                    at: Position::of_member(args, "type"),
                });
            };
            if !matches!(
                kind.as_str(),
                "IA_NA" | "0" | "IA_TA" | "1" | "IA_PD" | "2" | "V4" | "3"
            ) {
                return Err(CommandError::rejected(format!(
                    "Invalid lease type specified: {kind}, only supported values are: IA_NA, \
                     IA_TA, IA_PD and V4"
                )));
            }
        }
        if let Some(address) = args.get("ip-address") {
            let Value::String(text) = address else {
                return Err(CommandError::rejected("'ip-address' is not a string."));
            };
            let parsed = ident::parse_ip(text).map_err(CommandError::Rejected)?;
            let v4 = ident::v4(parsed).ok_or_else(|| {
                CommandError::rejected(format!("Invalid IPv4 address specified: {text}"))
            })?;
            return Ok(Self {
                lookup: Lookup::Address(v4),
                update_ddns,
            });
        }
        let subnet_id = match args.get("subnet-id") {
            None => {
                return Err(CommandError::rejected(
                    "Mandatory 'subnet-id' parameter missing.",
                ));
            }
            // Kea stores the integer in a 32-bit SubnetID: larger values wrap.
            Some(value) => match value.as_i64() {
                Some(id) => id as u32,
                None => {
                    return Err(CommandError::rejected(
                        "'subnet-id' parameter is not integer.",
                    ));
                }
            },
        };
        if let Some(iaid) = args.get("iaid")
            && iaid.as_i64().is_none()
        {
            return Err(CommandError::NotAnInteger {
                at: Position::of_member(args, "iaid"),
            });
        }
        let Some(Value::String(kind)) = args.get("identifier-type") else {
            return Err(CommandError::rejected(
                "No 'ip-address' provided and 'identifier-type' is either missing or not a \
                 string.",
            ));
        };
        let Some(Value::String(identifier)) = args.get("identifier") else {
            return Err(CommandError::rejected(
                "No 'ip-address' provided and 'identifier' is either missing or not a string.",
            ));
        };
        let lookup = match kind.as_str() {
            "address" => Lookup::UnsetAddress,
            "hw-address" => Lookup::HwAddress {
                hwaddr: ident::hw_address(identifier).map_err(CommandError::Rejected)?,
                subnet_id,
            },
            "client-id" => Lookup::ClientId {
                client_id: ident::client_id(identifier).map_err(CommandError::Rejected)?,
                subnet_id,
            },
            "duid" => {
                ident::check_duid(identifier).map_err(CommandError::Rejected)?;
                Lookup::Duid
            }
            other => {
                return Err(CommandError::rejected(format!(
                    "Incorrect identifier type: {other}, the only supported values are: \
                     address, hw-address, duid"
                )));
            }
        };
        Ok(Self {
            lookup,
            update_ddns,
        })
    }
}

impl Lookup {
    /// The designated lease. By identifier, Kea's memfile returns the first lease of the
    /// client in the subnet; here the lowest address (Kea's is the earliest inserted).
    /// `Duid` finds nothing (the commands refuse it before looking up).
    pub(crate) async fn find(
        &self,
        store: &dyn DynLeaseStore,
    ) -> Result<Option<Lease4>, LeaseError> {
        match self {
            Lookup::Address(address) => store.get(*address).await,
            Lookup::UnsetAddress | Lookup::Duid => Ok(None),
            Lookup::HwAddress { hwaddr, subnet_id } => Ok(store
                .get_by_hwaddr(hwaddr, Some(*subnet_id))
                .await?
                .into_iter()
                .next()),
            Lookup::ClientId {
                client_id,
                subnet_id,
            } => Ok(store
                .get_by_client_id(client_id, Some(*subnet_id))
                .await?
                .into_iter()
                .next()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(args: Option<Value>) -> String {
        LookupParams::parse(args.as_ref()).unwrap_err().to_string()
    }

    fn ok(args: Value) -> LookupParams {
        LookupParams::parse(Some(&args)).unwrap()
    }

    /// Texts Kea 2.2 answered for the same arguments.
    #[test]
    fn kea_texts() {
        assert_eq!(err(None), "Parameters missing or are not a map.");
        assert_eq!(
            err(Some(json!([1]))),
            "Parameters missing or are not a map."
        );
        assert_eq!(
            err(Some(json!({}))),
            "Mandatory 'subnet-id' parameter missing."
        );
        assert_eq!(
            err(Some(json!({"ip-address": 5}))),
            "'ip-address' is not a string."
        );
        assert_eq!(
            err(Some(json!({"ip-address": "bogus"}))),
            "Failed to convert string to address 'bogus': Invalid argument"
        );
        assert_eq!(
            err(Some(json!({"ip-address": "2001:db8::1"}))),
            "Invalid IPv4 address specified: 2001:db8::1"
        );
        assert_eq!(
            err(Some(json!({"subnet-id": "1"}))),
            "'subnet-id' parameter is not integer."
        );
        assert_eq!(
            err(Some(json!({"subnet-id": 1}))),
            "No 'ip-address' provided and 'identifier-type' is either missing or not a string."
        );
        assert_eq!(
            err(Some(
                json!({"subnet-id": 1, "identifier-type": "hw-address"})
            )),
            "No 'ip-address' provided and 'identifier' is either missing or not a string."
        );
        assert_eq!(
            err(Some(
                json!({"subnet-id": 1, "identifier-type": "foo", "identifier": "aa"})
            )),
            "Incorrect identifier type: foo, the only supported values are: address, \
             hw-address, duid"
        );
        assert_eq!(
            err(Some(json!({"ip-address": "198.18.0.6", "update-ddns": 1}))),
            "'update-ddns' is not a boolean"
        );
        assert_eq!(
            err(Some(json!({"ip-address": "198.18.0.6", "type": 5}))),
            "stringValue() called on non-string Element in (<wire>:0:53)"
        );
        assert_eq!(
            err(Some(json!({"ip-address": "198.18.0.6", "type": "bad"}))),
            "Invalid lease type specified: bad, only supported values are: IA_NA, IA_TA, \
             IA_PD and V4"
        );
    }

    #[test]
    fn designations() {
        assert_eq!(
            ok(json!({"ip-address": "198.18.0.6", "type": "IA_PD", "update-ddns": true})),
            LookupParams {
                lookup: Lookup::Address(Ipv4Addr::new(198, 18, 0, 6)),
                update_ddns: true
            }
        );
        let p = ok(json!({"subnet-id": -1, "identifier-type": "hw-address",
            "identifier": "AA:bb:cc:dd:ee:01"}));
        assert_eq!(
            p.lookup,
            Lookup::HwAddress {
                hwaddr: HwAddr::from_text("aa:bb:cc:dd:ee:01").unwrap(),
                subnet_id: u32::MAX
            }
        );
        let p = ok(json!({"subnet-id": 1, "identifier-type": "address", "identifier": "x"}));
        assert_eq!(p.lookup, Lookup::UnsetAddress);
        let p = ok(json!({"subnet-id": 1, "identifier-type": "duid", "identifier": "aa:bb"}));
        assert_eq!(p.lookup, Lookup::Duid);
    }
}
