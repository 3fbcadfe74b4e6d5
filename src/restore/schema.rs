//! The first phase of a restore: databases, sequences and tables, with secondary indexes held back
//! when `--defer-indexes` asks for it.

use std::collections::{BTreeMap, BTreeSet};

use mysql::Conn;

use crate::error::Result;
use crate::manifest::FileKind;
use crate::restore::load::read_statements;
use crate::restore::rewrite::{defer_indexes, referenced_tables};
use crate::restore::Run;
use crate::sql::ident::quote_ident;

/// Creates databases, sequences and tables on `conn`; returns, per (source database, table), the
/// `ALTER TABLE` that adds the indexes held back.
pub(super) fn create_tables(
    run: &mut Run<'_>,
    conn: &mut Conn,
) -> Result<BTreeMap<(String, String), String>> {
    let files = run.plan.files.clone();
    for f in files.iter().filter(|f| f.kind == FileKind::Database) {
        run.load(conn, f, &mut |_| None);
    }
    let referenced = if run.settings.defer_indexes {
        referenced_by_foreign_keys(run)
    } else {
        BTreeSet::new()
    };
    let mut deferred = BTreeMap::new();
    for kind in [FileKind::Sequence, FileKind::TableSchema] {
        for f in files.iter().filter(|f| f.kind == kind) {
            let key = match (&f.database, &f.table) {
                (Some(db), Some(t)) => (db.clone(), t.clone()),
                _ => (String::new(), String::new()),
            };
            let defer = run.settings.defer_indexes
                && kind == FileKind::TableSchema
                && !referenced.contains(&key);
            let mut held: Option<String> = None;
            let mut edit = |sql: &str| -> Option<String> {
                if !defer || !sql.starts_with("CREATE TABLE ") {
                    return None;
                }
                let d = defer_indexes(sql, &quote_ident(&key.1))?;
                held = Some(d.alter);
                Some(d.create)
            };
            if run.load(conn, f, &mut edit) {
                if let Some(alter) = held {
                    deferred.insert(key, alter);
                }
            }
        }
    }
    Ok(deferred)
}

/// Tables that foreign keys point at: their indexes stay in the CREATE TABLE, since a foreign key
/// may need one of them.
fn referenced_by_foreign_keys(run: &Run<'_>) -> BTreeSet<(String, String)> {
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
