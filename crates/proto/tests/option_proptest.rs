//! Property tests: no configuration text and no payload makes the option code panic, and
//! what `decode_option_value` renders encodes back to the same payload.

use nestor_proto::option::{OptionDataSpec, OptionDefs, decode_option_value, encode_option_data};
use proptest::prelude::*;

/// Every built-in definition, as (space, code, name).
fn builtins() -> Vec<(String, u8, String)> {
    OptionDefs::standard()
        .standard_defs()
        .map(|d| (d.space.clone(), d.code, d.name.clone()))
        .collect()
}

/// Text made of the characters that matter to Kea's parsers.
fn data_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "0",
            "1",
            "7",
            "9",
            "a",
            "f",
            "x",
            "X",
            "g",
            ".",
            ",",
            ":",
            "/",
            "\\",
            " ",
            "\t",
            "'",
            "-",
            "+",
            "::",
            "255",
            "256",
            "0x",
            "true",
            "1.2.3.4",
            "2001:db8::",
            "a.b",
            "\u{0}",
        ]),
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    // No persistence file: an integration test has no lib.rs or main.rs for proptest to put
    // one beside, and a failure prints its minimal input, which becomes a unit test.
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn encoding_never_panics(index in any::<prop::sample::Index>(), data in data_text(), csv in any::<bool>(), by_code in any::<bool>()) {
        let defs = OptionDefs::standard();
        let all = builtins();
        let (space, code, name) = index.get(&all);
        let spec = OptionDataSpec {
            name: (!by_code).then_some(name.as_str()),
            code: by_code.then_some(u32::from(*code)),
            space,
            data: &data,
            csv_format: csv,
        };
        let _ = encode_option_data(&defs, &spec);
    }

    #[test]
    fn decoding_never_panics_and_round_trips(index in any::<prop::sample::Index>(), payload in prop::collection::vec(any::<u8>(), 0..40)) {
        let defs = OptionDefs::standard();
        let all = builtins();
        let (space, code, _) = index.get(&all);
        if let Ok(decoded) = decode_option_value(&defs, space, *code, &payload) {
            let spec = OptionDataSpec {
                name: None,
                code: Some(u32::from(*code)),
                space,
                data: &decoded.data,
                csv_format: decoded.csv_format,
            };
            // The rendering must be accepted again and mean the same bytes as Kea would keep.
            let again = encode_option_data(&defs, &spec);
            prop_assert!(again.is_ok(), "{space}/{code} {payload:02x?} -> {decoded:?} -> {again:?}");
            let reencoded = again.map(|e| e.payload).unwrap_or_default();
            let renormalized = decode_option_value(&defs, space, *code, &reencoded);
            prop_assert_eq!(renormalized.map(|d| d.data), Ok(decoded.data));
        }
    }

    /// What Kea keeps of hex data is read back as itself: the class that parses an option's
    /// bytes packs them in the form it parses (decoding relies on it).
    #[test]
    fn packed_hex_payloads_are_fixed_points(index in any::<prop::sample::Index>(), payload in prop::collection::vec(any::<u8>(), 0..40)) {
        let defs = OptionDefs::standard();
        let all = builtins();
        let (space, code, _) = index.get(&all);
        let hex_spec = |data: &str| encode_option_data(&defs, &OptionDataSpec {
            name: None,
            code: Some(u32::from(*code)),
            space,
            data,
            csv_format: false,
        }).map(|e| e.payload);
        let to_hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        if let Ok(packed) = hex_spec(&to_hex(&payload)) {
            prop_assert_eq!(hex_spec(&to_hex(&packed)), Ok(packed), "{}/{} {:02x?}", space, code, payload);
        }
    }

    /// Client FQDN (81) names as text and as wire form: octets biased towards the ones that
    /// matter to the name parsers (dots, escapes, digits, label lengths, case).
    #[test]
    fn client_fqdn_round_trips(flags in any::<u8>(), name in prop::collection::vec(prop::sample::select(vec![
        b'.', b'\\', b'0', b'4', b'6', b'a', b'A', b'@', b' ', 0u8, 1, 2, 3, 0x3f, 0x40, 0xc0, 0xff,
    ]), 0..24)) {
        let defs = OptionDefs::standard();
        let mut payload = vec![flags, 0, 0];
        payload.extend(name);
        if let Ok(decoded) = decode_option_value(&defs, "dhcp4", 81, &payload) {
            let spec = OptionDataSpec {
                name: None,
                code: Some(81),
                space: "dhcp4",
                data: &decoded.data,
                csv_format: decoded.csv_format,
            };
            let again = encode_option_data(&defs, &spec);
            prop_assert!(again.is_ok(), "{payload:02x?} -> {decoded:?} -> {again:?}");
            let reencoded = again.map(|e| e.payload).unwrap_or_default();
            let renormalized = decode_option_value(&defs, "dhcp4", 81, &reencoded);
            prop_assert_eq!(renormalized.map(|d| d.data), Ok(decoded.data));
        }
    }
}
