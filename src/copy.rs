//! `mybak copy`: a finished dump from one storage to another (local disk → S3 for a two-stage
//! nightly, S3 → disk to restore elsewhere), every file checked against the manifest on the way.
//!
//! The copy is written like a dump (`NAME.partial` renamed on disk, manifest last on object
//! storage), so an interrupted copy is never taken for a dump. Files are copied byte for byte
//! (an encrypted dump stays encrypted; no key is needed), the manifest and `SHA256SUMS` verbatim.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem, Result};
use crate::manifest::{ManifestFile, MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_SUMS_BYTES, SUMS_FILE};
use crate::progress::Progress;
use crate::sink::hex;
use crate::store::catalog::read_manifest;
use crate::store::storage::join;
use crate::store::{self, DumpDir, RunInfo, SharedStorage, Storage, WriteOptions};

/// Files copied at the same time unless told otherwise: enough to keep uploads busy, few enough
/// to bound memory (each S3 upload buffers its parts).
pub const DEFAULT_THREADS: usize = 4;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutcome {
    /// Where the copy is.
    pub path: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// The destination held this dump already, identical: nothing was copied.
    pub already_there: bool,
}

/// Copies the finished dump at the root of `src` into output root `dst` under `name` (the
/// source's own name), on `threads` threads. The source is checked first (manifest against
/// `SHA256SUMS`); each file is hashed while it is copied and must match the manifest, else the
/// copy is discarded. A finished dump of that name at the destination with the same manifest is
/// left as it is; a different one is an error.
pub fn copy(
    src: &dyn Storage,
    dst: SharedStorage,
    name: &str,
    threads: usize,
    run: &RunInfo,
    progress: &dyn Progress,
) -> Result<CopyOutcome> {
    let manifest = store::open_dump(src)?;
    let problems = crate::verify::files::check_listing(src, &manifest);
    if !problems.is_empty() {
        return Err(Error::Integrity(problems));
    }
    let manifest_bytes = src
        .read_small(MANIFEST_FILE, MAX_MANIFEST_BYTES)
        .map_err(|e| unreadable(src, MANIFEST_FILE, e))?;
    let sums = src
        .read_small(SUMS_FILE, MAX_SUMS_BYTES)
        .map_err(|e| unreadable(src, SUMS_FILE, e))?;
    let bytes = crate::units::total(manifest.files.iter().map(|f| f.bytes));
    if let Some(path) = already_there(dst.as_ref(), name, &manifest_bytes)? {
        return Ok(CopyOutcome {
            path,
            files: manifest.files.len(),
            bytes,
            already_there: true,
        });
    }
    if let Some(dir) = dst.local_dir() {
        store::create_root(dir)?;
    }
    let out = DumpDir::create(dst, name, WriteOptions::default(), run)?;
    if out.name() != name {
        out.discard();
        return Err(Error::OutputRoot {
            path: PathBuf::from(name),
            message: "a copy of this name is being written, or its name is taken".to_string(),
        });
    }
    progress.writing_to(&out.path());
    progress.start(0, bytes);
    let copied = AtomicU64::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Settings(format!("cannot start {threads} threads: {e}")))?;
    let problems: Vec<Problem> = pool.install(|| {
        manifest
            .files
            .par_iter()
            .filter_map(|f| {
                progress.table_started(&f.path, 0);
                let result = copy_file(src, &out, f);
                progress.advance(&f.path, 0, f.bytes);
                progress.table_finished(&f.path);
                copied.fetch_add(f.bytes, Ordering::Relaxed);
                result.err()
            })
            .collect()
    });
    progress.finish();
    if !problems.is_empty() {
        out.discard();
        return Err(Error::CopyFailed(problems));
    }
    let path = out.finish_verbatim(&sums, &manifest_bytes)?;
    Ok(CopyOutcome {
        path,
        files: manifest.files.len(),
        bytes,
        already_there: false,
    })
}

fn unreadable(src: &dyn Storage, rel: &str, e: crate::regular_file::ReadError) -> Error {
    Error::Manifest {
        path: src.display(rel),
        message: format!("cannot be read: {e}"),
    }
}

/// Where the finished dump `name` of `dst` is when its manifest is byte for byte `manifest`;
/// an error when a different dump has that name.
fn already_there(dst: &dyn Storage, name: &str, manifest: &[u8]) -> Result<Option<PathBuf>> {
    let rel = join(name, MANIFEST_FILE);
    match dst.stat(&rel) {
        Ok(None) => return Ok(None),
        Ok(Some(_)) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::OutputRoot {
                path: dst.display(""),
                message: e.to_string(),
            })
        }
    }
    let existing = read_manifest(dst, name)?;
    let same = dst
        .read_small(&rel, MAX_MANIFEST_BYTES)
        .is_ok_and(|bytes| bytes == manifest);
    if same {
        Ok(Some(dst.display(name)))
    } else {
        Err(Error::OutputRoot {
            path: dst.display(name),
            message: format!(
                "holds a different dump (started {}); nothing copied",
                existing.started_at
            ),
        })
    }
}

/// Copies one file, hashing it; a problem when it is not the file the manifest describes.
fn copy_file(src: &dyn Storage, out: &DumpDir, f: &ManifestFile) -> Result<(), Problem> {
    let problem = |message: String| Problem {
        path: f.path.clone(),
        message,
    };
    let mut reader = src.open(&f.path).map_err(problem)?;
    let mut writer = out
        .create_file(&f.path)
        .map_err(|e| problem(e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(problem(format!("cannot be read: {e}"))),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        bytes += n as u64;
        if bytes > f.bytes {
            return Err(problem(format!(
                "is larger than the {} bytes the manifest says",
                f.bytes
            )));
        }
        writer
            .write_all(chunk)
            .map_err(|e| problem(format!("cannot be written: {e}")))?;
    }
    if bytes != f.bytes || hex(&hasher.finalize()) != f.sha256 {
        return Err(problem(
            "SHA-256 mismatch: the file changed since the dump".to_string(),
        ));
    }
    writer
        .finish()
        .map_err(|e| problem(format!("cannot be written: {e}")))?;
    Ok(())
}
