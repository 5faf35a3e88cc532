//! Transition-by-transition tests of the state machine against reference 1.4/1.5 and Kea 2.2's
//! handlers, plus the seed's two sequences with Kea's log lines.

use super::*;

fn config(mode: HaMode, role: PeerRole) -> MachineConfig {
    let (me, peers) = match (mode, role) {
        (HaMode::HotStandby, PeerRole::Primary) => (
            "kea_1",
            vec![("kea_1", PeerRole::Primary), ("kea_2", PeerRole::Standby)],
        ),
        (HaMode::HotStandby, _) => (
            "kea_2",
            vec![("kea_1", PeerRole::Primary), ("kea_2", PeerRole::Standby)],
        ),
        (HaMode::LoadBalancing, PeerRole::Primary) => (
            "server1",
            vec![
                ("server1", PeerRole::Primary),
                ("server2", PeerRole::Secondary),
                ("server3", PeerRole::Backup),
            ],
        ),
        (HaMode::LoadBalancing, PeerRole::Backup) => (
            "server3",
            vec![
                ("server1", PeerRole::Primary),
                ("server2", PeerRole::Secondary),
                ("server3", PeerRole::Backup),
            ],
        ),
        (HaMode::LoadBalancing, _) => (
            "server2",
            vec![
                ("server1", PeerRole::Primary),
                ("server2", PeerRole::Secondary),
                ("server3", PeerRole::Backup),
            ],
        ),
        (HaMode::PassiveBackup, PeerRole::Primary) => (
            "server1",
            vec![
                ("server1", PeerRole::Primary),
                ("server3", PeerRole::Backup),
            ],
        ),
        (HaMode::PassiveBackup, _) => (
            "server3",
            vec![
                ("server1", PeerRole::Primary),
                ("server3", PeerRole::Backup),
            ],
        ),
    };
    MachineConfig {
        this_server: me.into(),
        mode,
        role,
        auto_failover: true,
        sync_leases: true,
        send_lease_updates: true,
        comm_recovery: mode == HaMode::LoadBalancing,
        peers: peers.into_iter().map(|(n, r)| (n.to_owned(), r)).collect(),
        pauses: Vec::new(),
    }
}

fn obs(partner: Option<HaState>) -> Observation {
    Observation {
        partner,
        ..Observation::START
    }
}

fn down() -> Observation {
    Observation {
        partner: None,
        interrupted: true,
        failure_detected: true,
        ..Observation::START
    }
}

/// A machine sitting in `state` (entry actions already done), service as the state wants.
fn machine_in(config: MachineConfig, state: HaState) -> Machine {
    let (mut machine, _) = Machine::start(config, Observation::START);
    machine.state = state;
    machine.prev_state = HaState::Waiting;
    machine.on_entry = false;
    machine.service_enabled = state.serves_dhcp();
    machine.scopes = Vec::new();
    machine
}

fn logs(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(line) => Some(line.to_string()),
            _ => None,
        })
        .collect()
}

/// The first state this run transitioned to, read off the `HA_STATE_TRANSITION` line.
fn first_hop(actions: &[Action]) -> Option<HaState> {
    logs(actions).iter().find_map(|line| {
        let rest = line.strip_prefix("HA_STATE_TRANSITION server transitions from ")?;
        let (_, to) = rest.split_once(" to ")?;
        let (to, _) = to.split_once(" state")?;
        HaState::from_name(&to.to_ascii_lowercase())
    })
}

fn hop(mode: HaMode, role: PeerRole, from: HaState, observation: Observation) -> Option<HaState> {
    let mut machine = machine_in(config(mode, role), from);
    let observation = Observation {
        service_enabled: from.serves_dhcp(),
        ..observation
    };
    first_hop(&machine.handle(Event::Heartbeat(observation)))
}

const PARTNERS: [Option<HaState>; 13] = [
    None,
    Some(HaState::Waiting),
    Some(HaState::Syncing),
    Some(HaState::Ready),
    Some(HaState::HotStandby),
    Some(HaState::LoadBalancing),
    Some(HaState::CommunicationRecovery),
    Some(HaState::PartnerDown),
    Some(HaState::PartnerInMaintenance),
    Some(HaState::InMaintenance),
    Some(HaState::PassiveBackup),
    Some(HaState::Backup),
    Some(HaState::Terminated),
];

#[test]
fn names_round_trip_and_service_per_state() {
    for state in HaState::ALL {
        assert_eq!(HaState::from_name(state.name()), Some(state));
    }
    assert_eq!(HaState::from_name("WAITING"), None);
    let serving: Vec<_> = HaState::ALL
        .into_iter()
        .filter(|s| s.serves_dhcp())
        .collect();
    assert_eq!(
        serving,
        [
            HaState::HotStandby,
            HaState::LoadBalancing,
            HaState::CommunicationRecovery,
            HaState::PartnerDown,
            HaState::PartnerInMaintenance,
            HaState::PassiveBackup,
            HaState::Terminated
        ]
    );
}

#[test]
fn seed_primary_waiting_to_partner_down_to_hot_standby() {
    let (mut m, start) = Machine::start(
        config(HaMode::HotStandby, PeerRole::Primary),
        Observation::START,
    );
    assert_eq!(
        logs(&start),
        [
            "HA_LOCAL_DHCP_DISABLE local DHCP service is disabled while the kea_1 is in the WAITING state"
        ]
    );
    assert!(start.contains(&Action::DisableDhcp));
    assert_eq!(m.state(), HaState::Waiting);

    // First heartbeat fails but max-response-delay has not passed: stay.
    let a = m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(None)
    }));
    assert!(a.is_empty(), "{a:?}");

    // Interrupted: a hot-standby primary goes partner-down without traffic analysis.
    let a = m.handle(Event::Heartbeat(Observation {
        interrupted: true,
        failure_detected: false,
        service_enabled: false,
        ..obs(None)
    }));
    assert_eq!(
        logs(&a),
        [
            "HA_STATE_TRANSITION server transitions from WAITING to PARTNER-DOWN state, partner state is UNDEFINED",
            "HA_LEASE_UPDATES_DISABLED lease updates will not be sent to the partner while in PARTNER-DOWN state",
            "HA_LOCAL_DHCP_ENABLE local DHCP service is enabled while the kea_1 is in the PARTNER-DOWN state",
        ]
    );
    assert!(a.contains(&Action::EnableDhcp));
    assert!(a.contains(&Action::Scopes(vec!["kea_1".into()])));
    assert_eq!(m.update_policy(PeerRole::Standby), UpdatePolicy::Skip);

    // The standby syncs (partner seen in waiting, syncing: stay), then shows ready.
    for partner in [HaState::Waiting, HaState::Syncing] {
        assert!(first_hop(&m.handle(Event::Heartbeat(obs(Some(partner))))).is_none());
    }
    let a = m.handle(Event::Heartbeat(obs(Some(HaState::Ready))));
    assert_eq!(
        logs(&a),
        [
            "HA_STATE_TRANSITION server transitions from PARTNER-DOWN to HOT-STANDBY state, partner state is READY",
            "HA_LEASE_UPDATES_ENABLED lease updates will be sent to the partner while in HOT-STANDBY state",
        ]
    );
    assert_eq!(m.state(), HaState::HotStandby);
    assert_eq!(m.scopes(), ["kea_1"]);
    assert_eq!(m.update_policy(PeerRole::Standby), UpdatePolicy::Send);
}

#[test]
fn seed_standby_waiting_syncing_ready_hot_standby() {
    let (mut m, start) = Machine::start(
        config(HaMode::HotStandby, PeerRole::Standby),
        Observation::START,
    );
    assert_eq!(
        logs(&start),
        [
            "HA_LOCAL_DHCP_DISABLE local DHCP service is disabled while the kea_2 is in the WAITING state"
        ]
    );
    let a = m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::PartnerDown))
    }));
    assert_eq!(
        logs(&a),
        [
            "HA_STATE_TRANSITION server transitions from WAITING to SYNCING state, partner state is PARTNER-DOWN",
            "HA_LEASE_UPDATES_DISABLED lease updates will not be sent to the partner while in SYNCING state",
        ]
    );
    assert_eq!(a.last(), Some(&Action::StartSync));
    assert!(!m.heartbeat_enabled(), "heartbeats stop while syncing");
    // A run while the sync is in flight does not start another.
    assert!(
        !m.handle(Event::Run(Observation {
            service_enabled: false,
            ..obs(Some(HaState::PartnerDown))
        }))
        .contains(&Action::StartSync)
    );

    let a = m.handle(Event::SyncFinished { ok: true });
    assert_eq!(
        logs(&a),
        [
            "HA_STATE_TRANSITION server transitions from SYNCING to READY state, partner state is PARTNER-DOWN",
            "HA_LEASE_UPDATES_DISABLED lease updates will not be sent to the partner while in READY state",
        ]
    );
    assert!(m.heartbeat_enabled());
    assert_eq!(m.state(), HaState::Ready);

    // The primary still in partner-down: stay ready; then the primary shows hot-standby.
    assert!(
        m.handle(Event::Heartbeat(Observation {
            service_enabled: false,
            ..obs(Some(HaState::PartnerDown))
        }))
        .is_empty()
    );
    let a = m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::HotStandby))
    }));
    assert_eq!(
        logs(&a),
        [
            "HA_STATE_TRANSITION server transitions from READY to HOT-STANDBY state, partner state is HOT-STANDBY",
            "HA_LEASE_UPDATES_ENABLED lease updates will be sent to the partner while in HOT-STANDBY state",
            "HA_LOCAL_DHCP_ENABLE local DHCP service is enabled while the kea_2 is in the HOT-STANDBY state",
        ]
    );
    assert!(
        m.scopes().is_empty(),
        "the standby serves no scope in hot-standby"
    );
}

#[test]
fn waiting_row_of_the_table() {
    for (mode, role) in [
        (HaMode::HotStandby, PeerRole::Primary),
        (HaMode::HotStandby, PeerRole::Standby),
        (HaMode::LoadBalancing, PeerRole::Primary),
        (HaMode::LoadBalancing, PeerRole::Secondary),
    ] {
        for partner in PARTNERS {
            let got = hop(mode, role, HaState::Waiting, obs(partner));
            let invalid = matches!(
                (partner, mode),
                (Some(HaState::HotStandby), HaMode::LoadBalancing)
                    | (
                        Some(HaState::LoadBalancing | HaState::CommunicationRecovery),
                        HaMode::HotStandby
                    )
            );
            let want = match partner {
                _ if invalid => None,
                Some(
                    HaState::CommunicationRecovery
                    | HaState::HotStandby
                    | HaState::LoadBalancing
                    | HaState::InMaintenance
                    | HaState::PartnerDown
                    | HaState::PartnerInMaintenance
                    | HaState::Ready,
                ) => Some(HaState::Syncing),
                Some(HaState::Waiting) if role == PeerRole::Primary => Some(HaState::Syncing),
                _ => None,
            };
            assert_eq!(got, want, "{mode:?} {role:?} partner {partner:?}");
        }
        // Unavailable and interrupted: service is off in waiting, so no traffic analysis.
        let no_failure = Observation {
            failure_detected: false,
            ..down()
        };
        assert_eq!(
            hop(mode, role, HaState::Waiting, no_failure),
            Some(HaState::PartnerDown)
        );
        // Clock skew beyond 60 s.
        assert_eq!(
            hop(
                mode,
                role,
                HaState::Waiting,
                Observation {
                    should_terminate: true,
                    ..obs(Some(HaState::Ready))
                }
            ),
            Some(HaState::Terminated)
        );
    }
    // sync-leases false: waiting -> ready, with the reminder.
    let mut cfg = config(HaMode::HotStandby, PeerRole::Standby);
    cfg.sync_leases = false;
    let mut m = machine_in(cfg, HaState::Waiting);
    let a = m.handle(Event::Heartbeat(obs(Some(HaState::PartnerDown))));
    assert_eq!(first_hop(&a), Some(HaState::Ready));
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_CONFIG_LEASE_SYNCING_DISABLED_REMINDER"))
    );
    // Partner terminated: stay with Kea's hint.
    let mut m = machine_in(
        config(HaMode::HotStandby, PeerRole::Primary),
        HaState::Waiting,
    );
    let a = m.handle(Event::Heartbeat(obs(Some(HaState::Terminated))));
    assert_eq!(
        logs(&a),
        [
            "HA_TERMINATED_RESTART_PARTNER waiting for the partner in the TERMINATED state to be restarted"
        ]
    );
}

#[test]
fn backup_and_passive_backup_leave_waiting_at_start_and_never_move() {
    let (m, a) = Machine::start(
        config(HaMode::LoadBalancing, PeerRole::Backup),
        Observation::START,
    );
    assert_eq!(m.state(), HaState::Backup);
    assert_eq!(first_hop(&a), Some(HaState::Backup));
    assert!(!m.heartbeat_enabled());
    assert!(
        !logs(&a).iter().any(|l| l.contains("LEASE_UPDATES")),
        "backups log no update policy"
    );

    let (mut m, a) = Machine::start(
        config(HaMode::PassiveBackup, PeerRole::Primary),
        Observation::START,
    );
    assert_eq!(m.state(), HaState::PassiveBackup);
    assert_eq!(
        logs(&a),
        [
            "HA_LOCAL_DHCP_DISABLE local DHCP service is disabled while the server1 is in the WAITING state",
            "HA_STATE_TRANSITION_PASSIVE_BACKUP server transitions from WAITING to PASSIVE-BACKUP state",
            "HA_LOCAL_DHCP_ENABLE local DHCP service is enabled while the server1 is in the PASSIVE-BACKUP state",
        ]
    );
    assert_eq!(m.scopes(), ["server1"]);
    assert!(!m.heartbeat_enabled());
    assert_eq!(m.update_policy(PeerRole::Backup), UpdatePolicy::Send);
    for partner in PARTNERS {
        assert!(m.handle(Event::Heartbeat(obs(partner))).is_empty());
        assert!(m.handle(Event::Run(down())).is_empty());
    }
    let mut t = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::Terminated,
    );
    for partner in PARTNERS {
        assert!(t.handle(Event::Heartbeat(obs(partner))).is_empty());
    }
    assert!(!t.heartbeat_enabled());
}

#[test]
fn syncing_row() {
    let (mode, role) = (HaMode::LoadBalancing, PeerRole::Secondary);
    for partner in PARTNERS {
        let mut m = machine_in(config(mode, role), HaState::Syncing);
        let a = m.handle(Event::Heartbeat(Observation {
            service_enabled: false,
            ..obs(partner)
        }));
        match partner {
            Some(HaState::Terminated) => assert_eq!(first_hop(&a), Some(HaState::Terminated)),
            Some(HaState::HotStandby) => assert_eq!(first_hop(&a), Some(HaState::Waiting)),
            None => assert!(a.is_empty()),
            Some(_) => assert_eq!(a, [Action::StartSync], "{partner:?}"),
        }
    }
    assert_eq!(
        hop(mode, role, HaState::Syncing, down()),
        Some(HaState::PartnerDown)
    );
    // A failed sync stays in syncing and retries on the next run with the partner up.
    let mut m = machine_in(config(mode, role), HaState::Syncing);
    m.handle(Event::Heartbeat(obs(Some(HaState::LoadBalancing))));
    assert!(m.handle(Event::SyncFinished { ok: false }).is_empty());
    assert_eq!(m.state(), HaState::Syncing);
    assert_eq!(m.last_observation().partner, None);
    assert_eq!(
        m.handle(Event::Heartbeat(obs(Some(HaState::LoadBalancing)))),
        [Action::StartSync]
    );
}

#[test]
fn ready_row() {
    for (mode, role) in [
        (HaMode::HotStandby, PeerRole::Primary),
        (HaMode::HotStandby, PeerRole::Standby),
        (HaMode::LoadBalancing, PeerRole::Primary),
        (HaMode::LoadBalancing, PeerRole::Secondary),
    ] {
        let normal = if mode == HaMode::HotStandby {
            HaState::HotStandby
        } else {
            HaState::LoadBalancing
        };
        for partner in PARTNERS {
            let got = hop(mode, role, HaState::Ready, obs(partner));
            let want = match partner {
                Some(HaState::HotStandby) if mode == HaMode::HotStandby => Some(normal),
                Some(HaState::LoadBalancing | HaState::CommunicationRecovery)
                    if mode == HaMode::LoadBalancing =>
                {
                    Some(normal)
                }
                Some(
                    HaState::HotStandby | HaState::LoadBalancing | HaState::CommunicationRecovery,
                ) => Some(HaState::Waiting),
                Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
                Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
                Some(HaState::Ready) if role == PeerRole::Primary => Some(normal),
                Some(HaState::Terminated) => Some(HaState::Terminated),
                _ => None,
            };
            assert_eq!(got, want, "{mode:?} {role:?} partner {partner:?}");
        }
        assert_eq!(
            hop(mode, role, HaState::Ready, down()),
            Some(HaState::PartnerDown)
        );
    }
}

#[test]
fn normal_states_rows() {
    for (mode, role, normal) in [
        (HaMode::HotStandby, PeerRole::Primary, HaState::HotStandby),
        (HaMode::HotStandby, PeerRole::Standby, HaState::HotStandby),
        (
            HaMode::LoadBalancing,
            PeerRole::Primary,
            HaState::LoadBalancing,
        ),
        (
            HaMode::LoadBalancing,
            PeerRole::Secondary,
            HaState::LoadBalancing,
        ),
    ] {
        for partner in PARTNERS {
            let got = hop(mode, role, normal, obs(partner));
            let invalid = matches!(
                (partner, mode),
                (Some(HaState::HotStandby), HaMode::LoadBalancing)
                    | (
                        Some(HaState::LoadBalancing | HaState::CommunicationRecovery),
                        HaMode::HotStandby
                    )
            );
            let want = match partner {
                _ if invalid => Some(HaState::Waiting),
                Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
                Some(HaState::PartnerDown) => Some(HaState::Waiting),
                Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
                Some(HaState::Terminated) => Some(HaState::Terminated),
                // Unavailable but not interrupted: LB with a backlog goes communication-recovery.
                None if mode == HaMode::LoadBalancing => Some(HaState::CommunicationRecovery),
                _ => None,
            };
            assert_eq!(got, want, "{mode:?} {role:?} partner {partner:?}");
        }
        assert_eq!(hop(mode, role, normal, down()), Some(HaState::PartnerDown));
        // Interrupted, service on, no unacked clients: LB and the standby wait for the
        // analysis; the HS primary cannot analyse and goes down at once.
        let no_failure = Observation {
            failure_detected: false,
            ..down()
        };
        let want = if mode == HaMode::HotStandby && role == PeerRole::Primary {
            Some(HaState::PartnerDown)
        } else if mode == HaMode::LoadBalancing {
            Some(HaState::CommunicationRecovery)
        } else {
            None
        };
        assert_eq!(
            hop(mode, role, normal, no_failure),
            want,
            "{mode:?} {role:?}"
        );
    }
    // delayed-updates-limit 0 in LB: no communication-recovery.
    let mut cfg = config(HaMode::LoadBalancing, PeerRole::Primary);
    cfg.comm_recovery = false;
    let mut m = machine_in(cfg, HaState::LoadBalancing);
    assert!(
        m.handle(Event::Heartbeat(Observation {
            service_enabled: true,
            ..obs(None)
        }))
        .is_empty()
    );
}

#[test]
fn communication_recovery_row_and_backlog() {
    let (mode, role) = (HaMode::LoadBalancing, PeerRole::Primary);
    let cr = HaState::CommunicationRecovery;
    for partner in PARTNERS {
        let got = hop(mode, role, cr, obs(partner));
        let want = match partner {
            Some(HaState::HotStandby) => Some(HaState::Waiting),
            Some(HaState::InMaintenance) => Some(HaState::PartnerInMaintenance),
            Some(HaState::PartnerDown) => Some(HaState::Waiting),
            Some(HaState::PartnerInMaintenance) => Some(HaState::InMaintenance),
            Some(HaState::Terminated) => Some(HaState::Terminated),
            None | Some(HaState::Waiting | HaState::Syncing | HaState::Ready) => None,
            // Back in touch and normal: the backlog is sent first (no hop yet).
            Some(HaState::LoadBalancing | HaState::CommunicationRecovery) => None,
            Some(HaState::PassiveBackup | HaState::Backup) => Some(HaState::Waiting),
        };
        assert_eq!(got, want, "partner {partner:?}");
    }
    assert_eq!(hop(mode, role, cr, down()), Some(HaState::PartnerDown));
    let overflowed = |p| Observation {
        backlog_overflowed: true,
        ..obs(Some(p))
    };
    assert_eq!(
        hop(mode, role, cr, overflowed(HaState::Syncing)),
        Some(HaState::Waiting)
    );

    // Backlog sent: back to load-balancing, backlog cleared on exit.
    let mut m = machine_in(config(mode, role), cr);
    assert_eq!(
        m.handle(Event::Heartbeat(obs(Some(HaState::LoadBalancing)))),
        [Action::SendBacklog]
    );
    assert!(
        m.handle(Event::Heartbeat(obs(Some(HaState::LoadBalancing))))
            .is_empty(),
        "once"
    );
    let a = m.handle(Event::BacklogSent { ok: true });
    assert_eq!(first_hop(&a), Some(HaState::LoadBalancing));
    assert!(a.contains(&Action::ClearBacklog));

    // Backlog failed: ha-reset to the partner, then waiting.
    let mut m = machine_in(config(mode, role), cr);
    m.handle(Event::Heartbeat(obs(Some(HaState::LoadBalancing))));
    assert_eq!(
        m.handle(Event::BacklogSent { ok: false }),
        [Action::SendHaReset]
    );
    let a = m.handle(Event::HaResetSent { ok: true });
    assert_eq!(first_hop(&a), Some(HaState::Waiting));

    // Overflowed while the partner is normal: ha-reset without sending; a failed reset stays.
    let mut m = machine_in(config(mode, role), cr);
    assert_eq!(
        m.handle(Event::Heartbeat(overflowed(HaState::LoadBalancing))),
        [Action::SendHaReset]
    );
    assert!(m.handle(Event::HaResetSent { ok: false }).is_empty());
    assert_eq!(m.state(), cr);
}

#[test]
fn partner_down_row() {
    for (mode, role, normal) in [
        (HaMode::HotStandby, PeerRole::Primary, HaState::HotStandby),
        (
            HaMode::LoadBalancing,
            PeerRole::Secondary,
            HaState::LoadBalancing,
        ),
    ] {
        for partner in PARTNERS {
            let got = hop(mode, role, HaState::PartnerDown, obs(partner));
            let invalid = matches!(
                (partner, mode),
                (Some(HaState::HotStandby), HaMode::LoadBalancing)
                    | (
                        Some(HaState::LoadBalancing | HaState::CommunicationRecovery),
                        HaMode::HotStandby
                    )
            );
            let want = match partner {
                _ if invalid => Some(HaState::Waiting),
                Some(
                    HaState::CommunicationRecovery
                    | HaState::PartnerDown
                    | HaState::PartnerInMaintenance,
                ) => Some(HaState::Waiting),
                Some(HaState::Ready) => Some(normal),
                Some(HaState::Terminated) => Some(HaState::Terminated),
                _ => None,
            };
            assert_eq!(got, want, "{mode:?} partner {partner:?}");
        }
        // The partner allocated while we thought it down: resync.
        let unsent = Observation {
            partner_new_unsent_updates: true,
            ..obs(Some(HaState::Ready))
        };
        assert_eq!(
            hop(mode, role, HaState::PartnerDown, unsent),
            Some(HaState::Waiting)
        );
    }
}

#[test]
fn maintenance_states_rows() {
    let (mode, role) = (HaMode::HotStandby, PeerRole::Primary);
    for partner in PARTNERS {
        let got = hop(mode, role, HaState::PartnerInMaintenance, obs(partner));
        assert_eq!(
            got,
            partner.is_none().then_some(HaState::PartnerDown),
            "{partner:?}"
        );
        assert_eq!(hop(mode, role, HaState::InMaintenance, obs(partner)), None);
        assert_eq!(hop(mode, role, HaState::InMaintenance, down()), None);
    }
}

#[test]
fn scopes_per_state_and_auto_failover() {
    let lb = config(HaMode::LoadBalancing, PeerRole::Secondary);
    let mut m = machine_in(lb.clone(), HaState::Ready);
    m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::LoadBalancing))
    }));
    assert_eq!(m.scopes(), ["server2"]);
    m.handle(Event::Heartbeat(Observation {
        service_enabled: true,
        ..down()
    }));
    assert_eq!(m.state(), HaState::PartnerDown);
    assert_eq!(m.scopes(), ["server1", "server2"], "backups are no scope");

    let mut manual = lb;
    manual.auto_failover = false;
    let mut m = machine_in(manual, HaState::LoadBalancing);
    m.handle(Event::Heartbeat(Observation {
        service_enabled: true,
        ..down()
    }));
    assert_eq!(m.state(), HaState::PartnerDown);
    assert_eq!(m.scopes(), ["server2"]);

    let hs = config(HaMode::HotStandby, PeerRole::Standby);
    let mut m = machine_in(hs, HaState::HotStandby);
    m.handle(Event::Heartbeat(Observation {
        service_enabled: true,
        ..down()
    }));
    assert_eq!(
        m.scopes(),
        ["kea_1"],
        "the standby takes over the primary's scope"
    );
}

#[test]
fn update_policy_per_state() {
    let mut m = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::Waiting,
    );
    for state in HaState::ALL {
        m.state = state;
        let want = match state {
            HaState::HotStandby | HaState::LoadBalancing | HaState::PartnerInMaintenance => {
                UpdatePolicy::Send
            }
            HaState::CommunicationRecovery => UpdatePolicy::Queue,
            _ => UpdatePolicy::Skip,
        };
        assert_eq!(m.update_policy(PeerRole::Secondary), want, "{state}");
        assert_eq!(m.update_policy(PeerRole::Backup), UpdatePolicy::Send);
    }
    m.config.send_lease_updates = false;
    m.state = HaState::LoadBalancing;
    assert_eq!(m.update_policy(PeerRole::Backup), UpdatePolicy::Skip);
    let a = m.cmd_reset().1;
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_CONFIG_LEASE_UPDATES_DISABLED_REMINDER"))
    );
}

#[test]
fn pausing_always_and_once() {
    let mut cfg = config(HaMode::HotStandby, PeerRole::Standby);
    cfg.pauses = vec![
        (HaState::Ready, StatePause::Once),
        (HaState::Waiting, StatePause::Always),
    ];
    let (mut m, a) = Machine::start(cfg, Observation::START);
    assert!(m.is_paused());
    assert!(
        logs(&a)
            .contains(&"HA_STATE_MACHINE_PAUSED state machine paused in state WAITING".to_owned())
    );
    // Paused: heartbeats change nothing.
    assert!(
        m.handle(Event::Heartbeat(Observation {
            service_enabled: false,
            ..obs(Some(HaState::HotStandby))
        }))
        .is_empty()
    );
    let (reply, a) = m.cmd_continue();
    assert_eq!(reply, Reply::ok("HA state machine continues."));
    assert_eq!(
        logs(&a),
        ["HA_STATE_MACHINE_CONTINUED state machine is un-paused"]
    );
    assert_eq!(
        m.cmd_continue().0,
        Reply::ok("HA state machine is not paused.")
    );
    m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::HotStandby))
    }));
    m.handle(Event::SyncFinished { ok: true });
    assert_eq!(m.state(), HaState::Ready);
    assert!(m.is_paused(), "paused on first entry to ready");
    m.cmd_continue();
    m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::HotStandby))
    }));
    assert_eq!(m.state(), HaState::HotStandby);
    // Back to ready a second time: once means once.
    m.cmd_reset();
    assert!(m.is_paused(), "waiting pauses always");
    m.cmd_continue();
    m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..obs(Some(HaState::HotStandby))
    }));
    m.handle(Event::SyncFinished { ok: true });
    assert_eq!(m.state(), HaState::HotStandby, "ready did not pause again");
}

#[test]
fn ha_reset_command() {
    let mut m = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::Waiting,
    );
    assert_eq!(
        m.cmd_reset().0,
        Reply::ok("HA state machine already in WAITING state.")
    );
    let mut m = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::LoadBalancing,
    );
    m.last = obs(Some(HaState::LoadBalancing));
    let (reply, a) = m.cmd_reset();
    assert_eq!(reply, Reply::ok("HA state machine reset."));
    assert_eq!(first_hop(&a), Some(HaState::Waiting));
    assert!(a.contains(&Action::DisableDhcp));
    // The waiting handler ran at once: partner in load-balancing, so straight to syncing.
    assert_eq!(m.state(), HaState::Syncing);
    assert_eq!(a.last(), Some(&Action::StartSync));
}

#[test]
fn maintenance_notify_and_cancel_on_the_partner_side() {
    let mut m = machine_in(
        config(HaMode::HotStandby, PeerRole::Standby),
        HaState::HotStandby,
    );
    m.last = obs(Some(HaState::HotStandby));
    assert_eq!(
        m.cmd_maintenance_notify(true).0,
        Reply::error(
            "Unable to cancel the maintenance for the server not in the in-maintenance state."
        )
    );
    let (reply, a) = m.cmd_maintenance_notify(false);
    assert_eq!(reply, Reply::ok("Server is in-maintenance state."));
    assert_eq!(m.state(), HaState::InMaintenance);
    assert!(a.contains(&Action::DisableDhcp));
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_MAINTENANCE_SHUTDOWN_SAFE"))
    );
    // Notify again keeps the state to return to.
    m.cmd_maintenance_notify(false);
    let (reply, a) = m.cmd_maintenance_notify(true);
    assert_eq!(reply, Reply::ok("Server maintenance canceled."));
    assert_eq!(m.state(), HaState::HotStandby);
    assert!(a.contains(&Action::EnableDhcp));

    for refused in [
        HaState::Backup,
        HaState::PartnerInMaintenance,
        HaState::Terminated,
    ] {
        let mut m = machine_in(config(HaMode::HotStandby, PeerRole::Standby), refused);
        let (reply, a) = m.cmd_maintenance_notify(false);
        assert_eq!(reply.result, RESULT_MAINTENANCE_NOT_ALLOWED);
        assert_eq!(
            reply.text,
            format!("Unable to transition the server from the {refused} to in-maintenance state.")
        );
        assert!(a.is_empty());
    }
}

#[test]
fn maintenance_start_and_cancel_on_the_requesting_side() {
    for refused in [
        HaState::Backup,
        HaState::InMaintenance,
        HaState::PartnerInMaintenance,
        HaState::Terminated,
    ] {
        let m = machine_in(config(HaMode::LoadBalancing, PeerRole::Primary), refused);
        assert_eq!(
            m.maintenance_start_check(),
            Err(Reply::error(format!(
                "Unable to transition the server from the {refused} to partner-in-maintenance state."
            )))
        );
    }
    let mut cfg = config(HaMode::LoadBalancing, PeerRole::Primary);
    cfg.auto_failover = false;
    let mut m = machine_in(cfg.clone(), HaState::LoadBalancing);
    m.last = obs(Some(HaState::LoadBalancing));
    assert_eq!(m.maintenance_cancel_check().map_err(|r| r.text), Err("Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.".to_owned()));
    let (reply, a) = m.cmd_maintenance_start(MaintenanceNotifyOutcome::Accepted);
    assert_eq!(reply.result, 0);
    assert_eq!(m.state(), HaState::PartnerInMaintenance);
    assert_eq!(m.scopes(), ["server1", "server2"]);
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_MAINTENANCE_STARTED "))
    );
    let (reply, _) = m.cmd_maintenance_cancel(Some("boom"));
    assert_eq!(reply.result, 1);
    assert_eq!(m.state(), HaState::PartnerInMaintenance);
    let (reply, a) = m.cmd_maintenance_cancel(None);
    assert_eq!(
        reply,
        Reply::ok("Server maintenance successfully canceled.")
    );
    assert_eq!(m.state(), HaState::LoadBalancing);
    assert_eq!(m.scopes(), ["server1"]);
    assert_eq!(first_hop(&a), Some(HaState::LoadBalancing));

    // Partner refuses with 1001.
    let (reply, a) = m.cmd_maintenance_start(MaintenanceNotifyOutcome::Refused(
        "Unable to transition the server from the terminated to in-maintenance state.".into(),
    ));
    assert_eq!(
        reply.text,
        "Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: Unable to transition the server from the terminated to in-maintenance state.."
    );
    assert!(a.is_empty());

    // Partner unreachable: partner-down serving every scope despite auto-failover false.
    let (reply, a) = m.cmd_maintenance_start(MaintenanceNotifyOutcome::Unreachable);
    assert_eq!(
        reply.text,
        "Server is now in the partner-down state as its partner appears to be offline for maintenance."
    );
    assert_eq!(m.state(), HaState::PartnerDown);
    assert_eq!(m.scopes(), ["server1", "server2"]);
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_MAINTENANCE_STARTED_IN_PARTNER_DOWN"))
    );
}

#[test]
fn sync_complete_notify() {
    let mut m = machine_in(
        config(HaMode::HotStandby, PeerRole::Primary),
        HaState::HotStandby,
    );
    m.service_enabled = false; // the partner's dhcp-disable
    let (reply, a) = m.cmd_sync_complete_notify();
    assert_eq!(
        reply,
        Reply::ok("Server successfully notified about the synchronization completion.")
    );
    assert_eq!(a, [Action::EnableDhcp]);
    let mut w = machine_in(
        config(HaMode::HotStandby, PeerRole::Primary),
        HaState::Waiting,
    );
    assert!(
        w.cmd_sync_complete_notify().1.is_empty(),
        "waiting keeps its service off"
    );

    // Partner-down: nothing now; a failed heartbeat afterwards re-enables the service.
    let mut m = machine_in(
        config(HaMode::HotStandby, PeerRole::Primary),
        HaState::PartnerDown,
    );
    assert!(m.cmd_sync_complete_notify().1.is_empty());
    let a = m.handle(Event::Heartbeat(Observation {
        service_enabled: false,
        ..down()
    }));
    assert!(a.contains(&Action::EnableDhcp), "{a:?}");
    // Only once.
    assert!(
        !m.handle(Event::Heartbeat(Observation {
            service_enabled: false,
            ..down()
        }))
        .contains(&Action::EnableDhcp)
    );
}

#[test]
fn ha_scopes_command() {
    let mut m = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::LoadBalancing,
    );
    let (reply, a) = m.cmd_scopes(&["server1".into(), "server2".into()]);
    assert_eq!(reply, Reply::ok("New HA scopes configured."));
    assert_eq!(
        a,
        [Action::Scopes(vec!["server1".into(), "server2".into()])]
    );
    let (reply, _) = m.cmd_scopes(&["server3".into()]);
    assert_eq!(
        reply.text,
        "invalid server name specified 'server3' while enabling/disabling HA scopes"
    );
    assert_eq!(m.scopes(), ["server1", "server2"]);
    assert_eq!(m.cmd_scopes(&[]).1, [Action::Scopes(Vec::new())]);
}

#[test]
fn clock_skew_terminates_every_active_state() {
    for state in [
        HaState::Waiting,
        HaState::Syncing,
        HaState::Ready,
        HaState::LoadBalancing,
        HaState::CommunicationRecovery,
        HaState::PartnerDown,
        HaState::PartnerInMaintenance,
    ] {
        let skewed = Observation {
            should_terminate: true,
            ..obs(Some(HaState::LoadBalancing))
        };
        assert_eq!(
            hop(HaMode::LoadBalancing, PeerRole::Primary, state, skewed),
            Some(HaState::Terminated),
            "{state}"
        );
    }
    let mut m = machine_in(
        config(HaMode::LoadBalancing, PeerRole::Primary),
        HaState::LoadBalancing,
    );
    let a = m.handle(Event::Heartbeat(Observation {
        should_terminate: true,
        service_enabled: true,
        ..obs(Some(HaState::LoadBalancing))
    }));
    assert!(
        logs(&a)
            .iter()
            .any(|l| l.starts_with("HA_TERMINATED HA service terminated"))
    );
    assert_eq!(m.scopes(), ["server1"]);
    assert!(
        !a.contains(&Action::DisableDhcp),
        "terminated keeps serving"
    );
}

#[test]
fn machine_config_from_validated_ha_config() {
    let json = r#"{ "high-availability": [ {
        "this-server-name": "server2", "mode": "load-balancing",
        "state-machine": { "states": [ { "state": "ready", "pause": "once" } ] },
        "peers": [
          { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" },
          { "name": "server2", "url": "http://192.0.2.2:8000/", "role": "secondary", "auto-failover": false }
        ] } ] }"#;
    let node = nestor_config::json::parser::parse_str(json, "test")
        .unwrap()
        .root;
    let ha = nestor_config::hooks::ha::parse_ha_config(&node, "parameters").unwrap();
    let cfg = MachineConfig::from_ha(&ha).unwrap();
    assert_eq!(cfg.role, PeerRole::Secondary);
    assert!(!cfg.auto_failover);
    assert!(cfg.comm_recovery, "LB default delayed-updates-limit is 100");
    assert_eq!(cfg.pauses, [(HaState::Ready, StatePause::Once)]);
    assert_eq!(
        cfg.scope_names().collect::<Vec<_>>(),
        ["server1", "server2"]
    );
}
