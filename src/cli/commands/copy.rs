//! `mybak copy`.

use anyhow::Context;

use mybak::copy::DEFAULT_THREADS;
use mybak::store::{Location, RunInfo};
use mybak::summary::{Command, RunStatus, Summary};

use super::{Ctx, Outcome};
use crate::cli::args::CopyArgs;
use crate::cli::bars::Unit;
use crate::cli::EXIT_OK;

/// Runs `mybak copy`.
pub fn run(args: CopyArgs, ctx: &Ctx) -> Outcome {
    let s3 = ctx.config.s3.clone().settings()?;
    let src_location = Location::from_path(&args.src)?;
    let name = src_location.name().ok_or_else(|| {
        mybak::Error::Settings(format!(
            "{}: a dump to copy is a directory or an s3:// URL below a bucket",
            args.src.display()
        ))
    })?;
    let src = src_location.open(Default::default(), &s3)?;
    let dst = Location::from_path(&args.dst)?.open(args.file_mode.unwrap_or_default(), &s3)?;
    mybak::store::check_storage(dst.as_ref())?;
    ctx.reporter.state.set_dump_dir(args.src.clone());
    ctx.reporter.set_job(args.dst.display().to_string());
    let run = RunInfo::current(ctx.run_id, chrono::Utc::now());
    let threads = args.threads.unwrap_or(DEFAULT_THREADS);
    let outcome = ctx
        .tracked(Unit::Bytes, |p| {
            mybak::copy::copy(src.as_ref(), dst, &name, threads, &run, p)
        })
        .context("copy failed")?;
    println!("{}", outcome.path.display());
    if outcome.already_there {
        log::info!(
            "{} holds this dump already: nothing copied",
            outcome.path.display()
        );
    }
    let mut s = Summary::new(Command::Copy, RunStatus::Complete);
    s.bytes = if outcome.already_there {
        0
    } else {
        outcome.bytes
    };
    s.seconds = ctx.reporter.clock.elapsed().as_secs_f64();
    s.dump_dir = Some(outcome.path.clone());
    s.extra = vec![("files", outcome.files as u64)];
    Ok((s, EXIT_OK))
}
