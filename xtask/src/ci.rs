//! `cargo xtask ci`: formatting, clippy with warnings as errors, then every test of the
//! workspace, after checking that the external tools the tests drive are installed (required
//! under `CI=true`, a warning elsewhere).

use anyhow::{Result, bail};

use crate::{on_path, run};

/// Tools the test suite drives for real; CI installs them (see `.ci/run`).
const CI_TOOLS: &[(&str, &str)] = &[
    ("kea-dhcp4", "kea-dhcp4-server"),
    ("kea-ctrl-agent", "kea-ctrl-agent"),
    ("perfdhcp", "kea-admin"),
    ("dhclient", "isc-dhcp-client"),
    ("udhcpc", "udhcpc"),
    ("tshark", "tshark"),
    ("ping", "iputils-ping"),
    ("openssl", "openssl"),
];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

pub(crate) fn ci() -> Result<()> {
    let missing: Vec<String> = CI_TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    if !missing.is_empty() {
        if in_ci() {
            bail!(
                "CI=true but tools the tests need are missing: {}",
                missing.join(", ")
            );
        }
        eprintln!(
            "WARNING: not installed: {}; the tests that drive them will say SKIPPED. \
             `.ci/run` installs everything.",
            missing.join(", ")
        );
    }
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run("cargo", &["test", "--workspace", "--no-fail-fast"])?;
    Ok(())
}
