//! What the server holds: databases, tables, views, sequences, routines, triggers and events, and their definitions.

mod columns;
mod definition;
mod details;

use mysql::prelude::Queryable;
use mysql::{Conn, Row};

use crate::conn::Session;
use crate::error::{Error, QueryContext, Result};
use crate::filter::Filter;
use crate::sql::charset::lossless_through_utf8mb4;
use crate::sql::ident::{qualified, quote_ident, quote_string};

pub use columns::{data_columns_of, index_columns_of, ColumnRow, Generation, KeyRow};
use columns::{COLUMN_FIELDS, KEY_FIELDS};
pub use details::Details;

/// What kind of relation an entry of information_schema.TABLES is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Base,
    SystemVersioned,
    View,
    Sequence,
}

/// A table, view or sequence as listed before the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub database: String,
    pub name: String,
    pub kind: TableKind,
    pub engine: Option<String>,
    /// information_schema's estimate of the rows the dump reads (0 for tables without rows of their own).
    pub estimated_rows: u64,
    /// information_schema's estimate of the data size the dump reads.
    pub estimated_bytes: u64,
}

impl TableInfo {
    /// `` `db`.`name` ``.
    pub fn qualified(&self) -> String {
        qualified(&self.database, &self.name)
    }

    /// Whether a consistent-snapshot transaction covers this table's rows.
    pub fn transactional(&self) -> bool {
        match self
            .engine
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("innodb") | Some("rocksdb") | Some("tokudb") | None => true,
            Some(_) => false,
        }
    }

    /// Whether the engine is ARCHIVE: it refuses an explicit AUTO_INCREMENT value not above those it
    /// holds, so its rows load in the order they were read, in one stream, into a table created
    /// without its `AUTO_INCREMENT=n` counter.
    pub fn archive(&self) -> bool {
        self.engine
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("ARCHIVE"))
    }

    /// Why the table's rows are not dumped, when its engine keeps none of its own (see
    /// [`rows_elsewhere`]); only its definition is.
    pub fn rows_elsewhere(&self) -> Option<&'static str> {
        match self.kind {
            TableKind::Base | TableKind::SystemVersioned => rows_elsewhere(self.engine.as_deref()?),
            TableKind::View | TableKind::Sequence => None,
        }
    }
}

/// Why a table of `engine` has no rows of its own to dump, or `None` when it has: dumping the rows
/// of a MERGE table would insert its underlying tables' rows twice on restore, those of a FEDERATED
/// table would copy the remote server's rows into it.
pub fn rows_elsewhere(engine: &str) -> Option<&'static str> {
    Some(match engine.to_ascii_uppercase().as_str() {
        "MRG_MYISAM" | "MERGE" | "MRG_MYISAM_MERGE" => {
            "MERGE table: its rows are those of the tables it merges, which are dumped themselves"
        }
        "FEDERATED" | "FEDERATEDX" => {
            "FEDERATED table: its rows live on the server its CONNECTION names"
        }
        "CONNECT" => "CONNECT table: its rows live in the external source it is defined over",
        "SPIDER" => "SPIDER table: its rows live on the data nodes it points to",
        "BLACKHOLE" => "BLACKHOLE table: it keeps no rows",
        "SEQUENCE" => "SEQUENCE-engine table: its rows are generated",
        "OQGRAPH" => "OQGRAPH table: its rows are computed from its backing table",
        _ => return None,
    })
}

/// One stored program (procedure, function, package) to recreate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutineInfo {
    pub database: String,
    pub name: String,
    /// `PROCEDURE`, `FUNCTION`, `PACKAGE` or `PACKAGE BODY`.
    pub kind: String,
}

/// A trigger, in the order the server fires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerInfo {
    pub database: String,
    pub name: String,
    pub table: String,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    pub database: String,
    pub name: String,
}

/// Everything a run covers, listed from information_schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub databases: Vec<String>,
    pub tables: Vec<TableInfo>,
    pub routines: Vec<RoutineInfo>,
    pub triggers: Vec<TriggerInfo>,
    pub events: Vec<EventInfo>,
    /// What the selection names that does not exist (excludes): for the caller to show.
    pub warnings: Vec<String>,
}

/// Column `i` of a row as text (`""` for NULL).
pub(crate) fn text(row: &Row, i: usize) -> String {
    match row.as_ref(i) {
        Some(mysql::Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(mysql::Value::Int(n)) => n.to_string(),
        Some(mysql::Value::UInt(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn opt_text(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i) {
        None | Some(mysql::Value::NULL) => None,
        _ => Some(text(row, i)),
    }
}

fn number(row: &Row, i: usize) -> u64 {
    text(row, i).parse().unwrap_or(0)
}

fn in_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote_string(n))
        .collect::<Vec<_>>()
        .join(",")
}

/// Lists what the filter selects. Text protocol only; names are compared as the server stores them.
pub fn list(conn: &mut Conn, filter: &Filter) -> Result<Catalog> {
    let all: Vec<Row> = conn
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
        .context(|| "listing databases".to_string())?;
    let all: Vec<String> = all.iter().map(|r| text(r, 0)).collect();
    let databases: Vec<String> = all.iter().filter(|d| filter.database(d)).cloned().collect();
    let mut catalog = Catalog {
        databases,
        ..Catalog::default()
    };
    if catalog.databases.is_empty() {
        filter.check(&all, &[], "on this server")?;
        return Ok(catalog);
    }
    let dbs = in_list(&catalog.databases);
    let rows: Vec<Row> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_ROWS, DATA_LENGTH \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({dbs}) \
             ORDER BY TABLE_SCHEMA, TABLE_NAME"
        ))
        .context(|| "listing tables".to_string())?;
    let mut names = Vec::with_capacity(rows.len());
    for r in &rows {
        let (database, name) = (text(r, 0), text(r, 1));
        names.push((database.clone(), name.clone()));
        let kind = match text(r, 2).as_str() {
            "BASE TABLE" => TableKind::Base,
            "SYSTEM VERSIONED" => TableKind::SystemVersioned,
            "VIEW" => TableKind::View,
            "SEQUENCE" => TableKind::Sequence,
            _ => continue,
        };
        if !filter.table(&database, &name) {
            continue;
        }
        let engine = opt_text(r, 3);
        let no_rows = matches!(kind, TableKind::Base | TableKind::SystemVersioned)
            && engine.as_deref().and_then(rows_elsewhere).is_some();
        let estimate = |i| if no_rows { 0 } else { number(r, i) };
        catalog.tables.push(TableInfo {
            database,
            name,
            kind,
            estimated_rows: estimate(4),
            estimated_bytes: estimate(5),
            engine,
        });
    }
    catalog.warnings = filter.check(&all, &names, "on this server")?;
    list_programs(conn, filter, &dbs, &mut catalog)?;
    Ok(catalog)
}

/// Routines, triggers (of selected tables, in firing order) and events of the databases `dbs`.
fn list_programs(conn: &mut Conn, filter: &Filter, dbs: &str, catalog: &mut Catalog) -> Result<()> {
    let rows: Vec<Row> = conn
        .query(format!(
            "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA IN ({dbs}) ORDER BY ROUTINE_SCHEMA, ROUTINE_TYPE, ROUTINE_NAME"
        ))
        .context(|| "listing routines".to_string())?;
    catalog.routines = rows
        .iter()
        .map(|r| RoutineInfo {
            database: text(r, 0),
            name: text(r, 1),
            kind: text(r, 2),
        })
        .collect();
    let rows: Vec<Row> = conn
        .query(format!(
            "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA IN ({dbs}) \
             ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER"
        ))
        .context(|| "listing triggers".to_string())?;
    catalog.triggers = rows
        .iter()
        .map(|r| TriggerInfo {
            database: text(r, 0),
            name: text(r, 1),
            table: text(r, 2),
        })
        .filter(|t| filter.table(&t.database, &t.table))
        .collect();
    let rows: Vec<Row> = conn
        .query(format!(
            "SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS \
             WHERE EVENT_SCHEMA IN ({dbs}) ORDER BY EVENT_SCHEMA, EVENT_NAME"
        ))
        .context(|| "listing events".to_string())?;
    catalog.events = rows
        .iter()
        .map(|r| EventInfo {
            database: text(r, 0),
            name: text(r, 1),
        })
        .collect();
    Ok(())
}

/// How a column takes part in the data dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// information_schema DATA_TYPE, lower case (`float`, `int`, …).
    pub data_type: String,
    /// information_schema COLUMN_TYPE (`enum('a','')`, `int(10) unsigned`, …).
    pub column_type: String,
    /// information_schema CHARACTER_SET_NAME (`sjis`, `utf8mb4`, …); `None` for columns without one.
    pub charset: Option<String>,
}

impl Column {
    /// An ENUM with `''` among its members: its error value (index 0) also shows as `''`, so only
    /// the index tells the two apart.
    pub fn enum_with_empty_member(&self) -> bool {
        self.data_type == "enum" && enum_members(&self.column_type).iter().any(String::is_empty)
    }

    /// Whether the column's character set does not survive the trip through utf8mb4 byte for byte
    /// (see [`lossless_through_utf8mb4`]).
    fn lossy_charset(&self) -> bool {
        self.charset
            .as_deref()
            .is_some_and(|cs| !lossless_through_utf8mb4(cs))
    }

    /// An ENUM or SET read by its index (bit mask for a SET) rather than its text: an ENUM with
    /// a `''` member (see [`Column::enum_with_empty_member`]), and any ENUM or SET whose member
    /// texts would change through utf8mb4. The index loads back into the same member.
    pub fn by_index(&self) -> bool {
        self.enum_with_empty_member()
            || (matches!(self.data_type.as_str(), "enum" | "set") && self.lossy_charset())
    }

    /// The character set of a text column whose values must be read as raw bytes and written
    /// as `_charset 0x…` literals, because converting them to utf8mb4 and back would change them.
    pub fn raw_charset(&self) -> Option<&str> {
        let text = matches!(
            self.data_type.as_str(),
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext"
        );
        if text && self.lossy_charset() {
            self.charset.as_deref()
        } else {
            None
        }
    }
}

/// The members of an `enum('a','it''s','')` or `set(…)` column type.
pub fn enum_members(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let mut members = Vec::new();
    let mut chars = column_type[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut member = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    member.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        member.push(n);
                    }
                }
                c => member.push(c),
            }
        }
        members.push(member);
    }
    members
}

/// The columns a data dump selects and inserts, in table order; generated columns are left out,
/// invisible columns and system-versioning row start/end columns are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataColumns {
    pub columns: Vec<Column>,
    /// The table keeps history: select `FOR SYSTEM_TIME ALL`, insert with history.
    pub history: bool,
}

/// Reads the columns of a table for its data dump (see [`data_columns_of`]): one query on this
/// table. A dump reads those of all its tables at once ([`Details`]).
pub fn data_columns(conn: &mut dyn Session, table: &TableInfo) -> Result<DataColumns> {
    data_columns_of(table, &table_columns(conn, table)?)
}

/// The information_schema.COLUMNS rows of one table, in ordinal order.
fn table_columns(conn: &mut dyn Session, table: &TableInfo) -> Result<Vec<ColumnRow>> {
    let rows: Vec<Row> = conn
        .rows(&format!(
            "SELECT {COLUMN_FIELDS} FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
            quote_string(&table.database),
            quote_string(&table.name)
        ))
        .context(|| format!("reading the columns of {}", table.qualified()))?;
    Ok(rows.iter().map(|r| ColumnRow::from_row(r, 0)).collect())
}

/// One column of a unique index, as information_schema describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    pub index: String,
    pub column: String,
    /// information_schema DATA_TYPE, lower case.
    pub data_type: String,
    pub nullable: bool,
    /// A prefix index (`KEY (name(10))`).
    pub prefix: bool,
}

/// The columns of the table's unique indexes, for choosing a chunk key (see
/// [`index_columns_of`]). Two queries, each on one table: information_schema joins are not
/// pushed down and would read every table's columns.
pub fn unique_index_columns(conn: &mut dyn Session, table: &TableInfo) -> Result<Vec<IndexColumn>> {
    let (db, name) = (quote_string(&table.database), quote_string(&table.name));
    let keys: Vec<Row> = conn
        .rows(&format!(
            "SELECT {KEY_FIELDS} FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {name} AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX"
        ))
        .context(|| format!("reading the unique indexes of {}", table.qualified()))?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<KeyRow> = keys.iter().map(|r| KeyRow::from_row(r, 0)).collect();
    Ok(index_columns_of(&keys, &table_columns(conn, table)?))
}

/// Runs a `SHOW CREATE …` and returns the row, or an object error naming `object`.
pub fn show_create(conn: &mut dyn Session, statement: &str, object: &str) -> Result<Row> {
    let row: Option<Row> =
        crate::conn::query_first(conn, statement).map_err(|e| Error::object(object, e))?;
    row.ok_or_else(|| Error::Object {
        object: object.to_string(),
        message: "it no longer exists".to_string(),
    })
}

/// The column called `name` (case-insensitively) as text; `None` when it is missing or NULL.
pub(crate) fn named_text(row: &Row, name: &str) -> Option<String> {
    let idx = row
        .columns_ref()
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case(name))?;
    match row.as_ref(idx) {
        Some(mysql::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A named text column of a row, or an error when the server did not send it.
pub fn column_text(row: &Row, name: &str, object: &str) -> Result<String> {
    let idx = row
        .columns_ref()
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::Object {
            object: object.to_string(),
            message: format!("the server's answer has no column {name:?}"),
        })?;
    Ok(text(row, idx))
}

/// `SHOW CREATE DATABASE` text.
pub fn create_database(conn: &mut dyn Session, db: &str) -> Result<String> {
    let object = format!("database {}", quote_ident(db));
    let row = show_create(
        conn,
        &format!("SHOW CREATE DATABASE {}", quote_ident(db)),
        &object,
    )?;
    column_text(&row, "Create Database", &object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_members_are_parsed_with_quotes_doubled() {
        let cases: &[(&str, &[&str])] = &[
            ("enum('a','b')", &["a", "b"]),
            ("enum('it''s','','c d')", &["it's", "", "c d"]),
            ("set('x,y')", &["x,y"]),
            ("enum('')", &[""]),
            ("int(11)", &[]),
        ];
        for (ty, want) in cases {
            assert_eq!(enum_members(ty), want.to_vec(), "{ty}");
        }
        let col = |ty: &str| Column {
            name: "e".into(),
            data_type: "enum".into(),
            column_type: ty.into(),
            charset: Some("utf8mb4".into()),
        };
        assert!(col("enum('a','')").enum_with_empty_member());
        assert!(!col("enum('a','b')").enum_with_empty_member());
        assert!(col("enum('a','')").by_index());
        assert!(!col("enum('a','b')").by_index());
    }

    #[test]
    fn lossy_charsets_decide_how_a_column_is_read() {
        let col = |data_type: &str, charset: Option<&str>| Column {
            name: "c".into(),
            data_type: data_type.into(),
            column_type: format!("{data_type}(10)"),
            charset: charset.map(str::to_string),
        };
        for ty in [
            "char",
            "varchar",
            "tinytext",
            "text",
            "mediumtext",
            "longtext",
        ] {
            assert_eq!(col(ty, Some("sjis")).raw_charset(), Some("sjis"), "{ty}");
            assert_eq!(col(ty, Some("ucs2")).raw_charset(), Some("ucs2"), "{ty}");
            assert_eq!(col(ty, Some("utf8mb4")).raw_charset(), None, "{ty}");
            assert_eq!(col(ty, Some("latin1")).raw_charset(), None, "{ty}");
            assert_eq!(col(ty, None).raw_charset(), None, "{ty}");
            assert!(!col(ty, Some("sjis")).by_index(), "{ty}");
        }
        for ty in ["enum", "set"] {
            assert!(col(ty, Some("big5")).by_index(), "{ty}");
            assert!(!col(ty, Some("utf8mb3")).by_index(), "{ty}");
            assert_eq!(col(ty, Some("big5")).raw_charset(), None, "{ty}");
        }
        assert_eq!(col("int", Some("sjis")).raw_charset(), None);
        assert_eq!(col("json", Some("ascii")).raw_charset(), None);
    }

    #[test]
    fn engines_without_rows_of_their_own_are_named_with_a_reason() {
        let cases: &[(&str, bool)] = &[
            ("MRG_MyISAM", true),
            ("mrg_myisam", true),
            ("FEDERATED", true),
            ("CONNECT", true),
            ("SPIDER", true),
            ("BLACKHOLE", true),
            ("SEQUENCE", true),
            ("OQGRAPH", true),
            ("InnoDB", false),
            ("MyISAM", false),
            ("Aria", false),
            ("CSV", false),
            ("ARCHIVE", false),
            ("MEMORY", false),
            ("ROCKSDB", false),
        ];
        for &(engine, elsewhere) in cases {
            assert_eq!(rows_elsewhere(engine).is_some(), elsewhere, "{engine}");
        }
        let table = |kind, engine: Option<&str>| TableInfo {
            database: "d".into(),
            name: "t".into(),
            kind,
            engine: engine.map(str::to_string),
            estimated_rows: 0,
            estimated_bytes: 0,
        };
        assert!(table(TableKind::Base, Some("MRG_MyISAM"))
            .rows_elsewhere()
            .is_some());
        assert!(table(TableKind::Base, None).rows_elsewhere().is_none());
        // A sequence's engine is InnoDB or Aria; a view has none: neither is ever left without rows.
        assert!(table(TableKind::View, Some("BLACKHOLE"))
            .rows_elsewhere()
            .is_none());
    }
}
