//! The commands: each resolves its settings (flags over the config file over the defaults), runs
//! the library, and returns its summary and exit code; [`super::run`] reports the end.

mod binlog;
mod config;
mod copy;
mod dump;
mod list;
mod prune;
mod restore;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use mybak::config::{ConfigFile, ProgressMode};
use mybak::conn::ConnSettings;
use mybak::progress::{Progress, Silent};
use mybak::summary::Summary;

use super::args::ConnArgs;
use super::bars::{Bars, Unit};
use super::report::{Reporter, Tracking};
use super::settings;

pub use binlog::run as binlog;
pub use config::check as config_check;
pub use copy::run as copy;
pub use dump::run as dump;
pub use list::run as list;
pub use prune::run as prune;
pub use restore::run as restore;
pub use verify::run as verify;

/// What a command works with.
pub struct Ctx<'a> {
    pub config: &'a ConfigFile,
    pub reporter: &'a Arc<Reporter>,
    pub run_id: &'a str,
}

/// The output root a command works on: the one given, else `[dump] output-dir` of the config
/// file, else the default.
fn output_root(given: Option<PathBuf>, config: &ConfigFile) -> PathBuf {
    given
        .or_else(|| config.dump.output_dir.clone())
        .unwrap_or_else(|| mybak::dump::DumpSettings::default().output_dir)
}

/// How a command ended when it did not fail: its summary and exit code.
pub type Outcome = anyhow::Result<(Summary, u8)>;

impl Ctx<'_> {
    /// Bars when asked for or on a terminal, attached to the logger.
    fn bars(&self, unit: Unit) -> Option<Bars> {
        let show = match self.reporter.global.progress {
            ProgressMode::Always => true,
            ProgressMode::Never => false,
            ProgressMode::Auto => std::io::stderr().is_terminal(),
        };
        let bars = show.then(|| Bars::new(unit));
        if let Some(b) = &bars {
            self.reporter.logging.attach(b.multi());
        }
        bars
    }

    /// Runs `f` with the bars (when shown) as its progress, counted into the run's state.
    fn tracked<T>(&self, unit: Unit, f: impl FnOnce(&dyn Progress) -> T) -> T {
        let bars = self.bars(unit);
        let progress = Tracking {
            inner: progress_of(&bars),
            state: &self.reporter.state,
        };
        let result = f(&progress);
        drop(bars);
        result
    }

    /// The connection: command line over `[connection]`, then option files and the environment.
    fn conn(&self, args: &ConnArgs) -> anyhow::Result<ConnSettings> {
        if args.password.as_deref().is_some_and(|p| !p.is_empty()) {
            log::warn!("a password on the command line can be seen by other users; prefer an option file or MYSQL_PWD");
        }
        let layer = args.layer().over(self.config.connection.clone());
        settings::conn_settings(layer, args.ask_password())
    }
}

/// The bars as a `Progress`, or silence.
fn progress_of(bars: &Option<Bars>) -> &dyn Progress {
    match bars {
        Some(b) => b,
        None => &Silent,
    }
}
