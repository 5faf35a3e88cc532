//! `to_kea_json()` renders what Kea 2.2's `config-get` returns.
//!
//! The `*.kea-2.2.json` files are the `arguments` of `config-get` sent to a `kea-dhcp4` 2.2
//! started with the matching input (`KEA_PIDFILE_DIR`/`KEA_LOCKFILE_DIR` pointed at a scratch
//! directory, no DHCP sockets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;

use nestor_config::{LoadOptions, load_dhcp4_file_with};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Lists every difference (paths), so a failure shows all of them at once.
fn diff(kea: &serde_json::Value, ours: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value::{Array, Object};
    match (kea, ours) {
        (Object(a), Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => diff(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("missing {path}.{k} = {v}")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("extra {path}.{k} = {}", b[k]));
            }
        }
        (Array(a), Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if kea == ours => {}
        _ => out.push(format!("{path}: Kea {kea}, Nestor {ours}")),
    }
}

fn check(input: &str, expected: &str) {
    let loaded = load_dhcp4_file_with(&data(input), &LoadOptions::offline())
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = loaded.config.to_kea_json();
    let kea: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data(expected)).unwrap()).unwrap();
    let mut out = Vec::new();
    diff(&kea, &ours, "", &mut out);
    assert!(
        out.is_empty(),
        "{input}: {} differences:\n{}",
        out.len(),
        out.join("\n")
    );
}

#[test]
fn basic_config_renders_like_kea() {
    check("config-get-basic.json", "config-get-basic.kea-2.2.json");
}

#[test]
fn rich_config_renders_like_kea() {
    check("config-get-rich.json", "config-get-rich.kea-2.2.json");
}
