//! The columns and unique keys of every table a dump reads, from information_schema in a few
//! queries at its start instead of one or two per table, shared read-only by the workers.
//!
//! # Which definition a worker uses
//!
//! A table's rows must be read and inserted with the columns of the definition they are read
//! under. How the batch read here relates to that definition depends on the run:
//!
//! * **DDL held off** (the dump holds its DDL guard, `BACKUP STAGE BLOCK_DDL` or `LOCK INSTANCE
//!   FOR BACKUP`; in any `--consistency` mode where the account may take it): no definition can
//!   change from before the tables are listed again under the guard until the dump ends. The
//!   batch is read under the guard right after that listing, so it *is* the definition every
//!   table's rows are read under; lookups answer without any check ([`Details::exact`]).
//! * **No guard** (a server without one, or an account that may not take it, the usual case of
//!   `--consistency=per-table`): a table can be altered between the batch read and its turn.
//!   The worker reads the table's `SHOW CREATE TABLE` anyway, for its schema file; in per-table
//!   mode it does so inside the table's own transaction after taking the table's metadata lock
//!   (see [`crate::snapshot::begin_table_transaction`]), so that text is the definition the
//!   rows are read under. The batch columns are used only when that text still describes them
//!   ([`super::definition::matches`], which errs towards "changed"); otherwise
//!   [`Details::data_columns`] answers `None` and the worker reads the columns again with the
//!   per-table query, under the same lock. A table altered before its turn costs one query
//!   more; a table left alone costs none. So per-table mode keeps its guarantee (definition
//!   and columns both as under the table's lock) without a query per table, and in the other
//!   modes the column list can no longer disagree with the schema file written beside it.
//!
//!   Keys are read in the batch only with the guard, as the check covers columns, not keys:
//!   without it the few tables big enough to be cut into chunks (chunks are never cut in
//!   per-table mode) read their keys when they are opened, as before.
//!
//! # Cost
//!
//! COLUMNS is read for the tables whose rows are dumped, at most [`BATCH_TABLES`] tables per
//! query; STATISTICS only for the tables big enough to be cut into chunks, the only ones whose
//! keys are used (none in a database of thousands of small tables). Each query names its
//! tables (`TABLE_SCHEMA = … AND TABLE_NAME IN (…)`), a condition the server applies before it
//! opens a table, so views and tables left out of the dump are not opened.

use std::collections::BTreeMap;

use mysql::prelude::Queryable;
use mysql::{Conn, Row};

use super::columns::{
    data_columns_of, index_columns_of, ColumnRow, KeyRow, COLUMN_FIELDS, KEY_FIELDS,
};
use super::definition;
use super::{text, DataColumns, IndexColumn, TableInfo, TableKind};
use crate::error::{QueryContext, Result};
use crate::sql::ident::quote_string;

/// At most this many tables are named in one query.
pub const BATCH_TABLES: usize = 500;
/// At most about this many bytes of names go into one query (a server's max_allowed_packet is
/// at least 1 MiB by default).
const BATCH_BYTES: usize = 256 << 10;

/// `database → table → value`.
type ByTable<T> = BTreeMap<String, BTreeMap<String, T>>;

/// The columns (and, with the DDL guard, the unique keys) of the tables of a dump; see the
/// module documentation. `Default`: nothing read, every lookup answers `None`.
#[derive(Debug, Default)]
pub struct Details {
    columns: ByTable<Vec<ColumnRow>>,
    /// Only tables whose keys were read, those without a unique index too (empty).
    keys: ByTable<Vec<KeyRow>>,
    exact: bool,
    queries: usize,
}

/// Whether the dump reads `table`'s rows (and so needs its columns).
pub fn reads_rows(table: &TableInfo) -> bool {
    matches!(table.kind, TableKind::Base | TableKind::SystemVersioned)
        && table.rows_elsewhere().is_none()
}

impl Details {
    /// Reads the columns of every table of `tables` whose rows are dumped, and, when `exact`
    /// (DDL is held off from before `tables` were listed until the dump ends), the unique keys
    /// of those for which `chunked` says they may be cut into chunks.
    pub fn read(
        conn: &mut Conn,
        tables: &[TableInfo],
        exact: bool,
        chunked: impl Fn(&TableInfo) -> bool,
    ) -> Result<Details> {
        let with_rows: Vec<&TableInfo> = tables.iter().filter(|t| reads_rows(t)).collect();
        let keyed: Vec<&TableInfo> = if exact {
            with_rows.iter().copied().filter(|t| chunked(t)).collect()
        } else {
            Vec::new()
        };
        let mut columns = Vec::new();
        let mut queries = 0;
        for names in conditions(&with_rows, BATCH_TABLES, BATCH_BYTES) {
            let rows: Vec<Row> = conn
                .query(format!(
                    "SELECT TABLE_SCHEMA, TABLE_NAME, {COLUMN_FIELDS} FROM information_schema.COLUMNS \
                     WHERE {names} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
                ))
                .context(|| "reading the columns of the selected tables".to_string())?;
            queries += 1;
            columns.extend(
                rows.iter()
                    .map(|r| (text(r, 0), text(r, 1), ColumnRow::from_row(r, 2))),
            );
        }
        let mut keys = Vec::new();
        for names in conditions(&keyed, BATCH_TABLES, BATCH_BYTES) {
            let rows: Vec<Row> = conn
                .query(format!(
                    "SELECT TABLE_SCHEMA, TABLE_NAME, {KEY_FIELDS} FROM information_schema.STATISTICS \
                     WHERE {names} AND NON_UNIQUE = 0 \
                     ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
                ))
                .context(|| "reading the unique keys of the tables to cut into chunks".to_string())?;
            queries += 1;
            keys.extend(
                rows.iter()
                    .map(|r| (text(r, 0), text(r, 1), KeyRow::from_row(r, 2))),
            );
        }
        let mut details = Details::from_rows(exact, columns, &keyed, keys);
        details.queries = queries;
        Ok(details)
    }

    /// Groups result rows (database, table, row; each table's rows in order) by table. `keyed`:
    /// the tables whose keys were read.
    pub fn from_rows(
        exact: bool,
        columns: Vec<(String, String, ColumnRow)>,
        keyed: &[&TableInfo],
        keys: Vec<(String, String, KeyRow)>,
    ) -> Details {
        let mut details = Details {
            exact,
            ..Details::default()
        };
        for (db, table, row) in columns {
            details
                .columns
                .entry(db)
                .or_default()
                .entry(table)
                .or_default()
                .push(row);
        }
        for t in keyed {
            details
                .keys
                .entry(t.database.clone())
                .or_default()
                .insert(t.name.clone(), Vec::new());
        }
        for (db, table, row) in keys {
            if let Some(rows) = details.keys.get_mut(&db).and_then(|d| d.get_mut(&table)) {
                rows.push(row);
            }
        }
        details
    }

    /// Whether the details are those of every table until the dump ends (DDL is held off).
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// How many queries [`Details::read`] took.
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// How many tables have their columns here.
    pub fn tables(&self) -> usize {
        self.columns.values().map(BTreeMap::len).sum()
    }

    fn rows<'a, T>(map: &'a ByTable<T>, table: &TableInfo) -> Option<&'a T> {
        map.get(&table.database)?.get(&table.name)
    }

    /// The data columns of `table` (see [`super::data_columns`]), when the batch has them as
    /// its rows are read: always with the DDL guard; without it, when `create`, the table's
    /// `SHOW CREATE TABLE` as read for this dump of it, still describes them. `None`: read
    /// them from the server now.
    pub fn data_columns(&self, table: &TableInfo, create: &str) -> Option<DataColumns> {
        let rows = Self::rows(&self.columns, table)?;
        if !self.exact && !definition::matches(create, rows) {
            log::debug!(
                "{}: its definition is not the one read when the dump began; its columns are read again",
                table.qualified()
            );
            return None;
        }
        data_columns_of(table, rows).ok()
    }

    /// The columns of `table`'s unique indexes (see [`super::unique_index_columns`]), when the
    /// batch has them (the DDL guard is held and the table may be cut into chunks). `None`:
    /// read them from the server now.
    pub fn unique_index_columns(&self, table: &TableInfo) -> Option<Vec<IndexColumn>> {
        if !self.exact {
            return None;
        }
        let keys = Self::rows(&self.keys, table)?;
        let columns = Self::rows(&self.columns, table).map_or(&[][..], Vec::as_slice);
        Some(index_columns_of(keys, columns))
    }
}

/// `WHERE` conditions that together name every table of `tables`, each at most `max_tables`
/// tables and about `max_bytes` long: `(TABLE_SCHEMA = 'd' AND TABLE_NAME IN ('a','b')) OR …`.
fn conditions(tables: &[&TableInfo], max_tables: usize, max_bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut count, mut bytes) = (0usize, 0usize);
    for t in tables {
        let name = quote_string(&t.name);
        let cost = name.len()
            + 1
            + if batch.contains_key(t.database.as_str()) {
                0
            } else {
                t.database.len() + 50
            };
        if count > 0 && (count >= max_tables || bytes + cost > max_bytes) {
            out.push(condition(&batch));
            batch.clear();
            (count, bytes) = (0, 0);
        }
        batch.entry(t.database.as_str()).or_default().push(name);
        count += 1;
        bytes += cost;
    }
    if count > 0 {
        out.push(condition(&batch));
    }
    out
}

fn condition(batch: &BTreeMap<&str, Vec<String>>) -> String {
    let parts: Vec<String> = batch
        .iter()
        .map(|(db, names)| {
            format!(
                "TABLE_SCHEMA = {} AND TABLE_NAME IN ({})",
                quote_string(db),
                names.join(",")
            )
        })
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => format!("(({}))", parts.join(") OR (")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::columns::tests::row;
    use super::*;

    fn table(db: &str, name: &str, kind: TableKind, engine: &str) -> TableInfo {
        TableInfo {
            database: db.into(),
            name: name.into(),
            kind,
            engine: Some(engine.into()),
            estimated_rows: 0,
            estimated_bytes: 0,
        }
    }

    fn base(db: &str, name: &str) -> TableInfo {
        table(db, name, TableKind::Base, "InnoDB")
    }

    #[test]
    fn conditions_name_every_table_in_bounded_batches() {
        let ts = [
            base("a", "t1"),
            base("a", "t2"),
            base("b", "it's"),
            base("c", "t1"),
        ];
        let all: Vec<&TableInfo> = ts.iter().collect();
        let cases: Vec<(usize, usize, Vec<&str>)> = vec![
            (
                500,
                1 << 20,
                vec![
                    "((TABLE_SCHEMA = 'a' AND TABLE_NAME IN ('t1','t2')) OR (TABLE_SCHEMA = 'b' \
                     AND TABLE_NAME IN ('it\\'s')) OR (TABLE_SCHEMA = 'c' AND TABLE_NAME IN ('t1')))",
                ],
            ),
            (
                2,
                1 << 20,
                vec![
                    "TABLE_SCHEMA = 'a' AND TABLE_NAME IN ('t1','t2')",
                    "((TABLE_SCHEMA = 'b' AND TABLE_NAME IN ('it\\'s')) OR (TABLE_SCHEMA = 'c' \
                     AND TABLE_NAME IN ('t1')))",
                ],
            ),
            // A byte budget smaller than one table still names each table once.
            (
                500,
                1,
                vec![
                    "TABLE_SCHEMA = 'a' AND TABLE_NAME IN ('t1')",
                    "TABLE_SCHEMA = 'a' AND TABLE_NAME IN ('t2')",
                    "TABLE_SCHEMA = 'b' AND TABLE_NAME IN ('it\\'s')",
                    "TABLE_SCHEMA = 'c' AND TABLE_NAME IN ('t1')",
                ],
            ),
            (500, 1 << 20, vec![]),
        ];
        for (i, (max_tables, max_bytes, want)) in cases.into_iter().enumerate() {
            let tables = if want.is_empty() { &all[..0] } else { &all[..] };
            assert_eq!(conditions(tables, max_tables, max_bytes), want, "case {i}");
        }
        let many: Vec<TableInfo> = (0..1234).map(|i| base("d", &format!("t{i}"))).collect();
        let refs: Vec<&TableInfo> = many.iter().collect();
        let batches = conditions(&refs, BATCH_TABLES, BATCH_BYTES);
        assert_eq!(batches.len(), 3);
        let named: usize = batches.iter().map(|b| b.matches("'t").count()).sum();
        assert_eq!(named, 1234);
    }

    #[test]
    fn only_tables_with_rows_of_their_own_need_columns() {
        let cases = [
            (TableKind::Base, "InnoDB", true),
            (TableKind::SystemVersioned, "InnoDB", true),
            (TableKind::Base, "MyISAM", true),
            (TableKind::Base, "BLACKHOLE", false),
            (TableKind::Base, "MRG_MyISAM", false),
            (TableKind::View, "InnoDB", false),
            (TableKind::Sequence, "InnoDB", false),
        ];
        for (kind, engine, want) in cases {
            assert_eq!(
                reads_rows(&table("d", "t", kind, engine)),
                want,
                "{kind:?} {engine}"
            );
        }
    }

    fn sample(exact: bool) -> Details {
        let int = |n: &str| {
            let mut r = row(n, "int", "int(11)", None, None);
            r.nullable = false;
            r
        };
        let columns = vec![
            ("d".into(), "t".into(), int("id")),
            (
                "d".into(),
                "t".into(),
                row("c", "text", "text", Some("latin1"), None),
            ),
            ("d".into(), "u".into(), int("k")),
            ("e".into(), "t".into(), int("x")),
        ];
        let key = |index: &str, column: &str| KeyRow {
            index: index.into(),
            column: column.into(),
            prefix: false,
        };
        let keys = vec![
            ("d".into(), "t".into(), key("PRIMARY", "id")),
            // Rows of a table whose keys were not asked for are dropped.
            ("e".into(), "t".into(), key("PRIMARY", "x")),
        ];
        let (t, u) = (base("d", "t"), base("d", "u"));
        Details::from_rows(exact, columns, &[&t, &u], keys)
    }

    const T: &str = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `c` text DEFAULT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=latin1";
    const T_ALTERED: &str = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `c` text DEFAULT NULL,\n  `n` int(11) DEFAULT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=latin1";

    #[test]
    fn lookups_are_exact_with_the_guard_and_checked_without() {
        let names = |c: Option<DataColumns>| {
            c.map(|c| c.columns.into_iter().map(|c| c.name).collect::<Vec<_>>())
        };
        let exact = sample(true);
        assert_eq!(exact.tables(), 3);
        assert_eq!(
            names(exact.data_columns(&base("d", "t"), T)),
            Some(vec!["id".into(), "c".into()])
        );
        // Under the guard the batch is the definition: the text is not even looked at.
        assert_eq!(
            names(exact.data_columns(&base("d", "t"), "")),
            Some(vec!["id".into(), "c".into()])
        );
        assert_eq!(exact.data_columns(&base("d", "gone"), T), None);
        assert_eq!(exact.data_columns(&base("x", "t"), T), None);
        let keys = exact.unique_index_columns(&base("d", "t")).unwrap();
        assert_eq!(
            (
                keys.len(),
                keys[0].column.as_str(),
                keys[0].data_type.as_str(),
                keys[0].nullable
            ),
            (1, "id", "int", false)
        );
        assert_eq!(exact.unique_index_columns(&base("d", "u")), Some(vec![]));
        assert_eq!(exact.unique_index_columns(&base("e", "t")), None);

        let checked = sample(false);
        assert_eq!(
            names(checked.data_columns(&base("d", "t"), T)),
            Some(vec!["id".into(), "c".into()])
        );
        assert_eq!(checked.data_columns(&base("d", "t"), T_ALTERED), None);
        assert_eq!(checked.data_columns(&base("d", "t"), ""), None);
        // Without the guard, keys are always read when needed.
        assert_eq!(checked.unique_index_columns(&base("d", "t")), None);
        assert_eq!(Details::default().data_columns(&base("d", "t"), T), None);
    }
}
