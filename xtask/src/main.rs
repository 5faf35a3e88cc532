//! `cargo xtask`: Nestor's developer and CI tasks, in Rust so they run wherever cargo does.
//!
//! * `cargo xtask ci`: what CI runs (`.ci/run` calls it): formatting, clippy with warnings as
//!   errors, then every test of the workspace. Under `CI=true` the external tools the tests need
//!   (Kea 2.2, real DHCP clients, tshark) must be present: a missing one fails the run instead of
//!   letting tests skip themselves.
//! * `cargo xtask fuzz [SECONDS]`: runs every fuzz target for SECONDS each (default 600) with
//!   cargo-fuzz, and prints each target's final libFuzzer statistics.
//! * `cargo xtask bench`: the benchmarks (criterion codec benchmark for now).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// Tools the test suite drives for real; CI installs them (see `.ci/run`).
const CI_TOOLS: &[(&str, &str)] = &[
    ("kea-dhcp4", "kea-dhcp4-server"),
    ("kea-ctrl-agent", "kea-ctrl-agent"),
    ("perfdhcp", "kea-admin"),
    ("dhclient", "isc-dhcp-client"),
    ("udhcpc", "udhcpc"),
    ("tshark", "tshark"),
    ("ping", "iputils-ping"),
];

/// Fuzz targets: (cargo-fuzz project directory, target name).
const FUZZ_TARGETS: &[(&str, &str)] = &[
    ("crates/proto/fuzz", "packet_view"),
    ("crates/proto/fuzz", "roundtrip"),
    ("crates/proto/fuzz", "frame"),
    ("crates/config/fuzz", "config_parser"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str)),
        Some("bench") => bench(),
        _ => {
            eprintln!("usage: cargo xtask <ci | fuzz [SECONDS] | bench>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command in the workspace root, echoing it first, and fails if it fails.
fn run(program: &str, args: &[&str]) -> Result<()> {
    run_in(&workspace_root(), program, args)
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file())
    })
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn ci() -> Result<()> {
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

fn fuzz(seconds: Option<&str>) -> Result<()> {
    let seconds: u64 = seconds.unwrap_or("600").parse().context("SECONDS must be a number")?;
    if !on_path("cargo-fuzz")
        && !std::env::var_os("HOME")
            .is_some_and(|h| Path::new(&h).join(".cargo/bin/cargo-fuzz").is_file())
    {
        bail!("cargo-fuzz is not installed: `cargo install cargo-fuzz`");
    }
    let max_time = format!("-max_total_time={seconds}");
    for (dir, target) in FUZZ_TARGETS {
        let dir = workspace_root().join(dir);
        // cargo-fuzz needs nightly features; the stable toolchain provides them with
        // RUSTC_BOOTSTRAP, which is scoped to this child process only.
        eprintln!("+ (in {}) cargo fuzz run {target} -- {max_time}", dir.display());
        let status = Command::new("cargo")
            .args(["fuzz", "run", target, "--", &max_time, "-print_final_stats=1"])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&dir)
            .status()
            .context("cannot run cargo fuzz")?;
        if !status.success() {
            bail!("fuzz target {target} found a failure ({status}); see {}/artifacts", dir.display());
        }
    }
    Ok(())
}

fn bench() -> Result<()> {
    run(
        "cargo",
        &["bench", "-p", "nestor-proto", "--bench", "codec", "--", "--warm-up-time", "1"],
    )
}
