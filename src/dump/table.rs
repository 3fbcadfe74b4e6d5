//! One table's files: its `CREATE TABLE` (or `CREATE SEQUENCE` with its state) and its rows as INSERTs.

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::dump::fingerprint::Fingerprint;
use crate::dump::rows::{fingerprint_rows, stream_rows, RowShape, StreamStats, Target};
use crate::dump::{DumpedFile, Job};
use crate::error::{Error, Result};
use crate::manifest::{FileKind, TableEntry};
use crate::progress::Progress;
use crate::schema::{self, DataColumns, TableInfo, TableKind};
use crate::sink::SqlFile;
use crate::snapshot::Server;
use crate::sql::create::without_auto_increment_option;
use crate::sql::ident::{file_name, push_ident, qualified, quote_ident};
use crate::sql::literal::{Introducer, ValueKind};
use crate::sql::script::{header, Session};
use crate::store::DumpDir;

/// What dumping one table produced.
#[derive(Debug)]
pub struct TableOutput {
    pub files: Vec<DumpedFile>,
    /// Base tables only: rows, bytes and fingerprint.
    pub entry: Option<TableEntry>,
}

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

/// Writes the schema file and the data file of `job`'s table.
pub fn dump_table(
    conn: &mut Conn,
    server: &Server,
    dir: &DumpDir,
    job: &Job,
    settings: TableSettings,
    progress: &dyn Progress,
) -> Result<TableOutput> {
    let table = &job.table;
    match table.kind {
        TableKind::Sequence => Ok(TableOutput {
            files: vec![sequence_file(conn, dir, table)?],
            entry: None,
        }),
        TableKind::View => Err(object_error(table, "a view is not a table")),
        TableKind::Base | TableKind::SystemVersioned => match table.rows_elsewhere() {
            Some(why) => {
                log::info!("{}: definition only, no rows ({why})", table.qualified());
                Ok(TableOutput {
                    files: vec![schema_file(conn, dir, table)?],
                    entry: None,
                })
            }
            None => table_with_rows(conn, server, dir, table, settings, progress),
        },
    }
}

/// The schema file and the data file of a base table read in one stream.
fn table_with_rows(
    conn: &mut Conn,
    server: &Server,
    dir: &DumpDir,
    table: &TableInfo,
    settings: TableSettings,
    progress: &dyn Progress,
) -> Result<TableOutput> {
    let (schema_file, read) = open_table(conn, server, dir, table)?;
    let (data, stats) = match data_file(
        conn,
        server,
        dir,
        &read,
        &RowRange::default(),
        settings,
        progress,
    ) {
        Ok(v) => v,
        Err(e) => {
            dir.remove_file(&schema_file.record.path);
            return Err(e);
        }
    };
    let mut files = vec![schema_file];
    files.extend(data);
    Ok(TableOutput {
        files,
        entry: Some(stats.entry(&read)),
    })
}

/// A table whose rows are being read: which columns, and whether history rows come too.
#[derive(Debug, Clone)]
pub struct TableRead {
    pub table: TableInfo,
    pub columns: DataColumns,
    pub history: bool,
}

/// Writes the table's schema file and reads how its rows are to be read.
pub fn open_table(
    conn: &mut Conn,
    server: &Server,
    dir: &DumpDir,
    table: &TableInfo,
) -> Result<(DumpedFile, TableRead)> {
    let schema_file = schema_file(conn, dir, table)?;
    let columns = schema::data_columns(conn, table)?;
    if columns.history && !server.has_insert_history() {
        log::warn!(
            "{}: this server cannot insert history rows (MariaDB 10.11 needed); dumping current rows only",
            table.qualified()
        );
    }
    let history = columns.history && server.has_insert_history();
    Ok((
        schema_file,
        TableRead {
            table: table.clone(),
            columns,
            history,
        },
    ))
}

/// Which rows of a table one data file holds: all of them, or one chunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowRange {
    /// `WHERE` condition (without the keyword) selecting the chunk.
    pub condition: Option<String>,
    /// 1-based chunk number; it names the file `table.00001.sql.zst`.
    pub chunk: Option<u32>,
}

fn table_dir(table: &TableInfo) -> String {
    file_name(&table.database)
}

fn schema_file(conn: &mut Conn, dir: &DumpDir, table: &TableInfo) -> Result<DumpedFile> {
    definition_file(conn, dir, table, FileKind::TableSchema, "")
}

fn sequence_file(conn: &mut Conn, dir: &DumpDir, table: &TableInfo) -> Result<DumpedFile> {
    let state: Option<(String, String)> = conn
        .query_first(format!(
            "SELECT next_not_cached_value, cycle_count FROM {}",
            table.qualified()
        ))
        .map_err(|e| statement_error(table, e))?;
    let (next, round) = state.ok_or_else(|| object_error(table, "it has no state row"))?;
    // SETVAL with is_used = 0 makes `next` the next value handed out, in the same cycle, as on the source.
    let setval = format!(
        "DO SETVAL({}, {}, 0, {});\n",
        quote_ident(&table.name),
        next.trim(),
        round.trim()
    );
    definition_file(conn, dir, table, FileKind::Sequence, &setval)
}

/// Writes the `SHOW CREATE TABLE` (or `SEQUENCE`) of `table`, then `after`, as a file of its own.
fn definition_file(
    conn: &mut Conn,
    dir: &DumpDir,
    table: &TableInfo,
    kind: FileKind,
    after: &str,
) -> Result<DumpedFile> {
    let (word, suffix) = match kind {
        FileKind::Sequence => ("sequence", "sequence"),
        _ => ("table", "schema"),
    };
    let object = format!("{word} {}", table.qualified());
    let row = schema::show_create(
        conn,
        &format!(
            "SHOW CREATE {} {}",
            word.to_ascii_uppercase(),
            table.qualified()
        ),
        &object,
    )?;
    let mut create = schema::column_text(&row, "Create Table", &object)?;
    if kind == FileKind::TableSchema && table.archive() {
        create = without_auto_increment_option(&create);
    }
    let rel = format!(
        "{}/{}.{suffix}.sql.zst",
        table_dir(table),
        file_name(&table.name)
    );
    let mut text = header(
        &object,
        Session {
            database: Some(&table.database),
            ..Session::default()
        },
    );
    text.push_str(&create);
    text.push_str(";\n");
    text.push_str(after);
    write_whole(dir, &rel, text.as_bytes(), kind, table)
}

fn write_whole(
    dir: &DumpDir,
    rel: &str,
    text: &[u8],
    kind: FileKind,
    table: &TableInfo,
) -> Result<DumpedFile> {
    let mut file = dir.sql_file(rel)?;
    file.write_all(text)?;
    let record = file.finish()?;
    Ok(DumpedFile {
        record,
        kind,
        database: Some(table.database.clone()),
        table: Some(table.name.clone()),
        rows: None,
        max_statement_bytes: None,
    })
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

/// Writes the data file of `range` (none when it holds no rows) and says what it held.
pub fn data_file(
    conn: &mut Conn,
    server: &Server,
    dir: &DumpDir,
    read: &TableRead,
    range: &RowRange,
    settings: TableSettings,
    progress: &dyn Progress,
) -> Result<(Option<DumpedFile>, StreamStats)> {
    let table = &read.table;
    let rel = match range.chunk {
        Some(n) => format!(
            "{}/{}.{n:05}.sql.zst",
            table_dir(table),
            file_name(&table.name)
        ),
        None => format!("{}/{}.sql.zst", table_dir(table), file_name(&table.name)),
    };
    let mut select = select_sql(server, table, &read.columns, read.history);
    if let Some(c) = &range.condition {
        select.sql.push_str(" WHERE ");
        select.sql.push_str(c);
    }
    let mut file: Option<SqlFile> = None;
    let id = match range.chunk {
        Some(n) => format!("{}.{}#{n}", table.database, table.name),
        None => format!("{}.{}", table.database, table.name),
    };
    let target = Target {
        dir,
        rel: &rel,
        id: &id,
        settings,
        progress,
    };
    match stream_rows(conn, read, &select, &target, &mut file) {
        Ok(stats) => {
            let record = match file {
                Some(f) => Some(f.finish()?),
                None => None,
            };
            let dumped = record.map(|record| DumpedFile {
                record,
                kind: FileKind::TableData,
                database: Some(table.database.clone()),
                table: Some(table.name.clone()),
                rows: Some(stats.fingerprint.rows()),
                max_statement_bytes: Some(stats.max_statement),
            });
            Ok((dumped, stats))
        }
        Err(e) => {
            drop(file);
            dir.remove_file(&rel);
            Err(e)
        }
    }
}

/// The fingerprint of a table's rows as they are now, read exactly as a dump reads them
/// (`mybak verify --restore-test` compares it with the one recorded at dump time).
pub fn table_fingerprint(
    conn: &mut Conn,
    server: &Server,
    table: &TableInfo,
) -> Result<Fingerprint> {
    let columns = schema::data_columns(conn, table)?;
    let history = columns.history && server.has_insert_history();
    let select = select_sql(server, table, &columns, history);
    fingerprint_rows(conn, table, &select)
}
