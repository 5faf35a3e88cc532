//! `lease4-get-all`: every lease, or those of the listed subnets.
//!
//! With `subnets`, leases come subnet by subnet in the order listed (as Kea's memfile answers);
//! without arguments, in ascending address order.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::{LeaseCommand, leases_found};
use crate::args::Args;
use crate::error::CommandError;

/// A parsed `lease4-get-all`.
#[derive(Debug)]
pub(crate) struct LeaseGetAll {
    /// `None`: all leases.
    subnets: Option<Vec<u32>>,
}

impl LeaseCommand for LeaseGetAll {
    const NAME: &'static str = "lease4-get-all";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let Some(arguments) = arguments else {
            return Ok(Self { subnets: None });
        };
        let args = Args::new(arguments)?;
        let subnets = match args.get("subnets") {
            None => return Err(CommandError::rejected("'subnets' parameter not specified")),
            Some(Value::Array(ids)) => ids,
            Some(_) => return Err(CommandError::rejected("'subnets' parameter must be a list")),
        };
        let subnets = subnets
            .iter()
            // Kea keeps the integer in a 32-bit SubnetID: larger values wrap.
            .map(|id| id.as_i64().map(|id| id as u32))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| CommandError::rejected("listed subnet identifiers must be numbers"))?;
        Ok(Self {
            subnets: Some(subnets),
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let store = server.leases();
        let leases = match self.subnets {
            None => store.get_all(None).await,
            Some(ids) => {
                let mut all = Vec::new();
                for id in ids {
                    match store.get_all(Some(&[id])).await {
                        Ok(leases) => all.extend(leases),
                        Err(e) => return Err(CommandError::from_store(e)),
                    }
                }
                Ok(all)
            }
        }
        .map_err(CommandError::from_store)?;
        Ok(leases_found(&leases, None))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    fn addresses(answer: &nestor_ctrl::Answer) -> Vec<String> {
        answer.arguments.as_ref().unwrap()["leases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["ip-address"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn all_and_by_subnet() {
        let server = server();
        let answer = run(&server, "lease4-get-all", None).await;
        assert_eq!(answer.result, ResultCode::Empty);
        assert_eq!(answer.text.as_deref(), Some("0 IPv4 lease(s) found."));
        assert_eq!(answer.arguments, Some(json!({"leases": []})));

        add(&server, lease("1.7", "aa:bb:cc:dd:ee:02")).await;
        add(&server, lease("0.5", "aa:bb:cc:dd:ee:05")).await;
        let answer = run(&server, "lease4-get-all", None).await;
        assert_eq!(answer.text.as_deref(), Some("2 IPv4 lease(s) found."));
        assert_eq!(addresses(&answer), ["198.18.0.5", "198.18.1.7"]);

        let answer = run(
            &server,
            "lease4-get-all",
            Some(json!({"subnets": [2, 1, 9]})),
        )
        .await;
        assert_eq!(addresses(&answer), ["198.18.1.7", "198.18.0.5"]);

        for (args, text) in [
            (json!({}), "'subnets' parameter not specified"),
            (json!({"subnets": 1}), "'subnets' parameter must be a list"),
            (
                json!({"subnets": ["1"]}),
                "listed subnet identifiers must be numbers",
            ),
            (
                json!([1]),
                "get(string) called on a non-map Element in (<wire>:0:16)",
            ),
        ] {
            let answer = run(&server, "lease4-get-all", Some(args)).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
