//! Integrity of a dump's files: each one present, of its size and SHA-256, and the manifest itself
//! unchanged since `SHA256SUMS` was written.

use std::collections::BTreeMap;
use std::path::Path;

use crate::manifest::{Manifest, MANIFEST_FILE, SUMS_FILE};

/// Something wrong with one file of a dump.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Path relative to the dump directory.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        message: message.into(),
    }
}

/// `SHA256SUMS` parsed: path → hash.
fn read_sums(dir: &Path) -> Result<BTreeMap<String, String>, Problem> {
    let text = std::fs::read_to_string(dir.join(SUMS_FILE))
        .map_err(|e| problem(SUMS_FILE, format!("cannot be read: {e}")))?;
    let mut sums = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some((hash, path)) = line.split_once("  ") else {
            return Err(problem(
                SUMS_FILE,
                format!("line {} is not `HASH  PATH`", i + 1),
            ));
        };
        sums.insert(path.to_string(), hash.to_string());
    }
    Ok(sums)
}

/// Checks the manifest against `SHA256SUMS`: the manifest's own hash, and each file's hash listed
/// the same in both. (Each file's bytes are checked when it is read: [`crate::store::read::scan`].)
pub fn check_listing(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    let mut problems = Vec::new();
    match read_sums(dir) {
        Err(p) => problems.push(p),
        Ok(sums) => {
            match (hash_manifest(dir), sums.get(MANIFEST_FILE)) {
                (Ok(actual), Some(listed)) if &actual != listed => problems.push(problem(
                    MANIFEST_FILE,
                    "its SHA-256 differs from the one in SHA256SUMS: the manifest was changed",
                )),
                (Err(e), _) => {
                    problems.push(problem(MANIFEST_FILE, format!("cannot be read: {e}")))
                }
                (_, None) => problems.push(problem(SUMS_FILE, "does not list manifest.json")),
                _ => {}
            }
            for f in &manifest.files {
                if sums.get(&f.path) != Some(&f.sha256) {
                    problems.push(problem(
                        &f.path,
                        "its SHA-256 in manifest.json and in SHA256SUMS differ",
                    ));
                }
            }
        }
    }
    problems
}

/// SHA-256 of `manifest.json` (a regular file inside the dump directory).
fn hash_manifest(dir: &Path) -> Result<String, String> {
    let mut file = crate::store::read::open_file(dir, MANIFEST_FILE)?;
    let mut hashing = crate::sink::HashingWriter::new(std::io::sink());
    std::io::copy(&mut file, &mut hashing).map_err(|e| e.to_string())?;
    Ok(hashing.into_parts().1)
}
