//! A watcher beside a lock statement: if the lock is still not granted shortly before the wait limit,
//! it looks from a second connection who holds it, while the statement still waits.
//!
//! Nothing is sent to the server while the lock comes in time: the watcher only sleeps on a channel,
//! connects at half the wait limit and looks at three quarters of it (at most two seconds before the
//! end). Dropping the [`Watch`] stops it; a watcher already under way finishes alone and is not waited for.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use super::blockers::{inspect, LockReport, Probe};
use crate::conn::{self, ConnSettings};

/// How long a timed-out lock waits for the watcher's findings before looking itself.
const GRACE: Duration = Duration::from_secs(3);
/// The watcher looks at most this long before the wait limit.
const MAX_LEAD: Duration = Duration::from_secs(2);

/// A running watcher.
pub(crate) struct Watch {
    stop: Option<Sender<()>>,
    found: Receiver<LockReport>,
}

impl Watch {
    /// Starts watching a lock statement sent now, which the server gives up on after `limit`.
    pub(crate) fn start(settings: &ConnSettings, probe: Probe, limit: Duration) -> Watch {
        let (stop, stopped) = mpsc::channel::<()>();
        let (tell, found) = mpsc::channel();
        let settings = settings.clone();
        let started = Instant::now();
        let spawned = thread::Builder::new()
            .name("mybak-lock-watch".to_string())
            .spawn(move || {
                if let Some(report) = watch(&settings, &probe, started, limit, &stopped) {
                    let _ = tell.send(report);
                }
            });
        if let Err(e) = spawned {
            log::debug!("cannot start the lock watcher: {e}");
        }
        Watch {
            stop: Some(stop),
            found,
        }
    }

    /// The lock statement timed out: what the watcher saw, if it saw anything in time.
    pub(crate) fn finish(mut self) -> Option<LockReport> {
        self.stop.take();
        self.found.recv_timeout(GRACE).ok()
    }
}

/// When to connect and when to look, after the statement was sent.
pub(crate) fn schedule(limit: Duration) -> (Duration, Duration) {
    let lead = (limit / 4).min(MAX_LEAD);
    (limit / 2, limit.saturating_sub(lead))
}

fn watch(
    settings: &ConnSettings,
    probe: &Probe,
    started: Instant,
    limit: Duration,
    stopped: &Receiver<()>,
) -> Option<LockReport> {
    let (connect_at, look_at) = schedule(limit);
    if !still_waiting(stopped, started + connect_at) {
        return None;
    }
    let mut conn = conn::connect(settings)
        .map_err(|e| log::debug!("lock watcher cannot connect: {e}"))
        .ok()?;
    if !still_waiting(stopped, started + look_at) {
        return None;
    }
    Some(inspect(&mut conn, probe, started.elapsed()))
}

/// Sleeps until `at`; false as soon as the lock statement has ended.
fn still_waiting(stopped: &Receiver<()>, at: Instant) -> bool {
    let left = at.saturating_duration_since(Instant::now());
    matches!(stopped.recv_timeout(left), Err(RecvTimeoutError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_shortly_before_the_limit() {
        let s = |ms| Duration::from_millis(ms);
        assert_eq!(schedule(s(1000)), (s(500), s(750)));
        assert_eq!(schedule(s(60_000)), (s(30_000), s(58_000)));
        assert_eq!(schedule(s(0)), (s(0), s(0)));
    }

    #[test]
    fn a_stopped_watch_wakes_at_once() {
        let (stop, stopped) = mpsc::channel::<()>();
        drop(stop);
        let t = Instant::now();
        assert!(!still_waiting(&stopped, t + Duration::from_secs(30)));
        assert!(t.elapsed() < Duration::from_secs(5));
        let (_keep, waiting) = mpsc::channel::<()>();
        assert!(still_waiting(&waiting, Instant::now()));
    }
}
