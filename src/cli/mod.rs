//! The command line: arguments, settings resolution, progress bars, logging and exit codes.

mod args;
mod bars;
mod logging;
mod settings;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use mybak::manifest::Status;
use mybak::progress::{Progress, Silent};

use args::{Cli, Command, DumpArgs, ProgressMode};

/// Exit code: everything done.
const EXIT_OK: u8 = 0;
/// Exit code: the run finished, but some objects failed (or a fatal error after writing started).
const EXIT_PARTIAL: u8 = 1;
/// Exit code: usage, configuration or connection error; nothing was written.
const EXIT_USAGE: u8 = 2;

/// An error that ends the run, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = match error.downcast_ref::<mybak::Error>() {
            Some(e) if is_before_writing(e) => EXIT_USAGE,
            Some(_) => EXIT_PARTIAL,
            None => EXIT_USAGE,
        };
        Failure { code, error }
    }
}

/// Errors that happen before anything is written: the user must fix settings, access or the server.
fn is_before_writing(e: &mybak::Error) -> bool {
    use mybak::Error::*;
    matches!(
        e,
        OptionFile(_)
            | Conn(_)
            | Settings(_)
            | Pattern { .. }
            | Unsupported(_)
            | LockTimeout { .. }
    )
}

/// Parses the command line, runs the command and says how it ended.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args::normalize_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!(
                "mybak: error: {} (see mybak --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(EXIT_OK);
        }
    };
    let logging = logging::Logging::init(cli.verbose, cli.quiet);
    match run(cli, &logging) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("mybak: error: {}", one_line(&f.error));
            ExitCode::from(f.code)
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn run(cli: Cli, logging: &logging::Logging) -> Result<u8, Failure> {
    match cli.command {
        Command::Dump(args) => dump(args, logging),
    }
}

fn dump(args: DumpArgs, logging: &logging::Logging) -> Result<u8, Failure> {
    let clock = std::time::Instant::now();
    let settings = settings::dump_settings(&args)?;
    let show_bars = match args.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let bars = show_bars.then(bars::Bars::new);
    if let Some(b) = &bars {
        logging.attach(b.multi());
    }
    let progress: &dyn Progress = match &bars {
        Some(b) => b,
        None => &Silent,
    };
    let outcome = match mybak::dump::run(&settings, progress).context("dump failed") {
        Ok(o) => o,
        Err(e) => {
            let failure = Failure::from(e);
            eprintln!("mybak: error: {}", one_line(&failure.error));
            eprintln!(
                "summary: status=failed databases=0 tables=0 rows=0 bytes=0 failed=1 seconds={:.2}",
                clock.elapsed().as_secs_f64()
            );
            return Ok(failure.code);
        }
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
    Ok(match m.status {
        Status::Complete => EXIT_OK,
        Status::Partial => EXIT_PARTIAL,
    })
}
