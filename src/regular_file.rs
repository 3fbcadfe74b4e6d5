//! Reading a small file that must be a regular file: a FIFO is never read from (nor opened in
//! blocking mode), a device, socket or directory is refused, and at most a limit is read.
//!
//! A FIFO would hang the reader, `/dev/zero` would fill memory, `/dev/stdin` would read the
//! terminal. The path's type is checked before it is opened, then the file is opened with
//! `O_NONBLOCK` (opening a FIFO then returns at once instead of waiting for a writer) and checked
//! again on the open file (`fstat`), since the path may be swapped in between. Reading stops one
//! byte past the limit, whatever the size said.

use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Whether a symbolic link may lead to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow symbolic links (option files: Debian links `/etc/mysql/my.cnf`).
    Follow,
    /// Refuse a symbolic link (`O_NOFOLLOW`): files of a dump are written as regular files.
    Refuse,
}

/// Why a file was not read. `Display` says it without the path (callers name it).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be found, opened or read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A symbolic link, with [`Links::Refuse`].
    #[error("is a symbolic link, not a regular file")]
    Symlink,
    /// A FIFO, device, socket or directory.
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// Larger than the limit.
    #[error("is larger than {}", crate::units::human_bytes(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads all of `path`, which must be a regular file of at most `limit` bytes; also returns
/// the open file's metadata (its mode, for permission checks).
pub fn read(path: &Path, links: Links, limit: u64) -> Result<(Vec<u8>, Metadata), ReadError> {
    let before = match links {
        Links::Follow => fs::metadata(path)?,
        Links::Refuse => fs::symlink_metadata(path)?,
    };
    check(&before, limit)?;
    let mut flags = OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if links == Links::Refuse {
        flags |= OFlag::O_NOFOLLOW;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a link swapped in after the check.
            Some(code) if code == Errno::ELOOP as i32 && links == Links::Refuse => {
                ReadError::Symlink
            }
            _ => ReadError::Io(e),
        })?;
    let meta = file.metadata()?;
    check(&meta, limit)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok((bytes, meta))
}

/// Refuses what is not a regular file of at most `limit` bytes.
fn check(meta: &Metadata, limit: u64) -> Result<(), ReadError> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        None
    } else if t.is_symlink() {
        return Err(ReadError::Symlink);
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(kind) = kind {
        return Err(ReadError::NotRegular(kind));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const LIMIT: u64 = 1 << 20;

    #[test]
    fn a_regular_file_is_read_and_a_link_to_it_only_when_followed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"hello").unwrap();
        let (bytes, meta) = read(&file, Links::Refuse, LIMIT).unwrap();
        assert_eq!((bytes.as_slice(), meta.len()), (&b"hello"[..], 5));
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read(&link, Links::Follow, LIMIT).unwrap().0, b"hello");
        let e = read(&link, Links::Refuse, LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::Symlink), "{e:?}");
        assert_eq!(e.to_string(), "is a symbolic link, not a regular file");
        let e = read(&dir.path().join("missing"), Links::Follow, LIMIT).unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
    }

    #[test]
    fn fifos_devices_and_directories_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let start = Instant::now();
        let cases: [(&Path, Links, &str); 5] = [
            (&fifo, Links::Follow, "is a FIFO, not a regular file"),
            (&fifo, Links::Refuse, "is a FIFO, not a regular file"),
            (
                &zero,
                Links::Follow,
                "is a character device, not a regular file",
            ),
            (
                &zero,
                Links::Refuse,
                "is a symbolic link, not a regular file",
            ),
            (
                dir.path(),
                Links::Follow,
                "is a directory, not a regular file",
            ),
        ];
        for (path, links, want) in cases {
            let e = read(path, links, LIMIT).unwrap_err();
            assert_eq!(e.to_string(), want, "{path:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        fs::write(&file, vec![b'x'; 11]).unwrap();
        let e = read(&file, Links::Refuse, 10).unwrap_err();
        assert_eq!(e.to_string(), "is larger than 10 bytes");
        assert_eq!(read(&file, Links::Refuse, 11).unwrap().0.len(), 11);
    }

    #[test]
    fn an_open_fifo_is_refused_after_the_open() {
        // What the open finds is checked too: `check` on a FIFO's metadata from an open file.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(&fifo)
            .unwrap();
        let e = check(&file.metadata().unwrap(), LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a FIFO")), "{e:?}");
    }
}
