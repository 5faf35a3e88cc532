//! The agent's command processing: what kea-ctrl-agent 2.2 does with a parsed request body
//! (`CtrlAgentCommandMgr::handleCommand`, reference 3.4, checked against the real agent).
//!
//! * `service` absent or `[]`: the agent answers itself ([`crate::commands`]); a name it does not
//!   know gets result 2 with Kea's long hint about the `service` parameter.
//! * `service` not a list: `service value must be a list`.
//! * `service` a list: the command goes to each service's unix socket **in turn**, with
//!   `"remote-address": "<HTTP client IP>"` set (a client-supplied value is replaced, `service`
//!   stays in), written the way Kea writes it (keys sorted, Kea's spacing). Each answer is parsed
//!   and re-serialised with sorted keys, as Kea's `Element` round trip does, so the bytes match
//!   kea-ctrl-agent's. A service with no socket, or whose daemon does not answer, gets Kea's
//!   error entry in its place.
//!
//! Every body is a JSON list, rendered with Kea's spacing ([`nestor_ctrl::to_kea_json`]).
//! An empty body is not an HTTP error for Kea 2.2 (the reference's table says 400; the real
//! agent answers 200 `[ { "result": 1, "text": "Command processing failed: NULL command
//! parameter" } ]`), and neither is it here. A non-string entry in `service` gets Kea's
//! `stringValue() called on non-string Element` text without Kea's `(<string>:1:27)` position.
//! The configuration lives in a [`Snapshot`] swapped whole on `config-set`/`config-reload`/SIGHUP,
//! so a request always sees one consistent configuration.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use nestor_config::AgentConfig;
use nestor_ctrl::{Answer, ClientError, Command, CommandRegistry, ResultCode, to_kea_json};
use serde_json::Value;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthError, BasicAuth};
use crate::tls::TlsError;

/// Kea's `TIMEOUT_AGENT_FORWARD_COMMAND`: how long one service may take to answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// Kea's text for a command the agent does not know and was not asked to forward.
pub(crate) fn not_supported_hint(command: &str) -> String {
    format!(
        "'{command}' command not supported. You did not include \"service\" parameter in the \
         command, which indicates that Kea Control Agent should process this command rather than \
         forward it to one or more Kea servers. If you aimed to send this command to one of the \
         Kea servers you should include the \"service\" parameter in your request, e.g. \
         \"service\": [ \"dhcp4\" ] to forward the command to the DHCPv4 server, or \
         \"service\": [ \"dhcp4\", \"dhcp6\", \"d2\" ] to forward it to DHCPv4, DHCPv6 and D2 \
         servers etc."
    )
}

/// Why a configuration cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The text is not a valid `Control-agent` configuration.
    #[error("{0}")]
    Config(#[from] nestor_config::ConfigErrors),
    /// A user or password file is unusable.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// A TLS file is unusable.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// One applied configuration with what was derived from it.
#[derive(Clone)]
pub struct Snapshot {
    /// The validated configuration.
    pub config: AgentConfig,
    /// Credentials, when `authentication` has clients.
    pub auth: Option<BasicAuth>,
    /// The TLS acceptor, when TLS is configured.
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the whole configuration: it holds the clients' passwords.
        f.debug_struct("Snapshot")
            .field("http_host", &self.config.http_host)
            .field("http_port", &self.config.http_port)
            .field("control_sockets", &self.config.control_sockets)
            .field("auth", &self.auth)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Snapshot {
    /// Reads the user/password and TLS files a configuration names.
    pub fn build(config: AgentConfig) -> Result<Self, ApplyError> {
        let auth = match &config.authentication {
            Some(auth) if !auth.clients.is_empty() => Some(BasicAuth::from_config(auth)?),
            _ => None,
        };
        let tls = crate::tls::acceptor(&config)?;
        Ok(Self { config, auth, tls })
    }

    /// Parses a configuration document (`{"Control-agent": {...}}`, optional `Logging`) and builds it.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, ApplyError> {
        let loaded = nestor_config::parse_agent_str(text, origin)?;
        for warning in &loaded.warnings {
            tracing::warn!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_WARNING {warning}");
        }
        Self::build(loaded.config)
    }

    /// Loads a configuration file and builds it.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ApplyError> {
        let loaded = nestor_config::load_agent_file(path)?;
        for warning in &loaded.warnings {
            tracing::warn!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_WARNING {warning}");
        }
        Self::build(loaded.config)
    }
}

pub(crate) struct Inner {
    /// The configuration in force; the server watches it to move its listener.
    pub(crate) changes: watch::Sender<Arc<Snapshot>>,
    pub(crate) registry: CommandRegistry,
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) started: Instant,
    pub(crate) last_reload: RwLock<Instant>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) exit_code: std::sync::atomic::AtomicI32,
    pub(crate) forward_timeout: Duration,
}

/// The agent: configuration, local commands and forwarding. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("config_path", &self.inner.config_path)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent with `snapshot` applied; `config_path` is the `-c` file (for `config-reload`,
    /// `config-write` and SIGHUP).
    pub fn new(snapshot: Snapshot, config_path: Option<PathBuf>) -> Self {
        Self::with_forward_timeout(snapshot, config_path, FORWARD_TIMEOUT)
    }

    /// [`Agent::new`] with another bound on each forwarded exchange (tests use seconds).
    pub fn with_forward_timeout(
        snapshot: Snapshot,
        config_path: Option<PathBuf>,
        forward_timeout: Duration,
    ) -> Self {
        let (changes, _) = watch::channel(Arc::new(snapshot));
        // The local command handlers reach the agent through a weak reference: the registry is
        // owned by the agent, and a strong one would keep both alive forever.
        let inner = Arc::new_cyclic(|weak| {
            let registry = CommandRegistry::new();
            crate::commands::register(&registry, weak.clone());
            Inner {
                changes,
                registry,
                config_path,
                started: Instant::now(),
                last_reload: RwLock::new(Instant::now()),
                shutdown: CancellationToken::new(),
                exit_code: std::sync::atomic::AtomicI32::new(0),
                forward_timeout,
            }
        });
        Self { inner }
    }

    /// The configuration in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.current()
    }

    /// Notified with each newly applied snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.inner.changes.subscribe()
    }

    /// Replaces the configuration.
    pub fn apply(&self, snapshot: Snapshot) {
        self.inner.apply(snapshot);
    }

    /// Re-reads the `-c` file (SIGHUP, `config-reload`).
    pub fn reload(&self) -> Result<(), ApplyError> {
        self.inner.reload()
    }

    /// Cancelled when the agent is asked to shut down (`shutdown` command or a signal).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// The exit status asked for by `shutdown` (`exit-value`), 0 by default.
    pub fn exit_code(&self) -> i32 {
        self.inner
            .exit_code
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Processes one request body (already parsed JSON, already authorised) from `remote` and
    /// returns the 200 body: a JSON list in Kea's spacing.
    pub async fn process(&self, body: Value, remote: IpAddr) -> String {
        let answers = self.answers(body, remote).await;
        to_kea_json(&Value::Array(answers))
    }

    async fn answers(&self, body: Value, remote: IpAddr) -> Vec<Value> {
        if body.is_null() {
            // An empty body reaches Kea's command manager as a null element.
            return vec![
                Answer::error("Command processing failed: NULL command parameter").to_value(),
            ];
        }
        let command = match Command::from_value(body) {
            Ok(command) => command,
            Err(err) => {
                tracing::warn!(target: "kea-ctrl-agent.commands", "COMMAND_PROCESS_ERROR2 Error during command processing: {err}");
                return vec![
                    Answer::error(format!("Error during command processing: {err}")).to_value(),
                ];
            }
        };
        tracing::info!(
            target: "kea-ctrl-agent.ctrl-agent",
            "CTRL_AGENT_COMMAND_RECEIVED command {} received from remote address {remote}",
            command.command
        );
        let services = match &command.service {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(name) => names.push(name.to_owned()),
                        // Kea's text, less the `(<string>:1:27)` position of its parser.
                        None => {
                            return vec![
                                Answer::error(
                                    "Error during command processing: stringValue() called on non-string Element",
                                )
                                .to_value(),
                            ];
                        }
                    }
                }
                names
            }
            Some(_) => return vec![Answer::error("service value must be a list").to_value()],
        };
        if services.is_empty() {
            return vec![self.local(command).await];
        }
        let snapshot = self.snapshot();
        let mut forwarded = command.clone();
        forwarded.remote_address = Some(remote.to_string());
        let mut payload = forwarded.to_value();
        sort_keys(&mut payload);
        let payload = to_kea_json(&payload);
        let mut answers = Vec::with_capacity(services.len());
        for service in &services {
            answers.push(
                self.forward(&snapshot, service, &command.command, &payload, remote)
                    .await,
            );
        }
        answers
    }

    async fn local(&self, command: Command) -> Value {
        let name = command.command.clone();
        if !self.inner.registry.contains(&name) {
            return Answer::new(ResultCode::Unsupported, not_supported_hint(&name)).to_value();
        }
        let mut answer = self
            .inner
            .registry
            .process_command(command)
            .await
            .to_value();
        sort_keys(&mut answer);
        answer
    }

    async fn forward(
        &self,
        snapshot: &Snapshot,
        service: &str,
        name: &str,
        payload: &str,
        remote: IpAddr,
    ) -> Value {
        let Some(socket) = snapshot.config.socket(service) else {
            return Answer::error(format!(
                "forwarding socket is not configured for the server type {service}"
            ))
            .to_value();
        };
        let result = nestor_ctrl::send_raw(
            &socket.socket_name,
            payload.as_bytes(),
            self.inner.forward_timeout,
        )
        .await;
        let raw = match result {
            Ok(raw) => raw,
            Err(err) => {
                tracing::error!(
                    target: "kea-ctrl-agent.ctrl-agent",
                    "CTRL_AGENT_COMMAND_FORWARD_FAILED failed forwarding command {name}: {err}"
                );
                return Answer::error(forward_error_text(&err, service)).to_value();
            }
        };
        match serde_json::from_slice::<Value>(&raw) {
            Ok(mut answer) => {
                tracing::info!(
                    target: "kea-ctrl-agent.ctrl-agent",
                    "CTRL_AGENT_COMMAND_FORWARDED command {name} successfully forwarded to the service {service} from remote address {remote}"
                );
                sort_keys(&mut answer);
                answer
            }
            Err(err) => Answer::error(format!(
                "internal server error: unable to parse server's answer to the forwarded message: {err}"
            ))
            .to_value(),
        }
    }
}

/// kea-ctrl-agent's entry for a failed forward. On its 60 s timeout Kea reports Boost's
/// `Operation canceled` (measured on 2.2), which `ClientError::kea_forward_text` words as
/// `Connection timed out`; every other case is that function's text.
fn forward_error_text(err: &ClientError, service: &str) -> String {
    match err {
        ClientError::Timeout { .. } => format!(
            "unable to forward command to the {service} service: Operation canceled. The server is likely to be offline"
        ),
        other => other.kea_forward_text(service),
    }
}

impl Inner {
    pub(crate) fn current(&self) -> Arc<Snapshot> {
        Arc::clone(&self.changes.borrow())
    }

    pub(crate) fn apply(&self, snapshot: Snapshot) {
        *self
            .last_reload
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.changes.send_replace(Arc::new(snapshot));
    }

    pub(crate) fn reload(&self) -> Result<(), ApplyError> {
        let Some(path) = &self.config_path else {
            return Err(ApplyError::Read {
                path: PathBuf::new(),
                source: std::io::Error::other("the agent was started without a configuration file"),
            });
        };
        let snapshot = Snapshot::from_file(path)?;
        self.apply(snapshot);
        Ok(())
    }
}

/// Sorts every map's keys, recursively: Kea keeps maps in `std::map`, so whatever it parses it
/// writes back in byte order of the keys.
pub(crate) fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            for child in map.values_mut() {
                sort_keys(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}
