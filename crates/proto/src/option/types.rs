//! Kea's option data types (`OptionDataType` in `option_data_types.h`), by the names the
//! configuration language uses for them (`option-def.type`, `option-def.record-types`).

use std::fmt;

/// The data type of an option, or of one field of a `record` option.
///
/// Kea also has an internal `any-address` type; it is not reachable from the configuration
/// (`"type": "any-address"` is rejected by Kea as an unknown type), so it is not modelled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionDataType {
    /// No payload; with `encapsulate`, a container of sub-options (43, 82).
    Empty,
    /// Opaque bytes, given as hex.
    Binary,
    /// One octet, 0 or 1.
    Boolean,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer, network order.
    Int16,
    /// Signed 32-bit integer, network order.
    Int32,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Unsigned 16-bit integer, network order.
    Uint16,
    /// Unsigned 32-bit integer, network order.
    Uint32,
    /// Four octets.
    Ipv4Address,
    /// Sixteen octets.
    Ipv6Address,
    /// Prefix length octet followed by the prefix bits, padded to an octet (RFC 8415 style).
    Ipv6Prefix,
    /// PSID length octet and 16-bit PSID, left-aligned (RFC 7618).
    Psid,
    /// Text, at least one non-NUL octet.
    String,
    /// A domain name in DNS wire format (RFC 1035 section 3.1).
    Fqdn,
    /// Length-prefixed text; the length is one octet in DHCPv4.
    Tuple,
    /// A fixed sequence of fields, each of another type.
    Record,
}

impl OptionDataType {
    /// Every type, in Kea's enum order (handy for tables and tests).
    pub const ALL: [OptionDataType; 17] = [
        Self::Empty,
        Self::Binary,
        Self::Boolean,
        Self::Int8,
        Self::Int16,
        Self::Int32,
        Self::Uint8,
        Self::Uint16,
        Self::Uint32,
        Self::Ipv4Address,
        Self::Ipv6Address,
        Self::Ipv6Prefix,
        Self::Psid,
        Self::String,
        Self::Fqdn,
        Self::Tuple,
        Self::Record,
    ];

    /// The type named `s` in Kea's configuration language (exact, case-sensitive match, as
    /// Kea's `OptionDataTypeUtil::getDataType`).
    pub fn from_kea_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.kea_name() == s)
    }

    /// The name Kea uses for this type in configuration and in `config-get` output.
    pub fn kea_name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Binary => "binary",
            Self::Boolean => "boolean",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Uint8 => "uint8",
            Self::Uint16 => "uint16",
            Self::Uint32 => "uint32",
            Self::Ipv4Address => "ipv4-address",
            Self::Ipv6Address => "ipv6-address",
            Self::Ipv6Prefix => "ipv6-prefix",
            Self::Psid => "psid",
            Self::String => "string",
            Self::Fqdn => "fqdn",
            Self::Tuple => "tuple",
            Self::Record => "record",
        }
    }

    /// Wire size of a value of this type when it is fixed, as Kea's `getDataTypeLen`.
    pub fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Boolean | Self::Int8 | Self::Uint8 => Some(1),
            Self::Int16 | Self::Uint16 => Some(2),
            Self::Int32 | Self::Uint32 => Some(4),
            Self::Ipv4Address => Some(4),
            Self::Ipv6Address => Some(16),
            Self::Psid => Some(3),
            _ => None,
        }
    }

    /// Whether the type is one of the six integer types.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Self::Int8 | Self::Int16 | Self::Int32 | Self::Uint8 | Self::Uint16 | Self::Uint32
        )
    }

    /// Inclusive range of an integer type, `None` for the other types.
    pub fn integer_range(self) -> Option<(i64, i64)> {
        Some(match self {
            Self::Int8 => (i8::MIN.into(), i8::MAX.into()),
            Self::Int16 => (i16::MIN.into(), i16::MAX.into()),
            Self::Int32 => (i32::MIN.into(), i32::MAX.into()),
            Self::Uint8 => (0, u8::MAX.into()),
            Self::Uint16 => (0, u16::MAX.into()),
            Self::Uint32 => (0, u32::MAX.into()),
            _ => return None,
        })
    }
}

impl fmt::Display for OptionDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kea_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for t in OptionDataType::ALL {
            assert_eq!(OptionDataType::from_kea_name(t.kea_name()), Some(t));
        }
        let mut names: Vec<_> = OptionDataType::ALL.iter().map(|t| t.kea_name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OptionDataType::ALL.len());
    }

    #[test]
    fn unknown_and_differently_cased_names_are_rejected() {
        for bad in ["any-address", "unknown", "UINT8", "ipv4", "", " uint8"] {
            assert_eq!(OptionDataType::from_kea_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn integer_ranges() {
        assert_eq!(OptionDataType::Uint8.integer_range(), Some((0, 255)));
        assert_eq!(OptionDataType::Int8.integer_range(), Some((-128, 127)));
        assert_eq!(
            OptionDataType::Uint32.integer_range(),
            Some((0, 4_294_967_295))
        );
        assert_eq!(OptionDataType::String.integer_range(), None);
    }
}
