//! Tests of the retention decision: kept sets worked out by hand on a calendar, reasons word for
//! word, the states that go by age, time zones and ISO weeks, and inputs that must not panic.

use super::*;
use chrono::{FixedOffset, NaiveDate};
use proptest::prelude::*;

/// A UTC time from RFC 3339 text.
fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A candidate named after its time.
fn dump(time: &str, state: DumpState) -> Candidate {
    Candidate {
        name: time.to_string(),
        time: at(time),
        state,
    }
}

/// Complete dumps named after their times.
fn complete(times: &[&str]) -> Vec<Candidate> {
    times.iter().map(|t| dump(t, DumpState::Complete)).collect()
}

/// The names kept, in verdict order.
fn kept(verdicts: &[Verdict]) -> Vec<&str> {
    verdicts
        .iter()
        .filter(|v| v.action == Action::Keep)
        .map(|v| v.name.as_str())
        .collect()
}

/// The reasons given for one name.
fn reasons<'a>(verdicts: &'a [Verdict], name: &str) -> Vec<&'a str> {
    let v = verdicts.iter().find(|v| v.name == name).unwrap();
    v.reasons.iter().map(String::as_str).collect()
}

fn span(s: &str) -> Span {
    s.parse().unwrap()
}

/// One dump a day at 00:30 UTC from 2025-01-01 to 2026-12-03, but none on 2026-12-01, in ISO
/// week 2026-W46 (11-09..11-15), on 2026-10-31 and in all of March 2026, and a second one at
/// 12:00 on 2026-12-02, 2026-11-29 (a Sunday) and 2025-12-31. Named `2026-12-02T0030`.
fn two_years() -> Vec<Candidate> {
    let missing = |d: NaiveDate| {
        let s = d.to_string();
        s == "2026-12-01"
            || s == "2026-10-31"
            || s.starts_with("2026-03-")
            || ("2026-11-09".."2026-11-16").contains(&s.as_str())
    };
    let mut out = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 12, 3).unwrap() {
        let mut times = vec![(0, 30)];
        if ["2026-12-02", "2026-11-29", "2025-12-31"].contains(&day.to_string().as_str()) {
            times.push((12, 0));
        }
        for (h, m) in times.into_iter().filter(|_| !missing(day)) {
            out.push(Candidate {
                name: format!("{day}T{h:02}{m:02}"),
                time: day.and_hms_opt(h, m, 0).unwrap().and_utc(),
                state: DumpState::Complete,
            });
        }
        day = day.succ_opt().unwrap();
    }
    out
}

#[test]
fn two_years_of_daily_dumps_keep_what_a_calendar_says() {
    let all = two_years();
    // 702 days, 40 of them missing, 3 with two dumps.
    assert_eq!(all.len(), 665);
    let policy = Policy {
        keep_daily: 7,
        keep_weekly: 4,
        keep_monthly: 12,
        keep_yearly: 3,
        ..Policy::default()
    };
    let v = decide(&policy, &all, at("2026-12-03T06:00:00Z"), &Utc);
    assert_eq!(v.len(), all.len());
    #[rustfmt::skip]
    assert_eq!(kept(&v), [
        "2026-12-03T0030", // daily, weekly W49, monthly, yearly 2026
        "2026-12-02T1200", // daily (the later of two)
        "2026-11-30T0030", // daily (12-01 missing), monthly 11
        "2026-11-29T1200", // daily, weekly W48 (Sunday)
        "2026-11-28T0030", "2026-11-27T0030", "2026-11-26T0030", // daily
        "2026-11-22T0030", // weekly W47
        "2026-11-08T0030", // weekly W45 (W46 has no dumps)
        "2026-10-30T0030", // monthly (10-31 missing)
        "2026-09-30T0030", "2026-08-31T0030", "2026-07-31T0030", "2026-06-30T0030",
        "2026-05-31T0030", "2026-04-30T0030", // monthly; March has no dumps
        "2026-02-28T0030", "2026-01-31T0030", // monthly
        "2025-12-31T1200", // monthly 2025-12 (the twelfth month with dumps), yearly 2025
    ]);
    for x in v.iter().filter(|x| x.action == Action::Remove) {
        assert_eq!(x.reasons, ["matches no keep rule"], "{}", x.name);
    }
    for (name, why) in [
        (
            "2026-12-03T0030",
            &[
                "daily 2026-12-03",
                "weekly 2026-W49",
                "monthly 2026-12",
                "yearly 2026",
                "newest complete dump",
            ][..],
        ),
        ("2026-11-30T0030", &["daily 2026-11-30", "monthly 2026-11"]),
        ("2026-11-29T1200", &["daily 2026-11-29", "weekly 2026-W48"]),
        ("2026-11-08T0030", &["weekly 2026-W45"]),
        ("2026-02-28T0030", &["monthly 2026-02"]),
        ("2025-12-31T1200", &["monthly 2025-12", "yearly 2025"]),
        ("2026-12-02T0030", &["matches no keep rule"]),
        ("2025-12-31T0030", &["matches no keep rule"]),
        ("2025-01-01T0030", &["matches no keep rule"]),
    ] {
        assert_eq!(reasons(&v, name), why, "{name}");
    }
}

#[test]
fn keep_last_counts_complete_dumps_only() {
    let mut all = complete(&[
        "2026-11-20T00:00:00Z",
        "2026-11-21T00:00:00Z",
        "2026-11-22T00:00:00Z",
        "2026-11-23T00:00:00Z",
    ]);
    all.push(dump("2026-11-24T00:00:00Z", DumpState::Partial));
    all.push(dump("2026-11-24T06:00:00Z", DumpState::Unfinished));
    let now = at("2026-11-24T12:00:00Z");
    for (n, want) in [
        (1, &["2026-11-23T00:00:00Z"][..]),
        (2, &["2026-11-23T00:00:00Z", "2026-11-22T00:00:00Z"]),
        (
            4,
            &[
                "2026-11-23T00:00:00Z",
                "2026-11-22T00:00:00Z",
                "2026-11-21T00:00:00Z",
                "2026-11-20T00:00:00Z",
            ],
        ),
        (
            u32::MAX,
            &[
                "2026-11-23T00:00:00Z",
                "2026-11-22T00:00:00Z",
                "2026-11-21T00:00:00Z",
                "2026-11-20T00:00:00Z",
            ],
        ),
    ] {
        let policy = Policy {
            keep_last: n,
            ..Policy::default()
        };
        let v = decide(&policy, &all, now, &Utc);
        let complete: Vec<&str> = v
            .iter()
            .filter(|x| x.state == DumpState::Complete && x.action == Action::Keep)
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(complete, want, "keep_last {n}");
    }
    let v = decide(
        &Policy {
            keep_last: 2,
            ..Policy::default()
        },
        &all,
        now,
        &Utc,
    );
    assert_eq!(
        reasons(&v, "2026-11-23T00:00:00Z"),
        ["last 2", "newest complete dump"]
    );
    assert_eq!(reasons(&v, "2026-11-22T00:00:00Z"), ["last 2"]);
    assert_eq!(
        reasons(&v, "2026-11-21T00:00:00Z"),
        ["matches no keep rule"]
    );
}

#[test]
fn keep_within_counts_back_from_the_newest_dump_not_from_now() {
    let all = complete(&[
        "2026-06-10T08:00:00Z", // the newest
        "2026-05-12T08:00:00Z", // 29 days before
        "2026-05-11T08:00:00Z", // exactly 30 days before: kept
        "2026-05-11T07:59:59Z", // one second more: removed
        "2025-06-10T08:00:00Z",
    ]);
    let policy = Policy {
        keep_within: Some(span("30d")),
        ..Policy::default()
    };
    // Fourteen years after the last dump, a stopped backup job still has its last month.
    for now in [at("2026-06-10T09:00:00Z"), at("2040-01-01T00:00:00Z")] {
        let v = decide(&policy, &all, now, &Utc);
        assert_eq!(
            kept(&v),
            [
                "2026-06-10T08:00:00Z",
                "2026-05-12T08:00:00Z",
                "2026-05-11T08:00:00Z"
            ]
        );
        // Span prints 30 days as a month, its largest exact unit.
        assert_eq!(
            reasons(&v, "2026-05-11T08:00:00Z"),
            ["within 30d of the newest dump"]
        );
        assert_eq!(
            reasons(&v, "2026-05-11T07:59:59Z"),
            ["matches no keep rule"]
        );
    }
    let policy = Policy {
        keep_within: Some(span("36h")),
        ..Policy::default()
    };
    let v = decide(&policy, &all, at("2030-01-01T00:00:00Z"), &Utc);
    assert_eq!(
        reasons(&v, "2026-06-10T08:00:00Z"),
        ["within 1d12h of the newest dump", "newest complete dump"]
    );
}

#[test]
fn a_dump_dated_in_the_future_does_not_move_keep_within() {
    // Backups stopped on 2026-06-10; one machine with a wrong clock wrote a dump dated 2099.
    let all = complete(&[
        "2099-01-01T00:00:00Z",
        "2026-06-10T08:00:00Z",
        "2026-05-20T08:00:00Z",
        "2026-04-01T08:00:00Z",
    ]);
    let policy = Policy {
        keep_within: Some(span("30d")),
        ..Policy::default()
    };
    let v = decide(&policy, &all, at("2026-08-01T00:00:00Z"), &Utc);
    assert_eq!(
        kept(&v),
        [
            "2099-01-01T00:00:00Z",
            "2026-06-10T08:00:00Z",
            "2026-05-20T08:00:00Z"
        ]
    );
    // Every dump in the future: nothing to measure from, nothing removed.
    let v = decide(&policy, &all, at("2000-01-01T00:00:00Z"), &Utc);
    assert_eq!(kept(&v).len(), 4);
}

#[test]
fn hourly_keeps_the_last_dump_of_each_hour_that_has_one() {
    let all = complete(&[
        "2026-11-26T10:05:00Z",
        "2026-11-26T10:35:00Z",
        "2026-11-26T10:55:00Z",
        "2026-11-26T11:10:00Z",
        "2026-11-26T11:50:00Z",
        "2026-11-26T13:00:00Z",
    ]);
    let now = at("2026-11-26T14:00:00Z");
    for (n, want) in [
        (1, &["2026-11-26T13:00:00Z"][..]),
        (2, &["2026-11-26T13:00:00Z", "2026-11-26T11:50:00Z"]),
        (
            3,
            &[
                "2026-11-26T13:00:00Z",
                "2026-11-26T11:50:00Z",
                "2026-11-26T10:55:00Z",
            ],
        ),
        (
            100,
            &[
                "2026-11-26T13:00:00Z",
                "2026-11-26T11:50:00Z",
                "2026-11-26T10:55:00Z",
            ],
        ),
    ] {
        let policy = Policy {
            keep_hourly: n,
            ..Policy::default()
        };
        let v = decide(&policy, &all, now, &Utc);
        assert_eq!(kept(&v), want, "keep_hourly {n}");
        if n == 3 {
            assert_eq!(
                reasons(&v, "2026-11-26T11:50:00Z"),
                ["hourly 2026-11-26 11h"]
            );
        }
    }
}

#[test]
fn partial_and_unfinished_dumps_go_by_age() {
    use Action::{Keep, Remove};
    use DumpState::{Complete, Partial, Unfinished};
    let now = at("2026-12-03T12:00:00Z");
    #[rustfmt::skip]
    let table = [
        // The newer partial and unfinished dumps take no place from keep_last 1.
        ("2026-11-23T12:00:00Z", Complete, Keep, "last 1 | newest complete dump"),
        ("2026-11-22T12:00:00Z", Complete, Remove, "matches no keep rule"),
        ("2026-11-26T12:00:01Z", Partial, Keep, "partial dump younger than 7d"),
        ("2026-11-26T12:00:00Z", Partial, Remove, "partial dump older than 7d"),
        ("2026-10-01T00:00:00Z", Partial, Remove, "partial dump older than 7d"),
        ("2026-12-03T14:00:00Z", Partial, Keep, "partial dump dated in the future"),
        ("2026-12-02T13:00:00Z", Unfinished, Keep, "unfinished, younger than a day"),
        ("2026-12-02T12:00:00Z", Unfinished, Keep, "unfinished, younger than a day"),
        ("2026-12-02T11:00:00Z", Unfinished, Remove, "unfinished dump of a dead run, 1d old"),
        ("2026-11-30T07:00:00Z", Unfinished, Remove, "unfinished dump of a dead run, 3d old"),
        ("2026-12-06T12:00:00Z", Unfinished, Keep, "unfinished dump dated in the future"),
    ];
    let all: Vec<Candidate> = table.iter().map(|(t, s, ..)| dump(t, *s)).collect();
    let policy = Policy {
        keep_last: 1,
        ..Policy::default()
    };
    let v = decide(&policy, &all, now, &Utc);
    for (t, _, action, why) in table {
        let x = v.iter().find(|x| x.name == t).unwrap();
        assert_eq!(
            (x.action, x.reasons.join(" | ")),
            (action, why.to_string()),
            "{t}"
        );
    }
}

#[test]
fn keep_partial_sets_how_long_partial_dumps_stay() {
    let now = at("2026-12-03T12:00:00Z");
    for (keep, time, want) in [
        ("0s", "2026-12-03T12:00:00Z", Action::Remove),
        ("0s", "2026-12-03T12:00:01Z", Action::Keep), // in the future
        ("1mo", "2026-11-04T12:00:01Z", Action::Keep),
        ("1mo", "2026-11-03T12:00:00Z", Action::Remove),
    ] {
        let policy = Policy {
            keep_partial: span(keep),
            ..Policy::default()
        };
        let v = decide(&policy, &[dump(time, DumpState::Partial)], now, &Utc);
        assert_eq!(v[0].action, want, "{keep} {time}");
    }
    let policy = Policy {
        keep_partial: span("1mo"),
        ..Policy::default()
    };
    let v = decide(
        &policy,
        &[dump("2026-10-01T00:00:00Z", DumpState::Partial)],
        now,
        &Utc,
    );
    assert_eq!(v[0].reasons, ["partial dump older than 30d"]);
}

#[test]
fn with_no_rule_every_complete_dump_stays() {
    let mut all = complete(&["2026-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]);
    all.push(dump("2019-01-01T00:00:00Z", DumpState::Partial));
    let policy = Policy::default();
    assert!(policy.is_empty());
    let v = decide(&policy, &all, at("2026-12-03T00:00:00Z"), &Utc);
    assert_eq!(kept(&v), ["2026-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]);
    assert_eq!(
        reasons(&v, "2026-01-01T00:00:00Z"),
        ["no retention rule", "newest complete dump"]
    );
    assert_eq!(reasons(&v, "2020-01-01T00:00:00Z"), ["no retention rule"]);
    assert_eq!(
        reasons(&v, "2019-01-01T00:00:00Z"),
        ["partial dump older than 7d"]
    );
    for p in [
        Policy {
            keep_last: 1,
            ..Policy::default()
        },
        Policy {
            keep_yearly: 1,
            ..Policy::default()
        },
        Policy {
            keep_within: Some(span("0s")),
            ..Policy::default()
        },
    ] {
        assert!(!p.is_empty(), "{p:?}");
    }
    let only_partial = Policy {
        keep_partial: span("1d"),
        ..Policy::default()
    };
    assert!(only_partial.is_empty());
}

#[test]
fn days_are_counted_in_the_given_time_zone() {
    // 23:30 UTC is 01:30 the next day in UTC+2.
    let all = complete(&[
        "2026-11-25T21:00:00Z",
        "2026-11-25T23:30:00Z",
        "2026-11-26T10:00:00Z",
    ]);
    let policy = Policy {
        keep_daily: 2,
        ..Policy::default()
    };
    let now = at("2026-11-26T12:00:00Z");
    let utc = decide(&policy, &all, now, &Utc);
    assert_eq!(kept(&utc), ["2026-11-26T10:00:00Z", "2026-11-25T23:30:00Z"]);
    assert_eq!(reasons(&utc, "2026-11-25T23:30:00Z"), ["daily 2026-11-25"]);
    let plus2 = FixedOffset::east_opt(2 * 3600).unwrap();
    let east = decide(&policy, &all, now, &plus2);
    assert_eq!(
        kept(&east),
        ["2026-11-26T10:00:00Z", "2026-11-25T21:00:00Z"]
    );
    assert_eq!(reasons(&east, "2026-11-25T21:00:00Z"), ["daily 2026-11-25"]);
    assert_eq!(
        reasons(&east, "2026-11-26T10:00:00Z"),
        ["daily 2026-11-26", "newest complete dump"]
    );
}

#[test]
fn weeks_are_iso_weeks_monday_to_sunday() {
    // chrono agrees with the calendar these cases are built on.
    for (day, year, week) in [
        ("2026-11-28", 2026, 48), // Saturday
        ("2026-11-29", 2026, 48), // Sunday
        ("2026-11-30", 2026, 49), // Monday
        ("2025-12-31", 2026, 1),
        ("2026-12-31", 2026, 53),
        ("2027-01-03", 2026, 53),
        ("2027-01-04", 2027, 1),
    ] {
        let iso = day.parse::<NaiveDate>().unwrap().iso_week();
        assert_eq!((iso.year(), iso.week()), (year, week), "{day}");
    }
    let weekly = |n| Policy {
        keep_weekly: n,
        ..Policy::default()
    };
    let yearly = |n| Policy {
        keep_yearly: n,
        ..Policy::default()
    };
    let now = at("2027-02-01T00:00:00Z");
    let weekend = complete(&[
        "2026-11-28T09:00:00Z",
        "2026-11-29T09:00:00Z",
        "2026-11-30T09:00:00Z",
    ]);
    let v = decide(&weekly(2), &weekend, now, &Utc);
    assert_eq!(kept(&v), ["2026-11-30T09:00:00Z", "2026-11-29T09:00:00Z"]);
    assert_eq!(reasons(&v, "2026-11-29T09:00:00Z"), ["weekly 2026-W48"]);
    let new_year = complete(&[
        "2025-12-31T09:00:00Z",
        "2026-12-28T09:00:00Z",
        "2026-12-31T09:00:00Z",
        "2027-01-01T09:00:00Z",
        "2027-01-03T09:00:00Z",
        "2027-01-04T09:00:00Z",
    ]);
    let v = decide(&weekly(2), &new_year, now, &Utc);
    assert_eq!(kept(&v), ["2027-01-04T09:00:00Z", "2027-01-03T09:00:00Z"]);
    assert_eq!(reasons(&v, "2027-01-03T09:00:00Z"), ["weekly 2026-W53"]);
    let v = decide(&weekly(9), &new_year, now, &Utc);
    assert_eq!(reasons(&v, "2025-12-31T09:00:00Z"), ["weekly 2026-W01"]);
    // Years are calendar years: 2027-01-01..03 belong to 2027 though their week is 2026's.
    let v = decide(&yearly(3), &new_year, now, &Utc);
    assert_eq!(
        kept(&v),
        [
            "2027-01-04T09:00:00Z",
            "2026-12-31T09:00:00Z",
            "2025-12-31T09:00:00Z"
        ]
    );
    assert_eq!(reasons(&v, "2026-12-31T09:00:00Z"), ["yearly 2026"]);
}

#[test]
fn verdicts_come_newest_first_and_equal_times_by_name() {
    let t = "2026-11-26T10:00:00Z";
    let named = |name: &str, time: &str| Candidate {
        name: name.to_string(),
        time: at(time),
        state: DumpState::Complete,
    };
    let all = vec![
        named("b", t),
        named("old", "2026-01-01T00:00:00Z"),
        named("a", t),
        named("a", t),
        named("c/x", "2026-11-27T00:00:00Z"),
    ];
    let policy = Policy {
        keep_last: 2,
        ..Policy::default()
    };
    let v = decide(&policy, &all, at("2026-11-28T00:00:00Z"), &Utc);
    let order: Vec<(&str, Action)> = v.iter().map(|x| (x.name.as_str(), x.action)).collect();
    assert_eq!(
        order,
        [
            ("c/x", Action::Keep),
            ("a", Action::Keep),
            ("a", Action::Remove),
            ("b", Action::Remove),
            ("old", Action::Remove),
        ]
    );
}

#[test]
fn odd_inputs_do_not_panic() {
    let max = Span(Duration::from_secs(u64::MAX));
    let greedy = Policy {
        keep_last: u32::MAX,
        keep_hourly: u32::MAX,
        keep_daily: u32::MAX,
        keep_weekly: u32::MAX,
        keep_monthly: u32::MAX,
        keep_yearly: u32::MAX,
        keep_within: Some(max),
        keep_partial: max,
    };
    let (lo, hi) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    let edge = |name: &str, time, state| Candidate {
        name: name.to_string(),
        time,
        state,
    };
    let all = vec![
        edge("lo", lo, DumpState::Complete),
        edge("hi", hi, DumpState::Complete),
        edge("lo-p", lo, DumpState::Partial),
        edge("hi-u", hi, DumpState::Unfinished),
        edge("lo-u", lo, DumpState::Unfinished),
    ];
    for policy in [
        greedy.clone(),
        Policy::default(),
        Policy {
            keep_within: Some(span("1d")),
            ..Policy::default()
        },
    ] {
        for now in [lo, hi, at("2026-01-01T00:00:00Z")] {
            assert!(decide(&policy, &[], now, &Utc).is_empty());
            let v = decide(
                &policy,
                &all,
                now,
                &FixedOffset::east_opt(14 * 3600).unwrap(),
            );
            assert_eq!(v.len(), all.len());
            assert!(v.iter().all(|x| !x.reasons.is_empty()));
        }
    }
    // The CLI's time zone fits the signature.
    assert!(decide(&greedy, &[], hi, &chrono::Local).is_empty());
}

proptest! {
    /// Whatever the dumps: one verdict each, newest first, the newest complete dump kept, a
    /// reason for every verdict, and a larger count or span never keeps fewer dumps.
    #[test]
    fn verdicts_hold_their_promises(
        dumps in prop::collection::vec((0i64..400 * 86400, 0u8..3), 0..40),
        counts in prop::array::uniform6(0u32..5),
        within_days in prop::option::of(0u64..60),
        bump in 0usize..7,
    ) {
        let base = at("2025-01-01T00:00:00Z");
        let all: Vec<Candidate> = dumps.iter().enumerate().map(|(i, (secs, s))| Candidate {
            name: format!("d{i}"),
            time: base + TimeDelta::seconds(*secs),
            state: [DumpState::Complete, DumpState::Partial, DumpState::Unfinished][usize::from(*s)],
        }).collect();
        let [last, hourly, daily, weekly, monthly, yearly] = counts;
        let policy = Policy {
            keep_last: last, keep_hourly: hourly, keep_daily: daily, keep_weekly: weekly,
            keep_monthly: monthly, keep_yearly: yearly,
            keep_within: within_days.map(|d| Span::from_secs(d * 86400)),
            ..Policy::default()
        };
        let now = base + TimeDelta::days(200);
        let v = decide(&policy, &all, now, &Utc);
        prop_assert_eq!(v.len(), all.len());
        prop_assert!(v.windows(2).all(|w| w[0].time >= w[1].time));
        prop_assert!(v.iter().all(|x| !x.reasons.is_empty()));
        if let Some(newest) = v.iter().find(|x| x.state == DumpState::Complete) {
            prop_assert_eq!(newest.action, Action::Keep);
        }
        let mut more = policy.clone();
        match bump {
            0 => more.keep_last += 1,
            1 => more.keep_hourly += 1,
            2 => more.keep_daily += 1,
            3 => more.keep_weekly += 1,
            4 => more.keep_monthly += 1,
            5 => more.keep_yearly += 1,
            _ => more.keep_within = Some(Span::from_secs(within_days.unwrap_or(0) * 86400 + 86400)),
        }
        if !policy.is_empty() {
            let w = decide(&more, &all, now, &Utc);
            for (a, b) in v.iter().zip(&w) {
                prop_assert!(a.action == Action::Remove || b.action == Action::Keep, "{} lost", a.name);
            }
        }
    }
}

#[test]
fn a_policy_reads_from_kebab_case_toml_with_defaults() {
    let p: Policy = toml::from_str("keep-daily = 7\nkeep-within = \"2w\"\n").unwrap();
    assert_eq!(
        p,
        Policy {
            keep_daily: 7,
            keep_within: Some(span("14d")),
            keep_partial: span("7d"),
            ..Policy::default()
        }
    );
    assert!(toml::from_str::<Policy>("keep-within = \"5m\"\n").is_err());
}
