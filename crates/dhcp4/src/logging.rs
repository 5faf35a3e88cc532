//! Logging as Kea configures it (`loggers`, Kea ARM "Logging"), on `tracing`.
//!
//! Lines look like Kea's default layout, so operators grep what they know:
//! `2019-10-25 17:50:27.312 INFO  [kea-dhcp4.dhcp4/1358.139822] DHCP4_STARTED ...`: local
//! time with milliseconds, severity padded to 5, `[logger/pid.thread]`, then the message ID
//! and the text. An event's logger is its target when that starts with `kea-dhcp4` (the
//! server's own events use targets such as `kea-dhcp4.dhcp4`, `kea-dhcp4.leases`,
//! `kea-dhcp4.packets`); events of library crates map to the Kea logger of the same role
//! (`nestor_leases` -> `kea-dhcp4.dhcpsrv`, `nestor_ctrl` -> `kea-dhcp4.commands`, ...). A
//! field named `id` is printed as the message ID before the text.
//!
//! Each configured logger applies to its name and its children (`kea-dhcp4` covers
//! `kea-dhcp4.leases`); the most specific one wins. Severity `DEBUG` with `debuglevel` >= 50
//! also shows `TRACE` events (Kea's packet-level debug levels are 40..55). `-d` forces
//! DEBUG/99 on every logger, as Kea's verbose mode does. Outputs: `stdout`, `stderr`, a file
//! (rotated at `maxsize` keeping `maxver` old files, [`RotatingFile`]) or `syslog` (the local
//! `/dev/log` datagram socket, RFC 3164 framing).
//!
//! The configuration can be replaced at run time (config reload) through [`LogHandle`].

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use nestor_config::common::{LogOutput, Logger, OutputOption, Severity};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The root logger's name, as Kea's (configs name `kea-dhcp4`, so Nestor answers to it).
pub const ROOT_LOGGER: &str = "kea-dhcp4";

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A log file could not be opened.
    #[error("cannot open log file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A global subscriber was already installed.
    #[error("a logging subscriber is already installed")]
    AlreadyInstalled,
}

/// A file that is renamed to `.1`, `.2`, ... `.maxver` when it would grow past `maxsize`
/// (log4cplus `RollingFileAppender`, which Kea uses). `maxsize` 0 disables rotation.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    maxsize: u64,
    maxver: u32,
}

impl RotatingFile {
    /// Opens `path` for appending.
    pub fn open(path: &Path, maxsize: u64, maxver: u32) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            file,
            size,
            maxsize,
            maxver,
        })
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.maxver == 0 {
            // log4cplus with MaxBackupIndex 0 truncates instead of keeping a copy.
            self.file.set_len(0)?;
        } else {
            let _ = std::fs::remove_file(self.numbered(self.maxver));
            for n in (1..self.maxver).rev() {
                let _ = std::fs::rename(self.numbered(n), self.numbered(n + 1));
            }
            std::fs::rename(&self.path, self.numbered(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len() as u64;
        if self.maxsize > 0 && self.size > 0 && self.size + len > self.maxsize {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.size += len;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

enum Sink {
    Stdout,
    Stderr,
    File(Mutex<RotatingFile>),
    Syslog(Option<UnixDatagram>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Stdout => "stdout",
            Sink::Stderr => "stderr",
            Sink::File(_) => "file",
            Sink::Syslog(_) => "syslog",
        })
    }
}

impl Sink {
    fn open(option: &OutputOption) -> Result<Sink, LogError> {
        Ok(match &option.output {
            LogOutput::Stdout => Sink::Stdout,
            LogOutput::Stderr => Sink::Stderr,
            LogOutput::File(path) => {
                let path = Path::new(path);
                let file =
                    RotatingFile::open(path, option.maxsize, option.maxver).map_err(|source| {
                        LogError::File {
                            path: path.to_owned(),
                            source,
                        }
                    })?;
                Sink::File(Mutex::new(file))
            }
            LogOutput::Syslog(_) => Sink::Syslog(
                UnixDatagram::unbound()
                    .and_then(|s| s.connect("/dev/log").map(|()| s))
                    .ok(),
            ),
        })
    }

    fn write(&self, line: &str, level: Level) {
        // A log write that fails has nowhere to be reported; it must not stop the server.
        let _ = match self {
            Sink::Stdout => io::stdout().lock().write_all(line.as_bytes()),
            Sink::Stderr => io::stderr().lock().write_all(line.as_bytes()),
            Sink::File(f) => f
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write_all(line.as_bytes()),
            Sink::Syslog(Some(sock)) => {
                // facility daemon (3), severity from the level.
                let sev = match level {
                    Level::ERROR => 3,
                    Level::WARN => 4,
                    Level::INFO => 6,
                    _ => 7,
                };
                let msg = format!(
                    "<{}>nestor-dhcp4[{}]: {}",
                    3 * 8 + sev,
                    std::process::id(),
                    line.trim_end()
                );
                sock.send(msg.as_bytes()).map(|_| ())
            }
            Sink::Syslog(None) => io::stderr().lock().write_all(line.as_bytes()),
        };
    }
}

/// The most verbose level a logger lets through (`None` = nothing).
fn max_level(severity: Severity, debuglevel: u8) -> Option<Level> {
    match severity {
        Severity::Debug if debuglevel >= 50 => Some(Level::TRACE),
        Severity::Debug => Some(Level::DEBUG),
        Severity::Info => Some(Level::INFO),
        Severity::Warn => Some(Level::WARN),
        Severity::Error | Severity::Fatal => Some(Level::ERROR),
        Severity::None => None,
    }
}

/// One configured logger, opened.
#[derive(Debug)]
struct Route {
    name: String,
    level: Option<Level>,
    sinks: Vec<Sink>,
}

/// The opened logging configuration.
#[derive(Debug)]
pub struct LogSetup {
    routes: Vec<Route>,
}

fn level_rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

impl LogSetup {
    /// Opens the outputs of `loggers`. With none configured Kea logs INFO to stdout. `debug`
    /// is `-d`.
    pub fn open(loggers: &[Logger], debug: bool) -> Result<LogSetup, LogError> {
        let mut routes = Vec::new();
        for logger in loggers {
            let (severity, debuglevel) = if debug {
                (Severity::Debug, 99)
            } else {
                (logger.severity, logger.debuglevel)
            };
            let sinks = if logger.output_options.is_empty() {
                vec![Sink::Stdout]
            } else {
                logger
                    .output_options
                    .iter()
                    .map(Sink::open)
                    .collect::<Result<_, _>>()?
            };
            routes.push(Route {
                name: logger.name.clone(),
                level: max_level(severity, debuglevel),
                sinks,
            });
        }
        if !routes.iter().any(|r| r.name == ROOT_LOGGER) {
            routes.push(Route {
                name: ROOT_LOGGER.to_owned(),
                level: Some(if debug { Level::TRACE } else { Level::INFO }),
                sinks: vec![Sink::Stdout],
            });
        }
        // Most specific (longest) name first, so the first match is the one that applies.
        routes.sort_by_key(|r| std::cmp::Reverse(r.name.len()));
        Ok(LogSetup { routes })
    }

    fn route(&self, logger: &str) -> Option<&Route> {
        self.routes.iter().find(|r| {
            logger == r.name
                || (logger.starts_with(r.name.as_str())
                    && logger.as_bytes().get(r.name.len()) == Some(&b'.'))
        })
    }

    fn max_rank(&self) -> u8 {
        self.routes
            .iter()
            .filter_map(|r| r.level.map(level_rank))
            .max()
            .unwrap_or(0)
    }
}

/// The Kea logger an event belongs to.
fn logger_of(meta: &Metadata<'_>) -> &'static str {
    let target = meta.target();
    let top = target.split("::").next().unwrap_or(target);
    match top {
        "nestor_leases" => "kea-dhcp4.dhcpsrv",
        "nestor_ctrl" => "kea-dhcp4.commands",
        "nestor_hooks" => "kea-dhcp4.hooks",
        "nestor_config" => "kea-dhcp4.dhcp4",
        _ => "kea-dhcp4.dhcp4",
    }
}

/// The tracing layer that formats and routes events.
#[derive(Debug, Clone)]
pub struct LogHandle {
    setup: Arc<RwLock<LogSetup>>,
    /// Cheap pre-check on the hot path: the most verbose level any logger wants.
    max_rank: Arc<AtomicU8>,
}

impl LogHandle {
    /// Replaces the configuration (config reload). The previous outputs are closed.
    pub fn replace(&self, setup: LogSetup) {
        self.max_rank.store(setup.max_rank(), Ordering::Relaxed);
        *self.setup.write().unwrap_or_else(PoisonError::into_inner) = setup;
        tracing::callsite::rebuild_interest_cache();
    }
}

struct Fields<'a> {
    id: Option<String>,
    message: String,
    extra: &'a mut String,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "id" => self.id = Some(value.to_owned()),
            "message" => self.message.push_str(value),
            name => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "id" => self.id = Some(format!("{value:?}")),
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            name => {
                let _ = write!(self.extra, " {name}={value:?}");
            }
        }
    }
}

impl<S: Subscriber> Layer<S> for LogHandle {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        level_rank(*meta.level()) <= self.max_rank.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let target = meta.target();
        let logger: &str = if target.starts_with(ROOT_LOGGER) {
            target
        } else {
            logger_of(meta)
        };
        let setup = self.setup.read().unwrap_or_else(PoisonError::into_inner);
        let Some(route) = setup.route(logger) else {
            return;
        };
        match route.level {
            Some(max) if level_rank(*meta.level()) <= level_rank(max) => {}
            _ => return,
        }
        let mut extra = String::new();
        let mut fields = Fields {
            id: None,
            message: String::new(),
            extra: &mut extra,
        };
        event.record(&mut fields);
        let line = format_line(
            SystemTime::now(),
            *meta.level(),
            logger,
            fields.id.as_deref(),
            &fields.message,
            &extra,
        );
        for sink in &route.sinks {
            sink.write(&line, *meta.level());
        }
    }
}

/// Kea's severity names (`%-5p`).
fn severity_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

fn thread_tag() -> u64 {
    // A stable small number per thread, standing in for Kea's pthread id.
    thread_local!(static TAG: u64 = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::thread::current().id().hash(&mut h);
        h.finish() % 1_000_000
    });
    TAG.with(|t| *t)
}

/// Formats one line in Kea's default layout.
fn format_line(
    now: SystemTime,
    level: Level,
    logger: &str,
    id: Option<&str>,
    message: &str,
    extra: &str,
) -> String {
    let mut line = String::with_capacity(96 + message.len() + extra.len());
    write_timestamp(&mut line, now);
    let _ = write!(
        line,
        " {:<5} [{logger}/{}.{}] ",
        severity_name(level),
        std::process::id(),
        thread_tag()
    );
    if let Some(id) = id {
        line.push_str(id);
        line.push(' ');
    }
    line.push_str(message);
    line.push_str(extra);
    line.push('\n');
    line
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in local time.
pub fn write_timestamp(out: &mut String, now: SystemTime) {
    write_stamp(out, now, false);
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in local time (Kea's statistic sample timestamps).
pub fn stamp_micros(now: SystemTime) -> String {
    let mut s = String::with_capacity(26);
    write_stamp(&mut s, now, true);
    s
}

fn write_stamp(out: &mut String, now: SystemTime, micros: bool) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let utc = i64::try_from(since.as_secs()).unwrap_or(0);
    let local = utc + crate::net::sys::local_utc_offset(utc);
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
    );
    let _ = if micros {
        write!(out, "{:06}", since.subsec_micros())
    } else {
        write!(out, "{:03}", since.subsec_millis())
    };
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Installs the global subscriber with `setup` and returns the handle to replace it later.
pub fn install(setup: LogSetup) -> Result<LogHandle, LogError> {
    let handle = LogHandle {
        max_rank: Arc::new(AtomicU8::new(setup.max_rank())),
        setup: Arc::new(RwLock::new(setup)),
    };
    tracing_subscriber::registry()
        .with(handle.clone())
        .try_init()
        .map_err(|_| LogError::AlreadyInstalled)?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(name: &str, severity: Severity, output: Option<&Path>) -> Logger {
        Logger {
            name: name.into(),
            severity,
            debuglevel: 0,
            output_options: output
                .map(|p| {
                    vec![OutputOption {
                        output: LogOutput::File(p.to_string_lossy().into_owned()),
                        ..OutputOption::default()
                    }]
                })
                .unwrap_or_default(),
            user_context: None,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(18_194), (2019, 10, 25));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn line_layout_is_keas() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_572_025_827_312);
        let line = format_line(
            t,
            Level::INFO,
            "kea-dhcp4.dhcp4",
            Some("DHCP4_STARTED"),
            "started",
            "",
        );
        let (stamp, rest) = line.split_at(23);
        assert_eq!(stamp.len(), "2019-10-25 17:50:27.312".len());
        assert!(stamp.ends_with(".312"), "{stamp}");
        let pid = std::process::id().to_string();
        assert!(
            rest.starts_with(&format!(" INFO  [kea-dhcp4.dhcp4/{pid}.")),
            "{rest}"
        );
        assert!(rest.ends_with("] DHCP4_STARTED started\n"), "{rest}");
    }

    #[test]
    fn most_specific_logger_wins() {
        let setup = LogSetup::open(
            &[
                logger("kea-dhcp4", Severity::Info, None),
                logger("kea-dhcp4.leases", Severity::Error, None),
            ],
            false,
        )
        .unwrap();
        assert_eq!(
            setup.route("kea-dhcp4.leases").unwrap().level,
            Some(Level::ERROR)
        );
        assert_eq!(setup.route("kea-dhcp4.leasesx").unwrap().name, "kea-dhcp4");
        assert_eq!(
            setup.route("kea-dhcp4.dhcp4").unwrap().level,
            Some(Level::INFO)
        );
        assert!(setup.route("other").is_none());
        let debug = LogSetup::open(&[logger("kea-dhcp4", Severity::Warn, None)], true).unwrap();
        assert_eq!(debug.route("kea-dhcp4").unwrap().level, Some(Level::TRACE));
    }

    #[test]
    fn file_rotates_at_maxsize_keeping_maxver() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let mut f = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..10 {
            f.write_all(format!("{i:039}\n").as_bytes()).unwrap(); // 40 bytes a line
        }
        // 10 lines of 40 bytes, 2 lines per file: current + .1 + .2 kept, the rest dropped.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let one = std::fs::read_to_string(dir.path().join("n.log.1")).unwrap();
        assert!(one.starts_with(&format!("{:039}", 6)), "{one}");
        assert!(dir.path().join("n.log.2").exists());
        assert!(!dir.path().join("n.log.3").exists());
    }

    #[test]
    fn events_reach_the_configured_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kea.log");
        let setup =
            LogSetup::open(&[logger("kea-dhcp4", Severity::Info, Some(&path))], false).unwrap();
        let handle = LogHandle {
            max_rank: Arc::new(AtomicU8::new(setup.max_rank())),
            setup: Arc::new(RwLock::new(setup)),
        };
        let subscriber = tracing_subscriber::registry().with(handle);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_STARTED", "server started");
            tracing::debug!(target: "kea-dhcp4.dhcp4", id = "DHCP4_HIDDEN", "not shown");
            tracing::info!(id = "DHCPSRV_X", "from a module path");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[kea-dhcp4.dhcp4/"), "{text}");
        assert!(text.contains("] DHCP4_STARTED server started\n"), "{text}");
        assert!(text.contains("] DHCPSRV_X from a module path\n"), "{text}");
        assert!(!text.contains("DHCP4_HIDDEN"));
    }
}
