//! Who keeps the global lock from being granted: read from MariaDB's `METADATA_LOCK_INFO` where the
//! plugin is loaded, otherwise guessed from the processlist and InnoDB's transaction list.
//!
//! What really blocks on MariaDB 10.11 (checked on a throwaway server): `BACKUP STAGE` waits for running
//! writes to non-transactional tables (`MDL_BACKUP_DML`), running DDL, commits in progress, sessions under
//! `LOCK TABLES … WRITE` and other backups in a `BACKUP STAGE`; `FLUSH TABLES WITH READ LOCK` waits for all
//! of these but other backups, and for running transactional writes too. Neither waits for a session idle
//! in a transaction that has written rows, nor for running reads.

use std::fmt;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Row, Value};

use super::GlobalLock;

/// At most this many sessions are named; the rest are counted.
const NAMED: usize = 3;
/// Statements are quoted up to this many characters.
const STATEMENT_CHARS: usize = 200;

/// What a lock-wait timeout found out: the statement that waited, what it waited for, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockReport {
    /// The statement that timed out, e.g. `BACKUP STAGE BLOCK_COMMIT`.
    pub statement: String,
    /// Its processlist state while it waited, e.g. `Waiting for backup lock`, when seen.
    pub state: Option<String>,
    /// The sessions named, most likely first, each as `id N (user@host, COMMAND for T s: WHAT)`.
    pub named: Vec<String>,
    /// How many more sessions qualified.
    pub more: usize,
    /// Whether the named sessions were read from the server's lock table rather than guessed.
    pub confirmed: bool,
    /// What else may hold the lock when it is not confirmed.
    pub hint: Option<String>,
}

impl fmt::Display for LockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, " ({}: {state})", self.statement)?,
            None => write!(f, " ({})", self.statement)?,
        }
        if !self.named.is_empty() {
            let verb = if self.confirmed {
                "held by"
            } else {
                "probably blocked by"
            };
            write!(f, "; {verb} {}", list(&self.named, self.more))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// `a`, `a and b`, `a, b and c`, `a, b, c and 2 more`.
fn list(items: &[String], more: usize) -> String {
    if more > 0 {
        return format!("{} and {more} more", items.join(", "));
    }
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// What the inspection needs to know about the wait.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub lock: GlobalLock,
    pub statement: &'static str,
    /// The connection that waits for the lock.
    pub waiter: u64,
    /// This run's other connections; never named.
    pub ours: Vec<u64>,
    pub mariadb: bool,
}

/// An InnoDB transaction of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Trx {
    pub rows_modified: u64,
    /// Tables the transaction has in use; above 0 while idle means `LOCK TABLES`.
    pub tables_in_use: u64,
}

/// One session as the processlist and InnoDB's transaction list show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Session {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub command: String,
    pub time_ms: u64,
    pub state: String,
    /// The running statement, whitespace collapsed and shortened.
    pub info: Option<String>,
    pub trx: Option<Trx>,
}

impl Session {
    fn idle(&self) -> bool {
        self.command == "Sleep" || self.info.is_none()
    }
}

/// A metadata lock held by some thread (`METADATA_LOCK_INFO`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeldLock {
    pub thread: u64,
    pub mode: String,
    pub kind: String,
    pub schema: String,
    pub table: String,
}

/// What the server showed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scene {
    pub sessions: Vec<Session>,
    /// `None`: no lock table (plugin not loaded, MySQL, or not readable).
    pub held: Option<Vec<HeldLock>>,
    /// Processlist times are in milliseconds (MariaDB's `TIME_MS`), not whole seconds.
    pub precise: bool,
}

/// Asks the server who blocks `probe`'s statement, which has waited `elapsed`. Never fails: what cannot
/// be read is left out.
pub(crate) fn inspect(conn: &mut Conn, probe: &Probe, elapsed: Duration) -> LockReport {
    let held = if probe.mariadb {
        held_locks(conn)
    } else {
        None
    };
    let holders: Vec<u64> = held
        .iter()
        .flatten()
        .filter(|h| conflicts(probe.lock, h))
        .map(|h| h.thread)
        .collect();
    let scene = Scene {
        sessions: sessions(conn, probe, &holders),
        held,
        precise: probe.mariadb,
    };
    let ranked = rank(probe, &scene, elapsed);
    let tables = if ranked.confirmed {
        Vec::new()
    } else {
        tables_in_use(conn)
    };
    render(probe, &scene, ranked, &tables)
}

/// The sessions to name, most likely first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ranked {
    pub blockers: Vec<String>,
    pub confirmed: bool,
}

/// Orders the sessions that may hold the lock: holders of a conflicting lock (from the lock table) alone
/// when there are any; otherwise idle sessions with tables locked, then running writes that conflict with
/// the lock and began before the wait, then (when the wait is a table flush) any statement that began
/// before it. Idle sessions without tables locked are never named, even inside a transaction.
pub(crate) fn rank(probe: &Probe, scene: &Scene, elapsed: Duration) -> Ranked {
    let others: Vec<&Session> = scene
        .sessions
        .iter()
        .filter(|s| s.id != probe.waiter && !probe.ours.contains(&s.id))
        .collect();
    if let Some(held) = &scene.held {
        let confirmed = confirmed_holders(probe, held, &others);
        if !confirmed.is_empty() {
            return Ranked {
                blockers: confirmed,
                confirmed: true,
            };
        }
    }
    let flush_wait = waiter_state(probe, scene).is_some_and(|s| s.contains("table flush"));
    let slack = if scene.precise { 250 } else { 1000 };
    let waited = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let began_before = |s: &Session| s.time_ms.saturating_add(slack) >= waited;
    let mut tiers: [Vec<&Session>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for s in others {
        if s.idle() {
            if s.trx.is_some_and(|t| t.tables_in_use > 0) {
                tiers[0].push(s);
            }
        } else if waits_like_us(&s.state) || !began_before(s) {
            continue;
        } else if writes_against(probe.lock, s) {
            tiers[1].push(s);
        } else if flush_wait {
            tiers[2].push(s);
        }
    }
    let mut blockers = Vec::new();
    for mut tier in tiers {
        tier.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then(a.id.cmp(&b.id)));
        blockers.extend(tier.into_iter().map(|s| describe(s, None)));
    }
    Ranked {
        blockers,
        confirmed: false,
    }
}

/// Sessions holding a lock that conflicts with ours, those not themselves waiting first, then longest running.
fn confirmed_holders(probe: &Probe, held: &[HeldLock], others: &[&Session]) -> Vec<String> {
    let mut threads: Vec<u64> = held
        .iter()
        .filter(|h| conflicts(probe.lock, h))
        .map(|h| h.thread)
        .filter(|t| *t != probe.waiter && !probe.ours.contains(t))
        .collect();
    threads.sort_unstable();
    threads.dedup();
    let mut found: Vec<(bool, u64, u64, String)> = threads
        .into_iter()
        .map(|t| {
            let locks: Vec<&HeldLock> = held.iter().filter(|h| h.thread == t).collect();
            let holding = holding_text(probe.lock, &locks);
            match others.iter().find(|s| s.id == t) {
                Some(s) => (
                    s.state.starts_with("Waiting for"),
                    s.time_ms,
                    t,
                    describe(s, holding.as_deref()),
                ),
                None => (
                    false,
                    0,
                    t,
                    format!("id {t} (holding {})", holding.unwrap_or_default()),
                ),
            }
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    found.into_iter().map(|f| f.3).collect()
}

/// Backup-lock modes of a session inside `BACKUP STAGE` (or `BACKUP LOCK`).
const STAGE_MODES: &[&str] = &[
    "MDL_BACKUP_START",
    "MDL_BACKUP_FLUSH",
    "MDL_BACKUP_WAIT_FLUSH",
    "MDL_BACKUP_WAIT_DDL",
    "MDL_BACKUP_WAIT_COMMIT",
    "MDL_BACKUP_BLOCK_DDL",
];

/// Backup-lock modes held by others that keep `BACKUP STAGE START` … `BLOCK_COMMIT` waiting: another
/// backup's stages, and these.
const BACKUP_STAGE_BLOCKERS: &[&str] = &[
    "MDL_BACKUP_DML",
    "MDL_BACKUP_SYS_DML",
    "MDL_BACKUP_DDL",
    "MDL_BACKUP_COMMIT",
];

/// Backup-lock modes held by others that keep `FLUSH TABLES WITH READ LOCK` waiting.
const READ_LOCK_BLOCKERS: &[&str] = &[
    "MDL_BACKUP_DML",
    "MDL_BACKUP_TRANS_DML",
    "MDL_BACKUP_SYS_DML",
    "MDL_BACKUP_DDL",
    "MDL_BACKUP_ALTER_COPY",
    "MDL_BACKUP_COMMIT",
];

/// Whether a lock held by another thread keeps ours from being granted.
pub(crate) fn conflicts(lock: GlobalLock, held: &HeldLock) -> bool {
    match (held.kind.as_str(), lock) {
        ("Backup lock", GlobalLock::BackupStage) => {
            let mode = held.mode.as_str();
            STAGE_MODES.contains(&mode) || BACKUP_STAGE_BLOCKERS.contains(&mode)
        }
        ("Backup lock", GlobalLock::ReadLock) => READ_LOCK_BLOCKERS.contains(&held.mode.as_str()),
        // MariaDB before 10.4: writers hold the global read lock and the commit lock in IX mode.
        ("Global read lock" | "Commit lock", GlobalLock::ReadLock) => {
            held.mode == "MDL_INTENTION_EXCLUSIVE"
        }
        _ => false,
    }
}

/// What an idle holder holds, in words: `LOCK TABLES … WRITE on d.t`, `BACKUP STAGE`, …
fn holding_text(lock: GlobalLock, locks: &[&HeldLock]) -> Option<String> {
    let tables: Vec<String> = locks
        .iter()
        .filter(|h| h.mode == "MDL_SHARED_NO_READ_WRITE")
        .map(|h| format!("{}.{}", h.schema, h.table))
        .collect();
    if !tables.is_empty() {
        let shown: Vec<String> = tables.iter().take(NAMED).cloned().collect();
        let rest = tables.len().saturating_sub(NAMED);
        return Some(format!("LOCK TABLES … WRITE on {}", list(&shown, rest)));
    }
    let mode = |m: &str| locks.iter().any(|h| h.mode == m);
    if STAGE_MODES.iter().any(|m| mode(m)) {
        return Some("a BACKUP STAGE".to_string());
    }
    if mode("MDL_BACKUP_FTWRL1") || mode("MDL_BACKUP_FTWRL2") {
        return Some("FLUSH TABLES WITH READ LOCK".to_string());
    }
    locks
        .iter()
        .find(|h| conflicts(lock, h))
        .map(|h| h.mode.clone())
}

/// `id N (user@host, COMMAND for T s: WHAT)`.
fn describe(s: &Session, holding: Option<&str>) -> String {
    let what = match (&s.info, s.command.as_str()) {
        (Some(info), c) if c != "Sleep" => info.clone(),
        _ => {
            let mut w = String::from(if s.trx.is_some() {
                "idle in transaction"
            } else {
                "idle"
            });
            match (holding, s.trx) {
                (Some(h), _) => w.push_str(&format!(", holding {h}")),
                (None, Some(t)) if t.tables_in_use > 0 => {
                    w.push_str(&format!(
                        ", {} tables locked (LOCK TABLES)",
                        t.tables_in_use
                    ));
                }
                _ => {}
            }
            w
        }
    };
    format!(
        "id {} ({}@{}, {} for {} s: {what})",
        s.id,
        s.user,
        s.host,
        s.command,
        s.time_ms / 1000
    )
}

/// Processlist states of statements queued for the same lock as ours (they hold nothing we need).
fn waits_like_us(state: &str) -> bool {
    [
        "Waiting for backup lock",
        "Waiting for global read lock",
        "Waiting for commit lock",
        "Waiting for table flush",
    ]
    .iter()
    .any(|w| state.starts_with(w))
}

fn waiter_state<'a>(probe: &Probe, scene: &'a Scene) -> Option<&'a str> {
    scene
        .sessions
        .iter()
        .find(|s| s.id == probe.waiter)
        .map(|s| s.state.as_str())
        .filter(|s| !s.is_empty())
}

/// Whether a running statement takes a lock that ours must wait for.
fn writes_against(lock: GlobalLock, s: &Session) -> bool {
    let kind = statement_kind(s.info.as_deref().unwrap_or(""));
    match (kind, lock) {
        (Kind::Ddl | Kind::Commit, _) => true,
        (Kind::Dml, GlobalLock::ReadLock) => true,
        // A transactional write (its InnoDB transaction has the table in use) does not hold up BACKUP STAGE.
        (Kind::Dml, GlobalLock::BackupStage) => s.trx.is_none_or(|t| t.tables_in_use == 0),
        _ => false,
    }
}

/// What a statement does, by its first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dml,
    Ddl,
    Commit,
    Other,
}

pub(crate) fn statement_kind(sql: &str) -> Kind {
    let word: String = skip_comments(sql)
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    match word.as_str() {
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" | "CALL" => Kind::Dml,
        "ALTER" | "CREATE" | "DROP" | "RENAME" | "TRUNCATE" | "OPTIMIZE" | "REPAIR" | "GRANT"
        | "REVOKE" | "IMPORT" => Kind::Ddl,
        "COMMIT" | "XA" => Kind::Commit,
        _ => Kind::Other,
    }
}

/// The text after leading blanks, parentheses and comments.
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.find("*/").map_or("", |end| &rest[end + 2..]);
        } else if sql.starts_with("--") || sql.starts_with('#') {
            sql = sql.find('\n').map_or("", |end| &sql[end + 1..]);
        } else {
            return sql;
        }
    }
}

/// The report's text from what was found.
fn render(probe: &Probe, scene: &Scene, ranked: Ranked, tables: &[String]) -> LockReport {
    let more = ranked.blockers.len().saturating_sub(NAMED);
    let mut named = ranked.blockers;
    named.truncate(NAMED);
    let hint =
        (!ranked.confirmed).then(|| idle_holder_hint(probe, scene, !named.is_empty(), tables));
    LockReport {
        statement: probe.statement.to_string(),
        state: waiter_state(probe, scene).map(str::to_string),
        named,
        more,
        confirmed: ranked.confirmed,
        hint,
    }
}

/// Names what the processlist cannot show: a session idle under `LOCK TABLES` (or in another backup).
fn idle_holder_hint(probe: &Probe, scene: &Scene, guessed: bool, tables: &[String]) -> String {
    let who = match probe.lock {
        GlobalLock::BackupStage => {
            "a session idle under LOCK TABLES … WRITE, or another backup inside BACKUP STAGE,"
        }
        GlobalLock::ReadLock => "a session idle under LOCK TABLES … WRITE",
        GlobalLock::Instance => "another backup inside LOCK INSTANCE FOR BACKUP",
    };
    let mut hint = if guessed {
        format!("if none of these, {who} may hold it")
    } else {
        format!("no running statement holds it: {who} may")
    };
    if !tables.is_empty() {
        let shown: Vec<String> = tables.iter().take(5).cloned().collect();
        let rest = tables.len().saturating_sub(5);
        hint.push_str(&format!(" (tables in use: {})", list(&shown, rest)));
    }
    if scene.held.is_none() {
        hint.push_str(if probe.mariadb {
            "; the metadata_lock_info plugin would name it"
        } else {
            "; performance_schema.metadata_locks names it"
        });
    }
    hint
}

/// Granted backup, global, commit and `LOCK TABLES` locks of other threads; `None` without the plugin.
fn held_locks(conn: &mut Conn) -> Option<Vec<HeldLock>> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT THREAD_ID, LOCK_MODE, LOCK_TYPE, TABLE_SCHEMA, TABLE_NAME \
             FROM information_schema.METADATA_LOCK_INFO \
             WHERE THREAD_ID <> CONNECTION_ID() \
             AND (LOCK_TYPE IN ('Backup lock', 'Global read lock', 'Commit lock') \
                  OR LOCK_MODE = 'MDL_SHARED_NO_READ_WRITE') \
             LIMIT 10000",
        )
        .map_err(|e| log::debug!("no metadata lock table: {e}"))
        .ok()?;
    Some(
        rows.iter()
            .map(|r| HeldLock {
                thread: number(r, 0),
                mode: text(r, 1).unwrap_or_default(),
                kind: text(r, 2).unwrap_or_default(),
                schema: text(r, 3).unwrap_or_default(),
                table: text(r, 4).unwrap_or_default(),
            })
            .collect(),
    )
}

/// Running sessions, sessions inside an InnoDB transaction, and the given lock holders.
fn sessions(conn: &mut Conn, probe: &Probe, holders: &[u64]) -> Vec<Session> {
    let time = if probe.mariadb {
        "p.TIME_MS"
    } else {
        "p.TIME * 1000"
    };
    let ids: String = std::iter::once(0)
        .chain(holders.iter().copied())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let select = |trx: bool| {
        let (cols, join, open) = if trx {
            (
                "t.trx_rows_modified, t.trx_tables_in_use",
                "LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID",
                " OR t.trx_id IS NOT NULL",
            )
        } else {
            ("NULL, NULL", "", "")
        };
        format!(
            "SELECT p.ID, p.USER, p.HOST, p.COMMAND, {time}, p.STATE, LEFT(p.INFO, {}), {cols} \
             FROM information_schema.PROCESSLIST p {join} \
             WHERE p.ID <> CONNECTION_ID() \
             AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') \
             AND (p.COMMAND <> 'Sleep'{open} OR p.ID IN ({ids})) \
             ORDER BY p.ID = {} DESC, p.TIME DESC LIMIT 1000",
            STATEMENT_CHARS + 1,
            probe.waiter
        )
    };
    // INNODB_TRX needs the PROCESS privilege (and InnoDB): without it, the processlist alone.
    let rows: Vec<Row> = match conn.query(select(true)) {
        Ok(rows) => rows,
        Err(e) => {
            log::debug!("reading InnoDB transactions: {e}");
            conn.query(select(false))
                .map_err(|e| log::debug!("reading the processlist: {e}"))
                .unwrap_or_default()
        }
    };
    rows.iter().map(session).collect()
}

fn session(r: &Row) -> Session {
    let trx = text(r, 7).map(|_| Trx {
        rows_modified: number(r, 7),
        tables_in_use: number(r, 8),
    });
    Session {
        id: number(r, 0),
        user: text(r, 1).unwrap_or_default(),
        host: text(r, 2).unwrap_or_default(),
        command: text(r, 3).unwrap_or_default(),
        time_ms: number(r, 4),
        state: text(r, 5).unwrap_or_default(),
        info: text(r, 6).map(|i| one_line(&i)).filter(|i| !i.is_empty()),
        trx,
    }
}

/// `SHOW OPEN TABLES WHERE In_use > 0`, as `db.table`.
fn tables_in_use(conn: &mut Conn) -> Vec<String> {
    let rows: Vec<Row> = conn
        .query("SHOW OPEN TABLES WHERE In_use > 0")
        .map_err(|e| log::debug!("listing tables in use: {e}"))
        .unwrap_or_default();
    let mut tables: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{}.{}", text(r, 0)?, text(r, 1)?)))
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

/// A statement on one line, at most [`STATEMENT_CHARS`] characters (cut at a character, marked `…`).
pub(crate) fn one_line(sql: &str) -> String {
    let cleaned: String = sql
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let joined = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > STATEMENT_CHARS {
        let mut cut: String = joined.chars().take(STATEMENT_CHARS).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}

/// A column as text (any bytes, decoded lossily); `None` for NULL or a missing column.
fn text(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(n) => Some(n.to_string()),
        Value::Double(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A column as a whole non-negative number (fractions dropped); 0 when not a number.
fn number(row: &Row, i: usize) -> u64 {
    text(row, i)
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n > 0.0)
        .map_or(0, |n| n as u64)
}

#[cfg(test)]
mod tests;
