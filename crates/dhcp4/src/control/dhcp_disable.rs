//! `dhcp-disable`: stops serving DHCP for an `origin` (`user`, default, or `ha-partner`),
//! optionally for `max-period` seconds.

use std::sync::Arc;
use std::time::Duration;

use nestor_ctrl::{Answer, Command};
use serde_json::Value;

use crate::server::Server;
use nestor_hooks::Origin;

/// The arguments, validated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DisableArgs {
    pub(crate) max_period: Option<u64>,
    pub(crate) origin: Origin,
}

/// `origin`, with Kea's texts.
pub(crate) fn parse_origin(v: Option<&Value>) -> Result<Origin, Answer> {
    match v {
        None => Ok(Origin::User),
        Some(Value::String(s)) => {
            Origin::from_command_arg(s).map_err(|e| Answer::error(e.to_string()))
        }
        Some(_) => Err(Answer::error("'origin' argument must be a string")),
    }
}

pub(crate) fn parse(cmd: &Command) -> Result<DisableArgs, Answer> {
    let args = super::args_map(cmd, || {
        "arguments for the 'dhcp-disable' command must be a map".into()
    })?;
    let max_period = match args.and_then(|a| a.get("max-period")) {
        None => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(p) if p > 0 => Some(p.unsigned_abs()),
            _ => return Err(Answer::error("'max-period' must be positive integer")),
        },
        Some(_) => return Err(Answer::error("'max-period' argument must be a number")),
    };
    let origin = parse_origin(args.and_then(|a| a.get("origin")))?;
    Ok(DisableArgs { max_period, origin })
}

pub(super) async fn handle(server: Arc<Server>, cmd: Command) -> Answer {
    let args = match parse(&cmd) {
        Ok(a) => a,
        Err(answer) => return answer,
    };
    if let Some(p) = args.max_period
        && let Err(e) = server
            .network()
            .delayed_enable_all(args.origin, Duration::from_secs(p))
    {
        return Answer::error(e.to_string());
    }
    server.network().disable(args.origin);
    match args.max_period {
        Some(p) => Answer::success(format!("DHCPv4 service disabled for {p} seconds")),
        None => Answer::success("DHCPv4 service disabled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(args: Value) -> Result<DisableArgs, String> {
        parse(&Command::new("dhcp-disable").with_arguments(args))
            .map_err(|a| a.text.unwrap_or_default())
    }

    #[test]
    fn kea_texts() {
        assert_eq!(
            p(json!({"max-period": -1})).unwrap_err(),
            "'max-period' must be positive integer"
        );
        assert_eq!(
            p(json!({"max-period": "x"})).unwrap_err(),
            "'max-period' argument must be a number"
        );
        assert_eq!(
            p(json!({"origin": "foo"})).unwrap_err(),
            "invalid value used for 'origin' parameter: foo"
        );
        assert_eq!(
            p(json!([])).unwrap_err(),
            "arguments for the 'dhcp-disable' command must be a map"
        );
        assert_eq!(
            p(json!({"max-period": 5, "origin": "ha-partner"})).unwrap(),
            DisableArgs {
                max_period: Some(5),
                origin: Origin::HaPartner
            }
        );
    }
}
