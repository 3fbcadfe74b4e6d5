//! Which databases and tables a run covers: comma-separated glob patterns from the command line.

use globset::{Glob, GlobMatcher};

use crate::error::{Error, Result};

/// Databases that are never dumped: the server's own.
pub const SYSTEM_DATABASES: [&str; 4] =
    ["information_schema", "performance_schema", "mysql", "sys"];

/// Include and exclude patterns for databases and `db.table` names.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    databases: Vec<GlobMatcher>,
    exclude_databases: Vec<GlobMatcher>,
    tables: Vec<(GlobMatcher, GlobMatcher)>,
    exclude_tables: Vec<(GlobMatcher, GlobMatcher)>,
}

/// The patterns as the user wrote them (each entry one pattern; commas already split).
#[derive(Debug, Default, Clone)]
pub struct FilterSpec {
    pub databases: Vec<String>,
    pub exclude_databases: Vec<String>,
    pub tables: Vec<String>,
    pub exclude_tables: Vec<String>,
}

fn glob(pattern: &str) -> Result<GlobMatcher> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::Pattern {
            pattern: pattern.to_string(),
            message: e.kind().to_string(),
        })
}

fn table_glob(pattern: &str) -> Result<(GlobMatcher, GlobMatcher)> {
    match pattern.split_once('.') {
        Some((db, table)) if !db.is_empty() && !table.is_empty() => Ok((glob(db)?, glob(table)?)),
        _ => Err(Error::Pattern {
            pattern: pattern.to_string(),
            message: "expected DATABASE.TABLE (globs allowed, e.g. shop.order_*)".to_string(),
        }),
    }
}

fn patterns<T>(list: &[String], f: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    list.iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(f)
        .collect()
}

impl Filter {
    /// Compiles the patterns; a bad pattern is an error naming it.
    pub fn new(spec: &FilterSpec) -> Result<Filter> {
        Ok(Filter {
            databases: patterns(&spec.databases, glob)?,
            exclude_databases: patterns(&spec.exclude_databases, glob)?,
            tables: patterns(&spec.tables, table_glob)?,
            exclude_tables: patterns(&spec.exclude_tables, table_glob)?,
        })
    }

    /// Whether the user named databases or tables to include (so matching none is a mistake).
    pub fn selects(&self) -> bool {
        !self.databases.is_empty() || !self.tables.is_empty()
    }

    /// Whether the run covers database `db` at all (system databases never).
    pub fn database(&self, db: &str) -> bool {
        if SYSTEM_DATABASES.iter().any(|s| s.eq_ignore_ascii_case(db)) {
            return false;
        }
        let included = self.databases.is_empty() || self.databases.iter().any(|g| g.is_match(db));
        let table_db = self.tables.is_empty() || self.tables.iter().any(|(d, _)| d.is_match(db));
        included && table_db && !self.exclude_databases.iter().any(|g| g.is_match(db))
    }

    /// Whether the run covers table (or view or sequence) `db`.`table`.
    pub fn table(&self, db: &str, table: &str) -> bool {
        let hit = |(d, t): &(GlobMatcher, GlobMatcher)| d.is_match(db) && t.is_match(table);
        self.database(db)
            && (self.tables.is_empty() || self.tables.iter().any(hit))
            && !self.exclude_tables.iter().any(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(d: &[&str], xd: &[&str], t: &[&str], xt: &[&str]) -> FilterSpec {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        FilterSpec {
            databases: v(d),
            exclude_databases: v(xd),
            tables: v(t),
            exclude_tables: v(xt),
        }
    }

    #[test]
    fn databases_and_tables_follow_the_patterns() {
        let cases: &[(FilterSpec, &str, &str, bool, bool)] = &[
            (spec(&[], &[], &[], &[]), "shop", "orders", true, true),
            (spec(&[], &[], &[], &[]), "mysql", "user", false, false),
            (
                spec(&[], &[], &[], &[]),
                "INFORMATION_SCHEMA",
                "t",
                false,
                false,
            ),
            (spec(&["shop*"], &[], &[], &[]), "shop_eu", "t", true, true),
            (spec(&["shop*"], &[], &[], &[]), "blog", "t", false, false),
            (
                spec(&["*"], &["tmp_*"], &[], &[]),
                "tmp_1",
                "t",
                false,
                false,
            ),
            (
                spec(&[], &[], &["shop.order*"], &[]),
                "shop",
                "orders",
                true,
                true,
            ),
            (
                spec(&[], &[], &["shop.order*"], &[]),
                "shop",
                "users",
                true,
                false,
            ),
            (
                spec(&[], &[], &["shop.order*"], &[]),
                "blog",
                "orders",
                false,
                false,
            ),
            (
                spec(&[], &[], &[], &["*.log_*"]),
                "shop",
                "log_2024",
                true,
                false,
            ),
            (
                spec(&[], &[], &[], &["*.log_*"]),
                "shop",
                "orders",
                true,
                true,
            ),
            (spec(&["a?c"], &[], &[], &[]), "abc", "t", true, true),
            (spec(&["a?c"], &[], &[], &[]), "abbc", "t", false, false),
        ];
        for (s, db, t, want_db, want_t) in cases {
            let f = Filter::new(s).unwrap();
            assert_eq!(f.database(db), *want_db, "{s:?} db {db}");
            assert_eq!(f.table(db, t), *want_t, "{s:?} table {db}.{t}");
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = Filter::new(&spec(&[], &[], &["orders"], &[])).unwrap_err();
        assert!(e.to_string().contains("\"orders\""), "{e}");
        let e = Filter::new(&spec(&["a[b"], &[], &[], &[])).unwrap_err();
        assert!(e.to_string().contains("\"a[b\""), "{e}");
    }
}
