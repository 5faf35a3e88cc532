//! Loads a memfile of 1 000 000 generated leases and prints the load time and the RSS.
//!
//! `cargo run --release -p nestor-leases --example load_million [-- LEASES]`
//!
//! The file is generated first (every lease with a hardware address and a 7-byte client-id,
//! every other one with a hostname, 16 subnets), streamed to disk so that generating it leaves
//! nothing behind in memory; then `Memfile::open` replays it. Not a timed test: the figures
//! depend on the machine (the target: under 3 s and under 300 MB RSS).

use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::time::Instant;

use nestor_leases::csv::{HEADER, encode_row};
use nestor_leases::{ClientId, Hostname, HwAddr, Lease4, Memfile, MemfileConfig};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("nestor-load-million-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("leases4.csv");

    let started = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        writeln!(out, "{HEADER}")?;
        let mut row = String::with_capacity(256);
        for i in 0..count {
            let b = i.to_be_bytes();
            let mut lease = Lease4::new(
                Ipv4Addr::from(0x0a00_0000 + i),
                HwAddr::ether(&[0x02, 0x42, b[0], b[1], b[2], b[3]])?,
                Some(ClientId::new(&[1, 0x02, 0x42, b[0], b[1], b[2], b[3]])?),
                3600,
                1_795_000_000 + u64::from(i % 3600),
                1 + i % 16,
            );
            if i % 2 == 0 {
                lease.hostname = Hostname::new(&format!("host-{i}.example.org"));
            }
            row.clear();
            encode_row(&lease, &mut row)?;
            out.write_all(row.as_bytes())?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    println!(
        "generated {count} leases, {:.1} MB file, in {:.2} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // Parsing alone, to tell codec time from index time.
    let started = Instant::now();
    let mut parsed = 0u64;
    nestor_leases::memfile::load::read_lease_file(&path, 0, &mut |_| parsed += 1)?;
    println!(
        "parsed {parsed} rows (no store) in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let rss_before = status_kib("VmRSS:");
    let started = Instant::now();
    let config = MemfileConfig {
        persist: false,
        ..MemfileConfig::new(&path)
    };
    let (store, report) = Memfile::open(&config)?;
    let elapsed = started.elapsed();
    let rss_after = status_kib("VmRSS:");
    println!(
        "loaded {} leases in {:.2} s; RSS {:.1} MB before, {:.1} MB after ({:.0} bytes/lease), peak {:.1} MB",
        report.leases,
        elapsed.as_secs_f64(),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / f64::from(count.max(1)),
        status_kib("VmHWM:") as f64 / 1024.0
    );

    // A few lookups so the figures are of a usable store.
    let started = Instant::now();
    let mut found = 0usize;
    for i in (0..count).step_by(997) {
        let b = i.to_be_bytes();
        let hw = HwAddr::ether(&[0x02, 0x42, b[0], b[1], b[2], b[3]])?;
        found += store.index().by_hwaddr(&hw, None).len();
        found += usize::from(store.index().get(Ipv4Addr::from(0x0a00_0000 + i)).is_some());
    }
    println!(
        "{found} lookups answered in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
