//! Sections shared by `Dhcp4` and `Control-agent`: `loggers`, `hooks-libraries`,
//! `control-socket`.
//!
//! Loggers follow Kea's logging configuration (ARM "Logging"): a logger has a `name`
//! (`kea-dhcp4`, `kea-dhcp4.leases`, ...), a `severity` (FATAL, ERROR, WARN, INFO, DEBUG, NONE),
//! a `debuglevel` 0..99 used with DEBUG, and `output_options`; `name` and `severity` are
//! mandatory (Kea's `LogConfigParser`, applied when the server starts: `kea-dhcp4 -t` does not
//! check loggers, Nestor's check does). Hook libraries are not loaded from
//! disk: the file name selects one of Nestor's built-in plugins (DESIGN "Processes").

use serde_json::json;

use crate::error::{ErrorKind, Location};
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// Logging severity (Kea's log4cplus levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Everything, gated by the debug level.
    Debug,
    /// Default.
    Info,
    /// Warnings and worse.
    Warn,
    /// Errors and worse.
    Error,
    /// Fatal only.
    Fatal,
    /// Nothing.
    None,
}

impl Severity {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::None => "NONE",
        }
    }
}

const SEVERITIES: &[(&str, Severity)] = &[
    ("FATAL", Severity::Fatal),
    ("ERROR", Severity::Error),
    ("WARN", Severity::Warn),
    ("INFO", Severity::Info),
    ("DEBUG", Severity::Debug),
    ("NONE", Severity::None),
];

/// Where a logger writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogOutput {
    /// `stdout`.
    Stdout,
    /// `stderr`.
    Stderr,
    /// `syslog` or `syslog:<facility-name>`.
    Syslog(Option<String>),
    /// A file path (rotated by `maxsize` / `maxver`).
    File(String),
}

impl LogOutput {
    fn parse(s: &str) -> Self {
        match s {
            "stdout" => LogOutput::Stdout,
            "stderr" => LogOutput::Stderr,
            "syslog" => LogOutput::Syslog(None),
            _ => match s.strip_prefix("syslog:") {
                Some(name) => LogOutput::Syslog(Some(name.to_string())),
                None => LogOutput::File(s.to_string()),
            },
        }
    }

    /// Kea's spelling.
    pub fn kea_name(&self) -> String {
        match self {
            LogOutput::Stdout => "stdout".into(),
            LogOutput::Stderr => "stderr".into(),
            LogOutput::Syslog(None) => "syslog".into(),
            LogOutput::Syslog(Some(n)) => format!("syslog:{n}"),
            LogOutput::File(p) => p.clone(),
        }
    }
}

/// One `output_options` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputOption {
    pub output: LogOutput,
    /// Flush after each message (default true).
    pub flush: bool,
    /// Rotate a file output at this size in bytes (default 10240000; 0 disables rotation).
    pub maxsize: u64,
    /// Rotated files kept (default 1).
    pub maxver: u32,
    /// log4cplus pattern; empty = Kea's default layout.
    pub pattern: String,
}

impl Default for OutputOption {
    fn default() -> Self {
        Self {
            output: LogOutput::Stdout,
            flush: true,
            maxsize: 10_240_000,
            maxver: 1,
            pattern: String::new(),
        }
    }
}

/// One logger.
#[derive(Clone, Debug, PartialEq)]
pub struct Logger {
    pub name: String,
    pub severity: Severity,
    /// 0..=99, meaningful with DEBUG.
    pub debuglevel: u8,
    /// Empty means stdout with defaults (Kea's behaviour).
    pub output_options: Vec<OutputOption>,
    pub user_context: Option<serde_json::Value>,
}

impl Logger {
    /// Kea's `config-get` rendering.
    pub fn to_kea_json(&self) -> serde_json::Value {
        // Kea shows rotation settings for file outputs only.
        let outputs: Vec<_> = self
            .output_options
            .iter()
            .map(|o| {
                let mut v =
                    json!({"output": o.output.kea_name(), "flush": o.flush, "pattern": o.pattern});
                if let (LogOutput::File(_), Some(m)) = (&o.output, v.as_object_mut()) {
                    m.insert("maxsize".into(), o.maxsize.into());
                    m.insert("maxver".into(), o.maxver.into());
                }
                v
            })
            .collect();
        let mut v = json!({"name": self.name, "severity": self.severity.kea_name(),
                           "debuglevel": self.debuglevel, "output_options": outputs});
        if let (Some(uc), Some(m)) = (&self.user_context, v.as_object_mut()) {
            m.insert("user-context".into(), uc.clone());
        }
        v
    }
}

/// Parses a `loggers` list.
pub(crate) fn parse_loggers(ctx: &mut Ctx, items: &[Node], path: &str) -> Vec<Logger> {
    let mut out = Vec::new();
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "loggers") else {
            continue;
        };
        let name = m.req_str(ctx, "name").unwrap_or_default().to_string();
        // log4cplus (and so Kea) reads severities case-insensitively.
        let severity_loc = m.get("severity").map(|n| n.loc.clone());
        if !m.has("severity") {
            m.missing(ctx, "severity");
        }
        let severity = match m.str(ctx, "severity") {
            None => Severity::Info,
            Some(s) => match SEVERITIES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
                Some((_, v)) => *v,
                None => {
                    let expected = SEVERITIES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(" or ");
                    ctx.error(
                        &m.child("severity"),
                        severity_loc.as_ref().unwrap_or(&node.loc),
                        ErrorKind::NotOneOf {
                            value: s.to_string(),
                            expected,
                        },
                    );
                    Severity::Info
                }
            },
        };
        let debuglevel = m
            .int(ctx, "debuglevel", 0, 99)
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or(0);
        let mut output_options = Vec::new();
        if let Some(list) = m.list(ctx, "output_options") {
            let op = m.child("output_options");
            for (_, p, node) in each_map(ctx, list, &op) {
                let Some(mut o) = MapReader::new(ctx, node, &p, "output_options") else {
                    continue;
                };
                let d = OutputOption::default();
                let output = match o.req_str(ctx, "output") {
                    Some(s) => LogOutput::parse(s),
                    None => d.output.clone(),
                };
                output_options.push(OutputOption {
                    output,
                    flush: o.bool(ctx, "flush").unwrap_or(d.flush),
                    maxsize: o
                        .int(ctx, "maxsize", 0, i64::MAX)
                        .and_then(|v| u64::try_from(v).ok())
                        .unwrap_or(d.maxsize),
                    maxver: o.u32(ctx, "maxver").unwrap_or(d.maxver),
                    pattern: o.str(ctx, "pattern").unwrap_or_default().to_string(),
                });
                o.finish(ctx);
            }
        }
        let user_context = m.user_context(ctx);
        m.finish(ctx);
        if !name.is_empty() {
            out.push(Logger {
                name,
                severity,
                debuglevel,
                output_options,
                user_context,
            });
        }
    }
    out
}

/// A built-in plugin selectable through `hooks-libraries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinHook {
    /// `libdhcp_lease_cmds.so`: the lease4-* commands.
    LeaseCmds,
    /// `libdhcp_ha.so`: High Availability.
    Ha,
}

impl BuiltinHook {
    /// Library file names and the plugins they select.
    pub const KNOWN: &'static [(&'static str, BuiltinHook)] = &[
        ("libdhcp_lease_cmds.so", BuiltinHook::LeaseCmds),
        ("libdhcp_ha.so", BuiltinHook::Ha),
    ];

    /// Recognises a library by its file name, whatever the directory.
    pub fn from_library_path(path: &str) -> Option<Self> {
        let file = path.rsplit('/').next().unwrap_or(path);
        Self::KNOWN
            .iter()
            .find(|(n, _)| *n == file)
            .map(|(_, h)| *h)
    }

    /// The file name Kea uses.
    pub fn file_name(self) -> &'static str {
        match self {
            BuiltinHook::LeaseCmds => "libdhcp_lease_cmds.so",
            BuiltinHook::Ha => "libdhcp_ha.so",
        }
    }
}

/// One `hooks-libraries` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct HookLibrary {
    /// The path as configured (rendered back by `config-get`).
    pub library: String,
    /// Which plugin it selects.
    pub hook: BuiltinHook,
    /// Free-form parameters, positions kept so the plugin can report `file:line:col`.
    pub parameters: Option<Node>,
    /// Path of the `parameters` key, for the plugin's error messages.
    pub parameters_path: String,
}

/// Parses `hooks-libraries`; unknown library names are errors listing the known ones.
pub(crate) fn parse_hooks(ctx: &mut Ctx, items: &[Node], path: &str) -> Vec<HookLibrary> {
    let mut out = Vec::new();
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "hooks-libraries") else {
            continue;
        };
        let lib_loc: Option<Location> = m.get("library").map(|n| n.loc.clone());
        let library = m.req_str(ctx, "library");
        let parameters = m.map(ctx, "parameters").cloned();
        let parameters_path = m.child("parameters");
        let library_path = m.child("library");
        m.finish(ctx);
        let Some(library) = library else { continue };
        match BuiltinHook::from_library_path(library) {
            Some(hook) => out.push(HookLibrary {
                library: library.to_string(),
                hook,
                parameters,
                parameters_path,
            }),
            None => {
                let known = BuiltinHook::KNOWN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ");
                let loc = lib_loc.unwrap_or_else(|| node.loc.clone());
                ctx.error(
                    &library_path,
                    &loc,
                    ErrorKind::UnknownHookLibrary {
                        library: library.to_string(),
                        known,
                    },
                );
            }
        }
    }
    out
}

/// `control-socket` of a DHCP server (and each `control-sockets.*` of the agent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlSocket {
    /// Always `unix` in Kea 2.2.
    pub socket_type: String,
    pub socket_name: String,
    pub user_context: Option<serde_json::Value>,
}

impl ControlSocket {
    /// Kea's `config-get` rendering.
    pub fn to_kea_json(&self) -> serde_json::Value {
        let mut v = json!({"socket-type": self.socket_type, "socket-name": self.socket_name});
        if let (Some(uc), Some(m)) = (&self.user_context, v.as_object_mut()) {
            m.insert("user-context".into(), uc.clone());
        }
        v
    }
}

pub(crate) fn parse_control_socket(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    name: &str,
) -> Option<ControlSocket> {
    let mut m = MapReader::new(ctx, node, path, name)?;
    let socket_type = m
        .keyword(ctx, "socket-type", &[("unix", ())])
        .map(|()| "unix");
    let type_given = m.has("socket-type");
    let socket_name = m.req_str(ctx, "socket-name");
    let user_context = m.user_context(ctx);
    m.finish(ctx);
    if type_given && socket_type.is_none() {
        return None;
    }
    Some(ControlSocket {
        socket_type: "unix".to_string(),
        socket_name: socket_name?.to_string(),
        user_context,
    })
}
