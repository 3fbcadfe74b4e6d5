//! The command line: arguments, settings resolution, progress bars, logging and exit codes.

mod args;
mod bars;
mod commands;
mod logging;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Exit code: everything done.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: the run finished, but some objects failed (or a fatal error after writing started).
pub(crate) const EXIT_PARTIAL: u8 = 1;
/// Exit code: usage, configuration or connection error; nothing was written.
pub(crate) const EXIT_USAGE: u8 = 2;

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
            | Integrity(_)
            | Manifest { .. }
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
    ExitCode::from(run(cli, &logging))
}

pub(crate) fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn run(cli: Cli, logging: &logging::Logging) -> u8 {
    match cli.command {
        Command::Dump(args) => commands::dump(args, logging),
        Command::Restore(args) => commands::restore(args, logging),
        Command::Verify(args) => commands::verify(args, logging),
    }
}
