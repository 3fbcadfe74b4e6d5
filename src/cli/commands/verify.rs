//! `mybak verify`: of a dump directory, or of a binlog archive directory (`ROOT/binlog/<server>`).

use anyhow::Context;
use log::Level;

use mybak::store::{Location, S3Settings, Storage};
use mybak::summary::{Command, RunStatus, Summary};
use mybak::verify::archive::{archive_name, check_archive};
use mybak::verify::RestoreTestSettings;

use super::restore::job_of;
use super::{Ctx, Outcome};
use crate::cli::args::VerifyArgs;
use crate::cli::bars::Unit;
use crate::cli::{EXIT_OK, EXIT_PARTIAL};

/// Runs `mybak verify`.
pub fn run(args: VerifyArgs, ctx: &Ctx) -> Outcome {
    let settings = args.layer().over(ctx.config.verify.clone()).settings()?;
    ctx.reporter.state.set_dump_dir(args.dir.clone());
    ctx.reporter.set_job(job_of(&args.dir));
    let s3 = ctx.config.s3.clone().settings()?;
    let location = Location::from_path(&args.dir)?;
    let dump = location.open(Default::default(), &s3)?;
    if let Some(name) = archive_name(&location, dump.as_ref()) {
        if settings.restore_test {
            anyhow::bail!(
                "{}: a binlog archive, not a dump: --restore-test restores dumps only",
                args.dir.display()
            );
        }
        return run_archive(&location, &name, dump.as_ref(), settings.json, &s3, ctx);
    }
    let test = if settings.restore_test {
        Some(RestoreTestSettings {
            conn: ctx.conn(&args.conn)?,
            dir: args.dir.clone(),
            s3: s3.clone(),
            identities: settings.identities.clone(),
            threads: settings.threads,
            keep: settings.keep,
        })
    } else {
        None
    };
    let (manifest, mut report) = mybak::verify::offline(
        dump.as_ref(),
        settings.identities.as_deref(),
        settings.max_statement,
    )?;
    if report.encrypted_unread {
        log::warn!(
            "the dump is encrypted (to {}): without --identity only each file's size and SHA-256 were checked",
            mybak::restore::recipients_of(&manifest)
        );
    }
    if let Some(test) = &test {
        if report.ok() {
            ctx.tracked(Unit::Bytes, |p| {
                mybak::verify::restore_test(test, &manifest, &mut report, p)
            })
            .context("test restore failed")?;
        } else {
            log::warn!("the dump has problems already: no test restore");
        }
    }
    if settings.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    let ok = report.ok();
    let mut s = summary(&report.problems, ctx);
    s.databases = manifest.databases.len() as u64;
    s.tables = manifest.table_count();
    s.rows = report.rows;
    s.bytes = report.bytes;
    s.sql_bytes = report.sql_bytes;
    s.extra = vec![
        ("files", report.files as u64),
        ("statements", report.statements),
        ("tables_compared", report.tables_compared as u64),
    ];
    Ok((s, if ok { EXIT_OK } else { EXIT_PARTIAL }))
}

/// Verifies the binlog archive `name` at `location` (opened as `archive`) and the dumps of its
/// output root, two levels up.
fn run_archive(
    location: &Location,
    name: &str,
    archive: &dyn Storage,
    json: bool,
    s3: &S3Settings,
    ctx: &Ctx,
) -> Outcome {
    let root = location
        .resolved()
        .parent()
        .and_then(|binlog| binlog.parent())
        .with_context(|| format!("{location}: no output root above the archive"))?
        .open(Default::default(), s3)?;
    let report = check_archive(archive, name, root.as_ref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    for note in &report.notes {
        ctx.reporter.logging.report(Level::Info, "info", note);
    }
    let ok = report.ok();
    let mut s = summary(&report.problems, ctx);
    s.bytes = report.bytes;
    s.extra = vec![
        ("files", report.files as u64),
        ("events", report.events),
        ("dumps", report.dumps as u64),
    ];
    Ok((s, if ok { EXIT_OK } else { EXIT_PARTIAL }))
}

/// Logs each problem and starts the summary: `ok` without problems, else `damaged`.
fn summary(problems: &[mybak::error::Problem], ctx: &Ctx) -> Summary {
    for p in problems {
        ctx.reporter
            .logging
            .report(Level::Error, "problem", &p.to_string());
    }
    let status = if problems.is_empty() {
        RunStatus::Ok
    } else {
        RunStatus::Damaged
    };
    let mut s = Summary::new(Command::Verify, status);
    s.failed = problems.len() as u64;
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s
}
