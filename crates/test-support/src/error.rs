//! The harness's error type: every variant says which program or step failed and carries what a
//! reader of a failed test needs (exit status, the tail of the process's output, how long we
//! waited), so a test can simply `?` or `unwrap()` it.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why a harness operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An external tool is not on `PATH` (nor in the `sbin` directories).
    #[error("{tool} not found (apt-get install {package})")]
    ToolMissing { tool: String, package: String },

    /// A file-system or socket operation of the harness itself failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// A program could not be started at all.
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// A server exited before it became ready.
    #[error("{program} exited ({status}) before it was ready; its output:\n{output}")]
    ExitedEarly {
        program: String,
        status: ExitStatus,
        output: String,
    },

    /// A server was still not ready when the bounded wait ran out.
    #[error(
        "{program} not ready after {waited:?} (last attempt: {last_error}); its output:\n{output}"
    )]
    NotReady {
        program: String,
        waited: Duration,
        last_error: String,
        output: String,
    },

    /// A bounded command ran out of time and was killed.
    #[error("`{command}` did not finish within {after:?} and was killed")]
    Timeout { command: String, after: Duration },

    /// A helper command (`ip ...`) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },

    /// A peer answered something that is not the JSON expected.
    #[error("{what}: invalid JSON answer {answer:?}: {source}")]
    BadAnswer {
        what: String,
        answer: String,
        #[source]
        source: serde_json::Error,
    },

    /// An HTTP exchange went wrong below the JSON level.
    #[error("HTTP {what}")]
    Http { what: String },

    /// A harness was given something it cannot work with.
    #[error("invalid harness input: {what}")]
    Invalid { what: String },

    /// The control socket the harness needs is not in the configuration.
    #[error("no unix control socket in {config}: add `control-socket.socket-name`")]
    NoControlSocket { config: PathBuf },
}

impl HarnessError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Self::Invalid { what: what.into() }
    }
}

/// Result alias of the harness.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
