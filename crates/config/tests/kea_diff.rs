//! Differential test of Nestor's configuration check against Kea 2.2's `kea-dhcp4 -t`.
//!
//! The corpus in `tests/corpus/` holds Kea DHCPv4 configurations, valid and invalid, and
//! `MANIFEST.tsv` says for each file what Nestor must do (`expect`), what `kea-dhcp4 -t` does
//! (`kea_t`), which key path Nestor's error must name, and why the two differ when they do (the
//! documented exceptions of issue 2: the legacy top-level `Logging`, HA hook parameters and logger
//! values that only `kea-dhcp4 -c` checks, and the few places where Nestor is stricter on purpose).
//!
//! Three checks:
//! * the manifest describes exactly the files of the corpus, is self-consistent and large enough;
//! * Nestor's [`load_dhcp4_file`] agrees with `expect` on every file, rejects name the key path
//!   and expected warnings are given;
//! * when `kea-dhcp4` is installed, it is run on every file and must still agree with `kea_t`,
//!   so the manifest cannot drift away from Kea. Without Kea the check fails under `CI` and is
//!   skipped loudly elsewhere.
//!
//! Every check collects all mismatches before failing, so one run shows the whole picture.
//!
//! An ignored fourth test (`cargo test -p nestor-config --test kea_diff -- --ignored`) re-checks
//! the manifest's claims about the running server: it starts `kea-dhcp4 -c` with each exception
//! file (and each file whose comment says "(verified)") for a few seconds and checks whether
//! Kea fails to start or keeps running, as the manifest says. It is slow (~20 s) and binds
//! loopback ports, hence not part of the default run.

// Helpers shared by the tests fail the test with a message, like the #[test] functions do.
#![allow(clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nestor_config::{ConfigError, ErrorKind, load_dhcp4_file};

/// Fewer files than this and the corpus no longer exercises enough of the grammar (issue 2).
const MIN_CORPUS_FILES: usize = 60;
/// Each side of the accept/reject mix must be represented at least this often.
const MIN_PER_OUTCOME: usize = 10;
/// `kea-dhcp4 -t` takes ~20-50 ms per file; a run this long means it hangs.
const KEA_TIMEOUT: Duration = Duration::from_secs(20);
/// Parallel `kea-dhcp4 -t` runs (the CI machine has two cores shared with cargo).
const KEA_THREADS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accept,
    Reject,
}

impl Outcome {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "accept" => Some(Self::Accept),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
        })
    }
}

/// One manifest line.
#[derive(Debug)]
struct Row {
    line: usize,
    file: String,
    expect: Outcome,
    kea_t: Outcome,
    /// `None` for "-": any error will do (whole-file problems such as syntax errors).
    key_path: Option<String>,
    warning: Option<String>,
    exception: Option<String>,
    kea_message: String,
    comment: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn dash_none(s: &str) -> Option<String> {
    (s != "-" && !s.is_empty()).then(|| s.to_string())
}

/// Reads `MANIFEST.tsv`; a malformed line fails the test with its number.
fn manifest() -> Vec<Row> {
    let path = corpus_dir().join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut rows = Vec::new();
    let mut bad = String::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.starts_with('#') || line.trim().is_empty() || line.starts_with("file\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [
            file,
            expect,
            kea_t,
            key_path,
            warning,
            exception,
            kea_message,
            comment,
        ] = cols[..]
        else {
            let _ = writeln!(
                bad,
                "MANIFEST.tsv:{line_no}: expected 8 tab-separated columns, got {}",
                cols.len()
            );
            continue;
        };
        let (Some(expect), Some(kea_t)) = (Outcome::parse(expect), Outcome::parse(kea_t)) else {
            let _ = writeln!(
                bad,
                "MANIFEST.tsv:{line_no}: expect/kea_t must be accept or reject"
            );
            continue;
        };
        rows.push(Row {
            line: line_no,
            file: file.to_string(),
            expect,
            kea_t,
            key_path: dash_none(key_path),
            warning: dash_none(warning),
            exception: dash_none(exception),
            kea_message: kea_message.to_string(),
            comment: comment.to_string(),
        });
    }
    assert!(bad.is_empty(), "malformed manifest:\n{bad}");
    rows
}

#[test]
fn manifest_describes_the_corpus() {
    let rows = manifest();
    let mut problems = String::new();

    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap_or_else(|e| panic!("cannot list the corpus: {e}"))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = rows.iter().map(|r| r.file.clone()).collect();
    listed.sort();
    for w in listed.windows(2) {
        if w[0] == w[1] {
            let _ = writeln!(problems, "{} is listed twice", w[0]);
        }
    }
    for f in on_disk.iter().filter(|f| !listed.contains(f)) {
        let _ = writeln!(problems, "{f} is in the corpus but not in MANIFEST.tsv");
    }
    for f in listed.iter().filter(|f| !on_disk.contains(f)) {
        let _ = writeln!(problems, "{f} is in MANIFEST.tsv but not in the corpus");
    }

    for r in &rows {
        // An outcome that differs from Kea's must say why; an explanation without a difference
        // is allowed only for the cases where `-c` (not `-t`) is the reference and agrees.
        if r.expect != r.kea_t && r.exception.is_none() {
            let _ = writeln!(
                problems,
                "MANIFEST.tsv:{}: {} expects {} but kea -t does {}, and no exception is documented",
                r.line, r.file, r.expect, r.kea_t
            );
        }
        if r.expect == Outcome::Accept && r.key_path.is_some() {
            let _ = writeln!(
                problems,
                "MANIFEST.tsv:{}: {} is an accept with a key path",
                r.line, r.file
            );
        }
        if r.expect == Outcome::Reject && r.warning.is_some() {
            let _ = writeln!(
                problems,
                "MANIFEST.tsv:{}: {} is a reject with a warning",
                r.line, r.file
            );
        }
    }

    let accepts = rows.iter().filter(|r| r.expect == Outcome::Accept).count();
    let rejects = rows.len() - accepts;
    if rows.len() < MIN_CORPUS_FILES {
        let _ = writeln!(
            problems,
            "the corpus has {} files, fewer than {MIN_CORPUS_FILES}",
            rows.len()
        );
    }
    if accepts < MIN_PER_OUTCOME || rejects < MIN_PER_OUTCOME {
        let _ = writeln!(
            problems,
            "the corpus needs at least {MIN_PER_OUTCOME} accepts and {MIN_PER_OUTCOME} rejects, has {accepts} and {rejects}"
        );
    }
    assert!(problems.is_empty(), "corpus/manifest problems:\n{problems}");
}

/// Whether `err` names `key`: its path is `key` or lies below it; or `key` is a direct child of
/// the map the error is reported at and the message quotes the child's name (Kea's `got
/// unexpected keyword "bogus" in subnet4 map.` reported at the map); or its message spells `key`
/// out.
fn names_key(err: &ConfigError, key: &str) -> bool {
    let at_or_below = err.path == key
        || err
            .path
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['));
    if at_or_below {
        return true;
    }
    let child = if err.path.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(err.path.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
    };
    if let Some(child) = child.filter(|c| !c.is_empty() && !c.contains(['.', '[']))
        && err.message().contains(child)
    {
        return true;
    }
    err.message().contains(key)
}

#[test]
fn names_key_rules() {
    let err = |path: &str, kind: ErrorKind| ConfigError {
        path: path.to_string(),
        location: None,
        kind,
    };
    let unexpected = |key: &str, map: &str| ErrorKind::UnexpectedKeyword {
        key: key.to_string(),
        map: map.to_string(),
    };
    let invalid = |m: &str| ErrorKind::Invalid(m.to_string());
    // Same path, or a more precise one.
    assert!(names_key(
        &err("Dhcp4.subnet4[0].pools[1]", invalid("overlap")),
        "Dhcp4.subnet4[0].pools[1]"
    ));
    assert!(names_key(
        &err("Dhcp4.subnet4[0].pools[1].pool", invalid("x")),
        "Dhcp4.subnet4[0].pools[1]"
    ));
    // A sibling or a prefix that is not a path step does not count.
    assert!(!names_key(
        &err("Dhcp4.subnet4[0].pools[0]", invalid("x")),
        "Dhcp4.subnet4[0].pools[1]"
    ));
    assert!(!names_key(
        &err("Dhcp4.subnet4[1]", invalid("x")),
        "Dhcp4.subnet4[10]"
    ));
    assert!(!names_key(
        &err("Dhcp4.valid-lifetime-x", invalid("x")),
        "Dhcp4.valid-lifetime"
    ));
    // Reported at the parent map, naming the child key in the message.
    assert!(names_key(
        &err("Dhcp4.subnet4[1]", unexpected("bogus", "subnet4")),
        "Dhcp4.subnet4[1].bogus"
    ));
    assert!(names_key(
        &err("", invalid("unexpected \"Control-agent\", expecting Dhcp4")),
        "Control-agent"
    ));
    // ...but only for a direct child, and not for an element of a list.
    assert!(!names_key(
        &err("Dhcp4", unexpected("bogus", "subnet4")),
        "Dhcp4.subnet4[1].bogus"
    ));
    assert!(!names_key(
        &err("Dhcp4.subnet4[0]", invalid("pools[1] overlaps")),
        "Dhcp4.subnet4[0].pools[1]"
    ));
    // A parent path with a message that spells the whole key out.
    assert!(names_key(
        &err(
            "Dhcp4",
            invalid("Dhcp4.subnet4[0].relay.ip-addresses[1] is not IPv4")
        ),
        "Dhcp4.subnet4[0].relay.ip-addresses[1]"
    ));
}

#[test]
fn nestor_agrees_with_the_manifest() {
    let rows = manifest();
    let dir = corpus_dir();
    let mut mismatches = String::new();
    let mut count = 0usize;
    for r in &rows {
        let result = load_dhcp4_file(&dir.join(&r.file));
        let why = r
            .exception
            .as_deref()
            .map(|e| format!(" [exception: {e}]"))
            .unwrap_or_default();
        match (r.expect, result) {
            (Outcome::Accept, Ok(loaded)) => {
                if let Some(w) = &r.warning
                    && !loaded
                        .warnings
                        .iter()
                        .any(|x| x.to_string().contains(w.as_str()))
                {
                    count += 1;
                    let got: Vec<String> = loaded.warnings.iter().map(|x| x.to_string()).collect();
                    let _ = writeln!(
                        mismatches,
                        "{}: accepted as expected, but no warning contains {w:?}; warnings: {got:?}{why}",
                        r.file
                    );
                }
            }
            (Outcome::Accept, Err(errors)) => {
                count += 1;
                let _ = writeln!(
                    mismatches,
                    "{}: expected accept, Nestor rejects{why}\n    Nestor: {}",
                    r.file,
                    errors.to_string().replace('\n', "\n            ")
                );
            }
            (Outcome::Reject, Ok(loaded)) => {
                count += 1;
                let got: Vec<String> = loaded.warnings.iter().map(|x| x.to_string()).collect();
                let _ = writeln!(
                    mismatches,
                    "{}: expected reject at {}, Nestor accepts (warnings: {got:?}){why}\n    Kea: {}",
                    r.file,
                    r.key_path.as_deref().unwrap_or("(any)"),
                    r.kea_message
                );
            }
            (Outcome::Reject, Err(errors)) => {
                let Some(key) = &r.key_path else { continue };
                if !errors.errors.iter().any(|e| names_key(e, key)) {
                    count += 1;
                    let _ = writeln!(
                        mismatches,
                        "{}: rejected as expected, but no error names {key}{why}\n    Nestor: {}\n    Kea: {}",
                        r.file,
                        errors.to_string().replace('\n', "\n            "),
                        r.kea_message
                    );
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{count} of {} corpus files disagree with tests/corpus/MANIFEST.tsv:\n{mismatches}",
        rows.len()
    );
}

/// `kea-dhcp4` named by `NESTOR_KEA_DHCP4` (a path that is not a file counts as "not
/// installed"), else found on `PATH` or in the sbin directories, which a non-root `PATH` often
/// lacks although Debian installs Kea there.
fn find_kea() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NESTOR_KEA_DHCP4") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join("kea-dhcp4"))
        .find(|p| p.is_file())
}

/// Kea's outcome and last stderr line, or why Kea could not be run.
type KeaResult = Result<(Outcome, String), String>;

/// Runs `kea-dhcp4 -t file` in the corpus directory (Kea resolves `<?include?>` against its
/// working directory) with pid and lock files in `scratch`; returns the outcome and the last
/// stderr line.
fn kea_check(kea: &Path, dir: &Path, file: &str, scratch: &Path) -> KeaResult {
    let mut child = Command::new(kea)
        .arg("-t")
        .arg(file)
        .current_dir(dir)
        .env("KEA_PIDFILE_DIR", scratch)
        .env("KEA_LOCKFILE_DIR", scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", kea.display()))?;
    let mut stderr = child.stderr.take();
    // Kea's -t output is small; read it on a thread so the child never blocks on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(err) = stderr.as_mut() {
            let _ = std::io::Read::read_to_string(err, &mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > KEA_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "kea-dhcp4 -t {file} did not finish within {KEA_TIMEOUT:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for kea-dhcp4: {e}")),
        }
    };
    let text = reader.join().unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    let outcome = if status.success() {
        Outcome::Accept
    } else {
        Outcome::Reject
    };
    Ok((outcome, last))
}

#[test]
fn kea_agrees_with_the_manifest() {
    let Some(kea) = find_kea() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kea-dhcp4 is not installed, so the corpus manifest cannot be checked against Kea 2.2 \
             (apt-get install kea-dhcp4-server, or set NESTOR_KEA_DHCP4); CI must run this check"
        );
        eprintln!(
            "\n**************************************************************************\n\
             SKIPPED: kea-dhcp4 not installed (apt-get install kea-dhcp4-server)\n\
             kea_diff: the manifest was NOT checked against Kea 2.2 on this machine.\n\
             **************************************************************************\n"
        );
        return;
    };
    let rows = manifest();
    let dir = corpus_dir();
    let scratch =
        tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a scratch directory: {e}"));
    let chunk = rows.len().div_ceil(KEA_THREADS).max(1);
    let results: Vec<(usize, KeaResult)> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (kea, dir, scratch) = (&kea, &dir, scratch.path());
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, r)| (c * chunk + i, kea_check(kea, dir, &r.file, scratch)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    assert_eq!(results.len(), rows.len(), "a kea-dhcp4 worker thread died");

    let mut mismatches = String::new();
    let mut count = 0usize;
    for (i, result) in results {
        let r = &rows[i];
        match result {
            Ok((got, _)) if got == r.kea_t => {}
            Ok((got, message)) => {
                count += 1;
                let _ = writeln!(
                    mismatches,
                    "{}: MANIFEST.tsv:{} says kea -t does {}, {} does {got}\n    Kea: {message}",
                    r.file,
                    r.line,
                    r.kea_t,
                    kea.display()
                );
            }
            Err(e) => {
                count += 1;
                let _ = writeln!(mismatches, "{}: {e}", r.file);
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{count} of {} corpus files: kea-dhcp4 -t disagrees with tests/corpus/MANIFEST.tsv \
         (machine-dependent rows name interfaces; see the comment column):\n{mismatches}",
        rows.len()
    );
}

/// What the manifest claims `kea-dhcp4 -c` does with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerClaim {
    /// Kea exits with an error while configuring (HA hook, loggers, control socket...).
    Fails,
    /// Kea starts and keeps running.
    Runs,
}

fn server_claim(r: &Row) -> Option<ServerClaim> {
    let exception = r.exception.as_deref().unwrap_or("");
    if exception.contains("kea -c fails") {
        Some(ServerClaim::Fails)
    } else if exception.contains("kea -c logs")
        || exception.contains("-t and -c accept")
        || r.comment.contains("(verified)")
    {
        Some(ServerClaim::Runs)
    } else {
        None
    }
}

/// How long a configuration failure may take to end Kea, and how long Kea must stay up to
/// count as started.
const SERVER_FAIL_WITHIN: Duration = Duration::from_secs(5);
const SERVER_RUNS_FOR: Duration = Duration::from_secs(2);

/// Starts `kea-dhcp4 -c file`; returns `Ok(Fails)` if it exits unsuccessfully within the
/// deadline, `Ok(Runs)` if it is still running after [`SERVER_RUNS_FOR`] (it is then stopped by
/// PID: SIGTERM, SIGKILL after a grace period).
fn kea_start(
    kea: &Path,
    dir: &Path,
    file: &str,
    claim: ServerClaim,
) -> Result<ServerClaim, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("scratch directory: {e}"))?;
    let mut child = Command::new(kea)
        .arg("-c")
        .arg(file)
        .current_dir(dir)
        .env("KEA_PIDFILE_DIR", scratch.path())
        .env("KEA_LOCKFILE_DIR", scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", kea.display()))?;
    let window = match claim {
        ServerClaim::Fails => SERVER_FAIL_WITHIN,
        ServerClaim::Runs => SERVER_RUNS_FOR,
    };
    let start = Instant::now();
    while start.elapsed() < window {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                return Err(format!("kea-dhcp4 -c {file} exited successfully at once"));
            }
            Ok(Some(_)) => return Ok(ServerClaim::Fails),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for kea-dhcp4: {e}")),
        }
    }
    // Still running: stop this process (and only it) by PID, politely first.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let grace = Instant::now();
    while grace.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(ServerClaim::Runs);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(ServerClaim::Runs)
}

#[test]
#[ignore = "starts kea-dhcp4 -c for ~20 s; run with --ignored"]
fn kea_server_start_confirms_exceptions() {
    let Some(kea) = find_kea() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kea-dhcp4 is not installed (apt-get install kea-dhcp4-server)"
        );
        eprintln!("SKIPPED: kea-dhcp4 not installed (apt-get install kea-dhcp4-server)");
        return;
    };
    let rows = manifest();
    let dir = corpus_dir();
    let mut mismatches = String::new();
    let mut checked = 0usize;
    for r in &rows {
        let Some(claim) = server_claim(r) else {
            continue;
        };
        checked += 1;
        match kea_start(&kea, &dir, &r.file, claim) {
            Ok(got) if got == claim => {}
            Ok(got) => {
                let _ = writeln!(
                    mismatches,
                    "{}: the manifest says kea-dhcp4 -c {claim:?}, it {got:?}",
                    r.file
                );
            }
            Err(e) => {
                let _ = writeln!(mismatches, "{}: {e}", r.file);
            }
        }
    }
    assert!(
        checked >= 5,
        "only {checked} manifest rows make a claim about kea-dhcp4 -c"
    );
    assert!(
        mismatches.is_empty(),
        "kea-dhcp4 -c disagrees with tests/corpus/MANIFEST.tsv:\n{mismatches}"
    );
}
