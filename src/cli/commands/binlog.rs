//! `mybak binlog`: the archiver, with its progress in the log, live metrics, and the
//! `--on-failure` hook when binlog is lost (a gap) or the server cannot be reached.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;

use mybak::binlog::archive::{ArchiveObserver, ArchiveSettings};
use mybak::binlog::index::FileEntry;
use mybak::binlog::BinlogError;
use mybak::metrics::{Sample, Value};
use mybak::store::Location;
use mybak::summary::{Command, RunStatus, Summary};
use mybak::units::human_bytes;

use super::{Ctx, Outcome};
use crate::cli::args::BinlogArgs;
use crate::cli::report::Reporter;
use crate::cli::{one_line, EXIT_OK, EXIT_PARTIAL};

/// How often the live metrics are written at most (besides files archived, gaps, failures).
const METRICS_EVERY: Duration = Duration::from_secs(10);

/// Runs `mybak binlog`.
pub fn run(args: BinlogArgs, ctx: &Ctx) -> Outcome {
    let conn = ctx.conn(&args.conn)?;
    let root = super::output_root(args.root.clone(), ctx.config);
    ctx.reporter.set_job(root.display().to_string());
    let s3 = ctx.config.s3.clone().settings()?;
    let layer = args.layer().over(ctx.config.binlog.clone());
    let storage = Location::from_path(&root)?.open(layer.file_mode.unwrap_or_default(), &s3)?;
    mybak::store::check_storage(storage.as_ref())?;
    let mut settings = ArchiveSettings::new(conn, storage);
    settings.once = args.once;
    layer.apply(&mut settings);
    settings.stop = ctx.reporter.state.stop.clone();
    let mut live = Live::new(ctx.reporter);
    let report = mybak::binlog::archive(&settings, &mut live);
    live.connected = false;
    live.write_metrics();
    let report = report.context("binlog archiving failed")?;
    let gaps = report.gaps.len() as u64;
    let mut s = Summary::new(
        Command::Binlog,
        if gaps == 0 {
            RunStatus::Complete
        } else {
            RunStatus::Partial
        },
    );
    s.bytes = report.bytes;
    s.failed = gaps;
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s.extra = vec![
        ("files", report.files),
        ("events", report.events),
        ("gaps", gaps),
    ];
    if let Some(file) = &report.file {
        log::info!(
            "binlog archive {}: up to {file} at {}",
            report.dir,
            report.pos
        );
    }
    Ok((s, if gaps == 0 { EXIT_OK } else { EXIT_PARTIAL }))
}

/// What the archiver reports, kept for the metrics.
struct Live<'a> {
    reporter: &'a Reporter,
    connected: bool,
    /// Whether the last attempt failed (the hook runs once per outage).
    failing: bool,
    last_event: Option<u32>,
    caught_up: bool,
    bytes: u64,
    files: u64,
    stored_bytes: u64,
    gaps: u64,
    last_write: Option<Instant>,
}

impl<'a> Live<'a> {
    fn new(reporter: &'a Reporter) -> Live<'a> {
        Live {
            reporter,
            connected: false,
            failing: false,
            last_event: None,
            caught_up: false,
            bytes: 0,
            files: 0,
            stored_bytes: 0,
            gaps: 0,
            last_write: None,
        }
    }

    /// Seconds the archive is behind: 0 when caught up, else since the last event's time.
    fn lag(&self) -> f64 {
        match self.last_event {
            Some(_) if self.caught_up => 0.0,
            Some(t) => (Utc::now().timestamp() - i64::from(t)).max(0) as f64,
            None => f64::NAN,
        }
    }

    fn samples(&self) -> Vec<Sample> {
        let gauge = |name: &str, help: &str, value: Value| Sample {
            name: format!("mybak_binlog_{name}"),
            help: help.to_string(),
            value,
        };
        let mut out = vec![
            gauge(
                "connected",
                "Whether the archiver is connected to the server.",
                Value::Int(u64::from(self.connected)),
            ),
            gauge(
                "lag_seconds",
                "How far the archive is behind the server (0 when caught up).",
                Value::Float(self.lag()),
            ),
            gauge(
                "received_bytes",
                "Bytes of binlog events received since the archiver started.",
                Value::Int(self.bytes),
            ),
            gauge(
                "archived_files",
                "Binlog files stored since the archiver started.",
                Value::Int(self.files),
            ),
            gauge(
                "archived_bytes",
                "Bytes stored (compressed) since the archiver started.",
                Value::Int(self.stored_bytes),
            ),
            gauge(
                "gap",
                "Binlog gaps found since the archiver started (files purged before they were archived).",
                Value::Int(self.gaps),
            ),
        ];
        if let Some(t) = self.last_event {
            out.push(gauge(
                "last_event_timestamp_seconds",
                "Time of the last binlog event received.",
                Value::Int(u64::from(t)),
            ));
        }
        out
    }

    fn write_metrics(&mut self) {
        self.last_write = Some(Instant::now());
        self.reporter.write_samples(&self.samples());
    }

    fn maybe_write_metrics(&mut self) {
        if self.last_write.is_none_or(|t| t.elapsed() >= METRICS_EVERY) {
            self.write_metrics();
        }
    }

    /// Runs `--on-failure` now, the run going on.
    fn alert(&self, message: &str) {
        let mut s = Summary::new(Command::Binlog, RunStatus::Failed);
        s.failed = 1;
        s.bytes = self.bytes;
        s.seconds = self.reporter.clock.elapsed().as_secs_f64();
        s.extra = vec![("files", self.files), ("gaps", self.gaps)];
        log::debug!("running --on-failure for: {message}");
        self.reporter.run_hook(&s, EXIT_PARTIAL);
    }
}

impl ArchiveObserver for Live<'_> {
    fn connected(&mut self, file: &str, pos: u64) {
        log::info!("receiving binlog from {file} at {pos}");
        self.connected = true;
        self.failing = false;
        self.write_metrics();
    }

    fn event(&mut self, timestamp: u32, bytes: u64) {
        self.last_event = Some(timestamp);
        self.caught_up = false;
        self.bytes += bytes;
        self.maybe_write_metrics();
    }

    fn caught_up(&mut self) {
        self.caught_up = true;
        self.maybe_write_metrics();
    }

    fn archived(&mut self, entry: &FileEntry) {
        self.files += 1;
        self.stored_bytes += entry.stored_size;
        log::info!(
            "archived {} ({} events, {} → {}, {} … {})",
            entry.file,
            entry.events,
            human_bytes(entry.size),
            human_bytes(entry.stored_size),
            entry.first_time.format("%Y-%m-%d %H:%M:%S"),
            entry.last_time.format("%H:%M:%S"),
        );
        self.write_metrics();
    }

    fn gap(&mut self, error: &BinlogError) {
        self.gaps += 1;
        log::error!("{error}");
        self.write_metrics();
        self.alert(&error.to_string());
    }

    fn retrying(&mut self, error: &mybak::Error, wait: Duration) {
        let text = one_line(&anyhow::Error::msg(error.to_string()));
        log::warn!("{text}; trying again in {} s", wait.as_secs());
        self.connected = false;
        self.write_metrics();
        if !self.failing {
            self.failing = true;
            self.alert(&text);
        }
    }
}
