//! `mybak verify` of a binlog archive directory (`ROOT/binlog/<server>`), offline: every archived
//! file against its index entry (stored size and SHA-256; decompressed, the server's size and
//! SHA-256; every event's length and CRC32; how it ends), then the chain of files and where each
//! dump of the output root starts in it ([`crate::binlog::check`]). The file being received
//! (`NAME.open`, in a local archive) is scanned and reported, never a problem.

use std::io::{self, Read};

use rayon::prelude::*;
use serde::Serialize;

use crate::binlog::check::{check_chain, DumpStart, Link};
use crate::binlog::event::{self, Event, EventReader, Next};
use crate::binlog::index::{self, binlog_order, Ending, FileEntry, FileStats};
use crate::binlog::OPEN_SUFFIX;
use crate::error::{Error, Problem, Result};
use crate::manifest::MANIFEST_FILE;
use crate::sink::HashingReader;
use crate::store::catalog::list_dumps;
use crate::store::storage::{Entry, EntryKind, Location, Storage};

/// The name of the directory that holds the archives below an output root.
const ARCHIVES_DIR: &str = "binlog";

/// What `verify` found in an archive.
#[derive(Debug, Default, Serialize)]
pub struct ArchiveReport {
    /// The archive directory's name (the server's `server_uuid` or `server_id`).
    pub archive: String,
    /// Archived files (index entries) checked.
    pub files: usize,
    /// Their stored (compressed) bytes.
    pub bytes: u64,
    /// The server's bytes they hold, and their events.
    pub binlog_bytes: u64,
    pub events: u64,
    /// Dumps of the output root whose start in the archive was checked.
    pub dumps: usize,
    /// The file being received, when there is one.
    pub open: Option<OpenReport>,
    /// What is worth knowing but no problem.
    pub notes: Vec<String>,
    pub problems: Vec<Problem>,
}

impl ArchiveReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The file being received, as a scan of its events found it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    pub file: String,
    pub bytes: u64,
    /// Its length up to the end of the last whole event, and of the last whole transaction.
    pub whole_bytes: u64,
    pub safe_bytes: u64,
    /// Why its events cannot be read, when they cannot.
    pub error: Option<String>,
}

/// The archive's name when `location` (opened as `storage`) is an archive directory: its parent
/// is named `binlog`, and it holds index entries (`*.json`) but no `manifest.json`.
pub fn archive_name(location: &Location, storage: &dyn Storage) -> Option<String> {
    let location = location.resolved();
    if location.parent()?.name().as_deref() != Some(ARCHIVES_DIR) {
        return None;
    }
    let listing = storage.list("").ok()?;
    let file = |e: &&Entry| e.kind == EntryKind::File;
    let indexed = listing
        .iter()
        .filter(file)
        .any(|e| e.name.ends_with(".json") && e.name != MANIFEST_FILE);
    let dump = listing.iter().any(|e| e.name == MANIFEST_FILE);
    if indexed && !dump {
        location.name()
    } else {
        None
    }
}

/// Checks the archive directory at the root of `archive`, named `name`, and the dumps of the
/// output root `root` (two levels up) that rely on it.
pub fn check_archive(
    archive: &dyn Storage,
    name: &str,
    root: &dyn Storage,
) -> Result<ArchiveReport> {
    let io_err = |e| Error::io(archive.display(""), e);
    let listing = archive.list("").map_err(io_err)?;
    let entries = index::read_named_entries(archive, "").map_err(io_err)?;
    let checks: Vec<FileCheck> = entries
        .par_iter()
        .map(|(file, entry)| check_file(archive, &listing, file, entry))
        .collect();
    let mut report = ArchiveReport {
        archive: name.to_string(),
        files: entries.len(),
        ..ArchiveReport::default()
    };
    for c in &checks {
        report.bytes += c.stored_bytes;
        report.binlog_bytes += c.binlog_bytes;
        report.events += c.events;
        report.problems.extend(c.problems.iter().cloned());
    }
    report.notes.extend(unindexed(&listing));
    report.open = open_file(archive, &listing, &mut report.notes);
    let starts = dump_starts(root, name)?;
    report.dumps = starts.len();
    let links: Vec<Link<'_>> = entries
        .iter()
        .zip(&checks)
        .map(|((file, entry), c)| Link {
            file,
            entry: entry.as_ref().ok(),
            sound: c.problems.is_empty(),
        })
        .collect();
    let dumps: Vec<DumpStart<'_>> = starts
        .iter()
        .map(|d| DumpStart {
            path: &d.path,
            name: &d.name,
            file: &d.file,
            position: d.position,
        })
        .collect();
    let open = report.open.as_ref().map(|o| o.file.as_str());
    let chain = check_chain(&links, open, &dumps);
    report.problems.extend(chain);
    Ok(report)
}

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        message: message.into(),
    }
}

/// What checking one archived file found.
#[derive(Debug, Default)]
struct FileCheck {
    problems: Vec<Problem>,
    stored_bytes: u64,
    binlog_bytes: u64,
    events: u64,
}

/// Checks archived file `file` (its index entry `entry`) against its stored bytes.
fn check_file(
    archive: &dyn Storage,
    listing: &[Entry],
    file: &str,
    entry: &std::result::Result<FileEntry, String>,
) -> FileCheck {
    let mut check = FileCheck::default();
    let json = index::entry_name(file);
    let entry = match entry {
        Ok(entry) => entry,
        Err(message) => {
            check
                .problems
                .push(problem(&json, format!("cannot be read: {message}")));
            return check;
        }
    };
    if entry.file != file || !index::is_file_name(file) {
        let message = format!("names binlog file {:?}, not {file:?}", entry.file);
        check.problems.push(problem(&json, message));
        return check;
    }
    let stored = index::stored_name(file);
    let listed = listing
        .iter()
        .find(|e| e.kind == EntryKind::File && e.name == stored)
        .map(|e| e.bytes);
    let Some(listed) = listed else {
        let message = "is missing: its index entry describes a file that is not there";
        check.problems.push(problem(&stored, message));
        return check;
    };
    match read_stored(archive, &stored) {
        Err(message) => check
            .problems
            .push(problem(&stored, format!("cannot be read: {message}"))),
        Ok(read) => compare(entry, &stored, listed, read, &mut check),
    }
    check
}

/// Compares what was read of a stored file with its index entry.
fn compare(entry: &FileEntry, stored: &str, listed: u64, read: ReadBack, check: &mut FileCheck) {
    check.stored_bytes = read.stored.bytes;
    let mut say = |message: String| check.problems.push(problem(stored, message));
    if read.stored.bytes != entry.stored_size || listed != entry.stored_size {
        return say(format!(
            "is {} bytes, its index entry says {}: the file was cut or changed",
            read.stored.bytes, entry.stored_size
        ));
    }
    if read.stored.sha256 != entry.stored_sha256 {
        return say(
            "its SHA-256 differs from the one in its index entry: the file was changed or damaged"
                .into(),
        );
    }
    let contents = match read.contents {
        Ok(contents) => contents,
        Err(message) => return say(message),
    };
    let stats = &contents.stats;
    let (raw, file) = (&contents.raw, &entry.file);
    if raw.bytes != entry.size {
        say(format!(
            "decompressed, {file} is {} bytes, its index entry says {}",
            raw.bytes, entry.size
        ));
    } else if raw.sha256 != entry.sha256 {
        say(format!(
            "decompressed, the SHA-256 of {file} differs from the one in its index entry"
        ));
    }
    if stats.events != entry.events {
        say(format!(
            "holds {} events, its index entry says {}",
            stats.events, entry.events
        ));
    }
    let ending = if entry.next.is_none() {
        Ending::Purged
    } else {
        stats.ending()
    };
    if ending != entry.ending {
        say(format!(
            "ends as {} does, its index entry says {}",
            ending.as_str(),
            entry.ending.as_str()
        ));
    }
    if let Some(to) = stats
        .rotated_to
        .as_ref()
        .filter(|to| entry.next.as_ref() != Some(*to))
    {
        say(format!(
            "its rotate event names {to} as the next file, its index entry says {}",
            entry.next.as_deref().unwrap_or("none")
        ));
    }
    if stats.gtid_start != entry.gtid_start || stats.gtid_end != entry.gtid_end {
        say(format!(
            "its GTID state goes from {:?} to {:?}, its index entry says from {:?} to {:?}",
            stats.gtid_start.to_string(),
            stats.gtid_end.to_string(),
            entry.gtid_start.to_string(),
            entry.gtid_end.to_string()
        ));
    }
    check.binlog_bytes = raw.bytes;
    check.events = stats.events;
}

/// The size and SHA-256 of bytes read.
#[derive(Debug, Default)]
struct Digested {
    sha256: String,
    bytes: u64,
}

fn digested<R: Read>(reader: &HashingReader<R>) -> Digested {
    let (sha256, bytes) = reader.digest();
    Digested { sha256, bytes }
}

/// A stored file read back: its own bytes, and what they decompress to (or why they do not).
struct ReadBack {
    stored: Digested,
    contents: std::result::Result<Contents, String>,
}

/// What a stored file decompresses to: the server's bytes and their events.
struct Contents {
    raw: Digested,
    stats: FileStats,
}

/// Reads stored file `rel` to its end, hashing it, and its events as far as they go.
fn read_stored(archive: &dyn Storage, rel: &str) -> std::result::Result<ReadBack, String> {
    let mut stored = HashingReader::new(archive.open(rel)?);
    let contents = read_events(&mut stored);
    io::copy(&mut stored, &mut io::sink()).map_err(|e| e.to_string())?;
    Ok(ReadBack {
        stored: digested(&stored),
        contents,
    })
}

/// Decompresses `stored` and reads its events, checking each (length, CRC32).
fn read_events(stored: impl Read) -> std::result::Result<Contents, String> {
    let decoder = zstd::Decoder::new(stored).map_err(|e| format!("cannot be decompressed: {e}"))?;
    let mut raw = HashingReader::new(decoder);
    let mut stats = FileStats::default();
    {
        let bad = |e: event::ScanError| format!("its binlog events: {e}");
        let Some(mut reader) = EventReader::start(&mut raw).map_err(bad)? else {
            return Err("decompresses to less than a binlog file's magic number".into());
        };
        loop {
            match reader.next_event().map_err(bad)? {
                Next::Event(bytes) => {
                    let event = Event::parse(&bytes, reader.checksum())
                        .map_err(|e| format!("its binlog events: {e}"))?;
                    stats.add(&event);
                }
                Next::End => break,
                Next::Cut => {
                    return Err(format!(
                        "its binlog events: the file ends inside an event at position {}",
                        reader.position()
                    ))
                }
            }
        }
    }
    Ok(Contents {
        raw: digested(&raw),
        stats,
    })
}

/// Stored files without an index entry: a run that stopped while storing them.
fn unindexed(listing: &[Entry]) -> Vec<String> {
    let has = |name: &str| listing.iter().any(|e| e.name == name);
    listing
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter_map(|e| e.name.strip_suffix(".zst"))
        .filter(|file| !has(&index::entry_name(file)))
        .map(|file| {
            format!(
                "{}: has no index entry: it was not stored completely (the archiver stores it \
                 again on its next run)",
                index::stored_name(file)
            )
        })
        .collect()
}

/// Scans the file being received (the newest `NAME.open`), noting what it holds.
fn open_file(
    archive: &dyn Storage,
    listing: &[Entry],
    notes: &mut Vec<String>,
) -> Option<OpenReport> {
    let mut open: Vec<(&str, u64)> = listing
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter_map(|e| e.name.strip_suffix(OPEN_SUFFIX).map(|n| (n, e.bytes)))
        .collect();
    open.sort_by(|a, b| binlog_order(a.0, b.0));
    let (file, bytes) = open.pop()?;
    for (older, _) in &open {
        notes.push(format!(
            "{older}{OPEN_SUFFIX}: received completely but not stored yet (the archiver stores \
             it on its next run)"
        ));
    }
    let rel = format!("{file}{OPEN_SUFFIX}");
    let scan = archive
        .open(&rel)
        .and_then(|r| event::scan(io::BufReader::new(r)).map_err(|e| e.to_string()));
    let report = OpenReport {
        file: file.to_string(),
        bytes,
        whole_bytes: scan.as_ref().map(|s| s.whole_len).unwrap_or_default(),
        safe_bytes: scan.as_ref().map(|s| s.safe_len).unwrap_or_default(),
        error: scan.as_ref().err().cloned(),
    };
    notes.push(match &report.error {
        None => format!(
            "{rel}: the file being received, {bytes} bytes, whole transactions up to byte {}",
            report.safe_bytes
        ),
        Some(e) => format!("{rel}: the file being received cannot be read as binlog events: {e}"),
    });
    Some(report)
}

/// Where a dump that relies on the archive starts.
struct Start {
    path: String,
    name: String,
    file: String,
    position: u64,
}

/// The finished dumps of `root` taken from the archive's server: those whose manifest names
/// `archive`, and those naming none when `root` holds this archive only.
fn dump_starts(root: &dyn Storage, archive: &str) -> Result<Vec<Start>> {
    let dumps = list_dumps(root)?;
    let archives = match root.list(ARCHIVES_DIR) {
        Ok(listing) => listing.iter().filter(|e| e.kind == EntryKind::Dir).count(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(Error::io(root.display(ARCHIVES_DIR), e)),
    };
    Ok(dumps
        .iter()
        .filter_map(|d| {
            let binlog = d.manifest()?.binlog.as_ref()?;
            let ours = match &binlog.archive {
                Some(a) => a == archive,
                None => archives == 1,
            };
            (ours && !binlog.file.is_empty()).then(|| Start {
                path: d.path.display().to_string(),
                name: d.name.clone(),
                file: binlog.file.clone(),
                position: binlog.position,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::storage::local::LocalStorage;

    #[test]
    fn an_archive_is_recognised_by_its_parent_and_its_entries() {
        let root = tempfile::tempdir().unwrap();
        let recognised = |rel: &str| {
            let path = root.path().join(rel);
            let storage = LocalStorage::new(&path, Default::default());
            archive_name(&Location::Local(path), &storage)
        };
        let dir = root.path().join("binlog/1");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(recognised("binlog/1"), None, "no index entries yet");
        std::fs::write(dir.join("mariadb-bin.000001.json"), "{}").unwrap();
        assert_eq!(recognised("binlog/1").as_deref(), Some("1"));
        assert_eq!(recognised("binlog/1/.").as_deref(), Some("1"));
        std::fs::write(dir.join(MANIFEST_FILE), "{}").unwrap();
        assert_eq!(recognised("binlog/1"), None, "a dump directory");
        let other = root.path().join("dumps/1");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("mariadb-bin.000001.json"), "{}").unwrap();
        assert_eq!(recognised("dumps/1"), None, "not below binlog/");
    }
}
