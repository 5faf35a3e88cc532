//! `lease4-get-page`: up to `limit` leases with addresses above `from` (`"start"` or an IPv4
//! address, exclusive), ascending. The last page is the first with fewer than `limit` leases;
//! an empty page is result 3.

use std::net::Ipv4Addr;
use std::num::NonZeroUsize;

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::{LeaseCommand, leases_found};
use crate::args::Args;
use crate::error::CommandError;
use crate::ident;

/// A parsed `lease4-get-page`.
#[derive(Debug)]
pub(crate) struct LeaseGetPage {
    /// `None`: from the start.
    after: Option<Ipv4Addr>,
    limit: NonZeroUsize,
}

impl LeaseCommand for LeaseGetPage {
    const NAME: &'static str = "lease4-get-page";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let arguments = arguments.ok_or_else(|| {
            CommandError::rejected("no parameters specified for the lease4-get-page command")
        })?;
        let args = Args::new(arguments)?;
        let from = match args.get("from") {
            None => return Err(CommandError::rejected("'from' parameter not specified")),
            Some(Value::String(from)) => from,
            Some(_) => return Err(CommandError::rejected("'from' parameter must be a string")),
        };
        let after = if from == "start" {
            None
        } else {
            let address = ident::parse_ip(from).map_err(|_| {
                CommandError::rejected(
                    "'from' parameter value is neither 'start' keyword nor a valid IPv4 address",
                )
            })?;
            Some(ident::v4(address).ok_or_else(|| {
                CommandError::rejected(format!(
                    "'from' parameter value {address} is not an IPv4 address"
                ))
            })?)
        };
        let limit = match args.get("limit") {
            None => return Err(CommandError::rejected("'limit' parameter not specified")),
            Some(limit) => limit
                .as_i64()
                .ok_or_else(|| CommandError::rejected("'limit' parameter must be a number"))?,
        };
        // Kea casts the integer to size_t, so a negative limit is a huge one (`LeasePageSize`).
        let limit = u32::try_from(limit).map_err(|_| {
            CommandError::rejected(format!(
                "page size of retrieved leases must not be greater than {}",
                u32::MAX
            ))
        })?;
        let limit = usize::try_from(limit)
            .ok()
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| CommandError::rejected("page size of retrieved leases must not be 0"))?;
        Ok(Self { after, limit })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let leases = server
            .leases()
            .get_page(self.after, self.limit)
            .await
            .map_err(CommandError::from_store)?;
        Ok(leases_found(
            &leases,
            Some(("count", Value::from(leases.len()))),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn pages_to_the_end() {
        let server = server();
        for last in ["0.5", "0.6", "1.7"] {
            add(&server, lease(last, "aa:bb:cc:dd:ee:01")).await;
        }
        let answer = run(
            &server,
            "lease4-get-page",
            Some(json!({"from": "start", "limit": 2})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Success);
        assert_eq!(answer.text.as_deref(), Some("2 IPv4 lease(s) found."));
        let args = answer.arguments.unwrap();
        assert_eq!(args["count"], 2);
        let last = args["leases"][1]["ip-address"].clone();
        assert_eq!(last, "198.18.0.6");
        let answer = run(
            &server,
            "lease4-get-page",
            Some(json!({"from": last, "limit": 2})),
        )
        .await;
        assert_eq!(answer.arguments.as_ref().unwrap()["count"], 1);
        let answer = run(
            &server,
            "lease4-get-page",
            Some(json!({"from": "198.18.1.7", "limit": 2})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Empty);
        assert_eq!(answer.arguments, Some(json!({"count": 0, "leases": []})));
    }

    #[tokio::test]
    async fn refusals() {
        let server = server();
        for (args, text) in [
            (
                None,
                "no parameters specified for the lease4-get-page command",
            ),
            (Some(json!({})), "'from' parameter not specified"),
            (
                Some(json!({"from": 1})),
                "'from' parameter must be a string",
            ),
            (
                Some(json!({"from": "x"})),
                "'from' parameter value is neither 'start' keyword nor a valid IPv4 address",
            ),
            (
                Some(json!({"from": "2001:db8::"})),
                "'from' parameter value 2001:db8:: is not an IPv4 address",
            ),
            (
                Some(json!({"from": "start"})),
                "'limit' parameter not specified",
            ),
            (
                Some(json!({"from": "start", "limit": "2"})),
                "'limit' parameter must be a number",
            ),
            (
                Some(json!({"from": "start", "limit": 0})),
                "page size of retrieved leases must not be 0",
            ),
            (
                Some(json!({"from": "start", "limit": -1})),
                "page size of retrieved leases must not be greater than 4294967295",
            ),
        ] {
            let answer = run(&server, "lease4-get-page", args).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
