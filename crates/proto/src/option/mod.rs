//! DHCPv4 option definitions and `option-data` encoding, as Kea 2.2 has them.
//!
//! * [`OptionDataType`]: Kea's data types, by their configuration names.
//! * [`OptionDef`] / [`OptionDefs`]: Kea's built-in definition tables (`std_option_defs.h`:
//!   113 `dhcp4` options, the last-resort option 43, DOCSIS `docsis3-v4`, also reached as the
//!   vendor space `vendor-4491`) and the custom
//!   definitions of `option-def`, with Kea's validation rules (Kea ARM, "Custom DHCPv4
//!   Options").
//! * [`encode_option_data`]: one `option-data` entry (`name`/`code`, `space`, `data`,
//!   `csv-format`) into the option's payload, accepting and refusing exactly what
//!   `kea-dhcp4 -t` 2.2 accepts and refuses, with errors that say which value is wrong and why.
//! * [`decode_option_value`]: a payload back to Kea's CSV text, for `config-get`-style output
//!   and lease or packet display.
//!
//! The wire format is RFC 2132's (code, length, data); RFC 3396 splitting of long payloads
//! and the assembly of encapsulated sub-options (43, 82, custom `encapsulate`) belong to the
//! packet encoder: an [`EncodedOption`] carries its space so that sub-options can be found by
//! the space their parent encapsulates ([`OptionDefs::encapsulated_space`]).
//!
//! Nothing here panics on configuration input; lengths are checked before every slice.

mod decode;
mod def;
mod encode;
mod std_defs;
mod text;
mod types;
mod wire;

pub use decode::{DecodeError, DecodedOption, decode_option_value};
pub use def::{KEA_BASIC_OPTION_CODES, OptionDef, OptionDefError, OptionDefs, valid_space_name};
pub use encode::{
    EncodedOption, FieldError, OptionDataError, OptionDataSpec, ValueError, ValuePosition,
    WireError, encode_option_data,
};
pub use std_defs::{AGENT_OPTIONS_SPACE, DHCP4_SPACE, DOCSIS3_V4_SPACE, VENDOR_ENCAPSULATED_SPACE};
pub use text::{FqdnError, HexError};
pub use types::OptionDataType;
