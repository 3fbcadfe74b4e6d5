//! Prometheus metrics of finished runs, written to a node_exporter textfile: merged with what the
//! file holds already (other jobs, other commands, other tools) and replaced atomically.

#[cfg(test)]
mod tests;
mod text;

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::OFlag;

use crate::error::{Error, Result};
use crate::summary::{Command, Summary};
use text::{Document, Line};

/// The mode of the textfile: node_exporter runs as another user, and the file holds no secrets.
const TEXTFILE_MODE: u32 = 0o644;

/// One gauge of a run, before the `job` label is added.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, e.g. `mybak_last_run_bytes`.
    pub name: String,
    /// The `# HELP` text.
    pub help: String,
    pub value: Value,
}

/// A sample's value: counts print exactly, seconds with up to 3 decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) if x.is_nan() => f.write_str("NaN"),
            Value::Float(x) if x.is_infinite() => {
                f.write_str(if x > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(x) => {
                let fixed = format!("{x:.3}");
                let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
                f.write_str(if trimmed == "-0" { "0" } else { trimmed })
            }
        }
    }
}

/// A count of one command: metric name after the command's prefix, help text, value.
type Count = (&'static str, &'static str, Option<u64>);

/// The counts only some commands report.
fn counts(summary: &Summary) -> Vec<Count> {
    match summary.command {
        Command::Dump | Command::Restore => transfer_counts(summary),
        Command::Verify => verify_counts(summary),
        Command::Prune => vec![
            (
                "last_run_removed_dumps",
                "Dumps removed by the last run.",
                summary.extra("removed"),
            ),
            (
                "last_run_kept_dumps",
                "Dumps kept by the last run.",
                summary.extra("kept"),
            ),
            (
                "last_run_freed_bytes",
                "Bytes on disk freed by the last run.",
                Some(summary.bytes),
            ),
        ],
        Command::Copy => vec![
            (
                "last_run_bytes",
                "Bytes of dump files copied by the last run.",
                Some(summary.bytes),
            ),
            (
                "last_run_files",
                "Files copied by the last run.",
                summary.extra("files"),
            ),
        ],
        Command::Binlog => vec![
            (
                "last_run_bytes",
                "Bytes of binlog events received by the last run.",
                Some(summary.bytes),
            ),
            (
                "last_run_files",
                "Binlog files archived by the last run.",
                summary.extra("files"),
            ),
            (
                "last_run_gaps",
                "Binlog gaps (files purged before they were archived) found by the last run.",
                summary.extra("gaps"),
            ),
        ],
        Command::List | Command::Config => Vec::new(),
    }
}

/// The counts of `dump` and `restore`.
fn transfer_counts(s: &Summary) -> Vec<Count> {
    let (bytes, sql) = if s.command == Command::Dump {
        (
            "Bytes written to disk (compressed) by the last run.",
            "Bytes of SQL text written by the last run.",
        )
    } else {
        (
            "Bytes of dump files read by the last run.",
            "Bytes of SQL text sent to the server by the last run.",
        )
    };
    vec![
        ("last_run_bytes", bytes, Some(s.bytes)),
        ("last_run_sql_bytes", sql, Some(s.sql_bytes)),
        (
            "last_run_rows",
            "Rows in the tables of the last run.",
            Some(s.rows),
        ),
        (
            "last_run_failed_objects",
            "Objects that failed in the last run.",
            Some(s.failed),
        ),
    ]
}

fn verify_counts(s: &Summary) -> Vec<Count> {
    vec![
        (
            "last_run_problems",
            "Problems found by the last run.",
            Some(s.failed),
        ),
        (
            "last_run_bytes",
            "Bytes of dump files read by the last run.",
            Some(s.bytes),
        ),
        (
            "last_run_rows",
            "Rows checked by the last run.",
            Some(s.rows),
        ),
        (
            "last_run_files",
            "Files checked by the last run.",
            s.extra("files"),
        ),
        (
            "last_run_statements",
            "SQL statements checked by the last run.",
            s.extra("statements"),
        ),
        (
            "last_run_tables_compared",
            "Tables compared with the server by the last run.",
            s.extra("tables_compared"),
        ),
    ]
}

/// The metric name prefix of a command's series; `None` for commands that report none.
fn prefix(command: Command) -> Option<&'static str> {
    match command {
        Command::Dump => Some("mybak_"),
        Command::Verify => Some("mybak_verify_"),
        Command::Prune => Some("mybak_prune_"),
        Command::Restore => Some("mybak_restore_"),
        Command::Copy => Some("mybak_copy_"),
        Command::Binlog => Some("mybak_binlog_"),
        Command::List | Command::Config => None,
    }
}

/// The series of one finished run that ended at `now` with `exit_code`. `dump` series are named
/// `mybak_last_run_…`, the others `mybak_<command>_last_run_…`; `…_last_success_timestamp_seconds`
/// is there only when the run succeeded. `list` and `config` have none.
pub fn samples(summary: &Summary, exit_code: u8, now: DateTime<Utc>) -> Vec<Sample> {
    let Some(prefix) = prefix(summary.command) else {
        return Vec::new();
    };
    let what = summary.command.as_str();
    let ended = Value::Int(u64::try_from(now.timestamp()).unwrap_or(0));
    let success = summary.status.is_success();
    let mut common = vec![
        (
            "last_run_timestamp_seconds",
            format!("Unix time the last mybak {what} run ended."),
            Some(ended),
        ),
        (
            "last_success_timestamp_seconds",
            format!("Unix time the last successful mybak {what} run ended."),
            success.then_some(ended),
        ),
        (
            "last_run_duration_seconds",
            format!("Seconds the last mybak {what} run took."),
            Some(Value::Float(summary.seconds)),
        ),
        (
            "last_run_success",
            format!("Whether the last mybak {what} run did all it was asked to (1) or not (0)."),
            Some(Value::Int(u64::from(success))),
        ),
        (
            "last_run_exit_code",
            format!("Exit code of the last mybak {what} run."),
            Some(Value::Int(u64::from(exit_code))),
        ),
    ];
    for (suffix, help, value) in counts(summary) {
        common.push((suffix, help.to_string(), value.map(Value::Int)));
    }
    common
        .into_iter()
        .filter_map(|(suffix, help, value)| {
            value.map(|value| Sample {
                name: format!("{prefix}{suffix}"),
                help,
                value,
            })
        })
        .collect()
}

/// Writes `samples` with the label `job="<job>"` into the textfile at `path`, keeping every other
/// series the file holds, and replaces the file atomically (mode 0644). Series of the same job and
/// command from an earlier run are replaced as a whole, except `…_last_success_timestamp_seconds`,
/// which keeps its value when this run failed. Writers are serialised by a lock on `PATH.lock`.
pub fn write_textfile(path: &Path, job: &str, samples: &[Sample]) -> Result<()> {
    if path.file_name().is_none() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name");
        return Err(Error::io(path, e));
    }
    let _lock = lock(path)?;
    let existing = read_existing(path)?;
    let merged = merge(&existing, path, job, samples);
    replace(path, merged.as_bytes())
}

/// The new textfile: `existing` (read from `origin`) merged with this run's `samples` of `job`.
fn merge(existing: &[u8], origin: &Path, job: &str, samples: &[Sample]) -> String {
    let mut doc = Document::parse(existing, origin);
    let labels = vec![("job".to_string(), job.to_string())];
    let last_run = "_last_run_";
    let run_prefixes: Vec<&str> = samples
        .iter()
        .filter_map(|s| {
            s.name
                .find(last_run)
                .and_then(|i| s.name.get(..i + last_run.len()))
        })
        .collect();
    doc.retain(|line| {
        line.labels != labels
            || !(samples.iter().any(|s| s.name == line.name)
                || run_prefixes.iter().any(|p| line.name.starts_with(p)))
    });
    for sample in samples {
        let line = Line {
            name: sample.name.clone(),
            labels: labels.clone(),
            value: sample.value.to_string(),
            timestamp: None,
        };
        doc.put_gauge(line, &sample.help);
    }
    doc.render()
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> OsString {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    s
}

/// Opens without blocking on a FIFO; the caller checks the file type.
fn nonblocking() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(OFlag::O_NONBLOCK.bits());
    options
}

fn not_regular(path: &Path, meta: &std::fs::Metadata) -> Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    let message = format!("is {what}, not a metrics textfile; refusing to replace it");
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
    )
}

/// Takes the exclusive lock on `PATH.lock`, held until the file is dropped.
fn lock(path: &Path) -> Result<File> {
    let lock_path = PathBuf::from(with_suffix(path, ".lock"));
    let opened = nonblocking()
        .write(true)
        .create(true)
        .mode(TEXTFILE_MODE)
        .open(&lock_path);
    let file = match opened {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            nonblocking().read(true).open(&lock_path)
        }
        other => other,
    }
    .map_err(|e| Error::io(&lock_path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(&lock_path, e))?;
    if !meta.is_file() {
        return Err(not_regular(&lock_path, &meta));
    }
    file.lock().map_err(|e| Error::io(&lock_path, e))?;
    Ok(file)
}

/// The textfile's bytes; nothing when there is none. Anything but a regular file is an error,
/// found before opening it (a FIFO would block).
fn read_existing(path: &Path) -> Result<Vec<u8>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
        Ok(meta) if !meta.is_file() => return Err(not_regular(path, &meta)),
        Ok(_) => {}
    }
    let mut file = nonblocking()
        .read(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Writes `bytes` to `.NAME.tmp.PID` beside `path`, fsyncs it, renames it over `path` and fsyncs
/// the directory.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().unwrap_or_default();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    // We hold the lock: a temp file of this name is left by a writer that died.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&tmp, e)),
        _ => {}
    }
    let written = write_synced(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| Error::io(tmp, e);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(TEXTFILE_MODE)
        .open(tmp)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    // The umask may have narrowed the mode given at creation.
    file.set_permissions(std::fs::Permissions::from_mode(TEXTFILE_MODE))
        .map_err(io)?;
    file.sync_all().map_err(io)
}
