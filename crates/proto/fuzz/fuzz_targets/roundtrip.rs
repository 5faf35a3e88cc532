//! Fuzz target: decode -> encode -> decode. A buffer that [`Packet::parse`] accepts is rebuilt
//! with [`MessageBuilder`] (every header field, every fused option but overload, which the
//! encoder owns) and encoded twice: once as Kea 2.2 would (no size limit, no overload), once
//! fitted to a 576-byte client (overload allowed). Each encoding must parse again without
//! issue, with the same header and the same fused options; re-encoding the re-parsed packet
//! must give the same bytes (the encoding is a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, Packet, code};

/// Header fields and fused options, the part of a message that must survive a round trip.
type Summary = (Vec<u8>, Vec<(u8, Vec<u8>)>);

fn header(p: &Packet<'_>) -> Vec<u8> {
    let mut h = vec![p.op(), p.htype(), p.hlen(), p.hops()];
    h.extend_from_slice(&p.xid().to_be_bytes());
    h.extend_from_slice(&p.secs().to_be_bytes());
    h.extend_from_slice(&p.flags().to_be_bytes());
    for a in [p.ciaddr(), p.yiaddr(), p.siaddr(), p.giaddr()] {
        h.extend_from_slice(&a.octets());
    }
    h.extend_from_slice(p.chaddr_field());
    h.extend_from_slice(p.server_name().unwrap_or_default());
    h.push(0);
    h.extend_from_slice(p.boot_file_name().unwrap_or_default());
    h
}

fn summary(p: &Packet<'_>) -> Summary {
    let opts = p
        .options()
        .filter(|(c, _)| *c != code::OVERLOAD)
        .map(|(c, v)| (c, v.into_owned()))
        .collect();
    (header(p), opts)
}

fn rebuild(p: &Packet<'_>) -> Option<MessageBuilder> {
    let mut b = MessageBuilder::new(p.op());
    b.set_htype(p.htype())
        .set_hops(p.hops())
        .set_xid(p.xid())
        .set_secs(p.secs())
        .set_flags(p.flags())
        .set_ciaddr(p.ciaddr())
        .set_yiaddr(p.yiaddr())
        .set_siaddr(p.siaddr())
        .set_giaddr(p.giaddr());
    b.set_chaddr(p.chaddr_field()).ok()?.set_hlen(p.hlen());
    // Fields that carried options are rebuilt empty: their options are in the fused set.
    b.set_sname(p.server_name().unwrap_or_default()).ok()?;
    b.set_file(p.boot_file_name().unwrap_or_default()).ok()?;
    for (c, v) in p.options() {
        if c != code::OVERLOAD {
            b.add_option(c, &v).ok()?;
        }
    }
    Some(b)
}

fn check(original: &Summary, b: &MessageBuilder, limits: &EncodeLimits) {
    let mut out = Vec::new();
    let Ok(len) = b.encode_into(&mut out, limits) else {
        return;
    };
    assert_eq!(len, out.len());
    assert!(
        len <= limits.max_len,
        "encoded {len} bytes over the {} limit",
        limits.max_len
    );
    let again = Packet::parse(&out).unwrap_or_else(|e| panic!("encoder output refused: {e}"));
    assert_eq!(
        again.issues().count(),
        0,
        "encoder output has issues: {:?}",
        again.issues().collect::<Vec<_>>()
    );
    assert_eq!(&summary(&again), original, "round trip changed the message");

    let b2 = rebuild(&again).unwrap_or_else(|| panic!("re-parsed packet cannot be rebuilt"));
    let mut out2 = Vec::new();
    let len2 = b2
        .encode_into(&mut out2, limits)
        .unwrap_or_else(|e| panic!("second encoding failed: {e}"));
    assert_eq!(out2[..len2], out[..len], "encoding is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    let Ok(pkt) = Packet::parse(data) else { return };
    let original = summary(&pkt);
    let Some(b) = rebuild(&pkt) else { return };
    check(&original, &b, &EncodeLimits::unlimited());
    check(
        &original,
        &b,
        &EncodeLimits::for_client(Some(EncodeLimits::MIN_DATAGRAM)),
    );
});
