//! `lease4-get-by-hw-address`: the leases of a hardware address (hex compared as bytes, so any
//! case), in every subnet.

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use nestor_leases::HwAddr;
use serde_json::Value;

use super::{LeaseCommand, by_arguments, by_string, leases_found};
use crate::error::CommandError;
use crate::ident;

/// A parsed `lease4-get-by-hw-address`.
#[derive(Debug)]
pub(crate) struct LeaseGetByHwAddress {
    hwaddr: HwAddr,
}

impl LeaseCommand for LeaseGetByHwAddress {
    const NAME: &'static str = "lease4-get-by-hw-address";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        let args = by_arguments(arguments)?;
        let text = by_string(args, "hw-address")?;
        Ok(Self {
            hwaddr: ident::hw_address(text).map_err(CommandError::Rejected)?,
        })
    }

    async fn apply(self, server: &ServerHandle) -> Result<Answer, CommandError> {
        let mut leases = server
            .leases()
            .get_by_hwaddr(&self.hwaddr, None)
            .await
            .map_err(CommandError::from_store)?;
        // Kea's memfile walks its (hw-address, subnet-id) index.
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
    async fn finds_in_every_subnet() {
        let server = server();
        add(&server, lease("1.7", "aa:bb:cc:dd:ee:02")).await;
        add(&server, lease("0.8", "aa:bb:cc:dd:ee:02")).await;
        add(&server, lease("0.9", "aa:bb:cc:dd:ee:09")).await;
        let answer = run(
            &server,
            "lease4-get-by-hw-address",
            Some(json!({"hw-address": "AA:BB:CC:DD:EE:02"})),
        )
        .await;
        assert_eq!(answer.text.as_deref(), Some("2 IPv4 lease(s) found."));
        let leases = &answer.arguments.unwrap()["leases"];
        assert_eq!(leases[0]["ip-address"], "198.18.0.8");
        assert_eq!(leases[1]["ip-address"], "198.18.1.7");

        let answer = run(
            &server,
            "lease4-get-by-hw-address",
            Some(json!({"hw-address": ""})),
        )
        .await;
        assert_eq!(answer.result, ResultCode::Empty);
        for (args, text) in [
            (None, "Command arguments missing or a not a map."),
            (Some(json!({})), "'hw-address' parameter not specified"),
            (
                Some(json!({"hw-address": 1})),
                "'hw-address' parameter must be a string",
            ),
            (
                Some(json!({"hw-address": "zz"})),
                "'z' is not a valid hexadecimal digit in decoded string 'zz'",
            ),
        ] {
            let answer = run(&server, "lease4-get-by-hw-address", args).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
