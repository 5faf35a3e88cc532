//! `lease4-update`: replaces every field of a lease (a field left out gets its default, a
//! missing `user-context` removes the context); with `force-create: true`, as HA partners send
//! it, creates the lease when the address has none (reference 1.8, 2.3).

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use nestor_leases::{Lease4, LeaseError};
use serde_json::Value;

use super::LeaseCommand;
use crate::error::CommandError;
use crate::{lease_parser, stats};

/// A parsed `lease4-update`.
#[derive(Debug)]
pub(crate) struct LeaseUpdate {
    lease: Lease4,
    force_create: bool,
}

impl LeaseCommand for LeaseUpdate {
    const NAME: &'static str = "lease4-update";

    fn parse(arguments: Option<&Value>, server: &ServerHandle) -> Result<Self, CommandError> {
        let arguments = arguments.ok_or_else(|| {
            CommandError::rejected("no parameters specified for lease4-update command")
        })?;
        let input = lease_parser::parse(arguments, &server.config(), server.clock().unix_now())?;
        Ok(Self {
            lease: input.lease,
            force_create: input.force_create,
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let store = server.leases();
        if self.force_create {
            // One atomic step, where Kea reads then adds or updates: no race to lose.
            let previous = store
                .upsert(self.lease.clone())
                .await
                .map_err(CommandError::from_store)?;
            return Ok(match previous {
                Some(existing) => {
                    stats::on_update(server.stats(), &existing, &self.lease);
                    Answer::success("IPv4 lease updated.")
                }
                None => {
                    stats::on_add(server.stats(), &self.lease);
                    Answer::success("IPv4 lease added.")
                }
            });
        }
        match store.update(self.lease.clone()).await {
            Ok(existing) => {
                stats::on_update(server.stats(), &existing, &self.lease);
                Ok(Answer::success("IPv4 lease updated."))
            }
            Err(LeaseError::NotFound { address }) => Err(CommandError::UpdateMissing { address }),
            Err(other) => Err(CommandError::from_store(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn update_create_and_move() {
        let server = server();
        let answer = run(
            &server,
            "lease4-update",
            Some(lease("0.77", "aa:bb:cc:dd:ee:77")),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Error);
        assert_eq!(
            answer.text.as_deref(),
            Some(
                "failed to update the lease with address 198.18.0.77 either because the lease \
                 has been deleted or it has changed in the database, in both cases a retry \
                 might succeed"
            )
        );
        let mut create = lease("0.77", "aa:bb:cc:dd:ee:77");
        create["force-create"] = json!(true);
        create["user-context"] = json!({"a": 1});
        let answer = run(&server, "lease4-update", Some(create.clone())).await;
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease added."));
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(1));

        let mut declined = lease("0.77", "aa:bb:cc:dd:ee:78");
        declined["state"] = json!(1);
        let answer = run(&server, "lease4-update", Some(declined)).await;
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease updated."));
        let stored = server
            .leases()
            .get(Ipv4Addr::new(198, 18, 0, 77))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.hwaddr.to_string(), "aa:bb:cc:dd:ee:78");
        assert!(
            stored.user_context.is_none(),
            "a missing context removes it"
        );
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(1));
        assert_eq!(stat(&server, "declined-addresses"), Some(1));

        let answer = run(&server, "lease4-update", Some(create)).await;
        assert_eq!(answer.text.as_deref(), Some("IPv4 lease updated."));
        assert_eq!(stat(&server, "declined-addresses"), Some(0));
        assert_eq!(
            run(&server, "lease4-update", None).await.text.as_deref(),
            Some("no parameters specified for lease4-update command")
        );
    }
}
