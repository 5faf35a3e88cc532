//! The benchmark's results: the machine they were measured on, the tables printed at the end
//! (Markdown, so the same text goes into `docs/benchmarks.md` between its markers), and the
//! ratios Nestor / Kea.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::lab::ServerKind;
use super::memory::LoadResult;
use super::search::SearchResult;
use super::trial::Trial;

pub(crate) const BEGIN: &str =
    "<!-- xtask-bench:begin (rewritten by `cargo xtask bench --write-docs`) -->";
pub(crate) const END: &str = "<!-- xtask-bench:end -->";

/// Where and when the figures were measured.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub load_start: String,
    pub load_end: String,
    pub versions: Vec<(String, String)>,
}

impl Machine {
    pub(crate) fn probe(programs: &[(&str, &Path, &str)]) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, m)| m.trim().to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned());
        let versions = programs
            .iter()
            .map(|(name, path, flag)| ((*name).to_owned(), version_of(path, flag)))
            .collect();
        Self {
            date: utc_now(),
            cpus,
            cpu_model,
            kernel,
            load_start: load_average(),
            load_end: String::new(),
            versions,
        }
    }
}

/// The first line a program prints for its version flag.
fn version_of(program: &Path, flag: &str) -> String {
    Command::new(program)
        .arg(flag)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The 1-minute load average.
pub(crate) fn load_1min() -> f64 {
    load_average()
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0.0)
}

/// Now as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// One server's rate search with one generator.
#[derive(Debug, Clone)]
pub(crate) struct DoraResult {
    pub kind: ServerKind,
    pub generator: &'static str,
    pub search: SearchResult,
}

/// A run at a rate every server sustained, for latency.
#[derive(Debug, Clone)]
pub(crate) struct LatencyPoint {
    pub kind: ServerKind,
    pub generator: &'static str,
    pub trial: Trial,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Results {
    pub command: String,
    pub setup: Vec<String>,
    pub dora: Vec<DoraResult>,
    pub latency: Vec<LatencyPoint>,
    pub memory: Vec<LoadResult>,
    pub notes: Vec<String>,
}

fn ratio(nestor: f64, kea: f64) -> String {
    if kea > 0.0 && nestor.is_finite() && kea.is_finite() {
        format!("{:.2}", nestor / kea)
    } else {
        "-".into()
    }
}

fn ms(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

/// The figures section, in Markdown.
pub(crate) fn render(machine: &Machine, results: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Measured {} with `{}`.\n", machine.date, results.command);
    let _ = writeln!(
        s,
        "Machine: {} CPUs ({}), Linux {}; load average (1/5/15 min) {} at the start, {} at the end \
         (other sessions may have been compiling).",
        machine.cpus, machine.cpu_model, machine.kernel, machine.load_start, machine.load_end
    );
    let versions: Vec<String> = machine
        .versions
        .iter()
        .map(|(n, v)| format!("{n}: `{v}`"))
        .collect();
    let _ = writeln!(s, "Versions: {}.\n", versions.join(", "));
    for line in &results.setup {
        let _ = writeln!(s, "* {line}");
    }
    if !results.dora.is_empty() {
        let _ = writeln!(
            s,
            "\n### Highest DORA rate with under 1 % loss\n\n\
             | server | generator | highest rate sustained (DORA/s) | loss there | server CPU | generator CPU | first rate failed | search ended by | Nestor / this |\n\
             |---|---|---:|---:|---:|---:|---:|---|---:|"
        );
        for r in &results.dora {
            let best = r.search.best();
            let nestor_search = results
                .dora
                .iter()
                .find(|n| n.kind == ServerKind::Nestor && n.generator == r.generator)
                .map(|n| &n.search);
            let nestor = nestor_search
                .and_then(SearchResult::best)
                .map_or(f64::NAN, |t| f64::from(t.requested_rate));
            let rate = best.map_or(0.0, |t| f64::from(t.requested_rate));
            // A limit the generator hid is a lower bound: so is a ratio over it, and a ratio
            // of two lower bounds says nothing.
            let nestor_bound = nestor_search.is_some_and(|n| n.generator_bound);
            let versus = match (nestor_bound, r.search.generator_bound) {
                (_, true) => "-".to_owned(),
                (true, false) => format!(">= {}", ratio(nestor, rate)),
                (false, false) => ratio(nestor, rate),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {}{} | {} | {} | {} | {} | {} | {} |",
                r.kind.label(),
                r.generator,
                if r.search.generator_bound { ">= " } else { "" },
                best.map_or_else(|| "none".into(), |t| t.requested_rate.to_string()),
                best.map_or_else(|| "-".into(), |t| format!("{:.2} %", t.loss() * 100.0)),
                best.map_or_else(
                    || "-".into(),
                    |t| format!("{:.0} %", t.server_load() * 100.0)
                ),
                best.map_or_else(
                    || "-".into(),
                    |t| format!("{:.0} %", t.generator_load() * 100.0)
                ),
                r.search
                    .first_failure
                    .map_or_else(|| "-".into(), |f| f.to_string()),
                r.search.stopped,
                if r.kind == ServerKind::Nestor {
                    "1".into()
                } else {
                    versus
                },
            );
        }
        let _ = writeln!(
            s,
            "\nEvery run of the searches (rate asked, what was offered and completed):\n"
        );
        let _ = writeln!(s, "```");
        for r in &results.dora {
            let _ = writeln!(s, "{} with {}:", r.kind.label(), r.generator);
            for t in &r.search.trials {
                let _ = writeln!(s, "  {}", t.summary());
            }
        }
        let _ = writeln!(s, "```");
    }
    let cross = cross_check(results);
    if !cross.is_empty() {
        let _ = writeln!(
            s,
            "\n### perfdhcp and the built-in generator at the same rates\n\n\
             The runs of both searches that asked the same server for the same rate.\n\n\
             | server | rate (DORA/s) | perfdhcp: loss, DO avg, RA avg, its CPU | xtask loadgen: loss, DO avg, RA avg, its CPU | OFFERs + ACKs sent by the server (perfdhcp run / loadgen run) |\n\
             |---|---:|---|---|---|"
        );
        for (kind, p, l) in cross {
            let cell = |t: &Trial| {
                format!(
                    "{:.2} %, {:.3} ms, {:.3} ms, {:.0} %",
                    t.loss() * 100.0,
                    t.discover.avg_ms,
                    t.request.avg_ms,
                    t.generator_load() * 100.0
                )
            };
            let acks = |t: &Trial| match (t.server_offers, t.server_acks) {
                (Some(o), Some(a)) => (o + a).to_string(),
                _ => "?".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} / {} |",
                kind.label(),
                p.requested_rate,
                cell(p),
                cell(l),
                acks(p),
                acks(l)
            );
        }
    }
    if !results.latency.is_empty() {
        let _ = writeln!(
            s,
            "\n### Latency at rates every server sustained\n\n\
             DO / RA: DISCOVER-OFFER and REQUEST-ACK averages; DORA: DISCOVER sent to ACK received \
             (percentiles from the built-in generator; perfdhcp gives min/avg/max only).\n\n\
             | rate (DORA/s) | server | generator | loss | DO avg ms | RA avg ms | DORA p50 ms | p90 ms | p99 ms | max ms | Nestor / this (p99) |\n\
             |---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &results.latency {
            let nestor_p99 = results
                .latency
                .iter()
                .find(|n| {
                    n.kind == ServerKind::Nestor
                        && n.generator == p.generator
                        && n.trial.requested_rate == p.trial.requested_rate
                })
                .and_then(|n| n.trial.latency)
                .map_or(f64::NAN, |l| l.p99_ms);
            let l = p.trial.latency;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.2} % | {:.3} | {:.3} | {} | {} | {} | {} | {} |",
                p.trial.requested_rate,
                p.kind.label(),
                p.generator,
                p.trial.loss() * 100.0,
                p.trial.discover.avg_ms,
                p.trial.request.avg_ms,
                ms(l.map(|l| l.p50_ms)),
                ms(l.map(|l| l.p90_ms)),
                ms(l.map(|l| l.p99_ms)),
                ms(l.map(|l| l.max_ms)),
                if p.kind == ServerKind::Nestor {
                    "1".into()
                } else {
                    ratio(nestor_p99, l.map_or(f64::NAN, |l| l.p99_ms))
                }
            );
        }
    }
    if !results.memory.is_empty() {
        let _ = writeln!(
            s,
            "\n### Loading a memfile of a million leases\n\n\
             | server | leases loaded | start until `status-get` answers with all leases counted | RSS (VmRSS) | Nestor / this (time) | Nestor / this (RSS) |\n\
             |---|---:|---:|---:|---:|---:|"
        );
        let nestor = results.memory.iter().find(|m| m.kind == ServerKind::Nestor);
        for m in &results.memory {
            let (t, r) = nestor.map_or((f64::NAN, f64::NAN), |n| {
                (n.ready.as_secs_f64(), n.rss_kib as f64)
            });
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} s | {:.0} MB | {} | {} |",
                m.kind.label(),
                m.leases,
                m.ready.as_secs_f64(),
                m.rss_kib as f64 / 1024.0,
                ratio(t, m.ready.as_secs_f64()),
                ratio(r, m.rss_kib as f64),
            );
        }
    }
    if !results.notes.is_empty() {
        let _ = writeln!(s);
        for n in &results.notes {
            let _ = writeln!(s, "* {n}");
        }
    }
    s
}

/// Pairs of runs, one per generator, at the same server and rate.
fn cross_check(results: &Results) -> Vec<(ServerKind, &Trial, &Trial)> {
    let mut pairs = Vec::new();
    for p in results.dora.iter().filter(|r| r.generator == "perfdhcp") {
        let Some(l) = results
            .dora
            .iter()
            .find(|l| l.kind == p.kind && l.generator != "perfdhcp")
        else {
            continue;
        };
        let mut matched: Vec<(ServerKind, &Trial, &Trial)> = p
            .search
            .trials
            .iter()
            .filter_map(|pt| {
                let lt = l
                    .search
                    .trials
                    .iter()
                    .find(|lt| lt.requested_rate == pt.requested_rate)?;
                Some((p.kind, pt, lt))
            })
            .collect();
        matched.sort_by_key(|(_, t, _)| t.requested_rate);
        pairs.extend(matched);
    }
    pairs
}

/// Replaces what lies between [`BEGIN`] and [`END`] in `path` with `section`.
pub(crate) fn write_docs(path: &Path, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let replaced = replace_between(&text, section).with_context(|| {
        format!(
            "{}: markers {BEGIN:?} ... {END:?} not found",
            path.display()
        )
    })?;
    std::fs::write(path, replaced).with_context(|| path.display().to_string())
}

fn replace_between(text: &str, section: &str) -> Option<String> {
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text.get(start..)?.find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        text.get(..start)?,
        section.trim_end(),
        text.get(end..)?
    ))
}

/// Fails when the load average says the machine was busy with something else.
pub(crate) fn check_quiet(limit: f64) -> Result<()> {
    let load = load_1min();
    if load > limit {
        bail!("1-minute load average {load:.2} > {limit}");
    }
    Ok(())
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_795_636_329), "2026-11-25 19:52 UTC");
    }

    #[test]
    fn markers_are_kept_and_the_middle_replaced() {
        let doc = format!("# B\nintro\n{BEGIN}\nold\nfigures\n{END}\nafter\n");
        let new = replace_between(&doc, "new figures\n").unwrap();
        assert_eq!(
            new,
            format!("# B\nintro\n{BEGIN}\nnew figures\n{END}\nafter\n")
        );
        assert!(replace_between("no markers", "x").is_none());
    }
}
