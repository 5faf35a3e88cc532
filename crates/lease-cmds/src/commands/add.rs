//! `lease4-add`: stores a new lease (reference 2.3).
//!
//! Success: `Lease for address A, subnet-id N added.`; an address that has a lease is refused
//! with `IPv4 lease already exists.` (result 1 in 2.2; 2.4 made it 4), so a lease of another
//! client is never overwritten by `lease4-add`.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use nestor_leases::Lease4;
use serde_json::Value;

use super::LeaseCommand;
use crate::error::CommandError;
use crate::{lease_parser, stats};

/// A parsed `lease4-add`.
#[derive(Debug)]
pub(crate) struct LeaseAdd {
    lease: Lease4,
}

impl LeaseCommand for LeaseAdd {
    const NAME: &'static str = "lease4-add";

    fn parse(arguments: Option<&Value>, server: &ServerHandle) -> Result<Self, CommandError> {
        let arguments = arguments
            .ok_or_else(|| CommandError::rejected("no parameters specified for the command"))?;
        // `force-create` is parsed (and type-checked) but means nothing to an add.
        let input = lease_parser::parse(arguments, &server.config(), server.clock().unix_now())?;
        Ok(Self { lease: input.lease })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        server
            .leases()
            .add(self.lease.clone())
            .await
            .map_err(CommandError::from_store)?;
        stats::on_add(server.stats(), &self.lease);
        tracing::info!(address = %self.lease.address, "LEASE_CMDS_ADD4");
        Ok(Answer::success(format!(
            "Lease for address {}, subnet-id {} added.",
            self.lease.address, self.lease.subnet_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use nestor_leases::LeaseState;
    use serde_json::json;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn adds_once_and_counts() {
        let server = server();
        let answer = run(
            &server,
            "lease4-add",
            Some(lease("0.5", "aa:bb:cc:dd:ee:ff")),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Success);
        assert_eq!(
            answer.text.as_deref(),
            Some("Lease for address 198.18.0.5, subnet-id 1 added.")
        );
        let stored = server
            .leases()
            .get(Ipv4Addr::new(198, 18, 0, 5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.cltt, NOW as u64);
        assert_eq!(stored.valid_lifetime, 4000);
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(1));

        // Same address, another client: refused, stored lease untouched.
        let answer = run(
            &server,
            "lease4-add",
            Some(lease("0.5", "aa:bb:cc:dd:ee:01")),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Error);
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease already exists."));
        let again = server
            .leases()
            .get(Ipv4Addr::new(198, 18, 0, 5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, stored);
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(1));

        let mut declined = lease("1.9", "aa:bb:cc:dd:ee:09");
        declined["state"] = json!(1);
        add(&server, declined).await;
        let stored = server
            .leases()
            .get(Ipv4Addr::new(198, 18, 1, 9))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((stored.subnet_id, stored.state), (2, LeaseState::Declined));
        assert_eq!(stat(&server, "subnet[2].declined-addresses"), Some(1));
        assert_eq!(stat(&server, "declined-addresses"), Some(1));
    }

    #[tokio::test]
    async fn refusals() {
        let server = server();
        let answer = run(&server, "lease4-add", None).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("no parameters specified for the command")
        );
        let answer = run(&server, "lease4-add", Some(lease("0.5", ""))).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("Lease4: 198.18.0.5, state: default has neither hardware address or client id")
        );
        let answer = run(&server, "lease4-add", Some(json!("x"))).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("get(string) called on a non-map Element in (<wire>:0:15)")
        );
        assert!(server.leases().get_all(None).await.unwrap().is_empty());
    }
}
