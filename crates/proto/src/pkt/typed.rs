//! Typed accessors for the options a DHCPv4 server reads, on top of the fused option index.
//!
//! Every accessor returns `Ok(None)` when the option is absent, `Ok(Some(_))` when it is well
//! formed and `Err(MalformedOption)` when its length or structure is wrong for its definition
//! (RFC 2132 sizes, RFC 3046 sub-options, RFC 4702 FQDN, RFC 3004 user class, RFC 6842 client
//! identifier). Kea 2.2 drops the whole packet when a standard option fails its definition in
//! `unpackOptions4`; here the damage is reported per option and the caller decides, so the
//! options after a malformed one stay usable.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;

use super::code;
use super::view::Packet;

/// An option (or relay sub-option) whose value does not match its definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("option {} ({len} bytes) is malformed: {reason}", OptionLabel(*code, *sub_code))]
pub struct MalformedOption {
    /// Option code.
    pub code: u8,
    /// Sub-option code, for relay agent information (82) sub-options.
    pub sub_code: Option<u8>,
    /// Length of the (fused) value.
    pub len: usize,
    /// What is wrong.
    pub reason: &'static str,
}

struct OptionLabel(u8, Option<u8>);

impl fmt::Display for OptionLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(sub) => write!(f, "{}.{}", self.0, sub),
            None => write!(f, "{}", self.0),
        }
    }
}

fn malformed(code: u8, len: usize, reason: &'static str) -> MalformedOption {
    MalformedOption {
        code,
        sub_code: None,
        len,
        reason,
    }
}

fn fixed<const N: usize>(
    code: u8,
    value: &[u8],
    reason: &'static str,
) -> Result<[u8; N], MalformedOption> {
    <[u8; N]>::try_from(value).map_err(|_| malformed(code, value.len(), reason))
}

/// A sub-range of a possibly owned value, keeping the borrow when there is one.
fn sub_cow<'a>(value: &Cow<'a, [u8]>, from: usize) -> Cow<'a, [u8]> {
    match value {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(from..).unwrap_or(&[])),
        Cow::Owned(v) => Cow::Owned(v.get(from..).unwrap_or(&[]).to_vec()),
    }
}

/// Kea's string-option rule: trailing NULs are not part of the value.
fn trim_nuls(value: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let keep = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    match value {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(..keep).unwrap_or(b)),
        Cow::Owned(mut v) => {
            v.truncate(keep);
            Cow::Owned(v)
        }
    }
}

/// DHCP message type (option 53, RFC 2132 section 9.6, RFC 4388, RFC 6926, RFC 7724).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Discover,
    /// 2
    Offer,
    /// 3
    Request,
    /// 4
    Decline,
    /// 5
    Ack,
    /// 6
    Nak,
    /// 7
    Release,
    /// 8
    Inform,
    /// 9 (RFC 3203)
    ForceRenew,
    /// 10 (RFC 4388)
    LeaseQuery,
    /// 11
    LeaseUnassigned,
    /// 12
    LeaseUnknown,
    /// 13
    LeaseActive,
    /// 14 (RFC 6926)
    BulkLeaseQuery,
    /// 15
    LeaseQueryDone,
    /// 16 (RFC 7724)
    ActiveLeaseQuery,
    /// 17
    LeaseQueryStatus,
    /// 18
    Tls,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        use MessageType::*;
        match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            9 => ForceRenew,
            10 => LeaseQuery,
            11 => LeaseUnassigned,
            12 => LeaseUnknown,
            13 => LeaseActive,
            14 => BulkLeaseQuery,
            15 => LeaseQueryDone,
            16 => ActiveLeaseQuery,
            17 => LeaseQueryStatus,
            18 => Tls,
            other => Unknown(other),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        use MessageType::*;
        match t {
            Discover => 1,
            Offer => 2,
            Request => 3,
            Decline => 4,
            Ack => 5,
            Nak => 6,
            Release => 7,
            Inform => 8,
            ForceRenew => 9,
            LeaseQuery => 10,
            LeaseUnassigned => 11,
            LeaseUnknown => 12,
            LeaseActive => 13,
            BulkLeaseQuery => 14,
            LeaseQueryDone => 15,
            ActiveLeaseQuery => 16,
            LeaseQueryStatus => 17,
            Tls => 18,
            Unknown(v) => v,
        }
    }
}

impl<'a> Packet<'a> {
    fn fixed_option<const N: usize>(
        &self,
        code: u8,
        reason: &'static str,
    ) -> Result<Option<[u8; N]>, MalformedOption> {
        self.option(code)
            .map(|v| fixed::<N>(code, &v, reason))
            .transpose()
    }

    fn address_option(&self, code: u8) -> Result<Option<Ipv4Addr>, MalformedOption> {
        Ok(self
            .fixed_option::<4>(code, "an IPv4 address needs exactly 4 bytes")?
            .map(Ipv4Addr::from))
    }

    fn nonempty_option(&self, code: u8) -> Result<Option<Cow<'a, [u8]>>, MalformedOption> {
        match self.option(code) {
            Some(v) if v.is_empty() => Err(malformed(code, 0, "must not be empty")),
            other => Ok(other),
        }
    }

    /// DHCP message type (53), exactly one byte.
    pub fn message_type(&self) -> Result<Option<MessageType>, MalformedOption> {
        Ok(self
            .fixed_option::<1>(code::MESSAGE_TYPE, "needs exactly 1 byte")?
            .map(|[t]| t.into()))
    }

    /// Requested IP address (50).
    pub fn requested_address(&self) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.address_option(code::REQUESTED_ADDRESS)
    }

    /// IP address lease time (51), seconds.
    pub fn lease_time(&self) -> Result<Option<u32>, MalformedOption> {
        Ok(self
            .fixed_option::<4>(code::LEASE_TIME, "a uint32 needs exactly 4 bytes")?
            .map(u32::from_be_bytes))
    }

    /// Server identifier (54).
    pub fn server_id(&self) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.address_option(code::SERVER_ID)
    }

    /// Parameter request list (55): the requested codes in the client's order (may be empty).
    pub fn parameter_request_list(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::PARAMETER_REQUEST_LIST)
    }

    /// Maximum DHCP message size (57) as sent; see `EncodeLimits::for_client` for its use.
    pub fn max_message_size(&self) -> Result<Option<u16>, MalformedOption> {
        Ok(self
            .fixed_option::<2>(code::MAX_MESSAGE_SIZE, "a uint16 needs exactly 2 bytes")?
            .map(u16::from_be_bytes))
    }

    /// Client identifier (61): type byte plus identifier (RFC 2132 section 9.14 requires at
    /// least 2 bytes; RFC 6842 has the server echo it). Returned whole, type byte included, as
    /// Kea stores and compares it.
    pub fn client_id(&self) -> Result<Option<Cow<'a, [u8]>>, MalformedOption> {
        match self.option(code::CLIENT_ID) {
            Some(v) if v.len() < 2 => {
                Err(malformed(code::CLIENT_ID, v.len(), "shorter than 2 bytes"))
            }
            other => Ok(other),
        }
    }

    /// Host name (12), trailing NULs removed. Kea reads it as a string option
    /// (`OptionString::unpack`): trailing NULs are trimmed and a value that is empty or only
    /// NULs is skipped, so both give `None` here (the empty one was already skipped at parse
    /// time).
    pub fn hostname(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::HOST_NAME)
            .map(trim_nuls)
            .filter(|v| !v.is_empty())
    }

    /// Vendor class identifier (60), trailing NULs removed as Kea does for string options. An
    /// empty or all-NUL value is reported as malformed (Kea skips such an option; treat the
    /// error as "absent" for the same result).
    pub fn vendor_class(&self) -> Result<Option<Cow<'a, [u8]>>, MalformedOption> {
        match self.option(code::VENDOR_CLASS).map(trim_nuls) {
            Some(v) if v.is_empty() => {
                let len = self.option(code::VENDOR_CLASS).map_or(0, |v| v.len());
                Err(malformed(code::VENDOR_CLASS, len, "empty or only NULs"))
            }
            other => Ok(other),
        }
    }

    /// User class (77). Kea 2.2 keeps it as opaque binary; [`UserClass::instances`] reads the
    /// RFC 3004 structure when the caller wants it.
    pub fn user_class(&self) -> Result<Option<UserClass<'a>>, MalformedOption> {
        Ok(self
            .nonempty_option(code::USER_CLASS)?
            .map(|raw| UserClass { raw }))
    }

    /// Subnet selection (118, RFC 3011).
    pub fn subnet_selection(&self) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.address_option(code::SUBNET_SELECTION)
    }

    /// Client FQDN (81, RFC 4702).
    pub fn client_fqdn(&self) -> Result<Option<ClientFqdn<'a>>, MalformedOption> {
        self.option(code::CLIENT_FQDN)
            .map(ClientFqdn::parse)
            .transpose()
    }

    /// Relay agent information (82, RFC 3046). An empty option is returned (with no
    /// sub-options); Kea does not echo an empty one.
    pub fn relay_agent_info(&self) -> Option<RelayAgentInfo<'a>> {
        self.option(code::RELAY_AGENT_INFO)
            .map(|data| RelayAgentInfo { data })
    }
}

/// RFC 4702 section 2.1 flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FqdnFlags(pub u8);

impl FqdnFlags {
    /// S: the server should perform the A update.
    pub const S: u8 = 0x01;
    /// O: the server overrode the client's S preference.
    pub const O: u8 = 0x02;
    /// E: the name is in RFC 1035 wire format (otherwise deprecated ASCII).
    pub const E: u8 = 0x04;
    /// N: the server should perform no DNS update.
    pub const N: u8 = 0x08;

    /// S bit.
    pub fn s(self) -> bool {
        self.0 & Self::S != 0
    }
    /// O bit.
    pub fn o(self) -> bool {
        self.0 & Self::O != 0
    }
    /// E bit.
    pub fn e(self) -> bool {
        self.0 & Self::E != 0
    }
    /// N bit.
    pub fn n(self) -> bool {
        self.0 & Self::N != 0
    }
}

/// Client FQDN option (81).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFqdn<'a> {
    /// Flags; the 4 MBZ bits are kept as received (RFC 4702 says to ignore them).
    pub flags: FqdnFlags,
    /// RCODE1 (deprecated, servers send 255).
    pub rcode1: u8,
    /// RCODE2.
    pub rcode2: u8,
    /// The domain name, in the encoding the E bit selects.
    pub name: FqdnName<'a>,
}

/// The domain name of a client FQDN option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FqdnName<'a> {
    /// RFC 1035 wire format, validated: labels of 1..=63 bytes, no compression, at most 255
    /// bytes. `fully_qualified` when it ends with the root label; otherwise a partial name
    /// (RFC 4702 section 2.3.1).
    Wire {
        /// The encoded labels, root label included when fully qualified.
        data: Cow<'a, [u8]>,
        /// Ends with the root label.
        fully_qualified: bool,
    },
    /// Deprecated ASCII encoding (E bit clear), as received.
    Ascii(Cow<'a, [u8]>),
}

impl<'a> ClientFqdn<'a> {
    fn parse(value: Cow<'a, [u8]>) -> Result<Self, MalformedOption> {
        let c = code::CLIENT_FQDN;
        let len = value.len();
        let [flags, rcode1, rcode2] = match value.first_chunk::<3>() {
            Some(h) => *h,
            None => {
                return Err(malformed(
                    c,
                    len,
                    "shorter than 3 bytes (flags, rcode1, rcode2)",
                ));
            }
        };
        let flags = FqdnFlags(flags);
        if flags.n() && flags.s() {
            return Err(malformed(
                c,
                len,
                "N and S flags both set (RFC 4702 section 2.1)",
            ));
        }
        let data = sub_cow(&value, 3);
        let name = if flags.e() {
            let fully_qualified =
                validate_wire_name(&data).map_err(|reason| malformed(c, len, reason))?;
            FqdnName::Wire {
                data,
                fully_qualified,
            }
        } else {
            FqdnName::Ascii(data)
        };
        Ok(ClientFqdn {
            flags,
            rcode1,
            rcode2,
            name,
        })
    }
}

/// Checks an RFC 1035 uncompressed name; returns whether it is fully qualified.
fn validate_wire_name(data: &[u8]) -> Result<bool, &'static str> {
    if data.len() > 255 {
        return Err("domain name longer than 255 bytes");
    }
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            return if tail.is_empty() {
                Ok(true)
            } else {
                Err("root label before the end of the name")
            };
        }
        if len & 0xc0 != 0 {
            return Err("compression pointer or label longer than 63 bytes");
        }
        rest = tail
            .get(usize::from(len)..)
            .ok_or("label runs past the end of the option")?;
    }
    Ok(false)
}

impl FqdnName<'_> {
    /// The labels, without the root label (ASCII names are split on dots).
    pub fn labels(&self) -> FqdnLabels<'_> {
        match self {
            FqdnName::Wire { data, .. } => FqdnLabels {
                rest: data,
                wire: true,
            },
            FqdnName::Ascii(data) => FqdnLabels {
                rest: data,
                wire: false,
            },
        }
    }

    /// True when the name is fully qualified (wire: ends with the root label; ASCII: ends with
    /// a dot).
    pub fn is_fully_qualified(&self) -> bool {
        match self {
            FqdnName::Wire {
                fully_qualified, ..
            } => *fully_qualified,
            FqdnName::Ascii(data) => data.last() == Some(&b'.'),
        }
    }

    /// True when the name has no labels.
    pub fn is_empty(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Dotted text, with a trailing dot when fully qualified (as Kea prints a full name). Bytes
    /// outside printable ASCII, dots inside labels and backslashes are escaped as `\DDD`
    /// (RFC 1035 section 5.1).
    pub fn to_dotted(&self) -> String {
        let mut out = String::new();
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                out.push('.');
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("\\{b:03}"));
                }
            }
        }
        if self.is_fully_qualified() && !out.is_empty() {
            out.push('.');
        }
        out
    }
}

/// Iterator over the labels of an [`FqdnName`].
#[derive(Debug, Clone)]
pub struct FqdnLabels<'n> {
    rest: &'n [u8],
    wire: bool,
}

impl<'n> Iterator for FqdnLabels<'n> {
    type Item = &'n [u8];

    fn next(&mut self) -> Option<&'n [u8]> {
        if self.wire {
            let (&len, tail) = self.rest.split_first()?;
            if len == 0 {
                self.rest = &[];
                return None;
            }
            let (label, rest) = tail.split_at_checked(usize::from(len))?;
            self.rest = rest;
            Some(label)
        } else {
            if self.rest.is_empty() {
                return None;
            }
            let end = self
                .rest
                .iter()
                .position(|&b| b == b'.')
                .unwrap_or(self.rest.len());
            let (label, rest) = self.rest.split_at_checked(end)?;
            self.rest = rest.get(1..).unwrap_or(&[]);
            if label.is_empty() {
                self.next()
            } else {
                Some(label)
            }
        }
    }
}

/// Relay agent information option (82, RFC 3046) with its sub-options.
///
/// Sub-options are read as Kea reads them (`unpackOptions4` over the option value): a
/// truncated sub-option ends the list, the ones before it stay usable, and instances of one
/// sub-option code are fused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAgentInfo<'a> {
    data: Cow<'a, [u8]>,
}

impl<'a> RelayAgentInfo<'a> {
    /// Wraps a raw option 82 value (for instance one being built).
    pub fn new(data: Cow<'a, [u8]>) -> Self {
        RelayAgentInfo { data }
    }

    /// The whole option value, as to be echoed in the reply.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Sub-options in wire order; a truncated one is yielded as an error and ends the list.
    pub fn iter(&self) -> SubOptions<'_> {
        SubOptions {
            rest: &self.data,
            offset: 0,
            done: false,
        }
    }

    /// Offset within the option value where a truncated sub-option starts, if any.
    pub fn truncated_at(&self) -> Option<usize> {
        let mut it = self.iter();
        while let Some(item) = it.next() {
            if item.is_err() {
                return Some(it.offset);
            }
        }
        None
    }

    /// Sub-option `code`, all instances fused (borrowed when there is one).
    pub fn sub_option(&self, code: u8) -> Option<Cow<'_, [u8]>> {
        let mut found: Option<Cow<'_, [u8]>> = None;
        for (c, v) in self.iter().map_while(Result::ok) {
            if c != code {
                continue;
            }
            found = Some(match found {
                None => Cow::Borrowed(v),
                Some(prev) => {
                    let mut joined = prev.into_owned();
                    joined.extend_from_slice(v);
                    Cow::Owned(joined)
                }
            });
        }
        found
    }

    fn sub_address(&self, sub: u8) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.sub_option(sub)
            .map(|v| {
                <[u8; 4]>::try_from(&*v)
                    .map(Ipv4Addr::from)
                    .map_err(|_| MalformedOption {
                        code: code::RELAY_AGENT_INFO,
                        sub_code: Some(sub),
                        len: v.len(),
                        reason: "an IPv4 address needs exactly 4 bytes",
                    })
            })
            .transpose()
    }

    /// Agent circuit id (sub-option 1).
    pub fn circuit_id(&self) -> Option<Cow<'_, [u8]>> {
        self.sub_option(code::rai::CIRCUIT_ID)
    }

    /// Agent remote id (sub-option 2).
    pub fn remote_id(&self) -> Option<Cow<'_, [u8]>> {
        self.sub_option(code::rai::REMOTE_ID)
    }

    /// Link selection (sub-option 5, RFC 3527): the subnet to select from.
    pub fn link_selection(&self) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.sub_address(code::rai::LINK_SELECTION)
    }

    /// Subscriber id (sub-option 6, RFC 3993).
    pub fn subscriber_id(&self) -> Option<Cow<'_, [u8]>> {
        self.sub_option(code::rai::SUBSCRIBER_ID)
    }

    /// Server identifier override (sub-option 11, RFC 5107).
    pub fn server_id_override(&self) -> Result<Option<Ipv4Addr>, MalformedOption> {
        self.sub_address(code::rai::SERVER_ID_OVERRIDE)
    }

    /// Relay source port present (sub-option 19, RFC 8357). Kea 2.2 only tests presence: the
    /// reply then goes to the UDP source port the relay used.
    pub fn has_relay_port(&self) -> bool {
        self.sub_option(code::rai::RELAY_PORT).is_some()
    }

    /// The value of the relay source port sub-option: `Ok(None)` when absent or empty (as a
    /// relay sends it), the port when 2 bytes long, malformed otherwise.
    pub fn relay_port(&self) -> Result<Option<u16>, MalformedOption> {
        match self.sub_option(code::rai::RELAY_PORT) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => <[u8; 2]>::try_from(&*v)
                .map(|b| Some(u16::from_be_bytes(b)))
                .map_err(|_| MalformedOption {
                    code: code::RELAY_AGENT_INFO,
                    sub_code: Some(code::rai::RELAY_PORT),
                    len: v.len(),
                    reason: "a port needs 0 or 2 bytes",
                }),
        }
    }
}

/// Iterator over relay agent sub-options; see [`RelayAgentInfo::iter`].
#[derive(Debug, Clone)]
pub struct SubOptions<'r> {
    rest: &'r [u8],
    offset: usize,
    done: bool,
}

impl<'r> Iterator for SubOptions<'r> {
    type Item = Result<(u8, &'r [u8]), MalformedOption>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // Pad and end are plain sub-option codes in Kea's agent space (not dhcp4), so they are
        // not special here.
        let (&sub, tail) = self.rest.split_first()?;
        let item = tail
            .split_first()
            .and_then(|(&len, tail)| tail.split_at_checked(usize::from(len)))
            .map(|(value, rest)| {
                self.rest = rest;
                self.offset += 2 + value.len();
                (sub, value)
            });
        match item {
            Some(ok) => Some(Ok(ok)),
            None => {
                self.done = true;
                Some(Err(MalformedOption {
                    code: code::RELAY_AGENT_INFO,
                    sub_code: Some(sub),
                    len: self.rest.len(),
                    reason: "sub-option truncated",
                }))
            }
        }
    }
}

/// User class option (77).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClass<'a> {
    raw: Cow<'a, [u8]>,
}

impl UserClass<'_> {
    /// The whole value (what Kea 2.2 matches `option[77].hex` against).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// RFC 3004 instances (UC-Len, data)*. Many clients send plain text instead; an item that
    /// does not fit is an error and ends the iteration.
    pub fn instances(&self) -> UserClassInstances<'_> {
        UserClassInstances {
            rest: &self.raw,
            done: false,
        }
    }

    /// True when the value parses as a non-empty list of RFC 3004 instances.
    pub fn is_rfc3004(&self) -> bool {
        self.instances().all(|i| i.is_ok())
    }
}

/// Iterator over RFC 3004 user class instances; see [`UserClass::instances`].
#[derive(Debug, Clone)]
pub struct UserClassInstances<'u> {
    rest: &'u [u8],
    done: bool,
}

impl<'u> Iterator for UserClassInstances<'u> {
    type Item = Result<&'u [u8], MalformedOption>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (&len, tail) = self.rest.split_first()?;
        match tail.split_at_checked(usize::from(len)) {
            Some((value, rest)) if len > 0 => {
                self.rest = rest;
                Some(Ok(value))
            }
            _ => {
                self.done = true;
                Some(Err(malformed(
                    code::USER_CLASS,
                    self.rest.len(),
                    "RFC 3004 instance empty or truncated",
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkt::{HEADER_LEN, MAGIC_COOKIE};

    fn raw(options: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_LEN];
        v[0] = 1;
        v.extend_from_slice(&MAGIC_COOKIE);
        v.extend_from_slice(options);
        v
    }

    #[test]
    fn fixed_size_options() {
        let v = raw(&[
            53, 1, 3, 50, 4, 192, 0, 2, 7, 51, 4, 0, 0, 14, 16, 54, 4, 192, 0, 2, 1, 57, 2, 5, 220,
            118, 4, 10, 1, 2, 0, 255,
        ]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.message_type(), Ok(Some(MessageType::Request)));
        assert_eq!(p.requested_address(), Ok(Some(Ipv4Addr::new(192, 0, 2, 7))));
        assert_eq!(p.lease_time(), Ok(Some(3600)));
        assert_eq!(p.server_id(), Ok(Some(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!(p.max_message_size(), Ok(Some(1500)));
        assert_eq!(p.subnet_selection(), Ok(Some(Ipv4Addr::new(10, 1, 2, 0))));
        assert_eq!(p.client_id(), Ok(None));
        assert!(p.client_fqdn().unwrap().is_none());
    }

    #[test]
    fn wrong_lengths_are_malformed_and_later_options_survive() {
        let v = raw(&[
            51, 3, 0, 14, 16, 53, 2, 1, 1, 61, 1, 1, 50, 4, 1, 2, 3, 4, 255,
        ]);
        let p = Packet::parse(&v).unwrap();
        let e = p.lease_time().unwrap_err();
        assert_eq!((e.code, e.len), (51, 3));
        assert!(e.to_string().contains("option 51 (3 bytes)"), "{e}");
        assert_eq!(p.message_type().unwrap_err().len, 2);
        assert_eq!(p.client_id().unwrap_err().code, 61);
        assert_eq!(p.requested_address(), Ok(Some(Ipv4Addr::new(1, 2, 3, 4))));
    }

    #[test]
    fn message_type_round_trips_every_value() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
        assert_eq!(MessageType::from(200), MessageType::Unknown(200));
    }

    #[test]
    fn prl_client_id_hostname_vendor_class() {
        let v = raw(&[
            55, 3, 1, 3, 6, 61, 7, 1, 0, 0, 0, 0x11, 0x22, 0x33, 12, 2, b'h', b'1', 60, 3, b'M',
            b'S', b'F', 255,
        ]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.parameter_request_list().as_deref(), Some(&[1, 3, 6][..]));
        assert_eq!(
            p.client_id().unwrap().as_deref(),
            Some(&[1, 0, 0, 0, 0x11, 0x22, 0x33][..])
        );
        assert_eq!(p.hostname().as_deref(), Some(&b"h1"[..]));
        assert_eq!(p.vendor_class().unwrap().as_deref(), Some(&b"MSF"[..]));
    }

    #[test]
    fn string_options_lose_trailing_nuls_like_kea() {
        let v = raw(&[12, 4, b'p', b'c', 0, 0, 60, 3, b'v', 0, 0, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.hostname().as_deref(), Some(&b"pc"[..]));
        assert_eq!(p.vendor_class().unwrap().as_deref(), Some(&b"v"[..]));
        let v = raw(&[12, 2, 0, 0, 60, 1, 0, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.hostname(), None);
        assert_eq!(
            p.option(12).as_deref(),
            Some(&[0, 0][..]),
            "raw access keeps the bytes"
        );
        assert_eq!(p.vendor_class().unwrap_err().len, 1);
    }

    #[test]
    fn relay_agent_sub_options() {
        let v = raw(&[
            82, 27, //
            1, 4, b'e', b't', b'h', b'0', //
            2, 2, 0xaa, 0xbb, //
            5, 4, 10, 0, 0, 0, //
            6, 1, b's', //
            11, 4, 10, 0, 0, 1, //
            19, 0, //
            255,
        ]);
        let p = Packet::parse(&v).unwrap();
        let rai = p.relay_agent_info().unwrap();
        assert_eq!(rai.circuit_id().as_deref(), Some(&b"eth0"[..]));
        assert_eq!(rai.remote_id().as_deref(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(rai.link_selection(), Ok(Some(Ipv4Addr::new(10, 0, 0, 0))));
        assert_eq!(rai.subscriber_id().as_deref(), Some(&b"s"[..]));
        assert_eq!(
            rai.server_id_override(),
            Ok(Some(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert!(rai.has_relay_port());
        assert_eq!(rai.relay_port(), Ok(None));
        let codes: Vec<u8> = rai.iter().map(|r| r.unwrap().0).collect();
        assert_eq!(codes, vec![1, 2, 5, 6, 11, 19]);
        assert_eq!(rai.truncated_at(), None);
        assert_eq!(rai.as_bytes().len(), 27);
    }

    #[test]
    fn relay_agent_truncated_and_malformed_sub_options() {
        let v = raw(&[82, 13, 1, 1, b'a', 5, 3, 1, 2, 3, 1, 1, b'b', 2, 9, 255]);
        let p = Packet::parse(&v).unwrap();
        let rai = p.relay_agent_info().unwrap();
        // Circuit-id instances are fused; the truncated remote-id ends the list.
        assert_eq!(rai.circuit_id().as_deref(), Some(&b"ab"[..]));
        assert_eq!(rai.remote_id(), None);
        assert_eq!(rai.truncated_at(), Some(11));
        let e = rai.link_selection().unwrap_err();
        assert_eq!((e.sub_code, e.len), (Some(5), 3));
        assert!(e.to_string().contains("option 82.5"), "{e}");
        let items: Vec<_> = rai.iter().collect();
        assert_eq!(items.len(), 4);
        assert!(items[3].is_err());
    }

    #[test]
    fn relay_port_with_value() {
        let v = raw(&[82, 4, 19, 2, 0x10, 0x00, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(p.relay_agent_info().unwrap().relay_port(), Ok(Some(4096)));
        let v = raw(&[82, 3, 19, 1, 1, 255]);
        let p = Packet::parse(&v).unwrap();
        assert!(p.relay_agent_info().unwrap().relay_port().is_err());
    }

    #[test]
    fn fqdn_wire_encoding() {
        // E and S set, rcodes 0, "host.example." fully qualified.
        let mut opt = vec![81, 0, 0x05, 0, 0];
        opt.extend_from_slice(b"\x04host\x07example\x00");
        opt[1] = (opt.len() - 2) as u8;
        opt.push(255);
        let v = raw(&opt);
        let p = Packet::parse(&v).unwrap();
        let f = p.client_fqdn().unwrap().unwrap();
        assert!(f.flags.e() && f.flags.s() && !f.flags.n() && !f.flags.o());
        assert!(f.name.is_fully_qualified());
        assert_eq!(
            f.name.labels().collect::<Vec<_>>(),
            vec![&b"host"[..], &b"example"[..]]
        );
        assert_eq!(f.name.to_dotted(), "host.example.");
    }

    #[test]
    fn fqdn_wire_partial_name() {
        let v = raw(&[81, 8, 0x04, 0, 0, 4, b'h', b'o', b's', b't', 255]);
        let p = Packet::parse(&v).unwrap();
        let f = p.client_fqdn().unwrap().unwrap();
        assert!(!f.name.is_fully_qualified());
        assert_eq!(f.name.to_dotted(), "host");
    }

    #[test]
    fn fqdn_ascii_encoding() {
        let v = raw(&[
            81, 12, 0x01, 255, 255, b'p', b'c', b'.', b'l', b'a', b'b', b'.', b'x', b'.', 255,
        ]);
        let p = Packet::parse(&v).unwrap();
        let f = p.client_fqdn().unwrap().unwrap();
        assert!(!f.flags.e());
        assert_eq!((f.rcode1, f.rcode2), (255, 255));
        assert!(matches!(f.name, FqdnName::Ascii(_)));
        assert!(f.name.is_fully_qualified());
        assert_eq!(f.name.labels().count(), 3);
        assert_eq!(f.name.to_dotted(), "pc.lab.x.");
    }

    #[test]
    fn fqdn_malformed() {
        for opt in [
            &[81, 2, 0x04, 0][..],                   // too short
            &[81, 3, 0x09, 0, 0][..],                // N and S
            &[81, 6, 0x04, 0, 0, 5, b'a', b'b'][..], // label past end
            &[81, 6, 0x04, 0, 0, 0xc0, 0x0c, 0][..], // compression pointer
            &[81, 7, 0x04, 0, 0, 0, 1, b'a', 0][..], // root label in the middle
        ] {
            let mut o = opt.to_vec();
            o.push(255);
            let v = raw(&o);
            let p = Packet::parse(&v).unwrap();
            let e = p.client_fqdn().unwrap_err();
            assert_eq!(e.code, 81, "{opt:?}");
        }
    }

    #[test]
    fn fqdn_escapes_odd_bytes() {
        let v = raw(&[81, 7, 0x04, 0, 0, 2, b'a', b'.', 0, 255]);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(
            p.client_fqdn().unwrap().unwrap().name.to_dotted(),
            "a\\046."
        );
    }

    #[test]
    fn user_class_instances() {
        let v = raw(&[77, 7, 2, b'a', b'b', 3, b'x', b'y', b'z', 255]);
        let p = Packet::parse(&v).unwrap();
        let uc = p.user_class().unwrap().unwrap();
        assert!(uc.is_rfc3004());
        let got: Vec<&[u8]> = uc.instances().map(Result::unwrap).collect();
        assert_eq!(got, vec![&b"ab"[..], &b"xyz"[..]]);

        // Plain text, as some clients send: not RFC 3004, still available raw.
        let v = raw(&[77, 4, b'c', b'o', b'r', b'p', 255]);
        let p = Packet::parse(&v).unwrap();
        let uc = p.user_class().unwrap().unwrap();
        assert!(!uc.is_rfc3004());
        assert_eq!(uc.as_bytes(), b"corp");
    }
}
