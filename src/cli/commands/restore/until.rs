//! `mybak restore ROOT --until TARGET`: the plan printed, then the dump restored and the binlog
//! replayed, with what was replayed in the log and the summary.

use anyhow::Context;

use mybak::binlog::replay::{ReplayReport, Target};
use mybak::restore::until::{self, show_target, UntilPlan, UntilSettings};
use mybak::restore::RestoreSettings;

use super::super::{Ctx, Outcome};
use crate::cli::args::RestoreArgs;
use crate::cli::bars::Unit;
use crate::cli::{EXIT_OK, EXIT_PARTIAL};
use mybak::summary::{Command, RunStatus, Summary};

/// Runs a point-in-time recovery (or, with `--dry-run`, shows its plan).
pub fn run(args: &RestoreArgs, target: &str, restore: RestoreSettings, ctx: &Ctx) -> Outcome {
    let target: Target = target
        .parse()
        .map_err(|e| mybak::Error::Settings(format!("--until {target}: {e}")))?;
    let settings = UntilSettings {
        restore,
        root: args.dir.clone(),
        target,
        inclusive: args.inclusive,
    };
    let plan = until::plan(&settings).context("point-in-time recovery impossible")?;
    for line in plan_lines(&plan, &settings) {
        if args.dry_run {
            println!("{line}");
        } else {
            log::info!("{line}");
        }
    }
    if args.dry_run {
        let mut s = Summary::new(Command::Restore, RunStatus::Complete);
        s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
        s.extra = counts(&plan.survey);
        return Ok((s, EXIT_OK));
    }
    ctx.reporter.state.set_dump_dir(plan.dump.path.clone());
    let outcome = ctx
        .tracked(Unit::Bytes, |p| until::run(&settings, p))
        .context("point-in-time recovery failed")?;
    let r = &outcome.replay;
    // What the recovery reached is its result: on stdout, like a dump's path.
    println!(
        "restored {} and replayed {} transactions ({} events, {} left out by the selection) \
         from {}:{} up to {}",
        outcome.plan.dump.path.display(),
        r.transactions,
        r.events,
        r.skipped,
        outcome.plan.binlog.file,
        outcome.plan.binlog.position,
        reached(r)
    );
    for (file, pos) in &r.abandoned {
        log::warn!("{file}:{pos}: a transaction cut off by a server crash was not replayed");
    }
    let mut s = super::summary(&outcome.restore);
    // The restore and the replay.
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s.extra = counts(r);
    let code = if s.status == RunStatus::Complete {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    };
    Ok((s, code))
}

/// The plan as the user reads it.
fn plan_lines(plan: &UntilPlan, settings: &UntilSettings) -> Vec<String> {
    let b = &plan.binlog;
    let mut lines = vec![
        format!(
            "target:   {} ({})",
            show_target(&settings.target),
            if settings.inclusive {
                "its transaction applied"
            } else {
                "just before it"
            }
        ),
        format!("dump:     {}", plan.dump.path.display()),
        format!(
            "from:     {}:{}{}",
            b.file,
            b.position,
            if b.gtid.is_empty() {
                String::new()
            } else {
                format!(" (GTID {})", b.gtid)
            }
        ),
        format!("binlog:   {} ({})", plan.archive, plan.files.join(", ")),
    ];
    let r = &plan.survey;
    lines.push(format!(
        "replay:   {} transactions, {} events, up to {}",
        r.transactions,
        r.events,
        reached(r)
    ));
    lines
}

/// Where a replay ended: the last transaction applied.
fn reached(r: &ReplayReport) -> String {
    match (&r.last, &r.last_gtid) {
        (Some((file, pos)), Some(g)) => format!("{file}:{pos} (GTID {g})"),
        (Some((file, pos)), None) => format!("{file}:{pos}"),
        _ => "the dump's position (nothing to replay)".to_string(),
    }
}

fn counts(r: &ReplayReport) -> Vec<(&'static str, u64)> {
    vec![("transactions", r.transactions), ("events", r.events)]
}
