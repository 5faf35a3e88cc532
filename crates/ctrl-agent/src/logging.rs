//! Logging in Kea's default layout, on `tracing`:
//! `2026-11-25 21:24:02.646 INFO  [kea-ctrl-agent.ctrl-agent/32535.140365320079232] CTRL_AGENT_STARTED ...`
//! (time with milliseconds, severity padded to 5, `[logger/pid.thread]`, message ID, text).
//!
//! The agent's events use Kea's logger names as targets (`kea-ctrl-agent.ctrl-agent`,
//! `.auth`, `.http`, `.dctl`) and start their message with Kea's message ID where Kea has one;
//! events of `nestor_ctrl` appear as `kea-ctrl-agent.commands`, as Kea's command manager does.
//!
//! The configuration's `loggers` choose the severity and one output (`stdout`, `stderr` or a
//! file, appended; no rotation) from the entry named `kea-ctrl-agent` (else the first one);
//! `-d` forces DEBUG. The subscriber is installed once at start-up.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use nestor_config::common::{LogOutput, Logger, Severity};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Kea's root logger name for this daemon.
pub const ROOT_LOGGER: &str = "kea-ctrl-agent";

enum Sink {
    Stdout,
    Stderr,
    File(std::fs::File),
}

struct KeaLayer {
    max: Level,
    sink: Mutex<Sink>,
}

#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .push_str(&format!(" {}={value:?}", field.name()));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

fn logger_name(target: &str) -> String {
    if target.starts_with(ROOT_LOGGER) {
        target.to_owned()
    } else if target.starts_with("nestor_ctrl") {
        format!("{ROOT_LOGGER}.commands")
    } else if target.starts_with("nestor_config") {
        format!("{ROOT_LOGGER}.dctl")
    } else {
        format!(
            "{ROOT_LOGGER}.{}",
            target.split("::").next().unwrap_or(target)
        )
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC (Kea prints local time; the machine's zone is not read so
/// that logging needs no libc time zone calls).
fn timestamp(now: SystemTime) -> String {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let date = crate::http::http_date(now);
    // `Wed, 25 Nov 2026 19:28:56 GMT` -> reuse the calendar arithmetic, reorder.
    let mut parts = date.split(' ');
    let (_, day, month, year, time) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = month
        .and_then(|m| MONTHS.iter().position(|x| *x == m))
        .map_or(1, |i| i + 1);
    format!(
        "{}-{month:02}-{} {}.{:03}",
        year.unwrap_or("1970"),
        day.unwrap_or("01"),
        time.unwrap_or("00:00:00"),
        d.subsec_millis()
    )
}

impl<S: Subscriber> Layer<S> for KeaLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > self.max {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        // nestor-ctrl logs `COMMAND_RECEIVED` with a `command` field; Kea's line reads
        // `COMMAND_RECEIVED Received command 'x'`.
        if text.message == "COMMAND_RECEIVED"
            && let Some(name) = text.fields.strip_prefix(" command=")
        {
            text.message = format!("COMMAND_RECEIVED Received command '{name}'");
            text.fields.clear();
        }
        let severity = match *meta.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN",
            Level::INFO => "INFO",
            _ => "DEBUG",
        };
        let thread = format!("{:?}", std::thread::current().id());
        let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
        let line = format!(
            "{} {severity:<5} [{}/{}.{thread}] {}{}\n",
            timestamp(SystemTime::now()),
            logger_name(meta.target()),
            std::process::id(),
            text.message,
            text.fields
        );
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = match &mut *sink {
            Sink::Stdout => std::io::stdout().write_all(line.as_bytes()),
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Sink::File(file) => file.write_all(line.as_bytes()),
        };
    }
}

fn level(logger: Option<&Logger>, debug: bool) -> Option<Level> {
    if debug {
        return Some(Level::TRACE);
    }
    match logger.map_or(Severity::Info, |l| l.severity) {
        Severity::Debug => Some(if logger.is_some_and(|l| l.debuglevel >= 50) {
            Level::TRACE
        } else {
            Level::DEBUG
        }),
        Severity::Info => Some(Level::INFO),
        Severity::Warn => Some(Level::WARN),
        Severity::Error | Severity::Fatal => Some(Level::ERROR),
        Severity::None => None,
    }
}

/// Installs the global subscriber for `loggers` (`debug`: the `-d` flag). A second call, or a
/// file that cannot be opened, falls back to stdout and says so on stderr.
pub fn init(loggers: &[Logger], debug: bool) {
    let logger = loggers
        .iter()
        .find(|l| l.name == ROOT_LOGGER)
        .or_else(|| loggers.first());
    let Some(max) = level(logger, debug) else {
        return;
    };
    let sink = match logger
        .and_then(|l| l.output_options.first())
        .map(|o| &o.output)
    {
        Some(LogOutput::Stderr) => Sink::Stderr,
        Some(LogOutput::File(path)) => {
            match OpenOptions::new().create(true).append(true).open(path) {
                Ok(file) => Sink::File(file),
                Err(err) => {
                    eprintln!("cannot open log file {path}: {err}; logging to stdout");
                    Sink::Stdout
                }
            }
        }
        // syslog is not implemented: stdout, as Kea's default.
        _ => Sink::Stdout,
    };
    let layer = KeaLayer {
        max,
        sink: Mutex::new(sink),
    };
    if tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .is_err()
    {
        eprintln!("a logging subscriber is already installed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn kea_timestamp_and_names() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_634_936_646);
        assert_eq!(timestamp(t), "2026-11-25 19:28:56.646");
        assert_eq!(logger_name("kea-ctrl-agent.auth"), "kea-ctrl-agent.auth");
        assert_eq!(
            logger_name("nestor_ctrl::registry"),
            "kea-ctrl-agent.commands"
        );
    }
}
