//! Writing a dump file: SQL text → zstd → (age encryption) → SHA-256 over the stored bytes →
//! storage, in one pass.
//!
//! No file is ever read back: the hash and size are known when [`SqlFile::finish`] returns.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypt::{self, Encrypting, Recipient};
use crate::error::{Error, Result};
use crate::store::Upload;

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the hex SHA-256 and the byte count of everything written.
    pub fn into_parts(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through it (the read side of [`HashingWriter`]).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The hex SHA-256 and the byte count of everything read so far.
    pub fn digest(&self) -> (String, u64) {
        (hex(&self.hasher.clone().finalize()), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// What a finished file is: where, its hash and size on disk, and how much SQL it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the dump directory, with `/` separators.
    pub path: String,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// Size of the file on disk.
    pub bytes: u64,
    /// Size of the SQL text before compression.
    pub sql_bytes: u64,
    /// The storage's own checksum of the file (an S3 ETag), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// The bytes as stored: hashed, buffered, handed to the storage.
type Stored = HashingWriter<BufWriter<Box<dyn Upload>>>;

/// What the compressed stream is written into: the stored bytes, or an age stream into them.
enum Sealed {
    Plain(Stored),
    Age(Encrypting<Stored>),
}

impl Write for Sealed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sealed::Plain(w) => w.write(buf),
            Sealed::Age(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sealed::Plain(w) => w.flush(),
            Sealed::Age(w) => w.flush(),
        }
    }
}

impl Sealed {
    /// Ends the age stream (its last chunk), if any.
    fn finish(self) -> io::Result<Stored> {
        match self {
            Sealed::Plain(w) => Ok(w),
            Sealed::Age(w) => w.finish(),
        }
    }
}

type Encoder = zstd::stream::write::Encoder<'static, Sealed>;

/// The SQL text a frame holds when compressed on the writing thread ([`Compress::Frames`]).
pub const FRAME: usize = 2 << 20;

/// How a file's SQL is compressed into the stored bytes.
enum Compress {
    /// zstd's streaming encoder with worker threads of its own.
    Stream(Encoder),
    /// On the writing thread, as a series of zstd frames of about [`FRAME`] bytes of SQL each,
    /// each compressed in one call straight from `input`. Streaming compression would copy
    /// every byte into zstd's ring buffer and, once that wraps, match against it as an
    /// external dictionary (zstd's slow path); a frame's input is contiguous. Concatenated
    /// frames are one standard zstd file, and resetting the window every 2 MiB costs SQL
    /// rows next to nothing.
    Frames {
        compressor: zstd::bulk::Compressor<'static>,
        input: Vec<u8>,
        output: Vec<u8>,
        sealed: Sealed,
    },
}

impl Compress {
    fn new(sealed: Sealed, level: i32, workers: u32) -> io::Result<Compress> {
        use zstd::stream::raw::CParameter;
        // Negative ("fast") levels skip Huffman coding of literals, which is where SQL text
        // (digits, words) shrinks most; keep it, and keep only the faster match finding.
        let literals = CParameter::LiteralCompressionMode(zstd::zstd_safe::ParamSwitch::Enable);
        if workers == 0 {
            let mut compressor = zstd::bulk::Compressor::new(level)?;
            compressor.set_parameter(CParameter::ChecksumFlag(true))?;
            if level < 0 {
                compressor.set_parameter(literals)?;
            }
            return Ok(Compress::Frames {
                compressor,
                input: Vec::with_capacity(FRAME + (64 << 10)),
                output: Vec::new(),
                sealed,
            });
        }
        let mut encoder = Encoder::new(sealed, level)?;
        encoder.include_checksum(true)?;
        // Background compression: reading rows and formatting SQL go on while the previous
        // block is compressed (zstd's own pipeline; the frame is standard). It costs a copy of
        // the input into zstd's job buffers, so it only pays where CPUs are left over.
        encoder.multithread(workers)?;
        if level < 0 {
            encoder.set_parameter(literals)?;
        }
        Ok(Compress::Stream(encoder))
    }

    fn write_all(&mut self, sql: &[u8]) -> io::Result<()> {
        match self {
            Compress::Stream(encoder) => encoder.write_all(sql),
            Compress::Frames { input, .. } => {
                input.extend_from_slice(sql);
                if input.len() >= FRAME {
                    self.frame()?;
                }
                Ok(())
            }
        }
    }

    /// Compresses the pending input as one frame and writes it.
    fn frame(&mut self) -> io::Result<()> {
        let Compress::Frames {
            compressor,
            input,
            output,
            sealed,
        } = self
        else {
            return Ok(());
        };
        output.clear();
        output.reserve(zstd::zstd_safe::compress_bound(input.len()));
        compressor.compress_to_buffer(input.as_slice(), output)?;
        sealed.write_all(output)?;
        input.clear();
        // After a huge statement, give its memory back.
        if input.capacity() > 4 * FRAME {
            input.shrink_to(FRAME + (64 << 10));
            output.shrink_to(0);
        }
        Ok(())
    }

    /// Ends the compressed stream (a file with no SQL is one empty frame).
    fn finish(mut self) -> io::Result<Sealed> {
        match &self {
            Compress::Stream(_) => {}
            Compress::Frames { input, output, .. } => {
                if !input.is_empty() || output.is_empty() {
                    self.frame()?;
                }
            }
        }
        match self {
            Compress::Stream(encoder) => encoder.finish(),
            Compress::Frames { sealed, .. } => Ok(sealed),
        }
    }
}

/// The first write failure of a dump, shared by all its files: after one, the dump cannot be
/// trusted to be whole (a full disk fails every table after it), so the run stops.
pub type FailureSlot = Arc<OnceLock<String>>;

/// A `.sql.zst` file being written.
pub struct SqlFile {
    rel: String,
    abs: PathBuf,
    compress: Compress,
    sql_bytes: u64,
    failure: FailureSlot,
}

/// Records `e` on `abs` as the dump's write failure (the first one wins) and returns it.
fn failed(failure: &FailureSlot, abs: &std::path::Path, e: io::Error) -> Error {
    let _ = failure.set(format!("{}: {e}", abs.display()));
    Error::io(abs, e)
}

impl SqlFile {
    /// Writes `file` (opened by the store; `rel` is its path in the dump, `abs` how it is
    /// shown), compressing at `level` (with `workers` zstd threads of its own: 0 compresses on
    /// the calling thread) and encrypting to `recipients` when there are any; a write error is
    /// also recorded in `failure`.
    pub fn new(
        file: Box<dyn Upload>,
        rel: &str,
        abs: PathBuf,
        level: i32,
        workers: u32,
        recipients: &[Recipient],
        failure: FailureSlot,
    ) -> Result<SqlFile> {
        let stored = HashingWriter::new(BufWriter::with_capacity(256 * 1024, file));
        let writer = if recipients.is_empty() {
            Sealed::Plain(stored)
        } else {
            Sealed::Age(crypt::encrypting(recipients, stored).map_err(|e| {
                Error::Storage(format!("{}: cannot start encrypting: {e}", abs.display()))
            })?)
        };
        let compress = Compress::new(writer, level, workers).map_err(|e| Error::io(&abs, e))?;
        Ok(SqlFile {
            rel: rel.to_string(),
            abs,
            compress,
            sql_bytes: 0,
            failure,
        })
    }

    /// Appends SQL text.
    pub fn write_all(&mut self, sql: &[u8]) -> Result<()> {
        self.sql_bytes += sql.len() as u64;
        self.compress
            .write_all(sql)
            .map_err(|e| failed(&self.failure, &self.abs, e))
    }

    /// Bytes of SQL written so far.
    pub fn sql_bytes(&self) -> u64 {
        self.sql_bytes
    }

    /// Ends the zstd frame, flushes the file and makes it durable, and says what was written.
    pub fn finish(self) -> Result<FileRecord> {
        let (abs, failure) = (self.abs, self.failure);
        let writer = self
            .compress
            .finish()
            .and_then(Sealed::finish)
            .map_err(|e| failed(&failure, &abs, e))?;
        let (buffered, sha256, bytes) = writer.into_parts();
        let file = buffered
            .into_inner()
            .map_err(|e| failed(&failure, &abs, e.into_error()))?;
        let etag = file.finish().map_err(|e| failed(&failure, &abs, e))?;
        Ok(FileRecord {
            path: self.rel,
            sha256,
            bytes,
            sql_bytes: self.sql_bytes,
            etag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn create(dir: &Path, rel: &str, level: i32, workers: u32) -> SqlFile {
        use crate::store::Storage;
        let abs = dir.join(rel);
        let storage = crate::store::storage::local::LocalStorage::new(dir, Default::default());
        SqlFile::new(
            storage.create(rel).unwrap(),
            rel,
            abs,
            level,
            workers,
            &[],
            FailureSlot::default(),
        )
        .unwrap()
    }

    #[test]
    fn finished_file_matches_its_record() {
        for (level, workers) in [(3, 1), (3, 0), (-3, 0), (-3, 1)] {
            let dir = tempfile::tempdir().unwrap();
            let mut f = create(dir.path(), "db/t.sql.zst", level, workers);
            let sql = b"INSERT INTO `t` VALUES (1,'a');\n".repeat(1000);
            f.write_all(&sql).unwrap();
            let rec = f.finish().unwrap();
            let on_disk = std::fs::read(dir.path().join("db/t.sql.zst")).unwrap();
            assert_eq!(rec.bytes, on_disk.len() as u64);
            assert_eq!(rec.sha256, hex(&Sha256::digest(&on_disk)));
            assert_eq!(rec.sql_bytes, sql.len() as u64);
            assert_eq!(zstd::decode_all(&on_disk[..]).unwrap(), sql);
            assert!(rec.bytes < rec.sql_bytes / 10, "{level} {workers}");
        }
    }

    #[test]
    fn frames_on_the_writing_thread_make_one_standard_file() {
        // Writes of every size around the frame size, an empty file, and one huge write.
        let piece: Vec<u8> = (0..(FRAME / 3 + 17))
            .map(|i| b"0123456789'(),\n abcdefg"[i % 23])
            .collect();
        let five = piece.repeat(5);
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![],
            vec![b""],
            vec![b"x"],
            vec![&piece; 7],
            vec![&piece, b"", &piece, &piece, &piece],
            vec![&five],
        ];
        for (n, writes) in cases.into_iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let mut f = create(dir.path(), "t.sql.zst", -3, 0);
            let mut sql = Vec::new();
            for w in &writes {
                f.write_all(w).unwrap();
                sql.extend_from_slice(w);
            }
            let rec = f.finish().unwrap();
            let on_disk = std::fs::read(dir.path().join("t.sql.zst")).unwrap();
            assert_eq!(zstd::decode_all(&on_disk[..]).unwrap(), sql, "case {n}");
            assert_eq!(rec.sha256, hex(&Sha256::digest(&on_disk)), "case {n}");
            assert_eq!(rec.sql_bytes, sql.len() as u64, "case {n}");
        }
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
