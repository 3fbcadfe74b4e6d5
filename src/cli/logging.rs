//! Messages: on stderr (above the progress bars when they are shown; each line timestamped when
//! stderr is not a terminal) and, with `--log-file`, appended to a file as text or JSON lines.
//!
//! The logger is installed before the settings are known (so warnings about the settings show);
//! [`Logging::configure`] then sets the levels and opens the log file, which also receives the
//! messages logged before it was opened.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use chrono::{SecondsFormat, Utc};
use indicatif::MultiProgress;
use log::{Level, LevelFilter, Log, Metadata, Record};

use mybak::config::LogFormat;
use mybak::summary::Summary;

/// The log file and how to write it.
struct LogFile {
    file: File,
    format: LogFormat,
}

/// What the logger knows once the settings are resolved.
struct Configured {
    stderr_level: LevelFilter,
    file: Option<Mutex<LogFile>>,
    run_id: String,
    command: &'static str,
}

struct Logger {
    /// stderr level before [`Logging::configure`] (from `-v`/`-q` alone).
    early_level: LevelFilter,
    timestamps: bool,
    configured: OnceLock<Configured>,
    /// Lines logged before the file was opened: (time, level, message).
    pending: Mutex<Vec<(String, Level, String)>>,
    bars: OnceLock<MultiProgress>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn label(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

impl Logger {
    fn stderr_level(&self) -> LevelFilter {
        self.configured
            .get()
            .map_or(self.early_level, |c| c.stderr_level)
    }

    /// Writes one line to stderr, above the bars, with a timestamp when not on a terminal.
    fn to_stderr(&self, time: &str, line: &str) {
        let text = if self.timestamps {
            format!("{time} {line}")
        } else {
            line.to_string()
        };
        let print = || {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        };
        match self.bars.get() {
            Some(bars) => bars.suspend(print),
            None => print(),
        }
    }

    /// Appends one record to the log file (or keeps it until the file is open).
    fn to_file(&self, time: &str, level: Level, message: &str, summary: Option<&Summary>) {
        let Some(c) = self.configured.get() else {
            if let Ok(mut p) = self.pending.lock() {
                p.push((time.to_string(), level, message.to_string()));
            }
            return;
        };
        let Some(file) = &c.file else { return };
        let Ok(mut f) = file.lock() else { return };
        let line = match f.format {
            LogFormat::Text => format!("{time} {:<5} [{}] {message}\n", level.as_str(), c.run_id),
            LogFormat::Json => {
                let mut v = serde_json::json!({
                    "time": time,
                    "level": level.as_str(),
                    "run_id": c.run_id,
                    "command": c.command,
                    "message": message,
                });
                if let Some(s) = summary {
                    v["summary"] = serde_json::to_value(s).unwrap_or_default();
                }
                format!("{v}\n")
            }
        };
        let _ = f.file.write_all(line.as_bytes());
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("mybak")
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let time = now();
        let message = record.args().to_string().replace('\n', " ");
        let file_level = match self.configured.get() {
            Some(c) if c.stderr_level >= LevelFilter::Debug => LevelFilter::Debug,
            _ => LevelFilter::Info,
        };
        if record.level() <= file_level {
            self.to_file(&time, record.level(), &message, None);
        }
        if record.level() <= self.stderr_level() {
            self.to_stderr(
                &time,
                &format!("mybak: {}: {message}", label(record.level())),
            );
        }
    }

    fn flush(&self) {}
}

/// The installed logger.
pub struct Logging {
    logger: &'static Logger,
}

/// The stderr level for `-v`/`-q`: warnings by default, `-v` info, `-vv` debug, `-q` errors.
fn level(verbose: u8, quiet: bool) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, _) => LevelFilter::Debug,
    }
}

impl Logging {
    /// Installs the logger for stderr.
    pub fn init(verbose: u8, quiet: bool) -> Logging {
        let logger: &'static Logger = Box::leak(Box::new(Logger {
            early_level: level(verbose, quiet),
            timestamps: !std::io::stderr().is_terminal(),
            configured: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
            bars: OnceLock::new(),
        }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(LevelFilter::Debug);
        }
        Logging { logger }
    }

    /// Sets the levels and opens the log file (append, created `0640`); replays into it what
    /// was logged so far. Fails when the file cannot be opened.
    pub fn configure(
        &self,
        verbose: u8,
        quiet: bool,
        log_file: Option<(&Path, LogFormat)>,
        run_id: &str,
        command: &'static str,
    ) -> Result<(), mybak::Error> {
        let file = match log_file {
            None => None,
            Some((path, format)) => Some(Mutex::new(LogFile {
                file: open_log(path)?,
                format,
            })),
        };
        let _ = self.logger.configured.set(Configured {
            stderr_level: level(verbose, quiet),
            file,
            run_id: run_id.to_string(),
            command,
        });
        let pending = self
            .logger
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for (time, level, message) in pending {
            self.logger.to_file(&time, level, &message, None);
        }
        Ok(())
    }

    /// From now on, messages are printed above these bars.
    pub fn attach(&self, bars: &MultiProgress) {
        let _ = self.logger.bars.set(bars.clone());
    }

    /// The error that ends a run: always on stderr, and in the log file.
    pub fn error(&self, message: &str) {
        let time = now();
        self.logger.to_file(&time, Level::Error, message, None);
        self.logger
            .to_stderr(&time, &format!("mybak: error: {message}"));
    }

    /// A line every run prints whatever the level (`mybak: failed: …`, `mybak: problem: …`).
    pub fn report(&self, level: Level, kind: &str, message: &str) {
        let time = now();
        self.logger
            .to_file(&time, level, &format!("{kind}: {message}"), None);
        self.logger
            .to_stderr(&time, &format!("mybak: {kind}: {message}"));
    }

    /// The summary line that ends every run: always on stderr, and in the log file.
    pub fn summary(&self, summary: &Summary) {
        let time = now();
        let line = summary.to_string();
        self.logger
            .to_file(&time, Level::Info, &line, Some(summary));
        self.logger.to_stderr(&time, &line);
    }
}

/// `text` as it goes to stderr: every line after a timestamp when stderr is not a terminal.
pub fn stamped(text: &str) -> String {
    if std::io::stderr().is_terminal() {
        return text.to_string();
    }
    let time = now();
    text.lines().map(|l| format!("{time} {l}\n")).collect()
}

/// Opens the log file for appending, creating it (and refusing anything but a regular file:
/// a FIFO would block, a device would swallow the log).
fn open_log(path: &Path) -> Result<File, mybak::Error> {
    let fail = |message: String| mybak::Error::Config {
        path: PathBuf::from(path),
        line: None,
        message: format!("cannot open the log file: {message}"),
    };
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(fail("not a regular file".to_string()));
        }
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| fail(e.to_string()))
}
