//! The command line, keactrl 2.2's: `nestorctl <command> [-c file] [-s server[,server..]]`,
//! long forms `--ctrl-config` and `--server`, `-v` / `--version`, `-h` / `--help`.
//!
//! Exit status: 0 on success, 1 on a usage error, an unreadable or invalid `nestorctl.conf`, or a
//! command that failed for any daemon.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use crate::commands::{Command, Ctl, Report};
use crate::conf::CtrlConf;
use crate::daemon::Selection;
use crate::{DEFAULT_CONF, Environment, VERSION};

/// keactrl's usage text, with nestorctl's name.
pub const USAGE: &str = "\
usage is nestorctl command [-c nestorctl-config-file] [-s server[,server,..]]
commands: start stop reload status version";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run {
        command: Command,
        conf: Option<PathBuf>,
        selection: Selection,
    },
    /// `-v` / `--version`.
    Version,
    /// `-h` / `--help`.
    Help,
}

/// Parses the arguments after the program name; options may come before or after the command.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Invocation, String> {
    let mut command = None;
    let mut conf = None;
    let mut selection = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("argument is not valid UTF-8: {a:?}"))?;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next().and_then(|v| v.into_string().ok()))
                .ok_or_else(|| format!("option {what} requires a value"))
        };
        match flag.as_str() {
            "-v" | "--version" => return Ok(Invocation::Version),
            "-h" | "--help" => return Ok(Invocation::Help),
            "-c" | "--ctrl-config" => conf = Some(PathBuf::from(value(&flag)?)),
            "-s" | "--server" => selection = Some(Selection::parse(&value(&flag)?)?),
            f if f.starts_with('-') => return Err(format!("invalid option: {f}")),
            word => {
                if command.is_some() {
                    return Err(format!("extraneous argument: {word}"));
                }
                command =
                    Some(Command::parse(word).ok_or_else(|| format!("invalid command: {word}"))?);
            }
        }
    }
    let command = command.ok_or_else(|| "no command given".to_owned())?;
    Ok(Invocation::Run {
        command,
        conf,
        selection: selection.unwrap_or_default(),
    })
}

/// Runs nestorctl: parse, load the conf, execute; returns the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(
    args: I,
    env: &Environment,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let (command, conf_path, selection) = match parse(args) {
        Ok(Invocation::Version) => {
            let _ = writeln!(out, "{VERSION}");
            return 0;
        }
        Ok(Invocation::Help) => {
            let _ = writeln!(out, "{USAGE}");
            return 0;
        }
        Ok(Invocation::Run {
            command,
            conf,
            selection,
        }) => (command, conf, selection),
        Err(e) => {
            let _ = writeln!(err, "ERROR/nestorctl: {e}\n{USAGE}");
            return 1;
        }
    };
    let conf_path = conf_path
        .or_else(|| {
            env.var("NESTORCTL_CONF")
                .filter(|c| !c.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONF));
    let conf = match CtrlConf::load(&conf_path, env) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "ERROR/nestorctl: {e}");
            return 1;
        }
    };
    let mut report = Report::new(out, err, env.color);
    let ok = Ctl::new(&conf, env, &mut report).run(command, &selection);
    u8::from(!ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Daemon;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn keactrl_command_lines() {
        assert_eq!(
            parse(args(&["start", "-c", "/x.conf", "-s", "dhcp4"])).unwrap(),
            Invocation::Run {
                command: Command::Start,
                conf: Some("/x.conf".into()),
                selection: Selection {
                    daemons: vec![Daemon::Dhcp4],
                    unsupported: vec![],
                    all: false
                },
            }
        );
        assert_eq!(
            parse(args(&["--ctrl-config=/y", "--server", "all", "status"])).unwrap(),
            Invocation::Run {
                command: Command::Status,
                conf: Some("/y".into()),
                selection: Selection::default(),
            }
        );
        assert_eq!(parse(args(&["-v"])).unwrap(), Invocation::Version);
        assert_eq!(
            parse(args(&["status", "--version"])).unwrap(),
            Invocation::Version
        );
        assert_eq!(parse(args(&[])).unwrap_err(), "no command given");
        assert_eq!(
            parse(args(&["restart"])).unwrap_err(),
            "invalid command: restart"
        );
        assert_eq!(
            parse(args(&["start", "-s"])).unwrap_err(),
            "option -s requires a value"
        );
        assert_eq!(
            parse(args(&["start", "stop"])).unwrap_err(),
            "extraneous argument: stop"
        );
        assert_eq!(
            parse(args(&["start", "-x"])).unwrap_err(),
            "invalid option: -x"
        );
    }

    #[test]
    fn missing_conf_file_is_exit_1_with_its_name() {
        let env = Environment::default();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            args(&["status", "-c", "/nonexistent/nestorctl.conf"]),
            &env,
            &mut out,
            &mut err,
        );
        assert_eq!(code, 1);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with(
                "ERROR/nestorctl: Configuration file for nestorctl does not exist or cannot be read: /nonexistent/nestorctl.conf"
            ),
            "{err}"
        );
    }

    #[test]
    fn usage_error_prints_usage() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            args(&["frobnicate"]),
            &Environment::default(),
            &mut out,
            &mut err,
        );
        assert_eq!(code, 1);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!("ERROR/nestorctl: invalid command: frobnicate\n{USAGE}\n")
        );
    }
}
