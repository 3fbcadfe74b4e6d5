//! Which dumps to keep: grandfather-father-son retention as restic does it, as a pure function.
//!
//! [`decide`] reads no clock and no disk: `mybak prune` lists the dumps, asks for the verdicts,
//! prints them and removes what they say. Complete dumps are kept by the `keep_*` rules (restic's
//! `forget` policy); partial dumps and the leftovers of runs that died go by age alone, and never
//! take a place in the rules for complete dumps.

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::units::Span;

/// How long the directory of a run that died is left alone before prune removes it.
const UNFINISHED_GRACE: Duration = Duration::from_secs(86400);

/// How long partial dumps are kept unless told otherwise.
const DEFAULT_KEEP_PARTIAL: Span = Span(Duration::from_secs(7 * 86400));

/// The retention rules (`mybak prune --keep-*`, `[prune]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Policy {
    /// Keep the newest N complete dumps.
    pub keep_last: u32,
    /// Keep the newest complete dump of each of the last N hours that have one.
    pub keep_hourly: u32,
    /// Keep the newest complete dump of each of the last N days that have one.
    pub keep_daily: u32,
    /// Keep the newest complete dump of each of the last N ISO weeks that have one.
    pub keep_weekly: u32,
    /// Keep the newest complete dump of each of the last N months that have one.
    pub keep_monthly: u32,
    /// Keep the newest complete dump of each of the last N years that have one.
    pub keep_yearly: u32,
    /// Keep every complete dump started within this span before the NEWEST complete dump
    /// (restic's `--keep-within`: relative to the newest snapshot, not to now, so that a backup
    /// job that stopped does not get everything deleted). A dump dated after `now` does not
    /// count as the newest here, so one wrong clock cannot expire all the others.
    pub keep_within: Option<Span>,
    /// Finished dumps whose status is "partial" (some objects failed) are kept while younger
    /// than this (relative to `now`); default 7 days.
    pub keep_partial: Span,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            keep_last: 0,
            keep_hourly: 0,
            keep_daily: 0,
            keep_weekly: 0,
            keep_monthly: 0,
            keep_yearly: 0,
            keep_within: None,
            keep_partial: DEFAULT_KEEP_PARTIAL,
        }
    }
}

impl Policy {
    /// Whether no rule for complete dumps is given (all counts 0, no `keep_within`): then every
    /// complete dump is kept.
    pub fn is_empty(&self) -> bool {
        self.keep_last == 0
            && self.keep_within.is_none()
            && self.counts().iter().all(|(_, n)| *n == 0)
    }

    /// The counted calendar rules, finest first.
    fn counts(&self) -> [(Period, u32); 5] {
        [
            (Period::Hour, self.keep_hourly),
            (Period::Day, self.keep_daily),
            (Period::Week, self.keep_weekly),
            (Period::Month, self.keep_monthly),
            (Period::Year, self.keep_yearly),
        ]
    }
}

/// What state a dump on disk is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpState {
    /// A finished dump, every object in it (manifest status complete).
    Complete,
    /// A finished dump whose manifest records failed objects (status partial).
    Partial,
    /// `NAME.partial` left behind by a run that died (no manifest; the caller has made sure no
    /// live run owns it). Its time is the directory's start/modification time.
    Unfinished,
}

/// A dump prune may remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The dump's name relative to the output root (may contain `/`), as the caller shows it.
    pub name: String,
    /// When the dump started (UTC; from the manifest's started_at).
    pub time: DateTime<Utc>,
    pub state: DumpState,
}

/// What happens to a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Keep,
    Remove,
}

/// A dump's fate and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub name: String,
    pub time: DateTime<Utc>,
    pub state: DumpState,
    pub action: Action,
    /// Why, in words for the user: every rule that keeps it (`last 3`, `daily 2026-11-26`,
    /// `weekly 2026-W48`, `within 14d of the newest dump`, `newest complete dump`, ...), or the
    /// one reason it goes (`matches no keep rule`, `partial dump older than 7d`, ...).
    pub reasons: Vec<String>,
}

/// Decides every candidate's fate. `tz` is the time zone in which hours, days, weeks, months
/// and years are counted (the CLI passes `chrono::Local`). Returns one verdict per candidate,
/// newest first (equal times: by name).
///
/// Complete dumps are kept by every rule of `policy` that picks them, as restic's `forget` does;
/// the newest complete dump is always kept, and with no rule at all every complete dump is.
/// Partial dumps are kept while younger than `policy.keep_partial`, unfinished ones for a day;
/// either is kept if dated after `now` (a wrong clock).
pub fn decide<Tz: TimeZone>(
    policy: &Policy,
    candidates: &[Candidate],
    now: DateTime<Utc>,
    tz: &Tz,
) -> Vec<Verdict> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.name.cmp(&b.name)));
    let complete: Vec<DateTime<Utc>> = order
        .iter()
        .filter(|c| c.state == DumpState::Complete)
        .map(|c| c.time)
        .collect();
    let mut kept = complete_reasons(policy, &complete, now, tz).into_iter();
    order
        .into_iter()
        .map(|c| {
            let (action, reasons) = match c.state {
                DumpState::Complete => match kept.next() {
                    Some(why) if !why.is_empty() => (Action::Keep, why),
                    _ => (Action::Remove, vec!["matches no keep rule".to_string()]),
                },
                DumpState::Partial => by_age_partial(policy.keep_partial, c.time, now),
                DumpState::Unfinished => by_age_unfinished(c.time, now),
            };
            Verdict {
                name: c.name.clone(),
                time: c.time,
                state: c.state,
                action,
                reasons,
            }
        })
        .collect()
}

/// The reasons to keep each complete dump (`times` newest first); empty means remove.
fn complete_reasons<Tz: TimeZone>(
    policy: &Policy,
    times: &[DateTime<Utc>],
    now: DateTime<Utc>,
    tz: &Tz,
) -> Vec<Vec<String>> {
    let mut reasons = vec![Vec::new(); times.len()];
    if policy.is_empty() {
        for why in &mut reasons {
            why.push("no retention rule".to_string());
        }
    } else {
        let last = usize::try_from(policy.keep_last).unwrap_or(usize::MAX);
        for why in reasons.iter_mut().take(last) {
            why.push(format!("last {}", policy.keep_last));
        }
        let local: Vec<DateTime<Tz>> = times.iter().map(|t| t.with_timezone(tz)).collect();
        for (period, count) in policy.counts() {
            keep_periods(period, count, &local, &mut reasons);
        }
        if let Some(span) = policy.keep_within {
            keep_within(span, times, now, &mut reasons);
        }
    }
    if let Some(newest) = reasons.first_mut() {
        newest.push("newest complete dump".to_string());
    }
    reasons
}

/// A calendar period the counted rules keep one dump of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    /// The rule's name in reasons.
    fn rule(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }

    /// The period `t` falls in, as the user reads it (`2026-11-26 14h`, `2026-11-26`,
    /// `2026-W48` (ISO week and its year), `2026-11`, `2026`); equal labels, same period.
    fn label<Tz: TimeZone>(self, t: &DateTime<Tz>) -> String {
        let (y, m, d) = (t.year(), t.month(), t.day());
        match self {
            Period::Hour => format!("{y:04}-{m:02}-{d:02} {:02}h", t.hour()),
            Period::Day => format!("{y:04}-{m:02}-{d:02}"),
            Period::Week => {
                let week = t.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Period::Month => format!("{y:04}-{m:02}"),
            Period::Year => format!("{y:04}"),
        }
    }
}

/// restic's bucket walk: newest to oldest, keep the first dump of each new period until
/// `count` periods are used, so the newest dump of each of the last `count` periods that have
/// dumps.
fn keep_periods<Tz: TimeZone>(
    period: Period,
    count: u32,
    local: &[DateTime<Tz>],
    reasons: &mut [Vec<String>],
) {
    let mut left = count;
    let mut previous: Option<String> = None;
    for (t, why) in local.iter().zip(reasons.iter_mut()) {
        if left == 0 {
            break;
        }
        let label = period.label(t);
        if previous.as_deref() != Some(label.as_str()) {
            why.push(format!("{} {label}", period.rule()));
            left -= 1;
            previous = Some(label);
        }
    }
}

/// Keeps every dump (`times` newest first) started within `span` before the newest one that is
/// not dated after `now`. With no such dump, or a span reaching past the calendar, all are kept.
fn keep_within(
    span: Span,
    times: &[DateTime<Utc>],
    now: DateTime<Utc>,
    reasons: &mut [Vec<String>],
) {
    let start = times.iter().find(|t| **t <= now).and_then(|newest| {
        TimeDelta::from_std(span.duration())
            .ok()
            .and_then(|d| newest.checked_sub_signed(d))
    });
    let why = format!("within {span} of the newest dump");
    for (t, keep) in times.iter().zip(reasons.iter_mut()) {
        if start.is_none_or(|start| *t >= start) {
            keep.push(why.clone());
        }
    }
}

/// How long ago `time` was, or `None` if it is after `now`.
fn age(time: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    now.signed_duration_since(time).to_std().ok()
}

/// An age in whole days, or whole hours under a day: `3d`, `5h`.
fn whole(age: Duration) -> String {
    let secs = age.as_secs();
    if secs >= 86400 {
        format!("{}d", secs / 86400)
    } else {
        format!("{}h", secs / 3600)
    }
}

/// A partial dump: kept while younger than `keep`.
fn by_age_partial(keep: Span, time: DateTime<Utc>, now: DateTime<Utc>) -> (Action, Vec<String>) {
    let (action, why) = match age(time, now) {
        None => (Action::Keep, "partial dump dated in the future".to_string()),
        Some(age) if age < keep.duration() => {
            (Action::Keep, format!("partial dump younger than {keep}"))
        }
        Some(_) => (Action::Remove, format!("partial dump older than {keep}")),
    };
    (action, vec![why])
}

/// What a run that died left behind: kept for a day, in case someone wants to look at it.
fn by_age_unfinished(time: DateTime<Utc>, now: DateTime<Utc>) -> (Action, Vec<String>) {
    let (action, why) = match age(time, now) {
        None => (
            Action::Keep,
            "unfinished dump dated in the future".to_string(),
        ),
        Some(age) if age > UNFINISHED_GRACE => (
            Action::Remove,
            format!("unfinished dump of a dead run, {} old", whole(age)),
        ),
        Some(_) => (Action::Keep, "unfinished, younger than a day".to_string()),
    };
    (action, vec![why])
}

#[cfg(test)]
mod tests;
