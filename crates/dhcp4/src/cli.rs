//! Command line of `nestor-dhcp4`, the same flags as `kea-dhcp4` 2.2 (ARM "Starting and Stopping
//! the DHCPv4 Server"): `-c FILE` run, `-t FILE` check the configuration and exit, `-v` / `-V`
//! versions, `-W` configuration report, `-d` debug logging, `-p PORT` / `-P PORT` non-standard
//! server / client ports. Exit codes as Kea's: 0 on success, 1 on a usage or configuration error.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// `-c FILE`: serve with this configuration.
    Run(Options),
    /// `-t FILE`: check the configuration and exit.
    Check(Options),
    /// `-v`: the bare version.
    Version,
    /// `-V`: the extended version (build details).
    ExtendedVersion,
    /// `-W`: the configuration report (features this build has).
    ConfigReport,
}

/// Options shared by `-c` and `-t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub config: PathBuf,
    pub debug: bool,
    pub server_port: Option<u16>,
    pub client_port: Option<u16>,
}

/// A usage error: printed with the usage text, exit code 1 (as `kea-dhcp4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) const USAGE: &str = "\
Usage: nestor-dhcp4 -[v|V|W] [-d] [-{c|t} cfgfile] [-p number] [-P number]
  -v: print version number and exit
  -V: print extended version and exit
  -W: display the configuration report and exit
  -d: debug mode with extra verbosity (former -v)
  -c file: specify configuration file
  -t file: check the configuration file syntax and exit
  -p number: specify non-standard server port number 1-65535 (useful for testing only)
  -P number: specify non-standard client port number 1-65535 (useful for testing only)";

/// Parses the arguments after the program name. Flags may be grouped (`-dc file`) and a flag's
/// value may be attached (`-cfile`), as getopt allows for `kea-dhcp4`.
pub(crate) fn parse<I>(args: I) -> Result<Action, UsageError>
where
    I: IntoIterator<Item = OsString>,
{
    let mut args = args.into_iter();
    let mut config: Option<(bool, PathBuf)> = None; // (check only, file)
    let mut debug = false;
    let mut server_port = None;
    let mut client_port = None;
    let mut early: Option<Action> = None;

    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| UsageError(format!("argument is not valid UTF-8: {a:?}")))?;
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(UsageError(format!(
                "extraneous command line information: {arg}"
            )));
        };
        for (at, flag) in flags.char_indices() {
            match flag {
                'v' => early = early.or(Some(Action::Version)),
                'V' => early = early.or(Some(Action::ExtendedVersion)),
                'W' => early = early.or(Some(Action::ConfigReport)),
                'd' => debug = true,
                'c' | 't' | 'p' | 'P' => {
                    // The value is the rest of this argument, or the next argument.
                    let rest = flags.get(at + flag.len_utf8()..).unwrap_or_default();
                    let value = if rest.is_empty() {
                        args.next()
                            .and_then(|v| v.into_string().ok())
                            .ok_or_else(|| {
                                UsageError(format!("option requires an argument -- '{flag}'"))
                            })?
                    } else {
                        rest.to_owned()
                    };
                    match flag {
                        'c' | 't' => {
                            if config.is_some() {
                                return Err(UsageError(
                                    "only one of -c and -t may be given, once".into(),
                                ));
                            }
                            config = Some((flag == 't', PathBuf::from(value)));
                        }
                        'p' => server_port = Some(port(&value, "server")?),
                        _ => client_port = Some(port(&value, "client")?),
                    }
                    break; // the value consumed the rest of this argument
                }
                other => return Err(UsageError(format!("invalid option -- '{other}'"))),
            }
        }
    }

    if let Some(action) = early {
        return Ok(action);
    }
    let Some((check_only, config)) = config else {
        return Err(UsageError("Configuration file not specified.".into()));
    };
    let options = Options {
        config,
        debug,
        server_port,
        client_port,
    };
    Ok(if check_only {
        Action::Check(options)
    } else {
        Action::Run(options)
    })
}

fn port(value: &str, which: &str) -> Result<u16, UsageError> {
    match value.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(UsageError(format!(
            "{which} port number must be a number in range 1..65535, got '{value}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Action, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    fn opts(config: &str) -> Options {
        Options {
            config: config.into(),
            debug: false,
            server_port: None,
            client_port: None,
        }
    }

    #[test]
    fn check_and_run() {
        assert_eq!(p(&["-t", "a.json"]), Ok(Action::Check(opts("a.json"))));
        assert_eq!(p(&["-c", "a.json"]), Ok(Action::Run(opts("a.json"))));
        assert_eq!(p(&["-ta.json"]), Ok(Action::Check(opts("a.json"))));
    }

    #[test]
    fn grouped_flags_and_ports() {
        let got = p(&["-dc", "k.json", "-p", "1067", "-P1068"]);
        assert_eq!(
            got,
            Ok(Action::Run(Options {
                config: "k.json".into(),
                debug: true,
                server_port: Some(1067),
                client_port: Some(1068),
            }))
        );
    }

    #[test]
    fn versions_win_over_everything_else() {
        assert_eq!(p(&["-v"]), Ok(Action::Version));
        assert_eq!(p(&["-V", "-c", "x"]), Ok(Action::ExtendedVersion));
        assert_eq!(p(&["-W"]), Ok(Action::ConfigReport));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            p(&[]),
            Err(UsageError("Configuration file not specified.".into()))
        );
        assert!(p(&["-x"]).is_err());
        assert!(p(&["-c"]).is_err());
        assert!(p(&["-c", "a", "-t", "b"]).is_err());
        assert!(p(&["-c", "a", "-p", "0"]).is_err());
        assert!(p(&["-c", "a", "-p", "70000"]).is_err());
        assert!(p(&["-c", "a", "stray"]).is_err());
        assert!(p(&["-"]).is_err());
    }
}
