//! A DORA load generator in Rust, for rates perfdhcp cannot offer from one core.
//!
//! It plays a relay agent at 198.18.0.2: DISCOVERs (giaddr set, hops 1) go by UDP from port 67 to
//! the server's port 67, and the server answers the relay by unicast to port 67, the way
//! perfdhcp runs too. Each exchange `i` is a new DORA with xid `i` from simulated client
//! `i % clients` (hardware address `02:00:` + the client number); an OFFER is answered at once
//! with a REQUEST (SELECTING: options 50 and 54 from the OFFER). Packets are built and read with
//! the server's own codec (`nestor-proto`).
//!
//! One thread sends on schedule (`rate` per second, in bursts of at most [`BURST`]) and drains
//! the socket between bursts, so a slow server shows up as loss, not as a slower generator. An
//! exchange counts as completed if its ACK arrives within [`DROP_TIME`] of its DISCOVER (as
//! perfdhcp's `-d 1`). The DORA time (DISCOVER sent to ACK received) of every completed exchange
//! is kept, so the report has percentiles, which perfdhcp does not give.
//!
//! It runs as `xtask bench-loadgen ...` inside the client namespace (pinned like perfdhcp) and
//! prints its report as one JSON object on stdout.

use std::fs::File;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};
use nestor_test_support::{ChildGuard, Netns};
use serde_json::{Value, json};

use super::lab::{CLIENT_ADDR, Pinning, SERVER_ADDR};
use super::trial::{Exchange, Percentiles, Trial};

/// Time after its DISCOVER within which an exchange must end with an ACK.
const DROP_TIME: Duration = Duration::from_secs(1);
/// Time after the last DISCOVER to wait for late answers.
const EXIT_WAIT: Duration = Duration::from_secs(1);
/// Most DISCOVERs sent before the socket is drained again.
const BURST: u64 = 32;
/// Most datagrams read before sending again.
const DRAIN: usize = 256;
/// Upper bound of exchanges in one run (the per-exchange table is 32 bytes an entry).
const MAX_EXCHANGES: u64 = 20_000_000;
const PORT: u16 = 67;

/// What one generator run is asked to do (in the parent).
#[derive(Debug, Clone)]
pub(crate) struct LoadgenRun<'a> {
    /// A release build of xtask (a debug build would be the bottleneck).
    pub exe: &'a Path,
    pub client_ns: &'a Netns,
    pub rate: u32,
    pub clients: u32,
    pub duration: Duration,
    pub pinning: &'a Pinning,
    pub output: PathBuf,
}

impl LoadgenRun<'_> {
    pub(crate) fn describe(&self) -> String {
        format!(
            "xtask bench-loadgen --rate {} --clients {} --duration {}",
            self.rate,
            self.clients,
            self.duration.as_secs()
        )
    }

    /// Runs the generator in the client namespace (this same program, pinned) and returns its
    /// report with the CPU time it used.
    pub(crate) fn run(&self) -> Result<Trial> {
        let mut command = self.client_ns.command("taskset");
        command
            .args(["-c", &self.pinning.generator_cpu.to_string()])
            .arg(self.exe)
            .arg("bench-loadgen")
            .args(["--rate", &self.rate.to_string()])
            .args(["--clients", &self.clients.to_string()])
            .args(["--duration", &self.duration.as_secs().to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&self.output).context("generator output file")?)
            .stderr(Stdio::inherit());
        let before = super::perfdhcp::children_cpu()?;
        let mut child = ChildGuard::spawn(&mut command)?;
        let bound = self.duration + EXIT_WAIT + Duration::from_secs(20);
        let status = child.wait_timeout(bound)?;
        let cpu = super::perfdhcp::children_cpu()?.saturating_sub(before);
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        match status {
            None => bail!("{} did not finish within {bound:?}", self.describe()),
            Some(s) if !s.success() => bail!("{} failed ({s}): {text}", self.describe()),
            Some(_) => {}
        }
        let report: Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: unreadable report {text:?}", self.describe()))?;
        let exchange = |v: &Value| -> Option<Exchange> {
            Some(Exchange {
                sent: v["sent"].as_u64()?,
                received: v["received"].as_u64()?,
                drops: v["drops"].as_u64()?,
                min_ms: v["min_ms"].as_f64()?,
                avg_ms: v["avg_ms"].as_f64()?,
                max_ms: v["max_ms"].as_f64()?,
            })
        };
        for (key, what) in [
            ("naks", "NAKs"),
            ("send_would_block", "packets not sent (socket buffer full)"),
            ("stray", "unexpected datagrams"),
        ] {
            if let Some(n) = report[key].as_u64().filter(|&n| n > 0) {
                eprintln!("   generator at {}/s: {n} {what}", self.rate);
            }
        }
        let dora = &report["dora_ms"];
        Ok(Trial {
            requested_rate: self.rate,
            duration: self.duration,
            discover: exchange(&report["discover"]).context("report without discover")?,
            request: exchange(&report["request"]).context("report without request")?,
            generator_cpu: cpu,
            server_cpu: Duration::ZERO,
            server_acks: None,
            server_offers: None,
            latency: Some(Percentiles {
                p50_ms: dora["p50"].as_f64().unwrap_or(f64::NAN),
                p90_ms: dora["p90"].as_f64().unwrap_or(f64::NAN),
                p99_ms: dora["p99"].as_f64().unwrap_or(f64::NAN),
                max_ms: dora["max"].as_f64().unwrap_or(f64::NAN),
            }),
        })
    }
}

/// `xtask bench-loadgen --rate R --clients C --duration S` (inside the client namespace).
pub(crate) fn main(args: &[String]) -> Result<()> {
    let mut rate = None;
    let mut clients = None;
    let mut duration = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number: u64 = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--rate" => rate = Some(number),
            "--clients" => clients = Some(number),
            "--duration" => duration = Some(number),
            _ => bail!("unknown flag {flag}"),
        }
    }
    let (Some(rate), Some(clients), Some(duration)) = (rate, clients, duration) else {
        bail!("usage: xtask bench-loadgen --rate R --clients C --duration SECS");
    };
    if rate == 0 || clients == 0 || duration == 0 {
        bail!("rate, clients and duration must be positive");
    }
    let report = generate(rate, clients, Duration::from_secs(duration))?;
    println!("{report}");
    Ok(())
}

/// Per-exchange times in nanoseconds since the start (0: not yet).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    discover: u64,
    offer: u64,
    request: u64,
    ack: u64,
}

fn generate(rate: u64, clients: u64, duration: Duration) -> Result<Value> {
    let total = rate
        .saturating_mul(duration.as_secs())
        .min(MAX_EXCHANGES)
        .min(u64::from(u32::MAX));
    let mut slots = vec![Slot::default(); usize::try_from(total)?];
    let socket = UdpSocket::bind(SocketAddrV4::new(CLIENT_ADDR, PORT))
        .context("binding 198.18.0.2:67 (run inside the client namespace, as root)")?;
    socket.set_nonblocking(true)?;
    let server = SocketAddrV4::new(SERVER_ADDR, PORT);
    let mut builder = MessageBuilder::default();
    let mut out = Vec::with_capacity(600);
    let mut buf = vec![0u8; 2048];
    let limits = EncodeLimits::default();
    let mut naks = 0u64;
    let mut stray = 0u64;
    let mut send_errors = 0u64;
    let mut requests = 0u64;
    let mut acked = 0u64;

    let start = Instant::now();
    let send_end = duration;
    let hard_end = duration + EXIT_WAIT;
    let ns = |since: Instant| u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut sent = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= hard_end {
            break;
        }
        let mut busy = false;
        // Send what the schedule says is due by now, at most a burst.
        if elapsed < send_end && sent < total {
            let due = ((elapsed.as_secs_f64() * rate as f64) as u64 + 1).min(total);
            let burst_end = due.min(sent + BURST);
            while sent < burst_end {
                let xid = u32::try_from(sent)?;
                let client = sent % clients;
                build(&mut builder, MessageType::Discover, xid, client, None)?;
                builder.encode_into(&mut out, &limits)?;
                if let Some(slot) = slots.get_mut(usize::try_from(sent)?) {
                    slot.discover = ns(start).max(1);
                }
                match socket.send_to(&out, server) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => send_errors += 1,
                    Err(e) => return Err(e).context("sending a DISCOVER"),
                }
                sent += 1;
                busy = true;
            }
        } else if acked == sent {
            // Everything answered: no straggler to wait for.
            break;
        }
        // Drain the answers.
        for _ in 0..DRAIN {
            let len = match socket.recv_from(&mut buf) {
                Ok((len, _)) => len,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).context("receiving"),
            };
            busy = true;
            let now = ns(start);
            let Some(packet) = buf.get(..len).and_then(|b| Packet::parse(b).ok()) else {
                stray += 1;
                continue;
            };
            let xid = packet.xid();
            let Some(slot) = slots.get_mut(xid as usize) else {
                stray += 1;
                continue;
            };
            match packet.message_type() {
                Ok(Some(MessageType::Offer)) if slot.offer == 0 => {
                    slot.offer = now;
                    let server_id = packet.server_id().ok().flatten();
                    let offered = packet.yiaddr();
                    build(
                        &mut builder,
                        MessageType::Request,
                        xid,
                        u64::from(xid) % clients,
                        Some((offered, server_id.unwrap_or(SERVER_ADDR))),
                    )?;
                    builder.encode_into(&mut out, &limits)?;
                    slot.request = ns(start).max(1);
                    match socket.send_to(&out, server) {
                        Ok(_) => requests += 1,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => send_errors += 1,
                        Err(e) => return Err(e).context("sending a REQUEST"),
                    }
                }
                Ok(Some(MessageType::Ack)) if slot.ack == 0 && slot.request != 0 => {
                    slot.ack = now;
                    acked += 1;
                }
                Ok(Some(MessageType::Nak)) => naks += 1,
                _ => stray += 1,
            }
        }
        if !busy {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    let drop_ns = u64::try_from(DROP_TIME.as_nanos())?;
    let sent_slots = slots.get(..usize::try_from(sent)?).unwrap_or(&[]);
    let offers: Vec<u64> = sent_slots
        .iter()
        .filter(|s| s.offer != 0 && s.offer - s.discover <= drop_ns)
        .map(|s| s.offer - s.discover)
        .collect();
    let acks: Vec<u64> = sent_slots
        .iter()
        .filter(|s| s.ack != 0 && s.ack - s.discover <= drop_ns)
        .map(|s| s.ack - s.request)
        .collect();
    let mut dora: Vec<u64> = sent_slots
        .iter()
        .filter(|s| s.ack != 0 && s.ack - s.discover <= drop_ns)
        .map(|s| s.ack - s.discover)
        .collect();
    dora.sort_unstable();
    let exchange = |sent: u64, delays: &[u64]| {
        let received = delays.len() as u64;
        let ms = |n: u64| n as f64 / 1e6;
        json!({
            "sent": sent, "received": received, "drops": sent.saturating_sub(received),
            "min_ms": delays.iter().min().map_or(0.0, |&d| ms(d)),
            "avg_ms": if delays.is_empty() { 0.0 } else {
                ms(delays.iter().sum::<u64>()) / delays.len() as f64 },
            "max_ms": delays.iter().max().map_or(0.0, |&d| ms(d)),
        })
    };
    Ok(json!({
        "discover": exchange(sent, &offers),
        "request": exchange(requests, &acks),
        "dora_ms": {
            "p50": percentile(&dora, 0.50), "p90": percentile(&dora, 0.90),
            "p99": percentile(&dora, 0.99), "max": percentile(&dora, 1.0),
        },
        "naks": naks, "stray": stray, "send_would_block": send_errors,
    }))
}

/// The `q` quantile (0..=1) of sorted nanoseconds, in milliseconds (nearest rank).
fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).map(|&n| n as f64 / 1e6)
}

/// Fills `b` with a relayed client message of exchange `xid` from client `client`;
/// `select` is (requested address, server identifier) for a REQUEST.
fn build(
    b: &mut MessageBuilder,
    kind: MessageType,
    xid: u32,
    client: u64,
    select: Option<(Ipv4Addr, Ipv4Addr)>,
) -> Result<()> {
    let [_, _, _, _, c0, c1, c2, c3] = client.to_be_bytes();
    let mac = [0x02, 0x00, c0, c1, c2, c3];
    b.reset(nestor_proto::pkt::BOOTREQUEST);
    b.set_xid(xid).set_chaddr(&mac)?;
    b.set_hops(1).set_giaddr(CLIENT_ADDR);
    b.set_message_type(kind);
    // The options a typical client asks for: subnet mask, routers, DNS, domain name.
    b.add_option(55, &[1, 3, 6, 15])?;
    if let Some((address, server_id)) = select {
        b.add_option(50, &address.octets())?;
        b.add_option(54, &server_id.octets())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn request_carries_the_offer() {
        let mut b = MessageBuilder::default();
        let offered = Ipv4Addr::new(198, 18, 1, 7);
        build(
            &mut b,
            MessageType::Request,
            77,
            0x0102_0304,
            Some((offered, SERVER_ADDR)),
        )
        .unwrap();
        let mut out = Vec::new();
        b.encode_into(&mut out, &EncodeLimits::default()).unwrap();
        let p = Packet::parse(&out).unwrap();
        assert_eq!(p.xid(), 77);
        assert_eq!(p.chaddr(), &[2, 0, 1, 2, 3, 4]);
        assert_eq!(p.giaddr(), CLIENT_ADDR);
        assert_eq!(p.message_type().unwrap(), Some(MessageType::Request));
        assert_eq!(p.requested_address().unwrap(), Some(offered));
        assert_eq!(p.server_id().unwrap(), Some(SERVER_ADDR));
    }
}
