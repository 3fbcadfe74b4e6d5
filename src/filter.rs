//! Which databases and tables a run covers: comma-separated glob patterns from the command line.

use globset::{Glob, GlobMatcher};

use crate::error::{Error, Result};

/// Databases that are never dumped: the server's own.
pub const SYSTEM_DATABASES: [&str; 4] =
    ["information_schema", "performance_schema", "mysql", "sys"];

/// Include and exclude patterns for databases and `db.table` names.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    spec: FilterSpec,
    databases: Vec<GlobMatcher>,
    exclude_databases: Vec<GlobMatcher>,
    tables: Vec<(GlobMatcher, GlobMatcher)>,
    exclude_tables: Vec<(GlobMatcher, GlobMatcher)>,
}

/// The patterns as the user wrote them (each entry one pattern; commas already split).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
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

/// Compiles the patterns of option `--option`; an empty one (`--databases ''`, `a,,b`) is an error.
fn patterns<T>(option: &str, list: &[String], f: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    list.iter()
        .map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return Err(Error::Pattern {
                    pattern: String::new(),
                    message: format!("--{option} has an empty name in its list"),
                });
            }
            f(p)
        })
        .collect()
}

/// A pattern that matches `name` exactly: glob syntax (`*?[]{}`) and the escape character `\`
/// escaped. A comma cannot be escaped on the command line, but [`Filter::new`] takes patterns one by
/// one.
pub fn literal(name: &str) -> String {
    globset::escape(&name.replace('\\', "\\\\"))
}

/// Whether a pattern has glob syntax; a literal name must match something.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

impl Filter {
    /// Compiles the patterns; a bad or empty pattern is an error naming it.
    pub fn new(spec: &FilterSpec) -> Result<Filter> {
        Ok(Filter {
            spec: spec.clone(),
            databases: patterns("databases", &spec.databases, glob)?,
            exclude_databases: patterns("exclude-databases", &spec.exclude_databases, glob)?,
            tables: patterns("tables", &spec.tables, table_glob)?,
            exclude_tables: patterns("exclude-tables", &spec.exclude_tables, table_glob)?,
        })
    }

    /// The patterns as given.
    pub fn spec(&self) -> &FilterSpec {
        &self.spec
    }

    /// Whether any pattern, include or exclude, was given.
    pub fn is_set(&self) -> bool {
        let s = &self.spec;
        !(s.databases.is_empty()
            && s.exclude_databases.is_empty()
            && s.tables.is_empty()
            && s.exclude_tables.is_empty())
    }

    /// Checks the selection against what exists: `databases` are all database names, `tables`
    /// the `(database, table)` names of the databases the filter selects. Every include pattern
    /// must match something, and the selection must not be empty when any pattern was given;
    /// an exclude pattern naming (literally) nothing that exists is returned as a warning.
    pub fn check(
        &self,
        databases: &[String],
        tables: &[(String, String)],
        place: &str,
    ) -> Result<Vec<String>> {
        let s = &self.spec;
        let db_hit = |g: &GlobMatcher| databases.iter().any(|d| g.is_match(d) && !is_system(d));
        let table_hit = |(d, t): &(GlobMatcher, GlobMatcher)| {
            tables
                .iter()
                .any(|(db, tb)| d.is_match(db) && t.is_match(tb))
        };
        // (pattern text, is a literal name, why it matched nothing)
        let mut missing: Vec<(&str, String)> = Vec::new();
        for (p, g) in s.databases.iter().zip(&self.databases) {
            if !db_hit(g) {
                missing.push((p, describe_db(p, "--databases", place)));
            }
        }
        for (p, pair) in s.tables.iter().zip(&self.tables) {
            if !table_hit(pair) {
                missing.push((p, format!("--tables {p:?} matches no table {place}")));
            }
        }
        let selected = databases.iter().any(|d| self.database(d))
            && (s.tables.is_empty() || self.tables.iter().any(table_hit));
        // A literal name must name something; a glob may match nothing while others match.
        let fatal: Vec<&str> = missing
            .iter()
            .filter(|(p, _)| !selected || !is_glob(p))
            .map(|(_, why)| why.as_str())
            .collect();
        if !fatal.is_empty() {
            return Err(Error::Settings(format!(
                "{}: nothing was done",
                fatal.join("; ")
            )));
        }
        if self.is_set() && !selected {
            return Err(Error::Settings(
                "the selection leaves no database (check --databases and --exclude-databases): nothing was done".to_string(),
            ));
        }
        let mut warnings = Vec::new();
        for (p, g) in s.exclude_databases.iter().zip(&self.exclude_databases) {
            if !is_glob(p) && !databases.iter().any(|d| g.is_match(d)) {
                warnings.push(format!("--exclude-databases {p:?} names no database"));
            }
        }
        for (p, (d, t)) in s.exclude_tables.iter().zip(&self.exclude_tables) {
            if !is_glob(p)
                && !tables
                    .iter()
                    .any(|(db, tb)| d.is_match(db) && t.is_match(tb))
            {
                warnings.push(format!("--exclude-tables {p:?} names no table"));
            }
        }
        Ok(warnings)
    }

    /// Whether the user named databases or tables to include (so matching none is a mistake).
    pub fn selects(&self) -> bool {
        !self.databases.is_empty() || !self.tables.is_empty()
    }

    /// Whether the run covers database `db` at all (system databases never).
    pub fn database(&self, db: &str) -> bool {
        if is_system(db) {
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

/// Whether `db` is one of the server's own databases.
fn is_system(db: &str) -> bool {
    SYSTEM_DATABASES.iter().any(|s| s.eq_ignore_ascii_case(db))
}

/// Why database pattern `p` matched nothing.
fn describe_db(p: &str, option: &str, place: &str) -> String {
    if is_system(p) {
        format!("{option} {p:?} is a system database, which is never dumped (accounts: --users)")
    } else if is_glob(p) {
        format!("{option} {p:?} matches no database {place}")
    } else {
        format!("{option} {p:?}: no such database {place}")
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
    fn selections_that_match_nothing_are_errors() {
        let dbs: Vec<String> = ["shop", "blog", "mysql"].map(String::from).to_vec();
        let tables: Vec<(String, String)> = [("shop", "orders"), ("blog", "posts")]
            .map(|(d, t)| (d.to_string(), t.to_string()))
            .to_vec();
        // (spec, Ok(warning count) or Err(text the error contains))
        let cases: &[(FilterSpec, Result<usize, &str>)] = &[
            (spec(&[], &[], &[], &[]), Ok(0)),
            (spec(&["shop"], &[], &[], &[]), Ok(0)),
            (
                spec(&["shop", "nosuchdb"], &[], &[], &[]),
                Err("\"nosuchdb\": no such database"),
            ),
            (spec(&["sh*"], &[], &[], &[]), Ok(0)),
            (spec(&["sh*", "x*"], &[], &[], &[]), Ok(0)),
            (spec(&[], &[], &["shop.orders", "blog.x*"], &[]), Ok(0)),
            (
                spec(&[], &[], &["shop.orders", "blog.typo"], &[]),
                Err("\"blog.typo\""),
            ),
            (
                spec(&["x*"], &[], &[], &[]),
                Err("\"x*\" matches no database here"),
            ),
            (spec(&["mysql"], &[], &[], &[]), Err("system database")),
            (spec(&[], &["*"], &[], &[]), Err("leaves no database")),
            (
                spec(&["shop"], &["shop"], &[], &[]),
                Err("leaves no database"),
            ),
            (
                spec(&[], &[], &["shop.typo"], &[]),
                Err("--tables \"shop.typo\" matches no table here"),
            ),
            (spec(&[], &[], &["shop.ord*"], &[]), Ok(0)),
            (spec(&[], &["nosuchdb"], &[], &[]), Ok(1)),
            (spec(&[], &["no*"], &[], &[]), Ok(0)),
            (spec(&[], &[], &[], &["shop.nosuch"]), Ok(1)),
        ];
        for (s, want) in cases {
            let f = Filter::new(s).unwrap();
            let got = f.check(&dbs, &tables, "here");
            match (want, &got) {
                (Ok(n), Ok(w)) => assert_eq!(w.len(), *n, "{s:?}: {w:?}"),
                (Err(text), Err(e)) => assert!(e.to_string().contains(text), "{s:?}: {e}"),
                _ => panic!("{s:?}: got {got:?}"),
            }
        }
    }

    #[test]
    fn empty_names_are_errors() {
        for s in [
            spec(&[""], &[], &[], &[]),
            spec(&["a", " "], &[], &[], &[]),
            spec(&[], &[""], &[], &[]),
            spec(&[], &[], &[""], &[]),
            spec(&[], &[], &[], &[""]),
        ] {
            let e = Filter::new(&s).unwrap_err().to_string();
            assert!(e.contains("empty name"), "{s:?}: {e}");
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = Filter::new(&spec(&[], &[], &["orders"], &[])).unwrap_err();
        assert!(e.to_string().contains("\"orders\""), "{e}");
        let e = Filter::new(&spec(&["a[b"], &[], &[], &[])).unwrap_err();
        assert!(e.to_string().contains("\"a[b\""), "{e}");
    }

    #[test]
    fn literal_patterns_match_only_the_name_itself() {
        for name in [
            "a*b",
            "a?b",
            "x[1]",
            "{a,b}",
            "back\\slash\\f",
            "plain",
            "ж*表",
            "\\*",
        ] {
            let f = Filter::new(&FilterSpec {
                databases: vec![literal(name)],
                ..FilterSpec::default()
            })
            .unwrap();
            assert!(f.database(name), "{name}");
            for other in ["aXb", "x1", "a", "backslashf", "back\\slashf", "\\x"] {
                if other != name {
                    assert!(!f.database(other), "{name} matched {other}");
                }
            }
        }
    }
}
