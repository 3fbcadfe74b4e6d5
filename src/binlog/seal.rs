//! Closing a received binlog file into the archive: one pass over its events that checks them,
//! hashes the server's bytes, compresses them with zstd into the storage (hashing what is
//! stored), and counts what the index entry says; the entry is written last.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::event::{Event, EventReader, Next, FLAGS_OFFSET, FLAG_BINLOG_IN_USE};
use super::index::{self, Ending, FileEntry, FileStats};
use super::BinlogError;
use crate::error::{Error, Result};
use crate::sink::{hex, HashingWriter};
use crate::store::storage::{join, Storage};

/// The zstd level of archived files (binlogs compress well at the fast levels).
const LEVEL: i32 = 3;

/// A complete binlog file received into the spool, to be stored.
pub struct Sealed<'a> {
    /// The server's name of the file.
    pub name: &'a str,
    /// Where it is in the spool.
    pub path: &'a Path,
    /// The file the server went on with; `None` when the rest of the file was purged on the
    /// server before it was received.
    pub next: Option<String>,
    /// Whether the server never closed the file (it crashed): its copy on the server's disk
    /// keeps the in-use flag of its format description, and the stored copy gets it too.
    pub in_use: bool,
}

/// Stores `file` as `DIR/NAME.zst` with its index entry `DIR/NAME.json`.
pub fn seal_file(storage: &dyn Storage, dir: &str, file: Sealed<'_>) -> Result<FileEntry> {
    let Sealed {
        name,
        path,
        next,
        in_use,
    } = file;
    let purged = next.is_none();
    let bad = |message: String| -> Error {
        BinlogError::Archive {
            path: path.display().to_string(),
            message,
        }
        .into()
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = EventReader::start(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("empty file".into()))?;
    let stored_rel = join(dir, &index::stored_name(name));
    let io_err = |e: std::io::Error| Error::io(storage.display(&stored_rel), e);
    storage.remove_file(&stored_rel).map_err(io_err)?;
    let upload = storage.create(&stored_rel).map_err(io_err)?;
    let stored = HashingWriter::new(BufWriter::with_capacity(256 * 1024, upload));
    let mut zstd = zstd::Encoder::new(stored, LEVEL).map_err(io_err)?;
    let mut raw = Sha256::new();
    raw.update(super::event::MAGIC);
    zstd.write_all(&super::event::MAGIC).map_err(io_err)?;
    let mut stats = FileStats::default();
    loop {
        match reader.next_event().map_err(|e| bad(e.to_string()))? {
            Next::Event(mut bytes) => {
                if in_use && stats.events == 0 {
                    if let Some(flags) = bytes.get_mut(FLAGS_OFFSET) {
                        *flags |= FLAG_BINLOG_IN_USE as u8;
                    }
                }
                raw.update(&bytes);
                zstd.write_all(&bytes).map_err(io_err)?;
                let event =
                    Event::parse(&bytes, reader.checksum()).map_err(|e| bad(e.to_string()))?;
                stats.add(&event);
            }
            Next::End => break,
            Next::Cut => return Err(bad("the file ends inside an event".into())),
        }
    }
    let (buffered, stored_sha256, stored_size) = zstd.finish().map_err(io_err)?.into_parts();
    let upload = buffered.into_inner().map_err(|e| io_err(e.into_error()))?;
    upload.finish().map_err(io_err)?;
    let entry = FileEntry {
        file: name.to_string(),
        size: reader.position(),
        sha256: hex(&raw.finalize()),
        stored: index::stored_name(name),
        stored_size,
        stored_sha256,
        events: stats.events,
        transactions: stats.transactions,
        first_time: index::time_of(stats.first_time.unwrap_or_default()),
        last_time: index::time_of(stats.last_time),
        ending: if purged && stats.rotated_to.is_none() {
            Ending::Purged
        } else {
            stats.ending()
        },
        next: next.or(stats.rotated_to.clone()),
        gtid_start: stats.gtid_start,
        gtid_end: stats.gtid_end,
        first_gtid: stats.first_gtid,
        last_gtid: stats.last_gtid,
        archived_at: Utc::now(),
    };
    write_entry(storage, dir, &entry)?;
    Ok(entry)
}

/// Writes `DIR/NAME.json`, replacing an older one.
fn write_entry(storage: &dyn Storage, dir: &str, entry: &FileEntry) -> Result<()> {
    let rel = join(dir, &index::entry_name(&entry.file));
    let io_err = |e: std::io::Error| Error::io(storage.display(&rel), e);
    let mut json =
        serde_json::to_vec_pretty(entry).map_err(|e| io_err(std::io::Error::other(e)))?;
    json.push(b'\n');
    storage.remove_file(&rel).map_err(io_err)?;
    let mut upload = storage.create(&rel).map_err(io_err)?;
    upload.write_all(&json).map_err(io_err)?;
    upload.finish().map_err(io_err)?;
    storage.sync_tree(dir).map_err(io_err)
}
