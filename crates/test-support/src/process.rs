//! Processes a test starts: a guard that stops its child by PID when dropped (SIGTERM, a bounded
//! grace period, then SIGKILL), bounded waits, and a bounded run-to-completion.
//!
//! Signals go to the child's own PID only, and only while the guard still holds the un-reaped
//! [`Child`], so the PID cannot have been recycled for someone else's process.

use std::io::Read as _;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{HarnessError, Result};

/// How long a stopped process gets between SIGTERM and SIGKILL unless told otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How often the bounded waits of this crate look at a child.
const POLL: Duration = Duration::from_millis(20);

/// Polls `condition` every `poll_interval` until it returns `true` (then returns `true`) or
/// `timeout` has passed (then returns `false`, after one last look).
pub fn wait_until(
    timeout: Duration,
    poll_interval: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(poll_interval.min(deadline - now));
    }
}

/// A spawned process that is stopped by PID when the guard is dropped, also when the test
/// panicked.
#[derive(Debug)]
pub struct ChildGuard {
    /// `None` once the child has been stopped and reaped.
    child: Option<Child>,
    name: String,
    grace: Duration,
}

impl ChildGuard {
    /// Spawns `command` (its stdio as the caller set it) under a guard.
    pub fn spawn(command: &mut Command) -> Result<Self> {
        let name = describe(command);
        let child = command.spawn().map_err(|source| HarnessError::Spawn {
            program: name.clone(),
            source,
        })?;
        Ok(Self::new(child, name))
    }

    /// Puts an already spawned child under a guard; `name` is used in messages.
    pub fn new(child: Child, name: impl Into<String>) -> Self {
        Self {
            child: Some(child),
            name: name.into(),
            grace: DEFAULT_GRACE,
        }
    }

    /// Sets the time between SIGTERM and SIGKILL when stopping (default [`DEFAULT_GRACE`]).
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The name given in messages (the command line for [`ChildGuard::spawn`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying child, e.g. to take its stdout pipe.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// The exit status if the child has exited (without blocking).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => child
                .try_wait()
                .map_err(|e| HarnessError::io(format!("waiting for {}", self.name), e)),
            None => Err(HarnessError::invalid(format!(
                "{} was already stopped",
                self.name
            ))),
        }
    }

    /// Waits at most `timeout` for the child to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => wait_timeout(child, timeout)
                .map_err(|e| HarnessError::io(format!("waiting for {}", self.name), e)),
            None => Err(HarnessError::invalid(format!(
                "{} was already stopped",
                self.name
            ))),
        }
    }

    /// Sends `signal` to the child (e.g. SIGSTOP to freeze an HA peer, SIGUSR2 to make `udhcpc`
    /// release). Fails if the child has already exited.
    pub fn signal(&mut self, signal: Signal) -> Result<()> {
        if self.try_wait()?.is_some() {
            return Err(HarnessError::invalid(format!(
                "{} has exited; not sending {signal}",
                self.name
            )));
        }
        send(self.pid(), signal)
            .map_err(|e| HarnessError::io(format!("kill -{signal} {}", self.name), e))
    }

    /// Stops the child now (SIGTERM, grace period, SIGKILL) and returns how it ended.
    pub fn stop(mut self) -> Result<ExitStatus> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<ExitStatus> {
        match self.child.take() {
            Some(mut child) => terminate(&mut child, self.grace)
                .map_err(|e| HarnessError::io(format!("stopping {}", self.name), e)),
            None => Err(HarnessError::invalid(format!(
                "{} was already stopped",
                self.name
            ))),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.child.is_some()
            && let Err(err) = self.stop_inner()
        {
            eprintln!("nestor-test-support: {err}");
        }
    }
}

/// SIGTERM, up to `grace` for the child to exit, then SIGKILL; always reaps the child.
pub(crate) fn terminate(child: &mut Child, grace: Duration) -> std::io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    // An error here means the child is already gone; the wait below tells.
    let _ = send(child.id(), Signal::SIGTERM);
    if let Some(status) = wait_timeout(child, grace)? {
        return Ok(status);
    }
    child.kill()?;
    child.wait()
}

fn send(pid: u32, signal: Signal) -> std::io::Result<()> {
    let pid =
        i32::try_from(pid).map_err(|_| std::io::Error::other(format!("PID {pid} out of range")))?;
    nix::sys::signal::kill(Pid::from_raw(pid), signal).map_err(std::io::Error::from)
}

pub(crate) fn wait_timeout(
    child: &mut Child,
    timeout: Duration,
) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(POLL.min(deadline - now));
    }
}

/// Runs `command` to completion with stdin closed and stdout/stderr captured; kills it (and
/// returns [`HarnessError::Timeout`]) if it takes longer than `timeout`. The exit status is not
/// judged here.
pub fn run_bounded(command: &mut Command, timeout: Duration) -> Result<Output> {
    let name = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HarnessError::Spawn {
            program: name.clone(),
            source,
        })?;
    // Drained on threads so that a chatty child cannot fill a pipe and stall.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let io_err = |e| HarnessError::io(format!("waiting for `{name}`"), e);
    let Some(status) = wait_timeout(&mut child, timeout).map_err(io_err)? else {
        child.kill().map_err(io_err)?;
        child.wait().map_err(io_err)?;
        // The drain threads end when the last writer closes the pipes; not joined, in case a
        // grandchild still holds them.
        return Err(HarnessError::Timeout {
            command: name,
            after: timeout,
        });
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The command line, for messages.
pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_sees_the_condition_and_times_out() {
        let start = Instant::now();
        let mut calls = 0;
        assert!(wait_until(
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                calls == 3
            }
        ));
        assert_eq!(calls, 3);

        let start_false = Instant::now();
        assert!(!wait_until(
            Duration::from_millis(100),
            Duration::from_millis(10),
            || false
        ));
        let took = start_false.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn drop_stops_the_child() {
        let guard = ChildGuard::spawn(Command::new("sleep").arg("30")).unwrap();
        let pid = guard.pid();
        assert!(alive(pid));
        let start = Instant::now();
        drop(guard);
        assert!(!alive(pid), "sleep {pid} survived the guard");
        // SIGTERM suffices for sleep: no grace period was needed.
        assert!(start.elapsed() < DEFAULT_GRACE);
    }

    #[test]
    fn stop_escalates_to_sigkill_after_the_grace_period() {
        // An ignored signal stays ignored across exec: only SIGKILL ends this `sleep`.
        let mut guard = ChildGuard::spawn(
            Command::new("sh")
                .args(["-c", "trap '' TERM; echo ready; exec sleep 30"])
                .stdout(Stdio::piped()),
        )
        .unwrap()
        .with_grace(Duration::from_millis(300));
        // Wait until the trap is installed before stopping it.
        let mut ready = [0u8; 6];
        guard
            .child_mut()
            .unwrap()
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut ready)
            .unwrap();
        let start = Instant::now();
        let status = guard.stop().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(Signal::SIGKILL as i32)
        );
        assert!(start.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn signal_reaches_the_child_and_not_after_exit() {
        let mut guard = ChildGuard::spawn(Command::new("sleep").arg("30")).unwrap();
        guard.signal(Signal::SIGUSR1).unwrap();
        let status = guard.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(Signal::SIGUSR1 as i32)
        );
        assert!(guard.signal(Signal::SIGUSR1).is_err());
    }

    #[test]
    fn run_bounded_captures_and_kills_on_timeout() {
        let out = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");

        let start = Instant::now();
        let err =
            run_bounded(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_panicking_test_still_stops_its_child() {
        let (pid_tx, pid_rx) = std::sync::mpsc::channel();
        let outcome = thread::spawn(move || {
            let guard = ChildGuard::spawn(Command::new("sleep").arg("30")).unwrap();
            pid_tx.send(guard.pid()).unwrap();
            panic!("the test failed");
        })
        .join();
        assert!(outcome.is_err());
        let pid = pid_rx.recv().unwrap();
        assert!(!alive(pid), "sleep {pid} survived the panic");
    }

    #[test]
    fn spawn_failure_names_the_program() {
        let err = ChildGuard::spawn(&mut Command::new("/nonexistent/nestor-prog")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/nestor-prog"),
            "{err}"
        );
    }

    /// Whether `pid` still names a process that is not a zombie.
    pub(crate) fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }
}
