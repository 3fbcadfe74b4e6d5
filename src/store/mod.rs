//! The output root and its dump directories: every byte a dump writes goes through here.
//!
//! A dump is written as `ROOT/<name>.partial` (with a `.mybak-run` marker naming the run) and
//! renamed to `ROOT/<name>` only when complete and on disk. Directories are created `0700` and
//! files `0600` whatever the umask (or as `--file-mode` widens them). [`lock`] keeps two runs
//! off one root, [`catalog`] lists and removes the dumps of a root.

pub mod catalog;
pub mod lock;
mod name;
pub mod read;
pub mod storage;

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::crypt::Recipient;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST_FILE, SUMS_FILE};
use crate::sink::{FailureSlot, SqlFile};

pub use catalog::open_dump;
pub use name::{default_name_format, dump_name};
pub use storage::{Location, S3Key, S3Settings, SharedStorage, Storage, Upload};

/// Suffix of a dump directory that is still being written (or whose run died).
pub const PARTIAL_SUFFIX: &str = ".partial";

/// The file inside a `.partial` directory that says which run writes it.
pub const RUN_MARKER: &str = ".mybak-run";

/// What the run marker says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub pid: u32,
    pub host: String,
    pub started_at: String,
    pub tool_version: String,
}

impl RunInfo {
    /// This process, starting now.
    pub fn current(run_id: &str, started: DateTime<Utc>) -> RunInfo {
        RunInfo {
            run_id: run_id.to_string(),
            pid: std::process::id(),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            started_at: started.to_rfc3339_opts(SecondsFormat::Millis, true),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The directory that exists already: `root`, or its nearest existing ancestor.
fn existing(root: &Path) -> &Path {
    let mut dir = root;
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p,
            _ => return Path::new("."),
        }
    }
    dir
}

/// Checks, without writing anything, that `root` can hold dumps: an existing writable
/// directory on a writable file system, or a path whose nearest existing ancestor is one.
/// Called before connecting to anything.
pub fn check_root(root: &Path) -> Result<()> {
    let refuse = |message: String| Error::OutputRoot {
        path: root.to_path_buf(),
        message,
    };
    let base = existing(root);
    match std::fs::metadata(base) {
        Ok(m) if m.is_dir() => {}
        Ok(_) if base == root => return Err(refuse("exists and is not a directory".to_string())),
        Ok(_) => {
            return Err(refuse(format!(
                "cannot be created: {} is not a directory",
                base.display()
            )))
        }
        Err(e) => return Err(refuse(e.to_string())),
    }
    let what = if base == root {
        String::new()
    } else {
        format!(" ({} cannot be created in it)", base.display())
    };
    nix::unistd::access(
        base,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .map_err(|e| refuse(format!("not writable{what}: {}", e.desc())))?;
    if nix::sys::statvfs::statvfs(base)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    {
        return Err(refuse(format!("is on a read-only file system{what}")));
    }
    Ok(())
}

/// Checks, without writing anything, that `root` can hold dumps: see [`check_root`] for a local
/// directory; object storage must answer a listing of the prefix (the bucket exists, the
/// credentials are accepted).
pub fn check_storage(root: &dyn Storage) -> Result<()> {
    match root.local_dir() {
        Some(dir) => check_root(dir),
        None => root.probe().map_err(|e| Error::OutputRoot {
            path: root.display(""),
            message: e.to_string(),
        }),
    }
}

/// Creates `root` (and missing parents, mode `0700`) when it does not exist.
pub fn create_root(root: &Path) -> Result<()> {
    if root.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| Error::OutputRoot {
            path: root.to_path_buf(),
            message: format!("cannot create the output directory: {e}"),
        })
}

/// Bytes available to an unprivileged writer on the file system that holds (or will hold) `path`.
pub fn free_space(path: &Path) -> Result<u64> {
    let base = existing(path);
    let s = nix::sys::statvfs::statvfs(base).map_err(|e| Error::io(base, e.into()))?;
    Ok((s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64))
}

/// How the files of a dump are written (their modes are the storage's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// zstd level of `.sql.zst` files.
    pub compress_level: i32,
    /// Encrypt `.sql.zst` files (after compression) to these age recipients; none: plain.
    pub recipients: Vec<Recipient>,
    /// zstd worker threads per `.sql.zst` file: 0 compresses on the thread writing the SQL,
    /// 1 compresses the previous block while the next is written
    /// ([`plan::compress_workers`](crate::plan::compress_workers)).
    pub compress_workers: u32,
}

/// A dump being written, on any [`Storage`]: in `NAME.partial` renamed to `NAME` when finished
/// where directories can be renamed, else in `NAME` itself with the manifest written last (no
/// manifest: not a dump).
#[derive(Debug)]
pub struct DumpDir {
    storage: SharedStorage,
    name: String,
    /// Where files are written while the dump runs, relative to the root.
    work: String,
    options: WriteOptions,
    /// The first file that could not be written: the dump cannot be whole after it.
    failure: FailureSlot,
}

impl DumpDir {
    /// Creates the dump's working directory (and the directories of a `name` holding `/`) with
    /// the run marker inside. When `name` is taken (finished or in progress), `name-2`,
    /// `name-3`, … is used instead, so two dumps started in the same second never collide.
    pub fn create(
        storage: SharedStorage,
        name: &str,
        options: WriteOptions,
        run: &RunInfo,
    ) -> Result<DumpDir> {
        let mut last = None;
        for n in 1..=1000u32 {
            let candidate = if n == 1 {
                name.to_string()
            } else {
                format!("{name}-{n}")
            };
            let work = if storage.renames_dirs() {
                if storage
                    .stat(&candidate)
                    .map_err(|e| Error::io(storage.display(&candidate), e))?
                    .is_some()
                {
                    continue;
                }
                format!("{candidate}{PARTIAL_SUFFIX}")
            } else {
                candidate.clone()
            };
            match storage.make_dir(&work) {
                Ok(()) => {
                    let dir = DumpDir {
                        storage,
                        name: candidate,
                        work,
                        options,
                        failure: FailureSlot::default(),
                    };
                    dir.write_marker(run)?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io(storage.display(&work), e)),
            }
        }
        Err(Error::OutputRoot {
            path: storage.display(name),
            message: format!(
                "no free name: {name} and 1000 suffixed variants exist{}",
                last.map(|e| format!(" ({e})")).unwrap_or_default()
            ),
        })
    }

    fn write_marker(&self, run: &RunInfo) -> Result<()> {
        let json = serde_json::to_vec_pretty(run).map_err(|e| Error::Manifest {
            path: self.display(RUN_MARKER),
            message: e.to_string(),
        })?;
        self.write_whole(RUN_MARKER, &json).map(drop)
    }

    /// The dump's name (relative to the root; with a suffix when the asked name was taken).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the dump's files are written while it runs (for messages).
    pub fn path(&self) -> PathBuf {
        self.storage.display(&self.work)
    }

    /// How file `rel` of the dump is shown while it is written.
    fn display(&self, rel: &str) -> PathBuf {
        self.storage.display(&storage::join(&self.work, rel))
    }

    /// Records `e` on file `rel` as the dump's write failure (the first one wins) and returns it.
    fn failed(&self, rel: &str, e: std::io::Error) -> Error {
        let path = self.display(rel);
        let _ = self.failure.set(format!("{}: {e}", path.display()));
        Error::io(path, e)
    }

    /// Creates file `rel` (and its directories) for writing; fails if it exists.
    pub fn create_file(&self, rel: &str) -> Result<Box<dyn Upload>> {
        self.storage
            .create(&storage::join(&self.work, rel))
            .map_err(|e| self.failed(rel, e))
    }

    /// The write that failed, if one did: then the run must stop, the dump left unfinished (a full
    /// disk would fail every table after it, and a dump missing them must not look finished).
    pub fn write_failure(&self) -> Option<Error> {
        self.failure.get().map(|f| Error::Storage(f.clone()))
    }

    /// Creates `.sql.zst` file `rel`, compressing at the dump's level.
    pub fn sql_file(&self, rel: &str) -> Result<SqlFile> {
        let file = self.create_file(rel)?;
        SqlFile::new(
            file,
            rel,
            self.display(rel),
            self.options.compress_level,
            self.options.compress_workers,
            &self.options.recipients,
            self.failure.clone(),
        )
    }

    /// Removes file `rel` (a table that failed half-way); a missing file is fine.
    pub fn remove_file(&self, rel: &str) {
        let _ = self.storage.remove_file(&storage::join(&self.work, rel));
    }

    /// Removes the whole unfinished dump (it could not start).
    pub fn discard(self) {
        let _ = catalog::remove_tree(self.storage.as_ref(), &self.work);
    }

    /// Writes `SHA256SUMS` and `manifest.json` (the manifest last: on object storage its
    /// presence means finished), removes the run marker, makes every file and directory durable
    /// and, where directories rename, renames the dump to its final name. Returns where the
    /// finished dump is.
    pub fn finish(self, manifest: &Manifest) -> Result<PathBuf> {
        let json = manifest.to_json()?;
        let manifest_sha = sha256_hex(json.as_bytes());
        let sums = manifest.sums(&manifest_sha);
        self.finish_verbatim(sums.as_bytes(), json.as_bytes())
    }

    /// [`finish`](Self::finish) with the bytes of `SHA256SUMS` and `manifest.json` as given (a
    /// copy of a dump).
    pub fn finish_verbatim(self, sums: &[u8], manifest: &[u8]) -> Result<PathBuf> {
        self.write_whole(SUMS_FILE, sums)?;
        self.write_whole(MANIFEST_FILE, manifest)?;
        let marker = storage::join(&self.work, RUN_MARKER);
        self.storage
            .remove_file(&marker)
            .map_err(|e| Error::io(self.storage.display(&marker), e))?;
        if self.storage.renames_dirs() {
            self.storage
                .sync_tree(&self.work)
                .map_err(|e| Error::io(self.path(), e))?;
            self.storage
                .rename_dir(&self.work, &self.name)
                .map_err(|e| Error::io(self.storage.display(&self.name), e))?;
        }
        Ok(self.storage.display(&self.name))
    }

    /// Writes file `rel` whole and durably.
    fn write_whole(&self, rel: &str, bytes: &[u8]) -> Result<Option<String>> {
        let mut f = self.create_file(rel)?;
        f.write_all(bytes).map_err(|e| self.failed(rel, e))?;
        f.finish().map_err(|e| self.failed(rel, e))
    }
}

/// SHA-256 of `bytes`, lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::sink::hex(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
