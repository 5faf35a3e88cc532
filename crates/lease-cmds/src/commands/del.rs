//! `lease4-del`: deletes one lease, by address or by client identifier in a subnet.
//!
//! Deleted: `IPv4 lease deleted.`; not found: result 3 `IPv4 lease not found.`. `update-ddns`
//! is validated and accepted; Nestor has no DHCP-DDNS client, so there is no DNS entry to
//! remove (as with Kea when DDNS updates are disabled).

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::LeaseCommand;
use crate::error::CommandError;
use crate::lookup::{Lookup, LookupParams};
use crate::stats;

/// A parsed `lease4-del`.
#[derive(Debug)]
pub(crate) struct LeaseDel {
    lookup: Lookup,
}

const NOT_FOUND: &str = "IPv4 lease not found.";

impl LeaseCommand for LeaseDel {
    const NAME: &'static str = "lease4-del";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let params = LookupParams::parse(arguments)?;
        if params.lookup == Lookup::Duid {
            return Err(CommandError::rejected(
                "Delete by duid is not allowed in v4.",
            ));
        }
        Ok(Self {
            lookup: params.lookup,
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let store = server.leases();
        let Some(lease) = self
            .lookup
            .find(store.as_ref())
            .await
            .map_err(CommandError::from_store)?
        else {
            return Ok(Answer::empty(NOT_FOUND));
        };
        // Deleted by address: a lease the allocator replaced in between is deleted as found
        // now, which is what Kea's memfile does too.
        match store
            .delete(lease.address)
            .await
            .map_err(CommandError::from_store)?
        {
            Some(deleted) => {
                stats::on_delete(server.stats(), &deleted);
                tracing::info!(address = %deleted.address, "LEASE_CMDS_DEL4");
                Ok(Answer::success("IPv4 lease deleted."))
            }
            None => Ok(Answer::empty(NOT_FOUND)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn deletes_and_counts() {
        let server = server();
        let mut declined = lease("0.8", "aa:bb:cc:dd:ee:02");
        declined["state"] = json!(1);
        add(&server, declined).await;
        add(&server, lease("0.9", "aa:bb:cc:dd:ee:09")).await;
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(2));

        let by_hw = json!({"subnet-id": 1, "identifier-type": "hw-address",
            "identifier": "aa:bb:cc:dd:ee:09"});
        let answer = run(&server, "lease4-del", Some(by_hw.clone())).await;
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease deleted."));
        let answer = run(&server, "lease4-del", Some(by_hw)).await;
        assert_eq!(answer.result, ResultCode::Empty);
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease not found."));

        let answer = run(
            &server,
            "lease4-del",
            Some(json!({"ip-address": "198.18.0.8", "update-ddns": true})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Success);
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(0));
        assert_eq!(stat(&server, "declined-addresses"), Some(0));
        assert!(server.leases().get_all(None).await.unwrap().is_empty());

        let answer = run(
            &server,
            "lease4-del",
            Some(json!({"subnet-id": 1, "identifier-type": "duid", "identifier": "aa"})),
        )
        .await;
        assert_eq!(
            answer.text.as_deref(),
            Some("Delete by duid is not allowed in v4.")
        );
    }
}
