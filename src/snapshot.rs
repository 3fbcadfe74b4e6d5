//! One point in time for every connection: session setup, the short global lock, binlog coordinates,
//! and each worker's consistent-snapshot transaction.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Row};

use crate::error::{Error, QueryContext, Result};
use crate::manifest::{Binlog, ServerInfo};

/// What kind of server we talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub info: ServerInfo,
    pub mariadb: bool,
    /// (major, minor, patch) of the server version.
    pub version: (u32, u32, u32),
}

impl Server {
    /// Reads version and host name.
    pub fn detect(conn: &mut Conn) -> Result<Server> {
        let row: Option<(String, String)> = conn
            .query_first("SELECT VERSION(), @@hostname")
            .context(|| "reading the server version".to_string())?;
        let (version, host) = row.unwrap_or_default();
        Ok(Server {
            mariadb: version.to_ascii_lowercase().contains("mariadb"),
            version: parse_version(&version),
            info: ServerInfo { version, host },
        })
    }

    /// Whether `BACKUP STAGE` exists (MariaDB ≥ 10.4).
    pub fn has_backup_stage(&self) -> bool {
        self.mariadb && self.version >= (10, 4, 0)
    }

    /// Whether system-versioning history can be inserted (MariaDB ≥ 10.11).
    pub fn has_insert_history(&self) -> bool {
        self.mariadb && self.version >= (10, 11, 0)
    }
}

/// `10.11.19-MariaDB-0+deb12u1` → (10, 11, 19).
/// The `5.5.5-` prefix old MariaDB servers put before their real version is skipped.
pub fn parse_version(v: &str) -> (u32, u32, u32) {
    let v = v.strip_prefix("5.5.5-").unwrap_or(v);
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// Sets up a dump session: UTF-8 results, UTC for TIMESTAMP, a neutral sql_mode for SHOW CREATE,
/// long network timeouts so a slow writer is not cut off.
///
/// The server's `net_read_timeout`/`net_write_timeout` (an hour) bound how long the *server*
/// waits for us, e.g. while a slow disk or compression holds up reading the rows; the client's
/// net-timeout ([`ConnSettings::net_timeout`](crate::conn::ConnSettings)) bounds how long *we*
/// wait for the server. They are the two directions of one connection and need not match.
/// What the client must outlast is the server's own waits for an answer it will still send:
/// the global lock's `lock_wait_timeout` (checked by
/// [`DumpSettings::check_timeouts`](crate::dump::DumpSettings::check_timeouts)); statements
/// run without a time limit here (`max_statement_time = 0`), so one that runs longer than the
/// net-timeout ends the run.
pub fn prepare_session(conn: &mut Conn, server: &Server) -> Result<()> {
    let mut statements = vec![
        "SET NAMES utf8mb4",
        "SET SESSION time_zone = '+00:00'",
        "SET SESSION sql_mode = ''",
        "SET SESSION sql_quote_show_create = 1",
        "SET SESSION net_read_timeout = 3600",
        "SET SESSION net_write_timeout = 3600",
        "SET SESSION wait_timeout = 28800",
    ];
    if server.mariadb {
        statements.push("SET SESSION max_statement_time = 0");
    } else {
        statements.push("SET SESSION max_execution_time = 0");
    }
    for s in statements {
        conn.query_drop(s)
            .context(|| format!("setting up the dump session ({s})"))?;
    }
    Ok(())
}

/// Starts a REPEATABLE READ consistent-snapshot transaction on a worker connection.
pub fn begin_snapshot(conn: &mut Conn) -> Result<()> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .context(|| "setting REPEATABLE READ".to_string())?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .context(|| "starting a consistent-snapshot transaction".to_string())
}

/// Ends a worker's snapshot transaction.
pub fn end_snapshot(conn: &mut Conn) -> Result<()> {
    conn.query_drop("COMMIT")
        .context(|| "ending the snapshot transaction".to_string())
}

/// How the global lock was taken, so it can be released the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalLock {
    /// `BACKUP STAGE START` + `BACKUP STAGE BLOCK_COMMIT` (MariaDB ≥ 10.4).
    BackupStage,
    /// `FLUSH TABLES WITH READ LOCK`.
    ReadLock,
}

const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
const ER_ACCESS_DENIED: u16 = 1045;
const ER_DBACCESS_DENIED: u16 = 1044;

fn server_code(e: &mysql::Error) -> Option<u16> {
    match e {
        mysql::Error::MySqlError(m) => Some(m.code),
        _ => None,
    }
}

/// Takes the short global lock that makes every worker's snapshot the same point in time.
/// Waits at most `timeout` for it; on timeout the error names the longest-running statement.
pub fn lock_global(conn: &mut Conn, server: &Server, timeout: Duration) -> Result<GlobalLock> {
    let secs = timeout.as_secs().max(1);
    conn.query_drop(format!("SET SESSION lock_wait_timeout = {secs}"))
        .context(|| "setting lock_wait_timeout".to_string())?;
    let (lock, statements): (GlobalLock, &[&str]) = if server.has_backup_stage() {
        (
            GlobalLock::BackupStage,
            &["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"],
        )
    } else {
        (GlobalLock::ReadLock, &["FLUSH TABLES WITH READ LOCK"])
    };
    for s in statements {
        if let Err(e) = conn.query_drop(s) {
            if crate::conn::is_broken(&e) {
                // Not used again (a late answer would be taken for the next statement's);
                // the server releases the lock when the connection closes.
                return Err(Error::query(format!("taking the global lock ({s})"), e));
            }
            let code = server_code(&e);
            if code == Some(ER_LOCK_WAIT_TIMEOUT) {
                let blocker = blocking_query(conn);
                let _ = release(conn, lock);
                return Err(Error::LockTimeout {
                    timeout_secs: secs,
                    blocker,
                });
            }
            let _ = release(conn, lock);
            if matches!(
                code,
                Some(ER_SPECIFIC_ACCESS_DENIED | ER_ACCESS_DENIED | ER_DBACCESS_DENIED)
            ) {
                return Err(Error::Unsupported(format!(
                    "{s} was refused ({e}); --consistency=snapshot needs the RELOAD privilege: \
                     grant it, or use --consistency=per-table"
                )));
            }
            return Err(Error::query(format!("taking the global lock ({s})"), e));
        }
    }
    Ok(lock)
}

/// Releases the global lock.
pub fn release(conn: &mut Conn, lock: GlobalLock) -> Result<()> {
    let s = match lock {
        GlobalLock::BackupStage => "BACKUP STAGE END",
        GlobalLock::ReadLock => "UNLOCK TABLES",
    };
    conn.query_drop(s)
        .context(|| format!("releasing the global lock ({s})"))
}

/// The statement that has run longest on the server (other than ours), described in one line.
fn blocking_query(conn: &mut Conn) -> Option<String> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT ID, USER, HOST, COMMAND, TIME, STATE, LEFT(INFO, 200) \
             FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump') \
             ORDER BY (COMMAND = 'Sleep'), TIME DESC LIMIT 1",
        )
        .ok()?;
    let row = rows.first()?;
    let get = |i: usize| -> String {
        row.get_opt::<Option<String>, usize>(i)
            .and_then(|r| r.ok())
            .flatten()
            .unwrap_or_default()
    };
    let (id, user, host, command, time, state, info) =
        (get(0), get(1), get(2), get(3), get(4), get(5), get(6));
    let what = if info.is_empty() {
        format!("{command} ({state})")
    } else {
        info.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    Some(format!("connection {id} ({user}@{host}, {time} s): {what}"))
}

const ER_NO_BINLOG_STATUS_SYNTAX: u16 = 1064;

/// Reads binlog file, position and GTID position; `None` when binary logging is off or not visible to us.
pub fn binlog_coordinates(conn: &mut Conn, server: &Server) -> Result<Option<Binlog>> {
    let row: Option<Row> = match conn.query_first("SHOW MASTER STATUS") {
        Ok(r) => r,
        Err(e) if server_code(&e) == Some(ER_NO_BINLOG_STATUS_SYNTAX) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .context(|| "reading binlog coordinates".to_string())?,
        Err(e) if matches!(server_code(&e), Some(ER_SPECIFIC_ACCESS_DENIED)) => {
            log::warn!("binlog coordinates not recorded: {e}");
            return Ok(None);
        }
        Err(e) => return Err(Error::query("reading binlog coordinates", e)),
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let file: String = row
        .get_opt::<String, usize>(0)
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let position: u64 = row
        .get_opt::<String, usize>(1)
        .and_then(|r| r.ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let gtid_var = if server.mariadb {
        "@@GLOBAL.gtid_binlog_pos"
    } else {
        "@@GLOBAL.gtid_executed"
    };
    let gtid: Option<Option<String>> = conn
        .query_first(format!("SELECT {gtid_var}"))
        .context(|| "reading the GTID position".to_string())?;
    Ok(Some(Binlog {
        file,
        position,
        gtid: gtid.flatten().unwrap_or_default().replace('\n', ""),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_server_strings() {
        let cases = [
            ("10.11.19-MariaDB-0+deb12u1", (10, 11, 19)),
            ("8.0.36", (8, 0, 36)),
            ("5.5.5-10.3.39-MariaDB", (10, 3, 39)),
            ("", (0, 0, 0)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_version(s), want, "{s}");
        }
    }
}
