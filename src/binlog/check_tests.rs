//! Table-driven tests of [`check_chain`]: gaps, purged files, GTID states, damaged files and the
//! dumps each of them strands.

use super::*;
use crate::binlog::event::Gtid;
use crate::binlog::index::GtidState;

fn gtids(seqs: &[u64]) -> GtidState {
    let mut s = GtidState::default();
    for (server, seq) in seqs.iter().enumerate() {
        s.record(&Gtid::MariaDb {
            domain: 0,
            server: server as u32 + 1,
            seq: *seq,
        });
    }
    s
}

/// `bin.00000N` ending as said, followed by `next`, its GTID state going from `start` to `end`.
fn entry(n: u32, next: Option<u32>, ending: Ending, start: &[u64], end: &[u64]) -> FileEntry {
    let file = name(n);
    FileEntry {
        stored: stored_name(&file),
        file,
        size: 1000,
        sha256: String::new(),
        stored_size: 100,
        stored_sha256: String::new(),
        events: 3,
        transactions: 1,
        first_time: Default::default(),
        last_time: Default::default(),
        gtid_start: gtids(start),
        gtid_end: gtids(end),
        first_gtid: None,
        last_gtid: None,
        next: next.map(name),
        ending,
        archived_at: Default::default(),
    }
}

fn name(n: u32) -> String {
    format!("bin.{n:06}")
}

/// A chain of rotated files `first..=last`, each one transaction further in GTID.
fn chain(first: u32, last: u32) -> Vec<FileEntry> {
    (first..=last)
        .map(|n| {
            let seq = u64::from(n);
            entry(n, Some(n + 1), Ending::Rotate, &[seq], &[seq + 1])
        })
        .collect()
}

struct Case {
    what: &'static str,
    entries: Vec<FileEntry>,
    /// Files whose entry cannot be read (by number), and files that are damaged.
    unreadable: &'static [u32],
    damaged: &'static [u32],
    open: Option<u32>,
    /// Dumps named `dN`, at file N (position 4).
    dumps: &'static [u32],
    /// The problems, as `path: message` fragments, in order.
    want: &'static [&'static str],
}

fn run(case: &Case) -> Vec<String> {
    let names: Vec<String> = case
        .entries
        .iter()
        .map(|e| e.file.clone())
        .chain(case.unreadable.iter().map(|n| name(*n)))
        .collect();
    let mut links: Vec<Link<'_>> = names
        .iter()
        .map(|file| {
            let entry = case.entries.iter().find(|e| &e.file == file);
            let damaged = case.damaged.iter().any(|n| &name(*n) == file);
            Link {
                file,
                entry,
                sound: entry.is_some() && !damaged,
            }
        })
        .collect();
    links.sort_by(|a, b| binlog_order(a.file, b.file));
    let open = case.open.map(name);
    let dump_names: Vec<(String, String)> = case
        .dumps
        .iter()
        .map(|n| (format!("d{n}"), name(*n)))
        .collect();
    let dumps: Vec<DumpStart<'_>> = dump_names
        .iter()
        .map(|(d, f)| DumpStart {
            path: d,
            name: d,
            file: f,
            position: 4,
        })
        .collect();
    check_chain(&links, open.as_deref(), &dumps)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn with(mut entries: Vec<FileEntry>, n: u32, change: impl Fn(&mut FileEntry)) -> Vec<FileEntry> {
    for e in entries.iter_mut().filter(|e| e.file == name(n)) {
        change(e);
    }
    entries
}

fn without(entries: Vec<FileEntry>, n: u32) -> Vec<FileEntry> {
    entries.into_iter().filter(|e| e.file != name(n)).collect()
}

#[test]
fn chains_and_dumps() {
    let cases = [
        Case {
            what: "unbroken chain with its open file, dumps on archived and open files",
            entries: chain(1, 3),
            unreadable: &[],
            damaged: &[],
            open: Some(4),
            dumps: &[1, 3, 4],
            want: &[],
        },
        Case {
            what: "no open file: the archive ends where the last entry says it goes on",
            entries: chain(1, 3),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[2],
            want: &[],
        },
        Case {
            what: "a missing middle file is a gap that strands the dumps before it",
            entries: without(chain(1, 4), 2),
            unreadable: &[],
            damaged: &[],
            open: Some(5),
            dumps: &[1, 3],
            want: &[
                "bin.000001.json: gap between bin.000001 and bin.000003: bin.000001 is followed by bin.000002 on the server",
                "d1: point-in-time recovery from dump d1 is impossible: gap between bin.000001 and bin.000003",
            ],
        },
        Case {
            what: "the open file does not follow the last archived one",
            entries: chain(1, 2),
            unreadable: &[],
            damaged: &[],
            open: Some(5),
            dumps: &[],
            want: &["bin.000002.json: gap between bin.000002 and bin.000005: bin.000002 is followed by bin.000003"],
        },
        Case {
            what: "a purged file is a gap after it, also when last",
            entries: with(chain(1, 3), 3, |e| {
                e.ending = Ending::Purged;
                e.next = None;
            }),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[3],
            want: &[
                "bin.000003.json: gap after bin.000003: the rest of it was purged",
                "d3: point-in-time recovery from dump d3 is impossible: gap after bin.000003",
            ],
        },
        Case {
            what: "a purged file in the middle: gap, later dumps are fine",
            entries: with(chain(1, 3), 1, |e| {
                e.ending = Ending::Purged;
                e.next = None;
            }),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[1, 2],
            want: &[
                "bin.000001.json: gap between bin.000001 and bin.000002: the rest of it was purged",
                "d1: point-in-time recovery from dump d1 is impossible: gap between bin.000001",
            ],
        },
        Case {
            what: "a GTID state that does not carry on",
            entries: with(chain(1, 3), 2, |e| e.gtid_start = gtids(&[7])),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[1],
            want: &[
                "bin.000002.json: the GTID state at the start of bin.000002 (0-1-7) differs from the one at the end of bin.000001 (0-1-2)",
                "d1: point-in-time recovery from dump d1 is impossible: the GTID state changes between bin.000001 and bin.000002",
            ],
        },
        Case {
            what: "unknown GTID states are not compared",
            entries: with(with(chain(1, 3), 2, |e| e.gtid_start = gtids(&[])), 3, |e| {
                e.gtid_start = gtids(&[])
            }),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[1],
            want: &[],
        },
        Case {
            what: "a damaged file and an unreadable entry strand the dumps before them",
            entries: without(chain(1, 4), 3),
            unreadable: &[3],
            damaged: &[2],
            open: None,
            dumps: &[1, 3, 4],
            want: &[
                "d1: point-in-time recovery from dump d1 is impossible: bin.000002.zst is damaged",
                "d3: point-in-time recovery from dump d3 is impossible: bin.000003.json cannot be read",
            ],
        },
        Case {
            what: "dumps outside the archive",
            entries: chain(3, 5),
            unreadable: &[],
            damaged: &[],
            open: Some(6),
            dumps: &[1, 7],
            want: &[
                "d1: point-in-time recovery from dump d1 is impossible: its binlog file bin.000001 is older than the archive's first file, bin.000003",
                "d7: point-in-time recovery from dump d7 is impossible: its binlog file bin.000007 is not archived yet (the archive ends with bin.000006)",
            ],
        },
        Case {
            what: "a dump whose file fell out of the middle",
            entries: without(chain(1, 3), 2),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[2],
            want: &[
                "bin.000001.json: gap between bin.000001 and bin.000003",
                "d2: point-in-time recovery from dump d2 is impossible: its binlog file bin.000002 is missing from the archive",
            ],
        },
        Case {
            what: "an empty archive",
            entries: Vec::new(),
            unreadable: &[],
            damaged: &[],
            open: None,
            dumps: &[1],
            want: &["d1: point-in-time recovery from dump d1 is impossible: the archive holds no binlog files"],
        },
        Case {
            what: "an open file older than the archive is not its tail",
            entries: chain(3, 4),
            unreadable: &[],
            damaged: &[],
            open: Some(1),
            dumps: &[1],
            want: &["d1: point-in-time recovery from dump d1 is impossible: its binlog file bin.000001 is older"],
        },
    ];
    for case in &cases {
        let got = run(case);
        assert_eq!(got.len(), case.want.len(), "{}: {got:#?}", case.what);
        for (g, w) in got.iter().zip(case.want) {
            assert!(
                g.starts_with(w),
                "{}: {g:?} does not start with {w:?}",
                case.what
            );
        }
    }
}

#[test]
fn a_dump_position_beyond_its_file_is_a_problem() {
    let entries = chain(1, 2);
    let links: Vec<Link<'_>> = entries
        .iter()
        .map(|e| Link {
            file: &e.file,
            entry: Some(e),
            sound: true,
        })
        .collect();
    let dump = DumpStart {
        path: "/r/d",
        name: "d",
        file: "bin.000001",
        position: 1001,
    };
    let got = check_chain(&links, None, &[dump]);
    assert_eq!(
        got[0].to_string(),
        "/r/d: point-in-time recovery from dump d is impossible: its binlog position 1001 is \
         beyond the end of bin.000001 (1000 bytes)"
    );
}
