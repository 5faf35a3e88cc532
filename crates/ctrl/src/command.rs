//! Kea's control command: `{"command": string, "service": [string]?, "arguments": any?,
//! "remote-address": string?}`.
//!
//! [`Command::from_value`] performs the checks of Kea 2.2's `parseCommand`
//! (`src/lib/cc/command_interpreter.cc`) in the same order and with the same texts, so that a
//! malformed command gets the answer a Kea server gives. `service` is kept as the raw JSON value:
//! the DHCP server ignores it, but the control agent must answer `service value must be a list`
//! when it is not one, which needs the original value.

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value};

/// The keys Kea accepts in a command map.
const KNOWN_KEYS: [&str; 4] = ["arguments", "command", "remote-address", "service"];

/// Why a JSON value is not a valid command; the texts are Kea's (typo included).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The value is not a JSON map.
    #[error("Invalid command Element specified, expected map")]
    NotAMap,
    /// The map has no `command` key. Kea's text really says "answer".
    #[error("Invalid answer specified, does not contain mandatory 'command'")]
    MissingCommand,
    /// The map has a key Kea does not accept; Kea reports the alphabetically first one.
    #[error("Received command contains unsupported parameter '{0}'")]
    UnsupportedParameter(String),
    /// `command` is not a string.
    #[error("'command' element in command message is not a string")]
    CommandNotString,
    /// `service` is present but not a list of strings (the control agent's check).
    #[error("service value must be a list")]
    ServiceNotList,
    /// A handler required arguments and the command has none (Kea's `parseCommandWithArgs`).
    #[error("no arguments specified for the '{0}' command")]
    NoArguments(String),
    /// A handler required a map of arguments.
    #[error("arguments specified for the '{0}' command are not a map")]
    ArgumentsNotMap(String),
    /// A handler required a non-empty map of arguments.
    #[error("arguments must not be empty for the '{0}' command")]
    EmptyArguments(String),
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The command name, e.g. `lease4-get`.
    pub command: String,
    /// The raw `service` value; see [`Command::services`].
    pub service: Option<Value>,
    /// Command-specific arguments.
    pub arguments: Option<Value>,
    /// The HTTP client address the control agent adds when it forwards a command. Kea does not
    /// type-check this key; a non-string value is accepted and dropped here.
    pub remote_address: Option<String>,
}

impl Command {
    /// A command with only a name.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            service: None,
            arguments: None,
            remote_address: None,
        }
    }

    /// The same command carrying `arguments`.
    #[must_use]
    pub fn with_arguments(mut self, arguments: Value) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// The same command addressed to `services` (e.g. `["dhcp4"]`).
    #[must_use]
    pub fn with_services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = services
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        self.service = Some(Value::Array(list));
        self
    }

    /// Validates `value` as Kea's `parseCommand` does.
    pub fn from_value(value: Value) -> Result<Self, CommandError> {
        let Value::Object(mut map) = value else {
            return Err(CommandError::NotAMap);
        };
        if !map.contains_key("command") {
            return Err(CommandError::MissingCommand);
        }
        // Kea iterates a `std::map`, so the first unknown key it meets is the smallest one.
        if let Some(unknown) = map
            .keys()
            .filter(|key| !KNOWN_KEYS.contains(&key.as_str()))
            .min()
        {
            return Err(CommandError::UnsupportedParameter(unknown.clone()));
        }
        let Some(Value::String(command)) = map.remove("command") else {
            return Err(CommandError::CommandNotString);
        };
        let remote_address = match map.remove("remote-address") {
            Some(Value::String(address)) => Some(address),
            _ => None,
        };
        Ok(Self {
            command,
            service: map.remove("service"),
            arguments: map.remove("arguments"),
            remote_address,
        })
    }

    /// The `service` list: `Ok(None)` when absent, an error when not a list of strings.
    pub fn services(&self) -> Result<Option<Vec<String>>, CommandError> {
        match &self.service {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or(CommandError::ServiceNotList)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(CommandError::ServiceNotList),
        }
    }

    /// The arguments as a non-empty map, with Kea's `parseCommandWithArgs` errors.
    pub fn arguments_map(&self) -> Result<&Map<String, Value>, CommandError> {
        match &self.arguments {
            None => Err(CommandError::NoArguments(self.command.clone())),
            Some(Value::Object(map)) if map.is_empty() => {
                Err(CommandError::EmptyArguments(self.command.clone()))
            }
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(CommandError::ArgumentsNotMap(self.command.clone())),
        }
    }

    /// The command as a JSON value, keys in Kea's (alphabetical) order.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(arguments) = &self.arguments {
            map.insert("arguments".to_owned(), arguments.clone());
        }
        map.insert("command".to_owned(), Value::String(self.command.clone()));
        if let Some(address) = &self.remote_address {
            map.insert("remote-address".to_owned(), Value::String(address.clone()));
        }
        if let Some(service) = &self.service {
            map.insert("service".to_owned(), service.clone());
        }
        Value::Object(map)
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 1
            + usize::from(self.arguments.is_some())
            + usize::from(self.remote_address.is_some())
            + usize::from(self.service.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        if let Some(arguments) = &self.arguments {
            map.serialize_entry("arguments", arguments)?;
        }
        map.serialize_entry("command", &self.command)?;
        if let Some(address) = &self.remote_address {
            map.serialize_entry("remote-address", address)?;
        }
        if let Some(service) = &self.service {
            map.serialize_entry("service", service)?;
        }
        map.end()
    }
}

impl TryFrom<Value> for Command {
    type Error = CommandError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> String {
        Command::from_value(value).unwrap_err().to_string()
    }

    #[test]
    fn kea_error_texts() {
        assert_eq!(
            err(json!([1, 2])),
            "Invalid command Element specified, expected map"
        );
        assert_eq!(
            err(json!("x")),
            "Invalid command Element specified, expected map"
        );
        assert_eq!(
            err(json!({"foo": 1})),
            "Invalid answer specified, does not contain mandatory 'command'"
        );
        assert_eq!(
            err(json!({"command": 5})),
            "'command' element in command message is not a string"
        );
        assert_eq!(
            err(json!({"command": null})),
            "'command' element in command message is not a string"
        );
    }

    #[test]
    fn unknown_key_is_the_alphabetically_first_as_kea() {
        // Kea answered `unsupported parameter 'extra'` for exactly this input.
        assert_eq!(
            err(json!({"zz": 2, "command": "version-get", "extra": 1})),
            "Received command contains unsupported parameter 'extra'"
        );
        // Unknown keys are checked before the type of `command`, as in Kea.
        assert_eq!(
            err(json!({"command": 5, "bar": 1})),
            "Received command contains unsupported parameter 'bar'"
        );
    }

    #[test]
    fn parses_all_fields() {
        let cmd = Command::from_value(json!({
            "command": "lease4-get",
            "service": ["dhcp4"],
            "arguments": {"ip-address": "198.18.0.10"},
            "remote-address": "127.0.0.1"
        }))
        .unwrap();
        assert_eq!(cmd.command, "lease4-get");
        assert_eq!(cmd.services().unwrap(), Some(vec!["dhcp4".to_owned()]));
        assert_eq!(cmd.remote_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            cmd.arguments_map().unwrap()["ip-address"],
            json!("198.18.0.10")
        );
        // Kea's key order on output, and a lossless round trip.
        assert_eq!(
            serde_json::to_string(&cmd).unwrap(),
            r#"{"arguments":{"ip-address":"198.18.0.10"},"command":"lease4-get","remote-address":"127.0.0.1","service":["dhcp4"]}"#
        );
        assert_eq!(Command::from_value(cmd.to_value()).unwrap(), cmd);
    }

    #[test]
    fn service_kept_raw_for_the_agent() {
        let cmd = Command::from_value(json!({"command": "x", "service": "dhcp4"})).unwrap();
        assert_eq!(cmd.service, Some(json!("dhcp4")));
        assert_eq!(
            cmd.services().unwrap_err().to_string(),
            "service value must be a list"
        );
        let cmd = Command::from_value(json!({"command": "x", "service": [1]})).unwrap();
        assert_eq!(cmd.services(), Err(CommandError::ServiceNotList));
        assert_eq!(Command::new("x").services(), Ok(None));
        let cmd = Command::new("x").with_services(["dhcp4", "dhcp6"]);
        assert_eq!(cmd.service, Some(json!(["dhcp4", "dhcp6"])));
    }

    #[test]
    fn arguments_map_errors_are_kea_texts() {
        let cmd = Command::new("lease4-add");
        assert_eq!(
            cmd.arguments_map().unwrap_err().to_string(),
            "no arguments specified for the 'lease4-add' command"
        );
        let cmd = cmd.with_arguments(json!([1]));
        assert_eq!(
            cmd.arguments_map().unwrap_err().to_string(),
            "arguments specified for the 'lease4-add' command are not a map"
        );
        let cmd = cmd.with_arguments(json!({}));
        assert_eq!(
            cmd.arguments_map().unwrap_err().to_string(),
            "arguments must not be empty for the 'lease4-add' command"
        );
    }
}
