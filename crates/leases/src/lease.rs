//! The DHCPv4 lease model: [`Lease4`] and its identifier types.
//!
//! Mirrors Kea 2.2's `Lease4` (`src/lib/dhcpsrv/lease.{h,cc}`): every field the memfile CSV
//! stores and the `lease4-*` commands render (reference 2.1), the lease states of reference 6.6,
//! and `Lease4::belongsToClient` (reference 6.2). Time is always injected (`now` in unix
//! seconds), never read from the system clock here.
//!
//! The types are sized for a store that holds a million leases: the hardware address lives
//! inline (Kea caps it at 20 bytes), variable-length fields are boxed slices rather than
//! `Vec`/`String` (no spare capacity, 16 bytes instead of 24).

use std::fmt;
use std::net::Ipv4Addr;

use thiserror::Error;

/// Unix time in seconds.
pub type UnixTime = u64;

/// Kea's `Lease::INFINITY_LFT`: a lease with this lifetime never expires.
pub const INFINITE_LIFETIME: u32 = u32::MAX;

/// Why an identifier, a hostname or a user context was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidField {
    /// More than [`HwAddr::MAX_LEN`] bytes.
    #[error("hardware address of {len} bytes exceeds the maximum of {max}", max = HwAddr::MAX_LEN)]
    HwAddrTooLong {
        /// The offending length.
        len: usize,
    },
    /// Fewer than [`ClientId::MIN_LEN`] or more than [`ClientId::MAX_LEN`] bytes.
    #[error(
        "client-id of {len} bytes is outside {min}..={max}",
        min = ClientId::MIN_LEN,
        max = ClientId::MAX_LEN
    )]
    ClientIdLength {
        /// The offending length.
        len: usize,
    },
    /// Text that is not `hh:hh:..` hexadecimal (Kea's `decodeSeparatedHexString` rules).
    #[error("invalid hexadecimal identifier '{text}': {reason}")]
    Hex {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The user context is not JSON, or not a JSON map (Kea: `user context '..' is not a JSON map`).
    #[error("user context '{text}' is not a JSON map")]
    UserContext {
        /// The text as given.
        text: String,
    },
    /// A state number outside 0..=2.
    #[error(
        "invalid state value: {0}, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"
    )]
    State(u32),
}

/// A hardware address (chaddr) with its hardware type, stored inline.
///
/// Equality compares type and bytes, as Kea's `HWAddr::operator==`. Addresses read from a lease
/// file get type 1 (Ethernet), as Kea's `HWAddr::fromText` does: the CSV has no htype column.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HwAddr {
    htype: u8,
    len: u8,
    bytes: [u8; HwAddr::MAX_LEN],
}

impl HwAddr {
    /// Kea's `HWAddr::MAX_HWADDR_LEN`.
    pub const MAX_LEN: usize = 20;
    /// Hardware type 1, Ethernet.
    pub const HTYPE_ETHER: u8 = 1;

    /// The empty address that declined leases carry.
    pub const EMPTY: HwAddr = HwAddr {
        htype: Self::HTYPE_ETHER,
        len: 0,
        bytes: [0; Self::MAX_LEN],
    };

    /// A hardware address of type `htype`; at most [`Self::MAX_LEN`] bytes.
    pub fn new(htype: u8, bytes: &[u8]) -> Result<Self, InvalidField> {
        let mut out = [0u8; Self::MAX_LEN];
        let dst = out
            .get_mut(..bytes.len())
            .ok_or(InvalidField::HwAddrTooLong { len: bytes.len() })?;
        dst.copy_from_slice(bytes);
        Ok(HwAddr {
            htype,
            // bytes.len() <= MAX_LEN (20) here, so it fits.
            len: bytes.len() as u8,
            bytes: out,
        })
    }

    /// An Ethernet (type 1) address.
    pub fn ether(bytes: &[u8]) -> Result<Self, InvalidField> {
        Self::new(Self::HTYPE_ETHER, bytes)
    }

    /// Parses `aa:bb:cc:..` (one or two hex digits per octet, any case; empty text gives the
    /// empty address), as Kea's `HWAddr::fromText`, with type Ethernet.
    pub fn from_text(text: &str) -> Result<Self, InvalidField> {
        let mut buf = [0u8; Self::MAX_LEN];
        let len = decode_separated_hex(text, b':', &mut buf)?;
        let bytes = buf.get(..len).unwrap_or_default();
        Self::ether(bytes)
    }

    /// The hardware type.
    pub fn htype(&self) -> u8 {
        self.htype
    }

    /// The address bytes (empty for a declined lease).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether the address has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for HwAddr {
    /// Lowercase colon-separated hex, as Kea's `HWAddr::toText(false)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_colon_hex(f, self.as_bytes())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HwAddr({}, htype {})", self, self.htype)
    }
}

/// A DHCPv4 client identifier (option 61), type byte included; 2 to 128 bytes as Kea's
/// `ClientId`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Box<[u8]>);

impl ClientId {
    /// Kea's `ClientId::MIN_CLIENT_ID_LEN`.
    pub const MIN_LEN: usize = 2;
    /// Kea's `ClientId::MAX_CLIENT_ID_LEN` (`DUID::MAX_DUID_LEN`).
    pub const MAX_LEN: usize = 128;

    /// A client identifier from its raw bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, InvalidField> {
        if (Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            Ok(ClientId(bytes.into()))
        } else {
            Err(InvalidField::ClientIdLength { len: bytes.len() })
        }
    }

    /// Parses a client identifier as Kea's `ClientId::fromText` (`decodeFormattedHexString`):
    /// colon-separated octets, space-separated octets, or a plain hex string with an optional
    /// `0x` prefix (an odd digit count gets a leading zero).
    pub fn from_text(text: &str) -> Result<Self, InvalidField> {
        let mut buf = [0u8; Self::MAX_LEN];
        let len = if text.contains(':') {
            decode_separated_hex(text, b':', &mut buf)?
        } else if text.contains(' ') {
            decode_separated_hex(text, b' ', &mut buf)?
        } else {
            decode_plain_hex(text, &mut buf)?
        };
        Self::new(buf.get(..len).unwrap_or_default())
    }

    /// The identifier bytes, type byte first.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for ClientId {
    /// Lowercase colon-separated hex, as Kea's `ClientId::toText`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_colon_hex(f, &self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({self})")
    }
}

/// A lease hostname, lower-cased on construction (ASCII only, as Kea's `Lease4` constructor with
/// the C locale).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hostname(Box<str>);

impl Hostname {
    /// Lower-cases ASCII letters; any other text is kept as given (Kea does not validate).
    pub fn new(text: &str) -> Self {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Hostname(text.to_ascii_lowercase().into_boxed_str())
        } else {
            Hostname(text.into())
        }
    }

    /// The stored (lower-cased) name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether no hostname is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// A lease's user context: JSON text validated to be a map, kept verbatim.
///
/// Kept as text rather than a parsed value because the store only persists and returns it; a
/// parsed tree would cost a dozen allocations per lease held in memory. The text is what the
/// writer puts in the CSV (escaped), so a context read from a Kea file is written back byte for
/// byte.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserContext(Box<str>);

impl UserContext {
    /// Accepts `text` if it is a JSON object.
    pub fn from_json_text(text: &str) -> Result<Self, InvalidField> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => Ok(UserContext(text.into())),
            _ => Err(InvalidField::UserContext {
                text: text.to_owned(),
            }),
        }
    }

    /// Renders a JSON map in Kea's `Element::str()` layout (`{ "k": v, "k2": [ 1, 2 ] }`), so a
    /// context set through a command is stored the way Kea would store it.
    pub fn from_map(map: &serde_json::Map<String, serde_json::Value>) -> Self {
        let mut out = String::new();
        write_kea_json(&serde_json::Value::Object(map.clone()), &mut out);
        UserContext(out.into_boxed_str())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed map.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::from_str::<serde_json::Value>(&self.0) {
            Ok(serde_json::Value::Object(map)) => map,
            // Unreachable by construction; an empty map is the harmless answer.
            _ => serde_json::Map::new(),
        }
    }
}

impl fmt::Debug for UserContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserContext({})", self.0)
    }
}

/// Kea's `Element::str()` layout: `{ "a": 1, "b": [ 1, 2 ] }`, `[  ]`/`{  }` when empty.
fn write_kea_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_kea_json(item, out);
            }
            out.push_str(" ]");
        }
        Value::Object(map) => {
            // Kea's maps are `std::map`s: keys come out sorted.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("{ ");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_kea_json(item, out);
            }
            out.push_str(" }");
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lease state (Kea's `Lease::STATE_*`, the CSV `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum LeaseState {
    /// 0: assigned to a client.
    #[default]
    Default,
    /// 1: declined by a client (DHCPDECLINE); held for the probation period.
    Declined,
    /// 2: expired and reclaimed; kept for lease affinity until flushed.
    ExpiredReclaimed,
}

impl LeaseState {
    /// The CSV / JSON number.
    pub fn as_u32(self) -> u32 {
        match self {
            LeaseState::Default => 0,
            LeaseState::Declined => 1,
            LeaseState::ExpiredReclaimed => 2,
        }
    }
}

impl TryFrom<u32> for LeaseState {
    type Error = InvalidField;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(LeaseState::Default),
            1 => Ok(LeaseState::Declined),
            2 => Ok(LeaseState::ExpiredReclaimed),
            other => Err(InvalidField::State(other)),
        }
    }
}

/// A DHCPv4 lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease4 {
    /// The leased address (the primary key).
    pub address: Ipv4Addr,
    /// The client's hardware address; empty for a declined lease.
    pub hwaddr: HwAddr,
    /// The client identifier, if the client sent one (and `match-client-id` kept it).
    pub client_id: Option<ClientId>,
    /// Valid lifetime in seconds; [`INFINITE_LIFETIME`] never expires. In the lease file a row
    /// with 0 records a deletion.
    pub valid_lifetime: u32,
    /// Client last transaction time, unix seconds.
    pub cltt: UnixTime,
    /// The subnet the lease belongs to.
    pub subnet_id: u32,
    /// Forward DNS update done.
    pub fqdn_fwd: bool,
    /// Reverse DNS update done.
    pub fqdn_rev: bool,
    /// The client's hostname, lower-cased; empty if none.
    pub hostname: Hostname,
    /// Assigned, declined or expired-reclaimed.
    pub state: LeaseState,
    /// Arbitrary JSON map attached by commands or hooks.
    pub user_context: Option<UserContext>,
}

/// A lease that may not be stored: Kea's `CSVLeaseFile4::append` check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Lease4: {address}, state: {state:?} has neither hardware address or client id")]
pub struct NoClientIdentity {
    /// The lease address.
    pub address: Ipv4Addr,
    /// Its state.
    pub state: LeaseState,
}

impl Lease4 {
    /// A new assigned lease with no hostname, DNS flags or user context.
    pub fn new(
        address: Ipv4Addr,
        hwaddr: HwAddr,
        client_id: Option<ClientId>,
        valid_lifetime: u32,
        cltt: UnixTime,
        subnet_id: u32,
    ) -> Self {
        Lease4 {
            address,
            hwaddr,
            client_id,
            valid_lifetime,
            cltt,
            subnet_id,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: Hostname::default(),
            state: LeaseState::Default,
            user_context: None,
        }
    }

    /// `cltt + valid_lifetime`: the CSV `expire` column and the expiration time.
    pub fn expire(&self) -> UnixTime {
        self.cltt.saturating_add(u64::from(self.valid_lifetime))
    }

    /// Kea's `Lease::expired`: a finite lease whose expiration time is in the past.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.valid_lifetime != INFINITE_LIFETIME && self.expire() < now
    }

    /// Kea's `Lease4::belongsToClient`: equal client identifiers (or both absent) mean yes; when
    /// exactly one side lacks a client identifier the hardware addresses decide. Two different
    /// client identifiers never match, whatever the hardware addresses.
    pub fn belongs_to_client(&self, hwaddr: Option<&HwAddr>, client_id: Option<&ClientId>) -> bool {
        match (client_id, self.client_id.as_ref()) {
            (Some(theirs), Some(ours)) => theirs == ours,
            (None, None) => true,
            _ => hwaddr == Some(&self.hwaddr),
        }
    }

    /// Kea's write-time check: a lease must identify its client (hardware address or client
    /// identifier) unless it is declined.
    pub fn check_identity(&self) -> Result<(), NoClientIdentity> {
        let no_client_id = self
            .client_id
            .as_ref()
            .is_none_or(|c| c.as_bytes().is_empty());
        if self.hwaddr.is_empty() && no_client_id && self.state != LeaseState::Declined {
            Err(NoClientIdentity {
                address: self.address,
                state: self.state,
            })
        } else {
            Ok(())
        }
    }

    /// Kea's `Lease4::decline`: the lease is stripped of its client and held for `probation`
    /// seconds from `now`.
    pub fn decline(&mut self, probation: u32, now: UnixTime) {
        self.hwaddr = HwAddr::EMPTY;
        self.client_id = None;
        self.cltt = now;
        self.hostname = Hostname::default();
        self.fqdn_fwd = false;
        self.fqdn_rev = false;
        self.state = LeaseState::Declined;
        self.valid_lifetime = probation;
    }
}

fn write_colon_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            f.write_str(":")?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_error(text: &str, reason: &'static str) -> InvalidField {
    InvalidField::Hex {
        text: text.to_owned(),
        reason,
    }
}

/// Kea's `decodeSeparatedHexString`: tokens of one or two hex digits between separators; an
/// empty token is an error unless it is the whole string (which decodes to nothing).
fn decode_separated_hex(text: &str, sep: u8, out: &mut [u8]) -> Result<usize, InvalidField> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut len = 0;
    for token in text.as_bytes().split(|&b| b == sep) {
        let value = match token {
            [] => return Err(hex_error(text, "two consecutive separators")),
            [d] => hex_value(*d),
            [h, l] => hex_value(*h).zip(hex_value(*l)).map(|(h, l)| h << 4 | l),
            _ => return Err(hex_error(text, "more than two digits between separators")),
        }
        .ok_or_else(|| hex_error(text, "not a hexadecimal digit"))?;
        let slot = out
            .get_mut(len)
            .ok_or_else(|| hex_error(text, "too many octets"))?;
        *slot = value;
        len += 1;
    }
    Ok(len)
}

/// The plain-hex branch of Kea's `decodeFormattedHexString`.
fn decode_plain_hex(text: &str, out: &mut [u8]) -> Result<usize, InvalidField> {
    let digits = match text.strip_prefix("0x") {
        Some(rest) if text.len() > 2 => rest,
        _ => text,
    };
    let digits = digits.as_bytes();
    // An odd number of digits of the whole text gets a leading zero, as Kea does.
    let mut pending: Option<u8> = if text.len() % 2 == 1 { Some(0) } else { None };
    let mut len = 0;
    for &c in digits {
        let v = hex_value(c)
            .ok_or_else(|| hex_error(text, "not a valid string of hexadecimal digits"))?;
        match pending.take() {
            None => pending = Some(v),
            Some(high) => {
                let slot = out
                    .get_mut(len)
                    .ok_or_else(|| hex_error(text, "too many octets"))?;
                *slot = high << 4 | v;
                len += 1;
            }
        }
    }
    if pending.is_some() {
        return Err(hex_error(text, "not a valid string of hexadecimal digits"));
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hw(text: &str) -> HwAddr {
        HwAddr::from_text(text).unwrap()
    }

    fn cid(text: &str) -> ClientId {
        ClientId::from_text(text).unwrap()
    }

    #[test]
    fn hwaddr_text_follows_kea_rules() {
        assert_eq!(hw("AA:b:0c").as_bytes(), &[0xaa, 0x0b, 0x0c]);
        assert_eq!(hw("aa:b:0c").to_string(), "aa:0b:0c");
        assert!(hw("").is_empty());
        assert!(HwAddr::from_text("aa::bb").is_err());
        assert!(HwAddr::from_text("aab:cc").is_err());
        assert!(HwAddr::from_text("zz").is_err());
        assert!(HwAddr::from_text(&["01"; 21].join(":")).is_err());
        assert_eq!(hw(&["01"; 20].join(":")).as_bytes().len(), 20);
    }

    #[test]
    fn client_id_text_follows_kea_rules() {
        assert_eq!(cid("01:AA:bb").as_bytes(), &[1, 0xaa, 0xbb]);
        assert_eq!(cid("01 aa bb").as_bytes(), &[1, 0xaa, 0xbb]);
        assert_eq!(cid("0x01aabb").as_bytes(), &[1, 0xaa, 0xbb]);
        assert_eq!(cid("1aabb").as_bytes(), &[1, 0xaa, 0xbb]);
        assert_eq!(cid("01:02").to_string(), "01:02");
        assert!(
            ClientId::from_text("01").is_err(),
            "one byte is below Kea's minimum of 2"
        );
        assert!(ClientId::from_text("").is_err());
        assert!(ClientId::from_text("0g12").is_err());
        assert!(ClientId::new(&[7; 129]).is_err());
    }

    #[test]
    fn hostname_is_lowercased() {
        assert_eq!(Hostname::new("Host-A.Example.").as_str(), "host-a.example.");
    }

    #[test]
    fn user_context_must_be_a_map() {
        assert!(UserContext::from_json_text("{ \"a\": 1 }").is_ok());
        assert!(UserContext::from_json_text("[1]").is_err());
        assert!(UserContext::from_json_text("{").is_err());
        let map = serde_json::json!({"x": "y,z", "l": [1, 2], "e": {}});
        let serde_json::Value::Object(map) = map else {
            unreachable!()
        };
        assert_eq!(
            UserContext::from_map(&map).as_str(),
            r#"{ "e": {  }, "l": [ 1, 2 ], "x": "y,z" }"#
        );
    }

    #[test]
    fn belongs_to_client_matches_kea() {
        let mut lease = Lease4::new(
            Ipv4Addr::new(192, 0, 2, 1),
            hw("aa:bb:cc:dd:ee:ff"),
            Some(cid("01:aa:bb:cc:dd:ee:ff")),
            3600,
            1000,
            1,
        );
        let other_hw = hw("11:22:33:44:55:66");
        // Same client-id wins over a different chaddr.
        assert!(lease.belongs_to_client(Some(&other_hw), Some(&cid("01:aa:bb:cc:dd:ee:ff"))));
        // Different client-ids never match, even with the same chaddr.
        assert!(!lease.belongs_to_client(Some(&lease.hwaddr.clone()), Some(&cid("01:02"))));
        // Query without client-id: chaddr decides.
        assert!(lease.belongs_to_client(Some(&hw("aa:bb:cc:dd:ee:ff")), None));
        assert!(!lease.belongs_to_client(Some(&other_hw), None));
        // Lease without client-id: chaddr decides.
        lease.client_id = None;
        assert!(lease.belongs_to_client(Some(&hw("aa:bb:cc:dd:ee:ff")), Some(&cid("01:02"))));
        assert!(!lease.belongs_to_client(Some(&other_hw), Some(&cid("01:02"))));
        // Neither side has a client-id: Kea's equalValues(null, null) is true.
        assert!(lease.belongs_to_client(Some(&other_hw), None));
    }

    #[test]
    fn expiry_uses_injected_time() {
        let mut lease = Lease4::new(Ipv4Addr::new(10, 0, 0, 1), hw("01:02"), None, 100, 1000, 1);
        assert_eq!(lease.expire(), 1100);
        assert!(!lease.is_expired(1100));
        assert!(lease.is_expired(1101));
        lease.valid_lifetime = INFINITE_LIFETIME;
        assert!(!lease.is_expired(u64::MAX));
    }

    #[test]
    fn identity_check_allows_only_declined_anonymous_leases() {
        let mut lease = Lease4::new(
            Ipv4Addr::new(10, 0, 0, 1),
            HwAddr::EMPTY,
            None,
            100,
            1000,
            1,
        );
        assert!(lease.check_identity().is_err());
        lease.client_id = Some(cid("01:02"));
        assert!(lease.check_identity().is_ok());
        lease.decline(86400, 2000);
        assert_eq!(lease.state, LeaseState::Declined);
        assert_eq!(lease.expire(), 2000 + 86400);
        assert!(lease.check_identity().is_ok());
    }
}
