//! The binary log: archiving a server's binlog and replaying it for point-in-time recovery.
//!
//! [`wire`] is the replica's connection, [`event`] reads events as bytes, [`index`] describes
//! the archived files, and [`archive`] follows the server and keeps its files (`mybak binlog`).
//! [`source`] reads them back in order and [`replay`] applies them to a server (point-in-time
//! recovery); [`retain`] says which a prune keeps, [`check`] judges the chain of archived files
//! and the dumps that rely on it (`mybak verify`).

pub mod archive;
pub mod check;
pub mod event;
pub mod index;
pub mod replay;
pub mod retain;
mod seal;
pub mod source;
mod spool;
pub mod wire;

pub use archive::{archive, ArchiveObserver, ArchiveSettings};
pub use spool::OPEN_SUFFIX;

/// The name of a server's archive directory (`ROOT/binlog/<name>`), which dumps record too:
/// `server_uuid` on MySQL, `server_id` on MariaDB (which has no uuid).
pub fn archive_id(conn: &mut mysql::Conn, mariadb: bool) -> crate::Result<String> {
    use crate::error::QueryContext;
    use mysql::prelude::Queryable;
    let query = if mariadb {
        "SELECT CAST(@@server_id AS CHAR)"
    } else {
        "SELECT @@server_uuid"
    };
    let id: Option<Option<String>> = conn
        .query_first(query)
        .context(|| "reading the server's id".to_string())?;
    Ok(id.flatten().unwrap_or_default())
}

/// Errors of the replication connection and the archive.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// The server could not be reached, or the connection could not be set up.
    #[error("cannot connect to {endpoint} for the binlog: {reason}")]
    Connect { endpoint: String, reason: String },
    /// The server refused the login.
    #[error("access denied connecting to {endpoint} as user '{user}': {message}")]
    AccessDenied {
        endpoint: String,
        user: String,
        message: String,
    },
    /// The connection broke or went silent.
    #[error("lost the binlog connection to {endpoint} while {during}: {reason}")]
    Lost {
        endpoint: String,
        during: String,
        reason: String,
    },
    /// The server refused a request.
    #[error("{during}: ERROR {code}: {message}")]
    Server {
        during: String,
        code: u16,
        message: String,
    },
    /// The server sent what the protocol does not allow.
    #[error("{endpoint}: {during}: protocol error: {message}")]
    Protocol {
        endpoint: String,
        during: String,
        message: String,
    },
    /// An event that fails its checks, or does not continue its file where it should.
    #[error("binlog {file} at position {pos}: {message}")]
    Event {
        file: String,
        pos: u64,
        message: String,
    },
    /// Binlog files were purged on the server before they were archived.
    #[error(
        "binlog gap: {missing} and what followed up to {oldest} are no longer on the server, \
         so the archive lacks them; archiving goes on from {oldest} (point-in-time recovery \
         across the gap is impossible: take a new dump)"
    )]
    Gap { missing: String, oldest: String },
    /// Replaying archived events failed (or, surveyed, would fail).
    #[error("binlog replay: {0}")]
    Replay(#[from] replay::ReplayError),
    /// A file of the archive or the spool is not what it should be.
    #[error("{path}: {message}")]
    Archive { path: String, message: String },
}

impl BinlogError {
    /// Whether the account may not do what archiving needs: refused at login, or lacking a
    /// privilege (`REPLICATION SLAVE`, `BINLOG MONITOR`).
    pub fn is_refused(&self) -> bool {
        match self {
            BinlogError::AccessDenied { .. } => true,
            BinlogError::Server { code, .. } => matches!(code, 1044 | 1045 | 1142 | 1227 | 1698),
            _ => false,
        }
    }

    /// Whether trying again later may succeed: the link broke or the server was unreachable.
    pub fn is_transient(&self) -> bool {
        match self {
            BinlogError::Connect { .. } | BinlogError::Lost { .. } => true,
            // Too many connections, shutdown in progress, a binlog file not (yet) readable
            // (purged meanwhile: the next attempt finds the gap), connection killed.
            BinlogError::Server { code, .. } => matches!(code, 1040 | 1053 | 1236 | 1927 | 2013),
            _ => false,
        }
    }
}
