//! `lease4-get-by-client-id`: the leases of a client identifier, in every subnet.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use nestor_leases::ClientId;
use serde_json::Value;

use super::{LeaseCommand, by_arguments, by_string, leases_found};
use crate::error::CommandError;
use crate::ident;

/// A parsed `lease4-get-by-client-id`.
#[derive(Debug)]
pub(crate) struct LeaseGetByClientId {
    client_id: ClientId,
}

impl LeaseCommand for LeaseGetByClientId {
    const NAME: &'static str = "lease4-get-by-client-id";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let args = by_arguments(arguments)?;
        let text = by_string(args, "client-id")?;
        Ok(Self {
            client_id: ident::client_id(text).map_err(CommandError::Rejected)?,
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let mut leases = server
            .leases()
            .get_by_client_id(&self.client_id, None)
            .await
            .map_err(CommandError::from_store)?;
        // Kea's memfile walks its (client-id, subnet-id) index.
        leases.sort_by_key(|l| (l.subnet_id, l.address));
        Ok(leases_found(&leases, None))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn finds_and_refuses() {
        let server = server();
        let mut l = lease("0.6", "aa:bb:cc:dd:ee:01");
        l["client-id"] = json!("01:aa:bb:cc:dd:ee:01");
        add(&server, l).await;
        let answer = run(
            &server,
            "lease4-get-by-client-id",
            Some(json!({"client-id": "01AABBCCDDEE01"})),
        )
        .await;
        assert_eq!(answer.text.as_deref(), Some("1 IPv4 lease(s) found."));
        let answer = run(
            &server,
            "lease4-get-by-client-id",
            Some(json!({"client-id": "01:02:03"})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Empty);
        for (args, text) in [
            (
                Some(json!([1])),
                "Command arguments missing or a not a map.",
            ),
            (Some(json!({})), "'client-id' parameter not specified"),
            (
                Some(json!({"client-id": ""})),
                "Empty DUIDs are not allowed",
            ),
            (
                Some(json!({"client-id": "01"})),
                "client-id is too short (1), at least 2 is required",
            ),
        ] {
            let answer = run(&server, "lease4-get-by-client-id", args).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
