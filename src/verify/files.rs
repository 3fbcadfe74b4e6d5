//! Integrity of a dump's files: each one present, of its size and SHA-256, and the manifest itself
//! unchanged since `SHA256SUMS` was written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::manifest::{
    read_dump_file, Manifest, ManifestFile, MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_SUMS_BYTES,
    SUMS_FILE,
};
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

/// `SHA256SUMS` parsed: path → hash. It must be a regular file (not a symbolic link, FIFO or
/// device) of at most [`MAX_SUMS_BYTES`].
fn read_sums(dir: &Path) -> Result<BTreeMap<String, String>, Problem> {
    let bytes = read_dump_file(&dir.join(SUMS_FILE), MAX_SUMS_BYTES)
        .map_err(|e| problem(SUMS_FILE, format!("cannot be read: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| problem(SUMS_FILE, "cannot be read: it is not UTF-8 text"))?;
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
            let manifest_sha = read_dump_file(&dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES)
                .map(|bytes| hex(&Sha256::digest(&bytes)));
            match (manifest_sha, sums.get(MANIFEST_FILE)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_sums_file_of_bounded_size_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SUMS_FILE);
        let start = std::time::Instant::now();
        let refused = |why: &str| {
            let p = read_sums(dir.path()).unwrap_err();
            assert_eq!(p.to_string(), format!("SHA256SUMS: cannot be read: {why}"));
            std::fs::remove_file(&path).unwrap();
        };
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        refused("is a symbolic link, not a regular file");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        refused("is a FIFO, not a regular file");
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_SUMS_BYTES + 1).unwrap();
        refused("is larger than 64.0 MiB");
        std::fs::write(&path, "abc  db/t.sql.zst\n").unwrap();
        let sums = read_sums(dir.path()).unwrap();
        assert_eq!(sums.get("db/t.sql.zst").map(String::as_str), Some("abc"));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
