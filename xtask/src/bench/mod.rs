//! `cargo xtask bench`: Nestor against Kea 2.2, measured in the same run on the same machine.
//!
//! * `dhcp4`: the highest DORA rate each server sustains with under 1 % loss (memfile, persist
//!   on, a fresh lease file for every run), found by [`search`] with perfdhcp and with the
//!   built-in generator ([`loadgen`]), then latency at rates every server sustained. The lab
//!   ([`lab`]) is one L2 segment in network namespaces; the server and the generator are pinned
//!   to one CPU each (`taskset`), Kea single-threaded and multi-threaded (4 threads, queue 28),
//!   Nestor with its defaults.
//! * `memfile`: start time and RSS with a million leases in a Kea-format lease file
//!   ([`memory`]).
//! * `codec`: the criterion codec benchmark of `nestor-proto` (`docs/benchmarks-codec.md`).
//!
//! Root is needed (namespaces, AF_PACKET). Every process is stopped by PID and every namespace
//! deleted by guards, also on error or panic. The tables ([`report`]) are printed at the end
//! and, with `--write-docs`, written into `docs/benchmarks.md` between its markers.

mod interrupt;
mod lab;
mod loadgen;
mod memory;
mod perfdhcp;
mod report;
mod search;
mod trial;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nestor_test_support::find_tool;

use lab::{Binaries, Lab, Pinning, RunningServer, ServerKind, dora_config};
use report::{DoraResult, LatencyPoint, Machine, Results};
use search::SearchLimits;
use trial::Trial;

pub(crate) use loadgen::main as loadgen_main;

/// Which part of the benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Only {
    Dhcp4,
    Memfile,
    Codec,
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub quick: bool,
    pub only: Option<Only>,
    pub duration: Option<u64>,
    pub write_docs: bool,
    pub leases: u32,
    args: Vec<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            quick: false,
            only: None,
            duration: None,
            write_docs: false,
            leases: 1_000_000,
            args: args.to_vec(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--write-docs" => options.write_docs = true,
                "--only" => {
                    options.only = Some(match it.next().map(String::as_str) {
                        Some("dhcp4") => Only::Dhcp4,
                        Some("memfile") => Only::Memfile,
                        Some("codec") => Only::Codec,
                        other => bail!("--only dhcp4|memfile|codec, not {other:?}"),
                    });
                }
                "--duration" => {
                    let secs: u64 = it
                        .next()
                        .context("--duration SECS")?
                        .parse()
                        .context("--duration SECS: a whole number of seconds")?;
                    if !(1..=300).contains(&secs) {
                        bail!("--duration: 1 to 300 seconds");
                    }
                    options.duration = Some(secs);
                }
                "--leases" => {
                    options.leases = it
                        .next()
                        .context("--leases N")?
                        .parse()
                        .context("--leases N: a number")?;
                    if !(1..=16_000_000).contains(&options.leases) {
                        bail!("--leases: 1 to 16 000 000");
                    }
                }
                other => bail!("unknown argument {other:?}"),
            }
        }
        Ok(options)
    }

    fn runs(&self, part: Only) -> bool {
        self.only.is_none_or(|o| o == part)
    }

    fn trial_duration(&self) -> Duration {
        Duration::from_secs(self.duration.unwrap_or(if self.quick { 3 } else { 10 }))
    }

    fn limits(&self, start: u32) -> SearchLimits {
        SearchLimits {
            start,
            max_rate: 400_000,
            max_trials: if self.quick { 8 } else { 12 },
            precision: if self.quick { 0.15 } else { 0.05 },
            budget: Duration::from_secs(if self.quick { 120 } else { 600 }),
        }
    }
}

/// The generators compared.
const PERFDHCP: &str = "perfdhcp";
const LOADGEN: &str = "xtask loadgen";

/// Simulated clients: fewer than the pool holds, so a run never exhausts it however long.
const CLIENTS: u32 = 100_000;

pub(crate) fn bench(options: &Options) -> Result<()> {
    if options.only == Some(Only::Codec) {
        return crate::run(
            "cargo",
            &[
                "bench",
                "-p",
                "nestor-proto",
                "--bench",
                "codec",
                "--",
                "--warm-up-time",
                "1",
            ],
        );
    }
    interrupt::install()?;
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "cargo xtask bench needs root: it creates network namespaces and the servers open \
             AF_PACKET sockets (run it as root, e.g. `sudo -E cargo xtask bench`)"
        );
    }
    let tool = |name: &str, package: &str| {
        find_tool(name)
            .with_context(|| format!("{name} is not installed (apt-get install {package})"))
    };
    let kea = tool("kea-dhcp4", "kea-dhcp4-server")?;
    let perfdhcp = tool("perfdhcp", "kea-admin")?;
    tool("taskset", "util-linux")?;
    tool("ip", "iproute2")?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 {
        bail!("the benchmark pins the server and the generator to one CPU each: it needs 2");
    }
    let pinning = Pinning {
        server_cpu: 0,
        generator_cpu: 1,
    };

    // Release builds of the server and of the built-in generator (this program).
    crate::run(
        "cargo",
        &["build", "--release", "-p", "nestor-dhcp4", "-p", "xtask"],
    )?;
    let release = crate::workspace_root().join("target/release");
    let binaries = Binaries {
        nestor: release.join("nestor-dhcp4"),
        kea,
        loadgen: release.join("xtask"),
    };
    let mut machine = Machine::probe(&[
        ("nestor-dhcp4", &binaries.nestor, "-v"),
        ("kea-dhcp4", &binaries.kea, "-v"),
        ("perfdhcp", &perfdhcp, "-v"),
        ("rustc", Path::new("rustc"), "-V"),
    ]);
    if let Err(busy) = report::check_quiet(1.5) {
        eprintln!(
            "WARNING: {busy}: other work is running; the figures will be noisy (the load \
             average is recorded with them)"
        );
    }
    let mut results = Results {
        command: format!("cargo xtask bench {}", options.args.join(" "))
            .trim_end()
            .to_owned(),
        ..Results::default()
    };
    let started = Instant::now();
    if options.runs(Only::Dhcp4) {
        dhcp4(options, &binaries, &perfdhcp, pinning, &mut results)?;
    }
    if options.runs(Only::Memfile) {
        memfile(options, &binaries, pinning, &mut results)?;
    }
    machine.load_end = report::load_average();
    results.notes.push(format!(
        "The whole benchmark took {}.",
        report::secs(started.elapsed())
    ));
    let section = report::render(&machine, &results);
    println!("\n{section}");
    if options.write_docs {
        let path = crate::workspace_root().join("docs/benchmarks.md");
        report::write_docs(&path, &section)?;
        eprintln!("figures written into {}", path.display());
    }
    Ok(())
}

/// Starts `kind` afresh (new directory, empty lease file), runs one generator run against it
/// and adds the server's CPU time to the trial.
fn trial_on_fresh_server(
    lab: &Lab,
    kind: ServerKind,
    binaries: &Binaries,
    pinning: Pinning,
    generate: impl FnOnce() -> Result<Trial>,
) -> Result<Trial> {
    interrupt::check()?;
    let mut server = RunningServer::start(
        &lab.server_ns,
        kind,
        binaries,
        pinning.server_cpu,
        |dir| dora_config(kind, &lab.server_if, dir),
        |_| Ok(()),
        Duration::from_secs(30),
    )?;
    // status-get answers once the configuration is applied; give the packet sockets the same
    // moment to be opened by every server.
    std::thread::sleep(Duration::from_millis(300));
    let cpu_before = server.cpu_time()?;
    let mut trial = generate()?;
    trial.server_cpu = server.cpu_time()?.saturating_sub(cpu_before);
    let statistic = |name: &str| {
        server
            .command(&serde_json::json!({"command": "statistic-get",
                                         "arguments": {"name": name}}))
            .ok()
            .and_then(|a| a["arguments"][name][0][0].as_u64())
    };
    trial.server_offers = statistic("pkt4-offer-sent");
    trial.server_acks = statistic("pkt4-ack-sent");
    if !server.alive() {
        bail!(
            "{} died during the run:\n{}",
            kind.label(),
            server.log_tail()
        );
    }
    if trial.completed() == 0 {
        bail!(
            "{} completed no exchange at {}/s: is it serving?\n{}",
            kind.label(),
            trial.requested_rate,
            server.log_tail()
        );
    }
    Ok(trial)
}

fn dhcp4(
    options: &Options,
    binaries: &Binaries,
    perfdhcp: &Path,
    pinning: Pinning,
    results: &mut Results,
) -> Result<()> {
    let lab = Lab::new()?;
    let scratch = tempfile::Builder::new()
        .prefix("nestor-bench-out-")
        .tempdir()?;
    let duration = options.trial_duration();
    results.setup.extend([
        format!(
            "Lab: one L2 segment (a bridge in its own network namespace); server host \
             198.18.0.1/15, client host 198.18.0.2/15; pool {} ({} addresses), subnet {}.",
            lab::POOL,
            lab::POOL_SIZE,
            lab::SUBNET
        ),
        "Both servers: the same configuration (memfile, `persist: true`, LFC off, a fresh \
         lease file in a new temporary directory for every run, `dhcp-socket-type: raw` on the \
         server's veth, log severity WARN). Kea 2.2 single-threaded, and multi-threaded with \
         `thread-pool-size: 4`, `packet-queue-size: 28` (ARM 2.2's memfile recommendation); \
         Nestor with its defaults."
            .to_owned(),
        format!(
            "Pinning: the server runs on CPU {} and the generator on CPU {} (`taskset -c`), the \
             same for every server; a multi-threaded server therefore has one core for all its \
             threads.",
            pinning.server_cpu, pinning.generator_cpu
        ),
        format!(
            "Each run: {} s of DISCOVERs at the rate asked, from {CLIENTS} simulated clients \
             (relayed: giaddr 198.18.0.2), then 1 s for late answers; loss = DISCOVERs sent \
             without an ACK within 1 s. perfdhcp: `perfdhcp -4 -l eth0 -r RATE -R {CLIENTS} -p \
             {} -W 1000000`. Search: doubling from the start rate, then bisection, at most {} \
             runs and {} per server and generator, to within {:.0} %.",
            duration.as_secs(),
            duration.as_secs(),
            options.limits(0).max_trials,
            report::secs(options.limits(0).budget),
            options.limits(0).precision * 100.0
        ),
    ]);
    let kinds = [
        ServerKind::KeaSingle,
        ServerKind::KeaMulti,
        ServerKind::Nestor,
    ];
    let mut run_index = 0u32;
    let mut output = |name: &str| -> PathBuf {
        run_index += 1;
        scratch.path().join(format!("{run_index:03}-{name}.txt"))
    };
    let run_perfdhcp = |kind: ServerKind, rate: u32, output: PathBuf| -> Result<Trial> {
        trial_on_fresh_server(&lab, kind, binaries, pinning, || {
            perfdhcp::PerfdhcpRun {
                binary: perfdhcp,
                client_ns: &lab.client_ns,
                interface: &lab.client_if,
                rate,
                clients: CLIENTS,
                duration,
                pinning: &pinning,
                output,
            }
            .run()
        })
    };
    let run_loadgen = |kind: ServerKind, rate: u32, output: PathBuf| -> Result<Trial> {
        trial_on_fresh_server(&lab, kind, binaries, pinning, || {
            loadgen::LoadgenRun {
                exe: &binaries.loadgen,
                client_ns: &lab.client_ns,
                rate,
                clients: CLIENTS,
                duration,
                pinning: &pinning,
                output,
            }
            .run()
        })
    };
    for generator in [PERFDHCP, LOADGEN] {
        for kind in kinds {
            eprintln!("== {} with {generator}", kind.label());
            let start = if kind == ServerKind::Nestor {
                4000
            } else {
                1000
            };
            let search = search::search(options.limits(start), |rate| {
                let out = output(&format!("{}-{rate}", generator.replace(' ', "-")));
                let trial = if generator == PERFDHCP {
                    run_perfdhcp(kind, rate, out)?
                } else {
                    run_loadgen(kind, rate, out)?
                };
                eprintln!("   {}", trial.summary());
                Ok(trial)
            })?;
            if search.generator_bound {
                let t = search.trials.last();
                results.notes.push(format!(
                    "{generator} was the limit against {}: asked for {}/s it offered {:.0}/s \
                     using {:.0} % of its core, so the server's own limit is above what this \
                     generator can show.",
                    kind.label(),
                    t.map_or(0, |t| t.requested_rate),
                    t.map_or(0.0, Trial::offered_rate),
                    t.map_or(0.0, Trial::generator_load) * 100.0,
                ));
            }
            // A server that lost exchanges with CPU to spare, fed by a generator with CPU to
            // spare, was disturbed by something else on the machine.
            let first_failed = search
                .trials
                .iter()
                .filter(|t| !t.sustained())
                .min_by_key(|t| t.requested_rate);
            if let Some(t) = first_failed
                && !t.generator_saturated()
                && t.server_load() < 0.8
            {
                results.notes.push(format!(
                    "{} with {generator}: at {}/s, the first rate that failed, the server used \
                     only {:.0} % of its core and the generator {:.0} % of its own: the loss may \
                     come from other load on the machine rather than from the server's limit.",
                    kind.label(),
                    t.requested_rate,
                    t.server_load() * 100.0,
                    t.generator_load() * 100.0
                ));
            }
            results.dora.push(DoraResult {
                kind,
                generator,
                search,
            });
        }
    }
    // Latency with the built-in generator (it measures percentiles) at a low rate and at half
    // and 80 % of each Kea's limit, for every server that sustained that rate in its search.
    let limit = |kind: ServerKind| {
        results
            .dora
            .iter()
            .find(|r| r.generator == LOADGEN && r.kind == kind)
            .and_then(|r| r.search.best())
            .map_or(0, |t| t.requested_rate)
    };
    let mut rates = vec![1000u32];
    for kind in [ServerKind::KeaSingle, ServerKind::KeaMulti] {
        for percent in [50, 80] {
            let rate = limit(kind) / 100 * percent / 100 * 100;
            // Rates within 5 % of one already chosen would measure the same thing again.
            let distinct = rates.iter().all(|&r| rate.abs_diff(r) * 20 > r);
            if rate > 1000 && distinct {
                rates.push(rate);
            }
        }
    }
    rates.sort_unstable();
    for rate in rates {
        for kind in kinds {
            if limit(kind) < rate {
                continue;
            }
            eprintln!("== latency: {} at {rate}/s", kind.label());
            let trial = run_loadgen(kind, rate, output(&format!("latency-{rate}")))?;
            eprintln!("   {}", trial.summary());
            results.latency.push(LatencyPoint {
                kind,
                generator: LOADGEN,
                trial,
            });
        }
    }
    Ok(())
}

fn memfile(
    options: &Options,
    binaries: &Binaries,
    pinning: Pinning,
    results: &mut Results,
) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("nestor-bench-mem-")
        .tempdir()?;
    let file = dir.path().join("leases4.csv");
    eprintln!("== writing {} leases in Kea's CSV format", options.leases);
    memory::write_lease_file(&file, options.leases)?;
    let size = std::fs::metadata(&file)?.len();
    results.setup.push(format!(
        "Memfile load: {} leases of subnet 10.0.0.0/8 (a million addresses do not fit in \
         198.18.0.0/15; no interface is configured, no packet is sent), each with a hardware \
         address and a client identifier, {:.0} MB of CSV; the server is pinned to CPU {}.",
        options.leases,
        size as f64 / 1e6,
        pinning.server_cpu
    ));
    for kind in [ServerKind::Nestor, ServerKind::KeaSingle] {
        interrupt::check()?;
        eprintln!("== {} loading {} leases", kind.label(), options.leases);
        let result = memory::measure(kind, binaries, &file, options.leases, pinning.server_cpu)?;
        eprintln!(
            "   ready after {:.2} s, VmRSS {:.0} MB",
            result.ready.as_secs_f64(),
            result.rss_kib as f64 / 1024.0
        );
        results.memory.push(result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        let o = parse(&["--quick", "--only", "memfile", "--write-docs"]).unwrap();
        assert!(o.quick && o.write_docs);
        assert!(o.runs(Only::Memfile) && !o.runs(Only::Dhcp4));
        assert_eq!(o.trial_duration(), Duration::from_secs(3));
        let o = parse(&["--duration", "7"]).unwrap();
        assert_eq!(o.trial_duration(), Duration::from_secs(7));
        assert!(o.runs(Only::Dhcp4) && o.runs(Only::Memfile));
        assert!(parse(&["--only", "dhcp6"]).is_err());
        assert!(parse(&["--duration", "0"]).is_err());
        assert!(parse(&["--duration"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
