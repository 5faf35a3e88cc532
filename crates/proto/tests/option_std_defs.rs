//! Kea 2.2's built-in option definitions, checked entry by entry against the table of the
//! compatibility reference (`kea-2.2.md` section 4.4, itself read from `std_option_defs.h`).
//! The rows below were written once from that table; the reference's 114 rows are Kea's 113
//! standard `dhcp4` definitions plus the last-resort definition of option 43.

// Helpers outside `#[test]` functions are test code too: a failed setup step or an
// unexpected variant must fail the test loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use nestor_proto::option::{OptionDataType, OptionDefs};

/// (code, name, type, array, record field types, encapsulated space)
const EXPECTED: &[(u8, &str, &str, bool, &str)] = &[
    (1, "subnet-mask", "ipv4-address", false, ""),
    (2, "time-offset", "int32", false, ""),
    (3, "routers", "ipv4-address", true, ""),
    (4, "time-servers", "ipv4-address", true, ""),
    (5, "name-servers", "ipv4-address", true, ""),
    (6, "domain-name-servers", "ipv4-address", true, ""),
    (7, "log-servers", "ipv4-address", true, ""),
    (8, "cookie-servers", "ipv4-address", true, ""),
    (9, "lpr-servers", "ipv4-address", true, ""),
    (10, "impress-servers", "ipv4-address", true, ""),
    (11, "resource-location-servers", "ipv4-address", true, ""),
    (12, "host-name", "string", false, ""),
    (13, "boot-size", "uint16", false, ""),
    (14, "merit-dump", "string", false, ""),
    (15, "domain-name", "string", false, ""),
    (16, "swap-server", "ipv4-address", false, ""),
    (17, "root-path", "string", false, ""),
    (18, "extensions-path", "string", false, ""),
    (19, "ip-forwarding", "boolean", false, ""),
    (20, "non-local-source-routing", "boolean", false, ""),
    (21, "policy-filter", "ipv4-address", true, ""),
    (22, "max-dgram-reassembly", "uint16", false, ""),
    (23, "default-ip-ttl", "uint8", false, ""),
    (24, "path-mtu-aging-timeout", "uint32", false, ""),
    (25, "path-mtu-plateau-table", "uint16", true, ""),
    (26, "interface-mtu", "uint16", false, ""),
    (27, "all-subnets-local", "boolean", false, ""),
    (28, "broadcast-address", "ipv4-address", false, ""),
    (29, "perform-mask-discovery", "boolean", false, ""),
    (30, "mask-supplier", "boolean", false, ""),
    (31, "router-discovery", "boolean", false, ""),
    (32, "router-solicitation-address", "ipv4-address", false, ""),
    (33, "static-routes", "ipv4-address", true, ""),
    (34, "trailer-encapsulation", "boolean", false, ""),
    (35, "arp-cache-timeout", "uint32", false, ""),
    (36, "ieee802-3-encapsulation", "boolean", false, ""),
    (37, "default-tcp-ttl", "uint8", false, ""),
    (38, "tcp-keepalive-interval", "uint32", false, ""),
    (39, "tcp-keepalive-garbage", "boolean", false, ""),
    (40, "nis-domain", "string", false, ""),
    (41, "nis-servers", "ipv4-address", true, ""),
    (42, "ntp-servers", "ipv4-address", true, ""),
    (43, "vendor-encapsulated-options", "empty", false, ""),
    (44, "netbios-name-servers", "ipv4-address", true, ""),
    (45, "netbios-dd-server", "ipv4-address", true, ""),
    (46, "netbios-node-type", "uint8", false, ""),
    (47, "netbios-scope", "string", false, ""),
    (48, "font-servers", "ipv4-address", true, ""),
    (49, "x-display-manager", "ipv4-address", true, ""),
    (50, "dhcp-requested-address", "ipv4-address", false, ""),
    (51, "dhcp-lease-time", "uint32", false, ""),
    (52, "dhcp-option-overload", "uint8", false, ""),
    (53, "dhcp-message-type", "uint8", false, ""),
    (54, "dhcp-server-identifier", "ipv4-address", false, ""),
    (55, "dhcp-parameter-request-list", "uint8", true, ""),
    (56, "dhcp-message", "string", false, ""),
    (57, "dhcp-max-message-size", "uint16", false, ""),
    (58, "dhcp-renewal-time", "uint32", false, ""),
    (59, "dhcp-rebinding-time", "uint32", false, ""),
    (60, "vendor-class-identifier", "string", false, ""),
    (61, "dhcp-client-identifier", "binary", false, ""),
    (62, "nwip-domain-name", "string", false, ""),
    (63, "nwip-suboptions", "binary", false, ""),
    (64, "nisplus-domain-name", "string", false, ""),
    (65, "nisplus-servers", "ipv4-address", true, ""),
    (66, "tftp-server-name", "string", false, ""),
    (67, "boot-file-name", "string", false, ""),
    (68, "mobile-ip-home-agent", "ipv4-address", true, ""),
    (69, "smtp-server", "ipv4-address", true, ""),
    (70, "pop-server", "ipv4-address", true, ""),
    (71, "nntp-server", "ipv4-address", true, ""),
    (72, "www-server", "ipv4-address", true, ""),
    (73, "finger-server", "ipv4-address", true, ""),
    (74, "irc-server", "ipv4-address", true, ""),
    (75, "streettalk-server", "ipv4-address", true, ""),
    (
        76,
        "streettalk-directory-assistance-server",
        "ipv4-address",
        true,
        "",
    ),
    (77, "user-class", "binary", false, ""),
    (
        78,
        "slp-directory-agent",
        "record",
        true,
        "boolean,ipv4-address",
    ),
    (79, "slp-service-scope", "record", false, "boolean,string"),
    (81, "fqdn", "record", false, "uint8,uint8,uint8,fqdn"),
    (82, "dhcp-agent-options", "empty", false, ""),
    (85, "nds-servers", "ipv4-address", true, ""),
    (86, "nds-tree-name", "string", false, ""),
    (87, "nds-context", "string", false, ""),
    (88, "bcms-controller-names", "fqdn", true, ""),
    (89, "bcms-controller-address", "ipv4-address", true, ""),
    (90, "authenticate", "binary", false, ""),
    (91, "client-last-transaction-time", "uint32", false, ""),
    (92, "associated-ip", "ipv4-address", true, ""),
    (93, "client-system", "uint16", true, ""),
    (94, "client-ndi", "record", false, "uint8,uint8,uint8"),
    (97, "uuid-guid", "record", false, "uint8,binary"),
    (98, "uap-servers", "string", false, ""),
    (99, "geoconf-civic", "binary", false, ""),
    (100, "pcode", "string", false, ""),
    (101, "tcode", "string", false, ""),
    (108, "v6-only-preferred", "uint32", false, ""),
    (112, "netinfo-server-address", "ipv4-address", true, ""),
    (113, "netinfo-server-tag", "string", false, ""),
    (114, "v4-captive-portal", "string", false, ""),
    (116, "auto-config", "uint8", false, ""),
    (117, "name-service-search", "uint16", true, ""),
    (118, "subnet-selection", "ipv4-address", false, ""),
    (119, "domain-search", "fqdn", true, ""),
    (124, "vivco-suboptions", "record", false, "uint32,binary"),
    (125, "vivso-suboptions", "uint32", false, ""),
    (136, "pana-agent", "ipv4-address", true, ""),
    (137, "v4-lost", "fqdn", false, ""),
    (138, "capwap-ac-v4", "ipv4-address", true, ""),
    (141, "sip-ua-cs-domains", "fqdn", true, ""),
    (
        146,
        "rdnss-selection",
        "record",
        true,
        "uint8,ipv4-address,ipv4-address,fqdn",
    ),
    (159, "v4-portparams", "record", false, "uint8,psid"),
    (
        212,
        "option-6rd",
        "record",
        true,
        "uint8,uint8,ipv6-address,ipv4-address",
    ),
    (213, "v4-access-domain", "fqdn", false, ""),
];

fn encapsulation_of(code: u8) -> &'static str {
    match code {
        43 => "vendor-encapsulated-options-space",
        82 => "dhcp-agent-options-space",
        _ => "",
    }
}

#[test]
fn every_reference_row_is_defined_exactly() {
    let defs = OptionDefs::standard();
    for &(code, name, ty, array, records) in EXPECTED {
        let by_code = defs
            .by_code("dhcp4", code)
            .unwrap_or_else(|| panic!("code {code} missing"));
        let by_name = defs
            .by_name("dhcp4", name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(by_code, by_name, "{code}/{name}: lookups disagree");
        assert_eq!(by_code.name, name, "code {code}");
        assert_eq!(by_code.code, code, "{name}");
        assert_eq!(by_code.space, "dhcp4");
        assert_eq!(by_code.data_type.kea_name(), ty, "{name}: type");
        assert_eq!(by_code.array, array, "{name}: array");
        let fields: Vec<&str> = by_code.record_types.iter().map(|t| t.kea_name()).collect();
        assert_eq!(fields.join(","), records, "{name}: record types");
        assert_eq!(
            by_code.encapsulate,
            encapsulation_of(code),
            "{name}: encapsulate"
        );
        assert_eq!(
            by_code.validate(),
            Ok(()),
            "{name} must pass Kea's own validation"
        );
    }
}

#[test]
fn nothing_beyond_the_reference_is_defined_in_dhcp4() {
    let defs = OptionDefs::standard();
    let dhcp4: Vec<_> = defs
        .standard_defs()
        .filter(|d| d.space == "dhcp4")
        .collect();
    assert_eq!(dhcp4.len(), EXPECTED.len());
    assert_eq!(EXPECTED.len(), 114);
    for code in 0..=255u8 {
        let expected = EXPECTED.iter().any(|row| row.0 == code);
        assert_eq!(
            defs.by_code("dhcp4", code).is_some(),
            expected,
            "code {code}"
        );
    }
}

#[test]
fn option_43_is_a_last_resort_definition() {
    // Kea lets an option-def redefine 43 (it is not in the standard table) and then uses it.
    let mut defs = OptionDefs::standard();
    let custom = nestor_proto::option::OptionDef {
        name: "pxe-vendor".into(),
        code: 43,
        space: "dhcp4".into(),
        data_type: OptionDataType::Binary,
        array: false,
        record_types: vec![],
        encapsulate: String::new(),
    };
    assert_eq!(defs.add_custom(custom), Ok(()));
    assert_eq!(
        defs.by_code("dhcp4", 43).map(|d| d.name.as_str()),
        Some("pxe-vendor")
    );
    assert!(
        defs.by_name("dhcp4", "vendor-encapsulated-options")
            .is_some()
    );
    // 82 is standard and cannot be redefined.
    let relay = nestor_proto::option::OptionDef {
        name: "my-relay".into(),
        code: 82,
        space: "dhcp4".into(),
        data_type: OptionDataType::Binary,
        array: false,
        record_types: vec![],
        encapsulate: String::new(),
    };
    assert!(defs.add_custom(relay).is_err());
}

#[test]
fn other_builtin_spaces() {
    let defs = OptionDefs::standard();
    let oro = defs
        .by_name("docsis3-v4", "oro")
        .map(|d| (d.code, d.data_type, d.array));
    assert_eq!(oro, Some((1, OptionDataType::Uint8, true)));
    let tftp = defs
        .by_name("docsis3-v4", "tftp-servers")
        .map(|d| (d.code, d.data_type, d.array));
    assert_eq!(tftp, Some((2, OptionDataType::Ipv4Address, true)));
    assert_eq!(
        defs.standard_defs()
            .filter(|d| d.space == "docsis3-v4")
            .count(),
        2
    );
    for space in [
        "vendor-encapsulated-options-space",
        "dhcp-agent-options-space",
    ] {
        assert_eq!(
            defs.standard_defs().filter(|d| d.space == space).count(),
            0,
            "{space}"
        );
    }
}

#[test]
fn basic_option_codes_are_kea_s() {
    assert_eq!(nestor_proto::option::KEA_BASIC_OPTION_CODES, [3, 6, 15, 54]);
}
