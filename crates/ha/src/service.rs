//! The HA service: the I/O around the pure modules, and the [`Plugin`] the server loads for
//! `libdhcp_ha.so` (Kea's `HAService` + `HAImpl` callouts).
//!
//! * A heartbeat task sends `ha-heartbeat` to the partner every `heartbeat-delay` (while the
//!   state wants heartbeats), feeds the answer to [`CommState`] and runs the [`Machine`]; the
//!   machine's actions are applied here: log lines through `tracing`, the DHCP service through
//!   the server's `NetworkState` (origin `ha-partner`, as Kea 2.2 shares one HA origin), scopes
//!   through the [`QueryFilter`], sync / backlog / `ha-reset` as tasks that report back.
//! * `pkt4_receive` adds `HA_<scope>` and drops out-of-scope queries, feeding failure detection
//!   while the communication is interrupted.
//! * `leases4_committed` sends `lease4-del` then `lease4-update` per lease to the partner (and
//!   backups), concurrently over kept-alive connections, and parks the reply until the partner
//!   (and backups with `wait-backup-ack`) acknowledged; a failure drops the reply and marks the
//!   partner unavailable.
//! * The sync runs as a task: the rest of the server keeps serving meanwhile.
//!
//! Locks are `std` mutexes held for a few instructions, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use nestor_config::common::HookLibrary;
use nestor_config::hooks::ha::{HaConfig, HaMode, HaPeer, PeerRole};
use nestor_ctrl::{Answer, CancellationToken, Command, CommandHandler, HandlerError, ResultCode};
use nestor_hooks::{
    CommittedLeases, CommittedVerdict, Origin, ParkResult, Plugin, PluginError, QueryContext,
    ReceiveVerdict, ServerHandle,
};
use nestor_leases::{ClientId, Hostname, HwAddr, Lease4, LeaseState, UserContext};
use nestor_proto::pkt::Packet;
use serde_json::Value;
use tokio::time::Instant;

use crate::failure::{CommState, DetectionConfig, parse_heartbeat_arguments};
use crate::http::{DEFAULT_REQUEST_TIMEOUT, PeerClient};
use crate::scope::QueryFilter;
use crate::state::{
    Action, Event, HaState, Level, LogLine, Machine, MachineConfig, MaintenanceNotifyOutcome,
    Reply, UpdatePolicy,
};
use crate::wire;

const LIBRARY: &str = "libdhcp_ha.so";

/// The HA commands this plugin registers.
pub const HA_COMMANDS: [&str; 9] = [
    "ha-heartbeat",
    "ha-scopes",
    "ha-continue",
    "ha-maintenance-start",
    "ha-maintenance-notify",
    "ha-maintenance-cancel",
    "ha-reset",
    "ha-sync-complete-notify",
    "ha-sync",
];

fn log(line: &LogLine) {
    match line.level {
        Level::Info => tracing::info!(target: "kea-dhcp4.ha-hooks", "{line}"),
        Level::Warn => tracing::warn!(target: "kea-dhcp4.ha-hooks", "{line}"),
        Level::Error => tracing::error!(target: "kea-dhcp4.ha-hooks", "{line}"),
    }
}

#[derive(Debug, Default)]
struct Backlog {
    items: VecDeque<(bool, Lease4)>,
    overflowed: bool,
}

/// A peer other than this server, with its client.
#[derive(Debug)]
struct Peer {
    config: HaPeer,
    client: Arc<PeerClient>,
}

/// The HA service of one relationship.
#[derive(Debug)]
pub struct HaService {
    handle: ServerHandle,
    config: HaConfig,
    role: PeerRole,
    machine: Mutex<Machine>,
    comm: Mutex<CommState>,
    filter: RwLock<QueryFilter>,
    partner: Option<Peer>,
    backups: Vec<Peer>,
    unsent_update_count: AtomicU64,
    backlog: Mutex<Backlog>,
    cancel: CancellationToken,
    started: AtomicBool,
    weak_self: std::sync::Weak<Self>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HaService {
    /// Builds the service from the validated configuration. Nothing runs until [`start`].
    ///
    /// [`start`]: HaService::start
    pub fn new(handle: ServerHandle, config: HaConfig) -> Result<Arc<Self>, PluginError> {
        let failed = |message: String| PluginError::Failed {
            library: LIBRARY,
            message,
        };
        let machine_config = MachineConfig::from_ha(&config).map_err(|e| failed(e.to_string()))?;
        let role = machine_config.role;
        let filter = QueryFilter::new(config.mode, &machine_config.peers);
        // Kea 2.2 (without HA+MT) has one connection per peer and queues requests behind it;
        // Nestor keeps up to max(http-client-threads, 4) requests in flight per peer.
        let connections = usize::try_from(config.multi_threading.http_client_threads)
            .unwrap_or(1)
            .max(4);
        let defaults = [
            config.trust_anchor.as_deref(),
            config.cert_file.as_deref(),
            config.key_file.as_deref(),
        ];
        let mut partner = None;
        let mut backups = Vec::new();
        for peer in config
            .peers
            .iter()
            .filter(|p| p.name != config.this_server_name)
        {
            let client =
                PeerClient::new(peer, defaults, connections).map_err(|e| failed(e.to_string()))?;
            let entry = Peer {
                config: peer.clone(),
                client: Arc::new(client),
            };
            if peer.role == PeerRole::Backup {
                backups.push(entry);
            } else if role != PeerRole::Backup {
                partner = Some(entry);
            }
        }
        let now = Instant::now();
        let observation = crate::state::Observation {
            service_enabled: handle.network_state().is_enabled(),
            ..crate::state::Observation::START
        };
        let (machine, actions) = Machine::start(machine_config, observation);
        let service = Arc::new_cyclic(|weak_self| Self {
            weak_self: weak_self.clone(),
            comm: Mutex::new(CommState::new(DetectionConfig::from_ha(&config), now)),
            handle,
            role,
            machine: Mutex::new(machine),
            filter: RwLock::new(filter),
            partner,
            backups,
            unsent_update_count: AtomicU64::new(0),
            backlog: Mutex::new(Backlog::default()),
            cancel: CancellationToken::new(),
            started: AtomicBool::new(false),
            config,
        });
        service.apply(actions);
        tracing::info!(
            target: "kea-dhcp4.ha-hooks",
            "HA_SERVICE_STARTED started high availability service in {} mode as {} server",
            service.config.mode.kea_name(),
            role.kea_name()
        );
        Ok(service)
    }

    /// Starts the heartbeat task (needs a tokio runtime). Idempotent.
    pub fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) || self.config.heartbeat_delay == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(target: "kea-dhcp4.ha-hooks", "HA service cannot start outside a tokio runtime");
            return;
        };
        if self.config.multi_threading.enable_multi_threading
            && self.config.multi_threading.http_dedicated_listener
        {
            self.start_listener(&runtime);
        }
        let me = Arc::clone(self);
        runtime.spawn(async move { me.heartbeat_loop().await });
    }

    /// Kea 2.2 honours `http-dedicated-listener` only with HA+MT, itself only with the DHCP
    /// core's multi-threading; Nestor's core is always concurrent, so `enable-multi-threading`
    /// alone decides.
    fn start_listener(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let Some(me) = self.config.this_peer() else {
            return;
        };
        let addr = std::net::SocketAddr::new(me.url.ip, me.url.port);
        let commands = Arc::clone(self.handle.commands());
        let restrict = self.config.restrict_commands;
        let cancel = self.cancel.clone();
        runtime.spawn(async move {
            match crate::listener::serve(addr, commands, restrict, cancel).await {
                Ok(bound) => tracing::info!(target: "kea-dhcp4.ha-hooks", "HA_DEDICATED_LISTENER_STARTED dedicated HA listener started on {bound}"),
                Err(e) => tracing::error!(target: "kea-dhcp4.ha-hooks", "HA dedicated listener cannot bind {addr}: {e}"),
            }
        });
    }

    /// Stops the background tasks.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// The current state.
    pub fn state(&self) -> HaState {
        lock(&self.machine).state()
    }

    async fn heartbeat_loop(self: Arc<Self>) {
        let delay = Duration::from_millis(u64::from(self.config.heartbeat_delay));
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            if !lock(&self.machine).heartbeat_enabled() {
                continue;
            }
            self.heartbeat_once().await;
        }
    }

    /// One heartbeat and the model run that follows it.
    pub async fn heartbeat_once(&self) {
        let Some(partner) = &self.partner else { return };
        let outcome = partner
            .client
            .send("ha-heartbeat", None, DEFAULT_REQUEST_TIMEOUT)
            .await;
        let status = match outcome {
            Ok(answer) if matches!(answer.result, ResultCode::Success) => {
                parse_heartbeat_arguments(answer.arguments.as_ref()).map_err(|e| e.to_string())
            }
            Ok(answer) => Err(format!("ha-heartbeat answered {answer}")),
            Err(e) => Err(e.to_string()),
        };
        let now = Instant::now();
        {
            let mut comm = lock(&self.comm);
            match status {
                Ok(status) => {
                    let unix = i64::try_from(self.handle.clock().unix_now()).unwrap_or(i64::MAX);
                    if let Some(line) = comm.heartbeat_ok(status, unix, now) {
                        log(&line);
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "kea-dhcp4.ha-hooks", "HA_HEARTBEAT_COMMUNICATIONS_FAILED failed to send heartbeat to {}: {error}", partner.config.name);
                    comm.mark_unavailable();
                }
            }
        }
        let observation = self.observe(now);
        let actions = lock(&self.machine).handle(Event::Heartbeat(observation));
        self.apply(actions);
    }

    fn observe(&self, now: Instant) -> crate::state::Observation {
        let overflowed = lock(&self.backlog).overflowed;
        lock(&self.comm).observation(now, self.handle.network_state().is_enabled(), overflowed)
    }

    fn run_model(&self, event: Event) {
        let actions = lock(&self.machine).handle(event);
        self.apply(actions);
    }

    /// Carries out the machine's actions.
    fn apply(&self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Log(line) => log(&line),
                Action::DisableDhcp => self.handle.network_state().disable(Origin::HaPartner),
                Action::EnableDhcp => self.handle.network_state().enable(Origin::HaPartner),
                Action::Scopes(scopes) => self
                    .filter
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .serve(&scopes),
                Action::ClearBacklog => *lock(&self.backlog) = Backlog::default(),
                Action::StartSync => self.spawn_task(Task::Sync),
                Action::SendBacklog => self.spawn_task(Task::Backlog),
                Action::SendHaReset => self.spawn_task(Task::Reset),
            }
        }
    }

    fn spawn_task(&self, task: Task) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(me) = self.self_arc() else { return };
        runtime.spawn(async move {
            let event = match task {
                Task::Sync => Event::SyncFinished {
                    ok: me.synchronize(None).await.is_ok(),
                },
                Task::Backlog => Event::BacklogSent {
                    ok: me.send_backlog().await,
                },
                Task::Reset => Event::HaResetSent {
                    ok: me.send_simple("ha-reset").await,
                },
            };
            me.run_model(event);
        });
    }

    fn self_arc(&self) -> Option<Arc<Self>> {
        self.weak_self.upgrade()
    }

    /// Sends a command without arguments to the partner; success is result 0 (or 3).
    async fn send_simple(&self, command: &str) -> bool {
        let Some(partner) = &self.partner else {
            return false;
        };
        match partner
            .client
            .send(command, None, DEFAULT_REQUEST_TIMEOUT)
            .await
        {
            Ok(answer) => matches!(answer.result, ResultCode::Success | ResultCode::Empty),
            Err(_) => false,
        }
    }

    /// Sends the communication-recovery backlog, one request per lease, stopping at the first
    /// error (Kea's `sendLeaseUpdatesFromBacklog`).
    async fn send_backlog(&self) -> bool {
        let Some(partner) = &self.partner else {
            return false;
        };
        loop {
            let next = lock(&self.backlog).items.pop_front();
            let Some((update, lease)) = next else {
                return true;
            };
            let command = if update {
                "lease4-update"
            } else {
                "lease4-del"
            };
            let args = wire::lease_arguments(&lease, update);
            let ok = matches!(
                partner.client.send(command, Some(args), DEFAULT_REQUEST_TIMEOUT).await,
                Ok(a) if matches!(a.result, ResultCode::Success | ResultCode::Empty)
            );
            if !ok {
                return false;
            }
        }
    }

    /// The lease database synchronisation with the partner (reference 1.9): `dhcp-disable`
    /// before every page, `lease4-get-page` paging, newer leases applied locally, then
    /// `ha-sync-complete-notify` (falling back to `dhcp-enable`); `dhcp-enable` on failure.
    pub async fn synchronize(&self, max_period: Option<u64>) -> Result<u64, String> {
        let Some(partner) = &self.partner else {
            return Err("no partner to synchronize with".into());
        };
        let name = &partner.config.name;
        let started = Instant::now();
        tracing::info!(target: "kea-dhcp4.ha-hooks", "HA_SYNC_START starting lease database synchronization with {name}");
        let max_period =
            max_period.unwrap_or_else(|| wire::automatic_sync_max_period(self.config.sync_timeout));
        let page_timeout = Duration::from_millis(u64::from(self.config.sync_timeout));
        let result = self.fetch_pages(partner, max_period, page_timeout).await;
        match result {
            Ok(count) => {
                let notified = partner
                    .client
                    .send("ha-sync-complete-notify", None, DEFAULT_REQUEST_TIMEOUT)
                    .await;
                if matches!(&notified, Ok(a) if a.result == ResultCode::Unsupported) {
                    self.send_dhcp_enable(partner).await;
                }
                tracing::info!(target: "kea-dhcp4.ha-hooks", "HA_SYNC_SUCCESSFUL lease database synchronization with {name} completed successfully in {:?}", started.elapsed());
                Ok(count)
            }
            Err(error) => {
                tracing::error!(target: "kea-dhcp4.ha-hooks", "HA_SYNC_FAILED lease database synchronization with {name} failed: {error}");
                lock(&self.comm).mark_unavailable();
                self.send_dhcp_enable(partner).await;
                Err(error)
            }
        }
    }

    async fn send_dhcp_enable(&self, partner: &Peer) {
        let args = serde_json::json!({"origin": "ha-partner"});
        if let Err(e) = partner
            .client
            .send("dhcp-enable", Some(args), DEFAULT_REQUEST_TIMEOUT)
            .await
        {
            tracing::warn!(target: "kea-dhcp4.ha-hooks", "HA_SYNC_FAILED cannot re-enable the DHCP service of {}: {e}", partner.config.name);
        }
    }

    async fn fetch_pages(
        &self,
        partner: &Peer,
        max_period: u64,
        page_timeout: Duration,
    ) -> Result<u64, String> {
        let limit = self.config.sync_page_limit.max(1);
        let mut from = None;
        let mut applied = 0u64;
        loop {
            let disable = partner
                .client
                .send(
                    "dhcp-disable",
                    Some(wire::dhcp_disable_arguments(max_period)),
                    DEFAULT_REQUEST_TIMEOUT,
                )
                .await
                .map_err(|e| e.to_string())?;
            if disable.result != ResultCode::Success {
                return Err(format!("dhcp-disable refused: {disable}"));
            }
            let page = partner
                .client
                .send(
                    "lease4-get-page",
                    Some(wire::get_page_arguments(from, limit)),
                    page_timeout,
                )
                .await
                .map_err(|e| e.to_string())?;
            let leases: Vec<Value> = match page.result {
                ResultCode::Success => page
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("leases"))
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or("lease4-get-page answer without leases")?,
                ResultCode::Empty => Vec::new(),
                _ => return Err(format!("lease4-get-page failed: {page}")),
            };
            tracing::info!(target: "kea-dhcp4.ha-hooks", "HA_LEASES_SYNC_LEASE_PAGE_RECEIVED received {} leases from {}", leases.len(), partner.config.name);
            for json in &leases {
                match lease_from_json(json) {
                    Ok(lease) => {
                        from = Some(lease.address);
                        if self.apply_synced(lease).await {
                            applied += 1;
                        }
                    }
                    // Per-lease errors are logged and skipped, as Kea does.
                    Err(e) => {
                        tracing::warn!(target: "kea-dhcp4.ha-hooks", "HA_LEASE_SYNC_FAILED synchronization failed for lease {json}: {e}")
                    }
                }
            }
            if leases.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
                return Ok(applied);
            }
        }
    }

    /// Adds or updates one lease from the partner when newer than the local one.
    async fn apply_synced(&self, lease: Lease4) -> bool {
        let store = self.handle.leases();
        match store.get(lease.address).await {
            Ok(Some(local)) if local.cltt >= lease.cltt => false,
            Ok(Some(_)) => store.update(lease).await.is_ok(),
            Ok(None) => store.add(lease).await.is_ok(),
            Err(_) => false,
        }
    }

    /// Sends the lease updates of one query; resolves when every required ack arrived.
    fn lease_updates(&self, leases: CommittedLeases<'_>) -> Option<nestor_hooks::ParkFuture> {
        if !self.config.send_lease_updates
            || (leases.leases.is_empty() && leases.deleted.is_empty())
        {
            return None;
        }
        let machine = lock(&self.machine);
        let mut required = Vec::new();
        let mut peers: Vec<(&Peer, bool)> = Vec::new();
        if let Some(partner) = &self.partner {
            match machine.update_policy(partner.config.role) {
                UpdatePolicy::Send => peers.push((partner, true)),
                UpdatePolicy::Queue => {
                    let mut backlog = lock(&self.backlog);
                    let limit =
                        usize::try_from(self.config.delayed_updates_limit).unwrap_or(usize::MAX);
                    for (update, lease) in leases
                        .deleted
                        .iter()
                        .map(|l| (false, l))
                        .chain(leases.leases.iter().map(|l| (true, l)))
                    {
                        if backlog.items.len() >= limit {
                            backlog.overflowed = true;
                        } else {
                            backlog.items.push_back((update, lease.clone()));
                        }
                    }
                }
                UpdatePolicy::Skip => {
                    self.unsent_update_count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        drop(machine);
        for backup in &self.backups {
            peers.push((backup, self.config.wait_backup_ack));
        }
        for (peer, wait) in peers {
            let requests: Vec<(&'static str, Value)> = leases
                .deleted
                .iter()
                .map(|l| ("lease4-del", wire::lease_arguments(l, false)))
                .chain(
                    leases
                        .leases
                        .iter()
                        .map(|l| ("lease4-update", wire::lease_arguments(l, true))),
                )
                .collect();
            for (command, args) in requests {
                let client = Arc::clone(&peer.client);
                let task = tokio::spawn(async move {
                    client
                        .send(command, Some(args), DEFAULT_REQUEST_TIMEOUT)
                        .await
                });
                if wait {
                    required.push((peer.config.role, peer.config.name.clone(), task));
                }
            }
        }
        if required.is_empty() {
            return None;
        }
        let me = self.self_arc()?;
        Some(Box::pin(async move {
            let mut failure = None;
            for (role, name, task) in required {
                let outcome: Result<Answer, String> = match task.await {
                    Ok(Ok(answer)) => Ok(answer),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                let ok = matches!(&outcome, Ok(a) if matches!(a.result, ResultCode::Success | ResultCode::Empty));
                if !ok && failure.is_none() {
                    let why = match outcome {
                        Ok(a) => a.to_string(),
                        Err(e) => e,
                    };
                    tracing::warn!(target: "kea-dhcp4.ha-hooks", "HA_LEASE_UPDATE_FAILED lease update to {name} failed: {why}");
                    failure = Some((role, format!("lease update to {name} failed: {why}")));
                }
            }
            match failure {
                None => ParkResult::Continue,
                Some((role, reason)) => {
                    if role != PeerRole::Backup {
                        lock(&me.comm).mark_unavailable();
                        let observation = me.observe(Instant::now());
                        me.run_model(Event::Run(observation));
                    }
                    ParkResult::Drop { reason }
                }
            }
        }))
    }

    /// Answers one HA command.
    async fn command(self: Arc<Self>, command: Command) -> Answer {
        let args = command.arguments.as_ref();
        let reply = |(reply, actions): (Reply, Vec<Action>)| {
            self.apply(actions);
            to_answer(reply)
        };
        match command.command.as_str() {
            "ha-heartbeat" => {
                let machine = lock(&self.machine);
                let unix = i64::try_from(self.handle.clock().unix_now()).unwrap_or(i64::MAX);
                Answer::success("HA peer status returned.").with_arguments(
                    wire::heartbeat_arguments(
                        machine.state(),
                        unix,
                        machine.scopes(),
                        self.unsent_update_count.load(Ordering::Relaxed),
                    ),
                )
            }
            "ha-continue" => {
                let r = lock(&self.machine).cmd_continue();
                reply(r)
            }
            "ha-reset" => {
                let r = lock(&self.machine).cmd_reset();
                reply(r)
            }
            "ha-sync-complete-notify" => {
                let r = lock(&self.machine).cmd_sync_complete_notify();
                reply(r)
            }
            "ha-scopes" => match wire::parse_ha_scopes(args) {
                Ok(scopes) => {
                    let r = lock(&self.machine).cmd_scopes(&scopes);
                    reply(r)
                }
                Err(text) => Answer::error(text),
            },
            "ha-maintenance-notify" => match wire::parse_maintenance_notify(args) {
                Ok(cancel) => {
                    let r = lock(&self.machine).cmd_maintenance_notify(cancel);
                    reply(r)
                }
                Err(text) => Answer::error(text),
            },
            "ha-maintenance-start" => {
                if let Err(r) = lock(&self.machine).maintenance_start_check() {
                    return to_answer(r);
                }
                let outcome = match &self.partner {
                    None => MaintenanceNotifyOutcome::Unreachable,
                    Some(p) => match p
                        .client
                        .send(
                            "ha-maintenance-notify",
                            Some(serde_json::json!({"cancel": false})),
                            DEFAULT_REQUEST_TIMEOUT,
                        )
                        .await
                    {
                        Ok(a) if a.result == ResultCode::Success => {
                            MaintenanceNotifyOutcome::Accepted
                        }
                        Ok(a)
                            if a.result.code() == crate::state::RESULT_MAINTENANCE_NOT_ALLOWED =>
                        {
                            MaintenanceNotifyOutcome::Refused(a.text.unwrap_or_default())
                        }
                        _ => MaintenanceNotifyOutcome::Unreachable,
                    },
                };
                let r = lock(&self.machine).cmd_maintenance_start(outcome);
                reply(r)
            }
            "ha-maintenance-cancel" => {
                if let Err(r) = lock(&self.machine).maintenance_cancel_check() {
                    return to_answer(r);
                }
                let error = match &self.partner {
                    None => Some("no partner".to_owned()),
                    Some(p) => match p
                        .client
                        .send(
                            "ha-maintenance-notify",
                            Some(serde_json::json!({"cancel": true})),
                            DEFAULT_REQUEST_TIMEOUT,
                        )
                        .await
                    {
                        Ok(a) if a.result == ResultCode::Success => None,
                        Ok(a) => Some(a.text.unwrap_or_default()),
                        Err(e) => Some(e.to_string()),
                    },
                };
                let r = lock(&self.machine).cmd_maintenance_cancel(error.as_deref());
                reply(r)
            }
            "ha-sync" => match wire::parse_ha_sync(args) {
                Err(text) => Answer::error(text),
                Ok(sync) => {
                    let known = self
                        .partner
                        .as_ref()
                        .is_some_and(|p| p.config.name == sync.server_name);
                    if !known {
                        // Kea 2.2 throws and closes the connection; Nestor answers.
                        return Answer::error(format!(
                            "server name '{}' does not match the name of the partner",
                            sync.server_name
                        ));
                    }
                    match self.synchronize(sync.max_period.or(Some(0))).await {
                        Ok(_) => Answer::success("Lease database synchronization complete."),
                        Err(e) => Answer::error(e),
                    }
                }
            },
            other => Answer::unsupported(other),
        }
    }

    /// The HA part of `status-get`.
    fn status(&self) -> Value {
        let machine = lock(&self.machine);
        let remote = (self.config.mode != HaMode::PassiveBackup && self.role != PeerRole::Backup)
            .then(|| {
                let partner_role = self
                    .partner
                    .as_ref()
                    .map_or("", |p| p.config.role.kea_name());
                lock(&self.comm).report(Instant::now(), partner_role)
            });
        wire::status_get_part(
            self.config.mode.kea_name(),
            self.role.kea_name(),
            machine.state(),
            machine.scopes(),
            remote,
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Task {
    Sync,
    Backlog,
    Reset,
}

fn to_answer(reply: Reply) -> Answer {
    Answer::new(ResultCode::from_code(reply.result), reply.text)
}

/// Parses a lease of a `lease4-get-page` answer (Kea's `Lease4::toElement`, with `cltt`).
pub fn lease_from_json(json: &Value) -> Result<Lease4, String> {
    let str_of = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("'{key}' missing or not a string"))
    };
    let u64_of = |key: &str| {
        json.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("'{key}' missing or not an integer"))
    };
    let hex = |text: &str| -> Result<Vec<u8>, String> {
        text.split(':')
            .filter(|s| !s.is_empty())
            .map(|b| u8::from_str_radix(b, 16).map_err(|_| format!("bad hex '{text}'")))
            .collect()
    };
    let address = str_of("ip-address")?
        .parse()
        .map_err(|_| "bad ip-address".to_owned())?;
    let hwaddr = HwAddr::new(1, &hex(str_of("hw-address")?)?).map_err(|e| e.to_string())?;
    let client_id = match json.get("client-id").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => {
            Some(ClientId::new(&hex(text)?).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let valid =
        u32::try_from(u64_of("valid-lft")?).map_err(|_| "valid-lft too large".to_owned())?;
    let subnet_id =
        u32::try_from(u64_of("subnet-id")?).map_err(|_| "subnet-id too large".to_owned())?;
    let cltt = match json.get("cltt").and_then(Value::as_u64) {
        Some(cltt) => cltt,
        None => u64_of("expire")?.saturating_sub(u64::from(valid)),
    };
    let mut lease = Lease4::new(address, hwaddr, client_id, valid, cltt, subnet_id);
    lease.fqdn_fwd = json
        .get("fqdn-fwd")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    lease.fqdn_rev = json
        .get("fqdn-rev")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    lease.hostname = Hostname::new(json.get("hostname").and_then(Value::as_str).unwrap_or(""));
    let state =
        u32::try_from(json.get("state").and_then(Value::as_u64).unwrap_or(0)).unwrap_or(u32::MAX);
    lease.state = LeaseState::try_from(state).map_err(|_| format!("bad state {state}"))?;
    lease.user_context = json
        .get("user-context")
        .and_then(Value::as_object)
        .map(UserContext::from_map);
    Ok(lease)
}

/// The plugin object the server loads for `libdhcp_ha.so`.
#[derive(Debug)]
pub struct HaPlugin {
    service: Arc<HaService>,
}

impl HaPlugin {
    /// The service behind the plugin.
    pub fn service(&self) -> &Arc<HaService> {
        &self.service
    }
}

/// The [`nestor_hooks::PluginConstructor`] of `libdhcp_ha.so`.
pub fn constructor(
    _library: &HookLibrary,
    handle: ServerHandle,
) -> Result<Arc<dyn Plugin>, PluginError> {
    let config = handle
        .config()
        .ha
        .clone()
        .ok_or_else(|| PluginError::InvalidParameters {
            library: LIBRARY,
            path: "parameters".into(),
            message: "'high-availability' parameter is mandatory".into(),
        })?;
    let service = HaService::new(handle, config)?;
    Ok(Arc::new(HaPlugin { service }))
}

struct Handler(Arc<HaService>);

impl CommandHandler for Handler {
    fn handle(&self, command: Command) -> nestor_ctrl::HandlerFuture {
        let service = Arc::clone(&self.0);
        Box::pin(async move { Ok::<Answer, HandlerError>(service.command(command).await) })
    }
}

impl Plugin for HaPlugin {
    fn library(&self) -> &'static str {
        LIBRARY
    }

    fn dhcp4_srv_configured(
        &self,
        _config: &Arc<nestor_config::Dhcp4Config>,
    ) -> Result<(), PluginError> {
        self.service.start();
        Ok(())
    }

    fn pkt4_receive(&self, query: &Packet<'_>, ctx: &mut QueryContext) -> ReceiveVerdict {
        let message_type = query.message_type().ok().flatten().map(u8::from);
        let client_id = query.client_id().ok().flatten();
        let verdict = self
            .service
            .filter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .check(message_type, client_id.as_deref(), query.chaddr());
        if let Some(class) = &verdict.class {
            ctx.add_class(class);
        }
        if verdict.for_partner {
            let mut comm = lock(&self.service.comm);
            if comm.is_interrupted(Instant::now()) {
                let label = format!(
                    "[hwtype=1 {}]",
                    HwAddr::new(1, query.chaddr())
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                );
                if let Some(line) = comm.analyze(
                    query.chaddr(),
                    client_id.as_deref().unwrap_or(&[]),
                    query.secs(),
                    &label,
                ) {
                    log(&line);
                }
            }
        }
        if verdict.in_scope {
            ReceiveVerdict::Continue
        } else {
            tracing::debug!(target: "kea-dhcp4.ha-hooks", "HA_BUFFER4_RECEIVE_NOT_FOR_US query is not for this server");
            ReceiveVerdict::Drop
        }
    }

    fn leases4_committed(
        &self,
        _query: &Packet<'_>,
        _ctx: &QueryContext,
        leases: CommittedLeases<'_>,
    ) -> CommittedVerdict {
        match self.service.lease_updates(leases) {
            Some(future) => CommittedVerdict::Park(future),
            None => CommittedVerdict::Continue,
        }
    }

    fn command_processed(&self, name: &str, _arguments: Option<&Value>, answer: &mut Answer) {
        if name != "status-get" || answer.result != ResultCode::Success {
            return;
        }
        if let Some(Value::Object(map)) = answer.arguments.as_mut() {
            map.insert("high-availability".into(), self.service.status());
        }
    }

    fn commands(&self) -> Vec<(&'static str, Arc<dyn CommandHandler>)> {
        HA_COMMANDS
            .iter()
            .map(|name| {
                (
                    *name,
                    Arc::new(Handler(Arc::clone(&self.service))) as Arc<dyn CommandHandler>,
                )
            })
            .collect()
    }

    fn unload(&self) {
        self.service.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_ctrl::CommandRegistry;
    use nestor_hooks::{Clock, NetworkState, Stats, SystemClock};
    use nestor_leases::Memfile;
    use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType};
    use std::net::{Ipv4Addr, SocketAddrV4};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// What the fake partner does: answer heartbeats with this state, or drop connections.
    #[derive(Clone, Default)]
    struct Fake {
        state: Arc<Mutex<Option<&'static str>>>,
        seen: Arc<Mutex<Vec<String>>>,
    }

    async fn fake_partner(fake: Fake) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let fake = fake.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let mut chunk = [0u8; 4096];
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            continue;
                        };
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .unwrap()
                            .parse()
                            .unwrap();
                        if body.len() < len {
                            continue;
                        }
                        buf.clear();
                        let Some(state) = *fake.state.lock().unwrap() else {
                            return;
                        };
                        fake.seen.lock().unwrap().push(body.to_owned());
                        let answer = if body.contains("ha-heartbeat") {
                            format!(
                                r#"[ {{ "arguments": {{ "date-time": "{}", "scopes": [  ], "state": "{state}", "unsent-update-count": 0 }}, "result": 0, "text": "HA peer status returned." }} ]"#,
                                crate::httpdate::format(
                                    i64::try_from(SystemClock.unix_now()).unwrap()
                                )
                            )
                        } else if body.contains("lease4-get-page") {
                            r#"[ { "arguments": { "count": 1, "leases": [ { "client-id": "01:aa:bb:cc:dd:ee:06", "cltt": 1795632612, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "host6", "hw-address": "aa:bb:cc:dd:ee:06", "ip-address": "198.18.1.13", "state": 0, "subnet-id": 1, "valid-lft": 4000 } ] }, "result": 0, "text": "1 IPv4 lease(s) found." } ]"#.to_owned()
                        } else {
                            r#"[ { "result": 0, "text": "IPv4 lease added." } ]"#.to_owned()
                        };
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{answer}",
                            answer.len()
                        );
                        if sock.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn server(partner: std::net::SocketAddr) -> ServerHandle {
        let text = format!(
            r#"{{"Dhcp4": {{"subnet4": [{{"id": 1, "subnet": "198.18.1.0/24"}}],
              "hooks-libraries": [{{"library": "/usr/lib/kea/hooks/libdhcp_ha.so", "parameters": {{
                "high-availability": [{{ "this-server-name": "kea_1", "mode": "hot-standby",
                  "heartbeat-delay": 50, "max-response-delay": 200, "max-ack-delay": 100, "max-unacked-clients": 0,
                  "peers": [
                    {{ "name": "kea_1", "url": "http://127.0.0.1:1/", "role": "primary" }},
                    {{ "name": "kea_2", "url": "http://{partner}/", "role": "standby" }} ] }}] }} }}] }} }}"#
        );
        let config = nestor_config::parse_dhcp4_str_with(
            &text,
            "test",
            &nestor_config::LoadOptions::offline(),
        )
        .unwrap()
        .config;
        let clock: Arc<dyn nestor_hooks::Clock> = Arc::new(SystemClock);
        ServerHandle::new(
            Arc::new(Memfile::in_memory()),
            NetworkState::new(),
            Stats::new(Arc::clone(&clock)),
            clock,
            Arc::new(config),
            Arc::new(CommandRegistry::new()),
        )
    }

    async fn wait_for(service: &HaService, state: HaState) {
        for _ in 0..100 {
            if service.state() == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("still {} instead of {state}", service.state());
    }

    fn committed(plugin: &HaPlugin, lease: &Lease4) -> CommittedVerdict {
        let mut raw = Vec::new();
        MessageBuilder::client(
            MessageType::Request,
            7,
            &[0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99],
        )
        .unwrap()
        .encode_into(&mut raw, &EncodeLimits::default())
        .unwrap();
        let query = Packet::parse(&raw).unwrap();
        let ctx = QueryContext::new(
            "lo".into(),
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 67),
            Instant::now(),
        );
        plugin.leases4_committed(
            &query,
            &ctx,
            CommittedLeases {
                query_type: MessageType::Request,
                leases: std::slice::from_ref(lease),
                deleted: &[],
            },
        )
    }

    #[tokio::test]
    async fn syncs_from_a_partner_in_hot_standby_then_joins_it() {
        let fake = Fake::default();
        *fake.state.lock().unwrap() = Some("hot-standby");
        let addr = fake_partner(fake.clone()).await;
        let handle = server(addr);
        let service = HaService::new(handle.clone(), handle.config().ha.clone().unwrap()).unwrap();
        service.start();
        wait_for(&service, HaState::HotStandby).await;
        let synced = handle
            .leases()
            .get(Ipv4Addr::new(198, 18, 1, 13))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (synced.cltt, synced.valid_lifetime, synced.hostname.as_str()),
            (1_795_632_612, 4000, "host6")
        );
        let seen = fake.seen.lock().unwrap().clone();
        let commands: Vec<&str> = seen
            .iter()
            .filter(|b| !b.contains("ha-heartbeat"))
            .map(|b| {
                b.split("\"command\": \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap()
            })
            .collect();
        assert_eq!(
            commands,
            ["dhcp-disable", "lease4-get-page", "ha-sync-complete-notify"]
        );
        assert!(seen.iter().any(|b| b == r#"{ "arguments": { "max-period": 60, "origin": "ha-partner" }, "command": "dhcp-disable", "service": [ "dhcp4" ] }"#));
        service.stop();
    }

    #[tokio::test]
    async fn seed_primary_goes_partner_down_then_hot_standby_and_parks_replies_on_updates() {
        let fake = Fake::default();
        let addr = fake_partner(fake.clone()).await;
        let handle = server(addr);
        let library = handle.config().hooks[0].clone();
        assert_eq!(
            constructor(&library, handle.clone()).unwrap().library(),
            "libdhcp_ha.so"
        );
        let plugin = &HaPlugin {
            service: HaService::new(handle.clone(), handle.config().ha.clone().unwrap()).unwrap(),
        };
        let service = Arc::clone(&plugin.service);
        assert_eq!(service.state(), HaState::Waiting);
        assert!(
            !handle.network_state().is_enabled(),
            "waiting disables DHCP"
        );
        service.start();

        // Partner silent: after max-response-delay the primary takes over.
        wait_for(&service, HaState::PartnerDown).await;
        assert!(handle.network_state().is_enabled());

        // The standby comes up in ready: back to hot-standby.
        *fake.state.lock().unwrap() = Some("ready");
        wait_for(&service, HaState::HotStandby).await;

        // A committed lease is sent and the reply parked until the ack.
        let lease = Lease4::new(
            Ipv4Addr::new(198, 18, 1, 0),
            HwAddr::new(1, &[0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99]).unwrap(),
            Some(ClientId::new(&[1, 0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99]).unwrap()),
            3600,
            1_795_638_557 - 3600,
            1,
        );
        let CommittedVerdict::Park(parked) = committed(plugin, &lease) else {
            panic!("not parked")
        };
        assert_eq!(parked.await, ParkResult::Continue);
        assert!(fake.seen.lock().unwrap().iter().any(|b| b == r#"{ "arguments": { "client-id": "01:5e:d0:82:50:87:99", "expire": 1795638557, "force-create": true, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "", "hw-address": "5e:d0:82:50:87:99", "ip-address": "198.18.1.0", "state": 0, "subnet-id": 1, "valid-lft": 3600 }, "command": "lease4-update", "service": [ "dhcp4" ] }"#));

        // ha-heartbeat and status-get's HA part.
        let answer = Arc::clone(&service)
            .command(Command::new("ha-heartbeat"))
            .await;
        assert_eq!(answer.text.as_deref(), Some("HA peer status returned."));
        assert_eq!(answer.arguments.as_ref().unwrap()["state"], "hot-standby");
        assert_eq!(
            answer.arguments.as_ref().unwrap()["scopes"],
            serde_json::json!(["kea_1"])
        );
        let status = service.status();
        assert_eq!(status[0]["ha-servers"]["remote"]["last-state"], "ready");

        // The partner dies: the update fails and the reply is dropped.
        *fake.state.lock().unwrap() = None;
        let CommittedVerdict::Park(parked) = committed(plugin, &lease) else {
            panic!("not parked")
        };
        assert!(matches!(parked.await, ParkResult::Drop { .. }));
        service.stop();
    }
}
