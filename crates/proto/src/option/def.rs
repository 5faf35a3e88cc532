//! Option definitions: Kea's built-in tables and the `option-def` entries of a configuration.
//!
//! A definition gives an option code in an option space a name and a data layout. Lookups
//! follow Kea's `OptionDataParser::findOptionDefinition` precedence: custom definitions, then
//! the standard tables, then the last-resort table (option 43). The rules that `add_custom`
//! enforces are those of Kea 2.2's `OptionDefParser::parse`, `OptionDefinition::validate` and
//! `CfgOptionDef::add`, checked in the same order so that the first error Kea reports is the one
//! Nestor reports.

use std::collections::HashMap;

use thiserror::Error;

use super::std_defs::{self, DHCP4_SPACE, StdDef};
use super::types::OptionDataType;

/// One option definition: how option `code` of `space` is called and laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef {
    /// Option name, unique within its space.
    pub name: String,
    /// Option code (DHCPv4 codes are one octet).
    pub code: u8,
    /// Option space the definition belongs to (`dhcp4` for top-level options).
    pub space: String,
    /// Data type; `Record` means "see `record_types`".
    pub data_type: OptionDataType,
    /// Whether the option carries a list of `data_type` values (for a record: whether the last
    /// field repeats).
    pub array: bool,
    /// Field types of a `record` option, in order; empty for the other types.
    pub record_types: Vec<OptionDataType>,
    /// Space of the sub-options this option carries after its data, or "".
    pub encapsulate: String,
}

impl OptionDef {
    fn from_std(space: &str, d: &StdDef) -> Self {
        Self {
            name: d.name.to_owned(),
            code: d.code,
            space: space.to_owned(),
            data_type: d.ty,
            array: d.array,
            record_types: d.records.to_vec(),
            encapsulate: d.encapsulate.to_owned(),
        }
    }

    /// Builds a definition from the values of a Kea `option-def` entry, applying Kea's
    /// defaults for `array` (false), `record-types` (""), `space` (`dhcp4`) and `encapsulate`
    /// (""). `record_types` is Kea's comma-separated list; empty items are ignored, as Kea
    /// does. This checks what Kea checks while parsing the entry (code range, space name,
    /// PAD/END, encapsulation, record field types); [`OptionDef::validate`] and
    /// [`OptionDefs::add_custom`] check the rest.
    pub fn from_kea(
        name: &str,
        code: i64,
        space: Option<&str>,
        type_name: &str,
        array: bool,
        record_types: &str,
        encapsulate: &str,
    ) -> Result<Self, OptionDefError> {
        let space = space.unwrap_or(DHCP4_SPACE);
        let code = u8::try_from(code).map_err(|_| OptionDefError::CodeOutOfRange { code })?;
        if !valid_space_name(space) {
            return Err(OptionDefError::InvalidSpaceName {
                space: space.to_owned(),
            });
        }
        check_reserved_code(space, code)?;
        check_encapsulation(name, space, array, encapsulate)?;
        let data_type =
            OptionDataType::from_kea_name(type_name).ok_or_else(|| OptionDefError::UnknownType {
                type_name: type_name.to_owned(),
            });
        let mut fields = Vec::new();
        for item in record_types.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            // Kea adds fields to a definition whose type it already knows (or not), so a
            // bad field type is reported before an unknown option type only when the option
            // type is valid; otherwise `validate` reports the option type. Mirror that.
            let known_type = data_type.as_ref().ok().copied();
            if let Some(t) = known_type.filter(|t| *t != OptionDataType::Record) {
                return Err(OptionDefError::RecordTypesWithoutRecord { data_type: t });
            }
            let field = OptionDataType::from_kea_name(item).ok_or_else(|| {
                OptionDefError::UnknownRecordType {
                    type_name: item.to_owned(),
                }
            });
            match field {
                Ok(f) if f != OptionDataType::Record && f != OptionDataType::Empty => {
                    fields.push(f)
                }
                Ok(f) => return Err(OptionDefError::InvalidRecordField { field: f }),
                Err(e) if known_type.is_some() => return Err(e),
                Err(_) => {}
            }
        }
        let def = Self {
            name: name.to_owned(),
            code,
            space: space.to_owned(),
            data_type: data_type?,
            array,
            record_types: fields,
            encapsulate: encapsulate.to_owned(),
        };
        def.validate()?;
        Ok(def)
    }

    /// Kea's `OptionDefinition::validate` (plus the checks its parser makes before it), in
    /// Kea's order.
    pub fn validate(&self) -> Result<(), OptionDefError> {
        check_reserved_code(&self.space, self.code)?;
        check_encapsulation(&self.name, &self.space, self.array, &self.encapsulate)?;
        if !self.record_types.is_empty() && self.data_type != OptionDataType::Record {
            return Err(OptionDefError::RecordTypesWithoutRecord {
                data_type: self.data_type,
            });
        }
        if let Some(&bad) = self
            .record_types
            .iter()
            .find(|t| matches!(t, OptionDataType::Record | OptionDataType::Empty))
        {
            return Err(OptionDefError::InvalidRecordField { field: bad });
        }
        if !valid_space_name(&self.name) {
            return Err(OptionDefError::InvalidName {
                name: self.name.clone(),
            });
        }
        if !valid_space_name(&self.space) {
            return Err(OptionDefError::InvalidSpaceName {
                space: self.space.clone(),
            });
        }
        if !self.encapsulate.is_empty() && !valid_space_name(&self.encapsulate) {
            return Err(OptionDefError::InvalidEncapsulatedSpace {
                space: self.encapsulate.clone(),
            });
        }
        if self.data_type == OptionDataType::Record {
            let fields = &self.record_types;
            if fields.len() < 2 {
                return Err(OptionDefError::TooFewRecordFields {
                    count: fields.len(),
                });
            }
            let last = fields.len() - 1;
            for (index, &field) in fields.iter().enumerate() {
                if index < last && matches!(field, OptionDataType::String | OptionDataType::Binary)
                {
                    return Err(OptionDefError::VariableFieldNotLast { index, field });
                }
            }
            match fields.last() {
                Some(&t @ (OptionDataType::String | OptionDataType::Binary)) if self.array => {
                    return Err(OptionDefError::InvalidArray { data_type: t });
                }
                _ => {}
            }
        } else if self.array
            && matches!(
                self.data_type,
                OptionDataType::String | OptionDataType::Binary | OptionDataType::Empty
            )
        {
            return Err(OptionDefError::InvalidArray {
                data_type: self.data_type,
            });
        }
        Ok(())
    }

    /// Types of the successive values of the option: the field types of a record, or the
    /// single data type.
    pub fn field_types(&self) -> &[OptionDataType] {
        if self.data_type == OptionDataType::Record {
            &self.record_types
        } else {
            std::slice::from_ref(&self.data_type)
        }
    }
}

fn check_reserved_code(space: &str, code: u8) -> Result<(), OptionDefError> {
    if space == DHCP4_SPACE && (code == 0 || code == 255) {
        return Err(OptionDefError::ReservedCode { code });
    }
    Ok(())
}

fn check_encapsulation(
    name: &str,
    space: &str,
    array: bool,
    encapsulate: &str,
) -> Result<(), OptionDefError> {
    if encapsulate.is_empty() {
        return Ok(());
    }
    if array {
        return Err(OptionDefError::EncapsulatingArray {
            space: space.to_owned(),
            name: name.to_owned(),
        });
    }
    if encapsulate == space {
        return Err(OptionDefError::EncapsulatesOwnSpace {
            space: space.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The built-in table Kea uses for a `vendor-<enterprise-id>` space
/// (`LibDHCP::optionSpaceToVendorId`, `getVendorOptionDef`): DHCPv4 has one, DOCSIS (4491).
fn vendor_builtin_space(space: &str) -> Option<&'static str> {
    let id: u32 = space.strip_prefix("vendor-")?.parse().ok()?;
    (id == 4491).then_some(std_defs::DOCSIS3_V4_SPACE)
}

/// Kea's rule for option space names (`OptionSpace::validateName`), which is also its rule for
/// option names in `option-def`: letters, digits, `-` and `_`, not starting or ending with `-`
/// or `_`, not empty.
pub fn valid_space_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let edge = |c: Option<char>| matches!(c, Some('-' | '_'));
    !name.is_empty()
        && name.chars().all(allowed)
        && !edge(name.chars().next())
        && !edge(name.chars().last())
}

/// Why an `option-def` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OptionDefError {
    /// `code` outside 0..=255 (DHCPv4 codes are one octet).
    #[error("invalid option code '{code}', it must be in the range 0..255")]
    CodeOutOfRange {
        /// The configured code.
        code: i64,
    },
    /// 0 (PAD) or 255 (END) in the `dhcp4` space.
    #[error(
        "invalid option code '{code}': reserved for {}",
        if *code == 0 { "PAD" } else { "END" }
    )]
    ReservedCode {
        /// 0 or 255.
        code: u8,
    },
    /// Not a valid option name.
    #[error(
        "invalid option name '{name}': only letters, digits, '-' and '_' are allowed, and it \
         must not start or end with '-' or '_'"
    )]
    InvalidName {
        /// The configured name.
        name: String,
    },
    /// Not a valid option space name.
    #[error(
        "invalid option space name '{space}': only letters, digits, '-' and '_' are allowed, \
         and it must not start or end with '-' or '_'"
    )]
    InvalidSpaceName {
        /// The configured space.
        space: String,
    },
    /// Not a valid name for the encapsulated space.
    #[error("invalid encapsulated option space name: '{space}'")]
    InvalidEncapsulatedSpace {
        /// The configured `encapsulate` value.
        space: String,
    },
    /// `array` together with `encapsulate`.
    #[error(
        "option '{space}.{name}', comprising an array of data fields, may not encapsulate any \
         option space"
    )]
    EncapsulatingArray {
        /// Space of the definition.
        space: String,
        /// Name of the definition.
        name: String,
    },
    /// `encapsulate` names the definition's own space.
    #[error(
        "option must not encapsulate an option space it belongs to: '{space}.{name}' is set to \
         encapsulate '{space}'"
    )]
    EncapsulatesOwnSpace {
        /// Space of the definition.
        space: String,
        /// Name of the definition.
        name: String,
    },
    /// `type` is not one of Kea's data type names.
    #[error(
        "option type '{type_name}' is not supported (expected one of: binary, boolean, empty, \
         fqdn, int8, int16, int32, ipv4-address, ipv6-address, ipv6-prefix, psid, record, \
         string, tuple, uint8, uint16, uint32)"
    )]
    UnknownType {
        /// The configured type.
        type_name: String,
    },
    /// An item of `record-types` is not a data type name.
    #[error(
        "invalid record type values specified for the option definition: unknown data type '{type_name}'"
    )]
    UnknownRecordType {
        /// The offending item.
        type_name: String,
    },
    /// `record` or `empty` inside `record-types`.
    #[error(
        "invalid record type values specified for the option definition: data type '{field}' cannot be a field of a record"
    )]
    InvalidRecordField {
        /// The offending field type.
        field: OptionDataType,
    },
    /// `record-types` given for a type other than `record`.
    #[error("record-types are only allowed with type 'record', not with '{data_type}'")]
    RecordTypesWithoutRecord {
        /// The definition's type.
        data_type: OptionDataType,
    },
    /// A `record` with fewer than two fields.
    #[error(
        "invalid number of data fields: {count} specified for the option of type 'record'; expected at least 2 fields"
    )]
    TooFewRecordFields {
        /// How many fields were given.
        count: usize,
    },
    /// A `string` or `binary` field that is not the last field of a record.
    #[error(
        "{field} data field (record field [{index}]) can't be laid before data fields of other types; only the last field may be {field}"
    )]
    VariableFieldNotLast {
        /// 0-based index of the field.
        index: usize,
        /// `string` or `binary`.
        field: OptionDataType,
    },
    /// `array` with a type that cannot repeat (`string`, `binary`, `empty`, or a record ending
    /// with `string` or `binary`).
    #[error("array of {data_type} values is not a valid option definition")]
    InvalidArray {
        /// The type that cannot repeat.
        data_type: OptionDataType,
    },
    /// Two custom definitions with one code in one space.
    #[error("option definition with code '{code}' already exists in option space '{space}'")]
    DuplicateCode {
        /// The space.
        space: String,
        /// The code.
        code: u8,
    },
    /// Two custom definitions with one name in one space.
    #[error("option definition with name '{name}' already exists in option space '{space}'")]
    DuplicateName {
        /// The space.
        space: String,
        /// The name.
        name: String,
    },
    /// The code is defined by Kea's standard table for that space.
    #[error(
        "unable to override definition of option '{code}' in standard option space '{space}' (it is '{standard_name}')"
    )]
    StandardCode {
        /// The space.
        space: String,
        /// The code.
        code: u8,
        /// Name of the standard option with that code.
        standard_name: String,
    },
    /// The name is used by Kea's standard table for that space.
    #[error(
        "unable to override definition of option '{name}' in standard option space '{space}' (it is code {standard_code})"
    )]
    StandardName {
        /// The space.
        space: String,
        /// The name.
        name: String,
        /// Code of the standard option with that name.
        standard_code: u8,
    },
}

/// Definitions of one precedence tier, indexed by (space, code) and (space, name).
#[derive(Debug, Clone, Default)]
struct Tier {
    defs: Vec<OptionDef>,
    by_code: HashMap<(String, u8), usize>,
    by_name: HashMap<(String, String), usize>,
}

impl Tier {
    fn insert(&mut self, def: OptionDef) {
        let index = self.defs.len();
        // Standard tables and `add_custom` guarantee uniqueness, so `entry` would only hide a
        // bug; keep the first definition like Kea's multi-index container returns it.
        self.by_code
            .entry((def.space.clone(), def.code))
            .or_insert(index);
        self.by_name
            .entry((def.space.clone(), def.name.clone()))
            .or_insert(index);
        self.defs.push(def);
    }

    fn by_code(&self, space: &str, code: u8) -> Option<&OptionDef> {
        self.by_code
            .get(&(space.to_owned(), code))
            .and_then(|&i| self.defs.get(i))
    }

    fn by_name(&self, space: &str, name: &str) -> Option<&OptionDef> {
        self.by_name
            .get(&(space.to_owned(), name.to_owned()))
            .and_then(|&i| self.defs.get(i))
    }
}

/// The option definitions a server knows: Kea's standard tables plus a configuration's
/// `option-def` entries.
#[derive(Debug, Clone)]
pub struct OptionDefs {
    custom: Tier,
    standard: Tier,
    last_resort: Tier,
}

impl Default for OptionDefs {
    fn default() -> Self {
        Self::standard()
    }
}

/// Option codes Kea 2.2 adds to every DHCPOFFER/DHCPACK when they are configured, whether or
/// not the client asked for them (`Dhcpv4Srv::appendBasicOptions`): routers, domain name
/// servers, domain name and the server identifier. Other configured options go out only when
/// listed in the parameter request list (55) or marked `always-send`; subnet mask (1) and lease
/// time (51) are added by their own code paths.
pub const KEA_BASIC_OPTION_CODES: [u8; 4] = [3, 6, 15, 54];

impl OptionDefs {
    /// Kea 2.2's built-in definitions: `dhcp4` (113), `docsis3-v4` (2), the last-resort option
    /// 43; `vendor-encapsulated-options-space` and `dhcp-agent-options-space` are empty.
    pub fn standard() -> Self {
        let mut standard = Tier::default();
        for d in std_defs::DHCP4 {
            standard.insert(OptionDef::from_std(DHCP4_SPACE, d));
        }
        for d in std_defs::DOCSIS3_V4 {
            standard.insert(OptionDef::from_std(std_defs::DOCSIS3_V4_SPACE, d));
        }
        let mut last_resort = Tier::default();
        for d in std_defs::DHCP4_LAST_RESORT {
            last_resort.insert(OptionDef::from_std(DHCP4_SPACE, d));
        }
        Self {
            custom: Tier::default(),
            standard,
            last_resort,
        }
    }

    /// Adds an `option-def`, with Kea's rules: the definition must be valid
    /// ([`OptionDef::validate`]), its code and name must be new in its space, and it may not
    /// redefine a standard option of that space (`dhcp4`, `docsis3-v4`). Option 43 in `dhcp4`
    /// may be defined: Kea's definition of it is only a last resort.
    pub fn add_custom(&mut self, def: OptionDef) -> Result<(), OptionDefError> {
        def.validate()?;
        if self.custom.by_code(&def.space, def.code).is_some() {
            return Err(OptionDefError::DuplicateCode {
                space: def.space,
                code: def.code,
            });
        }
        if self.custom.by_name(&def.space, &def.name).is_some() {
            return Err(OptionDefError::DuplicateName {
                space: def.space,
                name: def.name,
            });
        }
        if let Some(std) = self.standard.by_code(&def.space, def.code) {
            return Err(OptionDefError::StandardCode {
                standard_name: std.name.clone(),
                space: def.space,
                code: def.code,
            });
        }
        if let Some(std) = self.standard.by_name(&def.space, &def.name) {
            return Err(OptionDefError::StandardName {
                standard_code: std.code,
                space: def.space,
                name: def.name,
            });
        }
        self.custom.insert(def);
        Ok(())
    }

    /// The definition of `name` in `space`, with Kea's precedence: custom, standard, vendor
    /// (`vendor-4491` finds the DOCSIS table), last resort.
    pub fn by_name(&self, space: &str, name: &str) -> Option<&OptionDef> {
        self.custom
            .by_name(space, name)
            .or_else(|| self.standard.by_name(space, name))
            .or_else(|| vendor_builtin_space(space).and_then(|s| self.standard.by_name(s, name)))
            .or_else(|| self.last_resort.by_name(space, name))
    }

    /// The definition of `code` in `space`, with Kea's precedence: custom, standard, vendor
    /// (`vendor-4491` finds the DOCSIS table), last resort.
    pub fn by_code(&self, space: &str, code: u8) -> Option<&OptionDef> {
        self.custom
            .by_code(space, code)
            .or_else(|| self.standard.by_code(space, code))
            .or_else(|| vendor_builtin_space(space).and_then(|s| self.standard.by_code(s, code)))
            .or_else(|| self.last_resort.by_code(space, code))
    }

    /// The built-in definitions (all spaces, then the last-resort option 43), in Kea's table
    /// order: what `option-def` listings and `config-get` need to tell built-in from custom.
    pub fn standard_defs(&self) -> impl Iterator<Item = &OptionDef> {
        self.standard
            .defs
            .iter()
            .chain(self.last_resort.defs.iter())
    }

    /// The custom definitions, in the order they were added.
    pub fn custom_defs(&self) -> impl Iterator<Item = &OptionDef> {
        self.custom.defs.iter()
    }

    /// The space whose options `code` of `space` carries as sub-options, if it encapsulates
    /// one (43 → `vendor-encapsulated-options-space`, 82 → `dhcp-agent-options-space`).
    pub fn encapsulated_space(&self, space: &str, code: u8) -> Option<&str> {
        self.by_code(space, code)
            .map(|d| d.encapsulate.as_str())
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OptionDataType::*;

    fn def(name: &str, code: u8, ty: OptionDataType) -> OptionDef {
        OptionDef {
            name: name.into(),
            code,
            space: "dhcp4".into(),
            data_type: ty,
            array: false,
            record_types: vec![],
            encapsulate: std::string::String::new(),
        }
    }

    #[test]
    fn standard_lookups() {
        let defs = OptionDefs::standard();
        let routers = defs.by_name("dhcp4", "routers");
        assert_eq!(
            routers.map(|d| (d.code, d.data_type, d.array)),
            Some((3, Ipv4Address, true))
        );
        assert_eq!(
            defs.by_code("dhcp4", 23).map(|d| d.name.as_str()),
            Some("default-ip-ttl")
        );
        assert_eq!(
            defs.by_code("docsis3-v4", 2).map(|d| d.name.as_str()),
            Some("tftp-servers")
        );
        assert!(defs.by_code("dhcp4", 80).is_none());
        assert!(
            defs.by_code("vendor-encapsulated-options-space", 1)
                .is_none()
        );
        assert!(defs.by_code("dhcp-agent-options-space", 1).is_none());
        assert_eq!(
            defs.encapsulated_space("dhcp4", 43),
            Some("vendor-encapsulated-options-space")
        );
        assert_eq!(
            defs.encapsulated_space("dhcp4", 82),
            Some("dhcp-agent-options-space")
        );
        assert_eq!(defs.encapsulated_space("dhcp4", 3), None);
        assert_eq!(
            defs.standard_defs().filter(|d| d.space == "dhcp4").count(),
            114
        );
    }

    #[test]
    fn custom_definition_rules() {
        let mut defs = OptionDefs::standard();
        assert_eq!(defs.add_custom(def("foo", 200, String)), Ok(()));
        assert_eq!(defs.by_name("dhcp4", "foo").map(|d| d.code), Some(200));
        assert!(matches!(
            defs.add_custom(def("foo", 201, String)),
            Err(OptionDefError::DuplicateName { .. })
        ));
        assert!(matches!(
            defs.add_custom(def("bar", 200, String)),
            Err(OptionDefError::DuplicateCode { code: 200, .. })
        ));
        assert_eq!(
            defs.add_custom(def("foo2", 3, String)),
            Err(OptionDefError::StandardCode {
                space: "dhcp4".into(),
                code: 3,
                standard_name: "routers".into()
            })
        );
        assert!(matches!(
            defs.add_custom(def("routers", 202, String)),
            Err(OptionDefError::StandardName {
                standard_code: 3,
                ..
            })
        ));
        // 43 is only a last-resort definition: it may be redefined, and then wins.
        assert_eq!(defs.add_custom(def("my-vendor", 43, Binary)), Ok(()));
        assert_eq!(
            defs.by_code("dhcp4", 43).map(|d| d.name.as_str()),
            Some("my-vendor")
        );
        // Standard names are free in other spaces; docsis3-v4 is protected.
        let mut other = def("routers", 1, Uint8);
        other.space = "bar".into();
        assert_eq!(defs.add_custom(other), Ok(()));
        let mut docsis = def("foo", 1, Uint8);
        docsis.space = "docsis3-v4".into();
        assert!(matches!(
            defs.add_custom(docsis),
            Err(OptionDefError::StandardCode { .. })
        ));
        let mut venc = def("foo", 1, Uint8);
        venc.space = "vendor-encapsulated-options-space".into();
        assert_eq!(defs.add_custom(venc), Ok(()));
    }

    #[test]
    fn validate_rules() {
        let v = |f: &dyn Fn(&mut OptionDef)| {
            let mut d = def("foo", 200, Uint8);
            f(&mut d);
            d.validate()
        };
        assert_eq!(v(&|_| {}), Ok(()));
        assert_eq!(
            v(&|d| d.code = 0),
            Err(OptionDefError::ReservedCode { code: 0 })
        );
        assert_eq!(
            v(&|d| d.code = 255),
            Err(OptionDefError::ReservedCode { code: 255 })
        );
        assert_eq!(
            v(&|d| {
                d.code = 0;
                d.space = "bar".into()
            }),
            Ok(())
        );
        for bad in ["-foo", "foo_", "foo.bar", "a b", ""] {
            assert!(
                matches!(
                    v(&|d| d.name = bad.into()),
                    Err(OptionDefError::InvalidName { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(v(&|d| d.name = "1foo".into()), Ok(()));
        for (ty, ok) in [
            (String, false),
            (Binary, false),
            (Empty, false),
            (Fqdn, true),
            (Tuple, true),
            (Psid, true),
            (Ipv6Prefix, true),
            (Uint8, true),
        ] {
            let r = v(&|d| {
                d.data_type = ty;
                d.array = true
            });
            assert_eq!(r.is_ok(), ok, "array of {ty}: {r:?}");
        }
        assert_eq!(
            v(&|d| d.data_type = Record),
            Err(OptionDefError::TooFewRecordFields { count: 0 })
        );
        assert_eq!(
            v(&|d| {
                d.data_type = Record;
                d.record_types = vec![String, Uint8]
            }),
            Err(OptionDefError::VariableFieldNotLast {
                index: 0,
                field: String
            })
        );
        assert_eq!(
            v(&|d| {
                d.data_type = Record;
                d.record_types = vec![Uint8, Binary];
                d.array = true
            }),
            Err(OptionDefError::InvalidArray { data_type: Binary })
        );
        assert_eq!(
            v(&|d| d.record_types = vec![Uint8, Uint16]),
            Err(OptionDefError::RecordTypesWithoutRecord { data_type: Uint8 })
        );
        assert!(matches!(
            v(&|d| {
                d.encapsulate = "bar".into();
                d.array = true
            }),
            Err(OptionDefError::EncapsulatingArray { .. })
        ));
        assert!(matches!(
            v(&|d| d.encapsulate = "dhcp4".into()),
            Err(OptionDefError::EncapsulatesOwnSpace { .. })
        ));
        assert!(matches!(
            v(&|d| d.encapsulate = "bad space".into()),
            Err(OptionDefError::InvalidEncapsulatedSpace { .. })
        ));
    }

    #[test]
    fn from_kea_parses_type_names_and_record_types() {
        let d = OptionDef::from_kea("foo", 200, None, "record", false, "uint8, ,uint16", "");
        assert_eq!(d.map(|d| d.record_types), Ok(vec![Uint8, Uint16]));
        assert_eq!(
            OptionDef::from_kea("foo", 256, None, "uint8", false, "", ""),
            Err(OptionDefError::CodeOutOfRange { code: 256 })
        );
        assert_eq!(
            OptionDef::from_kea("foo", -1, None, "uint8", false, "", ""),
            Err(OptionDefError::CodeOutOfRange { code: -1 })
        );
        assert_eq!(
            OptionDef::from_kea("foo", 200, None, "any-address", false, "", ""),
            Err(OptionDefError::UnknownType {
                type_name: "any-address".into()
            })
        );
        assert_eq!(
            OptionDef::from_kea("foo", 200, None, "record", false, "uint8, bogus", ""),
            Err(OptionDefError::UnknownRecordType {
                type_name: "bogus".into()
            })
        );
        assert_eq!(
            OptionDef::from_kea("foo", 200, None, "record", false, "uint8, empty", ""),
            Err(OptionDefError::InvalidRecordField { field: Empty })
        );
        assert_eq!(
            OptionDef::from_kea("foo", 200, None, "uint8", false, "uint8, uint16", ""),
            Err(OptionDefError::RecordTypesWithoutRecord { data_type: Uint8 })
        );
        assert_eq!(
            OptionDef::from_kea("foo", 200, Some("-x"), "uint8", false, "", ""),
            Err(OptionDefError::InvalidSpaceName { space: "-x".into() })
        );
    }
}
