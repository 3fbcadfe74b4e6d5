//! The whole pipeline — decode, group, plan, decide — on built events, with a recorder in place
//! of the server: what is sent, in which order, and what is not.

use super::decode::Xid;
use super::fixtures::{Binlog, Recorder};
use super::frame::HEADER_LEN;
use super::*;
use crate::filter::FilterSpec;

fn run(
    b: &Binlog,
    until: &Until,
    options: &ReplayOptions,
) -> (Recorder, Result<ReplayReport, ReplayError>) {
    let mut rec = Recorder::default();
    let result = Run::new(until, options, 16 << 20).all(b.feed(), &mut rec);
    (rec, result)
}

fn run_chunked(
    b: &Binlog,
    options: &ReplayOptions,
    chunk: usize,
    rec: &mut Recorder,
) -> Result<ReplayReport, ReplayError> {
    Run::new(&Until::End, options, chunk).all(b.feed(), rec)
}

const GTID5: &str =
    "SET @@session.gtid_domain_id=0, @@session.server_id=1, @@session.gtid_seq_no=5";

/// A MariaDB transaction of one statement (GTID 0-1-5) and a DDL statement (0-1-6).
fn statements() -> Binlog {
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.intvar(3);
    b.query("d", "INSERT INTO t VALUES (NULL)");
    b.xid();
    b.time += 60;
    b.gtid(6, 0x29, None);
    b.query("d", "CREATE TABLE u (id INT)");
    b
}

#[test]
fn statements_run_with_their_context() {
    let b = statements();
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    let report = report.unwrap();
    assert_eq!(
        rec.log,
        vec![
            GTID5,
            "BEGIN",
            "USE `d`",
            "SET @@session.timestamp=1800000000, @@session.pseudo_thread_id=7, \
             @@session.foreign_key_checks=1, @@session.sql_auto_is_null=0, \
             @@session.unique_checks=1, @@session.check_constraint_checks=1, \
             @@session.sql_if_exists=0, @@session.explicit_defaults_for_timestamp=1, \
             @@session.system_versioning_insert_history=0, @@session.sql_mode=1411383296, \
             @@session.auto_increment_increment=1, @@session.auto_increment_offset=1, \
             @@session.character_set_client=45, @@session.collation_connection=45, \
             @@session.collation_server=8, @@session.lc_time_names=0, \
             @@session.collation_database=DEFAULT, INSERT_ID=3",
            "INSERT INTO t VALUES (NULL)",
            "COMMIT",
            "SET @@session.gtid_domain_id=0, @@session.server_id=1, @@session.gtid_seq_no=6",
            "SET @@session.timestamp=1800000060, @@session.autocommit=1",
            "CREATE TABLE u (id INT)",
        ]
    );
    let last = b.events.last().unwrap();
    assert_eq!(report.transactions, 2);
    assert_eq!(report.events, 7);
    assert_eq!(report.last, Some((last.file.clone(), last.end)));
    assert_eq!(report.last_gtid.as_deref(), Some("0-1-6"));
    assert_eq!(report.last_time, Some(1_800_000_060));
    assert!(!report.reached);
}

#[test]
fn stop_points_cut_between_transactions() {
    let b = statements();
    let ddl_start = b.events[5].start;
    let cases: Vec<(Until, usize)> = vec![
        (Until::new("0-1-6".parse().unwrap(), false), 1),
        (Until::new("0-1-6".parse().unwrap(), true), 2),
        (Until::new("0-1-5".parse().unwrap(), false), 0),
        (Until::new(Target::Time(1_800_000_060), false), 1),
        (Until::new(Target::Time(1_800_000_059), true), 1),
        (
            Until::new(
                Target::Position {
                    file: "b.000001".into(),
                    pos: ddl_start,
                },
                false,
            ),
            1,
        ),
        (
            Until::new(
                Target::Position {
                    file: "b.000001".into(),
                    pos: ddl_start - 1,
                },
                false,
            ),
            0,
        ),
        (
            Until::new(
                Target::Position {
                    file: "b.000001".into(),
                    pos: ddl_start - 1,
                },
                true,
            ),
            1,
        ),
    ];
    for (until, applied) in cases {
        let (rec, report) = run(&b, &until, &ReplayOptions::default());
        let report = report.unwrap();
        assert!(report.reached, "{until:?}");
        assert_eq!(report.transactions, applied as u64, "{until:?}");
        let commits = rec.log.iter().filter(|s| *s == "COMMIT").count();
        let ddl = rec.log.iter().any(|s| s.starts_with("CREATE TABLE"));
        assert_eq!(
            commits + usize::from(ddl),
            applied,
            "{until:?}: {:?}",
            rec.log
        );
        // Nothing of a transaction not applied is sent, not even its GTID.
        assert_eq!(
            rec.log.iter().any(|s| s.contains("gtid_seq_no=6")),
            applied == 2
        );
    }
}

fn rows_statement() -> Binlog {
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.table_map(1, "a", "t");
    b.table_map(2, "b", "t");
    b.rows(1, false, 10);
    b.rows(2, true, 10);
    b.xid();
    b
}

#[test]
fn row_events_go_as_one_binlog_statement_after_the_format_description() {
    let b = rows_statement();
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    report.unwrap();
    assert!(rec.log[0].starts_with("BINLOG '"));
    assert_eq!(rec.binlog_events(0), vec![b.events[0].bytes.clone()]);
    assert_eq!(&rec.log[1..3], [GTID5, "BEGIN"]);
    let sent: Vec<Vec<u8>> = b.events[2..6].iter().map(|e| e.bytes.clone()).collect();
    assert_eq!(rec.binlog_events(1), sent);
    assert_eq!(rec.log[4], "COMMIT");
}

#[test]
fn the_filter_keeps_one_database_and_ends_its_statement() {
    let b = rows_statement();
    let options = ReplayOptions {
        databases: Filter::new(&FilterSpec {
            databases: vec!["a".into()],
            ..FilterSpec::default()
        })
        .unwrap(),
        ..ReplayOptions::default()
    };
    let (rec, report) = run(&b, &Until::End, &options);
    assert_eq!(report.unwrap().skipped, 2);
    let sent = rec.binlog_events(1);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], b.events[2].bytes);
    // The rows event of `a` now ends the statement (the one of `b` that did was left out),
    // with a checksum that matches.
    let (_, flags) = frame::rows_header(&sent[1], 8).unwrap();
    assert_eq!(flags & frame::STMT_END, frame::STMT_END);
    let (stored, computed) = frame::checksums(&sent[1]);
    assert_eq!(stored, computed);
    // Only `b`: its statement is all there is, and a transaction the filter empties is not
    // sent at all.
    let mut other = Binlog::new("b.000001");
    other.gtid(5, 0x0c, None);
    other.query("b", "INSERT INTO t VALUES (1)");
    other.xid();
    let (rec, report) = run(&other, &Until::End, &options);
    assert_eq!(rec.log, Vec::<String>::new());
    assert_eq!(report.unwrap().transactions, 0);
}

#[test]
fn renames_reach_table_maps_default_databases_and_generated_drops() {
    let mut b = rows_statement();
    b.gtid(6, 0x29, None);
    b.query(
        "a",
        "DROP TEMPORARY TABLE IF EXISTS `a`.`tmp` /* generated by server */",
    );
    let options = ReplayOptions {
        renames: vec![Rename {
            from: "a".into(),
            to: "a_copy".into(),
        }],
        ..ReplayOptions::default()
    };
    let (rec, report) = run(&b, &Until::End, &options);
    report.unwrap();
    let sent = rec.binlog_events(1);
    assert_eq!(
        frame::table_map_names(&sent[0], 8),
        Some((&b"a_copy"[..], &b"t"[..]))
    );
    assert_eq!(
        frame::table_map_names(&sent[1], 8),
        Some((&b"b"[..], &b"t"[..]))
    );
    assert!(rec.log.contains(&"USE `a_copy`".to_string()));
    assert!(rec.log.contains(
        &"DROP TEMPORARY TABLE IF EXISTS `a_copy`.`tmp` /* generated by server */".to_string()
    ));
}

/// One transaction with `n` rows events of one statement.
fn big_statement(n: usize) -> Binlog {
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.table_map(1, "a", "t");
    for i in 0..n {
        b.rows(1, i + 1 == n, 300);
    }
    b.xid();
    b
}

#[test]
fn a_large_statement_goes_in_two_fragments() {
    // The server applies a statement's rows only when its events come in one BINLOG: a
    // large one is split in two user variables, never in several statements.
    let b = big_statement(10);
    let mut rec = Recorder::default();
    run_chunked(&b, &ReplayOptions::default(), 1000, &mut rec).unwrap();
    let binlogs = rec.binlogs();
    assert_eq!(binlogs.len(), 2);
    let all: Vec<Vec<u8>> = b.events[2..13].iter().map(|e| e.bytes.clone()).collect();
    assert!(binlogs[1] == all, "{} events sent", binlogs[1].len());
    let set = rec
        .log
        .iter()
        .filter(|s| s.starts_with("SET @mybak_binlog_"))
        .count();
    assert_eq!(set, 2);
}

#[test]
fn a_damaged_event_leaves_its_transaction_unsent_or_rolled_back() {
    for (chunk, sent_before) in [(16 << 20, false), (1000, true)] {
        let mut b = statements();
        // The first transaction, then a large one whose last rows event is damaged.
        b.events.truncate(5);
        b.pos = b.events[4].end;
        b.gtid(7, 0x0c, None);
        for _ in 0..20 {
            b.table_map(1, "a", "t");
            b.rows(1, true, 300);
        }
        b.xid();
        let victim = b.events.len() - 2;
        b.events[victim].bytes[25] ^= 1;
        let mut rec = Recorder::default();
        let err = run_chunked(&b, &ReplayOptions::default(), chunk, &mut rec).unwrap_err();
        assert!(
            matches!(err, ReplayError::Checksum { pos, .. } if pos == b.events[victim].start),
            "{err}"
        );
        let first_commit = rec.log.iter().position(|s| s == "COMMIT").unwrap();
        let after = &rec.log[first_commit + 1..];
        if sent_before {
            assert_eq!(after.last().map(String::as_str), Some("ABORT"), "{after:?}");
            assert!(after.iter().any(|s| s == "BEGIN"));
        } else {
            assert_eq!(after, &[] as &[String]);
        }
    }
}

#[test]
fn a_refused_statement_rolls_its_transaction_back() {
    let b = statements();
    let mut rec = Recorder {
        fail: Some(("INSERT INTO t".into(), 1062)),
        ..Recorder::default()
    };
    let err = Run::new(&Until::End, &ReplayOptions::default(), 1 << 20)
        .all(b.feed(), &mut rec)
        .unwrap_err();
    assert!(matches!(err, ReplayError::Server { pos, .. } if pos == b.events[3].start));
    assert_eq!(rec.log.last().map(String::as_str), Some("ABORT"));
    assert!(!rec.log.iter().any(|s| s.starts_with("CREATE")));
    // The same error on the source: the statement counts as done.
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.query_with("d", b"INSERT INTO t VALUES (1)", &[], 1062);
    b.xid();
    let mut rec = Recorder {
        fail: Some(("INSERT INTO t".into(), 1062)),
        ..Recorder::default()
    };
    Run::new(&Until::End, &ReplayOptions::default(), 1 << 20)
        .all(b.feed(), &mut rec)
        .unwrap();
    assert_eq!(rec.log.last().map(String::as_str), Some("COMMIT"));
}

#[test]
fn incomplete_and_abandoned_transactions_are_not_applied() {
    let mut b = statements();
    b.events.truncate(4);
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    let report = report.unwrap();
    assert_eq!(
        report.incomplete,
        Some(("b.000001".into(), b.events[1].start))
    );
    assert_eq!(rec.log, Vec::<String>::new());
    // The next file begins before the transaction ended (the source crashed).
    let mut next = Binlog::new("b.000002");
    next.gtid(9, 0x29, None);
    next.query("d", "CREATE TABLE v (id INT)");
    b.events.extend(next.events);
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    let report = report.unwrap();
    assert_eq!(
        report.abandoned,
        vec![("b.000001".into(), b.events[1].start)]
    );
    assert_eq!(report.incomplete, None);
    assert_eq!(report.transactions, 1);
    assert!(!rec.log.iter().any(|s| s.contains("INSERT")));
}

#[test]
fn xa_transactions_prepare_and_commit() {
    let xid = Xid {
        format_id: 1,
        gtrid: b"x1".to_vec(),
        bqual: Vec::new(),
    };
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x4c, Some(&xid));
    b.query("d", "INSERT INTO t VALUES (1)");
    b.query("d", "XA END X'7831',X'',1");
    b.xa_prepare(&xid);
    b.gtid(6, 0x8d, Some(&xid));
    b.query("d", "XA COMMIT X'7831',X'',1");
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert_eq!(report.unwrap().transactions, 2);
    let statements: Vec<&str> = rec
        .log
        .iter()
        .map(String::as_str)
        .filter(|s| !s.starts_with("SET") && !s.starts_with("USE"))
        .collect();
    assert_eq!(
        statements,
        vec![
            "XA START X'7831',X'',1",
            "INSERT INTO t VALUES (1)",
            "XA END X'7831',X'',1",
            "XA PREPARE X'7831',X'',1",
            "XA COMMIT X'7831',X'',1",
        ]
    );
}

#[test]
fn user_variables_keep_their_character_set() {
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.user_var("l", b"na\xefve", 8);
    b.user_var("bin", b"\x00\xff", 63);
    b.query("d", "INSERT INTO t VALUES (@l, @bin)");
    b.xid();
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    report.unwrap();
    let set = rec.log.iter().find(|s| s.contains("@`l`")).unwrap();
    assert!(
        set.ends_with(
            "@`l`:=_latin1 X'6E61EF7665' COLLATE `latin1_swedish_ci`, @`bin`:=_binary X'00FF'"
        ),
        "{set}"
    );
    // A collation the server does not know is an error naming the event.
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.user_var("x", b"?", 4242);
    b.query("d", "SELECT @x");
    b.xid();
    let (_, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert!(matches!(
        report,
        Err(ReplayError::Unsupported {
            event: "User_var",
            ..
        })
    ));
}

#[test]
fn events_out_of_place_are_errors() {
    // Rows outside a transaction: the replay started inside one.
    let mut b = Binlog::new("b.000001");
    b.table_map(1, "a", "t");
    let (_, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert!(matches!(report, Err(ReplayError::Malformed { pos, .. }) if pos == b.events[1].start));
    // No Format_description event first.
    let mut b = statements();
    b.events.remove(0);
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert!(matches!(report, Err(ReplayError::Malformed { .. })));
    assert!(rec.log.is_empty());
    // Table patterns cannot select events.
    let options = ReplayOptions {
        databases: Filter::new(&FilterSpec {
            tables: vec!["a.t".into()],
            ..FilterSpec::default()
        })
        .unwrap(),
        ..ReplayOptions::default()
    };
    assert!(matches!(
        check_options(&options),
        Err(ReplayError::Settings(_))
    ));
}

/// Every kind of event the replay parses, in a transaction that passes.
fn every_event() -> Binlog {
    let xid = Xid {
        format_id: 1,
        gtrid: b"x1".to_vec(),
        bqual: b"b".to_vec(),
    };
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x4c, Some(&xid));
    b.intvar(3);
    b.user_var("l", b"abc", 8);
    // A DECIMAL user variable: precision 4, scale 2, 12.34.
    let mut dec = 1u32.to_le_bytes().to_vec();
    dec.extend_from_slice(b"d\x00\x04");
    dec.extend_from_slice(&63u32.to_le_bytes());
    dec.extend_from_slice(&4u32.to_le_bytes());
    dec.extend_from_slice(&[4, 2, 0x8c, 0x22]);
    b.event(frame::kind::USER_VAR, 0, &dec);
    b.query("a", "INSERT INTO t VALUES (@l, @d)");
    b.table_map(1, "a", "t");
    b.rows(1, true, 8);
    b.xa_prepare(&xid);
    b
}

#[test]
fn mutated_events_are_errors_never_panics() {
    let b = every_event();
    let options = ReplayOptions {
        renames: vec![Rename {
            from: "a".into(),
            to: "a_copy".into(),
        }],
        ..ReplayOptions::default()
    };
    let (rec, report) = run(&b, &Until::End, &options);
    assert!(report.is_ok(), "{report:?} {:?}", rec.log);
    assert!(
        rec.log.iter().any(|s| s.contains("@`d`:=12.34")),
        "{:?}",
        rec.log
    );
    for (n, e) in b.events.iter().enumerate() {
        let mut variants = Vec::new();
        for i in 4..e.bytes.len() - frame::CHECKSUM_LEN {
            for x in [0x01, 0x80, 0xff] {
                let mut bytes = e.bytes.clone();
                bytes[i] ^= x;
                variants.push(bytes);
            }
        }
        for cut in HEADER_LEN + frame::CHECKSUM_LEN..e.bytes.len() {
            let mut bytes = e.bytes[..cut].to_vec();
            bytes[cut - 4..].copy_from_slice(&[0; 4]);
            variants.push(bytes);
        }
        for mut bytes in variants {
            // A valid checksum, so that the parsers see the damage.
            frame::reseal(&mut bytes, true);
            let mut feed = b.events.clone();
            feed[n].end = feed[n].start + bytes.len() as u64;
            feed[n].bytes = bytes;
            let mut rec = Recorder::default();
            let events = feed.into_iter().map(Ok::<_, std::io::Error>);
            let _ = Run::new(&Until::End, &options, 64).all(events, &mut rec);
        }
    }
}

#[test]
fn a_large_transaction_gets_the_format_description_before_it_begins() {
    // Statements first, then row events: sent in parts, the Format_description event must
    // still come before BEGIN (on the server, it rolls back an open transaction).
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    for i in 0..20 {
        b.query(
            "a",
            &format!("INSERT INTO t VALUES ({i}, '{}')", "x".repeat(100)),
        );
    }
    b.table_map(1, "a", "t");
    b.rows(1, true, 10);
    b.xid();
    let mut rec = Recorder::default();
    run_chunked(&b, &ReplayOptions::default(), 1000, &mut rec).unwrap();
    let fde = rec
        .log
        .iter()
        .position(|s| s.starts_with("BINLOG"))
        .unwrap();
    let begin = rec.log.iter().position(|s| s == "BEGIN").unwrap();
    assert!(fde < begin, "{:?}", &rec.log[..begin + 1]);
    assert_eq!(rec.binlog_events(0), vec![b.events[0].bytes.clone()]);
    assert_eq!(
        rec.log.iter().filter(|s| s.starts_with("BINLOG")).count(),
        2
    );
}

#[test]
fn mysql_transactions_begin_with_their_own_begin() {
    let mut b = Binlog::with_format("binlog.000001", super::fixtures::mysql_fde_bytes());
    b.mysql_gtid(7);
    let mysql_status = [&[0, 0, 0, 0, 0][..], &[16, 1], &[18, 0xff, 0], &[19, 0]].concat();
    b.query_with("d", b"BEGIN", &mysql_status, 0);
    b.table_map(1, "d", "t");
    b.event(0x1e, 0, &[1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 1, 0]);
    b.xid();
    b.mysql_gtid(8);
    b.query_with("d", b"CREATE TABLE u (id INT)", &mysql_status, 0);
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    let report = report.unwrap();
    assert_eq!(report.transactions, 2);
    assert_eq!(
        report.last_gtid.as_deref(),
        Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:8")
    );
    let statements: Vec<&str> = rec
        .log
        .iter()
        .map(String::as_str)
        .filter(|s| !s.starts_with("SET") && !s.starts_with("USE") && !s.starts_with("BINLOG"))
        .collect();
    assert_eq!(
        statements,
        vec!["BEGIN", "COMMIT", "CREATE TABLE u (id INT)"]
    );
    // MySQL's options only, and its own explicit_defaults_for_timestamp.
    let set = rec
        .log
        .iter()
        .find(|s| s.contains("sql_auto_is_null"))
        .unwrap();
    assert!(!set.contains("check_constraint_checks"), "{set}");
    assert!(set.contains("explicit_defaults_for_timestamp=1"), "{set}");
    assert_eq!(rec.binlogs().len(), 2);
    // Stop at a MySQL GTID.
    let until = Until::new(
        "3E11FA47-71CA-11E1-9E33-C80AA9429562:8".parse().unwrap(),
        false,
    );
    let (_, report) = run(&b, &until, &ReplayOptions::default());
    let report = report.unwrap();
    assert!(report.reached);
    assert_eq!(report.transactions, 1);
}

#[test]
fn a_statement_without_its_end_is_an_error() {
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.table_map(1, "a", "t");
    b.rows(1, false, 10);
    b.xid();
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert!(
        matches!(report, Err(ReplayError::Malformed { pos, .. }) if pos == b.events[3].start),
        "{report:?}"
    );
    assert!(!rec.log.iter().any(|s| s == "BEGIN"));
    // A table map alone (no rows followed) is dropped with its transaction's end.
    let mut b = Binlog::new("b.000001");
    b.gtid(5, 0x0c, None);
    b.query("a", "UPDATE t SET v = 1 WHERE 0");
    b.table_map(1, "a", "t");
    b.xid();
    let (rec, report) = run(&b, &Until::End, &ReplayOptions::default());
    assert_eq!(report.unwrap().transactions, 1);
    assert!(!rec.log.iter().any(|s| s.starts_with("BINLOG")));
}
