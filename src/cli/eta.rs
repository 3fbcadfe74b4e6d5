//! The progress bar's ETA: work done against time since the first progress, over a window that
//! grows with the run; for a dump, a table's rows weighed by its size.
//!
//! indicatif's own estimate is a double exponential average with a fixed 15-second memory that
//! starts when the bar is drawn: the seconds spent connecting and reading the catalog count as
//! slowness, and it overestimates the remaining time for the first 15 seconds or so of every run
//! (three to five times at 10% of a 20-second restore). A dump's bar counts rows, but a row of a
//! table with JSON and BLOBs costs several times a narrow one's, so a rate in rows drifts from
//! table to table.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// At most this many samples are kept; beyond, every other one is dropped (the window's start
/// only needs to be about right).
const MAX_SAMPLES: usize = 512;
/// Samples closer together than this are merged.
const SPACING: Duration = Duration::from_millis(100);
/// No estimate until the work has gone on this long.
const WARM_UP: Duration = Duration::from_secs(1);
/// The rate is taken over the last half of the time since the first progress, but over at least
/// this long (or all of it).
const MIN_WINDOW: Duration = Duration::from_secs(3);

/// Remaining time from work done against time.
#[derive(Debug, Default)]
pub struct Eta {
    total: f64,
    done: f64,
    /// (when, work done by then), oldest first; the first is the first progress.
    samples: VecDeque<(Instant, f64)>,
}

impl Eta {
    /// The work expected in all.
    pub fn set_total(&mut self, total: f64) {
        self.total = total;
    }

    /// More work than expected turned up.
    pub fn grow_total(&mut self, extra: f64) {
        self.total += extra;
    }

    /// `work` more was done by `now`.
    pub fn add(&mut self, now: Instant, work: f64) {
        self.done += work;
        let n = self.samples.len();
        let merge = n >= 2
            && self
                .samples
                .get(n - 2)
                .is_some_and(|&(t, _)| now.saturating_duration_since(t) < SPACING);
        if merge {
            self.samples.pop_back();
        }
        self.samples.push_back((now, self.done));
        if self.samples.len() > MAX_SAMPLES {
            let last = self.samples.len() - 1;
            let mut i = 0;
            self.samples.retain(|_| {
                let keep = i % 2 == 0 || i == last;
                i += 1;
                keep
            });
        }
    }

    /// The time left at `now`: the work left at the rate of the recent past (the last half of
    /// the time since the first progress, at least [`MIN_WINDOW`]); `None` until there is a rate.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        let &(first, _) = self.samples.front()?;
        let elapsed = now.saturating_duration_since(first);
        if self.samples.len() < 2 || elapsed < WARM_UP {
            return None;
        }
        let window = (elapsed / 2).max(MIN_WINDOW).min(elapsed);
        let from = now.checked_sub(window).unwrap_or(first);
        // The last sample at or before the window's start (the first one at least).
        let i = self
            .samples
            .partition_point(|&(t, _)| t <= from)
            .saturating_sub(1);
        let &(since, done_then) = self.samples.get(i)?;
        let rate = (self.done - done_then) / now.saturating_duration_since(since).as_secs_f64();
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let left = (self.total - self.done).max(0.0) / rate;
        Duration::try_from_secs_f64(left).ok()
    }
}

/// An ETA as the bar shows it: "45s", "2m 05s", "1h 02m"; "?" before there is one.
pub fn format(eta: Option<Duration>) -> String {
    let Some(eta) = eta else {
        return "?".to_string();
    };
    let s = eta.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A dump's work in bytes of data: each table's rows weigh its information_schema
/// `data_length / table_rows`, so the work expected is the tables' data length.
#[derive(Debug, Default)]
pub struct Ledger {
    tables: HashMap<String, Planned>,
    /// The weight of a row of a table without estimates of its own: the dump's average.
    default_weight: f64,
}

#[derive(Debug)]
struct Planned {
    /// Work per row.
    weight: Option<f64>,
    /// The table's estimated data bytes.
    expected: f64,
    /// Work done on it so far.
    done: f64,
}

impl Ledger {
    /// A table the dump will read, with its estimates.
    pub fn plan(&mut self, id: &str, rows: u64, bytes: u64) {
        let weight = (rows > 0 && bytes > 0).then(|| bytes as f64 / rows as f64);
        self.tables.insert(
            id.to_string(),
            Planned {
                weight,
                expected: bytes as f64,
                done: 0.0,
            },
        );
    }

    /// The dump's estimated totals: sets the default weight; returns the work expected.
    pub fn start(&mut self, rows: u64, bytes: u64) -> f64 {
        if rows > 0 && bytes > 0 {
            self.default_weight = bytes as f64 / rows as f64;
            bytes as f64
        } else {
            // No sizes: count rows.
            self.default_weight = 1.0;
            rows as f64
        }
    }

    /// `rows` more rows of table `id`: (work done, work beyond the table's estimate, which the
    /// total grows by).
    pub fn advance(&mut self, id: &str, rows: u64) -> (f64, f64) {
        let default = self.default_weight;
        let Some(t) = self.tables.get_mut(id) else {
            return (rows as f64 * default, 0.0);
        };
        let work = rows as f64 * t.weight.unwrap_or(default);
        let before = t.done.max(t.expected);
        t.done += work;
        (work, (t.done - before).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    /// Feeds `per_tick` work every 100 ms from `from` to `to` (ms after `base`).
    fn feed(eta: &mut Eta, base: Instant, from: u64, to: u64, per_tick: f64) {
        for ms in (from..to).step_by(100) {
            eta.add(at(base, ms), per_tick);
        }
    }

    fn secs(d: Option<Duration>) -> f64 {
        d.map(|d| d.as_secs_f64()).unwrap_or(f64::NAN)
    }

    #[test]
    fn a_steady_rate_gives_the_exact_remaining_time() {
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(1000.0);
        // 10 per 100 ms = 100/s; at 3 s, 300 done, 700 left: 7 s.
        feed(&mut eta, base, 0, 3000, 10.0);
        let left = secs(eta.remaining(at(base, 2900)));
        assert!((left - 7.1).abs() < 0.2, "{left}");
    }

    #[test]
    fn nothing_before_the_warm_up_or_without_progress() {
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(1000.0);
        assert_eq!(eta.remaining(base), None);
        feed(&mut eta, base, 0, 500, 10.0);
        assert_eq!(eta.remaining(at(base, 500)), None);
        assert!(eta.remaining(at(base, 1500)).is_some());
    }

    #[test]
    fn the_time_before_the_first_progress_is_not_slowness() {
        // Ten seconds of setup, then 100/s: the estimate knows only the rate since.
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(1000.0);
        feed(&mut eta, base, 10_000, 12_000, 10.0);
        let left = secs(eta.remaining(at(base, 11_900)));
        assert!((left - 8.1).abs() < 0.2, "{left}");
    }

    #[test]
    fn a_stall_lowers_the_rate_until_the_window_holds_no_progress() {
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(1000.0);
        feed(&mut eta, base, 0, 4000, 10.0);
        let going = secs(eta.remaining(at(base, 3900)));
        // At 6 s the window (the last 3 s) holds one second of progress.
        let stalled = secs(eta.remaining(at(base, 6000)));
        assert!(stalled > 2.0 * going, "{going} then {stalled}");
        // At 9 s it holds none: no rate to tell.
        assert_eq!(eta.remaining(at(base, 9000)), None);
    }

    #[test]
    fn a_new_rate_takes_over_within_half_the_elapsed_time() {
        // 100/s for 20 s, then 50/s for 20 s: the window, the last half of the run, holds only
        // the new rate.
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(100_000.0);
        feed(&mut eta, base, 0, 20_000, 10.0);
        feed(&mut eta, base, 20_000, 40_000, 5.0);
        let left = secs(eta.remaining(at(base, 39_900)));
        let expected = (100_000.0 - 2000.0 - 1000.0) / 50.0;
        assert!(
            (left - expected).abs() / expected < 0.02,
            "{left} vs {expected}"
        );
    }

    #[test]
    fn samples_stay_bounded_and_keep_the_first() {
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(1e9);
        for ms in 0..100_000u64 {
            eta.add(at(base, ms * 10), 1.0);
        }
        assert!(eta.samples.len() <= MAX_SAMPLES);
        assert_eq!(eta.samples.front().map(|s| s.0), Some(base));
        // A steady 100/s all along: still measured right after thinning.
        let now = at(base, 999_990);
        let left = secs(eta.remaining(now));
        let expected = (1e9 - 100_000.0) / 100.0;
        assert!((left - expected).abs() / expected < 0.01, "{left}");
    }

    #[test]
    fn done_past_the_total_is_zero_left() {
        let base = Instant::now();
        let mut eta = Eta::default();
        eta.set_total(10.0);
        feed(&mut eta, base, 0, 2000, 10.0);
        assert_eq!(eta.remaining(at(base, 1900)), Some(Duration::ZERO));
    }

    #[test]
    fn formats() {
        assert_eq!(format(None), "?");
        assert_eq!(format(Some(Duration::from_millis(400))), "0s");
        assert_eq!(format(Some(Duration::from_secs(45))), "45s");
        assert_eq!(format(Some(Duration::from_millis(59_600))), "1m 00s");
        assert_eq!(format(Some(Duration::from_secs(125))), "2m 05s");
        assert_eq!(format(Some(Duration::from_secs(3720))), "1h 02m");
        assert_eq!(format(Some(Duration::from_secs(1_000_000))), "277h 46m");
    }

    #[test]
    fn rows_weigh_their_tables_size() {
        let mut l = Ledger::default();
        l.plan("db.narrow", 1000, 200_000); // 200 bytes a row
        l.plan("db.wide", 100, 80_000); // 800 bytes a row
        assert_eq!(l.start(1100, 280_000), 280_000.0);
        assert_eq!(l.advance("db.narrow", 10), (2000.0, 0.0));
        assert_eq!(l.advance("db.wide", 10), (8000.0, 0.0));
    }

    #[test]
    fn rows_beyond_a_tables_estimate_grow_the_total() {
        let mut l = Ledger::default();
        l.plan("db.t", 100, 10_000);
        l.start(100, 10_000);
        assert_eq!(l.advance("db.t", 90), (9000.0, 0.0));
        assert_eq!(l.advance("db.t", 20), (2000.0, 1000.0));
        assert_eq!(l.advance("db.t", 5), (500.0, 500.0));
    }

    #[test]
    fn tables_without_estimates_weigh_the_average_row() {
        let mut l = Ledger::default();
        l.plan("db.stale", 0, 0);
        l.plan("db.t", 100, 10_000);
        l.start(200, 30_000);
        // The average row: 150 bytes; a table without estimates has nothing expected.
        assert_eq!(l.advance("db.stale", 2), (300.0, 300.0));
        assert_eq!(l.advance("db.unplanned", 2), (300.0, 0.0));
    }

    #[test]
    fn no_sizes_counts_rows() {
        let mut l = Ledger::default();
        assert_eq!(l.start(500, 0), 500.0);
        assert_eq!(l.advance("db.t", 7), (7.0, 0.0));
    }
}
