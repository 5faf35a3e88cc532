//! `kea-dhcp4 -c` under a harness: configuration written to a temporary directory, control
//! socket and memfile lease file placed there, readiness = the socket answers `status-get`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tempfile::TempDir;

use super::{
    COMMAND_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, kea_binary, kea_env, log_to_files, output_tail,
    scratch_dir, unix_command,
};
use crate::error::{HarnessError, Result};
use crate::netns::Netns;
use crate::process::ChildGuard;

/// In a text configuration, replaced by the harness's temporary directory before the file is
/// written (e.g. `"socket-name": "@TMPDIR@/kea4.sock"`).
pub const TMPDIR_PLACEHOLDER: &str = "@TMPDIR@";

/// Where the harness puts the control socket and the lease file when it places them.
const SOCKET_FILE: &str = "kea4-ctrl.sock";
const LEASE_FILE: &str = "kea-leases4.csv";
const CONFIG_FILE: &str = "kea-dhcp4.json";

/// A configuration for [`KeaDhcp4`].
#[derive(Debug, Clone)]
pub enum KeaConfig {
    /// A JSON document: `{"Dhcp4": {...}}`, or the inside of `Dhcp4` alone.
    Json(Value),
    /// Text written as is (after [`TMPDIR_PLACEHOLDER`] substitution), comments allowed; it must
    /// name its own control socket.
    Text(String),
}

impl From<Value> for KeaConfig {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

impl From<&str> for KeaConfig {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for KeaConfig {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

/// Options for starting a [`KeaDhcp4`]; see [`KeaDhcp4::builder`].
#[derive(Debug)]
pub struct KeaDhcp4Builder {
    config: KeaConfig,
    binary: Option<PathBuf>,
    server_port: Option<u16>,
    client_port: Option<u16>,
    place_files: bool,
    startup_timeout: Duration,
    netns: Option<String>,
}

impl KeaDhcp4Builder {
    /// Runs this binary instead of `kea-dhcp4` from `PATH`.
    #[must_use]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// `-p PORT`: the port Kea listens on for DHCP (and answers relays on).
    #[must_use]
    pub fn server_port(mut self, port: u16) -> Self {
        self.server_port = Some(port);
        self
    }

    /// `-P PORT`: the port Kea sends replies to clients on.
    #[must_use]
    pub fn client_port(mut self, port: u16) -> Self {
        self.client_port = Some(port);
        self
    }

    /// Leaves `control-socket.socket-name` and `lease-database.name` of a JSON configuration as
    /// given (by default the harness sets them to files in its temporary directory, adding a
    /// unix control socket and a memfile lease database when the configuration has none).
    #[must_use]
    pub fn keep_paths(mut self) -> Self {
        self.place_files = false;
        self
    }

    /// How long to wait for the control socket to answer (default
    /// [`DEFAULT_STARTUP_TIMEOUT`](super::DEFAULT_STARTUP_TIMEOUT)).
    #[must_use]
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Runs Kea inside a network namespace (`ip netns exec`); the control socket is a file, so it
    /// stays reachable from the test.
    #[must_use]
    pub fn in_netns(mut self, netns: &Netns) -> Self {
        self.netns = Some(netns.name().to_owned());
        self
    }

    /// Writes the configuration, starts Kea and waits until its control socket answers.
    pub fn start(self) -> Result<KeaDhcp4> {
        let binary = match self.binary {
            Some(path) => path,
            None => kea_binary("kea-dhcp4", "kea-dhcp4-server")?,
        };
        let dir = scratch_dir("nestor-kea-dhcp4-")?;
        let config_path = dir.path().join(CONFIG_FILE);
        let (text, paths) = prepare(self.config, dir.path(), self.place_files)?;
        std::fs::write(&config_path, text)
            .map_err(|e| HarnessError::io(format!("writing {}", config_path.display()), e))?;
        let socket = paths.socket.ok_or_else(|| HarnessError::NoControlSocket {
            config: config_path.clone(),
        })?;

        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new(crate::netns::ip_binary()?);
                c.args(["netns", "exec", ns]).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        command.arg("-c").arg(&config_path);
        if let Some(port) = self.server_port {
            command.arg("-p").arg(port.to_string());
        }
        if let Some(port) = self.client_port {
            command.arg("-P").arg(port.to_string());
        }
        kea_env(&mut command, dir.path());
        log_to_files(&mut command, dir.path())?;
        let guard = ChildGuard::spawn(&mut command)?;
        let mut kea = KeaDhcp4 {
            guard: Some(guard),
            socket,
            lease_file: paths.lease_file,
            config_path,
            dir,
        };
        kea.wait_ready(self.startup_timeout)?;
        Ok(kea)
    }
}

/// A running `kea-dhcp4`, stopped by PID (SIGTERM, then SIGKILL) and its directory removed when
/// dropped.
///
/// When [`KeaDhcp4Builder::start`] returns, the control socket has answered `status-get`; Kea
/// opens its DHCP sockets while applying its configuration, before its main loop first serves
/// the control socket, so they are open too (unless `service-sockets-max-retries` defers them).
#[derive(Debug)]
pub struct KeaDhcp4 {
    /// `None` after [`KeaDhcp4::stop`].
    guard: Option<ChildGuard>,
    socket: PathBuf,
    lease_file: Option<PathBuf>,
    config_path: PathBuf,
    // Last: removed after the process is stopped.
    dir: TempDir,
}

impl KeaDhcp4 {
    /// Starts Kea with `config` and the default options.
    pub fn start(config: impl Into<KeaConfig>) -> Result<Self> {
        Self::builder(config).start()
    }

    /// Options before starting.
    pub fn builder(config: impl Into<KeaConfig>) -> KeaDhcp4Builder {
        KeaDhcp4Builder {
            config: config.into(),
            binary: None,
            server_port: None,
            client_port: None,
            place_files: true,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            netns: None,
        }
    }

    /// Sends one command over the control socket and returns Kea's answer (whatever its
    /// `result`).
    pub fn command(&self, command: &Value) -> Result<Value> {
        unix_command(&self.socket, command, COMMAND_TIMEOUT)
    }

    /// The unix control socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The memfile lease file, when the configuration uses a persistent memfile.
    pub fn lease_file(&self) -> Option<&Path> {
        self.lease_file.as_deref()
    }

    /// The configuration file as written.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The temporary directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kea's PID, or `None` once stopped.
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(ChildGuard::pid)
    }

    /// The last lines Kea printed on stdout and stderr (its default logger writes to stdout).
    pub fn output(&self) -> String {
        output_tail(self.dir.path())
    }

    /// Stops Kea (SIGTERM, then SIGKILL after a grace period) and returns its exit status. The
    /// directory, and so the lease file, stays until the harness is dropped.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        match self.guard.take() {
            Some(guard) => guard.stop(),
            None => Err(HarnessError::invalid("kea-dhcp4 was already stopped")),
        }
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last_error = String::from("not tried");
        while start.elapsed() < timeout {
            let exited = match self.guard.as_mut() {
                Some(guard) => guard.try_wait()?,
                None => None,
            };
            if let Some(status) = exited {
                self.guard = None;
                return Err(HarnessError::ExitedEarly {
                    program: "kea-dhcp4".into(),
                    status,
                    output: self.output(),
                });
            }
            match unix_command(
                &self.socket,
                &json!({"command": "status-get"}),
                COMMAND_TIMEOUT,
            ) {
                Ok(answer) if answer.get("result") == Some(&json!(0)) => return Ok(()),
                Ok(answer) => last_error = format!("status-get answered {answer}"),
                Err(err) => last_error = err.to_string(),
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(HarnessError::NotReady {
            program: "kea-dhcp4".into(),
            waited: timeout,
            last_error,
            output: self.output(),
        })
    }
}

/// Paths found in (or put into) a configuration.
#[derive(Debug, Default, PartialEq)]
struct Placed {
    socket: Option<PathBuf>,
    lease_file: Option<PathBuf>,
}

/// The text to write and where its socket and lease file are.
fn prepare(config: KeaConfig, dir: &Path, place_files: bool) -> Result<(String, Placed)> {
    match config {
        KeaConfig::Json(mut value) => {
            if value.get("Dhcp4").is_none() {
                value = json!({ "Dhcp4": value });
            }
            let dhcp4 = value
                .get_mut("Dhcp4")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| HarnessError::invalid("`Dhcp4` is not a JSON object"))?;
            if place_files {
                place(dhcp4, dir);
            }
            let placed = find_paths(dhcp4, dir);
            Ok((value.to_string(), placed))
        }
        KeaConfig::Text(text) => {
            let text = text.replace(TMPDIR_PLACEHOLDER, &dir.to_string_lossy());
            let placed = serde_json::from_str::<Value>(&strip_comments(&text))
                .ok()
                .and_then(|mut v| {
                    v.get_mut("Dhcp4")
                        .and_then(Value::as_object_mut)
                        .map(|d| find_paths(d, dir))
                })
                .unwrap_or_default();
            Ok((text, placed))
        }
    }
}

/// Control socket and memfile into `dir`, so that concurrent tests never meet and nothing is
/// written to `/var/lib/kea` or `/run/kea`.
fn place(dhcp4: &mut Map<String, Value>, dir: &Path) {
    let socket = dir.join(SOCKET_FILE);
    match dhcp4
        .get_mut("control-socket")
        .and_then(Value::as_object_mut)
    {
        Some(control) => {
            control.insert("socket-name".into(), json!(socket));
            control.entry("socket-type").or_insert(json!("unix"));
        }
        None => {
            dhcp4.insert(
                "control-socket".into(),
                json!({"socket-type": "unix", "socket-name": socket}),
            );
        }
    }
    let leases = dir.join(LEASE_FILE);
    match dhcp4
        .get_mut("lease-database")
        .and_then(Value::as_object_mut)
    {
        // Kea's default type is memfile; the name of an SQL database is not a path.
        Some(db) if db.get("type").is_none_or(|t| t == "memfile") => {
            db.insert("name".into(), json!(leases));
        }
        Some(_) => {}
        // Kea's default is a persistent memfile under /var/lib/kea: same, but here.
        None => {
            dhcp4.insert(
                "lease-database".into(),
                json!({"type": "memfile", "name": leases}),
            );
        }
    }
}

fn find_paths(dhcp4: &Map<String, Value>, dir: &Path) -> Placed {
    // Relative paths are relative to Kea's working directory, which is `dir`.
    let path = |v: &Value| v.as_str().map(|s| dir.join(s));
    let socket = dhcp4
        .get("control-socket")
        .filter(|c| c.get("socket-type").is_none_or(|t| t == "unix"))
        .and_then(|c| c.get("socket-name"))
        .and_then(path);
    let lease_file = dhcp4
        .get("lease-database")
        .filter(|db| db.get("type").is_none_or(|t| t == "memfile"))
        .filter(|db| db.get("persist") != Some(&json!(false)))
        .and_then(|db| db.get("name"))
        .and_then(path);
    Placed { socket, lease_file }
}

/// Kea's configuration syntax allows `#` and `//` line comments and `/* */` block comments
/// outside strings; removes them so that serde_json can read the rest.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    match s {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '#' => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = '\0';
                for s in chars.by_ref() {
                    if previous == '*' && s == '/' {
                        break;
                    }
                    previous = s;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn skip_line(chars: &mut impl Iterator<Item = char>, out: &mut String) {
    if chars.any(|c| c == '\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_socket_and_memfile_in_the_directory() {
        let dir = Path::new("/tmp/x");
        let (text, placed) = prepare(
            json!({"Dhcp4": {"valid-lifetime": 100, "control-socket": {"socket-name": "/run/kea/k.sock"}}})
                .into(),
            dir,
            true,
        )
        .unwrap();
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            written["Dhcp4"]["control-socket"],
            json!({"socket-name": "/tmp/x/kea4-ctrl.sock", "socket-type": "unix"})
        );
        assert_eq!(
            written["Dhcp4"]["lease-database"],
            json!({"type": "memfile", "name": "/tmp/x/kea-leases4.csv"})
        );
        assert_eq!(written["Dhcp4"]["valid-lifetime"], 100);
        assert_eq!(
            placed,
            Placed {
                socket: Some(dir.join(SOCKET_FILE)),
                lease_file: Some(dir.join(LEASE_FILE))
            }
        );
    }

    #[test]
    fn bare_dhcp4_is_wrapped_and_sql_names_are_kept() {
        let (text, placed) = prepare(
            json!({"lease-database": {"type": "postgresql", "name": "kea"}}).into(),
            Path::new("/d"),
            true,
        )
        .unwrap();
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            written["Dhcp4"]["lease-database"],
            json!({"type": "postgresql", "name": "kea"})
        );
        assert_eq!(placed.lease_file, None);
        assert_eq!(placed.socket, Some(PathBuf::from("/d/kea4-ctrl.sock")));
    }

    #[test]
    fn keep_paths_only_finds_them() {
        let config = json!({"Dhcp4": {
            "control-socket": {"socket-type": "unix", "socket-name": "rel.sock"},
            "lease-database": {"type": "memfile", "persist": false, "name": "/x/l.csv"}
        }});
        let (text, placed) = prepare(config.clone().into(), Path::new("/d"), false).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), config);
        // Relative to Kea's working directory; a non-persistent memfile writes no file.
        assert_eq!(
            placed,
            Placed {
                socket: Some(PathBuf::from("/d/rel.sock")),
                lease_file: None
            }
        );
        assert!(prepare(json!({"Dhcp4": 5}).into(), Path::new("/d"), true).is_err());
    }

    #[test]
    fn text_is_kept_verbatim_and_read_through_comments() {
        let text = "# Kea config\n{ \"Dhcp4\": { // trailing\n \"control-socket\": { /* block\n */ \
                    \"socket-type\": \"unix\", \"socket-name\": \"@TMPDIR@/a#b//c.sock\" },\n \
                    \"lease-database\": { \"type\": \"memfile\", \"name\": \"@TMPDIR@/l.csv\" } } }\n";
        let (written, placed) = prepare(text.into(), Path::new("/d"), true).unwrap();
        assert_eq!(written, text.replace("@TMPDIR@", "/d"));
        assert_eq!(
            placed,
            Placed {
                socket: Some(PathBuf::from("/d/a#b//c.sock")),
                lease_file: Some(PathBuf::from("/d/l.csv"))
            }
        );
    }

    #[test]
    fn comment_stripping_respects_strings_and_escapes() {
        assert_eq!(
            strip_comments(r##"{"a": "x\"#y"} # c"##),
            r##"{"a": "x\"#y"} "##
        );
        assert_eq!(strip_comments("1 /* x */ 2 // y\n3"), "1   2 \n3");
        assert_eq!(strip_comments("/* unterminated"), " ");
    }
}
