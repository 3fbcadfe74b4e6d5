//! Big tables in ranges of their key: cursors that hand out the next range to whichever worker
//! asks (all inside the same snapshot), and the tally that turns the chunks back into one table.

use std::sync::Mutex;

use crate::conn::DataConn;

use crate::dump::rows::{each_row_of, StreamStats};
use crate::dump::select::{
    object_error, statement_error, RowRange, RowSelect, RowShape, TableRead,
};
use crate::dump::DumpedFile;
use crate::error::{Error, Result};
use crate::manifest::TableEntry;
use crate::plan::{initial_step, next_step, ChunkKey};
use crate::sql::ident::quote_ident;
use crate::sql::literal::{Introducer, ValueKind};

/// The next range to read, and what the cursor needs to learn from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub range: RowRange,
    /// Integer ranges: the width, to size the next range from the rows it held.
    width: Option<i128>,
}

/// Hands out ranges of one table's key in order.
#[derive(Debug)]
enum Cursor {
    /// `[lo, lo + step)` over a single integer column; the first range has no lower bound and
    /// ends at `min + step`, the last has no upper bound, so no row is ever outside all ranges.
    Integer {
        column: String,
        min: i128,
        /// Lower bound of the next range; `None` before the first.
        next: Option<i128>,
        max: i128,
        step: i128,
        done: bool,
    },
    /// Walks the key in order; each range ends at the key found `rows` entries further.
    Walk {
        columns: Vec<String>,
        after: Option<Vec<Vec<u8>>>,
        rows: u64,
        done: bool,
    },
}

/// A table being dumped in chunks.
#[derive(Debug)]
pub struct ChunkedTable {
    pub read: TableRead,
    cursor: Mutex<Cursor>,
    tally: Mutex<Tally>,
    target_rows: u64,
}

#[derive(Debug, Default)]
struct Tally {
    issued: u32,
    outstanding: usize,
    exhausted: bool,
    stats: StreamStats,
    files: Vec<DumpedFile>,
    failed: Option<String>,
    reported: bool,
}

/// What a cursor gives a worker.
#[derive(Debug)]
pub enum Next {
    Chunk(Chunk),
    /// Nothing left to hand out; the completion when the last chunk is in already.
    HandedOut(Option<Completion>),
}

/// What a table comes to once its last chunk is in.
#[derive(Debug)]
pub enum Completion {
    /// Every chunk was read: the data files and the table's manifest entry.
    Done {
        files: Vec<DumpedFile>,
        entry: TableEntry,
    },
    /// A chunk failed: the files written for the table (to delete).
    Failed { error: String, files: Vec<String> },
}

/// `` `c` >= lo AND `c` < hi `` with open ends left out; `None` when both are open.
pub fn integer_condition(column: &str, lo: Option<i128>, hi: Option<i128>) -> Option<String> {
    let c = quote_ident(column);
    match (lo, hi) {
        (None, None) => None,
        (Some(lo), None) => Some(format!("{c} >= {lo}")),
        (None, Some(hi)) => Some(format!("{c} < {hi}")),
        (Some(lo), Some(hi)) => Some(format!("{c} >= {lo} AND {c} < {hi}")),
    }
}

/// Lexicographic comparison of a key with literal values, spelled out so any index range
/// optimizer uses it: `(a,b) > (x,y)` is `a > x OR (a = x AND b > y)`. `op` is `>` or `<=`.
pub fn tuple_condition(columns: &[String], values: &[Vec<u8>], op: &str) -> String {
    let strict = if op == ">" { ">" } else { "<" };
    let mut terms = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let mut parts: Vec<String> = (0..i)
            .map(|j| {
                format!(
                    "{} = {}",
                    quote_ident(&columns[j]),
                    String::from_utf8_lossy(&values[j])
                )
            })
            .collect();
        let last_op = if i + 1 == columns.len() { op } else { strict };
        parts.push(format!(
            "{} {last_op} {}",
            quote_ident(&columns[i]),
            String::from_utf8_lossy(&values[i])
        ));
        terms.push(format!("({})", parts.join(" AND ")));
    }
    format!("({})", terms.join(" OR "))
}

fn key_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ChunkedTable {
    /// Prepares the cursor over `key`: integer keys read their MIN and MAX. Returns `None` for an
    /// empty table (nothing to cut).
    /// `schema_file` is the table's schema file, reported with the data files at the end.
    pub fn open(
        conn: &mut DataConn,
        read: TableRead,
        key: ChunkKey,
        target_rows: u64,
        schema_file: DumpedFile,
    ) -> Result<Option<ChunkedTable>> {
        let from = read.table.qualified();
        let cursor = match key {
            ChunkKey::Integer { column } => {
                let c = quote_ident(&column);
                let bounds: Option<(Option<String>, Option<String>)> = conn
                    .query_first(&format!("SELECT MIN({c}), MAX({c}) FROM {from}"))
                    .map_err(|e| statement_error(&read.table, e))?;
                let parse = |v: Option<String>| v.and_then(|s| s.parse::<i128>().ok());
                let Some((Some(min), Some(max))) = bounds.map(|(a, b)| (parse(a), parse(b))) else {
                    return Ok(None);
                };
                Cursor::Integer {
                    column,
                    min,
                    next: None,
                    max,
                    step: initial_step(min, max, read.table.estimated_rows, target_rows),
                    done: false,
                }
            }
            ChunkKey::Walk { columns } => Cursor::Walk {
                columns,
                after: None,
                rows: target_rows,
                done: false,
            },
        };
        Ok(Some(ChunkedTable {
            read,
            cursor: Mutex::new(cursor),
            tally: Mutex::new(Tally {
                files: vec![schema_file],
                ..Tally::default()
            }),
            target_rows,
        }))
    }

    /// The next range, or `Next::HandedOut` when the table is handed out completely (or failed),
    /// with the table's completion when its last chunk is in already.
    pub fn next(&self, conn: &mut DataConn) -> Result<Next> {
        let mut cursor = self.cursor.lock().map_err(|_| poisoned(&self.read))?;
        let condition = match &mut *cursor {
            Cursor::Integer {
                column,
                min,
                next,
                max,
                step,
                done,
            } => {
                if *done {
                    return self.exhaust();
                }
                let lo = *next;
                // Skip a gap with no rows: the range still starts at the previous upper bound
                // (so coverage stays exact), but its width counts from the next existing key.
                let from = match lo {
                    None => *min,
                    Some(lo) => match self.next_key(conn, column, lo)? {
                        Some(k) => k,
                        None => {
                            *done = true;
                            return self.issue(integer_condition(column, Some(lo), None), None);
                        }
                    },
                };
                let hi = from.saturating_add(*step);
                if hi > *max {
                    *done = true;
                    (integer_condition(column, lo, None), Some(*step))
                } else {
                    *next = Some(hi);
                    (integer_condition(column, lo, Some(hi)), Some(*step))
                }
            }
            Cursor::Walk {
                columns,
                after,
                rows,
                done,
            } => {
                if *done {
                    return self.exhaust();
                }
                let lower = after.as_ref().map(|v| tuple_condition(columns, v, ">"));
                let boundary = self.boundary(conn, columns, lower.as_deref(), *rows)?;
                let condition = match &boundary {
                    Some(b) => {
                        let upper = tuple_condition(columns, b, "<=");
                        Some(match &lower {
                            Some(l) => format!("{l} AND {upper}"),
                            None => upper,
                        })
                    }
                    None => {
                        *done = true;
                        lower
                    }
                };
                *after = boundary;
                (condition, None)
            }
        };
        self.issue(condition.0, condition.1)
    }

    /// Counts a new chunk as handed out (unless the table failed meanwhile).
    fn issue(&self, condition: Option<String>, width: Option<i128>) -> Result<Next> {
        let mut tally = self.tally.lock().map_err(|_| poisoned(&self.read))?;
        if tally.failed.is_some() {
            return Ok(Next::HandedOut(self.completion(&mut tally)));
        }
        tally.issued += 1;
        tally.outstanding += 1;
        Ok(Next::Chunk(Chunk {
            range: RowRange {
                condition,
                chunk: Some(tally.issued),
            },
            width,
        }))
    }

    /// The smallest key at or above `lo`, inside the snapshot; `None` when there is none.
    fn next_key(&self, conn: &mut DataConn, column: &str, lo: i128) -> Result<Option<i128>> {
        let c = quote_ident(column);
        let found: Option<Option<String>> = conn
            .query_first(&format!(
                "SELECT MIN({c}) FROM {} WHERE {c} >= {lo}",
                self.read.table.qualified()
            ))
            .map_err(|e| statement_error(&self.read.table, e))?;
        Ok(found.flatten().and_then(|s| s.parse().ok()))
    }

    fn exhaust(&self) -> Result<Next> {
        let mut tally = self.tally.lock().map_err(|_| poisoned(&self.read))?;
        tally.exhausted = true;
        Ok(Next::HandedOut(self.completion(&mut tally)))
    }

    /// The key `rows` entries after `lower` (exclusive), as literals; `None` past the end.
    fn boundary(
        &self,
        conn: &mut DataConn,
        columns: &[String],
        lower: Option<&str>,
        rows: u64,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let keys = key_list(columns);
        let (selected, shape) = self.key_select(columns);
        let mut sql = format!("SELECT {selected} FROM {}", self.read.table.qualified());
        if let Some(l) = lower {
            sql.push_str(" WHERE ");
            sql.push_str(l);
        }
        sql.push_str(&format!(
            " ORDER BY {keys} LIMIT 1 OFFSET {}",
            rows.max(1) - 1
        ));
        let mut found = None;
        let select = RowSelect { sql, shape };
        each_row_of(conn, &self.read.table, &select, |row| {
            found = Some(split_tuple(row, columns.len()));
            Ok(())
        })?;
        Ok(found)
    }

    /// The select list reading key `columns` as boundary literals: a key column in a character
    /// set that does not survive utf8mb4 is read raw and written `_charset 0x…`, so the
    /// boundary compares as exactly the key it was read from (converted text could sort before
    /// it, and the walk would not advance).
    fn key_select(&self, columns: &[String]) -> (String, RowShape) {
        let mut shape = RowShape::default();
        let mut list = Vec::with_capacity(columns.len());
        for name in columns {
            let raw = self
                .read
                .columns
                .columns
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.raw_charset());
            match raw {
                Some(cs) => {
                    list.push(format!("CAST({} AS BINARY)", quote_ident(name)));
                    shape.kinds.push(Some(
                        Introducer::new(cs).map_or(ValueKind::Binary, ValueKind::Introduced),
                    ));
                }
                None => {
                    list.push(quote_ident(name));
                    shape.kinds.push(None);
                }
            }
        }
        (list.join(", "), shape)
    }

    /// Records a finished (or failed) chunk; returns the table's completion when this was the
    /// last chunk of a table that has been handed out completely (or that failed).
    pub fn finish(
        &self,
        chunk: &Chunk,
        result: Result<(Option<DumpedFile>, StreamStats)>,
    ) -> Option<Completion> {
        if let (Ok((_, stats)), Some(width)) = (&result, chunk.width) {
            if let Ok(mut c) = self.cursor.lock() {
                if let Cursor::Integer { step, .. } = &mut *c {
                    *step = next_step(width, stats.fingerprint.rows(), self.target_rows);
                }
            }
        }
        let mut tally = self.tally.lock().ok()?;
        tally.outstanding = tally.outstanding.saturating_sub(1);
        match result {
            Ok((file, stats)) => {
                tally.stats.merge(&stats);
                tally.files.extend(file);
            }
            Err(e) => {
                if tally.failed.is_none() {
                    tally.failed = Some(e.detail());
                }
            }
        }
        self.completion(&mut tally)
    }

    /// Marks the table failed outside a chunk (a cursor query failed).
    pub fn fail(&self, error: &Error) -> Option<Completion> {
        let mut tally = self.tally.lock().ok()?;
        if tally.failed.is_none() {
            tally.failed = Some(error.detail());
        }
        tally.exhausted = true;
        self.completion(&mut tally)
    }

    fn completion(&self, tally: &mut Tally) -> Option<Completion> {
        let finished = tally.outstanding == 0 && (tally.exhausted || tally.failed.is_some());
        if !finished || tally.reported {
            return None;
        }
        tally.reported = true;
        if let Some(error) = tally.failed.clone() {
            let files = tally.files.drain(..).map(|f| f.record.path).collect();
            return Some(Completion::Failed { error, files });
        }
        let mut files = std::mem::take(&mut tally.files);
        files.sort_by(|a, b| a.record.path.cmp(&b.record.path));
        Some(Completion::Done {
            files,
            entry: tally.stats.entry(&self.read),
        })
    }
}

/// Splits a literal tuple `(a,b,…)` as `rows::for_each_row` writes it into its literals.
fn split_tuple(row: &[u8], columns: usize) -> Vec<Vec<u8>> {
    let inner = &row[1..row.len().saturating_sub(1)];
    let mut out = Vec::with_capacity(columns);
    let (mut start, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in inner.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'\'' {
                in_string = false;
            }
        } else if b == b'\'' {
            in_string = true;
        } else if b == b',' {
            out.push(inner[start..i].to_vec());
            start = i + 1;
        }
    }
    out.push(inner[start..].to_vec());
    out
}

fn poisoned(read: &TableRead) -> Error {
    object_error(
        &read.table,
        "a worker died while cutting the table into chunks",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_conditions_leave_open_ends_out() {
        assert_eq!(integer_condition("id", None, None), None);
        assert_eq!(
            integer_condition("id", None, Some(10)).as_deref(),
            Some("`id` < 10")
        );
        assert_eq!(
            integer_condition("id", Some(-5), Some(10)).as_deref(),
            Some("`id` >= -5 AND `id` < 10")
        );
        assert_eq!(
            integer_condition("i`d", Some(7), None).as_deref(),
            Some("`i``d` >= 7")
        );
    }

    #[test]
    fn tuple_conditions_are_lexicographic() {
        let cols = vec!["a".to_string(), "b".to_string()];
        let vals = vec![b"1".to_vec(), b"'x'".to_vec()];
        assert_eq!(
            tuple_condition(&cols, &vals, ">"),
            "((`a` > 1) OR (`a` = 1 AND `b` > 'x'))"
        );
        assert_eq!(
            tuple_condition(&cols, &vals, "<="),
            "((`a` < 1) OR (`a` = 1 AND `b` <= 'x'))"
        );
        assert_eq!(
            tuple_condition(&cols[..1], &vals[..1], "<="),
            "((`a` <= 1))"
        );
    }

    #[test]
    fn tuples_split_outside_strings() {
        let row = b"(1,'a,\\'b',0x2C,NULL)";
        assert_eq!(
            split_tuple(row, 4),
            vec![
                b"1".to_vec(),
                b"'a,\\'b'".to_vec(),
                b"0x2C".to_vec(),
                b"NULL".to_vec()
            ]
        );
    }
}
