//! Tokenizer and recursive-descent parser for Kea's JSON dialect.
//!
//! Differences from strict JSON, all as in Kea 2.2's `dhcp4_lexer.ll` / `dhcp4_parser.yy`:
//! * comments: `#` and `//` to end of line, `/* ... */` (unterminated is an error);
//! * `<?include "path"?>` between tokens splices another file's tokens in place (Kea switches
//!   the lexer's input buffer); nesting is limited to [`MAX_INCLUDE_DEPTH`] and a file that
//!   includes itself, directly or not, is an error instead of Kea's descent to the depth limit;
//! * a comma right before `]` or `}` is accepted with Kea's "Extraneous comma" warning;
//! * a key repeated in one map is an error (Kea's `ctx.unique`).
//!
//! Relative include paths are resolved against the directory of the including file first, then
//! (as Kea, which simply `fopen`s the name) against the working directory.
//!
//! The parser never panics: every byte access is checked, container nesting is bounded by
//! [`MAX_DEPTH`] so hostile input cannot exhaust the stack, and numbers that do not fit an `i64`
//! (or a finite `f64`) are errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Key, Node, Value};
use crate::error::{ConfigError, ConfigWarning, ErrorKind, Location, WarningKind};

/// Deepest nesting of maps and lists accepted. Kea configurations need about ten levels; free-form
/// `user-context` maps get generous room.
pub const MAX_DEPTH: usize = 128;

/// Deepest `<?include?>` nesting, Kea's limit ("Too many nested include.").
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Largest configuration file (or included file) read. A config is kilobytes to a few
/// megabytes; the cap keeps an include of `/dev/zero` or `/proc/kcore` from exhausting memory.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Reads at most [`MAX_FILE_SIZE`] bytes; a longer file is an error.
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    read_at_most(path, MAX_FILE_SIZE)
}

fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("file larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// Above this many keys a map indexes its keys in a hash map for the duplicate check, so that a
/// hostile map with many keys stays linear.
const LINEAR_KEY_SCAN: usize = 16;

/// Result of parsing one document.
#[derive(Debug)]
pub struct Parsed {
    /// The root value.
    pub root: Node,
    /// Extraneous commas and similar remarks.
    pub warnings: Vec<ConfigWarning>,
}

/// Parses a document held in memory. `origin` names it in positions; relative includes are
/// resolved against the working directory.
pub fn parse_str(text: &str, origin: &str) -> Result<Parsed, ConfigError> {
    let src = Source::new(Arc::from(origin), text.as_bytes().to_vec(), None, None);
    Parser::new(src).parse_document()
}

/// Reads and parses a file.
pub fn parse_file(path: &Path) -> Result<Parsed, ConfigError> {
    let bytes = read_limited(path).map_err(|reason| {
        ConfigError::new(
            "",
            None,
            ErrorKind::Io {
                file: path.display().to_string(),
                reason,
            },
        )
    })?;
    let canon = std::fs::canonicalize(path).ok();
    let dir = path.parent().map(Path::to_path_buf);
    let src = Source::new(Arc::from(path.display().to_string()), bytes, dir, canon);
    Parser::new(src).parse_document()
}

/// One input buffer: the top document or an included file.
#[derive(Debug)]
struct Source {
    name: Arc<str>,
    text: Vec<u8>,
    pos: usize,
    line: u32,
    col: u32,
    /// Directory for resolving relative includes (None: working directory).
    dir: Option<PathBuf>,
    /// Canonical path, for cycle detection.
    canon: Option<PathBuf>,
}

impl Source {
    fn new(name: Arc<str>, text: Vec<u8>, dir: Option<PathBuf>, canon: Option<PathBuf>) -> Self {
        Self {
            name,
            text,
            pos: 0,
            line: 1,
            col: 1,
            dir,
            canon,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos.saturating_add(ahead)).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(b)
    }

    fn loc(&self) -> Location {
        Location {
            file: self.name.clone(),
            line: self.line,
            col: self.col,
        }
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(s))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Comma,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LBrace => "{".into(),
            Tok::RBrace => "}".into(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::Colon => ":".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Str(_) => "constant string".into(),
            Tok::Int(_) => "integer".into(),
            Tok::Float(_) => "floating point".into(),
            Tok::Bool(_) => "boolean".into(),
            Tok::Null => "null".into(),
            Tok::Eof => "end of file".into(),
        }
    }
}

#[derive(Debug)]
struct Parser {
    /// Input stack: the document at the bottom, included files above.
    stack: Vec<Source>,
    peeked: Option<(Tok, Location)>,
    warnings: Vec<ConfigWarning>,
}

fn syntax(loc: Location, msg: impl Into<String>) -> ConfigError {
    ConfigError::new("", Some(loc), ErrorKind::Syntax(msg.into()))
}

impl Parser {
    fn new(src: Source) -> Self {
        Self {
            stack: vec![src],
            peeked: None,
            warnings: Vec::new(),
        }
    }

    fn parse_document(mut self) -> Result<Parsed, ConfigError> {
        let root = self.value(0, "toplevel", "")?;
        let (tok, loc) = self.next()?;
        if tok != Tok::Eof {
            return Err(syntax(
                loc,
                format!("unexpected {}, expecting end of file", tok.describe()),
            ));
        }
        Ok(Parsed {
            root,
            warnings: self.warnings,
        })
    }

    fn cur_loc(&self) -> Location {
        self.stack.last().map_or_else(
            || Location {
                file: Arc::from(""),
                line: 0,
                col: 0,
            },
            Source::loc,
        )
    }

    fn peek(&mut self) -> Result<&(Tok, Location), ConfigError> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some(t);
        }
        // Just filled above; the fallback is unreachable but keeps this panic-free.
        match &self.peeked {
            Some(t) => Ok(t),
            None => Err(syntax(self.cur_loc(), "internal lexer state")),
        }
    }

    fn next(&mut self) -> Result<(Tok, Location), ConfigError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    /// `value := map | list | scalar`. `ctx` is the name of the enclosing key, used in duplicate
    /// key messages the way Kea names maps ("duplicate X entries in subnet4 map").
    fn value(&mut self, depth: usize, ctx: &str, path: &str) -> Result<Node, ConfigError> {
        let (tok, loc) = self.next()?;
        let value = match tok {
            Tok::LBrace => {
                return self
                    .map_rest(loc, depth + 1, ctx, path)
                    .map_err(|e| e.at(path));
            }
            Tok::LBracket => {
                return self
                    .list_rest(loc, depth + 1, ctx, path)
                    .map_err(|e| e.at(path));
            }
            Tok::Str(s) => Value::Str(s),
            Tok::Int(i) => Value::Int(i),
            Tok::Float(f) => Value::Float(f),
            Tok::Bool(b) => Value::Bool(b),
            Tok::Null => Value::Null,
            other => {
                return Err(syntax(loc, format!("unexpected {}", other.describe())).at(path));
            }
        };
        Ok(Node { value, loc })
    }

    fn check_depth(&self, depth: usize, loc: &Location) -> Result<(), ConfigError> {
        if depth > MAX_DEPTH {
            return Err(ConfigError::new(
                "",
                Some(loc.clone()),
                ErrorKind::TooDeep { limit: MAX_DEPTH },
            ));
        }
        Ok(())
    }

    fn extraneous_comma(&mut self, loc: Location, path: &str) {
        self.warnings.push(ConfigWarning {
            path: path.to_string(),
            location: Some(loc),
            kind: WarningKind::ExtraneousComma,
        });
    }

    fn map_rest(
        &mut self,
        start: Location,
        depth: usize,
        ctx: &str,
        path: &str,
    ) -> Result<Node, ConfigError> {
        self.check_depth(depth, &start).map_err(|e| e.at(path))?;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut index: Option<HashMap<String, usize>> = None;
        if matches!(self.peek()?.0, Tok::RBrace) {
            self.next()?;
            return Ok(Node {
                value: Value::Map(entries),
                loc: start,
            });
        }
        loop {
            let (tok, kloc) = self.next()?;
            let name = match tok {
                Tok::Str(s) => s,
                other => {
                    return Err(syntax(
                        kloc,
                        format!("unexpected {}, expecting constant string", other.describe()),
                    ));
                }
            };
            let (colon, cloc) = self.next()?;
            if colon != Tok::Colon {
                return Err(syntax(
                    cloc,
                    format!("unexpected {}, expecting :", colon.describe()),
                ));
            }
            let previous = match &index {
                Some(ix) => ix.get(&name).copied(),
                None => entries.iter().position(|(k, _)| k.name == name),
            };
            if let Some(prev) = previous.and_then(|i| entries.get(i)) {
                return Err(ConfigError::new(
                    child_key(path, &name),
                    Some(kloc),
                    ErrorKind::DuplicateKey {
                        key: name,
                        map: ctx.to_string(),
                        previous: prev.0.loc.clone(),
                    },
                ));
            }
            let value = self.value(depth, &name, &child_key(path, &name))?;
            if let Some(ix) = index.as_mut() {
                ix.insert(name.clone(), entries.len());
            }
            entries.push((Key { name, loc: kloc }, value));
            if index.is_none() && entries.len() > LINEAR_KEY_SCAN {
                index = Some(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.name.clone(), i))
                        .collect(),
                );
            }
            let (sep, sloc) = self.next()?;
            match sep {
                Tok::RBrace => break,
                Tok::Comma => {
                    if matches!(self.peek()?.0, Tok::RBrace) {
                        self.extraneous_comma(sloc, path);
                        self.next()?;
                        break;
                    }
                }
                other => {
                    return Err(syntax(
                        sloc,
                        format!("unexpected {}, expecting \",\" or }}", other.describe()),
                    ));
                }
            }
        }
        Ok(Node {
            value: Value::Map(entries),
            loc: start,
        })
    }

    fn list_rest(
        &mut self,
        start: Location,
        depth: usize,
        ctx: &str,
        path: &str,
    ) -> Result<Node, ConfigError> {
        self.check_depth(depth, &start).map_err(|e| e.at(path))?;
        let mut items = Vec::new();
        if matches!(self.peek()?.0, Tok::RBracket) {
            self.next()?;
            return Ok(Node {
                value: Value::List(items),
                loc: start,
            });
        }
        loop {
            let item_path = format!("{path}[{}]", items.len());
            items.push(self.value(depth, ctx, &item_path)?);
            let (sep, sloc) = self.next()?;
            match sep {
                Tok::RBracket => break,
                Tok::Comma => {
                    if matches!(self.peek()?.0, Tok::RBracket) {
                        self.extraneous_comma(sloc, path);
                        self.next()?;
                        break;
                    }
                }
                other => {
                    return Err(syntax(
                        sloc,
                        format!("unexpected {}, expecting \",\" or ]", other.describe()),
                    ));
                }
            }
        }
        Ok(Node {
            value: Value::List(items),
            loc: start,
        })
    }

    /// Next token, skipping whitespace and comments, following includes.
    fn lex(&mut self) -> Result<(Tok, Location), ConfigError> {
        loop {
            let depth = self.stack.len();
            let Some(src) = self.stack.last_mut() else {
                return Ok((
                    Tok::Eof,
                    Location {
                        file: Arc::from(""),
                        line: 0,
                        col: 0,
                    },
                ));
            };
            let Some(b) = src.peek() else {
                if depth > 1 {
                    self.stack.pop();
                    continue;
                }
                return Ok((Tok::Eof, src.loc()));
            };
            let loc = src.loc();
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    src.bump();
                }
                b'#' => skip_line(src),
                b'/' if src.peek_at(1) == Some(b'/') => skip_line(src),
                b'/' if src.peek_at(1) == Some(b'*') => {
                    src.bump();
                    src.bump();
                    loop {
                        if src.starts_with(b"*/") {
                            src.bump();
                            src.bump();
                            break;
                        }
                        if src.bump().is_none() {
                            return Err(syntax(loc, "unterminated comment"));
                        }
                    }
                }
                b'<' if src.starts_with(b"<?") => {
                    let path = lex_include(src, &loc)?;
                    self.push_include(&path, &loc)?;
                }
                b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                    src.bump();
                    let tok = match b {
                        b'{' => Tok::LBrace,
                        b'}' => Tok::RBrace,
                        b'[' => Tok::LBracket,
                        b']' => Tok::RBracket,
                        b':' => Tok::Colon,
                        _ => Tok::Comma,
                    };
                    return Ok((tok, loc));
                }
                b'"' => {
                    let s = lex_string(src, &loc)?;
                    return Ok((Tok::Str(s), loc));
                }
                b'-' | b'+' | b'.' | b'0'..=b'9' => return lex_number(src, loc),
                b'a'..=b'z' | b'A'..=b'Z' => {
                    let start = src.pos;
                    while src
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        src.bump();
                    }
                    let word = src.text.get(start..src.pos).unwrap_or_default();
                    let tok = match word {
                        b"true" => Tok::Bool(true),
                        b"false" => Tok::Bool(false),
                        b"null" => Tok::Null,
                        _ => {
                            return Err(syntax(
                                loc,
                                format!("invalid keyword {}", String::from_utf8_lossy(word)),
                            ));
                        }
                    };
                    return Ok((tok, loc));
                }
                other => {
                    return Err(syntax(
                        loc,
                        format!("invalid character {}", describe_byte(other)),
                    ));
                }
            }
        }
    }

    fn push_include(&mut self, path: &str, loc: &Location) -> Result<(), ConfigError> {
        let include_err =
            |msg: String| ConfigError::new("", Some(loc.clone()), ErrorKind::Include(msg));
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(include_err(format!(
                "too many nested includes (limit {MAX_INCLUDE_DEPTH}) at \"{path}\""
            )));
        }
        let given = PathBuf::from(path);
        let candidates: Vec<PathBuf> = if given.is_absolute() {
            vec![given.clone()]
        } else {
            let mut c = Vec::new();
            if let Some(dir) = self.stack.last().and_then(|s| s.dir.as_ref()) {
                c.push(dir.join(&given));
            }
            c.push(given.clone());
            c
        };
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            return Err(include_err(format!("can't open include file {path}")));
        };
        let canon = std::fs::canonicalize(found).ok();
        if let Some(c) = &canon
            && self.stack.iter().any(|s| s.canon.as_ref() == Some(c))
        {
            return Err(include_err(format!(
                "include cycle: {} is already being read",
                found.display()
            )));
        }
        let bytes = read_limited(found).map_err(|e| {
            include_err(format!("can't read include file {}: {e}", found.display()))
        })?;
        let dir = found.parent().map(Path::to_path_buf);
        self.stack.push(Source::new(
            Arc::from(found.display().to_string()),
            bytes,
            dir,
            canon,
        ));
        Ok(())
    }
}

fn child_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

fn skip_line(src: &mut Source) {
    while let Some(c) = src.peek() {
        if c == b'\n' {
            break;
        }
        src.bump();
    }
}

/// `<?include "path"?>` with optional blanks between the parts, as Kea's lexer.
fn lex_include(src: &mut Source, loc: &Location) -> Result<String, ConfigError> {
    let bad = || syntax(loc.clone(), "malformed <?include \"file\"?> directive");
    src.bump();
    src.bump();
    skip_blanks(src);
    if !src.starts_with(b"include") {
        return Err(bad());
    }
    for _ in 0..7 {
        src.bump();
    }
    skip_blanks(src);
    if src.peek() != Some(b'"') {
        return Err(bad());
    }
    let sloc = src.loc();
    let path = lex_string(src, &sloc)?;
    skip_blanks(src);
    if !src.starts_with(b"?>") {
        return Err(bad());
    }
    src.bump();
    src.bump();
    Ok(path)
}

fn skip_blanks(src: &mut Source) {
    while matches!(src.peek(), Some(b' ' | b'\t')) {
        src.bump();
    }
}

/// A JSON string: escapes decoded, raw control characters refused, UTF-8 validated.
fn lex_string(src: &mut Source, loc: &Location) -> Result<String, ConfigError> {
    src.bump(); // opening quote
    let mut out: Vec<u8> = Vec::new();
    loop {
        let here = src.loc();
        let Some(b) = src.bump() else {
            return Err(syntax(loc.clone(), "unterminated string"));
        };
        match b {
            b'"' => break,
            b'\\' => {
                let Some(e) = src.bump() else {
                    return Err(syntax(loc.clone(), "unterminated string"));
                };
                let c = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => lex_unicode(src, &here)?,
                    other => {
                        return Err(syntax(
                            here,
                            format!("bad escape \\{} in string", describe_byte(other)),
                        ));
                    }
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            0x00..=0x1f => {
                return Err(syntax(
                    here,
                    format!("invalid control character {} in string", describe_byte(b)),
                ));
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|e| {
        syntax(
            loc.clone(),
            format!(
                "string is not valid UTF-8 (byte {} of the string)",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn hex4(src: &mut Source, loc: &Location) -> Result<u32, ConfigError> {
    let mut v = 0u32;
    for _ in 0..4 {
        let d = src
            .bump()
            .and_then(|b| (b as char).to_digit(16))
            .ok_or_else(|| syntax(loc.clone(), "bad \\u escape in string"))?;
        v = v * 16 + d;
    }
    Ok(v)
}

fn lex_unicode(src: &mut Source, loc: &Location) -> Result<char, ConfigError> {
    let hi = hex4(src, loc)?;
    let code = if (0xd800..0xdc00).contains(&hi) {
        if !src.starts_with(b"\\u") {
            return Err(syntax(loc.clone(), "unpaired surrogate in \\u escape"));
        }
        src.bump();
        src.bump();
        let lo = hex4(src, loc)?;
        if !(0xdc00..0xe000).contains(&lo) {
            return Err(syntax(loc.clone(), "unpaired surrogate in \\u escape"));
        }
        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
    } else {
        hi
    };
    char::from_u32(code).ok_or_else(|| syntax(loc.clone(), "invalid \\u escape in string"))
}

/// Numbers as Kea's lexer reads them: an integer is `-?[0-9]+`; anything else matching
/// `[-+]?[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?` is a float, so `.5`, `5.` and `+1` are floats
/// (Kea's own `all-keys.json` example writes `"t1-percent": .5`).
fn lex_number(src: &mut Source, loc: Location) -> Result<(Tok, Location), ConfigError> {
    let start = src.pos;
    let mut float = false;
    match src.peek() {
        Some(b'+') => {
            float = true;
            src.bump();
        }
        Some(b'-') => {
            src.bump();
        }
        _ => {}
    }
    let mut digits = 0usize;
    while src.peek().is_some_and(|c| c.is_ascii_digit()) {
        src.bump();
        digits += 1;
    }
    if src.peek() == Some(b'.') {
        float = true;
        src.bump();
        while src.peek().is_some_and(|c| c.is_ascii_digit()) {
            src.bump();
            digits += 1;
        }
    }
    let exp_digits_follow = |src: &Source| {
        let after_sign = match src.peek_at(1) {
            Some(b'+' | b'-') => 2,
            _ => 1,
        };
        src.peek_at(after_sign).is_some_and(|c| c.is_ascii_digit())
    };
    if matches!(src.peek(), Some(b'e' | b'E')) && exp_digits_follow(src) {
        float = true;
        src.bump();
        if matches!(src.peek(), Some(b'+' | b'-')) {
            src.bump();
        }
        while src.peek().is_some_and(|c| c.is_ascii_digit()) {
            src.bump();
        }
    }
    let text = std::str::from_utf8(src.text.get(start..src.pos).unwrap_or_default()).unwrap_or("");
    if digits == 0 {
        return Err(syntax(loc, format!("invalid number {text}")));
    }
    if src
        .peek()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.')
    {
        return Err(syntax(
            loc,
            format!(
                "invalid number {text}{}",
                describe_byte(src.peek().unwrap_or(b'?'))
            ),
        ));
    }
    if float {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok((Tok::Float(f), loc)),
            _ => Err(syntax(
                loc,
                format!("Failed to convert {text} to a floating point."),
            )),
        }
    } else {
        text.parse::<i64>()
            .map(|i| (Tok::Int(i), loc.clone()))
            .map_err(|_| syntax(loc, format!("Failed to convert {text} to an integer.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Parsed, ConfigError> {
        parse_str(text, "t.json")
    }

    fn err(text: &str) -> ConfigError {
        match parse(text) {
            Ok(p) => panic!("expected an error, got {:?}", p.root),
            Err(e) => e,
        }
    }

    #[test]
    fn plain_json() {
        let p = parse(r#"{"a": [1, -2, 3.5, true, false, null, "s\u00e9\n"], "b": {}}"#).unwrap();
        let a = p.root.get("a").unwrap();
        let Value::List(items) = &a.value else {
            panic!()
        };
        assert_eq!(items[0].value, Value::Int(1));
        assert_eq!(items[1].value, Value::Int(-2));
        assert_eq!(items[2].value, Value::Float(3.5));
        assert_eq!(items[3].value, Value::Bool(true));
        assert_eq!(items[5].value, Value::Null);
        assert_eq!(items[6].value, Value::Str("s\u{e9}\n".into()));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn comments_everywhere() {
        let text = "# head\n// head2\n/* c */{/* c */\"a\"/* c */:/* c */1 # tail\n,// x\n\"b\"://\n[/**/2/**/,3]/* end */}# eof";
        let p = parse(text).unwrap();
        assert_eq!(p.root.get("a").unwrap().value, Value::Int(1));
        assert!(matches!(p.root.get("b").unwrap().value, Value::List(ref l) if l.len() == 2));
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        let p = parse(r#"{"a": "x # y // z /* w */", "u": "http://h/p"}"#).unwrap();
        assert_eq!(
            p.root.get("a").unwrap().as_str(),
            Some("x # y // z /* w */")
        );
        assert_eq!(p.root.get("u").unwrap().as_str(), Some("http://h/p"));
    }

    #[test]
    fn unterminated_comment_and_string() {
        assert!(
            err("{ /* never closed")
                .to_string()
                .contains("unterminated comment")
        );
        assert!(err("{ \"abc").to_string().contains("unterminated string"));
    }

    #[test]
    fn positions_are_line_and_column() {
        let p = parse("{\n  \"a\":\n    [ 1,\n  {\"b\": 2} ]\n}").unwrap();
        let a = p.root.get("a").unwrap();
        assert_eq!((a.loc.line, a.loc.col), (3, 5));
        let Value::List(items) = &a.value else {
            panic!()
        };
        assert_eq!((items[0].loc.line, items[0].loc.col), (3, 7));
        let b = items[1].get("b").unwrap();
        assert_eq!((b.loc.line, b.loc.col), (4, 9));
        assert_eq!(&*b.loc.file, "t.json");
    }

    #[test]
    fn duplicate_key_is_an_error_with_both_positions() {
        let e = err("{\"Dhcp4\": {\"valid-lifetime\": 1,\n \"valid-lifetime\": 2}}");
        assert_eq!(e.path, "Dhcp4.valid-lifetime");
        let loc = e.location.clone().unwrap();
        assert_eq!((loc.line, loc.col), (2, 2));
        match &e.kind {
            ErrorKind::DuplicateKey { key, map, previous } => {
                assert_eq!(key, "valid-lifetime");
                assert_eq!(map, "Dhcp4");
                assert_eq!((previous.line, previous.col), (1, 12));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_key_in_a_large_map_uses_the_index() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\": {i},"));
        }
        text.push_str("\"k42\": 0}");
        assert!(matches!(err(&text).kind, ErrorKind::DuplicateKey { ref key, .. } if key == "k42"));
    }

    #[test]
    fn trailing_commas_warn_like_kea() {
        let p = parse("{\"a\": [1, 2,], \"b\": {\"c\": 1,},}").unwrap();
        assert_eq!(p.warnings.len(), 3);
        let paths: Vec<&str> = p.warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, vec!["a", "b", ""]);
        assert!(
            p.warnings
                .iter()
                .all(|w| w.kind == WarningKind::ExtraneousComma)
        );
        assert_eq!(
            p.warnings[0].kind.to_string(),
            "Extraneous comma. A piece of configuration may have been omitted."
        );
        let loc = p.warnings[0].location.clone().unwrap();
        assert_eq!((loc.line, loc.col), (1, 12));
    }

    #[test]
    fn double_and_leading_commas_are_errors() {
        assert!(matches!(err("[1,,2]").kind, ErrorKind::Syntax(_)));
        assert!(matches!(err("[,1]").kind, ErrorKind::Syntax(_)));
        assert!(matches!(err("{,}").kind, ErrorKind::Syntax(_)));
    }

    #[test]
    fn syntax_errors_carry_position_and_path() {
        let e = err("{\"Dhcp4\": {\"subnet4\": [ {\"id\": 1 \"x\": 2} ]}}");
        assert_eq!(e.path, "Dhcp4.subnet4[0]");
        let loc = e.location.unwrap();
        assert_eq!((loc.line, loc.col), (1, 34));
        for bad in [
            "{\"a\" 1}",
            "{1: 2}",
            "[1 2]",
            "{\"a\": tru}",
            "{\"a\": 01x}",
            "{\"a\": -}",
            "@",
            "",
            "{} {}",
            "{\"a\": .}",
            "{\"a\": 1e}",
            "\"\\q\"",
            "\"\\u12\"",
            "\"\\ud800\"",
        ] {
            let e = err(bad);
            assert!(e.location.is_some(), "{bad}: {e}");
        }
    }

    #[test]
    fn numbers_as_kea_lexes_them() {
        let v = |t: &str| parse(t).unwrap().root.value;
        assert_eq!(v(".5"), Value::Float(0.5));
        assert_eq!(v("5."), Value::Float(5.0));
        assert_eq!(v("+1"), Value::Float(1.0));
        assert_eq!(v("-.25e1"), Value::Float(-2.5));
        assert_eq!(v("007"), Value::Int(7));
        assert_eq!(v("-0"), Value::Int(0));
    }

    #[test]
    fn numbers_out_of_range_are_errors() {
        assert!(err("99999999999999999999").to_string().contains("integer"));
        assert!(err("1e999").to_string().contains("floating point"));
        assert_eq!(
            parse("-9223372036854775808").unwrap().root.value,
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn control_characters_and_invalid_utf8_in_strings() {
        assert!(err("\"a\nb\"").to_string().contains("control character"));
        let bytes = b"{\"a\": \"\xff\xfe\"}".to_vec();
        let src = Source::new(Arc::from("bin.json"), bytes, None, None);
        let e = Parser::new(src).parse_document().unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(e.location.is_some());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            err(&deep).kind,
            ErrorKind::TooDeep { limit: MAX_DEPTH }
        ));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let too = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&too).is_err());
        let maps = "{\"a\":".repeat(10_000);
        assert!(matches!(err(&maps).kind, ErrorKind::TooDeep { .. }));
    }

    #[test]
    fn includes_splice_files_relative_to_the_includer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/pools.json"),
            "{\"pool\": \"10.0.0.1-10.0.0.9\"}, <?include \"more.json\"?>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sub/more.json"),
            "# comment\n{\"pool\": \"10.0.0.20-10.0.0.29\"}",
        )
        .unwrap();
        let main = dir.path().join("main.json");
        std::fs::write(
            &main,
            "{\"pools\": [ <?include \"sub/pools.json\"?> ], \"x\": 1}",
        )
        .unwrap();
        let p = parse_file(&main).unwrap();
        let Value::List(items) = &p.root.get("pools").unwrap().value else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert!(items[1].loc.file.ends_with("more.json"));
        assert_eq!(items[1].loc.line, 2);
        assert_eq!(p.root.get("x").unwrap().value, Value::Int(1));
    }

    #[test]
    fn include_cycles_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "[ <?include \"b.json\"?> ]").unwrap();
        std::fs::write(dir.path().join("b.json"), "[ <?include \"a.json\"?> ]").unwrap();
        let e = parse_file(&dir.path().join("a.json")).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Include(ref m) if m.contains("cycle")),
            "{e}"
        );
        assert!(e.location.unwrap().file.ends_with("b.json"));

        std::fs::write(dir.path().join("c.json"), "[ <?include \"nope.json\"?> ]").unwrap();
        let e = parse_file(&dir.path().join("c.json")).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Include(ref m) if m.contains("nope.json")),
            "{e}"
        );

        std::fs::write(dir.path().join("d.json"), "[ <?inclde \"x\"?> ]").unwrap();
        assert!(parse_file(&dir.path().join("d.json")).is_err());
    }

    #[test]
    fn include_depth_is_limited() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(
                dir.path().join(format!("f{i}.json")),
                format!("[ <?include \"f{}.json\"?> ]", i + 1),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("f20.json"), "1").unwrap();
        let e = parse_file(&dir.path().join("f0.json")).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Include(ref m) if m.contains("too many")),
            "{e}"
        );
    }

    #[test]
    fn file_size_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; 100]).unwrap();
        assert_eq!(read_at_most(&p, 100).unwrap().len(), 100);
        assert!(
            read_at_most(&p, 99)
                .unwrap_err()
                .contains("larger than 99 bytes")
        );
        // Device files are not configuration files.
        let inc = dir.path().join("inc.json");
        std::fs::write(&inc, "[ <?include \"/dev/zero\"?> ]").unwrap();
        assert!(matches!(
            parse_file(&inc).unwrap_err().kind,
            ErrorKind::Include(_)
        ));
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let e = parse_file(Path::new("/nonexistent/kea.json")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Io { .. }));
    }

    #[test]
    fn to_json_round_trips_values() {
        let p = parse(r#"{"a": [1, 2.5, "x", null, true], "b": {"c": {}}}"#).unwrap();
        assert_eq!(
            p.root.to_json(),
            serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}})
        );
    }
}
