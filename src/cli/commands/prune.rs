//! `mybak prune`: the plan, printed with reasons, then carried out under the root's lock.

use chrono::{Local, Utc};

use mybak::prune::{self, Executed, Plan, PruneSettings};
use mybak::retention::{Action, DumpState};
use mybak::store::lock::RootLock;
use mybak::store::{Location, Storage};
use mybak::summary::{Command, RunStatus, Summary};
use mybak::units::human_bytes;

use super::{Ctx, Outcome};
use crate::cli::args::PruneArgs;
use crate::cli::{EXIT_OK, EXIT_PARTIAL};

/// Plans and carries out a prune; the caller holds the root's lock.
pub fn prune_under_lock(
    root: &dyn Storage,
    settings: &PruneSettings,
) -> mybak::Result<(Plan, Executed)> {
    let now = Utc::now();
    let plan = prune::plan(root, settings, now, &Local)?;
    let done = prune::execute(root, &plan, now, settings.dry_run);
    Ok((plan, done))
}

fn state_word(state: DumpState) -> &'static str {
    match state {
        DumpState::Complete => "complete",
        DumpState::Partial => "partial",
        DumpState::Unfinished => "unfinished",
    }
}

/// One line per dump: action, name, state, start time, reasons.
fn plan_lines(plan: &Plan, dry_run: bool) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| {
            let v = &s.verdict;
            let action = match (v.action, dry_run) {
                (Action::Keep, _) => "keep",
                (Action::Remove, false) => "remove",
                (Action::Remove, true) => "would remove",
            };
            format!(
                "{action:<12} {}  {:<10} {}  {}",
                v.name,
                state_word(v.state),
                v.time.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S"),
                v.reasons.join(", ")
            )
        })
        .collect()
}

/// One line per archived binlog file removed, and one per archive saying what stays.
fn binlog_lines(plan: &Plan, dry_run: bool) -> Vec<String> {
    let verb = if dry_run { "would remove" } else { "remove" };
    let mut lines = Vec::new();
    for archive in &plan.binlog {
        let Some((dump, file)) = &archive.from else {
            lines.push(format!(
                "{:<12} {}/  {} files, no kept dump of this server to replay from",
                "keep", archive.dir, archive.keep
            ));
            continue;
        };
        for entry in &archive.remove {
            lines.push(format!(
                "{verb:<12} {}/{}  before {file}, where the oldest kept dump {dump} starts",
                archive.dir, entry.file
            ));
        }
        lines.push(format!(
            "{:<12} {}/  {} files from {file}, to replay from {dump}",
            "keep", archive.dir, archive.keep
        ));
    }
    lines
}

/// Logs what a prune did (for `dump --prune`, whose stdout is the dump's path).
pub fn log_plan(plan: &Plan, done: &Executed) {
    for line in plan_lines(plan, false)
        .into_iter()
        .chain(binlog_lines(plan, false))
    {
        log::info!("prune: {line}");
    }
    report_problems(plan, done);
    log::info!(
        "prune: removed {} dumps, freed {}",
        done.removed,
        human_bytes(done.freed_bytes)
    );
}

fn report_problems(plan: &Plan, done: &Executed) {
    for (name, why) in &plan.unreadable {
        log::warn!("prune: left alone {name}: {why}");
    }
    for path in &done.kept_foreign {
        log::warn!(
            "prune: {} was not written by mybak and stays (with its directory)",
            path.display()
        );
    }
    for (name, e) in &done.failed {
        log::error!("prune: could not remove {name}: {e}");
    }
    if done.aborted_uploads > 0 {
        log::info!(
            "prune: unfinished uploads of killed runs (older than a day): {}",
            done.aborted_uploads
        );
    }
}

/// Runs `mybak prune`.
pub fn run(args: PruneArgs, ctx: &Ctx) -> Outcome {
    let root = super::output_root(args.root.clone(), ctx.config);
    ctx.reporter.set_job(root.display().to_string());
    let settings = args
        .layer()
        .over(ctx.config.prune.clone())
        .settings(root.clone(), ctx.config.s3.clone().settings()?);
    let storage = Location::from_path(&root)?.open(Default::default(), &settings.s3)?;
    let opened = mybak::store::catalog::list_dumps(storage.as_ref());
    if let Err(e) = opened {
        anyhow::bail!(mybak::Error::OutputRoot {
            path: root,
            message: format!("cannot read the output root: {e}"),
        });
    }
    let lock = match storage.local_dir() {
        Some(dir) => Some(RootLock::acquire(dir, "mybak prune")?),
        None => None,
    };
    let (plan, done) = prune_under_lock(storage.as_ref(), &settings)?;
    drop(lock);
    for line in plan_lines(&plan, settings.dry_run)
        .into_iter()
        .chain(binlog_lines(&plan, settings.dry_run))
    {
        println!("{line}");
    }
    report_problems(&plan, &done);
    let planned = plan.removals().count() as u64;
    let mut s = Summary::new(
        Command::Prune,
        if done.failed.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Partial
        },
    );
    s.bytes = done.freed_bytes;
    s.failed = done.failed.len() as u64;
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s.extra = vec![
        ("dumps", plan.steps.len() as u64),
        ("kept", plan.steps.len() as u64 - planned),
        ("removed", done.removed as u64),
        ("binlog_removed", done.binlog_removed as u64),
    ];
    if settings.dry_run {
        s.extra.push(("would_remove", planned));
    }
    let code = if done.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    };
    Ok((s, code))
}
