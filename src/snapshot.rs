//! One point in time for every connection: session setup, the short global lock, binlog coordinates,
//! and each worker's consistent-snapshot transaction.

mod blockers;
mod watch;

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Row};

use crate::conn::{ConnSettings, Session};
use crate::error::{Error, QueryContext, Result};
use crate::manifest::{Binlog, ServerInfo};

pub use blockers::LockReport;
use blockers::{inspect, Probe};
use watch::Watch;

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

/// What the server is doing besides us, for choosing the number of connections: its CPUs
/// (MariaDB's `thread_pool_size`, which defaults to them; unknown on MySQL) and the queries it
/// is running for others. Unreadable values count as unknown and idle: this only guides a
/// default.
pub fn load(conn: &mut Conn, server: &Server, client_cpus: usize) -> crate::plan::Load {
    let mut value = |sql: &str| -> Option<u64> {
        let row: Option<(String, String)> = conn.query_first(sql).ok().flatten();
        row.and_then(|(_, v)| v.trim().parse().ok())
    };
    let server_cpus = if server.mariadb {
        value("SHOW GLOBAL VARIABLES LIKE 'thread_pool_size'")
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0)
    } else {
        None
    };
    let running = value("SHOW GLOBAL STATUS LIKE 'Threads_running'").unwrap_or(1);
    crate::plan::Load {
        client_cpus,
        server_cpus,
        busy: running.saturating_sub(1),
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
pub fn prepare_session(conn: &mut dyn Session, server: &Server) -> Result<()> {
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
        conn.run(s)
            .context(|| format!("setting up the dump session ({s})"))?;
    }
    Ok(())
}

/// Starts a REPEATABLE READ consistent-snapshot transaction on a worker connection.
pub fn begin_snapshot(conn: &mut dyn Session) -> Result<()> {
    conn.run("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .context(|| "setting REPEATABLE READ".to_string())?;
    conn.run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .context(|| "starting a consistent-snapshot transaction".to_string())
}

/// Starts a table's own transaction (`--consistency=per-table`): its metadata lock is taken
/// first, by reading none of its rows, so no DDL can come between reading its definition and
/// reading its rows (the snapshot itself starts with the first row read, after the lock).
pub fn begin_table_transaction(conn: &mut dyn Session, table_sql_name: &str) -> Result<()> {
    conn.run("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .context(|| "setting REPEATABLE READ".to_string())?;
    conn.run("START TRANSACTION READ ONLY")
        .context(|| "starting the table's transaction".to_string())?;
    conn.run(&format!("SELECT 1 FROM {table_sql_name} LIMIT 0"))
        .context(|| format!("locking the definition of {table_sql_name}"))
}

/// Ends a worker's snapshot transaction.
pub fn end_snapshot(conn: &mut dyn Session) -> Result<()> {
    conn.run("COMMIT")
        .context(|| "ending the snapshot transaction".to_string())
}

/// How the global lock was taken, so it can be released the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalLock {
    /// `BACKUP STAGE START` + `BACKUP STAGE BLOCK_COMMIT` (MariaDB ≥ 10.4).
    BackupStage,
    /// `FLUSH TABLES WITH READ LOCK`.
    ReadLock,
    /// `LOCK INSTANCE FOR BACKUP` (MySQL ≥ 8.0; DDL only).
    Instance,
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

/// How to wait for the global lock.
#[derive(Debug, Clone, Copy)]
pub struct LockRequest<'a> {
    /// The server gives up after this long (`lock_wait_timeout`, whole seconds, at least 1).
    pub timeout: Duration,
    /// Where a second connection may go to see who holds the lock while the statement still waits;
    /// `None`: look only after the timeout, on the waiting connection.
    pub watch_with: Option<&'a ConnSettings>,
    /// Ids of this run's other open connections, never named as blockers.
    pub ours: &'a [u32],
    /// A [`DdlGuard`] holds the server's one `BACKUP STAGE` already.
    pub backup_stage_taken: bool,
}

/// Takes the short global lock that makes every worker's snapshot the same point in time.
/// Waits at most `request.timeout` for it; on timeout the error names the sessions holding it
/// (most likely first), seen by a watcher on a second connection shortly before the limit or, failing
/// that, from this connection right after it. With a [`DdlGuard`] holding `BACKUP STAGE` (there
/// can be only one), the lock is `FLUSH TABLES WITH READ LOCK`.
pub fn lock_global(conn: &mut Conn, server: &Server, request: LockRequest) -> Result<GlobalLock> {
    let (lock, statements): (GlobalLock, &[&'static str]) =
        if server.has_backup_stage() && !request.backup_stage_taken {
            (
                GlobalLock::BackupStage,
                &["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"],
            )
        } else {
            (GlobalLock::ReadLock, &["FLUSH TABLES WITH READ LOCK"])
        };
    take(conn, server, lock, statements, request)?;
    Ok(lock)
}

/// Runs the lock `statements` of `lock` in order, each waiting at most `request.timeout`; on
/// any failure the lock is released and the error says why (who holds it, on a timeout).
fn take(
    conn: &mut Conn,
    server: &Server,
    lock: GlobalLock,
    statements: &[&'static str],
    request: LockRequest,
) -> Result<()> {
    let secs = request.timeout.as_secs().max(1);
    conn.query_drop(format!("SET SESSION lock_wait_timeout = {secs}"))
        .context(|| "setting lock_wait_timeout".to_string())?;
    for &statement in statements {
        let probe = Probe {
            lock,
            statement,
            waiter: u64::from(conn.connection_id()),
            ours: request.ours.iter().map(|&i| u64::from(i)).collect(),
            mariadb: server.mariadb,
        };
        let started = Instant::now();
        let watch = request
            .watch_with
            .map(|settings| Watch::start(settings, probe.clone(), Duration::from_secs(secs)));
        let Err(e) = conn.query_drop(statement) else {
            continue;
        };
        if crate::conn::is_broken(&e) {
            // Not used again (a late answer would be taken for the next statement's); the
            // server releases the lock when the connection closes.
            return Err(Error::query(
                format!("taking the global lock ({statement})"),
                e,
            ));
        }
        let code = server_code(&e);
        if code == Some(ER_LOCK_WAIT_TIMEOUT) {
            let seen = watch.and_then(Watch::finish);
            let _ = release(conn, lock);
            let report = seen.unwrap_or_else(|| inspect(conn, &probe, started.elapsed()));
            return Err(Error::LockTimeout {
                timeout_secs: secs,
                report: Box::new(report),
            });
        }
        drop(watch);
        let _ = release(conn, lock);
        if matches!(
            code,
            Some(ER_SPECIFIC_ACCESS_DENIED | ER_ACCESS_DENIED | ER_DBACCESS_DENIED)
        ) {
            return Err(Error::Unsupported(format!(
                "{statement} was refused ({e}); --consistency=snapshot needs the RELOAD privilege: \
                 grant it, or use --consistency=per-table"
            )));
        }
        return Err(Error::query(
            format!("taking the global lock ({statement})"),
            e,
        ));
    }
    Ok(())
}

/// Holds off DDL (ALTER, RENAME, DROP, CREATE, TRUNCATE …) server-wide from before the tables
/// are listed until the dump ends, on a connection of its own: every definition the dump reads
/// is then the one at its snapshot, and the binlog from the recorded position replays onto it.
/// Writes (DML) and reads go on; a DDL statement waits ("Waiting for backup lock") until the
/// guard is released. MariaDB ≥ 10.4: `BACKUP STAGE START` + `BLOCK_DDL`; MySQL ≥ 8.0:
/// `LOCK INSTANCE FOR BACKUP`.
pub struct DdlGuard {
    conn: Conn,
    backup_stage: bool,
}

impl DdlGuard {
    /// Takes the guard, waiting at most `request.timeout` for DDL in progress. `Ok(None)` when
    /// the server has no such lock or the account may not take it (RELOAD / BACKUP_ADMIN): the
    /// caller falls back to per-table metadata locks.
    pub fn take(
        settings: &ConnSettings,
        server: &Server,
        request: LockRequest,
    ) -> Result<Option<DdlGuard>> {
        let (backup_stage, statements): (bool, &[&'static str]) = if server.has_backup_stage() {
            (true, &["BACKUP STAGE START", "BACKUP STAGE BLOCK_DDL"])
        } else if !server.mariadb && server.version >= (8, 0, 0) {
            (false, &["LOCK INSTANCE FOR BACKUP"])
        } else {
            return Ok(None);
        };
        let mut conn = crate::conn::connect(settings)?;
        let lock = if backup_stage {
            GlobalLock::BackupStage
        } else {
            GlobalLock::Instance
        };
        match take(&mut conn, server, lock, statements, request) {
            Ok(()) => Ok(Some(DdlGuard { conn, backup_stage })),
            Err(Error::Unsupported(why)) => {
                log::info!("DDL is not held off during the dump ({why})");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The guard's connection id (never named as a blocker of our own locks).
    pub fn connection_id(&self) -> u32 {
        self.conn.connection_id()
    }

    /// Whether the guard holds the server's one `BACKUP STAGE`.
    pub fn holds_backup_stage(&self) -> bool {
        self.backup_stage
    }

    /// Lets DDL go on.
    pub fn release(mut self) {
        let lock = if self.backup_stage {
            GlobalLock::BackupStage
        } else {
            GlobalLock::Instance
        };
        if let Err(e) = release(&mut self.conn, lock) {
            log::debug!("releasing the DDL guard: {e}; closing its connection releases it");
        }
    }
}

/// Releases the global lock.
pub fn release(conn: &mut Conn, lock: GlobalLock) -> Result<()> {
    let s = match lock {
        GlobalLock::BackupStage => "BACKUP STAGE END",
        GlobalLock::ReadLock => "UNLOCK TABLES",
        GlobalLock::Instance => "UNLOCK INSTANCE",
    };
    conn.query_drop(s)
        .context(|| format!("releasing the global lock ({s})"))
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
            log::warn!(
                "binlog coordinates not recorded: {}",
                crate::error::server_message(&e)
            );
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
    let archive = crate::binlog::archive_id(conn, server.mariadb)?;
    Ok(Some(Binlog {
        file,
        position,
        gtid: gtid.flatten().unwrap_or_default().replace('\n', ""),
        archive: Some(archive),
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
