//! How a table's rows are read and written: which columns, the SELECT that reads them exactly
//! (DOUBLE for FLOAT, indexes for some ENUMs and SETs, raw bytes for lossy character sets), the
//! INSERT head they go under, and the errors that name the table. Shared by the table writer, the
//! row streamer and the chunker, which build on it.

use crate::error::Error;
use crate::schema::{DataColumns, TableInfo, TableKind};
use crate::snapshot::Server;
use crate::sql::ident::{push_ident, qualified, quote_ident};
use crate::sql::literal::{Introducer, ValueKind};

/// Settings that shape the files of a table.
#[derive(Debug, Clone, Copy)]
pub struct TableSettings {
    pub max_statement_bytes: usize,
}

/// `table `d`.`t`` or `sequence `d`.`s``.
fn object_name(table: &TableInfo) -> String {
    let what = match table.kind {
        TableKind::Sequence => "sequence",
        _ => "table",
    };
    format!("{what} {}", table.qualified())
}

pub(crate) fn object_error(table: &TableInfo, e: impl std::fmt::Display) -> Error {
    Error::Object {
        object: object_name(table),
        message: e.to_string(),
    }
}

/// A statement about `table` failed: see [`Error::object`] (a broken connection stays
/// recognisable).
pub(crate) fn statement_error(table: &TableInfo, e: mysql::Error) -> Error {
    Error::object(object_name(table), e)
}

/// A table whose rows are being read: which columns, and whether history rows come too.
#[derive(Debug, Clone)]
pub struct TableRead {
    pub table: TableInfo,
    pub columns: DataColumns,
    pub history: bool,
}

/// Which rows of a table one data file holds: all of them, or one chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowRange {
    /// `WHERE` condition (without the keyword) selecting the chunk.
    pub condition: Option<String>,
    /// 1-based chunk number; it names the file `table.00001.sql.zst`.
    pub chunk: Option<u32>,
}

/// How the columns a SELECT reads become literals, beyond what their result metadata says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowShape {
    /// Per selected column, in order: a kind that replaces the one from the metadata (raw bytes
    /// of a lossy character set are `_charset 0x…`, not a binary string).
    pub kinds: Vec<Option<ValueKind>>,
    /// The SELECT reads a placeholder, not columns (the table has no data columns): every row
    /// is written as `()`.
    pub empty: bool,
}

impl RowShape {
    /// The kind of each selected column that is written.
    pub(crate) fn kinds(&self, columns: &[mysql::Column]) -> Vec<ValueKind> {
        if self.empty {
            return Vec::new();
        }
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.kinds
                    .get(i)
                    .copied()
                    .flatten()
                    .unwrap_or_else(|| ValueKind::from_column(c))
            })
            .collect()
    }
}

/// The SELECT that reads a table's rows, and how its columns become literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSelect {
    pub sql: String,
    pub shape: RowShape,
}

/// The SELECT that reads the rows exactly: FLOAT through DOUBLE (the text protocol prints FLOAT with
/// 6 digits), ENUMs that have a `''` member and ENUMs and SETs in lossy character sets by index
/// (their error value also prints as `''`; their member texts would change through utf8mb4), text
/// in lossy character sets as raw bytes (written `_charset 0x…`), history included for
/// system-versioned tables. A table without data columns (every column generated) selects a
/// placeholder, and each row is written `()`.
pub fn select_sql(
    server: &Server,
    table: &TableInfo,
    columns: &DataColumns,
    history: bool,
) -> RowSelect {
    let mut sql = String::from("SELECT ");
    let mut shape = RowShape {
        kinds: Vec::with_capacity(columns.columns.len()),
        empty: columns.columns.is_empty(),
    };
    if shape.empty {
        sql.push('0');
    }
    for (i, c) in columns.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let name = quote_ident(&c.name);
        let mut kind = None;
        if c.data_type == "float" {
            if server.mariadb || server.version >= (8, 0, 17) {
                sql.push_str(&format!("CAST({name} AS DOUBLE)"));
            } else {
                sql.push_str(&format!("({name} + 0e0)"));
            }
        } else if c.by_index() {
            sql.push_str(&format!("({name} + 0)"));
        } else if let Some(cs) = c.raw_charset() {
            // Raw bytes, so the connection's utf8mb4 conversion never touches them. Hex without
            // an introducer (a binary string) would load the same bytes, should a name ever not
            // fit an introducer.
            sql.push_str(&format!("CAST({name} AS BINARY)"));
            kind = Some(Introducer::new(cs).map_or(ValueKind::Binary, ValueKind::Introduced));
        } else {
            sql.push_str(&name);
        }
        shape.kinds.push(kind);
    }
    sql.push_str(" FROM ");
    sql.push_str(&qualified(&table.database, &table.name));
    if history {
        sql.push_str(" FOR SYSTEM_TIME ALL");
    }
    RowSelect { sql, shape }
}

/// `INSERT INTO `t` (`a`,`b`) VALUES` — columns always named, so invisible and history columns load too
/// (`INSERT INTO `t` () VALUES` for a table without data columns: its rows are `()`).
pub fn insert_head(table: &TableInfo, columns: &DataColumns) -> Vec<u8> {
    let mut head = b"INSERT INTO ".to_vec();
    push_ident(&mut head, &table.name);
    head.extend_from_slice(b" (");
    for (i, c) in columns.columns.iter().enumerate() {
        if i > 0 {
            head.push(b',');
        }
        push_ident(&mut head, &c.name);
    }
    head.extend_from_slice(b") VALUES");
    head
}
