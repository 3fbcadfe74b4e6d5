//! Progress bars on a terminal (indicatif): overall rows (ETA from information_schema estimates) and bytes,
//! one line per table in flight.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mybak::progress::Progress;

/// What the overall bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Rows (a dump: its ETA comes from information_schema's row estimates).
    Rows,
    /// Bytes of SQL (a restore: the manifest knows them exactly).
    Bytes,
}

/// indicatif bars for a dump or a restore.
pub struct Bars {
    unit: Unit,
    multi: MultiProgress,
    total: ProgressBar,
    tables: Mutex<HashMap<String, ProgressBar>>,
    bytes: std::sync::atomic::AtomicU64,
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn new(unit: Unit) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let total = multi.add(ProgressBar::new(0));
        let template = match unit {
            Unit::Rows => {
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/~{human_len} rows {msg} ETA {eta}"
            }
            Unit::Bytes => "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
        };
        total.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        total.enable_steady_tick(Duration::from_millis(200));
        Bars {
            unit,
            multi,
            total,
            tables: Mutex::new(HashMap::new()),
            bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The bars' container, for the logger.
    pub fn multi(&self) -> &MultiProgress {
        &self.multi
    }
}

impl Progress for Bars {
    fn start(&self, rows: u64, bytes: u64) {
        let length = match self.unit {
            Unit::Rows => rows,
            Unit::Bytes => bytes,
        };
        self.total.set_length(length.max(1));
    }

    fn table_started(&self, id: &str, estimated_rows: u64) {
        let bar = self.multi.add(ProgressBar::new(estimated_rows.max(1)));
        bar.set_style(
            ProgressStyle::with_template(match self.unit {
                Unit::Rows => "  {prefix:.bold} {pos}/~{len} rows",
                Unit::Bytes => "  {prefix:.bold} {bytes}",
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(id.to_string());
        if let Ok(mut t) = self.tables.lock() {
            t.insert(id.to_string(), bar);
        }
    }

    fn advance(&self, id: &str, rows: u64, bytes: u64) {
        use std::sync::atomic::Ordering;
        let total_bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match self.unit {
            Unit::Rows => {
                self.total.inc(rows);
                self.total
                    .set_message(format!("{} of SQL", indicatif::HumanBytes(total_bytes)));
            }
            Unit::Bytes => self.total.inc(bytes),
        }
        if self.total.position() > self.total.length().unwrap_or(0) {
            self.total.set_length(self.total.position());
        }
        if let Ok(t) = self.tables.lock() {
            if let Some(bar) = t.get(id) {
                bar.inc(match self.unit {
                    Unit::Rows => rows,
                    Unit::Bytes => bytes,
                });
                if bar.position() > bar.length().unwrap_or(0) {
                    bar.set_length(bar.position());
                }
            }
        }
    }

    fn table_finished(&self, id: &str) {
        if let Ok(mut t) = self.tables.lock() {
            if let Some(bar) = t.remove(id) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }

    fn finish(&self) {
        self.total.finish_and_clear();
    }
}
