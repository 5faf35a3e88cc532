//! The project's policy for tests that need something from outside Rust: an external tool (Kea,
//! `ip`, a DHCP client) or root.
//!
//! * Present: the test runs.
//! * Missing under CI (`CI` set, non-empty and not `0`/`false`): the test **fails**, naming the
//!   Debian package to install, so a CI machine that lost a package cannot go green by skipping.
//! * Missing elsewhere: the test prints a loud `*** SKIPPED ... ***` line on stderr and returns,
//!   so a developer without Kea can still run the rest of the suite.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Directories searched after `PATH`: Kea's daemons and `ip` live in `sbin`, which an unprivileged
/// user's `PATH` often lacks.
const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Returns the path of `name` if it is installed, else applies the policy: panics under CI,
/// otherwise prints `*** SKIPPED: <test>: <name> not installed (apt-get install <pkg>) ***` and
/// returns `None`.
///
/// ```no_run
/// # fn t() {
/// let Some(kea) = nestor_test_support::require_tool("kea-dhcp4", "kea-dhcp4-server") else {
///     return;
/// };
/// # }
/// ```
#[must_use]
pub fn require_tool(name: &str, debian_package: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        missing(
            &current_test(),
            &format!("{name} not installed (apt-get install {debian_package})"),
            ci_from(std::env::var_os("CI")),
        );
    }
    found
}

/// Returns whether the test runs as root (needed for network namespaces and raw sockets), else
/// applies the policy: panics under CI, otherwise prints a SKIPPED line naming `what` and returns
/// `false`.
#[must_use]
pub fn require_root(what: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        missing(
            &current_test(),
            &format!("needs root for {what}"),
            ci_from(std::env::var_os("CI")),
        );
    }
    root
}

/// Looks `name` up on `PATH`, then in the `sbin` directories; only executable files count.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    find_in(name, std::env::var_os("PATH").as_deref())
}

/// Whether this run is a CI run in the sense of the policy.
pub fn in_ci() -> bool {
    ci_from(std::env::var_os("CI"))
}

fn ci_from(value: Option<OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn find_in(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if name.contains('/') {
        let path = Path::new(name);
        return is_executable(path).then(|| path.to_path_buf());
    }
    path_var
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// libtest runs each test on a thread named after it.
fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("test")
        .to_owned()
}

#[allow(
    clippy::panic,
    reason = "under CI a missing prerequisite must fail the test, and panicking is how a test fails"
)]
fn missing(test: &str, reason: &str, ci: bool) {
    if ci {
        panic!("{test}: {reason}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("\n*** SKIPPED: {test}: {reason} ***\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_values() {
        assert!(!ci_from(None));
        assert!(!ci_from(Some("".into())));
        assert!(!ci_from(Some("0".into())));
        assert!(!ci_from(Some("false".into())));
        assert!(!ci_from(Some("FALSE".into())));
        assert!(ci_from(Some("true".into())));
        assert!(ci_from(Some("1".into())));
        assert!(ci_from(Some("yes".into())));
    }

    #[test]
    fn finds_only_executables_on_the_given_path() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("nestor-fake-tool");
        let plain = dir.path().join("nestor-plain-file");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::write(&plain, "").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();

        assert_eq!(find_in("nestor-fake-tool", Some(&path)), Some(exe.clone()));
        assert_eq!(find_in("nestor-plain-file", Some(&path)), None);
        assert_eq!(find_in("nestor-fake-tool", None), None);
        assert_eq!(find_in(exe.to_str().unwrap(), None), Some(exe));
    }

    #[test]
    #[should_panic(
        expected = "nestor-absent-tool not installed (apt-get install nestor-pkg); CI is set"
    )]
    fn missing_under_ci_fails() {
        missing(
            "t",
            "nestor-absent-tool not installed (apt-get install nestor-pkg)",
            true,
        );
    }

    #[test]
    fn missing_outside_ci_skips() {
        // Returns (after printing) instead of panicking.
        missing(
            "t",
            "nestor-absent-tool not installed (apt-get install nestor-pkg)",
            false,
        );
    }

    #[test]
    fn test_name_is_the_thread_name() {
        assert_eq!(
            current_test(),
            "policy::tests::test_name_is_the_thread_name"
        );
    }

    #[test]
    fn present_tool_is_returned() {
        // `sh` is on every machine that can run this test suite.
        let sh = require_tool("sh", "dash").unwrap();
        assert!(sh.ends_with("sh"));
    }
}
