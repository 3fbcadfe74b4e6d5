//! Will the dump fit? information_schema's data sizes × the compression ratio of the last
//! complete dump in the root (or a conservative 1:1), against the free space and `--min-free`.

use crate::error::{Error, Result};
use crate::manifest::{Manifest, Status};
use crate::schema::{Catalog, TableKind};
use crate::store::catalog::list_dumps;
use crate::store::Storage;
use crate::units::human_bytes;

/// Safety margin on top of the estimate.
const MARGIN: f64 = 1.1;

/// How big the dump will be on disk, and how that was worked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// information_schema's data size of the tables to dump.
    pub source_bytes: u64,
    /// Bytes on disk per byte of source data.
    pub ratio: f64,
    /// The dump the ratio comes from (`None`: the default).
    pub ratio_from: Option<String>,
    /// The estimate, margin included.
    pub bytes: u64,
}

/// The ratio a finished dump achieved: its bytes on disk per byte of source data (or of SQL
/// when the source size was not recorded). `None` when it has nothing to go by.
pub fn ratio_of(manifest: &Manifest) -> Option<f64> {
    let on_disk: u64 = crate::units::total(manifest.files.iter().map(|f| f.bytes));
    let base = match manifest.source_bytes {
        Some(source) => source,
        None => crate::units::total(manifest.files.iter().map(|f| f.sql_bytes)),
    };
    (base > 1 << 20).then(|| on_disk as f64 / base as f64)
}

/// Estimates the dump of `source_bytes` of data; `last` is the newest complete dump (name and
/// manifest) of the root, if any. Pure.
pub fn estimate(source_bytes: u64, last: Option<(&str, &Manifest)>) -> Estimate {
    let (ratio, ratio_from) = match last.and_then(|(name, m)| Some((name, ratio_of(m)?))) {
        Some((name, ratio)) => (ratio.clamp(0.001, 4.0), Some(name.to_string())),
        None => (1.0, None),
    };
    Estimate {
        source_bytes,
        ratio,
        ratio_from,
        bytes: (source_bytes as f64 * ratio * MARGIN).ceil() as u64,
    }
}

/// Why `free` bytes are not enough for `estimate` plus `min_free`, or `None` when they are.
pub fn shortfall(estimate: &Estimate, min_free: u64, free: u64) -> Option<String> {
    if free >= estimate.bytes.saturating_add(min_free) {
        return None;
    }
    let basis = match &estimate.ratio_from {
        Some(name) => format!("× {:.2}, the ratio of dump {name}", estimate.ratio),
        None => "× 1 (no complete dump in the root to learn the ratio from)".to_string(),
    };
    Some(format!(
        "not enough free space: the dump needs about {} ({} of table data {basis}, plus 10%){}, but only {} is free; nothing was written",
        human_bytes(estimate.bytes),
        human_bytes(estimate.source_bytes),
        if min_free > 0 {
            format!(" and --min-free keeps {} free", human_bytes(min_free))
        } else {
            String::new()
        },
        human_bytes(free)
    ))
}

/// Checks that the dump of `catalog` fits into `root`; returns the source size it estimated from.
pub fn check(root: &dyn Storage, catalog: &Catalog, min_free: u64) -> Result<u64> {
    let source_bytes: u64 = catalog
        .tables
        .iter()
        .filter(|t| t.kind != TableKind::View)
        .map(|t| t.estimated_bytes)
        .sum();
    let dumps = list_dumps(root).unwrap_or_default();
    let last = dumps.iter().rev().find_map(|d| {
        let m = d.manifest()?;
        (m.status == Status::Complete).then_some((d.name.as_str(), m))
    });
    let estimate = estimate(source_bytes, last);
    let Some(dir) = root.local_dir() else {
        // Object storage has no free space to check.
        return Ok(source_bytes);
    };
    let free = crate::store::free_space(dir)?;
    log::info!(
        "space: about {} needed, {} free in {}",
        human_bytes(estimate.bytes),
        human_bytes(free),
        dir.display()
    );
    match shortfall(&estimate, min_free, free) {
        None => Ok(source_bytes),
        Some(message) => Err(Error::OutputRoot {
            path: dir.to_path_buf(),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Consistency, FileKind, ManifestFile, ServerInfo};

    fn manifest(bytes: u64, sql_bytes: u64, source: Option<u64>) -> Manifest {
        Manifest {
            format_version: 1,
            tool: "mybak".into(),
            tool_version: "0".into(),
            server: ServerInfo {
                version: "x".into(),
                host: "h".into(),
            },
            started_at: "2026-11-26T00:00:00.000Z".into(),
            finished_at: "2026-11-26T00:01:00.000Z".into(),
            status: Status::Complete,
            consistency: Consistency::Snapshot,
            run_id: None,
            source_bytes: source,
            binlog: None,
            failures: vec![],
            system_accounts_left_out: vec![],
            encryption: None,
            databases: vec![],
            files: vec![ManifestFile {
                path: "d/t.sql.zst".into(),
                sha256: String::new(),
                bytes,
                sql_bytes,
                kind: FileKind::TableData,
                database: None,
                table: None,
                rows: None,
                max_statement_bytes: None,
                etag: None,
            }],
        }
    }

    #[test]
    fn the_last_dump_teaches_the_ratio() {
        const G: u64 = 1 << 30;
        let m = manifest(G, 4 * G, Some(2 * G));
        let e = estimate(10 * G, Some(("last", &m)));
        assert_eq!(e.ratio, 0.5);
        assert_eq!(e.bytes, (10.0 * G as f64 * 0.5 * 1.1).ceil() as u64);
        // Without a recorded source size, the SQL size stands in.
        let m = manifest(G, 4 * G, None);
        assert_eq!(estimate(10 * G, Some(("last", &m))).ratio, 0.25);
        // A tiny or empty last dump teaches nothing: 1:1.
        let m = manifest(10, 100, Some(100));
        assert_eq!(estimate(10 * G, Some(("last", &m))).ratio, 1.0);
        assert_eq!(estimate(10 * G, None).ratio_from, None);
    }

    #[test]
    fn shortfall_names_every_number() {
        const G: u64 = 1 << 30;
        let e = estimate(10 * G, None);
        assert_eq!(shortfall(&e, 0, 12 * G), None);
        let m = shortfall(&e, 0, 10 * G).unwrap();
        assert!(
            m.contains("11.0 GiB") && m.contains("10.0 GiB is free"),
            "{m}"
        );
        assert!(shortfall(&e, 2 * G, 12 * G).unwrap().contains("--min-free"));
        let m = shortfall(&estimate(0, None), 5 * G, G).unwrap();
        assert!(m.contains("--min-free keeps 5.0 GiB"), "{m}");
    }
}
