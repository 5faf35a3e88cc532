//! One file per command (STYLE habit 5): each parses its `arguments` into a typed struct with
//! Kea 2.2's checks and texts, applies it to the server's lease store, and answers as Kea does.
//! [`Handler`] adapts a [`LeaseCommand`] to the control channel's `CommandHandler`.

mod add;
mod del;
mod get;
mod get_all;
mod get_by_client_id;
mod get_by_hostname;
mod get_by_hw_address;
mod get_page;
mod resend_ddns;
mod update;
mod wipe;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use nestor_ctrl::{Answer, Command, CommandHandler, HandlerFuture};
use nestor_hooks::ServerHandle;
use serde_json::Value;

use crate::error::CommandError;

/// A lease command: typed arguments, applied to the server.
pub(crate) trait LeaseCommand: Sized + Send + 'static {
    /// The command's name.
    const NAME: &'static str;

    /// Validates `arguments` (absent when the command has none) against the server's state that
    /// parsing needs (configuration, clock).
    fn parse(arguments: Option<&Value>, server: &ServerHandle) -> Result<Self, CommandError>;

    /// Applies the command; the answer carries Kea's result code and text.
    fn apply(
        self,
        server: &ServerHandle,
    ) -> impl Future<Output = Result<Answer, CommandError>> + Send;
}

/// The control-channel handler of command `C`.
struct Handler<C> {
    server: ServerHandle,
    command: PhantomData<fn() -> C>,
}

impl<C: LeaseCommand> CommandHandler for Handler<C> {
    fn handle(&self, command: Command) -> HandlerFuture {
        let server = self.server.clone();
        Box::pin(async move {
            let outcome = match C::parse(command.arguments.as_ref(), &server) {
                Ok(parsed) => parsed.apply(&server).await,
                Err(error) => Err(error),
            };
            Ok(outcome.unwrap_or_else(|error| {
                tracing::info!(command = C::NAME, %error, "LEASE_CMDS_FAILED");
                error.into_answer()
            }))
        })
    }
}

fn handler<C: LeaseCommand>(server: &ServerHandle) -> (&'static str, Arc<dyn CommandHandler>) {
    (
        C::NAME,
        Arc::new(Handler::<C> {
            server: server.clone(),
            command: PhantomData,
        }),
    )
}

/// The Kea 2.2 DHCPv4 lease commands, in Kea's (alphabetical) order.
pub(crate) fn all(server: &ServerHandle) -> Vec<(&'static str, Arc<dyn CommandHandler>)> {
    vec![
        handler::<add::LeaseAdd>(server),
        handler::<del::LeaseDel>(server),
        handler::<get::LeaseGet>(server),
        handler::<get_all::LeaseGetAll>(server),
        handler::<get_by_client_id::LeaseGetByClientId>(server),
        handler::<get_by_hostname::LeaseGetByHostname>(server),
        handler::<get_by_hw_address::LeaseGetByHwAddress>(server),
        handler::<get_page::LeaseGetPage>(server),
        handler::<resend_ddns::LeaseResendDdns>(server),
        handler::<update::LeaseUpdate>(server),
        handler::<wipe::LeaseWipe>(server),
    ]
}

/// `N IPv4 lease(s) found.` with `{"leases": [...]}` (plus `extra` members), result 3 when
/// nothing was found: the answer of every list command.
fn leases_found(leases: &[nestor_leases::Lease4], extra: Option<(&str, Value)>) -> Answer {
    let text = format!("{} IPv4 lease(s) found.", leases.len());
    let mut arguments = serde_json::Map::new();
    if let Some((key, value)) = extra {
        arguments.insert(key.to_owned(), value);
    }
    arguments.insert("leases".to_owned(), crate::lease_json::leases_list(leases));
    let answer = if leases.is_empty() {
        Answer::empty(text)
    } else {
        Answer::success(text)
    };
    answer.with_arguments(Value::Object(arguments))
}

/// Kea's check in the `get-by-*` commands.
fn by_arguments(
    arguments: Option<&Value>,
) -> Result<&serde_json::Map<String, Value>, CommandError> {
    match arguments {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(CommandError::rejected(
            "Command arguments missing or a not a map.",
        )),
    }
}

/// The string parameter `name` of a `get-by-*` command.
fn by_string<'a>(
    args: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, CommandError> {
    match args.get(name) {
        None => Err(CommandError::rejected(format!(
            "'{name}' parameter not specified"
        ))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(CommandError::rejected(format!(
            "'{name}' parameter must be a string"
        ))),
    }
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A server handle around an in-memory memfile and a two-subnet configuration, for the
    //! commands' unit tests.

    use std::sync::Arc;

    use nestor_ctrl::{Answer, Command, CommandRegistry};
    use nestor_hooks::{NetworkState, ServerHandle, Stats, TestClock};
    use nestor_leases::Memfile;
    use serde_json::{Value, json};

    /// The wall clock of the test server.
    pub(crate) const NOW: i64 = 1_800_000_000;

    pub(crate) const CONFIG: &str = r#"{"Dhcp4": {"valid-lifetime": 4000, "subnet4": [
        {"id": 1, "subnet": "198.18.0.0/24", "pools": [{"pool": "198.18.0.10 - 198.18.0.200"}]},
        {"id": 2, "subnet": "198.18.1.0/24", "valid-lifetime": 7200}]}}"#;

    pub(crate) fn server() -> ServerHandle {
        let config = nestor_config::parse_dhcp4_str_with(
            CONFIG,
            "test",
            &nestor_config::LoadOptions::offline(),
        )
        .unwrap()
        .config;
        let clock = Arc::new(TestClock::at_unix_secs(NOW));
        ServerHandle::new(
            Arc::new(Memfile::in_memory()),
            NetworkState::new(),
            Stats::new(clock.clone()),
            clock,
            Arc::new(config),
            Arc::new(CommandRegistry::new()),
        )
    }

    /// Runs `name` with `arguments` through the plugin's handler.
    pub(crate) async fn run(server: &ServerHandle, name: &str, arguments: Option<Value>) -> Answer {
        let (_, handler) = super::all(server)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        let mut command = Command::new(name);
        command.arguments = arguments;
        handler.handle(command).await.unwrap()
    }

    /// Adds a lease through `lease4-add`.
    pub(crate) async fn add(server: &ServerHandle, arguments: Value) {
        let answer = run(server, "lease4-add", Some(arguments)).await;
        assert_eq!(
            answer.result,
            nestor_ctrl::ResultCode::Success,
            "{answer:?}"
        );
    }

    pub(crate) fn lease(last: &str, hw: &str) -> Value {
        json!({"ip-address": format!("198.18.{last}"), "hw-address": hw})
    }

    pub(crate) fn stat(server: &ServerHandle, name: &str) -> Option<i64> {
        server.stats().value(name)
    }
}
