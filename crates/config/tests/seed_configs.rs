//! The seed document's two server configs and Debian's example configs load and validate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;

use nestor_config::common::{BuiltinHook, LogOutput, Severity};
use nestor_config::dhcp4::{DbType, OutboundInterface, ReservationFlags, SocketType};
use nestor_config::hooks::ha::{HaMode, PeerRole};
use nestor_config::{Section, WarningKind, detect_sections, load_agent_file, load_dhcp4_file};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn check_seed(file: &str, this_server: &str) {
    let loaded = load_dhcp4_file(&data(file)).unwrap_or_else(|e| panic!("{file}:\n{e}"));
    let w = &loaded.warnings;
    assert_eq!(w.len(), 2, "{w:#?}");
    assert_eq!(
        w.iter()
            .filter(|w| matches!(w.kind, WarningKind::DeprecatedLogging { section: "Dhcp4" }))
            .count(),
        1
    );
    assert_eq!(
        w.iter()
            .filter(|w| matches!(
                w.kind,
                WarningKind::Deprecated {
                    key: "reservation-mode",
                    ..
                }
            ))
            .count(),
        1
    );
    let c = loaded.config;
    assert_eq!(c.interfaces.socket_type, SocketType::Raw);
    assert_eq!(
        c.interfaces.outbound_interface,
        OutboundInterface::UseRouting
    );
    assert_eq!(
        c.control_socket.as_ref().unwrap().socket_name,
        "/tmp/kea-dhcp4-ctrl.sock"
    );
    assert_eq!(c.lease_database.db_type, DbType::Memfile);
    assert_eq!(c.lease_database.lfc_interval, 1800);
    assert_eq!(
        c.lease_database.name.as_deref(),
        Some("/usr/local/etc/kea/kea-leases4.csv")
    );
    assert_eq!(c.global_params.valid_lifetime.default, 3600);
    assert_eq!(
        (c.global_params.renew_timer, c.global_params.rebind_timer),
        (Some(1200), Some(2400))
    );
    assert_eq!(
        c.global_params.reservations,
        ReservationFlags {
            global: false,
            in_subnet: false,
            out_of_pool: false
        }
    );
    assert_eq!(c.options.len(), 2);
    assert_eq!(c.options[1].payload, vec![0xf0]);
    assert_eq!(
        c.hooks.iter().map(|h| h.hook).collect::<Vec<_>>(),
        vec![BuiltinHook::LeaseCmds, BuiltinHook::Ha]
    );
    let ha = c.ha.as_ref().expect("HA parameters");
    assert_eq!(ha.this_server_name, this_server);
    assert_eq!(ha.mode, HaMode::HotStandby);
    assert_eq!(
        (
            ha.heartbeat_delay,
            ha.max_response_delay,
            ha.max_ack_delay,
            ha.max_unacked_clients
        ),
        (10_000, 10_000, 5000, 5)
    );
    assert_eq!(
        ha.peers.iter().map(|p| p.role).collect::<Vec<_>>(),
        vec![PeerRole::Primary, PeerRole::Standby]
    );
    let s = &c.subnets[0];
    assert_eq!(
        (s.id, s.prefix.to_string()),
        (1, "172.18.0.0/16".to_string())
    );
    assert_eq!(s.pools[0].size(), 250);
    assert_eq!(s.options[0].payload, vec![172, 18, 0, 1]);
    assert_eq!(s.params.valid_lifetime.default, 3600);
    // The legacy Logging section became Dhcp4.loggers.
    let l = &c.loggers[0];
    assert_eq!(
        (l.name.as_str(), l.severity, l.debuglevel),
        ("kea-dhcp4", Severity::Debug, 99)
    );
    assert_eq!(
        l.output_options[0].output,
        LogOutput::File("/usr/local/var/log/kea-dhcp4.log".into())
    );
    assert_eq!(
        (l.output_options[0].maxver, l.output_options[0].maxsize),
        (8, 204_800)
    );
    // config-get rendering keeps the loggers under Dhcp4.
    let j = c.to_kea_json();
    assert_eq!(j["Dhcp4"]["loggers"][0]["severity"], "DEBUG");
    assert_eq!(
        j["Dhcp4"]["subnet4"][0]["pools"][0]["pool"],
        "172.18.1.1-172.18.1.250"
    );
}

#[test]
fn seed_kea_1() {
    check_seed("seed-kea_1.json", "kea_1");
}

#[test]
fn seed_kea_2() {
    check_seed("seed-kea_2.json", "kea_2");
}

#[test]
fn debian_dhcp4_example() {
    let path = data("debian-kea-dhcp4.conf");
    assert_eq!(detect_sections(&path).unwrap(), vec![Section::Dhcp4]);
    let loaded = load_dhcp4_file(&path).unwrap_or_else(|e| panic!("{e}"));
    // Kea 2.2 warns about the same extraneous comma (line 436).
    assert_eq!(loaded.warnings.len(), 1, "{:#?}", loaded.warnings);
    assert_eq!(loaded.warnings[0].kind, WarningKind::ExtraneousComma);
    assert_eq!(loaded.warnings[0].location.as_ref().unwrap().line, 436);
    let c = loaded.config;
    assert_eq!(c.subnets.len(), 1);
    assert_eq!(c.subnets[0].id, 1);
    assert!(!c.subnets[0].reservations.is_empty());
    assert_eq!(c.lease_database.db_type, DbType::Memfile);
}

#[test]
fn debian_ctrl_agent_example() {
    let path = data("debian-kea-ctrl-agent.conf");
    assert_eq!(detect_sections(&path).unwrap(), vec![Section::ControlAgent]);
    let loaded = load_agent_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let c = loaded.config;
    assert_eq!(c.http_port, 8000);
    assert_eq!(c.http_host.to_string(), "127.0.0.1");
    assert!(c.socket("dhcp4").is_some());
    // The Debian example is an agent file, not a server file: loading it as Dhcp4 fails like Kea.
    let e = load_dhcp4_file(&path).unwrap_err();
    assert!(e.to_string().contains("expecting Dhcp4"), "{e}");
}
