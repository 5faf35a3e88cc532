//! Typed access to a command's arguments with the checks and texts of Kea 2.2's `SimpleParser`
//! getters (`getString`, `getInteger`, `getUint32`, `getUint8`, `getBoolean`, `getAddress`).

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::error::CommandError;
use crate::ident;
use crate::position::Position;

/// A command's arguments map.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// The arguments of a command, or Kea's `get(string) called on a non-map Element` when they
    /// are not a map.
    pub(crate) fn new(arguments: &'a Value) -> Result<Self, CommandError> {
        Self::with_accessor(arguments, "get(string)")
    }

    /// As [`Args::new`], naming the `Element` accessor Kea's code calls first.
    pub(crate) fn with_accessor(
        arguments: &'a Value,
        accessor: &'static str,
    ) -> Result<Self, CommandError> {
        match arguments {
            Value::Object(map) => Ok(Self { map }),
            other => Err(CommandError::NotAMap {
                accessor,
                at: Position::of_arguments(other),
            }),
        }
    }

    /// The raw value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// Whether `name` is present.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The position of `name` (of the map when absent).
    pub(crate) fn position(&self, name: &str) -> Position {
        Position::of_member(self.map, name)
    }

    fn required(&self, name: &'static str) -> Result<&'a Value, CommandError> {
        self.map.get(name).ok_or(CommandError::MissingParameter {
            name,
            at: self.position(name),
        })
    }

    fn invalid_type(&self, name: &'static str) -> CommandError {
        CommandError::InvalidType {
            name,
            at: self.position(name),
        }
    }

    /// `getString`.
    pub(crate) fn string(&self, name: &'static str) -> Result<&'a str, CommandError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| self.invalid_type(name))
    }

    /// `getInteger`: a JSON integer (a fraction or an exponent makes a real, which Kea refuses).
    pub(crate) fn integer(&self, name: &'static str) -> Result<i64, CommandError> {
        self.required(name)?
            .as_i64()
            .ok_or_else(|| self.invalid_type(name))
    }

    /// `getIntType<T>`: an integer within `T`'s range.
    fn int_in<T: TryFrom<i64>>(&self, name: &'static str) -> Result<T, CommandError> {
        let value = self.integer(name)?;
        T::try_from(value).map_err(|_| CommandError::OutOfRange {
            name,
            value,
            at: self.position(name),
        })
    }

    /// `getUint32`.
    pub(crate) fn u32(&self, name: &'static str) -> Result<u32, CommandError> {
        self.int_in(name)
    }

    /// `getUint8`.
    pub(crate) fn u8(&self, name: &'static str) -> Result<u8, CommandError> {
        self.int_in(name)
    }

    /// `getBoolean`.
    pub(crate) fn boolean(&self, name: &'static str) -> Result<bool, CommandError> {
        self.required(name)?
            .as_bool()
            .ok_or_else(|| self.invalid_type(name))
    }

    /// `getAddress`.
    pub(crate) fn address(&self, name: &'static str) -> Result<IpAddr, CommandError> {
        let text = self.string(name)?;
        ident::parse_ip(text).map_err(|_| CommandError::BadAddress {
            text: text.to_owned(),
            at: self.position(name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_parser_texts() {
        let value = json!({"ip-address": "bogus", "valid-lft": -1, "fqdn-fwd": "yes"});
        let args = Args::new(&value).unwrap();
        assert_eq!(
            args.string("hw-address").unwrap_err().to_string(),
            "missing parameter 'hw-address' (<wire>:0:16)"
        );
        assert_eq!(
            args.u32("valid-lft").unwrap_err().to_string(),
            "out of range value (-1) specified for parameter 'valid-lft' (<wire>:0:72)"
        );
        assert_eq!(
            args.boolean("fqdn-fwd").unwrap_err().to_string(),
            "invalid type specified for parameter 'fqdn-fwd' (<wire>:0:29)"
        );
        assert_eq!(
            args.address("ip-address").unwrap_err().to_string(),
            "Failed to convert 'bogus' to address: Failed to convert string to address 'bogus': \
             Invalid argument(<wire>:0:50)"
        );
        assert_eq!(
            Args::new(&json!([1])).unwrap_err().to_string(),
            "get(string) called on a non-map Element in (<wire>:0:16)"
        );
    }
}
