//! A real Kea 2.2 reply, frame 66 of `shared/reference/captures/capture-hs.dhcp.txt` (an OFFER
//! to udhcpc over the raw socket), rebuilt with `MessageBuilder` and `build_frame`.
//!
//! The capture has no hex dump, but tshark printed the IPv4 header checksum (0x6c74) and the
//! UDP checksum (0xb325). The UDP checksum covers every payload byte, so matching it shows the
//! hand-written payload below, the encoder's output and the frame builder are byte-exact with
//! what Kea sent.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;

use nestor_proto::frame::{FrameSpec, build_frame, parse_frame};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

const SERVER_MAC: [u8; 6] = [0xba, 0x7c, 0xf0, 0x6e, 0x9b, 0xda];
const CLIENT_MAC: [u8; 6] = [0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99];
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const OFFERED: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 0);

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The 295-byte DHCP payload of frame 66, from tshark's field-by-field decode.
fn offer_payload() -> Vec<u8> {
    hex(&[
        "02 01 06 00",               // op BOOTREPLY, htype 1, hlen 6, hops 0
        "d280dd37",                  // xid
        "0000 0000",                 // secs, flags (unicast)
        "00000000",                  // ciaddr
        "c6120100",                  // yiaddr 198.18.1.0
        "00000000 00000000",         // siaddr, giaddr
        "5ed082508799",              // chaddr
        &"00".repeat(10 + 64 + 128), // chaddr padding, sname, file
        "63825363",                  // cookie
        "350102",                    // 53 Offer
        "0104ffff0000",              // 1 255.255.0.0
        "0304c6120001",              // 3 router
        "0604c6120001",              // 6 DNS
        "330400000e10",              // 51 3600
        "3604c6120001",              // 54 server id
        "3a04000004b0",              // 58 1200
        "3b0400000960",              // 59 2400
        "3d07015ed082508799",        // 61 client id echoed (RFC 6842)
        "ff",
    ]
    .concat())
}

/// The DISCOVER of frame 65 (udhcpc 1.35.0), padded by the client to 300 bytes.
fn discover_payload() -> Vec<u8> {
    let mut v = hex(&[
        "01 01 06 00 d280dd37 0000 0000 00000000 00000000 00000000 00000000",
        "5ed082508799",
        &"00".repeat(10 + 64 + 128),
        "63825363",
        "350101",   // 53 Discover
        "39020240", // 57 max message size 576
        "3707010306",
        "0c0f1c2a", // 55 PRL 1,3,6,12,15,28,42
        "3c0c",
        "756468637020312e33352e30", // 60 "udhcp 1.35.0"
        "3d07015ed082508799",       // 61
        "ff",
    ]
    .concat());
    v.resize(300, 0);
    v
}

#[test]
fn kea_offer_payload_and_frame_are_byte_exact() {
    let discover = discover_payload();
    let query = Packet::parse(&discover).unwrap();
    assert_eq!(query.max_message_size(), Ok(Some(576)));
    assert_eq!(
        query.vendor_class().unwrap().as_deref(),
        Some(&b"udhcp 1.35.0"[..])
    );

    let mut b = MessageBuilder::default();
    b.reply_to(&query, MessageType::Offer).set_yiaddr(OFFERED);
    let server = SERVER_IP.octets();
    b.add_option(61, &query.client_id().unwrap().unwrap())
        .unwrap();
    b.add_option(54, &server).unwrap();
    b.add_option(1, &[255, 255, 0, 0]).unwrap();
    b.add_option(6, &server).unwrap();
    b.add_option(3, &server).unwrap();
    b.add_option(51, &3600u32.to_be_bytes()).unwrap();
    b.add_option(58, &1200u32.to_be_bytes()).unwrap();
    b.add_option(59, &2400u32.to_be_bytes()).unwrap();
    let limits = EncodeLimits::for_client(query.max_message_size().unwrap());
    let mut payload = Vec::new();
    b.encode_into(&mut payload, &limits).unwrap();
    assert_eq!(payload, offer_payload());
    assert_eq!(payload.len(), 295);

    let spec = FrameSpec::kea_reply(SERVER_MAC, CLIENT_MAC, SERVER_IP, OFFERED);
    let mut frame = Vec::new();
    build_frame(&spec, &payload, &mut frame).unwrap();
    assert_eq!(frame.len(), 337, "tshark: 337 bytes on wire");
    assert_eq!(frame[..14], hex("5ed082508799 ba7cf06e9bda 0800")[..]);
    // IPv4: 45, tos 10, total 323, id 0, DF, ttl 128, UDP, checksum 0x6c74 (tshark).
    assert_eq!(
        frame[14..34],
        hex("4510 0143 0000 4000 8011 6c74 c6120001 c6120100")[..]
    );
    // UDP: 67 -> 68, length 303, checksum 0xb325 (tshark).
    assert_eq!(frame[34..42], hex("0043 0044 012f b325")[..]);

    let parsed = parse_frame(&frame, true).unwrap();
    assert_eq!(parsed.payload, &payload[..]);
    assert_eq!(
        (
            parsed.src_ip,
            parsed.dst_ip,
            parsed.src_port,
            parsed.dst_port
        ),
        (SERVER_IP, OFFERED, 67, 68)
    );
}

#[test]
fn client_discover_frame_parses() {
    // Frame 65: 0.0.0.0:68 -> 255.255.255.255:67, tos 0, ttl 64, no DF, IP checksum 0x79a6,
    // UDP checksum 0x65fb (tshark).
    let payload = discover_payload();
    let spec = FrameSpec::client_broadcast(CLIENT_MAC);
    let mut frame = Vec::new();
    build_frame(&spec, &payload, &mut frame).unwrap();
    assert_eq!(frame.len(), 342);
    assert_eq!(frame[24..26], [0x79, 0xa6]);
    assert_eq!(frame[40..42], [0x65, 0xfb]);
    let parsed = parse_frame(&frame, true).unwrap();
    let p = Packet::parse(parsed.payload).unwrap();
    assert_eq!(p.xid(), 0xd280_dd37);
    assert_eq!(p.message_type(), Ok(Some(MessageType::Discover)));
    assert_eq!(
        p.parameter_request_list().as_deref(),
        Some(&[1, 3, 6, 12, 15, 28, 42][..])
    );
}
