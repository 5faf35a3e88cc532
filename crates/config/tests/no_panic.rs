//! The parser and the validator never panic, whatever the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use proptest::prelude::*;

/// Fragments that steer random input towards the interesting corners of the dialect.
fn tokenish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Dhcp4\"",
        "\"subnet4\"",
        "\"subnet\"",
        "\"10.0.0.0/8\"",
        "\"pools\"",
        "\"pool\"",
        "\"10.0.0.1-10.0.0.9\"",
        "\"id\"",
        "1",
        "-1",
        "4294967295",
        "0.5",
        "true",
        "null",
        "# c\n",
        "// c\n",
        "/* c */",
        "/*",
        "\"",
        "\\",
        "<?include \"x\"?>",
        "\"valid-lifetime\"",
        "\"option-data\"",
        "\"name\"",
        "\"routers\"",
        "\"data\"",
        "\"reservations\"",
        "\"hw-address\"",
        "\"Logging\"",
        "\"loggers\"",
        "\"shared-networks\"",
        "\"hooks-libraries\"",
        "\"library\"",
        "\"libdhcp_ha.so\"",
        "\"parameters\"",
        "\"high-availability\"",
        "\"peers\"",
        "\n",
        " ",
        "\u{e9}",
    ]);
    prop::collection::vec(pieces, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = nestor_config::parse_dhcp4_str(&s, "p.json");
        let _ = nestor_config::parse_agent_str(&s, "p.json");
    }

    #[test]
    fn config_shaped_text_never_panics(s in tokenish()) {
        let _ = nestor_config::parse_dhcp4_str(&s, "p.json");
    }

    #[test]
    fn mutated_seed_never_panics(cut in 0usize..4000, insert in "[\\[\\]{},:\"#/*0-9a-z ]{0,6}") {
        let seed = include_str!("data/seed-kea_1.json");
        let at = seed.char_indices().map(|(i, _)| i).nth(cut % seed.chars().count()).unwrap_or(0);
        let text = format!("{}{}{}", &seed[..at], insert, &seed[at..]);
        let _ = nestor_config::parse_dhcp4_str(&text, "p.json");
    }
}

#[test]
fn arbitrary_bytes_from_a_file_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.json");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in [0usize, 1, 7, 64, 512] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        // Random bytes are never a valid configuration; what matters is an error, not a panic.
        assert!(
            nestor_config::load_dhcp4_file(&path).is_err(),
            "{len} bytes"
        );
    }
}
