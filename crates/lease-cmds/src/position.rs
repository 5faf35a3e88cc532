//! Kea's element positions (`<wire>:LINE:COL`) in the texts of argument errors.
//!
//! Kea's `SimpleParser` getters end their messages with the position of the offending element as
//! its JSON reader recorded it when the command text arrived on the socket
//! (`missing parameter 'hw-address' (<wire>:0:16)`). A handler here sees the parsed command, not
//! its text, so positions are computed for the command as Kea itself writes it (`Element::str()`:
//! one line, keys sorted, `{ "k": v, ... }`). That is the text every Kea-speaking sender
//! produces: `kea-ctrl-agent` forwards commands in that form, and HA partners send lease updates
//! in it (reference 1.8). A client that writes the same command with other spacing directly on
//! the socket gets the same message with another column from Kea.
//!
//! Kea's reader (2.2 `data.cc`, `fromJSON`) records a map or a list one column after its
//! opening bracket and a scalar at the number of characters read before it, on line 0 for a
//! one-line text.

use std::fmt;

use serde_json::{Map, Value};

/// Where `arguments` starts in `{ "arguments": ...`: 15 characters precede its value.
const ARGUMENTS_OFFSET: usize = "{ \"arguments\": ".len();

/// A position as Kea prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    line: usize,
    col: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<wire>:{}:{}", self.line, self.col)
    }
}

impl Position {
    /// The position Kea's reader records for `value` starting at byte `offset` of the line.
    fn at(offset: usize, value: &Value) -> Self {
        let col = match value {
            Value::Object(_) | Value::Array(_) => offset + 1,
            _ => offset,
        };
        Self { line: 0, col }
    }

    /// The position of the `arguments` element of a command.
    pub(crate) fn of_arguments(arguments: &Value) -> Self {
        Self::at(ARGUMENTS_OFFSET, arguments)
    }

    /// The position of `arguments[key]`, or of the arguments map when `key` is absent (Kea's
    /// `SimpleParser::getPosition`).
    pub(crate) fn of_member(arguments: &Map<String, Value>, key: &str) -> Self {
        let map_value = || Position {
            line: 0,
            col: ARGUMENTS_OFFSET + 1,
        };
        let Some(target) = arguments.get(key) else {
            return map_value();
        };
        let mut keys: Vec<&String> = arguments.keys().collect();
        keys.sort();
        // "{ " then `"key": value` entries separated by ", ".
        let mut offset = ARGUMENTS_OFFSET + 2;
        for k in keys {
            let key_len = Value::String(k.clone()).to_string().len() + 2;
            if k == key {
                return Self::at(offset + key_len, target);
            }
            let value_len = arguments.get(k).map_or(0, |v| kea_str(v).len());
            offset += key_len + value_len + 2;
        }
        map_value()
    }
}

/// Kea's `Element::str()`: `{ "a": 1, "b": [ 1, 2 ] }`, keys sorted, `{  }`/`[  ]` when empty.
pub(crate) fn kea_str(value: &Value) -> String {
    let mut out = String::new();
    write_kea(value, &mut out);
    out
}

fn write_kea(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_kea(item, out);
            }
            out.push_str(" ]");
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("{ ");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_kea(item, out);
            }
            out.push_str(" }");
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Returns `value` with every map's keys in Kea's (sorted) order, so that the answer's text is
/// laid out as Kea lays it out.
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        scalar => scalar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(args: Value, key: &str) -> String {
        Position::of_member(args.as_object().unwrap(), key).to_string()
    }

    /// Columns Kea 2.2 printed for these arguments sent in its own layout.
    #[test]
    fn columns_match_kea() {
        assert_eq!(
            Position::of_arguments(&json!({})).to_string(),
            "<wire>:0:16"
        );
        assert_eq!(
            Position::of_arguments(&json!([1])).to_string(),
            "<wire>:0:16"
        );
        assert_eq!(
            Position::of_arguments(&json!("x")).to_string(),
            "<wire>:0:15"
        );
        let args = json!({"ip-address": "198.18.0.6", "hw-address": 5});
        assert_eq!(member(args, "hw-address"), "<wire>:0:31");
        let args = json!({"ip-address": "198.18.0.6", "hw-address": "aa:bb:cc:dd:ee:01",
            "valid-lft": "x"});
        assert_eq!(member(args, "valid-lft"), "<wire>:0:93");
        let args = json!({"ip-address": "198.18.0.6", "hw-address": "aa:bb:cc:dd:ee:01",
            "state": 300});
        assert_eq!(member(args, "state"), "<wire>:0:89");
        let args = json!({"ip-address": "198.18.0.6", "type": 5});
        assert_eq!(member(args, "type"), "<wire>:0:53");
        // Absent member: the map's own position.
        assert_eq!(member(json!({"a": 1}), "ip-address"), "<wire>:0:16");
    }

    #[test]
    fn kea_layout() {
        let v = json!({"b": [1, {"z": null, "a": "x"}], "a": {}, "c": []});
        assert_eq!(
            kea_str(&v),
            r#"{ "a": {  }, "b": [ 1, { "a": "x", "z": null } ], "c": [  ] }"#
        );
        let s = sorted(v);
        assert_eq!(
            s.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
