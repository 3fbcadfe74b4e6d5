//! Where dumps are kept: the [`Storage`] trait every byte of a dump goes through, with the local
//! file system ([`local`]) and S3-compatible object storage ([`s3`]) behind it.
//!
//! A storage is rooted (a directory, or a bucket and prefix); every path given to it is relative
//! to that root, `/`-separated, without `.`/`..` parts. The layers above (writing a dump,
//! reading one, listing and pruning a root) know nothing of the backend beyond the few
//! capabilities the trait states: whether directories can be renamed atomically, and whether
//! there is a local directory (for the root lock and the free-space check).

pub mod local;
mod location;
pub mod s3;
mod s3_uploads;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::regular_file::ReadError;

pub use location::{Location, S3Key, S3Settings};

/// What an entry of a listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// A symlink, FIFO, device or socket: never read, never counted as a dump's file.
    Other,
}

/// One entry of a directory (a common prefix, on object storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name inside the listed directory (no `/`).
    pub name: String,
    pub kind: EntryKind,
    /// Size of a file (0 for anything else).
    pub bytes: u64,
    /// Last modification, when the backend says.
    pub modified: Option<DateTime<Utc>>,
}

/// A file being written. Nothing is visible under its final name before [`Upload::finish`] on
/// object storage; on disk the file exists from the start (inside an unfinished dump).
pub trait Upload: Write + Send {
    /// Makes the file durable (fsync; the completed multipart upload) and returns the
    /// storage's own checksum of it when it has one (an S3 ETag).
    fn finish(self: Box<Self>) -> io::Result<Option<String>>;
}

/// A rooted place that holds files: see the module documentation.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// How `rel` is shown to the user: a path, or an `s3://` URL.
    fn display(&self, rel: &str) -> PathBuf;
    /// The local directory of the root, for the root lock and the free-space check.
    fn local_dir(&self) -> Option<&Path>;
    /// Whether a directory can be renamed atomically (then a dump is written as `NAME.partial`
    /// and renamed when finished; else it is written in place, its manifest last).
    fn renames_dirs(&self) -> bool;
    /// The entries directly inside directory `dir` (`""`: the root); a missing directory is
    /// `NotFound`.
    fn list(&self, dir: &str) -> io::Result<Vec<Entry>>;
    /// File `rel`: `None` when there is none.
    fn stat(&self, rel: &str) -> io::Result<Option<Entry>>;
    /// Opens file `rel` for reading; only a regular file is accepted and nothing on the way
    /// may be a symlink. The error says why, without the path.
    fn open(&self, rel: &str) -> Result<Box<dyn Read + Send>, String>;
    /// All of file `rel`, at most `limit` bytes (a manifest, a checksum list, a run marker).
    fn read_small(&self, rel: &str, limit: u64) -> Result<Vec<u8>, ReadError>;
    /// Creates file `rel` (and its directories); fails if it exists.
    fn create(&self, rel: &str) -> io::Result<Box<dyn Upload>>;
    /// Creates directory `rel` (parents must exist); `AlreadyExists` when it exists (on object
    /// storage: when anything is stored below it).
    fn make_dir(&self, rel: &str) -> io::Result<()>;
    /// Removes file `rel`; a missing file is fine.
    fn remove_file(&self, rel: &str) -> io::Result<()>;
    /// Removes directory `rel` if empty (nothing to do on object storage).
    fn remove_dir(&self, rel: &str) -> io::Result<()>;
    /// Renames directory `from` to `to` (only where [`renames_dirs`](Self::renames_dirs)).
    fn rename_dir(&self, from: &str, to: &str) -> io::Result<()>;
    /// Checks that the root can be reached and read (object storage: the bucket exists and the
    /// credentials are accepted), without writing anything.
    fn probe(&self) -> io::Result<()>;
    /// Aborts the multipart uploads below the root started before `before` (left by runs that
    /// were killed; nothing to do on disk), or only counts them with `dry_run`. Returns how many.
    fn abort_abandoned_uploads(&self, before: DateTime<Utc>, dry_run: bool) -> io::Result<usize>;
    /// Makes the entries of directory `rel` and everything below it durable (fsync; nothing to
    /// do on object storage, where a completed upload is durable).
    fn sync_tree(&self, rel: &str) -> io::Result<()>;
}

/// A shared storage.
pub type SharedStorage = Arc<dyn Storage>;

/// `a/b` from `a` and `b` (`b` alone when `a` is the root).
pub fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

/// Whether a path stays inside the storage root: relative, `/`-separated, no `.`, `..` or
/// empty parts, no NUL.
pub fn is_inside(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

/// Reads at most `limit` bytes of `reader`; one more is an error.
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_root() {
        for (rel, inside) in [
            ("db/t.sql.zst", true),
            ("manifest.json", true),
            ("", false),
            ("/etc/passwd", false),
            ("a/../b", false),
            ("./a", false),
            ("a//b", false),
            ("a/", false),
            ("a\0b", false),
        ] {
            assert_eq!(is_inside(rel), inside, "{rel:?}");
        }
    }

    #[test]
    fn join_skips_the_empty_root() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a/b");
        assert_eq!(join("a", ""), "a");
    }

    #[test]
    fn read_limited_refuses_one_byte_more() {
        assert_eq!(read_limited(&b"abc"[..], 3).unwrap(), b"abc");
        assert!(matches!(
            read_limited(&b"abcd"[..], 3),
            Err(ReadError::TooLarge { limit: 3 })
        ));
    }
}
