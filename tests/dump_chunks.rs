//! Big tables cut into chunks: every kind of key, sparse and negative ranges, no usable key, rows
//! at range edges exactly once under concurrent writes, and a chunked dump restoring identically.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::client::read_manifest;
use common::dump::run_dump;
use common::{assert_same_databases, mybak_cmd, mybak_restore_cmd, unique_name, Server};

/// Dumps `db` with small chunks; returns the dump directory, the tempdir and stderr.
fn chunked_dump(
    server: &Server,
    db: &str,
    threads: &str,
) -> (std::path::PathBuf, tempfile::TempDir, String) {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir").arg(root.path()).args([
        "--databases",
        db,
        "--threads",
        threads,
        "--chunk-size",
        "64K",
        "-v",
    ]);
    let out = run_dump(cmd);
    out.assert_code(0);
    (out.dump_dir(root.path()), root, out.stderr)
}

fn data_files(dir: &std::path::Path, table: &str) -> Vec<(String, u64)> {
    read_manifest(dir)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "table-data" && f["table"] == table)
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn restore_and_compare(src: &Server, db: &str, dir: &std::path::Path) {
    let dst = Server::start_new();
    let out = run_dump({
        let mut c = mybak_restore_cmd(&dst, dir);
        c.args(["--threads", "4"]);
        c
    });
    out.assert_code(0);
    assert_same_databases(src, db, &dst, db);
}

#[test]
fn every_kind_of_key_is_chunked_and_restores_identically() {
    let src = Server::shared();
    let db = unique_name("chunks");
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE sparse (id BIGINT PRIMARY KEY, v VARCHAR(40));
         INSERT INTO sparse VALUES (-9223372036854775808, 'min'), (9223372036854775807, 'max');
         INSERT INTO sparse SELECT seq * 461168601842738, REPEAT('s', 30) FROM seq_1_to_19998;
         CREATE TABLE negative (id INT PRIMARY KEY, v VARCHAR(40));
         INSERT INTO negative SELECT CAST(seq AS SIGNED) - 15000, REPEAT('n', 30) FROM seq_1_to_20000;
         CREATE TABLE unsigned_big (id BIGINT UNSIGNED PRIMARY KEY, v VARCHAR(40));
         INSERT INTO unsigned_big SELECT 18446744073709551615 - seq * 1000, REPEAT('u', 30) FROM seq_0_to_19999;
         CREATE TABLE composite (a INT NOT NULL, b VARCHAR(20) NOT NULL, v VARCHAR(40), PRIMARY KEY (a, b));
         INSERT INTO composite SELECT seq % 37, CONCAT('k', seq, '''q'), REPEAT('c', 30) FROM seq_1_to_20000;
         CREATE TABLE stringkey (code VARCHAR(30) CHARACTER SET utf8mb4 NOT NULL PRIMARY KEY, v VARCHAR(40));
         INSERT INTO stringkey SELECT CONCAT(CHAR(65 + seq % 26), 'é', seq, ' x'), REPEAT('t', 30) FROM seq_1_to_20000;
         CREATE TABLE uniq (id INT NULL, u VARCHAR(20) NOT NULL, v VARCHAR(40), UNIQUE KEY (u));
         INSERT INTO uniq SELECT seq, LPAD(seq, 8, '0'), REPEAT('w', 30) FROM seq_1_to_20000;
         CREATE TABLE nokey (id INT, v VARCHAR(40));
         INSERT INTO nokey SELECT seq, REPEAT('z', 30) FROM seq_1_to_20000;
         ANALYZE TABLE sparse, negative, unsigned_big, composite, stringkey, uniq, nokey;"
    ));
    let (dir, _root, stderr) = chunked_dump(src, &db, "4");
    for table in [
        "sparse",
        "negative",
        "unsigned_big",
        "composite",
        "stringkey",
        "uniq",
    ] {
        let files = data_files(&dir, table);
        let rows: u64 = files.iter().map(|(_, r)| r).sum();
        assert_eq!(rows, 20000, "{table}: rows over chunks");
        assert!(files.len() > 2, "{table} was not chunked: {files:?}");
        assert!(files.len() < 200, "{table}: {} chunks", files.len());
        assert!(
            files
                .iter()
                .all(|(p, _)| p.contains(&format!("/{table}.0"))),
            "{files:?}"
        );
    }
    let nokey = data_files(&dir, "nokey");
    assert_eq!(nokey.len(), 1, "{nokey:?}");
    assert!(
        stderr.contains("nokey") && stderr.contains("one stream"),
        "the log does not say why nokey is one stream: {stderr}"
    );
    restore_and_compare(src, &db, &dir);
}

/// A writer inserts rows below, between, at and beyond the existing keys and bumps a counter in the
/// same transaction: in a consistent chunked dump every table holds exactly the counted rows.
#[test]
fn rows_at_range_edges_appear_exactly_once_under_concurrent_writes() {
    let src = Server::shared();
    let db = unique_name("edges");
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(60));
         INSERT INTO t SELECT seq * 10, REPEAT('e', 50) FROM seq_1_to_30000;
         CREATE TABLE s (k VARCHAR(20) NOT NULL PRIMARY KEY, v VARCHAR(60));
         INSERT INTO s SELECT LPAD(seq * 10, 12, '0'), REPEAT('f', 50) FROM seq_1_to_30000;
         CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (30000);
         ANALYZE TABLE t, s;"
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut conn = src.conn();
        let db = db.clone();
        std::thread::spawn(move || {
            use mysql::prelude::Queryable;
            let mut i: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                // Alternate between the low end, the middle of every gap, and past the top.
                let key = match i % 3 {
                    0 => -i,
                    1 => (i % 30000) * 10 + 5 + (i / 30000) % 4,
                    _ => 400_000 + i,
                };
                conn.query_drop(format!(
                    "START TRANSACTION; INSERT IGNORE INTO {db}.t VALUES ({key}, 'w');
                     INSERT IGNORE INTO {db}.s VALUES (LPAD({key}, 12, '0'), 'w');
                     UPDATE {db}.counter SET n = (SELECT COUNT(*) FROM {db}.t); COMMIT"
                ))
                .unwrap();
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (dir, _root, _) = chunked_dump(src, &db, "4");
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
    let dst = Server::start_new();
    run_dump(mybak_restore_cmd(&dst, &dir)).assert_code(0);
    let count = |table: &str| {
        dst.query_value(&format!("SELECT COUNT(*) FROM {db}.{table}"))
            .unwrap()
    };
    let counted = dst
        .query_value(&format!("SELECT n FROM {db}.counter"))
        .unwrap();
    assert_eq!(
        count("t"),
        counted,
        "rows of t versus the counter in the same snapshot"
    );
    assert_eq!(
        count("s"),
        counted,
        "rows of s versus the counter in the same snapshot"
    );
    assert!(data_files(&dir, "t").len() > 2 && data_files(&dir, "s").len() > 2);
}

#[test]
fn the_full_fixture_dumped_in_tiny_chunks_restores_identically() {
    let src = Server::shared();
    let names = common::load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(src);
    cmd.arg("--output-dir").arg(root.path()).args([
        "--databases",
        &names.databases(),
        "--threads",
        "4",
        "--chunk-size",
        "1K",
    ]);
    let out = run_dump(cmd);
    out.assert_code(0);
    let dir = out.dump_dir(root.path());
    common::dump::verify_dump_dir(&dir);
    let dst = Server::start_new();
    dst.exec(&format!("CREATE USER '{}'@'localhost'", names.user));
    dst.restore_with_stock_client(&dir);
    assert_same_databases(src, &names.db, &dst, &names.db);
    assert_same_databases(src, &names.db2, &dst, &names.db2);
}
