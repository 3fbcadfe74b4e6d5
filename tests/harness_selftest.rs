//! Self-test of the integration harness: server lifecycle, stock-client restore, the full fixture, and that
//! the database comparator reports each kind of difference a broken dump could cause.

mod common;

use std::fs;
use std::io::Write;

use common::compare::compare_databases_renamed;
use common::{compare_databases, fixture, unique_name, Server, ServerOptions};

/// A small schema with one object of each kind the comparator must watch; deterministic (fixed
/// `@@timestamp`), so two loads are identical.
fn small_schema(db: &str) -> String {
    format!(
        r#"
SET time_zone = '+00:00';
SET timestamp = 1600000000.5;
CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE `{db}`;
CREATE TABLE t (id INT PRIMARY KEY, f FLOAT, ts TIMESTAMP(6) NULL, b BLOB);
CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(20));
CREATE TRIGGER t_a BEFORE INSERT ON t FOR EACH ROW SET NEW.f = NEW.f;
CREATE TRIGGER t_b BEFORE INSERT ON t FOR EACH ROW FOLLOWS t_a INSERT INTO log (msg) VALUES ('b');
INSERT INTO t VALUES (1, 3.1415927, '2021-10-31 00:30:00.123456', UNHEX('00FF10')), (2, NULL, NULL, NULL);
CREATE TABLE h (id INT PRIMARY KEY, x INT) WITH SYSTEM VERSIONING;
SET timestamp = 1600000001; INSERT INTO h VALUES (1, 1), (2, 2);
SET timestamp = 1600000002; UPDATE h SET x = 3 WHERE id = 1;
SET timestamp = 1600000003; DELETE FROM h WHERE id = 2;
SET timestamp = DEFAULT;
CREATE VIEW v AS SELECT id FROM `{db}`.t;
CREATE FUNCTION fn(a INT) RETURNS INT DETERMINISTIC RETURN a + 1;
"#
    )
}

/// Loads the small schema as source and target, applies `mutation` to the target, compares.
fn compare_after(mutation: &str) -> Result<(), String> {
    let server = Server::shared();
    let (src, dst) = (unique_name("cmp_src"), unique_name("cmp_dst"));
    server.exec(&small_schema(&src));
    server.exec(&small_schema(&dst));
    if !mutation.is_empty() {
        server.exec(&format!(
            "USE `{dst}`; SET time_zone = '+00:00'; {mutation}"
        ));
    }
    let result = compare_databases(server, &src, server, &dst);
    server.exec(&format!("DROP DATABASE `{src}`; DROP DATABASE `{dst}`"));
    result
}

fn assert_reported(mutation: &str, expected: &[&str]) {
    let err = compare_after(mutation).expect_err("the comparator missed a difference");
    for want in expected {
        assert!(err.contains(want), "report lacks {want:?}:\n{err}");
    }
}

#[test]
fn identical_databases_compare_equal_even_when_renamed() {
    if let Err(e) = compare_after("") {
        panic!("{e}");
    }
}

#[test]
fn float_that_lost_digits_is_reported() {
    assert_reported(
        "UPDATE t SET f = 3.14159 WHERE id = 1",
        &["rows of t", "f: \"3.1415927410125732\" vs"],
    );
}

#[test]
fn timestamp_shifted_by_an_hour_is_reported() {
    assert_reported(
        "UPDATE t SET ts = ts + INTERVAL 1 HOUR WHERE id = 1",
        &[
            "rows of t",
            "ts: \"2021-10-31 00:30:00.123456\" vs \"2021-10-31 01:30:00.123456\"",
        ],
    );
}

#[test]
fn changed_blob_byte_is_reported() {
    assert_reported(
        "UPDATE t SET b = UNHEX('00FE10') WHERE id = 1",
        &["rows of t", "b: <3 bytes 0x00ff10> vs <3 bytes 0x00fe10>"],
    );
}

#[test]
fn changed_trigger_order_is_reported() {
    assert_reported(
        "DROP TRIGGER t_a; DROP TRIGGER t_b; \
         CREATE TRIGGER t_b BEFORE INSERT ON t FOR EACH ROW INSERT INTO log (msg) VALUES ('b'); \
         CREATE TRIGGER t_a BEFORE INSERT ON t FOR EACH ROW FOLLOWS t_b SET NEW.f = NEW.f",
        &["trigger t_a: ACTION_ORDER", "trigger t_b: ACTION_ORDER"],
    );
}

#[test]
fn missing_history_row_is_reported() {
    assert_reported(
        "DELETE HISTORY FROM h BEFORE SYSTEM_TIME FROM_UNIXTIME(1600000002.5)",
        &["rows of h (history included)", "only in source"],
    );
}

#[test]
fn different_view_definer_is_reported() {
    assert_reported(
        "ALTER DEFINER = 'nobody_here'@'localhost' VIEW v AS SELECT id FROM t",
        &["SHOW CREATE VIEW v", "nobody_here"],
    );
}

#[test]
fn different_routine_definer_is_reported() {
    assert_reported(
        "DROP FUNCTION fn; \
         CREATE DEFINER = 'nobody_here'@'localhost' FUNCTION fn(a INT) RETURNS INT DETERMINISTIC RETURN a + 1",
        &["routine FUNCTION fn", "DEFINER"],
    );
}

#[test]
fn missing_objects_are_reported() {
    assert_reported(
        "DROP VIEW v; DROP TABLE log",
        &[
            "VIEW v: missing in target",
            "BASE TABLE log: missing in target",
        ],
    );
}

#[test]
fn server_survives_restart_and_kill() {
    let server = Server::start_new();
    assert_ne!(server.port(), 3306);
    server.exec("CREATE DATABASE life; CREATE TABLE life.t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO life.t VALUES (1)");
    server.restart();
    assert_eq!(
        server.query_value("SELECT COUNT(*) FROM life.t").as_deref(),
        Some("1")
    );
    server.kill();
    server.restart();
    assert_eq!(
        server.query_value("SELECT COUNT(*) FROM life.t").as_deref(),
        Some("1")
    );
    let flags =
        server.query_rows("SELECT @@log_bin, @@event_scheduler, @@max_allowed_packet, @@server_id");
    assert_eq!(
        flags[0],
        ["1", "OFF", "1073741824", "1"].map(|s| Some(s.to_string()))
    );
    let dir = server.dir().to_path_buf();
    drop(server);
    assert!(!dir.exists(), "server dir {} left behind", dir.display());
}

#[test]
fn server_options_reach_mariadbd() {
    let options = ServerOptions::default()
        .env("TZ", "Europe/Berlin")
        .arg("--default-time-zone=+05:30");
    let server = Server::start_with(options);
    let zones = server.query_rows("SELECT @@system_time_zone, @@global.time_zone");
    assert!(
        matches!(zones[0][0].as_deref(), Some("CET" | "CEST")),
        "system zone {zones:?}"
    );
    assert_eq!(zones[0][1].as_deref(), Some("+05:30"));
}

#[test]
fn named_time_zones_are_loaded() {
    let server = Server::shared();
    let berlin =
        server.query_value("SELECT CONVERT_TZ('2021-10-31 00:30:00', '+00:00', 'Europe/Berlin')");
    assert_eq!(berlin.as_deref(), Some("2021-10-31 02:30:00"));
}

#[test]
fn restore_with_stock_client_follows_manifest_order() {
    let server = Server::shared();
    let db = unique_name("restore");
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "a.sql.zst",
            format!("CREATE DATABASE `{db}`;\nUSE `{db}`;\nCREATE TABLE t (v LONGBLOB);\n"),
        ),
        (
            "b.sql.zst",
            format!("USE `{db}`;\nINSERT INTO t VALUES (0x00FF0D0A1A5C27), ('x;\\n');\n"),
        ),
    ];
    let mut entries = Vec::new();
    for (name, sql) in &files {
        let data = zstd::encode_all(sql.as_bytes(), 3).unwrap();
        fs::File::create(dir.path().join(name))
            .unwrap()
            .write_all(&data)
            .unwrap();
        entries.push(serde_json::json!({"path": name, "kind": "table-data"}));
    }
    let manifest = serde_json::json!({"format_version": 1, "status": "complete", "files": entries});
    fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    server.restore_with_stock_client(dir.path());
    let rows = server.query_rows(&format!("SELECT HEX(v) FROM `{db}`.t ORDER BY 1"));
    assert_eq!(
        rows,
        vec![
            vec![Some("00FF0D0A1A5C27".to_string())],
            vec![Some("783B0A".to_string())]
        ]
    );
    server.exec(&format!("DROP DATABASE `{db}`"));
}

#[test]
#[should_panic(expected = "restoring b.sql.zst")]
fn restore_with_stock_client_names_the_failing_file() {
    let server = Server::shared();
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in [
        ("a.sql.zst", "SELECT 1;"),
        ("b.sql.zst", "THIS IS NOT SQL;"),
    ] {
        fs::write(
            dir.path().join(name),
            zstd::encode_all(sql.as_bytes(), 3).unwrap(),
        )
        .unwrap();
    }
    let manifest = serde_json::json!({"files": [{"path": "a.sql.zst"}, {"path": "b.sql.zst"}]});
    fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    server.restore_with_stock_client(dir.path());
}

#[test]
fn full_fixture_loads_and_two_loads_compare_equal() {
    let server = Server::shared();
    let names: Vec<[String; 3]> = (0..2)
        .map(|_| [unique_name("fx"), unique_name("fx2"), unique_name("fxu")])
        .collect();
    for [db, db2, user] in &names {
        server.load_sql_file(
            fixture("full.sql"),
            &[("db", db), ("db2", db2), ("user", user)],
        );
    }
    let [a, a2, au] = &names[0];
    let [b, b2, bu] = &names[1];
    // The two loads differ only in their names (databases and accounts).
    let renames = [(a2.as_str(), b2.as_str()), (au.as_str(), bu.as_str())];
    if let Err(e) = compare_databases_renamed(server, a, server, b, &renames) {
        panic!("{e}");
    }
    if let Err(e) = compare_databases_renamed(server, a2, server, b2, &[(a.as_str(), b.as_str())]) {
        panic!("{e}");
    }
    for [db, db2, _] in &names {
        server.exec(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db2}`"));
    }
}
