//! Messages on stderr through the `log` crate, printed above the progress bars when they are shown.

use std::io::Write;
use std::sync::OnceLock;

use indicatif::MultiProgress;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
    bars: OnceLock<MultiProgress>,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level && metadata.target().starts_with("mybak")
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let label = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let line = format!("mybak: {label}: {}", record.args());
        let print = || {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        };
        match self.bars.get() {
            Some(bars) => bars.suspend(print),
            None => print(),
        }
    }

    fn flush(&self) {}
}

/// The installed logger, so progress bars can be attached once they exist.
pub struct Logging {
    logger: &'static StderrLogger,
}

impl Logging {
    /// Installs the logger: warnings by default, `-v` info, `-vv` debug, `--quiet` errors only.
    pub fn init(verbose: u8, quiet: bool) -> Logging {
        let level = match (quiet, verbose) {
            (true, _) => LevelFilter::Error,
            (false, 0) => LevelFilter::Warn,
            (false, 1) => LevelFilter::Info,
            (false, _) => LevelFilter::Debug,
        };
        let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger {
            level,
            bars: OnceLock::new(),
        }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(level);
        }
        Logging { logger }
    }

    /// From now on, messages are printed above these bars.
    pub fn attach(&self, bars: &MultiProgress) {
        let _ = self.logger.bars.set(bars.clone());
    }
}
