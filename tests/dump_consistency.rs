//! Consistency of `mybak dump`: one point in time across workers, binlog coordinates, the global lock's
//! wait limit, and the modes for accounts without the RELOAD privilege.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::client::read_manifest;
use common::{mybak_cmd, unique_name, Server};

fn dump(server: &Server, root: &Path, args: &[&str]) -> Output {
    mybak_cmd(server)
        .arg("--output-dir")
        .arg(root)
        .args(args)
        .output()
        .expect("run mybak")
}

fn dump_dir(out: &Output) -> PathBuf {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout:?}");
    PathBuf::from(stdout.trim_end())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn workers_share_one_snapshot_while_writers_commit() {
    let server = Server::shared();
    let db = unique_name("snap");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB;
         CREATE TABLE b (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB;
         CREATE TABLE c (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB;
         INSERT INTO a (pad) SELECT REPEAT('x', 200) FROM seq_1_to_30000;
         INSERT INTO b (pad) SELECT pad FROM a; INSERT INTO c (pad) SELECT pad FROM a;"
    ));
    // A writer keeps committing one row into each table per transaction: every consistent
    // snapshot sees the three tables with equal row counts.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut conn = server.conn();
        let db = db.clone();
        std::thread::spawn(move || {
            use mysql::prelude::Queryable;
            let mut commits = 0u64;
            while !stop.load(Ordering::Relaxed) {
                conn.query_drop(format!(
                    "START TRANSACTION; INSERT INTO {db}.a (pad) VALUES ('w'); \
                     INSERT INTO {db}.b (pad) VALUES ('w'); INSERT INTO {db}.c (pad) VALUES ('w'); COMMIT"
                ))
                .unwrap();
                commits += 1;
            }
            commits
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let root = tempfile::tempdir().unwrap();
    let out = dump(server, root.path(), &["--databases", &db, "--threads", "3"]);
    stop.store(true, Ordering::Relaxed);
    let commits = writer.join().unwrap();
    assert!(commits > 0, "the writer never committed");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = read_manifest(&dump_dir(&out));
    assert_eq!(manifest["consistency"], "snapshot");
    let rows: Vec<u64> = manifest["databases"][0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| *r == rows[0]) && rows[0] >= 30000,
        "tables read at different points in time: {rows:?}"
    );
    let binlog = &manifest["binlog"];
    assert!(
        binlog["file"].as_str().is_some_and(|f| !f.is_empty()),
        "{binlog}"
    );
    assert!(
        binlog["position"].as_u64().is_some_and(|p| p > 0),
        "{binlog}"
    );
    assert!(
        binlog["gtid"].as_str().is_some_and(|g| !g.is_empty()),
        "{binlog}"
    );
}

#[test]
fn binlog_coordinates_are_those_of_the_snapshot() {
    let server = Server::start_new();
    server.exec("CREATE DATABASE d1; CREATE TABLE d1.t (id INT PRIMARY KEY); INSERT INTO d1.t VALUES (1),(2)");
    let status = server.query_rows("SHOW MASTER STATUS");
    let gtid = server
        .query_value("SELECT @@GLOBAL.gtid_binlog_pos")
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = dump(&server, root.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = read_manifest(&dump_dir(&out));
    assert_eq!(manifest["binlog"]["file"], status[0][0].clone().unwrap());
    assert_eq!(
        manifest["binlog"]["position"].as_u64().unwrap().to_string(),
        status[0][1].clone().unwrap()
    );
    assert_eq!(manifest["binlog"]["gtid"], gtid);
}

#[test]
fn lock_wait_timeout_names_the_blocking_statement() {
    let server = Server::shared();
    let db = unique_name("lockwait");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.m (x INT) ENGINE=MyISAM; INSERT INTO {db}.m VALUES (1)"
    ));
    let mut conn = server.conn();
    let blocker_id = conn.connection_id();
    let blocker = {
        let db = db.clone();
        std::thread::spawn(move || {
            use mysql::prelude::Queryable;
            conn.query_drop(format!("UPDATE {db}.m SET x = x + SLEEP(6)"))
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let root = tempfile::tempdir().unwrap();
    let out = dump(
        server,
        root.path(),
        &["--databases", &db, "--lock-wait-timeout", "1"],
    );
    blocker.join().unwrap().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("id {blocker_id} (root@localhost, Query for "))
            && err.contains(&format!("UPDATE {db}.m SET x = x + SLEEP(6)")),
        "the blocking session is not named: {err}"
    );
    assert!(err.contains("within 1 s"), "{err}");
    assert_eq!(
        common::root_entries(root.path()).len(),
        0,
        "a failed lock must leave nothing behind"
    );
}

#[test]
fn an_account_without_reload_is_told_to_use_per_table() {
    let server = Server::shared();
    let db = unique_name("noreload");
    let user = unique_name("ro");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1),(2),(3);
         CREATE USER '{user}'@'localhost' IDENTIFIED BY 'pw-{user}';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON {db}.* TO '{user}'@'localhost';"
    ));
    let run = |args: &[&str]| {
        let root = tempfile::tempdir().unwrap();
        let out = common::mybak_cmd_as(server, &user)
            .env("MYSQL_PWD", format!("pw-{user}"))
            .arg("--output-dir")
            .arg(root.path())
            .arg("--databases")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        (out, root)
    };
    let (out, root) = run(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("RELOAD") && err.contains("--consistency=per-table"),
        "{err}"
    );
    assert_eq!(common::root_entries(root.path()).len(), 0);

    let (out, _root) = run(&["--consistency", "per-table"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = read_manifest(&dump_dir(&out));
    assert_eq!(manifest["consistency"], "per-table");
    assert_eq!(manifest["databases"][0]["tables"][0]["rows"], 3);
}
