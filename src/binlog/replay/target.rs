//! Where a replay stops: a time, a GTID or a binlog position as the user writes them, and the
//! decision, one transaction at a time, whether the stop point has come.

use std::cmp::Ordering;
use std::str::FromStr;

use chrono::{DateTime, Local, LocalResult, NaiveDateTime, TimeZone};

use super::error::ReplayError;

pub use crate::binlog::event::Gtid;

fn target_error(input: &str, message: impl Into<String>) -> ReplayError {
    ReplayError::Target {
        input: input.to_string(),
        message: message.into(),
    }
}

impl FromStr for Gtid {
    type Err = ReplayError;

    /// `0-1-123` (MariaDB), `3e11fa47-71ca-11e1-9e33-c80aa9429562:23` or `…:tag:23` (MySQL).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(g) = parse_mariadb_gtid(s) {
            return Ok(g);
        }
        parse_mysql_gtid(s).ok_or_else(|| {
            target_error(
                s,
                "not a GTID (MariaDB: DOMAIN-SERVER-SEQUENCE like 0-1-123; MySQL: UUID:NUMBER)",
            )
        })
    }
}

fn parse_mariadb_gtid(s: &str) -> Option<Gtid> {
    let mut parts = s.split('-');
    let (d, sv, sq) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !(digits(d) && digits(sv) && digits(sq)) {
        return None;
    }
    Some(Gtid::MariaDb {
        domain: d.parse().ok()?,
        server: sv.parse().ok()?,
        seq: sq.parse().ok()?,
    })
}

fn parse_mysql_gtid(s: &str) -> Option<Gtid> {
    let mut parts = s.split(':');
    let uuid = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let (tag, gno) = match rest.as_slice() {
        [gno] => (None, *gno),
        [tag, gno] if !tag.is_empty() => (Some(tag.to_ascii_lowercase()), *gno),
        _ => return None,
    };
    let hex: Vec<u8> = uuid.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 || uuid.len() != 36 {
        return None;
    }
    let mut sid = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        *sid.get_mut(i)? = u8::from_str_radix(text, 16).ok()?;
    }
    Some(Gtid::MySql {
        sid,
        tag,
        gno: gno.parse().ok()?,
    })
}

/// A stop point as the user gives it, without saying whether the transaction there is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Unix seconds.
    Time(i64),
    Gtid(Gtid),
    /// A byte position in a binlog file.
    Position {
        file: String,
        pos: u64,
    },
}

impl FromStr for Target {
    type Err = ReplayError;

    /// `2026-12-04 14:32:05` (local time, like `mariadb-binlog --stop-datetime`), RFC 3339 with
    /// an offset (`2026-12-04T14:32:05+01:00`), a GTID (`0-1-123`), or `FILE:POS`
    /// (`mariadb-bin.000003:1234`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(g) = parse_mariadb_gtid(s) {
            return Ok(Target::Gtid(g));
        }
        if let Some(t) = parse_time(s)? {
            return Ok(Target::Time(t));
        }
        if looks_like_date(s) {
            return Err(target_error(
                s,
                "not a valid time (YYYY-MM-DD HH:MM:SS, local; or RFC 3339 with an offset)",
            ));
        }
        if let Some(g) = parse_mysql_gtid(s) {
            return Ok(Target::Gtid(g));
        }
        if let Some((file, pos)) = s.rsplit_once(':') {
            let pos_ok = !pos.is_empty() && pos.bytes().all(|b| b.is_ascii_digit());
            if !file.is_empty() && !file.contains(char::is_whitespace) && pos_ok {
                if let Ok(pos) = pos.parse() {
                    return Ok(Target::Position {
                        file: file.to_string(),
                        pos,
                    });
                }
            }
        }
        Err(target_error(
            s,
            "expected a time (2026-12-04 14:32:05, local; or RFC 3339 with an offset), \
             a GTID (0-1-123) or FILE:POS (mariadb-bin.000003:1234)",
        ))
    }
}

/// Whether `s` begins like a date (`2026-12-04…`): then it is meant as a time.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Local `YYYY-MM-DD HH:MM:SS` or RFC 3339; `Ok(None)` when `s` does not look like a time at all.
fn parse_time(s: &str) -> Result<Option<i64>, ReplayError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.timestamp()));
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
    let Some(naive) = naive else {
        return Ok(None);
    };
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(Some(t.timestamp())),
        // The hour repeated when the clocks go back: the first of the two, as mktime does.
        LocalResult::Ambiguous(first, _) => Ok(Some(first.timestamp())),
        LocalResult::None => Err(target_error(
            s,
            "this local time does not exist (the clocks skipped it); give an offset, \
             like 2026-03-29T02:30:00+01:00",
        )),
    }
}

/// Where to stop, and whether the transaction at the stop point is applied (`inclusive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    /// Apply everything.
    End,
    /// The first transaction with a timestamp at or after `at` (unix seconds) is the stop point;
    /// inclusive: transactions stamped up to and including `at` are applied, the first one after
    /// it is not.
    Time { at: i64, inclusive: bool },
    /// The transaction with this GTID.
    Gtid { gtid: Gtid, inclusive: bool },
    /// The transaction containing byte `pos` of `file`, or the first one starting after it.
    Position {
        file: String,
        pos: u64,
        inclusive: bool,
    },
}

impl Until {
    /// The stop point `target`, applying the transaction there when `inclusive`.
    pub fn new(target: Target, inclusive: bool) -> Until {
        match target {
            Target::Time(at) => Until::Time { at, inclusive },
            Target::Gtid(gtid) => Until::Gtid { gtid, inclusive },
            Target::Position { file, pos } => Until::Position {
                file,
                pos,
                inclusive,
            },
        }
    }
}

/// What is known about one transaction when the stop decision is made: `end` is `None` while the
/// transaction is still being read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span<'a> {
    pub file: &'a str,
    pub start: u64,
    pub end: Option<u64>,
    pub timestamp: i64,
    pub gtid: Option<&'a Gtid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Apply,
    /// This is the stop point and it is applied.
    ApplyThenStop,
    /// This is the stop point and it is not applied.
    StopBefore,
    /// Not known before the transaction's end is.
    Undecided,
}

/// Whether the transaction `span` is applied and whether the replay stops there.
pub(crate) fn decide(until: &Until, span: &Span<'_>) -> Decision {
    let stop = |inclusive: bool| {
        if inclusive {
            Decision::ApplyThenStop
        } else {
            Decision::StopBefore
        }
    };
    match until {
        Until::End => Decision::Apply,
        Until::Time { at, inclusive } => {
            let past = if *inclusive {
                span.timestamp > *at
            } else {
                span.timestamp >= *at
            };
            if past {
                Decision::StopBefore
            } else {
                Decision::Apply
            }
        }
        Until::Gtid { gtid, inclusive } => match span.gtid {
            Some(g) if g == gtid => stop(*inclusive),
            _ => Decision::Apply,
        },
        Until::Position {
            file,
            pos,
            inclusive,
        } => match compare_files(span.file, file) {
            Ordering::Less => Decision::Apply,
            Ordering::Greater => stop(*inclusive),
            Ordering::Equal if span.start > *pos => stop(*inclusive),
            Ordering::Equal => match span.end {
                None => Decision::Undecided,
                Some(end) if end <= *pos => Decision::Apply,
                Some(_) => stop(*inclusive),
            },
        },
    }
}

/// Binlog files in the order the server wrote them: `name.000009` before `name.000010` and
/// `name.1000000` (the number outgrows its six digits); other names compare as text.
pub(crate) fn compare_files(a: &str, b: &str) -> Ordering {
    fn split(name: &str) -> (&str, Option<u64>) {
        match name.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
                (base, n.parse().ok())
            }
            _ => (name, None),
        }
    }
    let (base_a, n_a) = split(a);
    let (base_b, n_b) = split(b);
    match (n_a, n_b) {
        (Some(x), Some(y)) if base_a == base_b => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maria(domain: u32, server: u32, seq: u64) -> Gtid {
        Gtid::MariaDb {
            domain,
            server,
            seq,
        }
    }

    #[test]
    fn targets_parse() {
        let local = |s: &str| {
            let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
            Local
                .from_local_datetime(&naive)
                .earliest()
                .unwrap()
                .timestamp()
        };
        let upper = "3E11FA47-71CA-11E1-9E33-C80AA9429562:23";
        let cases: Vec<(&str, Option<Target>)> = vec![
            ("0-1-123", Some(Target::Gtid(maria(0, 1, 123)))),
            (" 7-100-1 ", Some(Target::Gtid(maria(7, 100, 1)))),
            (
                "2026-12-04 14:32:05",
                Some(Target::Time(local("2026-12-04 14:32:05"))),
            ),
            (
                "2026-12-04T14:32:05",
                Some(Target::Time(local("2026-12-04 14:32:05"))),
            ),
            (
                "2026-12-04 14:32",
                Some(Target::Time(local("2026-12-04 14:32:00"))),
            ),
            ("2026-12-04T14:32:05+01:00", Some(Target::Time(1796391125))),
            ("2026-12-04T13:32:05Z", Some(Target::Time(1796391125))),
            ("2026-12-04 13:32:05+00:00", Some(Target::Time(1796391125))),
            (
                "mariadb-bin.000003:1234",
                Some(Target::Position {
                    file: "mariadb-bin.000003".into(),
                    pos: 1234,
                }),
            ),
            (
                "/var/lib/mysql/b:x.000001:4",
                Some(Target::Position {
                    file: "/var/lib/mysql/b:x.000001".into(),
                    pos: 4,
                }),
            ),
            (
                upper,
                Some(Target::Gtid(Gtid::MySql {
                    sid: [
                        0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a,
                        0xa9, 0x42, 0x95, 0x62,
                    ],
                    tag: None,
                    gno: 23,
                })),
            ),
            ("0-1", None),
            ("0-1-x", None),
            ("0-1-2-3", None),
            ("mariadb-bin.000003:", None),
            (":12", None),
            ("2026-13-04 14:32:05", None),
            ("2026-12-04 25:00:00", None),
            ("my binlog.000001:4", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<Target>();
            match want {
                Some(want) => assert_eq!(got.ok(), Some(want), "{text:?}"),
                None => assert!(
                    matches!(got, Err(ReplayError::Target { .. })),
                    "{text:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn gtids_print_as_written() {
        for text in [
            "0-1-123",
            "4294967295-2-18446744073709551615",
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:23",
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:backup:7",
        ] {
            let g: Gtid = text.parse().unwrap();
            assert_eq!(g.to_string(), text);
        }
        assert!("0-1-99999999999999999999".parse::<Gtid>().is_err());
    }

    #[test]
    fn binlog_files_sort_by_number() {
        let cases = [
            ("b.000009", "b.000010", Ordering::Less),
            ("b.999999", "b.1000000", Ordering::Less),
            ("b.000010", "b.000010", Ordering::Equal),
            ("b.000011", "b.000010", Ordering::Greater),
            ("a.000002", "b.000001", Ordering::Less),
            ("b", "b.000001", Ordering::Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_files(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn stop_decisions() {
        use Decision::*;
        let g5 = maria(0, 1, 5);
        let g6 = maria(0, 1, 6);
        let span = |file, start, end, ts, gtid| Span {
            file,
            start,
            end,
            timestamp: ts,
            gtid,
        };
        let pos = |pos, inclusive| Until::Position {
            file: "b.000002".into(),
            pos,
            inclusive,
        };
        let cases: Vec<(Until, Span<'_>, Decision)> = vec![
            (Until::End, span("b.000001", 4, None, 9, None), Apply),
            // Time: exclusive stops at the first transaction stamped at or after `at`.
            (
                Until::Time {
                    at: 100,
                    inclusive: false,
                },
                span("b.1", 4, None, 99, None),
                Apply,
            ),
            (
                Until::Time {
                    at: 100,
                    inclusive: false,
                },
                span("b.1", 4, None, 100, None),
                StopBefore,
            ),
            (
                Until::Time {
                    at: 100,
                    inclusive: true,
                },
                span("b.1", 4, None, 100, None),
                Apply,
            ),
            (
                Until::Time {
                    at: 100,
                    inclusive: true,
                },
                span("b.1", 4, None, 101, None),
                StopBefore,
            ),
            // GTID: the transaction itself is the stop point.
            (
                Until::Gtid {
                    gtid: g6.clone(),
                    inclusive: false,
                },
                span("b.1", 4, None, 0, Some(&g5)),
                Apply,
            ),
            (
                Until::Gtid {
                    gtid: g6.clone(),
                    inclusive: false,
                },
                span("b.1", 4, None, 0, Some(&g6)),
                StopBefore,
            ),
            (
                Until::Gtid {
                    gtid: g6.clone(),
                    inclusive: true,
                },
                span("b.1", 4, None, 0, Some(&g6)),
                ApplyThenStop,
            ),
            (
                Until::Gtid {
                    gtid: g6.clone(),
                    inclusive: true,
                },
                span("b.1", 4, None, 0, None),
                Apply,
            ),
            // Position: earlier files apply, later ones are past the stop point.
            (
                pos(500, false),
                span("b.000001", 9000, Some(9100), 0, None),
                Apply,
            ),
            (
                pos(500, false),
                span("b.000003", 4, None, 0, None),
                StopBefore,
            ),
            (
                pos(500, true),
                span("b.000003", 4, None, 0, None),
                ApplyThenStop,
            ),
            // In the file: before, containing, starting at, starting after.
            (
                pos(500, false),
                span("b.000002", 300, None, 0, None),
                Undecided,
            ),
            (
                pos(500, false),
                span("b.000002", 300, Some(500), 0, None),
                Apply,
            ),
            (
                pos(500, false),
                span("b.000002", 300, Some(501), 0, None),
                StopBefore,
            ),
            (
                pos(500, true),
                span("b.000002", 300, Some(501), 0, None),
                ApplyThenStop,
            ),
            (
                pos(500, false),
                span("b.000002", 500, None, 0, None),
                Undecided,
            ),
            (
                pos(500, true),
                span("b.000002", 500, Some(600), 0, None),
                ApplyThenStop,
            ),
            (
                pos(500, false),
                span("b.000002", 501, None, 0, None),
                StopBefore,
            ),
            (
                pos(500, true),
                span("b.000002", 501, None, 0, None),
                ApplyThenStop,
            ),
        ];
        for (until, span, want) in cases {
            assert_eq!(decide(&until, &span), want, "{until:?} {span:?}");
        }
    }
}
