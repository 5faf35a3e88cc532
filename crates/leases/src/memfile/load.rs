//! Reading lease files and replaying them (reference 5.2, 5.3), synchronous.
//!
//! [`read_lease_file`] streams one file's rows to a sink: the header is checked first, blank
//! lines are skipped (Kea's `CSVFile::next` does), and each bad row is recorded with its line
//! number and skipped. `max_row_errors` is per file, as Kea's `LeaseFileLoader::load`: 0 means no
//! limit, otherwise one error more than the limit fails the load.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::csv::{HeaderError, RowError, Schema, SchemaState};
use crate::lease::Lease4;

/// At most this many row errors are kept with their text in a [`FileReport`]; all are counted.
pub const MAX_RECORDED_ERRORS: usize = 1000;

/// A row that was skipped, with its 1-based line number in the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {error}")]
pub struct RowErrorAt {
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// What was wrong.
    pub error: RowError,
}

/// A lease file that could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Opening or reading failed.
    #[error("cannot read lease file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The header is not a Kea DHCPv4 lease file header.
    #[error("invalid header in lease file {path}: {source}")]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong with the header.
        source: HeaderError,
    },
    /// A non-empty file without any header line.
    #[error("lease file {path} has no header line")]
    MissingHeader {
        /// The file.
        path: PathBuf,
    },
    /// More row errors than `max-row-errors` allows (Kea's text: "exceeded maximum number of
    /// failures N to read a lease from the lease file F").
    #[error(
        "exceeded maximum number of failures {max} to read a lease from the lease file {path}; last: {last}"
    )]
    TooManyRowErrors {
        /// The file.
        path: PathBuf,
        /// The configured `max-row-errors`.
        max: u32,
        /// The error that went over the limit.
        last: RowErrorAt,
    },
    /// A lease file cleanup process is running (Kea's text, reference 5.3).
    #[error(
        "unable to load leases from files while the lease file cleanup is in progress (pid {pid})"
    )]
    CleanupInProgress {
        /// The live process named by the PID file.
        pid: u32,
    },
}

/// What reading one file found.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its schema relative to Kea 2.2's.
    pub schema: SchemaState,
    /// Data rows read (good and bad, blank lines excluded).
    pub rows: u64,
    /// Rows that parsed into a lease (deletion rows included).
    pub leases: u64,
    /// Rows skipped as errors.
    pub error_count: u64,
    /// The first [`MAX_RECORDED_ERRORS`] of them.
    pub errors: Vec<RowErrorAt>,
}

/// Reads `path`, handing every good row to `sink` in file order.
pub fn read_lease_file(
    path: &Path,
    max_row_errors: u32,
    sink: &mut dyn FnMut(Lease4),
) -> Result<FileReport, LoadError> {
    let io_err = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err)?);
    let mut line = Vec::with_capacity(256);
    let mut line_no: u64 = 0;
    let mut schema: Option<Schema> = None;
    let mut report = FileReport {
        path: path.to_owned(),
        schema: SchemaState::Current,
        rows: 0,
        leases: 0,
        error_count: 0,
        errors: Vec::new(),
    };
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_err)? == 0 {
            break;
        }
        line_no += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        let Some(schema) = schema else {
            let header = std::str::from_utf8(text).map_err(|_| LoadError::Header {
                path: path.to_owned(),
                source: HeaderError::NotUtf8,
            })?;
            let parsed = Schema::from_header(header).map_err(|source| LoadError::Header {
                path: path.to_owned(),
                source,
            })?;
            report.schema = parsed.state();
            schema = Some(parsed);
            continue;
        };
        report.rows += 1;
        let parsed = std::str::from_utf8(text)
            .map_err(|_| RowError::NotUtf8)
            .and_then(|row| schema.parse_row(row));
        match parsed {
            Ok(lease) => {
                report.leases += 1;
                sink(lease);
            }
            Err(error) => {
                let at = RowErrorAt {
                    line: line_no,
                    error,
                };
                report.error_count += 1;
                if max_row_errors != 0 && report.error_count > u64::from(max_row_errors) {
                    return Err(LoadError::TooManyRowErrors {
                        path: path.to_owned(),
                        max: max_row_errors,
                        last: at,
                    });
                }
                if report.errors.len() < MAX_RECORDED_ERRORS {
                    report.errors.push(at);
                }
            }
        }
    }
    if schema.is_none() && line_no > 0 {
        return Err(LoadError::MissingHeader {
            path: path.to_owned(),
        });
    }
    Ok(report)
}

/// The live process a PID file names, if any (Linux: checked through `/proc`).
pub fn live_pid(pid_file: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    (pid != 0 && Path::new("/proc").join(pid.to_string()).exists()).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::HEADER;

    fn load(text: &str, max: u32) -> (Result<FileReport, LoadError>, Vec<Lease4>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).unwrap();
        let mut leases = Vec::new();
        let report = read_lease_file(&path, max, &mut |l| leases.push(l));
        (report, leases)
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_skipped() {
        let text = format!(
            "{HEADER}\n10.0.0.1,01:02,,10,20,1,0,0,,0,\n\ngarbage\n10.0.0.2,01:02,,10,20,1,0,0,,0,\n10.0.0.3,zz,,10,20,1,0,0,,0,\n10.0.0.4,01:02,,10,20,1,0,0,,0"
        );
        let (report, leases) = load(&text, 0);
        let report = report.unwrap();
        assert_eq!(leases.len(), 2);
        assert_eq!(report.rows, 5);
        assert_eq!(report.error_count, 3);
        assert_eq!(
            report.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [4, 6, 7]
        );

        let (report, _) = load(&text, 2);
        match report {
            Err(LoadError::TooManyRowErrors { max: 2, last, .. }) => assert_eq!(last.line, 7),
            other => panic!("expected TooManyRowErrors, got {other:?}"),
        }
        assert!(load(&text, 3).0.is_ok());
    }

    #[test]
    fn header_problems_fail_the_file() {
        assert!(matches!(
            load("nonsense\n", 0).0,
            Err(LoadError::Header { .. })
        ));
        assert!(matches!(
            load("\n\n", 0).0,
            Err(LoadError::MissingHeader { .. })
        ));
        assert!(load("", 0).0.is_ok(), "an empty file is a fresh file");
    }

    #[test]
    fn pid_file_liveness() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("x.pid");
        assert_eq!(live_pid(&pid_file), None);
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(live_pid(&pid_file), Some(std::process::id()));
        std::fs::write(&pid_file, "4294967294\n").unwrap();
        assert_eq!(live_pid(&pid_file), None);
        std::fs::write(&pid_file, "junk").unwrap();
        assert_eq!(live_pid(&pid_file), None);
    }
}
