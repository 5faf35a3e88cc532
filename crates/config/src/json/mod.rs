//! Kea's JSON dialect as a positioned value tree.
//!
//! Kea 2.2 reads its configuration with a flex/bison pair that accepts JSON plus `#`, `//` and
//! `/* */` comments, `<?include "file"?>` directives, and trailing commas (with a warning), and
//! rejects duplicate keys. Every element remembers where it started so that semantic errors can
//! point at `file:line:col`. `serde_json` can neither report duplicate keys nor keep positions,
//! hence this small parser ([`parser`]). Maps keep document order (Kea's `config-get` sorts, but
//! error reports in document order read better).

pub mod parser;

use crate::error::Location;

/// A parsed JSON value with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts (for a map or list: its opening bracket).
    pub loc: Location,
}

/// A map key with its position (Kea reports unknown and duplicate keys at the key).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key's opening quote is.
    pub loc: Location,
}

/// JSON value. Integers and floats are distinct as in Kea (`t2-percent: 0` is a syntax error
/// there: "expecting floating point").
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal (Kea: int64).
    Int(i64),
    /// A literal with a fraction or exponent.
    Float(f64),
    /// A string, escapes decoded.
    Str(String),
    /// A list.
    List(Vec<Node>),
    /// A map in document order; keys are unique (the parser rejects duplicates).
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// Kea's name of the type, used in "expected X, got Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "floating point",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

impl Node {
    /// The entry of a map by key, when this node is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, when this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to an unpositioned `serde_json` value (for `user-context`, hook parameters and
    /// `config-get` rendering).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
