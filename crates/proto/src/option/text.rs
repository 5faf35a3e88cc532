//! The text forms Kea accepts in `option-data.data`, and the ones it prints back.
//!
//! Each function here reproduces one Kea helper, with the quirks that decide whether a
//! configuration is accepted (measured against `kea-dhcp4 -t` 2.2.0):
//!
//! * [`csv_tokens`]: `isc::util::str::tokens(data, ",", true)`: `\,` keeps a comma, `\\` a
//!   backslash, any other `\x` stays as typed; empty tokens are dropped (`"a,,b"` is two values).
//! * [`kea_trim`]: `isc::util::str::trim`, which strips only space, tab and newline.
//! * [`parse_integer`]: `lexicalCastWithRangeCheck`: decimal first (`"010"` is ten), then
//!   hexadecimal with or without `0x` (`"f0"` and `"0xf0"` are both 240, `"1e2"` is 0x1e2).
//! * [`parse_boolean`]: `true`/`false` in any case, or an integer equal to 0 or 1.
//! * [`decode_hex_or_quoted`]: the `csv-format: false` forms: `'quoted text'`, `0a:0b`,
//!   `0a 0b`, `0x0a0b`, `a0b` (an odd count gets a leading zero).
//! * [`decode_base16`]: `util::encode::decodeHex`, used for `binary` fields in CSV mode; it
//!   skips white space and wants an even number of digits, without `0x` or separators.
//! * [`fqdn_to_wire`] / [`fqdn_wire_to_text`]: `isc::dns::Name` from and to text
//!   (RFC 1035 section 5.1 escapes, 63-octet labels, 255-octet names).

use std::fmt;

/// Kea's `trim`: only `' '`, `'\t'` and `'\n'` count as blanks.
pub(crate) fn kea_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n'])
}

/// Splits CSV option data the way Kea does (see the module documentation).
pub(crate) fn csv_tokens(text: &str) -> Vec<String> {
    let mut result = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut escaped = false;
    for c in text.chars() {
        if c == ',' {
            if !in_token {
                // Leading or repeated delimiters are eaten.
            } else if escaped {
                escaped = false;
                token.push(c);
            } else {
                if !token.is_empty() {
                    result.push(std::mem::take(&mut token));
                }
                in_token = false;
                token.clear();
            }
        } else if c == '\\' {
            in_token = true;
            if escaped {
                escaped = false;
                token.push(c);
            } else {
                escaped = true;
            }
        } else {
            in_token = true;
            if escaped {
                escaped = false;
                token.push('\\');
            }
            token.push(c);
        }
    }
    if escaped {
        token.push('\\');
    }
    if !token.is_empty() {
        result.push(token);
    }
    result
}

/// Why a value could not be read as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntegerError {
    /// Neither decimal nor hexadecimal.
    NotANumber,
    /// A number, outside the type's range.
    OutOfRange,
}

/// Parses an integer as Kea's `lexicalCastWithRangeCheck` does and checks it against
/// `min..=max`.
pub(crate) fn parse_integer(s: &str, min: i64, max: i64) -> Result<i64, IntegerError> {
    let value = parse_decimal(s)
        .or_else(|| parse_hex_stream(s))
        .ok_or(IntegerError::NotANumber)?;
    if value < min || value > max {
        return Err(IntegerError::OutOfRange);
    }
    Ok(value)
}

/// `boost::lexical_cast<int64_t>`: an optional sign and decimal digits, nothing else.
fn parse_decimal(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // `i64::from_str` accepts exactly this grammar (a leading `+` included) and reports
    // overflow, which lexical_cast also treats as a failure.
    s.parse::<i64>().ok()
}

/// `std::istringstream >> std::hex >> int64_t` followed by an end-of-input check: optional
/// leading white space, an optional sign, an optional `0x`/`0X`, one or more hex digits.
fn parse_hex_stream(s: &str) -> Option<i64> {
    let s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let digits = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))
        .unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, 16).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Kea's `convertToBool`: `true`/`false` (any case) or an `int` equal to 1 or 0.
pub(crate) fn parse_boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        return Some(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Some(false);
    }
    match parse_decimal(s).and_then(|v| i32::try_from(v).ok()) {
        Some(1) => Some(true),
        Some(0) => Some(false),
        _ => None,
    }
}

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// A character that is not a hexadecimal digit.
    NotHexDigit {
        /// The offending character.
        found: char,
    },
    /// An odd number of digits where whole octets are required.
    OddDigitCount,
    /// Two separators in a row (or a separator at either end).
    EmptyGroup,
    /// More than two digits between two separators.
    GroupTooLong {
        /// The offending group.
        group: String,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHexDigit { found } => write!(f, "{found:?} is not a hexadecimal digit"),
            Self::OddDigitCount => f.write_str("odd number of hexadecimal digits"),
            Self::EmptyGroup => f.write_str("two consecutive separators"),
            Self::GroupTooLong { group } => {
                write!(
                    f,
                    "group '{group}' between separators has more than 2 digits"
                )
            }
        }
    }
}

impl std::error::Error for HexError {}

/// `util::encode::decodeHex`: white space is skipped, everything else must be a hex digit,
/// and the digits must make whole octets.
pub(crate) fn decode_base16(s: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(s.len() / 2);
    let mut high: Option<u8> = None;
    for c in s.chars() {
        // C's isspace, which includes vertical tab and form feed.
        if c.is_ascii_whitespace() || c == '\x0b' {
            continue;
        }
        let nibble = hex_value(c).ok_or(HexError::NotHexDigit { found: c })?;
        match high.take() {
            None => high = Some(nibble),
            Some(h) => out.push(h << 4 | nibble),
        }
    }
    if high.is_some() {
        return Err(HexError::OddDigitCount);
    }
    Ok(out)
}

fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The `csv-format: false` decoding of Kea's option data parser: quoted text first, then
/// `decodeFormattedHexString`.
pub(crate) fn decode_hex_or_quoted(data: &str) -> Result<Vec<u8>, HexError> {
    let trimmed = kea_trim(data);
    if trimmed.len() > 1 && trimmed.starts_with('\'') && trimmed.ends_with('\'') {
        let inner = kea_trim(trimmed.get(1..trimmed.len() - 1).unwrap_or_default());
        if !inner.is_empty() {
            return Ok(inner.as_bytes().to_vec());
        }
        // Kea falls through to hex decoding when the quotes hold nothing, which then fails
        // on the quote characters.
    }
    decode_formatted_hex(data)
}

/// `isc::util::str::decodeFormattedHexString`.
fn decode_formatted_hex(s: &str) -> Result<Vec<u8>, HexError> {
    if s.contains(':') {
        return decode_separated_hex(s, ':');
    }
    if s.contains(' ') {
        return decode_separated_hex(s, ' ');
    }
    let body = if s.len() > 2 {
        s.strip_prefix("0x").unwrap_or(s)
    } else {
        s
    };
    // An odd total length gets a leading zero; the parity is that of the whole string, as
    // in Kea (the `0x` prefix has even length, so it does not change it).
    let mut padded = String::with_capacity(body.len() + 1);
    if !s.len().is_multiple_of(2) {
        padded.push('0');
    }
    padded.push_str(body);
    decode_base16(&padded)
}

/// `decodeSeparatedHexString`: groups of one or two digits between single separators.
fn decode_separated_hex(s: &str, sep: char) -> Result<Vec<u8>, HexError> {
    let groups: Vec<&str> = s.split(sep).collect();
    let mut out = Vec::with_capacity(groups.len());
    for group in &groups {
        if group.is_empty() {
            return Err(HexError::EmptyGroup);
        }
        if group.chars().count() > 2 {
            return Err(HexError::GroupTooLong {
                group: (*group).to_owned(),
            });
        }
        let mut value = 0u8;
        for c in group.chars() {
            let nibble = hex_value(c).ok_or(HexError::NotHexDigit { found: c })?;
            value = value << 4 | nibble;
        }
        out.push(value);
    }
    Ok(out)
}

/// Lower-case hex without separators, as Kea prints binary fields.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Why a domain name was refused (the cases of `isc::dns::Name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FqdnError {
    /// Nothing to parse.
    Empty,
    /// `a..b`.
    DuplicatePeriod,
    /// `.example`: an empty label that is not the root.
    NonTerminatingEmptyLabel,
    /// A label longer than 63 octets.
    LabelTooLong,
    /// A name longer than 255 octets in wire form.
    NameTooLong,
    /// `\` followed by a bad decimal escape.
    BadEscape,
    /// `\[`, the obsolete bit-string label.
    BadLabelType,
    /// Ends inside an escape.
    Incomplete,
    /// Wire form: no terminating root label.
    WireIncomplete,
    /// Wire form: a label length with the reserved `01`/`10` top bits.
    WireBadLabelType {
        /// The length octet.
        octet: u8,
    },
    /// Wire form: a compression pointer (Kea follows backward pointers; Nestor refuses them in
    /// configured data, where they have no use).
    WireCompressionPointer,
}

impl fmt::Display for FqdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty name",
            Self::DuplicatePeriod => "duplicate period (empty label)",
            Self::NonTerminatingEmptyLabel => "non terminating empty label",
            Self::LabelTooLong => "label is too long (more than 63 octets)",
            Self::NameTooLong => "name is too long (more than 255 octets)",
            Self::BadEscape => "bad escape (\\DDD must be three digits up to 255)",
            Self::BadLabelType => "invalid label type",
            Self::Incomplete => "incomplete textual name",
            Self::WireIncomplete => "incomplete wire-format name (no root label)",
            Self::WireBadLabelType { .. } => "unknown label type in wire-format name",
            Self::WireCompressionPointer => {
                "compression pointer in wire-format name (not supported in option data)"
            }
        })?;
        if let Self::WireBadLabelType { octet } = self {
            write!(f, " (octet 0x{octet:02x})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FqdnError {}

const MAX_LABEL: usize = 63;
const MAX_WIRE: usize = 255;

/// Text to DNS wire form, as `isc::dns::Name(text)` without down-casing: a name without a
/// trailing dot is still made absolute, `"."` and `"@"` are the root.
pub(crate) fn fqdn_to_wire(text: &str) -> Result<Vec<u8>, FqdnError> {
    fqdn_text_bytes_to_wire(text.as_bytes())
}

/// [`fqdn_to_wire`] for text that need not be UTF-8: Kea builds the name from a
/// `std::string` of whatever octets it was given (option 81's ASCII form), and octets outside
/// `.` and `\` escapes are label octets whatever their value.
pub(crate) fn fqdn_text_bytes_to_wire(bytes: &[u8]) -> Result<Vec<u8>, FqdnError> {
    if bytes.is_empty() {
        return Err(FqdnError::Incomplete);
    }
    if bytes == b"." || bytes == b"@" {
        return Ok(vec![0]);
    }
    if bytes.first() == Some(&b'.') {
        return Err(FqdnError::NonTerminatingEmptyLabel);
    }
    let mut wire = Vec::with_capacity(bytes.len() + 2);
    let mut label: Vec<u8> = Vec::new();
    let mut iter = bytes.iter().copied().peekable();
    let mut terminated = false;
    let mut first = true;
    while let Some(c) = iter.next() {
        match c {
            b'.' => {
                if label.is_empty() {
                    return Err(FqdnError::DuplicatePeriod);
                }
                push_label(&mut wire, &label)?;
                label.clear();
                if iter.peek().is_none() {
                    terminated = true;
                }
            }
            b'\\' => {
                if first && iter.peek() == Some(&b'[') {
                    return Err(FqdnError::BadLabelType);
                }
                let Some(e) = iter.next() else {
                    return Err(FqdnError::Incomplete);
                };
                if e.is_ascii_digit() {
                    let mut value = u32::from(e - b'0');
                    for _ in 0..2 {
                        match iter.next() {
                            Some(d) if d.is_ascii_digit() => {
                                value = value * 10 + u32::from(d - b'0')
                            }
                            Some(_) => return Err(FqdnError::BadEscape),
                            None => return Err(FqdnError::Incomplete),
                        }
                    }
                    let octet = u8::try_from(value).map_err(|_| FqdnError::BadEscape)?;
                    push_octet(&mut label, octet)?;
                } else {
                    push_octet(&mut label, e)?;
                }
            }
            other => push_octet(&mut label, other)?,
        }
        first = false;
        if wire.len() + label.len() + 1 > MAX_WIRE {
            return Err(FqdnError::NameTooLong);
        }
    }
    if !terminated {
        push_label(&mut wire, &label)?;
    }
    wire.push(0);
    if wire.len() > MAX_WIRE {
        return Err(FqdnError::NameTooLong);
    }
    Ok(wire)
}

fn push_octet(label: &mut Vec<u8>, octet: u8) -> Result<(), FqdnError> {
    if label.len() >= MAX_LABEL {
        return Err(FqdnError::LabelTooLong);
    }
    label.push(octet);
    Ok(())
}

fn push_label(wire: &mut Vec<u8>, label: &[u8]) -> Result<(), FqdnError> {
    let len = u8::try_from(label.len()).map_err(|_| FqdnError::LabelTooLong)?;
    wire.push(len);
    wire.extend_from_slice(label);
    Ok(())
}

/// Reads one wire-format name at the start of `buf`; returns its wire length.
pub(crate) fn fqdn_wire_len(buf: &[u8]) -> Result<usize, FqdnError> {
    let mut pos = 0usize;
    loop {
        let Some(&len) = buf.get(pos) else {
            return Err(FqdnError::WireIncomplete);
        };
        match len & 0xc0 {
            0x00 => {}
            0xc0 => return Err(FqdnError::WireCompressionPointer),
            _ => return Err(FqdnError::WireBadLabelType { octet: len }),
        }
        let next = pos + 1 + usize::from(len);
        if next > MAX_WIRE {
            return Err(FqdnError::NameTooLong);
        }
        if len == 0 {
            return Ok(pos + 1);
        }
        if next > buf.len() {
            return Err(FqdnError::WireIncomplete);
        }
        pos = next;
    }
}

/// Wire form to Kea's text (`Name::toText()`): labels with RFC 1035 escapes and a final dot.
/// `wire` must be one complete name (see [`fqdn_wire_len`]); a partial name (no root label, as
/// in option 81) renders without the final dot.
pub(crate) fn fqdn_wire_to_text(wire: &[u8]) -> String {
    let mut text = String::new();
    let mut rest = wire;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            break;
        }
        let (label, after) = tail
            .split_at_checked(usize::from(len))
            .unwrap_or((tail, &[]));
        for &c in label {
            match c {
                b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$' => {
                    text.push('\\');
                    text.push(char::from(c));
                }
                0x21..=0x7e => text.push(char::from(c)),
                _ => text.push_str(&format!("\\{c:03}")),
            }
        }
        rest = after;
        text.push('.');
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_kea() {
        assert_eq!(csv_tokens("8.8.8.8, 8.8.4.4"), ["8.8.8.8", " 8.8.4.4"]);
        assert_eq!(csv_tokens("a,,b"), ["a", "b"]);
        assert_eq!(csv_tokens(",a,"), ["a"]);
        assert_eq!(csv_tokens("a\\,b,c"), ["a,b", "c"]);
        assert_eq!(csv_tokens("a\\\\b"), ["a\\b"]);
        assert_eq!(csv_tokens("a\\nb"), ["a\\nb"]);
        assert_eq!(csv_tokens("a\\"), ["a\\"]);
        assert_eq!(csv_tokens("0, "), ["0", " "]);
        assert!(csv_tokens("").is_empty());
        assert!(csv_tokens(",").is_empty());
    }

    #[test]
    fn trim_is_kea_trim() {
        assert_eq!(kea_trim(" \t a b\n"), "a b");
        assert_eq!(kea_trim("\ra\r"), "\ra\r");
    }

    #[test]
    fn integers_decimal_then_hex() {
        let u8r = (0, 255);
        let p = |s| parse_integer(s, u8r.0, u8r.1);
        assert_eq!(p("0xf0"), Ok(240));
        assert_eq!(p("0XF0"), Ok(240));
        assert_eq!(p("f0"), Ok(240));
        assert_eq!(p("010"), Ok(10));
        assert_eq!(p("+5"), Ok(5));
        assert_eq!(p("255"), Ok(255));
        assert_eq!(p("256"), Err(IntegerError::OutOfRange));
        assert_eq!(p("1e2"), Err(IntegerError::OutOfRange)); // 0x1e2
        assert_eq!(p("-0x1"), Err(IntegerError::OutOfRange));
        assert_eq!(p("5x"), Err(IntegerError::NotANumber));
        assert_eq!(p("0x"), Err(IntegerError::NotANumber));
        assert_eq!(p(""), Err(IntegerError::NotANumber));
        assert_eq!(p("-"), Err(IntegerError::NotANumber));
        assert_eq!(
            parse_integer("99999999999999999999", 0, 1),
            Err(IntegerError::NotANumber)
        );
        assert_eq!(parse_integer("-0x10", -100, 100), Ok(-16));
        assert_eq!(parse_integer("-128", -128, 127), Ok(-128));
        assert_eq!(
            parse_integer("-129", -128, 127),
            Err(IntegerError::OutOfRange)
        );
    }

    #[test]
    fn booleans() {
        for (s, v) in [
            ("true", true),
            ("TRUE", true),
            ("False", false),
            ("1", true),
            ("0", false),
            ("01", true),
            ("+0", false),
        ] {
            assert_eq!(parse_boolean(s), Some(v), "{s}");
        }
        for s in ["2", "yes", "", "0x1", "-1"] {
            assert_eq!(parse_boolean(s), None, "{s}");
        }
    }

    #[test]
    fn hex_forms() {
        assert_eq!(decode_hex_or_quoted("0A:0B"), Ok(vec![10, 11]));
        assert_eq!(decode_hex_or_quoted("0a 0b"), Ok(vec![10, 11]));
        assert_eq!(decode_hex_or_quoted("0x0a0b"), Ok(vec![10, 11]));
        assert_eq!(decode_hex_or_quoted("0a0b"), Ok(vec![10, 11]));
        assert_eq!(decode_hex_or_quoted("a:b:c"), Ok(vec![10, 11, 12]));
        assert_eq!(decode_hex_or_quoted("f"), Ok(vec![15]));
        assert_eq!(decode_hex_or_quoted("0xabc"), Ok(vec![0x0a, 0xbc]));
        assert_eq!(decode_hex_or_quoted("0x0"), Ok(vec![0]));
        assert_eq!(decode_hex_or_quoted(""), Ok(vec![]));
        assert_eq!(decode_hex_or_quoted("'abc'"), Ok(b"abc".to_vec()));
        assert_eq!(decode_hex_or_quoted("' a '"), Ok(b"a".to_vec()));
        assert!(decode_hex_or_quoted("''").is_err());
        assert_eq!(decode_hex_or_quoted("a::b"), Err(HexError::EmptyGroup));
        assert_eq!(decode_hex_or_quoted(" 61 62 "), Err(HexError::EmptyGroup));
        assert_eq!(
            decode_hex_or_quoted("123:4"),
            Err(HexError::GroupTooLong {
                group: "123".into()
            })
        );
        assert_eq!(
            decode_hex_or_quoted("0Xab"),
            Err(HexError::NotHexDigit { found: 'X' })
        );
        assert_eq!(
            decode_hex_or_quoted("zz"),
            Err(HexError::NotHexDigit { found: 'z' })
        );
    }

    #[test]
    fn base16_is_strict() {
        assert_eq!(decode_base16("0a0B"), Ok(vec![10, 11]));
        assert_eq!(decode_base16("0A 0B"), Ok(vec![10, 11]));
        assert_eq!(decode_base16(""), Ok(vec![]));
        assert_eq!(decode_base16("0a0"), Err(HexError::OddDigitCount));
        assert_eq!(
            decode_base16("0a:0b"),
            Err(HexError::NotHexDigit { found: ':' })
        );
        assert_eq!(
            decode_base16("0x0a"),
            Err(HexError::NotHexDigit { found: 'x' })
        );
    }

    #[test]
    fn fqdn_text_to_wire() {
        let example = b"\x07example\x03com\x00".to_vec();
        assert_eq!(fqdn_to_wire("example.com"), Ok(example.clone()));
        assert_eq!(fqdn_to_wire("example.com."), Ok(example));
        assert_eq!(fqdn_to_wire("."), Ok(vec![0]));
        assert_eq!(fqdn_to_wire("a\\.b"), Ok(b"\x03a.b\x00".to_vec()));
        assert_eq!(fqdn_to_wire("a\\065"), Ok(b"\x02aA\x00".to_vec()));
        assert_eq!(fqdn_to_wire("a b.com"), Ok(b"\x03a b\x03com\x00".to_vec()));
        assert_eq!(fqdn_to_wire("a..b"), Err(FqdnError::DuplicatePeriod));
        assert_eq!(
            fqdn_to_wire(".example"),
            Err(FqdnError::NonTerminatingEmptyLabel)
        );
        assert_eq!(fqdn_to_wire(""), Err(FqdnError::Incomplete));
        assert_eq!(fqdn_to_wire("a\\256"), Err(FqdnError::BadEscape));
        assert_eq!(fqdn_to_wire("a\\"), Err(FqdnError::Incomplete));
        let l63 = "a".repeat(63);
        assert!(fqdn_to_wire(&format!("{l63}.com")).is_ok());
        assert_eq!(
            fqdn_to_wire(&format!("a{l63}.com")),
            Err(FqdnError::LabelTooLong)
        );
        // 4 labels of 63 = 256 octets with lengths, plus the root: too long.
        let long = [l63.as_str(); 4].join(".");
        assert_eq!(fqdn_to_wire(&long), Err(FqdnError::NameTooLong));
        let ok = [l63.as_str(), l63.as_str(), l63.as_str(), &"a".repeat(61)].join(".");
        assert_eq!(fqdn_to_wire(&ok).map(|w| w.len()), Ok(255));
    }

    #[test]
    fn fqdn_wire_round_trip() {
        let wire = fqdn_to_wire("Ex\\.ample.com").unwrap_or_default();
        assert_eq!(fqdn_wire_len(&wire), Ok(wire.len()));
        assert_eq!(fqdn_wire_to_text(&wire), "Ex\\.ample.com.");
        assert_eq!(fqdn_wire_to_text(&[0]), ".");
        assert_eq!(fqdn_wire_to_text(b"\x01\x07\x00"), "\\007.");
        assert_eq!(fqdn_wire_len(b"\x03abc"), Err(FqdnError::WireIncomplete));
        assert_eq!(
            fqdn_wire_len(b"\xc0\x00"),
            Err(FqdnError::WireCompressionPointer)
        );
        assert_eq!(
            fqdn_wire_len(b"\x41a"),
            Err(FqdnError::WireBadLabelType { octet: 0x41 })
        );
    }
}
