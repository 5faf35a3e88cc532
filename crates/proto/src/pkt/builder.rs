//! [`MessageBuilder`]: an owned, reusable DHCPv4 message builder and its encoder.
//!
//! Encoding follows Kea 2.2's `Pkt4::pack` / `LibDHCP::packOptions4` / `splitOptions4`: header,
//! magic cookie, message type (53) first, the other options by ascending code, relay agent
//! information (82) last, then END; an option longer than 255 bytes is split into consecutive
//! instances of at most 255 bytes (RFC 3396). No padding after END for DHCP (the captures show
//! 295-byte Kea replies); BOOTP replies are padded to 300 bytes as Kea's bootp hook does
//! ([`EncodeLimits::bootp`]).
//!
//! Beyond Kea 2.2, which ignores option 57 and never overloads: the message is fitted to the
//! client's maximum message size ([`EncodeLimits::for_client`]) and, when the options field is
//! full and `file`/`sname` are unused, continues in `file` then `sname` with option 52
//! (RFC 2131 section 4.1, RFC 2132 section 9.3). If it still does not fit, encoding fails and
//! the caller decides (drop options, or drop the reply).
//!
//! A builder keeps its buffers across [`MessageBuilder::reply_to`] / [`MessageBuilder::reset`],
//! and [`MessageBuilder::encode_into`] writes into a caller-owned `Vec<u8>`, so a server that
//! reuses both does no heap allocation per packet once warm.

use std::net::Ipv4Addr;

use super::typed::MessageType;
use super::view::Packet;
use super::{
    BOOTREPLY, BROADCAST_FLAG, CHADDR_LEN, FILE_LEN, HEADER_LEN, MAGIC_COOKIE, SNAME_LEN, code,
};

/// A value the builder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Pad (0) and end (255) are not options; overload (52) is written by the encoder.
    #[error(
        "option code {code} cannot be added (pad, end and overload are managed by the encoder)"
    )]
    ReservedCode {
        /// The refused code.
        code: u8,
    },
    /// A fixed header field was given more bytes than it holds.
    #[error("{field} of {len} bytes does not fit the {max}-byte field")]
    FieldTooLong {
        /// `chaddr`, `sname` or `file`.
        field: &'static str,
        /// Bytes given.
        len: usize,
        /// Field size.
        max: usize,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message exceeds the size limit even after overloading whatever could be used.
    #[error(
        "DHCP message of {needed} bytes exceeds the {limit}-byte limit \
         (overload into file/sname {})",
        if *overload_tried { "tried" } else { "not possible" }
    )]
    TooBig {
        /// Size without overload (header, cookie, options, END).
        needed: usize,
        /// The limit in force (DHCP message, without IP/UDP headers).
        limit: usize,
        /// Whether `file`/`sname` were available and tried.
        overload_tried: bool,
    },
}

/// Size rules for [`MessageBuilder::encode_into`]. Sizes are DHCP message sizes (from `op` to
/// END and padding), without IP and UDP headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeLimits {
    /// Largest message allowed.
    pub max_len: usize,
    /// Zero padding after END up to this size (300 for BOOTP, 0 for DHCP).
    pub min_len: usize,
    /// Whether unused `file`/`sname` fields may carry options when the options field is full.
    pub allow_overload: bool,
}

impl EncodeLimits {
    /// IPv4 (20, no options) plus UDP (8) header bytes around a DHCP message.
    pub const IP_UDP_OVERHEAD: usize = 28;
    /// The smallest datagram every DHCP client accepts and the smallest legal option 57
    /// (RFC 2131 section 2, RFC 2132 section 9.10): 576 = 20 + 8 + 236 + 312.
    pub const MIN_DATAGRAM: u16 = 576;
    /// Minimum size of a BOOTP message (RFC 951: 64-byte vendor area), Kea's `BOOT_MIN_SIZE`.
    pub const BOOTP_MIN_LEN: usize = 300;
    /// Largest DHCP message one UDP datagram can carry.
    pub const MAX_UDP_PAYLOAD: usize = 65535 - Self::IP_UDP_OVERHEAD;

    /// Limits for a reply to a client that sent `max_message_size` (option 57), or none.
    ///
    /// Option 57 is read, as ISC dhcpd does and as RFC 2131's 576 = 20 + 8 + 548 arithmetic
    /// implies, as the size of the IP datagram: the IP and UDP headers are subtracted. Values
    /// below 576 are raised to 576; no option means 576 (the RFC's floor every client
    /// accepts). Kea 2.2 ignores option 57 entirely: use [`EncodeLimits::unlimited`] for its
    /// exact behaviour.
    pub fn for_client(max_message_size: Option<u16>) -> Self {
        let datagram = max_message_size
            .unwrap_or(Self::MIN_DATAGRAM)
            .max(Self::MIN_DATAGRAM);
        EncodeLimits {
            max_len: usize::from(datagram) - Self::IP_UDP_OVERHEAD,
            min_len: 0,
            allow_overload: true,
        }
    }

    /// No limit but the UDP datagram size and no overload: Kea 2.2's behaviour.
    pub const fn unlimited() -> Self {
        EncodeLimits {
            max_len: Self::MAX_UDP_PAYLOAD,
            min_len: 0,
            allow_overload: false,
        }
    }

    /// The same limits with BOOTP's 300-byte minimum (Kea's bootp hook pads after END).
    pub const fn bootp(self) -> Self {
        EncodeLimits {
            min_len: Self::BOOTP_MIN_LEN,
            ..self
        }
    }
}

impl Default for EncodeLimits {
    /// [`EncodeLimits::for_client`] with no option 57.
    fn default() -> Self {
        Self::for_client(None)
    }
}

/// One logical option: its value is `data[start..start + len]`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    code: u8,
    start: usize,
    len: usize,
}

/// Encoding rank: 53 first, 82 last, the rest by code (Kea's `packOptions4`).
fn rank(code: u8) -> u16 {
    match code {
        code::MESSAGE_TYPE => 0,
        code::RELAY_AGENT_INFO => 256,
        c => u16::from(c),
    }
}

/// Wire size of an option of `len` bytes once split into instances of at most 255 bytes.
fn wire_size(len: usize) -> usize {
    len + 2 * len.div_ceil(255).max(1)
}

/// An owned DHCPv4 message under construction (a reply, or a client message for tests and
/// load generation).
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    op: u8,
    htype: u8,
    hlen: u8,
    hops: u8,
    xid: u32,
    secs: u16,
    flags: u16,
    ciaddr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    siaddr: Ipv4Addr,
    giaddr: Ipv4Addr,
    chaddr: [u8; CHADDR_LEN],
    sname: [u8; SNAME_LEN],
    file: [u8; FILE_LEN],
    /// Sorted by [`rank`], one entry per code.
    entries: Vec<Entry>,
    /// Option values; space of removed or re-appended values is reclaimed on reset.
    data: Vec<u8>,
}

impl Default for MessageBuilder {
    fn default() -> Self {
        Self::new(super::BOOTREQUEST)
    }
}

impl MessageBuilder {
    /// An empty message with the given `op`, Ethernet `htype` (1), everything else zero.
    pub fn new(op: u8) -> Self {
        MessageBuilder {
            op,
            htype: 1,
            hlen: 0,
            hops: 0,
            xid: 0,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [0; CHADDR_LEN],
            sname: [0; SNAME_LEN],
            file: [0; FILE_LEN],
            entries: Vec::new(),
            data: Vec::new(),
        }
    }

    /// A client message (op 1, Ethernet) with `xid`, hardware address `chaddr` (at most 16
    /// bytes) and option 53, for tests, benchmarks and load generators.
    pub fn client(message_type: MessageType, xid: u32, chaddr: &[u8]) -> Result<Self, BuildError> {
        let mut b = MessageBuilder::new(super::BOOTREQUEST);
        b.set_xid(xid).set_chaddr(chaddr)?;
        b.set_message_type(message_type);
        Ok(b)
    }

    /// Clears every field and option (keeping allocated capacity) and sets `op`.
    pub fn reset(&mut self, op: u8) -> &mut Self {
        let entries = std::mem::take(&mut self.entries);
        let data = std::mem::take(&mut self.data);
        *self = MessageBuilder::new(op);
        self.entries = entries;
        self.entries.clear();
        self.data = data;
        self.data.clear();
        self
    }

    /// Resets the builder to a reply to `query`, as Kea's `Dhcpv4Exchange` starts one: op 2,
    /// same xid, htype, hardware address (hlen clamped to 16), hops, giaddr and flags; secs,
    /// ciaddr, yiaddr and siaddr zero (the server sets ciaddr for INFORM and renewals);
    /// option 53 set to `message_type`.
    pub fn reply_to(&mut self, query: &Packet<'_>, message_type: MessageType) -> &mut Self {
        self.reset(BOOTREPLY);
        self.xid = query.xid();
        self.htype = query.htype();
        let hw = query.chaddr();
        self.hlen = u8::try_from(hw.len()).unwrap_or(CHADDR_LEN as u8);
        if let Some(dst) = self.chaddr.get_mut(..hw.len()) {
            dst.copy_from_slice(hw);
        }
        self.hops = query.hops();
        self.giaddr = query.giaddr();
        self.flags = query.flags();
        self.set_message_type(message_type)
    }

    // ---- header ----

    /// Sets `op` (1 request, 2 reply).
    pub fn set_op(&mut self, op: u8) -> &mut Self {
        self.op = op;
        self
    }
    /// Sets `htype`.
    pub fn set_htype(&mut self, htype: u8) -> &mut Self {
        self.htype = htype;
        self
    }
    /// Sets `chaddr` and `hlen` (its length, at most 16).
    pub fn set_chaddr(&mut self, hw: &[u8]) -> Result<&mut Self, BuildError> {
        let too_long = BuildError::FieldTooLong {
            field: "chaddr",
            len: hw.len(),
            max: CHADDR_LEN,
        };
        let len = u8::try_from(hw.len()).map_err(|_| too_long.clone())?;
        let dst = self.chaddr.get_mut(..hw.len()).ok_or(too_long)?;
        dst.copy_from_slice(hw);
        self.chaddr.iter_mut().skip(hw.len()).for_each(|b| *b = 0);
        self.hlen = len;
        Ok(self)
    }
    /// Overrides `hlen` alone (for tests of odd hardware lengths).
    pub fn set_hlen(&mut self, hlen: u8) -> &mut Self {
        self.hlen = hlen;
        self
    }
    /// Sets `hops`.
    pub fn set_hops(&mut self, hops: u8) -> &mut Self {
        self.hops = hops;
        self
    }
    /// Sets `xid`.
    pub fn set_xid(&mut self, xid: u32) -> &mut Self {
        self.xid = xid;
        self
    }
    /// Sets `secs`.
    pub fn set_secs(&mut self, secs: u16) -> &mut Self {
        self.secs = secs;
        self
    }
    /// Sets all 16 bits of `flags`.
    pub fn set_flags(&mut self, flags: u16) -> &mut Self {
        self.flags = flags;
        self
    }
    /// Sets or clears the broadcast bit.
    pub fn set_broadcast(&mut self, on: bool) -> &mut Self {
        if on {
            self.flags |= BROADCAST_FLAG;
        } else {
            self.flags &= !BROADCAST_FLAG;
        }
        self
    }
    /// Sets `ciaddr`.
    pub fn set_ciaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.ciaddr = a;
        self
    }
    /// Sets `yiaddr`.
    pub fn set_yiaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.yiaddr = a;
        self
    }
    /// Sets `siaddr` (`next-server`).
    pub fn set_siaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.siaddr = a;
        self
    }
    /// Sets `giaddr`.
    pub fn set_giaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.giaddr = a;
        self
    }
    /// Sets `sname` (`server-hostname`, at most 64 bytes, zero-filled).
    pub fn set_sname(&mut self, name: &[u8]) -> Result<&mut Self, BuildError> {
        fill(&mut self.sname, name, "sname")?;
        Ok(self)
    }
    /// Sets `file` (`boot-file-name`, at most 128 bytes, zero-filled).
    pub fn set_file(&mut self, name: &[u8]) -> Result<&mut Self, BuildError> {
        fill(&mut self.file, name, "file")?;
        Ok(self)
    }

    /// The `xid` being built.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    // ---- options ----

    fn find(&self, code: u8) -> Result<usize, usize> {
        self.entries
            .binary_search_by_key(&rank(code), |e| rank(e.code))
    }

    /// Sets option 53.
    pub fn set_message_type(&mut self, t: MessageType) -> &mut Self {
        self.put(code::MESSAGE_TYPE, &[u8::from(t)], false);
        self
    }

    /// Adds option `code`. Adding a code already present appends to its value: one code is one
    /// logical option (RFC 3396), however many instances the encoder writes.
    pub fn add_option(&mut self, code: u8, value: &[u8]) -> Result<&mut Self, BuildError> {
        check_code(code)?;
        self.put(code, value, true);
        Ok(self)
    }

    /// Sets option `code`, replacing any previous value.
    pub fn set_option(&mut self, code: u8, value: &[u8]) -> Result<&mut Self, BuildError> {
        check_code(code)?;
        self.put(code, value, false);
        Ok(self)
    }

    fn put(&mut self, code: u8, value: &[u8], append: bool) {
        match self.find(code) {
            Ok(i) => {
                let Some(e) = self.entries.get_mut(i) else {
                    return;
                };
                if !append {
                    e.start = self.data.len();
                    e.len = 0;
                } else if e.start + e.len != self.data.len() {
                    // Not the last value written: move it to the end so it can grow in place.
                    let old = e.start..e.start + e.len;
                    e.start = self.data.len();
                    self.data.extend_from_within(old);
                }
                self.data.extend_from_slice(value);
                e.len += value.len();
            }
            Err(i) => {
                let start = self.data.len();
                self.data.extend_from_slice(value);
                self.entries.insert(
                    i,
                    Entry {
                        code,
                        start,
                        len: value.len(),
                    },
                );
            }
        }
    }

    /// Removes option `code`; true if it was present.
    pub fn remove_option(&mut self, code: u8) -> bool {
        match self.find(code) {
            Ok(i) => {
                self.entries.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The value of option `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        let e = self.entries.get(self.find(code).ok()?)?;
        self.data.get(e.start..e.start + e.len)
    }

    /// The options in encoding order (53, ascending codes, 82).
    pub fn options(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.entries.iter().map(|e| {
            (
                e.code,
                self.data.get(e.start..e.start + e.len).unwrap_or(&[]),
            )
        })
    }

    /// Size of the message without overload or padding.
    pub fn plain_len(&self) -> usize {
        HEADER_LEN
            + MAGIC_COOKIE.len()
            + self.entries.iter().map(|e| wire_size(e.len)).sum::<usize>()
            + 1
    }

    // ---- encoding ----

    /// Encodes the message into `out` (cleared first) within `limits`; returns its length.
    pub fn encode_into(
        &self,
        out: &mut Vec<u8>,
        limits: &EncodeLimits,
    ) -> Result<usize, EncodeError> {
        out.clear();
        self.write_header(out);
        let needed = self.plain_len();
        if needed <= limits.max_len {
            for (code, value) in self.options() {
                write_option(out, code, value);
            }
            out.push(code::END);
        } else {
            let file_free = self.file.iter().all(|&b| b == 0);
            let sname_free = self.sname.iter().all(|&b| b == 0);
            let overload_tried = limits.allow_overload && (file_free || sname_free);
            let too_big = EncodeError::TooBig {
                needed,
                limit: limits.max_len,
                overload_tried,
            };
            if !overload_tried {
                out.clear();
                return Err(too_big);
            }
            if self
                .encode_overloaded(out, limits.max_len, file_free, sname_free)
                .is_none()
            {
                out.clear();
                return Err(too_big);
            }
        }
        if out.len() < limits.min_len {
            out.resize(limits.min_len, 0);
        }
        Ok(out.len())
    }

    fn write_header(&self, out: &mut Vec<u8>) {
        out.reserve(self.plain_len().max(300));
        out.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&a.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.extend_from_slice(&self.sname);
        out.extend_from_slice(&self.file);
        out.extend_from_slice(&MAGIC_COOKIE);
    }

    /// Greedy placement in RFC 2131 reading order: options field, then `file`, then `sname`.
    /// Option order is kept across areas so RFC 3396 concatenation yields the same values; an
    /// option of at most 255 bytes is never cut between areas (clients without RFC 3396 support
    /// then still read it whole) but moves to the next area when it does not fit; a longer one,
    /// split anyway, is cut to fill each area.
    /// Returns `None` when something does not fit anywhere.
    fn encode_overloaded(
        &self,
        out: &mut Vec<u8>,
        max_len: usize,
        file_free: bool,
        sname_free: bool,
    ) -> Option<()> {
        const FILE_OFFSET: usize = 108;
        const SNAME_OFFSET: usize = 44;
        // Options field: up to max_len, less END.
        let opt_end = max_len.checked_sub(1)?;
        // (area, next write offset, end offset excluding its END byte)
        let mut areas: [(Area, usize, usize); 3] = [
            (Area::Options, out.len(), opt_end),
            (Area::File, FILE_OFFSET, FILE_OFFSET + FILE_LEN - 1),
            (Area::Sname, SNAME_OFFSET, SNAME_OFFSET + SNAME_LEN - 1),
        ];
        let usable = [true, file_free, sname_free];
        let mut current = 0usize;
        let mut overload_at = None;
        for (code, value) in self.options() {
            if code != code::MESSAGE_TYPE && overload_at.is_none() {
                // Option 52 right after 53: it must be in the options field (RFC 2131 4.1).
                overload_at = Some(out.len() + 2);
                place(out, &mut areas[0], code::OVERLOAD, &[0])?;
            }
            if value.len() <= 255 {
                // Whole, in the first area (from the current one on) with room for it.
                loop {
                    let (_, at, end) = *areas.get(current)?;
                    if usable.get(current) == Some(&true) && at + 2 + value.len() <= end {
                        break;
                    }
                    current += 1;
                }
                place(out, areas.get_mut(current)?, code, value)?;
                continue;
            }
            // Longer than 255: it is split anyway (RFC 3396), so its instances are cut to fill
            // each area instead of wasting the end of one.
            let mut rest = value;
            while !rest.is_empty() {
                let (_, at, end) = *areas.get(current)?;
                let room = end.saturating_sub(at + 2).min(255);
                if usable.get(current) != Some(&true) || room == 0 {
                    current += 1;
                    continue;
                }
                let (chunk, tail) = rest.split_at_checked(room.min(rest.len()))?;
                place(out, areas.get_mut(current)?, code, chunk)?;
                rest = tail;
            }
        }
        if overload_at.is_none() {
            overload_at = Some(out.len() + 2);
            place(out, &mut areas[0], code::OVERLOAD, &[0])?;
        }
        out.push(code::END);
        let (file_used, sname_used) = (areas[1].1 > FILE_OFFSET, areas[2].1 > SNAME_OFFSET);
        for (used, (_, at, _)) in [(file_used, areas[1]), (sname_used, areas[2])] {
            if used {
                *out.get_mut(at)? = code::END;
            }
        }
        *out.get_mut(overload_at?)? = u8::from(file_used) | (u8::from(sname_used) << 1);
        Some(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Options,
    File,
    Sname,
}

/// Writes one option instance in `area` (appending for the options field, in place for the
/// header fields), if it fits.
fn place(out: &mut Vec<u8>, area: &mut (Area, usize, usize), code: u8, value: &[u8]) -> Option<()> {
    let (kind, at, end) = *area;
    let len = u8::try_from(value.len()).ok()?;
    let next = at + 2 + value.len();
    if next > end {
        return None;
    }
    if kind == Area::Options {
        write_option(out, code, value);
    } else {
        let dst = out.get_mut(at..next)?;
        let (head, body) = dst.split_at_mut_checked(2)?;
        head.copy_from_slice(&[code, len]);
        body.copy_from_slice(value);
    }
    area.1 = next;
    Some(())
}

/// Writes `value` as one or more instances of at most 255 bytes (Kea's `splitOptions4`).
fn write_option(out: &mut Vec<u8>, code: u8, value: &[u8]) {
    if value.is_empty() {
        out.extend_from_slice(&[code, 0]);
        return;
    }
    for chunk in value.chunks(255) {
        // chunks(255) never yields more than 255 bytes.
        out.extend_from_slice(&[code, u8::try_from(chunk.len()).unwrap_or(u8::MAX)]);
        out.extend_from_slice(chunk);
    }
}

fn check_code(code: u8) -> Result<(), BuildError> {
    match code {
        code::PAD | code::END | code::OVERLOAD => Err(BuildError::ReservedCode { code }),
        _ => Ok(()),
    }
}

fn fill(field: &mut [u8], value: &[u8], name: &'static str) -> Result<(), BuildError> {
    let err = BuildError::FieldTooLong {
        field: name,
        len: value.len(),
        max: field.len(),
    };
    field
        .get_mut(..value.len())
        .ok_or(err)?
        .copy_from_slice(value);
    field.iter_mut().skip(value.len()).for_each(|b| *b = 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkt::{Overload, Packet};

    fn client() -> MessageBuilder {
        let hw = [0, 0, 0, 0x11, 0x22, 0x33];
        let b = MessageBuilder::client(MessageType::Discover, 0x1234_5678, &hw).unwrap();
        assert_eq!((b.op, b.htype, b.hlen, b.xid), (1, 1, 6, 0x1234_5678));
        assert_eq!(b.option(53), Some(&[1][..]));
        b
    }

    fn encode(b: &MessageBuilder, limits: &EncodeLimits) -> Vec<u8> {
        let mut out = Vec::new();
        b.encode_into(&mut out, limits).unwrap();
        out
    }

    /// Option codes as they appear on the wire in the options field.
    fn wire_codes(msg: &[u8]) -> Vec<u8> {
        let mut codes = Vec::new();
        let mut pos = 240;
        while pos < msg.len() {
            let c = msg[pos];
            codes.push(c);
            if c == 255 {
                break;
            }
            pos += 2 + msg[pos + 1] as usize;
        }
        codes
    }

    #[test]
    fn order_is_53_first_ascending_82_last() {
        let mut b = MessageBuilder::new(2);
        b.add_option(82, &[1, 1, b'x']).unwrap();
        b.add_option(61, &[1, 2]).unwrap();
        b.add_option(3, &[10, 0, 0, 1]).unwrap();
        b.set_message_type(MessageType::Offer);
        b.add_option(1, &[255, 255, 255, 0]).unwrap();
        b.add_option(118, &[10, 0, 0, 0]).unwrap();
        let out = encode(&b, &EncodeLimits::default());
        assert_eq!(wire_codes(&out), vec![53, 1, 3, 61, 118, 82, 255]);
        assert_eq!(out.len(), b.plain_len());
    }

    #[test]
    fn long_option_is_split_in_255_byte_instances_and_fused_back() {
        let value: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let mut b = client();
        b.add_option(43, &value).unwrap();
        let out = encode(&b, &EncodeLimits::unlimited());
        assert_eq!(wire_codes(&out), vec![53, 43, 43, 43, 255]);
        assert_eq!(out[243..246], [43, 255, 0]);
        assert_eq!(out[243 + 257..243 + 259], [43, 255]);
        assert_eq!(out[243 + 514..243 + 516], [43, 90]);
        let p = Packet::parse(&out).unwrap();
        assert_eq!(p.option(43).as_deref(), Some(&value[..]));
    }

    #[test]
    fn add_appends_and_set_replaces() {
        let mut b = client();
        b.add_option(6, &[1, 1, 1, 1]).unwrap();
        b.add_option(3, &[9, 9, 9, 9]).unwrap();
        b.add_option(6, &[8, 8, 8, 8]).unwrap();
        assert_eq!(b.option(6), Some(&[1, 1, 1, 1, 8, 8, 8, 8][..]));
        assert_eq!(b.option(3), Some(&[9, 9, 9, 9][..]));
        b.set_option(6, &[4, 4, 4, 4]).unwrap();
        assert_eq!(b.option(6), Some(&[4, 4, 4, 4][..]));
        assert!(b.remove_option(3));
        assert!(!b.remove_option(3));
        assert_eq!(b.options().map(|(c, _)| c).collect::<Vec<_>>(), vec![53, 6]);
    }

    #[test]
    fn reserved_codes_and_long_fields_are_refused() {
        let mut b = client();
        for c in [0, 52, 255] {
            assert_eq!(
                b.add_option(c, &[1]).unwrap_err(),
                BuildError::ReservedCode { code: c }
            );
        }
        assert!(b.set_chaddr(&[0; 17]).is_err());
        assert!(b.set_sname(&[b'a'; 65]).is_err());
        assert!(b.set_file(&[b'a'; 129]).is_err());
        assert!(b.set_file(&[b'a'; 128]).is_ok());
    }

    #[test]
    fn limits_for_client() {
        assert_eq!(EncodeLimits::for_client(None).max_len, 548);
        assert_eq!(EncodeLimits::for_client(Some(300)).max_len, 548);
        assert_eq!(EncodeLimits::for_client(Some(1500)).max_len, 1472);
        assert_eq!(EncodeLimits::unlimited().max_len, 65507);
        assert!(!EncodeLimits::unlimited().allow_overload);
    }

    #[test]
    fn bootp_reply_is_padded_to_300_dhcp_is_not() {
        let b = client();
        let out = encode(&b, &EncodeLimits::default());
        assert_eq!(out.len(), 244);
        let out = encode(&b, &EncodeLimits::default().bootp());
        assert_eq!(out.len(), 300);
        assert!(out[244..].iter().all(|&x| x == 0));
        assert_eq!(out[243], 255);
    }

    #[test]
    fn max_message_size_is_met_with_overload_into_file_then_sname() {
        let mut b = client();
        // 548-byte limit: the options field ends at 547 (END at 547). After 53 and 52 (246),
        // nine 32-byte instances fit (534); the tenth goes to `file` (108..140), 120 follows it
        // there (140..222), and 121 no longer fits `file` (END at 235) so it opens `sname`.
        for c in 100..110u8 {
            b.add_option(c, &[c; 30]).unwrap();
        }
        b.add_option(120, &[1; 80]).unwrap();
        b.add_option(121, &[2; 40]).unwrap();
        let limits = EncodeLimits::for_client(Some(576));
        assert!(b.plain_len() > limits.max_len);
        let out = encode(&b, &limits);
        assert_eq!(out.len(), 535);
        // 53 then 52 lead the options field.
        assert_eq!(out[240..246], [53, 1, 1, 52, 1, 3]);
        assert_eq!(out[534], 255);
        assert_eq!(out[108..110], [109, 30]);
        assert_eq!(out[140..142], [120, 80]);
        assert_eq!(out[222], 255);
        assert_eq!(out[44..46], [121, 40]);
        assert_eq!(out[86], 255);
        let p = Packet::parse(&out).unwrap();
        assert_eq!(p.overload(), Overload::Both);
        assert_eq!(p.issues().count(), 0);
        for c in 100..110u8 {
            assert_eq!(p.option(c).as_deref(), Some(&[c; 30][..]), "option {c}");
        }
        assert_eq!(p.option(120).as_deref(), Some(&[1; 80][..]));
        assert_eq!(p.option(121).as_deref(), Some(&[2; 40][..]));
    }

    #[test]
    fn overload_uses_file_only_when_enough() {
        let mut b = client();
        for c in 100..110u8 {
            b.add_option(c, &[c; 30]).unwrap();
        }
        let out = encode(&b, &EncodeLimits::default());
        let p = Packet::parse(&out).unwrap();
        assert_eq!(p.overload(), Overload::File);
        assert_eq!(p.sname(), &[0u8; 64]);
        assert_eq!(p.options().count(), 12);
    }

    #[test]
    fn no_overload_when_fields_are_used_or_disabled_and_too_big() {
        let mut b = client();
        for c in 100..120u8 {
            b.add_option(c, &[c; 30]).unwrap();
        }
        b.set_file(b"pxelinux.0")
            .unwrap()
            .set_sname(b"tftp")
            .unwrap();
        let mut out = vec![1, 2, 3];
        let err = b
            .encode_into(&mut out, &EncodeLimits::default())
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::TooBig {
                needed: b.plain_len(),
                limit: 548,
                overload_tried: false
            }
        );
        assert!(out.is_empty());
        let limits = EncodeLimits {
            allow_overload: false,
            ..EncodeLimits::for_client(Some(1500))
        };
        assert_eq!(b.encode_into(&mut out, &limits).unwrap(), b.plain_len());
    }

    #[test]
    fn long_option_is_cut_across_areas() {
        let mut b = client();
        let value: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
        b.add_option(43, &value).unwrap();
        // Options field after 53 and 52 (offset 246), END at max_len - 1: one 255-byte instance
        // (to 503), then max_len - 506 bytes; `file` holds 125 and `sname` 61. At 548 that is
        // 297 + 125 + 61 = 483 < 600; max_len 665 (option 57 = 693) fits exactly.
        for too_small in [None, Some(692)] {
            let limits = EncodeLimits::for_client(too_small);
            assert!(b.encode_into(&mut Vec::new(), &limits).is_err());
        }
        let limits = EncodeLimits::for_client(Some(693));
        let out = encode(&b, &limits);
        assert_eq!(out.len(), limits.max_len);
        let p = Packet::parse(&out).unwrap();
        assert_eq!(p.overload(), Overload::Both);
        assert_eq!(p.option(43).as_deref(), Some(&value[..]));
        assert_eq!(
            p.instances(43).map(<[u8]>::len).collect::<Vec<_>>(),
            vec![255, 159, 125, 61]
        );
    }

    #[test]
    fn too_big_even_with_overload() {
        let mut b = client();
        b.add_option(43, &[7; 1000]).unwrap();
        let err = b
            .encode_into(&mut Vec::new(), &EncodeLimits::default())
            .unwrap_err();
        assert!(matches!(
            err,
            EncodeError::TooBig {
                overload_tried: true,
                ..
            }
        ));
        assert!(err.to_string().contains("548"), "{err}");
    }

    #[test]
    fn reply_to_copies_what_kea_copies() {
        let mut q = client();
        q.set_hops(1)
            .set_secs(9)
            .set_broadcast(true)
            .set_giaddr(Ipv4Addr::new(10, 0, 0, 1));
        q.set_ciaddr(Ipv4Addr::new(10, 0, 0, 9));
        let raw = encode(&q, &EncodeLimits::default());
        let query = Packet::parse(&raw).unwrap();
        let mut b = MessageBuilder::default();
        b.add_option(3, &[1, 2, 3, 4]).unwrap();
        b.reply_to(&query, MessageType::Offer);
        assert_eq!(b.option(3), None, "reply_to resets options");
        let out = encode(&b, &EncodeLimits::default());
        let r = Packet::parse(&out).unwrap();
        assert_eq!(r.op(), 2);
        assert_eq!(r.xid(), 0x1234_5678);
        assert_eq!(r.chaddr(), query.chaddr());
        assert_eq!((r.hops(), r.secs(), r.flags()), (1, 0, 0x8000));
        assert_eq!(r.giaddr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r.ciaddr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(r.message_type(), Ok(Some(MessageType::Offer)));
    }

    #[test]
    fn reply_to_clamps_hlen() {
        let mut q = client();
        q.set_chaddr(&[5; 16]).unwrap().set_hlen(40);
        let raw = encode(&q, &EncodeLimits::default());
        let query = Packet::parse(&raw).unwrap();
        let mut b = MessageBuilder::default();
        b.reply_to(&query, MessageType::Offer);
        let out = encode(&b, &EncodeLimits::default());
        assert_eq!(out[2], 16);
        assert_eq!(out[28..44], [5; 16]);
    }

    #[test]
    fn buffers_are_reused_without_growth() {
        let mut b = client();
        b.add_option(3, &[1, 2, 3, 4]).unwrap();
        let mut out = Vec::new();
        b.encode_into(&mut out, &EncodeLimits::default()).unwrap();
        let (cap, ptr) = (out.capacity(), out.as_ptr());
        b.reset(2).set_message_type(MessageType::Ack);
        b.add_option(3, &[1, 2, 3, 4]).unwrap();
        b.encode_into(&mut out, &EncodeLimits::default()).unwrap();
        assert_eq!((out.capacity(), out.as_ptr()), (cap, ptr));
    }
}
