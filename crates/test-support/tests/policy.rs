//! The skip/fail policy end to end: this test binary runs its own `probe` test in a child
//! process, once as a developer would (no `CI`) and once as CI does, and looks at the verdict
//! and the words libtest reports.

// Test helpers outside `#[test]` functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use nestor_test_support::{require_root, require_tool};

/// Set by the outer test; without it `probe` does nothing, so running ignored tests by hand
/// cannot trip over it.
const PROBE: &str = "NESTOR_TEST_SUPPORT_POLICY_PROBE";

#[test]
#[ignore = "run by `missing_tool_skips_outside_ci_and_fails_in_ci` in a child process"]
fn probe() {
    match std::env::var(PROBE).as_deref() {
        Ok("tool") => {
            assert!(require_tool("nestor-no-such-tool", "nestor-no-such-package").is_none());
            println!("probe returned");
        }
        Ok("root") => {
            assert!(!require_root("the probe"));
            println!("probe returned");
        }
        _ => {}
    }
}

fn run_probe(kind: &str, ci: Option<&str>) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--ignored",
            "--exact",
            "probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE, kind);
    match ci {
        Some(value) => command.env("CI", value),
        None => command.env_remove("CI"),
    };
    command.output().unwrap()
}

#[test]
fn missing_tool_skips_outside_ci_and_fails_in_ci() {
    let skip_line = "*** SKIPPED: probe: nestor-no-such-tool not installed \
                     (apt-get install nestor-no-such-package) ***";
    for ci in [None, Some(""), Some("0"), Some("false")] {
        let out = run_probe("tool", ci);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "CI={ci:?}: {stderr}");
        assert!(stderr.contains(skip_line), "CI={ci:?}: {stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("probe returned"));
    }
    for ci in ["true", "1"] {
        let out = run_probe("tool", Some(ci));
        let all = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "CI={ci}: the probe passed:\n{all}");
        assert!(
            all.contains("nestor-no-such-tool not installed (apt-get install nestor-no-such-package); CI is set"),
            "CI={ci}: {all}"
        );
        assert!(!all.contains("probe returned"));
    }
}

#[test]
fn missing_root_skips_outside_ci_and_fails_in_ci() {
    // Run unprivileged: as root, the probe runs as `nobody`.
    let as_nobody = |ci| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--ignored",
                "--exact",
                "probe",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE, "root")
            .env_remove("CI");
        if ci {
            command.env("CI", "true");
        }
        if is_root() {
            std::os::unix::process::CommandExt::uid(&mut command, NOBODY);
            std::os::unix::process::CommandExt::gid(&mut command, NOBODY);
            command.current_dir("/");
        }
        command.output()
    };
    let out = match as_nobody(false) {
        Ok(out) => out,
        // The test binary sits under a directory `nobody` may not enter (a clone under /root).
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "note: `nobody` cannot run {:?} ({err}); root arm not checked",
                std::env::current_exe()
            );
            return;
        }
        Err(err) => panic!("{err}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("*** SKIPPED: probe: needs root for the probe ***"),
        "{stderr}"
    );
    let out = as_nobody(true).unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("needs root for the probe; CI is set"), "{all}");
}

/// Debian's `nobody`.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // /proc/self/status: "Uid: real effective saved fs".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}
