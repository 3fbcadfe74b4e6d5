//! Whether an archive's files form one unbroken chain, and whether each dump of the server can be
//! rolled forward from its binlog coordinates to the archive's newest file: the pure part of
//! `mybak verify` of an archive directory (the files themselves are read by
//! [`crate::verify::archive`]).

use super::index::{binlog_order, entry_name, stored_name, Ending, FileEntry};
use crate::error::Problem;

/// One archived file as the file checks found it, in binlog order.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// The file's name (`NAME` of its index entry `NAME.json`).
    pub file: &'a str,
    /// Its index entry; `None` when it cannot be read.
    pub entry: Option<&'a FileEntry>,
    /// Whether the stored file checked out against its entry.
    pub sound: bool,
}

/// Where a dump of the server starts in its binlog.
#[derive(Debug, Clone, Copy)]
pub struct DumpStart<'a> {
    /// How the dump is shown: the path of its problem.
    pub path: &'a str,
    /// Its name in the output root.
    pub name: &'a str,
    /// The binlog file and position of its snapshot.
    pub file: &'a str,
    pub position: u64,
}

/// Why rolling forward through the file at `at` (or from any before it) is impossible.
struct Break {
    at: usize,
    reason: String,
}

/// The problems of an archive's chain of files (`links`, in binlog order, followed by the file
/// being received, `open`, when there is one) and of each dump's start in it.
///
/// Consecutive files must name each other (`next`), a file whose rest was purged on the server
/// is a gap after it, and the GTID state at the end of a file must be the one at the start of
/// the next when both are known. A dump's binlog file must be in the chain, and no gap, damaged
/// file or unreadable entry may lie between it and the newest file.
pub fn check_chain(
    links: &[Link<'_>],
    open: Option<&str>,
    dumps: &[DumpStart<'_>],
) -> Vec<Problem> {
    let open = open.filter(|o| {
        links
            .last()
            .is_none_or(|last| binlog_order(o, last.file).is_gt())
    });
    let mut problems = Vec::new();
    let mut breaks = Vec::new();
    for (at, link) in links.iter().enumerate() {
        let next = links.get(at + 1).map(|l| l.file).or(open);
        if link.entry.is_none() {
            breaks.push(Break {
                at,
                reason: format!("{} cannot be read", entry_name(link.file)),
            });
        } else if !link.sound {
            breaks.push(Break {
                at,
                reason: format!("{} is damaged", stored_name(link.file)),
            });
        }
        if let Some((p, reason)) = continuity(link, next, links.get(at + 1)) {
            breaks.push(Break { at, reason });
            problems.push(p);
        }
    }
    for dump in dumps {
        if let Some(reason) = dump_reason(links, open, &breaks, dump) {
            problems.push(Problem {
                path: dump.path.to_string(),
                message: format!(
                    "point-in-time recovery from dump {} is impossible: {reason}",
                    dump.name
                ),
            });
        }
    }
    problems
}

/// What is wrong between `link` and the file after it (`next`; `next_link` when archived): the
/// problem, and the reason in short for the dumps it strands.
fn continuity(
    link: &Link<'_>,
    next: Option<&str>,
    next_link: Option<&Link<'_>>,
) -> Option<(Problem, String)> {
    let entry = link.entry?;
    let a = link.file;
    let problem = |short: String, detail: &str| {
        let p = Problem {
            path: entry_name(a),
            message: format!("{short}: {detail}"),
        };
        Some((p, short))
    };
    let purged = "the rest of it was purged on the server before it was archived";
    match (entry.ending, next) {
        (Ending::Purged, Some(b)) => return problem(format!("gap between {a} and {b}"), purged),
        (Ending::Purged, None) => return problem(format!("gap after {a}"), purged),
        (_, None) => return None,
        (_, Some(b)) if entry.next.as_deref() != Some(b) => {
            let said = match &entry.next {
                Some(n) => format!("{a} is followed by {n} on the server"),
                None => format!("its index entry names no file after {a}"),
            };
            return problem(format!("gap between {a} and {b}"), &said);
        }
        _ => {}
    }
    let b = next_link?;
    let start = &b.entry?.gtid_start;
    let end = &entry.gtid_end;
    if start.is_empty() || end.is_empty() || start == end {
        return None;
    }
    let p = Problem {
        path: entry_name(b.file),
        message: format!(
            "the GTID state at the start of {} ({start}) differs from the one at the end of {a} \
             ({end}): transactions are missing or doubled between them",
            b.file
        ),
    };
    Some((
        p,
        format!("the GTID state changes between {a} and {}", b.file),
    ))
}

/// Why `dump` cannot be rolled forward to the end of the chain, if it cannot.
fn dump_reason(
    links: &[Link<'_>],
    open: Option<&str>,
    breaks: &[Break],
    dump: &DumpStart<'_>,
) -> Option<String> {
    let f = dump.file;
    let at = match links.iter().position(|l| l.file == f) {
        Some(at) => at,
        None if open == Some(f) => return None,
        None => return Some(not_archived(links, open, f)),
    };
    if let Some(entry) = links[at].entry {
        if dump.position > entry.size {
            return Some(format!(
                "its binlog position {} is beyond the end of {f} ({} bytes)",
                dump.position, entry.size
            ));
        }
    }
    breaks.iter().find(|b| b.at >= at).map(|b| b.reason.clone())
}

/// Why file `f`, which is not in the chain, cannot be found there.
fn not_archived(links: &[Link<'_>], open: Option<&str>, f: &str) -> String {
    let first = links.first().map(|l| l.file).or(open);
    let last = open.or(links.last().map(|l| l.file));
    match (first, last) {
        (Some(first), _) if binlog_order(f, first).is_lt() => {
            format!("its binlog file {f} is older than the archive's first file, {first}")
        }
        (_, Some(last)) if binlog_order(f, last).is_gt() => {
            format!("its binlog file {f} is not archived yet (the archive ends with {last})")
        }
        (Some(_), Some(_)) => format!("its binlog file {f} is missing from the archive"),
        _ => format!("the archive holds no binlog files (its binlog file is {f})"),
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
