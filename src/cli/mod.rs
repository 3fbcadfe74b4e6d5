//! The command line: arguments, settings resolution, logging, progress bars, and how a run
//! ends (summary, metrics, hooks, exit code).

mod args;
mod argv;
mod bars;
mod commands;
mod eta;
mod logging;
mod panic;
mod report;
mod settings;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use commands::Ctx;
use logging::Logging;
use mybak::config::ConfigFile;
use mybak::summary::{self, RunStatus, Summary};
use report::Reporter;

/// Exit code: everything done.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: the run finished, but some objects failed (or a fatal error after writing started).
pub(crate) const EXIT_PARTIAL: u8 = 1;
/// Exit code: usage, configuration, connection or selection error; nothing was written.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: another run holds the output root's lock; nothing was done.
pub(crate) const EXIT_LOCKED: u8 = 3;

/// The exit code an error maps to.
fn exit_code_of(error: &anyhow::Error) -> u8 {
    use mybak::Error::*;
    match error.downcast_ref::<mybak::Error>() {
        Some(Locked { .. }) => EXIT_LOCKED,
        Some(
            OptionFile(_)
            | Conn(_)
            | Settings(_)
            | Pattern { .. }
            | Unsupported(_)
            | LockTimeout { .. }
            | Integrity(_)
            | Manifest { .. }
            | Config { .. }
            | OutputRoot { .. }
            | NotADump { .. },
        ) => EXIT_USAGE,
        Some(Binlog(e)) if e.is_refused() => EXIT_USAGE,
        Some(Binlog(mybak::binlog::BinlogError::Connect { .. })) => EXIT_USAGE,
        Some(_) => EXIT_PARTIAL,
        None => EXIT_USAGE,
    }
}

/// An error and its causes in one line, each said once (an error that prints its source is
/// not followed by the source again).
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if text.contains(&s) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s);
    }
    text.replace('\n', " ")
}

/// Parses the command line, runs the command and says how it ended.
pub fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    argv::hide_passwords(&raw);
    panic::install_hook();
    let cli = match Cli::try_parse_from(args::normalize_args(raw.clone())) {
        Ok(cli) => cli,
        Err(e) => {
            let text = argv::redact(&e.render().to_string(), &raw);
            if e.use_stderr() {
                eprint!("{}", logging::stamped(&text));
                return ExitCode::from(EXIT_USAGE);
            }
            print!("{text}");
            return ExitCode::from(EXIT_OK);
        }
    };
    let logging: &'static Logging = Box::leak(Box::new(Logging::init(
        cli.global.verbose,
        cli.global.quiet,
    )));
    let clock = std::time::Instant::now();
    let command = kind(&cli.command);
    match panic::contain(|| Ok(run(cli, logging))) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(early_failure(logging, command, &e, clock)),
    }
}

/// A short id for this run, in every log line and the manifest.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}", std::process::id());
    format!("{:08x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) as u32)
}

fn kind(command: &Command) -> summary::Command {
    match command {
        Command::Dump(_) => summary::Command::Dump,
        Command::Restore(_) => summary::Command::Restore,
        Command::Verify(_) => summary::Command::Verify,
        Command::Prune(_) => summary::Command::Prune,
        Command::Copy(_) => summary::Command::Copy,
        Command::Binlog(_) => summary::Command::Binlog,
        Command::List(_) => summary::Command::List,
        Command::Config(_) => summary::Command::Config,
    }
}

/// Ends a run that failed before its reporter existed (config file, log file).
fn early_failure(
    logging: &Logging,
    command: summary::Command,
    e: &anyhow::Error,
    clock: std::time::Instant,
) -> u8 {
    logging.error(&one_line(e));
    if !matches!(command, summary::Command::List | summary::Command::Config) {
        let mut s = Summary::new(command, RunStatus::Failed);
        s.failed = 1;
        s.seconds = clock.elapsed().as_secs_f64();
        logging.summary(&s);
    }
    exit_code_of(e)
}

fn run(cli: Cli, logging: &'static Logging) -> u8 {
    let clock = std::time::Instant::now();
    let command = kind(&cli.command);
    let explicit = if cli.global.no_config {
        None
    } else {
        cli.global.config.as_deref()
    };
    let mut config = match (cli.global.no_config, ConfigFile::load(explicit)) {
        (true, _) => ConfigFile::default(),
        (false, Ok(c)) => c,
        (false, Err(e)) => return early_failure(logging, command, &e.into(), clock),
    };
    // Object-storage settings are used by every command alike: flags over `[s3]`.
    config.s3 = cli.global.s3.layer().over(config.s3);
    let global = cli.global.layer().over(config.global.clone()).settings();
    let run_id = run_id();
    // `config check` only looks: it opens no log file (it says whether one can be written).
    let log_file = match command {
        summary::Command::Config => None,
        _ => global.log_file.as_deref().map(|p| (p, global.log_format)),
    };
    if let Err(e) = logging.configure(
        global.verbose,
        global.quiet,
        log_file,
        &run_id,
        command.as_str(),
    ) {
        return early_failure(logging, command, &e.into(), clock);
    }
    let simple = match cli.command {
        Command::Config(_) => Some(commands::config_check(&config)),
        Command::List(a) => Some(commands::list(a, &config)),
        other => {
            return run_reported(other, &config, global, &run_id, logging, command);
        }
    };
    match simple {
        Some(Ok(code)) => code,
        Some(Err(e)) => early_failure(logging, command, &e, clock),
        None => EXIT_OK,
    }
}

/// Runs a command whose end is reported: summary line, metrics, hooks, signals.
fn run_reported(
    command_args: Command,
    config: &ConfigFile,
    global: mybak::config::GlobalSettings,
    run_id: &str,
    logging: &'static Logging,
    command: summary::Command,
) -> u8 {
    let reporter = Reporter::new(logging, global, command);
    report::handle_signals(reporter.clone());
    log::info!(
        "mybak {} {command} started (run {run_id}, pid {}{})",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        config
            .path
            .as_ref()
            .map(|p| format!(", config {}", p.display()))
            .unwrap_or_default()
    );
    let ctx = Ctx {
        config,
        reporter: &reporter,
        run_id,
    };
    let result = panic::contain(|| match command_args {
        Command::Dump(a) => commands::dump(a, &ctx),
        Command::Restore(a) => commands::restore(a, &ctx),
        Command::Verify(a) => commands::verify(a, &ctx),
        Command::Prune(a) => commands::prune(a, &ctx),
        Command::Copy(a) => commands::copy(a, &ctx),
        Command::Binlog(a) => commands::binlog(a, &ctx),
        // `run` answers these itself, unreported.
        Command::List(_) | Command::Config(_) => {
            Ok((Summary::new(command, RunStatus::Complete), EXIT_OK))
        }
    });
    match result {
        Ok((summary, code)) => {
            reporter.finish(summary, code);
            code
        }
        Err(e) => {
            let code = exit_code_of(&e);
            logging.error(&one_line(&e));
            let status = if code == EXIT_LOCKED {
                RunStatus::Locked
            } else {
                RunStatus::Failed
            };
            reporter.finish(reporter.partial_summary(status), code);
            code
        }
    }
}
