//! Kea's control answer: `{"arguments": any?, "result": int, "text": string?}`.
//!
//! Mirrors `isc::config::createAnswer` / `parseAnswer` (Kea 2.2 `src/lib/cc/command_interpreter.cc`):
//! `text` is left out when empty, `arguments` when absent, and the result codes are the
//! `CONTROL_RESULT_*` constants (0 success, 1 error, 2 command unsupported, 3 empty, 4 conflict).
//! Plugins use other values (HA answers 1001 when a partner is unavailable), so the code is an
//! open enum rather than a closed one.
//!
//! Kea 2.2 stores maps as `std::map`, so every answer it writes has its keys in alphabetical order
//! (`arguments`, `result`, `text`); [`Answer`] serialises in that order too, and
//! [`to_kea_json`] reproduces Kea's `{ "key": value, ... }` spacing so that byte-level diffs
//! against a Kea server stay readable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeMap};
use serde_json::Value;

/// The `result` of an [`Answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 0: the command succeeded.
    Success,
    /// 1: the command failed.
    Error,
    /// 2: the command is not supported by this server.
    Unsupported,
    /// 3: the command succeeded but found nothing (e.g. `lease4-get` of an unknown address).
    Empty,
    /// 4: the command conflicts with the current state (e.g. a lease owned by another client).
    Conflict,
    /// Any other value, such as HA's 1001 (`HA_CONTROL_RESULT_MAINTENANCE_NOT_ALLOWED`).
    Other(i64),
}

impl ResultCode {
    /// The integer written on the wire.
    pub const fn code(self) -> i64 {
        match self {
            Self::Success => 0,
            Self::Error => 1,
            Self::Unsupported => 2,
            Self::Empty => 3,
            Self::Conflict => 4,
            Self::Other(code) => code,
        }
    }

    /// The code for an integer read off the wire; never fails.
    pub const fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Success,
            1 => Self::Error,
            2 => Self::Unsupported,
            3 => Self::Empty,
            4 => Self::Conflict,
            other => Self::Other(other),
        }
    }
}

impl From<i64> for ResultCode {
    fn from(code: i64) -> Self {
        Self::from_code(code)
    }
}

impl From<ResultCode> for i64 {
    fn from(code: ResultCode) -> Self {
        code.code()
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for ResultCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for ResultCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(Self::from_code)
    }
}

/// Why a JSON value is not an answer; the texts are Kea's (`parseAnswer`), typo included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The value is not a JSON map.
    #[error("Invalid answer Element specified, expected map")]
    NotAMap,
    /// The map has no `result`.
    #[error("Invalid answer specified, does not contain mandatory 'result'")]
    MissingResult,
    /// `result` is not an integer (Kea's text says "string": kept for compatibility).
    #[error("Result element in answer message is not a string")]
    ResultNotInteger,
    /// `text` is present but not a string (Kea throws a type error; we name the field).
    #[error("'text' element in answer message is not a string")]
    TextNotString,
}

/// A control answer as Kea writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The result code.
    pub result: ResultCode,
    /// Human-readable text; Kea omits it when empty (e.g. `list-commands`, `status-get`).
    pub text: Option<String>,
    /// Command-specific payload.
    pub arguments: Option<Value>,
}

impl Answer {
    /// An answer with `result` and `text`; an empty `text` is omitted as Kea's `createAnswer` does.
    pub fn new(result: ResultCode, text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            result,
            text: (!text.is_empty()).then_some(text),
            arguments: None,
        }
    }

    /// Result 0 with `text`.
    pub fn success(text: impl Into<String>) -> Self {
        Self::new(ResultCode::Success, text)
    }

    /// Result 0 with `arguments` and no text (the shape of `list-commands`, `status-get`).
    pub fn success_with_arguments(arguments: Value) -> Self {
        Self {
            result: ResultCode::Success,
            text: None,
            arguments: Some(arguments),
        }
    }

    /// Result 1 with `text`.
    pub fn error(text: impl Into<String>) -> Self {
        Self::new(ResultCode::Error, text)
    }

    /// Result 2 with Kea's text `'<command>' command not supported.`.
    pub fn unsupported(command: &str) -> Self {
        Self::new(
            ResultCode::Unsupported,
            format!("'{command}' command not supported."),
        )
    }

    /// Result 3 with `text`.
    pub fn empty(text: impl Into<String>) -> Self {
        Self::new(ResultCode::Empty, text)
    }

    /// Result 4 with `text`.
    pub fn conflict(text: impl Into<String>) -> Self {
        Self::new(ResultCode::Conflict, text)
    }

    /// The same answer carrying `arguments`.
    #[must_use]
    pub fn with_arguments(mut self, arguments: Value) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// Whether the result is 0.
    pub fn is_success(&self) -> bool {
        self.result == ResultCode::Success
    }

    /// Reads an answer the way Kea's `parseAnswer` does: keys other than the three are ignored.
    pub fn from_value(value: &Value) -> Result<Self, AnswerError> {
        let map = value.as_object().ok_or(AnswerError::NotAMap)?;
        let result = map.get("result").ok_or(AnswerError::MissingResult)?;
        let result = result.as_i64().ok_or(AnswerError::ResultNotInteger)?;
        let text = match map.get("text") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(AnswerError::TextNotString),
        };
        Ok(Self {
            result: ResultCode::from_code(result),
            text,
            arguments: map.get("arguments").cloned(),
        })
    }

    /// The answer as a JSON value, keys in Kea's order.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        if let Some(arguments) = &self.arguments {
            map.insert("arguments".to_owned(), arguments.clone());
        }
        map.insert("result".to_owned(), Value::from(self.result.code()));
        if let Some(text) = &self.text {
            map.insert("text".to_owned(), Value::String(text.clone()));
        }
        Value::Object(map)
    }

    /// The answer as Kea writes it on the control socket (`{ "result": 0, "text": "..." }`).
    pub fn to_kea_json(&self) -> String {
        to_kea_json(self)
    }
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 1 + usize::from(self.text.is_some()) + usize::from(self.arguments.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        if let Some(arguments) = &self.arguments {
            map.serialize_entry("arguments", arguments)?;
        }
        map.serialize_entry("result", &self.result)?;
        if let Some(text) = &self.text {
            map.serialize_entry("text", text)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Answer {
    /// Kea's `answerToText`: `success(0), text=...` / `failure(2), text=...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result {
            ResultCode::Success => write!(f, "success(0)")?,
            other => write!(f, "failure({other})")?,
        }
        if let Some(text) = &self.text {
            write!(f, ", text={text}")?;
        }
        Ok(())
    }
}

/// Serialises any value with Kea's `Element::str()` spacing: `{ "a": 1, "b": [ 1, 2 ] }`,
/// empty containers as `{  }` and `[  ]`. Key order is the value's own.
pub fn to_kea_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, KeaFormatter);
    // Serialising a `Value` or our own types into a Vec cannot fail (no I/O, string keys only);
    // a foreign type with non-string map keys would, and then gets the compact form's error text.
    match value.serialize(&mut serializer) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(err) => format!("{{ \"result\": 1, \"text\": \"cannot serialise answer: {err}\" }}"),
    }
}

/// `serde_json` formatter producing Kea's spacing.
#[derive(Debug, Clone, Copy)]
struct KeaFormatter;

impl serde_json::ser::Formatter for KeaFormatter {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b"[ ")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b" ]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b"{ ")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b" }")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_codes_round_trip() {
        for code in [-1, 0, 1, 2, 3, 4, 5, 1001] {
            assert_eq!(ResultCode::from_code(code).code(), code);
        }
        assert_eq!(ResultCode::from_code(1001), ResultCode::Other(1001));
        assert_eq!(ResultCode::from_code(3), ResultCode::Empty);
    }

    #[test]
    fn helpers_have_kea_shapes() {
        assert_eq!(
            Answer::unsupported("foo").to_value(),
            json!({"result": 2, "text": "'foo' command not supported."})
        );
        assert_eq!(Answer::success("").to_value(), json!({"result": 0}));
        assert_eq!(Answer::empty("0 IPv4 lease(s) found.").result.code(), 3);
        assert_eq!(Answer::conflict("x").result.code(), 4);
        assert_eq!(
            Answer::error("bad").to_value(),
            json!({"result": 1, "text": "bad"})
        );
    }

    #[test]
    fn keys_are_in_kea_order_with_kea_spacing() {
        let answer = Answer::success("done").with_arguments(json!({"b": [1, 2], "a": {}}));
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"arguments":{"b":[1,2],"a":{}},"result":0,"text":"done"}"#
        );
        assert_eq!(
            answer.to_kea_json(),
            r#"{ "arguments": { "b": [ 1, 2 ], "a": {  } }, "result": 0, "text": "done" }"#
        );
        assert_eq!(
            Answer::error("invalid first character g").to_kea_json(),
            r#"{ "result": 1, "text": "invalid first character g" }"#
        );
    }

    #[test]
    fn parses_like_kea_parse_answer() {
        assert_eq!(Answer::from_value(&json!([1])), Err(AnswerError::NotAMap));
        assert_eq!(
            Answer::from_value(&json!({"text": "x"})),
            Err(AnswerError::MissingResult)
        );
        assert_eq!(
            Answer::from_value(&json!({"result": "0"})),
            Err(AnswerError::ResultNotInteger)
        );
        assert_eq!(
            Answer::from_value(&json!({"result": 0, "text": 5})),
            Err(AnswerError::TextNotString)
        );
        let answer =
            Answer::from_value(&json!({"result": 1001, "text": "t", "arguments": [1], "x": 1}))
                .unwrap();
        assert_eq!(answer.result, ResultCode::Other(1001));
        assert_eq!(answer.text.as_deref(), Some("t"));
        assert_eq!(answer.arguments, Some(json!([1])));
        let back: Answer = serde_json::from_value(answer.to_value()).unwrap();
        assert_eq!(back, answer);
    }

    #[test]
    fn display_is_kea_answer_to_text() {
        assert_eq!(Answer::success("ok").to_string(), "success(0), text=ok");
        assert_eq!(
            Answer::unsupported("x").to_string(),
            "failure(2), text='x' command not supported."
        );
    }
}
