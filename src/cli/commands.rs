//! The commands: each resolves its settings, runs the library, reports on stderr and says its exit code.

use std::io::IsTerminal;

use anyhow::Context;

use mybak::manifest::Status;
use mybak::progress::{Progress, Silent};

use super::args::{DumpArgs, ProgressMode, RestoreArgs, VerifyArgs};
use super::bars::{Bars, Unit};
use super::logging::Logging;
use super::{one_line, settings, Failure, EXIT_OK, EXIT_PARTIAL};

/// Bars when asked for or on a terminal, attached to the logger.
fn bars(mode: ProgressMode, unit: Unit, logging: &Logging) -> Option<Bars> {
    let show = match mode {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let bars = show.then(|| Bars::new(unit));
    if let Some(b) = &bars {
        logging.attach(b.multi());
    }
    bars
}

/// Reports a run that ended in an error: the error in one line, then the summary every run ends
/// with; returns the exit code.
fn failed_run(e: anyhow::Error, clock: std::time::Instant) -> u8 {
    let failure = Failure::from(e);
    eprintln!("mybak: error: {}", one_line(&failure.error));
    eprintln!(
        "summary: status=failed databases=0 tables=0 rows=0 bytes=0 failed=1 seconds={:.2}",
        clock.elapsed().as_secs_f64()
    );
    failure.code
}

fn progress_of(bars: &Option<Bars>) -> &dyn Progress {
    match bars {
        Some(b) => b,
        None => &Silent,
    }
}

/// `mybak dump`.
pub fn dump(args: DumpArgs, logging: &Logging) -> u8 {
    let clock = std::time::Instant::now();
    let settings = match settings::dump_settings(&args) {
        Ok(s) => s,
        Err(e) => return failed_run(e, clock),
    };
    let bars = bars(args.progress, Unit::Rows, logging);
    let progress = progress_of(&bars);
    let outcome = match mybak::dump::run(&settings, progress).context("dump failed") {
        Ok(o) => o,
        Err(e) => return failed_run(e, clock),
    };
    let m = &outcome.manifest;
    println!("{}", outcome.path.display());
    let tables: usize = m.databases.iter().map(|d| d.tables.len()).sum();
    let rows: u64 = m
        .databases
        .iter()
        .flat_map(|d| &d.tables)
        .map(|t| t.rows)
        .sum();
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    for f in &m.failures {
        let db = f
            .database
            .as_deref()
            .map(|d| format!("{d}."))
            .unwrap_or_default();
        eprintln!("mybak: failed: {} {db}{}: {}", f.kind, f.name, f.error);
    }
    let status = match m.status {
        Status::Complete => "complete",
        Status::Partial => "partial",
    };
    eprintln!(
        "summary: status={status} databases={} tables={tables} rows={rows} bytes={bytes} failed={} seconds={:.2}",
        m.databases.len(),
        m.failures.len(),
        outcome.elapsed.as_secs_f64()
    );
    match m.status {
        Status::Complete => EXIT_OK,
        Status::Partial => EXIT_PARTIAL,
    }
}

/// `mybak restore`.
pub fn restore(args: RestoreArgs, logging: &Logging) -> u8 {
    let clock = std::time::Instant::now();
    let settings = match settings::restore_settings(&args) {
        Ok(s) => s,
        Err(e) => return failed_run(e, clock),
    };
    let bars = bars(args.progress, Unit::Bytes, logging);
    let result = mybak::restore::run(&settings, progress_of(&bars)).context("restore failed");
    drop(bars);
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return failed_run(e, clock),
    };
    for w in &outcome.warnings {
        log::warn!("{w}");
    }
    for f in &outcome.failures {
        eprintln!("mybak: failed: {f}");
    }
    let status = if outcome.failures.is_empty() {
        "complete"
    } else {
        "partial"
    };
    eprintln!(
        "summary: status={status} databases={} tables={} rows={} bytes={} failed={} seconds={:.2}",
        outcome.databases,
        outcome.tables,
        outcome.rows,
        outcome.sql_bytes,
        outcome.failures.len(),
        outcome.elapsed.as_secs_f64()
    );
    if outcome.failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    }
}

/// `mybak verify`.
pub fn verify(args: VerifyArgs, logging: &Logging) -> u8 {
    let clock = std::time::Instant::now();
    let test_settings = match args
        .restore_test
        .then(|| settings::restore_test_settings(&args))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return failed_run(e, clock),
    };
    let (manifest, mut report) = match mybak::verify::offline(&args.dir) {
        Ok(v) => v,
        Err(e) => return failed_run(e.into(), clock),
    };
    if let Some(test) = &test_settings {
        if report.ok() {
            let bars = bars(args.progress, Unit::Bytes, logging);
            let result =
                mybak::verify::restore_test(test, &manifest, &mut report, progress_of(&bars));
            drop(bars);
            if let Err(e) = result.context("test restore failed") {
                return failed_run(e, clock);
            }
        } else {
            log::warn!("the dump has problems already: no test restore");
        }
    }
    if args.json {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        println!("{json}");
    } else {
        for p in &report.problems {
            eprintln!("mybak: problem: {p}");
        }
    }
    eprintln!(
        "summary: status={} files={} statements={} rows={} tables_compared={} problems={} seconds={:.2}",
        if report.ok() { "ok" } else { "damaged" },
        report.files,
        report.statements,
        report.rows,
        report.tables_compared,
        report.problems.len(),
        clock.elapsed().as_secs_f64()
    );
    if report.ok() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    }
}
