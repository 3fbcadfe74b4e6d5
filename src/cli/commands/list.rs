//! `mybak list`: the dumps of an output root, one line each (or JSON).

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use mybak::manifest::{Binlog, Manifest, Status};
use mybak::store::catalog::{self, Found, StoredDump};
use mybak::store::Location;
use mybak::units::human_bytes;

use crate::cli::args::ListArgs;
use crate::cli::EXIT_OK;
use mybak::config::ConfigFile;

/// One dump as `list --json` shows it.
#[derive(Debug, Serialize)]
struct Entry<'a> {
    name: &'a str,
    path: String,
    status: &'static str,
    started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<f64>,
    bytes: u64,
    databases: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binlog: Option<&'a Binlog>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'a str>,
}

fn duration(m: &Manifest) -> Option<f64> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
    let (a, b) = (parse(&m.started_at)?, parse(&m.finished_at)?);
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

fn entry(d: &StoredDump) -> Entry<'_> {
    let (status, manifest, problem) = match &d.found {
        Found::Dump(m) if m.status == Status::Complete => ("complete", Some(&**m), None),
        Found::Dump(m) => ("partial", Some(&**m), None),
        Found::Unfinished(_) => ("unfinished", None, None),
        Found::Pruning => ("being-removed", None, None),
        Found::Unreadable(why) => ("unreadable", None, Some(why.as_str())),
    };
    Entry {
        name: &d.name,
        path: d.path.display().to_string(),
        status,
        started_at: d.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: manifest.map(|m| m.finished_at.as_str()),
        duration_seconds: manifest.and_then(duration),
        bytes: d.disk_bytes,
        databases: manifest
            .map(|m| m.databases.iter().map(|db| db.name.as_str()).collect())
            .unwrap_or_default(),
        consistency: manifest.map(|m| m.consistency.to_string()),
        binlog: manifest.and_then(|m| m.binlog.as_ref()),
        problem,
    }
}

fn line(e: &Entry, time: DateTime<Utc>) -> String {
    let binlog = match e.binlog {
        Some(b) if b.gtid.is_empty() => format!("{}:{}", b.file, b.position),
        Some(b) => format!("{}:{} gtid {}", b.file, b.position, b.gtid),
        None => "-".to_string(),
    };
    format!(
        "{}  {:<10} {}  {:>10}  {:>8}  {:<9} {}  {}{}",
        e.name,
        e.status,
        time.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S"),
        human_bytes(e.bytes),
        e.duration_seconds
            .map_or("-".to_string(), |s| format!("{s:.1}s")),
        e.consistency.as_deref().unwrap_or("-"),
        if e.databases.is_empty() {
            "-".to_string()
        } else {
            e.databases.join(",")
        },
        binlog,
        e.problem.map(|p| format!("  ({p})")).unwrap_or_default()
    )
}

/// Runs `mybak list`; returns the exit code (it writes no summary, metrics or hooks).
pub fn run(args: ListArgs, config: &ConfigFile) -> anyhow::Result<u8> {
    let root = super::output_root(args.root.clone(), config);
    let json = args.layer().over(config.list.clone()).json();
    let storage =
        Location::from_path(&root)?.open(Default::default(), &config.s3.clone().settings()?)?;
    let dumps = catalog::list_dumps(storage.as_ref()).map_err(|e| mybak::Error::OutputRoot {
        path: root.clone(),
        message: format!("cannot list it: {e}"),
    })?;
    let entries: Vec<Entry> = dumps.iter().map(entry).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for (e, d) in entries.iter().zip(&dumps) {
            println!("{}", line(e, d.time));
        }
    }
    if dumps.is_empty() {
        log::warn!("{} holds no dumps", root.display());
    }
    Ok(EXIT_OK)
}
