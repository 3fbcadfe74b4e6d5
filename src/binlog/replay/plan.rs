//! What each event of a transaction becomes on the replay session: statements in order — each
//! Query event preceded by `USE` and one `SET` restoring its session context, INTVAR, RAND and
//! USER_VAR folded into that `SET`, table maps and rows events batched into `BINLOG '…'` up to
//! each statement's end — with the database filter and renames applied.

use std::collections::{BTreeSet, HashSet};

use base64::Engine;

use crate::filter::Filter;
use crate::restore::rewrite::Rename;
use crate::sql::ident::quote_ident;

use super::compressed;
use super::decode::{Decoded, Format, Item, Query, UserValue};
use super::error::ReplayError;
use super::frame::{self, kind, kind_name};
use super::group::{query_role, Role};
use super::status::{Collations, Context, Session};
use super::RawEvent;

/// A statement for the server, or a change of the default database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sql {
    /// Statement text, in the bytes the source sent (not always UTF-8).
    Text(Vec<u8>),
    /// `USE`, through the protocol's own command.
    Use(String),
}

/// One thing to send, with the event it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    pub sql: Sql,
    pub pos: u64,
    pub kind: u8,
    /// The error the statement got on the source (0: none); the same error here is success.
    pub expected_error: u16,
}

impl Stmt {
    fn text(sql: impl Into<Vec<u8>>, raw: &RawEvent, kind: u8) -> Stmt {
        Stmt {
            sql: Sql::Text(sql.into()),
            pos: raw.start,
            kind,
            expected_error: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.sql {
            Sql::Text(t) => t.len(),
            Sql::Use(db) => db.len(),
        }
    }
}

/// The statements of the open transaction not sent yet, and what its events amounted to.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub stmts: Vec<Stmt>,
    /// Statements that change data or the schema (not session settings, BEGIN or COMMIT).
    pub content: usize,
    /// Events left out by the database filter.
    pub skipped: u64,
    /// Bytes of `stmts`.
    pub bytes: usize,
    /// A `BINLOG` statement is among them (the file's Format_description must go first).
    pub has_rows: bool,
}

impl Body {
    fn push(&mut self, stmt: Stmt, content: bool) {
        self.bytes += stmt.len();
        self.content += usize::from(content);
        self.stmts.push(stmt);
    }
}

/// Table maps and rows events of one statement, waiting for its end.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    /// (offset, length, is a rows event, event position) of each event in `bytes`.
    events: Vec<(usize, usize, bool, u64)>,
}

/// Turns events into statements; keeps what the session has been given.
pub(crate) struct Planner<'a> {
    filter: &'a Filter,
    renames: &'a [Rename],
    /// The largest statement sent in one piece (see [`push_binlog`]).
    chunk: usize,
    session: Session,
    /// The default database the session was given (target name).
    db: Option<String>,
    /// INTVAR, RAND, USER_VAR assignments for the next statement.
    context: Vec<String>,
    context_events: u64,
    /// User variables the replay set, to clear at the end.
    pub user_vars: BTreeSet<String>,
    batch: Batch,
    /// Table ids of the statement whose table maps the filter left out.
    skipped_tables: HashSet<u64>,
}

impl<'a> Planner<'a> {
    pub(crate) fn new(filter: &'a Filter, renames: &'a [Rename], chunk: usize) -> Planner<'a> {
        Planner {
            filter,
            renames,
            chunk,
            session: Session::default(),
            db: None,
            context: Vec::new(),
            context_events: 0,
            user_vars: BTreeSet::new(),
            batch: Batch::default(),
            skipped_tables: HashSet::new(),
        }
    }

    /// Forgets what the session was given and what was pending (statements planned but never
    /// sent: an abandoned transaction).
    pub(crate) fn reset(&mut self) {
        self.session = Session::default();
        self.db = None;
        self.context.clear();
        self.context_events = 0;
        self.batch = Batch::default();
        self.skipped_tables.clear();
    }

    /// The transaction is over: nothing pending carries into the next one.
    pub(crate) fn end_group(&mut self) {
        self.batch = Batch::default();
        self.context.clear();
        self.context_events = 0;
        self.skipped_tables.clear();
    }

    /// Whether events of database `db` (source name) are replayed.
    fn selected(&self, db: &[u8]) -> bool {
        !self.filter.is_set() || self.filter.database(&String::from_utf8_lossy(db))
    }

    fn target_db(&self, db: &[u8]) -> Vec<u8> {
        let name = String::from_utf8_lossy(db);
        match self.renames.iter().find(|r| r.from == name) {
            Some(r) => r.to.clone().into_bytes(),
            None => db.to_vec(),
        }
    }

    /// Plans event `d` (`raw`) of the open transaction into `body`.
    pub(crate) fn event(
        &mut self,
        body: &mut Body,
        format: &Format,
        raw: &RawEvent,
        d: &Decoded,
        in_transaction: bool,
        collations: &mut dyn Collations,
    ) -> Result<(), ReplayError> {
        let code = d.header.kind;
        let unsupported = |reason: String| ReplayError::Unsupported {
            file: raw.file.clone(),
            pos: raw.start,
            event: kind_name(code),
            reason,
        };
        match &d.item {
            Item::Query(q) => {
                let ctx = Context {
                    timestamp: d.header.timestamp,
                    thread_id: q.thread_id,
                    status: &q.status,
                    mariadb: format.mariadb,
                    in_transaction,
                };
                self.query(body, raw, code, q, &ctx, collations)
                    .map_err(unsupported)?;
            }
            Item::InsertId(n) => self.push_context(format!("INSERT_ID={n}")),
            Item::LastInsertId(n) => self.push_context(format!("LAST_INSERT_ID={n}")),
            Item::Rand(a, b) => self.push_context(format!("@@RAND_SEED1={a}, @@RAND_SEED2={b}")),
            Item::UserVar { name, value } => {
                let text = user_var(name, value, collations).map_err(unsupported)?;
                self.user_vars
                    .insert(String::from_utf8_lossy(name).into_owned());
                self.push_context(text);
            }
            Item::TableMap { table_id, db } => self.table_map(body, format, raw, *table_id, db)?,
            Item::Rows { table_id, stmt_end } => {
                self.rows(body, format, raw, *table_id, *stmt_end)?
            }
            Item::Xid => body.push(Stmt::text("COMMIT", raw, code), false),
            Item::XaPrepare { one_phase, xid } => {
                let sql = if *one_phase {
                    format!("XA COMMIT {xid} ONE PHASE")
                } else {
                    format!("XA PREPARE {xid}")
                };
                body.push(Stmt::text(sql, raw, code), true);
            }
            Item::Gtid(_) | Item::Skip | Item::Format(_) => {}
        }
        Ok(())
    }

    fn push_context(&mut self, assignment: String) {
        self.context.push(assignment);
        self.context_events += 1;
    }

    fn query(
        &mut self,
        body: &mut Body,
        raw: &RawEvent,
        code: u8,
        q: &Query,
        ctx: &Context<'_>,
        collations: &mut dyn Collations,
    ) -> Result<(), String> {
        let role = query_role(&q.sql);
        let xa = q.sql.trim_ascii_start().len() >= 3
            && q.sql.trim_ascii_start()[..3].eq_ignore_ascii_case(b"XA ");
        let control = matches!(role, Role::Begin | Role::Commit) || xa;
        if !control && !self.selected(&q.schema) {
            body.skipped += 1 + self.context_events;
            self.context.clear();
            self.context_events = 0;
            return Ok(());
        }
        if !q.schema.is_empty() && !q.suppress_use {
            let db = String::from_utf8(self.target_db(&q.schema))
                .map_err(|_| "a database name that is not UTF-8".to_string())?;
            if self.db.as_ref() != Some(&db) {
                self.db = Some(db.clone());
                body.push(
                    Stmt {
                        sql: Sql::Use(db),
                        pos: raw.start,
                        kind: code,
                        expected_error: 0,
                    },
                    false,
                );
            }
        }
        let mut set = self.session.assignments(ctx, collations)?;
        set.append(&mut self.context);
        self.context_events = 0;
        if !set.is_empty() {
            body.push(
                Stmt::text(format!("SET {}", set.join(", ")), raw, code),
                false,
            );
        }
        if !control {
            if let Some(r) = self
                .renames
                .iter()
                .find(|r| names_database(&q.sql, &r.from))
            {
                return Err(format!(
                    "the statement names database {} in its text, which --rename-database \
                     cannot rewrite (it would change {} itself); replay without renaming it",
                    quote_ident(&r.from),
                    quote_ident(&r.from)
                ));
            }
        }
        let mut stmt = Stmt::text(self.rename_generated(&q.sql), raw, code);
        stmt.expected_error = q.error_code;
        body.push(stmt, !matches!(role, Role::Begin | Role::Commit));
        Ok(())
    }

    /// The statement text, with renamed databases rewritten where the server wrote the
    /// statement itself (`DROP TEMPORARY TABLE IF EXISTS `db`.`t` /* generated by server */`,
    /// whose quoting is known); other statement text is never rewritten.
    fn rename_generated(&self, sql: &[u8]) -> Vec<u8> {
        if self.renames.is_empty() || !sql.trim_ascii_end().ends_with(b"/* generated by server */")
        {
            return sql.to_vec();
        }
        let mut out = sql.to_vec();
        for r in self.renames {
            let from = format!("{}.", quote_ident(&r.from)).into_bytes();
            let to = format!("{}.", quote_ident(&r.to)).into_bytes();
            out = replace_all(&out, &from, &to);
        }
        out
    }

    fn table_map(
        &mut self,
        body: &mut Body,
        format: &Format,
        raw: &RawEvent,
        table_id: u64,
        db: &[u8],
    ) -> Result<(), ReplayError> {
        if !self.selected(db) {
            self.skipped_tables.insert(table_id);
            body.skipped += 1;
            return Ok(());
        }
        self.skipped_tables.remove(&table_id);
        let to = self.target_db(db);
        if to == db {
            self.batch_push(&raw.bytes, false, raw.start);
            return Ok(());
        }
        let post = format.post_header_len(kind::TABLE_MAP);
        let renamed = frame::rename_table_map(&raw.bytes, post, &to, format.checksummed)
            .ok_or_else(|| ReplayError::Unsupported {
                file: raw.file.clone(),
                pos: raw.start,
                event: kind_name(kind::TABLE_MAP),
                reason: format!(
                    "cannot rename its database to {:?}",
                    String::from_utf8_lossy(&to)
                ),
            })?;
        self.batch_push(&renamed, false, raw.start);
        Ok(())
    }

    fn batch_push(&mut self, bytes: &[u8], rows: bool, pos: u64) {
        let at = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(bytes);
        self.batch.events.push((at, bytes.len(), rows, pos));
    }

    fn rows(
        &mut self,
        body: &mut Body,
        format: &Format,
        raw: &RawEvent,
        table_id: u64,
        stmt_end: bool,
    ) -> Result<(), ReplayError> {
        if self.skipped_tables.contains(&table_id) {
            body.skipped += 1;
            if stmt_end {
                self.end_statement(body, format, raw, true);
            }
            return Ok(());
        }
        let code = raw.bytes.get(4).copied().unwrap_or(0);
        if (0xa6..=0xab).contains(&code) {
            let post = format.post_header_len(code);
            let plain = compressed::uncompress_rows(&raw.bytes, post, format.checksummed).map_err(
                |message| ReplayError::Malformed {
                    file: raw.file.clone(),
                    pos: raw.start,
                    message: format!("{} event: {message}", kind_name(code)),
                },
            )?;
            self.batch_push(&plain, true, raw.start);
        } else {
            self.batch_push(&raw.bytes, true, raw.start);
        }
        if stmt_end {
            self.end_statement(body, format, raw, false);
        }
        Ok(())
    }

    /// The statement's rows are all there: one `BINLOG` for what is kept. `patch`: the event
    /// that ended the statement was left out, so the last kept rows event is marked as the end.
    fn end_statement(&mut self, body: &mut Body, format: &Format, raw: &RawEvent, patch: bool) {
        let batch = std::mem::take(&mut self.batch);
        self.skipped_tables.clear();
        let Some(&(at, len, _, _)) = batch.events.iter().rev().find(|e| e.2) else {
            return;
        };
        let pos = batch.events.first().map_or(raw.start, |e| e.3);
        let mut bytes = batch.bytes;
        if patch {
            let code = bytes.get(at + 4).copied().unwrap_or(0);
            let post = format.post_header_len(code);
            if let Some(event) = bytes.get_mut(at..at + len) {
                frame::set_stmt_end(event, post, format.checksummed);
            }
        }
        push_binlog(body, &bytes, pos, self.chunk);
    }

    /// Row events still waiting for their statement's end (an error when the transaction
    /// ends); table maps alone are not.
    pub(crate) fn open_statement(&self) -> Option<u64> {
        let rows = self.batch.events.iter().find(|e| e.2)?;
        Some(rows.3)
    }
}

/// `haystack` with every `from` replaced by `to`.
fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(i) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The user variables that carry the two halves of a `BINLOG` statement too large for one
/// packet (the server clears them once it has read them).
pub(crate) const FRAGMENTS: [&str; 2] = ["@mybak_binlog_0", "@mybak_binlog_1"];

/// `BINLOG '<base64>'` for the events of one statement — all in one statement: the server
/// applies a statement's rows only when its events come together. Beyond `chunk` bytes, the
/// base64 goes in two user variables and `BINLOG @a, @b` reads them (as `mariadb-binlog`
/// does for large events).
fn push_binlog(body: &mut Body, events: &[u8], pos: u64, chunk: usize) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(events);
    let kind = events.get(4).copied().unwrap_or(kind::TABLE_MAP);
    let stmt = |sql: String| Stmt {
        sql: Sql::Text(sql.into_bytes()),
        pos,
        kind,
        expected_error: 0,
    };
    body.has_rows = true;
    if b64.len() + 16 <= chunk {
        body.push(stmt(format!("BINLOG '{b64}'")), true);
        return;
    }
    // Base64 is ASCII: any byte offset is a character boundary.
    let (first, second) = b64.split_at(b64.len() / 2);
    body.push(stmt(format!("SET {} = '{first}'", FRAGMENTS[0])), false);
    body.push(stmt(format!("SET {} = '{second}'", FRAGMENTS[1])), false);
    body.push(
        stmt(format!("BINLOG {}, {}", FRAGMENTS[0], FRAGMENTS[1])),
        true,
    );
}

/// `@`name`:=value` for a User_var event, as `mariadb-binlog` prints it.
fn user_var(
    name: &[u8],
    value: &UserValue,
    collations: &mut dyn Collations,
) -> Result<String, String> {
    let name = std::str::from_utf8(name).map_err(|_| "a user variable name that is not UTF-8")?;
    let value = match value {
        UserValue::Null => "NULL".to_string(),
        UserValue::Real(f) if f.is_finite() => format!("{f:e}"),
        UserValue::Real(f) => return Err(format!("a user variable holding {f}")),
        UserValue::Int(i) => i.to_string(),
        UserValue::Unsigned(u) => u.to_string(),
        UserValue::Decimal(d) => d.clone(),
        UserValue::Text { collation, bytes } => {
            let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            if *collation == 63 {
                format!("_binary X'{hex}'")
            } else {
                let (charset, name) = collations.names(*collation)?;
                format!("_{charset} X'{hex}' COLLATE {}", quote_ident(&name))
            }
        }
    };
    Ok(format!("@{}:={value}", quote_ident(name)))
}

/// Whether statement text qualifies a name with database `db` (`db.t` or `` `db`.t ``), outside
/// of what the server generated itself. Case-insensitive, and string literals are not told
/// apart: a doubt refuses.
fn names_database(sql: &[u8], db: &str) -> bool {
    if sql.trim_ascii_end().ends_with(b"/* generated by server */") {
        return false;
    }
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let quoted = format!("{}.", quote_ident(db)).into_bytes();
    let bare = format!("{db}.").into_bytes();
    let found = |needle: &[u8], check_before: bool| {
        sql.windows(needle.len()).enumerate().any(|(i, w)| {
            w.eq_ignore_ascii_case(needle)
                && (!check_before || i == 0 || !ident(sql[i - 1]) && sql[i - 1] != b'.')
        })
    };
    found(&quoted, false) || found(&bare, true)
}

#[cfg(test)]
mod names_tests {
    use super::names_database;

    #[test]
    fn qualified_names_of_a_database_are_found() {
        // (statement, names `shop`)
        let cases: &[(&str, bool)] = &[
            ("INSERT INTO shop.t VALUES (1)", true),
            ("UPDATE `shop`.`t` SET a = 1", true),
            ("update SHOP.t set a = 1", true),
            ("INSERT INTO t VALUES (1)", false),
            ("INSERT INTO myshop.t VALUES (1)", false),
            ("INSERT INTO x.shop VALUES (1)", false),
            ("SELECT 'shop'", false),
            (
                "DROP TEMPORARY TABLE IF EXISTS `shop`.`t` /* generated by server */",
                false,
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(names_database(sql.as_bytes(), "shop"), *want, "{sql}");
        }
    }
}
