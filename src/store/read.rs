//! Reading a dump's files, the one way restore and verify both use: only regular files inside the
//! dump directory (no symlink anywhere on the way, no FIFO or device), hashed as they are read,
//! decompressed no further than the manifest's size for them, split into statements no larger
//! than a limit.

use std::cell::{Cell, RefCell};
use std::io::{BufReader, Read};
use std::rc::Rc;

use super::storage::Storage;
use crate::crypt::Identities;

use crate::manifest::{FileKind, Manifest, ManifestFile};
use crate::sink::HashingReader;
use crate::sql::split::{count_insert_rows, Quoting, Splitter, Statement};

/// The largest statement of a file whose manifest entry records none (definitions, objects):
/// the stock clients' default `max_allowed_packet`.
pub const OBJECT_STATEMENT_LIMIT: usize = 16 << 20;

/// Files whose largest statement is at least this large are read one at a time (see
/// [`is_huge`]): one huge statement in memory at once, however many threads read.
pub const HUGE_STATEMENT: u64 = 16 << 20;

/// Whether `file` holds a huge statement (by its manifest entry): the caller reads such files
/// one at a time.
pub fn is_huge(file: &ManifestFile) -> bool {
    file.max_statement_bytes
        .is_some_and(|n| n >= HUGE_STATEMENT)
}

/// Where reading a file stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileError {
    /// The file, relative to the dump directory.
    pub path: String,
    /// 1-based line of the statement in the decompressed file (0: not at a statement).
    pub line: u64,
    /// Byte offset of the statement in the decompressed file.
    pub offset: u64,
    pub error: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}: statement at line {} (byte {}): {}",
                self.path, self.line, self.offset, self.error
            )
        } else {
            write!(f, "{}: {}", self.path, self.error)
        }
    }
}

pub use super::storage::is_inside;

/// Counts decompressed bytes, and stops with an error past `limit` (a decompression bomb, or a
/// file that is not the one the manifest describes).
struct Bounded<R> {
    inner: R,
    count: Rc<Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.count.get() + n as u64;
        self.count.set(total);
        if total > self.limit {
            return Err(std::io::Error::other(format!(
                "it decompresses to more than {} bytes, far more SQL than the manifest records",
                self.limit
            )));
        }
        Ok(n)
    }
}

/// The stored bytes of a file, hashed as they are read; shared between the decoding chain and
/// the reader, which reads what is left at the end so the hash covers the whole file.
#[derive(Clone)]
struct Raw(Rc<RefCell<HashingReader<Box<dyn Read + Send>>>>);

impl Read for Raw {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

type Decoder = zstd::stream::read::Decoder<'static, BufReader<Box<dyn Read>>>;

/// Where a dump's files are read from, and the keys of an encrypted dump.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub storage: &'a dyn Storage,
    /// The files are age-encrypted (the manifest says so).
    pub encrypted: bool,
    /// The keys to decrypt them with, when given.
    pub identities: Option<&'a Identities>,
}

impl<'a> Source<'a> {
    /// The files of the dump at the root of `storage`, described by `manifest`.
    pub fn new(
        storage: &'a dyn Storage,
        manifest: &Manifest,
        identities: Option<&'a Identities>,
    ) -> Source<'a> {
        Source {
            storage,
            encrypted: manifest.encryption.is_some(),
            identities,
        }
    }

    /// Whether the statements of the files can be read (plain, or encrypted and a key given).
    pub fn readable(&self) -> bool {
        !self.encrypted || self.identities.is_some()
    }
}

/// The statements of one dump file, in order.
pub struct StatementReader {
    path: String,
    splitter: Splitter<Bounded<Decoder>>,
    raw: Raw,
    sql_bytes: Rc<Cell<u64>>,
}

/// The largest statement `file` may hold: what its manifest entry records (with room for the
/// delimiter), else [`OBJECT_STATEMENT_LIMIT`]; never more than `limit`.
pub fn statement_limit(file: &ManifestFile, limit: usize) -> usize {
    let recorded = file
        .max_statement_bytes
        .map_or(OBJECT_STATEMENT_LIMIT, |n| {
            usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_add(1024)
        });
    recorded.min(limit)
}

/// Opens the stored bytes of `file`, hashed as they are read.
fn open_raw(src: Source<'_>, file: &ManifestFile) -> Result<Raw, String> {
    let f = src.storage.open(&file.path)?;
    Ok(Raw(Rc::new(RefCell::new(HashingReader::new(f)))))
}

impl StatementReader {
    /// Opens `file` of the dump `src`, decrypting it when the dump is encrypted; statements
    /// larger than `max_statement` are errors.
    pub fn open(
        src: Source<'_>,
        file: &ManifestFile,
        max_statement: usize,
    ) -> Result<Self, FileError> {
        let fail = |error: String| FileError {
            path: file.path.clone(),
            line: 0,
            offset: 0,
            error,
        };
        let raw = open_raw(src, file).map_err(fail)?;
        let compressed: Box<dyn Read> = match (src.encrypted, src.identities) {
            (false, _) => Box::new(raw.clone()),
            (true, Some(identities)) => Box::new(
                identities
                    .decrypting(raw.clone())
                    .map_err(|e| fail(format!("cannot be decrypted: {e}")))?,
            ),
            (true, None) => {
                return Err(fail(
                    "is encrypted: give --identity with a key it is encrypted to".to_string(),
                ))
            }
        };
        let decoder = Decoder::with_buffer(BufReader::with_capacity(1 << 20, compressed))
            .map_err(|e| fail(format!("cannot be decompressed: {e}")))?;
        let sql_bytes = Rc::new(Cell::new(0));
        // Room for a file that is not quite the one described (its statements are still read and
        // judged), none for a decompression bomb.
        let bounded = Bounded {
            inner: decoder,
            count: sql_bytes.clone(),
            limit: file.sql_bytes.saturating_mul(2).saturating_add(16 << 20),
        };
        let expected = file
            .max_statement_bytes
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        Ok(StatementReader {
            path: file.path.clone(),
            splitter: Splitter::new(bounded)
                .with_max_statement(max_statement)
                .with_expected_statement(expected),
            raw,
            sql_bytes,
        })
    }

    /// The next statement, `None` at the end.
    pub fn next_statement(&mut self) -> Option<Result<Statement, FileError>> {
        let next = self.splitter.next()?;
        Some(next.map_err(|e| FileError {
            path: self.path.clone(),
            line: 0,
            offset: 0,
            error: format!("does not decompress or parse to the end: {e}"),
        }))
    }

    /// How strings are quoted from the next statement on (after the server ran one).
    pub fn set_quoting(&mut self, quoting: Quoting) {
        self.splitter.set_quoting(quoting);
    }

    /// How strings are quoted now.
    pub fn quoting(&self) -> Quoting {
        self.splitter.quoting()
    }

    /// The SHA-256 and size of the whole file (what was not read yet is read now), and the bytes
    /// of SQL it decompressed to.
    pub fn finish(self) -> Result<(String, u64, u64), FileError> {
        let sql_bytes = self.sql_bytes.get();
        drop(self.splitter);
        let (sha256, bytes) = drain(self.raw).map_err(|e| FileError {
            path: self.path.clone(),
            line: 0,
            offset: 0,
            error: format!("cannot be read: {e}"),
        })?;
        Ok((sha256, bytes, sql_bytes))
    }
}

/// Reads what is left of `raw`; its SHA-256 and size.
fn drain(mut raw: Raw) -> std::io::Result<(String, u64)> {
    std::io::copy(&mut raw, &mut std::io::sink())?;
    let digest = raw.0.borrow().digest();
    Ok(digest)
}

/// What reading a whole file found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    pub sha256: String,
    pub bytes: u64,
    pub sql_bytes: u64,
    pub statements: u64,
    /// Rows of the INSERT statements (data files).
    pub rows: u64,
    /// Whether the statements were read (not for an encrypted file without a key).
    pub statements_read: bool,
}

/// Reads `file` whole, handing each statement to `check` (an error names the statement's line),
/// counting statements and INSERT rows; fails unless the file is the one the manifest describes
/// (size, SHA-256, rows). A file whose size differs is not read at all.
pub fn scan(
    src: Source<'_>,
    file: &ManifestFile,
    max_statement: usize,
    check: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<Scan, FileError> {
    let fail = |line: u64, offset: u64, error: String| FileError {
        path: file.path.clone(),
        line,
        offset,
        error,
    };
    if !is_inside(&file.path) {
        return Err(fail(0, 0, "its path leaves the dump directory".to_string()));
    }
    let dump = src.storage;
    let size = match dump.stat(&file.path) {
        Ok(Some(entry)) if entry.kind == super::storage::EntryKind::File => entry.bytes,
        Ok(Some(_)) => {
            // Opening says why (a symlink, a FIFO, a directory), without reading anything.
            let why = match dump.open(&file.path) {
                Err(why) => why,
                Ok(_) => "is not a regular file: refused".to_string(),
            };
            return Err(fail(0, 0, why));
        }
        Ok(None) => return Err(fail(0, 0, "missing".to_string())),
        Err(e) => return Err(fail(0, 0, format!("cannot be read: {e}"))),
    };
    if size != file.bytes {
        return Err(fail(
            0,
            0,
            format!("{size} bytes, the manifest says {}", file.bytes),
        ));
    }
    if !src.readable() {
        // Encrypted and no key: the stored bytes are still checked.
        let raw = open_raw(src, file).map_err(|e| fail(0, 0, e))?;
        let (sha256, bytes) = drain(raw).map_err(|e| fail(0, 0, format!("cannot be read: {e}")))?;
        if sha256 != file.sha256 || bytes != file.bytes {
            return Err(fail(
                0,
                0,
                "SHA-256 mismatch: the file changed since the dump".to_string(),
            ));
        }
        return Ok(Scan {
            sha256,
            bytes,
            ..Scan::default()
        });
    }
    let mut reader = StatementReader::open(src, file, statement_limit(file, max_statement))?;
    let mut scan = Scan {
        statements_read: true,
        ..Scan::default()
    };
    while let Some(statement) = reader.next_statement() {
        let s = statement?;
        check(&s.sql).map_err(|e| fail(s.line, s.offset, e))?;
        scan.statements += 1;
        if file.kind == FileKind::TableData {
            scan.rows += count_insert_rows(&s.sql).unwrap_or(0);
        }
    }
    let (sha256, bytes, sql_bytes) = reader.finish()?;
    if sha256 != file.sha256 || bytes != file.bytes {
        return Err(fail(
            0,
            0,
            "SHA-256 mismatch: the file changed since the dump".to_string(),
        ));
    }
    if let Some(rows) = file.rows.filter(|r| *r != scan.rows) {
        return Err(fail(
            0,
            0,
            format!("holds {} rows, the manifest says {rows}", scan.rows),
        ));
    }
    scan.sha256 = sha256;
    scan.bytes = bytes;
    scan.sql_bytes = sql_bytes;
    Ok(scan)
}

#[cfg(test)]
mod tests;
