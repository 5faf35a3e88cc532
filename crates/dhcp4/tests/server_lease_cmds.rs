//! The lease commands plugin loaded by the real binary from `hooks-libraries`
//! (`libdhcp_lease_cmds.so` in any directory): a lease the server allocated is visible through
//! `lease4-get-all`, and a lease added by command is honoured by the allocator at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::Ipv4Addr;

use common::{Msg, Nestor, POOL_FIRST, Relay, config, mac};
use nestor_proto::pkt::MessageType;
use serde_json::{Value, json};

fn with_lease_cmds(dir: &std::path::Path) -> Value {
    let mut cfg = config(dir);
    cfg["Dhcp4"]["hooks-libraries"] = json!([
        {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so", "parameters": {}}
    ]);
    cfg
}

const SERVER_ID: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

#[test]
fn allocated_leases_are_listed_and_commanded_leases_are_honoured() {
    let n = Nestor::start(with_lease_cmds);
    let r = Relay::new(n.server_addr());

    let none = n.command(json!({"command": "lease4-get-all"}));
    assert_eq!(none["result"], 3, "{none}");
    assert_eq!(none["text"], "0 IPv4 lease(s) found.");

    let offer = r
        .exchange(Msg::new(MessageType::Discover, 7, mac(7)))
        .expect("OFFER");
    let ack = r
        .exchange(
            Msg::new(MessageType::Request, 7, mac(7))
                .requested(offer.yiaddr())
                .server_id(SERVER_ID),
        )
        .expect("ACK");
    assert_eq!(ack.msg_type(), MessageType::Ack);

    let all = n.command(json!({"command": "lease4-get-all"}));
    assert_eq!(all["result"], 0, "{all}");
    assert_eq!(all["text"], "1 IPv4 lease(s) found.");
    let lease = &all["arguments"]["leases"][0];
    assert_eq!(lease["ip-address"], ack.yiaddr().to_string());
    assert_eq!(lease["hw-address"], "02:00:00:00:00:07"); // common::mac(7)
    assert_eq!(lease["valid-lft"], 4000);
    assert_eq!(lease["subnet-id"], 1);

    // A lease added by command takes the next pool address away from the allocator.
    let next = Ipv4Addr::from(u32::from(POOL_FIRST) + 1);
    let added = n.command(json!({"command": "lease4-add", "arguments": {
        "ip-address": next.to_string(), "hw-address": "1a:1b:1c:1d:1e:1f"
    }}));
    assert_eq!(added["result"], 0, "{added}");
    let offer2 = r
        .exchange(Msg::new(MessageType::Discover, 8, mac(8)))
        .expect("OFFER");
    assert_ne!(offer2.yiaddr(), next, "the commanded lease is honoured");
    assert_ne!(offer2.yiaddr(), ack.yiaddr());

    // And it is durable: the row is in the lease file when the command has answered.
    let file = std::fs::read_to_string(n.lease_file()).unwrap();
    assert!(
        file.contains(&format!("{next},1a:1b:1c:1d:1e:1f,")),
        "{file}"
    );

    // Errors keep Kea's texts and the server keeps serving.
    let bad = n.command(json!({"command": "lease4-get", "arguments": {"ip-address": "nope"}}));
    assert_eq!(bad["result"], 1, "{bad}");
    assert!(
        r.exchange(Msg::new(MessageType::Discover, 9, mac(9)))
            .is_some()
    );
}
