//! Hostile input and crashes against the real binary: a corpus of malformed datagrams
//! interleaved with a good client (answered every time, the rest counted in
//! `pkt4-parse-failed` / `pkt4-receive-drop`, the server still running), and `kill -9` in the
//! middle of a burst of DORAs (after a restart every ACKed address is in the lease file).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{Msg, Nestor, Relay, config, mac};
use nestor_proto::pkt::{EncodeLimits, MessageType};
use nestor_test_support::Signal;
use serde_json::json;

/// A valid relayed DISCOVER's bytes, to mutate.
fn discover_bytes(xid: u32) -> Vec<u8> {
    let mut b = Msg::new(MessageType::Discover, xid, mac(xid)).b;
    b.set_giaddr(common::RELAY);
    let mut out = Vec::new();
    b.encode_into(&mut out, &EncodeLimits::unlimited()).unwrap();
    out
}

/// Malformed datagrams and whether each is a parse failure (fatal for the codec) or a parsed
/// packet the server must drop.
fn corpus() -> Vec<(&'static str, Vec<u8>, bool)> {
    let good = discover_bytes(0x0bad);
    let mut bad_cookie = good.clone();
    bad_cookie[236..240].copy_from_slice(&[1, 2, 3, 4]);
    let mut hlen = good.clone();
    hlen[2] = 200;
    let mut past_end = good[..240].to_vec();
    past_end.extend_from_slice(&[53, 1, 1, 61, 200, 1, 2, 3]);
    let mut overload = good[..240].to_vec();
    overload.extend_from_slice(&[52, 1, 3, 53, 1, 1, 255]);
    let pos = 108; // file field: an overload option pointing back at itself
    overload[pos..pos + 4].copy_from_slice(&[52, 1, 3, 255]);
    let mut garbage = vec![0u8; 1500];
    let mut x: u32 = 0x1234_5678;
    for b in &mut garbage {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x.to_le_bytes()[0];
    }
    let mut no_type = good[..240].to_vec();
    no_type.push(255);
    let mut reply_op = good.clone();
    reply_op[0] = 2;
    vec![
        ("empty", Vec::new(), true),
        ("short", good[..100].to_vec(), true),
        ("header only", good[..236].to_vec(), true),
        ("bad cookie", bad_cookie, true),
        ("1500 bytes of garbage", garbage, true),
        ("hlen 200", hlen, false),
        ("option past the end", past_end, false),
        ("overload loop", overload, false),
        ("no message type", no_type, false),
        ("BOOTREPLY op", reply_op, false),
    ]
}

#[test]
fn malformed_packets_are_counted_and_the_good_client_is_served() {
    let n = Nestor::start(config);
    let r = Relay::new(n.server_addr());
    let corpus = corpus();
    let parse_failures = corpus.iter().filter(|c| c.2).count();
    for round in 0..3u32 {
        for (i, (_, bytes, _)) in corpus.iter().enumerate() {
            r.send_raw(bytes);
            // The good client, between every two bad packets, is always answered.
            let xid = round * 100 + u32::try_from(i).unwrap() + 1;
            let offer = r
                .exchange(Msg::new(MessageType::Discover, xid, mac(7)))
                .expect("good client answered");
            assert_eq!(offer.pkt().xid(), xid);
        }
    }
    let rounds = 3;
    assert_eq!(
        n.stat("pkt4-parse-failed"),
        i64::try_from(parse_failures * rounds).unwrap()
    );
    // Every malformed packet is dropped and counted; parse failures are in both counters.
    assert!(
        n.stat("pkt4-receive-drop") >= i64::try_from(parse_failures * rounds).unwrap(),
        "receive-drop {}",
        n.stat("pkt4-receive-drop")
    );
    let s = n.command(json!({"command": "status-get"}));
    assert_eq!(s["result"], 0, "still running");
    assert!(n.log().contains("DHCP4_PACKET_DROP_0001"));
}

#[test]
fn every_acked_address_survives_kill_9() {
    let mut n = Nestor::start(config);
    let r = Relay::new(n.server_addr());
    r.sock
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut acked: BTreeSet<Ipv4Addr> = BTreeSet::new();
    let started = Instant::now();
    let mut killed = false;
    // Pipelined exchanges: DISCOVERs and REQUESTs for many clients in flight, the server
    // killed while they run.
    for batch in 0..8u32 {
        for i in 0..20u32 {
            let c = batch * 20 + i + 1;
            r.send(Msg::new(MessageType::Discover, c, mac(c)));
        }
        let mut offers = Vec::new();
        while let Some(g) = r.recv() {
            if g.msg_type() == MessageType::Offer {
                offers.push((g.pkt().xid(), g.yiaddr()));
            }
            if offers.len() == 20 {
                break;
            }
        }
        for (xid, addr) in &offers {
            r.send(
                Msg::new(MessageType::Request, *xid, mac(*xid))
                    .requested(*addr)
                    .server_id(Ipv4Addr::LOCALHOST),
            );
        }
        if batch == 5 {
            // Kill while this batch's REQUESTs are being committed.
            n.signal(Signal::SIGKILL);
            killed = true;
        }
        while let Some(g) = r.recv() {
            if g.msg_type() == MessageType::Ack {
                acked.insert(g.yiaddr());
            }
        }
        if killed {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    assert!(
        acked.len() >= 100,
        "only {} ACKs before the kill",
        acked.len()
    );
    let _ = n.wait_exit(Duration::from_secs(5));
    let _ = std::fs::remove_file(n.pid_file());
    n.spawn();
    let file = std::fs::read_to_string(n.lease_file()).unwrap();
    let in_file: BTreeSet<Ipv4Addr> = file
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    let lost: Vec<_> = acked.difference(&in_file).collect();
    assert!(lost.is_empty(), "ACKed but not in the lease file: {lost:?}");
    // And the restarted server knows them: the first client renews its own address.
    let first = *acked.iter().next().unwrap();
    let renew = (1..=160u32).find_map(|c| {
        let g = r.exchange(Msg::new(MessageType::Request, 9000 + c, mac(c)).ciaddr(first))?;
        (g.msg_type() == MessageType::Ack).then_some(c)
    });
    assert!(
        renew.is_some(),
        "the owner of {first} renews it after the restart"
    );
}

#[test]
fn control_socket_garbage_does_not_disturb_packet_processing() {
    use std::io::{Read, Write};
    let n = Nestor::start(config);
    let r = Relay::new(n.server_addr());
    // A client that sends half a command and keeps the connection open.
    let mut stalled = std::os::unix::net::UnixStream::connect(n.socket()).unwrap();
    stalled.write_all(br#"{"command": "status-"#).unwrap();
    // Not JSON: Kea's answer.
    let mut bad = std::os::unix::net::UnixStream::connect(n.socket()).unwrap();
    bad.write_all(b"garbage").unwrap();
    let mut answer = String::new();
    bad.read_to_string(&mut answer).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["result"], 1);
    assert_eq!(answer["text"], "invalid first character g");
    // DHCP and other commands go on meanwhile.
    r.dora(1, mac(1));
    assert_eq!(n.command(json!({"command": "status-get"}))["result"], 0);
    drop(stalled);
}
