//! `lease4-get`: one lease, by address or by client identifier in a subnet.
//!
//! Found: result 0 `IPv4 lease found.` with the lease as `arguments`; not found: result 3
//! `Lease not found.`.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::LeaseCommand;
use crate::error::CommandError;
use crate::lease_json;
use crate::lookup::{Lookup, LookupParams};

/// A parsed `lease4-get`.
#[derive(Debug)]
pub(crate) struct LeaseGet {
    lookup: Lookup,
}

impl LeaseCommand for LeaseGet {
    const NAME: &'static str = "lease4-get";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let params = LookupParams::parse(arguments)?;
        if params.lookup == Lookup::Duid {
            return Err(CommandError::rejected(
                "Query by duid is not allowed in v4.",
            ));
        }
        Ok(Self {
            lookup: params.lookup,
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let found = self
            .lookup
            .find(server.leases().as_ref())
            .await
            .map_err(CommandError::from_store)?;
        Ok(match found {
            Some(lease) => {
                Answer::success("IPv4 lease found.").with_arguments(lease_json::to_element(&lease))
            }
            None => Answer::empty("Lease not found."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn by_address_and_identifiers() {
        let server = server();
        let mut l = lease("0.6", "aa:bb:cc:dd:ee:01");
        l["client-id"] = json!("01:aa:bb:cc:dd:ee:01");
        add(&server, l).await;
        for args in [
            json!({"ip-address": "198.18.0.6"}),
            json!({"subnet-id": 1, "identifier-type": "hw-address",
                "identifier": "AA:BB:CC:DD:EE:01"}),
            json!({"subnet-id": 1, "identifier-type": "client-id",
                "identifier": "01:aa:bb:cc:dd:ee:01"}),
        ] {
            let answer = run(&server, "lease4-get", Some(args)).await;
            assert_eq!(answer.result, ResultCode::Success);
            assert_eq!(answer.text.as_deref(), Some("IPv4 lease found."));
            let lease = answer.arguments.unwrap();
            assert_eq!(lease["ip-address"], "198.18.0.6");
            assert_eq!(lease["cltt"], NOW);
        }
        for args in [
            json!({"ip-address": "198.18.0.7"}),
            json!({"subnet-id": 2, "identifier-type": "hw-address",
                "identifier": "aa:bb:cc:dd:ee:01"}),
            json!({"subnet-id": 1, "identifier-type": "address", "identifier": "x"}),
        ] {
            let answer = run(&server, "lease4-get", Some(args)).await;
            assert_eq!(answer.result, ResultCode::Empty);
            assert_eq!(answer.text.as_deref(), Some("Lease not found."));
            assert!(answer.arguments.is_none());
        }
        let answer = run(
            &server,
            "lease4-get",
            Some(json!({"subnet-id": 1, "identifier-type": "duid", "identifier": "aa"})),
        )
        .await;
        assert_eq!(
            answer.text.as_deref(),
            Some("Query by duid is not allowed in v4.")
        );
    }
}
