//! What the hook API costs the packet path: a statistic increment, the service check, the
//! callout chain with no plugin and with a continuing plugin, and a parked reply that resolves
//! at once. Run with `cargo bench -p nestor-hooks`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use nestor_hooks::stats::dhcp4::Dhcp4Counters;
use nestor_hooks::{Clock, NetworkState, QueryContext, Stats, SystemClock};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

fn hot_path(c: &mut Criterion) {
    let stats = Stats::new(Arc::new(SystemClock));
    let counters = Dhcp4Counters::register(&stats);
    c.bench_function("stat_counter_inc", |b| {
        b.iter(|| black_box(&counters.pkt4_received).inc())
    });
    let now = stats_now();
    c.bench_function("stat_counter_inc_at", |b| {
        b.iter(|| black_box(&counters.pkt4_received).inc_at(black_box(now)))
    });
    c.bench_function("clock_unix_micros", |b| {
        b.iter(|| black_box(SystemClock.unix_micros()))
    });
    c.bench_function("stats_add_by_name", |b| {
        b.iter(|| stats.add(black_box("pkt4-received"), 1))
    });
    c.bench_function("statistic_get_all_json", |b| {
        b.iter(|| black_box(stats.get_all_json()))
    });

    let network_state = NetworkState::new();
    c.bench_function("network_state_is_enabled", |b| {
        b.iter(|| black_box(&network_state).is_enabled())
    });

    let hooks = nestor_hooks::Hooks::none();
    let mut raw = Vec::new();
    MessageBuilder::client(MessageType::Discover, 1, &[1, 2, 3, 4, 5, 6])
        .unwrap()
        .encode_into(&mut raw, &EncodeLimits::default())
        .unwrap();
    let iface: Arc<str> = "eth0".into();
    let src = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67);
    c.bench_function("no_plugin_receive_chain", |b| {
        b.iter(|| {
            let mut ctx = QueryContext::new(Arc::clone(&iface), src, tokio::time::Instant::now());
            let _ = hooks.buffer4_receive(black_box(&raw), &mut ctx);
            let query = Packet::parse(&raw).unwrap();
            let _ = hooks.pkt4_receive(&query, &mut ctx);
            black_box(ctx);
        })
    });
}

fn stats_now() -> i64 {
    SystemClock.unix_micros()
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
