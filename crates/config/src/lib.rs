//! `nestor-config`: Kea 2.2's configuration language.
//!
//! * [`json`]: Kea's JSON dialect (`#`, `//`, `/* */` comments, `<?include "file"?>`, trailing
//!   commas with Kea's warning, duplicate keys refused) parsed into a tree whose every value
//!   carries `file:line:col`.
//! * [`dhcp4`], [`agent`], [`common`]: the `Dhcp4` and `Control-agent` sections walked against
//!   Kea 2.2's grammar (`dhcp4_parser.yy`, `agent_parser.yy`: unknown keys are errors at every
//!   level) and validated into domain types with Kea's defaults and inheritance resolved,
//!   option data encoded and class expressions compiled, so the server never sees wire shapes.
//! * [`hooks`]: parameters of the built-in hook plugins (HA), validated at load time.
//!
//! Loading reports every error it finds, each with its key path
//! (`Dhcp4.subnet4[2].pools[0].pool`) and position; see [`ConfigErrors`]. Interface names are
//! checked against the machine as Kea does ([`LoadOptions`]).
//!
//! Compatibility with Kea 2.2 was checked with `kea-dhcp4 -t` (and `-c` for what `-t` skips).
//! Deliberate differences:
//! * the Kea 1.x top-level `Logging` section, which Kea 2.2 rejects, is accepted and moved into
//!   the section's `loggers` with a deprecation warning;
//! * include cycles are reported as cycles instead of running into the include depth limit;
//! * negative lifetimes and timers, which Kea wraps around to huge unsigned values, are errors;
//! * logger values and hook parameters are checked at load time (Kea's `-t` skips them); unknown
//!   HA parameters are errors and HA timers are not capped at 65535 ms;
//! * `config-control` (configuration backends) is refused: Nestor has none;
//! * `hooks-libraries` select built-in plugins by file name; other libraries are errors.
//!
//! Panic policy: nothing here panics on any input; the parser bounds nesting depth.

pub mod agent;
pub mod common;
pub mod dhcp4;
pub mod error;
pub mod hooks;
pub mod json;
mod reader;

use std::path::Path;

pub use agent::AgentConfig;
pub use dhcp4::Dhcp4Config;
pub use error::{ConfigError, ConfigErrors, ConfigWarning, ErrorKind, Location, WarningKind};

use error::ErrorKind as K;
use json::{Node, Value};
use reader::Ctx;

/// A loaded configuration and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub config: T,
    pub warnings: Vec<ConfigWarning>,
}

/// The program a file's top-level section is meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `Dhcp4`: the DHCPv4 server.
    Dhcp4,
    /// `Control-agent`.
    ControlAgent,
    /// `Dhcp6` (not served by Nestor).
    Dhcp6,
    /// `DhcpDdns` (not served by Nestor).
    DhcpDdns,
}

impl Section {
    /// The top-level key.
    pub fn key(self) -> &'static str {
        match self {
            Section::Dhcp4 => "Dhcp4",
            Section::ControlAgent => "Control-agent",
            Section::Dhcp6 => "Dhcp6",
            Section::DhcpDdns => "DhcpDdns",
        }
    }

    fn from_key(k: &str) -> Option<Self> {
        [
            Section::Dhcp4,
            Section::ControlAgent,
            Section::Dhcp6,
            Section::DhcpDdns,
        ]
        .into_iter()
        .find(|s| s.key() == k)
    }
}

/// The sections present at the top level of a file, in document order (`Logging` excluded).
/// Lets `nestor-dhcp4 -t` tell an agent file from a server file and answer like Kea
/// (`syntax error, unexpected constant string, expecting Dhcp4`).
pub fn detect_sections(path: &Path) -> Result<Vec<Section>, ConfigErrors> {
    let parsed = json::parser::parse_file(path).map_err(ConfigErrors::single)?;
    Ok(sections_of(&parsed.root))
}

fn sections_of(root: &Node) -> Vec<Section> {
    match &root.value {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, _)| Section::from_key(&k.name))
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks that depend on the machine the configuration is loaded on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Names of the network interfaces that exist. Kea refuses an `interfaces-config` entry or a
    /// subnet/shared-network `interface` naming an interface the system does not have; `None`
    /// skips that check (a configuration prepared for another machine, unit tests).
    pub system_interfaces: Option<Vec<String>>,
}

impl LoadOptions {
    /// This machine's interfaces (Linux: `/sys/class/net`); when they cannot be listed, the
    /// check is skipped rather than failing every configuration.
    pub fn system() -> Self {
        let names = std::fs::read_dir("/sys/class/net").ok().map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        });
        Self {
            system_interfaces: names,
        }
    }

    /// No environment checks.
    pub fn offline() -> Self {
        Self::default()
    }
}

/// Loads a `kea-dhcp4` configuration file, checking interfaces against this machine.
pub fn load_dhcp4_file(path: &Path) -> Result<Loaded<Dhcp4Config>, ConfigErrors> {
    load_dhcp4_file_with(path, &LoadOptions::system())
}

/// [`load_dhcp4_file`] with explicit options.
pub fn load_dhcp4_file_with(
    path: &Path,
    options: &LoadOptions,
) -> Result<Loaded<Dhcp4Config>, ConfigErrors> {
    let parsed = json::parser::parse_file(path).map_err(ConfigErrors::single)?;
    build(parsed, Section::Dhcp4, options, dhcp4::parse)
}

/// Parses a `kea-dhcp4` configuration held in memory; `origin` names it in positions.
/// Interfaces are checked against this machine.
pub fn parse_dhcp4_str(text: &str, origin: &str) -> Result<Loaded<Dhcp4Config>, ConfigErrors> {
    parse_dhcp4_str_with(text, origin, &LoadOptions::system())
}

/// [`parse_dhcp4_str`] with explicit options.
pub fn parse_dhcp4_str_with(
    text: &str,
    origin: &str,
    options: &LoadOptions,
) -> Result<Loaded<Dhcp4Config>, ConfigErrors> {
    let parsed = json::parser::parse_str(text, origin).map_err(ConfigErrors::single)?;
    build(parsed, Section::Dhcp4, options, dhcp4::parse)
}

/// Loads a `kea-ctrl-agent` configuration file.
pub fn load_agent_file(path: &Path) -> Result<Loaded<AgentConfig>, ConfigErrors> {
    let parsed = json::parser::parse_file(path).map_err(ConfigErrors::single)?;
    build(
        parsed,
        Section::ControlAgent,
        &LoadOptions::offline(),
        agent::parse,
    )
}

/// Parses a `kea-ctrl-agent` configuration held in memory.
pub fn parse_agent_str(text: &str, origin: &str) -> Result<Loaded<AgentConfig>, ConfigErrors> {
    let parsed = json::parser::parse_str(text, origin).map_err(ConfigErrors::single)?;
    build(
        parsed,
        Section::ControlAgent,
        &LoadOptions::offline(),
        agent::parse,
    )
}

type SectionParser<T> = fn(&mut Ctx, &Node, Option<(&Node, String)>) -> Option<T>;

/// The top level: exactly the wanted section, optionally with the legacy `Logging`. Kea 2.2
/// accepts nothing else (`syntax error, unexpected constant string, expecting Dhcp4`).
fn build<T>(
    parsed: json::parser::Parsed,
    want: Section,
    options: &LoadOptions,
    parse: SectionParser<T>,
) -> Result<Loaded<T>, ConfigErrors> {
    let mut ctx = Ctx {
        errors: Vec::new(),
        warnings: parsed.warnings,
        system_interfaces: options.system_interfaces.clone(),
    };
    let root = &parsed.root;
    let Value::Map(entries) = &root.value else {
        return Err(ConfigErrors::single(ConfigError::new(
            "",
            Some(root.loc.clone()),
            K::WrongType {
                expected: "map",
                found: root.value.type_name(),
            },
        )));
    };
    let mut section = None;
    let mut logging = None;
    for (key, value) in entries {
        if key.name == want.key() {
            section = Some(value);
        } else if key.name == "Logging" {
            logging = Some((key, value));
        } else {
            ctx.error(
                &key.name,
                &key.loc,
                K::Syntax(format!(
                    "unexpected constant string \"{}\", expecting {}",
                    key.name,
                    want.key()
                )),
            );
        }
    }
    let extra_loggers = logging.and_then(|(key, value)| {
        let mut m = reader::MapReader::new(&mut ctx, value, "Logging", "Logging")?;
        let loggers = m.list(&mut ctx, "loggers").map(|_| ());
        let node = m.get("loggers");
        m.finish(&mut ctx);
        ctx.warn(
            "Logging",
            Some(&key.loc),
            WarningKind::DeprecatedLogging {
                section: want.key(),
            },
        );
        loggers
            .and(node)
            .map(|n| (n, "Logging.loggers".to_string()))
    });
    let Some(section) = section else {
        let found = entries
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ctx.errors.push(ConfigError::new(
            "",
            Some(root.loc.clone()),
            K::MissingSection {
                expected: want.key(),
                found: if found.is_empty() {
                    "nothing".into()
                } else {
                    found
                },
            },
        ));
        return Err(ConfigErrors { errors: ctx.errors });
    };
    let config = parse(&mut ctx, section, extra_loggers);
    match config {
        Some(config) if ctx.errors.is_empty() => Ok(Loaded {
            config,
            warnings: ctx.warnings,
        }),
        _ => {
            if ctx.errors.is_empty() {
                // A section parser returns None only after recording why; keep the contract that
                // an Err is never empty anyway.
                ctx.errors.push(ConfigError::new(
                    want.key(),
                    Some(section.loc.clone()),
                    K::Invalid("invalid section".into()),
                ));
            }
            Err(ConfigErrors { errors: ctx.errors })
        }
    }
}
