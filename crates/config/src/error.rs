//! Errors and warnings of configuration loading.
//!
//! Every problem names the key path (`Dhcp4.subnet4[2].pools[0].pool`) and, where the value came
//! from a file, its position (`file:line:col`, as Kea prints positions of semantic errors).
//! Loading collects every problem it can find before failing (linkerd's habit: one run of
//! `nestor-dhcp4 -t` shows all mistakes), so [`ConfigErrors`] holds a list.

use std::fmt;
use std::sync::Arc;

/// Where a value starts: file (or origin name), 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// File name as given to the loader (or the origin name of a string).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in bytes as Kea's lexer does.
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What went wrong. The texts follow Kea 2.2's where Kea has one, so operators recognise them.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Io { file: String, reason: String },
    /// The JSON dialect was violated (bad token, unterminated string, ...).
    #[error("syntax error, {0}")]
    Syntax(String),
    /// Containers nested deeper than the parser allows.
    #[error("nesting deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// `<?include?>` problems: missing file, depth, cycle.
    #[error("include error: {0}")]
    Include(String),
    /// A key that appears twice in one map (Kea: `duplicate X entries in Y map`).
    #[error("duplicate {key} entries in {map} map (previous at {previous})")]
    DuplicateKey {
        key: String,
        map: String,
        previous: Location,
    },
    /// A key that Kea's grammar does not accept in this map.
    #[error("got unexpected keyword \"{key}\" in {map} map.")]
    UnexpectedKeyword { key: String, map: String },
    /// A required key is absent.
    #[error("missing parameter '{key}'")]
    MissingParameter { key: String },
    /// The top level of the file has no section this program can use.
    #[error("no {expected} section at the top level (found: {found})")]
    MissingSection {
        expected: &'static str,
        found: String,
    },
    /// A value of the wrong JSON type.
    #[error("expected {expected}, got {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    /// An integer outside the accepted range.
    #[error("the '{key}' value ({value}) is not within expected range: ({min} - {max})")]
    OutOfRange {
        key: String,
        value: i64,
        min: i64,
        max: u64,
    },
    /// A string that is not one of the accepted keywords.
    #[error("invalid value \"{value}\", expecting {expected}")]
    NotOneOf { value: String, expected: String },
    /// A malformed address, prefix, pool, identifier, URL...
    #[error("{0}")]
    Invalid(String),
    /// Inconsistent lifetimes or timers (texts as Kea's).
    #[error("{0}")]
    Timers(String),
    /// Something defined twice (subnet id, prefix, reservation, network name, peer...).
    #[error("{0}")]
    Duplicate(String),
    /// An option-data entry that does not encode, or an option-def that cannot be added.
    #[error("{0}")]
    Option(String),
    /// A `hooks-libraries` entry naming a library Nestor does not provide.
    #[error("unknown hook library '{library}': Nestor's built-in libraries are {known}")]
    UnknownHookLibrary { library: String, known: String },
    /// A high-availability parameter problem.
    #[error("{0}")]
    HighAvailability(String),
}

/// One configuration error: the key path, where it is in the file, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// Key path, e.g. `Dhcp4.subnet4[2].pools[0].pool`; empty for whole-file problems.
    pub path: String,
    /// Position of the offending value (or map) when known.
    pub location: Option<Location>,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl ConfigError {
    pub(crate) fn new(
        path: impl Into<String>,
        location: Option<Location>,
        kind: ErrorKind,
    ) -> Self {
        Self {
            path: path.into(),
            location,
            kind,
        }
    }

    /// Sets the key path when the error does not have one yet.
    pub(crate) fn at(mut self, path: &str) -> Self {
        if self.path.is_empty() {
            self.path = path.to_string();
        }
        self
    }

    /// The message without path and position.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for ConfigError {}

/// All errors found in one load. Never empty when returned by a loader.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConfigErrors {
    /// The errors, in the order they were found (document order within each pass).
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub(crate) fn single(error: ConfigError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Why a warning was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// A comma before `]` or `}` (Kea's exact text).
    #[error("Extraneous comma. A piece of configuration may have been omitted.")]
    ExtraneousComma,
    /// The Kea 1.x top-level `Logging` section, mapped onto `<section>.loggers`.
    #[error(
        "the top-level \"Logging\" section is deprecated (Kea 1.x syntax, rejected by Kea 2.x); its loggers were moved into {section}.loggers"
    )]
    DeprecatedLogging { section: &'static str },
    /// A deprecated parameter that is still honoured.
    #[error("parameter '{key}' is deprecated: use {replacement} instead")]
    Deprecated {
        key: &'static str,
        replacement: &'static str,
    },
    /// Something accepted but probably not what the operator meant.
    #[error("{0}")]
    Other(String),
}

/// A non-fatal remark about the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigWarning {
    /// Key path, may be empty.
    pub path: String,
    /// Position, when known.
    pub location: Option<Location>,
    /// What the warning is about.
    pub kind: WarningKind,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.kind)
    }
}
