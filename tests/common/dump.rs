//! Running `mybak dump` and checking a finished dump directory against the CLI contract: one stdout line
//! naming `ROOT/<name>`, `SHA256SUMS` that `sha256sum -c` accepts, and a manifest whose files match.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::client::read_manifest;
use super::server::try_find_binary;

/// What one `mybak` run produced.
#[derive(Debug)]
pub struct DumpOutput {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion, capturing stdout and stderr.
pub fn run_dump(mut cmd: Command) -> DumpOutput {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    DumpOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `cmd` (stdin from `/dev/null`) like [`run_dump`], but kills it and panics when it is
/// still running after `limit`, so a run that hangs fails its test instead of hanging the
/// suite. Also returns how long it took.
pub fn run_within(
    mut cmd: Command,
    limit: std::time::Duration,
) -> (DumpOutput, std::time::Duration) {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    cmd.stdout(Stdio::from(fs::File::create(&stdout).unwrap()))
        .stderr(Stdio::from(fs::File::create(&stderr).unwrap()))
        .stdin(Stdio::null());
    let start = std::time::Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}; stderr so far:\n{}",
                fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap()).into_owned();
    let output = DumpOutput {
        code: status.code(),
        stdout: read(&stdout),
        stderr: read(&stderr),
    };
    (output, start.elapsed())
}

impl DumpOutput {
    /// Panics (showing stdout and stderr) unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "mybak exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The dump directory named by the single stdout line: exists, lies directly in `root`, not `.partial`.
    pub fn dump_dir(&self, root: &Path) -> PathBuf {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "stdout must be exactly one line, got {:?}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        let dir = PathBuf::from(lines[0]);
        assert!(
            dir.is_dir(),
            "stdout names {}, which is not a directory",
            dir.display()
        );
        let canonical = dir.canonicalize().expect("canonical dump dir");
        let root = root.canonicalize().expect("canonical root");
        assert_eq!(
            canonical.parent(),
            Some(root.as_path()),
            "dump dir {} is not directly in ROOT",
            dir.display()
        );
        let name = canonical
            .file_name()
            .expect("dump dir name")
            .to_string_lossy()
            .into_owned();
        assert!(
            !name.contains(".partial"),
            "finished dump dir still named {name}"
        );
        dir
    }
}

/// Checks a finished dump directory: `sha256sum -c SHA256SUMS` passes inside it, every manifest `files`
/// entry exists with its sha256 and bytes and is listed in SHA256SUMS, and no `.sql.zst` is unlisted.
/// Returns the parsed manifest.
pub fn verify_dump_dir(dir: &Path) -> serde_json::Value {
    let sha256sum =
        try_find_binary("sha256sum").expect("sha256sum not found; apt-get install coreutils");
    let check = Command::new(sha256sum)
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .expect("run sha256sum -c");
    assert!(
        check.status.success(),
        "sha256sum -c SHA256SUMS failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).expect("read SHA256SUMS");
    let manifest = read_manifest(dir);
    assert_eq!(manifest["format_version"], 1, "format_version");
    let files = manifest["files"].as_array().expect("manifest files array");
    let mut listed = Vec::new();
    for entry in files {
        let rel = entry["path"]
            .as_str()
            .unwrap_or_else(|| panic!("files entry without path: {entry}"));
        let path = dir.join(rel);
        let data =
            fs::read(&path).unwrap_or_else(|e| panic!("manifest lists {rel}, unreadable: {e}"));
        assert_eq!(
            entry["bytes"].as_u64(),
            Some(data.len() as u64),
            "bytes of {rel}"
        );
        let digest = sha256_hex(&data);
        assert_eq!(
            entry["sha256"].as_str(),
            Some(digest.as_str()),
            "sha256 of {rel}"
        );
        assert!(
            sums.lines()
                .any(|l| l.starts_with(&digest) && l.ends_with(rel)),
            "{rel} is not in SHA256SUMS"
        );
        assert!(entry["kind"].is_string(), "files entry {rel} has no kind");
        listed.push(path);
    }
    for file in walk(dir) {
        if file.to_string_lossy().ends_with(".sql.zst") {
            assert!(
                listed.contains(&file),
                "{} is not listed in manifest files",
                file.display()
            );
        }
    }
    manifest
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every regular file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every file of a dump directory as plain text (`.zst` files decompressed), for leak checks.
pub fn dump_contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(dir)
        .into_iter()
        .map(|path| {
            let raw = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let data = if path.extension().is_some_and(|e| e == "zst") {
                zstd::decode_all(raw.as_slice())
                    .unwrap_or_else(|e| panic!("decompress {}: {e}", path.display()))
            } else {
                raw
            };
            (path, data)
        })
        .collect()
}

/// The manifest `tables` entries of database `db`, by name.
pub fn manifest_tables(manifest: &serde_json::Value, db: &str) -> Vec<String> {
    let dbs = manifest["databases"]
        .as_array()
        .expect("manifest databases array");
    let entry = dbs
        .iter()
        .find(|d| d["name"] == db)
        .unwrap_or_else(|| panic!("manifest lacks database {db}"));
    let tables = entry["tables"].as_array().expect("tables array");
    tables
        .iter()
        .map(|t| t["name"].as_str().expect("table name").to_string())
        .collect()
}
