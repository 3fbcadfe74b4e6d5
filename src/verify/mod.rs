//! `mybak verify`: proves a dump is whole and readable offline, and restorable on a scratch server.

pub mod files;
mod restore_test;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::manifest::{FileKind, Manifest, ManifestFile, Status};
use crate::sql::split::{count_insert_rows, Splitter};
use crate::store;

pub use files::Problem;
pub use restore_test::{restore_test, RestoreTestSettings};

/// What `verify` found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Files checked.
    pub files: usize,
    /// Their bytes on disk.
    pub bytes: u64,
    /// Bytes of SQL they decompressed to (files that could be read).
    pub sql_bytes: u64,
    /// Statements parsed.
    pub statements: u64,
    /// Rows counted in data files.
    pub rows: u64,
    /// Tables whose content was compared with its fingerprint (`--restore-test`).
    pub tables_compared: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Checks a dump without a server: the manifest against `SHA256SUMS`, every file's presence, size
/// and hash, that every file decompresses and splits into complete statements, and that the rows
/// in the data files are the rows the manifest counts. Returns the manifest too.
pub fn offline(dir: &Path) -> Result<(Manifest, Report)> {
    let manifest = store::open_dump(dir)?;
    let mut report = Report::default();
    if manifest.status == Status::Partial {
        for f in &manifest.failures {
            let db = f
                .database
                .as_deref()
                .map(|d| format!("{d}."))
                .unwrap_or_default();
            report.problems.push(problem(
                crate::manifest::MANIFEST_FILE,
                format!(
                    "the dump is partial: {} {db}{} failed: {}",
                    f.kind, f.name, f.error
                ),
            ));
        }
    }
    let all: Vec<&ManifestFile> = manifest.files.iter().collect();
    report.files = all.len();
    report.bytes = all.iter().map(|f| f.bytes).sum();
    let integrity = files::check(dir, &manifest, &all);
    let damaged: std::collections::BTreeSet<String> =
        integrity.iter().map(|p| p.path.clone()).collect();
    report.problems.extend(integrity);
    report.problems.extend(unlisted_files(dir, &manifest));

    let parsed: Vec<(usize, Parsed)> = all
        .par_iter()
        .enumerate()
        .filter(|(_, f)| !damaged.contains(&f.path))
        .map(|(i, f)| (i, parse_file(dir, f)))
        .collect();
    let mut rows_per_table: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, result) in parsed {
        let f = all[i];
        match result {
            Err(p) => report.problems.push(p),
            Ok((statements, rows, sql_bytes)) => {
                report.statements += statements;
                report.sql_bytes += sql_bytes;
                if f.kind == FileKind::TableData {
                    report.rows += rows;
                    if f.rows.is_some_and(|r| r != rows) {
                        report.problems.push(problem(
                            &f.path,
                            format!(
                                "holds {rows} rows, the manifest says {}",
                                f.rows.unwrap_or(0)
                            ),
                        ));
                    }
                    if let (Some(db), Some(t)) = (&f.database, &f.table) {
                        *rows_per_table.entry((db.clone(), t.clone())).or_default() += rows;
                    }
                }
            }
        }
    }
    // With a damaged data file the counts are short already; its own problem says why.
    if damaged.is_empty() {
        check_table_rows(&manifest, &rows_per_table, &mut report);
    }
    Ok((manifest, report))
}

/// Every table of the manifest has exactly the rows its data files hold.
fn check_table_rows(
    manifest: &Manifest,
    counted: &BTreeMap<(String, String), u64>,
    report: &mut Report,
) {
    for db in &manifest.databases {
        for t in &db.tables {
            let have = counted
                .get(&(db.name.clone(), t.name.clone()))
                .copied()
                .unwrap_or(0);
            if have != t.rows {
                report.problems.push(problem(
                    crate::manifest::MANIFEST_FILE,
                    format!(
                        "table `{}`.`{}`: the manifest counts {} rows, its data files hold {have}",
                        db.name, t.name, t.rows
                    ),
                ));
            }
        }
    }
}

/// Statements, INSERT rows and SQL bytes of a file, or why it could not be read.
type Parsed = std::result::Result<(u64, u64, u64), Problem>;

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    bytes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
}

/// Decompresses and splits one file; counts statements and INSERT rows.
fn parse_file(dir: &Path, f: &ManifestFile) -> Parsed {
    let file = File::open(dir.join(&f.path))
        .map_err(|e| problem(&f.path, format!("cannot be read: {e}")))?;
    let decoder = zstd::stream::read::Decoder::new(file)
        .map_err(|e| problem(&f.path, format!("cannot be decompressed: {e}")))?;
    let (mut statements, mut rows) = (0u64, 0u64);
    let sql_bytes = std::rc::Rc::new(std::cell::Cell::new(0));
    let counting = Counting {
        inner: decoder,
        bytes: sql_bytes.clone(),
    };
    for s in Splitter::new(counting) {
        let s = s.map_err(|e| {
            problem(
                &f.path,
                format!("does not decompress or parse to the end: {e}"),
            )
        })?;
        statements += 1;
        if f.kind == FileKind::TableData {
            if let Some(n) = count_insert_rows(&s.sql) {
                rows += n;
            }
        }
    }
    Ok((statements, rows, sql_bytes.get()))
}

/// `.sql.zst` files in the dump directory that the manifest does not list.
fn unlisted_files(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    let listed: std::collections::BTreeSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found
        .into_iter()
        .filter(|p| p.ends_with(".sql.zst") && !listed.contains(p.as_str()))
        .map(|p| problem(&p, "is not listed in the manifest"))
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}
