//! Integrity of a dump's files: each one present, of its size and SHA-256, and the manifest itself
//! unchanged since `SHA256SUMS` was written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, ManifestFile, MANIFEST_FILE, SUMS_FILE};
use crate::sink::hex;

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

/// SHA-256 and size of a file, read in 1 MiB blocks.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
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

/// Checks the manifest against `SHA256SUMS`, and every file of `files` against the manifest.
/// Returns every problem found (empty when all is well).
pub fn check(dir: &Path, manifest: &Manifest, files: &[&ManifestFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    match read_sums(dir) {
        Err(p) => problems.push(p),
        Ok(sums) => {
            match (hash_file(&dir.join(MANIFEST_FILE)), sums.get(MANIFEST_FILE)) {
                (Ok((actual, _)), Some(listed)) if &actual != listed => problems.push(problem(
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
    let mut file_problems: Vec<Problem> = files
        .par_iter()
        .filter_map(|f| check_file(dir, f))
        .collect();
    file_problems.sort_by(|a, b| a.path.cmp(&b.path));
    problems.extend(file_problems);
    problems
}

fn check_file(dir: &Path, f: &ManifestFile) -> Option<Problem> {
    if f.path.split('/').any(|c| c == ".." || c.is_empty()) || f.path.starts_with('/') {
        return Some(problem(&f.path, "path leaves the dump directory"));
    }
    let path = dir.join(&f.path);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(problem(&f.path, "missing"))
        }
        Err(e) => return Some(problem(&f.path, format!("cannot be read: {e}"))),
        Ok(m) if m.len() != f.bytes => {
            return Some(problem(
                &f.path,
                format!("{} bytes, the manifest says {}", m.len(), f.bytes),
            ))
        }
        Ok(_) => {}
    }
    match hash_file(&path) {
        Err(e) => Some(problem(&f.path, format!("cannot be read: {e}"))),
        Ok((sha, _)) if sha != f.sha256 => Some(problem(
            &f.path,
            "SHA-256 mismatch: the file changed since the dump",
        )),
        Ok(_) => None,
    }
}
