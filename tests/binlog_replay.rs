//! Binlog replay (`mybak::binlog::replay`) against real servers: a source runs a varied workload,
//! its binlog files are replayed on a second server that started from the same base, and the
//! databases must then be identical. Also: stop points (time, GTID, FILE:POS; exclusive and
//! inclusive), the database filter, renames, damaged events, and the session left as it was.

mod common;

use common::client::run_stock_client;
use common::compare::compare_databases_renamed;
use common::{assert_same_databases, unique_name, Server, ServerOptions};
use mybak::binlog::replay::{
    replay, RawEvent, ReplayError, ReplayOptions, ReplayReport, Target, Until,
};
use mybak::binlog::source::file_events;
use mybak::binlog::BinlogError;
use mybak::filter::{Filter, FilterSpec};
use mybak::restore::rewrite::Rename;

/// A binlog coordinate: file name and position.
type Pos = (String, u64);

fn master_pos(server: &Server) -> Pos {
    let row = server.query_rows("SHOW MASTER STATUS").remove(0);
    let file = row[0].clone().unwrap();
    let pos = row[1].clone().unwrap().parse().unwrap();
    (file, pos)
}

/// Every event the server logged from `from` on: its binlog files are closed first (FLUSH
/// BINARY LOGS) and read from the datadir, each file's Format_description event first.
fn events_since(server: &Server, from: &Pos) -> Vec<RawEvent> {
    server.exec("FLUSH BINARY LOGS");
    let files: Vec<String> = server
        .query_rows("SHOW BINARY LOGS")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let mut out = Vec::new();
    for file in files.iter().skip_while(|f| **f != from.0) {
        let data = std::fs::read(server.datadir().join(file)).unwrap();
        let start = if *file == from.0 { from.1 } else { 4 };
        out.extend(file_events(file, &data[..], start, false).map(|e| e.unwrap()));
    }
    out
}

fn replay_on(
    server: &Server,
    events: &[RawEvent],
    until: &Until,
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let mut conn = server.conn();
    let events = events.iter().cloned().map(Ok::<_, std::io::Error>);
    replay(&mut conn, events, until, options)
}

/// The base both servers start from: two databases with tables of every kind the workload
/// touches.
fn base_sql(a: &str, b: &str) -> String {
    format!(
        "CREATE DATABASE {a} CHARACTER SET utf8mb4; USE {a};
         CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL,
           price DECIMAL(10,2), qty INT, token CHAR(36), created DATETIME, r DOUBLE) ENGINE=InnoDB;
         CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT, note VARCHAR(40));
         CREATE TABLE parent (id INT PRIMARY KEY);
         CREATE TABLE child (id INT PRIMARY KEY, parent_id INT,
           FOREIGN KEY (parent_id) REFERENCES parent (id));
         CREATE TABLE latin (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(40) CHARACTER SET latin1);
         CREATE TABLE stamps (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP NULL, note VARCHAR(20));
         CREATE TABLE counters (id INT PRIMARY KEY, n INT) ENGINE=MyISAM;
         CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW
           INSERT INTO audit (item_id, note) VALUES (NEW.id, 'trigger');
         INSERT INTO items (name, price, qty) VALUES ('seed1', 1.00, 1), ('seed2', 2.00, 2);
         INSERT INTO parent VALUES (1), (2);
         INSERT INTO counters VALUES (1, 0);
         CREATE DATABASE {b}; USE {b};
         CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT, n INT);
         INSERT INTO notes (body, n) VALUES ('seed', 0);"
    )
}

/// The workload: unqualified names only, each database's statements with it as the default.
fn workload(server: &Server, a: &str, b: &str) {
    server.exec(&format!(
        "USE {a};
         SET TIMESTAMP = 1800000000;
         INSERT INTO items (name, price, qty, created) VALUES ('apple', 1.50, 10, NOW());
         INSERT INTO audit (item_id, note) VALUES (LAST_INSERT_ID(), 'manual');
         INSERT INTO items (name, token) VALUES ('uuid', UUID());
         INSERT INTO items (name, r, created) VALUES ('rand', RAND(7), NOW(6));
         -- In statement format RAND() is logged with its seeds (MariaDB logs it as rows in
         -- MIXED).
         SET binlog_format = STATEMENT;
         UPDATE items SET r = RAND() WHERE name = 'seed1';
         SET binlog_format = DEFAULT;
         BEGIN;
         INSERT INTO items (name, qty) VALUES ('trx1', 1), ('trx2', 2);
         UPDATE items SET qty = qty * 10 WHERE name LIKE 'trx%';
         DELETE FROM audit WHERE note = 'manual';
         COMMIT;
         UPDATE items SET price = 9.99 ORDER BY id DESC LIMIT 2;
         DELETE FROM audit ORDER BY id LIMIT 1;
         UPDATE items SET qty = 0 LIMIT 1;
         CREATE TABLE extra (id INT PRIMARY KEY, v INT);
         ALTER TABLE extra ADD COLUMN w VARCHAR(10) DEFAULT 'w';
         INSERT INTO extra (id, v) VALUES (1, 1), (2, 2);
         CREATE TABLE gone (id INT);
         DROP TABLE gone;
         SET @qty := 42, @label := 'from a variable';
         INSERT INTO items (name, qty) VALUES (@label, @qty);
         SET @d := 3.25, @f := 1e-3, @n := NULL;
         INSERT INTO items (name, price, r, qty) VALUES ('vars', @d, @f, @n);
         SET time_zone = '+05:00';
         INSERT INTO stamps (at, note) VALUES ('2026-01-01 10:00:00', '+05:00');
         SET time_zone = '-03:30';
         INSERT INTO stamps (at, note) VALUES ('2026-01-01 10:00:00', '-03:30');
         UPDATE stamps SET at = at + INTERVAL 1 HOUR WHERE note = '+05:00';
         SET time_zone = SYSTEM;
         SET foreign_key_checks = 0;
         INSERT INTO child VALUES (1, 999);
         SET foreign_key_checks = 1;
         INSERT INTO child VALUES (2, 1);
         BEGIN;
         INSERT INTO items (name) VALUES ('rolled back');
         ROLLBACK;
         BEGIN;
         INSERT INTO items (name) VALUES ('half rolled back');
         UPDATE counters SET n = n + 1;
         ROLLBACK;
         SET auto_increment_increment = 5, auto_increment_offset = 3;
         INSERT INTO items (name) VALUES ('step5a'), ('step5b');
         SET auto_increment_increment = 1, auto_increment_offset = 1;
         SET sql_mode = '';
         INSERT INTO items (name, qty) VALUES ('lenient', 'not a number');
         SET sql_mode = DEFAULT;
         XA START 'xa1';
         INSERT INTO items (name) VALUES ('xa');
         XA END 'xa1';
         XA PREPARE 'xa1';
         XA COMMIT 'xa1';
         CREATE PROCEDURE add_item(item VARCHAR(40)) INSERT INTO items (name) VALUES (item);
         CALL add_item('via a procedure');
         CREATE FUNCTION seven() RETURNS INT DETERMINISTIC RETURN 7;
         INSERT INTO items (name, qty) VALUES ('via a function', seven());
         CREATE SEQUENCE counter_seq;
         INSERT INTO items (name, qty) VALUES ('from a sequence', NEXTVAL(counter_seq));
         CREATE TEMPORARY TABLE tmp (n INT);
         INSERT INTO tmp VALUES (5), (6);
         INSERT INTO items (name, qty) SELECT 'from tmp', n FROM tmp;
         DROP TEMPORARY TABLE tmp;
         -- A last single-row insert: the counter the source reserved past INSERT … SELECT's rows
         -- (never logged) is caught up, so AUTO_INCREMENT agrees.
         INSERT INTO items (name) VALUES ('last');
         USE {b};
         INSERT INTO notes (body, n) VALUES (REPEAT('long text ', 50), 1);
         UPDATE notes SET n = n + 1;
         INSERT INTO notes (body, n) SELECT REPEAT('y', 1000), seq FROM seq_1_to_60;
         DELETE FROM notes WHERE n % 7 = 0;
         INSERT INTO notes (body, n) VALUES ('last', 0);"
    ));
    // Text that is not UTF-8: latin1 bytes in the statement and in a user variable.
    let latin1: &[u8] = b"SET NAMES latin1;
        INSERT INTO latin (s) VALUES ('caf\xe9 cr\xe8me br\xfbl\xe9e');
        SET @l := 'na\xefve';
        INSERT INTO latin (s) VALUES (@l);
        SET NAMES utf8mb4;
        INSERT INTO latin (s) VALUES ('\xc3\xa9t\xc3\xa9');\n";
    let out = run_stock_client(server.socket(), Some(a), latin1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A source and a target with the same base, the source's workload done; the events from the
/// base on.
struct Replayed {
    src: Server,
    dst: Server,
    a: String,
    b: String,
    events: Vec<RawEvent>,
}

fn prepare(options: ServerOptions) -> Replayed {
    let (a, b) = (unique_name("rpa"), unique_name("rpb"));
    let src = Server::start_with(options.clone());
    let dst = Server::start_with(options);
    src.exec(&base_sql(&a, &b));
    dst.exec(&base_sql(&a, &b));
    let from = master_pos(&src);
    workload(&src, &a, &b);
    let events = events_since(&src, &from);
    Replayed {
        src,
        dst,
        a,
        b,
        events,
    }
}

/// Replays the workload and compares; `max_statement_bytes` small splits statements' row
/// events over several BINLOG statements, and large transactions are sent in parts.
fn assert_replays_exactly(server: ServerOptions, max_statement_bytes: usize) -> Replayed {
    let r = prepare(server);
    let options = ReplayOptions {
        max_statement_bytes,
        ..ReplayOptions::default()
    };
    let report = replay_on(&r.dst, &r.events, &Until::End, &options).unwrap();
    assert_same_databases(&r.src, &r.a, &r.dst, &r.a);
    assert_same_databases(&r.src, &r.b, &r.dst, &r.b);
    assert!(report.transactions > 30, "{report:?}");
    assert_eq!(report.events, r.events.len() as u64);
    assert_eq!(report.skipped, 0);
    assert!(!report.reached);
    assert_eq!(report.incomplete, None);
    // With binary logging on, the target logged the source's GTIDs.
    let src_gtid = r.src.query_value("SELECT @@gtid_binlog_pos").unwrap();
    assert_eq!(report.last_gtid.as_deref(), Some(src_gtid.as_str()));
    let dst_gtid = r.dst.query_value("SELECT @@gtid_binlog_pos").unwrap();
    assert_eq!(dst_gtid, src_gtid);
    r
}

/// How many events of type `code` there are.
fn count(events: &[RawEvent], code: u8) -> usize {
    events.iter().filter(|e| e.bytes[4] == code).count()
}

#[test]
fn mixed_format_workload_replays_exactly() {
    let r = assert_replays_exactly(ServerOptions::default(), 16 << 20);
    // Statements, some of them not UTF-8 (latin1), and row events for the unsafe ones.
    let latin1 = r.events.iter().any(|e| {
        e.bytes[4] == 0x02 && std::str::from_utf8(&e.bytes[19..e.bytes.len() - 4]).is_err()
    });
    assert!(latin1);
    // Row events, INTVAR, RAND, USER_VAR, XA_prepare: every kind the workload should log.
    for code in [0x13, 0x05, 0x0d, 0x0e, 0x26] {
        assert!(count(&r.events, code) > 0, "no event of type {code:#x}");
    }
}

#[test]
fn row_format_workload_replays_exactly_in_small_statements() {
    let r = assert_replays_exactly(ServerOptions::default().arg("--binlog-format=ROW"), 1024);
    // INSERT … SELECT of 60 rows of 1000 bytes: one statement, several row events.
    let rows = r.events.iter().filter(|e| e.bytes[4] == 0x17);
    assert!(rows.filter(|e| e.bytes[25] & 1 == 0).count() > 3);
}

#[test]
fn compressed_events_replay_exactly() {
    let r = assert_replays_exactly(
        ServerOptions::default()
            .arg("--log-bin-compress=ON")
            .arg("--log-bin-compress-min-len=10"),
        16 << 20,
    );
    assert!(count(&r.events, 0xa5) > 0);
    assert!((0xa6..=0xab).any(|code| count(&r.events, code) > 0));
}

#[test]
fn renamed_databases_and_no_binlog() {
    let r = prepare(ServerOptions::default());
    let (a2, b2) = (format!("{}_r", r.a), format!("{}_r", r.b));
    r.dst.exec(&base_sql(&a2, &b2));
    let before = master_pos(&r.dst);
    let options = ReplayOptions {
        log_bin: false,
        renames: vec![
            Rename {
                from: r.a.clone(),
                to: a2.clone(),
            },
            Rename {
                from: r.b.clone(),
                to: b2.clone(),
            },
        ],
        ..ReplayOptions::default()
    };
    replay_on(&r.dst, &r.events, &Until::End, &options).unwrap();
    for (from, to) in [(&r.a, &a2), (&r.b, &b2)] {
        if let Err(e) = compare_databases_renamed(&r.src, from, &r.dst, to, &[]) {
            panic!("{from} -> {to}:\n{e}");
        }
    }
    // The originals on the target are untouched: still the base.
    assert_eq!(
        r.dst
            .query_value(&format!("SELECT COUNT(*) FROM {}.items", r.a))
            .as_deref(),
        Some("2")
    );
    let after = master_pos(&r.dst);
    if after != before {
        let out = std::process::Command::new("mariadb-binlog")
            .arg(format!("--start-position={}", before.1))
            .arg(r.dst.datadir().join(&after.0))
            .output()
            .unwrap();
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
    assert_eq!(master_pos(&r.dst), before, "nothing was binlogged");
}

#[test]
fn database_filter_skips_the_others() {
    let r = prepare(ServerOptions::default());
    let b_base = r.dst.query_rows(&format!("CHECKSUM TABLE {}.notes", r.b));
    let options = ReplayOptions {
        databases: Filter::new(&FilterSpec {
            databases: vec![r.a.clone()],
            ..FilterSpec::default()
        })
        .unwrap(),
        ..ReplayOptions::default()
    };
    let report = replay_on(&r.dst, &r.events, &Until::End, &options).unwrap();
    assert_same_databases(&r.src, &r.a, &r.dst, &r.a);
    assert_eq!(
        r.dst.query_rows(&format!("CHECKSUM TABLE {}.notes", r.b)),
        b_base
    );
    assert!(report.skipped >= 2, "{report:?}");
}

/// Every session variable of `conn` but those that move by themselves, and the default
/// database.
fn session_snapshot(conn: &mut mysql::Conn) -> Vec<Vec<Option<String>>> {
    common::client::query_rows_on(
        conn,
        "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.SESSION_VARIABLES
         WHERE VARIABLE_NAME NOT IN ('TIMESTAMP', 'LAST_GTID', 'ERROR_COUNT', 'WARNING_COUNT',
           'RAND_SEED1', 'RAND_SEED2')
         UNION ALL SELECT 'DATABASE()', DATABASE()
         ORDER BY 1",
    )
}

#[test]
fn the_session_is_left_as_it_was() {
    let r = prepare(ServerOptions::default());
    let mut conn = r.dst.conn();
    common::client::exec_on(
        &mut conn,
        &format!(
            "USE {}; SET sql_mode = 'ANSI_QUOTES', time_zone = '+01:00', NAMES latin1,
             foreign_key_checks = 0, auto_increment_increment = 3",
            r.b
        ),
    );
    let before = session_snapshot(&mut conn);
    let options = ReplayOptions {
        log_bin: false,
        ..ReplayOptions::default()
    };
    let events = r.events.iter().cloned().map(Ok::<_, std::io::Error>);
    replay(&mut conn, events, &Until::End, &options).unwrap();
    assert_eq!(session_snapshot(&mut conn), before);
    assert_same_databases(&r.src, &r.a, &r.dst, &r.a);
    // An account that may not turn binary logging off: refused before anything is applied.
    let user = unique_name("plain");
    r.dst.exec(&format!(
        "CREATE USER '{user}'@'localhost'; GRANT ALL ON {}.* TO '{user}'@'localhost'",
        r.b
    ));
    let opts = mysql::OptsBuilder::new()
        .socket(Some(r.dst.socket_str()))
        .user(Some(user.as_str()))
        .prefer_socket(false);
    let mut plain = mysql::Conn::new(opts).unwrap();
    let before = session_snapshot(&mut plain);
    let events = r.events.iter().cloned().map(Ok::<_, std::io::Error>);
    let err = replay(&mut plain, events, &Until::End, &options).unwrap_err();
    assert!(
        matches!(&err, ReplayError::Session { message, .. } if message.contains("BINLOG ADMIN")),
        "{err}"
    );
    assert_eq!(session_snapshot(&mut plain), before);
}

/// One transaction of the stop-point source: its GTID, timestamp, where it starts and the
/// state of the table once it is applied.
struct Point {
    gtid: String,
    time: i64,
    start: Pos,
    state: (String, String),
}

/// The columns and checksum of `db`.`t`.
fn state(server: &Server, db: &str) -> (String, String) {
    let cols = server
        .query_value(&format!(
            "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION)
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 't'"
        ))
        .unwrap_or_default();
    let sum = server.query_rows(&format!("CHECKSUM TABLE {db}.t"))[0][1].clone();
    (cols, sum.unwrap_or_default())
}

const T0: i64 = 1_900_000_000;

/// A source whose database `db` goes through five transactions a minute apart (the third one
/// DDL); the state before the first is `points[0]`.
fn stop_source(db: &str) -> (Server, Pos, Vec<Point>) {
    let src = Server::start_new();
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY,
         v VARCHAR(20), n INT)"
    ));
    let base = master_pos(&src);
    let mut points = vec![Point {
        gtid: String::new(),
        time: 0,
        start: base.clone(),
        state: state(&src, db),
    }];
    let transactions = [
        "BEGIN; INSERT INTO t (v, n) VALUES ('one', 1); UPDATE t SET n = n + 1; COMMIT",
        "INSERT INTO t (v, n) VALUES ('two', 2), ('three', 3)",
        "ALTER TABLE t ADD COLUMN extra INT DEFAULT 7",
        "BEGIN; UPDATE t SET extra = extra + id; DELETE FROM t WHERE v = 'one'; COMMIT",
        "INSERT INTO t (v, n) VALUES ('five', 5)",
    ];
    let mut conn = src.conn();
    for (i, sql) in transactions.iter().enumerate() {
        let start = master_pos(&src);
        let time = T0 + 60 * (i as i64 + 1);
        common::client::exec_on(
            &mut conn,
            &format!("USE {db}; SET TIMESTAMP = {time}; {sql}"),
        );
        let gtid = common::client::query_rows_on(&mut conn, "SELECT @@last_gtid")[0][0]
            .clone()
            .unwrap();
        points.push(Point {
            gtid,
            time,
            start,
            state: state(&src, db),
        });
    }
    (src, base, points)
}

fn local_time(unix: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_opt(unix, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[test]
fn stop_points_give_the_state_at_that_point() {
    let db = unique_name("stop");
    let (src, base, points) = stop_source(&db);
    let events = events_since(&src, &base);
    let dst = Server::start_new();
    let mut n = 0;
    for k in [1, 3, 4] {
        let p = &points[k];
        let inside = format!("{}:{}", p.start.0, p.start.1 + 10);
        let targets = [
            local_time(p.time),
            p.gtid.clone(),
            format!("{}:{}", p.start.0, p.start.1),
            inside,
        ];
        for text in &targets {
            for inclusive in [false, true] {
                n += 1;
                let copy = format!("{db}_{n}");
                dst.exec(&format!(
                    "CREATE DATABASE {copy}; CREATE TABLE {copy}.t (id INT AUTO_INCREMENT \
                     PRIMARY KEY, v VARCHAR(20), n INT)"
                ));
                let until = Until::new(text.parse::<Target>().unwrap(), inclusive);
                let options = ReplayOptions {
                    renames: vec![Rename {
                        from: db.clone(),
                        to: copy.clone(),
                    }],
                    ..ReplayOptions::default()
                };
                let report = replay_on(&dst, &events, &until, &options).unwrap();
                let want = if inclusive { k } else { k - 1 };
                let what = format!("{text} inclusive={inclusive}");
                assert_eq!(state(&dst, &copy), points[want].state, "{what}");
                assert!(report.reached, "{what}");
                assert_eq!(report.transactions, want as u64, "{what}");
                if want > 0 {
                    assert_eq!(report.last_gtid.as_deref(), Some(&*points[want].gtid));
                    assert_eq!(report.last_time, Some(points[want].time));
                }
            }
        }
    }
    // A stop point never reached: everything is applied, and the report says so.
    dst.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY,
         v VARCHAR(20), n INT)"
    ));
    let until = Until::new("0-1-999999".parse().unwrap(), false);
    let report = replay_on(&dst, &events, &until, &ReplayOptions::default()).unwrap();
    assert!(!report.reached);
    assert_eq!(state(&dst, &db), points[5].state);
}

/// A source in ROW format: one small transaction, then a large one of many row events, then
/// another small one. Returns the events, the state after the first transaction, and where the
/// large one's row events are.
fn damage_source(db: &str) -> (Server, Vec<RawEvent>, (String, String), Vec<usize>) {
    let src = Server::start_with(ServerOptions::default().arg("--binlog-format=ROW"));
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY,
         v VARCHAR(20), n INT)"
    ));
    let base = master_pos(&src);
    src.exec(&format!("INSERT INTO {db}.t (v, n) VALUES ('first', 1)"));
    let after_first = state(&src, db);
    let mut big = format!("USE {db}; BEGIN;");
    for i in 0..40 {
        big.push_str(&format!(
            " INSERT INTO t (v, n) VALUES ('{}', {i});",
            "x".repeat(20)
        ));
    }
    big.push_str(" COMMIT;");
    src.exec(&big);
    src.exec(&format!("INSERT INTO {db}.t (v, n) VALUES ('last', 3)"));
    let events = events_since(&src, &base);
    let rows: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.bytes[4] == 0x17)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rows.len(), 42);
    (src, events, after_first, rows)
}

fn fresh_copy(server: &Server, db: &str) {
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY,
         v VARCHAR(20), n INT)"
    ));
}

#[test]
fn a_damaged_event_stops_the_replay_before_its_transaction() {
    let db = unique_name("dmg");
    let (_src, events, after_first, rows) = damage_source(&db);
    let dst = Server::start_new();
    // The last row event of the large transaction is damaged; with a small statement size
    // the transaction is also too large to be held, and its first part is sent before the
    // damage is read: it must be rolled back all the same.
    for max_statement_bytes in [16 << 20, 1024] {
        let mut damaged = events.clone();
        let victim = rows[40];
        damaged[victim].bytes[30] ^= 0xff;
        let copy = format!("{db}_{max_statement_bytes}");
        fresh_copy(&dst, &copy);
        let options = ReplayOptions {
            max_statement_bytes,
            renames: vec![Rename {
                from: db.clone(),
                to: copy.clone(),
            }],
            ..ReplayOptions::default()
        };
        let err = replay_on(&dst, &damaged, &Until::End, &options).unwrap_err();
        match &err {
            ReplayError::Checksum {
                file, pos, event, ..
            } => {
                assert_eq!((file, *pos), (&events[victim].file, events[victim].start));
                assert_eq!(*event, "Write_rows_v1");
            }
            other => panic!("{other}"),
        }
        assert!(
            err.to_string()
                .contains(&format!(":{}:", events[victim].start)),
            "{err}"
        );
        assert_eq!(state(&dst, &copy), after_first, "{max_statement_bytes}");
    }
}

#[test]
fn truncated_and_garbage_input_is_an_error_not_a_panic() {
    let db = unique_name("cut");
    let (src, events, after_first, rows) = damage_source(&db);
    let dst = Server::start_new();
    // The events end in the middle of the large transaction: it is not applied.
    fresh_copy(&dst, &db);
    let cut = &events[..rows[20]];
    let report = replay_on(&dst, cut, &Until::End, &ReplayOptions::default()).unwrap();
    assert_eq!(state(&dst, &db), after_first);
    let begin = events[..rows[1]]
        .iter()
        .rev()
        .find(|e| e.bytes[4] == 0xa2)
        .unwrap();
    assert_eq!(report.incomplete, Some((begin.file.clone(), begin.start)));
    assert_eq!(report.transactions, 1);
    // A binlog file cut in the middle of an event.
    let file = &events[0].file;
    let data = std::fs::read(src.datadir().join(file)).unwrap();
    let end = events[rows[20]].start as usize + 10;
    let mut read = file_events(file, &data[..end], events[1].start, false);
    let err = read.find_map(|e| e.err()).unwrap();
    assert!(matches!(err, BinlogError::Event { pos, .. } if pos == events[rows[20]].start));
    // Being written, the same file just ends before the cut event.
    let read: Vec<_> = file_events(file, &data[..end], events[1].start, true).collect();
    assert!(read.iter().all(|e| e.is_ok()));
    assert_eq!(
        read.last().unwrap().as_ref().unwrap().end,
        events[rows[20]].start
    );
    // Garbage of every length instead of an event, and events cut short.
    let mut garbage = Vec::new();
    for len in [0, 1, 18, 19, 23, 60, 200] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        garbage.push(bytes);
    }
    for e in &events[1..8] {
        garbage.push(e.bytes[..e.bytes.len() / 2].to_vec());
    }
    for bytes in garbage {
        let mut feed = vec![events[0].clone()];
        let start = events[0].end;
        feed.push(RawEvent {
            file: file.clone(),
            start,
            end: start + bytes.len() as u64,
            bytes,
        });
        let err = replay_on(&dst, &feed, &Until::End, &ReplayOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ReplayError::Malformed { .. } | ReplayError::Checksum { .. }
            ),
            "{err}"
        );
    }
    assert_eq!(state(&dst, &db), after_first);
}
