//! DDL during a dump cannot make it wrong: DDL waits until the dump is done (writes go on), every
//! table is dumped as it was at the snapshot, and the binlog from the recorded position replays
//! onto the restored dump to the source's final state, DDL included.

mod common;

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use common::server::find_binary;
use common::{assert_same_databases, mybak_cmd, Server};

/// Runs `sql` on a connection of its own; returns (seconds it took, error if any).
fn timed(server: &Server, sql: String) -> thread::JoinHandle<(f64, Option<String>)> {
    let mut conn = server.conn();
    thread::spawn(move || {
        let start = Instant::now();
        let result = conn.query_drop(format!("SET SESSION lock_wait_timeout = 120; {sql}"));
        (
            start.elapsed().as_secs_f64(),
            result.err().map(|e| e.to_string()),
        )
    })
}

#[test]
fn ddl_during_a_dump_waits_and_the_binlog_replays_onto_it() {
    let src = Server::start_new();
    src.exec(
        "CREATE DATABASE d; USE d;
         CREATE TABLE big (id INT AUTO_INCREMENT PRIMARY KEY, c CHAR(200));
         INSERT INTO big (c) SELECT REPEAT(MD5(seq), 6) FROM seq_1_to_150000;
         CREATE TABLE s1 (id INT PRIMARY KEY, v INT, secret VARCHAR(20));
         INSERT INTO s1 VALUES (1, 10, 'hush'), (2, 20, 'quiet');
         CREATE TABLE s2 (id INT PRIMARY KEY, who CHAR(2)); INSERT INTO s2 VALUES (1, 's2'), (2, 's2');
         CREATE TABLE s3 (id INT PRIMARY KEY, who CHAR(2)); INSERT INTO s3 VALUES (7, 's3');",
    );
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(&src);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args([
            "--databases",
            "d",
            "--threads",
            "1",
            "--compress-level",
            "9",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let dump = cmd.spawn().unwrap();
    // Once the big table is being read, DDL on the others would change them before their turn.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && !std::fs::read_dir(root.path())
            .unwrap()
            .flatten()
            .any(|e| e.path().join("d/big.sql.zst").exists())
    {
        thread::sleep(Duration::from_millis(10));
    }
    let ddl = [
        timed(&src, "ALTER TABLE d.s1 DROP COLUMN secret".into()),
        timed(
            &src,
            "RENAME TABLE d.s2 TO d.tmp, d.s3 TO d.s2, d.tmp TO d.s3".into(),
        ),
        timed(
            &src,
            "ALTER TABLE d.s3 ADD COLUMN extra INT DEFAULT 5".into(),
        ),
    ];
    // Writes are not held up by the waiting DDL.
    thread::sleep(Duration::from_millis(300));
    let write = timed(&src, "INSERT INTO d.s1 (id, v) VALUES (3, 30)".into());
    let (write_secs, write_err) = write.join().unwrap();
    assert_eq!(write_err, None);
    let still_dumping = Command::new("kill")
        .arg("-0")
        .arg(dump.id().to_string())
        .status()
        .unwrap()
        .success();
    let out = dump.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        still_dumping,
        "the dump ended before the writes could be checked against it"
    );
    assert!(
        write_secs < 5.0,
        "an INSERT waited {write_secs:.1} s behind the dump"
    );
    for handle in ddl {
        let (secs, err) = handle.join().unwrap();
        assert_eq!(err, None, "DDL failed after waiting {secs:.1} s");
    }
    eprintln!("INSERT during the dump took {write_secs:.3} s");

    // The dump holds every table as it was at the snapshot.
    let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let manifest = common::client::read_manifest(&dir);
    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    assert_eq!(
        dst.query_rows("SELECT id, v, secret FROM d.s1 ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("10".into()), Some("hush".into())],
            vec![Some("2".into()), Some("20".into()), Some("quiet".into())],
        ]
    );
    assert_eq!(
        dst.query_value("SELECT GROUP_CONCAT(who) FROM d.s2")
            .as_deref(),
        Some("s2,s2")
    );
    assert_eq!(
        dst.query_value("SELECT GROUP_CONCAT(who) FROM d.s3")
            .as_deref(),
        Some("s3")
    );
    assert_eq!(
        dst.query_value("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='d' AND TABLE_NAME='s3'")
            .as_deref(),
        Some("2")
    );

    // Replaying the source's binlog from the recorded position reaches the source's state.
    let file = manifest["binlog"]["file"].as_str().unwrap().to_string();
    let position = manifest["binlog"]["position"].as_u64().unwrap();
    src.exec("FLUSH BINARY LOGS");
    let mut logs: Vec<String> = std::fs::read_dir(src.datadir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("mariadb-bin.") && !n.ends_with(".index") && n.as_str() >= file.as_str()
        })
        .collect();
    logs.sort();
    let events = Command::new(find_binary("mariadb-binlog"))
        .arg(format!("--start-position={position}"))
        .args(logs.iter().map(|l| src.datadir().join(l)))
        .output()
        .unwrap();
    assert!(
        events.status.success(),
        "{}",
        String::from_utf8_lossy(&events.stderr)
    );
    let replay = common::client::run_stock_client(dst.socket(), None, &events.stdout);
    assert!(
        replay.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert_same_databases(&src, "d", &dst, "d");
}
