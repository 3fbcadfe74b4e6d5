//! The columns and unique keys of a table as information_schema describes them, as plain rows,
//! and the pure steps from those rows to what a data dump reads ([`DataColumns`]) and what its
//! chunk key is chosen from ([`IndexColumn`]). The per-table reads and the batch read of the
//! whole dump ([`super::Details`]) both go through here, so they cannot disagree.

use std::collections::BTreeMap;

use mysql::Row;

use super::{opt_text, text, Column, DataColumns, IndexColumn, TableInfo, TableKind};
use crate::error::{Error, Result};

/// The information_schema.COLUMNS fields [`ColumnRow::from_row`] reads, in its order.
pub(super) const COLUMN_FIELDS: &str = "COLUMN_NAME, DATA_TYPE, IS_GENERATED, \
     GENERATION_EXPRESSION, COLUMN_TYPE, CHARACTER_SET_NAME, IS_NULLABLE";

/// The information_schema.STATISTICS fields [`KeyRow::from_row`] reads, in its order.
pub(super) const KEY_FIELDS: &str = "INDEX_NAME, COLUMN_NAME, SUB_PART";

/// One row of information_schema.COLUMNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRow {
    pub name: String,
    /// DATA_TYPE as the server gives it.
    pub data_type: String,
    /// COLUMN_TYPE (`int(10) unsigned`, `enum('a','')`, …).
    pub column_type: String,
    /// CHARACTER_SET_NAME; `None` for columns without one.
    pub charset: Option<String>,
    /// IS_GENERATED is `ALWAYS`.
    pub generated: bool,
    /// GENERATION_EXPRESSION (`ROW START`, `ROW END` for system-versioning period columns).
    pub expression: Option<String>,
    /// IS_NULLABLE is `YES`.
    pub nullable: bool,
}

/// How a column gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Stored as written.
    Stored,
    /// Computed from an expression (`GENERATED ALWAYS AS (…)`): not dumped.
    Expression,
    /// The system-versioning row start (`GENERATED ALWAYS AS ROW START`): dumped.
    RowStart,
    /// The system-versioning row end: dumped.
    RowEnd,
}

impl ColumnRow {
    /// Reads the [`COLUMN_FIELDS`] of `row`, which start at field `at`.
    pub(super) fn from_row(row: &Row, at: usize) -> ColumnRow {
        ColumnRow {
            name: text(row, at),
            data_type: text(row, at + 1),
            generated: text(row, at + 2) == "ALWAYS",
            expression: opt_text(row, at + 3),
            column_type: text(row, at + 4),
            charset: opt_text(row, at + 5),
            nullable: text(row, at + 6) == "YES",
        }
    }

    /// How the column gets its value.
    pub fn generation(&self) -> Generation {
        match (self.generated, self.expression.as_deref()) {
            (false, _) => Generation::Stored,
            (true, Some("ROW START")) => Generation::RowStart,
            (true, Some("ROW END")) => Generation::RowEnd,
            (true, _) => Generation::Expression,
        }
    }
}

/// One row of information_schema.STATISTICS for a unique index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub index: String,
    pub column: String,
    /// SUB_PART is set: a prefix index.
    pub prefix: bool,
}

impl KeyRow {
    /// Reads the [`KEY_FIELDS`] of `row`, which start at field `at`.
    pub(super) fn from_row(row: &Row, at: usize) -> KeyRow {
        KeyRow {
            index: text(row, at),
            column: text(row, at + 1),
            prefix: opt_text(row, at + 2).is_some(),
        }
    }
}

/// The columns a data dump of `table` selects and inserts, from its COLUMNS rows in ordinal
/// order: generated columns are left out, invisible ones and system-versioning row start/end
/// are in (the implicit `ROW_START`/`ROW_END` of a system-versioned table without a period of
/// its own, which information_schema does not list, are added). No rows: the account sees no
/// column of the table, or it is gone.
pub fn data_columns_of(table: &TableInfo, rows: &[ColumnRow]) -> Result<DataColumns> {
    if rows.is_empty() {
        return Err(Error::Object {
            object: format!("table {}", table.qualified()),
            message: "no column of it is visible to this account (a missing SELECT privilege, or the table was dropped)".to_string(),
        });
    }
    let history = table.kind == TableKind::SystemVersioned;
    let mut columns = Vec::new();
    let mut explicit_period = false;
    for r in rows {
        match r.generation() {
            Generation::Expression => continue,
            Generation::RowStart | Generation::RowEnd => explicit_period = true,
            Generation::Stored => {}
        }
        columns.push(Column {
            name: r.name.clone(),
            data_type: r.data_type.to_ascii_lowercase(),
            column_type: r.column_type.clone(),
            charset: r.charset.clone(),
        });
    }
    if history && !explicit_period {
        for name in ["ROW_START", "ROW_END"] {
            columns.push(Column {
                name: name.to_string(),
                data_type: "timestamp".to_string(),
                column_type: "timestamp(6)".to_string(),
                charset: None,
            });
        }
    }
    Ok(DataColumns { columns, history })
}

/// The columns of a table's unique indexes (`keys`, in index and sequence order) with their
/// types and nullability from the table's `columns`, for choosing a chunk key.
pub fn index_columns_of(keys: &[KeyRow], columns: &[ColumnRow]) -> Vec<IndexColumn> {
    let types: BTreeMap<&str, (String, bool)> = columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                (c.data_type.to_ascii_lowercase(), c.nullable),
            )
        })
        .collect();
    keys.iter()
        .map(|k| {
            let (data_type, nullable) = types.get(k.column.as_str()).cloned().unwrap_or_default();
            IndexColumn {
                index: k.index.clone(),
                column: k.column.clone(),
                data_type,
                nullable,
                prefix: k.prefix,
            }
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A COLUMNS row: `name`, DATA_TYPE, COLUMN_TYPE, charset, GENERATION_EXPRESSION (generated
    /// when set), nullable.
    pub fn row(
        name: &str,
        data_type: &str,
        column_type: &str,
        charset: Option<&str>,
        expression: Option<&str>,
    ) -> ColumnRow {
        ColumnRow {
            name: name.into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            charset: charset.map(str::to_string),
            generated: expression.is_some(),
            expression: expression.map(str::to_string),
            nullable: true,
        }
    }

    fn table(kind: TableKind) -> TableInfo {
        TableInfo {
            database: "d".into(),
            name: "t".into(),
            kind,
            engine: Some("InnoDB".into()),
            estimated_rows: 0,
            estimated_bytes: 0,
        }
    }

    fn names(c: &DataColumns) -> Vec<&str> {
        c.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn data_columns_leave_out_generated_and_add_implicit_periods() {
        let id = row("id", "INT", "int(11)", None, None);
        let txt = row("c", "varchar", "varchar(10)", Some("sjis"), None);
        let virt = row("g", "int", "int(11)", None, Some("`id` + 1"));
        let start = row("rs", "timestamp", "timestamp(6)", None, Some("ROW START"));
        let end = row("re", "timestamp", "timestamp(6)", None, Some("ROW END"));
        let cases: Vec<(TableKind, Vec<ColumnRow>, &[&str], bool)> = vec![
            (
                TableKind::Base,
                vec![id.clone(), txt.clone()],
                &["id", "c"],
                false,
            ),
            (
                TableKind::Base,
                vec![id.clone(), virt.clone(), txt.clone()],
                &["id", "c"],
                false,
            ),
            (TableKind::Base, vec![virt.clone()], &[], false),
            (
                TableKind::SystemVersioned,
                vec![id.clone(), txt.clone()],
                &["id", "c", "ROW_START", "ROW_END"],
                true,
            ),
            (
                TableKind::SystemVersioned,
                vec![id.clone(), start, end, virt],
                &["id", "rs", "re"],
                true,
            ),
        ];
        for (kind, rows, want, history) in cases {
            let got = data_columns_of(&table(kind), &rows).unwrap();
            assert_eq!(names(&got), want, "{rows:?}");
            assert_eq!(got.history, history, "{rows:?}");
        }
        let got = data_columns_of(&table(TableKind::Base), &[id, txt]).unwrap();
        assert_eq!(got.columns[0].data_type, "int", "DATA_TYPE is lower-cased");
        assert_eq!(got.columns[1].charset.as_deref(), Some("sjis"));
        let implicit = data_columns_of(
            &table(TableKind::SystemVersioned),
            &[row("x", "int", "int(11)", None, None)],
        )
        .unwrap();
        assert_eq!(implicit.columns[1].column_type, "timestamp(6)");
        let err = data_columns_of(&table(TableKind::Base), &[]).unwrap_err();
        assert!(
            err.to_string().contains("`d`.`t`") && err.to_string().contains("no column"),
            "{err}"
        );
    }

    #[test]
    fn key_columns_take_type_and_nullability_from_the_columns() {
        let key = |index: &str, column: &str, prefix| KeyRow {
            index: index.into(),
            column: column.into(),
            prefix,
        };
        let mut nullable = row("u", "VARCHAR", "varchar(10)", Some("utf8mb4"), None);
        let mut id = row("id", "BIGINT", "bigint(20)", None, None);
        id.nullable = false;
        nullable.nullable = true;
        let got = index_columns_of(
            &[
                key("PRIMARY", "id", false),
                key("u", "u", true),
                key("gone", "x", false),
            ],
            &[id, nullable],
        );
        let want = [
            ("PRIMARY", "id", "bigint", false, false),
            ("u", "u", "varchar", true, true),
            // A key column the account cannot see: no type, so never a chunk key.
            ("gone", "x", "", false, false),
        ];
        assert_eq!(got.len(), want.len());
        for (g, (index, column, ty, nullable, prefix)) in got.iter().zip(want) {
            assert_eq!(
                (
                    g.index.as_str(),
                    g.column.as_str(),
                    g.data_type.as_str(),
                    g.nullable,
                    g.prefix
                ),
                (index, column, ty, nullable, prefix)
            );
        }
        assert!(index_columns_of(&[], &[]).is_empty());
    }
}
