//! The library's error type: one enum whose variants say what failed and on which object or path.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the mybak library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An option file could not be read or parsed.
    #[error(transparent)]
    OptionFile(#[from] crate::optfile::OptionFileError),
    /// Connection settings were invalid or the server could not be reached.
    #[error(transparent)]
    Conn(#[from] crate::conn::ConnError),
    /// The binlog archive or its replication connection failed.
    #[error(transparent)]
    Binlog(#[from] crate::binlog::BinlogError),
    /// A statement failed; `context` says what we were doing.
    #[error("{context}: {}", server_message(.source))]
    Query {
        context: String,
        #[source]
        source: mysql::Error,
    },
    /// The global lock could not be had in time; the report says who holds it.
    #[error("could not take the global read lock within {timeout_secs} s{report}")]
    LockTimeout {
        timeout_secs: u64,
        report: Box<crate::snapshot::LockReport>,
    },
    /// A file of the dump could not be written (a full disk, say): the run stops.
    #[error("writing the dump failed: {0}; the dump is left unfinished")]
    Storage(String),
    /// A connection to the server broke or went silent during the dump: what was not read yet
    /// can no longer be read inside the snapshot, so the run ends.
    #[error(
        "lost the connection to the server while {during}: {reason}; the dump is left unfinished"
    )]
    Lost {
        /// What the connection was doing: `reading table `shop`.`orders` (chunk 3)`.
        during: String,
        /// Why: the driver's or server's message, or the timeout that ran out.
        reason: String,
    },
    /// The account or server cannot do what the chosen mode needs.
    #[error("{0}")]
    Unsupported(String),
    /// A file or directory could not be written or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Settings given by the user are invalid.
    #[error("{0}")]
    Settings(String),
    /// A pattern in a filter option is not a valid glob.
    #[error("bad pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
    /// One object of a dump failed; the dump records it and goes on.
    #[error("{object}: {message}")]
    Object { object: String, message: String },
    /// Files of a dump are missing, truncated or changed.
    #[error("the dump is damaged: {}", problems_text(.0))]
    Integrity(Vec<Problem>),
    /// Files of a dump could not be copied (a changed source file, a failed upload): nothing
    /// is left at the destination.
    #[error("the copy failed, nothing is left at the destination: {}", problems_text(.0))]
    CopyFailed(Vec<Problem>),
    /// The config file cannot be read, or holds an unknown key or a bad value.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// Another mybak run holds the output root's lock.
    #[error("{} is in use by another mybak run ({holder}); nothing was done", root.display())]
    Locked { root: PathBuf, holder: String },
    /// The output root cannot take the dump: not a directory, not writable, or too little space.
    #[error("{}: {message}", path.display())]
    OutputRoot { path: PathBuf, message: String },
    /// A path given as a dump directory is not one.
    #[error("{}: {message}", path.display())]
    NotADump { path: PathBuf, message: String },
    /// The manifest could not be serialised or parsed.
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
}

/// A server error as the stock client prints it: `ERROR 1146 (42S02): Table 'd.t' doesn't exist`.
pub fn server_message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        _ if crate::conn::is_timeout(e) => {
            "connection error: no answer from the server in time (net-timeout)".to_string()
        }
        mysql::Error::IoError(io) => format!("connection error: {io}"),
        mysql::Error::CodecError(c) => format!("connection error: {c}"),
        other => other.to_string(),
    }
}

/// Something wrong with one file of a dump.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Path relative to the dump directory.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The error without the object's name, for records that name the object already.
    pub fn detail(&self) -> String {
        match self {
            Error::Object { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// The connection broke (see [`crate::conn::is_broken`]) while doing `during`.
    pub fn lost(during: impl Into<String>, cause: &mysql::Error, net_timeout: Duration) -> Self {
        Error::Lost {
            during: during.into(),
            reason: crate::conn::failure_reason(cause, net_timeout),
        }
    }

    /// The driver's error when this error means its connection broke and must not be used
    /// again (a timeout, a network error); `None` for anything else, server errors included.
    pub fn broken_connection(&self) -> Option<&mysql::Error> {
        match self {
            Error::Query { source, .. } if crate::conn::is_broken(source) => Some(source),
            _ => None,
        }
    }

    /// This error as [`Error::Lost`] when it means the connection broke
    /// ([`broken_connection`](Self::broken_connection)); else unchanged.
    pub fn into_lost(self, net_timeout: Duration) -> Self {
        match self {
            Error::Query { context, source } if crate::conn::is_broken(&source) => {
                Error::lost(context, &source, net_timeout)
            }
            other => other,
        }
    }

    /// The failure of a statement about `object` (`view `d`.`v``): [`Error::Object`] when the
    /// server refused it, but [`Error::Query`] (context `reading view `d`.`v``) keeping the
    /// driver's error when the connection broke, so the caller can tell
    /// ([`broken_connection`](Self::broken_connection)).
    pub fn object(object: impl Into<String>, cause: mysql::Error) -> Self {
        let object = object.into();
        if crate::conn::is_broken(&cause) {
            Error::query(format!("reading {object}"), cause)
        } else {
            Error::Object {
                object,
                message: server_message(&cause),
            }
        }
    }

    /// Wraps a server error with what we were doing.
    pub fn query(context: impl Into<String>, source: mysql::Error) -> Self {
        Error::Query {
            context: context.into(),
            source,
        }
    }
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to `mysql` results.
pub trait QueryContext<T> {
    /// Maps a `mysql::Error` to [`Error::Query`] with the given context.
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> QueryContext<T> for std::result::Result<T, mysql::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::query(context(), e))
    }
}
