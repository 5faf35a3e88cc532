//! [`Packet`]: the zero-copy view of a received DHCPv4 message and its option index.
//!
//! Acceptance follows Kea 2.2's `Pkt4::unpack`: fewer than 236 bytes is fatal, a header without
//! a complete magic cookie is fatal (Kea refuses plain BOOTP without vendor extensions), and a
//! cookie other than 99.130.83.99 is fatal. Everything after the cookie is lenient, as
//! `LibDHCP::unpackOptions4` is: a truncated option ends the area at the last good offset and
//! the packet is still usable.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::{BROADCAST_FLAG, CHADDR_LEN, FILE_LEN, HEADER_LEN, MAGIC_COOKIE, OPTIONS_OFFSET};
use super::{SNAME_LEN, code};

const CHADDR_OFFSET: usize = 28;
const SNAME_OFFSET: usize = 44;
const FILE_OFFSET: usize = 108;

/// A fatal reason to refuse a buffer as a DHCPv4 message (Kea counts these as
/// `pkt4-parse-failed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than the fixed BOOTP header.
    #[error("truncated DHCPv4 packet: {len} bytes, at least {HEADER_LEN} expected")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Longer than any IPv4 datagram could carry; option offsets are kept as `u16`.
    #[error("DHCPv4 packet of {len} bytes is longer than an IPv4 datagram (65535 bytes)")]
    TooLong {
        /// Bytes received.
        len: usize,
    },
    /// The header is complete but fewer than 4 bytes follow it: no magic cookie (RFC 951 BOOTP
    /// without vendor extensions when `available` is 0).
    #[error("no DHCP magic cookie: {available} of 4 bytes after the {HEADER_LEN}-byte header")]
    MissingCookie {
        /// Bytes present after the header (0 to 3).
        available: usize,
    },
    /// The 4 bytes after the header are not the DHCP magic cookie.
    #[error(
        "invalid DHCP magic cookie {:02x}:{:02x}:{:02x}:{:02x}, expected 63:82:53:63",
        found[0], found[1], found[2], found[3]
    )]
    BadCookie {
        /// The bytes found where the cookie belongs.
        found: [u8; 4],
    },
}

/// The area of the message an option was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The options field after the magic cookie.
    Options,
    /// The `file` field, when option 52 says it carries options.
    File,
    /// The `sname` field, when option 52 says it carries options.
    Sname,
}

/// A non-fatal irregularity found while indexing options. The options read before it are kept;
/// the caller decides whether the packet is still worth answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIssue {
    /// An option header or value ran past the end of its area. Parsing of that area stopped at
    /// `offset` (from the start of the message), the start of the option that did not fit.
    #[error("option {code} truncated in {area:?} at offset {offset}: parsing of the area stopped")]
    Truncated {
        /// Area being parsed.
        area: Area,
        /// Offset of the truncated option's code byte, from the start of the message.
        offset: usize,
        /// Its code.
        code: u8,
    },
    /// Option 52 is present with a value other than a single 1, 2 or 3: ignored.
    #[error("option overload (52) of {len} bytes with first byte {first:?} ignored")]
    BadOverload {
        /// Fused length of option 52.
        len: usize,
        /// Its first byte, if any.
        first: Option<u8>,
    },
    /// Option 52 found inside `file` or `sname`: ignored, so overload never recurses.
    #[error("option overload (52) inside the {area:?} field ignored")]
    NestedOverload {
        /// Where it was found.
        area: Area,
    },
}

/// What option 52 announced, and therefore which fields were read as options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overload {
    /// No (valid) option 52: `file` and `sname` are plain fields.
    #[default]
    None,
    /// 1: `file` carries options.
    File,
    /// 2: `sname` carries options.
    Sname,
    /// 3: both carry options (`file` is read first).
    Both,
}

impl Overload {
    /// The wire value of option 52 (0 for [`Overload::None`]).
    pub fn value(self) -> u8 {
        match self {
            Overload::None => 0,
            Overload::File => 1,
            Overload::Sname => 2,
            Overload::Both => 3,
        }
    }

    /// True when `file` carries options.
    pub fn file(self) -> bool {
        matches!(self, Overload::File | Overload::Both)
    }

    /// True when `sname` carries options.
    pub fn sname(self) -> bool {
        matches!(self, Overload::Sname | Overload::Both)
    }
}

/// One option instance: where its value lies in the message. `u16` offsets suffice because a
/// DHCP message travels in one IPv4 datagram (at most 65535 bytes); 4 bytes per span keeps the
/// inline table small enough to live on the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    code: u8,
    len: u8,
    start: u16,
}

/// Inline capacity of the span table. A client message carries 4 to 12 options, a relayed one
/// a few more; 32 covers every real packet without touching the heap, and a hostile packet of
/// hundreds of tiny options spills into a `Vec` (correct, merely slower).
const INLINE_SPANS: usize = 32;

/// The option index: every instance, in arrival order while parsing, then stably sorted by
/// code. Why a sorted list rather than a `[u16; 256]` first-occurrence table: a sorted list of
/// ~10 entries is cheaper to build than clearing 512 bytes, gives lookup by binary search,
/// keeps the instances of one code contiguous and in arrival order (exactly the RFC 3396
/// concatenation order: options field, then `file`, then `sname`), and makes iteration in code
/// order free.
#[derive(Debug, Clone)]
enum SpanList {
    Inline {
        len: usize,
        spans: [Span; INLINE_SPANS],
    },
    Heap(Vec<Span>),
}

impl SpanList {
    fn new() -> Self {
        SpanList::Inline {
            len: 0,
            spans: [Span::default(); INLINE_SPANS],
        }
    }

    fn push(&mut self, span: Span) {
        match self {
            SpanList::Inline { len, spans } => {
                if let Some(slot) = spans.get_mut(*len) {
                    *slot = span;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(INLINE_SPANS * 4);
                    v.extend_from_slice(spans);
                    v.push(span);
                    *self = SpanList::Heap(v);
                }
            }
            SpanList::Heap(v) => v.push(span),
        }
    }

    fn as_slice(&self) -> &[Span] {
        match self {
            SpanList::Inline { len, spans } => spans.get(..*len).unwrap_or(&[]),
            SpanList::Heap(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Span] {
        match self {
            SpanList::Inline { len, spans } => spans.get_mut(..*len).unwrap_or(&mut []),
            SpanList::Heap(v) => v,
        }
    }
}

/// Most issues one packet can produce: one truncation per area, one bad overload, one nested
/// overload report per overloaded field. The table can therefore never overflow.
const MAX_ISSUES: usize = 6;

/// A parsed DHCPv4 message borrowing the receive buffer.
///
/// Header accessors read the buffer in place; option accessors use the index built by
/// [`Packet::parse`]. Typed option accessors are in the `typed` module.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    raw: &'a [u8],
    hdr: &'a [u8; HEADER_LEN],
    chaddr: &'a [u8; CHADDR_LEN],
    sname: &'a [u8; SNAME_LEN],
    file: &'a [u8; FILE_LEN],
    spans: SpanList,
    overload: Overload,
    issues: [Option<ParseIssue>; MAX_ISSUES],
}

impl<'a> Packet<'a> {
    /// Parses a DHCPv4 message (the UDP payload) and indexes its options.
    ///
    /// Fatal errors are those that make Kea 2.2 drop the packet in `Pkt4::unpack`. Anything
    /// wrong in the options is recorded in [`Packet::issues`] instead.
    pub fn parse(raw: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        if raw.len() > usize::from(u16::MAX) {
            return Err(ParseError::TooLong { len: raw.len() });
        }
        let (hdr, rest) = raw
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(ParseError::TooShort { len: raw.len() })?;
        let cookie = rest.first_chunk::<4>().ok_or(ParseError::MissingCookie {
            available: rest.len(),
        })?;
        if *cookie != MAGIC_COOKIE {
            return Err(ParseError::BadCookie { found: *cookie });
        }
        // Infallible once the header is complete; written with `?` so no panic path exists.
        let too_short = ParseError::TooShort { len: raw.len() };
        let (_, fields) = hdr
            .split_first_chunk::<CHADDR_OFFSET>()
            .ok_or(too_short.clone())?;
        let (chaddr, fields) = fields
            .split_first_chunk::<CHADDR_LEN>()
            .ok_or(too_short.clone())?;
        let (sname, fields) = fields
            .split_first_chunk::<SNAME_LEN>()
            .ok_or(too_short.clone())?;
        let file = fields.first_chunk::<FILE_LEN>().ok_or(too_short)?;
        let mut pkt = Packet {
            raw,
            hdr,
            chaddr,
            sname,
            file,
            spans: SpanList::new(),
            overload: Overload::None,
            issues: [None; MAX_ISSUES],
        };
        pkt.scan(Area::Options, OPTIONS_OFFSET, raw.len());
        pkt.overload = pkt.read_overload();
        // RFC 2131 section 4.1: `file` is interpreted before `sname`; RFC 3396 concatenates in
        // that order, which the stable sort below preserves.
        if pkt.overload.file() {
            pkt.scan(Area::File, FILE_OFFSET, FILE_OFFSET + FILE_LEN);
        }
        if pkt.overload.sname() {
            pkt.scan(Area::Sname, SNAME_OFFSET, SNAME_OFFSET + SNAME_LEN);
        }
        pkt.spans.as_mut_slice().sort_by_key(|s| s.code);
        Ok(pkt)
    }

    /// Indexes the options of one area, `[start, end)` of the message.
    fn scan(&mut self, area: Area, start: usize, end: usize) {
        let mut pos = start;
        let mut nested_reported = false;
        while pos < end {
            let Some(&opt) = self.raw.get(pos) else { break };
            match opt {
                code::END => return,
                code::PAD => {
                    pos += 1;
                    continue;
                }
                _ => {}
            }
            let value_start = pos + 2;
            let len = match self.raw.get(pos + 1) {
                Some(&len) if value_start + usize::from(len) <= end => len,
                _ => {
                    self.issue(ParseIssue::Truncated {
                        area,
                        offset: pos,
                        code: opt,
                    });
                    return;
                }
            };
            pos = value_start + usize::from(len);
            // Kea skips an empty host name rather than failing the packet (some clients send
            // one).
            if opt == code::HOST_NAME && len == 0 {
                continue;
            }
            if opt == code::OVERLOAD && area != Area::Options {
                if !nested_reported {
                    self.issue(ParseIssue::NestedOverload { area });
                    nested_reported = true;
                }
                continue;
            }
            // value_start <= end <= raw.len() <= u16::MAX (checked in `parse`): never fails.
            let Ok(start) = u16::try_from(value_start) else {
                return;
            };
            self.spans.push(Span {
                code: opt,
                len,
                start,
            });
        }
    }

    /// Reads option 52 from the options field. Runs before the spans are sorted, so it scans
    /// them (a handful) instead of using the binary search of [`Packet::option`].
    fn read_overload(&mut self) -> Overload {
        let mut value = [0u8; 2];
        let mut len = 0usize;
        for span in self
            .spans
            .as_slice()
            .iter()
            .filter(|s| s.code == code::OVERLOAD)
        {
            for &b in self.value(span) {
                if let Some(slot) = value.get_mut(len) {
                    *slot = b;
                }
                len += 1;
            }
        }
        match (len, value[0]) {
            (0, _) => Overload::None,
            (1, 1) => Overload::File,
            (1, 2) => Overload::Sname,
            (1, 3) => Overload::Both,
            (len, first) => {
                self.issue(ParseIssue::BadOverload {
                    len,
                    first: (len > 0).then_some(first),
                });
                Overload::None
            }
        }
    }

    fn issue(&mut self, issue: ParseIssue) {
        if let Some(slot) = self.issues.iter_mut().find(|s| s.is_none()) {
            *slot = Some(issue);
        }
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Non-fatal irregularities met while indexing options, in the order found.
    pub fn issues(&self) -> impl Iterator<Item = &ParseIssue> + '_ {
        self.issues.iter().flatten()
    }

    /// Offset of the first truncated option, if any (parsing of its area stopped there).
    pub fn truncated_at(&self) -> Option<usize> {
        self.issues().find_map(|i| match i {
            ParseIssue::Truncated { offset, .. } => Some(*offset),
            _ => None,
        })
    }

    // ---- fixed header (RFC 2131 section 2) ----

    /// `op`: 1 BOOTREQUEST, 2 BOOTREPLY (not validated here; Kea checks it in `accept`).
    pub fn op(&self) -> u8 {
        self.hdr[0]
    }

    /// `htype`, the hardware address type (1 = Ethernet).
    pub fn htype(&self) -> u8 {
        self.hdr[1]
    }

    /// `hlen` as received (may exceed 16; see [`Packet::chaddr`]).
    pub fn hlen(&self) -> u8 {
        self.hdr[2]
    }

    /// `hops`.
    pub fn hops(&self) -> u8 {
        self.hdr[3]
    }

    /// `xid`, the transaction id.
    pub fn xid(&self) -> u32 {
        u32::from_be_bytes([self.hdr[4], self.hdr[5], self.hdr[6], self.hdr[7]])
    }

    /// `secs`.
    pub fn secs(&self) -> u16 {
        u16::from_be_bytes([self.hdr[8], self.hdr[9]])
    }

    /// `flags`, all 16 bits.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.hdr[10], self.hdr[11]])
    }

    /// The broadcast bit of `flags`.
    pub fn broadcast(&self) -> bool {
        self.flags() & BROADCAST_FLAG != 0
    }

    /// `ciaddr`.
    pub fn ciaddr(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.hdr[12], self.hdr[13], self.hdr[14], self.hdr[15])
    }

    /// `yiaddr`.
    pub fn yiaddr(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.hdr[16], self.hdr[17], self.hdr[18], self.hdr[19])
    }

    /// `siaddr`.
    pub fn siaddr(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.hdr[20], self.hdr[21], self.hdr[22], self.hdr[23])
    }

    /// `giaddr`.
    pub fn giaddr(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.hdr[24], self.hdr[25], self.hdr[26], self.hdr[27])
    }

    /// The client hardware address: the first `min(hlen, 16)` bytes of `chaddr`.
    ///
    /// Kea 2.2 resizes the address to `hlen`: 17 to 20 gives the 16 real bytes plus invented
    /// zeros, and above 20 (`HWAddr::MAX_HWADDR_LEN`) its `unpack` throws and the packet is
    /// dropped. Nestor clamps instead and never refuses a packet for `hlen`; a server that
    /// wants Kea's drop can test [`Packet::hlen`] `> 20` itself.
    pub fn chaddr(&self) -> &'a [u8] {
        let field = self.chaddr_field();
        field
            .get(..usize::from(self.hlen()).min(CHADDR_LEN))
            .unwrap_or(field)
    }

    /// The whole 16-byte `chaddr` field, whatever `hlen` says.
    pub fn chaddr_field(&self) -> &'a [u8; CHADDR_LEN] {
        self.chaddr
    }

    /// The raw 64-byte `sname` field (options when [`Packet::overload`] says so).
    pub fn sname(&self) -> &'a [u8; SNAME_LEN] {
        self.sname
    }

    /// The raw 128-byte `file` field (options when [`Packet::overload`] says so).
    pub fn file(&self) -> &'a [u8; FILE_LEN] {
        self.file
    }

    /// The server host name: `sname` up to its first NUL, or `None` when the field is empty or
    /// carries options.
    pub fn server_name(&self) -> Option<&'a [u8]> {
        if self.overload.sname() {
            return None;
        }
        c_string(self.sname())
    }

    /// The boot file name: `file` up to its first NUL, or `None` when the field is empty or
    /// carries options.
    pub fn boot_file_name(&self) -> Option<&'a [u8]> {
        if self.overload.file() {
            return None;
        }
        c_string(self.file())
    }

    /// What option 52 announced (and so which fields were read as options).
    pub fn overload(&self) -> Overload {
        self.overload
    }

    // ---- options ----

    fn spans_for(&self, code: u8) -> &[Span] {
        let spans = self.spans.as_slice();
        let first = spans.partition_point(|s| s.code < code);
        let rest = spans.get(first..).unwrap_or(&[]);
        let n = rest.partition_point(|s| s.code == code);
        rest.get(..n).unwrap_or(&[])
    }

    fn value(&self, span: &Span) -> &'a [u8] {
        let start = usize::from(span.start);
        self.raw
            .get(start..start + usize::from(span.len))
            .unwrap_or(&[])
    }

    fn fuse(&self, spans: &[Span]) -> Option<Cow<'a, [u8]>> {
        match spans {
            [] => None,
            [one] => Some(Cow::Borrowed(self.value(one))),
            many => {
                let total = many.iter().map(|s| usize::from(s.len)).sum();
                let mut v = Vec::with_capacity(total);
                for s in many {
                    v.extend_from_slice(self.value(s));
                }
                Some(Cow::Owned(v))
            }
        }
    }

    /// True if at least one instance of `code` was found.
    pub fn has_option(&self, code: u8) -> bool {
        !self.spans_for(code).is_empty()
    }

    /// The value of option `code`, all instances fused in RFC 3396 order. Borrowed when there is
    /// one instance (the common case); a fresh `Vec` only when several must be joined.
    pub fn option(&self, code: u8) -> Option<Cow<'a, [u8]>> {
        self.fuse(self.spans_for(code))
    }

    /// The raw instances of `code`, in RFC 3396 order (options field, `file`, `sname`).
    pub fn instances(&self, code: u8) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.spans_for(code).iter().map(|s| self.value(s))
    }

    /// Number of distinct option codes present.
    pub fn option_count(&self) -> usize {
        let spans = self.spans.as_slice();
        spans
            .iter()
            .zip(spans.iter().skip(1))
            .filter(|(a, b)| a.code != b.code)
            .count()
            + usize::from(!spans.is_empty())
    }

    /// All options, fused, in ascending code order.
    pub fn options(&self) -> Options<'_, 'a> {
        Options {
            pkt: self,
            rest: self.spans.as_slice(),
        }
    }
}

/// Iterator over a packet's fused options in ascending code order; see [`Packet::options`].
#[derive(Debug, Clone)]
pub struct Options<'p, 'a> {
    pkt: &'p Packet<'a>,
    rest: &'p [Span],
}

impl<'a> Iterator for Options<'_, 'a> {
    type Item = (u8, Cow<'a, [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        let code = self.rest.first()?.code;
        let n = self.rest.partition_point(|s| s.code == code);
        let (group, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        self.pkt.fuse(group).map(|v| (code, v))
    }
}

fn c_string(field: &[u8]) -> Option<&[u8]> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..end).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkt::code;

    /// A minimal message: header with the given hlen, cookie, then `options` verbatim.
    pub(crate) fn raw(options: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_LEN];
        v[0] = 1;
        v[1] = 1;
        v[2] = 6;
        v[28..34].copy_from_slice(&[0, 0, 0, 0x11, 0x22, 0x33]);
        v.extend_from_slice(&MAGIC_COOKIE);
        v.extend_from_slice(options);
        v
    }

    #[test]
    fn short_buffer_is_fatal_with_its_length() {
        let err = Packet::parse(&[0u8; 235]).unwrap_err();
        assert_eq!(err, ParseError::TooShort { len: 235 });
        assert!(err.to_string().contains("235"));
    }

    #[test]
    fn header_without_cookie_is_fatal_like_kea() {
        assert_eq!(
            Packet::parse(&[0u8; HEADER_LEN]).unwrap_err(),
            ParseError::MissingCookie { available: 0 }
        );
        assert_eq!(
            Packet::parse(&[0u8; HEADER_LEN + 3]).unwrap_err(),
            ParseError::MissingCookie { available: 3 }
        );
    }

    #[test]
    fn bad_cookie_is_fatal_and_says_what_was_found() {
        let mut v = raw(&[255]);
        v[236..240].copy_from_slice(&[1, 2, 3, 4]);
        let err = Packet::parse(&v).unwrap_err();
        assert_eq!(
            err,
            ParseError::BadCookie {
                found: [1, 2, 3, 4]
            }
        );
        assert!(err.to_string().contains("01:02:03:04"), "{err}");
    }

    #[test]
    fn too_long_is_fatal() {
        let v = vec![0u8; 65536];
        assert_eq!(
            Packet::parse(&v).unwrap_err(),
            ParseError::TooLong { len: 65536 }
        );
    }

    #[test]
    fn header_fields() {
        let mut v = raw(&[255]);
        v[3] = 2;
        v[4..8].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
        v[8..10].copy_from_slice(&7u16.to_be_bytes());
        v[10] = 0x80;
        v[12..16].copy_from_slice(&[10, 0, 0, 1]);
        v[16..20].copy_from_slice(&[10, 0, 0, 2]);
        v[20..24].copy_from_slice(&[10, 0, 0, 3]);
        v[24..28].copy_from_slice(&[10, 0, 0, 4]);
        v[44..47].copy_from_slice(b"srv");
        v[108..112].copy_from_slice(b"boot");
        let p = Packet::parse(&v).unwrap();
        assert_eq!((p.op(), p.htype(), p.hlen(), p.hops()), (1, 1, 6, 2));
        assert_eq!(p.xid(), 0xdead_beef);
        assert_eq!(p.secs(), 7);
        assert!(p.broadcast());
        assert_eq!(p.flags(), 0x8000);
        assert_eq!(p.ciaddr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.yiaddr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.siaddr(), Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(p.giaddr(), Ipv4Addr::new(10, 0, 0, 4));
        assert_eq!(p.chaddr(), &[0, 0, 0, 0x11, 0x22, 0x33]);
        assert_eq!(p.server_name(), Some(&b"srv"[..]));
        assert_eq!(p.boot_file_name(), Some(&b"boot"[..]));
        assert_eq!(p.issues().count(), 0);
    }

    #[test]
    fn hlen_above_16_is_clamped() {
        let mut v = raw(&[255]);
        v[2] = 200;
        v[28..44].copy_from_slice(&[7; 16]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.hlen(), 200);
        assert_eq!(p.chaddr(), &[7; 16]);
    }

    #[test]
    fn hlen_zero_gives_empty_chaddr() {
        let mut v = raw(&[255]);
        v[2] = 0;
        let p = Packet::parse(&v).unwrap();
        assert!(p.chaddr().is_empty());
        assert_eq!(p.chaddr_field()[3..6], [0x11, 0x22, 0x33]);
    }

    #[test]
    fn non_adjacent_duplicates_are_fused_in_order() {
        let v = raw(&[6, 2, 1, 2, 3, 1, 9, 0, 6, 2, 3, 4, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.option(6).as_deref(), Some(&[1, 2, 3, 4][..]));
        assert!(matches!(p.option(6), Some(Cow::Owned(_))));
        assert!(matches!(p.option(3), Some(Cow::Borrowed(&[9]))));
        assert_eq!(p.instances(6).count(), 2);
        let all: Vec<(u8, Vec<u8>)> = p.options().map(|(c, v)| (c, v.into_owned())).collect();
        assert_eq!(all, vec![(3, vec![9]), (6, vec![1, 2, 3, 4])]);
        assert_eq!(p.option_count(), 2);
    }

    #[test]
    fn pad_is_skipped_and_end_stops() {
        let v = raw(&[0, 0, 53, 1, 1, 0, 255, 61, 2, 1, 2]);
        let p = Packet::parse(&v).unwrap();
        assert!(p.has_option(53));
        assert!(!p.has_option(61), "options after END are not read");
        assert_eq!(p.issues().count(), 0);
    }

    #[test]
    fn missing_end_is_accepted() {
        let v = raw(&[53, 1, 3]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.option(53).as_deref(), Some(&[3][..]));
        assert_eq!(p.issues().count(), 0);
    }

    #[test]
    fn truncated_option_keeps_earlier_options_and_is_reported() {
        // 53 ok, then 61 claims 10 bytes but only 2 follow.
        let v = raw(&[53, 1, 1, 61, 10, 1, 2]);
        let p = Packet::parse(&v).unwrap();
        assert!(p.has_option(53));
        assert!(!p.has_option(61));
        assert_eq!(p.truncated_at(), Some(OPTIONS_OFFSET + 3));
        assert_eq!(
            p.issues().copied().collect::<Vec<_>>(),
            vec![ParseIssue::Truncated {
                area: Area::Options,
                offset: 243,
                code: 61
            }]
        );
    }

    #[test]
    fn truncated_length_byte_is_reported() {
        let v = raw(&[53, 1, 1, 61]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.truncated_at(), Some(243));
    }

    #[test]
    fn empty_hostname_is_skipped_and_parsing_goes_on() {
        let v = raw(&[12, 0, 53, 1, 1, 255]);
        let p = Packet::parse(&v).unwrap();
        assert!(!p.has_option(code::HOST_NAME));
        assert!(p.has_option(53));
        assert_eq!(p.issues().count(), 0);
    }

    /// Puts `opts` at the start of the `file` (108) or `sname` (44) field.
    fn put(v: &mut [u8], at: usize, opts: &[u8]) {
        v[at..at + opts.len()].copy_from_slice(opts);
    }

    #[test]
    fn overload_reads_file_then_sname_and_fuses_in_that_order() {
        let mut v = raw(&[53, 1, 1, 52, 1, 3, 12, 1, b'a', 255]);
        put(
            &mut v,
            FILE_OFFSET,
            &[12, 1, b'b', 60, 3, b'x', b'y', b'z', 255],
        );
        put(&mut v, SNAME_OFFSET, &[12, 1, b'c', 0, 0, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.overload(), Overload::Both);
        assert_eq!(p.option(12).as_deref(), Some(&b"abc"[..]));
        assert_eq!(p.option(60).as_deref(), Some(&b"xyz"[..]));
        assert_eq!(p.server_name(), None);
        assert_eq!(p.boot_file_name(), None);
    }

    #[test]
    fn overload_file_only_leaves_sname_alone() {
        let mut v = raw(&[52, 1, 1, 255]);
        put(&mut v, FILE_OFFSET, &[60, 1, b'f', 255]);
        put(&mut v, SNAME_OFFSET, &[61, 2, 1, 1, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.overload(), Overload::File);
        assert!(p.has_option(60));
        assert!(!p.has_option(61));
        assert_eq!(p.server_name(), Some(&[61u8, 2, 1, 1, 255][..]));
    }

    #[test]
    fn overload_inside_file_is_ignored_without_loop() {
        let mut v = raw(&[52, 1, 1, 255]);
        put(&mut v, FILE_OFFSET, &[52, 1, 2, 60, 1, b'f', 255]);
        put(&mut v, SNAME_OFFSET, &[61, 2, 1, 1, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.overload(), Overload::File);
        assert!(p.has_option(60));
        assert!(!p.has_option(61), "the nested 52 must not enable sname");
        assert_eq!(p.option(52).as_deref(), Some(&[1][..]));
        assert_eq!(
            p.issues().copied().collect::<Vec<_>>(),
            vec![ParseIssue::NestedOverload { area: Area::File }]
        );
    }

    #[test]
    fn bad_overload_value_is_reported_and_ignored() {
        let mut v = raw(&[52, 1, 9, 255]);
        put(&mut v, FILE_OFFSET, &[60, 1, b'f', 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.overload(), Overload::None);
        assert!(!p.has_option(60));
        assert_eq!(
            p.issues().copied().collect::<Vec<_>>(),
            vec![ParseIssue::BadOverload {
                len: 1,
                first: Some(9)
            }]
        );
    }

    #[test]
    fn truncation_inside_file_is_bounded_by_the_field() {
        let mut v = raw(&[52, 1, 1, 255]);
        // The option claims 30 bytes starting 4 bytes before the end of `file`: it must not be
        // read from the cookie and options that follow the field.
        put(&mut v, FILE_OFFSET + FILE_LEN - 4, &[60, 30, 1, 2]);
        let p = Packet::parse(&v).unwrap();
        assert!(!p.has_option(60));
        assert_eq!(
            p.issues().copied().collect::<Vec<_>>(),
            vec![ParseIssue::Truncated {
                area: Area::File,
                offset: 232,
                code: 60
            }]
        );
    }

    #[test]
    fn many_options_spill_to_heap_and_stay_sorted() {
        let mut opts = Vec::new();
        for c in (1u8..=100).rev() {
            opts.extend_from_slice(&[c, 1, c]);
        }
        opts.push(255);
        let v = raw(&opts);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.option_count(), 100);
        let codes: Vec<u8> = p.options().map(|(c, _)| c).collect();
        assert_eq!(codes, (1u8..=100).collect::<Vec<_>>());
        for c in 1u8..=100 {
            assert_eq!(p.option(c).as_deref(), Some(&[c][..]));
        }
    }
}
