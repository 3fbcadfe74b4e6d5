//! `manifest.json` and `SHA256SUMS`: what a dump holds, in restore order, with hashes to prove it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::regular_file::{self, Links, ReadError};

/// The version of the manifest format this build writes for a plain dump.
pub const FORMAT_VERSION: u32 = 1;

/// The version written for an encrypted dump (so that a mybak that cannot decrypt refuses it
/// as too new instead of calling every file damaged); the newest this build reads.
pub const ENCRYPTED_FORMAT_VERSION: u32 = 2;

/// How the `.sql.zst` files of a dump are encrypted (after compression; the manifest and
/// `SHA256SUMS` stay readable, and the SHA-256 of a file is of its encrypted bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// `age` (age-encryption.org/v1, X25519 recipients).
    pub method: String,
    /// The public keys the files are encrypted to (`age1…`).
    pub recipients: Vec<String>,
}
/// The manifest's file name inside a dump directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The checksum list's file name inside a dump directory.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// The largest `manifest.json` read (256 MiB: about 600,000 files at some 400 bytes each).
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// The largest `SHA256SUMS` read (64 MiB: some 400,000 lines of hash and path).
pub const MAX_SUMS_BYTES: u64 = 64 << 20;

/// Reads a file mybak wrote into a dump directory: a regular file, not a symbolic link, of at
/// most `limit` bytes, never blocking on a FIFO (see [`crate::regular_file`]).
pub fn read_dump_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    regular_file::read(path, Links::Refuse, limit).map(|(bytes, _)| bytes)
}

/// Whether every object made it into the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Complete,
    Partial,
}

/// How the dump got one point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Consistency {
    /// One snapshot for all tables and workers, taken under a short global lock.
    Snapshot,
    /// Each table read in its own snapshot.
    PerTable,
    /// No transaction at all.
    None,
}

impl std::str::FromStr for Consistency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "snapshot" => Ok(Consistency::Snapshot),
            "per-table" => Ok(Consistency::PerTable),
            "none" => Ok(Consistency::None),
            _ => Err(Error::Settings(format!(
                "unknown consistency {s:?}: expected snapshot, per-table or none"
            ))),
        }
    }
}

impl std::fmt::Display for Consistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Consistency::Snapshot => "snapshot",
            Consistency::PerTable => "per-table",
            Consistency::None => "none",
        })
    }
}

/// Binary log coordinates of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binlog {
    pub file: String,
    pub position: u64,
    /// MariaDB `gtid_binlog_pos` or MySQL `gtid_executed`; empty when the server has none.
    pub gtid: String,
    /// The name of the server's binlog archive directory (`ROOT/binlog/<archive>`): its
    /// `server_uuid` (MySQL) or `server_id` (MariaDB). Absent in dumps of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

/// The server the dump was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `SELECT VERSION()`.
    pub version: String,
    /// `@@hostname` as the server reports it.
    pub host: String,
}

/// What kind of SQL a file holds; the restore order of `files` is the order of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Database,
    Sequence,
    TableSchema,
    TableData,
    Routines,
    View,
    Triggers,
    Events,
    Users,
}

impl FileKind {
    /// Where files of this kind come in a restore (and in the manifest): databases, sequences,
    /// tables, rows, then routines before the views that may call them, triggers, events, accounts.
    pub fn phase(self) -> u8 {
        match self {
            FileKind::Database => 0,
            FileKind::Sequence => 1,
            FileKind::TableSchema => 2,
            FileKind::TableData => 3,
            FileKind::Routines => 4,
            FileKind::View => 5,
            FileKind::Triggers => 6,
            FileKind::Events => 7,
            FileKind::Users => 8,
        }
    }
}

/// One file of the dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    /// Size on disk.
    pub bytes: u64,
    /// Size of the SQL text inside.
    pub sql_bytes: u64,
    pub kind: FileKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Data files: the rows in this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Data files: the largest statement inside, in bytes (to check `max_allowed_packet` before loading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_statement_bytes: Option<u64>,
    /// The storage's own checksum of the file when it has one (an S3 ETag: for a multipart
    /// upload, not a hash of the whole file), to tell a changed object without reading it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// One table's data as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// Rows dumped (history rows included for system-versioned tables).
    pub rows: u64,
    /// Bytes of INSERT statements.
    pub bytes: u64,
    /// Order-independent fingerprint of the rows' values as dumped (see [`crate::dump::fingerprint`]).
    pub fingerprint: String,
    /// Whether the rows include system-versioning history.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
}

/// One database as dumped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    pub name: String,
    pub tables: Vec<TableEntry>,
    /// Views, sequences, routines, triggers and events, by kind, as `kind name` strings.
    #[serde(default)]
    pub objects: Vec<String>,
    /// Tables dumped without their rows, because their engine keeps none of its own (MERGE,
    /// FEDERATED, BLACKHOLE…): restoring rows into them would duplicate or misplace them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub definition_only: Vec<DefinitionOnly>,
}

/// A table whose definition is dumped but not its rows, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionOnly {
    pub name: String,
    pub engine: String,
    pub reason: String,
}

/// An object that could not be dumped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// `table`, `view`, `routine`, `trigger`, `event`, `sequence`, `database`, `users`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    pub name: String,
    pub error: String,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub server: ServerInfo,
    pub started_at: String,
    pub finished_at: String,
    pub status: Status,
    pub consistency: Consistency,
    /// The run that wrote the dump (as in the log file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// information_schema's data size of the dumped tables (for the next dump's space estimate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_bytes: Option<u64>,
    pub binlog: Option<Binlog>,
    pub failures: Vec<Failure>,
    /// With `--users`: the server's own accounts left out of `users.sql.zst` (`'mysql'@'localhost'`,
    /// `'root'@'%'`…; see [`crate::sql::account::is_system_account`]). Empty in older manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_accounts_left_out: Vec<String>,
    /// Set when the dump's files are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    pub databases: Vec<DatabaseEntry>,
    /// In restore order.
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// The JSON text, pretty-printed, ending in a newline.
    pub fn to_json(&self) -> Result<String> {
        let mut s = serde_json::to_string_pretty(self).map_err(|e| Error::Manifest {
            path: MANIFEST_FILE.into(),
            message: e.to_string(),
        })?;
        s.push('\n');
        Ok(s)
    }

    /// How many tables' rows the dump holds.
    pub fn table_count(&self) -> u64 {
        self.databases.iter().map(|d| d.tables.len() as u64).sum()
    }

    /// How many rows the dump holds.
    pub fn row_count(&self) -> u64 {
        crate::units::total(
            self.databases
                .iter()
                .flat_map(|d| &d.tables)
                .map(|t| t.rows),
        )
    }

    /// Reads and parses `dir/manifest.json`, which must be a regular file (not a symbolic
    /// link, FIFO or device) of at most [`MAX_MANIFEST_BYTES`].
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        Manifest::parse(read_dump_file(&path, MAX_MANIFEST_BYTES), path)
    }

    /// Parses the bytes of a `manifest.json` (as read from `path`, for messages).
    pub fn parse(read: Result<Vec<u8>, ReadError>, path: PathBuf) -> Result<Manifest> {
        let bytes = read.map_err(|e| match e {
            ReadError::Io(e) => Error::io(&path, e),
            refused => Error::Manifest {
                path: path.clone(),
                message: format!("{refused}; refused"),
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Manifest {
            path,
            message: e.to_string(),
        })
    }

    /// `SHA256SUMS` text for the files and the manifest itself (`sha256sum -c` format).
    pub fn sums(&self, manifest_sha256: &str) -> String {
        let mut out = String::new();
        for f in &self.files {
            out.push_str(&format!("{}  {}\n", f.sha256, f.path));
        }
        out.push_str(&format!("{manifest_sha256}  {MANIFEST_FILE}\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_parses_and_prints_the_same_words() {
        for word in ["snapshot", "per-table", "none"] {
            let c: Consistency = word.parse().unwrap();
            assert_eq!(c.to_string(), word);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{word}\""));
        }
        let e = "fast".parse::<Consistency>().unwrap_err().to_string();
        assert!(e.contains("\"fast\"") && e.contains("per-table"), "{e}");
    }

    #[test]
    fn only_a_regular_manifest_of_bounded_size_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let start = std::time::Instant::now();
        let refused = |why: &str| {
            let e = Manifest::read(dir.path()).unwrap_err();
            assert!(matches!(e, Error::Manifest { .. }), "{e:?}");
            assert_eq!(e.to_string(), format!("{}: {why}; refused", path.display()));
            std::fs::remove_file(&path).unwrap();
        };
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        refused("is a symbolic link, not a regular file");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        refused("is a FIFO, not a regular file");
        // Sparse: no disk space taken.
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_MANIFEST_BYTES + 1).unwrap();
        refused("is larger than 256.0 MiB");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn file_kinds_are_kebab_case() {
        assert_eq!(
            serde_json::to_string(&FileKind::TableData).unwrap(),
            "\"table-data\""
        );
    }
}

#[cfg(test)]
mod props;
