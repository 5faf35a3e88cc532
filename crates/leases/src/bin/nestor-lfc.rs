//! `nestor-lfc`: Lease File Cleanup, the counterpart of `kea-lfc` 2.2, started by
//! `nestor-dhcp4` every `lfc-interval` seconds (reference 5.4). A thin wrapper over
//! [`nestor_leases::memfile::lfc::run`] with kea-lfc's command line:
//! `nestor-lfc -4 -x <previous> -i <copy> -o <output> -f <finish> -p <pid> -c <config> [-d]`,
//! `-v`/`-V` print the version. Exit status 0 on success, 1 on a usage error or a failed
//! cleanup (as kea-lfc).

use std::path::PathBuf;
use std::process::ExitCode;

use nestor_leases::memfile::lfc::{LfcPaths, run};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// kea-lfc's limit of row errors per input file.
const MAX_ROW_ERRORS: u32 = 100;

const USAGE: &str = "Usage: nestor-lfc [-4|-6] -p file -x file -i file -o file -f file -c file [-d] [-v] [-V] [-W] [-h]";

#[derive(Debug, Default)]
struct Args {
    v4: bool,
    previous: Option<PathBuf>,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    finish: Option<PathBuf>,
    pid: Option<PathBuf>,
    config: Option<PathBuf>,
    verbose: bool,
}

enum Parsed {
    Run(Args),
    Version(bool),
    Help,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut a = Args::default();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("option {flag} requires an argument"))
        };
        match arg.as_str() {
            "-4" => a.v4 = true,
            "-6" => return Err("DHCPv6 lease files are not handled by nestor-lfc".into()),
            "-x" => a.previous = Some(value("-x")?),
            "-i" => a.input = Some(value("-i")?),
            "-o" => a.output = Some(value("-o")?),
            "-f" => a.finish = Some(value("-f")?),
            "-p" => a.pid = Some(value("-p")?),
            "-c" => a.config = Some(value("-c")?),
            "-d" => a.verbose = true,
            "-v" => return Ok(Parsed::Version(false)),
            "-V" | "-W" => return Ok(Parsed::Version(true)),
            "-h" => return Ok(Parsed::Help),
            other => return Err(format!("invalid argument: {other}")),
        }
    }
    if !a.v4 {
        return Err("DHCP version required: -4".into());
    }
    for (name, v) in [
        ("-x", &a.previous),
        ("-i", &a.input),
        ("-o", &a.output),
        ("-f", &a.finish),
        ("-p", &a.pid),
        ("-c", &a.config),
    ] {
        if v.is_none() {
            return Err(format!("missing mandatory option {name}"));
        }
    }
    Ok(Parsed::Run(a))
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Err(e) => {
            eprintln!("nestor-lfc: {e}\n{USAGE}");
            ExitCode::FAILURE
        }
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version(extended)) => {
            println!("{VERSION}");
            if extended {
                println!("nestor-leases {VERSION} (memfile CSV, Kea 2.2 schema 2.0)");
            }
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(a)) => {
            let (Some(previous), Some(input), Some(output), Some(finish), Some(pid)) =
                (a.previous, a.input, a.output, a.finish, a.pid)
            else {
                return ExitCode::FAILURE;
            };
            let paths = LfcPaths {
                previous,
                input,
                output,
                finish,
                pid,
            };
            match run(&paths, MAX_ROW_ERRORS) {
                Ok(report) => {
                    if a.verbose {
                        eprintln!(
                            "LFC_RUNNING_DONE lease file cleanup complete: {} leases written to {}",
                            report.leases_written,
                            paths.previous.display()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("LFC_FAIL_PROCESS lease file cleanup failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
