//! One table's files: its `CREATE TABLE` (or `CREATE SEQUENCE` with its state) and its rows as INSERTs.

use crate::conn::DataConn;

use crate::dump::fingerprint::Fingerprint;
use crate::dump::rows::{fingerprint_rows, stream_rows, StreamStats, Target};
use crate::dump::select::{
    object_error, select_sql, statement_error, RowRange, TableRead, TableSettings,
};
use crate::dump::{DumpedFile, Job};
use crate::error::Result;
use crate::manifest::{FileKind, TableEntry};
use crate::progress::Progress;
use crate::schema::{self, Details, TableInfo, TableKind};
use crate::sink::SqlFile;
use crate::snapshot::Server;
use crate::sql::create::without_auto_increment_option;
use crate::sql::ident::{file_name, quote_ident};
use crate::sql::script::{header, Session};
use crate::store::DumpDir;

/// What dumping one table produced.
#[derive(Debug)]
pub struct TableOutput {
    pub files: Vec<DumpedFile>,
    /// Base tables only: rows, bytes and fingerprint.
    pub entry: Option<TableEntry>,
}

/// Writes the schema file and the data file of `job`'s table.
pub fn dump_table(
    conn: &mut DataConn,
    server: &Server,
    dir: &DumpDir,
    job: &Job,
    settings: TableSettings,
    progress: &dyn Progress,
    details: &Details,
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
                    files: vec![schema_file(conn, dir, table)?.0],
                    entry: None,
                })
            }
            None => table_with_rows(conn, server, dir, table, settings, progress, details),
        },
    }
}

/// The schema file and the data file of a base table read in one stream.
fn table_with_rows(
    conn: &mut DataConn,
    server: &Server,
    dir: &DumpDir,
    table: &TableInfo,
    settings: TableSettings,
    progress: &dyn Progress,
    details: &Details,
) -> Result<TableOutput> {
    let (schema_file, read) = open_table(conn, server, dir, table, details)?;
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

/// Writes the table's schema file and says how its rows are to be read: with the columns of
/// `details` when they are those of the definition just written, else with its columns read now.
pub fn open_table(
    conn: &mut DataConn,
    server: &Server,
    dir: &DumpDir,
    table: &TableInfo,
    details: &Details,
) -> Result<(DumpedFile, TableRead)> {
    let (schema_file, create) = schema_file(conn, dir, table)?;
    let columns = match details.data_columns(table, &create) {
        Some(columns) => columns,
        None => schema::data_columns(conn, table)?,
    };
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

fn table_dir(table: &TableInfo) -> String {
    file_name(&table.database)
}

/// The table's schema file, and the `SHOW CREATE TABLE` text it holds (as the server gave it).
fn schema_file(
    conn: &mut DataConn,
    dir: &DumpDir,
    table: &TableInfo,
) -> Result<(DumpedFile, String)> {
    definition_file(conn, dir, table, FileKind::TableSchema, "")
}

fn sequence_file(conn: &mut DataConn, dir: &DumpDir, table: &TableInfo) -> Result<DumpedFile> {
    let state: Option<(String, String)> = conn
        .query_first(&format!(
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
    Ok(definition_file(conn, dir, table, FileKind::Sequence, &setval)?.0)
}

/// Writes the `SHOW CREATE TABLE` (or `SEQUENCE`) of `table`, then `after`, as a file of its own;
/// returns it with the `SHOW CREATE` text as the server gave it.
fn definition_file(
    conn: &mut DataConn,
    dir: &DumpDir,
    table: &TableInfo,
    kind: FileKind,
    after: &str,
) -> Result<(DumpedFile, String)> {
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
    let shown = schema::column_text(&row, "Create Table", &object)?;
    let create = if kind == FileKind::TableSchema && table.archive() {
        without_auto_increment_option(&shown)
    } else {
        shown.clone()
    };
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
    Ok((write_whole(dir, &rel, text.as_bytes(), kind, table)?, shown))
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

/// Writes the data file of `range` (none when it holds no rows) and says what it held.
pub fn data_file(
    conn: &mut DataConn,
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
    // The table's id, chunk or not, as `table_started` and `planned` name it.
    let id = format!("{}.{}", table.database, table.name);
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
    conn: &mut DataConn,
    server: &Server,
    table: &TableInfo,
) -> Result<Fingerprint> {
    let columns = schema::data_columns(conn, table)?;
    let history = columns.history && server.has_insert_history();
    let select = select_sql(server, table, &columns, history);
    fingerprint_rows(conn, table, &select)
}
