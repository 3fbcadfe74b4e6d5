//! Compares two databases (possibly on different servers, possibly renamed): definitions of every object,
//! routines/triggers/events from information_schema, sequence state, and table data including history rows.

use std::collections::BTreeMap;

use super::client::{exec_on, query_named_raw, query_raw_on, try_query_raw, RawRow};
use super::diff::{line_diff, row_multiset_diff, value_difference};
use super::server::Server;

/// How many differing rows are shown per table.
const ROW_LIMIT: usize = 5;

/// `Ok` when `src_db` on `src` and `dst_db` on `dst` are identical; else `Err` listing EVERY difference.
pub fn compare_databases(
    src: &Server,
    src_db: &str,
    dst: &Server,
    dst_db: &str,
) -> Result<(), String> {
    compare_databases_renamed(src, src_db, dst, dst_db, &[])
}

/// Panics with the full difference list unless the databases are identical.
pub fn assert_same_databases(src: &Server, src_db: &str, dst: &Server, dst_db: &str) {
    if let Err(e) = compare_databases(src, src_db, dst, dst_db) {
        panic!("`{src_db}` (source) and `{dst_db}` (target) differ:\n{e}");
    }
}

/// Like [`compare_databases`]; `other_renames` maps further database names that definitions mention
/// (e.g. the second database a cross-database view reads) from source to target.
pub fn compare_databases_renamed(
    src: &Server,
    src_db: &str,
    dst: &Server,
    dst_db: &str,
    other_renames: &[(&str, &str)],
) -> Result<(), String> {
    let mut renames = vec![(src_db.to_string(), dst_db.to_string())];
    renames.extend(
        other_renames
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string())),
    );
    let mut cmp = Comparison {
        src: Side::open(src, src_db),
        dst: Side::open(dst, dst_db),
        renames,
        diffs: Vec::new(),
    };
    cmp.database();
    let objects = cmp.objects();
    for (name, kind) in &objects {
        match kind.as_str() {
            "VIEW" => cmp.view(name),
            "SEQUENCE" => cmp.sequence(name),
            _ => {
                cmp.table_definition(name);
                cmp.table_data(name, kind == "SYSTEM VERSIONED");
            }
        }
    }
    cmp.metadata_rows(ROUTINES);
    cmp.metadata_rows(PARAMETERS);
    cmp.metadata_rows(TRIGGERS);
    cmp.metadata_rows(EVENTS);
    if cmp.diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} difference(s):\n{}",
            cmp.diffs.len(),
            cmp.diffs.join("\n")
        ))
    }
}

struct Side {
    conn: mysql::Conn,
    db: String,
}

impl Side {
    fn open(server: &Server, db: &str) -> Side {
        let mut conn = server.conn();
        exec_on(
            &mut conn,
            "SET NAMES utf8mb4; SET SESSION time_zone = '+00:00'",
        );
        Side {
            conn,
            db: db.to_string(),
        }
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<RawRow>, String> {
        try_query_raw(&mut self.conn, sql)
    }

    /// Column `col` of the single row of `sql`, as text.
    fn text(&mut self, sql: &str, col: usize) -> Result<String, String> {
        let rows = self.rows(sql)?;
        let row = rows.first().ok_or_else(|| format!("no row from {sql}"))?;
        let value = row.get(col).cloned().flatten().unwrap_or_default();
        Ok(String::from_utf8_lossy(&value).into_owned())
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{}", ident(&self.db), ident(name))
    }
}

struct Comparison {
    src: Side,
    dst: Side,
    renames: Vec<(String, String)>,
    diffs: Vec<String>,
}

/// Which information_schema view to compare, keyed by which columns, skipping which.
struct MetaQuery {
    what: &'static str,
    table: &'static str,
    schema_col: &'static str,
    key: &'static [&'static str],
    skip: &'static [&'static str],
}

const ROUTINES: MetaQuery = MetaQuery {
    what: "routine",
    table: "ROUTINES",
    schema_col: "ROUTINE_SCHEMA",
    key: &["ROUTINE_TYPE", "ROUTINE_NAME"],
    skip: &["CREATED", "LAST_ALTERED"],
};
const PARAMETERS: MetaQuery = MetaQuery {
    what: "routine parameter",
    table: "PARAMETERS",
    schema_col: "SPECIFIC_SCHEMA",
    key: &["ROUTINE_TYPE", "SPECIFIC_NAME", "ORDINAL_POSITION"],
    skip: &[],
};
const TRIGGERS: MetaQuery = MetaQuery {
    what: "trigger",
    table: "TRIGGERS",
    schema_col: "TRIGGER_SCHEMA",
    key: &["TRIGGER_NAME"],
    skip: &["CREATED"],
};
const EVENTS: MetaQuery = MetaQuery {
    what: "event",
    table: "EVENTS",
    schema_col: "EVENT_SCHEMA",
    key: &["EVENT_NAME"],
    skip: &["CREATED", "LAST_ALTERED", "LAST_EXECUTED"],
};

impl Comparison {
    /// Source text with every renamed database name replaced by its target name.
    fn subst(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (from, to) in &self.renames {
            if from == to {
                continue;
            }
            if out == *from {
                return to.clone();
            }
            out = out.replace(&ident(from), &ident(to));
            // Account names in DEFINER columns read `user@host`.
            if let Some(rest) = out.strip_prefix(&format!("{from}@")) {
                out = format!("{to}@{rest}");
            }
        }
        out
    }

    fn differ(&mut self, what: &str, detail: String) {
        self.diffs.push(format!("- {what}: {detail}"));
    }

    fn compare_texts(
        &mut self,
        what: &str,
        src: Result<String, String>,
        dst: Result<String, String>,
    ) {
        match (src, dst) {
            (Ok(a), Ok(b)) => {
                let a = self.subst(&a);
                if a != b {
                    self.differ(
                        what,
                        format!("differs (- source, + target):\n{}", line_diff(&a, &b)),
                    );
                }
            }
            (a, b) => {
                let (a, b) = (a.err().unwrap_or_default(), b.err().unwrap_or_default());
                if a != b {
                    self.differ(what, format!("error on source: {a:?}; on target: {b:?}"));
                }
            }
        }
    }

    fn database(&mut self) {
        let src = self
            .src
            .text(&format!("SHOW CREATE DATABASE {}", ident(&self.src.db)), 1);
        let dst = self
            .dst
            .text(&format!("SHOW CREATE DATABASE {}", ident(&self.dst.db)), 1);
        self.compare_texts("SHOW CREATE DATABASE", src, dst);
    }

    /// Compares the object sets and returns the objects present on both sides with the same type.
    fn objects(&mut self) -> BTreeMap<String, String> {
        let list = |side: &mut Side| -> BTreeMap<String, String> {
            let sql = format!(
                "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = {}",
                quote(&side.db)
            );
            query_raw_on(&mut side.conn, &sql)
                .into_iter()
                .map(|r| (text(&r[0]), text(&r[1])))
                .collect()
        };
        let src = list(&mut self.src);
        let dst = list(&mut self.dst);
        let mut common = BTreeMap::new();
        for (name, kind) in &src {
            match dst.get(name) {
                None => self.differ(&format!("{kind} {name}"), "missing in target".into()),
                Some(k) if k != kind => {
                    self.differ(&format!("object {name}"), format!("{kind} vs {k}"))
                }
                Some(_) => {
                    common.insert(name.clone(), kind.clone());
                }
            }
        }
        for (name, kind) in &dst {
            if !src.contains_key(name) {
                self.differ(&format!("{kind} {name}"), "only in target".into());
            }
        }
        common
    }

    fn table_definition(&mut self, name: &str) {
        let src = self
            .src
            .text(&format!("SHOW CREATE TABLE {}", self.src.table(name)), 1);
        let dst = self
            .dst
            .text(&format!("SHOW CREATE TABLE {}", self.dst.table(name)), 1);
        self.compare_texts(&format!("SHOW CREATE TABLE {name}"), src, dst);
    }

    fn view(&mut self, name: &str) {
        let all = |side: &mut Side| -> Result<String, String> {
            let rows = side.rows(&format!("SHOW CREATE VIEW {}", side.table(name)))?;
            let row = rows.first().ok_or("no row")?;
            Ok(row.iter().map(text).collect::<Vec<_>>().join("\n"))
        };
        let src = all(&mut self.src);
        let dst = all(&mut self.dst);
        self.compare_texts(&format!("SHOW CREATE VIEW {name}"), src, dst);
    }

    fn sequence(&mut self, name: &str) {
        let src = self
            .src
            .text(&format!("SHOW CREATE SEQUENCE {}", self.src.table(name)), 1);
        let dst = self
            .dst
            .text(&format!("SHOW CREATE SEQUENCE {}", self.dst.table(name)), 1);
        self.compare_texts(&format!("SHOW CREATE SEQUENCE {name}"), src, dst);
        let state = |side: &mut Side| -> Result<String, String> {
            let sql = format!("SELECT * FROM {}", side.table(name));
            let (cols, rows) = query_named_raw(&mut side.conn, &sql)?;
            let row = rows.first().ok_or("no row")?;
            Ok(cols
                .iter()
                .zip(row)
                .map(|(c, v)| format!("{c}={}", text(v)))
                .collect::<Vec<_>>()
                .join("\n"))
        };
        let src = state(&mut self.src);
        let dst = state(&mut self.dst);
        self.compare_texts(&format!("sequence state {name}"), src, dst);
    }

    /// `CHECKSUM TABLE … EXTENDED`; on a mismatch, and always for system-versioned tables, every row
    /// (history included, FLOAT widened exactly to DOUBLE, values as raw bytes) is compared as a multiset.
    fn table_data(&mut self, name: &str, versioned: bool) {
        let checksum = |side: &mut Side| {
            side.text(&format!("CHECKSUM TABLE {} EXTENDED", side.table(name)), 1)
        };
        let (src_sum, dst_sum) = (checksum(&mut self.src), checksum(&mut self.dst));
        let same_sum = src_sum.is_ok() && src_sum == dst_sum;
        if same_sum && !versioned {
            return;
        }
        let what = format!("data of {name}");
        if !same_sum {
            self.differ(
                &what,
                format!("CHECKSUM TABLE EXTENDED {src_sum:?} vs {dst_sum:?}"),
            );
        }
        let select = match row_select(&mut self.src, name, versioned) {
            Ok(s) => s,
            Err(e) => return self.differ(&what, format!("cannot list columns: {e}")),
        };
        let (src_rows, dst_rows) = match (
            fetch_rows(&mut self.src, name, &select),
            fetch_rows(&mut self.dst, name, &select),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let detail = format!("cannot read rows: {:?} / {:?}", a.err(), b.err());
                return self.differ(&what, detail);
            }
        };
        let lines = row_multiset_diff(&select.names, src_rows, dst_rows, ROW_LIMIT);
        if lines.is_empty() && !same_sum {
            self.differ(&what, "rows read identically, so the difference is in stored bytes the text does not show".into());
        } else if !lines.is_empty() {
            let label = if versioned {
                format!("rows of {name} (history included)")
            } else {
                format!("rows of {name}")
            };
            self.differ(&label, lines.join("\n    "));
        }
    }

    fn metadata_rows(&mut self, q: MetaQuery) {
        let keyed = |side: &mut Side| -> Result<BTreeMap<String, NamedRow>, String> {
            let sql = format!(
                "SELECT * FROM information_schema.{} WHERE {} = {}",
                q.table,
                q.schema_col,
                quote(&side.db)
            );
            let (cols, rows) = query_named_raw(&mut side.conn, &sql)?;
            let mut out = BTreeMap::new();
            for row in rows {
                let named: Vec<(String, Option<Vec<u8>>)> = cols.iter().cloned().zip(row).collect();
                let key: Vec<String> = q
                    .key
                    .iter()
                    .map(|k| {
                        named
                            .iter()
                            .find(|(c, _)| c.eq_ignore_ascii_case(k))
                            .map(|(_, v)| text(v))
                            .unwrap_or_default()
                    })
                    .collect();
                let kept = named
                    .into_iter()
                    .filter(|(c, _)| !q.skip.iter().any(|s| c.eq_ignore_ascii_case(s)))
                    .collect();
                out.insert(key.join(" "), kept);
            }
            Ok(out)
        };
        let (src, dst) = match (keyed(&mut self.src), keyed(&mut self.dst)) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                return self.differ(
                    q.table,
                    format!("query failed: {:?} / {:?}", a.err(), b.err()),
                )
            }
        };
        for (key, src_cols) in &src {
            let Some(dst_cols) = dst.get(key) else {
                self.differ(&format!("{} {key}", q.what), "missing in target".into());
                continue;
            };
            for ((col, a), (_, b)) in src_cols.iter().zip(dst_cols) {
                let a = a
                    .as_ref()
                    .map(|v| self.subst(&String::from_utf8_lossy(v)).into_bytes());
                if a != *b {
                    self.differ(
                        &format!("{} {key}", q.what),
                        format!("{col}: {}", value_difference(&a, b)),
                    );
                }
            }
        }
        for key in dst.keys().filter(|k| !src.contains_key(*k)) {
            self.differ(&format!("{} {key}", q.what), "only in target".into());
        }
    }
}

/// A row as (column name, raw value) pairs.
type NamedRow = Vec<(String, Option<Vec<u8>>)>;

/// The column list used to read every row of a table exactly.
struct RowSelect {
    names: Vec<String>,
    exprs: Vec<String>,
    history: bool,
}

fn row_select(side: &mut Side, name: &str, versioned: bool) -> Result<RowSelect, String> {
    let sql = format!(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} \
         ORDER BY ORDINAL_POSITION",
        quote(&side.db),
        quote(name)
    );
    let mut select = RowSelect {
        names: Vec::new(),
        exprs: Vec::new(),
        history: versioned,
    };
    for row in side.rows(&sql)? {
        let (col, data_type) = (text(&row[0]), text(&row[1]));
        let expr = match data_type.to_ascii_lowercase().as_str() {
            // FLOAT widened to DOUBLE is exact; the text protocol shows FLOAT with 6 digits only.
            "float" => format!("CAST({} AS DOUBLE)", ident(&col)),
            // The index tells the '' error value (0) of an ENUM apart from a real member.
            "enum" | "set" => format!("CONCAT({c} + 0, ':', {c})", c = ident(&col)),
            _ => ident(&col),
        };
        select.names.push(col);
        select.exprs.push(expr);
    }
    if versioned {
        // Implicit period columns are not in information_schema.COLUMNS; explicit ones are.
        let probe = format!(
            "SELECT ROW_START, ROW_END FROM {} FOR SYSTEM_TIME ALL LIMIT 0",
            side.table(name)
        );
        if side.rows(&probe).is_ok() {
            select
                .names
                .extend(["ROW_START".to_string(), "ROW_END".to_string()]);
            select
                .exprs
                .extend(["ROW_START".to_string(), "ROW_END".to_string()]);
        }
    }
    Ok(select)
}

fn fetch_rows(side: &mut Side, name: &str, select: &RowSelect) -> Result<Vec<RawRow>, String> {
    let all = if select.history {
        " FOR SYSTEM_TIME ALL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM {}{all}",
        select.exprs.join(", "),
        side.table(name)
    );
    // Raw stored bytes: no conversion to the connection character set that could hide a difference.
    exec_on(&mut side.conn, "SET character_set_results = binary");
    let rows = side.rows(&sql);
    exec_on(&mut side.conn, "SET character_set_results = utf8mb4");
    rows
}

fn text(value: &Option<Vec<u8>>) -> String {
    value
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| "NULL".into())
}

/// A backquoted identifier.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A single-quoted SQL string literal.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}
