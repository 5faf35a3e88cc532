//! The check Kea makes on an option's bytes once they are built: `OptionDefinition::optionFactory`
//! hands the buffer to the option class chosen by the definition, which parses it and later
//! packs it again. Whether configured data is accepted, and which bytes go on the wire, depend
//! on that class, so [`normalize`] reproduces each one:
//!
//! | definition | Kea class | accepts | packs |
//! |---|---|---|---|
//! | `dhcp4` 79 | `Option4SlpServiceScope` | ≥ 1 octet, first 0 or 1 | as is |
//! | `dhcp4` 81 | `Option4ClientFqdn` | ≥ 3 octets, not N and S together; the name in wire form (E set) or as text (E clear) | name lower-cased, in the same form |
//! | `dhcp4` 124 | `OptionVendorClass` | enterprise id, tuples, id before each further tuple | as is |
//! | `dhcp4` 125 | `OptionVendor` | enterprise id, data-len blocks of sub-options | id, one data-len, sub-options by code |
//! | fqdn array | `factoryFqdnList` | ≥ 1 complete name | names |
//! | empty | `Option` / `OptionCustom` | anything | nothing / sub-options |
//! | binary | `Option` | anything | as is |
//! | integer | `OptionInt` | ≥ width | the integer (+ sub-options) |
//! | integer array | `OptionIntArray` | non-empty multiple of width | as is |
//! | ipv4/ipv6 array | `Option4AddrLst` / `Option6AddrLst` | multiple of 4 / 16 | as is |
//! | string | `OptionString` | ≥ 1 non-NUL | trailing NULs removed |
//! | tuple array | `OptionOpaqueDataTuples` | complete tuples | as is |
//! | others, records | `OptionCustom` | each field complete | fields; surplus dropped |
//!
//! Sub-options of an encapsulating option are split (a truncated tail is dropped, as Kea's
//! `unpackOptions4` does), checked against their own space's definitions, and packed back in
//! ascending code order (Kea keeps them in a multimap).

use super::def::{OptionDef, OptionDefs};
use super::encode::WireError;
use super::std_defs::DHCP4_SPACE;
use super::text::{FqdnError, fqdn_text_bytes_to_wire, fqdn_wire_len, fqdn_wire_to_text};
use super::types::OptionDataType;

const FQDN_FLAG_S: u8 = 0x01;
const FQDN_FLAG_E: u8 = 0x04;
const FQDN_FLAG_N: u8 = 0x08;

/// Kea's `LibDHCP` vendor definitions for DHCPv4: only DOCSIS (4491).
const DOCSIS_ENTERPRISE_ID: u32 = 4491;

/// Parses `buf` as the option `def` describes and returns the bytes Kea would send.
pub(crate) fn normalize(
    defs: &OptionDefs,
    def: &OptionDef,
    buf: Vec<u8>,
) -> Result<Vec<u8>, WireError> {
    if def.space == DHCP4_SPACE {
        match def.code {
            79 => return slp_service_scope(buf),
            81 => return client_fqdn(&buf),
            124 => return vendor_class(buf),
            125 => return vendor_options(defs, &buf),
            _ => {}
        }
    }
    if def.data_type == OptionDataType::Fqdn && def.array {
        return fqdn_list(&buf);
    }
    let ty = def.data_type;
    match ty {
        OptionDataType::Empty => {
            if def.encapsulate.is_empty() {
                // `factoryEmpty` ignores whatever data it was given.
                Ok(Vec::new())
            } else {
                sub_options(defs, &def.encapsulate, &buf)
            }
        }
        OptionDataType::Binary => Ok(buf),
        t if t.is_integer() => {
            let width = t.fixed_len().unwrap_or(1);
            if def.array {
                if buf.is_empty() {
                    return Err(WireError::EmptyArray);
                }
                if !buf.len().is_multiple_of(width) {
                    return Err(WireError::ArrayLength {
                        len: buf.len(),
                        element: t,
                        width,
                    });
                }
                Ok(buf)
            } else {
                let Some((value, rest)) = buf.split_at_checked(width) else {
                    return Err(WireError::Truncated {
                        field: t,
                        needed: width,
                        available: buf.len(),
                    });
                };
                let mut out = value.to_vec();
                if !def.encapsulate.is_empty() {
                    out.extend(sub_options(defs, &def.encapsulate, rest)?);
                }
                Ok(out)
            }
        }
        OptionDataType::Ipv4Address | OptionDataType::Ipv6Address if def.array => {
            let width = ty.fixed_len().unwrap_or(4);
            if !buf.len().is_multiple_of(width) {
                return Err(WireError::ArrayLength {
                    len: buf.len(),
                    element: ty,
                    width,
                });
            }
            Ok(buf)
        }
        OptionDataType::String => {
            let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            if end == 0 {
                return Err(WireError::EmptyString);
            }
            let mut buf = buf;
            buf.truncate(end);
            Ok(buf)
        }
        OptionDataType::Tuple if def.array => {
            let mut rest = buf.as_slice();
            while !rest.is_empty() {
                let len = tuple_len(rest)?;
                rest = rest.get(len..).unwrap_or_default();
            }
            Ok(buf)
        }
        _ => custom(defs, def, &buf),
    }
}

/// `OptionCustom::createBuffers` followed by `pack`.
fn custom(defs: &OptionDefs, def: &OptionDef, buf: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(buf.len());
    let mut rest = buf;
    if def.data_type == OptionDataType::Record {
        for &field in &def.record_types {
            let size = field_len(def, field, false, rest)?;
            let Some((value, after)) = rest.split_at_checked(size) else {
                return Err(WireError::Truncated {
                    field,
                    needed: size,
                    available: rest.len(),
                });
            };
            out.extend_from_slice(value);
            rest = after;
        }
        if def.array {
            if let Some(&last) = def.record_types.last() {
                take_array(def, last, &mut rest, &mut out)?;
            }
        } else if !rest.is_empty() && !def.encapsulate.is_empty() {
            out.extend(sub_options(defs, &def.encapsulate, rest)?);
        }
    } else if def.data_type != OptionDataType::Empty {
        let ty = def.data_type;
        let fixed = ty.fixed_len().unwrap_or(0);
        if rest.len() < fixed {
            return Err(WireError::Truncated {
                field: ty,
                needed: fixed,
                available: rest.len(),
            });
        }
        if def.array {
            take_array(def, ty, &mut rest, &mut out)?;
        } else {
            let size = field_len(def, ty, false, rest)?;
            match rest.split_at_checked(size) {
                Some((value, after)) if size > 0 => {
                    out.extend_from_slice(value);
                    rest = after;
                }
                _ => {
                    return Err(WireError::Truncated {
                        field: ty,
                        needed: size.max(1),
                        available: rest.len(),
                    });
                }
            }
            if !rest.is_empty() && !def.encapsulate.is_empty() {
                out.extend(sub_options(defs, &def.encapsulate, rest)?);
            }
        }
    } else if !rest.is_empty() && !def.encapsulate.is_empty() {
        out.extend(sub_options(defs, &def.encapsulate, rest)?);
    }
    Ok(out)
}

/// Repeated values of `ty` until the buffer ends; a partial last value is dropped.
fn take_array(
    def: &OptionDef,
    ty: OptionDataType,
    rest: &mut &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    while !rest.is_empty() {
        let size = field_len(def, ty, true, rest)?;
        let Some((value, after)) = rest.split_at_checked(size).filter(|_| size > 0) else {
            break;
        };
        out.extend_from_slice(value);
        *rest = after;
    }
    Ok(())
}

/// `OptionCustom::bufferLength`: how many octets the next value of `ty` takes.
fn field_len(
    def: &OptionDef,
    ty: OptionDataType,
    in_array: bool,
    rest: &[u8],
) -> Result<usize, WireError> {
    if let Some(n) = ty.fixed_len() {
        return Ok(n);
    }
    match ty {
        OptionDataType::Fqdn => {
            if rest.is_empty() {
                return Err(WireError::Fqdn(FqdnError::Empty));
            }
            let wire = fqdn_wire_len(rest).map_err(WireError::Fqdn)?;
            // Kea sizes the field from the name's *text* (`toText().size() + 1`), which equals
            // the wire size except for the root name ("." is 2, its wire form 1) and names
            // with escaped characters. Reproduce it: it decides acceptance (`"."` is refused
            // for a single-fqdn option).
            let text = fqdn_wire_to_text(rest.get(..wire).unwrap_or_default());
            Ok(text.len() + 1)
        }
        OptionDataType::Binary | OptionDataType::String if !def.array => Ok(rest.len()),
        OptionDataType::Ipv6Prefix => {
            let Some(&bits) = rest.first() else {
                return if in_array {
                    Err(WireError::Truncated {
                        field: ty,
                        needed: 1,
                        available: 0,
                    })
                } else {
                    Ok(0)
                };
            };
            let size = 1 + usize::from(bits).div_ceil(8);
            if rest.len() < size {
                return Err(WireError::Truncated {
                    field: ty,
                    needed: size,
                    available: rest.len(),
                });
            }
            Ok(size)
        }
        OptionDataType::Tuple => tuple_len(rest),
        _ => Err(WireError::Truncated {
            field: ty,
            needed: 1,
            available: rest.len(),
        }),
    }
}

/// Total size of the DHCPv4 tuple (one length octet) at the start of `rest`.
fn tuple_len(rest: &[u8]) -> Result<usize, WireError> {
    let Some(&len) = rest.first() else {
        return Err(WireError::Truncated {
            field: OptionDataType::Tuple,
            needed: 1,
            available: 0,
        });
    };
    let size = 1 + usize::from(len);
    if rest.len() < size {
        return Err(WireError::Truncated {
            field: OptionDataType::Tuple,
            needed: size,
            available: rest.len(),
        });
    }
    Ok(size)
}

/// Splits sub-options of `space` (code, length, data), checks each against its definition,
/// and packs them back in ascending code order. A truncated tail is dropped, as Kea's
/// `unpackOptions4` does.
fn sub_options(defs: &OptionDefs, space: &str, buf: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut subs: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut rest = buf;
    while let Some((&code, after)) = rest.split_first() {
        let Some((&len, after)) = after.split_first() else {
            break;
        };
        let Some((data, after)) = after.split_at_checked(usize::from(len)) else {
            break;
        };
        rest = after;
        let data = match defs.by_code(space, code) {
            Some(def) => normalize(defs, def, data.to_vec()).map_err(|e| WireError::SubOption {
                space: space.to_owned(),
                code,
                source: Box::new(e),
            })?,
            None => data.to_vec(),
        };
        subs.push((code, data));
    }
    subs.sort_by_key(|(code, _)| *code);
    let mut out = Vec::with_capacity(buf.len());
    for (code, data) in subs {
        push_tlv(&mut out, code, &data, space)?;
    }
    Ok(out)
}

fn push_tlv(out: &mut Vec<u8>, code: u8, data: &[u8], space: &str) -> Result<(), WireError> {
    let len = u8::try_from(data.len()).map_err(|_| WireError::SubOptionTooLong {
        space: space.to_owned(),
        code,
        len: data.len(),
    })?;
    out.push(code);
    out.push(len);
    out.extend_from_slice(data);
    Ok(())
}

fn fqdn_list(buf: &[u8]) -> Result<Vec<u8>, WireError> {
    if buf.is_empty() {
        return Err(WireError::EmptyFqdnList);
    }
    let mut rest = buf;
    while !rest.is_empty() {
        let len = fqdn_wire_len(rest).map_err(WireError::Fqdn)?;
        rest = rest.get(len..).unwrap_or_default();
    }
    Ok(buf.to_vec())
}

fn slp_service_scope(buf: Vec<u8>) -> Result<Vec<u8>, WireError> {
    match buf.first() {
        None => Err(WireError::Truncated {
            field: OptionDataType::Boolean,
            needed: 1,
            available: 0,
        }),
        Some(0 | 1) => Ok(buf),
        Some(&octet) => Err(WireError::BadBoolean { octet }),
    }
}

/// RFC 4702 client FQDN: flags, RCODE1, RCODE2, domain name: wire form when E is set, the
/// deprecated ASCII form (RFC 4702 section 2.3.1) when it is clear.
///
/// The result must read back as itself (decoded payloads are rendered as hex of these bytes
/// and encoded again), so each branch parses the name in the form it packs it.
fn client_fqdn(buf: &[u8]) -> Result<Vec<u8>, WireError> {
    let Some((fixed, name)) = buf.split_at_checked(3) else {
        return Err(WireError::Truncated {
            field: OptionDataType::Record,
            needed: 3,
            available: buf.len(),
        });
    };
    let flags = fixed.first().copied().unwrap_or(0);
    if flags & (FQDN_FLAG_N | FQDN_FLAG_S) == FQDN_FLAG_N | FQDN_FLAG_S {
        return Err(WireError::FqdnFlagsNAndS { flags });
    }
    let mut out = fixed.to_vec();
    if name.is_empty() {
        return Ok(out);
    }
    if flags & FQDN_FLAG_E != 0 {
        out.extend(client_fqdn_wire_name(name)?);
    } else {
        out.extend(client_fqdn_ascii_name(name)?);
    }
    Ok(out)
}

/// `parseCanonicalDomainName` then `packDomainName`: a name that lacks the root label is a
/// partial name and is packed back without one; names are lower-cased. Deviation: a partial
/// name whose last octet is NUL is refused (Kea sends it, and it reads back as another name).
fn client_fqdn_wire_name(name: &[u8]) -> Result<Vec<u8>, WireError> {
    let partial = name.last() != Some(&0);
    let mut full = name.to_vec();
    if partial {
        full.push(0);
    }
    let len = fqdn_wire_len(&full).map_err(WireError::Fqdn)?;
    // Length octets are below 64, so only label octets change case.
    let mut wire = full.get(..len).unwrap_or_default().to_ascii_lowercase();
    if partial {
        wire.pop();
        // The packed name must not look terminated, or it is read back as another name.
        if wire.last() == Some(&0) {
            return Err(WireError::FqdnPartialNameEndsWithNul);
        }
    }
    Ok(wire)
}

/// `parseASCIIDomainName` then `packDomainName`: the octets are the name's text (Kea's
/// `Name(text)` syntax, escapes included), partial unless the text ends with a dot; the name is
/// lower-cased and packed as its canonical text (`Name::toText`), without the final dot when
/// partial.
///
/// One deviation: Kea renders a partial name whose last label ends with a `.` octet as text
/// ending in `\.`, which reads back as a *full* name. Nestor writes that octet as `\046`, so
/// the text keeps meaning the name it was given.
fn client_fqdn_ascii_name(name: &[u8]) -> Result<Vec<u8>, WireError> {
    let wire = fqdn_text_bytes_to_wire(name)
        .map_err(WireError::Fqdn)?
        .to_ascii_lowercase();
    let text = fqdn_wire_to_text(&wire);
    let partial = name.last() != Some(&b'.');
    let text = match text.strip_suffix('.') {
        // The root name is "." however it was written ("@" included).
        Some(labels) if partial && !labels.is_empty() => match labels.strip_suffix("\\.") {
            Some(head) => format!("{head}\\046"),
            None => labels.to_owned(),
        },
        _ => text,
    };
    Ok(text.into_bytes())
}

/// Nestor's reading of option 81 given as CSV with the E flag clear.
///
/// Kea 2.2 writes the CSV name in wire form and then parses those octets as the ASCII form,
/// so it sends the escaped wire octets (`\007example\003com\000` for `example.com`).
/// Nestor sends the configured name's text instead (`example.com.`), which is what a client
/// reading the ASCII form expects. `raw` is the record as the CSV values wrote it: flags, two
/// RCODEs and, if given, one complete wire-format name.
pub(crate) fn client_fqdn_csv_name_as_text(raw: Vec<u8>) -> Vec<u8> {
    let flags = raw.first().copied().unwrap_or(0);
    match raw.split_at_checked(3) {
        Some((fixed, name)) if flags & FQDN_FLAG_E == 0 && !name.is_empty() => {
            let mut out = fixed.to_vec();
            out.extend_from_slice(fqdn_wire_to_text(name).as_bytes());
            out
        }
        _ => raw,
    }
}

/// RFC 3925 V-I vendor class as Kea 2.2 lays it out: enterprise id, tuple, and for each
/// further tuple its own enterprise id first.
fn vendor_class(buf: Vec<u8>) -> Result<Vec<u8>, WireError> {
    let Some(tuples) = buf.get(4..) else {
        return Err(WireError::Truncated {
            field: OptionDataType::Uint32,
            needed: 4,
            available: buf.len(),
        });
    };
    let mut offset = 0usize;
    while offset < tuples.len() {
        offset += tuple_len(tuples.get(offset..).unwrap_or_default())?;
        if offset != tuples.len() {
            offset += 4;
            // Kea wants room for the enterprise id and more than an empty tuple here.
            if offset + 1 >= tuples.len() {
                return Err(WireError::VendorClassTruncated);
            }
        }
    }
    Ok(buf)
}

/// RFC 3925 V-I vendor-specific information: enterprise id, then blocks of `data-len` and
/// sub-options. Kea packs one block, sub-options in code order, checked against the vendor's
/// definitions (DOCSIS for 4491).
fn vendor_options(defs: &OptionDefs, buf: &[u8]) -> Result<Vec<u8>, WireError> {
    let Some((id, mut rest)) = buf.split_at_checked(4) else {
        return Err(WireError::Truncated {
            field: OptionDataType::Uint32,
            needed: 4,
            available: buf.len(),
        });
    };
    let enterprise = u32::from_be_bytes([
        id.first().copied().unwrap_or(0),
        id.get(1).copied().unwrap_or(0),
        id.get(2).copied().unwrap_or(0),
        id.get(3).copied().unwrap_or(0),
    ]);
    let vendor_space =
        (enterprise == DOCSIS_ENTERPRISE_ID).then_some(super::std_defs::DOCSIS3_V4_SPACE);
    let mut subs: Vec<(u8, Vec<u8>)> = Vec::new();
    while let Some((&data_len, after)) = rest.split_first() {
        let Some((mut block, after)) = after.split_at_checked(usize::from(data_len)) else {
            return Err(WireError::VendorOptionsTruncated);
        };
        rest = after;
        while let Some((&code, after)) = block.split_first() {
            let Some((&len, after)) = after.split_first() else {
                return Err(WireError::VendorOptionsTruncated);
            };
            let Some((data, after)) = after.split_at_checked(usize::from(len)) else {
                return Err(WireError::VendorOptionsTruncated);
            };
            block = after;
            let data = match vendor_space.and_then(|s| defs.by_code(s, code)) {
                Some(def) => {
                    normalize(defs, def, data.to_vec()).map_err(|e| WireError::SubOption {
                        space: def.space.clone(),
                        code,
                        source: Box::new(e),
                    })?
                }
                None => data.to_vec(),
            };
            subs.push((code, data));
        }
    }
    subs.sort_by_key(|(code, _)| *code);
    let mut packed = Vec::new();
    for (code, data) in subs {
        push_tlv(&mut packed, code, &data, "vivso-suboptions")?;
    }
    let data_len = u8::try_from(packed.len()).map_err(|_| WireError::SubOptionTooLong {
        space: "vivso-suboptions".into(),
        code: 125,
        len: packed.len(),
    })?;
    let mut out = id.to_vec();
    out.push(data_len);
    out.extend(packed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_def(name: &str) -> OptionDef {
        OptionDefs::standard()
            .by_name(DHCP4_SPACE, name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is standard"))
    }

    #[test]
    fn single_fqdn_is_sized_by_its_text_as_in_kea() {
        let defs = OptionDefs::standard();
        let lost = std_def("v4-lost");
        assert_eq!(
            normalize(&defs, &lost, b"\x01a\x00".to_vec()),
            Ok(b"\x01a\x00".to_vec())
        );
        // "." has a one-octet wire form but a one-character text: Kea wants two octets.
        assert!(matches!(
            normalize(&defs, &lost, vec![0]),
            Err(WireError::Truncated {
                field: OptionDataType::Fqdn,
                needed: 2,
                available: 1
            })
        ));
        // Surplus octets after the name are dropped.
        assert_eq!(
            normalize(&defs, &lost, b"\x01a\x00\x07".to_vec()),
            Ok(b"\x01a\x00".to_vec())
        );
    }

    #[test]
    fn record_arrays_drop_a_partial_last_element() {
        let defs = OptionDefs::standard();
        let sda = std_def("slp-directory-agent");
        assert_eq!(
            normalize(&defs, &sda, vec![1, 1, 2, 3, 4, 5, 6]),
            Ok(vec![1, 1, 2, 3, 4])
        );
    }

    #[test]
    fn sub_options_are_sorted_and_truncated_tails_dropped() {
        let defs = OptionDefs::standard();
        let vendor = std_def("vendor-encapsulated-options");
        assert_eq!(
            normalize(&defs, &vendor, vec![9, 0, 3, 1, 7, 2]),
            Ok(vec![3, 1, 7, 9, 0])
        );
        assert_eq!(normalize(&defs, &vendor, vec![4]), Ok(vec![]));
    }

    #[test]
    fn vendor_class_tuples_need_enterprise_ids_between_them() {
        let defs = OptionDefs::standard();
        let vivco = std_def("vivco-suboptions");
        let one = vec![0, 0, 0, 9, 2, b'a', b'b'];
        assert_eq!(normalize(&defs, &vivco, one.clone()), Ok(one));
        let two = vec![0, 0, 0, 9, 1, b'a', 0, 0, 0, 9, 1, b'b'];
        assert_eq!(normalize(&defs, &vivco, two.clone()), Ok(two));
        let bare = vec![0, 0, 0, 9, 1, b'a', 1, b'b'];
        assert_eq!(
            normalize(&defs, &vivco, bare),
            Err(WireError::VendorClassTruncated)
        );
    }

    #[test]
    fn client_fqdn_is_lower_cased_and_keeps_partial_names() {
        let defs = OptionDefs::standard();
        let fqdn = std_def("fqdn");
        assert_eq!(
            normalize(&defs, &fqdn, b"\x05\x00\x00\x01A\x00".to_vec()),
            Ok(b"\x05\x00\x00\x01a\x00".to_vec())
        );
        assert_eq!(
            normalize(&defs, &fqdn, b"\x05\x00\x00\x01A".to_vec()),
            Ok(b"\x05\x00\x00\x01a".to_vec())
        );
        assert_eq!(
            normalize(&defs, &fqdn, vec![0x09, 0, 0]),
            Err(WireError::FqdnFlagsNAndS { flags: 0x09 })
        );
        // Found by `option_proptest`: packed without its root, this partial name would end
        // with 0 and read back as the (incomplete) full name "\x02\x2e\x00".
        assert_eq!(
            normalize(&defs, &fqdn, b"\x4c\x00\x00\x02.\x00\x00.".to_vec()),
            Err(WireError::FqdnPartialNameEndsWithNul)
        );
    }

    #[test]
    fn client_fqdn_without_e_reads_and_packs_the_name_as_text() {
        let defs = OptionDefs::standard();
        let fqdn = std_def("fqdn");
        let norm = |payload: &[u8]| normalize(&defs, &fqdn, payload.to_vec());
        // As Kea: the octets are text, lower-cased, partial unless they end with a dot.
        assert_eq!(norm(b"\x00\x00\x00Host"), Ok(b"\x00\x00\x00host".to_vec()));
        assert_eq!(
            norm(b"\x01\x00\x00Host.Example."),
            Ok(b"\x01\x00\x00host.example.".to_vec())
        );
        assert_eq!(norm(b"\x00\x00\x00a\\065"), Ok(b"\x00\x00\x00aa".to_vec()));
        assert_eq!(
            norm(b"\x00\x00\x00a b"),
            Ok(b"\x00\x00\x00a\\032b".to_vec())
        );
        assert_eq!(norm(b"\x00\x00\x00@"), Ok(b"\x00\x00\x00.".to_vec()));
        assert_eq!(
            norm(b"\x00\x00\x00a..b"),
            Err(WireError::Fqdn(FqdnError::DuplicatePeriod))
        );
        // A wire-form name is text with control octets, escaped as Kea escapes them.
        assert_eq!(
            norm(b"\x00\x00\x00\x01a\x00"),
            Ok(b"\x00\x00\x00\\001a\\000".to_vec())
        );
        // A partial name ending in a '.' octet stays partial (Kea's "\." would read as full).
        assert_eq!(
            norm(b"\x00\x00\x00a\\046"),
            Ok(b"\x00\x00\x00a\\046".to_vec())
        );
        assert_eq!(norm(b"\x00\x00\x00a\\."), Ok(b"\x00\x00\x00a\\..".to_vec()));
    }

    #[test]
    fn client_fqdn_packing_reads_back_as_itself() {
        let defs = OptionDefs::standard();
        let fqdn = std_def("fqdn");
        let payloads: [&[u8]; 9] = [
            b"\x00\x00\x00Host",
            b"\x00\x00\x00a\\046",
            b"\x00\x00\x00a\\.",
            b"\x00\x00\x00\x01a\x00",
            b"\x00\x00\x00@",
            b"\x00\x00\x00\xff.",
            b"\x05\x00\x00\x01A",
            b"\x05\x00\x00\x01A\x00\x07",
            b"\x05\x00\x00\x00\x05",
        ];
        for payload in payloads {
            let once = normalize(&defs, &fqdn, payload.to_vec());
            let twice = once.clone().and_then(|p| normalize(&defs, &fqdn, p));
            assert!(once.is_ok(), "{payload:02x?} -> {once:?}");
            assert_eq!(twice, once, "{payload:02x?}");
        }
    }

    #[test]
    fn client_fqdn_csv_name_is_sent_as_text_when_e_is_clear() {
        let wire = b"\x00\x00\x00\x04Host\x07example\x00".to_vec();
        assert_eq!(
            client_fqdn_csv_name_as_text(wire),
            b"\x00\x00\x00Host.example.".to_vec()
        );
        let with_e = b"\x04\x00\x00\x01a\x00".to_vec();
        assert_eq!(client_fqdn_csv_name_as_text(with_e.clone()), with_e);
        assert_eq!(client_fqdn_csv_name_as_text(vec![0, 0, 0]), vec![0, 0, 0]);
    }
}
