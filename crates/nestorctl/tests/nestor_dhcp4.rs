//! nestorctl driving the real `nestor-dhcp4`, found the default way: next to the `nestorctl`
//! executable (both are built into the same `target/<profile>/`).
//!
//! `cargo test -p nestorctl` does not build other packages' binaries; when `nestor-dhcp4` has
//! not been built (`cargo build -p nestor-dhcp4`), the test is skipped, or fails under CI
//! (where the workspace is built first), following the project's policy for missing tools.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Lab, alive_as, dhcp4_config};
use nestor_test_support::{in_ci, unix_command, wait_until};
use serde_json::json;

fn nestor_dhcp4() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_BIN_EXE_nestorctl")).with_file_name("nestor-dhcp4");
    if path.is_file() {
        return Some(path);
    }
    let why = format!("{} not built (cargo build -p nestor-dhcp4)", path.display());
    assert!(
        !in_ci(),
        "{why}; CI is set, so this is a failure, not a skip"
    );
    eprintln!("\n*** SKIPPED: nestorctl against nestor-dhcp4: {why} ***\n");
    None
}

fn valid_lifetime(lab: &Lab) -> Option<u64> {
    let answer = unix_command(
        &lab.path("d4.sock"),
        &json!({"command": "config-get"}),
        Duration::from_secs(5),
    )
    .ok()?;
    answer["arguments"]["Dhcp4"]["valid-lifetime"].as_u64()
}

#[test]
fn supervises_nestor_dhcp4() {
    let Some(binary) = nestor_dhcp4() else { return };
    let lab = Lab::new();
    let d4_conf = lab.write_json("kea-dhcp4.conf", &dhcp4_config(&lab, 4000));
    // No dhcp4_srv: the default binary beside nestorctl.
    let conf = lab.write(
        "nestorctl.conf",
        &format!(
            "nestor_dhcp4_config_file={}\nctrl_agent=no\n",
            d4_conf.display()
        ),
    );
    let c = conf.to_str().unwrap();

    let r = lab.nestorctl(&["start", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "INFO/nestorctl: Starting {} -c {}\n",
            binary.display(),
            d4_conf.display()
        )),
        "{r:?}"
    );
    let pid = lab
        .pid("kea-dhcp4", "nestor-dhcp4")
        .expect("kea-dhcp4.nestor-dhcp4.pid");
    assert!(alive_as(pid, "nestor-dhcp4"));
    assert!(wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || valid_lifetime(&lab) == Some(4000)
    ));

    let r = lab.nestorctl(&["status", "-c", c]);
    assert!(
        r.stdout
            .starts_with("DHCPv4 server: active\nControl Agent: inactive\n"),
        "{r:?}"
    );
    let r = lab.nestorctl(&["start", "-c", c]);
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: nestor-dhcp4 appears to be running, see: PID {pid}, PID file: {}.",
            lab.pid_file("kea-dhcp4", "nestor-dhcp4").display()
        )),
        "{r:?}"
    );

    // A broken file is refused by `nestor-dhcp4 -t` before SIGHUP; the old config stays.
    let mut bad = dhcp4_config(&lab, 4000);
    bad["Dhcp4"]["valid-lifetime"] = json!("forever");
    lab.write_json("kea-dhcp4.conf", &bad);
    let r = lab.nestorctl(&["reload", "-c", c]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("nestor-dhcp4 refused its configuration file"),
        "{r:?}"
    );
    assert!(r.stderr.contains("not reloaded"), "{r:?}");

    lab.write_json("kea-dhcp4.conf", &dhcp4_config(&lab, 6000));
    let r = lab.nestorctl(&["reload", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    // reload and stop take the selected daemons whether enabled or not, as keactrl.
    assert_eq!(
        r.stdout,
        "INFO/nestorctl: Reloading nestor-dhcp4...\nINFO/nestorctl: nestor-ctrl-agent isn't running.\n"
    );
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            valid_lifetime(&lab) == Some(6000)
        }),
        "nestor-dhcp4 did not re-read its config on SIGHUP"
    );
    assert_eq!(lab.pid("kea-dhcp4", "nestor-dhcp4"), Some(pid));

    let r = lab.nestorctl(&["version", "-c", c]);
    assert_eq!(
        r.stdout,
        format!(
            "nestorctl: {v}\nnestor-dhcp4: {v}\n",
            v = env!("CARGO_PKG_VERSION")
        ),
        "{r:?}"
    );

    let r = lab.nestorctl(&["stop", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "INFO/nestorctl: Stopping nestor-dhcp4...\nINFO/nestorctl: nestor-ctrl-agent isn't running.\n"
    );
    assert!(!alive_as(pid, "nestor-dhcp4"));
    assert_eq!(
        lab.pid("kea-dhcp4", "nestor-dhcp4"),
        None,
        "PID file removed on exit"
    );
}
