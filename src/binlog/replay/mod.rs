//! Replaying binlog events on a server through a client session, natively — what
//! `mariadb-binlog FILE | mariadb` does, without either program — for point-in-time recovery.
//!
//! Events go in as the server wrote them ([`RawEvent`], a file cut by [`source::file_events`](super::source::file_events)); whole
//! transactions (event groups) come out on the session, or nothing of one. A group is read and
//! checked (lengths, CRC32, structure) to its end before anything of it is sent; a group larger
//! than four times [`ReplayOptions::max_statement_bytes`] is sent as it is read, inside its
//! transaction, and rolled back if it fails later. Each statement runs with the session context
//! of its Query event (`SET` of what changed: timestamp, sql_mode, `foreign_key_checks` and the
//! other Q_FLAGS2 options, character sets, time zone, …; INTVAR, RAND and USER_VAR values);
//! row events go to the server as `BINLOG '<base64>'` after the file's Format_description event,
//! as `mariadb-binlog` prints them. MariaDB (the target) and MySQL event formats are read; XA
//! transactions are prepared and committed as on the source; a statement that failed on the
//! source with an error code succeeds here when it fails with the same one.
//!
//! Limits:
//! - `databases` filters rows by their table's database and statements by their default
//!   database (a statement without one is left out when a filter is set); `renames` renames the
//!   database of table maps and the default database of statements, but not database names
//!   written inside statement text (`INSERT INTO shop.t …` still writes `shop`), except in the
//!   `DROP TEMPORARY TABLE` statements the server itself writes.
//! - A statement's row events are held in memory together (the server applies a statement's rows
//!   only when they come in one `BINLOG`); beyond one packet they go as two fragments, so one
//!   statement's row events are limited to about twice the server's `max_allowed_packet`.
//! - Changes to non-transactional tables (MyISAM) made before a failure cannot be rolled back.
//! - Temporary tables of different source sessions share the one replay session, and those
//!   left open stay in it. AUTO_INCREMENT counters may end lower than on the source, which
//!   also counts values it reserved but never logged (rolled-back inserts, INSERT … SELECT).
//! - A statement whose text is not UTF-8 (latin1 literals, binary strings) runs as a prepared
//!   statement, which the server refuses for a few statement types.
//! - Refused with an error naming the event: LOAD DATA logged as a statement, encrypted
//!   binlogs, MySQL's compressed transactions, MariaDB's two-phase ALTER, incidents.

mod apply;
mod compressed;
mod decode;
mod error;
mod frame;
mod group;
mod plan;
mod status;
mod target;

pub use error::ReplayError;
pub use target::{Gtid, Target, Until};

use crate::filter::Filter;
use crate::restore::rewrite::Rename;

use apply::{Applier, Apply};
use decode::{decode, Decoded, Format, Item, Shape, Xid};
use frame::kind_name;
use group::State;
use plan::{Body, Planner, Sql, Stmt};
use target::{decide, Decision, Span};

/// One event as stored in a binlog file (header, body and, when the file says so, CRC32), with
/// where it came from. Each file's events must begin with its Format_description event (at
/// position 4), even when the replay starts further into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub file: String,
    pub start: u64,
    pub end: u64,
    pub bytes: Vec<u8>,
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Keep binary logging on for the replayed statements (`false`: `SET sql_log_bin = 0`, as
    /// restore's `--no-binlog`).
    pub log_bin: bool,
    /// Which databases' events are replayed, by their names in the binlog (database patterns
    /// only; an unset filter replays every database, system ones included).
    pub databases: Filter,
    /// Databases replayed under another name.
    pub renames: Vec<Rename>,
    /// The largest `BINLOG` statement sent in one packet (the server's `max_allowed_packet`
    /// lowers it); a statement's row events beyond it go in two halves (`BINLOG @a, @b`).
    /// Transactions larger than four times this are sent as they are read.
    pub max_statement_bytes: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            log_bin: true,
            databases: Filter::default(),
            renames: Vec::new(),
            max_statement_bytes: 16 << 20,
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Transactions (event groups) applied; groups the filter emptied are not counted.
    pub transactions: u64,
    /// Events read.
    pub events: u64,
    /// Events left out by the database filter.
    pub skipped: u64,
    /// The file and end position of the last transaction applied: where to resume.
    pub last: Option<(String, u64)>,
    pub last_gtid: Option<String>,
    /// The timestamp (unix seconds) of the last transaction applied.
    pub last_time: Option<i64>,
    /// The stop point was among the events (always false for [`Until::End`]).
    pub reached: bool,
    /// A transaction the events ended in the middle of (file, start position): not applied.
    pub incomplete: Option<(String, u64)>,
    /// Transactions cut off by the next file's start (a crash of the source): not applied.
    pub abandoned: Vec<(String, u64)>,
}

/// Replays `events` on `conn` until `until`; see the module documentation. The session is left
/// as it was found (variables, default database), whatever the outcome.
pub fn replay<E>(
    conn: &mut mysql::Conn,
    events: impl IntoIterator<Item = Result<RawEvent, E>>,
    until: &Until,
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    check_options(options)?;
    let mut applier = Applier::new(conn);
    let (saved, max_packet) = applier.setup(options.log_bin)?;
    let chunk = options
        .max_statement_bytes
        .min(max_packet.saturating_sub(1024))
        .max(1024);
    let mut run = Run::new(until, options, chunk);
    let result = run.all(events, &mut applier);
    let restored = applier.restore(&saved, &run.planner.user_vars);
    let report = result?;
    restored?;
    Ok(report)
}

/// Reads `events` as [`replay`] would and reports what it would apply, without a server: the
/// plan of `restore --until --dry-run`, and the proof that the stop point is in the archive
/// before anything is restored. Errors in the events are found as a replay would find them.
pub fn survey<E>(
    events: impl IntoIterator<Item = Result<RawEvent, E>>,
    until: &Until,
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    check_options(options)?;
    let chunk = options.max_statement_bytes.max(1024);
    Run::new(until, options, chunk).all(events, &mut Survey)
}

/// The sink of [`survey`]: takes every statement, runs none.
struct Survey;

impl Apply for Survey {
    fn run(&mut self, _file: &str, _stmt: &Stmt) -> Result<(), ReplayError> {
        Ok(())
    }

    fn abort(&mut self, _xid: Option<&Xid>) {}
}

impl status::Collations for Survey {
    fn names(&mut self, _id: u32) -> Result<(String, String), String> {
        Ok(("binary".into(), "binary".into()))
    }
}

fn check_options(options: &ReplayOptions) -> Result<(), ReplayError> {
    let spec = options.databases.spec();
    if !spec.tables.is_empty() || !spec.exclude_tables.is_empty() {
        return Err(ReplayError::Settings(
            "a binlog replay selects whole databases: table patterns are not supported".into(),
        ));
    }
    for (i, r) in options.renames.iter().enumerate() {
        if options.renames[..i].iter().any(|o| o.from == r.from) {
            return Err(ReplayError::Settings(format!(
                "--rename-database {}: renamed twice",
                r.from
            )));
        }
    }
    Ok(())
}

/// The transaction being read.
struct Group {
    file: String,
    start: u64,
    end: u64,
    timestamp: i64,
    gtid: Option<target::Gtid>,
    shape: Shape,
    /// XA START this group opens with (MariaDB; MySQL writes it as a statement).
    xa_start: Option<Xid>,
    body: Body,
    /// Part of it is on the server already (a large group).
    sent: bool,
}

impl Group {
    fn span(&self, end: Option<u64>) -> Span<'_> {
        Span {
            file: &self.file,
            start: self.start,
            end,
            timestamp: self.timestamp,
            gtid: self.gtid.as_ref(),
        }
    }
}

/// A replay in progress.
struct Run<'o> {
    until: &'o Until,
    format: Option<Format>,
    state: State,
    group: Option<Group>,
    planner: Planner<'o>,
    /// The file whose Format_description event the session was given last.
    fde_sent: Option<String>,
    /// Group bytes held before sending starts.
    buffer: usize,
    report: ReplayReport,
    stop: bool,
}

impl<'o> Run<'o> {
    fn new(until: &'o Until, options: &'o ReplayOptions, chunk: usize) -> Run<'o> {
        Run {
            until,
            format: None,
            state: State::Idle,
            group: None,
            planner: Planner::new(&options.databases, &options.renames, chunk),
            fde_sent: None,
            buffer: chunk.saturating_mul(4),
            report: ReplayReport::default(),
            stop: false,
        }
    }

    fn all<E>(
        &mut self,
        events: impl IntoIterator<Item = Result<RawEvent, E>>,
        out: &mut dyn Apply,
    ) -> Result<ReplayReport, ReplayError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        for event in events {
            let result = event
                .map_err(|e| ReplayError::Input(Box::new(e)))
                .and_then(|raw| self.event(&raw, out));
            if let Err(e) = result {
                self.abort(out);
                return Err(e);
            }
            if self.stop {
                return Ok(std::mem::take(&mut self.report));
            }
        }
        if let Some(g) = &self.group {
            self.report.incomplete = Some((g.file.clone(), g.start));
            self.abort(out);
        }
        Ok(std::mem::take(&mut self.report))
    }

    /// Rolls back what was sent of the open group, if anything, and drops it.
    fn abort(&mut self, out: &mut dyn Apply) {
        if let Some(g) = self.group.take() {
            if g.sent {
                out.abort(g.xa_start.as_ref());
            }
        }
        self.state = State::Idle;
    }

    fn event(&mut self, raw: &RawEvent, out: &mut dyn Apply) -> Result<(), ReplayError> {
        self.report.events += 1;
        let d = decode(self.format.as_ref(), raw)?;
        if let Item::Format(f) = d.item {
            self.new_file(*f, out);
            return Ok(());
        }
        let role = group::role(&d.item);
        let (next, step) = group::step(self.state, role).map_err(|m| ReplayError::Malformed {
            file: raw.file.clone(),
            pos: raw.start,
            message: format!("{} event: {m}", kind_name(d.header.kind)),
        })?;
        if !step.take {
            return Ok(());
        }
        let in_transaction = matches!(
            self.state,
            State::Open(Shape::Transaction | Shape::XaPrepared)
        );
        if step.open {
            self.open(raw, &d);
            let group = self.group.as_ref();
            if group.is_some_and(|g| decide(self.until, &g.span(None)) == Decision::StopBefore) {
                self.report.reached = true;
                self.group = None;
                self.stop = true;
                return Ok(());
            }
        }
        self.state = next;
        self.plan(raw, &d, in_transaction, out)?;
        if step.close {
            self.close(out)?;
        }
        Ok(())
    }

    /// A file's Format_description event: a group still open was cut off by the source's
    /// restart and is dropped.
    fn new_file(&mut self, format: Format, out: &mut dyn Apply) {
        if let Some(g) = &self.group {
            log::warn!(
                "{}:{}: a transaction there never ended ({} begins); it is not applied",
                g.file,
                g.start,
                format.file
            );
            self.report.abandoned.push((g.file.clone(), g.start));
            self.abort(out);
            self.planner.reset();
        }
        self.format = Some(format);
    }

    fn open(&mut self, raw: &RawEvent, d: &Decoded) {
        let (gtid, shape, xa_start) = match &d.item {
            Item::Gtid(g) => (g.gtid.clone(), g.shape, g.xid.clone()),
            _ => (None, Shape::Standalone, None),
        };
        self.group = Some(Group {
            file: raw.file.clone(),
            start: raw.start,
            end: raw.end,
            timestamp: i64::from(d.header.timestamp),
            gtid,
            shape,
            xa_start: xa_start.filter(|_| shape == Shape::XaPrepared),
            body: Body::default(),
            sent: false,
        });
    }

    fn plan(
        &mut self,
        raw: &RawEvent,
        d: &Decoded,
        in_transaction: bool,
        out: &mut dyn Apply,
    ) -> Result<(), ReplayError> {
        let (Some(g), Some(format)) = (self.group.as_mut(), self.format.as_ref()) else {
            return Ok(());
        };
        self.planner
            .event(&mut g.body, format, raw, d, in_transaction, out)?;
        g.end = raw.end;
        if g.body.bytes > self.buffer {
            self.send(out, true)?;
        }
        Ok(())
    }

    /// The statements that open a group on the server: the file's Format_description event
    /// for its row events (for any group sent in parts: its rows may come later, and the
    /// event must not go inside the transaction), the GTID, BEGIN or XA START.
    fn prologue(&self, g: &Group, partial: bool) -> Vec<Stmt> {
        let mut out = Vec::new();
        let stmt = |sql: String, pos| Stmt {
            sql: Sql::Text(sql.into_bytes()),
            pos,
            kind: frame::kind::MARIADB_GTID,
            expected_error: 0,
        };
        if let Some(format) = &self.format {
            if (g.body.has_rows || partial) && self.fde_sent.as_ref() != Some(&g.file) {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(&format.bytes);
                let mut fde = stmt(format!("BINLOG '{b64}'"), 4);
                fde.kind = frame::kind::FORMAT_DESCRIPTION;
                out.push(fde);
            }
        }
        if let Some(target::Gtid::MariaDb {
            domain,
            server,
            seq,
        }) = &g.gtid
        {
            out.push(stmt(
                format!(
                    "SET @@session.gtid_domain_id={domain}, @@session.server_id={server}, \
                     @@session.gtid_seq_no={seq}"
                ),
                g.start,
            ));
            match (&g.xa_start, g.shape) {
                (Some(xid), _) => out.push(stmt(format!("XA START {xid}"), g.start)),
                (None, Shape::Transaction) => out.push(stmt("BEGIN".into(), g.start)),
                _ => {}
            }
        }
        out
    }

    /// Sends what is planned of the open group: all of it, or (`partial`) a part of a large one.
    fn send(&mut self, out: &mut dyn Apply, partial: bool) -> Result<(), ReplayError> {
        let Some(g) = self.group.as_ref() else {
            return Ok(());
        };
        let mut stmts = if g.sent {
            Vec::new()
        } else {
            self.prologue(g, partial)
        };
        let file = g.file.clone();
        if let Some(g) = self.group.as_mut() {
            stmts.append(&mut g.body.stmts);
            g.body.bytes = 0;
            g.sent = true;
        }
        for stmt in &stmts {
            if stmt.kind == frame::kind::FORMAT_DESCRIPTION {
                self.fde_sent = Some(file.clone());
            }
            out.run(&file, stmt)?;
        }
        Ok(())
    }

    /// The group is complete: applied, or the replay stops before it.
    fn close(&mut self, out: &mut dyn Apply) -> Result<(), ReplayError> {
        self.state = State::Idle;
        let unended = self.planner.open_statement();
        self.planner.end_group();
        let Some(g) = self.group.as_ref() else {
            return Ok(());
        };
        if let Some(pos) = unended {
            return Err(ReplayError::Malformed {
                file: g.file.clone(),
                pos,
                message: "row events whose statement never ends (no STMT_END flag)".into(),
            });
        }
        let decision = decide(self.until, &g.span(Some(g.end)));
        if decision == Decision::StopBefore {
            self.report.reached = true;
            self.stop = true;
            self.abort(out);
            return Ok(());
        }
        self.report.skipped += g.body.skipped;
        if g.body.content > 0 || g.sent {
            self.send(out, false)?;
            self.report.transactions += 1;
        }
        if let Some(g) = self.group.take() {
            self.report.last = Some((g.file, g.end));
            self.report.last_gtid = g
                .gtid
                .map(|x| x.to_string())
                .or(self.report.last_gtid.take());
            self.report.last_time = Some(g.timestamp);
        }
        if decision == Decision::ApplyThenStop {
            self.report.reached = true;
            self.stop = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
