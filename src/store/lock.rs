//! One run per output root: an advisory lock (`flock`) on `ROOT/.mybak.lock`, released by the
//! kernel when the process ends however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name in the output root.
pub const LOCK_FILE: &str = ".mybak.lock";

/// The lock on an output root; dropping it releases the lock.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
    path: PathBuf,
}

impl RootLock {
    /// Takes the lock on `root` without waiting. When another process holds it, the error names
    /// that run (its pid and command, as it wrote them into the lock file) and nothing is written.
    /// `what` describes this run for others (`mybak dump`).
    pub fn acquire(root: &Path, what: &str) -> Result<RootLock> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| Error::OutputRoot {
                path: path.clone(),
                message: format!("cannot open the lock file: {e}"),
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    root: root.to_path_buf(),
                    holder: holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let note = format!(
            "pid {} ({what}, started {})\n",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(note.as_bytes()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(RootLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the holder wrote into the lock file (its first line, at most 200 bytes).
fn holder(file: &mut File) -> String {
    let mut buf = Vec::new();
    let _ = file.take(200).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    match text.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => line.to_string(),
        _ => "pid unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let root = tempfile::tempdir().unwrap();
        let first = RootLock::acquire(root.path(), "mybak dump").unwrap();
        let e = RootLock::acquire(root.path(), "mybak prune").unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::Locked { .. }), "{text}");
        assert!(
            text.contains(&format!("pid {} (mybak dump", std::process::id())),
            "{text}"
        );
        let content = std::fs::read_to_string(first.path()).unwrap();
        assert!(
            content.contains("mybak dump"),
            "the refused run wrote: {content}"
        );
        drop(first);
        let again = RootLock::acquire(root.path(), "mybak prune").unwrap();
        assert!(std::fs::read_to_string(again.path())
            .unwrap()
            .contains("mybak prune"));
    }

    #[test]
    fn a_symlinked_lock_file_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, root.path().join(LOCK_FILE)).unwrap();
        assert!(RootLock::acquire(root.path(), "mybak dump").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}
