//! `mybak verify`.

use anyhow::Context;
use log::Level;

use mybak::store::Location;
use mybak::summary::{Command, RunStatus, Summary};
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
    let dump = Location::from_path(&args.dir)?.open(Default::default(), &s3)?;
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
    for p in &report.problems {
        ctx.reporter
            .logging
            .report(Level::Error, "problem", &p.to_string());
    }
    let ok = report.ok();
    let mut s = Summary::new(
        Command::Verify,
        if ok {
            RunStatus::Ok
        } else {
            RunStatus::Damaged
        },
    );
    s.databases = manifest.databases.len() as u64;
    s.tables = manifest.table_count();
    s.rows = report.rows;
    s.bytes = report.bytes;
    s.sql_bytes = report.sql_bytes;
    s.failed = report.problems.len() as u64;
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s.extra = vec![
        ("files", report.files as u64),
        ("statements", report.statements),
        ("tables_compared", report.tables_compared as u64),
    ];
    Ok((s, if ok { EXIT_OK } else { EXIT_PARTIAL }))
}
