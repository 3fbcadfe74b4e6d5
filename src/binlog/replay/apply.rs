//! The replay session on the server: set up (binary logging off on request, pseudo-replica mode
//! as `mariadb-binlog` asks for), statements sent — text that is not UTF-8 through a prepared
//! statement, since the driver sends only `&str` — and at the end every session variable the
//! replay touched put back as it was.

use std::collections::{BTreeSet, HashMap};

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::error::server_message;
use crate::sql::ident::quote_ident;

use super::decode::Xid;
use super::error::ReplayError;
use super::frame::kind_name;
use super::plan::{Sql, Stmt, FRAGMENTS};
use super::status::{literal, Collations};

/// Where the planned statements go: the server, or a recorder in tests.
pub(crate) trait Apply: Collations {
    /// Runs `stmt`, an event of `file`.
    fn run(&mut self, file: &str, stmt: &Stmt) -> Result<(), ReplayError>;
    /// Rolls back the open transaction (an XA one when `xid`), ignoring errors.
    fn abort(&mut self, xid: Option<&Xid>);
}

/// The session variables a replay may change, put back at the end.
const VARIABLES: [&str; 27] = [
    "sql_log_bin",
    "completion_type",
    "pseudo_thread_id",
    "gtid_domain_id",
    "server_id",
    "gtid_seq_no",
    "foreign_key_checks",
    "sql_auto_is_null",
    "unique_checks",
    "autocommit",
    "check_constraint_checks",
    "sql_if_exists",
    "explicit_defaults_for_timestamp",
    "system_versioning_insert_history",
    "sql_mode",
    "auto_increment_increment",
    "auto_increment_offset",
    "character_set_client",
    "collation_connection",
    "collation_server",
    "collation_database",
    "time_zone",
    "lc_time_names",
    "character_set_collations",
    "insert_id",
    "last_insert_id",
    // Last: it changes how the server treats the others.
    "pseudo_slave_mode",
];

/// The user variable and prepared statement that carry statements that are not UTF-8.
const TEXT_VAR: &str = "@mybak_replay_sql";
const PREPARED: &str = "mybak_replay";

/// The session as it was before the replay.
#[derive(Debug)]
pub(crate) struct Saved {
    variables: Vec<(String, String)>,
    database: Option<String>,
}

/// A replay session on a server connection.
pub(crate) struct Applier<'c> {
    conn: &'c mut Conn,
    names: HashMap<u32, (String, String)>,
}

fn session_error(context: &str, e: mysql::Error) -> ReplayError {
    ReplayError::Session {
        context: context.to_string(),
        message: server_message(&e),
        source: Box::new(e),
    }
}

impl<'c> Applier<'c> {
    pub(crate) fn new(conn: &'c mut Conn) -> Applier<'c> {
        Applier {
            conn,
            names: HashMap::new(),
        }
    }

    /// The session variables of [`VARIABLES`] this server has, with their values.
    fn variables(&mut self) -> Result<Vec<(String, String)>, mysql::Error> {
        let list = VARIABLES
            .iter()
            .map(|v| format!("'{}'", v.to_ascii_uppercase()))
            .collect::<Vec<_>>()
            .join(",");
        let query = |table: &str| {
            format!(
                "SELECT LOWER(VARIABLE_NAME), VARIABLE_VALUE FROM {table} \
                 WHERE UPPER(VARIABLE_NAME) IN ({list})"
            )
        };
        let rows: Vec<(String, Option<String>)> = match self
            .conn
            .query(query("information_schema.SESSION_VARIABLES"))
        {
            Ok(rows) => rows,
            Err(_) => self
                .conn
                .query(query("performance_schema.session_variables"))?,
        };
        let mut out: Vec<(String, String)> = rows
            .into_iter()
            .map(|(n, v)| (n, v.unwrap_or_default()))
            .collect();
        out.sort_by_key(|(n, _)| VARIABLES.iter().position(|v| v == n));
        Ok(out)
    }

    /// Saves the session, then turns binary logging off unless `log_bin` and enters
    /// pseudo-replica mode; returns the largest `max_allowed_packet` statement the server takes.
    pub(crate) fn setup(&mut self, log_bin: bool) -> Result<(Saved, usize), ReplayError> {
        let variables = self
            .variables()
            .map_err(|e| session_error("reading the session variables", e))?;
        let database: Option<String> = self
            .conn
            .query_first("SELECT DATABASE()")
            .map_err(|e| session_error("reading the default database", e))?
            .flatten();
        let packet: Option<u64> = self
            .conn
            .query_first("SELECT @@max_allowed_packet")
            .map_err(|e| session_error("reading max_allowed_packet", e))?;
        let saved = Saved {
            variables,
            database,
        };
        if let Err(e) = self.enter(log_bin) {
            // Whatever was changed before the refusal goes back.
            let _ = self.restore(&saved, &BTreeSet::new());
            return Err(e);
        }
        Ok((saved, packet.unwrap_or(16 << 20) as usize))
    }

    /// Binary logging off unless `log_bin`; pseudo-replica mode and plain COMMITs, as
    /// `mariadb-binlog` asks for.
    fn enter(&mut self, log_bin: bool) -> Result<(), ReplayError> {
        if !log_bin {
            self.conn
                .query_drop("SET SESSION sql_log_bin = 0")
                .map_err(|e| ReplayError::Session {
                    context: "turning binary logging off (SET sql_log_bin = 0)".to_string(),
                    message: format!(
                        "{}; it needs the SUPER or BINLOG ADMIN privilege",
                        server_message(&e)
                    ),
                    source: Box::new(e),
                })?;
        }
        for s in [
            "SET SESSION pseudo_slave_mode = 1",
            "SET SESSION completion_type = 0",
        ] {
            self.conn
                .query_drop(s)
                .map_err(|e| session_error(&format!("setting up the replay session ({s})"), e))?;
        }
        Ok(())
    }

    /// Puts the session back as `saved` says and clears the user variables the replay set.
    pub(crate) fn restore(
        &mut self,
        saved: &Saved,
        user_vars: &BTreeSet<String>,
    ) -> Result<(), ReplayError> {
        let _ = self
            .conn
            .query_drop(format!("DEALLOCATE PREPARE {PREPARED}"));
        let current: Option<String> = self
            .conn
            .query_first("SELECT DATABASE()")
            .map_err(|e| session_error("reading the default database", e))?
            .flatten();
        if let Some(db) = &saved.database {
            if current.as_ref() != Some(db) {
                self.conn
                    .select_db(db)
                    .map_err(|e| session_error(&format!("USE {}", quote_ident(db)), e))?;
            }
        }
        let now = self
            .variables()
            .map_err(|e| session_error("reading the session variables", e))?;
        let mut set = vec!["@@session.timestamp=DEFAULT".to_string()];
        for (name, value) in &saved.variables {
            if now.iter().any(|(n, v)| n == name && v != value) {
                set.push(format!("@@session.{name}={}", setting(value)));
            }
        }
        for var in user_vars.iter().map(|v| quote_ident(v)) {
            set.push(format!("@{var}=NULL"));
        }
        set.push(format!("{TEXT_VAR}=NULL"));
        for var in FRAGMENTS {
            set.push(format!("{var}=NULL"));
        }
        let sql = format!("SET {}", set.join(", "));
        self.conn
            .query_drop(&sql)
            .map_err(|e| session_error(&format!("restoring the session ({sql})"), e))
    }

    /// Runs statement text that is not UTF-8: the bytes go in as a hex literal, the server
    /// prepares and executes them.
    fn prepared(&mut self, bytes: &[u8]) -> Result<(), mysql::Error> {
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        self.conn.query_drop(format!("SET {TEXT_VAR} = X'{hex}'"))?;
        self.conn
            .query_drop(format!("PREPARE {PREPARED} FROM {TEXT_VAR}"))?;
        let result = self.conn.query_drop(format!("EXECUTE {PREPARED}"));
        let _ = self
            .conn
            .query_drop(format!("DEALLOCATE PREPARE {PREPARED}"));
        result
    }
}

/// A session variable's value as read from information_schema, as a `SET` operand.
fn setting(value: &str) -> String {
    if value.parse::<i64>().is_ok() || value.parse::<u64>().is_ok() {
        return value.to_string();
    }
    literal(value).unwrap_or_else(|_| {
        let hex: String = value.bytes().map(|b| format!("{b:02X}")).collect();
        format!("X'{hex}'")
    })
}

/// At most 200 characters of `sql`, for messages.
fn abbreviate(sql: &[u8]) -> String {
    let text = String::from_utf8_lossy(sql);
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push_str(" …");
    }
    out
}

impl Apply for Applier<'_> {
    fn run(&mut self, file: &str, stmt: &Stmt) -> Result<(), ReplayError> {
        let (result, shown) = match &stmt.sql {
            Sql::Use(db) => (self.conn.select_db(db), format!("USE {}", quote_ident(db))),
            Sql::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => (self.conn.query_drop(text), abbreviate(bytes)),
                Err(_) => (
                    self.prepared(bytes),
                    format!(
                        "{} (not UTF-8: sent as a prepared statement)",
                        abbreviate(bytes)
                    ),
                ),
            },
        };
        match result {
            Ok(()) => Ok(()),
            Err(mysql::Error::MySqlError(e))
                if stmt.expected_error != 0 && e.code == stmt.expected_error =>
            {
                Ok(())
            }
            Err(e) => Err(ReplayError::Server {
                file: file.to_string(),
                pos: stmt.pos,
                event: kind_name(stmt.kind),
                statement: shown,
                message: server_message(&e),
                source: Box::new(e),
            }),
        }
    }

    fn abort(&mut self, xid: Option<&Xid>) {
        if let Some(xid) = xid {
            let _ = self.conn.query_drop(format!("XA END {xid}"));
            let _ = self.conn.query_drop(format!("XA ROLLBACK {xid}"));
        }
        let _ = self.conn.query_drop("ROLLBACK");
    }
}

impl Collations for Applier<'_> {
    fn names(&mut self, id: u32) -> Result<(String, String), String> {
        if let Some(n) = self.names.get(&id) {
            return Ok(n.clone());
        }
        let found: Option<(String, String)> = self
            .conn
            .query_first(format!(
                "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS \
                 WHERE ID = {id}"
            ))
            .map_err(|e| server_message(&e))?;
        let found = match found {
            Some(f) => Some(f),
            // MariaDB 10.10+ lists the collations of every character set here.
            None => self
                .conn
                .query_first(format!(
                    "SELECT CHARACTER_SET_NAME, FULL_COLLATION_NAME \
                     FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE ID = {id}"
                ))
                .unwrap_or(None),
        };
        let found = found.ok_or_else(|| format!("collation {id} is unknown to the server"))?;
        self.names.insert(id, found.clone());
        Ok(found)
    }
}
