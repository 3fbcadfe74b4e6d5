//! The local file system as a [`Storage`]: directories created `0700` and files `0600` whatever
//! the umask (or as `--file-mode` widens them), files fsynced when finished, directories renamed
//! atomically, and nothing read through a symlink, FIFO or device.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use super::{is_inside, Entry, EntryKind, Storage, Upload};
use crate::regular_file::{self, Links, ReadError};
use crate::units::FileMode;

/// A directory of the local file system.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    mode: FileMode,
}

impl LocalStorage {
    /// The directory `root`; what is created in it gets `mode`.
    pub fn new(root: impl Into<PathBuf>, mode: FileMode) -> LocalStorage {
        LocalStorage {
            root: root.into(),
            mode,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

/// A file being written on disk.
struct LocalFile(File);

impl Write for LocalFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Upload for LocalFile {
    fn finish(self: Box<Self>) -> io::Result<Option<String>> {
        self.0.sync_all()?;
        Ok(None)
    }
}

impl Storage for LocalStorage {
    fn display(&self, rel: &str) -> PathBuf {
        self.path(rel)
    }

    fn local_dir(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn renames_dirs(&self) -> bool {
        true
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.path(dir))? {
            let entry = entry?;
            // Symlinks are never followed: the root may not lead elsewhere.
            let kind = match entry.file_type()? {
                t if t.is_dir() => EntryKind::Dir,
                t if t.is_file() => EntryKind::File,
                _ => EntryKind::Other,
            };
            let meta = entry.metadata().ok();
            out.push(Entry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind,
                bytes: match (kind, &meta) {
                    (EntryKind::File, Some(m)) => m.len(),
                    _ => 0,
                },
                modified: meta
                    .and_then(|m| m.modified().ok())
                    .map(DateTime::<Utc>::from),
            });
        }
        Ok(out)
    }

    fn stat(&self, rel: &str) -> io::Result<Option<Entry>> {
        let meta = match std::fs::symlink_metadata(self.path(rel)) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let kind = if meta.is_file() {
            EntryKind::File
        } else if meta.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::Other
        };
        Ok(Some(Entry {
            name: rel.rsplit('/').next().unwrap_or(rel).to_string(),
            kind,
            bytes: if meta.is_file() { meta.len() } else { 0 },
            modified: meta.modified().ok().map(DateTime::<Utc>::from),
        }))
    }

    fn open(&self, rel: &str) -> Result<Box<dyn Read + Send>, String> {
        Ok(Box::new(open_file(&self.root, rel)?))
    }

    fn read_small(&self, rel: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
        regular_file::read(&self.path(rel), Links::Refuse, limit).map(|(bytes, _)| bytes)
    }

    fn create(&self, rel: &str) -> io::Result<Box<dyn Upload>> {
        if let Some((parent, _)) = rel.rsplit_once('/') {
            create_dirs(&self.root, parent, self.mode)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.mode.file())
            .open(self.path(rel))?;
        file.set_permissions(Permissions::from_mode(self.mode.file()))?;
        Ok(Box::new(LocalFile(file)))
    }

    fn make_dir(&self, rel: &str) -> io::Result<()> {
        if let Some((parent, _)) = rel.rsplit_once('/') {
            create_dirs(&self.root, parent, self.mode)?;
        }
        make_dir(&self.path(rel), self.mode)
    }

    fn remove_file(&self, rel: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(rel)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn remove_dir(&self, rel: &str) -> io::Result<()> {
        std::fs::remove_dir(self.path(rel))
    }

    fn rename_dir(&self, from: &str, to: &str) -> io::Result<()> {
        let target = self.path(to);
        std::fs::rename(self.path(from), &target)?;
        sync_dir(target.parent().unwrap_or(&self.root))
    }

    fn probe(&self) -> io::Result<()> {
        Ok(())
    }

    fn abort_abandoned_uploads(&self, _before: DateTime<Utc>, _dry_run: bool) -> io::Result<usize> {
        Ok(0)
    }

    fn sync_tree(&self, rel: &str) -> io::Result<()> {
        sync_tree_dirs(&self.path(rel))
    }
}

/// Creates directory `path` with `mode`'s directory bits, whatever the umask.
fn make_dir(path: &Path, mode: FileMode) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(mode.dir()).create(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(mode.dir()))
}

/// Creates the directories of relative path `rel` below `base`, one by one, with `mode`.
fn create_dirs(base: &Path, rel: &str, mode: FileMode) -> io::Result<()> {
    let mut dir = base.to_path_buf();
    for part in rel.split('/') {
        dir.push(part);
        match make_dir(&dir, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Fsyncs `dir` and every directory below it, so that the entries of files written there are
/// durable.
fn sync_tree_dirs(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree_dirs(&entry.path())?;
        }
    }
    sync_dir(dir)
}

/// Opens file `rel` below directory `dir` for reading: every directory on the way and the file
/// itself opened without following symlinks, and only a regular file accepted (a FIFO is opened
/// non-blocking and refused, so nothing can hang). The error says why, without the path.
pub fn open_file(dir: &Path, rel: &str) -> Result<File, String> {
    if !is_inside(rel) {
        return Err("its path leaves the dump directory".to_string());
    }
    let no_follow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut at: OwnedFd = nix::fcntl::open(
        dir,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open the dump directory: {}", e.desc()))?;
    let parts: Vec<&str> = rel.split('/').collect();
    let (last, dirs) = parts.split_last().ok_or("empty path")?;
    for part in dirs {
        at = openat(
            &at,
            *part,
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | no_follow,
            Mode::empty(),
        )
        .map_err(|e| match e {
            nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => {
                format!("{part}/ is a symlink or not a directory: refused")
            }
            nix::errno::Errno::ENOENT => "missing".to_string(),
            e => format!("cannot be opened: {}", e.desc()),
        })?;
    }
    let fd = openat(
        &at,
        *last,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | no_follow,
        Mode::empty(),
    )
    .map_err(|e| match e {
        nix::errno::Errno::ELOOP => "is a symlink: refused".to_string(),
        nix::errno::Errno::ENOENT => "missing".to_string(),
        e => format!("cannot be opened: {}", e.desc()),
    })?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file: refused".to_string());
    }
    Ok(file)
}
