//! The HA state machine: a pure function of Kea 2.2's state handlers (`ha_service.cc`,
//! reference 1.4 and 1.5), with no clock and no I/O (STYLE habit 7).
//!
//! Kea runs its model after every heartbeat, every completed lease-update batch and some
//! commands; each run calls the current state's handler, and a handler that transitions makes
//! the model run the new state's handler at once (entry actions, then its own checks), until a
//! handler "posts NOP". [`Machine`] does the same: an [`Event`] (or a command method) runs the
//! handlers in a loop and returns the [`Action`]s the I/O layer must carry out, in Kea's order:
//! the transition log lines, then the entry actions of the new state (scopes, DHCP service).
//!
//! What Kea reads from its communication state while a handler runs (partner state, "is the
//! communication interrupted", "was a failure detected", "is the clock skew fatal", "did the
//! partner's unsent-update count change", "did the backlog overflow") comes in an
//! [`Observation`] computed by [`crate::failure`] at the time of the event. The one value a
//! handler changes itself is whether the local DHCP service is enabled (`adjustNetworkState`),
//! which `shouldPartnerDown` reads: the machine tracks it across one run.
//!
//! Kea's synchronous work inside a handler (the lease database sync of the syncing state, the
//! communication-recovery backlog, `ha-reset` to the partner) becomes an action
//! ([`Action::StartSync`], [`Action::SendBacklog`], [`Action::SendHaReset`]) whose completion is
//! a later event; until it completes the machine does not start it again. This is the one
//! deliberate structural difference: the rest of the server keeps running meanwhile.
//!
//! Log lines are Kea's message IDs and texts (`ha_messages.mes`), so an operator's grep for
//! `HA_STATE_TRANSITION` finds the same lines.

use std::fmt;

use nestor_config::hooks::ha::{HaConfig, HaMode, PeerRole, StatePause};

/// Kea's HA states (reference 1.4). The partner's "unavailable" pseudo-state is `None` in an
/// `Option<HaState>`, shown `UNDEFINED` in transition logs as Kea does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HaState {
    /// Every server at start and after `ha-reset`: DHCP off, waiting for the partner.
    Waiting,
    /// Fetching the partner's leases.
    Syncing,
    /// Synchronised, waiting for the partner to go to the normal state.
    Ready,
    /// Hot-standby normal state.
    HotStandby,
    /// Load-balancing normal state.
    LoadBalancing,
    /// Load-balancing with the partner unreachable but not yet down: updates are queued.
    CommunicationRecovery,
    /// The partner is down: this server serves its scopes too.
    PartnerDown,
    /// The partner is in maintenance: this server serves everything.
    PartnerInMaintenance,
    /// This server may be shut down: DHCP off.
    InMaintenance,
    /// Passive-backup primary.
    PassiveBackup,
    /// A backup server: receives lease updates, serves nothing.
    Backup,
    /// Fatal condition (clock skew): serves its own scope, no heartbeats, until restarted.
    Terminated,
}

impl HaState {
    /// Every state, in Kea's documentation order.
    pub const ALL: [HaState; 12] = [
        HaState::Waiting,
        HaState::Syncing,
        HaState::Ready,
        HaState::HotStandby,
        HaState::LoadBalancing,
        HaState::CommunicationRecovery,
        HaState::PartnerDown,
        HaState::PartnerInMaintenance,
        HaState::InMaintenance,
        HaState::PassiveBackup,
        HaState::Backup,
        HaState::Terminated,
    ];

    /// The name on the wire (`ha-heartbeat`'s `state`, `status-get`, `state-machine` config).
    pub fn name(self) -> &'static str {
        match self {
            HaState::Waiting => "waiting",
            HaState::Syncing => "syncing",
            HaState::Ready => "ready",
            HaState::HotStandby => "hot-standby",
            HaState::LoadBalancing => "load-balancing",
            HaState::CommunicationRecovery => "communication-recovery",
            HaState::PartnerDown => "partner-down",
            HaState::PartnerInMaintenance => "partner-in-maintenance",
            HaState::InMaintenance => "in-maintenance",
            HaState::PassiveBackup => "passive-backup",
            HaState::Backup => "backup",
            HaState::Terminated => "terminated",
        }
    }

    /// The upper-case label of Kea's log lines (`PARTNER-DOWN`).
    pub fn label(self) -> String {
        self.name().to_ascii_uppercase()
    }

    /// Parses a wire name. Kea's `stringToState` is exact (lower case); so is this.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the local DHCP service is enabled in this state (`adjustNetworkState`).
    pub fn serves_dhcp(self) -> bool {
        matches!(
            self,
            HaState::CommunicationRecovery
                | HaState::LoadBalancing
                | HaState::HotStandby
                | HaState::PartnerDown
                | HaState::PartnerInMaintenance
                | HaState::PassiveBackup
                | HaState::Terminated
        )
    }
}

impl fmt::Display for HaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The partner's label in a transition log: its state, or `UNDEFINED` when unavailable.
fn partner_label(partner: Option<HaState>) -> String {
    partner.map_or_else(|| "UNDEFINED".to_owned(), HaState::label)
}

/// What the lease-update path does with an update for a given peer in the current state
/// (`shouldSendLeaseUpdates`, `shouldQueueLeaseUpdates`, reference 1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatePolicy {
    /// Send it (and park the reply until acknowledged, for active peers).
    Send,
    /// Queue it in the communication-recovery backlog.
    Queue,
    /// Do not send it; for an active partner count it in `unsent-update-count`.
    Skip,
}

/// The machine's view of the configuration: the parts of [`HaConfig`] the handlers read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// `this-server-name`.
    pub this_server: String,
    /// `mode`.
    pub mode: HaMode,
    /// This server's role.
    pub role: PeerRole,
    /// This server's `auto-failover`.
    pub auto_failover: bool,
    /// `sync-leases`.
    pub sync_leases: bool,
    /// `send-lease-updates`.
    pub send_lease_updates: bool,
    /// `delayed-updates-limit` > 0 in load-balancing (`amAllowingCommRecovery`).
    pub comm_recovery: bool,
    /// Every peer: name and role, in configuration order.
    pub peers: Vec<(String, PeerRole)>,
    /// `state-machine.states[]` pausing.
    pub pauses: Vec<(HaState, StatePause)>,
}

/// Why a configuration cannot drive the machine. `nestor_config` validates the same rules, so
/// this is reached only with a hand-built [`HaConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineConfigError {
    /// `this-server-name` names no peer.
    #[error("this-server-name '{name}' is not one of the peers")]
    UnknownThisServer {
        /// The name.
        name: String,
    },
    /// A `state-machine` entry names no state.
    #[error("unknown state '{state}' in state-machine")]
    UnknownState {
        /// The name.
        state: String,
    },
}

impl MachineConfig {
    /// Extracts the machine's configuration from the validated HA parameters.
    pub fn from_ha(config: &HaConfig) -> Result<Self, MachineConfigError> {
        let this = config
            .this_peer()
            .ok_or_else(|| MachineConfigError::UnknownThisServer {
                name: config.this_server_name.clone(),
            })?;
        let pauses = config
            .state_machine
            .iter()
            .map(|(name, pause)| {
                HaState::from_name(name)
                    .map(|state| (state, *pause))
                    .ok_or_else(|| MachineConfigError::UnknownState {
                        state: name.clone(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            this_server: this.name.clone(),
            mode: config.mode,
            role: this.role,
            auto_failover: this.auto_failover,
            sync_leases: config.sync_leases,
            send_lease_updates: config.send_lease_updates,
            comm_recovery: config.mode == HaMode::LoadBalancing && config.delayed_updates_limit > 0,
            peers: config
                .peers
                .iter()
                .map(|p| (p.name.clone(), p.role))
                .collect(),
            pauses,
        })
    }

    fn pause_of(&self, state: HaState) -> StatePause {
        self.pauses
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(StatePause::Never, |(_, p)| *p)
    }

    /// The normal state of this server (`getNormalState`).
    pub fn normal_state(&self) -> HaState {
        if self.role == PeerRole::Backup {
            return HaState::Backup;
        }
        match self.mode {
            HaMode::LoadBalancing => HaState::LoadBalancing,
            HaMode::HotStandby => HaState::HotStandby,
            HaMode::PassiveBackup => HaState::PassiveBackup,
        }
    }

    /// Scope names: the peers that are not backups (`QueryFilter`'s scope table).
    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.peers
            .iter()
            .filter(|(_, role)| *role != PeerRole::Backup)
            .map(|(name, _)| name.as_str())
    }

    /// `serveDefaultScopes`: a primary or secondary serves its own scope, others none.
    fn default_scopes(&self) -> Vec<String> {
        match self.role {
            PeerRole::Primary | PeerRole::Secondary => vec![self.this_server.clone()],
            PeerRole::Standby | PeerRole::Backup => Vec::new(),
        }
    }

    /// `serveFailoverScopes`: the scopes of the primary and the secondary.
    fn failover_scopes(&self) -> Vec<String> {
        self.peers
            .iter()
            .filter(|(_, role)| matches!(role, PeerRole::Primary | PeerRole::Secondary))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// What the communication layer knows when the model runs (see [`crate::failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The partner's state from the last heartbeat, `None` when unavailable.
    pub partner: Option<HaState>,
    /// `isCommunicationInterrupted`: longer than `max-response-delay` since the last successful
    /// heartbeat.
    pub interrupted: bool,
    /// `failureDetected`: the unacked-client analysis says the partner is down.
    pub failure_detected: bool,
    /// `clockSkewShouldTerminate`: |skew| > 60 s.
    pub should_terminate: bool,
    /// `hasPartnerNewUnsentUpdates`: the partner's `unsent-update-count` changed (and is > 0).
    pub partner_new_unsent_updates: bool,
    /// The communication-recovery backlog overflowed.
    pub backlog_overflowed: bool,
    /// Whether the local DHCP service is enabled right now (all origins).
    pub service_enabled: bool,
}

impl Observation {
    /// Partner unknown, communication fresh, service as the server starts it (enabled).
    pub const START: Observation = Observation {
        partner: None,
        interrupted: false,
        failure_detected: false,
        should_terminate: false,
        partner_new_unsent_updates: false,
        backlog_overflowed: false,
        service_enabled: true,
    };
}

/// Events that run the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A heartbeat completed: `partner` is `Some` on an answer, `None` on a failure.
    Heartbeat(Observation),
    /// Any other model run: a lease-update batch completed or failed, a timer checked failure
    /// detection.
    Run(Observation),
    /// The lease database synchronisation started by [`Action::StartSync`] finished.
    SyncFinished {
        /// Whether it succeeded.
        ok: bool,
    },
    /// The backlog sending started by [`Action::SendBacklog`] finished.
    BacklogSent {
        /// Whether every update was acknowledged.
        ok: bool,
    },
    /// The `ha-reset` sent by [`Action::SendHaReset`] was answered (or failed).
    HaResetSent {
        /// Whether the partner answered with success.
        ok: bool,
    },
}

/// Log severity of a [`LogLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

/// A Kea log message: its ID and text (`HA_STATE_TRANSITION server transitions from ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: Level,
    /// Kea's message ID.
    pub id: &'static str,
    /// The text after the ID.
    pub text: String,
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.text)
    }
}

/// What the I/O layer must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Log this line.
    Log(LogLine),
    /// Disable the local DHCP service (origin HA).
    DisableDhcp,
    /// Enable the local DHCP service (origin HA).
    EnableDhcp,
    /// Serve exactly these scopes from now on.
    Scopes(Vec<String>),
    /// Synchronise the lease database with the partner, then report [`Event::SyncFinished`].
    /// Heartbeats stop until then.
    StartSync,
    /// Send the communication-recovery backlog, then report [`Event::BacklogSent`].
    SendBacklog,
    /// Send `ha-reset` to the partner, then report [`Event::HaResetSent`].
    SendHaReset,
    /// Empty the communication-recovery backlog (leaving that state).
    ClearBacklog,
}

/// A command's answer: Kea's result code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// 0 success, 1 error, 1001 maintenance not allowed.
    pub result: i64,
    /// Kea's text.
    pub text: String,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Self {
        Self {
            result: 0,
            text: text.into(),
        }
    }

    fn error(text: impl Into<String>) -> Self {
        Self {
            result: 1,
            text: text.into(),
        }
    }
}

/// Kea's `HA_CONTROL_RESULT_MAINTENANCE_NOT_ALLOWED`.
pub const RESULT_MAINTENANCE_NOT_ALLOWED: i64 = 1001;

/// How the partner answered the `ha-maintenance-notify` that `ha-maintenance-start` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintenanceNotifyOutcome {
    /// Result 0: the partner is in-maintenance.
    Accepted,
    /// Transport error or result other than 0 and 1001: the partner is presumed offline.
    Unreachable,
    /// Result 1001 with this text.
    Refused(String),
}

/// Kea's "last event" as far as handlers look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Nop,
    MaintenanceStart,
    MaintenanceCancel,
    SyncedPartnerUnavailable,
}

/// Work started by an action and not yet reported back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Sync,
    Backlog,
    Reset,
}

/// Bound on handler runs per event: Kea's longest chain is waiting -> syncing (-> action) or
/// waiting -> partner-down -> ..., never more than a few hops; a loop is a bug, not a hang.
const MAX_HOPS: usize = 8;

/// The state machine of one HA relationship.
#[derive(Debug, Clone)]
pub struct Machine {
    config: MachineConfig,
    state: HaState,
    prev_state: HaState,
    on_entry: bool,
    paused: bool,
    paused_once: Vec<HaState>,
    scopes: Vec<String>,
    last: Observation,
    service_enabled: bool,
    pending: Option<Pending>,
    sync_complete_notified: bool,
}

impl Machine {
    /// Starts the model in `waiting` (Kea's `startModel`) and runs the waiting handler once:
    /// the returned actions disable the DHCP service and, for a backup or passive-backup server,
    /// move straight to its state.
    pub fn start(config: MachineConfig, observation: Observation) -> (Self, Vec<Action>) {
        let mut machine = Self {
            config,
            state: HaState::Waiting,
            prev_state: HaState::Waiting,
            on_entry: true,
            paused: false,
            paused_once: Vec::new(),
            scopes: Vec::new(),
            last: observation,
            service_enabled: observation.service_enabled,
            pending: None,
            sync_complete_notified: false,
        };
        machine.apply_pause(HaState::Waiting);
        let mut actions = Vec::new();
        machine.run(Cause::Nop, &mut actions);
        (machine, actions)
    }

    /// The current state.
    pub fn state(&self) -> HaState {
        self.state
    }

    /// The state before the current one (where maintenance cancellation returns).
    pub fn prev_state(&self) -> HaState {
        self.prev_state
    }

    /// The configuration.
    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// The scopes served now.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the machine is paused (`state-machine` pausing, until `ha-continue`).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The last observation the machine ran with.
    pub fn last_observation(&self) -> &Observation {
        &self.last
    }

    /// Whether heartbeats are sent in the current state: not by backup or passive-backup
    /// servers, not in terminated, not while a sync runs (Kea stops them during the sync).
    pub fn heartbeat_enabled(&self) -> bool {
        !(self.config.role == PeerRole::Backup
            || self.config.mode == HaMode::PassiveBackup
            || matches!(
                self.state,
                HaState::Backup | HaState::PassiveBackup | HaState::Terminated
            )
            || self.pending == Some(Pending::Sync))
    }

    /// What to do with a lease update for a peer of `peer_role` in the current state.
    pub fn update_policy(&self, peer_role: PeerRole) -> UpdatePolicy {
        if !self.config.send_lease_updates {
            return UpdatePolicy::Skip;
        }
        if peer_role == PeerRole::Backup {
            return UpdatePolicy::Send;
        }
        match self.state {
            HaState::HotStandby | HaState::LoadBalancing | HaState::PartnerInMaintenance => {
                UpdatePolicy::Send
            }
            HaState::CommunicationRecovery => UpdatePolicy::Queue,
            _ => UpdatePolicy::Skip,
        }
    }

    /// Handles an event.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Heartbeat(observation) => {
                self.observe(observation);
                let cause = if observation.partner.is_none() && self.sync_complete_notified {
                    Cause::SyncedPartnerUnavailable
                } else {
                    Cause::Nop
                };
                self.sync_complete_notified = false;
                self.run(cause, &mut actions);
            }
            Event::Run(observation) => {
                self.observe(observation);
                self.run(Cause::Nop, &mut actions);
            }
            Event::SyncFinished { ok } => {
                if self.pending == Some(Pending::Sync) {
                    self.pending = None;
                }
                if self.state == HaState::Syncing {
                    if ok {
                        self.transition(HaState::Ready, &mut actions);
                        self.run(Cause::Nop, &mut actions);
                    } else {
                        // A failed sync leaves the partner unavailable until the next heartbeat
                        // says otherwise; Kea stays in syncing and retries on the next run.
                        self.last.partner = None;
                    }
                }
            }
            Event::BacklogSent { ok } => {
                if self.pending == Some(Pending::Backlog) {
                    self.pending = None;
                }
                if self.state == HaState::CommunicationRecovery {
                    if ok {
                        let normal = self.config.normal_state();
                        self.transition(normal, &mut actions);
                        self.run(Cause::Nop, &mut actions);
                    } else {
                        self.pending = Some(Pending::Reset);
                        actions.push(Action::SendHaReset);
                    }
                }
            }
            Event::HaResetSent { ok } => {
                if self.pending == Some(Pending::Reset) {
                    self.pending = None;
                }
                if ok && self.state == HaState::CommunicationRecovery {
                    self.transition(HaState::Waiting, &mut actions);
                    self.run(Cause::Nop, &mut actions);
                }
            }
        }
        actions
    }

    fn observe(&mut self, observation: Observation) {
        self.last = observation;
        self.service_enabled = observation.service_enabled;
    }

    // ---- commands (reference 1.12) ------------------------------------------------------

    /// `ha-continue`.
    pub fn cmd_continue(&mut self) -> (Reply, Vec<Action>) {
        if self.paused {
            self.paused = false;
            let log = info(
                "HA_STATE_MACHINE_CONTINUED",
                "state machine is un-paused".into(),
            );
            (
                Reply::ok("HA state machine continues."),
                vec![Action::Log(log)],
            )
        } else {
            (Reply::ok("HA state machine is not paused."), Vec::new())
        }
    }

    /// `ha-reset`: back to waiting (the partner asks this after a failed backlog).
    pub fn cmd_reset(&mut self) -> (Reply, Vec<Action>) {
        if self.state == HaState::Waiting {
            return (
                Reply::ok("HA state machine already in WAITING state."),
                Vec::new(),
            );
        }
        let mut actions = Vec::new();
        self.transition(HaState::Waiting, &mut actions);
        self.run(Cause::Nop, &mut actions);
        (Reply::ok("HA state machine reset."), actions)
    }

    /// `ha-maintenance-notify`, sent by the partner's `ha-maintenance-start` (`cancel: false`)
    /// or `ha-maintenance-cancel` (`cancel: true`).
    pub fn cmd_maintenance_notify(&mut self, cancel: bool) -> (Reply, Vec<Action>) {
        let mut actions = Vec::new();
        if cancel {
            if self.state != HaState::InMaintenance {
                return (
                    Reply::error(
                        "Unable to cancel the maintenance for the server not in the in-maintenance state.",
                    ),
                    actions,
                );
            }
            let back = self.prev_state;
            self.transition(back, &mut actions);
            self.run(Cause::MaintenanceCancel, &mut actions);
            return (Reply::ok("Server maintenance canceled."), actions);
        }
        match self.state {
            HaState::Backup | HaState::PartnerInMaintenance | HaState::Terminated => (
                Reply {
                    result: RESULT_MAINTENANCE_NOT_ALLOWED,
                    text: format!(
                        "Unable to transition the server from the {} to in-maintenance state.",
                        self.state
                    ),
                },
                actions,
            ),
            _ => {
                self.transition(HaState::InMaintenance, &mut actions);
                self.run(Cause::Nop, &mut actions);
                (Reply::ok("Server is in-maintenance state."), actions)
            }
        }
    }

    /// First half of `ha-maintenance-start`: whether the command may proceed to notify the
    /// partner. `Err` is the answer to give.
    pub fn maintenance_start_check(&self) -> Result<(), Reply> {
        match self.state {
            HaState::Backup
            | HaState::InMaintenance
            | HaState::PartnerInMaintenance
            | HaState::Terminated => Err(Reply::error(format!(
                "Unable to transition the server from the {} to partner-in-maintenance state.",
                self.state
            ))),
            _ => Ok(()),
        }
    }

    /// Second half of `ha-maintenance-start`, once the partner answered the notify.
    pub fn cmd_maintenance_start(
        &mut self,
        outcome: MaintenanceNotifyOutcome,
    ) -> (Reply, Vec<Action>) {
        if let Err(reply) = self.maintenance_start_check() {
            return (reply, Vec::new());
        }
        let mut actions = Vec::new();
        match outcome {
            MaintenanceNotifyOutcome::Refused(message) => (
                Reply::error(format!(
                    "Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: {message}."
                )),
                actions,
            ),
            MaintenanceNotifyOutcome::Unreachable => {
                self.last.partner = None;
                self.transition(HaState::PartnerDown, &mut actions);
                self.run(Cause::MaintenanceStart, &mut actions);
                (
                    Reply::ok(
                        "Server is now in the partner-down state as its partner appears to be offline for maintenance.",
                    ),
                    actions,
                )
            }
            MaintenanceNotifyOutcome::Accepted => {
                self.last.partner = Some(HaState::InMaintenance);
                self.transition(HaState::PartnerInMaintenance, &mut actions);
                self.run(Cause::MaintenanceStart, &mut actions);
                (
                    Reply::ok(
                        "Server is now in the partner-in-maintenance state and its partner is in-maintenance state. The partner can be now safely shut down.",
                    ),
                    actions,
                )
            }
        }
    }

    /// First half of `ha-maintenance-cancel`: `Err` is the answer to give; `Ok` means send
    /// `ha-maintenance-notify {"cancel": true}` to the partner.
    pub fn maintenance_cancel_check(&self) -> Result<(), Reply> {
        if self.state == HaState::PartnerInMaintenance {
            Ok(())
        } else {
            Err(Reply::error(
                "Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.",
            ))
        }
    }

    /// Second half of `ha-maintenance-cancel`: `partner_error` is the partner's error text, if
    /// the notify failed.
    pub fn cmd_maintenance_cancel(&mut self, partner_error: Option<&str>) -> (Reply, Vec<Action>) {
        if let Err(reply) = self.maintenance_cancel_check() {
            return (reply, Vec::new());
        }
        if let Some(message) = partner_error {
            return (
                Reply::error(format!(
                    "Unable to cancel maintenance. The partner server responded with the following message to the ha-maintenance-notify command: {message}."
                )),
                Vec::new(),
            );
        }
        let mut actions = Vec::new();
        let back = self.prev_state;
        self.transition(back, &mut actions);
        self.run(Cause::MaintenanceCancel, &mut actions);
        (
            Reply::ok("Server maintenance successfully canceled."),
            actions,
        )
    }

    /// `ha-sync-complete-notify`: the partner finished syncing from us and lifts the
    /// `dhcp-disable` it sent. In partner-down the service comes back only after the next
    /// heartbeat (enabled by the normal state if the partner is ready, or by the
    /// synced-partner-unavailable path if the heartbeat fails).
    ///
    /// Kea 2.2 enables the service unconditionally outside partner-down; because the partner's
    /// `dhcp-disable` and this server's own HA disabling share one origin, that would enable a
    /// server sitting in waiting. Nestor enables only in states that serve.
    pub fn cmd_sync_complete_notify(&mut self) -> (Reply, Vec<Action>) {
        let mut actions = Vec::new();
        if self.state == HaState::PartnerDown {
            self.sync_complete_notified = true;
        } else if self.state.serves_dhcp() {
            self.service_enabled = true;
            actions.push(Action::EnableDhcp);
        }
        (
            Reply::ok("Server successfully notified about the synchronization completion."),
            actions,
        )
    }

    /// `ha-scopes`: serve exactly these scopes until the next state change.
    pub fn cmd_scopes(&mut self, scopes: &[String]) -> (Reply, Vec<Action>) {
        if let Some(bad) = scopes
            .iter()
            .find(|s| !self.config.scope_names().any(|n| n == s.as_str()))
        {
            return (
                Reply::error(format!(
                    "invalid server name specified '{bad}' while enabling/disabling HA scopes"
                )),
                Vec::new(),
            );
        }
        let mut unique: Vec<String> = Vec::new();
        for scope in scopes {
            if !unique.contains(scope) {
                unique.push(scope.clone());
            }
        }
        self.scopes = unique.clone();
        (
            Reply::ok("New HA scopes configured."),
            vec![Action::Scopes(unique)],
        )
    }

    // ---- the model ----------------------------------------------------------------------

    fn apply_pause(&mut self, state: HaState) {
        let pause = match self.config.pause_of(state) {
            StatePause::Always => true,
            StatePause::Once => !self.paused_once.contains(&state),
            StatePause::Never => false,
        };
        if pause {
            self.paused = true;
            if !self.paused_once.contains(&state) {
                self.paused_once.push(state);
            }
        }
    }

    /// `verboseTransition`: log, switch, log the lease-update policy of the new state.
    fn transition(&mut self, to: HaState, actions: &mut Vec<Action>) {
        let from = self.state;
        if self.config.mode == HaMode::PassiveBackup {
            actions.push(Action::Log(info(
                "HA_STATE_TRANSITION_PASSIVE_BACKUP",
                format!(
                    "server transitions from {} to {} state",
                    from.label(),
                    to.label()
                ),
            )));
        } else {
            actions.push(Action::Log(info(
                "HA_STATE_TRANSITION",
                format!(
                    "server transitions from {} to {} state, partner state is {}",
                    from.label(),
                    to.label(),
                    partner_label(self.last.partner)
                ),
            )));
        }
        if to == HaState::Ready && from == HaState::Waiting {
            actions.push(Action::Log(info(
                "HA_CONFIG_LEASE_SYNCING_DISABLED_REMINDER",
                "bypassing SYNCING state because lease database synchronization is administratively disabled".into(),
            )));
        }
        if from == HaState::CommunicationRecovery && to != from {
            actions.push(Action::ClearBacklog);
        }
        // Kea keeps the previous state when re-entering the same one (a second
        // ha-maintenance-notify must not make cancellation "return" to in-maintenance).
        if to != from {
            self.prev_state = from;
        }
        self.state = to;
        self.on_entry = true;
        self.apply_pause(to);
        if self.config.mode != HaMode::PassiveBackup && self.config.role != PeerRole::Backup {
            let partner_role = self.partner_role();
            let label = to.label();
            let line = if self.update_policy(partner_role) == UpdatePolicy::Send {
                info(
                    "HA_LEASE_UPDATES_ENABLED",
                    format!("lease updates will be sent to the partner while in {label} state"),
                )
            } else if !self.config.send_lease_updates {
                info(
                    "HA_CONFIG_LEASE_UPDATES_DISABLED_REMINDER",
                    format!(
                        "lease updates are administratively disabled and will not be sent to the partner while in {label} state"
                    ),
                )
            } else {
                info(
                    "HA_LEASE_UPDATES_DISABLED",
                    format!("lease updates will not be sent to the partner while in {label} state"),
                )
            };
            actions.push(Action::Log(line));
        }
    }

    /// The role of the failover partner (the other active server), for the update policy.
    fn partner_role(&self) -> PeerRole {
        match (self.config.mode, self.config.role) {
            (HaMode::LoadBalancing, PeerRole::Primary) => PeerRole::Secondary,
            (HaMode::HotStandby, PeerRole::Primary) => PeerRole::Standby,
            _ => PeerRole::Primary,
        }
    }

    /// `adjustNetworkState`.
    fn adjust_network_state(&mut self, actions: &mut Vec<Action>) {
        let should_enable = self.state.serves_dhcp();
        let label = self.state.label();
        let name = &self.config.this_server;
        if !should_enable && self.service_enabled {
            actions.push(Action::Log(info(
                "HA_LOCAL_DHCP_DISABLE",
                format!("local DHCP service is disabled while the {name} is in the {label} state"),
            )));
            actions.push(Action::DisableDhcp);
            self.service_enabled = false;
        } else if should_enable && !self.service_enabled {
            actions.push(Action::Log(info(
                "HA_LOCAL_DHCP_ENABLE",
                format!("local DHCP service is enabled while the {name} is in the {label} state"),
            )));
            actions.push(Action::EnableDhcp);
            self.service_enabled = true;
        }
    }

    fn serve(&mut self, scopes: Vec<String>, actions: &mut Vec<Action>) {
        self.scopes = scopes.clone();
        actions.push(Action::Scopes(scopes));
    }

    /// `runModel`: handlers until one does not transition.
    fn run(&mut self, cause: Cause, actions: &mut Vec<Action>) {
        for _ in 0..MAX_HOPS {
            match self.step(cause, actions) {
                Some(next) => self.transition(next, actions),
                None => return,
            }
        }
        actions.push(Action::Log(LogLine {
            level: Level::Error,
            id: "HA_STATE_MACHINE_LOOP",
            text: format!(
                "state machine made {MAX_HOPS} transitions in one run and stopped in {}",
                self.state.label()
            ),
        }));
    }

    fn should_partner_down(&self) -> bool {
        if !self.last.interrupted {
            return false;
        }
        if self.service_enabled
            && (self.config.mode == HaMode::LoadBalancing || self.config.role == PeerRole::Standby)
        {
            return self.last.failure_detected;
        }
        true
    }

    /// `isPartnerStateInvalid`, with its warning.
    fn partner_state_invalid(&self, actions: &mut Vec<Action>) -> bool {
        let (id, text) = match (self.last.partner, self.config.mode) {
            (Some(HaState::CommunicationRecovery), mode) if mode != HaMode::LoadBalancing => (
                "HA_INVALID_PARTNER_STATE_COMMUNICATION_RECOVERY",
                "partner is in the communication-recovery state unexpectedly",
            ),
            (Some(HaState::HotStandby), mode) if mode != HaMode::HotStandby => (
                "HA_INVALID_PARTNER_STATE_HOT_STANDBY",
                "partner is in the hot-standby state unexpectedly",
            ),
            (Some(HaState::LoadBalancing), mode) if mode != HaMode::LoadBalancing => (
                "HA_INVALID_PARTNER_STATE_LOAD_BALANCING",
                "partner is in the load-balancing state unexpectedly",
            ),
            _ => return false,
        };
        actions.push(Action::Log(LogLine {
            level: Level::Warn,
            id,
            text: text.into(),
        }));
        true
    }

    fn terminated_by_skew(&self) -> bool {
        self.last.should_terminate
    }

    fn entry_paused_log(&self, actions: &mut Vec<Action>) {
        if self.paused {
            actions.push(Action::Log(info(
                "HA_STATE_MACHINE_PAUSED",
                format!("state machine paused in state {}", self.state.label()),
            )));
        }
    }

    /// One state handler. Returns the state to transition to, or `None` for NOP.
    fn step(&mut self, cause: Cause, actions: &mut Vec<Action>) -> Option<HaState> {
        let entry = std::mem::replace(&mut self.on_entry, false);
        let partner = self.last.partner;
        let halted = self.paused || cause == Cause::MaintenanceCancel;
        match self.state {
            HaState::Backup => {
                if entry {
                    self.serve(Vec::new(), actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                None
            }
            HaState::PassiveBackup => {
                if entry {
                    let scopes = self.config.default_scopes();
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                None
            }
            HaState::Terminated => {
                if entry {
                    let scopes = self.config.default_scopes();
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                    actions.push(Action::Log(LogLine {
                        level: Level::Error,
                        id: "HA_TERMINATED",
                        text: "HA service terminated due to an unrecoverable condition. Check previous error message(s), address the problem and restart!".into(),
                    }));
                }
                None
            }
            HaState::InMaintenance => {
                if entry {
                    self.serve(Vec::new(), actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                    actions.push(Action::Log(info(
                        "HA_MAINTENANCE_SHUTDOWN_SAFE",
                        "the server can now be shutdown for maintenance as the partner has taken over the DHCP traffic".into(),
                    )));
                }
                None
            }
            HaState::Waiting => {
                if entry {
                    self.serve(Vec::new(), actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                if halted {
                    return None;
                }
                if self.config.role == PeerRole::Backup {
                    return Some(HaState::Backup);
                }
                if self.config.mode == HaMode::PassiveBackup {
                    return Some(HaState::PassiveBackup);
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return None;
                }
                let after_waiting = if self.config.sync_leases {
                    HaState::Syncing
                } else {
                    HaState::Ready
                };
                match partner {
                    Some(
                        HaState::CommunicationRecovery
                        | HaState::HotStandby
                        | HaState::LoadBalancing
                        | HaState::InMaintenance
                        | HaState::PartnerDown
                        | HaState::PartnerInMaintenance
                        | HaState::Ready,
                    ) => Some(after_waiting),
                    Some(HaState::Terminated) => {
                        actions.push(Action::Log(info(
                            "HA_TERMINATED_RESTART_PARTNER",
                            "waiting for the partner in the TERMINATED state to be restarted"
                                .into(),
                        )));
                        None
                    }
                    Some(HaState::Waiting) => {
                        (self.config.role == PeerRole::Primary).then_some(after_waiting)
                    }
                    None => self.should_partner_down().then_some(HaState::PartnerDown),
                    Some(_) => None,
                }
            }
            HaState::Syncing => {
                if entry {
                    self.serve(Vec::new(), actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                if halted {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return Some(HaState::Waiting);
                }
                match partner {
                    Some(HaState::Terminated) => Some(HaState::Terminated),
                    None => self.should_partner_down().then_some(HaState::PartnerDown),
                    Some(_) => {
                        if self.pending.is_none() {
                            self.pending = Some(Pending::Sync);
                            actions.push(Action::StartSync);
                        }
                        None
                    }
                }
            }
            HaState::Ready => {
                if entry {
                    self.serve(Vec::new(), actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                if halted {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return Some(HaState::Waiting);
                }
                match partner {
                    Some(
                        HaState::HotStandby
                        | HaState::LoadBalancing
                        | HaState::CommunicationRecovery,
                    ) => Some(self.config.normal_state()),
                    Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
                    Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
                    Some(HaState::Ready) => {
                        (self.config.role == PeerRole::Primary).then(|| self.config.normal_state())
                    }
                    Some(HaState::Terminated) => Some(HaState::Terminated),
                    None => self.should_partner_down().then_some(HaState::PartnerDown),
                    Some(_) => None,
                }
            }
            HaState::HotStandby | HaState::LoadBalancing => {
                if entry {
                    let scopes = self.config.default_scopes();
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                if halted {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return Some(HaState::Waiting);
                }
                match partner {
                    Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
                    Some(HaState::PartnerDown) => Some(HaState::Waiting),
                    Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
                    Some(HaState::Terminated) => Some(HaState::Terminated),
                    None => {
                        if self.should_partner_down() {
                            Some(HaState::PartnerDown)
                        } else if self.config.comm_recovery {
                            Some(HaState::CommunicationRecovery)
                        } else {
                            None
                        }
                    }
                    Some(_) => None,
                }
            }
            HaState::CommunicationRecovery => {
                if entry {
                    let scopes = self.config.default_scopes();
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                }
                if halted {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return Some(HaState::Waiting);
                }
                match partner {
                    Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
                    Some(HaState::PartnerDown) => Some(HaState::Waiting),
                    Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
                    Some(HaState::Terminated) => Some(HaState::Terminated),
                    None => self.should_partner_down().then_some(HaState::PartnerDown),
                    Some(HaState::Waiting | HaState::Syncing | HaState::Ready) => {
                        (!self.last.interrupted && self.last.backlog_overflowed)
                            .then_some(HaState::Waiting)
                    }
                    Some(other) => {
                        if self.last.interrupted {
                            return None;
                        }
                        if other == self.config.normal_state()
                            || other == HaState::CommunicationRecovery
                        {
                            if self.pending.is_none() {
                                if self.last.backlog_overflowed {
                                    self.pending = Some(Pending::Reset);
                                    actions.push(Action::SendHaReset);
                                } else {
                                    self.pending = Some(Pending::Backlog);
                                    actions.push(Action::SendBacklog);
                                }
                            }
                            return None;
                        }
                        Some(HaState::Waiting)
                    }
                }
            }
            HaState::PartnerDown => {
                if entry {
                    let maintenance = cause == Cause::MaintenanceStart;
                    let scopes = if maintenance || self.config.auto_failover {
                        self.config.failover_scopes()
                    } else {
                        self.config.default_scopes()
                    };
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                    if maintenance {
                        actions.push(Action::Log(info(
                            "HA_MAINTENANCE_STARTED_IN_PARTNER_DOWN",
                            "the server is now in the partner-down mode as a result of requested maintenance".into(),
                        )));
                    }
                } else if cause == Cause::SyncedPartnerUnavailable {
                    self.adjust_network_state(actions);
                }
                if halted {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                if self.partner_state_invalid(actions) {
                    return Some(HaState::Waiting);
                }
                match partner {
                    Some(
                        HaState::CommunicationRecovery
                        | HaState::PartnerDown
                        | HaState::PartnerInMaintenance,
                    ) => Some(HaState::Waiting),
                    Some(HaState::Ready) => Some(if self.last.partner_new_unsent_updates {
                        HaState::Waiting
                    } else {
                        self.config.normal_state()
                    }),
                    Some(HaState::Terminated) => Some(HaState::Terminated),
                    _ => None,
                }
            }
            HaState::PartnerInMaintenance => {
                if entry {
                    let scopes = self.config.failover_scopes();
                    self.serve(scopes, actions);
                    self.adjust_network_state(actions);
                    self.entry_paused_log(actions);
                    actions.push(Action::Log(info(
                        "HA_MAINTENANCE_STARTED",
                        "the server is now in the partner-in-maintenance state and the partner is in-maintenance state".into(),
                    )));
                }
                // Kea checks only pausing here, not a just-cancelled maintenance.
                if self.paused {
                    return None;
                }
                if self.terminated_by_skew() {
                    return Some(HaState::Terminated);
                }
                partner.is_none().then_some(HaState::PartnerDown)
            }
        }
    }
}

fn info(id: &'static str, text: String) -> LogLine {
    LogLine {
        level: Level::Info,
        id,
        text,
    }
}

#[cfg(test)]
mod tests;
