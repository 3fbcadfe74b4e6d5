//! Rows become SQL: each row read over the text protocol is written as the literal tuple `(…)`
//! straight into the INSERT statement being built, fingerprinted, and streamed to its file.

use mysql::Conn;

use crate::dump::fingerprint::Fingerprint;
use crate::dump::table::{insert_head, object_error, statement_error, TableRead, TableSettings};
use crate::error::Result;
use crate::progress::Progress;
use crate::schema::TableInfo;
use crate::sink::SqlFile;
use crate::sql::insert::InsertBuilder;
use crate::sql::literal::{push_value, ValueKind};
use crate::sql::script::{header, Session};
use crate::store::DumpDir;

/// Where formatted rows go: a buffer to append each row tuple to, and a call when it is complete.
pub trait RowSink {
    /// The buffer to append the next row tuple to; `size` is about the tuple's length.
    fn buffer(&mut self, size: usize) -> Result<&mut Vec<u8>>;
    /// The tuple appended since [`RowSink::buffer`] is complete.
    fn done(&mut self) -> Result<()>;
}

/// Runs `sql` (a SELECT over `table`) and writes each row into `sink` as the SQL literal tuple
/// `(v1,v2,…)` the dump writes for it: the one place rows become SQL. Each value is dropped as
/// soon as it is written, so a huge row is not held twice.
pub fn for_each_row(
    conn: &mut Conn,
    table: &TableInfo,
    sql: &str,
    sink: &mut dyn RowSink,
) -> Result<()> {
    use mysql::prelude::Queryable;
    let mut result = conn
        .query_iter(sql)
        .map_err(|e| statement_error(table, e))?;
    let kinds: Vec<ValueKind> = result
        .columns()
        .as_ref()
        .iter()
        .map(ValueKind::from_column)
        .collect();
    let set = result
        .iter()
        .ok_or_else(|| object_error(table, "the SELECT returned no result set"))?;
    for row in set {
        let mut row = row.map_err(|e| statement_error(table, e))?;
        let size = tuple_size(&row, &kinds);
        let out = sink.buffer(size)?;
        if size >= 1 << 20 {
            // One allocation for a big row: growing by doubling would briefly hold the old and
            // the new buffer, up to three times the row's text.
            out.reserve_exact(size);
        }
        out.push(b'(');
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Taken out of the row, so each value is freed as soon as it is written.
            match row.take::<mysql::Value, usize>(i) {
                Some(mysql::Value::Bytes(b)) => push_value(out, *kind, Some(&b)),
                _ => push_value(out, *kind, None),
            }
        }
        out.push(b')');
        sink.done()?;
    }
    Ok(())
}

/// About the length of a row's literal tuple (exact for binary values, close for text).
fn tuple_size(row: &mysql::Row, kinds: &[ValueKind]) -> usize {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| match (row.as_ref(i), k) {
            (Some(mysql::Value::Bytes(b)), ValueKind::Binary) => 2 * b.len() + 4,
            (Some(mysql::Value::Bytes(b)), ValueKind::Bit) => 8 * b.len() + 4,
            (Some(mysql::Value::Bytes(b)), _) => b.len() + b.len() / 16 + 4,
            _ => 5,
        })
        .sum::<usize>()
        + 2
}

/// A sink that hands each row tuple to a closure.
struct Each<F> {
    buf: Vec<u8>,
    f: F,
}

impl<F: FnMut(&[u8]) -> Result<()>> RowSink for Each<F> {
    fn buffer(&mut self, _size: usize) -> Result<&mut Vec<u8>> {
        self.buf.clear();
        Ok(&mut self.buf)
    }

    fn done(&mut self) -> Result<()> {
        (self.f)(&self.buf)
    }
}

/// [`for_each_row`] with a closure that gets each row tuple.
pub fn each_row(
    conn: &mut Conn,
    table: &TableInfo,
    sql: &str,
    f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut sink = Each {
        buf: Vec::with_capacity(4096),
        f,
    };
    for_each_row(conn, table, sql, &mut sink)
}

/// What streaming a table's (or chunk's) rows produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStats {
    pub fingerprint: Fingerprint,
    /// Bytes of INSERT statements.
    pub bytes: u64,
    /// The largest INSERT statement.
    pub max_statement: u64,
}

impl StreamStats {
    /// Adds the stats of another chunk of the same table.
    pub fn merge(&mut self, other: &StreamStats) {
        self.fingerprint.merge(&other.fingerprint);
        self.bytes += other.bytes;
        self.max_statement = self.max_statement.max(other.max_statement);
    }

    /// The manifest entry of a table with these stats.
    pub fn entry(&self, read: &TableRead) -> crate::manifest::TableEntry {
        crate::manifest::TableEntry {
            name: read.table.name.clone(),
            rows: self.fingerprint.rows(),
            bytes: self.bytes,
            fingerprint: self.fingerprint.to_text(),
            history: read.history,
        }
    }
}

/// Where a data file goes and who hears of its progress.
pub struct Target<'a> {
    pub dir: &'a DumpDir,
    pub rel: &'a str,
    pub id: &'a str,
    pub settings: TableSettings,
    pub progress: &'a dyn Progress,
}

/// Writes complete statements to the data file, creating it (with its session header) on the
/// first statement, so a range without rows leaves no file.
struct StatementWriter<'a> {
    target: &'a Target<'a>,
    file: &'a mut Option<SqlFile>,
    header: String,
    stats: StreamStats,
}

impl StatementWriter<'_> {
    fn emit(&mut self, stmt: &[u8], rows: u64) -> Result<()> {
        if self.file.is_none() {
            let t = self.target;
            let mut f = t.dir.sql_file(t.rel)?;
            f.write_all(self.header.as_bytes())?;
            *self.file = Some(f);
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(stmt)?;
        }
        let n = stmt.len() as u64;
        self.stats.bytes += n;
        self.stats.max_statement = self.stats.max_statement.max(n);
        self.target.progress.advance(self.target.id, rows, n);
        Ok(())
    }
}

/// The sink of a data file: rows into INSERTs, fingerprinted, written as statements complete.
struct InsertSink<'a> {
    builder: InsertBuilder,
    writer: StatementWriter<'a>,
}

impl RowSink for InsertSink<'_> {
    fn buffer(&mut self, size: usize) -> Result<&mut Vec<u8>> {
        // A row that cannot join the pending statement ends it before being written, so two
        // huge rows are never held together.
        if !self.builder.fits(size) {
            let writer = &mut self.writer;
            self.builder.flush(&mut |s, n| writer.emit(s, n))?;
        }
        Ok(self.builder.row_buffer())
    }

    fn done(&mut self) -> Result<()> {
        self.writer.stats.fingerprint.add_row(self.builder.row());
        let writer = &mut self.writer;
        self.builder.end_row(&mut |s, n| writer.emit(s, n))?;
        // A statement that no further row can join is written now, not held while the next
        // (maybe huge) row is read.
        if !self.builder.fits(1) {
            self.builder.flush(&mut |s, n| writer.emit(s, n))?;
        }
        Ok(())
    }
}

/// Streams the rows of `sql` into INSERT statements in `target`'s file (created on the first row).
pub fn stream_rows(
    conn: &mut Conn,
    read: &TableRead,
    sql: &str,
    target: &Target<'_>,
    file: &mut Option<SqlFile>,
) -> Result<StreamStats> {
    let table = &read.table;
    let session = Session {
        database: Some(&table.database),
        data: true,
        history: read.history,
    };
    let mut sink = InsertSink {
        builder: InsertBuilder::new(
            insert_head(table, &read.columns),
            target.settings.max_statement_bytes,
        ),
        writer: StatementWriter {
            target,
            file,
            header: header(&format!("table data {}", table.qualified()), session),
            stats: StreamStats::default(),
        },
    };
    for_each_row(conn, table, sql, &mut sink)?;
    let writer = &mut sink.writer;
    sink.builder.flush(&mut |s, n| writer.emit(s, n))?;
    Ok(sink.writer.stats)
}
