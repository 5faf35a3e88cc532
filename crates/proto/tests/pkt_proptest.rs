//! Property tests of the packet view and the builder.
//!
//! * `Packet::parse` and every accessor never panic, on arbitrary bytes and on arbitrary option
//!   areas behind a valid header (the interesting part of the input space).
//! * For arbitrary well-formed messages built by `MessageBuilder`: decode -> rebuild -> encode ->
//!   decode is stable (same header, same fused options), whatever the limits and overload.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};
use proptest::prelude::*;

/// Touches every accessor so that a panic anywhere is found.
fn exercise(p: &Packet<'_>) {
    let _ = (
        p.op(),
        p.htype(),
        p.hlen(),
        p.hops(),
        p.xid(),
        p.secs(),
        p.flags(),
        p.broadcast(),
    );
    let _ = (
        p.ciaddr(),
        p.yiaddr(),
        p.siaddr(),
        p.giaddr(),
        p.chaddr(),
        p.server_name(),
        p.boot_file_name(),
    );
    let _ = (
        p.message_type(),
        p.requested_address(),
        p.lease_time(),
        p.server_id(),
    );
    let _ = (
        p.parameter_request_list(),
        p.max_message_size(),
        p.client_id(),
        p.hostname(),
    );
    let _ = (
        p.vendor_class(),
        p.subnet_selection(),
        p.truncated_at(),
        p.option_count(),
    );
    if let Ok(Some(uc)) = p.user_class() {
        let _ = uc.instances().count();
        let _ = uc.is_rfc3004();
    }
    if let Ok(Some(f)) = p.client_fqdn() {
        let _ = f.name.to_dotted();
        let _ = f.name.labels().count();
    }
    if let Some(rai) = p.relay_agent_info() {
        let _ = rai.iter().count();
        let _ = (
            rai.circuit_id(),
            rai.remote_id(),
            rai.link_selection(),
            rai.subscriber_id(),
        );
        let _ = (
            rai.server_id_override(),
            rai.relay_port(),
            rai.has_relay_port(),
            rai.truncated_at(),
        );
    }
    let fused: usize = p.options().map(|(_, v)| v.len()).sum();
    let raw: usize = p
        .options()
        .map(|(c, _)| p.instances(c).map(<[u8]>::len).sum::<usize>())
        .sum();
    assert_eq!(fused, raw);
    let _ = p.issues().count();
}

fn with_header(options: &[u8], hlen: u8, overload_fields: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 236];
    v[0] = 1;
    v[1] = 1;
    v[2] = hlen;
    // Fill sname and file with option-like bytes so overload has something to chew on.
    for (dst, src) in v[44..236].iter_mut().zip(overload_fields) {
        *dst = *src;
    }
    v.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    v.extend_from_slice(options);
    v
}

/// A well-formed option: no pad/end/overload code, no empty host name (Kea skips it).
fn option() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (1u8..=254, prop::collection::vec(any::<u8>(), 0..300))
        .prop_filter("reserved or skipped", |(c, v)| {
            *c != 52 && !(*c == 12 && v.is_empty())
        })
}

#[derive(Debug, Clone)]
struct Msg {
    op: u8,
    htype: u8,
    chaddr: Vec<u8>,
    hops: u8,
    xid: u32,
    secs: u16,
    flags: u16,
    addrs: [[u8; 4]; 4],
    sname: Vec<u8>,
    file: Vec<u8>,
    msg_type: Option<u8>,
    options: Vec<(u8, Vec<u8>)>,
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        (
            1u8..=2,
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..=16),
            any::<u8>(),
            any::<u32>(),
        ),
        (any::<u16>(), any::<u16>(), any::<[[u8; 4]; 4]>()),
        (
            prop_oneof![Just(Vec::new()), prop::collection::vec(1u8..=255, 1..=64)],
            prop_oneof![Just(Vec::new()), prop::collection::vec(1u8..=255, 1..=128)],
        ),
        prop::option::of(any::<u8>()),
        prop::collection::vec(option(), 0..12),
    )
        .prop_map(
            |(
                (op, htype, chaddr, hops, xid),
                (secs, flags, addrs),
                (sname, file),
                msg_type,
                options,
            )| Msg {
                op,
                htype,
                chaddr,
                hops,
                xid,
                secs,
                flags,
                addrs,
                sname,
                file,
                msg_type,
                options: options.into_iter().filter(|(c, _)| *c != 53).collect(),
            },
        )
}

fn build(m: &Msg) -> MessageBuilder {
    let mut b = MessageBuilder::new(m.op);
    b.set_htype(m.htype).set_chaddr(&m.chaddr).unwrap();
    b.set_hops(m.hops)
        .set_xid(m.xid)
        .set_secs(m.secs)
        .set_flags(m.flags);
    b.set_ciaddr(m.addrs[0].into())
        .set_yiaddr(m.addrs[1].into());
    b.set_siaddr(m.addrs[2].into())
        .set_giaddr(m.addrs[3].into());
    b.set_sname(&m.sname).unwrap().set_file(&m.file).unwrap();
    if let Some(t) = m.msg_type {
        b.set_message_type(MessageType::from(t));
    }
    for (c, v) in &m.options {
        b.add_option(*c, v).unwrap();
    }
    b
}

/// Rebuilds a message from a parsed one: header fields and fused options.
fn rebuild(p: &Packet<'_>) -> MessageBuilder {
    let mut b = MessageBuilder::new(p.op());
    b.set_htype(p.htype()).set_chaddr(p.chaddr()).unwrap();
    b.set_hops(p.hops())
        .set_xid(p.xid())
        .set_secs(p.secs())
        .set_flags(p.flags());
    b.set_ciaddr(p.ciaddr())
        .set_yiaddr(p.yiaddr())
        .set_siaddr(p.siaddr())
        .set_giaddr(p.giaddr());
    b.set_sname(p.server_name().unwrap_or_default()).unwrap();
    b.set_file(p.boot_file_name().unwrap_or_default()).unwrap();
    for (c, v) in p.options().filter(|(c, _)| *c != 52) {
        b.add_option(c, &v).unwrap();
    }
    b
}

type Summary = (
    Vec<u8>,
    u32,
    u16,
    u16,
    [u8; 16],
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    BTreeMap<u8, Vec<u8>>,
);

fn summary(p: &Packet<'_>) -> Summary {
    (
        vec![p.op(), p.htype(), p.hlen(), p.hops()],
        p.xid(),
        p.secs(),
        p.flags(),
        *p.chaddr_field(),
        p.server_name().map(<[u8]>::to_vec),
        p.boot_file_name().map(<[u8]>::to_vec),
        p.options()
            .filter(|(c, _)| *c != 52)
            .map(|(c, v)| (c, v.into_owned()))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(p) = Packet::parse(&bytes) {
            exercise(&p);
        }
    }

    #[test]
    fn parse_never_panics_behind_a_valid_header(
        options in prop::collection::vec(any::<u8>(), 0..400),
        fields in prop::collection::vec(any::<u8>(), 0..192),
        hlen in any::<u8>(),
        overload in 0u8..=4,
    ) {
        let mut opts = vec![52, 1, overload];
        opts.extend_from_slice(&options);
        let bytes = with_header(&opts, hlen, &fields);
        let p = Packet::parse(&bytes).unwrap();
        exercise(&p);
        prop_assert!(p.chaddr().len() <= 16);
        let bytes = with_header(&options, hlen, &fields);
        let p = Packet::parse(&bytes).unwrap();
        exercise(&p);
    }

    #[test]
    fn decode_encode_decode_is_stable(m in msg(), max in prop_oneof![Just(None), Just(Some(576u16)), any::<u16>().prop_map(Some)]) {
        let built = build(&m);
        let limits = EncodeLimits::for_client(max);
        let mut first = Vec::new();
        match built.encode_into(&mut first, &limits) {
            Ok(len) => prop_assert!(len <= limits.max_len),
            Err(_) => {
                // Too big for this client: the unlimited encoding must still round-trip.
                prop_assert!(built.plain_len() > limits.max_len);
                built.encode_into(&mut first, &EncodeLimits::unlimited()).unwrap();
            }
        }
        let p1 = Packet::parse(&first).unwrap();
        prop_assert_eq!(p1.issues().count(), 0);
        // The options decoded are exactly the options built (fused per code).
        let mut expected: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        if let Some(t) = m.msg_type {
            expected.insert(53, vec![t]);
        }
        for (c, v) in &m.options {
            expected.entry(*c).or_default().extend_from_slice(v);
        }
        let s1 = summary(&p1);
        prop_assert_eq!(&s1.7, &expected);

        let mut second = Vec::new();
        let again = rebuild(&p1);
        if again.encode_into(&mut second, &limits).is_err() {
            again.encode_into(&mut second, &EncodeLimits::unlimited()).unwrap();
        }
        let p2 = Packet::parse(&second).unwrap();
        prop_assert_eq!(summary(&p2), s1);
        prop_assert_eq!(&second, &first);
    }

    #[test]
    fn overloaded_messages_round_trip(
        options in prop::collection::vec((1u8..=254, prop::collection::vec(any::<u8>(), 1..70)), 4..10),
    ) {
        let mut b = MessageBuilder::client(MessageType::Request, 7, &[1, 2, 3, 4, 5, 6]).unwrap();
        let mut expected: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        expected.insert(53, vec![3]);
        for (c, v) in options.iter().filter(|(c, _)| ![12, 52, 53].contains(c)) {
            b.add_option(*c, v).unwrap();
            expected.entry(*c).or_default().extend_from_slice(v);
        }
        let limits = EncodeLimits::default();
        let mut out = Vec::new();
        if let Ok(len) = b.encode_into(&mut out, &limits) {
            prop_assert!(len <= 548);
            let p = Packet::parse(&out).unwrap();
            prop_assert_eq!(p.issues().count(), 0);
            // Overload is used exactly when the plain encoding does not fit.
            prop_assert_eq!(p.overload().value() != 0, b.plain_len() > 548);
            prop_assert_eq!(p.message_type(), Ok(Some(MessageType::Request)));
            let got: BTreeMap<u8, Vec<u8>> =
                p.options().filter(|(c, _)| *c != 52).map(|(c, v)| (c, v.into_owned())).collect();
            prop_assert_eq!(got, expected);
        } else {
            prop_assert!(b.plain_len() > 548);
        }
    }
}
