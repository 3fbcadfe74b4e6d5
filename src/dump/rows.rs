//! Rows become SQL: each row read over the text protocol is written as the literal tuple `(…)`
//! straight into the INSERT statement being built, fingerprinted, and streamed to its file.

use crate::conn::{DataConn, TextRow};

use crate::dump::fingerprint::Fingerprint;
use crate::dump::select::{
    insert_head, object_error, statement_error, RowSelect, TableRead, TableSettings,
};
use crate::error::Result;
use crate::progress::Progress;
use crate::schema::TableInfo;
use crate::sink::SqlFile;
use crate::sql::insert::InsertBuilder;
use crate::sql::literal::{push_value, value_pieces, ValueKind};
use crate::sql::script::{header, Session};
use crate::store::DumpDir;

/// Rows whose text would be at least this large are written in pieces by sinks that can.
const HUGE_ROW: usize = 16 << 20;
/// The size of the pieces of a huge row.
const PIECE: usize = 1 << 20;

/// Where formatted rows go: a buffer to append each row tuple to, and a call when it is complete.
pub trait RowSink {
    /// The buffer to append the next row tuple to; `size` is about the tuple's length.
    fn buffer(&mut self, size: usize) -> Result<&mut Vec<u8>>;
    /// The tuple appended since [`RowSink::buffer`] is complete.
    fn done(&mut self) -> Result<()>;
    /// A huge row is about to come in pieces ([`RowSink::piece`], then [`RowSink::end_pieces`]),
    /// so its text is never held whole. A sink that cannot take pieces says false, and gets the
    /// row through [`RowSink::buffer`].
    fn start_pieces(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// The next piece of the huge row's tuple.
    fn piece(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
    /// The huge row's tuple is complete.
    fn end_pieces(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Runs `select` (a SELECT over `table`) and writes each row into `sink` as the SQL literal tuple
/// `(v1,v2,…)` the dump writes for it: the one place rows become SQL. Values are formatted
/// straight from the packet buffer ([`TextRow`]), so a row is never copied before it is SQL.
pub fn for_each_row(
    conn: &mut DataConn,
    table: &TableInfo,
    select: &RowSelect,
    sink: &mut dyn RowSink,
) -> Result<()> {
    let mut rows = conn
        .query_stream(&select.sql)
        .map_err(|e| statement_error(table, e))?;
    if rows.columns().is_empty() {
        return Err(object_error(table, "the SELECT returned no result set"));
    }
    let kinds = select.shape.kinds(rows.columns());
    while let Some(row) = rows.next_row().map_err(|e| statement_error(table, e))? {
        let size = tuple_size(&row, &kinds);
        if size >= HUGE_ROW && sink.start_pieces()? {
            write_in_pieces(&row, &kinds, sink)?;
            continue;
        }
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
            push_value(out, *kind, row.get(i));
        }
        out.push(b')');
        sink.done()?;
    }
    Ok(())
}

/// Writes one huge row's tuple to `sink` in pieces of about [`PIECE`] bytes.
fn write_in_pieces(row: &TextRow<'_>, kinds: &[ValueKind], sink: &mut dyn RowSink) -> Result<()> {
    let mut out = Vec::with_capacity(2 * PIECE);
    let mut scratch = Vec::with_capacity(8 * PIECE);
    out.push(b'(');
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        value_pieces::<crate::Error>(*kind, row.get(i), PIECE, &mut scratch, &mut |p: &[u8]| {
            out.extend_from_slice(p);
            if out.len() >= PIECE {
                sink.piece(&out)?;
                out.clear();
            }
            Ok(())
        })?;
    }
    out.push(b')');
    sink.piece(&out)?;
    sink.end_pieces()
}

/// About the length of a row's literal tuple (exact for binary values, close for text).
fn tuple_size(row: &TextRow<'_>, kinds: &[ValueKind]) -> usize {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| match (row.get(i), k) {
            (Some(b), ValueKind::Binary) => 2 * b.len() + 4,
            (Some(b), ValueKind::Introduced(cs)) => 2 * b.len() + 5 + cs.name().len(),
            (Some(b), ValueKind::Bit) => 8 * b.len() + 4,
            (Some(b), _) => b.len() + b.len() / 16 + 4,
            (None, _) => 5,
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
pub fn each_row_of(
    conn: &mut DataConn,
    table: &TableInfo,
    select: &RowSelect,
    f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut sink = Each {
        buf: Vec::with_capacity(4096),
        f,
    };
    for_each_row(conn, table, select, &mut sink)
}

/// Fingerprints rows as they come (huge ones in pieces), holding none.
struct FingerprintSink {
    buf: Vec<u8>,
    fingerprint: Fingerprint,
    huge: Option<xxhash_rust::xxh3::Xxh3>,
}

impl RowSink for FingerprintSink {
    fn buffer(&mut self, _size: usize) -> Result<&mut Vec<u8>> {
        self.buf.clear();
        Ok(&mut self.buf)
    }

    fn done(&mut self) -> Result<()> {
        self.fingerprint.add_row(&self.buf);
        Ok(())
    }

    fn start_pieces(&mut self) -> Result<bool> {
        self.huge = Some(xxhash_rust::xxh3::Xxh3::new());
        Ok(true)
    }

    fn piece(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(h) = self.huge.as_mut() {
            h.update(bytes);
        }
        Ok(())
    }

    fn end_pieces(&mut self) -> Result<()> {
        if let Some(h) = self.huge.take() {
            self.fingerprint.add_hash(h.digest128());
        }
        Ok(())
    }
}

/// The fingerprint of the rows `select` reads, exactly as a dump would record it.
pub fn fingerprint_rows(
    conn: &mut DataConn,
    table: &TableInfo,
    select: &RowSelect,
) -> Result<Fingerprint> {
    let mut sink = FingerprintSink {
        buf: Vec::with_capacity(4096),
        fingerprint: Fingerprint::default(),
        huge: None,
    };
    for_each_row(conn, table, select, &mut sink)?;
    Ok(sink.fingerprint)
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
    /// Writes bytes of a statement (the file and its header are created first when needed).
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.file.is_none() {
            let t = self.target;
            let mut f = t.dir.sql_file(t.rel)?;
            f.write_all(self.header.as_bytes())?;
            *self.file = Some(f);
        }
        match self.file.as_mut() {
            Some(f) => f.write_all(bytes),
            None => Ok(()),
        }
    }

    fn emit(&mut self, stmt: &[u8], rows: u64) -> Result<()> {
        self.write(stmt)?;
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
    head: Vec<u8>,
    /// A huge row being written in pieces: its hash and the statement's bytes so far.
    huge: Option<(xxhash_rust::xxh3::Xxh3, u64)>,
}

impl RowSink for InsertSink<'_> {
    fn start_pieces(&mut self) -> Result<bool> {
        // The huge row stands alone: the statement before it is written first.
        let writer = &mut self.writer;
        self.builder.flush(&mut |s, n| writer.emit(s, n))?;
        let mut head = self.head.clone();
        head.push(b'\n');
        self.writer.write(&head)?;
        self.huge = Some((xxhash_rust::xxh3::Xxh3::new(), head.len() as u64));
        Ok(true)
    }

    fn piece(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some((hasher, len)) = self.huge.as_mut() {
            hasher.update(bytes);
            *len += bytes.len() as u64;
        }
        self.writer.write(bytes)
    }

    fn end_pieces(&mut self) -> Result<()> {
        self.writer.write(b";\n")?;
        if let Some((hasher, len)) = self.huge.take() {
            let stats = &mut self.writer.stats;
            stats.fingerprint.add_hash(hasher.digest128());
            let n = len + 2;
            stats.bytes += n;
            stats.max_statement = stats.max_statement.max(n);
            self.writer
                .target
                .progress
                .advance(self.writer.target.id, 1, n);
        }
        Ok(())
    }

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

/// Streams the rows of `select` into INSERT statements in `target`'s file (created on the first row).
pub fn stream_rows(
    conn: &mut DataConn,
    read: &TableRead,
    select: &RowSelect,
    target: &Target<'_>,
    file: &mut Option<SqlFile>,
) -> Result<StreamStats> {
    let table = &read.table;
    let session = Session {
        database: Some(&table.database),
        data: true,
        history: read.history,
    };
    let head = insert_head(table, &read.columns);
    let mut sink = InsertSink {
        builder: InsertBuilder::new(head.clone(), target.settings.max_statement_bytes),
        head,
        huge: None,
        writer: StatementWriter {
            target,
            file,
            header: header(&format!("table data {}", table.qualified()), session),
            stats: StreamStats::default(),
        },
    };
    for_each_row(conn, table, select, &mut sink)?;
    let writer = &mut sink.writer;
    sink.builder.flush(&mut |s, n| writer.emit(s, n))?;
    Ok(sink.writer.stats)
}
