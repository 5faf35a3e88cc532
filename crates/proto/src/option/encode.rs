//! Turning one configured `option-data` entry into the option's wire payload, with Kea 2.2's
//! rules (`OptionDataParser::createOption`, `OptionDefinition::optionFactory` and
//! `writeToBuffer`).
//!
//! The steps, in Kea's order:
//!
//! 1. the entry names the option by `name` or `code` (or both, which must agree); `space`
//!    defaults to `dhcp4`;
//! 2. the definition is looked up by code when there is one, else by name;
//! 3. with no definition the data must be hex (`csv-format: false`), and only a code can
//!    identify the option; Kea's parser gives `csv-format` the default `true` before this runs,
//!    so an entry without `csv-format` and without a definition is refused;
//! 4. CSV data is split on commas ([`super::text`]); a plain option takes the first value (Kea
//!    ignores the others), an array takes every value, a record one value per field and, if
//!    it is an array, more values of its last field; each value is written per its type;
//! 5. the bytes (from CSV or hex) are then parsed by the option's class and packed again
//!    ([`super::wire`]), which refuses some payloads and normalises others. One deviation:
//!    option 81 given as CSV with the E flag clear. Kea 2.2 writes the name in wire form and
//!    then reads those octets as the ASCII form, sending the escaped wire octets; Nestor sends
//!    the name's text. Hex data is read as Kea reads it (the name's text when E is clear);
//! 6. codes 0 (PAD) and 255 (END) are refused in `dhcp4`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use thiserror::Error;

use super::def::{OptionDef, OptionDefs, valid_space_name};
use super::std_defs::DHCP4_SPACE;
use super::text::{
    FqdnError, HexError, IntegerError, csv_tokens, decode_base16, decode_hex_or_quoted,
    fqdn_to_wire, kea_trim, parse_boolean, parse_integer,
};
use super::types::OptionDataType;
use super::wire::{client_fqdn_csv_name_as_text, normalize};

/// `dhcp4` option 81, Client FQDN (RFC 4702).
const CLIENT_FQDN_CODE: u8 = 81;

/// One `option-data` entry, as the configuration gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDataSpec<'a> {
    /// `name`, if given.
    pub name: Option<&'a str>,
    /// `code`, if given (checked against 255 here).
    pub code: Option<u32>,
    /// `space` (`"dhcp4"` when absent).
    pub space: &'a str,
    /// `data` (`""` when absent).
    pub data: &'a str,
    /// `csv-format` (`true` when absent, as Kea's defaults make it).
    pub csv_format: bool,
}

/// A configured option, ready to be put in a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedOption {
    /// Option code.
    pub code: u8,
    /// Space the option belongs to (`dhcp4` for top-level options; a sub-option's space
    /// otherwise, to be carried inside the option that encapsulates that space).
    pub space: String,
    /// The definition's name, when there is a definition.
    pub name: Option<String>,
    /// Option payload (no code or length octets; may exceed 255 octets, RFC 3396 splitting is
    /// the encoder's job).
    pub payload: Vec<u8>,
}

/// Why an `option-data` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OptionDataError {
    /// Neither `name` nor `code`.
    #[error(
        "option data configuration requires one of 'code' or 'name' parameters to be specified"
    )]
    MissingNameAndCode,
    /// `code` above 255.
    #[error("invalid option code '{code}', it must not be greater than '255'")]
    CodeTooLarge {
        /// The configured code.
        code: u32,
    },
    /// `name` with a space in it.
    #[error("invalid option name '{name}', space character is not allowed")]
    InvalidName {
        /// The configured name.
        name: String,
    },
    /// `space` is not a valid option space name.
    #[error(
        "invalid option space name '{space}': only letters, digits, '-' and '_' are allowed, \
         and it must not start or end with '-' or '_'"
    )]
    InvalidSpace {
        /// The configured space.
        space: String,
    },
    /// `space` is `dhcp6`.
    #[error("'dhcp6' option space name is reserved for DHCPv6 server")]
    Dhcp6Space,
    /// No definition for the option and CSV data (or a name alone).
    #[error("{}", no_definition_message(space, name.as_deref(), *code, *csv_format))]
    NoDefinition {
        /// Space looked in.
        space: String,
        /// Name, if given.
        name: Option<String>,
        /// Code, if given.
        code: Option<u8>,
        /// Whether the data was CSV (true) or hex.
        csv_format: bool,
    },
    /// `name` and `code` given, but the code's definition has another name.
    #[error(
        "specified option name '{name}' does not match the option definition: '{space}.{def_name}' \
         (code {code})"
    )]
    NameMismatch {
        /// The configured name.
        name: String,
        /// Space looked in.
        space: String,
        /// The configured code.
        code: u8,
        /// Name of the definition for that code.
        def_name: String,
    },
    /// `csv-format: false` and `data` is neither hex nor quoted text.
    #[error("option data is not a valid string of hexadecimal digits: '{data}': {reason}")]
    InvalidHex {
        /// The configured data.
        data: String,
        /// What is wrong with it.
        reason: HexError,
    },
    /// The data does not fit the option's definition.
    #[error(
        "option data does not match option definition (space: {space}, code: {code}, name: \
         {name}, type: {layout}): {source}"
    )]
    DefinitionMismatch {
        /// The definition's space.
        space: String,
        /// The definition's code.
        code: u8,
        /// The definition's name.
        name: String,
        /// The definition's layout, as in `option-def` (`uint8`, `ipv4-address array`,
        /// `record(uint8, fqdn)`).
        layout: String,
        /// What is wrong.
        source: Box<ValueError>,
    },
    /// Code 0 or 255 in `dhcp4`.
    #[error(
        "invalid option code '{code}': reserved for {}",
        if *code == 0 { "PAD" } else { "END" }
    )]
    ReservedCode {
        /// 0 or 255.
        code: u8,
    },
}

fn no_definition_message(space: &str, name: Option<&str>, code: Option<u8>, csv: bool) -> String {
    let what = match (name, code) {
        (Some(n), Some(c)) => format!("'{space}.{n}' (code {c})"),
        (Some(n), None) => format!("'{space}.{n}'"),
        (None, Some(c)) => format!("with code {c} in space '{space}'"),
        (None, None) => format!("in space '{space}'"),
    };
    let hint = if code.is_none() {
        "; an option without a definition must be given by 'code', with 'csv-format': false and hex data"
    } else if csv {
        "; data for an option without a definition must be hex with 'csv-format': false, or add an 'option-def'"
    } else {
        ""
    };
    format!("definition for the option {what} does not exist{hint}")
}

/// Where in the CSV data a bad value stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValuePosition {
    /// The only value of a single-valued option.
    Single,
    /// 0-based index of an array element.
    Element(usize),
    /// 0-based index of a record field (for a record array, indexes past the last field are
    /// further values of the last field).
    Field(usize),
}

impl fmt::Display for ValuePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single => f.write_str("value"),
            Self::Element(i) => write!(f, "array element [{i}]"),
            Self::Field(i) => write!(f, "record field [{i}]"),
        }
    }
}

/// What is wrong with an option's data, for [`OptionDataError::DefinitionMismatch`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// CSV data with no value for a single-valued option.
    #[error("no option value specified")]
    NoValue,
    /// Fewer CSV values than record fields.
    #[error("the record has {expected} fields ({types}) but the data gives only {given}")]
    MissingFields {
        /// Number of fields.
        expected: usize,
        /// Number of values.
        given: usize,
        /// The field types, comma separated.
        types: String,
    },
    /// Data given for an `empty` option.
    #[error("an option of type 'empty' takes no data, got '{value}'")]
    DataForEmpty {
        /// The first value given.
        value: String,
    },
    /// One CSV value does not parse as its type.
    #[error("{position} '{value}' is not a valid {expected}: {reason}")]
    Field {
        /// Which value.
        position: ValuePosition,
        /// The value, trimmed.
        value: String,
        /// The type it should have.
        expected: OptionDataType,
        /// Why it does not.
        reason: FieldError,
    },
    /// The bytes do not parse as the option (hex data, or CSV values that combine badly).
    #[error("{0}")]
    Wire(#[from] WireError),
}

/// Why one CSV value does not parse as its type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FieldError {
    /// Neither decimal nor hexadecimal.
    #[error("not a decimal or hexadecimal (0x..) integer")]
    NotAnInteger,
    /// Out of the type's range.
    #[error("out of range, expected {min}..{max}")]
    OutOfRange {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// Not a boolean.
    #[error("expected true, false, 1 or 0")]
    NotABoolean,
    /// Not an address (Kea takes IPv6 text here too, and writes 16 octets).
    #[error("not an IPv4 address (dotted quad) nor an IPv6 address")]
    NotAnAddress,
    /// `address/length` expected.
    #[error("expected '<{0}>/<length>'")]
    MissingSlash(&'static str),
    /// The prefix part of an `ipv6-prefix` is not IPv6.
    #[error("'{0}' is not an IPv6 address")]
    NotIpv6(String),
    /// Bad prefix length.
    #[error("prefix length '{0}' is not a number in 0..128")]
    PrefixLength(String),
    /// Bad PSID number.
    #[error("PSID '{0}' is not a number in 0..65535")]
    PsidNumber(String),
    /// Bad PSID length.
    #[error("PSID length '{0}' is not a number in 0..16")]
    PsidLength(String),
    /// PSID too large for its length.
    #[error("PSID {psid} does not fit in {len} bits")]
    PsidTooLarge {
        /// PSID value.
        psid: u16,
        /// PSID length in bits.
        len: u8,
    },
    /// Bad hex in a `binary` value.
    #[error("bad hex ({0}); binary values are hex digits without '0x' or separators")]
    Hex(HexError),
    /// Bad domain name.
    #[error("{0}")]
    Fqdn(FqdnError),
    /// Tuple text longer than 255 octets.
    #[error("tuple of {len} octets is longer than 255")]
    TupleTooLong {
        /// Length of the text.
        len: usize,
    },
}

/// The option's bytes do not parse as its definition says.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// Not enough octets for a field.
    #[error("option buffer truncated: {field} needs {needed} octets, {available} left")]
    Truncated {
        /// The field's type.
        field: OptionDataType,
        /// Octets needed.
        needed: usize,
        /// Octets left.
        available: usize,
    },
    /// An array with no element where Kea wants one.
    #[error("the array is empty")]
    EmptyArray,
    /// Array length not a multiple of the element size.
    #[error("length {len} is not a multiple of {width} ({element} array)")]
    ArrayLength {
        /// Payload length.
        len: usize,
        /// Element type.
        element: OptionDataType,
        /// Element size.
        width: usize,
    },
    /// A string option that is empty or only NULs.
    #[error("the string is empty or contains only NULs")]
    EmptyString,
    /// An fqdn-array option with no name.
    #[error("FQDN list option has invalid length of 0")]
    EmptyFqdnList,
    /// A bad wire-format name.
    #[error("{0}")]
    Fqdn(FqdnError),
    /// A boolean octet other than 0 or 1.
    #[error("boolean octet must be 0 or 1, got {octet}")]
    BadBoolean {
        /// The octet.
        octet: u8,
    },
    /// Client FQDN (81) flags with both N and S.
    #[error(
        "both N and S flags of the DHCPv4 Client FQDN option are set (flags 0x{flags:02x}); \
         RFC 4702: if the N bit is 1 the S bit MUST be 0"
    )]
    FqdnFlagsNAndS {
        /// The flags octet.
        flags: u8,
    },
    /// Client FQDN (81) with the E flag and a partial name whose last label ends with a NUL
    /// octet. Kea 2.2 accepts it and packs the name without its root label, so the packed
    /// option ends with a zero octet and reads back as another, fully-qualified, name; Nestor
    /// refuses it.
    #[error(
        "the partial domain name of the DHCPv4 Client FQDN option ends with a NUL octet: sent \
         without its root label it would read back as a fully-qualified name"
    )]
    FqdnPartialNameEndsWithNul,
    /// V-I vendor class (124) with a tuple not preceded by an enterprise id.
    #[error(
        "truncated DHCPv4 V-I Vendor Class option: each further tuple must follow an enterprise id"
    )]
    VendorClassTruncated,
    /// V-I vendor options (125) with a truncated block or sub-option.
    #[error("truncated vendor-specific information option")]
    VendorOptionsTruncated,
    /// A sub-option does not parse per its definition.
    #[error("sub-option {code} of space '{space}': {source}")]
    SubOption {
        /// Its space.
        space: String,
        /// Its code.
        code: u8,
        /// What is wrong.
        source: Box<WireError>,
    },
    /// Re-packed sub-options do not fit a one-octet length.
    #[error("sub-option {code} of space '{space}' is {len} octets long, more than 255")]
    SubOptionTooLong {
        /// Its space.
        space: String,
        /// Its code.
        code: u8,
        /// Its length.
        len: usize,
    },
}

/// The layout of a definition as `option-def` would spell it.
pub(crate) fn layout(def: &OptionDef) -> String {
    let mut s = if def.data_type == OptionDataType::Record {
        let fields: Vec<&str> = def.record_types.iter().map(|t| t.kea_name()).collect();
        format!("record({})", fields.join(", "))
    } else {
        def.data_type.kea_name().to_owned()
    };
    if def.array {
        s.push_str(" array");
    }
    if !def.encapsulate.is_empty() {
        s.push_str(", encapsulates ");
        s.push_str(&def.encapsulate);
    }
    s
}

/// Encodes one `option-data` entry (see the module documentation for Kea's rules).
pub fn encode_option_data(
    defs: &OptionDefs,
    spec: &OptionDataSpec<'_>,
) -> Result<EncodedOption, OptionDataError> {
    let code = spec
        .code
        .map(|c| u8::try_from(c).map_err(|_| OptionDataError::CodeTooLarge { code: c }))
        .transpose()?;
    if let Some(name) = spec.name.filter(|n| n.contains(' ')) {
        return Err(OptionDataError::InvalidName {
            name: name.to_owned(),
        });
    }
    let space = spec.space;
    if !valid_space_name(space) {
        return Err(OptionDataError::InvalidSpace {
            space: space.to_owned(),
        });
    }
    if space == "dhcp6" {
        return Err(OptionDataError::Dhcp6Space);
    }
    let def = match (code, spec.name) {
        (None, None) => return Err(OptionDataError::MissingNameAndCode),
        (Some(c), _) => defs.by_code(space, c),
        (None, Some(n)) => defs.by_name(space, n),
    };

    let encoded = match def {
        None => {
            let no_def = || OptionDataError::NoDefinition {
                space: space.to_owned(),
                name: spec.name.map(str::to_owned),
                code,
                csv_format: spec.csv_format,
            };
            let Some(code) = code else {
                return Err(no_def());
            };
            if spec.csv_format {
                return Err(no_def());
            }
            EncodedOption {
                code,
                space: space.to_owned(),
                name: None,
                payload: hex_data(spec.data)?,
            }
        }
        Some(def) => {
            if let Some(name) = spec.name.filter(|n| *n != def.name) {
                return Err(OptionDataError::NameMismatch {
                    name: name.to_owned(),
                    space: space.to_owned(),
                    code: def.code,
                    def_name: def.name.clone(),
                });
            }
            let raw = if spec.csv_format {
                csv_to_bytes(def, spec.data).map(|raw| {
                    if def.space == DHCP4_SPACE && def.code == CLIENT_FQDN_CODE {
                        client_fqdn_csv_name_as_text(raw)
                    } else {
                        raw
                    }
                })
            } else {
                Ok(hex_data(spec.data)?)
            };
            let payload = raw
                .and_then(|raw| normalize(defs, def, raw).map_err(ValueError::Wire))
                .map_err(|source| OptionDataError::DefinitionMismatch {
                    space: space.to_owned(),
                    code: def.code,
                    name: def.name.clone(),
                    layout: layout(def),
                    source: Box::new(source),
                })?;
            EncodedOption {
                code: def.code,
                space: space.to_owned(),
                name: Some(def.name.clone()),
                payload,
            }
        }
    };
    if space == DHCP4_SPACE && (encoded.code == 0 || encoded.code == 255) {
        return Err(OptionDataError::ReservedCode { code: encoded.code });
    }
    Ok(encoded)
}

fn hex_data(data: &str) -> Result<Vec<u8>, OptionDataError> {
    decode_hex_or_quoted(data).map_err(|reason| OptionDataError::InvalidHex {
        data: data.to_owned(),
        reason,
    })
}

/// `OptionDefinition::optionFactory(values)`: CSV values to raw bytes (before the class check).
fn csv_to_bytes(def: &OptionDef, data: &str) -> Result<Vec<u8>, ValueError> {
    let tokens = csv_tokens(data);
    let mut buf = Vec::new();
    if def.data_type == OptionDataType::Record {
        let fields = &def.record_types;
        if tokens.len() < fields.len() {
            return Err(ValueError::MissingFields {
                expected: fields.len(),
                given: tokens.len(),
                types: fields
                    .iter()
                    .map(|t| t.kea_name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let last = fields.last().copied();
        for (i, token) in tokens.iter().enumerate() {
            let ty = match fields.get(i) {
                Some(&t) => t,
                // Kea ignores surplus values unless the record is an array.
                None if def.array => match last {
                    Some(t) => t,
                    None => break,
                },
                None => break,
            };
            write_value(ty, kea_trim(token), ValuePosition::Field(i), &mut buf)?;
        }
    } else if def.array {
        for (i, token) in tokens.iter().enumerate() {
            write_value(
                def.data_type,
                kea_trim(token),
                ValuePosition::Element(i),
                &mut buf,
            )?;
        }
    } else {
        match tokens.first() {
            None if def.data_type == OptionDataType::Empty => {}
            None => return Err(ValueError::NoValue),
            // Kea uses the first value and ignores the rest.
            Some(token) => write_value(
                def.data_type,
                kea_trim(token),
                ValuePosition::Single,
                &mut buf,
            )?,
        }
    }
    Ok(buf)
}

/// `OptionDefinition::writeToBuffer`: one CSV value of type `ty`.
fn write_value(
    ty: OptionDataType,
    value: &str,
    position: ValuePosition,
    buf: &mut Vec<u8>,
) -> Result<(), ValueError> {
    let field_error = |reason| ValueError::Field {
        position,
        value: value.to_owned(),
        expected: ty,
        reason,
    };
    match ty {
        OptionDataType::Empty | OptionDataType::Record => {
            return Err(ValueError::DataForEmpty {
                value: value.to_owned(),
            });
        }
        OptionDataType::Binary => {
            buf.extend(decode_base16(value).map_err(|e| field_error(FieldError::Hex(e)))?)
        }
        OptionDataType::Boolean => {
            let b = parse_boolean(value).ok_or_else(|| field_error(FieldError::NotABoolean))?;
            buf.push(u8::from(b));
        }
        t @ (OptionDataType::Int8
        | OptionDataType::Int16
        | OptionDataType::Int32
        | OptionDataType::Uint8
        | OptionDataType::Uint16
        | OptionDataType::Uint32) => {
            let (min, max) = t.integer_range().unwrap_or((0, 0));
            let v = parse_integer(value, min, max).map_err(|e| {
                field_error(match e {
                    IntegerError::NotANumber => FieldError::NotAnInteger,
                    IntegerError::OutOfRange => FieldError::OutOfRange { min, max },
                })
            })?;
            let bytes = v.to_be_bytes();
            let width = t.fixed_len().unwrap_or(1);
            buf.extend_from_slice(bytes.get(bytes.len() - width..).unwrap_or_default());
        }
        OptionDataType::Ipv4Address | OptionDataType::Ipv6Address => {
            // Kea's IOAddress takes either family for either type and writes 4 or 16 octets;
            // the option class then decides (an IPv4 list of 16 octets is four addresses).
            match value
                .parse::<IpAddr>()
                .map_err(|_| field_error(FieldError::NotAnAddress))?
            {
                IpAddr::V4(a) => buf.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => buf.extend_from_slice(&a.octets()),
            }
        }
        OptionDataType::Ipv6Prefix => {
            let text: String = value.chars().filter(|c| *c != ' ' && *c != '\t').collect();
            let (addr, len) = text
                .split_once('/')
                .ok_or_else(|| field_error(FieldError::MissingSlash("ipv6-address")))?;
            let addr: Ipv6Addr = addr
                .parse()
                .map_err(|_| field_error(FieldError::NotIpv6(addr.to_owned())))?;
            // Kea accepts any uint8 and then reads past the 16 address octets for lengths
            // above 128; Nestor refuses those.
            let bits = parse_integer(len, 0, 128)
                .ok()
                .and_then(|b| u8::try_from(b).ok())
                .ok_or_else(|| field_error(FieldError::PrefixLength(len.to_owned())))?;
            buf.push(bits);
            let nbytes = usize::from(bits).div_ceil(8);
            let mut prefix = addr.octets().get(..nbytes).unwrap_or_default().to_vec();
            let pad = (8 - bits % 8) % 8;
            if let Some(last) = prefix.last_mut() {
                *last = (*last >> pad) << pad;
            }
            buf.extend(prefix);
        }
        OptionDataType::Psid => {
            let text: String = value.chars().filter(|c| *c != ' ' && *c != '\t').collect();
            let (psid, len) = text
                .split_once('/')
                .ok_or_else(|| field_error(FieldError::MissingSlash("psid")))?;
            let psid_value = parse_integer(psid, 0, 0xffff)
                .ok()
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| field_error(FieldError::PsidNumber(psid.to_owned())))?;
            let bits = parse_integer(len, 0, 16)
                .ok()
                .and_then(|v| u8::try_from(v).ok())
                .ok_or_else(|| field_error(FieldError::PsidLength(len.to_owned())))?;
            if bits > 0 && u32::from(psid_value) > (0xffff_u32 >> (16 - u32::from(bits))) {
                return Err(field_error(FieldError::PsidTooLarge {
                    psid: psid_value,
                    len: bits,
                }));
            }
            // RFC 7618: the PSID is left-aligned in its 16 bits; a zero length carries none.
            let aligned = if bits == 0 {
                0
            } else {
                psid_value << (16 - bits)
            };
            buf.push(bits);
            buf.extend_from_slice(&aligned.to_be_bytes());
        }
        OptionDataType::String => buf.extend_from_slice(value.as_bytes()),
        OptionDataType::Fqdn => {
            buf.extend(fqdn_to_wire(value).map_err(|e| field_error(FieldError::Fqdn(e)))?)
        }
        OptionDataType::Tuple => {
            let len = u8::try_from(value.len())
                .map_err(|_| field_error(FieldError::TupleTooLong { len: value.len() }))?;
            buf.push(len);
            buf.extend_from_slice(value.as_bytes());
        }
    }
    Ok(())
}
