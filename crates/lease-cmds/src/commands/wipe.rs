//! `lease4-wipe`: deletes every lease of one subnet, or of every configured subnet when
//! `subnet-id` is 0 or absent (leases of subnets no longer configured stay, as in Kea).
//!
//! `Deleted N IPv4 lease(s) from subnet(s) 1 2`, result 3 when nothing was deleted. The
//! subnets' `assigned-addresses` and `declined-addresses` are reset, as Kea resets them.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::LeaseCommand;
use crate::args::Args;
use crate::error::CommandError;
use crate::stats;

/// A parsed `lease4-wipe`.
#[derive(Debug)]
pub(crate) struct LeaseWipe {
    /// `None`: every configured subnet.
    subnet_id: Option<u32>,
}

impl LeaseCommand for LeaseWipe {
    const NAME: &'static str = "lease4-wipe";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let subnet_id = match arguments {
            None => 0,
            Some(arguments) => {
                let args = Args::with_accessor(arguments, "contains(string)")?;
                if args.contains("subnet-id") {
                    args.u32("subnet-id")?
                } else {
                    0
                }
            }
        };
        Ok(Self {
            subnet_id: (subnet_id != 0).then_some(subnet_id),
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let store = server.leases();
        let ids = match self.subnet_id {
            Some(id) => vec![id],
            None => server.config().subnets.iter().map(|s| s.id).collect(),
        };
        let mut deleted = 0u64;
        for &id in &ids {
            deleted += store
                .wipe(Some(id))
                .await
                .map_err(CommandError::from_store)?;
        }
        match self.subnet_id {
            Some(id) => stats::on_wipe_subnet(server.stats(), id),
            None => stats::on_wipe_all(server.stats(), &ids),
        }
        let list: String = ids.iter().map(|id| format!(" {id}")).collect();
        let text = format!("Deleted {deleted} IPv4 lease(s) from subnet(s){list}");
        tracing::info!(%text, "LEASE_CMDS_WIPE4");
        Ok(if deleted > 0 {
            Answer::success(text)
        } else {
            Answer::empty(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn wipes_subnets() {
        let server = server();
        let mut declined = lease("1.7", "aa:bb:cc:dd:ee:02");
        declined["state"] = json!(1);
        add(&server, declined).await;
        add(&server, lease("0.5", "aa:bb:cc:dd:ee:05")).await;
        add(&server, lease("0.6", "aa:bb:cc:dd:ee:06")).await;

        let answer = run(&server, "lease4-wipe", Some(json!({"subnet-id": 9}))).await;
        assert_eq!(answer.result, ResultCode::Empty);
        assert_eq!(
            answer.text.as_deref(),
            Some("Deleted 0 IPv4 lease(s) from subnet(s) 9")
        );

        let answer = run(&server, "lease4-wipe", Some(json!({"subnet-id": 2}))).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("Deleted 1 IPv4 lease(s) from subnet(s) 2")
        );
        assert_eq!(stat(&server, "declined-addresses"), Some(0));
        assert_eq!(stat(&server, "subnet[2].assigned-addresses"), Some(0));

        let answer = run(&server, "lease4-wipe", Some(json!({}))).await;
        assert_eq!(answer.result, ResultCode::Success);
        assert_eq!(
            answer.text.as_deref(),
            Some("Deleted 2 IPv4 lease(s) from subnet(s) 1 2")
        );
        assert_eq!(stat(&server, "subnet[1].assigned-addresses"), Some(0));

        let answer = run(&server, "lease4-wipe", None).await;
        assert_eq!(answer.result, ResultCode::Empty);
        let answer = run(&server, "lease4-wipe", Some(json!([1]))).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("contains(string) called on a non-map Element in (<wire>:0:16)")
        );
        let answer = run(&server, "lease4-wipe", Some(json!({"subnet-id": "x"}))).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("invalid type specified for parameter 'subnet-id' (<wire>:0:30)")
        );
    }
}
