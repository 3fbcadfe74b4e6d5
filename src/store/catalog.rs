//! The dumps of an output root: finding them, opening one, removing one.
//!
//! A dump is a directory holding a `manifest.json` written by mybak; an unfinished dump is a
//! `NAME.partial` directory holding the run marker; a dump being removed is `NAME.pruning`.
//! Nothing else under the root is ever listed as a dump, and removal deletes only files
//! mybak writes, so nothing mybak did not create is touched.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{RunInfo, PARTIAL_SUFFIX, RUN_MARKER};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, FORMAT_VERSION, MANIFEST_FILE, SUMS_FILE};

/// Suffix a dump directory gets while it is being removed.
pub const PRUNING_SUFFIX: &str = ".pruning";

/// How deep below the root dumps are looked for (`--name %Y/%m/%d/%H%M%S` is 4).
const MAX_DEPTH: usize = 8;

/// What state a directory of the root is in.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A finished dump and its manifest.
    Dump(Box<Manifest>),
    /// `NAME.partial` of a run that is still going or died.
    Unfinished(Option<RunInfo>),
    /// `NAME.pruning`: a removal that was interrupted.
    Pruning,
    /// A `manifest.json` that cannot be read: never touched, reported.
    Unreadable(String),
}

/// One entry of the root.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDump {
    /// Path relative to the root, `/`-separated, without `.partial`/`.pruning`.
    pub name: String,
    pub path: PathBuf,
    pub found: Found,
    /// When it started: the manifest's (or the run marker's) start time, else the directory's
    /// modification time.
    pub time: DateTime<Utc>,
    /// Sum of the sizes of its files.
    pub disk_bytes: u64,
}

impl StoredDump {
    /// The manifest, for a finished dump.
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.found {
            Found::Dump(m) => Some(m),
            _ => None,
        }
    }
}

/// Lists the dumps (finished, unfinished, being removed, unreadable) below `root`, oldest first.
pub fn list_dumps(root: &Path) -> Result<Vec<StoredDump>> {
    let mut out = Vec::new();
    walk(root, root, 0, &mut out)?;
    out.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<StoredDump>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        // Symlinks are never followed: the root may not lead elsewhere.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || file_name.starts_with('.') {
            continue;
        }
        if let Some(found) = classify(&path, &file_name) {
            out.push(stored(root, path, found));
        } else if depth + 1 < MAX_DEPTH {
            walk(root, &path, depth + 1, out)?;
        }
    }
    Ok(())
}

/// What directory `path` (named `file_name`) is, if it is a dump of some kind.
fn classify(path: &Path, file_name: &str) -> Option<Found> {
    if file_name.ends_with(PARTIAL_SUFFIX) {
        // A regular file of ours, small: anything else (a FIFO, say) is not our marker.
        let (marker, _) = crate::regular_file::read(
            &path.join(RUN_MARKER),
            crate::regular_file::Links::Refuse,
            1 << 16,
        )
        .ok()?;
        return Some(Found::Unfinished(serde_json::from_slice(&marker).ok()));
    }
    let has_manifest = path.join(MANIFEST_FILE).is_file();
    if file_name.ends_with(PRUNING_SUFFIX) {
        return has_manifest.then_some(Found::Pruning);
    }
    if !has_manifest {
        return None;
    }
    Some(match Manifest::read(path) {
        Ok(m) if m.tool == "mybak" => Found::Dump(Box::new(m)),
        Ok(m) => Found::Unreadable(format!("manifest written by {:?}, not mybak", m.tool)),
        Err(e) => Found::Unreadable(e.to_string()),
    })
}

fn stored(root: &Path, path: PathBuf, found: Found) -> StoredDump {
    let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
    let name = rel
        .strip_suffix(PARTIAL_SUFFIX)
        .or_else(|| rel.strip_suffix(PRUNING_SUFFIX))
        .unwrap_or(&rel)
        .to_string();
    let started = match &found {
        Found::Dump(m) => Some(m.started_at.as_str()),
        Found::Unfinished(Some(run)) => Some(run.started_at.as_str()),
        _ => None,
    };
    let time = started
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            Some(DateTime::<Utc>::from(modified))
        })
        .unwrap_or_default();
    StoredDump {
        disk_bytes: tree_bytes(&path),
        name,
        path,
        found,
        time,
    }
}

/// Sum of the lengths of the regular files below `dir` (symlinks not followed).
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Opens a finished dump for reading: refuses unfinished (`.partial`) dumps, directories that
/// are not dumps (saying so when they hold dumps: an output root) and manifests of an unknown
/// format version.
pub fn open_dump(dir: &Path) -> Result<Manifest> {
    let not_a_dump = |message: String| Error::NotADump {
        path: dir.to_path_buf(),
        message,
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(PARTIAL_SUFFIX) {
        return Err(not_a_dump(
            "an unfinished dump (its run did not complete); it cannot be used".to_string(),
        ));
    }
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(not_a_dump("not a directory, so not a dump".to_string())),
        Err(e) => return Err(not_a_dump(format!("no such dump directory ({e})"))),
    }
    if !dir.join(MANIFEST_FILE).exists() {
        return Err(not_a_dump(root_hint(dir)));
    }
    let manifest = Manifest::read(dir)?;
    if manifest.format_version > FORMAT_VERSION {
        return Err(Error::Manifest {
            path: dir.join(MANIFEST_FILE),
            message: format!(
                "format version {} is newer than this mybak understands ({FORMAT_VERSION})",
                manifest.format_version
            ),
        });
    }
    Ok(manifest)
}

/// Why `dir` (without a manifest) is not a dump, with a hint when it is an output root.
fn root_hint(dir: &Path) -> String {
    let dumps: Vec<StoredDump> = list_dumps(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.manifest().is_some())
        .collect();
    match dumps.last() {
        None => format!("not a mybak dump (no {MANIFEST_FILE})"),
        Some(newest) => format!(
            "not a dump but an output root holding {} dumps; the newest is {} (see mybak list {})",
            dumps.len(),
            newest.path.display(),
            dir.display()
        ),
    }
}

/// Whether a file name is one mybak writes into a dump directory.
fn is_ours(name: &str) -> bool {
    name.ends_with(".sql.zst") || [MANIFEST_FILE, SUMS_FILE, RUN_MARKER].contains(&name)
}

/// Removes a dump: renames it to `NAME.pruning` (so it no longer counts as a dump, and an
/// interrupted removal is finished next time), deletes the files mybak writes (the manifest
/// last), then the directories left empty, up to but not including `root`. Files mybak did not
/// write stay, with their directories; they are returned. Returns (bytes freed, files kept).
pub fn remove_dump(root: &Path, dump: &StoredDump) -> Result<(u64, Vec<PathBuf>)> {
    let dir = match dump.found {
        Found::Dump(_) => {
            let target = PathBuf::from(format!("{}{PRUNING_SUFFIX}", dump.path.display()));
            std::fs::rename(&dump.path, &target).map_err(|e| Error::io(&dump.path, e))?;
            target
        }
        Found::Unfinished(_) | Found::Pruning => dump.path.clone(),
        Found::Unreadable(_) => {
            return Err(Error::NotADump {
                path: dump.path.clone(),
                message: "its manifest cannot be read; not removing it".to_string(),
            })
        }
    };
    let mut kept = Vec::new();
    let freed = remove_ours(&dir, true, &mut kept)?;
    let manifest = dir.join(MANIFEST_FILE);
    let freed = freed + std::fs::metadata(&manifest).map_or(0, |m| m.len());
    match std::fs::remove_file(&manifest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&manifest, e)),
    }
    if kept.is_empty() {
        std::fs::remove_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        remove_empty_parents(root, &dir);
    }
    Ok((freed, kept))
}

/// Deletes mybak's files below `dir` except the manifest, and directories left empty; records
/// what was kept. Returns the bytes freed.
fn remove_ours(dir: &Path, top: bool, kept: &mut Vec<PathBuf>) -> Result<u64> {
    let mut freed = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            let before = kept.len();
            freed += remove_ours(&path, false, kept)?;
            if kept.len() == before {
                std::fs::remove_dir(&path).map_err(|e| Error::io(&path, e))?;
            }
        } else if top && kind.is_file() && name == MANIFEST_FILE {
            // Deleted last by the caller.
        } else if kind.is_file() && is_ours(&name) {
            freed += entry.metadata().map_or(0, |m| m.len());
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else {
            kept.push(path);
        }
    }
    Ok(freed)
}

/// Removes the now-empty directories between `dir` and `root` (nested `--name` formats).
fn remove_empty_parents(root: &Path, dir: &Path) {
    let mut current = dir.parent();
    while let Some(parent) = current {
        if parent == root || !parent.starts_with(root) {
            break;
        }
        if std::fs::remove_dir(parent).is_err() {
            break;
        }
        current = parent.parent();
    }
}
