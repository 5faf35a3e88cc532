//! `cargo xtask`: Nestor's developer and CI tasks, in Rust so they run wherever cargo does.
//!
//! * `cargo xtask ci`: what CI runs (`.ci/run` calls it): formatting, clippy with warnings as
//!   errors, then every test of the workspace. Under `CI=true` the external tools the tests need
//!   (Kea 2.2, real DHCP clients, tshark) must be present: a missing one fails the run instead of
//!   letting tests skip themselves.
//! * `cargo xtask lab [up [--fast] | status | down]`: the HA walkthrough in network namespaces
//!   (root): a hot-standby pair of nestor-dhcp4 + nestor-ctrl-agent under nestorctl and a client
//!   host on one L2 segment, see [`lab`].
//! * `cargo xtask fuzz [SECONDS]`: runs every fuzz target for SECONDS each (default 600) with
//!   cargo-fuzz, and prints each target's final libFuzzer statistics.
//! * `cargo xtask bench [--quick] [--only dhcp4|memfile|codec] [--duration SECS] [--write-docs]`:
//!   Nestor against Kea 2.2 in the same run (DORA rate and latency in network namespaces, memory
//!   and load time of a million-lease memfile), see [`bench`]; `--only codec` runs the criterion
//!   codec benchmark.

mod bench;
mod ci;
mod fuzz;
mod lab;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <ci | lab [up [--fast]|status|down] | fuzz [SECONDS] | bench [--quick] \
[--only dhcp4|memfile|codec] [--duration SECS] [--write-docs]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(),
        Some("lab") => lab::run(args.get(1..).unwrap_or_default(), &workspace_root()),
        Some("fuzz") => fuzz::fuzz(args.get(1).map(String::as_str)),
        // The built-in load generator, started by `bench` inside the client namespace.
        Some("bench-loadgen") => bench::loadgen_main(args.get(1..).unwrap_or_default()),
        Some("bench") => match bench::Options::parse(args.get(1..).unwrap_or_default()) {
            Ok(options) => bench::bench(&options),
            Err(err) => {
                eprintln!("xtask: {err:#}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
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
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}
