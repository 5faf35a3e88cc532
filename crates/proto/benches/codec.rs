//! Codec benchmark: what one DHCPv4 packet costs the server's hot path, on real packets.
//!
//! The queries are ISC dhclient's DISCOVER and REQUEST and the replies carry exactly the
//! options Kea 2.2 put in its OFFER and ACK, all from the captures in `tests/fixtures/`
//! (`scripts/captures.sh`). Three measurements:
//!
//! * `decode/*`: [`Packet::parse`] (header, cookie, option index with RFC 3396 fusing) plus the
//!   typed reads a server makes on every query (53, 61, 50, 54, 55, 57, 12, 82).
//! * `encode/*`: [`MessageBuilder::reply_to`] on a reused builder, the reply's header fields and
//!   options, and [`MessageBuilder::encode_into`] into a reused buffer.
//! * `roundtrip/*`: both, per packet: receive bytes -> reply bytes.
//!
//! Run: `cargo bench -p nestor-proto --bench codec -- --warm-up-time 1 --measurement-time 3`.
//! Results are recorded in `docs/benchmarks-codec.md`.
#![allow(
    clippy::panic,
    reason = "benchmark setup: bad fixtures must stop the run loudly"
)]

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet, code};

/// The first packet in `file` whose label starts with `label`, as bytes.
fn fixture(file: &str, label: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line
            .strip_prefix("# ")
            .is_some_and(|l| l.starts_with(label))
        {
            let hex = lines.next().unwrap_or_default().trim();
            return (0..hex.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16)
                        .unwrap_or_else(|e| panic!("{file}: {label}: {e}"))
                })
                .collect();
        }
    }
    panic!("{file}: no packet labelled {label}");
}

/// What the server decided for a reply: the parts of Kea's captured reply that are not
/// copied from the query.
struct ReplyPlan {
    message_type: MessageType,
    yiaddr: Ipv4Addr,
    siaddr: Ipv4Addr,
    sname: Vec<u8>,
    file: Vec<u8>,
    options: Vec<(u8, Vec<u8>)>,
}

impl ReplyPlan {
    fn from_kea_reply(raw: &[u8]) -> ReplyPlan {
        let p = Packet::parse(raw).unwrap_or_else(|e| panic!("Kea reply refused: {e}"));
        let message_type = p
            .message_type()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("Kea reply without message type"));
        ReplyPlan {
            message_type,
            yiaddr: p.yiaddr(),
            siaddr: p.siaddr(),
            sname: p.server_name().unwrap_or_default().to_vec(),
            file: p.boot_file_name().unwrap_or_default().to_vec(),
            options: p
                .options()
                .filter(|(c, _)| *c != code::MESSAGE_TYPE)
                .map(|(c, v)| (c, v.into_owned()))
                .collect(),
        }
    }
}

/// The typed reads a server does on every query (Kea's `Dhcpv4Srv::accept` and
/// `Dhcpv4Exchange` setup); returns something derived from all of them so none is optimised out.
fn read_query(p: &Packet<'_>) -> usize {
    let mut acc = 0usize;
    acc += usize::from(p.message_type().ok().flatten().map_or(0, u8::from));
    acc += p.client_id().ok().flatten().map_or(0, |c| c.len());
    acc += p
        .requested_address()
        .ok()
        .flatten()
        .map_or(0, |a| usize::from(a.octets()[3]));
    acc += p
        .server_id()
        .ok()
        .flatten()
        .map_or(0, |a| usize::from(a.octets()[3]));
    acc += p.parameter_request_list().map_or(0, |l| l.len());
    acc += p.max_message_size().ok().flatten().map_or(0, usize::from);
    acc += p.hostname().map_or(0, |h| h.len());
    acc += p.relay_agent_info().map_or(0, |r| r.as_bytes().len());
    acc + p.chaddr().len()
}

/// Builds the reply to `query` in `b` and encodes it into `out`; returns its length.
fn answer(
    query: &Packet<'_>,
    plan: &ReplyPlan,
    b: &mut MessageBuilder,
    out: &mut Vec<u8>,
) -> usize {
    b.reply_to(query, plan.message_type)
        .set_yiaddr(plan.yiaddr)
        .set_siaddr(plan.siaddr);
    if b.set_sname(&plan.sname).is_err() || b.set_file(&plan.file).is_err() {
        return 0;
    }
    for (c, v) in &plan.options {
        if b.add_option(*c, v).is_err() {
            return 0;
        }
    }
    let limits = EncodeLimits::for_client(query.max_message_size().ok().flatten());
    b.encode_into(out, &limits).unwrap_or(0)
}

fn codec(c: &mut Criterion) {
    let cases = [
        (
            "discover_offer",
            fixture("dhclient-1.hex", "dhclient-discover"),
            ReplyPlan::from_kea_reply(&fixture("dhclient-1.hex", "kea-offer")),
        ),
        (
            "request_ack",
            fixture("dhclient-1.hex", "dhclient-request"),
            ReplyPlan::from_kea_reply(&fixture("dhclient-1.hex", "kea-ack")),
        ),
    ];

    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    for (name, query_bytes, plan) in &cases {
        let query = Packet::parse(query_bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut builder = MessageBuilder::new(2);
        let mut out = Vec::with_capacity(1500);
        assert!(
            answer(&query, plan, &mut builder, &mut out) > 0,
            "{name}: reply not encoded"
        );

        group.bench_function(format!("decode/{name}"), |bench| {
            bench.iter(|| {
                let p = Packet::parse(black_box(query_bytes)).ok();
                p.map_or(0, |p| read_query(&p))
            })
        });
        group.bench_function(format!("encode/{name}"), |bench| {
            bench.iter(|| answer(black_box(&query), plan, &mut builder, &mut out))
        });
        group.bench_function(format!("roundtrip/{name}"), |bench| {
            bench.iter(|| {
                let Ok(p) = Packet::parse(black_box(query_bytes)) else {
                    return 0;
                };
                read_query(&p) + answer(&p, plan, &mut builder, &mut out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
