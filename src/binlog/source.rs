//! Reading an archive's events in order for a replay: from a dump's binlog position through the
//! archived files that follow it (and the file being received, on a local root), each file's
//! format description first.

use std::io::{BufReader, Read};
use std::path::PathBuf;

use super::event::{EventReader, Header, Next};
use super::index::{self, binlog_order, FileEntry};
use super::replay::RawEvent;
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

/// The events of one binlog file read from `reader`: its format description, then the events
/// from position `from` on (at an event's start). Every event is checked (length, CRC32) on the
/// way. A file cut inside an event ends there when `open` (a file being written), and is an
/// error otherwise.
pub fn file_events<'a, R: Read + 'a>(
    name: &str,
    reader: R,
    from: u64,
    open: bool,
) -> impl Iterator<Item = std::result::Result<RawEvent, BinlogError>> + 'a {
    let name = name.to_string();
    let (mut reader, mut failed) = match EventReader::start(reader) {
        Ok(Some(r)) => (Some(r), None),
        Ok(None) => (None, Some(event_error(&name, 0, "empty file".into()))),
        Err(e) => (None, Some(event_error(&name, 0, e.to_string()))),
    };
    let mut first = true;
    let mut done = false;
    std::iter::from_fn(move || loop {
        if let Some(e) = failed.take() {
            done = true;
            return Some(Err(e));
        }
        if done {
            return None;
        }
        let r = reader.as_mut()?;
        let start = r.position();
        match r.next_event() {
            Ok(Next::Event(bytes)) => {
                let is_format = std::mem::take(&mut first);
                if is_format || start >= from {
                    let end = r.position();
                    let file = name.clone();
                    return Some(Ok(RawEvent {
                        file,
                        start,
                        end,
                        bytes,
                    }));
                }
            }
            Ok(Next::End) => return None,
            Ok(Next::Cut) if open => return None,
            Ok(Next::Cut) => {
                done = true;
                return Some(Err(event_error(
                    &name,
                    start,
                    "the file ends inside an event".into(),
                )));
            }
            Err(e) => {
                done = true;
                return Some(Err(event_error(&name, start, e.to_string())));
            }
        }
    })
}

fn event_error(file: &str, pos: u64, message: String) -> BinlogError {
    BinlogError::Event {
        file: file.to_string(),
        pos,
        message,
    }
}

/// The events of `files` in order: each file's format description, then (first file only) the
/// events from position `start` on. The open file is read up to its last whole event.
pub fn events<'a>(
    storage: &'a dyn Storage,
    dir: &'a str,
    files: &'a [SourceFile],
    start: u64,
) -> impl Iterator<Item = Result<RawEvent>> + 'a {
    files.iter().enumerate().flat_map(move |(i, file)| {
        let from = if i == 0 { start } else { 4 };
        let opened = open_file(storage, dir, file);
        let (events, failed): (Box<dyn Iterator<Item = Result<RawEvent>>>, _) = match opened {
            Ok(reader) => {
                let open = matches!(file, SourceFile::Open { .. });
                let it =
                    file_events(file.name(), reader, from, open).map(|e| e.map_err(Error::from));
                (Box::new(it), None)
            }
            Err(e) => (Box::new(std::iter::empty()), Some(e)),
        };
        failed.map(Err).into_iter().chain(events)
    })
}

fn open_file<'a>(
    storage: &'a dyn Storage,
    dir: &str,
    file: &SourceFile,
) -> Result<Box<dyn Read + Send + 'a>> {
    let reader: Box<dyn Read + Send> = match file {
        SourceFile::Archived(entry) => {
            let rel = join(dir, &entry.stored);
            let shown = storage.display(&rel).display().to_string();
            let stored = storage
                .open(&rel)
                .map_err(|why| archive_error(&shown, why))?;
            Box::new(zstd::Decoder::new(stored).map_err(|e| archive_error(&shown, e))?)
        }
        SourceFile::Open { path, .. } => {
            Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
        }
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
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

    fn entry(file: &str, next: Option<&str>) -> FileEntry {
        FileEntry::sample(file, next)
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
    fn a_file_splits_into_checked_events_from_a_position() {
        use crate::binlog::event::{kind, MAGIC};
        let event = |k: u8, body: &[u8]| {
            let mut e = vec![0u8; 19];
            e[4] = k;
            e[9..13].copy_from_slice(&((19 + body.len()) as u32).to_le_bytes());
            e.extend_from_slice(body);
            e
        };
        let fde = event(kind::FORMAT_DESCRIPTION, &[0; 60]);
        let a = event(kind::XID, &[1; 8]);
        let b = event(kind::XID, &[2; 8]);
        let file = [&MAGIC[..], &fde, &a, &b].concat();
        let starts = |from: u64, data: &[u8], open: bool| -> Vec<Result<u64, String>> {
            file_events("b.000001", data, from, open)
                .map(|e| e.map(|e| e.start).map_err(|e| e.to_string()))
                .collect()
        };
        let fde_end = 4 + fde.len() as u64;
        let b_start = fde_end + a.len() as u64;
        assert_eq!(
            starts(4, &file, false),
            vec![Ok(4), Ok(fde_end), Ok(b_start)]
        );
        // From a later position: the format description, then the events from there.
        assert_eq!(starts(b_start, &file, false), vec![Ok(4), Ok(b_start)]);
        // Cut inside the last event: an error, or the end of a file being written.
        let cut = starts(4, &file[..file.len() - 3], false);
        assert_eq!(cut.len(), 3);
        assert!(cut[2]
            .as_ref()
            .is_err_and(|e| e.contains("inside an event")));
        assert_eq!(starts(4, &file[..file.len() - 3], true).len(), 2);
        assert!(starts(4, b"GIF89a", false)[0].is_err());
        assert!(starts(4, &MAGIC, false).is_empty());
        // A size field of zero would never advance: an error, not a loop.
        let mut zero = file.clone();
        zero[4 + 9..4 + 13].copy_from_slice(&[0; 4]);
        assert_eq!(starts(4, &zero, false).len(), 1);
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
