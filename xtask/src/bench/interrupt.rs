//! Ctrl-C and SIGTERM during a benchmark: the servers, generators and namespaces must still be
//! cleaned up, which only the guards' destructors do. SIGINT, SIGTERM and SIGHUP are blocked in
//! every thread and taken by a watcher thread with `sigwait`, which raises a flag; the benchmark
//! checks it before each run and unwinds with an error, dropping every guard. Children do not
//! inherit the blocked mask (std resets it in the child before `exec`), so the guards' SIGTERM
//! still reaches them. A run in progress is finished first (at most its duration plus a few
//! seconds); SIGKILL remains the way out without cleanup.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{SigSet, Signal};

static STOP: AtomicBool = AtomicBool::new(false);

/// Blocks the signals in this thread (and the threads it starts later) and starts the watcher.
/// Call before any other thread is started.
pub(crate) fn install() -> Result<()> {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set.thread_block().context("blocking SIGINT/SIGTERM")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            while let Ok(signal) = set.wait() {
                if STOP.swap(true, Ordering::SeqCst) {
                    eprintln!(
                        "xtask bench: {signal} again: still stopping (SIGKILL skips the cleanup)"
                    );
                } else {
                    eprintln!(
                        "xtask bench: {signal}: stopping after the current run, then cleaning up \
                         servers and namespaces"
                    );
                }
            }
        })
        .context("starting the signal watcher")?;
    Ok(())
}

/// Fails once a stop was asked for.
pub(crate) fn check() -> Result<()> {
    if STOP.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}
