//! The five commands: `start`, `stop`, `reload`, `status`, `version`, with keactrl 2.2's
//! messages (`INFO/keactrl: Starting ...` becomes `INFO/nestorctl: Starting ...`).
//!
//! Which daemons a command touches follows keactrl: `start` and `version` take the daemons both
//! enabled in the conf and selected by `-s`; `stop` and `reload` take the selected ones whether
//! enabled or not (so a daemon disabled after it was started can still be stopped); `status`
//! reports every daemon.
//!
//! INFO lines and the `status` report go to stdout, WARNING and ERROR lines to stderr.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nestor_config::common::{LogOutput, Logger};
use nestor_config::dhcp4::DbType;
use nix::sys::signal::Signal;

use crate::conf::{CtrlConf, DaemonConf};
use crate::daemon::{Daemon, Selection};
use crate::process::{self, POLL, RunState, pid_file_path, probe, run_bounded};
use crate::{Environment, VERSION, is_executable};

/// Kea's memfile lease file when `lease-database` names none (Debian's `localstatedir`).
const KEA_DEFAULT_LEASE_FILE: &str = "/var/lib/kea/kea-leases4.csv";

/// A command of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Start,
    Stop,
    Reload,
    Status,
    Version,
}

impl Command {
    /// keactrl's command words.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "start" => Command::Start,
            "stop" => Command::Stop,
            "reload" => Command::Reload,
            "status" => Command::Status,
            "version" => Command::Version,
            _ => return None,
        })
    }
}

/// Where messages go; write errors on a closed terminal are ignored, as the shell script's
/// `printf` would.
#[allow(missing_debug_implementations, reason = "holds `dyn Write` sinks")]
pub struct Report<'w> {
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    color: bool,
}

impl<'w> Report<'w> {
    /// `color`: stdout is a terminal (`status` then colours its verdicts).
    pub fn new(out: &'w mut dyn Write, err: &'w mut dyn Write, color: bool) -> Self {
        Self { out, err, color }
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn info(&mut self, text: &str) {
        let _ = writeln!(self.out, "INFO/nestorctl: {text}");
    }

    fn warn(&mut self, text: &str) {
        let _ = writeln!(self.err, "WARNING/nestorctl: {text}");
    }

    fn error(&mut self, text: &str) {
        let _ = writeln!(self.err, "ERROR/nestorctl: {text}");
    }

    /// Extra lines under an ERROR (a daemon's own output), indented.
    fn detail(&mut self, text: &str) {
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(self.err, "    {l}");
        }
    }
}

/// Time limits of the bounded waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `<binary> -t` and `<binary> -v`.
    pub check: Duration,
    /// From launch until the PID file names the new process.
    pub start: Duration,
    /// After the PID file appeared, how long the process must stay up to count as started: Kea
    /// writes its PID file before it applies its configuration, and a daemon that cannot open
    /// its control socket or lease file exits right after.
    pub settle: Duration,
    /// From SIGTERM until the process is gone.
    pub stop: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            check: Duration::from_secs(30),
            start: Duration::from_secs(5),
            settle: Duration::from_millis(500),
            stop: Duration::from_secs(10),
        }
    }
}

/// One run of nestorctl against a loaded conf.
#[allow(missing_debug_implementations, reason = "holds a `Report`")]
pub struct Ctl<'a, 'w> {
    conf: &'a CtrlConf,
    env: &'a Environment,
    report: &'a mut Report<'w>,
    timeouts: Timeouts,
}

impl<'a, 'w> Ctl<'a, 'w> {
    pub fn new(conf: &'a CtrlConf, env: &'a Environment, report: &'a mut Report<'w>) -> Self {
        Self {
            conf,
            env,
            report,
            timeouts: Timeouts::default(),
        }
    }

    /// Replaces the default time limits.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Runs `command` on `selection`; `false` when anything failed (exit status 1).
    pub fn run(&mut self, command: Command, selection: &Selection) -> bool {
        match command {
            Command::Start => {
                self.warn_unsupported(selection, true);
                self.each(selection, true, Self::start_one)
            }
            Command::Stop => {
                self.warn_unsupported(selection, false);
                self.each(selection, false, Self::stop_one)
            }
            Command::Reload => {
                self.warn_unsupported(selection, false);
                self.each(selection, false, Self::reload_one)
            }
            Command::Status => self.status(),
            Command::Version => self.version(selection),
        }
    }

    fn each(
        &mut self,
        selection: &Selection,
        enabled_only: bool,
        mut op: impl FnMut(&mut Self, &DaemonConf) -> bool,
    ) -> bool {
        let conf = self.conf;
        let mut ok = true;
        for d in &selection.daemons {
            let dc = conf.daemon(*d);
            if !enabled_only || dc.enabled {
                ok &= op(self, dc);
            }
        }
        ok
    }

    /// keactrl daemons Nestor lacks: named with `-s`, or (for `start`, without `-s`) enabled in
    /// the conf.
    fn warn_unsupported(&mut self, selection: &Selection, include_enabled: bool) {
        let mut names = selection.unsupported.clone();
        if selection.all && include_enabled {
            names.extend(self.conf.unsupported_enabled.iter().copied());
        }
        for n in names {
            self.report.warn(&format!(
                "{n} is not supported by Nestor (it has no such daemon), skipped."
            ));
        }
    }

    fn pid_file(&self, dc: &DaemonConf) -> PathBuf {
        let name = dc.binary_name();
        pid_file_path(self.env.pidfile_dir_for(&name), &dc.config_file, &name)
    }

    /// The file and binary must exist before anything is run.
    fn preflight(&mut self, dc: &DaemonConf) -> bool {
        let name = dc.binary_name();
        if !dc.config_file.is_file() {
            self.report.error(&format!(
                "Configuration file for {name} does not exist: {}.",
                dc.config_file.display()
            ));
            return false;
        }
        if !is_executable(&dc.binary) {
            self.report.error(&format!(
                "{name} binary not found or not executable: {} (set {} in {}).",
                dc.binary.display(),
                dc.daemon.binary_var(),
                self.conf.path.display()
            ));
            return false;
        }
        true
    }

    /// `<binary> -t <file>`: true when the daemon accepts its configuration.
    fn check_config(&mut self, dc: &DaemonConf, action: &str) -> bool {
        let name = dc.binary_name();
        let mut cmd = Process::new(&dc.binary);
        cmd.arg("-t").arg(&dc.config_file);
        match run_bounded(&mut cmd, self.timeouts.check) {
            Ok(f) if f.status.is_some_and(|s| s.success()) => true,
            Ok(f) => {
                let verdict = match f.status {
                    Some(s) => format!("({s})"),
                    None => format!("(no verdict within {} s)", self.timeouts.check.as_secs()),
                };
                self.report.error(&format!(
                    "{name} refused its configuration file {} {verdict}; not {action}. `{} -t` said:",
                    dc.config_file.display(),
                    dc.binary.display()
                ));
                self.report.detail(&f.output);
                false
            }
            Err(e) => {
                self.report
                    .error(&format!("cannot run {} -t: {e}", dc.binary.display()));
                false
            }
        }
    }

    fn start_one(&mut self, dc: &DaemonConf) -> bool {
        if !self.preflight(dc) {
            return false;
        }
        let name = dc.binary_name();
        let pid_file = self.pid_file(dc);
        match probe(&pid_file, &dc.binary) {
            RunState::Running { pid } => {
                self.report.info(&format!(
                    "{name} appears to be running, see: PID {pid}, PID file: {}.",
                    pid_file.display()
                ));
                return true;
            }
            RunState::NoPidFile => {}
            RunState::Stale { reason } => {
                // Kea refuses to start while its PID file names a live process, even an
                // unrelated one that reused the PID; the file is verifiably not ours any more.
                self.report.info(&format!(
                    "removing stale PID file {} ({reason}).",
                    pid_file.display()
                ));
                if let Err(e) = std::fs::remove_file(&pid_file) {
                    self.report.error(&format!(
                        "cannot remove stale PID file {}: {e}",
                        pid_file.display()
                    ));
                    return false;
                }
            }
        }
        if !self.check_config(dc, "starting") {
            return false;
        }

        let mut args = vec!["-c".into(), dc.config_file.clone().into_os_string()];
        if self.conf.verbose {
            args.push("-d".into());
        }
        let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        self.report.info(&format!(
            "Starting {} {}",
            dc.binary.display(),
            shown.join(" ")
        ));
        let (stdout, stderr, log) = match self.daemon_output(&name) {
            Ok(o) => o,
            Err(e) => {
                self.report.error(&e);
                return false;
            }
        };
        let mut cmd = Process::new(&dc.binary);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group: a Ctrl-C meant for the shell that ran nestorctl does not
            // reach the daemon. (A full setsid needs a pre_exec hook, i.e. unsafe code; with
            // stdin on /dev/null and no terminal output the daemon has no use for one.)
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.report
                    .error(&format!("cannot start {}: {e}", dc.binary.display()));
                return false;
            }
        };
        let pid = i32::try_from(child.id()).unwrap_or(0);
        let see_log = log
            .map(|l| format!(", see {}", l.display()))
            .unwrap_or_default();

        // Up: the PID file names our child and the child stays alive for `settle`.
        let deadline = Instant::now() + self.timeouts.start;
        let mut up_since: Option<Instant> = None;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.report.error(&format!(
                        "{name} exited during start-up ({status}){see_log}."
                    ));
                    return false;
                }
                Ok(None) => {}
                Err(e) => {
                    self.report
                        .error(&format!("cannot watch {name} (PID {pid}): {e}"));
                    return false;
                }
            }
            let now = Instant::now();
            if probe(&pid_file, &dc.binary).pid() == Some(pid) {
                let since = *up_since.get_or_insert(now);
                if now.duration_since(since) >= self.timeouts.settle {
                    self.report.info(&format!("{name} started, PID {pid}."));
                    return true;
                }
            } else if now >= deadline {
                self.report.error(&format!(
                    "{name} (PID {pid}) has not written its PID file {} within {} s{see_log}; \
                     it is left running, stop it by PID.",
                    pid_file.display(),
                    self.timeouts.start.as_secs_f32()
                ));
                return false;
            }
            thread::sleep(POLL);
        }
    }

    /// stdout and stderr of a started daemon: `<log_dir>/<binary>.out` (appended) or /dev/null.
    fn daemon_output(&self, name: &str) -> Result<(Stdio, Stdio, Option<PathBuf>), String> {
        let Some(dir) = &self.conf.log_dir else {
            return Ok((Stdio::null(), Stdio::null(), None));
        };
        let path = dir.join(format!("{name}.out"));
        let open = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open {} for {name}'s output: {e}", path.display()))
        };
        let out = open()?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {} for {name}'s output: {e}", path.display()))?;
        Ok((out.into(), err.into(), Some(path)))
    }

    fn stop_one(&mut self, dc: &DaemonConf) -> bool {
        let name = dc.binary_name();
        let Some(pid) = self.running_or_say(dc) else {
            return true;
        };
        self.report.info(&format!("Stopping {name}..."));
        if let Err(e) = process::signal(pid, Signal::SIGTERM) {
            self.report
                .error(&format!("cannot signal {name} (PID {pid}): {e}"));
            return false;
        }
        let deadline = Instant::now() + self.timeouts.stop;
        while process::identify(pid, &dc.binary).is_ok() {
            if Instant::now() >= deadline {
                self.report.error(&format!(
                    "{name} (PID {pid}) is still running {} s after SIGTERM.",
                    self.timeouts.stop.as_secs()
                ));
                return false;
            }
            thread::sleep(POLL);
        }
        true
    }

    fn reload_one(&mut self, dc: &DaemonConf) -> bool {
        let name = dc.binary_name();
        let Some(pid) = self.running_or_say(dc) else {
            return true;
        };
        // Kea keeps its old configuration when a reload fails and only logs why; checking first
        // tells the operator now, at the terminal.
        if !self.preflight(dc) || !self.check_config(dc, "reloaded") {
            return false;
        }
        self.report.info(&format!("Reloading {name}..."));
        if let Err(e) = process::signal(pid, Signal::SIGHUP) {
            self.report
                .error(&format!("cannot signal {name} (PID {pid}): {e}"));
            return false;
        }
        true
    }

    /// The PID of a running daemon, or `None` after saying that it isn't running.
    fn running_or_say(&mut self, dc: &DaemonConf) -> Option<i32> {
        let name = dc.binary_name();
        let pid_file = self.pid_file(dc);
        match probe(&pid_file, &dc.binary) {
            RunState::Running { pid } => Some(pid),
            RunState::NoPidFile => {
                self.report.info(&format!("{name} isn't running."));
                None
            }
            RunState::Stale { reason } => {
                self.report.info(&format!(
                    "{name} isn't running (stale PID file {}: {reason}).",
                    pid_file.display()
                ));
                None
            }
        }
    }

    fn status(&mut self) -> bool {
        let conf = self.conf;
        for d in Daemon::ALL {
            let dc = conf.daemon(d);
            let active = probe(&self.pid_file(dc), &dc.binary).pid().is_some();
            let verdict = match (active, self.report.color) {
                (true, false) => "active",
                (false, false) => "inactive",
                (true, true) => "\x1b[32mactive\x1b[0m",
                (false, true) => "\x1b[31minactive\x1b[0m",
            };
            self.report.line(&format!("{}: {verdict}", d.title()));
        }
        for d in Daemon::ALL {
            let dc = conf.daemon(d);
            self.report.line(&format!(
                "{}: {}",
                d.config_title(),
                dc.config_file.display()
            ));
            if dc.config_file.is_file() {
                for l in files_of(dc) {
                    self.report.line(&format!("    {l}"));
                }
            }
        }
        self.report.line(&format!(
            "nestorctl configuration file: {}",
            conf.path.display()
        ));
        let mut ok = true;
        for d in Daemon::ALL {
            let dc = conf.daemon(d);
            if dc.enabled && !dc.config_file.is_file() {
                self.report.error(&format!(
                    "Configuration file for Nestor does not exist: {}.",
                    dc.config_file.display()
                ));
                ok = false;
            }
        }
        ok
    }

    fn version(&mut self, selection: &Selection) -> bool {
        self.report.line(&format!("nestorctl: {VERSION}"));
        self.each(selection, true, |ctl, dc| {
            let name = dc.binary_name();
            let mut cmd = Process::new(&dc.binary);
            cmd.arg("-v");
            match run_bounded(&mut cmd, ctl.timeouts.check) {
                Ok(f) if f.status.is_some_and(|s| s.success()) => {
                    let v = f.output.lines().next().unwrap_or("").trim().to_owned();
                    ctl.report.line(&format!("{name}: {v}"));
                    true
                }
                Ok(f) => {
                    ctl.report
                        .error(&format!("{} -v failed:", dc.binary.display()));
                    ctl.report.detail(&f.output);
                    false
                }
                Err(e) => {
                    ctl.report
                        .error(&format!("cannot run {} -v: {e}", dc.binary.display()));
                    false
                }
            }
        })
    }
}

/// `status`'s lines about the files a daemon's configuration names (keactrl shows the config
/// files; the lease and log files are where an operator looks next).
fn files_of(dc: &DaemonConf) -> Vec<String> {
    let indent_errors = |e: &dyn std::fmt::Display| {
        let mut v = vec!["Configuration error:".to_owned()];
        v.extend(e.to_string().lines().map(|l| format!("    {l}")));
        v
    };
    match dc.daemon {
        Daemon::Dhcp4 => match nestor_config::load_dhcp4_file(&dc.config_file) {
            Ok(l) => {
                let db = &l.config.lease_database;
                let lease = match db.db_type {
                    DbType::Memfile if !db.persist => {
                        "Lease file: none (memfile with persist false)".to_owned()
                    }
                    DbType::Memfile => format!(
                        "Lease file: {}",
                        db.name.as_deref().unwrap_or(KEA_DEFAULT_LEASE_FILE)
                    ),
                    other => format!(
                        "Lease database: {} {}{}",
                        other.kea_name(),
                        db.name.as_deref().unwrap_or("(no name)"),
                        db.host
                            .as_deref()
                            .map(|h| format!(" on {h}"))
                            .unwrap_or_default()
                    ),
                };
                vec![lease, log_line(&l.config.loggers)]
            }
            Err(e) => indent_errors(&e),
        },
        Daemon::CtrlAgent => match nestor_config::load_agent_file(&dc.config_file) {
            Ok(l) => vec![log_line(&l.config.loggers)],
            Err(e) => indent_errors(&e),
        },
    }
}

/// `Log files: a, b`, naming the non-file destinations when there are no files.
fn log_line(loggers: &[Logger]) -> String {
    let mut files: Vec<&str> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    let mut push_other = |s: String| {
        if !others.contains(&s) {
            others.push(s);
        }
    };
    if loggers.is_empty() {
        push_other("stdout".into());
    }
    for logger in loggers {
        if logger.output_options.is_empty() {
            push_other("stdout".into());
        }
        for o in &logger.output_options {
            match &o.output {
                LogOutput::File(f) => {
                    if !files.contains(&f.as_str()) {
                        files.push(f);
                    }
                }
                LogOutput::Stdout => push_other("stdout".into()),
                LogOutput::Stderr => push_other("stderr".into()),
                LogOutput::Syslog(None) => push_other("syslog".into()),
                LogOutput::Syslog(Some(f)) => push_other(format!("syslog:{f}")),
            }
        }
    }
    if files.is_empty() {
        format!("Log files: none (logging to {})", others.join(", "))
    } else if others.is_empty() {
        format!("Log files: {}", files.join(", "))
    } else {
        format!(
            "Log files: {} (also logging to {})",
            files.join(", "),
            others.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::common::OutputOption;

    fn logger(outputs: &[LogOutput]) -> Logger {
        Logger {
            name: "kea-dhcp4".into(),
            severity: nestor_config::common::Severity::Info,
            debuglevel: 0,
            output_options: outputs
                .iter()
                .map(|o| OutputOption {
                    output: o.clone(),
                    ..OutputOption::default()
                })
                .collect(),
            user_context: None,
        }
    }

    #[test]
    fn log_line_lists_files_then_other_outputs() {
        assert_eq!(log_line(&[]), "Log files: none (logging to stdout)");
        assert_eq!(
            log_line(&[logger(&[
                LogOutput::File("/var/log/a.log".into()),
                LogOutput::Syslog(Some("local0".into()))
            ])]),
            "Log files: /var/log/a.log (also logging to syslog:local0)"
        );
        assert_eq!(
            log_line(&[
                logger(&[LogOutput::File("/a".into())]),
                logger(&[LogOutput::File("/a".into()), LogOutput::File("/b".into())])
            ]),
            "Log files: /a, /b"
        );
    }

    /// A daemon that passes `-t`, answers `-v`, and runs without ever writing a PID file.
    fn silent_daemon(dir: &std::path::Path) -> (CtrlConf, Environment) {
        use std::os::unix::fs::PermissionsExt as _;
        let binary = dir.join("fake-dhcp4");
        std::fs::write(
            &binary,
            "#!/bin/sh\ncase \"$1\" in -t) exit 0;; -v) echo 9.9.9; exit 0;; esac\nexec sleep 5\n",
        )
        .unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = dir.join("kea-dhcp4.conf");
        std::fs::write(&config, "{}").unwrap();
        let env = Environment {
            pidfile_dir: dir.to_owned(),
            ..Environment::default()
        };
        let text = format!(
            "dhcp4_srv={}\nkea_dhcp4_config_file={}\nctrl_agent=no\n",
            binary.display(),
            config.display()
        );
        let conf = CtrlConf::parse(&text, &dir.join("nestorctl.conf"), &env).unwrap();
        (conf, env)
    }

    #[test]
    fn daemon_without_pid_file_is_a_failure_named_by_pid() {
        let dir = tempfile::tempdir().unwrap();
        let (conf, env) = silent_daemon(dir.path());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut report = Report::new(&mut out, &mut err, false);
        let ok = Ctl::new(&conf, &env, &mut report)
            .with_timeouts(Timeouts {
                check: Duration::from_secs(5),
                start: Duration::from_millis(300),
                settle: Duration::from_millis(100),
                stop: Duration::from_secs(1),
            })
            .run(Command::Start, &Selection::default());
        assert!(!ok);
        let err = String::from_utf8(err).unwrap();
        let pid: i32 = err
            .split_once("fake-dhcp4 (PID ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(pid, _)| pid.parse().ok())
            .unwrap_or_else(|| panic!("no PID in {err:?}"));
        let _ = process::signal(pid, Signal::SIGKILL);
        assert!(
            err.contains(&format!(
                "has not written its PID file {} within 0.3 s; it is left running, stop it by PID.",
                dir.path().join("kea-dhcp4.fake-dhcp4.pid").display()
            )),
            "{err}"
        );
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("INFO/nestorctl: Starting "), "{out}");
    }

    #[test]
    fn version_prints_each_enabled_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let (conf, env) = silent_daemon(dir.path());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut report = Report::new(&mut out, &mut err, false);
        assert!(Ctl::new(&conf, &env, &mut report).run(Command::Version, &Selection::default()));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("nestorctl: {VERSION}\nfake-dhcp4: 9.9.9\n")
        );
    }

    #[test]
    fn command_words() {
        assert_eq!(Command::parse("reload"), Some(Command::Reload));
        assert_eq!(Command::parse("Start"), None);
    }
}
