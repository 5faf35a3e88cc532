//! Fuzz target: [`parse_frame`] on arbitrary bytes (an AF_PACKET read), with and without UDP
//! checksum verification. A frame that parses is rebuilt with [`build_frame`] from its fields
//! and parsed again: addresses, ports, TOS, TTL and payload must survive, and the rebuilt
//! frame's checksums must verify. The payload then goes through the DHCP packet view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestor_proto::frame::{FrameSpec, build_frame, parse_frame};
use nestor_proto::pkt::Packet;

fuzz_target!(|data: &[u8]| {
    let lenient = parse_frame(data, false);
    let strict = parse_frame(data, true);
    if let Ok(f) = strict {
        assert_eq!(
            lenient,
            Ok(f),
            "a frame valid with checksums must be valid without"
        );
    }
    let Ok(f) = lenient else { return };
    assert!(f.payload.len() <= data.len());

    let spec = FrameSpec {
        dst_mac: f.dst_mac,
        src_mac: f.src_mac,
        src_ip: f.src_ip,
        dst_ip: f.dst_ip,
        src_port: f.src_port,
        dst_port: f.dst_port,
        tos: f.tos,
        ttl: f.ttl,
        ip_id: 0,
        dont_fragment: true,
    };
    let mut out = Vec::new();
    if build_frame(&spec, f.payload, &mut out).is_ok() {
        let again =
            parse_frame(&out, true).unwrap_or_else(|e| panic!("rebuilt frame refused: {e}"));
        assert_eq!((again.dst_mac, again.src_mac), (f.dst_mac, f.src_mac));
        assert_eq!((again.src_ip, again.dst_ip), (f.src_ip, f.dst_ip));
        assert_eq!((again.src_port, again.dst_port), (f.src_port, f.dst_port));
        assert_eq!((again.tos, again.ttl), (f.tos, f.ttl));
        assert_eq!(again.payload, f.payload);
    }
    if let Ok(pkt) = Packet::parse(f.payload) {
        let _ = (pkt.message_type(), pkt.options().count());
    }
});
