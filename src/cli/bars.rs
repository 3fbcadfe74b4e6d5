//! Progress bars on a terminal (indicatif): overall rows (against information_schema estimates) or
//! bytes, with our own ETA (see [`super::eta`]), and one line per table in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use mybak::progress::Progress;

use super::eta::{self, Eta, Ledger};

/// What the overall bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Rows (a dump: its ETA weighs each table's rows by the table's estimated size).
    Rows,
    /// Bytes of SQL (a restore: the manifest knows them exactly).
    Bytes,
}

/// indicatif bars for a dump or a restore.
pub struct Bars {
    unit: Unit,
    multi: MultiProgress,
    total: ProgressBar,
    /// Read by the overall bar's `{remaining}` at each draw: never held while calling indicatif.
    eta: Arc<Mutex<Eta>>,
    /// The dump's work per table (unused for bytes).
    ledger: Mutex<Ledger>,
    tables: Mutex<HashMap<String, Table>>,
    bytes: AtomicU64,
}

/// A table's line, shown while some of it (a chunk or all) is being read.
#[derive(Default)]
struct Table {
    bar: Option<ProgressBar>,
    /// Chunks in flight (several workers can read chunks of one table at once).
    in_flight: usize,
    /// Rows (or bytes) so far, over all its chunks.
    done: u64,
    estimated: u64,
    /// A dump's table, announced by `planned`: kept between its chunks.
    planned: bool,
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn new(unit: Unit) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let total = multi.add(ProgressBar::new(0));
        let template = match unit {
            Unit::Rows => {
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/~{human_len} rows {msg} ETA {remaining}"
            }
            Unit::Bytes => {
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {remaining}"
            }
        };
        let eta = Arc::new(Mutex::new(Eta::default()));
        let shown = Arc::clone(&eta);
        total.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "remaining",
                    move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let left = shown.lock().ok().and_then(|e| e.remaining(Instant::now()));
                        let _ = w.write_str(&eta::format(left));
                    },
                ),
        );
        total.enable_steady_tick(Duration::from_millis(200));
        Bars {
            unit,
            multi,
            total,
            eta,
            ledger: Mutex::new(Ledger::default()),
            tables: Mutex::new(HashMap::new()),
            bytes: AtomicU64::new(0),
        }
    }

    /// The bars' container, for the logger.
    pub fn multi(&self) -> &MultiProgress {
        &self.multi
    }

    fn table_style(&self) -> ProgressStyle {
        ProgressStyle::with_template(match self.unit {
            Unit::Rows => "  {prefix:.bold} {human_pos}/~{human_len} rows",
            Unit::Bytes => "  {prefix:.bold} {bytes}",
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

impl Progress for Bars {
    fn planned(&self, id: &str, estimated_rows: u64, estimated_bytes: u64) {
        if let Ok(mut l) = self.ledger.lock() {
            l.plan(id, estimated_rows, estimated_bytes);
        }
        if let Ok(mut tables) = self.tables.lock() {
            let t = tables.entry(id.to_string()).or_default();
            t.estimated = estimated_rows;
            t.planned = true;
        }
    }

    fn start(&self, rows: u64, bytes: u64) {
        let (length, work) = match self.unit {
            Unit::Rows => (
                rows,
                self.ledger
                    .lock()
                    .map(|mut l| l.start(rows, bytes))
                    .unwrap_or(rows as f64),
            ),
            Unit::Bytes => (bytes, bytes as f64),
        };
        if let Ok(mut e) = self.eta.lock() {
            e.set_total(work);
        }
        self.total.set_length(length.max(1));
    }

    fn table_started(&self, id: &str, estimated_rows: u64) {
        let Ok(mut tables) = self.tables.lock() else {
            return;
        };
        let t = tables.entry(id.to_string()).or_default();
        t.in_flight += 1;
        if t.estimated == 0 {
            t.estimated = estimated_rows;
        }
        if t.bar.is_none() {
            let bar = self
                .multi
                .add(ProgressBar::new(t.estimated.max(t.done).max(1)));
            bar.set_style(self.table_style());
            bar.set_prefix(id.to_string());
            bar.set_position(t.done);
            t.bar = Some(bar);
        }
    }

    fn advance(&self, id: &str, rows: u64, bytes: u64) {
        let total_bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let (units, (work, extra)) = match self.unit {
            Unit::Rows => (
                rows,
                self.ledger
                    .lock()
                    .map(|mut l| l.advance(id, rows))
                    .unwrap_or((rows as f64, 0.0)),
            ),
            Unit::Bytes => (bytes, (bytes as f64, 0.0)),
        };
        if let Ok(mut e) = self.eta.lock() {
            e.add(Instant::now(), work);
            e.grow_total(extra);
        }
        if self.unit == Unit::Rows {
            self.total
                .set_message(format!("{} of SQL", indicatif::HumanBytes(total_bytes)));
        }
        self.total.inc(units);
        if self.total.position() > self.total.length().unwrap_or(0) {
            self.total.set_length(self.total.position());
        }
        let bar = self.tables.lock().ok().and_then(|mut tables| {
            let t = tables.get_mut(id)?;
            t.done += units;
            t.bar.clone()
        });
        if let Some(bar) = bar {
            bar.inc(units);
            if bar.position() > bar.length().unwrap_or(0) {
                bar.set_length(bar.position());
            }
        }
    }

    fn table_finished(&self, id: &str) {
        let Ok(mut tables) = self.tables.lock() else {
            return;
        };
        let Some(t) = tables.get_mut(id) else {
            return;
        };
        t.in_flight = t.in_flight.saturating_sub(1);
        if t.in_flight > 0 {
            return;
        }
        if let Some(bar) = t.bar.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        // A dump's tables keep their count for their next chunk; a restore's files are done.
        if !t.planned {
            tables.remove(id);
        }
    }

    fn finish(&self) {
        self.total.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (rows so far, chunks in flight, the line's position) of a table.
    fn line(bars: &Bars, id: &str) -> Option<(u64, usize, Option<u64>)> {
        let tables = bars.tables.lock().unwrap();
        let t = tables.get(id)?;
        Some((t.done, t.in_flight, t.bar.as_ref().map(|b| b.position())))
    }

    #[test]
    fn chunks_of_one_table_share_its_line() {
        let bars = Bars::new(Unit::Rows);
        bars.planned("db.t", 100, 10_000);
        bars.start(100, 10_000);
        bars.table_started("db.t", 0);
        bars.table_started("db.t", 0);
        bars.advance("db.t", 30, 300);
        bars.table_finished("db.t");
        bars.advance("db.t", 20, 200);
        assert_eq!(line(&bars, "db.t"), Some((50, 1, Some(50))));
        // Between chunks: no line, the count kept for the next chunk.
        bars.table_finished("db.t");
        assert_eq!(line(&bars, "db.t"), Some((50, 0, None)));
        bars.table_started("db.t", 0);
        assert_eq!(line(&bars, "db.t"), Some((50, 1, Some(50))));
        assert_eq!(bars.total.position(), 50);
    }

    #[test]
    fn a_restores_files_are_forgotten_when_done() {
        let bars = Bars::new(Unit::Bytes);
        bars.start(0, 1000);
        bars.table_started("db/t.sql.zst", 0);
        bars.advance("db/t.sql.zst", 0, 400);
        assert_eq!(line(&bars, "db/t.sql.zst"), Some((400, 1, Some(400))));
        bars.table_finished("db/t.sql.zst");
        assert_eq!(line(&bars, "db/t.sql.zst"), None);
        assert_eq!(bars.total.position(), 400);
    }
}
