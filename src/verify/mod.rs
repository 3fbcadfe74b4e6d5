//! `mybak verify`: proves a dump is whole and readable offline, and restorable on a scratch server;
//! [`archive`] does the same for a binlog archive directory.

pub mod archive;
mod contents;
pub mod files;
mod restore_test;

use serde::Serialize;

use crate::crypt::Identities;
use crate::error::Result;
use crate::manifest::{Manifest, ManifestFile, Status};
use crate::store::read::Source;
use crate::store::storage::{join, EntryKind};
use crate::store::{self, Storage};

pub use contents::{check_files, Checked};
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
    /// The dump is encrypted and no key was given: each file's size and SHA-256 were checked,
    /// not what it holds.
    pub encrypted_unread: bool,
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
/// and hash, that every file decompresses and splits into complete statements of the shapes its
/// kind allows, none larger than `max_statement`, and that the rows in the data files are the rows
/// the manifest counts. Returns the manifest too.
/// An encrypted dump's files are decrypted with `identities`; without them only their stored
/// bytes are checked (size and SHA-256).
pub fn offline(
    dump: &dyn Storage,
    identities: Option<&Identities>,
    max_statement: usize,
) -> Result<(Manifest, Report)> {
    let manifest = store::open_dump(dump)?;
    let src = Source::new(dump, &manifest, identities);
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
    report.bytes = crate::units::total(all.iter().map(|f| f.bytes));
    report
        .problems
        .extend(files::check_listing(dump, &manifest));
    report.problems.extend(unlisted_files(dump, &manifest));
    let checked = check_files(src, &manifest, &all, max_statement, &|_, _| true);
    report.problems.extend(checked.problems);
    report.statements = checked.statements;
    report.rows = checked.rows;
    report.sql_bytes = checked.sql_bytes;
    report.encrypted_unread = checked.contents_unread;
    Ok((manifest, report))
}

/// `.sql.zst` files in the dump directory that the manifest does not list.
fn unlisted_files(dump: &dyn Storage, manifest: &Manifest) -> Vec<Problem> {
    let listed: std::collections::BTreeSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut found = Vec::new();
    walk(dump, "", &mut found);
    found
        .into_iter()
        .filter(|p| p.ends_with(".sql.zst") && !listed.contains(p.as_str()))
        .map(|p| problem(&p, "is not listed in the manifest"))
        .collect()
}

fn walk(dump: &dyn Storage, dir: &str, out: &mut Vec<String>) {
    let Ok(entries) = dump.list(dir) else {
        return;
    };
    for e in entries {
        let rel = join(dir, &e.name);
        match e.kind {
            EntryKind::Dir => walk(dump, &rel, out),
            _ => out.push(rel),
        }
    }
}
