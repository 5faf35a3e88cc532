//! `kea-ctrl-agent` under a harness: HTTP on 127.0.0.1 and a free TCP port, forwarding to the
//! unix sockets it is given; readiness = it answers an HTTP `list-commands`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tempfile::TempDir;

use super::{
    COMMAND_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, http_post_json, kea_binary, kea_env, log_to_files,
    output_tail, scratch_dir,
};
use crate::error::{HarnessError, Result};
use crate::ports::free_tcp_port;
use crate::process::ChildGuard;

/// Options for starting a [`KeaCtrlAgent`]; see [`KeaCtrlAgent::builder`].
#[derive(Debug)]
pub struct KeaCtrlAgentBuilder {
    agent: Map<String, Value>,
    binary: Option<PathBuf>,
    startup_timeout: Duration,
}

impl KeaCtrlAgentBuilder {
    /// Forwards commands for service `dhcp4` to this unix socket.
    #[must_use]
    pub fn dhcp4_socket(self, socket: &Path) -> Self {
        self.service_socket("dhcp4", socket)
    }

    /// Forwards commands for `service` (`dhcp4`, `dhcp6`, `d2`) to this unix socket.
    #[must_use]
    pub fn service_socket(mut self, service: &str, socket: &Path) -> Self {
        let sockets = self
            .agent
            .entry("control-sockets")
            .or_insert_with(|| json!({}));
        if let Some(sockets) = sockets.as_object_mut() {
            sockets.insert(
                service.to_owned(),
                json!({"socket-type": "unix", "socket-name": socket}),
            );
        }
        self
    }

    /// Starts from this `Control-agent` map (the inside of `{"Control-agent": ...}`, e.g. with
    /// `authentication` or `hooks-libraries`); `http-host` and `http-port` are always set by the
    /// harness.
    #[must_use]
    pub fn config(mut self, agent: Map<String, Value>) -> Self {
        self.agent = agent;
        self
    }

    /// Runs this binary instead of `kea-ctrl-agent` from `PATH`.
    #[must_use]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// How long to wait for the first HTTP answer.
    #[must_use]
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Writes the configuration, starts the agent and waits until it answers over HTTP.
    pub fn start(mut self) -> Result<KeaCtrlAgent> {
        let binary = match self.binary {
            Some(path) => path,
            None => kea_binary("kea-ctrl-agent", "kea-ctrl-agent")?,
        };
        let dir = scratch_dir("nestor-kea-ca-")?;
        let port = free_tcp_port().map_err(|e| HarnessError::io("finding a free TCP port", e))?;
        self.agent.insert("http-host".into(), json!("127.0.0.1"));
        self.agent.insert("http-port".into(), json!(port));
        let config_path = dir.path().join("kea-ctrl-agent.json");
        let text = json!({ "Control-agent": self.agent }).to_string();
        std::fs::write(&config_path, text)
            .map_err(|e| HarnessError::io(format!("writing {}", config_path.display()), e))?;

        let mut command = Command::new(binary);
        command.arg("-c").arg(&config_path);
        kea_env(&mut command, dir.path());
        log_to_files(&mut command, dir.path())?;
        let guard = ChildGuard::spawn(&mut command)?;
        let mut agent = KeaCtrlAgent {
            guard: Some(guard),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            config_path,
            dir,
        };
        agent.wait_ready(self.startup_timeout)?;
        Ok(agent)
    }
}

/// A running `kea-ctrl-agent`, stopped by PID and its directory removed when dropped.
#[derive(Debug)]
pub struct KeaCtrlAgent {
    guard: Option<ChildGuard>,
    addr: SocketAddr,
    config_path: PathBuf,
    dir: TempDir,
}

impl KeaCtrlAgent {
    /// Starts an agent that forwards `"service": ["dhcp4"]` commands to `dhcp4_socket`.
    pub fn start(dhcp4_socket: &Path) -> Result<Self> {
        Self::builder().dhcp4_socket(dhcp4_socket).start()
    }

    /// Options before starting.
    pub fn builder() -> KeaCtrlAgentBuilder {
        KeaCtrlAgentBuilder {
            agent: Map::new(),
            binary: None,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }

    /// Posts one command to `/` and returns the JSON answer (a list with one answer per service
    /// when the command names services). Non-200 statuses are errors.
    pub fn command(&self, command: &Value) -> Result<Value> {
        match self.post("/", command)? {
            (200, answer) => Ok(answer),
            (status, answer) => Err(HarnessError::Http {
                what: format!("{} answered {status}: {answer}", self.url()),
            }),
        }
    }

    /// Posts `body` to `path` and returns the status and JSON answer as they are.
    pub fn post(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        http_post_json(self.addr, path, body, COMMAND_TIMEOUT)
    }

    /// Where the agent listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The configuration file as written.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The agent's PID, or `None` once stopped.
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(ChildGuard::pid)
    }

    /// The last lines the agent printed.
    pub fn output(&self) -> String {
        output_tail(self.dir.path())
    }

    /// Stops the agent (SIGTERM, then SIGKILL) and returns its exit status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        match self.guard.take() {
            Some(guard) => guard.stop(),
            None => Err(HarnessError::invalid("kea-ctrl-agent was already stopped")),
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
                    program: "kea-ctrl-agent".into(),
                    status,
                    output: self.output(),
                });
            }
            // Without a service the agent answers `list-commands` itself.
            match http_post_json(
                self.addr,
                "/",
                &json!({"command": "list-commands"}),
                Duration::from_secs(2),
            ) {
                Ok(_) => return Ok(()),
                Err(err) => last_error = err.to_string(),
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(HarnessError::NotReady {
            program: "kea-ctrl-agent".into(),
            waited: timeout,
            last_error,
            output: self.output(),
        })
    }
}
