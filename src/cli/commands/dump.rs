//! `mybak dump` (and `--prune` after it).

use anyhow::Context;
use log::Level;

use mybak::dump::DumpSettings;
use mybak::manifest::{Manifest, Status};
use mybak::summary::{Command, RunStatus, Summary};

use super::prune::{log_plan, prune_under_lock};
use super::{Ctx, Outcome};
use crate::cli::args::DumpArgs;
use crate::cli::bars::Unit;
use crate::cli::{EXIT_OK, EXIT_PARTIAL};

/// The summary of a finished dump.
pub fn summary_of(manifest: &Manifest, seconds: f64) -> Summary {
    let status = match manifest.status {
        Status::Complete => RunStatus::Complete,
        Status::Partial => RunStatus::Partial,
    };
    let mut s = Summary::new(Command::Dump, status);
    s.databases = manifest.databases.len() as u64;
    s.tables = manifest.table_count();
    s.rows = manifest.row_count();
    s.bytes = mybak::units::total(manifest.files.iter().map(|f| f.bytes));
    s.sql_bytes = mybak::units::total(manifest.files.iter().map(|f| f.sql_bytes));
    s.failed = manifest.failures.len() as u64;
    s.seconds = seconds;
    s
}

/// Runs `mybak dump`.
pub fn run(args: DumpArgs, ctx: &Ctx) -> Outcome {
    let layer = args.layer().over(ctx.config.dump.clone());
    let prune = layer.prune.unwrap_or(false);
    let mut settings = DumpSettings::default();
    layer.apply(&mut settings)?;
    settings.run_id = ctx.run_id.to_string();
    settings.s3 = ctx.config.s3.clone().settings()?;
    ctx.reporter
        .set_job(settings.output_dir.display().to_string());
    // The retention rules are checked before anything is dumped.
    let prune_settings = prune
        .then(|| {
            let p = args.retention.layer().over(ctx.config.prune.clone());
            p.settings(settings.output_dir.clone(), settings.s3.clone())
        })
        .map(|p| {
            if p.policy.is_empty() {
                anyhow::bail!(mybak::Error::Settings(
                    "--prune needs a retention rule (--keep-daily and the like, or [prune] in the config file)".to_string()
                ));
            }
            Ok(p)
        })
        .transpose()?;
    settings.conn = ctx.conn(&args.conn)?;

    let outcome = ctx
        .tracked(Unit::Rows, |p| mybak::dump::run(&settings, p))
        .context("dump failed")?;
    let m = &outcome.manifest;
    println!("{}", outcome.path.display());
    for f in &m.failures {
        let db = f
            .database
            .as_deref()
            .map(|d| format!("{d}."))
            .unwrap_or_default();
        ctx.reporter.logging.report(
            Level::Error,
            "failed",
            &format!("{} {db}{}: {}", f.kind, f.name, f.error),
        );
    }
    let mut summary = summary_of(m, outcome.elapsed.as_secs_f64());
    summary.dump_dir = Some(outcome.path.clone());
    let mut code = match m.status {
        Status::Complete => EXIT_OK,
        Status::Partial => EXIT_PARTIAL,
    };
    if let Some(p) = prune_settings {
        if m.status == Status::Complete {
            match prune_under_lock(outcome.root.as_ref(), &p) {
                Ok((plan, done)) => log_plan(&plan, &done),
                Err(e) => {
                    ctx.reporter.logging.error(&format!(
                        "the dump is complete, but pruning failed: {}",
                        crate::cli::one_line(&e.into())
                    ));
                    code = EXIT_PARTIAL;
                }
            }
        } else {
            log::warn!("not pruning: the dump is partial");
        }
    }
    drop(outcome.lock);
    Ok((summary, code))
}
