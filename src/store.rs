//! The dump directory: written as `ROOT/<name>.partial`, renamed to `ROOT/<name>` only when complete and on disk.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::manifest::{Manifest, MANIFEST_FILE, SUMS_FILE};
use crate::sink::HashingWriter;

/// Suffix of a dump directory that is still being written (or whose run died).
pub const PARTIAL_SUFFIX: &str = ".partial";

/// The default `--name` format: UTC start time, safe in file names.
pub const DEFAULT_NAME_FORMAT: &str = "%Y-%m-%dT%H-%M-%SZ";

/// Renders a dump name from a strftime `format` at `time`; rejects formats that are invalid or yield unsafe names.
pub fn dump_name(format: &str, time: DateTime<Utc>) -> Result<String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item> = StrftimeItems::new(format).parse().map_err(|_| {
        Error::Settings(format!("--name {format:?} is not a valid strftime format"))
    })?;
    let name = time.format_with_items(items.into_iter()).to_string();
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\0')
        || name.ends_with(PARTIAL_SUFFIX)
    {
        return Err(Error::Settings(format!(
            "--name {format:?} gives {name:?}, which is not a usable directory name"
        )));
    }
    Ok(name)
}

/// A dump directory being written.
#[derive(Debug)]
pub struct DumpDir {
    root: PathBuf,
    name: String,
    partial: PathBuf,
}

impl DumpDir {
    /// Creates `root/name.partial`; fails if `root/name` or `root/name.partial` exists already.
    pub fn create(root: &Path, name: &str) -> Result<DumpDir> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let finished = root.join(name);
        if finished.exists() {
            return Err(Error::Settings(format!(
                "{} exists already: choose another --name or --output-dir",
                finished.display()
            )));
        }
        let partial = root.join(format!("{name}{PARTIAL_SUFFIX}"));
        std::fs::create_dir(&partial).map_err(|e| Error::io(&partial, e))?;
        Ok(DumpDir {
            root: root.to_path_buf(),
            name: name.to_string(),
            partial,
        })
    }

    /// Where files are written while the dump runs.
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Writes `manifest.json` and `SHA256SUMS`, fsyncs every directory and renames the dump to its final name.
    /// Returns the final path.
    pub fn finish(self, manifest: &Manifest) -> Result<PathBuf> {
        let json = manifest.to_json()?;
        let manifest_sha = write_synced(&self.partial.join(MANIFEST_FILE), json.as_bytes())?;
        write_synced(
            &self.partial.join(SUMS_FILE),
            manifest.sums(&manifest_sha).as_bytes(),
        )?;
        sync_tree_dirs(&self.partial)?;
        let finished = self.root.join(&self.name);
        std::fs::rename(&self.partial, &finished).map_err(|e| Error::io(&finished, e))?;
        sync_dir(&self.root)?;
        Ok(finished)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<String> {
    use std::io::Write;
    let file = File::create_new(path).map_err(|e| Error::io(path, e))?;
    let mut w = HashingWriter::new(file);
    w.write_all(bytes).map_err(|e| Error::io(path, e))?;
    let (file, sha, _) = w.into_parts();
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(sha)
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

/// Opens a finished dump for reading: refuses unfinished (`.partial`) dumps and manifests of an
/// unknown format version.
pub fn open_dump(dir: &Path) -> Result<Manifest> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(PARTIAL_SUFFIX) {
        return Err(Error::Settings(format!(
            "{} is an unfinished dump (its run did not complete); it cannot be restored",
            dir.display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::Settings(format!(
            "{}: no such dump directory",
            dir.display()
        )));
    }
    let manifest = Manifest::read(dir)?;
    if manifest.format_version > crate::manifest::FORMAT_VERSION {
        return Err(Error::Manifest {
            path: dir.join(MANIFEST_FILE),
            message: format!(
                "format version {} is newer than this mybak understands ({})",
                manifest.format_version,
                crate::manifest::FORMAT_VERSION
            ),
        });
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_follow_the_format() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        assert_eq!(
            dump_name(DEFAULT_NAME_FORMAT, t).unwrap(),
            "2026-11-26T00-00-00Z"
        );
        assert_eq!(dump_name("nightly-%F", t).unwrap(), "nightly-2026-11-26");
        for bad in ["%Y/%m", "", "%Q", "x.partial", ".."] {
            assert!(dump_name(bad, t).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_existing_dump_is_never_reused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        assert!(DumpDir::create(root.path(), "d").is_err());
        let first = DumpDir::create(root.path(), "e").unwrap();
        assert!(first.path().ends_with("e.partial"));
        assert!(DumpDir::create(root.path(), "e").is_err());
    }
}
