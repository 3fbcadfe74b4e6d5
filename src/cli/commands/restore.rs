//! `mybak restore`.

use anyhow::Context;
use log::Level;

use mybak::restore::RestoreSettings;
use mybak::summary::{Command, RunStatus, Summary};

use super::{Ctx, Outcome};
use crate::cli::args::RestoreArgs;
use crate::cli::bars::Unit;
use crate::cli::{EXIT_OK, EXIT_PARTIAL};

mod until;

/// Runs `mybak restore`.
pub fn run(args: RestoreArgs, ctx: &Ctx) -> Outcome {
    let mut settings = RestoreSettings::default();
    args.layer()
        .over(ctx.config.restore.clone())
        .apply(&mut settings)?;
    settings.dir = args.dir.clone();
    settings.s3 = ctx.config.s3.clone().settings()?;
    ctx.reporter.state.set_dump_dir(args.dir.clone());
    ctx.reporter.set_job(job_of(&args.dir));
    settings.conn = ctx.conn(&args.conn)?;
    if let Some(target) = &args.until {
        return until::run(&args, target, settings, ctx);
    }
    let outcome = ctx
        .tracked(Unit::Bytes, |p| mybak::restore::run(&settings, p))
        .context("restore failed")?;
    for w in &outcome.warnings {
        log::warn!("{w}");
    }
    for f in &outcome.failures {
        ctx.reporter
            .logging
            .report(Level::Error, "failed", &f.to_string());
    }
    let s = summary(&outcome);
    let ok = outcome.failures.is_empty();
    Ok((s, if ok { EXIT_OK } else { EXIT_PARTIAL }))
}

/// The summary of a restore.
fn summary(outcome: &mybak::restore::RestoreOutcome) -> Summary {
    let ok = outcome.failures.is_empty();
    let mut s = Summary::new(
        Command::Restore,
        if ok {
            RunStatus::Complete
        } else {
            RunStatus::Partial
        },
    );
    s.databases = outcome.databases as u64;
    s.tables = outcome.tables as u64;
    s.rows = outcome.rows;
    s.bytes = outcome.bytes;
    s.sql_bytes = outcome.sql_bytes;
    s.failed = outcome.failures.len() as u64;
    s.seconds = outcome.elapsed.as_secs_f64();
    s
}

/// The default metrics job of a command reading dump `dir`: its output root.
pub fn job_of(dir: &std::path::Path) -> String {
    dir.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .display()
        .to_string()
}
