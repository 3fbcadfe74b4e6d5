//! The binlog file being received: its events appended to `NAME.open` in a local directory,
//! and cut back to the last whole transaction when a later run resumes it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::event::{self, Scan, MAGIC};
use super::BinlogError;
use crate::units::FileMode;

/// The suffix of a file being received.
pub const OPEN_SUFFIX: &str = ".open";

/// How often received events are handed to the kernel at least (so a restore on this host
/// sees them), besides at every idle moment.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The local directory of open files.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    mode: FileMode,
}

/// A binlog file being received.
pub struct OpenFile {
    pub name: String,
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
    last_flush: Instant,
    /// The type of the last event appended (0: none).
    last_kind: u8,
}

fn archive_error(path: &Path, message: impl ToString) -> BinlogError {
    BinlogError::Archive {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl Spool {
    /// The spool in `dir`, created if needed; its files and the directories created get
    /// `mode` (binlogs hold the data itself: by default only the owner may read them).
    pub fn new(dir: &Path, mode: FileMode) -> Result<Spool, BinlogError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode.dir())
            .create(dir)
            .map_err(|e| archive_error(dir, e))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            mode,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The local path of open file `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{OPEN_SUFFIX}"))
    }

    /// The names of the open files, in binlog order.
    pub fn open_names(&self) -> Result<Vec<String>, BinlogError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| archive_error(&self.dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| archive_error(&self.dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                if let Some(base) = name.strip_suffix(OPEN_SUFFIX) {
                    names.push(base.to_string());
                }
            }
        }
        names.sort_by(|a, b| super::index::binlog_order(a, b));
        Ok(names)
    }

    /// Starts open file `name` afresh (its magic number written).
    pub fn create(&self, name: &str) -> Result<OpenFile, BinlogError> {
        let path = self.path(name);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(self.mode.file())
            .open(&path)
            .map_err(|e| archive_error(&path, e))?;
        let mut open = OpenFile {
            name: name.to_string(),
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            len: 0,
            last_flush: Instant::now(),
            last_kind: 0,
        };
        open.append(&MAGIC)?;
        Ok(open)
    }

    /// Opens `name` to go on with it: checks its events and cuts it back after the last whole
    /// transaction (a run that died may have left part of one).
    pub fn resume(&self, name: &str) -> Result<(OpenFile, Scan), BinlogError> {
        let path = self.path(name);
        let reader = File::open(&path).map_err(|e| archive_error(&path, e))?;
        let scan = event::scan(io::BufReader::new(reader)).map_err(|e| archive_error(&path, e))?;
        if scan.safe_len < 4 {
            return Ok((self.create(name)?, scan));
        }
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| archive_error(&path, e))?;
        file.set_len(scan.safe_len)
            .and_then(|()| file.seek(SeekFrom::End(0)))
            .map_err(|e| archive_error(&path, e))?;
        let open = OpenFile {
            name: name.to_string(),
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            len: scan.safe_len,
            last_flush: Instant::now(),
            last_kind: scan.last_kind,
        };
        Ok((open, scan))
    }
}

impl OpenFile {
    /// Its length: the position of the next event.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file ends as the server closes a file: with a rotate or a stop event.
    /// Otherwise the server stopped without closing it (a crash).
    pub fn closed_by_server(&self) -> bool {
        matches!(self.last_kind, event::kind::ROTATE | event::kind::STOP)
    }

    /// Appends an event (buffered; handed to the kernel at least every second).
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), BinlogError> {
        if let Some(&kind) = bytes.get(4) {
            self.last_kind = kind;
        }
        self.out
            .write_all(bytes)
            .map_err(|e| archive_error(&self.path, e))?;
        self.len += bytes.len() as u64;
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands what is buffered to the kernel.
    pub fn flush(&mut self) -> Result<(), BinlogError> {
        self.last_flush = Instant::now();
        self.out.flush().map_err(|e| archive_error(&self.path, e))
    }

    /// Flushes and makes it durable; returns its path.
    pub fn close(mut self) -> Result<PathBuf, BinlogError> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| archive_error(&self.path, e))?;
        Ok(self.path)
    }
}
