//! Failure detection and the partner's record: Kea 2.2's `CommunicationState4`
//! (`communication_state.cc`, reference 1.6 and 1.11).
//!
//! * Only a successful heartbeat "pokes" the state: it records the partner's `state`,
//!   `date-time` (clock skew), `scopes` and `unsent-update-count`, and clears the
//!   connecting-clients table. Any failure makes the partner unavailable.
//! * The communication is *interrupted* once `max-response-delay` has passed since the last
//!   poke.
//! * While interrupted, every query aimed at the partner's scope is analysed: its `secs` field
//!   (bytes swapped when > 255 with a zero low byte, as some Windows clients send it) times
//!   1000 above `max-ack-delay` makes its client (chaddr, client-id) *unacked*, once.
//!   `failureDetected` is `max-unacked-clients == 0` or more unacked clients than that.
//! * Clock skew = partner's `date-time` - local time at reception, 1 s resolution, no RTT
//!   correction: above 30 s a warning at most every 60 s, above 60 s the machine terminates.
//!
//! Time is injected: the monotonic `now` (tokio's pausable [`Instant`]) and the local wall
//! clock in Unix seconds are arguments, so tests run a 60 s failover instantly.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::httpdate;
use crate::state::{HaState, Level, LogLine, Observation};

/// Clock skew above which Kea warns (`HA_HIGH_CLOCK_SKEW`).
pub const CLOCK_SKEW_WARN_SECS: i64 = 30;
/// Clock skew above which Kea terminates (`HA_HIGH_CLOCK_SKEW_CAUSES_TERMINATION`).
pub const CLOCK_SKEW_TERMINATE_SECS: i64 = 60;
/// Minimum interval between two clock-skew warnings.
pub const CLOCK_SKEW_WARN_INTERVAL: Duration = Duration::from_secs(60);

/// The failure-detection parameters of `high-availability[0]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectionConfig {
    /// `max-response-delay`.
    pub max_response_delay: Duration,
    /// `max-ack-delay`, in milliseconds (compared with `secs * 1000`).
    pub max_ack_delay_ms: u32,
    /// `max-unacked-clients`.
    pub max_unacked_clients: u32,
}

impl DetectionConfig {
    /// From the validated HA parameters.
    pub fn from_ha(config: &nestor_config::hooks::ha::HaConfig) -> Self {
        Self {
            max_response_delay: Duration::from_millis(u64::from(config.max_response_delay)),
            max_ack_delay_ms: config.max_ack_delay,
            max_unacked_clients: config.max_unacked_clients,
        }
    }
}

/// The partner's status from a successful `ha-heartbeat` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerStatus {
    /// `state`.
    pub state: HaState,
    /// `date-time`, as Unix seconds.
    pub date_time: i64,
    /// `scopes` (empty when absent: older Kea versions do not send it).
    pub scopes: Vec<String>,
    /// `unsent-update-count`, when present.
    pub unsent_update_count: Option<u64>,
}

/// Why a heartbeat answer's arguments are unusable (Kea then marks the partner unavailable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    /// No arguments map.
    #[error("arguments not returned in response to a ha-heartbeat command or they are not a map")]
    NoArguments,
    /// `state` missing or not a string.
    #[error(
        "server state not returned in response to a ha-heartbeat command or it is not a string"
    )]
    NoState,
    /// `state` names no HA state.
    #[error("unknown partner state '{state}' returned in response to a ha-heartbeat command")]
    UnknownState {
        /// The name received.
        state: String,
    },
    /// `date-time` missing or not a string.
    #[error("date-time not returned in response to a ha-heartbeat command or it is not a string")]
    NoDateTime,
    /// `date-time` is not RFC 1123.
    #[error(transparent)]
    BadDateTime(#[from] httpdate::BadDate),
    /// `unsent-update-count` present but not a non-negative integer.
    #[error("unsent-update-count returned in the ha-heartbeat response is not a valid integer")]
    BadUnsentUpdateCount,
}

/// Parses the `arguments` of an `ha-heartbeat` answer, with Kea's checks: `state` and
/// `date-time` required, `scopes` optional (ignored if malformed), `unsent-update-count`
/// optional but an integer when present.
pub fn parse_heartbeat_arguments(
    arguments: Option<&Value>,
) -> Result<PartnerStatus, HeartbeatError> {
    let args = arguments
        .and_then(Value::as_object)
        .ok_or(HeartbeatError::NoArguments)?;
    let state_name = args
        .get("state")
        .and_then(Value::as_str)
        .ok_or(HeartbeatError::NoState)?;
    let state = HaState::from_name(state_name).ok_or_else(|| HeartbeatError::UnknownState {
        state: state_name.to_owned(),
    })?;
    let date_time = args
        .get("date-time")
        .and_then(Value::as_str)
        .ok_or(HeartbeatError::NoDateTime)?;
    let date_time = httpdate::parse(date_time)?;
    let scopes = args
        .get("scopes")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let unsent_update_count = match args.get("unsent-update-count") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(HeartbeatError::BadUnsentUpdateCount)?),
    };
    Ok(PartnerStatus {
        state,
        date_time,
        scopes,
        unsent_update_count,
    })
}

/// The `secs` field as Kea reads it: bytes swapped when the value is above 255 and its low
/// byte is zero (some clients send it little-endian).
pub fn effective_secs(secs: u16) -> u16 {
    if secs > 255 && secs & 0xff == 0 {
        secs.swap_bytes()
    } else {
        secs
    }
}

/// The communication state with the failover partner.
#[derive(Debug, Clone)]
pub struct CommState {
    config: DetectionConfig,
    poked_at: Instant,
    in_touch: bool,
    partner: Option<PartnerStatus>,
    last_state: Option<HaState>,
    last_scopes: Vec<String>,
    /// Previous and latest `unsent-update-count` of the partner.
    partner_unsent: (u64, u64),
    /// (chaddr, client-id) -> unacked.
    connecting: HashMap<(Vec<u8>, Vec<u8>), bool>,
    analyzed: u64,
    /// Latest skew in seconds, with the two times it was computed from (for the log).
    skew: Option<(i64, i64, i64)>,
    last_skew_warning: Option<Instant>,
}

impl CommState {
    /// A fresh state: poked now (Kea starts the interruption timer at start), partner unknown.
    pub fn new(config: DetectionConfig, now: Instant) -> Self {
        Self {
            config,
            poked_at: now,
            in_touch: false,
            partner: None,
            last_state: None,
            last_scopes: Vec::new(),
            partner_unsent: (0, 0),
            connecting: HashMap::new(),
            analyzed: 0,
            skew: None,
            last_skew_warning: None,
        }
    }

    /// A heartbeat answered: poke, record the partner and the skew. Returns the clock-skew log
    /// line, if any is due.
    pub fn heartbeat_ok(
        &mut self,
        status: PartnerStatus,
        local_unix_secs: i64,
        now: Instant,
    ) -> Option<LogLine> {
        self.poked_at = now;
        self.in_touch = true;
        self.connecting.clear();
        self.analyzed = 0;
        self.last_state = Some(status.state);
        self.last_scopes.clone_from(&status.scopes);
        if let Some(count) = status.unsent_update_count {
            self.partner_unsent = (self.partner_unsent.1, count);
        }
        self.skew = Some((
            status.date_time.saturating_sub(local_unix_secs),
            local_unix_secs,
            status.date_time,
        ));
        self.partner = Some(status);
        self.skew_log(now)
    }

    /// A heartbeat, lease update, `dhcp-disable` or sync request failed: the partner is
    /// unavailable until the next good heartbeat. The skew of a dead partner is forgotten
    /// (Kea 2.4's fix; 2.2 kept terminating on a stale skew).
    pub fn mark_unavailable(&mut self) {
        self.partner = None;
        self.skew = None;
    }

    /// The partner's status from the last good heartbeat, `None` while unavailable.
    pub fn partner(&self) -> Option<&PartnerStatus> {
        self.partner.as_ref()
    }

    /// `isCommunicationInterrupted`.
    pub fn is_interrupted(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.poked_at) > self.config.max_response_delay
    }

    /// Analyses a query aimed at the partner's scope (call only while interrupted, as Kea
    /// does). Returns Kea's log line when the client is seen for the first time or becomes
    /// unacked.
    pub fn analyze(
        &mut self,
        chaddr: &[u8],
        client_id: &[u8],
        secs: u16,
        label: &str,
    ) -> Option<LogLine> {
        self.analyzed = self.analyzed.saturating_add(1);
        let secs = effective_secs(secs);
        let unacked = u64::from(secs) * 1000 > u64::from(self.config.max_ack_delay_ms);
        let key = (chaddr.to_vec(), client_id.to_vec());
        let log_unacked = match self.connecting.get_mut(&key) {
            Some(was) => {
                let flips = !*was && unacked;
                *was |= unacked;
                flips
            }
            None => {
                self.connecting.insert(key, unacked);
                if !unacked {
                    return Some(LogLine {
                        level: Level::Info,
                        id: "HA_COMMUNICATION_INTERRUPTED_CLIENT4",
                        text: format!(
                            "{label}: new client attempting to get a lease from the partner"
                        ),
                    });
                }
                true
            }
        };
        log_unacked.then(|| {
            let total = self.unacked_clients();
            let max = u64::from(self.config.max_unacked_clients);
            let left = if max >= total { max - total + 1 } else { 0 };
            LogLine {
                level: Level::Info,
                id: "HA_COMMUNICATION_INTERRUPTED_CLIENT4_UNACKED",
                text: format!(
                    "{label}: partner server failed to respond, {total} clients unacked so far, {left} clients left before transitioning to the partner-down state"
                ),
            }
        })
    }

    /// `failureDetected`.
    pub fn failure_detected(&self) -> bool {
        self.config.max_unacked_clients == 0
            || self.unacked_clients() > u64::from(self.config.max_unacked_clients)
    }

    /// Distinct clients seen since the communication was interrupted.
    pub fn connecting_clients(&self) -> u64 {
        u64::try_from(self.connecting.len()).unwrap_or(u64::MAX)
    }

    /// Of those, the unacked ones.
    pub fn unacked_clients(&self) -> u64 {
        u64::try_from(self.connecting.values().filter(|u| **u).count()).unwrap_or(u64::MAX)
    }

    /// `unacked-clients-left` of `status-get`: 0 unless interrupted.
    pub fn unacked_clients_left(&self, now: Instant) -> u64 {
        let total = self.unacked_clients();
        let max = u64::from(self.config.max_unacked_clients);
        if self.is_interrupted(now) && max >= total {
            max - total + 1
        } else {
            0
        }
    }

    /// `hasPartnerNewUnsentUpdates`: the partner's count changed between the last two
    /// heartbeats and is not zero (it allocated while it thought we were down).
    pub fn partner_has_new_unsent_updates(&self) -> bool {
        self.partner_unsent.1 > 0 && self.partner_unsent.0 != self.partner_unsent.1
    }

    /// The latest clock skew in seconds (partner - local).
    pub fn clock_skew(&self) -> Option<i64> {
        self.skew.map(|(skew, _, _)| skew)
    }

    /// `clockSkewShouldTerminate`.
    pub fn skew_should_terminate(&self) -> bool {
        self.clock_skew()
            .is_some_and(|s| s.unsigned_abs() > CLOCK_SKEW_TERMINATE_SECS.unsigned_abs())
    }

    fn skew_text(&self) -> String {
        let Some((skew, mine, theirs)) = self.skew else {
            return String::new();
        };
        let direction = if skew < 0 {
            format!("{}s behind", skew.unsigned_abs())
        } else {
            format!("{skew}s ahead")
        };
        format!(
            "my time: {}, partner's time: {}, partner's clock is {direction}",
            httpdate::format(mine),
            httpdate::format(theirs)
        )
    }

    fn skew_log(&mut self, now: Instant) -> Option<LogLine> {
        if self.skew_should_terminate() {
            return Some(LogLine {
                level: Level::Error,
                id: "HA_HIGH_CLOCK_SKEW_CAUSES_TERMINATION",
                text: format!("{}, causes HA service to terminate", self.skew_text()),
            });
        }
        let skew = self.clock_skew()?;
        if skew.unsigned_abs() <= CLOCK_SKEW_WARN_SECS.unsigned_abs() {
            return None;
        }
        if self
            .last_skew_warning
            .is_some_and(|at| now.saturating_duration_since(at) < CLOCK_SKEW_WARN_INTERVAL)
        {
            return None;
        }
        self.last_skew_warning = Some(now);
        Some(LogLine {
            level: Level::Warn,
            id: "HA_HIGH_CLOCK_SKEW",
            text: format!("{}, please synchronize clocks!", self.skew_text()),
        })
    }

    /// What the state machine needs for a run now.
    pub fn observation(
        &self,
        now: Instant,
        service_enabled: bool,
        backlog_overflowed: bool,
    ) -> Observation {
        Observation {
            partner: self.partner.as_ref().map(|p| p.state),
            interrupted: self.is_interrupted(now),
            failure_detected: self.failure_detected(),
            should_terminate: self.skew_should_terminate(),
            partner_new_unsent_updates: self.partner_has_new_unsent_updates(),
            backlog_overflowed,
            service_enabled,
        }
    }

    /// The `remote` map of `status-get` (reference 1.13), keys as Kea orders them.
    pub fn report(&self, now: Instant, role: &str) -> Value {
        let age = if self.in_touch {
            now.saturating_duration_since(self.poked_at).as_secs()
        } else {
            0
        };
        json!({
            "age": age,
            "analyzed-packets": self.analyzed,
            "communication-interrupted": self.is_interrupted(now),
            "connecting-clients": self.connecting_clients(),
            "in-touch": self.in_touch,
            "last-scopes": self.last_scopes,
            "last-state": self.last_state.map_or("", HaState::name),
            "role": role,
            "unacked-clients": self.unacked_clients(),
            "unacked-clients-left": self.unacked_clients_left(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_unacked: u32) -> DetectionConfig {
        DetectionConfig {
            max_response_delay: Duration::from_secs(10),
            max_ack_delay_ms: 5000,
            max_unacked_clients: max_unacked,
        }
    }

    fn status(state: HaState, date_time: i64, unsent: u64) -> PartnerStatus {
        PartnerStatus {
            state,
            date_time,
            scopes: vec!["server1".into()],
            unsent_update_count: Some(unsent),
        }
    }

    #[test]
    fn parses_the_captured_heartbeat_answer() {
        let answer: Value = serde_json::from_str(
            r#"[ { "arguments": { "date-time": "Wed, 25 Nov 2026 19:29:27 GMT", "scopes": [  ], "state": "hot-standby", "unsent-update-count": 0 }, "result": 0, "text": "HA peer status returned." } ]"#,
        )
        .unwrap();
        let status = parse_heartbeat_arguments(answer[0].get("arguments")).unwrap();
        assert_eq!(status.state, HaState::HotStandby);
        assert_eq!(
            status.date_time,
            httpdate::parse("Wed, 25 Nov 2026 19:29:27 GMT").unwrap()
        );
        assert!(status.scopes.is_empty());
        assert_eq!(status.unsent_update_count, Some(0));
    }

    #[test]
    fn heartbeat_argument_errors() {
        let cases = [
            (json!(null), HeartbeatError::NoArguments),
            (
                json!({"date-time": "Wed, 25 Nov 2026 19:29:27 GMT"}),
                HeartbeatError::NoState,
            ),
            (json!({"state": 3}), HeartbeatError::NoState),
            (
                json!({"state": "bogus", "date-time": "x"}),
                HeartbeatError::UnknownState {
                    state: "bogus".into(),
                },
            ),
            (json!({"state": "ready"}), HeartbeatError::NoDateTime),
            (
                json!({"state": "ready", "date-time": "Wed, 25 Nov 2026 19:29:27 GMT", "unsent-update-count": -1}),
                HeartbeatError::BadUnsentUpdateCount,
            ),
        ];
        for (args, want) in cases {
            assert_eq!(parse_heartbeat_arguments(Some(&args)), Err(want), "{args}");
        }
        assert!(matches!(
            parse_heartbeat_arguments(Some(&json!({"state": "ready", "date-time": "yesterday"}))),
            Err(HeartbeatError::BadDateTime(_))
        ));
        // Old peers: no scopes, no unsent-update-count.
        let old = parse_heartbeat_arguments(Some(
            &json!({"state": "ready", "date-time": "Wed, 25 Nov 2026 19:29:27 GMT"}),
        ))
        .unwrap();
        assert_eq!((old.scopes.len(), old.unsent_update_count), (0, None));
    }

    #[test]
    fn secs_byte_swap_heuristic() {
        assert_eq!(effective_secs(0), 0);
        assert_eq!(effective_secs(255), 255);
        assert_eq!(effective_secs(0x0600), 6, "6 s sent little-endian");
        assert_eq!(effective_secs(0x0601), 0x0601, "low byte set: taken as is");
        assert_eq!(effective_secs(256), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn interruption_follows_max_response_delay_from_the_last_good_heartbeat() {
        let start = Instant::now();
        let mut comm = CommState::new(config(2), start);
        assert!(!comm.is_interrupted(start + Duration::from_secs(10)));
        assert!(comm.is_interrupted(start + Duration::from_millis(10_001)));
        comm.heartbeat_ok(
            status(HaState::Ready, 100, 0),
            100,
            start + Duration::from_secs(8),
        );
        assert!(!comm.is_interrupted(start + Duration::from_secs(18)));
        assert!(comm.is_interrupted(start + Duration::from_millis(18_001)));
        // Failures do not poke.
        comm.mark_unavailable();
        assert!(comm.partner().is_none());
        assert!(comm.is_interrupted(start + Duration::from_secs(19)));
        let o = comm.observation(start + Duration::from_secs(19), true, false);
        assert_eq!((o.partner, o.interrupted), (None, true));
    }

    #[tokio::test(start_paused = true)]
    async fn unacked_clients_analysis() {
        let now = Instant::now();
        let mut comm = CommState::new(config(2), now);
        let later = now + Duration::from_secs(11);
        // secs 5 * 1000 = 5000, not > 5000: connecting, not unacked.
        let line = comm.analyze(&[1; 6], &[], 5, "c1").unwrap();
        assert_eq!(line.id, "HA_COMMUNICATION_INTERRUPTED_CLIENT4");
        assert_eq!((comm.connecting_clients(), comm.unacked_clients()), (1, 0));
        // Same client, now 6 s: flips to unacked once.
        let line = comm.analyze(&[1; 6], &[], 6, "c1").unwrap();
        assert_eq!(line.id, "HA_COMMUNICATION_INTERRUPTED_CLIENT4_UNACKED");
        assert!(
            line.text
                .contains("1 clients unacked so far, 2 clients left"),
            "{}",
            line.text
        );
        assert!(comm.analyze(&[1; 6], &[], 9, "c1").is_none());
        assert_eq!(comm.unacked_clients(), 1);
        // Same chaddr, different client-id: another client. Swapped bytes count too.
        assert!(comm.analyze(&[1; 6], &[1, 2], 0x0600, "c2").is_some());
        assert_eq!(comm.unacked_clients(), 2);
        assert!(
            !comm.failure_detected(),
            "2 is not more than max-unacked-clients 2"
        );
        assert_eq!(comm.unacked_clients_left(later), 1);
        assert_eq!(comm.unacked_clients_left(now), 0, "0 while not interrupted");
        comm.analyze(&[3; 6], &[], 10, "c3");
        assert!(comm.failure_detected());
        assert_eq!(comm.unacked_clients_left(later), 0);
        assert_eq!(comm.report(later, "secondary")["analyzed-packets"], 5);
        // A good heartbeat clears the table.
        comm.heartbeat_ok(status(HaState::LoadBalancing, 0, 0), 0, later);
        assert_eq!((comm.connecting_clients(), comm.unacked_clients()), (0, 0));
        assert!(!comm.failure_detected());
        // max-unacked-clients 0: failure as soon as asked.
        assert!(CommState::new(config(0), now).failure_detected());
    }

    #[tokio::test(start_paused = true)]
    async fn clock_skew_warns_rate_limited_and_terminates() {
        let now = Instant::now();
        let mut comm = CommState::new(config(2), now);
        let local = 1_795_638_557;
        assert!(
            comm.heartbeat_ok(status(HaState::Ready, local + 30, 0), local, now)
                .is_none()
        );
        let warn = comm
            .heartbeat_ok(status(HaState::Ready, local - 31, 0), local, now)
            .unwrap();
        assert_eq!(warn.id, "HA_HIGH_CLOCK_SKEW");
        assert!(
            warn.text
                .ends_with("partner's clock is 31s behind, please synchronize clocks!"),
            "{}",
            warn.text
        );
        assert!(
            comm.heartbeat_ok(
                status(HaState::Ready, local + 40, 0),
                local,
                now + Duration::from_secs(59)
            )
            .is_none()
        );
        assert!(
            comm.heartbeat_ok(
                status(HaState::Ready, local + 40, 0),
                local,
                now + Duration::from_secs(60)
            )
            .is_some()
        );
        assert!(!comm.skew_should_terminate());
        let fatal = comm
            .heartbeat_ok(status(HaState::Ready, local + 61, 0), local, now)
            .unwrap();
        assert_eq!(fatal.id, "HA_HIGH_CLOCK_SKEW_CAUSES_TERMINATION");
        assert!(comm.skew_should_terminate());
        assert!(comm.observation(now, true, false).should_terminate);
        comm.mark_unavailable();
        assert!(!comm.skew_should_terminate());
    }

    #[tokio::test(start_paused = true)]
    async fn partner_unsent_update_count_changes() {
        let now = Instant::now();
        let mut comm = CommState::new(config(2), now);
        comm.heartbeat_ok(status(HaState::PartnerDown, 0, 0), 0, now);
        assert!(!comm.partner_has_new_unsent_updates());
        comm.heartbeat_ok(status(HaState::PartnerDown, 0, 3), 0, now);
        assert!(comm.partner_has_new_unsent_updates());
        comm.heartbeat_ok(status(HaState::Ready, 0, 3), 0, now);
        assert!(
            !comm.partner_has_new_unsent_updates(),
            "unchanged since the last heartbeat"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn status_get_remote_report() {
        let now = Instant::now();
        let mut comm = CommState::new(config(2), now);
        let never = comm.report(now, "primary");
        assert_eq!(never["in-touch"], false);
        assert_eq!(never["last-state"], "");
        assert_eq!(never["age"], 0);
        comm.heartbeat_ok(status(HaState::LoadBalancing, 0, 0), 0, now);
        let r = comm.report(now + Duration::from_secs(3), "primary");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"age":3,"analyzed-packets":0,"communication-interrupted":false,"connecting-clients":0,"in-touch":true,"last-scopes":["server1"],"last-state":"load-balancing","role":"primary","unacked-clients":0,"unacked-clients-left":0}"#
        );
    }
}
