//! Driving `perfdhcp -4` (Kea 2.2's load generator) and reading its final report.
//!
//! perfdhcp prints one block per exchange (`***Statistics for: DISCOVER-OFFER***`, then
//! `REQUEST-ACK`) with `sent packets`, `received packets`, `drops` and `min/avg/max delay` in
//! milliseconds. A DORA counts as completed when its ACK arrived, so the loss of a run is
//! `1 - ACKs received / DISCOVERs sent`: an OFFER that never came and an ACK that never came
//! both count. perfdhcp sends REQUESTs only for OFFERs it got, so the two blocks chain.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nestor_test_support::{ChildGuard, Netns};

use super::lab::Pinning;
use super::trial::{Exchange, Trial};

/// What one perfdhcp run is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct PerfdhcpRun<'a> {
    pub binary: &'a Path,
    pub client_ns: &'a Netns,
    pub interface: &'a str,
    pub rate: u32,
    pub clients: u32,
    pub duration: Duration,
    pub pinning: &'a Pinning,
    pub output: PathBuf,
}

/// How long perfdhcp waits for late answers after the test period (its `-W`, microseconds).
const EXIT_WAIT: Duration = Duration::from_secs(1);

impl PerfdhcpRun<'_> {
    /// The command line, for the report.
    pub(crate) fn describe(&self) -> String {
        format!(
            "perfdhcp -4 -l {} -r {} -R {} -p {} -W {}",
            self.interface,
            self.rate,
            self.clients,
            self.duration.as_secs(),
            EXIT_WAIT.as_micros()
        )
    }

    /// Runs perfdhcp to completion (bounded) and returns the parsed report with the CPU time
    /// perfdhcp used.
    pub(crate) fn run(&self) -> Result<Trial> {
        let mut command = self.client_ns.command("taskset");
        command
            .args(["-c", &self.pinning.generator_cpu.to_string()])
            .arg(self.binary)
            .args(["-4", "-l", self.interface])
            .args(["-r", &self.rate.to_string()])
            .args(["-R", &self.clients.to_string()])
            .args(["-p", &self.duration.as_secs().to_string()])
            .args(["-W", &EXIT_WAIT.as_micros().to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&self.output).context("perfdhcp output file")?)
            .stderr(Stdio::null());
        // perfdhcp is our direct child (taskset and `ip netns exec` exec it), so its CPU time is
        // in RUSAGE_CHILDREN once it is reaped, and nothing else of ours exits meanwhile.
        let before = children_cpu()?;
        let mut child = ChildGuard::spawn(&mut command)?;
        let bound = self.duration + EXIT_WAIT + Duration::from_secs(20);
        let status = child.wait_timeout(bound)?;
        let cpu = children_cpu()?.saturating_sub(before);
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let Some(status) = status else {
            bail!("{} did not finish within {bound:?}", self.describe());
        };
        // perfdhcp exits 3 when packets were dropped: that is a result, not a failure.
        if !matches!(status.code(), Some(0 | 3)) {
            bail!("{} failed ({status}):\n{text}", self.describe());
        }
        let (discover, request) = parse_report(&text)
            .with_context(|| format!("{}: unreadable report:\n{text}", self.describe()))?;
        Ok(Trial {
            requested_rate: self.rate,
            duration: self.duration,
            discover,
            request,
            generator_cpu: cpu,
            server_cpu: Duration::ZERO,
            server_acks: None,
            server_offers: None,
            latency: None,
        })
    }
}

/// CPU time (user + system) of the reaped children of this process.
pub(crate) fn children_cpu() -> Result<Duration> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .context("getrusage")?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    Ok(tv(usage.user_time()) + tv(usage.system_time()))
}

/// Parses the two exchange blocks of perfdhcp's final report.
pub(crate) fn parse_report(text: &str) -> Option<(Exchange, Exchange)> {
    let block = |title: &str| -> Option<Exchange> {
        let start = text.find(&format!("***Statistics for: {title}***"))?;
        let rest = text.get(start..)?;
        let body = rest
            .get(3..)
            .map_or(rest, |r| match r.find("***Statistics for:") {
                Some(end) => r.get(..end).unwrap_or(r),
                None => r,
            });
        let field = |name: &str| -> Option<f64> {
            body.lines()
                .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let count = |name: &str| field(name).map(|v| v as u64);
        Some(Exchange {
            sent: count("sent packets")?,
            received: count("received packets")?,
            drops: count("drops")?,
            min_ms: field("min delay")?,
            avg_ms: field("avg delay")?,
            max_ms: field("max delay")?,
        })
    };
    Some((block("DISCOVER-OFFER")?, block("REQUEST-ACK")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report perfdhcp 2.2 printed against nestor-dhcp4 in the benchmark's lab.
    const REPORT: &str = "Running: perfdhcp -4 -l eth0 -r 20000 -R 100000 -p 3 -W 1000000
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 12724 4-way exchanges/second, expected rate: 20000

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 59939
received packets: 51111
drops: 8828
drops ratio: 14.7 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.031 ms
avg delay: 2.155 ms
max delay: 4.972 ms
std deviation: 0.408 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 51111
received packets: 50905
drops: 206
drops ratio: 0.403 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.037 ms
avg delay: 1.035 ms
max delay: 8.315 ms
std deviation: 0.263 ms
collected packets: 0
";

    #[test]
    fn reads_both_exchanges() {
        let (d, r) = parse_report(REPORT).unwrap();
        assert_eq!((d.sent, d.received, d.drops), (59939, 51111, 8828));
        assert_eq!((r.sent, r.received, r.drops), (51111, 50905, 206));
        assert!((d.avg_ms - 2.155).abs() < 1e-9);
        assert!((r.min_ms - 0.037).abs() < 1e-9);
        assert!((r.max_ms - 8.315).abs() < 1e-9);
    }

    #[test]
    fn a_truncated_report_is_none() {
        let cut = REPORT.find("***Statistics for: REQUEST-ACK***").unwrap();
        assert!(parse_report(&REPORT[..cut]).is_none());
        assert!(parse_report("").is_none());
    }
}
