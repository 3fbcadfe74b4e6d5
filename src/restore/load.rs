//! Loading one dump file: its statements (through the store's one reader), checked against what
//! the file's kind may hold, edited where asked, executed.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::error::server_message;
use crate::manifest::{FileKind, ManifestFile};
use crate::sql::shape;
use crate::sql::split::Quoting;
use crate::store::read::{statement_limit, Source, StatementReader, HUGE_STATEMENT};

pub use crate::store::read::FileError as LoadFailure;

/// What to do with each statement before it is sent: `None` sends it as is, an empty string
/// skips it.
pub type Edit<'a> = dyn FnMut(&str) -> Option<String> + 'a;

fn failure(file: &ManifestFile, line: u64, offset: u64, error: String) -> LoadFailure {
    LoadFailure {
        path: file.path.clone(),
        line,
        offset,
        error,
    }
}

/// The statements of `file`, each checked against the shapes its kind allows, as text.
struct Statements {
    reader: StatementReader,
}

impl Statements {
    fn open(
        dump: Source<'_>,
        file: &ManifestFile,
        max_statement: usize,
    ) -> Result<Self, LoadFailure> {
        Ok(Statements {
            reader: StatementReader::open(dump, file, statement_limit(file, max_statement))?,
        })
    }

    /// The next statement: (line, offset, text).
    fn next(&mut self, file: &ManifestFile) -> Option<Result<(u64, u64, String), LoadFailure>> {
        let s = match self.reader.next_statement()? {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let (line, offset) = (s.line, s.offset);
        let allowed = shape::check(
            file.kind,
            file.database.as_deref(),
            file.table.as_deref(),
            &s.sql,
        );
        Some(
            allowed
                .and_then(|()| {
                    String::from_utf8(s.sql)
                        .map_err(|_| "the statement is not valid UTF-8".to_string())
                })
                .map(|text| (line, offset, text))
                .map_err(|e| failure(file, line, offset, e)),
        )
    }
}

/// Loads `file` of the dump in `dir` on `conn`. `edit` may rewrite statements; `sent` is told the
/// size of each statement sent. Statements larger than `max_packet` are refused with a clear error
/// before they are read whole.
pub fn load_file(
    conn: &mut Conn,
    dump: Source<'_>,
    file: &ManifestFile,
    max_packet: usize,
    edit: &mut Edit<'_>,
    sent: &mut dyn FnMut(u64),
) -> Result<(), LoadFailure> {
    let mut statements = Statements::open(dump, file, max_packet.saturating_sub(1))?;
    while let Some(statement) = statements.next(file) {
        let (line, offset, text) = statement?;
        let text = edit(&text).unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        if text.len() + 1 > max_packet {
            return Err(failure(
                file,
                line,
                offset,
                format!(
                    "the statement has {} bytes, more than the server's max_allowed_packet ({max_packet}); \
                     raise it (SET GLOBAL max_allowed_packet = 1073741824) and try again",
                    text.len()
                ),
            ));
        }
        let len = text.len() as u64;
        send(conn, file, text).map_err(|e| failure(file, line, offset, e))?;
        sent(len);
        // A statement may switch NO_BACKSLASH_ESCAPES (a routine created under it, say): split
        // what follows as the server will read it, as the stock client does.
        statements.reader.set_quoting(Quoting {
            no_backslash_escapes: conn.no_backslash_escape(),
            ..statements.reader.quoting()
        });
    }
    Ok(())
}

/// Runs one statement; a huge row's INSERT as a prepared statement with its big values sent in
/// pieces (see [`super::huge`]), decoded in the text's own memory.
fn send(conn: &mut Conn, file: &ManifestFile, text: String) -> Result<(), String> {
    let fail = |e: mysql::Error| server_message(&e);
    if file.kind != FileKind::TableData || (text.len() as u64) < HUGE_STATEMENT {
        return query_retrying(conn, file, &text).map_err(fail);
    }
    let prepared = match super::huge::prepare(text.into_bytes()) {
        Ok(p) => p,
        Err(text) if text.is_empty() => {
            return Err("a huge value of the statement is not a valid literal".to_string())
        }
        Err(text) => {
            return conn
                .query_drop(String::from_utf8_lossy(&text))
                .map_err(fail)
        }
    };
    let statement = conn.prep(&prepared.sql).map_err(fail)?;
    let result = conn.exec_drop(&statement, prepared.params);
    let closed = conn.close(statement);
    result.and(closed).map_err(fail)
}

/// How often a statement InnoDB rolled back for a deadlock or a lock wait timeout is sent again.
const LOCK_RETRIES: u32 = 8;

/// Whether the server rolled the statement back because of a lock conflict with another session
/// (ERROR 1213 deadlock, 1205 lock wait timeout): sent again, it may well succeed. Chunks of one
/// table loaded in parallel can deadlock on a unique secondary index.
fn is_lock_conflict(e: &mysql::Error) -> bool {
    const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
    const ER_LOCK_DEADLOCK: u16 = 1213;
    matches!(e, mysql::Error::MySqlError(m) if m.code == ER_LOCK_DEADLOCK || m.code == ER_LOCK_WAIT_TIMEOUT)
}

/// The pause before attempt `attempt + 1`: 100 ms doubling, at most 3 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(3000))
}

/// Runs `text`; a statement rolled back by a lock conflict is sent again, a few times, after a
/// pause. Safe because the restore session runs in autocommit: the rolled-back statement is the
/// whole transaction, and nothing else of it was applied.
fn query_retrying(conn: &mut Conn, file: &ManifestFile, text: &str) -> Result<(), mysql::Error> {
    let mut attempt = 0;
    loop {
        match conn.query_drop(text) {
            Err(e) if attempt < LOCK_RETRIES && is_lock_conflict(&e) => {
                log::info!(
                    "{}: {}; sending the statement again",
                    file.path,
                    server_message(&e)
                );
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Reads all statements of a (small) file into memory, for the schema phase.
pub fn read_statements(
    dump: Source<'_>,
    file: &ManifestFile,
) -> Result<Vec<(u64, u64, String)>, LoadFailure> {
    let mut statements = Statements::open(dump, file, usize::MAX)?;
    let mut out = Vec::new();
    while let Some(s) = statements.next(file) {
        out.push(s?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_up_to_3s() {
        let waits: Vec<u64> = (0..8).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3000, 3000, 3000]);
    }
}
