//! Reading an archive's events in order for a replay: from a dump's binlog position through the
//! archived files that follow it (and the file being received, on a local root), each file's
//! format description first.

use std::io::{BufReader, Read};
use std::path::PathBuf;

use super::event::{EventReader, Header, Next};
use super::index::{self, binlog_order, FileEntry};
use super::spool::OPEN_SUFFIX;
use super::BinlogError;
use crate::error::{Error, Result};
use crate::store::storage::{join, Storage};

/// One file of a replay.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceFile {
    /// An archived (closed) file.
    Archived(Box<FileEntry>),
    /// The file being received, read as far as it is (local roots).
    Open { name: String, path: PathBuf },
}

impl SourceFile {
    /// The server's name of the file.
    pub fn name(&self) -> &str {
        match self {
            SourceFile::Archived(e) => &e.file,
            SourceFile::Open { name, .. } => name,
        }
    }
}

/// The files of archive `entries` (in binlog order) from `from` on, following each file's
/// `next`, then the open file when the chain leads to it. A break in the chain before the
/// chain's end is an error saying where.
pub fn chain(
    entries: &[FileEntry],
    open: Option<(String, PathBuf)>,
    from: &str,
) -> std::result::Result<Vec<SourceFile>, String> {
    let mut files = Vec::new();
    let mut want = Some(from.to_string());
    while let Some(name) = want.take() {
        if let Some(entry) = entries.iter().find(|e| e.file == name) {
            want = entry.next.clone();
            if want.is_none() {
                let after = entries.iter().any(|e| binlog_order(&e.file, &name).is_gt());
                if after {
                    return Err(format!(
                        "the archive has a gap after {name} (its end was purged before it was \
                         archived)"
                    ));
                }
            }
            files.push(SourceFile::Archived(Box::new(entry.clone())));
            continue;
        }
        match &open {
            Some((open_name, path)) if *open_name == name => files.push(SourceFile::Open {
                name,
                path: path.clone(),
            }),
            _ if files.is_empty() => {
                return Err(format!("the archive does not hold binlog file {name}"))
            }
            _ => {
                let later = entries.iter().any(|e| binlog_order(&e.file, &name).is_gt());
                if later {
                    return Err(format!("the archive lacks {name}: a gap in the chain"));
                }
                // The chain ends with a file not received yet: nothing more to read.
            }
        }
    }
    Ok(files)
}

/// The files of the archive in directory `dir` of `storage` for a replay from `from`: see
/// [`chain`]. The open file is looked for beside the archived ones (a local root).
pub fn files_from(storage: &dyn Storage, dir: &str, from: &str) -> Result<Vec<SourceFile>> {
    let entries =
        index::read_entries(storage, dir).map_err(|e| Error::io(storage.display(dir), e))?;
    let mut good = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => good.push(e),
            Err((name, why)) => {
                return Err(BinlogError::Archive {
                    path: storage.display(&join(dir, &name)).display().to_string(),
                    message: why,
                }
                .into())
            }
        }
    }
    let open = storage.local_dir().and_then(|root| {
        let last = good.last().and_then(|e| e.next.clone())?;
        let path = root.join(dir).join(format!("{last}{OPEN_SUFFIX}"));
        path.is_file().then_some((last, path))
    });
    let open = open.or_else(|| {
        // An archive without closed files yet: the dump's own file may be the open one.
        let root = storage.local_dir()?;
        let path = root.join(dir).join(format!("{from}{OPEN_SUFFIX}"));
        (good.is_empty() && path.is_file()).then(|| (from.to_string(), path))
    });
    chain(&good, open, from).map_err(|message| {
        BinlogError::Archive {
            path: storage.display(dir).display().to_string(),
            message,
        }
        .into()
    })
}

/// One event read from the archive: its file, start and end position, bytes.
pub type SourceEvent = (String, u64, u64, Vec<u8>);

/// The events of `files` in order: each file's format description, then (first file only) the
/// events from position `start` on. An archived file is checked against its entry as it is read
/// (size); a damaged file is an error naming it. The open file is read up to its last whole
/// event.
pub fn events<'a>(
    storage: &'a dyn Storage,
    dir: &'a str,
    files: &'a [SourceFile],
    start: u64,
) -> impl Iterator<Item = Result<SourceEvent>> + 'a {
    let mut index = 0usize;
    let mut current: Option<(EventReader<Box<dyn Read + Send + 'a>>, bool)> = None;
    let mut failed = false;
    std::iter::from_fn(move || loop {
        if failed {
            return None;
        }
        let file = files.get(index)?;
        let name = file.name().to_string();
        if current.is_none() {
            match open_file(storage, dir, file) {
                Ok(reader) => current = Some((reader, true)),
                Err(e) => {
                    failed = true;
                    return Some(Err(e));
                }
            }
        }
        let (reader, first) = current.as_mut()?;
        let pos = reader.position();
        match reader.next_event() {
            Ok(Next::Event(bytes)) => {
                let end = reader.position();
                let is_format = *first;
                *first = false;
                let skip = index == 0 && !is_format && pos < start;
                if !skip {
                    return Some(Ok((name, pos, end, bytes)));
                }
            }
            Ok(Next::End) | Ok(Next::Cut) => {
                current = None;
                index += 1;
            }
            Err(e) => {
                failed = true;
                return Some(Err(BinlogError::Archive {
                    path: storage.display(&join(dir, &name)).display().to_string(),
                    message: e.to_string(),
                }
                .into()));
            }
        }
    })
}

fn open_file<'a>(
    storage: &'a dyn Storage,
    dir: &str,
    file: &SourceFile,
) -> Result<EventReader<Box<dyn Read + Send + 'a>>> {
    let (shown, reader): (String, Box<dyn Read + Send>) = match file {
        SourceFile::Archived(entry) => {
            let rel = join(dir, &entry.stored);
            let shown = storage.display(&rel).display().to_string();
            let stored = storage
                .open(&rel)
                .map_err(|why| archive_error(&shown, why))?;
            let decoder = zstd::Decoder::new(stored).map_err(|e| archive_error(&shown, e))?;
            (shown, Box::new(decoder))
        }
        SourceFile::Open { path, .. } => {
            let shown = path.display().to_string();
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            (shown, Box::new(f))
        }
    };
    let reader = EventReader::start(
        Box::new(BufReader::with_capacity(1 << 20, reader)) as Box<dyn Read + Send>
    )
    .map_err(|e| archive_error(&shown, e))?
    .ok_or_else(|| archive_error(&shown, "empty file"))?;
    Ok(reader)
}

fn archive_error(path: &str, message: impl ToString) -> Error {
    BinlogError::Archive {
        path: path.to_string(),
        message: message.to_string(),
    }
    .into()
}

/// The time of the last event of `files` that can be had cheaply: the last archived file's
/// index entry, or (open file last) a scan of the open file. `None` for no files.
pub fn last_event_time(files: &[SourceFile]) -> Option<i64> {
    match files.last()? {
        SourceFile::Archived(e) => Some(e.last_time.timestamp()),
        SourceFile::Open { path, .. } => {
            let f = std::fs::File::open(path).ok()?;
            let mut reader = EventReader::start(BufReader::new(f)).ok()??;
            let mut last = None;
            while let Ok(Next::Event(bytes)) = reader.next_event() {
                last = Header::parse(&bytes).map(|h| i64::from(h.timestamp));
            }
            last
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::index::{Ending, GtidState};

    fn entry(file: &str, next: Option<&str>) -> FileEntry {
        FileEntry {
            file: file.to_string(),
            size: 100,
            sha256: String::new(),
            stored: format!("{file}.zst"),
            stored_size: 10,
            stored_sha256: String::new(),
            events: 1,
            transactions: 0,
            first_time: chrono::DateTime::default(),
            last_time: chrono::DateTime::default(),
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
            archived_at: chrono::DateTime::default(),
        }
    }

    fn names(files: &[SourceFile]) -> Vec<&str> {
        files.iter().map(SourceFile::name).collect()
    }

    #[test]
    fn the_chain_follows_next_and_ends_at_the_open_file() {
        let entries = vec![
            entry("b.000001", Some("b.000002")),
            entry("b.000002", Some("b.000003")),
            entry("b.000003", Some("b.000004")),
        ];
        let open = Some(("b.000004".to_string(), PathBuf::from("/x/b.000004.open")));
        let got = chain(&entries, open.clone(), "b.000002").unwrap();
        assert_eq!(names(&got), ["b.000002", "b.000003", "b.000004"]);
        assert!(matches!(got[2], SourceFile::Open { .. }));
        // Without the open file the chain ends with the last archived one.
        let got = chain(&entries, None, "b.000001").unwrap();
        assert_eq!(names(&got), ["b.000001", "b.000002", "b.000003"]);
        // The dump's file itself may be the one being received.
        let got = chain(&[], open, "b.000004").unwrap();
        assert_eq!(names(&got), ["b.000004"]);
    }

    #[test]
    fn gaps_and_missing_files_are_errors() {
        // A file missing in the middle.
        let entries = vec![
            entry("b.000001", Some("b.000002")),
            entry("b.000003", Some("b.000004")),
        ];
        let err = chain(&entries, None, "b.000001").unwrap_err();
        assert!(err.contains("b.000002"), "{err}");
        // A file whose end was purged, with files after it.
        let entries = vec![entry("b.000001", None), entry("b.000003", Some("b.000004"))];
        let err = chain(&entries, None, "b.000001").unwrap_err();
        assert!(err.contains("gap after b.000001"), "{err}");
        // A start the archive does not hold.
        let err = chain(&entries, None, "b.000000").unwrap_err();
        assert!(err.contains("does not hold"), "{err}");
    }
}
