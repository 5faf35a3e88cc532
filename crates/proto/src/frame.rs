//! Ethernet II / IPv4 / UDP framing for AF_PACKET raw sockets.
//!
//! A server that answers clients without an address (Kea's `dhcp-socket-type: raw`) must write
//! the whole frame itself: the kernel cannot ARP for an address the client does not have yet.
//! [`build_frame`] wraps a DHCP payload the way Kea 2.2's LPF packet filter does (captured
//! replies: TOS 0x10, TTL 128, DF set, IP id 0, UDP checksum filled in, see
//! [`FrameSpec::kea_reply`]), and [`parse_frame`] takes a received frame apart with every
//! length checked: Ethernet type, IPv4 version, IHL and total length against the buffer, header
//! checksum (RFC 791 / RFC 1071), no fragments, UDP length against the IP payload and,
//! optionally, the UDP checksum (RFC 768; 0 means "none" on IPv4).
//!
//! Frames are plain Ethernet II without 802.1Q tags, as on Kea's raw sockets.

use std::net::Ipv4Addr;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethernet II header length.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// IPv4 header length without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// UDP header length.
pub const UDP_HEADER_LEN: usize = 8;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// Addresses and IP header settings of a frame to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Source IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// Type of service byte (DSCP and ECN).
    pub tos: u8,
    /// Time to live.
    pub ttl: u8,
    /// IP identification.
    pub ip_id: u16,
    /// Don't-fragment flag.
    pub dont_fragment: bool,
}

impl FrameSpec {
    /// A server reply shaped like Kea 2.2's (LPF filter, see the reference captures): from
    /// port 67 to port 68, TOS 0x10 (IPTOS_LOWDELAY), TTL 128, DF, IP id 0.
    pub fn kea_reply(
        src_mac: [u8; 6],
        dst_mac: [u8; 6],
        src_ip: Ipv4Addr,
        dst_ip: Ipv4Addr,
    ) -> Self {
        FrameSpec {
            dst_mac,
            src_mac,
            src_ip,
            dst_ip,
            src_port: 67,
            dst_port: 68,
            tos: 0x10,
            ttl: 128,
            ip_id: 0,
            dont_fragment: true,
        }
    }
}

impl FrameSpec {
    /// A client's broadcast from 0.0.0.0:68 to 255.255.255.255:67 (DISCOVER, or REQUEST before
    /// the client has an address), shaped like udhcpc's in the reference capture: TOS 0,
    /// TTL 64, no DF, IP id 0.
    pub fn client_broadcast(src_mac: [u8; 6]) -> Self {
        FrameSpec {
            dst_mac: [0xff; 6],
            src_mac,
            src_ip: Ipv4Addr::UNSPECIFIED,
            dst_ip: Ipv4Addr::BROADCAST,
            src_port: 68,
            dst_port: 67,
            tos: 0,
            ttl: 64,
            ip_id: 0,
            dont_fragment: false,
        }
    }
}

/// Why a frame could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The buffer ends before the header being read.
    #[error(
        "frame truncated: {layer} header needs {needed} bytes at offset {offset}, {available} available"
    )]
    Truncated {
        /// `ethernet`, `ipv4` or `udp`.
        layer: &'static str,
        /// Offset of that header in the frame.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes present from `offset`.
        available: usize,
    },
    /// Not an IPv4 frame.
    #[error("EtherType {0:#06x} is not IPv4")]
    NotIpv4(u16),
    /// IP version field is not 4.
    #[error("IP version {0} is not 4")]
    BadVersion(u8),
    /// IHL below 5 words or beyond the total length.
    #[error("IPv4 header length {ihl_bytes} bytes is invalid (total length {total_len})")]
    BadHeaderLength {
        /// IHL in bytes.
        ihl_bytes: usize,
        /// Total length field.
        total_len: usize,
    },
    /// Total length field larger than the bytes received.
    #[error("IPv4 total length {total_len} exceeds the {available} bytes received")]
    BadTotalLength {
        /// Total length field.
        total_len: usize,
        /// Bytes present from the IP header on.
        available: usize,
    },
    /// Header checksum mismatch.
    #[error("IPv4 header checksum {found:#06x} is wrong (computed {computed:#06x})")]
    IpChecksum {
        /// In the header.
        found: u16,
        /// Computed over the header.
        computed: u16,
    },
    /// A fragment (MF set or non-zero offset); DHCP messages are never reassembled here.
    #[error("IPv4 fragment (flags/offset {0:#06x}) not supported")]
    Fragment(u16),
    /// Not UDP.
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
    /// UDP length field below 8 or beyond the IP payload.
    #[error("UDP length {udp_len} is invalid for an IP payload of {ip_payload} bytes")]
    BadUdpLength {
        /// UDP length field.
        udp_len: usize,
        /// Bytes of IP payload.
        ip_payload: usize,
    },
    /// UDP checksum mismatch.
    #[error("UDP checksum {found:#06x} is wrong (computed {computed:#06x})")]
    UdpChecksum {
        /// In the header.
        found: u16,
        /// Computed over pseudo-header, header and payload.
        computed: u16,
    },
    /// The payload does not fit in one IPv4 datagram.
    #[error("UDP payload of {0} bytes does not fit in an IPv4 datagram")]
    PayloadTooLarge(usize),
}

/// A received frame taken apart; `payload` borrows the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// Source IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// Type of service.
    pub tos: u8,
    /// Time to live.
    pub ttl: u8,
    /// The UDP payload (the DHCP message).
    pub payload: &'a [u8],
    /// The UDP checksum field (0: sender sent none).
    pub udp_checksum: u16,
}

/// Ones' complement sum of 16-bit big-endian words (RFC 1071), not yet folded or inverted;
/// an odd trailing byte is padded with zero.
fn sum_words(mut acc: u32, data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = w {
            acc += u32::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = words.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 bits.
    u16::try_from(acc).unwrap_or(u16::MAX)
}

/// The Internet checksum (RFC 1071) of `data`: what goes in a header whose checksum field was
/// zero while summing. Verifying a header that includes its checksum yields 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum_words(0, data))
}

/// UDP checksum over the IPv4 pseudo-header and `udp` (header with its checksum field as it
/// stands, plus payload). A computed 0 is sent as 0xffff (RFC 768).
pub fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut acc = sum_words(0, &src.octets());
    acc = sum_words(acc, &dst.octets());
    acc += u32::from(IPPROTO_UDP);
    // UDP length fits 16 bits for any datagram `build_frame` or `parse_frame` accepts.
    acc += u32::try_from(udp.len()).unwrap_or(u32::MAX) & 0xffff;
    let sum = !fold(sum_words(acc, udp));
    if sum == 0 { 0xffff } else { sum }
}

/// Writes an Ethernet II + IPv4 + UDP frame around `payload` into `out` (cleared first).
pub fn build_frame(spec: &FrameSpec, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let udp_len = u16::try_from(UDP_HEADER_LEN + payload.len())
        .map_err(|_| FrameError::PayloadTooLarge(payload.len()))?;
    let total_len = u16::try_from(IPV4_HEADER_LEN + usize::from(udp_len))
        .map_err(|_| FrameError::PayloadTooLarge(payload.len()))?;
    out.clear();
    out.reserve(ETHERNET_HEADER_LEN + usize::from(total_len));
    out.extend_from_slice(&spec.dst_mac);
    out.extend_from_slice(&spec.src_mac);
    out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    let flags: u16 = if spec.dont_fragment { 0x4000 } else { 0 };
    let mut ip = [0u8; IPV4_HEADER_LEN];
    ip[0] = 0x45;
    ip[1] = spec.tos;
    ip[2..4].copy_from_slice(&total_len.to_be_bytes());
    ip[4..6].copy_from_slice(&spec.ip_id.to_be_bytes());
    ip[6..8].copy_from_slice(&flags.to_be_bytes());
    ip[8] = spec.ttl;
    ip[9] = IPPROTO_UDP;
    ip[12..16].copy_from_slice(&spec.src_ip.octets());
    ip[16..20].copy_from_slice(&spec.dst_ip.octets());
    let ip_sum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    out.extend_from_slice(&ip);

    let udp_start = out.len();
    out.extend_from_slice(&spec.src_port.to_be_bytes());
    out.extend_from_slice(&spec.dst_port.to_be_bytes());
    out.extend_from_slice(&udp_len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let sum = udp_checksum(
        spec.src_ip,
        spec.dst_ip,
        out.get(udp_start..).unwrap_or(&[]),
    );
    if let Some(field) = out.get_mut(udp_start + 6..udp_start + 8) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(())
}

fn take<'a, const N: usize>(
    buf: &'a [u8],
    offset: usize,
    layer: &'static str,
) -> Result<&'a [u8; N], FrameError> {
    buf.get(offset..)
        .and_then(|s| s.first_chunk::<N>())
        .ok_or(FrameError::Truncated {
            layer,
            offset,
            needed: N,
            available: buf.len().saturating_sub(offset),
        })
}

/// Parses an Ethernet II / IPv4 / UDP frame and returns the UDP payload with its addressing.
/// Trailing bytes after the IP total length (Ethernet minimum-size padding) are ignored.
pub fn parse_frame(frame: &[u8], verify_udp_checksum: bool) -> Result<ParsedFrame<'_>, FrameError> {
    let eth = take::<ETHERNET_HEADER_LEN>(frame, 0, "ethernet")?;
    let ethertype = u16::from_be_bytes([eth[12], eth[13]]);
    if ethertype != ETHERTYPE_IPV4 {
        return Err(FrameError::NotIpv4(ethertype));
    }
    let mut dst_mac = [0u8; 6];
    dst_mac.copy_from_slice(&eth[0..6]);
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&eth[6..12]);

    let ip_start = ETHERNET_HEADER_LEN;
    let ip = take::<IPV4_HEADER_LEN>(frame, ip_start, "ipv4")?;
    let version = ip[0] >> 4;
    if version != 4 {
        return Err(FrameError::BadVersion(version));
    }
    let ihl_bytes = usize::from(ip[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let ip_available = frame.len() - ip_start;
    if total_len > ip_available {
        return Err(FrameError::BadTotalLength {
            total_len,
            available: ip_available,
        });
    }
    if ihl_bytes < IPV4_HEADER_LEN || ihl_bytes > total_len {
        return Err(FrameError::BadHeaderLength {
            ihl_bytes,
            total_len,
        });
    }
    let datagram = frame.get(ip_start..ip_start + total_len).unwrap_or(&[]);
    let (header, ip_payload) =
        datagram
            .split_at_checked(ihl_bytes)
            .ok_or(FrameError::BadHeaderLength {
                ihl_bytes,
                total_len,
            })?;
    if internet_checksum(header) != 0 {
        let mut zeroed = [0u8; 60];
        if let Some(z) = zeroed.get_mut(..header.len()) {
            z.copy_from_slice(header);
        }
        zeroed[10] = 0;
        zeroed[11] = 0;
        return Err(FrameError::IpChecksum {
            found: u16::from_be_bytes([ip[10], ip[11]]),
            computed: internet_checksum(zeroed.get(..header.len()).unwrap_or(&[])),
        });
    }
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if frag & 0x3fff != 0 {
        return Err(FrameError::Fragment(frag));
    }
    if ip[9] != IPPROTO_UDP {
        return Err(FrameError::NotUdp(ip[9]));
    }
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);

    let udp = take::<UDP_HEADER_LEN>(ip_payload, 0, "udp").map_err(|e| match e {
        FrameError::Truncated {
            needed, available, ..
        } => FrameError::Truncated {
            layer: "udp",
            offset: ip_start + ihl_bytes,
            needed,
            available,
        },
        other => other,
    })?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_HEADER_LEN || udp_len > ip_payload.len() {
        return Err(FrameError::BadUdpLength {
            udp_len,
            ip_payload: ip_payload.len(),
        });
    }
    let datagram = ip_payload.get(..udp_len).unwrap_or(&[]);
    let udp_checksum_field = u16::from_be_bytes([udp[6], udp[7]]);
    if verify_udp_checksum && udp_checksum_field != 0 {
        // Summing with the checksum in place gives 0xffff (ones' complement zero) when right.
        let mut acc = sum_words(0, &src_ip.octets());
        acc = sum_words(acc, &dst_ip.octets());
        acc += u32::from(IPPROTO_UDP) + u32::try_from(udp_len).unwrap_or(0);
        if fold(sum_words(acc, datagram)) != 0xffff {
            let mut tmp = datagram.to_vec();
            if let Some(f) = tmp.get_mut(6..8) {
                f.copy_from_slice(&[0, 0]);
            }
            return Err(FrameError::UdpChecksum {
                found: udp_checksum_field,
                computed: udp_checksum(src_ip, dst_ip, &tmp),
            });
        }
    }
    Ok(ParsedFrame {
        dst_mac,
        src_mac,
        src_ip,
        dst_ip,
        src_port: u16::from_be_bytes([udp[0], udp[1]]),
        dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        tos: ip[1],
        ttl: ip[8],
        payload: datagram.get(UDP_HEADER_LEN..).unwrap_or(&[]),
        udp_checksum: udp_checksum_field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_MAC: [u8; 6] = [0xba, 0x7c, 0xf0, 0x6e, 0x9b, 0xda];
    const CLIENT_MAC: [u8; 6] = [0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99];

    #[test]
    fn ipv4_header_checksum_by_hand() {
        // Kea's OFFER in the reference capture: 45 10 0143 0000 4000 80 11 [csum]
        // c6120001 c6120100. Words: 4510 + 0143 + 0000 + 4000 + 8011 + c612 + 0001 + c612
        // + 0100 = 0x29389; folded 0x9389 + 2 = 0x938b; inverted 0x6c74, as tshark printed.
        let header = [
            0x45, 0x10, 0x01, 0x43, 0x00, 0x00, 0x40, 0x00, 0x80, 0x11, 0x00, 0x00, 0xc6, 0x12,
            0x00, 0x01, 0xc6, 0x12, 0x01, 0x00,
        ];
        assert_eq!(internet_checksum(&header), 0x6c74);
        let mut with = header;
        with[10..12].copy_from_slice(&0x6c74u16.to_be_bytes());
        assert_eq!(internet_checksum(&with), 0);
    }

    fn spec() -> FrameSpec {
        FrameSpec::kea_reply(
            SERVER_MAC,
            CLIENT_MAC,
            Ipv4Addr::new(198, 18, 0, 1),
            Ipv4Addr::new(198, 18, 1, 0),
        )
    }

    #[test]
    fn build_then_parse_round_trip() {
        let payload: Vec<u8> = (0..295u16).map(|i| i as u8).collect();
        let mut frame = Vec::new();
        build_frame(&spec(), &payload, &mut frame).unwrap();
        assert_eq!(frame.len(), 14 + 20 + 8 + 295);
        assert_eq!(frame[14..16], [0x45, 0x10]);
        assert_eq!(frame[20..23], [0x40, 0x00, 128]);
        let p = parse_frame(&frame, true).unwrap();
        assert_eq!(p.payload, &payload[..]);
        assert_eq!((p.src_mac, p.dst_mac), (SERVER_MAC, CLIENT_MAC));
        assert_eq!(
            (p.src_ip, p.dst_ip),
            (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 1, 0))
        );
        assert_eq!((p.src_port, p.dst_port, p.tos, p.ttl), (67, 68, 0x10, 128));
        assert_ne!(p.udp_checksum, 0);
        // Odd payload length exercises the padded last word.
        build_frame(&spec(), &payload[..7], &mut frame).unwrap();
        assert_eq!(parse_frame(&frame, true).unwrap().payload, &payload[..7]);
    }

    #[test]
    fn ethernet_padding_is_ignored() {
        let mut frame = Vec::new();
        build_frame(&spec(), b"abc", &mut frame).unwrap();
        frame.resize(60, 0);
        assert_eq!(parse_frame(&frame, true).unwrap().payload, b"abc");
    }

    #[test]
    fn corrupt_frames_are_errors() {
        let mut good = Vec::new();
        build_frame(&spec(), b"hello dhcp", &mut good).unwrap();

        for cut in [0, 13, 20, 33, 40] {
            assert!(parse_frame(&good[..cut], false).is_err(), "cut at {cut}");
        }
        let mut f = good.clone();
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse_frame(&f, false), Err(FrameError::NotIpv4(0x86dd)));
        let mut f = good.clone();
        f[14] = 0x65;
        assert_eq!(parse_frame(&f, false), Err(FrameError::BadVersion(6)));
        let mut f = good.clone();
        f[14] = 0x44;
        assert!(matches!(
            parse_frame(&f, false),
            Err(FrameError::BadHeaderLength { ihl_bytes: 16, .. })
        ));
        let mut f = good.clone();
        f[22] ^= 1; // a TTL change breaks the header checksum
        assert!(matches!(
            parse_frame(&f, false),
            Err(FrameError::IpChecksum { .. })
        ));
        let mut f = good.clone();
        f[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert!(matches!(
            parse_frame(&f, false),
            Err(FrameError::BadTotalLength {
                total_len: 1000,
                ..
            })
        ));
        let mut f = good.clone();
        f[38] = 0xff; // UDP length high byte
        assert!(matches!(
            parse_frame(&f, false),
            Err(FrameError::BadUdpLength { .. })
        ));
        let mut f = good.clone();
        let last = f.len() - 1;
        f[last] ^= 0x55; // payload change breaks the UDP checksum only
        assert!(parse_frame(&f, false).is_ok());
        assert!(matches!(
            parse_frame(&f, true),
            Err(FrameError::UdpChecksum { .. })
        ));
        // A zero UDP checksum means "none" and is accepted.
        f[40..42].copy_from_slice(&[0, 0]);
        assert!(parse_frame(&f, true).is_ok());
    }

    #[test]
    fn fragments_and_other_protocols_are_refused() {
        let mut s = spec();
        s.dont_fragment = false;
        let mut f = Vec::new();
        build_frame(&s, b"x", &mut f).unwrap();
        // Set MF and fix the header checksum so only the fragment check can fail.
        f[20] = 0x20;
        f[24..26].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_frame(&f, false), Err(FrameError::Fragment(0x2000)));
        f[20] = 0;
        f[23] = 6; // TCP
        f[24..26].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_frame(&f, false), Err(FrameError::NotUdp(6)));
    }

    #[test]
    fn oversized_payload_is_refused() {
        let big = vec![0u8; 65536 - 28];
        assert_eq!(
            build_frame(&spec(), &big, &mut Vec::new()),
            Err(FrameError::PayloadTooLarge(65508))
        );
    }
}
