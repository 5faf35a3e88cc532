//! Kea's JSON "feed": finds where one command ends in a byte stream.
//!
//! The control socket has no length prefix and no delimiter: a command is complete when one
//! top-level JSON object (or array) is closed. This is a byte-at-a-time state machine with the
//! states of Kea 2.2's `JSONFeed` (`src/lib/cc/json_feed.cc`): it tracks strings, escapes and
//! brace depth, and strips the `#`, `//` and `/* */` comments Kea accepts before and inside the
//! JSON (newlines inside comments are kept so that parser positions stay meaningful). It does not
//! validate the JSON: that is [`JsonFeed::to_value`]'s job once the feed is complete, exactly as
//! Kea parses its feed's output only at the end. Bytes after the closing brace are left unread and
//! ignored by the caller, as Kea ignores them.
//!
//! The error texts (`invalid first character g`, `invalid character x`, `invalid characters /x`)
//! are Kea's. Unlike Kea, the feed refuses input beyond a size limit, so that a client cannot
//! make the server buffer without bound. No I/O here: the connection pushes whatever it read.

use serde_json::Value;

/// Default bound on the bytes of one command (comments and leading whitespace included).
///
/// Kea has no limit. A `config-set` carrying a large configuration is the biggest legitimate
/// command and stays far below this.
pub const DEFAULT_MAX_COMMAND_SIZE: usize = 16 * 1024 * 1024;

/// Where the feed is, named after Kea's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet (`RECEIVE_START_ST`).
    Start,
    /// Whitespace before the JSON.
    WhitespaceBefore,
    /// In a `#` or `//` comment before the JSON.
    EolCommentBefore,
    /// Read a `/` before the JSON.
    SlashBefore,
    /// In a `/* */` comment before the JSON.
    CCommentBefore,
    /// Read a `*` in a `/* */` comment before the JSON.
    StarBefore,
    /// Inside the JSON, outside strings.
    Inner,
    /// Inside a JSON string.
    String,
    /// After a backslash inside a string.
    Escape,
    /// In a `#` or `//` comment inside the JSON.
    EolComment,
    /// Read a `/` inside the JSON.
    Slash,
    /// In a `/* */` comment inside the JSON.
    CComment,
    /// Read a `*` in a `/* */` comment inside the JSON.
    Star,
    /// The top-level value is closed.
    Complete,
}

/// Why the bytes cannot be a command. `Display` gives the text Kea answers with.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The first byte is neither whitespace, a comment nor `{`/`[` (a string is not accepted).
    #[error("invalid first character {}", char::from(*.0))]
    InvalidFirstCharacter(u8),
    /// After leading whitespace or comments, a byte that cannot start the JSON.
    #[error("invalid character {}", char::from(*.0))]
    InvalidCharacter(u8),
    /// A `/` not followed by `/` or `*`.
    #[error("invalid characters /{}", char::from(*.0))]
    InvalidCommentStart(u8),
    /// The command is longer than the configured limit (Nestor only: Kea has no limit).
    #[error("command over control channel exceeds the maximum size of {limit} bytes, discarded")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// [`JsonFeed::to_value`] was called before the feed completed (Kea's text, typo included).
    #[error("unable to retrieve the data form the JSON feed while parsing hasn't finished")]
    NotComplete,
    /// The braces balance but the text is not valid JSON.
    #[error("{0}")]
    Json(#[source] serde_json::Error),
}

/// What [`JsonFeed::push`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// The value is not closed yet: push more bytes.
    NeedMoreData,
    /// The value is closed; `consumed` bytes of the last input were used and the rest must be
    /// ignored.
    Complete {
        /// Bytes of the last pushed slice that belong to the command.
        consumed: usize,
    },
}

/// Incremental framing of one JSON command; see the module documentation.
#[derive(Debug, Clone)]
pub struct JsonFeed {
    state: State,
    /// The command with comments stripped: Kea's `getProcessedText()`.
    output: Vec<u8>,
    /// Open `{`/`[` not yet closed. Kea does not check that they match; neither do we, the JSON
    /// parser does.
    depth: usize,
    /// Bytes consumed so far, comments included: what the size limit bounds.
    consumed: usize,
    max_size: usize,
    /// The first error, repeated by every later push.
    failed: Option<FailedAt>,
}

/// A remembered framing error (`FeedError` holds a non-`Clone` JSON error, so keep the cause).
#[derive(Debug, Clone, Copy)]
enum FailedAt {
    FirstCharacter(u8),
    Character(u8),
    CommentStart(u8),
    TooLarge,
}

impl Default for JsonFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonFeed {
    /// A feed with [`DEFAULT_MAX_COMMAND_SIZE`].
    pub fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_COMMAND_SIZE)
    }

    /// A feed refusing commands longer than `max_size` bytes.
    pub fn with_max_size(max_size: usize) -> Self {
        Self {
            state: State::Start,
            output: Vec::new(),
            depth: 0,
            consumed: 0,
            max_size,
            failed: None,
        }
    }

    /// Feeds `input`; returns how far the command got. After `Complete` or an error, further
    /// pushes return the same outcome (with `consumed: 0`) and read nothing.
    pub fn push(&mut self, input: &[u8]) -> Result<FeedStatus, FeedError> {
        if let Some(failed) = self.failed {
            return Err(self.error(failed));
        }
        if self.state == State::Complete {
            return Ok(FeedStatus::Complete { consumed: 0 });
        }
        for (index, &byte) in input.iter().enumerate() {
            if self.consumed >= self.max_size {
                return Err(self.fail(FailedAt::TooLarge));
            }
            self.consumed += 1;
            if let Err(failed) = self.step(byte) {
                return Err(self.fail(failed));
            }
            if self.state == State::Complete {
                return Ok(FeedStatus::Complete {
                    consumed: index + 1,
                });
            }
        }
        Ok(FeedStatus::NeedMoreData)
    }

    /// Whether the top-level value is closed.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// The command text read so far with comments and leading whitespace stripped.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// The length Kea reports in `discarded partial command of N bytes`.
    pub fn processed_len(&self) -> usize {
        self.output.len()
    }

    /// Parses the complete command.
    pub fn to_value(&self) -> Result<Value, FeedError> {
        if let Some(failed) = self.failed {
            return Err(self.error(failed));
        }
        if !self.is_complete() {
            return Err(FeedError::NotComplete);
        }
        serde_json::from_slice(&self.output).map_err(FeedError::Json)
    }

    fn fail(&mut self, failed: FailedAt) -> FeedError {
        self.failed = Some(failed);
        self.error(failed)
    }

    fn error(&self, failed: FailedAt) -> FeedError {
        match failed {
            FailedAt::FirstCharacter(byte) => FeedError::InvalidFirstCharacter(byte),
            FailedAt::Character(byte) => FeedError::InvalidCharacter(byte),
            FailedAt::CommentStart(byte) => FeedError::InvalidCommentStart(byte),
            FailedAt::TooLarge => FeedError::TooLarge {
                limit: self.max_size,
            },
        }
    }

    /// One transition of Kea's state machine.
    fn step(&mut self, byte: u8) -> Result<(), FailedAt> {
        self.state = match (self.state, byte) {
            (State::Start | State::WhitespaceBefore, b' ' | b'\t' | b'\n' | b'\r') => {
                State::WhitespaceBefore
            }
            (State::Start | State::WhitespaceBefore, b'#') => State::EolCommentBefore,
            (State::Start | State::WhitespaceBefore, b'/') => State::SlashBefore,
            (State::Start | State::WhitespaceBefore, b'{' | b'[') => {
                self.open(byte);
                State::Inner
            }
            (State::Start, other) => return Err(FailedAt::FirstCharacter(other)),
            (State::WhitespaceBefore, other) => return Err(FailedAt::Character(other)),

            (State::EolCommentBefore, b'\n') => State::WhitespaceBefore,
            (State::EolCommentBefore, _) => State::EolCommentBefore,
            (State::SlashBefore, b'/') => State::EolCommentBefore,
            (State::SlashBefore, b'*') => State::CCommentBefore,
            (State::SlashBefore, other) => return Err(FailedAt::CommentStart(other)),
            (State::CCommentBefore, b'*') => State::StarBefore,
            (State::CCommentBefore, _) => State::CCommentBefore,
            (State::StarBefore, b'/') => State::WhitespaceBefore,
            (State::StarBefore, b'*') => State::StarBefore,
            (State::StarBefore, _) => State::CCommentBefore,

            (State::Inner, b'{' | b'[') => {
                self.open(byte);
                State::Inner
            }
            (State::Inner, b'}' | b']') => {
                self.output.push(byte);
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    State::Complete
                } else {
                    State::Inner
                }
            }
            (State::Inner, b'"') => {
                self.output.push(byte);
                State::String
            }
            (State::Inner, b'#') => State::EolComment,
            (State::Inner, b'/') => State::Slash,
            (State::Inner, other) => {
                self.output.push(other);
                State::Inner
            }

            (State::String, other) => {
                self.output.push(other);
                match other {
                    b'"' => State::Inner,
                    b'\\' => State::Escape,
                    _ => State::String,
                }
            }
            (State::Escape, other) => {
                self.output.push(other);
                State::String
            }

            // Comments inside the JSON keep their newlines, as Kea's do.
            (State::EolComment, b'\n') => {
                self.output.push(b'\n');
                State::Inner
            }
            (State::EolComment, _) => State::EolComment,
            (State::Slash, b'/') => State::EolComment,
            (State::Slash, b'*') => State::CComment,
            (State::Slash, other) => return Err(FailedAt::CommentStart(other)),
            (State::CComment, b'*') => State::Star,
            (State::CComment, b'\n') => {
                self.output.push(b'\n');
                State::CComment
            }
            (State::CComment, _) => State::CComment,
            (State::Star, b'/') => State::Inner,
            (State::Star, b'*') => State::Star,
            (State::Star, b'\n') => {
                self.output.push(b'\n');
                State::CComment
            }
            (State::Star, _) => State::CComment,

            // `push` never steps a complete feed.
            (State::Complete, _) => State::Complete,
        };
        Ok(())
    }

    fn open(&mut self, byte: u8) {
        self.output.push(byte);
        self.depth += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Feeds `input` whole, and again one byte at a time: both must agree.
    fn feed_all(input: &[u8]) -> Result<(Value, usize), String> {
        let whole = {
            let mut feed = JsonFeed::new();
            match feed.push(input) {
                Ok(FeedStatus::Complete { consumed }) => feed
                    .to_value()
                    .map(|v| (v, consumed))
                    .map_err(|e| e.to_string()),
                Ok(FeedStatus::NeedMoreData) => Err("need more".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        };
        let bytewise = {
            let mut feed = JsonFeed::new();
            let mut outcome = Err("need more".to_owned());
            for (index, byte) in input.iter().enumerate() {
                match feed.push(std::slice::from_ref(byte)) {
                    Ok(FeedStatus::NeedMoreData) => continue,
                    Ok(FeedStatus::Complete { consumed }) => {
                        assert_eq!(consumed, 1);
                        outcome = feed
                            .to_value()
                            .map(|v| (v, index + 1))
                            .map_err(|e| e.to_string());
                        break;
                    }
                    Err(e) => {
                        outcome = Err(e.to_string());
                        break;
                    }
                }
            }
            outcome
        };
        assert_eq!(whole, bytewise, "whole and byte-at-a-time feeds disagree");
        whole
    }

    #[test]
    fn plain_object() {
        let input = br#"{"command": "list-commands"}"#;
        assert_eq!(
            feed_all(input),
            Ok((json!({"command": "list-commands"}), input.len()))
        );
    }

    #[test]
    fn comments_before_and_inside_are_stripped() {
        let input = b"# hash comment\n// slash comment\n/* c\n comment **/ \t\r\n{\"command\": /* in */ \"x\" // eol\n, # hash\n \"arguments\": {\"a\": [1, {\"b\": 2}]}}";
        let (value, consumed) = feed_all(input).unwrap();
        assert_eq!(
            value,
            json!({"command": "x", "arguments": {"a": [1, {"b": 2}]}})
        );
        assert_eq!(consumed, input.len());
    }

    #[test]
    fn comment_newlines_are_kept_in_output() {
        let mut feed = JsonFeed::new();
        feed.push(b"{\"a\": /* x\ny */ 1 // z\n}").unwrap();
        assert_eq!(feed.output(), b"{\"a\": \n 1 \n}");
    }

    #[test]
    fn strings_hide_braces_comment_markers_and_escaped_quotes() {
        let input = br##"{"command": "a\"}b", "x": "# // /* {[ ]} \\", "y": "\u00e9"}"##;
        let (value, consumed) = feed_all(input).unwrap();
        assert_eq!(value["command"], json!("a\"}b"));
        assert_eq!(value["x"], json!("# // /* {[ ]} \\"));
        assert_eq!(value["y"], json!("é"));
        assert_eq!(consumed, input.len());
    }

    #[test]
    fn trailing_data_is_not_consumed() {
        let input = br#"{"command": "foo"} trailing junk {"#;
        let (value, consumed) = feed_all(input).unwrap();
        assert_eq!(value, json!({"command": "foo"}));
        assert_eq!(consumed, 18);
        let mut feed = JsonFeed::new();
        feed.push(br#"{"a":1}}"#).unwrap();
        assert!(matches!(
            feed.push(b"more"),
            Ok(FeedStatus::Complete { consumed: 0 })
        ));
    }

    #[test]
    fn kea_framing_errors() {
        assert_eq!(
            feed_all(b"garbage").unwrap_err(),
            "invalid first character g"
        );
        assert_eq!(
            feed_all(b"\"str\"").unwrap_err(),
            "invalid first character \""
        );
        assert_eq!(feed_all(b"  x").unwrap_err(), "invalid character x");
        assert_eq!(feed_all(b"/x").unwrap_err(), "invalid characters /x");
        assert_eq!(
            feed_all(b"{\"a\": /x}").unwrap_err(),
            "invalid characters /x"
        );
        assert_eq!(
            feed_all(b"\xff").unwrap_err(),
            "invalid first character \u{ff}"
        );
    }

    #[test]
    fn arrays_frame_like_maps() {
        assert_eq!(
            feed_all(b"[1, [2], {\"a\": 3}] x"),
            Ok((json!([1, [2], {"a": 3}]), 18))
        );
    }

    #[test]
    fn balanced_but_invalid_json_fails_at_parse() {
        let mut feed = JsonFeed::new();
        assert_eq!(
            feed.push(b"{\"command\": }").unwrap(),
            FeedStatus::Complete { consumed: 13 }
        );
        assert!(matches!(feed.to_value(), Err(FeedError::Json(_))));
        // Kea does not match bracket kinds while framing either.
        let mut feed = JsonFeed::new();
        assert!(matches!(
            feed.push(b"{\"a\": 1]"),
            Ok(FeedStatus::Complete { .. })
        ));
        assert!(feed.to_value().is_err());
    }

    #[test]
    fn partial_command_reports_processed_length_without_comments() {
        let mut feed = JsonFeed::new();
        let input = br#"/* c */ {"command": /* in */ "list-commands""#;
        assert_eq!(feed.push(input).unwrap(), FeedStatus::NeedMoreData);
        // Kea 2.2 answered "discarded partial command of 28 bytes" for this input.
        assert_eq!(feed.processed_len(), 28);
        assert!(matches!(feed.to_value(), Err(FeedError::NotComplete)));
        let mut feed = JsonFeed::new();
        feed.push(b"   # only a comment").unwrap();
        assert_eq!(feed.processed_len(), 0);
    }

    #[test]
    fn size_limit_counts_comments_and_sticks() {
        let mut feed = JsonFeed::with_max_size(8);
        assert_eq!(
            feed.push(b"{\"a\":1}").unwrap(),
            FeedStatus::Complete { consumed: 7 }
        );
        let mut feed = JsonFeed::with_max_size(8);
        assert_eq!(feed.push(b"/*******").unwrap(), FeedStatus::NeedMoreData);
        let err = feed.push(b"*/{}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "command over control channel exceeds the maximum size of 8 bytes, discarded"
        );
        assert!(matches!(
            feed.push(b"{}"),
            Err(FeedError::TooLarge { limit: 8 })
        ));
        assert!(feed.to_value().is_err());
    }

    #[test]
    fn errors_stick() {
        let mut feed = JsonFeed::new();
        assert!(feed.push(b"x").is_err());
        assert!(matches!(
            feed.push(b"{}"),
            Err(FeedError::InvalidFirstCharacter(b'x'))
        ));
    }
}
