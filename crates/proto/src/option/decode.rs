//! Option payloads back to Kea's configuration text.
//!
//! [`decode_option_value`] renders a payload as the `data` string of an `option-data` entry
//! that would produce it again: CSV values (`"8.8.8.8, 8.8.4.4"`) when the option has a
//! definition and every value can be written in CSV form, hex (`csv-format: false`) otherwise.
//! Each CSV rendering is checked by encoding it again, so the result always round-trips.

use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::def::OptionDefs;
use super::encode::{OptionDataSpec, WireError, encode_option_data};
use super::text::{fqdn_wire_len, fqdn_wire_to_text, to_hex};
use super::types::OptionDataType;
use super::wire::normalize;

/// An option payload in configuration form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedOption {
    /// The definition's name, when there is one.
    pub name: Option<String>,
    /// The `data` string.
    pub data: String,
    /// Whether `data` is CSV (`true`) or hex (`false`).
    pub csv_format: bool,
}

/// Why a payload cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The payload does not parse as its definition says.
    #[error("option {code} of space '{space}' does not match its definition: {source}")]
    Malformed {
        /// The option's space.
        space: String,
        /// The option's code.
        code: u8,
        /// What is wrong.
        source: WireError,
    },
}

/// Renders `payload`, the data of option `code` in `space`, as Kea's configuration text.
pub fn decode_option_value(
    defs: &OptionDefs,
    space: &str,
    code: u8,
    payload: &[u8],
) -> Result<DecodedOption, DecodeError> {
    let Some(def) = defs.by_code(space, code) else {
        return Ok(DecodedOption {
            name: None,
            data: to_hex(payload),
            csv_format: false,
        });
    };
    let normalized =
        normalize(defs, def, payload.to_vec()).map_err(|source| DecodeError::Malformed {
            space: space.to_owned(),
            code,
            source,
        })?;
    let name = Some(def.name.clone());
    // Hex of the normalized bytes: what Kea keeps, and what encodes back to itself.
    let hex = |name: Option<String>| DecodedOption {
        name,
        data: to_hex(&normalized),
        csv_format: false,
    };
    let Some(values) = split_values(def.field_types(), def.array, &normalized) else {
        return Ok(hex(name));
    };
    let data = values.join(", ");
    let spec = OptionDataSpec {
        name: None,
        code: Some(code.into()),
        space,
        data: &data,
        csv_format: true,
    };
    match encode_option_data(defs, &spec) {
        Ok(e) if e.payload == normalized => Ok(DecodedOption {
            name,
            data,
            csv_format: true,
        }),
        _ => Ok(hex(name)),
    }
}

/// Splits a normalized payload into CSV values, `None` when some value has no CSV form.
fn split_values(types: &[OptionDataType], array: bool, mut rest: &[u8]) -> Option<Vec<String>> {
    let mut values = Vec::new();
    let mut index = 0usize;
    loop {
        let ty = match types.get(index) {
            Some(&t) => t,
            None if array => *types.last()?,
            None => break,
        };
        if ty == OptionDataType::Empty {
            break;
        }
        if index >= types.len() && rest.is_empty() {
            break;
        }
        if array && types.len() == 1 && rest.is_empty() {
            break;
        }
        let (value, after) = take_value(ty, rest)?;
        values.push(value);
        rest = after;
        index += 1;
    }
    // Sub-options or other trailing data cannot be written as CSV.
    if !rest.is_empty() {
        return None;
    }
    Some(values)
}

fn take_value(ty: OptionDataType, rest: &[u8]) -> Option<(String, &[u8])> {
    let fixed = |n: usize| rest.split_at_checked(n);
    Some(match ty {
        OptionDataType::Boolean => {
            let (v, after) = fixed(1)?;
            let b = match v.first()? {
                0 => "false",
                1 => "true",
                _ => return None,
            };
            (b.to_owned(), after)
        }
        OptionDataType::Uint8
        | OptionDataType::Int8
        | OptionDataType::Uint16
        | OptionDataType::Int16
        | OptionDataType::Uint32
        | OptionDataType::Int32 => {
            let width = ty.fixed_len()?;
            let (v, after) = fixed(width)?;
            let mut raw = 0u32;
            for b in v {
                raw = raw << 8 | u32::from(*b);
            }
            let text = match ty {
                OptionDataType::Int8 => (raw as u8 as i8).to_string(),
                OptionDataType::Int16 => (raw as u16 as i16).to_string(),
                OptionDataType::Int32 => (raw as i32).to_string(),
                _ => raw.to_string(),
            };
            (text, after)
        }
        OptionDataType::Ipv4Address => {
            let (v, after) = fixed(4)?;
            let octets: [u8; 4] = v.try_into().ok()?;
            (Ipv4Addr::from(octets).to_string(), after)
        }
        OptionDataType::Ipv6Address => {
            let (v, after) = fixed(16)?;
            let octets: [u8; 16] = v.try_into().ok()?;
            (Ipv6Addr::from(octets).to_string(), after)
        }
        OptionDataType::Ipv6Prefix => {
            let (&bits, tail) = rest.split_first()?;
            let (p, after) = tail.split_at_checked(usize::from(bits).div_ceil(8))?;
            let mut octets = [0u8; 16];
            for (o, b) in octets.iter_mut().zip(p) {
                *o = *b;
            }
            (format!("{}/{bits}", Ipv6Addr::from(octets)), after)
        }
        OptionDataType::Psid => {
            let (v, after) = fixed(3)?;
            let bits = *v.first()?;
            let raw = u16::from_be_bytes([*v.get(1)?, *v.get(2)?]);
            let psid = if bits == 0 || bits > 16 {
                0
            } else {
                raw >> (16 - bits)
            };
            (format!("{psid}/{bits}"), after)
        }
        OptionDataType::Binary => (to_hex(rest), &[][..]),
        OptionDataType::String => (csv_text(rest)?, &[][..]),
        OptionDataType::Tuple => {
            let (&len, tail) = rest.split_first()?;
            let (v, after) = tail.split_at_checked(usize::from(len))?;
            (csv_text(v)?, after)
        }
        OptionDataType::Fqdn => {
            let len = fqdn_wire_len(rest).ok()?;
            let (v, after) = rest.split_at_checked(len)?;
            (csv_escape(&fqdn_wire_to_text(v)), after)
        }
        OptionDataType::Empty | OptionDataType::Record => return None,
    })
}

/// Text that survives Kea's CSV split and trim, or `None`.
fn csv_text(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    if s.is_empty() || s.starts_with([' ', '\t', '\n']) || s.ends_with([' ', '\t', '\n']) {
        return None;
    }
    Some(csv_escape(s))
}

fn csv_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(',', "\\,")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// decode -> encode (as `option-data`) -> decode, which must give the same text.
    fn round_trip(space: &str, code: u8, payload: &[u8]) -> (DecodedOption, DecodedOption) {
        let defs = OptionDefs::standard();
        let first = decode_option_value(&defs, space, code, payload)
            .unwrap_or_else(|e| panic!("{payload:02x?} decodes: {e}"));
        let spec = OptionDataSpec {
            name: None,
            code: Some(code.into()),
            space,
            data: &first.data,
            csv_format: first.csv_format,
        };
        let encoded =
            encode_option_data(&defs, &spec).unwrap_or_else(|e| panic!("{first:?} encodes: {e}"));
        let second = decode_option_value(&defs, space, code, &encoded.payload)
            .unwrap_or_else(|e| panic!("{:02x?} decodes again: {e}", encoded.payload));
        (first, second)
    }

    /// Found by `option_proptest`: with the E flag clear the name was read as wire form and
    /// packed as text, so the hex of the packed bytes no longer parsed as a wire name.
    #[test]
    fn client_fqdn_without_e_flag_round_trips() {
        let mut payload = vec![0x70, 0, 0, 0x20];
        payload.extend([0u8; 32]);
        payload.extend([0x01, 0x01]);
        let (first, second) = round_trip("dhcp4", 81, &payload);
        assert_eq!(second, first);
        // The octets are the name's text, as RFC 4702's ASCII form and Kea read them; control
        // octets come back escaped.
        let mut text = vec![0x70, 0, 0];
        text.extend_from_slice(b"\\032");
        text.extend(b"\\000".repeat(32));
        text.extend_from_slice(b"\\001\\001");
        assert_eq!(first.data, to_hex(&text));
        assert!(!first.csv_format);
    }

    #[test]
    fn client_fqdn_round_trips_in_both_forms() {
        for payload in [
            &b"\x00\x00\x00Host.Example."[..],
            b"\x00\x00\x00host",
            b"\x00\x00\x00a\\046",
            b"\x05\x00\x00\x04host\x07example\x00",
            b"\x05\x00\x00\x04host",
        ] {
            let (first, second) = round_trip("dhcp4", 81, payload);
            assert_eq!(second, first, "{payload:02x?}");
        }
        let (full, _) = round_trip("dhcp4", 81, b"\x05\x00\x00\x04host\x07example\x00");
        assert_eq!(full.data, "5, 0, 0, host.example.");
        assert!(full.csv_format);
    }

    /// Found by `option_proptest`: a partial wire name ending with a NUL octet has no packed
    /// form that reads back as itself, so it is refused rather than rendered.
    #[test]
    fn client_fqdn_partial_name_ending_with_nul_is_refused() {
        let defs = OptionDefs::standard();
        assert!(matches!(
            decode_option_value(&defs, "dhcp4", 81, b"\x4c\x00\x00\x02.\x00\x00."),
            Err(DecodeError::Malformed {
                code: 81,
                source: WireError::FqdnPartialNameEndsWithNul,
                ..
            })
        ));
    }
}
