//! Text forms of addresses and client identifiers, decoded with Kea 2.2's rules and refused with
//! its texts (`HWAddr::fromText`, `ClientId::fromText`, `DUID::fromText`, `IOAddress`).
//!
//! `nestor_leases` has decoders with the same acceptance rules; these exist because the lease
//! commands must answer with Kea's exact messages, which name the offending character or length
//! (`'z' is not a valid hexadecimal digit in decoded string 'zz'`).

use std::net::{IpAddr, Ipv4Addr};

use nestor_leases::{ClientId, HwAddr};

/// Kea's `DUID::MAX_DUID_LEN`, the bound of client identifiers too.
const MAX_DUID_LEN: usize = 128;

/// Kea's `IOAddress` constructor: an IPv4 or IPv6 address, or its `IOError` text.
pub(crate) fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("Failed to convert string to address '{text}': Invalid argument"))
}

/// An address that must be IPv4 (`Non-IPv4 ...` / `Invalid IPv4 ...` texts are the caller's).
pub(crate) fn v4(address: IpAddr) -> Option<Ipv4Addr> {
    match address {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

/// Kea's `decodeSeparatedHexString`: one or two hex digits between separators.
fn decode_separated(text: &str, sep: char) -> Result<Vec<u8>, String> {
    let tokens: Vec<&str> = text.split(sep).collect();
    let mut out = Vec::with_capacity(tokens.len());
    for token in &tokens {
        if tokens.len() > 1 && token.is_empty() {
            return Err(format!(
                "two consecutive separators ('{sep}') specified in a decoded string '{text}'"
            ));
        }
        if token.len() > 2 {
            return Err(format!("invalid format of the decoded string '{text}'"));
        }
        if token.is_empty() {
            continue;
        }
        let mut value = 0u8;
        for c in token.chars() {
            let digit = c.to_digit(16).ok_or_else(|| {
                format!("'{c}' is not a valid hexadecimal digit in decoded string '{text}'")
            })?;
            // At most two digits: fits in a byte.
            value = (value << 4) | digit as u8;
        }
        out.push(value);
    }
    Ok(out)
}

/// Kea's `decodeFormattedHexString`: colon- or space-separated octets, or plain hex with an
/// optional `0x` prefix (an odd digit count gets a leading zero).
fn decode_formatted(text: &str) -> Result<Vec<u8>, String> {
    if text.contains(':') {
        return decode_separated(text, ':');
    }
    if text.contains(' ') {
        return decode_separated(text, ' ');
    }
    let invalid = || format!("'{text}' is not a valid string of hexadecimal digits");
    let body = match text.strip_prefix("0x") {
        Some(rest) if text.len() > 2 => rest,
        _ => text,
    };
    let mut digits: Vec<u32> = Vec::with_capacity(body.len() + 1);
    if !text.len().is_multiple_of(2) {
        digits.push(0);
    }
    for c in body.chars() {
        digits.push(c.to_digit(16).ok_or_else(invalid)?);
    }
    if !digits.len().is_multiple_of(2) {
        return Err(invalid());
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| match pair {
            // Two hex digits: fits in a byte.
            [high, low] => (high << 4 | low) as u8,
            _ => 0,
        })
        .collect())
}

/// Kea's `HWAddr::fromText` (Ethernet type).
pub(crate) fn hw_address(text: &str) -> Result<HwAddr, String> {
    let bytes = decode_separated(text, ':')?;
    HwAddr::ether(&bytes).map_err(|_| "address vector size exceeds MAX_HWADDR_LEN".to_owned())
}

/// Kea's `ClientId::fromText`, with the checks of the `DUID` and `ClientId` constructors in
/// their order.
pub(crate) fn client_id(text: &str) -> Result<ClientId, String> {
    let bytes = decode_formatted(text)?;
    check_duid_length(&bytes)?;
    ClientId::new(&bytes).map_err(|_| {
        format!(
            "client-id is too short ({}), at least 2 is required",
            bytes.len()
        )
    })
}

/// Kea's `DUID::fromText`: decoded only to be refused by the v4 commands, but its errors come
/// first, as in Kea.
pub(crate) fn check_duid(text: &str) -> Result<(), String> {
    check_duid_length(&decode_formatted(text)?)
}

fn check_duid_length(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() > MAX_DUID_LEN {
        return Err(format!(
            "DUID size is {} bytes, exceeds maximum of {MAX_DUID_LEN}",
            bytes.len()
        ));
    }
    if bytes.is_empty() {
        return Err("Empty DUIDs are not allowed".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts Kea 2.2 answered for these inputs.
    #[test]
    fn kea_texts() {
        assert_eq!(
            hw_address("zz").unwrap_err(),
            "'z' is not a valid hexadecimal digit in decoded string 'zz'"
        );
        assert_eq!(
            hw_address(&["01"; 21].join(":")).unwrap_err(),
            "address vector size exceeds MAX_HWADDR_LEN"
        );
        assert_eq!(
            hw_address("aa::bb").unwrap_err(),
            "two consecutive separators (':') specified in a decoded string 'aa::bb'"
        );
        assert_eq!(
            hw_address("aab:cc").unwrap_err(),
            "invalid format of the decoded string 'aab:cc'"
        );
        assert!(hw_address("").unwrap().is_empty());
        assert_eq!(hw_address("AA:b").unwrap().to_string(), "aa:0b");
        assert_eq!(
            client_id("zz").unwrap_err(),
            "'zz' is not a valid string of hexadecimal digits"
        );
        assert_eq!(
            client_id("01").unwrap_err(),
            "client-id is too short (1), at least 2 is required"
        );
        assert_eq!(client_id("").unwrap_err(), "Empty DUIDs are not allowed");
        assert_eq!(
            client_id(&"ab".repeat(129)).unwrap_err(),
            "DUID size is 129 bytes, exceeds maximum of 128"
        );
        assert_eq!(client_id("0x10203").unwrap().to_string(), "01:02:03");
        assert_eq!(client_id("01 02").unwrap().to_string(), "01:02");
        assert_eq!(
            parse_ip("bogus").unwrap_err(),
            "Failed to convert string to address 'bogus': Invalid argument"
        );
        assert!(v4(parse_ip("2001:db8::1").unwrap()).is_none());
    }
}
