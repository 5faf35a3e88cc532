//! `nestorctl.conf`: keactrl.conf's language and variables.
//!
//! keactrl *sources* keactrl.conf with the shell, so the file is a list of shell assignments:
//! `name=value`, `#` comments, `${name}` / `$name` expansion of variables defined earlier (or in
//! the environment), single quotes (literal) and double quotes (expanding). nestorctl reads that
//! subset without running a shell, and refuses what the subset does not cover (command
//! substitution, spaces around `=`, undefined variables) instead of silently reading an empty
//! string where the shell would have run a command or expanded nothing. Every error of a file is
//! reported at once, each with its line.
//!
//! Variables read (keactrl 2.2 names, plus Nestor aliases):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `dhcp4_srv`, `ctrl_agent_srv` | daemon binaries | `nestor-dhcp4` / `nestor-ctrl-agent` next to `nestorctl`, else on `PATH` |
//! | `kea_dhcp4_config_file` (`nestor_dhcp4_config_file`) | the Dhcp4 config | `/etc/nestor/kea-dhcp4.conf` |
//! | `kea_ctrl_agent_config_file` (`nestor_ctrl_agent_config_file`) | the Control-agent config | `/etc/nestor/kea-ctrl-agent.conf` |
//! | `dhcp4`, `ctrl_agent` | start these daemons (`yes`/`no`, any case) | `yes` |
//! | `dhcp6`, `dhcp_ddns`, `netconf` | keactrl's other daemons: Nestor has none, `yes` gives a warning | `no` |
//! | `kea_verbose` | start the daemons with `-d` | `no` |
//! | `log_dir` | daemons' stdout/stderr go to `<log_dir>/<binary>.out` (else `/dev/null`) | unset |

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::Environment;
use crate::daemon::{Daemon, UNSUPPORTED};

/// Where the Dhcp4 and Control-agent files are looked for when the conf names none.
pub const DEFAULT_DHCP4_CONFIG: &str = "/etc/nestor/kea-dhcp4.conf";
/// See [`DEFAULT_DHCP4_CONFIG`].
pub const DEFAULT_CTRL_AGENT_CONFIG: &str = "/etc/nestor/kea-ctrl-agent.conf";

/// One error in a conf file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ConfError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub kind: ConfErrorKind,
}

/// Why a line of a conf file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfErrorKind {
    #[error("not a shell variable assignment (name=value): {0:?}")]
    NotAssignment(String),
    #[error("no spaces are allowed around '=' (shell syntax): {0:?}")]
    SpaceAroundEquals(String),
    #[error("unterminated {0} quote")]
    UnterminatedQuote(&'static str),
    #[error("variable {0} is not defined (neither earlier in the file nor in the environment)")]
    Undefined(String),
    #[error("unsupported shell syntax {0:?} (only $name and ${{name}} expansions are read)")]
    UnsupportedSyntax(String),
    #[error("text after the value: {0:?} (quote values containing spaces)")]
    TrailingText(String),
    #[error("{name}={value:?}: expected yes or no")]
    NotYesNo { name: String, value: String },
}

/// All errors of one conf file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfErrors(pub Vec<ConfError>);

impl fmt::Display for ConfErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfErrors {}

/// The variables of a conf file after expansion, with the line each was (last) set on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<String, (String, usize)>,
}

impl Vars {
    /// The value of `name`, if the file set it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    fn line(&self, name: &str) -> usize {
        self.values.get(name).map_or(0, |(_, l)| *l)
    }
}

/// Parses the shell-assignment subset; `env` resolves names the file has not defined.
pub fn parse_vars(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vars, ConfErrors> {
    let (vars, errors) = parse_vars_lenient(text, file, env);
    if errors.is_empty() {
        Ok(vars)
    } else {
        Err(ConfErrors(errors))
    }
}

/// The good lines' variables and the bad lines' errors, so that later checks can add theirs.
fn parse_vars_lenient(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Vars, Vec<ConfError>) {
    let mut vars = Vars::default();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        match parse_line(raw, &vars, env) {
            Ok(Some((name, value))) => {
                vars.values.insert(name, (value, line));
            }
            Ok(None) => {}
            Err(kind) => errors.push(ConfError {
                file: file.to_owned(),
                line,
                kind,
            }),
        }
    }
    (vars, errors)
}

fn parse_line(
    raw: &str,
    vars: &Vars,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, ConfErrorKind> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let name_len = line
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(line.len(), |(i, _)| i);
    let (name, rest) = line.split_at(name_len);
    if name.is_empty() {
        return Err(ConfErrorKind::NotAssignment(line.to_owned()));
    }
    let Some(value) = rest.strip_prefix('=') else {
        return Err(if rest.trim_start().starts_with('=') {
            ConfErrorKind::SpaceAroundEquals(line.to_owned())
        } else {
            ConfErrorKind::NotAssignment(line.to_owned())
        });
    };
    if value.starts_with(char::is_whitespace) && !value.trim().is_empty() {
        return Err(ConfErrorKind::SpaceAroundEquals(line.to_owned()));
    }
    let lookup = |n: &str| vars.get(n).map(str::to_owned).or_else(|| env(n));
    Ok(Some((name.to_owned(), parse_word(value, &lookup)?)))
}

/// One shell word: unquoted, `'...'` and `"..."` parts, ending at unquoted whitespace, after
/// which only a `#` comment may follow.
fn parse_word(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfErrorKind> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                let rest: String = chars.collect();
                let rest = rest.trim();
                if rest.is_empty() || rest.starts_with('#') {
                    return Ok(out);
                }
                return Err(ConfErrorKind::TrailingText(rest.to_owned()));
            }
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => out.push(c),
                    None => return Err(ConfErrorKind::UnterminatedQuote("single")),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\' | '$' | '`')) => out.push(c),
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err(ConfErrorKind::UnterminatedQuote("double")),
                    },
                    Some('$') => out.push_str(&expand(&mut chars, lookup)?),
                    Some('`') => return Err(ConfErrorKind::UnsupportedSyntax("`".into())),
                    Some(c) => out.push(c),
                    None => return Err(ConfErrorKind::UnterminatedQuote("double")),
                }
            },
            '\\' => {
                if let Some(c) = chars.next() {
                    out.push(c);
                }
            }
            '$' => out.push_str(&expand(&mut chars, lookup)?),
            '`' | ';' | '|' | '&' | '<' | '>' | '(' | ')' => {
                return Err(ConfErrorKind::UnsupportedSyntax(c.to_string()));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// After a `$`: `{name}` or `name`.
fn expand(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfErrorKind> {
    let mut name = String::new();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            match chars.next() {
                Some('}') => break,
                Some(c) if c == '_' || c.is_ascii_alphanumeric() => name.push(c),
                Some(c) => return Err(ConfErrorKind::UnsupportedSyntax(format!("${{{name}{c}"))),
                None => return Err(ConfErrorKind::UnsupportedSyntax(format!("${{{name}"))),
            }
        }
    } else {
        while let Some(&c) = chars.peek() {
            if c == '_' || c.is_ascii_alphanumeric() {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        let next = chars.peek().map(|c| c.to_string()).unwrap_or_default();
        return Err(ConfErrorKind::UnsupportedSyntax(format!("${name}{next}")));
    }
    lookup(&name).ok_or(ConfErrorKind::Undefined(name))
}

/// One daemon as the conf describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConf {
    pub daemon: Daemon,
    /// `dhcp4=yes`: `start` (and `version`) include it.
    pub enabled: bool,
    /// The binary to run; its file name names the PID file and the messages.
    pub binary: PathBuf,
    pub config_file: PathBuf,
}

impl DaemonConf {
    /// The binary's file name (`nestor-dhcp4`, or `kea-dhcp4` when Kea stands in).
    pub fn binary_name(&self) -> String {
        self.binary.file_name().map_or_else(
            || self.daemon.default_binary().to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// A loaded `nestorctl.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtrlConf {
    /// The file it was read from.
    pub path: PathBuf,
    pub dhcp4: DaemonConf,
    pub ctrl_agent: DaemonConf,
    /// keactrl daemons Nestor does not have, switched on with `=yes` (`dhcp6`, ...).
    pub unsupported_enabled: Vec<&'static str>,
    /// `kea_verbose=yes`: `-d`.
    pub verbose: bool,
    pub log_dir: Option<PathBuf>,
}

impl CtrlConf {
    /// Reads and validates `path`.
    pub fn load(path: &Path, env: &Environment) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path, env).map_err(LoadError::Invalid)
    }

    /// Validates the text of a conf file read from `path`.
    pub fn parse(text: &str, path: &Path, env: &Environment) -> Result<Self, ConfErrors> {
        let file = path.display().to_string();
        let (vars, mut errors) = parse_vars_lenient(text, &file, &|n| env.var(n));
        let mut yes_no = |name: &str, default: bool| match vars.get(name) {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("yes") => true,
            Some(v) if v.eq_ignore_ascii_case("no") => false,
            Some(v) => {
                errors.push(ConfError {
                    file: file.clone(),
                    line: vars.line(name),
                    kind: ConfErrorKind::NotYesNo {
                        name: name.to_owned(),
                        value: v.to_owned(),
                    },
                });
                default
            }
        };
        let dhcp4_enabled = yes_no("dhcp4", true);
        let agent_enabled = yes_no("ctrl_agent", true);
        let verbose = yes_no("kea_verbose", false);
        let unsupported_enabled = UNSUPPORTED
            .iter()
            .copied()
            .filter(|name| yes_no(name, false))
            .collect();
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(ConfErrors(errors));
        }
        let daemon = |daemon: Daemon, enabled: bool| {
            let binary = match vars.get(daemon.binary_var()) {
                Some(b) => env.resolve_binary(b),
                None => env.default_binary(daemon.default_binary()),
            };
            let config_file = daemon
                .config_vars()
                .iter()
                .find_map(|v| vars.get(v))
                .map_or_else(|| PathBuf::from(daemon.default_config()), PathBuf::from);
            DaemonConf {
                daemon,
                enabled,
                binary,
                config_file,
            }
        };
        Ok(Self {
            path: path.to_owned(),
            dhcp4: daemon(Daemon::Dhcp4, dhcp4_enabled),
            ctrl_agent: daemon(Daemon::CtrlAgent, agent_enabled),
            unsupported_enabled,
            verbose,
            log_dir: vars
                .get("log_dir")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
        })
    }

    /// The conf of one daemon.
    pub fn daemon(&self, daemon: Daemon) -> &DaemonConf {
        match daemon {
            Daemon::Dhcp4 => &self.dhcp4,
            Daemon::CtrlAgent => &self.ctrl_agent,
        }
    }
}

/// Why `nestorctl.conf` could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("Configuration file for nestorctl does not exist or cannot be read: {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(ConfErrors),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn vars(text: &str) -> Result<Vars, ConfErrors> {
        parse_vars(text, "t.conf", &no_env)
    }

    #[test]
    fn keactrl_conf_shape_expands_in_order() {
        let v = vars(
            "# comment\n\
             prefix=/usr\n\
             exec_prefix=${prefix}\n\
             dhcp4_srv=${exec_prefix}/sbin/kea-dhcp4   # trailing comment\n\
             kea_dhcp4_config_file=\"$prefix/etc/kea/kea dhcp4.conf\"\n\
             literal='${prefix}'\n\
             export x=a\\ b\n\
             empty=\n\
             hash=a#b\n",
        )
        .unwrap();
        assert_eq!(v.get("exec_prefix"), Some("/usr"));
        assert_eq!(v.get("dhcp4_srv"), Some("/usr/sbin/kea-dhcp4"));
        assert_eq!(
            v.get("kea_dhcp4_config_file"),
            Some("/usr/etc/kea/kea dhcp4.conf")
        );
        assert_eq!(v.get("literal"), Some("${prefix}"));
        assert_eq!(v.get("x"), Some("a b"));
        assert_eq!(v.get("empty"), Some(""));
        assert_eq!(v.get("hash"), Some("a#b"));
        assert_eq!(v.line("dhcp4_srv"), 4);
    }

    #[test]
    fn environment_fills_names_the_file_does_not_define() {
        let env = |n: &str| (n == "HOME").then(|| "/root".to_owned());
        let v = parse_vars("a=${HOME}/x\nHOME=/h\nb=$HOME", "t", &env).unwrap();
        assert_eq!(v.get("a"), Some("/root/x"));
        assert_eq!(v.get("b"), Some("/h"));
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let e = vars(
            "ok=1\n\
             a = b\n\
             b=$(id)\n\
             c=${nope}\n\
             d=\"open\n\
             e=two words\n\
             just words\n\
             f=${x:-y}\n",
        )
        .unwrap_err();
        let got: Vec<(usize, ConfErrorKind)> = e.0.into_iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (2, ConfErrorKind::SpaceAroundEquals("a = b".into())),
                (3, ConfErrorKind::UnsupportedSyntax("$(".into())),
                (4, ConfErrorKind::Undefined("nope".into())),
                (5, ConfErrorKind::UnterminatedQuote("double")),
                (6, ConfErrorKind::TrailingText("words".into())),
                (7, ConfErrorKind::NotAssignment("just words".into())),
                (8, ConfErrorKind::UnsupportedSyntax("${x:".into())),
            ]
        );
    }

    fn env_with_dirs(exe_dir: &Path) -> Environment {
        Environment {
            exe_dir: Some(exe_dir.to_owned()),
            path: None,
            pidfile_dir: PathBuf::from("/run/kea"),
            nestor_pidfile_dir: None,
            vars: Vec::new(),
            color: false,
        }
    }

    #[test]
    fn variables_map_to_daemons_with_defaults_and_aliases() {
        let env = env_with_dirs(Path::new("/nonexistent-nestorctl-dir"));
        let c = CtrlConf::parse(
            "prefix=/opt\n\
             dhcp4_srv=$prefix/bin/kea-dhcp4\n\
             nestor_ctrl_agent_config_file=/etc/a.json\n\
             kea_dhcp4_config_file=/etc/d.json\n\
             ctrl_agent=NO\n\
             kea_verbose=Yes\n\
             dhcp6=yes\n\
             netconf=no\n\
             log_dir=/var/log/nestor\n",
            Path::new("/etc/nestor/nestorctl.conf"),
            &env,
        )
        .unwrap();
        assert_eq!(c.dhcp4.binary, PathBuf::from("/opt/bin/kea-dhcp4"));
        assert_eq!(c.dhcp4.binary_name(), "kea-dhcp4");
        assert_eq!(c.dhcp4.config_file, PathBuf::from("/etc/d.json"));
        assert!(c.dhcp4.enabled);
        assert!(!c.ctrl_agent.enabled);
        assert_eq!(c.ctrl_agent.config_file, PathBuf::from("/etc/a.json"));
        // Not found anywhere: the bare name, reported when it is run.
        assert_eq!(c.ctrl_agent.binary, PathBuf::from("nestor-ctrl-agent"));
        assert!(c.verbose);
        assert_eq!(c.unsupported_enabled, vec!["dhcp6"]);
        assert_eq!(c.log_dir, Some(PathBuf::from("/var/log/nestor")));
    }

    #[test]
    fn defaults_when_the_file_is_empty() {
        let env = env_with_dirs(Path::new("/nonexistent-nestorctl-dir"));
        let c = CtrlConf::parse("", Path::new("x"), &env).unwrap();
        assert!(c.dhcp4.enabled && c.ctrl_agent.enabled && !c.verbose);
        assert_eq!(c.dhcp4.config_file, PathBuf::from(DEFAULT_DHCP4_CONFIG));
        assert_eq!(
            c.ctrl_agent.config_file,
            PathBuf::from(DEFAULT_CTRL_AGENT_CONFIG)
        );
        assert!(c.unsupported_enabled.is_empty());
        assert_eq!(c.log_dir, None);
    }

    #[test]
    fn deploy_example_parses() {
        let env = env_with_dirs(Path::new("/nonexistent-nestorctl-dir"));
        let text = include_str!("../../../deploy/nestorctl.conf");
        let c = CtrlConf::parse(text, Path::new("deploy/nestorctl.conf"), &env).unwrap();
        assert_eq!(
            c.dhcp4.binary,
            PathBuf::from("/usr/local/sbin/nestor-dhcp4")
        );
        assert_eq!(
            c.ctrl_agent.config_file,
            PathBuf::from("/etc/nestor/kea-ctrl-agent.conf")
        );
        assert!(c.dhcp4.enabled && c.ctrl_agent.enabled && !c.verbose);
        assert!(c.unsupported_enabled.is_empty());
        assert_eq!(c.log_dir, Some(PathBuf::from("/var/log/nestor")));
    }

    #[test]
    fn yes_no_errors_name_variable_and_line() {
        let env = env_with_dirs(Path::new("/nonexistent-nestorctl-dir"));
        let e = CtrlConf::parse("dhcp4=true\n\nkea_verbose=1\n", Path::new("c"), &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c:1: dhcp4=\"true\": expected yes or no\nc:3: kea_verbose=\"1\": expected yes or no"
        );
    }
}
