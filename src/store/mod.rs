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

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST_FILE, SUMS_FILE};
use crate::sink::{FailureSlot, HashingWriter, SqlFile};
use crate::units::FileMode;

pub use catalog::open_dump;
pub use name::{default_name_format, dump_name};

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

/// How files and directories of a dump are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub mode: FileMode,
    /// zstd level of `.sql.zst` files.
    pub compress_level: i32,
}

/// A dump directory being written.
#[derive(Debug)]
pub struct DumpDir {
    root: PathBuf,
    name: String,
    partial: PathBuf,
    options: WriteOptions,
    /// The first file that could not be written: the dump cannot be whole after it.
    failure: FailureSlot,
}

impl DumpDir {
    /// Creates `root/name.partial` (and the directories of a `name` holding `/`) with the run
    /// marker inside. When `name` is taken (finished or in progress), `name-2`, `name-3`, … is
    /// used instead, so two dumps started in the same second never collide.
    pub fn create(
        root: &Path,
        name: &str,
        options: WriteOptions,
        run: &RunInfo,
    ) -> Result<DumpDir> {
        if let Some(parent) = Path::new(name).parent() {
            create_dirs(root, parent, options.mode)?;
        }
        let mut last = None;
        for n in 1..=1000u32 {
            let candidate = if n == 1 {
                name.to_string()
            } else {
                format!("{name}-{n}")
            };
            if root.join(&candidate).exists() {
                continue;
            }
            let partial = root.join(format!("{candidate}{PARTIAL_SUFFIX}"));
            match make_dir(&partial, options.mode) {
                Ok(()) => {
                    let dir = DumpDir {
                        root: root.to_path_buf(),
                        name: candidate,
                        partial,
                        options,
                        failure: FailureSlot::default(),
                    };
                    dir.write_marker(run)?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io(&partial, e)),
            }
        }
        Err(Error::OutputRoot {
            path: root.join(name),
            message: format!(
                "no free name: {name} and 1000 suffixed variants exist{}",
                last.map(|e| format!(" ({e})")).unwrap_or_default()
            ),
        })
    }

    fn write_marker(&self, run: &RunInfo) -> Result<()> {
        let path = self.partial.join(RUN_MARKER);
        let json = serde_json::to_vec_pretty(run).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut f = self.create_file(RUN_MARKER)?;
        f.write_all(&json).map_err(|e| Error::io(&path, e))
    }

    /// The dump's name (relative to the root; with a suffix when the asked name was taken).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where files are written while the dump runs.
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Creates file `rel` (and its directories) for writing, with the dump's mode; fails if it
    /// exists.
    pub fn create_file(&self, rel: &str) -> Result<File> {
        let abs = self.partial.join(rel);
        if let Some(parent) = Path::new(rel).parent() {
            create_dirs(&self.partial, parent, self.options.mode)?;
        }
        let failed = |e: std::io::Error| {
            let _ = self.failure.set(format!("{}: {e}", abs.display()));
            Error::io(&abs, e)
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.options.mode.file())
            .open(&abs)
            .map_err(failed)?;
        file.set_permissions(Permissions::from_mode(self.options.mode.file()))
            .map_err(failed)?;
        Ok(file)
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
            self.partial.join(rel),
            self.options.compress_level,
            self.failure.clone(),
        )
    }

    /// Removes file `rel` (a table that failed half-way); a missing file is fine.
    pub fn remove_file(&self, rel: &str) {
        let _ = std::fs::remove_file(self.partial.join(rel));
    }

    /// Removes the whole unfinished directory (the dump could not start).
    pub fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.partial);
    }

    /// Writes `manifest.json` and `SHA256SUMS`, fsyncs every directory and renames the dump to
    /// its final name. Returns the final path.
    pub fn finish(self, manifest: &Manifest) -> Result<PathBuf> {
        let marker = self.partial.join(RUN_MARKER);
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        let json = manifest.to_json()?;
        let manifest_sha = self.write_synced(MANIFEST_FILE, json.as_bytes())?;
        self.write_synced(SUMS_FILE, manifest.sums(&manifest_sha).as_bytes())?;
        sync_tree_dirs(&self.partial)?;
        let finished = self.root.join(&self.name);
        std::fs::rename(&self.partial, &finished).map_err(|e| Error::io(&finished, e))?;
        let parent = finished.parent().unwrap_or(&self.root);
        sync_dir(parent)?;
        Ok(finished)
    }

    fn write_synced(&self, rel: &str, bytes: &[u8]) -> Result<String> {
        let path = self.partial.join(rel);
        let mut w = HashingWriter::new(self.create_file(rel)?);
        w.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        let (file, sha, _) = w.into_parts();
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        Ok(sha)
    }
}

/// Creates directory `path` with `mode`'s directory bits, whatever the umask.
fn make_dir(path: &Path, mode: FileMode) -> std::io::Result<()> {
    std::fs::DirBuilder::new().mode(mode.dir()).create(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(mode.dir()))
}

/// Creates the directories of relative path `rel` below `base`, one by one, with `mode`.
fn create_dirs(base: &Path, rel: &Path, mode: FileMode) -> Result<()> {
    let mut dir = base.to_path_buf();
    for part in rel.components() {
        dir.push(part);
        match make_dir(&dir, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Fsyncs `dir` and every directory below it, so that the entries of files written there are durable.
fn sync_tree_dirs(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry
            .file_type()
            .map_err(|e| Error::io(entry.path(), e))?
            .is_dir()
        {
            sync_tree_dirs(&entry.path())?;
        }
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests;
