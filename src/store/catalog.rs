//! The dumps of an output root: finding them, opening one, removing one.
//!
//! A dump is a directory holding a `manifest.json` written by mybak; an unfinished dump is a
//! `NAME.partial` directory holding the run marker (on object storage: the run marker without
//! a manifest); a dump being removed is `NAME.pruning` (or holds the `.mybak-pruning` marker).
//! Nothing else under the root is ever listed as a dump, and removal deletes only files
//! mybak writes, so nothing mybak did not create is touched.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::storage::{join, Entry, EntryKind, Storage};
use super::{RunInfo, PARTIAL_SUFFIX, RUN_MARKER};
use crate::error::{Error, Result};
use crate::manifest::{
    Manifest, ENCRYPTED_FORMAT_VERSION, MANIFEST_FILE, MAX_MANIFEST_BYTES, SUMS_FILE,
};

/// Suffix a dump directory gets while it is being removed.
pub const PRUNING_SUFFIX: &str = ".pruning";

/// The file that marks a dump being removed where directories cannot be renamed.
pub const PRUNING_MARKER: &str = ".mybak-pruning";

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
    /// Where it is, relative to the root (with its suffix).
    pub rel: String,
    /// Where it is, as shown to the user.
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

/// Lists the dumps (finished, unfinished, being removed, unreadable) of `root`, oldest first.
pub fn list_dumps(root: &dyn Storage) -> Result<Vec<StoredDump>> {
    let mut out = Vec::new();
    walk(root, "", 0, &mut out)?;
    out.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
    Ok(out)
}

fn walk(root: &dyn Storage, dir: &str, depth: usize, out: &mut Vec<StoredDump>) -> Result<()> {
    let entries = root
        .list(dir)
        .map_err(|e| Error::io(root.display(dir), e))?;
    for entry in entries {
        if entry.kind != EntryKind::Dir || entry.name.starts_with('.') {
            continue;
        }
        let rel = join(dir, &entry.name);
        if let Some(found) = classify(root, &rel, &entry.name)? {
            out.push(stored(root, rel, &entry, found));
        } else if depth + 1 < MAX_DEPTH {
            walk(root, &rel, depth + 1, out)?;
        }
    }
    Ok(())
}

/// What directory `rel` (named `file_name`) is, if it is a dump of some kind.
fn classify(root: &dyn Storage, rel: &str, file_name: &str) -> Result<Option<Found>> {
    if file_name.ends_with(PARTIAL_SUFFIX) {
        return Ok(run_marker(root, rel).map(Found::Unfinished));
    }
    let entries = root
        .list(rel)
        .map_err(|e| Error::io(root.display(rel), e))?;
    let has = |name: &str| {
        entries
            .iter()
            .any(|e| e.kind == EntryKind::File && e.name == name)
    };
    if file_name.ends_with(PRUNING_SUFFIX) || has(PRUNING_MARKER) {
        return Ok((has(MANIFEST_FILE) || has(PRUNING_MARKER)).then_some(Found::Pruning));
    }
    if !has(MANIFEST_FILE) {
        // On object storage a dump is written in place: its run marker without a manifest.
        return Ok(has(RUN_MARKER)
            .then(|| run_marker(root, rel))
            .flatten()
            .map(Found::Unfinished));
    }
    Ok(Some(match read_manifest(root, rel) {
        Ok(m) if m.tool == "mybak" => Found::Dump(Box::new(m)),
        Ok(m) => Found::Unreadable(format!("manifest written by {:?}, not mybak", m.tool)),
        Err(e) => Found::Unreadable(e.to_string()),
    }))
}

/// What the run marker of directory `rel` says: `None` when it is not ours (not a small regular
/// file, a FIFO say), `Some(None)` when it cannot be parsed.
fn run_marker(root: &dyn Storage, rel: &str) -> Option<Option<RunInfo>> {
    let marker = root.read_small(&join(rel, RUN_MARKER), 1 << 16).ok()?;
    Some(serde_json::from_slice(&marker).ok())
}

fn stored(root: &dyn Storage, rel: String, entry: &Entry, found: Found) -> StoredDump {
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
        .or(entry.modified)
        .unwrap_or_default();
    StoredDump {
        disk_bytes: tree_bytes(root, &rel),
        path: root.display(&rel),
        rel,
        name,
        found,
        time,
    }
}

/// Sum of the sizes of the regular files below `dir` (symlinks not followed).
fn tree_bytes(root: &dyn Storage, dir: &str) -> u64 {
    let Ok(entries) = root.list(dir) else {
        return 0;
    };
    entries
        .iter()
        .map(|e| match e.kind {
            EntryKind::Dir => tree_bytes(root, &join(dir, &e.name)),
            EntryKind::File => e.bytes,
            EntryKind::Other => 0,
        })
        .sum()
}

/// Reads and parses `manifest.json` of directory `rel`: a regular file of at most
/// [`MAX_MANIFEST_BYTES`].
pub fn read_manifest(root: &dyn Storage, rel: &str) -> Result<Manifest> {
    let rel = join(rel, MANIFEST_FILE);
    Manifest::parse(
        root.read_small(&rel, MAX_MANIFEST_BYTES),
        root.display(&rel),
    )
}

/// Opens the finished dump at the root of `dump` for reading: refuses unfinished (`.partial`)
/// dumps, directories that are not dumps (saying so when they hold dumps: an output root) and
/// manifests of an unknown format version.
pub fn open_dump(dump: &dyn Storage) -> Result<Manifest> {
    let dir = dump.display("");
    let not_a_dump = |message: String| Error::NotADump {
        path: dir.clone(),
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
    let entries = match dump.list("") {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(not_a_dump("not a directory, so not a dump".to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_a_dump(format!("no such dump directory ({e})")))
        }
        Err(e) => return Err(not_a_dump(format!("cannot be read: {e}"))),
    };
    if !entries.iter().any(|e| e.name == MANIFEST_FILE) {
        let unfinished = entries.iter().any(|e| e.name == RUN_MARKER);
        return Err(not_a_dump(if unfinished {
            "an unfinished dump (its run did not complete, or is still going); it cannot be used"
                .to_string()
        } else {
            root_hint(dump)
        }));
    }
    let manifest = read_manifest(dump, "")?;
    if manifest.format_version > ENCRYPTED_FORMAT_VERSION {
        return Err(Error::Manifest {
            path: dump.display(MANIFEST_FILE),
            message: format!(
                "format version {} is newer than this mybak understands \
                 ({ENCRYPTED_FORMAT_VERSION})",
                manifest.format_version
            ),
        });
    }
    Ok(manifest)
}

/// Why `dump` (without a manifest) is not a dump, with a hint when it is an output root.
fn root_hint(dump: &dyn Storage) -> String {
    let dumps: Vec<StoredDump> = list_dumps(dump)
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
            dump.display("").display()
        ),
    }
}

/// Whether a file name is one mybak writes into a dump directory.
fn is_ours(name: &str) -> bool {
    name.ends_with(".sql.zst") || [MANIFEST_FILE, SUMS_FILE, RUN_MARKER].contains(&name)
}

/// Removes a dump: marks it as being removed (renamed to `NAME.pruning`, or a `.mybak-pruning`
/// marker on object storage, so it no longer counts as a dump and an interrupted removal is
/// finished next time), deletes the files mybak writes (the manifest last), then the
/// directories left empty, up to but not including the root. Files mybak did not write stay,
/// with their directories; they are returned. Returns (bytes freed, files kept).
pub fn remove_dump(root: &dyn Storage, dump: &StoredDump) -> Result<(u64, Vec<PathBuf>)> {
    let io = |rel: &str, e| Error::io(root.display(rel), e);
    let dir = match dump.found {
        Found::Dump(_) if root.renames_dirs() => {
            let target = format!("{}{PRUNING_SUFFIX}", dump.rel);
            root.rename_dir(&dump.rel, &target)
                .map_err(|e| io(&dump.rel, e))?;
            target
        }
        Found::Dump(_) => {
            let marker = join(&dump.rel, PRUNING_MARKER);
            let mut f = root.create(&marker).map_err(|e| io(&marker, e))?;
            f.write_all(b"being removed by mybak prune\n")
                .map_err(|e| io(&marker, e))?;
            f.finish().map_err(|e| io(&marker, e))?;
            dump.rel.clone()
        }
        Found::Unfinished(_) | Found::Pruning => dump.rel.clone(),
        Found::Unreadable(_) => {
            return Err(Error::NotADump {
                path: dump.path.clone(),
                message: "its manifest cannot be read; not removing it".to_string(),
            })
        }
    };
    let mut kept = Vec::new();
    let freed = remove_ours(root, &dir, true, &mut kept)?;
    let manifest = join(&dir, MANIFEST_FILE);
    let freed = freed + root.stat(&manifest).ok().flatten().map_or(0, |e| e.bytes);
    root.remove_file(&manifest).map_err(|e| io(&manifest, e))?;
    let marker = join(&dir, PRUNING_MARKER);
    root.remove_file(&marker).map_err(|e| io(&marker, e))?;
    if kept.is_empty() {
        root.remove_dir(&dir).map_err(|e| io(&dir, e))?;
        remove_empty_parents(root, &dir);
    }
    Ok((freed, kept))
}

/// Deletes mybak's files below `dir` except the manifest and the pruning marker, and
/// directories left empty; records what was kept. Returns the bytes freed.
fn remove_ours(root: &dyn Storage, dir: &str, top: bool, kept: &mut Vec<PathBuf>) -> Result<u64> {
    let mut freed = 0;
    for entry in root
        .list(dir)
        .map_err(|e| Error::io(root.display(dir), e))?
    {
        let rel = join(dir, &entry.name);
        match entry.kind {
            EntryKind::Dir => {
                let before = kept.len();
                freed += remove_ours(root, &rel, false, kept)?;
                if kept.len() == before {
                    root.remove_dir(&rel)
                        .map_err(|e| Error::io(root.display(&rel), e))?;
                }
            }
            EntryKind::File if top && [MANIFEST_FILE, PRUNING_MARKER].contains(&&*entry.name) => {
                // Deleted last by the caller.
            }
            EntryKind::File if is_ours(&entry.name) => {
                freed += entry.bytes;
                root.remove_file(&rel)
                    .map_err(|e| Error::io(root.display(&rel), e))?;
            }
            _ => kept.push(root.display(&rel)),
        }
    }
    Ok(freed)
}

/// Deletes every file below `dir` and the directories (an unfinished dump that never started),
/// its run marker last: interrupted, what is left is still an unfinished dump that prune removes.
pub fn remove_tree(root: &dyn Storage, dir: &str) -> std::io::Result<()> {
    let marker = join(dir, RUN_MARKER);
    remove_below(root, dir, &marker)?;
    root.remove_file(&marker)?;
    root.remove_dir(dir)
}

/// Deletes everything below `dir` but file `keep`.
fn remove_below(root: &dyn Storage, dir: &str, keep: &str) -> std::io::Result<()> {
    for entry in root.list(dir)? {
        let rel = join(dir, &entry.name);
        match entry.kind {
            EntryKind::Dir => {
                remove_below(root, &rel, keep)?;
                root.remove_dir(&rel)?;
            }
            _ if rel == keep => {}
            _ => root.remove_file(&rel)?,
        }
    }
    Ok(())
}

/// Removes the now-empty directories between `dir` and the root (nested `--name` formats).
fn remove_empty_parents(root: &dyn Storage, dir: &str) {
    let mut current = dir.rsplit_once('/').map(|(parent, _)| parent);
    while let Some(parent) = current {
        if root.remove_dir(parent).is_err() {
            break;
        }
        current = parent.rsplit_once('/').map(|(p, _)| p);
    }
}
