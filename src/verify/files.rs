//! Integrity of a dump's files: each one present, of its size and SHA-256, and the manifest itself
//! unchanged since `SHA256SUMS` was written.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_SUMS_BYTES, SUMS_FILE};
use crate::sink::hex;
use crate::store::Storage;

pub use crate::error::Problem;

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        message: message.into(),
    }
}

/// `SHA256SUMS` parsed: path → hash. It must be a regular file (not a symbolic link, FIFO or
/// device) of at most [`MAX_SUMS_BYTES`].
fn read_sums(dump: &dyn Storage) -> Result<BTreeMap<String, String>, Problem> {
    let bytes = dump
        .read_small(SUMS_FILE, MAX_SUMS_BYTES)
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

/// Checks the manifest against `SHA256SUMS`: the manifest's own hash, and each file's hash listed
/// the same in both. (Each file's bytes are checked when it is read: [`crate::store::read::scan`].)
pub fn check_listing(dump: &dyn Storage, manifest: &Manifest) -> Vec<Problem> {
    let mut problems = Vec::new();
    match read_sums(dump) {
        Err(p) => problems.push(p),
        Ok(sums) => {
            let manifest_sha = dump
                .read_small(MANIFEST_FILE, MAX_MANIFEST_BYTES)
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
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_sums_file_of_bounded_size_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SUMS_FILE);
        let local = crate::store::storage::local::LocalStorage::new(dir.path(), Default::default());
        let start = std::time::Instant::now();
        let refused = |why: &str| {
            let p = read_sums(&local).unwrap_err();
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
        let sums = read_sums(&local).unwrap();
        assert_eq!(sums.get("db/t.sql.zst").map(String::as_str), Some("abc"));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
