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
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

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
}
