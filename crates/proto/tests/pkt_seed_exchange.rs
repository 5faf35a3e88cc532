//! The seed document's DORA exchange (dhtest client 00:00:00:11:22:33, xid 0x6a521a43, served
//! by the hot-standby pair, tcpdump at 06:44:35), built with `MessageBuilder` and compared byte
//! for byte with messages written out by hand from the RFC 2131 layout, then parsed back.
//!
//! Kea 1.5 (the seed) listed the reply options by ascending code with 53 among them
//! (1, 3, 6, 51, 53, 54, 58, 59). Kea 2.2 packs 53 first (reference section 4.3, verified in the
//! 2.2 captures: 53, 1, 3, 6, 51, 54, 58, 59, 61), and Nestor follows Kea 2.2, so the expected
//! OFFER and ACK below start their options with 53. Lengths are the seed's: 251 (DISCOVER),
//! 290 (OFFER, ACK), 263 (REQUEST) bytes of BOOTP payload.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;

use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

const XID: u32 = 0x6a52_1a43;
const CHADDR: [u8; 6] = [0x00, 0x00, 0x00, 0x11, 0x22, 0x33];
const PRL: [u8; 5] = [1, 28, 3, 15, 6]; // Subnet-Mask, BR, Default-Gateway, Domain-Name, DNS
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(172, 18, 1, 1);
const SERVER_ID: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 3);

/// Decodes hex, ignoring whitespace.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd hex length");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The 236-byte BOOTP header, field by field (RFC 2131 figure 1).
fn header(op: &str, yiaddr: &str) -> String {
    [
        op,                // op
        "01",              // htype: Ethernet
        "06",              // hlen
        "00",              // hops
        "6a521a43",        // xid
        "0000",            // secs
        "0000",            // flags: tcpdump "Flags [none]"
        "00000000",        // ciaddr
        yiaddr,            // yiaddr
        "00000000",        // siaddr
        "00000000",        // giaddr
        "000000112233",    // chaddr (6 bytes) ...
        &"00".repeat(10),  // ... padded to 16
        &"00".repeat(64),  // sname
        &"00".repeat(128), // file
    ]
    .concat()
}

const COOKIE: &str = "63825363";

fn discover_bytes() -> Vec<u8> {
    hex(&[
        &header("01", "00000000"),
        COOKIE,
        "350101",         // 53 DHCPDISCOVER
        "3705011c030f06", // 55 PRL 1,28,3,15,6
        "ff",
    ]
    .concat())
}

fn request_bytes() -> Vec<u8> {
    hex(&[
        &header("01", "00000000"),
        COOKIE,
        "350103",         // 53 DHCPREQUEST
        "3204ac120101",   // 50 requested address 172.18.1.1
        "3604ac120003",   // 54 server id 172.18.0.3
        "3705011c030f06", // 55 PRL
        "ff",
    ]
    .concat())
}

/// OFFER (message type 2) or ACK (5), options in Kea 2.2's order.
fn reply_bytes(message_type: &str) -> Vec<u8> {
    hex(&[
        &header("02", "ac120101"), // yiaddr 172.18.1.1
        COOKIE,
        "3501",
        message_type,   // 53 first (Kea 2.2)
        "0104ffff0000", // 1 subnet mask 255.255.0.0
        "0304ac120001", // 3 router 172.18.0.1
        "060808080808",
        "08080404",     // 6 DNS 8.8.8.8, 8.8.4.4
        "330400000e10", // 51 lease time 3600
        "3604ac120003", // 54 server id 172.18.0.3
        "3a04000004b0", // 58 T1 1200
        "3b0400000960", // 59 T2 2400
        "ff",
    ]
    .concat())
}

fn client(message_type: MessageType) -> MessageBuilder {
    let mut b = MessageBuilder::new(1);
    b.set_xid(XID).set_chaddr(&CHADDR).unwrap();
    b.set_message_type(message_type);
    b
}

fn encode(b: &MessageBuilder) -> Vec<u8> {
    let mut out = Vec::new();
    // The seed's client sent no option 57: the RFC default limit applies.
    let len = b
        .encode_into(&mut out, &EncodeLimits::for_client(None))
        .unwrap();
    assert_eq!(len, out.len());
    out
}

/// Builds the server's reply to `query` the way a Kea 2.2 server fills it, adding options in
/// the order the seed's tcpdump listed them (the encoder reorders).
fn reply(query: &Packet<'_>, message_type: MessageType) -> MessageBuilder {
    let mut b = MessageBuilder::default();
    b.reply_to(query, message_type).set_yiaddr(CLIENT_IP);
    b.add_option(1, &[255, 255, 0, 0]).unwrap();
    b.add_option(3, &[172, 18, 0, 1]).unwrap();
    b.add_option(6, &[8, 8, 8, 8, 8, 8, 4, 4]).unwrap();
    b.add_option(51, &3600u32.to_be_bytes()).unwrap();
    b.add_option(54, &SERVER_ID.octets()).unwrap();
    b.add_option(58, &1200u32.to_be_bytes()).unwrap();
    b.add_option(59, &2400u32.to_be_bytes()).unwrap();
    b
}

fn assert_common_header(p: &Packet<'_>, op: u8, yiaddr: Ipv4Addr) {
    assert_eq!(p.op(), op);
    assert_eq!((p.htype(), p.hlen(), p.hops()), (1, 6, 0));
    assert_eq!(p.xid(), XID);
    assert_eq!((p.secs(), p.flags()), (0, 0));
    assert!(!p.broadcast());
    assert_eq!(p.ciaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.yiaddr(), yiaddr);
    assert_eq!(p.siaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.giaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.chaddr(), &CHADDR);
    assert_eq!(p.server_name(), None);
    assert_eq!(p.boot_file_name(), None);
    assert_eq!(p.issues().count(), 0);
}

fn codes(p: &Packet<'_>) -> Vec<u8> {
    p.options().map(|(c, _)| c).collect()
}

#[test]
fn discover() {
    let built = encode(&{
        let mut b = client(MessageType::Discover);
        b.add_option(55, &PRL).unwrap();
        b
    });
    let expected = discover_bytes();
    assert_eq!(expected.len(), 251);
    assert_eq!(built, expected);

    let p = Packet::parse(&built).unwrap();
    assert_common_header(&p, 1, Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.message_type(), Ok(Some(MessageType::Discover)));
    assert_eq!(p.parameter_request_list().as_deref(), Some(&PRL[..]));
    assert_eq!(codes(&p), vec![53, 55]);
    assert_eq!(p.max_message_size(), Ok(None));
}

#[test]
fn offer() {
    let discover = discover_bytes();
    let query = Packet::parse(&discover).unwrap();
    let built = encode(&reply(&query, MessageType::Offer));
    let expected = reply_bytes("02");
    assert_eq!(expected.len(), 290);
    assert_eq!(built, expected);

    let p = Packet::parse(&built).unwrap();
    assert_common_header(&p, 2, CLIENT_IP);
    check_reply_options(&p, MessageType::Offer);
}

#[test]
fn request() {
    let built = encode(&{
        let mut b = client(MessageType::Request);
        b.add_option(55, &PRL).unwrap();
        b.add_option(54, &SERVER_ID.octets()).unwrap();
        b.add_option(50, &CLIENT_IP.octets()).unwrap();
        b
    });
    let expected = request_bytes();
    assert_eq!(expected.len(), 263);
    assert_eq!(built, expected);

    let p = Packet::parse(&built).unwrap();
    assert_common_header(&p, 1, Ipv4Addr::UNSPECIFIED);
    assert_eq!(p.message_type(), Ok(Some(MessageType::Request)));
    assert_eq!(p.requested_address(), Ok(Some(CLIENT_IP)));
    assert_eq!(p.server_id(), Ok(Some(SERVER_ID)));
    assert_eq!(p.parameter_request_list().as_deref(), Some(&PRL[..]));
    assert_eq!(codes(&p), vec![50, 53, 54, 55]);
}

#[test]
fn ack() {
    let request = request_bytes();
    let query = Packet::parse(&request).unwrap();
    let built = encode(&reply(&query, MessageType::Ack));
    assert_eq!(built, reply_bytes("05"));

    let p = Packet::parse(&built).unwrap();
    assert_common_header(&p, 2, CLIENT_IP);
    check_reply_options(&p, MessageType::Ack);
}

fn check_reply_options(p: &Packet<'_>, t: MessageType) {
    assert_eq!(p.message_type(), Ok(Some(t)));
    assert_eq!(codes(p), vec![1, 3, 6, 51, 53, 54, 58, 59]);
    assert_eq!(p.option(1).as_deref(), Some(&[255, 255, 0, 0][..]));
    assert_eq!(p.option(3).as_deref(), Some(&[172, 18, 0, 1][..]));
    assert_eq!(p.option(6).as_deref(), Some(&[8, 8, 8, 8, 8, 8, 4, 4][..]));
    assert_eq!(p.lease_time(), Ok(Some(3600)));
    assert_eq!(p.server_id(), Ok(Some(SERVER_ID)));
    assert_eq!(p.option(58).as_deref(), Some(&1200u32.to_be_bytes()[..]));
    assert_eq!(p.option(59).as_deref(), Some(&2400u32.to_be_bytes()[..]));
    assert_eq!(p.client_id(), Ok(None));
}
