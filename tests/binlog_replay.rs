//! Binlog replay (`mybak::binlog::replay`) against real servers: a source runs a varied workload,
//! its binlog files are replayed on a second server that started from the same base, and the
//! databases must then be identical. Also: stop points (time, GTID, FILE:POS; exclusive and
//! inclusive), the database filter, renames, damaged events, and the session left as it was.

mod common;

use common::client::run_stock_client;
use common::compare::compare_databases_renamed;
use common::{assert_same_databases, unique_name, Server, ServerOptions};
use mybak::binlog::replay::{
    events_in, replay, RawEvent, ReplayError, ReplayOptions, ReplayReport, Until,
};
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
        out.extend(events_in(file, &data, start).map(|e| e.unwrap()));
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
         UPDATE items SET r = RAND() WHERE name = 'seed1';
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
         CREATE TEMPORARY TABLE tmp (n INT);
         INSERT INTO tmp VALUES (5), (6);
         INSERT INTO items (name, qty) SELECT 'from tmp', n FROM tmp;
         DROP TEMPORARY TABLE tmp;
         -- A last single-row insert: the counter the source reserved past INSERT … SELECT's rows
         -- (never logged) is caught up, so AUTO_INCREMENT agrees.
         INSERT INTO items (name) VALUES ('last');
         USE {b};
         INSERT INTO notes (body, n) VALUES (REPEAT('long text ', 50), 1);
         UPDATE notes SET n = n + 1;"
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

fn assert_replays_exactly(options: ServerOptions) {
    let r = prepare(options);
    let report = replay_on(&r.dst, &r.events, &Until::End, &ReplayOptions::default()).unwrap();
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
}

#[test]
fn mixed_format_workload_replays_exactly() {
    assert_replays_exactly(ServerOptions::default());
}

#[test]
fn row_format_workload_replays_exactly() {
    assert_replays_exactly(ServerOptions::default().arg("--binlog-format=ROW"));
}

#[test]
fn compressed_events_replay_exactly() {
    assert_replays_exactly(
        ServerOptions::default()
            .arg("--log-bin-compress=ON")
            .arg("--log-bin-compress-min-len=10"),
    );
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
