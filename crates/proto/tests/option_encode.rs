//! `option-data` encoding: every data type, good and bad, arrays, records, custom definitions,
//! hex data, encapsulation, and the seed's options. Expected bytes come from the RFCs and were
//! checked against what a kea-dhcp4 2.2 server on loopback sends for the same configuration.

// Helpers outside `#[test]` functions are test code too: a failed setup step or an
// unexpected variant must fail the test loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use nestor_proto::option::{
    EncodedOption, FieldError, OptionDataError, OptionDataSpec, OptionDataType, OptionDef,
    OptionDefs, ValueError, ValuePosition, WireError, decode_option_value, encode_option_data,
};

fn spec<'a>(name: &'a str, data: &'a str) -> OptionDataSpec<'a> {
    OptionDataSpec {
        name: Some(name),
        code: None,
        space: "dhcp4",
        data,
        csv_format: true,
    }
}

fn enc(defs: &OptionDefs, s: OptionDataSpec<'_>) -> Result<Vec<u8>, OptionDataError> {
    encode_option_data(defs, &s).map(|e| e.payload)
}

fn csv(name: &str, data: &str) -> Result<Vec<u8>, OptionDataError> {
    enc(&OptionDefs::standard(), spec(name, data))
}

fn hex(name: &str, data: &str) -> Result<Vec<u8>, OptionDataError> {
    enc(
        &OptionDefs::standard(),
        OptionDataSpec {
            csv_format: false,
            ..spec(name, data)
        },
    )
}

/// The `ValueError` inside a definition mismatch.
fn value_error(r: Result<Vec<u8>, OptionDataError>) -> ValueError {
    match r {
        Err(OptionDataError::DefinitionMismatch { source, .. }) => *source,
        other => panic!("expected a definition mismatch, got {other:?}"),
    }
}

fn field_reason(r: Result<Vec<u8>, OptionDataError>) -> (ValuePosition, FieldError) {
    match value_error(r) {
        ValueError::Field {
            position, reason, ..
        } => (position, reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn custom_defs(defs: &[(&str, u8, &str, bool, &str)]) -> OptionDefs {
    let mut all = OptionDefs::standard();
    for &(name, code, ty, array, records) in defs {
        let def = OptionDef::from_kea(name, code.into(), None, ty, array, records, "")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        all.add_custom(def)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    all
}

#[test]
fn seed_options() {
    let defs = OptionDefs::standard();
    let dns = encode_option_data(&defs, &spec("domain-name-servers", "8.8.8.8, 8.8.4.4"));
    assert_eq!(
        dns,
        Ok(EncodedOption {
            code: 6,
            space: "dhcp4".into(),
            name: Some("domain-name-servers".into()),
            payload: vec![8, 8, 8, 8, 8, 8, 4, 4],
        })
    );
    assert_eq!(csv("default-ip-ttl", "0xf0"), Ok(vec![0xf0]));
    assert_eq!(csv("routers", "172.18.0.1"), Ok(vec![172, 18, 0, 1]));
}

#[test]
fn unsigned_integers() {
    assert_eq!(csv("default-ip-ttl", "255"), Ok(vec![255]));
    assert_eq!(csv("default-ip-ttl", "0"), Ok(vec![0]));
    assert_eq!(csv("default-ip-ttl", "f0"), Ok(vec![0xf0]));
    assert_eq!(csv("default-ip-ttl", "010"), Ok(vec![10]));
    assert_eq!(csv("default-ip-ttl", " 5 "), Ok(vec![5]));
    // A single-valued option takes the first value; Kea ignores the others, even bad ones.
    assert_eq!(csv("default-ip-ttl", "1,zz"), Ok(vec![1]));
    assert_eq!(
        field_reason(csv("default-ip-ttl", "256")),
        (
            ValuePosition::Single,
            FieldError::OutOfRange { min: 0, max: 255 }
        )
    );
    assert_eq!(
        field_reason(csv("default-ip-ttl", "-0x1")),
        (
            ValuePosition::Single,
            FieldError::OutOfRange { min: 0, max: 255 }
        )
    );
    assert_eq!(
        field_reason(csv("default-ip-ttl", "5x")),
        (ValuePosition::Single, FieldError::NotAnInteger)
    );
    assert_eq!(value_error(csv("default-ip-ttl", "")), ValueError::NoValue);
    assert_eq!(value_error(csv("default-ip-ttl", ",")), ValueError::NoValue);
    assert_eq!(csv("interface-mtu", "1500"), Ok(vec![0x05, 0xdc]));
    assert_eq!(csv("interface-mtu", "65535"), Ok(vec![0xff, 0xff]));
    assert!(csv("interface-mtu", "65536").is_err());
    assert_eq!(csv("dhcp-lease-time", "4294967295"), Ok(vec![0xff; 4]));
    assert_eq!(csv("dhcp-lease-time", "0x0e10"), Ok(vec![0, 0, 0x0e, 0x10]));
    assert!(csv("dhcp-lease-time", "4294967296").is_err());
    assert!(csv("dhcp-lease-time", "99999999999999999999").is_err());
}

#[test]
fn signed_integers() {
    let defs = custom_defs(&[
        ("i8", 200, "int8", false, ""),
        ("i16", 201, "int16", false, ""),
    ]);
    let c = |n, d| enc(&defs, spec(n, d));
    assert_eq!(c("i8", "-128"), Ok(vec![0x80]));
    assert_eq!(c("i8", "127"), Ok(vec![0x7f]));
    assert_eq!(c("i8", "-1"), Ok(vec![0xff]));
    assert_eq!(
        field_reason(c("i8", "-129")),
        (
            ValuePosition::Single,
            FieldError::OutOfRange {
                min: -128,
                max: 127
            }
        )
    );
    assert!(c("i8", "128").is_err());
    assert_eq!(c("i16", "-2"), Ok(vec![0xff, 0xfe]));
    assert_eq!(c("i16", "-0x10"), Ok(vec![0xff, 0xf0]));
    assert_eq!(csv("time-offset", "-2147483648"), Ok(vec![0x80, 0, 0, 0]));
    assert!(csv("time-offset", "-2147483649").is_err());
    assert!(csv("time-offset", "0xffffffff").is_err());
}

#[test]
fn booleans() {
    for (data, byte) in [("true", 1), ("FALSE", 0), ("1", 1), ("0", 0), ("01", 1)] {
        assert_eq!(csv("ip-forwarding", data), Ok(vec![byte]), "{data}");
    }
    for data in ["2", "yes", "on"] {
        assert_eq!(
            field_reason(csv("ip-forwarding", data)),
            (ValuePosition::Single, FieldError::NotABoolean),
            "{data}"
        );
    }
}

#[test]
fn addresses() {
    assert_eq!(
        csv("subnet-mask", "255.255.255.0"),
        Ok(vec![255, 255, 255, 0])
    );
    assert_eq!(
        csv("routers", "1.2.3.4,,5.6.7.8"),
        Ok(vec![1, 2, 3, 4, 5, 6, 7, 8])
    );
    assert_eq!(csv("routers", ""), Ok(vec![]));
    for bad in ["1.2.3", "01.2.3.4", "1.2.3.256", "host"] {
        assert_eq!(
            field_reason(csv("routers", bad)),
            (ValuePosition::Element(0), FieldError::NotAnAddress),
            "{bad}"
        );
    }
    assert_eq!(
        field_reason(csv("domain-name-servers", "8.8.8.8, 8.8.8")).0,
        ValuePosition::Element(1)
    );
    // Kea takes IPv6 text for an IPv4 field and writes 16 octets: an IPv4 list gets four
    // addresses, a single IPv4 option keeps the first four octets.
    assert_eq!(csv("routers", "::1").map(|p| p.len()), Ok(16));
    assert_eq!(csv("subnet-mask", "::1"), Ok(vec![0, 0, 0, 0]));
}

#[test]
fn strings() {
    assert_eq!(
        csv("domain-name", "example.org"),
        Ok(b"example.org".to_vec())
    );
    // Only the first CSV value is used unless the comma is escaped.
    assert_eq!(csv("domain-name", "a,b"), Ok(b"a".to_vec()));
    assert_eq!(csv("domain-name", "a\\,b"), Ok(b"a,b".to_vec()));
    assert_eq!(csv("host-name", "'quoted'"), Ok(b"'quoted'".to_vec()));
    assert_eq!(value_error(csv("domain-name", "")), ValueError::NoValue);
    assert_eq!(
        value_error(csv("domain-name", "   ")),
        ValueError::Wire(WireError::EmptyString)
    );
    assert_eq!(hex("domain-name", "61620000"), Ok(b"ab".to_vec()));
    assert_eq!(
        value_error(hex("domain-name", "00")),
        ValueError::Wire(WireError::EmptyString)
    );
}

#[test]
fn binary() {
    assert_eq!(csv("dhcp-client-identifier", "0a0b"), Ok(vec![10, 11]));
    assert_eq!(csv("dhcp-client-identifier", "0A 0B"), Ok(vec![10, 11]));
    for bad in ["0a:0b", "0x0a0b", "0a0", "zz", "'abc'"] {
        assert!(
            matches!(
                field_reason(csv("dhcp-client-identifier", bad)),
                (ValuePosition::Single, FieldError::Hex(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(
        value_error(csv("dhcp-client-identifier", "")),
        ValueError::NoValue
    );
}

#[test]
fn fqdns() {
    assert_eq!(
        csv("domain-search", "example.com, x.org."),
        Ok(b"\x07example\x03com\x00\x01x\x03org\x00".to_vec())
    );
    assert_eq!(csv("domain-search", "."), Ok(vec![0]));
    assert_eq!(
        value_error(csv("domain-search", "")),
        ValueError::Wire(WireError::EmptyFqdnList)
    );
    let long = format!("{}.com", "a".repeat(64));
    for bad in ["a..b", ".example", long.as_str()] {
        assert!(
            matches!(
                field_reason(csv("domain-search", bad)),
                (ValuePosition::Element(0), FieldError::Fqdn(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(
        csv("v4-lost", "lost.example"),
        Ok(b"\x04lost\x07example\x00".to_vec())
    );
    // Kea sizes a single fqdn field from its text, so the root name alone is "truncated".
    assert!(matches!(
        value_error(csv("v4-lost", ".")),
        ValueError::Wire(WireError::Truncated { .. })
    ));
    assert_eq!(hex("domain-search", "0000"), Ok(vec![0, 0]));
    assert!(hex("domain-search", "03616263").is_err());
}

#[test]
fn arrays() {
    assert_eq!(
        csv("path-mtu-plateau-table", "68, 296"),
        Ok(vec![0, 68, 1, 40])
    );
    assert_eq!(
        csv("dhcp-parameter-request-list", "1, 3, 0x06"),
        Ok(vec![1, 3, 6])
    );
    assert_eq!(
        value_error(csv("client-system", "")),
        ValueError::Wire(WireError::EmptyArray)
    );
    assert_eq!(
        field_reason(csv("path-mtu-plateau-table", "68, 70000, 5")),
        (
            ValuePosition::Element(1),
            FieldError::OutOfRange { min: 0, max: 65535 }
        )
    );
    assert!(matches!(
        value_error(hex("routers", "0a0b0c")),
        ValueError::Wire(WireError::ArrayLength {
            len: 3,
            width: 4,
            ..
        })
    ));
    assert_eq!(hex("routers", ""), Ok(vec![]));
}

#[test]
fn records() {
    assert_eq!(csv("client-ndi", "1,2,3"), Ok(vec![1, 2, 3]));
    // Surplus values of a non-array record are ignored, as Kea does.
    assert_eq!(csv("client-ndi", "1,2,3,4"), Ok(vec![1, 2, 3]));
    assert_eq!(csv("uuid-guid", "0, 0102"), Ok(vec![0, 1, 2]));
    assert_eq!(csv("uuid-guid", "0, "), Ok(vec![0]));
    assert!(matches!(
        value_error(csv("uuid-guid", "0")),
        ValueError::MissingFields {
            expected: 2,
            given: 1,
            ..
        }
    ));
    assert_eq!(
        csv("slp-directory-agent", "true, 1.2.3.4, 5.6.7.8"),
        Ok(vec![1, 1, 2, 3, 4, 5, 6, 7, 8])
    );
    assert_eq!(
        csv("rdnss-selection", "1, 1.2.3.4, 5.6.7.8, a.b, c.d"),
        Ok(b"\x01\x01\x02\x03\x04\x05\x06\x07\x08\x01a\x01b\x00\x01c\x01d\x00".to_vec())
    );
    let mut expected = vec![8, 32];
    expected.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain([0u8; 12].iter()));
    expected.extend([1, 2, 3, 4]);
    assert_eq!(
        csv("option-6rd", "8, 32, 2001:db8::, 1.2.3.4"),
        Ok(expected)
    );
    assert_eq!(
        field_reason(csv("slp-directory-agent", "true, 1.2.3.4, x")),
        (ValuePosition::Field(2), FieldError::NotAnAddress)
    );
    assert_eq!(
        field_reason(csv("client-ndi", "1, 300, 3")),
        (
            ValuePosition::Field(1),
            FieldError::OutOfRange { min: 0, max: 255 }
        )
    );
    // An IPv4 address where the record wants IPv6 leaves the record short.
    assert!(matches!(
        value_error(csv("option-6rd", "8, 32, 1.2.3.4, 1.2.3.4")),
        ValueError::Wire(WireError::Truncated { .. })
    ));
}

#[test]
fn psid_and_prefix() {
    assert_eq!(csv("v4-portparams", "8, 63/6"), Ok(vec![8, 6, 0xfc, 0x00]));
    assert_eq!(
        csv("v4-portparams", "8, 0x3f/6"),
        Ok(vec![8, 6, 0xfc, 0x00])
    );
    assert_eq!(csv("v4-portparams", "8, 5/0"), Ok(vec![8, 0, 0, 0]));
    assert_eq!(
        field_reason(csv("v4-portparams", "8, 64/6")),
        (
            ValuePosition::Field(1),
            FieldError::PsidTooLarge { psid: 64, len: 6 }
        )
    );
    assert!(matches!(
        field_reason(csv("v4-portparams", "8, 5/17")).1,
        FieldError::PsidLength(_)
    ));
    assert!(matches!(
        field_reason(csv("v4-portparams", "8, 5")).1,
        FieldError::MissingSlash(_)
    ));
    let defs = custom_defs(&[("pfx", 200, "ipv6-prefix", false, "")]);
    assert_eq!(
        enc(&defs, spec("pfx", "2001:db8:ff::/33")),
        Ok(vec![33, 0x20, 0x01, 0x0d, 0xb8, 0x00])
    );
    assert_eq!(enc(&defs, spec("pfx", "::/0")), Ok(vec![0]));
    assert!(matches!(
        field_reason(enc(&defs, spec("pfx", "1.2.3.4/8"))).1,
        FieldError::NotIpv6(_)
    ));
    assert!(matches!(
        field_reason(enc(&defs, spec("pfx", "2001:db8::/129"))).1,
        FieldError::PrefixLength(_)
    ));
}

#[test]
fn tuples() {
    let defs = custom_defs(&[
        ("t", 200, "tuple", false, ""),
        ("ts", 201, "tuple", true, ""),
    ]);
    assert_eq!(enc(&defs, spec("t", "abc")), Ok(b"\x03abc".to_vec()));
    assert_eq!(enc(&defs, spec("ts", "ab, c")), Ok(b"\x02ab\x01c".to_vec()));
    let long = "x".repeat(256);
    assert_eq!(
        field_reason(enc(&defs, spec("t", &long))).1,
        FieldError::TupleTooLong { len: 256 }
    );
}

#[test]
fn special_formats() {
    assert_eq!(
        csv("fqdn", "5, 0, 0, Host.Example.com"),
        Ok(b"\x05\x00\x00\x04host\x07example\x03com\x00".to_vec())
    );
    assert!(matches!(
        value_error(csv("fqdn", "255, 0, 0, a.b")),
        ValueError::Wire(WireError::FqdnFlagsNAndS { flags: 255 })
    ));
    assert_eq!(
        csv("slp-service-scope", "true, scope"),
        Ok(b"\x01scope".to_vec())
    );
    assert_eq!(csv("slp-service-scope", "true, "), Ok(vec![1]));
    assert_eq!(
        csv("vivco-suboptions", "4491, 0102"),
        Ok(vec![0, 0, 0x11, 0x8b, 1, 2])
    );
    assert_eq!(
        csv("vivso-suboptions", "4491"),
        Ok(vec![0, 0, 0x11, 0x8b, 0])
    );
    // DOCSIS sub-options of vendor 4491 are checked against their definitions (oro is a
    // uint8 list, tftp-servers an IPv4 list) and re-packed in code order.
    assert_eq!(
        hex(
            "vivso-suboptions",
            "0000118b 0a 02 04 01020304 01 02 0102"
                .replace(' ', "")
                .as_str()
        ),
        Ok(vec![0, 0, 0x11, 0x8b, 10, 1, 2, 1, 2, 2, 4, 1, 2, 3, 4])
    );
    assert!(hex("vivso-suboptions", "0000118b060203010203").is_err());
}

#[test]
fn hex_data_forms() {
    for data in ["0A:0B", "0a 0b", "0x0a0b", "0a0b"] {
        assert_eq!(
            hex("dhcp-client-identifier", data),
            Ok(vec![10, 11]),
            "{data}"
        );
    }
    assert_eq!(hex("default-ip-ttl", "f"), Ok(vec![15]));
    // Surplus octets of a plain integer are dropped, as Kea's OptionInt does.
    assert_eq!(hex("default-ip-ttl", "0102"), Ok(vec![1]));
    assert!(matches!(
        value_error(hex("default-ip-ttl", "")),
        ValueError::Wire(WireError::Truncated {
            needed: 1,
            available: 0,
            ..
        })
    ));
    assert_eq!(hex("subnet-mask", "ffffff00aa"), Ok(vec![255, 255, 255, 0]));
    assert!(hex("subnet-mask", "ffffff").is_err());
    assert_eq!(hex("domain-name", "'abc'"), Ok(b"abc".to_vec()));
    assert_eq!(hex("ip-forwarding", "02"), Ok(vec![2]));
    for bad in ["a::b", "abc:", "0a 0b  0c", "0Xab", "zz", "''"] {
        assert!(
            matches!(
                hex("domain-name", bad),
                Err(OptionDataError::InvalidHex { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn names_codes_and_spaces() {
    let defs = OptionDefs::standard();
    let by_code = OptionDataSpec {
        name: None,
        code: Some(3),
        space: "dhcp4",
        data: "1.2.3.4",
        csv_format: true,
    };
    assert_eq!(
        encode_option_data(&defs, &by_code).map(|e| e.name),
        Ok(Some("routers".into()))
    );
    let both = OptionDataSpec {
        name: Some("subnet-mask"),
        ..by_code
    };
    assert!(matches!(
        encode_option_data(&defs, &both),
        Err(OptionDataError::NameMismatch { .. })
    ));
    let neither = OptionDataSpec {
        name: None,
        code: None,
        ..by_code
    };
    assert_eq!(
        encode_option_data(&defs, &neither),
        Err(OptionDataError::MissingNameAndCode)
    );
    let too_big = OptionDataSpec {
        code: Some(256),
        ..by_code
    };
    assert_eq!(
        encode_option_data(&defs, &too_big),
        Err(OptionDataError::CodeTooLarge { code: 256 })
    );
    // Without a definition: only by code, only as hex.
    let undefined = OptionDataSpec {
        code: Some(200),
        data: "0a0b",
        ..by_code
    };
    assert!(matches!(
        encode_option_data(&defs, &undefined),
        Err(OptionDataError::NoDefinition {
            code: Some(200),
            ..
        })
    ));
    let undefined_hex = OptionDataSpec {
        csv_format: false,
        ..undefined
    };
    assert_eq!(
        encode_option_data(&defs, &undefined_hex),
        Ok(EncodedOption {
            code: 200,
            space: "dhcp4".into(),
            name: None,
            payload: vec![10, 11]
        })
    );
    assert!(matches!(
        encode_option_data(&defs, &spec("foo", "01")),
        Err(OptionDataError::NoDefinition { code: None, .. })
    ));
    for code in [0, 255] {
        let reserved = OptionDataSpec {
            code: Some(code),
            ..undefined_hex
        };
        assert_eq!(
            encode_option_data(&defs, &reserved),
            Err(OptionDataError::ReservedCode { code: code as u8 })
        );
    }
    let bad_name = spec("bad name", "1");
    assert!(matches!(
        encode_option_data(&defs, &bad_name),
        Err(OptionDataError::InvalidName { .. })
    ));
    let v6 = OptionDataSpec {
        space: "dhcp6",
        ..spec("routers", "1.2.3.4")
    };
    assert_eq!(
        encode_option_data(&defs, &v6),
        Err(OptionDataError::Dhcp6Space)
    );
    let bad_space = OptionDataSpec {
        space: "bad space",
        ..spec("routers", "1.2.3.4")
    };
    assert!(matches!(
        encode_option_data(&defs, &bad_space),
        Err(OptionDataError::InvalidSpace { .. })
    ));
    let docsis = OptionDataSpec {
        space: "docsis3-v4",
        ..spec("oro", "1,2")
    };
    assert_eq!(
        encode_option_data(&defs, &docsis).map(|e| (e.code, e.space, e.payload)),
        Ok((1, "docsis3-v4".into(), vec![1, 2]))
    );
}

#[test]
fn encapsulation() {
    let mut defs = OptionDefs::standard();
    // The parent: empty data, sub-options come from its space.
    assert_eq!(csv("vendor-encapsulated-options", ""), Ok(vec![]));
    assert!(matches!(
        value_error(csv("vendor-encapsulated-options", "01")),
        ValueError::DataForEmpty { .. }
    ));
    // Hex data for an encapsulating option is split into sub-options, sorted by code; a
    // truncated tail is dropped, as Kea's unpackOptions4 does.
    assert_eq!(
        hex("vendor-encapsulated-options", "0201aa0102bbcc"),
        Ok(vec![1, 2, 0xbb, 0xcc, 2, 1, 0xaa])
    );
    assert_eq!(hex("vendor-encapsulated-options", "0105aabb"), Ok(vec![]));
    // A sub-option of that space, configured by its own space, with a custom definition.
    let sub = OptionDef::from_kea(
        "tftp",
        2,
        Some("vendor-encapsulated-options-space"),
        "ipv4-address",
        false,
        "",
        "",
    );
    assert_eq!(sub.clone().map(|d| defs.add_custom(d)), Ok(Ok(())));
    let sub_spec = OptionDataSpec {
        space: "vendor-encapsulated-options-space",
        ..spec("tftp", "10.0.0.1")
    };
    assert_eq!(
        encode_option_data(&defs, &sub_spec).map(|e| (e.code, e.space, e.payload)),
        Ok((
            2,
            "vendor-encapsulated-options-space".into(),
            vec![10, 0, 0, 1]
        ))
    );
    assert_eq!(
        defs.encapsulated_space("dhcp4", 43),
        Some("vendor-encapsulated-options-space")
    );
    // A custom container in a custom space, with a uint8 before its sub-options.
    let container = OptionDef::from_kea("box", 222, None, "uint8", false, "", "box-space");
    assert_eq!(container.map(|d| defs.add_custom(d)), Ok(Ok(())));
    let inner = OptionDef::from_kea("inner", 1, Some("box-space"), "uint16", false, "", "");
    assert_eq!(inner.map(|d| defs.add_custom(d)), Ok(Ok(())));
    let boxed = |data| {
        encode_option_data(
            &defs,
            &OptionDataSpec {
                csv_format: false,
                ..spec("box", data)
            },
        )
        .map(|e| e.payload)
    };
    assert_eq!(boxed("07 01 02 00 50"), Ok(vec![7, 1, 2, 0, 0x50]));
    // The sub-option is checked against its definition.
    assert!(boxed("07 01 01 00").is_err());
    assert_eq!(csv("dhcp-agent-options", ""), Ok(vec![]));
}

#[test]
fn custom_definitions_encode() {
    let defs = custom_defs(&[
        ("rec", 200, "record", false, "uint16, ipv4-address, string"),
        ("recs", 201, "record", true, "uint8, uint16"),
        ("names", 202, "fqdn", true, ""),
        ("flag", 203, "boolean", false, ""),
        ("nothing", 204, "empty", false, ""),
    ]);
    let c = |n, d| enc(&defs, spec(n, d));
    assert_eq!(
        c("rec", "80, 10.0.0.1, hello\\, world"),
        Ok(b"\x00\x50\x0a\x00\x00\x01hello, world".to_vec())
    );
    assert_eq!(c("recs", "1, 2, 3, 4"), Ok(vec![1, 0, 2, 0, 3, 0, 4]));
    assert_eq!(c("names", "a.b"), Ok(b"\x01a\x01b\x00".to_vec()));
    assert_eq!(c("flag", "true"), Ok(vec![1]));
    assert_eq!(c("nothing", ""), Ok(vec![]));
}

#[test]
fn errors_say_where_and_why() {
    let msg = csv("domain-name-servers", "8.8.8.8, 8.8.8")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("code: 6"), "{msg}");
    assert!(msg.contains("domain-name-servers"), "{msg}");
    assert!(msg.contains("array element [1]"), "{msg}");
    assert!(msg.contains("'8.8.8'"), "{msg}");
    assert!(msg.contains("ipv4-address"), "{msg}");
    let msg = csv("default-ip-ttl", "256")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("'256'") && msg.contains("0..255") && msg.contains("uint8"),
        "{msg}"
    );
    let msg = csv("slp-directory-agent", "maybe, 1.2.3.4")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("record field [0]") && msg.contains("boolean"),
        "{msg}"
    );
}

#[test]
fn decode_round_trips() {
    let defs = OptionDefs::standard();
    let cases = [
        ("domain-name-servers", "8.8.8.8, 8.8.4.4"),
        ("default-ip-ttl", "240"),
        ("time-offset", "-5"),
        ("domain-name", "a\\,b"),
        ("domain-search", "example.com., x.org."),
        ("slp-directory-agent", "true, 1.2.3.4, 5.6.7.8"),
        ("v4-portparams", "8, 63/6"),
        ("option-6rd", "8, 32, 2001:db8::, 1.2.3.4"),
        ("dhcp-client-identifier", "0a0b"),
    ];
    for (name, data) in cases {
        let encoded =
            encode_option_data(&defs, &spec(name, data)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded = decode_option_value(&defs, "dhcp4", encoded.code, &encoded.payload)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(decoded.csv_format, "{name}");
        assert_eq!(decoded.data, data, "{name}");
        assert_eq!(decoded.name.as_deref(), Some(name));
    }
    // No definition: hex.
    let d = decode_option_value(&defs, "dhcp4", 200, &[1, 0xab]);
    assert_eq!(
        d.map(|d| (d.data, d.csv_format)),
        Ok(("01ab".to_owned(), false))
    );
    // Text that CSV cannot carry falls back to hex.
    let d = decode_option_value(&defs, "dhcp4", 15, b" x");
    assert_eq!(
        d.map(|d| (d.data, d.csv_format)),
        Ok(("2078".to_owned(), false))
    );
    assert!(decode_option_value(&defs, "dhcp4", 3, &[1, 2, 3]).is_err());
}

#[test]
fn data_type_names() {
    assert_eq!(
        OptionDataType::from_kea_name("ipv4-address"),
        Some(OptionDataType::Ipv4Address)
    );
    assert_eq!(OptionDataType::Psid.kea_name(), "psid");
}

/// Payloads a kea-dhcp4 2.2.0 server on loopback put in its DHCPOFFER for these entries
/// (relayed DISCOVER asking for each code in option 55; captured 2026-11-25).
#[test]
fn payloads_match_what_kea_sends() {
    let mut defs = OptionDefs::standard();
    for (name, code, space, ty, encapsulate) in [
        ("box", 222, None, "uint8", "box-space"),
        ("inner", 1, Some("box-space"), "uint16", ""),
    ] {
        let def = OptionDef::from_kea(name, code, space, ty, false, "", encapsulate)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        defs.add_custom(def)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let kea: &[(&str, &str, bool, &str)] = &[
        ("routers", "::1", true, "00000000000000000000000000000001"),
        ("broadcast-address", "::1", true, "00000000"),
        ("domain-name", "61620000", false, "6162"),
        (
            "domain-search",
            "example.com, x.org.",
            true,
            "076578616d706c6503636f6d000178036f726700",
        ),
        ("domain-search", "0000", false, "0000"),
        ("vivso-suboptions", "4491", true, "0000118b00"),
        (
            "vivso-suboptions",
            "0000118b0a02040102030401020102",
            false,
            "0000118b0a01020102020401020304",
        ),
        ("vivco-suboptions", "4491, 0102", true, "0000118b0102"),
        (
            "vendor-encapsulated-options",
            "0201aa0102bbcc",
            false,
            "0102bbcc0201aa",
        ),
        ("default-ip-ttl", "0102", false, "01"),
        ("slp-service-scope", "true, scope", true, "0173636f7065"),
        ("slp-service-scope", "true, ", true, "01"),
        (
            "option-6rd",
            "8, 32, 2001:db8::, 1.2.3.4",
            true,
            "082020010db800000000000000000000000001020304",
        ),
        ("v4-portparams", "8, 63/6", true, "0806fc00"),
        ("v4-portparams", "8, 5/0", true, "08000000"),
        (
            "slp-directory-agent",
            "true, ::1",
            true,
            "0100000000000000000000000000000001",
        ),
        (
            "v4-lost",
            "Lost.Example",
            true,
            "044c6f7374074578616d706c6500",
        ),
        (
            "box",
            "07 01 02 00 50 01 02 00 51",
            false,
            "070102005001020051",
        ),
        (
            "fqdn",
            "5, 0, 0, Host.Example.com",
            true,
            "05000004686f7374076578616d706c6503636f6d00",
        ),
        ("uuid-guid", "0, 0102", true, "000102"),
        ("uuid-guid", "0, ", true, "00"),
        ("client-ndi", "1,2,3,4", true, "010203"),
        ("time-offset", "-0x10", true, "fffffff0"),
        ("client-system", "1,2", true, "00010002"),
        ("ip-forwarding", "02", false, "02"),
        ("nis-domain", "a\\,b", true, "612c62"),
        ("netbios-scope", "a,b", true, "61"),
        ("path-mtu-plateau-table", "68, 296", true, "00440128"),
    ];
    for &(name, data, csv_format, expected) in kea {
        let spec = OptionDataSpec {
            csv_format,
            ..spec(name, data)
        };
        let payload = encode_option_data(&defs, &spec).map(|e| {
            e.payload
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        });
        assert_eq!(payload.as_deref(), Ok(expected), "{name} {data:?}");
    }
}
