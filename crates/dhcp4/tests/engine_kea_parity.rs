//! The engine against Kea 2.2's observed behaviour (reference sections 4.3 and 6; the cases
//! marked ✅ there were observed on a running kea-dhcp4 2.2). Packets are built with
//! `MessageBuilder::client`, the store is an in-memory memfile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use nestor_config::{Dhcp4Config, LoadOptions, parse_dhcp4_str_with};
use nestor_dhcp4::engine::{
    Destination, DropReason, Engine, LeaseChange, Outcome, RecvMeta, Reply, Stat,
};
use nestor_leases::{ClientId, HwAddr, Lease4, LeaseState, LeaseStore, Memfile};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

const NOW: u64 = 1_800_000_000;

fn config(text: &str) -> Arc<Dhcp4Config> {
    match parse_dhcp4_str_with(text, "test", &LoadOptions::offline()) {
        Ok(l) => Arc::new(l.config),
        Err(e) => panic!("config: {e}"),
    }
}

/// The seed's kea_1 configuration, as the user runs it.
fn seed_config() -> Arc<Dhcp4Config> {
    config(include_str!("../../config/tests/data/seed-kea_1.json"))
}

/// The lab setup of the reference: a subnet reached through a relay at 127.0.0.2 talking to
/// the server on 127.0.0.1.
fn lab_config(extra: &str) -> Arc<Dhcp4Config> {
    config(&format!(
        r#"{{"Dhcp4":{{
        "interfaces-config":{{"interfaces":["lo"],"dhcp-socket-type":"udp"}},
        "valid-lifetime":4000,"renew-timer":1000,"rebind-timer":2000,
        {extra}
        "subnet4":[{{"id":7,"subnet":"192.0.2.0/24",
            "pools":[{{"pool":"192.0.2.10 - 192.0.2.20"}}],
            "relay":{{"ip-addresses":["127.0.0.2"]}},
            "option-data":[{{"name":"routers","data":"192.0.2.1"}}]}}]}}}}"#
    ))
}

fn relay_meta() -> RecvMeta {
    RecvMeta {
        iface: Arc::from("lo"),
        iface_addrs: Arc::from([Ipv4Addr::LOCALHOST]),
        local_addr: Ipv4Addr::LOCALHOST,
        src: SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 67),
        broadcast: false,
        raw: false,
    }
}

const RELAY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const SERVER: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

fn mac(n: u8) -> [u8; 6] {
    [0xaa, 0xbb, 0xcc, 0xdd, 0xee, n]
}

fn cid(n: u8) -> Vec<u8> {
    let mut v = vec![1];
    v.extend_from_slice(&mac(n));
    v
}

/// A relayed client message with a client identifier.
fn msg(t: MessageType, n: u8) -> MessageBuilder {
    let mut b = MessageBuilder::client(t, 0x1000 + u32::from(n), &mac(n)).unwrap();
    b.set_giaddr(RELAY);
    b.set_option(61, &cid(n)).unwrap();
    b.set_option(55, &[1, 3, 6, 15]).unwrap();
    b
}

async fn run(engine: &Engine, store: &Memfile, b: &MessageBuilder, meta: &RecvMeta) -> Outcome {
    let mut buf = Vec::new();
    b.encode_into(&mut buf, &EncodeLimits::unlimited()).unwrap();
    let pkt = Packet::parse(&buf).unwrap();
    engine.process(store, &pkt, meta, &[], NOW).await
}

fn reply(o: Outcome) -> Box<Reply> {
    match o {
        Outcome::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn drop_reason(o: Outcome) -> DropReason {
    match o {
        Outcome::Drop { reason, .. } => reason,
        other => panic!("expected a drop, got {other:?}"),
    }
}

/// Encodes the reply and lists its option codes in wire order (walking the options field
/// after the magic cookie; the replies here are never overloaded).
fn wire_codes(r: &Reply) -> Vec<u8> {
    let mut buf = Vec::new();
    r.msg.encode_into(&mut buf, &r.limits).unwrap();
    let mut codes = Vec::new();
    let mut i = nestor_proto::pkt::OPTIONS_OFFSET;
    while let Some(&c) = buf.get(i) {
        match c {
            0 => i += 1,
            255 => break,
            _ => {
                codes.push(c);
                i += 2 + usize::from(buf[i + 1]);
            }
        }
    }
    codes
}

fn yiaddr(r: &Reply) -> Ipv4Addr {
    let mut buf = Vec::new();
    r.msg.encode_into(&mut buf, &r.limits).unwrap();
    Packet::parse(&buf).unwrap().yiaddr()
}

async fn dora(engine: &Engine, store: &Memfile, n: u8) -> Ipv4Addr {
    let offer = reply(run(engine, store, &msg(MessageType::Discover, n), &relay_meta()).await);
    let a = yiaddr(&offer);
    let mut req = msg(MessageType::Request, n);
    req.set_option(50, &a.octets()).unwrap();
    req.set_option(54, &SERVER.octets()).unwrap();
    let ack = reply(run(engine, store, &req, &relay_meta()).await);
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), a);
    a
}

fn lease_for(n: u8, a: Ipv4Addr) -> Lease4 {
    Lease4::new(
        a,
        HwAddr::ether(&mac(n)).unwrap(),
        Some(ClientId::new(&cid(n)).unwrap()),
        4000,
        NOW - 10,
        7,
    )
}

#[tokio::test]
async fn seed_kea_1_dora_options_and_addresses() {
    let engine = Engine::new(seed_config());
    let store = Memfile::in_memory();
    // The seed's clients: raw socket on eth0 (server 172.18.0.3), broadcast, no client-id,
    // PRL 1, 28, 3, 15, 6 (tcpdump in the seed).
    let meta = RecvMeta {
        iface: Arc::from("eth0"),
        iface_addrs: Arc::from([Ipv4Addr::new(172, 18, 0, 3)]),
        local_addr: Ipv4Addr::UNSPECIFIED,
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        broadcast: true,
        raw: true,
    };
    for n in 1..=3u8 {
        let mut d = MessageBuilder::client(MessageType::Discover, u32::from(n), &mac(n)).unwrap();
        d.set_option(55, &[1, 28, 3, 15, 6]).unwrap();
        let offer = reply(run(&engine, &store, &d, &meta).await);
        assert_eq!(offer.message_type, MessageType::Offer);
        let expected = Ipv4Addr::new(172, 18, 1, n);
        assert_eq!(yiaddr(&offer), expected);
        // Kea 2.2's order in the seed's capture: 53 first, then ascending codes.
        assert_eq!(wire_codes(&offer), [53, 1, 3, 6, 51, 54, 58, 59]);
        assert_eq!(offer.msg.option(1), Some(&[255, 255, 0, 0][..]));
        assert_eq!(offer.msg.option(3), Some(&[172, 18, 0, 1][..]));
        assert_eq!(offer.msg.option(6), Some(&[8, 8, 8, 8, 8, 8, 4, 4][..]));
        assert_eq!(offer.msg.option(51), Some(&3600u32.to_be_bytes()[..]));
        assert_eq!(offer.msg.option(54), Some(&[172, 18, 0, 3][..]));
        assert_eq!(offer.msg.option(58), Some(&1200u32.to_be_bytes()[..]));
        assert_eq!(offer.msg.option(59), Some(&2400u32.to_be_bytes()[..]));
        // Raw socket, no broadcast flag: unicast at layer 2 to yiaddr + chaddr.
        assert!(matches!(offer.dest, Destination::L2Unicast { ip, .. } if ip == expected));
        assert!(offer.changes.is_empty());

        let mut r = MessageBuilder::client(MessageType::Request, u32::from(n), &mac(n)).unwrap();
        r.set_option(50, &expected.octets()).unwrap();
        r.set_option(54, &[172, 18, 0, 3]).unwrap();
        r.set_option(55, &[1, 28, 3, 15, 6]).unwrap();
        let ack = reply(run(&engine, &store, &r, &meta).await);
        assert_eq!(ack.message_type, MessageType::Ack);
        assert_eq!(yiaddr(&ack), expected);
        assert_eq!(wire_codes(&ack), [53, 1, 3, 6, 51, 54, 58, 59]);
        assert_eq!(ack.stats.get(Stat::AssignedAddresses, Some(1)), 1);
        assert_eq!(ack.stats.get(Stat::CumulativeAssignedAddresses, None), 1);
        let stored = LeaseStore::get(&store, expected).await.unwrap().unwrap();
        assert_eq!(stored.valid_lifetime, 3600);
        assert_eq!(stored.cltt, NOW);
        assert_eq!(stored.subnet_id, 1);
        assert!(matches!(&ack.changes[..], [LeaseChange::Added(l)] if l == &stored));
    }
}

#[tokio::test]
async fn offers_advance_the_pointer_without_leases() {
    // ✅ offers 10, 11, 12, then the next client got 13; the store untouched.
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    for (n, want) in [(1, 10), (2, 11), (3, 12)] {
        let o = reply(
            run(
                &engine,
                &store,
                &msg(MessageType::Discover, n),
                &relay_meta(),
            )
            .await,
        );
        assert_eq!(yiaddr(&o), ip(want));
        assert_eq!(o.dest, Destination::Relay(SocketAddrV4::new(RELAY, 67)));
        // Client-id echoed (echo-client-id default true).
        assert_eq!(wire_codes(&o), [53, 1, 3, 51, 54, 58, 59, 61]);
    }
    assert!(LeaseStore::get_all(&store, None).await.unwrap().is_empty());
    assert_eq!(dora(&engine, &store, 4).await, ip(13));
    // The same client asking again gets its lease back.
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 4),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(yiaddr(&o), ip(13));
}

#[tokio::test]
async fn requested_address_of_another_client_gets_a_different_offer() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    store.add(lease_for(9, ip(15))).unwrap().await.unwrap();
    let mut d = msg(MessageType::Discover, 1);
    d.set_option(50, &ip(15).octets()).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(yiaddr(&o), ip(10));
    // A free requested address is honoured.
    let mut d = msg(MessageType::Discover, 2);
    d.set_option(50, &ip(18).octets()).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(yiaddr(&o), ip(18));
}

#[tokio::test]
async fn selecting_rules() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    store.add(lease_for(9, ip(15))).unwrap().await.unwrap();
    let select = |n: u8, a: Ipv4Addr| {
        let mut r = msg(MessageType::Request, n);
        r.set_option(50, &a.octets()).unwrap();
        r.set_option(54, &SERVER.octets()).unwrap();
        r
    };
    // ✅ In a pool, leased to someone else: NAK (53, 54, 61 echo; yiaddr 0; to the relay).
    let nak = reply(run(&engine, &store, &select(1, ip(15)), &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
    assert_eq!(yiaddr(&nak), Ipv4Addr::UNSPECIFIED);
    assert_eq!(wire_codes(&nak), [53, 54, 61]);
    assert_eq!(nak.dest, Destination::Relay(SocketAddrV4::new(RELAY, 67)));
    // ✅ Not in any pool of the subnet: silent drop (DHCP4_UNKNOWN_ADDRESS_REQUESTED).
    assert_eq!(
        drop_reason(run(&engine, &store, &select(1, ip(100)), &relay_meta()).await),
        DropReason::UnknownAddressRequested(ip(100))
    );
    // ✅ A free in-pool address never offered: ACKed.
    let ack = reply(run(&engine, &store, &select(1, ip(19)), &relay_meta()).await);
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), ip(19));
    // Another server's identifier: not for us.
    let mut other = select(2, ip(12));
    other.set_option(54, &[192, 0, 2, 250]).unwrap();
    assert_eq!(
        drop_reason(run(&engine, &store, &other, &relay_meta()).await),
        DropReason::ServerIdMismatch(ip(250))
    );
}

#[tokio::test]
async fn client_moving_to_another_address_loses_the_old_lease() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let first = dora(&engine, &store, 1).await;
    let mut r = msg(MessageType::Request, 1);
    r.set_option(50, &ip(17).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    let ack = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(yiaddr(&ack), ip(17));
    assert!(
        ack.changes
            .iter()
            .any(|c| matches!(c, LeaseChange::Deleted(l) if l.address == first))
    );
    assert!(LeaseStore::get(&store, first).await.unwrap().is_none());
    assert_eq!(ack.stats.get(Stat::AssignedAddresses, Some(7)), 0);
}

#[tokio::test]
async fn init_reboot_rules() {
    let store = Memfile::in_memory();
    store.add(lease_for(1, ip(12))).unwrap().await.unwrap();
    let reboot = |n: u8, a: Ipv4Addr| {
        let mut r = msg(MessageType::Request, n);
        r.set_option(50, &a.octets()).unwrap();
        r
    };
    let engine = Engine::new(lab_config(""));
    // ✅ Known client, different address: NAK.
    let nak = reply(run(&engine, &store, &reboot(1, ip(14)), &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
    // Known client, its own address: ACK (a renewal).
    let ack = reply(run(&engine, &store, &reboot(1, ip(12)), &relay_meta()).await);
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), ip(12));
    // ✅ Unknown client, not authoritative: silent.
    assert_eq!(
        drop_reason(run(&engine, &store, &reboot(2, ip(14)), &relay_meta()).await),
        DropReason::InitRebootUnknownClient(ip(14))
    );
    // Unknown client, authoritative: NAK.
    let engine = Engine::new(lab_config(r#""authoritative": true,"#));
    let nak = reply(run(&engine, &store, &reboot(2, ip(14)), &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
}

#[tokio::test]
async fn renewing_client_gets_ack_with_ciaddr_unicast() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let mut old = lease_for(1, ip(12));
    old.cltt = NOW - 2000;
    store.add(old).unwrap().await.unwrap();
    // RENEWING: unicast from the client to the server, ciaddr set, no 50, no giaddr.
    let mut r = MessageBuilder::client(MessageType::Request, 5, &mac(1)).unwrap();
    r.set_ciaddr(ip(12));
    r.set_option(61, &cid(1)).unwrap();
    let meta = RecvMeta {
        src: SocketAddrV4::new(ip(12), 68),
        ..relay_meta()
    };
    let ack = reply(run(&engine, &store, &r, &meta).await);
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), ip(12));
    let mut buf = Vec::new();
    ack.msg.encode_into(&mut buf, &ack.limits).unwrap();
    assert_eq!(Packet::parse(&buf).unwrap().ciaddr(), ip(12));
    assert_eq!(
        ack.dest,
        Destination::Unicast(SocketAddrV4::new(ip(12), 68))
    );
    let l = LeaseStore::get(&store, ip(12)).await.unwrap().unwrap();
    assert_eq!(l.cltt, NOW);
    assert!(matches!(&ack.changes[..], [LeaseChange::Updated(u)] if u == &l));
    assert!(ack.stats.is_empty());
}

#[tokio::test]
async fn request_without_address_allocates() {
    // ✅ Kea is liberal: no option 50 and ciaddr 0 -> it allocates and ACKs.
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let ack = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Request, 1),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), ip(10));
    assert!(LeaseStore::get(&store, ip(10)).await.unwrap().is_some());
}

#[tokio::test]
async fn decline_release_inform() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let a = dora(&engine, &store, 1).await;
    // ✅ DECLINE: state 1, identifiers cleared, probation 86400 s, no reply.
    let mut d = msg(MessageType::Decline, 1);
    d.set_option(50, &a.octets()).unwrap();
    match run(&engine, &store, &d, &relay_meta()).await {
        Outcome::NoReply { changes, stats } => {
            assert_eq!(changes.len(), 1);
            assert_eq!(stats.get(Stat::DeclinedAddresses, None), 1);
            assert_eq!(stats.get(Stat::DeclinedAddresses, Some(7)), 1);
        }
        other => panic!("{other:?}"),
    }
    let l = LeaseStore::get(&store, a).await.unwrap().unwrap();
    assert_eq!(l.state, LeaseState::Declined);
    assert!(l.hwaddr.is_empty() && l.client_id.is_none());
    assert_eq!((l.valid_lifetime, l.cltt), (86400, NOW));
    // Without option 50: dropped.
    assert_eq!(
        drop_reason(
            run(
                &engine,
                &store,
                &msg(MessageType::Decline, 1),
                &relay_meta()
            )
            .await
        ),
        DropReason::DeclineNoAddress
    );

    // ✅ RELEASE: lease found by ciaddr, deleted.
    let b = dora(&engine, &store, 2).await;
    let mut r = msg(MessageType::Release, 2);
    r.set_ciaddr(b);
    // Another client's release does nothing.
    let mut wrong = msg(MessageType::Release, 3);
    wrong.set_ciaddr(b);
    assert!(matches!(run(&engine, &store, &wrong, &relay_meta()).await,
        Outcome::NoReply { changes, .. } if changes.is_empty()));
    match run(&engine, &store, &r, &relay_meta()).await {
        Outcome::NoReply { changes, stats } => {
            assert!(matches!(&changes[..], [LeaseChange::Deleted(l)] if l.address == b));
            assert_eq!(stats.get(Stat::AssignedAddresses, Some(7)), -1);
        }
        other => panic!("{other:?}"),
    }
    assert!(LeaseStore::get(&store, b).await.unwrap().is_none());

    // ✅ INFORM: ACK, no lease time, yiaddr 0, ciaddr echoed, sent to ciaddr.
    let mut i = MessageBuilder::client(MessageType::Inform, 9, &mac(5)).unwrap();
    i.set_ciaddr(ip(77));
    i.set_option(55, &[3]).unwrap();
    let meta = RecvMeta {
        src: SocketAddrV4::new(ip(77), 68),
        ..relay_meta()
    };
    let ack = reply(run(&engine, &store, &i, &meta).await);
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(yiaddr(&ack), Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.msg.option(51), None);
    assert_eq!(ack.msg.option(3), Some(&[192, 0, 2, 1][..]));
    assert_eq!(
        ack.dest,
        Destination::Unicast(SocketAddrV4::new(ip(77), 68))
    );
    assert!(ack.changes.is_empty());
}

#[tokio::test]
async fn discover_sanity() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let mut d = msg(MessageType::Discover, 1);
    d.set_option(54, &SERVER.octets()).unwrap();
    assert_eq!(
        drop_reason(run(&engine, &store, &d, &relay_meta()).await),
        DropReason::ServerIdInDiscover
    );
    // A relay the configuration does not know and no matching prefix: no subnet.
    let mut d = msg(MessageType::Discover, 1);
    d.set_giaddr(Ipv4Addr::new(10, 9, 9, 9));
    assert_eq!(
        drop_reason(run(&engine, &store, &d, &relay_meta()).await),
        DropReason::NoSubnet
    );
    // The same as a REQUEST: NAK (DHCP4_PACKET_NAK_0001).
    let mut r = msg(MessageType::Request, 1);
    r.set_giaddr(Ipv4Addr::new(10, 9, 9, 9));
    assert_eq!(
        reply(run(&engine, &store, &r, &relay_meta()).await).message_type,
        MessageType::Nak
    );
    let offer = MessageBuilder::client(MessageType::Offer, 1, &mac(1)).unwrap();
    assert_eq!(
        drop_reason(run(&engine, &store, &offer, &relay_meta()).await),
        DropReason::UnsupportedType(MessageType::Offer)
    );
}

#[tokio::test]
async fn pool_exhaustion_is_a_silent_drop_with_kea_statistics() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    for n in 0..11u8 {
        store
            .add(lease_for(100 + n, ip(10 + n)))
            .unwrap()
            .await
            .unwrap();
    }
    match run(
        &engine,
        &store,
        &msg(MessageType::Discover, 1),
        &relay_meta(),
    )
    .await
    {
        Outcome::Drop { reason, stats } => {
            assert_eq!(reason, DropReason::NoAddress);
            // Observed on kea-dhcp4 2.2 (statistic-get-all after an exhausted pool): fail,
            // fail-subnet and fail-classes each +1, globally and for the subnet.
            for id in [None, Some(7)] {
                assert_eq!(stats.get(Stat::AllocationFail, id), 1);
                assert_eq!(stats.get(Stat::AllocationFailSubnet, id), 1);
                assert_eq!(stats.get(Stat::AllocationFailClasses, id), 1);
                assert_eq!(stats.get(Stat::AllocationFailNoPools, id), 0);
            }
            assert_eq!(stats.iter().count(), 6);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn reclamation_and_lease_affinity() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let mut l = lease_for(1, ip(14));
    l.cltt = NOW - 5000;
    l.hostname = nestor_leases::Hostname::new("host1");
    store.add(l).unwrap().await.unwrap();
    let mut d = lease_for(2, ip(15));
    d.decline(100, NOW - 200);
    store.add(d).unwrap().await.unwrap();
    let limits = engine.reclaim_limits();
    assert!(!limits.remove);
    let report = engine.reclaim(&store, NOW, limits).await.unwrap();
    assert_eq!(report.expired.len(), 2);
    let r = LeaseStore::get(&store, ip(14)).await.unwrap().unwrap();
    assert_eq!(r.state, LeaseState::ExpiredReclaimed);
    assert!(r.hostname.is_empty() && r.client_id.is_some());
    // The declined address is free again.
    assert!(LeaseStore::get(&store, ip(15)).await.unwrap().is_none());
    let stat = |s: Stat, id: Option<u32>| report.stats.get(s, id);
    assert_eq!(stat(Stat::ReclaimedLeases, None), 2);
    assert_eq!(stat(Stat::AssignedAddresses, Some(7)), -2);
    assert_eq!(stat(Stat::DeclinedAddresses, None), -1);
    assert_eq!(stat(Stat::ReclaimedDeclinedAddresses, Some(7)), 1);
    // The returning client gets its old address back (affinity), and the ACK counts it as
    // assigned again.
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 1),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(yiaddr(&o), ip(14));
    let mut r = msg(MessageType::Request, 1);
    r.set_option(50, &ip(14).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    let ack = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(ack.stats.get(Stat::AssignedAddresses, Some(7)), 1);
    assert_eq!(
        LeaseStore::get(&store, ip(14))
            .await
            .unwrap()
            .unwrap()
            .state,
        LeaseState::Default
    );
    // The flush removes reclaimed leases past hold-reclaimed-time (3600 s by default).
    let mut old = lease_for(3, ip(16));
    old.cltt = NOW - 10_000;
    old.state = LeaseState::ExpiredReclaimed;
    store.add(old).unwrap().await.unwrap();
    assert_eq!(engine.flush_reclaimed(&store, NOW).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_share_an_address() {
    let engine = Arc::new(Engine::new(lab_config("")));
    let store = Arc::new(Memfile::in_memory());
    let mut tasks = Vec::new();
    for n in 0..11u8 {
        let (engine, store) = (engine.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            let o = run(
                &engine,
                &store,
                &msg(MessageType::Request, n),
                &relay_meta(),
            )
            .await;
            match o {
                Outcome::Reply(r) if r.message_type == MessageType::Ack => Some(yiaddr(&r)),
                _ => None,
            }
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap());
    }
    got.sort();
    let before = got.len();
    got.dedup();
    assert_eq!(got.len(), before, "an address was given twice");
    // 11 clients, 11 addresses: everyone is served.
    assert_eq!(got.len(), 11);
}

/// Cases the reference does not spell out, observed on kea-dhcp4 2.2 on loopback with the same
/// configuration (relayed from 127.0.0.2 to 127.0.0.1, `-p 10067`) on 2026-11-25.
#[tokio::test]
async fn observed_on_kea_2_2_loopback() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let rai = [1, 5, b'p', b'o', b'r', b't', b'1'];

    // Observed: option 12 `MyHost_x` is answered and stored as `myhostx` (default
    // hostname-char-set, empty replacement, lower-cased); the ACK carries
    // 53, 1, 3, 12, 51, 54, 58, 59, 61.
    let mut r = msg(MessageType::Request, 3);
    r.set_option(12, b"MyHost_x").unwrap();
    r.set_option(50, &ip(10).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    r.set_option(55, &[1, 3]).unwrap();
    let ack = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(wire_codes(&ack), [53, 1, 3, 12, 51, 54, 58, 59, 61]);
    assert_eq!(ack.msg.option(12), Some(&b"myhostx"[..]));
    let l = LeaseStore::get(&store, ip(10)).await.unwrap().unwrap();
    assert_eq!(l.hostname.as_str(), "myhostx");

    // Observed: a client that only asks for 12 in its PRL (no option 12, no reservation) gets
    // no host name.
    let mut d = msg(MessageType::Discover, 4);
    d.set_option(55, &[1, 3, 12]).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(o.msg.option(12), None);

    // Observed: the NAK echoes 82 after 61 and drops the host name: 53, 54, 61, 82.
    let mut r = msg(MessageType::Request, 9);
    r.set_option(50, &ip(10).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    r.set_option(12, b"foo").unwrap();
    r.set_option(82, &rai).unwrap();
    let nak = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(wire_codes(&nak), [53, 54, 61, 82]);
    assert_eq!(nak.msg.option(82), Some(&rai[..]));

    // Observed: an OFFER echoes 118 and 82, in the order ..., 61, 118, 82.
    let mut d = msg(MessageType::Discover, 9);
    d.set_option(82, &rai).unwrap();
    d.set_option(118, &[192, 0, 2, 0]).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(wire_codes(&o), [53, 1, 3, 51, 54, 58, 59, 61, 118, 82]);

    // Observed: a relayed INFORM without ciaddr asking for 1 and 3 gets 53, 3, 54, 61 (no
    // subnet mask), the broadcast flag set, sent to the relay.
    let mut i = msg(MessageType::Inform, 2);
    i.set_option(55, &[1, 3]).unwrap();
    let ack = reply(run(&engine, &store, &i, &relay_meta()).await);
    assert_eq!(wire_codes(&ack), [53, 3, 54, 61]);
    assert_eq!(ack.dest, Destination::Relay(SocketAddrV4::new(RELAY, 67)));
    let mut buf = Vec::new();
    ack.msg.encode_into(&mut buf, &ack.limits).unwrap();
    let p = Packet::parse(&buf).unwrap();
    assert!(p.broadcast());
    assert_eq!(p.giaddr(), RELAY);
    // Observed: with ciaddr set, the INFORM ACK goes to ciaddr:68 with the same options.
    let mut i = msg(MessageType::Inform, 1);
    i.set_ciaddr(ip(77));
    i.set_option(55, &[1, 3, 6, 51]).unwrap();
    let ack = reply(run(&engine, &store, &i, &relay_meta()).await);
    assert_eq!(wire_codes(&ack), [53, 3, 54, 61]);
    assert_eq!(
        ack.dest,
        Destination::Unicast(SocketAddrV4::new(ip(77), 68))
    );

    // Observed: INIT-REBOOT of a known client for an address outside the subnet: NAK.
    let mut r = msg(MessageType::Request, 3);
    r.set_option(50, &[10, 1, 1, 1]).unwrap();
    let nak = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
    assert_eq!(wire_codes(&nak), [53, 54, 61]);

    // Observed: a REQUEST from an unknown relay is NAKed (DHCP4_PACKET_NAK_0001) to giaddr,
    // the same DISCOVER gets nothing.
    let mut r = msg(MessageType::Request, 6);
    r.set_giaddr(Ipv4Addr::new(10, 9, 9, 9));
    r.set_option(50, &[10, 9, 9, 20]).unwrap();
    let nak = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
    assert_eq!(
        nak.dest,
        Destination::Relay(SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 67))
    );
}

#[tokio::test]
async fn reservations_required_classes_and_fixed_fields() {
    let engine = Engine::new(lab_config(
        r#""client-classes":[{"name":"req","only-if-required":true,
              "option-data":[{"name":"ntp-servers","data":"192.0.2.123"}]},
            {"name":"boot","test":"option[60].text == 'PXE'","boot-file-name":"class.img",
              "next-server":"192.0.2.6"}],
        "reservations-out-of-pool": false,
        "next-server":"192.0.2.9","#,
    ));
    // The lab config has no reservations: build one on top of it.
    let mut cfg = (**engine.config()).clone();
    let text = r#"{"Dhcp4":{"subnet4":[{"id":7,"subnet":"192.0.2.0/24",
        "pools":[{"pool":"192.0.2.10 - 192.0.2.20","require-client-classes":["req"]}],
        "reservations":[{"hw-address":"aa:bb:cc:dd:ee:01","ip-address":"192.0.2.100",
            "hostname":"resv","next-server":"192.0.2.5","boot-file-name":"boot.img",
            "option-data":[{"name":"domain-name","data":"host.example"}]},
          {"hw-address":"aa:bb:cc:dd:ee:02","ip-address":"192.0.2.15"}]}]}}"#;
    let extra = config(text);
    cfg.subnets[0].pools = extra.subnets[0].pools.clone();
    cfg.subnets[0].reservations = extra.subnets[0].reservations.clone();
    let engine = Engine::new(Arc::new(cfg));
    let store = Memfile::in_memory();

    // The reserved address (out of pool), the reservation's options, host name and fixed
    // fields; the reservation makes the client KNOWN.
    let mut d = msg(MessageType::Discover, 1);
    d.set_option(55, &[1, 3, 12, 15]).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(yiaddr(&o), ip(100));
    assert_eq!(o.msg.option(15), Some(&b"host.example"[..]));
    assert_eq!(o.msg.option(12), Some(&b"resv"[..]));
    assert!(o.classes.contains("KNOWN") && !o.classes.contains("UNKNOWN"));
    let mut buf = Vec::new();
    o.msg.encode_into(&mut buf, &o.limits).unwrap();
    let p = Packet::parse(&buf).unwrap();
    assert_eq!(p.siaddr(), ip(5));
    assert_eq!(p.boot_file_name(), Some(&b"boot.img"[..]));

    // A pool address for an unknown client: the pool's required class brings option 42 when
    // asked; the global next-server fills siaddr; a class sets file and overrides siaddr.
    let mut d = msg(MessageType::Discover, 3);
    d.set_option(55, &[42]).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(yiaddr(&o), ip(10));
    assert_eq!(o.msg.option(42), Some(&[192, 0, 2, 123][..]));
    assert!(o.classes.contains("req") && o.classes.contains("UNKNOWN"));
    let mut buf = Vec::new();
    o.msg.encode_into(&mut buf, &o.limits).unwrap();
    assert_eq!(Packet::parse(&buf).unwrap().siaddr(), ip(9));
    let mut d = msg(MessageType::Discover, 4);
    d.set_option(60, b"PXE").unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    let mut buf = Vec::new();
    o.msg.encode_into(&mut buf, &o.limits).unwrap();
    let p = Packet::parse(&buf).unwrap();
    assert_eq!(p.siaddr(), ip(6));
    assert_eq!(p.boot_file_name(), Some(&b"class.img"[..]));

    // An address reserved for another client is skipped by the allocator and NAKed when
    // requested.
    for n in 5..9u8 {
        let a = dora(&engine, &store, n).await;
        assert_ne!(a, ip(15));
    }
    let mut r = msg(MessageType::Request, 9);
    r.set_option(50, &ip(15).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    assert_eq!(
        reply(run(&engine, &store, &r, &relay_meta()).await).message_type,
        MessageType::Nak
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_selecting_requests_for_one_address() {
    // Two clients offered the same address (possible with concurrent DISCOVERs, as in Kea)
    // both request it: exactly one gets it; the other is NAKed (leased to someone else) or,
    // when both are committing at the same instant, dropped and retransmits.
    for round in 0..50u8 {
        let engine = Arc::new(Engine::new(lab_config("")));
        let store = Arc::new(Memfile::in_memory());
        let mut tasks = Vec::new();
        for n in [1u8, 2] {
            let (engine, store) = (engine.clone(), store.clone());
            tasks.push(tokio::spawn(async move {
                let mut r = msg(MessageType::Request, n);
                r.set_option(50, &ip(12).octets()).unwrap();
                r.set_option(54, &SERVER.octets()).unwrap();
                run(&engine, &store, &r, &relay_meta()).await
            }));
        }
        let mut acks = 0;
        for t in tasks {
            match t.await.unwrap() {
                Outcome::Reply(r) if r.message_type == MessageType::Ack => acks += 1,
                Outcome::Reply(r) => assert_eq!(r.message_type, MessageType::Nak),
                Outcome::Drop { reason, .. } => {
                    assert_eq!(reason, DropReason::InFlight(ip(12)), "round {round}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(acks <= 1, "round {round}: {acks} ACKs for one address");
        let l = LeaseStore::get(&*store, ip(12)).await.unwrap();
        assert_eq!(l.is_some(), acks == 1);
    }
}

#[tokio::test]
async fn reconfiguration_keeps_the_allocation_order() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    for (n, want) in [(1, 10), (2, 11)] {
        let o = reply(
            run(
                &engine,
                &store,
                &msg(MessageType::Discover, n),
                &relay_meta(),
            )
            .await,
        );
        assert_eq!(yiaddr(&o), ip(want));
    }
    // Same subnet and pool in the new configuration: the pointer carries over.
    let engine = engine.reconfigured(lab_config(r#""authoritative": true,"#));
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 3),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(yiaddr(&o), ip(12));
    // A fresh engine (a restart) starts at the pool start again, as Kea.
    let engine = Engine::new(lab_config(""));
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 4),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(yiaddr(&o), ip(10));
}

#[tokio::test]
async fn shared_network_moves_clients_between_member_subnets() {
    let engine = Engine::new(config(
        r#"{"Dhcp4":{"valid-lifetime":4000,"shared-networks":[{"name":"net",
            "relay":{"ip-addresses":["127.0.0.2"]},
            "subnet4":[
              {"id":1,"subnet":"192.0.2.0/24","pools":[{"pool":"192.0.2.10 - 192.0.2.10"}]},
              {"id":2,"subnet":"198.51.100.0/24","pools":[{"pool":"198.51.100.10 - 198.51.100.10"}],
               "option-data":[{"name":"routers","data":"198.51.100.1"}]}]}]}}"#,
    ));
    let store = Memfile::in_memory();
    assert_eq!(dora(&engine, &store, 1).await, ip(10));
    // The first subnet is full: the second member serves the next client, with its options.
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 2),
            &relay_meta(),
        )
        .await,
    );
    let second = Ipv4Addr::new(198, 51, 100, 10);
    assert_eq!(yiaddr(&o), second);
    assert_eq!(o.subnet_id, Some(2));
    assert_eq!(o.msg.option(3), Some(&[198, 51, 100, 1][..]));
    assert_eq!(o.msg.option(1), Some(&[255, 255, 255, 0][..]));
    assert_eq!(dora(&engine, &store, 2).await, second);
    // A renewal is found in the member subnet holding the lease.
    let o = reply(
        run(
            &engine,
            &store,
            &msg(MessageType::Discover, 2),
            &relay_meta(),
        )
        .await,
    );
    assert_eq!(yiaddr(&o), second);
    // Everything taken: the shared-network flavour of the failure statistics.
    match run(
        &engine,
        &store,
        &msg(MessageType::Discover, 3),
        &relay_meta(),
    )
    .await
    {
        Outcome::Drop { reason, stats } => {
            assert_eq!(reason, DropReason::NoAddress);
            assert_eq!(stats.get(Stat::AllocationFailSharedNetwork, None), 1);
            assert_eq!(stats.get(Stat::AllocationFailSubnet, None), 0);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn match_client_id_false_and_echo_client_id_false() {
    let engine = Engine::new(lab_config(
        r#""match-client-id": false, "echo-client-id": false,"#,
    ));
    let store = Memfile::in_memory();
    let a = dora(&engine, &store, 1).await;
    // Reference 6.2: with match-client-id false the client-id is not stored in the lease.
    let l = LeaseStore::get(&store, a).await.unwrap().unwrap();
    assert_eq!(l.client_id, None);
    // The same hardware address with a new client identifier is the same client.
    let mut d = msg(MessageType::Discover, 1);
    d.set_option(61, &[1, 9, 9, 9, 9, 9, 9]).unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_eq!(yiaddr(&o), a);
    // echo-client-id false: no option 61 in the reply.
    assert_eq!(o.msg.option(61), None);
    assert_eq!(wire_codes(&o), [53, 1, 3, 51, 54, 58, 59]);

    // With the defaults, a different client identifier on the same hardware address is a
    // different client (Lease4::belongsToClient).
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    let a = dora(&engine, &store, 1).await;
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    assert_ne!(yiaddr(&o), a);
}

/// Observed on kea-dhcp4 2.2 (same lab, default DDNS parameters, updates disabled).
#[tokio::test]
async fn client_fqdn_as_kea_answers_it_without_dns_updates() {
    let engine = Engine::new(lab_config(""));
    let store = Memfile::in_memory();
    // ACK: 81 with flags N|E|O, the name lower-cased; the lease stores `myhost.`.
    let mut r = msg(MessageType::Request, 1);
    r.set_option(81, b"\x05\x00\x00\x06MyHost\x00").unwrap();
    r.set_option(12, b"other").unwrap();
    let ack = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(ack.msg.option(81), Some(&b"\x0e\x00\x00\x06myhost\x00"[..]));
    // Option 81 wins: no option 12.
    assert_eq!(ack.msg.option(12), None);
    let l = LeaseStore::get(&store, yiaddr(&ack))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.hostname.as_str(), "myhost.");
    // ASCII partial name: made absolute; flags N|O.
    let mut r = msg(MessageType::Request, 2);
    r.set_option(81, b"\x01\x00\x00Host2").unwrap();
    let ack = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(ack.msg.option(81), Some(&b"\x0a\x00\x00host2."[..]));
    // A NAK carries no 81.
    let mut r = msg(MessageType::Request, 3);
    r.set_option(50, &ip(10).octets()).unwrap();
    r.set_option(54, &SERVER.octets()).unwrap();
    r.set_option(81, b"\x05\x00\x00\x06MyHost\x00").unwrap();
    let nak = reply(run(&engine, &store, &r, &relay_meta()).await);
    assert_eq!(nak.message_type, MessageType::Nak);
    assert_eq!(wire_codes(&nak), [53, 54, 61]);
    // An empty name gets Kea's generated one.
    let mut d = msg(MessageType::Discover, 4);
    d.set_option(81, b"\x05\x00\x00").unwrap();
    let o = reply(run(&engine, &store, &d, &relay_meta()).await);
    let a = yiaddr(&o).octets();
    let want = format!("myhost-{}-{}-{}-{}", a[0], a[1], a[2], a[3]);
    let mut payload = vec![0x0e, 0, 0, want.len() as u8];
    payload.extend_from_slice(want.as_bytes());
    payload.push(0);
    assert_eq!(o.msg.option(81), Some(&payload[..]));
}
