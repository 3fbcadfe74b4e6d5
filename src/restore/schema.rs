//! The first phase of a restore: databases, sequences and tables, each table's secondary indexes
//! held back until its rows are in where that is safe and worth it (see [`defers`]).

use std::collections::{BTreeMap, BTreeSet};

use mysql::Conn;

use crate::error::Result;
use crate::manifest::{FileKind, ManifestFile};
use crate::restore::load::read_statements;
use crate::restore::rewrite::{defer_indexes, referenced_tables};
use crate::restore::Run;

/// By default tables with less SQL than this keep their indexes in their `CREATE TABLE`: the extra
/// `ALTER TABLE` (a connection, a DDL commit) costs about what building the index from sorted
/// rows saves (measured in BENCHMARKS.md).
pub const DEFAULT_DEFER_MIN_BYTES: u64 = 4 << 20;

/// (source database, table).
pub(super) type TableKey = (String, String);

/// A table's secondary indexes held back until its rows are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Deferred {
    /// The table's definition file, which a failure names.
    pub path: String,
    /// The index definitions, as `SHOW CREATE TABLE` writes them.
    pub keys: Vec<String>,
}

/// Whether a table may have its indexes deferred at all: asked for, not involved in foreign keys
/// (a foreign key needs an index on both sides when it is created), and with at least
/// `min_bytes` of rows, enough to be worth an `ALTER TABLE`. What its definition allows is
/// [`defer_indexes`]' part.
fn defers(asked: bool, referenced: bool, data_bytes: u64, min_bytes: u64) -> bool {
    asked && !referenced && data_bytes >= min_bytes
}

/// Bytes of SQL in each table's data files.
fn data_bytes<'m>(files: impl Iterator<Item = &'m ManifestFile>) -> BTreeMap<TableKey, u64> {
    let mut sizes = BTreeMap::new();
    for f in files.filter(|f| f.kind == FileKind::TableData) {
        if let (Some(db), Some(t)) = (&f.database, &f.table) {
            let n: &mut u64 = sizes.entry((db.clone(), t.clone())).or_default();
            *n = n.saturating_add(f.sql_bytes);
        }
    }
    sizes
}

/// Creates databases, sequences and tables on `conn`; returns the indexes held back per table.
pub(super) fn create_tables(
    run: &mut Run<'_>,
    conn: &mut Conn,
) -> Result<BTreeMap<TableKey, Deferred>> {
    let files = run.plan.files.clone();
    for f in files.iter().filter(|f| f.kind == FileKind::Database) {
        run.load(conn, f, &mut |_| None);
    }
    let asked = run.settings.defer_indexes;
    let referenced = if asked {
        referenced_by_foreign_keys(run)
    } else {
        BTreeSet::new()
    };
    let sizes = data_bytes(files.iter().copied());
    let mut deferred = BTreeMap::new();
    for kind in [FileKind::Sequence, FileKind::TableSchema] {
        for f in files.iter().filter(|f| f.kind == kind) {
            let key = match (&f.database, &f.table) {
                (Some(db), Some(t)) => (db.clone(), t.clone()),
                _ => (String::new(), String::new()),
            };
            let defer = kind == FileKind::TableSchema
                && defers(
                    asked,
                    referenced.contains(&key),
                    sizes.get(&key).copied().unwrap_or(0),
                    run.settings.defer_min_bytes,
                );
            let mut held: Option<Vec<String>> = None;
            let mut edit = |sql: &str| -> Option<String> {
                if !defer || !sql.starts_with("CREATE TABLE ") {
                    return None;
                }
                match defer_indexes(sql) {
                    Ok(d) => {
                        held = Some(d.keys);
                        Some(d.create)
                    }
                    Err(why) => {
                        log::debug!("{}: indexes created with the table: {why}", f.path);
                        None
                    }
                }
            };
            if run.load(conn, f, &mut edit) {
                if let Some(keys) = held {
                    let path = f.path.clone();
                    deferred.insert(key, Deferred { path, keys });
                }
            }
        }
    }
    Ok(deferred)
}

/// Tables that foreign keys point at: their indexes stay in the CREATE TABLE, since a foreign key
/// may need one of them.
fn referenced_by_foreign_keys(run: &Run<'_>) -> BTreeSet<TableKey> {
    let mut set = BTreeSet::new();
    for f in run
        .plan
        .files
        .iter()
        .filter(|f| f.kind == FileKind::TableSchema)
    {
        let Some(db) = &f.database else { continue };
        let Ok(statements) = read_statements(run.dump, f) else {
            continue;
        };
        for (_, _, sql) in statements {
            for (ref_db, table) in referenced_tables(&sql) {
                set.insert((ref_db.unwrap_or_else(|| db.clone()), table));
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: FileKind, table: &str, sql_bytes: u64) -> ManifestFile {
        ManifestFile {
            path: format!("d/{table}.sql.zst"),
            sha256: String::new(),
            bytes: 0,
            sql_bytes,
            kind,
            database: Some("d".into()),
            table: Some(table.into()),
            rows: None,
            max_statement_bytes: None,
            etag: None,
        }
    }

    #[test]
    fn data_bytes_add_up_the_chunks_of_each_table() {
        let files = [
            file(FileKind::TableSchema, "t", 500),
            file(FileKind::TableData, "t", 3 << 20),
            file(FileKind::TableData, "t", 2 << 20),
            file(FileKind::TableData, "u", 10),
        ];
        let sizes = data_bytes(files.iter());
        assert_eq!(sizes.get(&("d".into(), "t".into())), Some(&(5 << 20)));
        assert_eq!(sizes.get(&("d".into(), "u".into())), Some(&10));
        assert_eq!(sizes.len(), 2);
    }

    #[test]
    fn only_tables_asked_for_unreferenced_and_big_enough_defer() {
        let min = DEFAULT_DEFER_MIN_BYTES;
        assert!(defers(true, false, min, min));
        assert!(!defers(false, false, min, min));
        assert!(!defers(true, true, min, min));
        assert!(!defers(true, false, min - 1, min));
        assert!(!defers(true, false, 0, min));
        // A minimum of 0: every table, even one without rows.
        assert!(defers(true, false, 0, 0));
        assert!(!defers(true, true, 0, 0));
    }
}
