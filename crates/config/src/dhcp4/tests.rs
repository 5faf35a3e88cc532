//! Validation rules of the `Dhcp4` section, each checked with its key path.

use std::net::Ipv4Addr;

use crate::error::{ConfigError, ErrorKind, WarningKind};
use crate::{LoadOptions, Loaded, parse_dhcp4_str_with};

/// Unit tests use made-up interface names: no check against this machine.
fn parse_dhcp4_str(text: &str, origin: &str) -> Result<Loaded<Dhcp4Config>, crate::ConfigErrors> {
    parse_dhcp4_str_with(text, origin, &LoadOptions::offline())
}

use super::*;

fn load(body: &str) -> Loaded<Dhcp4Config> {
    match parse_dhcp4_str(&format!("{{\"Dhcp4\": {{{body}}}}}"), "t.json") {
        Ok(l) => l,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errors(body: &str) -> Vec<ConfigError> {
    match parse_dhcp4_str(&format!("{{\"Dhcp4\": {{{body}}}}}"), "t.json") {
        Ok(_) => panic!("expected errors for {body}"),
        Err(e) => e.errors,
    }
}

/// The single error of a config, checked to carry a position.
fn error(body: &str) -> ConfigError {
    let mut e = errors(body);
    assert_eq!(e.len(), 1, "{e:#?}");
    let e = e.remove(0);
    assert!(e.location.is_some(), "{e}");
    e
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn minimal_dhcp4_gets_kea_defaults() {
    let c = load(r#""subnet4": []"#).config;
    let g = &c.global_params;
    assert_eq!(
        g.valid_lifetime,
        Lifetime {
            min: 7200,
            default: 7200,
            max: 7200
        }
    );
    assert_eq!((g.renew_timer, g.rebind_timer), (None, None));
    assert!(!g.calculate_tee_times);
    assert_eq!((g.t1_percent, g.t2_percent), (0.5, 0.875));
    assert!(g.match_client_id && !g.authoritative);
    assert_eq!(g.next_server, Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        g.reservations,
        ReservationFlags {
            global: false,
            in_subnet: true,
            out_of_pool: false
        }
    );
    assert_eq!(g.ddns.replace_client_name, ReplaceClientName::Never);
    assert_eq!(g.ddns.generated_prefix, "myhost");
    assert_eq!(g.hostname_char_set, "[^A-Za-z0-9.-]");
    assert_eq!(c.decline_probation_period, 86_400);
    assert!(c.echo_client_id);
    assert_eq!(c.parked_packet_limit, 256);
    assert_eq!(c.host_reservation_identifiers, DEFAULT_IDENTIFIERS.to_vec());
    assert_eq!(c.interfaces.socket_type, SocketType::Raw);
    assert!(c.interfaces.re_detect);
    assert_eq!(c.lease_database.db_type, DbType::Memfile);
    assert!(c.lease_database.persist);
    assert_eq!(c.lease_database.lfc_interval, 3600);
    assert_eq!(c.expired_leases, ExpiredLeasesProcessing::default());
    assert_eq!(c.expired_leases.max_reclaim_time, 250);
    assert_eq!(
        c.multi_threading,
        MultiThreading {
            enable: false,
            thread_pool_size: 0,
            packet_queue_size: 64
        }
    );
    assert_eq!(c.queue_control.queue_type, "kea-ring4");
    assert_eq!(c.lease_checks, LeaseChecks::Warn);
    assert_eq!(c.dhcp_ddns.server_port, 53001);
    assert!(c.subnets.is_empty() && c.hooks.is_empty() && c.ha.is_none());
}

#[test]
fn unknown_keys_are_errors_at_every_level_and_all_are_reported() {
    let e = errors(
        r#""unknown-foo": 1,
        "interfaces-config": {"bogus": 1},
        "subnet4": [{"subnet": "10.0.0.0/24", "bogus": 2,
                     "pools": [{"pool": "10.0.0.1-10.0.0.2", "bad": 3}],
                     "reservations": [{"hw-address": "aa:bb:cc:dd:ee:ff", "zzz": 1}]}]"#,
    );
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    for p in [
        "Dhcp4.unknown-foo",
        "Dhcp4.interfaces-config.bogus",
        "Dhcp4.subnet4[0].bogus",
        "Dhcp4.subnet4[0].pools[0].bad",
        "Dhcp4.subnet4[0].reservations[0].zzz",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    let first = e.iter().find(|e| e.path == "Dhcp4.unknown-foo").unwrap();
    assert_eq!(
        first.kind.to_string(),
        "got unexpected keyword \"unknown-foo\" in Dhcp4 map."
    );
    assert!(
        first
            .to_string()
            .starts_with("t.json:1:12: Dhcp4.unknown-foo: got unexpected keyword")
    );
    let sub = e
        .iter()
        .find(|e| e.path == "Dhcp4.subnet4[0].bogus")
        .unwrap();
    assert!(sub.kind.to_string().ends_with("in subnet4 map."));
}

#[test]
fn user_context_and_comment_are_accepted() {
    let c = load(
        r#""comment": "x", "user-context": {"a": 1},
        "subnet4": [{"subnet": "10.0.0.0/24", "comment": "s",
                     "pools": [{"pool": "10.0.0.1-10.0.0.2", "user-context": {"p": true}}]}]"#,
    )
    .config;
    assert_eq!(
        c.user_context,
        Some(serde_json::json!({"a": 1, "comment": "x"}))
    );
    assert_eq!(
        c.subnets[0].user_context,
        Some(serde_json::json!({"comment": "s"}))
    );
    assert_eq!(
        c.subnets[0].pools[0].user_context,
        Some(serde_json::json!({"p": true}))
    );
    let e = error(r#""user-context": "x""#);
    assert_eq!(e.path, "Dhcp4.user-context");
    assert!(matches!(
        e.kind,
        ErrorKind::WrongType {
            expected: "map",
            ..
        }
    ));
}

#[test]
fn wrong_types_name_the_key() {
    let e = error(r#""valid-lifetime": "3600""#);
    assert_eq!(e.path, "Dhcp4.valid-lifetime");
    assert_eq!(
        e.kind,
        ErrorKind::WrongType {
            expected: "integer",
            found: "string"
        }
    );
    // Kea's grammar wants a floating point literal for percentages.
    let e = error(r#""t2-percent": 0"#);
    assert_eq!(
        e.kind,
        ErrorKind::WrongType {
            expected: "floating point",
            found: "integer"
        }
    );
    let e = error(r#""valid-lifetime": -5"#);
    assert!(matches!(e.kind, ErrorKind::OutOfRange { value: -5, .. }));
}

#[test]
fn subnets_auto_numbering_like_kea() {
    let c = load(
        r#""subnet4": [{"subnet": "10.0.0.0/24"}, {"id": 7, "subnet": "10.0.1.0/24"}, {"subnet": "10.0.2.0/24"}],
           "shared-networks": [{"name": "n", "subnet4": [{"subnet": "10.1.0.0/24"}]}]"#,
    )
    .config;
    // Shared networks first (Kea walks the Dhcp4 map in key order), then subnet4.
    let ids: Vec<(u32, String)> = c
        .subnets
        .iter()
        .map(|s| (s.id, s.prefix.to_string()))
        .collect();
    assert_eq!(
        ids,
        vec![
            (1, "10.1.0.0/24".into()),
            (2, "10.0.0.0/24".into()),
            (7, "10.0.1.0/24".into()),
            (3, "10.0.2.0/24".into())
        ]
    );
    assert_eq!(c.shared_networks[0].subnet_ids, vec![1]);
    assert_eq!(c.subnets[0].shared_network, Some(0));
    assert_eq!(c.subnet(7).unwrap().prefix.to_string(), "10.0.1.0/24");
}

#[test]
fn subnet_id_rules() {
    let e = error(r#""subnet4": [{"subnet": "10.0.0.0/8"}, {"id": 1, "subnet": "11.0.0.0/8"}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[1]");
    assert_eq!(
        e.kind.to_string(),
        "ID of the new IPv4 subnet '1' is already in use"
    );
    let e = error(r#""subnet4": [{"id": 4294967295, "subnet": "10.0.0.0/8"}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[0].id");
    assert_eq!(
        e.kind.to_string(),
        "the 'id' value (4294967295) is not within expected range: (0 - 4294967294)"
    );
    let c = load(r#""subnet4": [{"id": 0, "subnet": "10.0.0.0/8"}, {"id": 4294967294, "subnet": "11.0.0.0/8"}]"#).config;
    assert_eq!(c.subnets[0].id, 1);
    assert_eq!(c.subnets[1].id, SUBNET_ID_MAX);
}

#[test]
fn subnet_prefix_rules() {
    // Non-canonical accepted and kept as written; overlapping subnets accepted (as Kea).
    let c = load(r#""subnet4": [{"subnet": "10.0.0.5/8"}, {"subnet": "10.1.0.0/16"}]"#).config;
    assert_eq!(c.subnets[0].prefix.to_string(), "10.0.0.5/8");
    assert!(c.subnets[0].prefix.contains(a("10.200.0.1")));
    let e = error(r#""subnet4": [{"subnet": "10.0.0.0/8"}, {"subnet": "10.0.0.0/8"}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[1]");
    assert_eq!(
        e.kind.to_string(),
        "subnet with the prefix of '10.0.0.0/8' already exists"
    );
    let e = error(r#""subnet4": [{"subnet": "10.0.0.0/33"}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[0].subnet");
    assert!(e.kind.to_string().contains("Invalid prefix length"));
    let e = error(r#""subnet4": [{"subnet": "10.0.0.0"}]"#);
    assert!(e.kind.to_string().contains("prefix/len expected"));
    let e = error(r#""subnet4": [{"id": 3}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[0].subnet");
    assert_eq!(
        e.kind,
        ErrorKind::MissingParameter {
            key: "subnet".into()
        }
    );
}

#[test]
fn pool_rules() {
    let c = load(
        r#""subnet4": [{"subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10 - 10.0.0.20"}, {"pool": "10.0.0.128/25"}]}]"#,
    )
    .config;
    let p = &c.subnets[0].pools;
    assert_eq!(
        (p[0].first, p[0].last, p[0].size()),
        (a("10.0.0.10"), a("10.0.0.20"), 11)
    );
    assert_eq!((p[1].first, p[1].last), (a("10.0.0.128"), a("10.0.0.255")));
    assert!(p[1].contains(a("10.0.0.255")) && !p[1].contains(a("10.0.0.127")));

    let base =
        |pools: &str| format!(r#""subnet4": [{{"subnet": "10.0.0.0/24", "pools": [{pools}]}}]"#);
    let e = error(&base(r#"{"pool": "10.0.1.1-10.0.1.5"}"#));
    assert_eq!(e.path, "Dhcp4.subnet4[0].pools[0].pool");
    assert!(
        e.kind
            .to_string()
            .contains("does not match the prefix of a subnet: 10.0.0.0/24")
    );
    let e = error(&base(
        r#"{"pool": "10.0.0.1-10.0.0.50"}, {"pool": "10.0.0.40-10.0.0.60"}"#,
    ));
    assert_eq!(e.path, "Dhcp4.subnet4[0].pools[1].pool");
    assert!(
        e.kind
            .to_string()
            .contains("overlaps with an existing pool")
    );
    let e = error(&base(r#"{"pool": "10.0.0.50-10.0.0.1"}"#));
    assert_eq!(
        e.kind.to_string(),
        "Failed to create pool defined by: 10.0.0.50-10.0.0.1"
    );
    let e = error(&base(r#"{"pool": "junk"}"#));
    assert!(
        e.kind
            .to_string()
            .starts_with("invalid pool definition: junk.")
    );
    let e = error(&base(r#"{}"#));
    assert_eq!(e.kind, ErrorKind::MissingParameter { key: "pool".into() });
    // The same pool in two subnets of one prefix family is fine.
    load(
        r#""subnet4": [{"subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.0/24"}]},
                        {"subnet": "10.0.0.0/23", "pools": [{"pool": "10.0.0.0/24"}]}]"#,
    );
}

#[test]
fn timers_consistency_with_kea_texts() {
    let sub = r#""subnet4": [{"subnet": "10.0.0.0/8"}]"#;
    let e = error(&format!(r#""renew-timer": 100, "rebind-timer": 50, {sub}"#));
    assert_eq!(e.path, "Dhcp4");
    assert_eq!(
        e.kind.to_string(),
        "the value of renew-timer (100) is greater than the value of rebind-timer (50)"
    );
    let e =
        error(r#""subnet4": [{"subnet": "10.0.0.0/8", "renew-timer": 100, "rebind-timer": 50}]"#);
    assert_eq!(e.path, "Dhcp4.subnet4[0]");
    let e = error(&format!(
        r#""valid-lifetime": 100, "min-valid-lifetime": 200, {sub}"#
    ));
    assert_eq!(
        e.kind.to_string(),
        "the value of min-valid-lifetime (200) is not less than (default) valid-lifetime (100)"
    );
    let e = error(&format!(
        r#""min-valid-lifetime": 200, "max-valid-lifetime": 100, {sub}"#
    ));
    assert_eq!(
        e.kind.to_string(),
        "the value of min-valid-lifetime (200) is not less than max-valid-lifetime (100)"
    );
    let e = error(&format!(r#""max-valid-lifetime": 100, {sub}"#));
    assert_eq!(
        e.kind.to_string(),
        "the value of (default) valid-lifetime (7200) is not less than max-valid-lifetime (100)"
    );
    let e = error(
        r#""valid-lifetime": 100, "subnet4": [{"subnet": "10.0.0.0/8", "valid-lifetime": 300, "max-valid-lifetime": 200}]"#,
    );
    assert_eq!(e.path, "Dhcp4.subnet4[0]");
    assert_eq!(
        e.kind.to_string(),
        "the value of (default) valid-lifetime (300) is not less than max-valid-lifetime (200)"
    );
    // Accepted by Kea: rebind beyond valid, renew == rebind, percentages unchecked without
    // calculate-tee-times.
    load(&format!(r#""rebind-timer": 8000, {sub}"#));
    load(&format!(
        r#""renew-timer": 100, "rebind-timer": 100, {sub}"#
    ));
    load(&format!(r#""t1-percent": 0.9, "t2-percent": 0.5, {sub}"#));
    let e = error(&format!(
        r#""calculate-tee-times": true, "t1-percent": 0.9, "t2-percent": 0.5, {sub}"#
    ));
    assert_eq!(
        e.kind.to_string(),
        "t1-percent:  0.9 is invalid, it must be less than t2-percent: 0.5"
    );
    let e = error(&format!(
        r#""calculate-tee-times": true, "t1-percent": 1.5, {sub}"#
    ));
    assert_eq!(
        e.kind.to_string(),
        "t1-percent:  1.5 is invalid it must be greater than 0.0 and less than 1.0"
    );
}

#[test]
fn inheritance_global_network_subnet() {
    let c = load(
        r#""valid-lifetime": 1000, "renew-timer": 100, "match-client-id": false, "next-server": "192.0.2.1",
           "min-valid-lifetime": 500,
           "shared-networks": [{"name": "net", "valid-lifetime": 2000, "authoritative": true,
                                "relay": {"ip-addresses": ["192.0.2.254"]}, "interface": "eth1",
                                "subnet4": [{"subnet": "10.0.0.0/24", "renew-timer": 300},
                                            {"subnet": "10.0.1.0/24", "valid-lifetime": 600, "interface": "eth2"}]}],
           "subnet4": [{"subnet": "10.1.0.0/24"}]"#,
    )
    .config;
    let s1 = &c.subnets[0];
    // Each of valid/min/max is inherited on its own (Kea derives global values field by
    // field): the network's 2000 with the global minimum 500, the maximum defaulting to 2000.
    assert_eq!(
        s1.params.valid_lifetime,
        Lifetime {
            min: 500,
            default: 2000,
            max: 2000
        }
    );
    assert_eq!(s1.params.renew_timer, Some(300));
    assert!(!s1.params.match_client_id);
    assert!(s1.params.authoritative);
    assert_eq!(s1.params.next_server, a("192.0.2.1"));
    assert_eq!(s1.relay_addresses, vec![a("192.0.2.254")]);
    assert_eq!(s1.interface.as_deref(), Some("eth1"));
    let s2 = &c.subnets[1];
    assert_eq!(
        s2.params.valid_lifetime,
        Lifetime {
            min: 500,
            default: 600,
            max: 600
        }
    );
    assert_eq!(s2.params.renew_timer, Some(100));
    assert_eq!(s2.interface.as_deref(), Some("eth2"));
    let s3 = &c.subnets[2];
    assert_eq!(
        s3.params.valid_lifetime,
        Lifetime {
            min: 500,
            default: 1000,
            max: 1000
        }
    );
    assert!(!s3.params.authoritative);
    assert!(s3.relay_addresses.is_empty());
    assert_eq!(c.shared_networks[0].params.valid_lifetime.default, 2000);
    // An inherited bound can make a lower level inconsistent, as in Kea.
    let e = error(
        r#""min-valid-lifetime": 3000, "max-valid-lifetime": 5000, "valid-lifetime": 4000,
           "shared-networks": [{"name": "n", "valid-lifetime": 6000, "subnet4": []}]"#,
    );
    assert_eq!(e.path, "Dhcp4.shared-networks[0]");
    assert_eq!(
        e.kind.to_string(),
        "the value of (default) valid-lifetime (6000) is not between min-valid-lifetime (3000) and max-valid-lifetime (5000)"
    );
}

#[test]
fn shared_network_rules() {
    let e = error(r#""shared-networks": [{"name": "a", "subnet4": []}, {"name": "a"}]"#);
    assert_eq!(e.path, "Dhcp4.shared-networks[1]");
    assert_eq!(
        e.kind.to_string(),
        "duplicate network 'a' found in the configuration"
    );
    let e = error(r#""shared-networks": [{"subnet4": []}]"#);
    assert_eq!(e.path, "Dhcp4.shared-networks[0].name");
    let e = error(
        r#""shared-networks": [{"name": "a", "authoritative": true, "subnet4": [{"subnet": "10.0.0.0/24", "authoritative": false}]}]"#,
    );
    assert_eq!(e.path, "Dhcp4.shared-networks[0].subnet4[0]");
    assert!(
        e.kind
            .to_string()
            .contains("different authoritative setting false")
    );
    // The network inherits the global default (false): a subnet saying true disagrees.
    let e = error(
        r#""shared-networks": [{"name": "a", "subnet4": [{"subnet": "10.0.0.0/24", "authoritative": true}, {"subnet": "10.0.1.0/24", "authoritative": false}]}]"#,
    );
    assert_eq!(e.path, "Dhcp4.shared-networks[0].subnet4[0]");
    assert!(
        e.kind
            .to_string()
            .contains("different authoritative setting true than the shared-network itself: false")
    );
}

#[test]
fn reservation_rules() {
    let sub = |res: &str| {
        format!(r#""subnet4": [{{"id": 1, "subnet": "10.0.0.0/24", "reservations": [{res}]}}]"#)
    };
    let c = load(&sub(
        r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.0.5", "hostname": "h"},
           {"circuit-id": "'charter950'", "hostname": "h2"}, {"client-id": "01:02:03", "ip-address": "10.0.0.6"}"#,
    ))
    .config;
    let r = &c.subnets[0].reservations;
    assert_eq!(
        r[0].identifier,
        HostIdentifier {
            kind: IdentifierType::HwAddress,
            value: vec![0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        }
    );
    assert_eq!(r[0].ip_address, Some(a("10.0.0.5")));
    assert_eq!(r[1].identifier.value, b"charter950".to_vec());
    assert_eq!(r[1].ip_address, None);

    let e = error(&sub(
        r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "client-id": "01:02", "ip-address": "10.0.0.5"}"#,
    ));
    assert_eq!(e.path, "Dhcp4.subnet4[0].reservations[0]");
    assert_eq!(
        e.kind.to_string(),
        "the 'hw-address' and 'client-id' are mutually exclusive"
    );
    let e = error(&sub(r#"{"ip-address": "10.0.0.5"}"#));
    assert!(
        e.kind
            .to_string()
            .starts_with("one of the supported identifiers must be specified")
    );
    let e = error(&sub(r#"{"hw-address": "zz", "ip-address": "10.0.0.5"}"#));
    assert!(e.location.is_some());
    assert_eq!(e.path, "Dhcp4.subnet4[0].reservations[0].hw-address");
    assert_eq!(e.kind.to_string(), "invalid host identifier value 'zz'");
    let e = error(&sub(
        r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.1.5"}"#,
    ));
    assert_eq!(e.path, "Dhcp4.subnet4[0].reservations[0].ip-address");
    assert_eq!(
        e.kind.to_string(),
        "specified reservation '10.0.1.5' is not within the IPv4 subnet '10.0.0.0/24'"
    );
    let e = error(&sub(
        r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.0.5"}, {"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.0.6"}"#,
    ));
    assert_eq!(e.path, "Dhcp4.subnet4[0].reservations[1]");
    assert!(
        e.kind
            .to_string()
            .contains("as this host has already been added")
    );
    let e = error(&sub(
        r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.0.5"}, {"hw-address": "aa:bb:cc:dd:ee:01", "ip-address": "10.0.0.5"}"#,
    ));
    assert!(
        e.kind
            .to_string()
            .contains("There's already a reservation for this address")
    );
    // ip-reservations-unique false allows it.
    load(&format!(
        r#""ip-reservations-unique": false, {}"#,
        sub(
            r#"{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "10.0.0.5"}, {"hw-address": "aa:bb:cc:dd:ee:01", "ip-address": "10.0.0.5"}"#
        )
    ));
    // Global reservations are not tied to a subnet.
    let c =
        load(r#""reservations": [{"hw-address": "01:02:03:04:05:06", "ip-address": "192.0.2.9"}]"#)
            .config;
    assert_eq!(c.reservations.len(), 1);
}

#[test]
fn reservation_mode_maps_onto_flags_with_a_warning() {
    let l = load(r#""reservation-mode": "out-of-pool""#);
    assert_eq!(
        l.config.global_params.reservations,
        ReservationFlags {
            global: false,
            in_subnet: true,
            out_of_pool: true
        }
    );
    assert_eq!(l.warnings.len(), 1);
    assert!(matches!(
        l.warnings[0].kind,
        WarningKind::Deprecated {
            key: "reservation-mode",
            ..
        }
    ));
    let e = error(r#""reservation-mode": "all", "reservations-global": true"#);
    assert_eq!(e.path, "Dhcp4.reservation-mode");
    let e = error(r#""reservation-mode": "sometimes""#);
    assert!(matches!(e.kind, ErrorKind::NotOneOf { .. }));
}

#[test]
fn interfaces_config_rules() {
    let c = load(r#""interfaces-config": {"interfaces": ["eth0", "eth1/198.18.0.1", "*"], "dhcp-socket-type": "udp", "outbound-interface": "use-routing"}"#).config;
    assert_eq!(
        c.interfaces.interfaces,
        vec![
            InterfaceSpec::Name("eth0".into()),
            InterfaceSpec::Address("eth1".into(), a("198.18.0.1")),
            InterfaceSpec::All
        ]
    );
    assert_eq!(c.interfaces.socket_type, SocketType::Udp);
    assert_eq!(
        c.interfaces.outbound_interface,
        OutboundInterface::UseRouting
    );
    let e = error(r#""interfaces-config": {"interfaces": ["eth0/1.2.3"]}"#);
    assert_eq!(e.path, "Dhcp4.interfaces-config.interfaces[0]");
    assert!(e.kind.to_string().contains("'1.2.3'"));
    let e = error(r#""interfaces-config": {"dhcp-socket-type": "foo"}"#);
    assert_eq!(
        e.kind,
        ErrorKind::NotOneOf {
            value: "foo".into(),
            expected: "raw or udp".into()
        }
    );
}

#[test]
fn lease_database_rules() {
    let c = load(r#""lease-database": {"type": "memfile", "persist": false, "name": "/tmp/l.csv", "lfc-interval": 0, "max-row-errors": 5}"#).config;
    let db = &c.lease_database;
    assert_eq!(
        (
            db.persist,
            db.name.as_deref(),
            db.lfc_interval,
            db.max_row_errors
        ),
        (false, Some("/tmp/l.csv"), 0, 5)
    );
    let c = load(
        r#""lease-database": {"type": "postgresql", "name": "kea", "host": "127.0.0.1", "port": 5432, "user": "u",
           "password": "p", "connect-timeout": 10, "max-reconnect-tries": 3, "reconnect-wait-time": 500,
           "on-fail": "serve-retry-continue", "readonly": false, "trust-anchor": "a", "cert-file": "c", "key-file": "k"},
           "hosts-databases": [{"type": "mysql", "name": "hosts"}]"#,
    )
    .config;
    assert_eq!(c.lease_database.db_type, DbType::Postgresql);
    assert_eq!(c.lease_database.port, Some(5432));
    assert_eq!(c.lease_database.on_fail, OnFail::ServeRetryContinue);
    assert_eq!(c.hosts_databases[0].db_type, DbType::Mysql);
    let e = error(r#""lease-database": {"type": "bogus"}"#);
    assert_eq!(e.path, "Dhcp4.lease-database.type");
    assert_eq!(
        e.kind.to_string(),
        "invalid value \"bogus\", expecting memfile or mysql or postgresql"
    );
    let e = error(r#""lease-database": {"name": "x"}"#);
    assert_eq!(e.kind, ErrorKind::MissingParameter { key: "type".into() });
    let e = error(r#""lease-database": {"type": "mysql"}"#);
    assert_eq!(e.path, "Dhcp4.lease-database.name");
    let e = error(r#""lease-database": {"type": "memfile", "lfc-interval": -1}"#);
    assert_eq!(e.path, "Dhcp4.lease-database.lfc-interval");
}

#[test]
fn expired_leases_mt_queue_sanity_ddns() {
    let c = load(
        r#""expired-leases-processing": {"reclaim-timer-wait-time": 5, "flush-reclaimed-timer-wait-time": 0,
             "hold-reclaimed-time": 1, "max-reclaim-leases": 0, "max-reclaim-time": 0, "unwarned-reclaim-cycles": 2},
           "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 4, "packet-queue-size": 28},
           "dhcp-queue-control": {"enable-queue": true, "queue-type": "kea-ring4", "capacity": 500, "my-knob": 3},
           "sanity-checks": {"lease-checks": "fix-del"},
           "dhcp-ddns": {"enable-updates": true, "server-ip": "127.0.0.1", "server-port": 53001, "ncr-protocol": "UDP", "ncr-format": "JSON"}"#,
    )
    .config;
    assert_eq!(c.expired_leases.reclaim_timer_wait_time, 5);
    assert_eq!(c.expired_leases.flush_reclaimed_timer_wait_time, 0);
    assert_eq!(
        c.multi_threading,
        MultiThreading {
            enable: true,
            thread_pool_size: 4,
            packet_queue_size: 28
        }
    );
    assert_eq!(c.queue_control.capacity, 500);
    assert_eq!(
        c.queue_control.extra.get("my-knob"),
        Some(&serde_json::json!(3))
    );
    assert_eq!(c.lease_checks, LeaseChecks::FixDel);
    assert!(c.dhcp_ddns.enable_updates);
    let e = error(r#""expired-leases-processing": {"bogus": 1}"#);
    assert_eq!(e.path, "Dhcp4.expired-leases-processing.bogus");
    let e = error(r#""sanity-checks": {"lease-checks": "maybe"}"#);
    assert_eq!(e.path, "Dhcp4.sanity-checks.lease-checks");
    let e = error(r#""dhcp-ddns": {"enable-updates": false, "ncr-protocol": "TCP"}"#);
    assert_eq!(e.kind.to_string(), "ncr-protocol TCP is not yet supported");
}

#[test]
fn control_socket_rules() {
    let c =
        load(r#""control-socket": {"socket-type": "unix", "socket-name": "/run/kea/s"}"#).config;
    assert_eq!(c.control_socket.unwrap().socket_name, "/run/kea/s");
    let e = error(r#""control-socket": {"socket-type": "tcp", "socket-name": "/x"}"#);
    assert_eq!(e.path, "Dhcp4.control-socket.socket-type");
    let e = error(r#""control-socket": {"socket-type": "unix"}"#);
    assert_eq!(e.path, "Dhcp4.control-socket.socket-name");
}

#[test]
fn hooks_libraries_select_builtin_plugins() {
    let c = load(
        r#""hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
                              {"library": "libdhcp_lease_cmds.so", "parameters": {"anything": [1, {"goes": true}]}}]"#,
    )
    .config;
    assert_eq!(c.hooks.len(), 2);
    assert_eq!(c.hooks[0].hook, crate::common::BuiltinHook::LeaseCmds);
    assert_eq!(
        c.hooks[1].parameters.as_ref().unwrap().to_json(),
        serde_json::json!({"anything": [1, {"goes": true}]})
    );
    let e = error(r#""hooks-libraries": [{"library": "/opt/libdhcp_stat_cmds.so"}]"#);
    assert_eq!(e.path, "Dhcp4.hooks-libraries[0].library");
    let msg = e.kind.to_string();
    assert!(
        msg.contains("libdhcp_ha.so") && msg.contains("libdhcp_lease_cmds.so"),
        "{msg}"
    );
    let e = error(r#""hooks-libraries": [{"parameters": {}}]"#);
    assert_eq!(
        e.kind,
        ErrorKind::MissingParameter {
            key: "library".into()
        }
    );
}

#[test]
fn logger_rules() {
    let c = load(
        r#""loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99,
            "output_options": [{"output": "/var/log/x.log", "maxver": 8, "maxsize": 204800, "flush": false, "pattern": "%m"}]},
            {"name": "kea-dhcp4.leases", "severity": "INFO", "output_options": [{"output": "syslog:local7"}]}]"#,
    )
    .config;
    use crate::common::{LogOutput, Severity};
    let l = &c.loggers[0];
    assert_eq!((l.severity, l.debuglevel), (Severity::Debug, 99));
    assert_eq!(
        l.output_options[0].output,
        LogOutput::File("/var/log/x.log".into())
    );
    assert_eq!(
        (
            l.output_options[0].maxver,
            l.output_options[0].maxsize,
            l.output_options[0].flush
        ),
        (8, 204_800, false)
    );
    assert_eq!(c.loggers[1].severity, Severity::Info);
    assert_eq!(
        c.loggers[1].output_options[0].output,
        LogOutput::Syslog(Some("local7".into()))
    );
    let e = error(r#""loggers": [{"name": "kea-dhcp4", "severity": "LOUD"}]"#);
    assert_eq!(e.path, "Dhcp4.loggers[0].severity");
    let e = error(r#""loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 100}]"#);
    assert_eq!(e.path, "Dhcp4.loggers[0].debuglevel");
    let e = error(r#""loggers": [{"severity": "INFO"}]"#);
    assert_eq!(e.path, "Dhcp4.loggers[0].name");
    let e = error(r#""loggers": [{"name": "kea-dhcp4"}]"#);
    assert_eq!(e.path, "Dhcp4.loggers[0].severity");
    assert_eq!(
        e.kind,
        ErrorKind::MissingParameter {
            key: "severity".into()
        }
    );
    let e = error(
        r#""loggers": [{"name": "x", "severity": "INFO", "output_options": [{"output": "stdout", "color": true}]}]"#,
    );
    assert_eq!(e.path, "Dhcp4.loggers[0].output_options[0].color");
}

#[test]
fn host_reservation_identifiers_rules() {
    let c = load(r#""host-reservation-identifiers": ["client-id", "hw-address"]"#).config;
    assert_eq!(
        c.host_reservation_identifiers,
        vec![IdentifierType::ClientId, IdentifierType::HwAddress]
    );
    let e = error(r#""host-reservation-identifiers": ["mac"]"#);
    assert_eq!(e.path, "Dhcp4.host-reservation-identifiers[0]");
}

#[test]
fn fixed_fields_rules() {
    let e = error(r#""next-server": "not-an-ip""#);
    assert_eq!(e.path, "Dhcp4.next-server");
    let long = "x".repeat(64);
    let e = error(&format!(r#""server-hostname": "{long}""#));
    assert_eq!(
        e.kind.to_string(),
        "server-hostname must be at most 63 bytes long, it is 64"
    );
    let c = load(r#""boot-file-name": "pxelinux.0", "subnet4": [{"subnet": "10.0.0.0/8", "server-hostname": "tftp"}]"#).config;
    assert_eq!(c.subnets[0].params.boot_file_name, "pxelinux.0");
    assert_eq!(c.subnets[0].params.server_hostname, "tftp");
}

#[test]
fn config_control_is_refused() {
    let e = error(r#""config-control": {"config-databases": []}"#);
    assert_eq!(e.path, "Dhcp4.config-control");
}

#[test]
fn all_errors_are_reported_at_once() {
    let e = errors(
        r#""valid-lifetime": "x", "subnet4": [{"subnet": "10.0.0.0/24", "pools": [{"pool": "10.9.0.1-10.9.0.2"}]},
           {"subnet": "bad"}], "loggers": [{"name": "a", "severity": "NOPE"}]"#,
    );
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(e.iter().all(|e| e.location.is_some()));
    let text = ConfigErrors { errors: e }.to_string();
    assert_eq!(text.lines().count(), 4);
}

use crate::error::ConfigErrors;

#[test]
fn to_kea_json_renders_defaults() {
    let c = load(r#""subnet4": [{"subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.0/30"}]}]"#)
        .config;
    let j = c.to_kea_json();
    let d = &j["Dhcp4"];
    assert_eq!(d["valid-lifetime"], 7200);
    assert_eq!(d["t2-percent"], 0.875);
    assert_eq!(d["expired-leases-processing"]["hold-reclaimed-time"], 3600);
    // Sections show what was configured, as Kea's config-get.
    assert_eq!(d["lease-database"], serde_json::json!({"type": "memfile"}));
    assert_eq!(d["subnet4"][0]["id"], 1);
    // A pool covering exactly one CIDR block is shown in prefix form, as Kea does.
    assert_eq!(d["subnet4"][0]["pools"][0]["pool"], "10.0.0.0/30");
    assert_eq!(
        d["host-reservation-identifiers"],
        serde_json::json!(["hw-address", "duid", "circuit-id", "client-id"])
    );
}

#[test]
fn option_data_is_encoded_at_load_time() {
    let c = load(
        r#""option-data": [{"name": "domain-name-servers", "data": "8.8.8.8, 8.8.4.4"},
                           {"name": "default-ip-ttl", "data": "0xf0"},
                           {"code": 15, "data": "example.org", "always-send": true},
                           {"code": 252, "data": "0A0B", "csv-format": false}]"#,
    )
    .config;
    let o = &c.options;
    assert_eq!(
        (o[0].code, o[0].payload.as_slice()),
        (6, &[8, 8, 8, 8, 8, 8, 4, 4][..])
    );
    assert_eq!(o[0].name, "domain-name-servers");
    assert_eq!((o[1].code, o[1].payload.as_slice()), (23, &[0xf0][..]));
    assert_eq!(
        (o[2].code, o[2].payload.as_slice(), o[2].always_send),
        (15, &b"example.org"[..], true)
    );
    assert_eq!(
        (o[3].code, o[3].payload.as_slice()),
        (252, &[0x0a, 0x0b][..])
    );
    let e = error(r#""option-data": [{"name": "routers", "data": "1.2.3"}]"#);
    assert_eq!(e.path, "Dhcp4.option-data[0]");
    assert!(matches!(e.kind, ErrorKind::Option(_)));
    let e = error(r#""option-data": [{"name": "bogus-opt", "data": "1"}]"#);
    assert!(e.kind.to_string().contains("bogus-opt"), "{e}");
    let e = error(r#""option-data": [{"data": "1"}]"#);
    assert_eq!(e.path, "Dhcp4.option-data[0]");
    let e = error(
        r#""subnet4": [{"subnet": "10.0.0.0/8", "pools": [{"pool": "10.0.0.0/24", "option-data": [{"code": 300, "data": "1"}]}]}]"#,
    );
    assert_eq!(e.path, "Dhcp4.subnet4[0].pools[0].option-data[0]");
}

#[test]
fn option_def_is_registered_before_option_data() {
    // option-data written before option-def still finds the definition, as in Kea.
    let c = load(
        r#""option-data": [{"name": "my-opt", "data": "7"}],
           "option-def": [{"name": "my-opt", "code": 222, "type": "uint16"},
                          {"name": "my-rec", "code": 223, "type": "record", "record-types": "uint8, ipv4-address"}],
           "subnet4": [{"subnet": "10.0.0.0/8", "option-data": [{"name": "my-rec", "data": "1, 10.0.0.1"}]}]"#,
    )
    .config;
    assert_eq!(
        (c.options[0].code, c.options[0].payload.as_slice()),
        (222, &[0, 7][..])
    );
    assert_eq!(c.subnets[0].options[0].payload, vec![1, 10, 0, 0, 1]);
    assert!(c.option_defs.by_name("dhcp4", "my-opt").is_some());
    let e = error(r#""option-def": [{"name": "routers2", "code": 3, "type": "uint8"}]"#);
    assert_eq!(e.path, "Dhcp4.option-def[0]");
    assert!(matches!(e.kind, ErrorKind::Option(_)));
    let e = error(r#""option-def": [{"name": "x", "code": 224, "type": "float"}]"#);
    assert_eq!(e.path, "Dhcp4.option-def[0]");
    let e = error(r#""option-def": [{"name": "x", "type": "uint8"}]"#);
    assert_eq!(e.path, "Dhcp4.option-def[0].code");
}

#[test]
fn vendor_4491_options_use_the_docsis_definitions() {
    let c = load(
        r#""option-data": [{"name": "vivso-suboptions", "data": "4491"},
                           {"name": "tftp-servers", "space": "vendor-4491", "data": "10.1.1.202, 10.1.1.203"}]"#,
    )
    .config;
    assert_eq!(c.options[1].space, "vendor-4491");
    assert_eq!(c.options[1].code, 2);
    assert_eq!(c.options[1].payload, vec![10, 1, 1, 202, 10, 1, 1, 203]);
}

#[test]
fn client_classes() {
    let c = load(
        r#""client-classes": [{"name": "voip", "test": "substring(option[60].hex,0,6) == 'Aastra'",
                               "next-server": "192.0.2.10", "valid-lifetime": 600,
                               "option-data": [{"name": "tftp-server-name", "data": "tftp.example.org"}]},
                              {"name": "HA_server1", "only-if-required": true}]"#,
    )
    .config;
    let k = &c.client_classes;
    assert_eq!(k[0].name, "voip");
    assert!(k[0].test.starts_with("substring"));
    assert_eq!(k[0].params.next_server, Some(a("192.0.2.10")));
    assert_eq!(
        k[0].params.lifetime(),
        Lifetime {
            min: 600,
            default: 600,
            max: 600
        }
    );
    assert_eq!(k[0].options[0].code, 66);
    assert!(k[1].only_if_required);
    let e = error(r#""client-classes": [{"name": "a"}, {"name": "a"}]"#);
    assert_eq!(e.path, "Dhcp4.client-classes[1].name");
    assert_eq!(
        e.kind.to_string(),
        "Client Class: a has already been defined"
    );
    let e = error(r#""client-classes": [{"name": "a", "renew-timer": 5}]"#);
    assert_eq!(e.path, "Dhcp4.client-classes[0].renew-timer");
    assert!(matches!(e.kind, ErrorKind::UnexpectedKeyword { .. }));
}

#[test]
fn empty_dhcp4_is_refused_like_kea() {
    let e = errors("");
    assert_eq!(e[0].path, "Dhcp4");
    assert!(matches!(e[0].kind, ErrorKind::Syntax(_)));
}

#[test]
fn interfaces_are_checked_against_the_system_when_asked() {
    let opts = LoadOptions {
        system_interfaces: Some(vec!["lo".into(), "eth0".into()]),
    };
    let text = |body: &str| format!("{{\"Dhcp4\": {{{body}}}}}");
    let ok = text(
        r#""interfaces-config": {"interfaces": ["eth0", "lo/127.0.0.1"]}, "subnet4": [{"subnet": "10.0.0.0/8", "interface": "eth0"}]"#,
    );
    parse_dhcp4_str_with(&ok, "t", &opts).unwrap();
    let bad = text(
        r#""interfaces-config": {"interfaces": ["eth9"]}, "subnet4": [{"subnet": "10.0.0.0/8", "interface": "eth8"}],
                     "shared-networks": [{"name": "n", "interface": "eth7", "subnet4": []}]"#,
    );
    let e = parse_dhcp4_str_with(&bad, "t", &opts).unwrap_err().errors;
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "Dhcp4.interfaces-config.interfaces[0]",
            "Dhcp4.shared-networks[0].interface",
            "Dhcp4.subnet4[0].interface"
        ]
    );
    assert!(
        e[0].kind
            .to_string()
            .contains("interface 'eth9' doesn't exist in the system")
    );
    assert!(
        e[2].kind
            .to_string()
            .contains("Specified network interface name eth8 for subnet 10.0.0.0/8 is not present")
    );
    // Offline, the same configuration loads.
    parse_dhcp4_str(&bad, "t").unwrap();
}

#[test]
fn interfaces_given_twice_are_refused() {
    let e = error(r#""interfaces-config": {"interfaces": ["lo", "lo"]}"#);
    assert_eq!(e.path, "Dhcp4.interfaces-config.interfaces[1]");
    assert!(
        e.kind
            .to_string()
            .contains("interface 'lo' has already been specified")
    );
    let e = error(r#""interfaces-config": {"interfaces": ["lo/127.0.0.1", "lo/127.0.0.1"]}"#);
    assert!(e.kind.to_string().contains("address '127.0.0.1'"));
}

#[test]
fn expired_leases_limits_as_kea() {
    let e = error(r#""expired-leases-processing": {"flush-reclaimed-timer-wait-time": 100000}"#);
    assert_eq!(
        e.path,
        "Dhcp4.expired-leases-processing.flush-reclaimed-timer-wait-time"
    );
    assert_eq!(
        e.kind.to_string(),
        "out range value '100000' for configuration parameter 'flush-reclaimed-timer-wait-time', expected maximum value of '65535'"
    );
    let e = error(r#""expired-leases-processing": {"max-reclaim-time": 10001}"#);
    assert!(e.kind.to_string().contains("'10000'"));
    load(
        r#""expired-leases-processing": {"hold-reclaimed-time": 4294967295, "max-reclaim-time": 10000}"#,
    );
}

#[test]
fn reservation_needs_a_resource() {
    let e = error(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "reservations": [{"hw-address": "aa:aa:aa:aa:aa:aa"}]}]"#,
    );
    assert_eq!(e.path, "Dhcp4.subnet4[0].reservations[0]");
    assert!(
        e.kind
            .to_string()
            .contains("must include at least one resource")
    );
    load(
        r#""subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "reservations": [{"hw-address": "aa:aa:aa:aa:aa:aa", "client-classes": ["x"]}]}]"#,
    );
}

#[test]
fn logger_severity_is_case_insensitive() {
    let c = load(r#""loggers": [{"name": "kea-dhcp4", "severity": "debug"}]"#).config;
    assert_eq!(c.loggers[0].severity, crate::common::Severity::Debug);
}

#[test]
fn client_class_tests_are_compiled() {
    let c = load(r#""client-classes": [{"name": "a", "test": "option[60].exists"}, {"name": "b", "test": "member('a') and not member('KNOWN')"}]"#).config;
    assert_eq!(
        c.client_classes[0].test_expr,
        Some(expr::BoolExpr::OptionExists(60))
    );
    let e = error(r#""client-classes": [{"name": "c1", "test": "option[60].hex == "}]"#);
    assert_eq!(e.path, "Dhcp4.client-classes[0].test");
    assert_eq!(
        e.kind.to_string(),
        "expression: [option[60].hex == ] error: <string>:1.19: syntax error, unexpected end of file"
    );
    // A class may only refer to classes defined before it.
    let e = error(r#""client-classes": [{"name": "b", "test": "member('a')"}, {"name": "a"}]"#);
    assert!(e.kind.to_string().contains("Not defined client-class 'a'"));
}

#[test]
fn switches_kea_requires_in_their_maps() {
    let e = error(r#""multi-threading": {"thread-pool-size": 4}"#);
    assert_eq!(e.path, "Dhcp4.multi-threading.enable-multi-threading");
    assert_eq!(
        e.kind,
        ErrorKind::MissingParameter {
            key: "enable-multi-threading".into()
        }
    );
    let e = error(r#""dhcp-queue-control": {"capacity": 5}"#);
    assert_eq!(e.path, "Dhcp4.dhcp-queue-control.enable-queue");
    let e = error(r#""dhcp-ddns": {"server-ip": "127.0.0.1"}"#);
    assert_eq!(e.path, "Dhcp4.dhcp-ddns.enable-updates");
    let e = error(r#""host-reservation-identifiers": ["hw-address", "hw-address"]"#);
    assert_eq!(e.kind.to_string(), "duplicate host identifier 'hw-address'");
}

#[test]
fn reservation_of_zero_or_broadcast_address_is_refused() {
    let e =
        error(r#""reservations": [{"hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "0.0.0.0"}]"#);
    assert_eq!(e.path, "Dhcp4.reservations[0].ip-address");
    assert_eq!(
        e.kind.to_string(),
        "must not make reservation for the '0.0.0.0' address"
    );
}
