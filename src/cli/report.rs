//! How a run ends: the summary line, the metrics file and the hooks — for a run that finished,
//! failed, or was stopped by SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mybak::config::GlobalSettings;
use mybak::hook::{self, Hook, HookEnv};
use mybak::progress::Progress;
use mybak::summary::{Command, RunStatus, Summary};

use super::logging::Logging;

/// What a run has done so far, for a summary when it is interrupted or fails.
#[derive(Debug, Default)]
pub struct RunState {
    rows: AtomicU64,
    sql_bytes: AtomicU64,
    dump_dir: Mutex<Option<PathBuf>>,
    /// Set by whoever reports the end of the run first.
    reported: AtomicBool,
    /// Set by SIGINT/SIGTERM for commands that stop by themselves (`binlog`).
    pub stop: Arc<AtomicBool>,
}

impl RunState {
    /// The directory the run writes or reads, once known.
    pub fn set_dump_dir(&self, dir: PathBuf) {
        if let Ok(mut d) = self.dump_dir.lock() {
            *d = Some(dir);
        }
    }

    fn dump_dir(&self) -> Option<PathBuf> {
        self.dump_dir.lock().ok().and_then(|d| d.clone())
    }
}

/// A [`Progress`] that counts into the run's state and passes everything on.
pub struct Tracking<'a> {
    pub inner: &'a dyn Progress,
    pub state: &'a RunState,
}

impl Progress for Tracking<'_> {
    fn writing_to(&self, dir: &std::path::Path) {
        self.state.set_dump_dir(dir.to_path_buf());
        self.inner.writing_to(dir);
    }
    fn planned(&self, id: &str, estimated_rows: u64, estimated_bytes: u64) {
        self.inner.planned(id, estimated_rows, estimated_bytes);
    }
    fn start(&self, rows: u64, bytes: u64) {
        self.inner.start(rows, bytes);
    }
    fn table_started(&self, id: &str, estimated_rows: u64) {
        self.inner.table_started(id, estimated_rows);
    }
    fn advance(&self, id: &str, rows: u64, bytes: u64) {
        self.state.rows.fetch_add(rows, Ordering::Relaxed);
        self.state.sql_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.inner.advance(id, rows, bytes);
    }
    fn table_finished(&self, id: &str) {
        self.inner.table_finished(id);
    }
    fn finish(&self) {
        self.inner.finish();
    }
}

/// Ends runs: prints the summary, writes metrics, runs hooks.
pub struct Reporter {
    pub logging: &'static Logging,
    pub global: GlobalSettings,
    pub command: Command,
    pub state: RunState,
    pub clock: Instant,
    /// The metrics' `job` label when `--job` is not given (the output root).
    pub job: Mutex<String>,
}

impl Reporter {
    /// A reporter for `command`.
    pub fn new(
        logging: &'static Logging,
        global: GlobalSettings,
        command: Command,
    ) -> Arc<Reporter> {
        Arc::new(Reporter {
            logging,
            global,
            command,
            state: RunState::default(),
            clock: Instant::now(),
            job: Mutex::new(String::new()),
        })
    }

    /// Sets the default job name (the output root) for the metrics.
    pub fn set_job(&self, default: impl Into<String>) {
        if let Ok(mut j) = self.job.lock() {
            *j = default.into();
        }
    }

    /// A summary of what the run did so far, ending in `status`.
    pub fn partial_summary(&self, status: RunStatus) -> Summary {
        let mut s = Summary::new(self.command, status);
        s.rows = self.state.rows.load(Ordering::Relaxed);
        s.sql_bytes = self.state.sql_bytes.load(Ordering::Relaxed);
        s.failed = 1;
        s.seconds = self.clock.elapsed().as_secs_f64();
        s.dump_dir = self.state.dump_dir();
        s
    }

    /// Reports the end of the run (once: a second caller gets `false`): the summary line, then
    /// metrics and the hook. Returns whether this call reported.
    pub fn finish(&self, mut summary: Summary, exit_code: u8) -> bool {
        if self.state.reported.swap(true, Ordering::SeqCst) {
            return false;
        }
        if summary.dump_dir.is_none() {
            summary.dump_dir = self.state.dump_dir();
        }
        self.logging.summary(&summary);
        if summary.status != RunStatus::Locked {
            self.write_metrics(&summary, exit_code);
        }
        self.run_hook(&summary, exit_code);
        true
    }

    fn job(&self) -> String {
        match &self.global.job {
            Some(j) => j.clone(),
            None => self.job.lock().map(|j| j.clone()).unwrap_or_default(),
        }
    }

    fn write_metrics(&self, summary: &Summary, exit_code: u8) {
        let Some(path) = &self.global.metrics_file else {
            return;
        };
        let samples = mybak::metrics::samples(summary, exit_code, chrono::Utc::now());
        if let Err(e) = mybak::metrics::write_textfile(path, &self.job(), &samples) {
            log::error!("metrics not written: {e}");
        }
    }

    /// Writes samples to the metrics file, if there is one.
    pub fn write_samples(&self, samples: &[mybak::metrics::Sample]) {
        let Some(path) = &self.global.metrics_file else {
            return;
        };
        if let Err(e) = mybak::metrics::write_textfile(path, &self.job(), samples) {
            log::error!("metrics not written: {e}");
        }
    }

    /// Runs `--on-success` when the run exits 0, else `--on-failure`.
    pub fn run_hook(&self, summary: &Summary, exit_code: u8) {
        let success = exit_code == 0;
        let command = if success {
            &self.global.on_success
        } else {
            &self.global.on_failure
        };
        let Some(command) = command else { return };
        let which = if success {
            "--on-success"
        } else {
            "--on-failure"
        };
        let hook = Hook {
            command: command.clone(),
            timeout: self.global.hook_timeout,
        };
        let env = HookEnv {
            command: self.command,
            status: summary.status,
            exit_code,
            dump_dir: summary.dump_dir.clone(),
            summary: summary.to_string(),
            log_file: self.global.log_file.clone(),
        };
        match hook::run(&hook, &env) {
            Err(e) => log::error!("{which} hook could not run: {e}"),
            Ok(out) => {
                let output = out.output.trim();
                if out.timed_out {
                    log::error!(
                        "{which} hook killed after {}: {output}",
                        humantime(self.global.hook_timeout)
                    );
                } else if out.exit_code != Some(0) {
                    log::error!(
                        "{which} hook failed (exit {}): {output}",
                        out.exit_code
                            .map_or("by signal".to_string(), |c| c.to_string())
                    );
                } else {
                    log::info!("{which} hook done in {:.1} s", out.elapsed.as_secs_f64());
                }
            }
        }
    }
}

fn humantime(d: Duration) -> String {
    mybak::units::Span(d).to_string()
}

/// Exit code of a run stopped by signal `sig` (128 + its number).
pub fn signal_exit_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(255)
}

/// Installs SIGINT/SIGTERM handling: the first signal reports the run as interrupted (the
/// error naming the signal, the summary, metrics, hook) and exits 130/143. Whatever the dump
/// wrote stays as `NAME.partial`.
pub fn handle_signals(reporter: Arc<Reporter>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("cannot handle SIGINT/SIGTERM: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let code = signal_exit_code(sig);
                if reporter.command == Command::Binlog
                    && !reporter.state.stop.load(Ordering::SeqCst)
                {
                    // The archiver stops by itself at the next event or within a second.
                    log::info!("stopping: signal {sig} received");
                    reporter.state.stop.store(true, Ordering::SeqCst);
                    if signals.forever().next().is_some() {
                        std::process::exit(i32::from(code));
                    }
                    return;
                }
                if reporter.state.reported.load(Ordering::SeqCst) {
                    // The run had ended already (a hook was running): just stop.
                    std::process::exit(i32::from(code));
                }
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                let left = match reporter.state.dump_dir() {
                    Some(d) if reporter.command == Command::Dump => {
                        format!("; the unfinished dump is left as {}", d.display())
                    }
                    _ => String::new(),
                };
                reporter
                    .logging
                    .error(&format!("interrupted by {name}{left}"));
                reporter.finish(reporter.partial_summary(RunStatus::Interrupted), code);
                std::process::exit(i32::from(code));
            }
        });
    if let Err(e) = spawned {
        log::warn!("cannot handle SIGINT/SIGTERM: {e}");
    }
}
