//! What the files of a dump hold, checked before restore sends anything and by `verify`: each
//! file exactly the one the manifest describes, every statement of a shape its kind allows and
//! no larger than a limit, and every table's rows those the manifest counts.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::manifest::{FileKind, Manifest, ManifestFile, MANIFEST_FILE};
use crate::sql::shape;
use std::sync::Mutex;

use crate::store::read::Source;
use crate::store::read::{is_huge, scan, FileError, Scan};

use super::files::Problem;

/// What checking the files found.
#[derive(Debug, Default)]
pub struct Checked {
    pub problems: Vec<Problem>,
    pub statements: u64,
    pub rows: u64,
    pub sql_bytes: u64,
    /// Some files are encrypted and no key was given: only their bytes were checked.
    pub contents_unread: bool,
}

fn from_error(e: FileError) -> Problem {
    let message = if e.line > 0 {
        format!(
            "statement at line {} (byte {}): {}",
            e.line, e.offset, e.error
        )
    } else {
        e.error
    };
    Problem {
        path: e.path,
        message,
    }
}

/// Reads `files` of the dump at the root of `dump` in parallel, one statement in memory per file, none
/// larger than `max_statement` (or than its file's recorded largest); checks the rows per table
/// for the tables `selected` says are restored. Problems are sorted by path.
pub fn check_files(
    dump: Source<'_>,
    manifest: &Manifest,
    files: &[&ManifestFile],
    max_statement: usize,
    selected: &(dyn Fn(&str, &str) -> bool + Sync),
) -> Checked {
    // Files with huge statements are read one at a time: one huge statement in memory at once.
    let huge = Mutex::new(());
    let scans: Vec<(&ManifestFile, Result<Scan, FileError>)> = files
        .par_iter()
        .map(|f| {
            let _one_at_a_time = is_huge(f).then(|| huge.lock());
            let mut allowed =
                |sql: &[u8]| shape::check(f.kind, f.database.as_deref(), f.table.as_deref(), sql);
            (*f, scan(dump, f, max_statement, &mut allowed))
        })
        .collect();
    let mut checked = Checked::default();
    let mut rows_per_table: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut damaged = false;
    // Encrypted files read without a key: their rows are not counted.
    let mut unread = false;
    for (f, result) in scans {
        match result {
            Err(e) => {
                damaged = true;
                checked.problems.push(from_error(e));
            }
            Ok(s) if !s.statements_read => unread = true,
            Ok(s) => {
                checked.statements += s.statements;
                checked.sql_bytes += s.sql_bytes;
                if f.kind == FileKind::TableData {
                    checked.rows += s.rows;
                    if let (Some(db), Some(t)) = (&f.database, &f.table) {
                        *rows_per_table.entry((db, t)).or_default() += s.rows;
                    }
                }
            }
        }
    }
    // With a damaged data file the counts are short already; its own problem says why.
    checked.contents_unread = unread;
    if !damaged && !unread {
        check_table_rows(manifest, &rows_per_table, selected, &mut checked.problems);
    }
    checked.problems.sort_by(|a, b| a.path.cmp(&b.path));
    checked
}

/// Every selected table of the manifest has exactly the rows its data files hold (a data file
/// missing from the manifest's file list shows here).
fn check_table_rows(
    manifest: &Manifest,
    counted: &BTreeMap<(&str, &str), u64>,
    selected: &dyn Fn(&str, &str) -> bool,
    problems: &mut Vec<Problem>,
) {
    for db in &manifest.databases {
        for t in db.tables.iter().filter(|t| selected(&db.name, &t.name)) {
            let have = counted
                .get(&(db.name.as_str(), t.name.as_str()))
                .copied()
                .unwrap_or(0);
            if have != t.rows {
                problems.push(Problem {
                    path: MANIFEST_FILE.to_string(),
                    message: format!(
                        "table `{}`.`{}`: the manifest counts {} rows, its data files hold {have}",
                        db.name, t.name, t.rows
                    ),
                });
            }
        }
    }
}
