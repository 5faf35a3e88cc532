//! `lease4-resend-ddns`: asks the DHCP-DDNS daemon to redo a lease's DNS updates.
//!
//! Nestor has no DHCP-DDNS client, so DNS updating is never enabled: after Kea's checks of
//! `ip-address`, the answer is Kea's for a server with DDNS disabled, result 1
//! `DDNS updating is not enabled` (whatever the lease store holds, as in Kea).

use std::net::Ipv4Addr;

use nestor_ctrl::Answer;
use nestor_hooks::ServerHandle;
use serde_json::Value;

use super::LeaseCommand;
use crate::args::Args;
use crate::error::CommandError;
use crate::ident;

/// A parsed `lease4-resend-ddns`.
#[derive(Debug)]
pub(crate) struct LeaseResendDdns {
    address: Ipv4Addr,
}

impl LeaseCommand for LeaseResendDdns {
    const NAME: &'static str = "lease4-resend-ddns";

    fn parse(arguments: Option<&Value>, _server: &ServerHandle) -> Result<Self, CommandError> {
        // Kea 2.2 dereferences absent arguments here (and crashes); the missing parameter is
        // what the command lacks.
        let missing = || CommandError::rejected("'ip-address' parameter is missing.");
        let arguments = arguments.ok_or_else(missing)?;
        let args = Args::new(arguments)?;
        let text = match args.get("ip-address") {
            None => return Err(missing()),
            Some(Value::String(text)) => text,
            Some(_) => return Err(CommandError::rejected("'ip-address' is not a string.")),
        };
        let address = ident::parse_ip(text)
            .map_err(|_| CommandError::rejected(format!("'{text}' is not a valid IP address.")))?;
        let address = ident::v4(address).ok_or_else(|| {
            CommandError::rejected(format!("Invalid IPv4 address specified: {text}"))
        })?;
        Ok(Self { address })
    }

    async fn apply(self, _server: &ServerHandle) -> Result<Answer, CommandError> {
        tracing::warn!(address = %self.address, "LEASE_CMDS_RESEND_DDNS4_FAILED: DDNS updating is not enabled");
        Err(CommandError::rejected("DDNS updating is not enabled"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_server::*;
    use nestor_ctrl::ResultCode;
    use serde_json::json;

    #[tokio::test]
    async fn answers_as_kea_without_ddns() {
        let server = server();
        add(&server, lease("0.5", "aa:bb:cc:dd:ee:05")).await;
        for (args, text) in [
            (
                json!({"ip-address": "198.18.0.5"}),
                "DDNS updating is not enabled",
            ),
            (
                json!({"ip-address": "198.18.0.55"}),
                "DDNS updating is not enabled",
            ),
            (json!({"ip-address": 5}), "'ip-address' is not a string."),
            (json!({"ip-address": "x"}), "'x' is not a valid IP address."),
            (
                json!({"ip-address": "::1"}),
                "Invalid IPv4 address specified: ::1",
            ),
            (json!({}), "'ip-address' parameter is missing."),
        ] {
            let answer = run(&server, "lease4-resend-ddns", Some(args)).await;
            assert_eq!(answer.result, ResultCode::Error);
            assert_eq!(answer.text.as_deref(), Some(text));
        }
    }
}
