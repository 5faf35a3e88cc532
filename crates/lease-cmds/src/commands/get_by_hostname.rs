//! `lease4-get-by-hostname`: the leases of a hostname. Kea 2.2 lower-cases the query as it
//! lower-cases stored hostnames, so the match is case-insensitive (verified against 2.2).

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::{LeaseCommand, by_arguments, by_string, leases_found};
use crate::error::CommandError;

/// A parsed `lease4-get-by-hostname`.
#[derive(Debug)]
pub(crate) struct LeaseGetByHostname {
    /// Lower-cased.
    hostname: String,
}

impl LeaseCommand for LeaseGetByHostname {
    const NAME: &'static str = "lease4-get-by-hostname";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let args = by_arguments(arguments)?;
        let hostname = by_string(args, "hostname")?;
        if hostname.is_empty() {
            return Err(CommandError::rejected("'hostname' parameter is empty"));
        }
        Ok(Self {
            hostname: hostname.to_ascii_lowercase(),
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let leases = server
            .leases()
            .get_by_hostname(&self.hostname)
            .await
            .map_err(CommandError::from_store)?;
        Ok(leases_found(&leases, None))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn case_insensitive() {
        let server = server();
        let mut l = lease("0.9", "aa:bb:cc:dd:ee:09");
        l["hostname"] = json!("MiXed.Example");
        add(&server, l).await;
        let answer = run(
            &server,
            "lease4-get-by-hostname",
            Some(json!({"hostname": "MIXED.example"})),
        )
        .await;
        assert_eq!(answer.text.as_deref(), Some("1 IPv4 lease(s) found."));
        assert_eq!(
            answer.arguments.unwrap()["leases"][0]["hostname"],
            "mixed.example"
        );
        let answer = run(
            &server,
            "lease4-get-by-hostname",
            Some(json!({"hostname": "other"})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Empty);
        for (args, text) in [
            (None, "Command arguments missing or a not a map."),
            (Some(json!({})), "'hostname' parameter not specified"),
            (
                Some(json!({"hostname": 3})),
                "'hostname' parameter must be a string",
            ),
            (
                Some(json!({"hostname": ""})),
                "'hostname' parameter is empty",
            ),
        ] {
            let answer = run(&server, "lease4-get-by-hostname", args).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
