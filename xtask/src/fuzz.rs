//! `cargo xtask fuzz [SECONDS]`: every fuzz target for SECONDS each (default 600) with
//! cargo-fuzz, printing libFuzzer's final statistics.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{on_path, workspace_root};

/// Fuzz targets: (cargo-fuzz project directory, target name).
const FUZZ_TARGETS: &[(&str, &str)] = &[
    ("crates/proto/fuzz", "packet_view"),
    ("crates/proto/fuzz", "roundtrip"),
    ("crates/proto/fuzz", "frame"),
    ("crates/config/fuzz", "config_parser"),
];

pub(crate) fn fuzz(seconds: Option<&str>) -> Result<()> {
    let seconds: u64 = seconds
        .unwrap_or("600")
        .parse()
        .context("SECONDS must be a number")?;
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
        eprintln!(
            "+ (in {}) cargo fuzz run {target} -- {max_time}",
            dir.display()
        );
        let status = Command::new("cargo")
            .args([
                "fuzz",
                "run",
                target,
                "--",
                &max_time,
                "-print_final_stats=1",
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&dir)
            .status()
            .context("cannot run cargo fuzz")?;
        if !status.success() {
            bail!(
                "fuzz target {target} found a failure ({status}); see {}/artifacts",
                dir.display()
            );
        }
    }
    Ok(())
}
