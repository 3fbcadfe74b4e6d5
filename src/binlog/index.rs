//! The archive's index: beside each archived binlog file `NAME.zst`, a `NAME.json` that says
//! what it holds (size and SHA-256 of the server's file and of the stored bytes, first and last
//! event time, the GTID state before and after it, the next file), written once the file is
//! closed and stored. A file without its `.json` was not archived completely.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{self, kind, Boundaries, Event, Gtid};
use crate::store::storage::{join, EntryKind, Storage};

/// Where a server's archive lives below the root: `binlog/<server-uuid or server_id>`.
pub fn archive_dir(server: &str) -> String {
    join("binlog", server)
}

/// The stored (compressed) name of binlog file `name`.
pub fn stored_name(name: &str) -> String {
    format!("{name}.zst")
}

/// The index entry name of binlog file `name`.
pub fn entry_name(name: &str) -> String {
    format!("{name}.json")
}

/// Whether `name` can be a binlog file's name (and so a file name in the archive): letters,
/// digits, `.`, `_`, `-`, not starting with a dot, at most 200 bytes. A server could name its
/// files otherwise, but never one that leaves the archive directory.
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The largest index entry read.
const ENTRY_LIMIT: u64 = 1 << 20;

/// How a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// A rotate event to the next file.
    Rotate,
    /// A stop event: the server shut down.
    Stop,
    /// Neither: the server stopped without closing it (a crash).
    Cut,
    /// Only its start was received: the rest was purged on the server first (a gap follows).
    Purged,
}

impl Ending {
    /// The word the index entry uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Rotate => "rotate",
            Ending::Stop => "stop",
            Ending::Cut => "cut",
            Ending::Purged => "purged",
        }
    }
}

/// One archived binlog file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The server's name of the file.
    pub file: String,
    /// Its size and SHA-256 as on the server.
    pub size: u64,
    pub sha256: String,
    /// The stored (zstd) file's name, size and SHA-256.
    pub stored: String,
    pub stored_size: u64,
    pub stored_sha256: String,
    pub events: u64,
    pub transactions: u64,
    /// The time of the first event (the file's creation) and of the last one.
    pub first_time: DateTime<Utc>,
    pub last_time: DateTime<Utc>,
    /// The GTID state before the file (its GTID list event; MariaDB) and after it.
    pub gtid_start: GtidState,
    pub gtid_end: GtidState,
    pub first_gtid: Option<String>,
    pub last_gtid: Option<String>,
    /// The file that follows, when the server said.
    pub next: Option<String>,
    pub ending: Ending,
    /// When it was archived.
    pub archived_at: DateTime<Utc>,
}

#[cfg(test)]
impl FileEntry {
    /// An entry of file `file` followed by `next` (ended by a rotate; `None`: purged), for tests.
    pub(crate) fn sample(file: &str, next: Option<&str>) -> FileEntry {
        FileEntry {
            file: file.to_string(),
            size: 100,
            sha256: String::new(),
            stored: stored_name(file),
            stored_size: 10,
            stored_sha256: String::new(),
            events: 1,
            transactions: 0,
            first_time: DateTime::default(),
            last_time: DateTime::default(),
            gtid_start: GtidState::default(),
            gtid_end: GtidState::default(),
            first_gtid: None,
            last_gtid: None,
            next: next.map(str::to_string),
            ending: if next.is_some() {
                Ending::Rotate
            } else {
                Ending::Purged
            },
            archived_at: DateTime::default(),
        }
    }
}

/// A GTID state: the last sequence number per MariaDB domain and server
/// (`0-1-5,0-2-9`), as a GTID list event gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GtidState(BTreeMap<String, u64>);

impl GtidState {
    /// Records `gtid` (MariaDB GTIDs only; MySQL's are kept as first/last).
    pub fn record(&mut self, gtid: &Gtid) {
        if let Gtid::MariaDb {
            domain,
            server,
            seq,
        } = gtid
        {
            self.0.insert(format!("{domain}-{server}"), *seq);
        }
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for GtidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}-{v}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// Counts what a file holds, event by event, for its [`FileEntry`].
#[derive(Debug, Default)]
pub struct FileStats {
    pub checksum: bool,
    pub events: u64,
    pub transactions: u64,
    pub first_time: Option<u32>,
    pub last_time: u32,
    pub gtid_start: GtidState,
    pub gtid_end: GtidState,
    pub first_gtid: Option<String>,
    pub last_gtid: Option<String>,
    pub last_kind: u8,
    pub rotated_to: Option<String>,
    bounds: Boundaries,
}

impl FileStats {
    /// Takes the next event of the file (already checked).
    pub fn add(&mut self, event: &Event<'_>) {
        let h = event.header;
        if h.kind == kind::FORMAT_DESCRIPTION {
            self.checksum = event::format_checksum(event.bytes).unwrap_or(false);
        }
        self.events += 1;
        self.first_time.get_or_insert(h.timestamp);
        self.last_time = h.timestamp;
        self.last_kind = h.kind;
        if h.kind == kind::MARIADB_GTID_LIST && self.gtid_start.is_empty() {
            for gtid in event::gtid_list(event, self.checksum).unwrap_or_default() {
                self.gtid_start.record(&gtid);
                self.gtid_end.record(&gtid);
            }
        }
        if let Some((gtid, _)) = event::gtid_of(event, self.checksum) {
            self.gtid_end.record(&gtid);
            let shown = gtid.to_string();
            self.first_gtid.get_or_insert_with(|| shown.clone());
            self.last_gtid = Some(shown);
        }
        if h.kind == kind::ROTATE {
            self.rotated_to = event::rotate_target(event, self.checksum).map(|(name, _)| name);
        }
        let was_open = self.bounds.in_transaction();
        if self.bounds.after(event, self.checksum) && was_open {
            self.transactions += 1;
        }
    }

    /// How the file ended, judging by its last event.
    pub fn ending(&self) -> Ending {
        match self.last_kind {
            kind::ROTATE => Ending::Rotate,
            kind::STOP => Ending::Stop,
            _ => Ending::Cut,
        }
    }
}

/// Seconds since the epoch as a time (the epoch itself for nonsense).
pub fn time_of(seconds: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(seconds), 0).unwrap_or_default()
}

/// The index entries of the archive in `dir`, in binlog order. Entries that cannot be read are
/// returned as errors with their names, so a caller can report them.
pub fn read_entries(
    storage: &dyn Storage,
    dir: &str,
) -> std::io::Result<Vec<Result<FileEntry, (String, String)>>> {
    Ok(read_named_entries(storage, dir)?
        .into_iter()
        .map(|(name, entry)| entry.map_err(|why| (entry_name(&name), why)))
        .collect())
}

/// The index entries of the archive in `dir`, in binlog order, each with the file name its
/// entry's name gives (`NAME` of `NAME.json`) and the entry or why it cannot be read.
pub fn read_named_entries(
    storage: &dyn Storage,
    dir: &str,
) -> std::io::Result<Vec<(String, Result<FileEntry, String>)>> {
    let listing = match storage.list(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<String> = listing
        .into_iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter_map(|e| e.name.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort_by(|a, b| binlog_order(a, b));
    Ok(names
        .into_iter()
        .map(|name| {
            let rel = join(dir, &entry_name(&name));
            let entry = storage
                .read_small(&rel, ENTRY_LIMIT)
                .map_err(|e| e.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()));
            (name, entry)
        })
        .collect())
}

/// Orders binlog file names by base name, then by the number after the last dot (which may
/// outgrow its zero padding: `.999999` comes before `.1000000`).
pub fn binlog_order(a: &str, b: &str) -> std::cmp::Ordering {
    split_number(a).cmp(&split_number(b))
}

fn split_number(name: &str) -> (&str, Option<u64>, &str) {
    match name.rsplit_once('.') {
        Some((base, n)) => (base, n.parse().ok(), n),
        None => (name, None, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_names_sort_by_number() {
        let mut names = vec![
            "mariadb-bin.1000000",
            "mariadb-bin.000010",
            "mariadb-bin.999999",
            "mariadb-bin.000002",
        ];
        names.sort_by(|a, b| binlog_order(a, b));
        assert_eq!(
            names,
            [
                "mariadb-bin.000002",
                "mariadb-bin.000010",
                "mariadb-bin.999999",
                "mariadb-bin.1000000"
            ]
        );
    }

    #[test]
    fn file_names_stay_inside_the_archive() {
        for ok in ["mariadb-bin.000001", "host_1-bin.1000000", "binlog.000002"] {
            assert!(is_file_name(ok), "{ok}");
        }
        let long = "a".repeat(201);
        for bad in [
            "",
            ".hidden",
            "../x",
            "a/b",
            "x\0y",
            "café.000001",
            long.as_str(),
        ] {
            assert!(!is_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn gtid_state_keeps_the_last_per_domain_and_server() {
        let mut s = GtidState::default();
        for (domain, server, seq) in [(0, 1, 5), (0, 2, 9), (0, 1, 6), (1, 1, 2)] {
            s.record(&Gtid::MariaDb {
                domain,
                server,
                seq,
            });
        }
        assert_eq!(s.to_string(), "0-1-6,0-2-9,1-1-2");
        assert!(GtidState::default().is_empty());
    }
}
