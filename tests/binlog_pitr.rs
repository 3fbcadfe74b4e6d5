//! Point-in-time recovery end to end: writers run while a dump is taken and the archiver follows
//! the server (killed and restarted once, the server restarted once); a bad DELETE at a known
//! moment; `restore --until` that moment gives exactly the source's state captured then; a
//! purged binlog is a reported gap.

mod common;

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::{Local, TimeZone};
use mysql::prelude::Queryable;

use common::binlog::{archive_dir, mybak_binlog_cmd, server_binlog_bytes, server_binlogs};
use common::{dump_databases, mybak_restore_cmd, unique_name, Server};

const TABLES: [&str; 2] = ["orders", "items"];

/// Writers that insert, update and delete in transactions until stopped; they pause on request
/// and ride out a server restart by reconnecting.
struct Writers {
    stop: Arc<AtomicBool>,
    pause: Arc<AtomicBool>,
    paused: Arc<AtomicUsize>,
    threads: Vec<thread::JoinHandle<u64>>,
}

impl Writers {
    fn start(server: &Server, db: &str, n: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let pause = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicUsize::new(0));
        let threads = (0..n)
            .map(|w| {
                let (stop, pause, paused) = (stop.clone(), pause.clone(), paused.clone());
                let socket = server.socket_str().to_string();
                let db = db.to_string();
                thread::spawn(move || write_loop(&socket, &db, w, &stop, &pause, &paused))
            })
            .collect();
        Writers {
            stop,
            pause,
            paused,
            threads,
        }
    }

    /// Waits until every writer is between transactions and holds there.
    fn pause(&self) {
        self.pause.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while self.paused.load(Ordering::SeqCst) < self.threads.len() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "writers do not pause"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn resume(&self) {
        self.pause.store(false, Ordering::SeqCst);
    }

    /// Stops them; returns how many transactions they committed.
    fn stop(self) -> u64 {
        self.resume();
        self.stop.store(true, Ordering::SeqCst);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

fn connect(socket: &str) -> Option<mysql::Conn> {
    let opts = mysql::OptsBuilder::new()
        .socket(Some(socket))
        .user(Some("root"))
        .prefer_socket(false);
    mysql::Conn::new(opts).ok()
}

fn write_loop(
    socket: &str,
    db: &str,
    writer: usize,
    stop: &AtomicBool,
    pause: &AtomicBool,
    paused: &AtomicUsize,
) -> u64 {
    let mut committed = 0u64;
    let mut conn: Option<mysql::Conn> = None;
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if pause.load(Ordering::SeqCst) {
            paused.fetch_add(1, Ordering::SeqCst);
            while pause.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(5));
            }
            paused.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let Some(c) = conn.as_mut() else {
            conn = connect(socket);
            if conn.is_none() {
                thread::sleep(Duration::from_millis(100));
            }
            continue;
        };
        i += 1;
        let sql = format!(
            "START TRANSACTION;
             INSERT INTO {db}.orders (writer, note, amount) VALUES ({writer}, CONCAT('w{writer}-', {i}, '-', UUID()), RAND() * 1000);
             UPDATE {db}.items SET qty = qty + 1, touched = NOW(6) WHERE id = 1 + ({i} * 7 + {writer}) % 50;
             DELETE FROM {db}.orders WHERE writer = {writer} AND id % 17 = {i} % 17 LIMIT 1;
             COMMIT"
        );
        match c.query_drop(&sql) {
            Ok(()) => committed += 1,
            Err(_) => {
                conn = None;
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    committed
}

fn follow(server: &Server, root: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    mybak_binlog_cmd(server, root)
        .args(["--heartbeat", "1", "--max-backoff", "1"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mybak binlog")
}

/// Waits until the archiver has received everything the server wrote so far.
fn wait_caught_up(server: &Server, root: &Path, log: &Path) {
    let start = Instant::now();
    loop {
        let files = server_binlogs(server);
        let active = files.last().unwrap();
        let spooled = archive_dir(root).join(format!("{active}.open"));
        let have = std::fs::metadata(&spooled).map(|m| m.len()).unwrap_or(0);
        if have > 4 && have == server_binlog_bytes(server, active).len() as u64 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the archiver does not catch up:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Every row of every table of `db`, in primary key order.
fn state(server: &Server, db: &str) -> Vec<Vec<Vec<Option<String>>>> {
    TABLES
        .iter()
        .map(|t| server.query_rows(&format!("SELECT * FROM {db}.{t} ORDER BY id")))
        .collect()
}

/// The GTID just before `gtid` in its domain (`0-1-41` for `0-1-42`): where a replay that
/// stops just before it ends.
fn bad_gtid_before(gtid: &str) -> String {
    let (head, seq) = gtid.rsplit_once('-').unwrap();
    format!("{head}-{}", seq.parse::<u64>().unwrap() - 1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn restore_until_just_before_a_bad_delete_gives_the_state_of_that_moment() {
    let source = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("archiver.log");
    let db = unique_name("pitr");
    source.exec(&format!(
        "CREATE DATABASE {db};
         CREATE TABLE {db}.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, writer INT, note VARCHAR(100),
             amount DOUBLE, created TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6));
         CREATE TABLE {db}.items (id INT PRIMARY KEY, qty INT NOT NULL, touched DATETIME(6));
         INSERT INTO {db}.items SELECT seq, 0, NULL FROM {db}.seq_1_to_50;"
    ));
    let mut archiver = follow(&source, root.path(), &log);
    let writers = Writers::start(&source, &db, 2);
    thread::sleep(Duration::from_millis(500));
    // A dump taken while they write.
    let dump = dump_databases(&source, root.path(), &db, &[]);
    thread::sleep(Duration::from_millis(500));
    // The archiver killed and started again; the server restarted under it.
    archiver.kill().unwrap();
    archiver.wait().unwrap();
    thread::sleep(Duration::from_millis(300));
    let mut archiver = follow(&source, root.path(), &log);
    thread::sleep(Duration::from_millis(300));
    source.restart();
    thread::sleep(Duration::from_millis(700));
    source.exec("FLUSH BINARY LOGS");
    thread::sleep(Duration::from_millis(300));
    // The moment: writers held, the state captured, then the bad DELETE in a second of its own.
    writers.pause();
    let expected = state(&source, &db);
    let now = chrono::Utc::now();
    let next_second = 1_000 - now.timestamp_subsec_millis() as u64;
    thread::sleep(Duration::from_millis(next_second + 100));
    let mut c = source.conn();
    let at: i64 = c.query_first("SELECT UNIX_TIMESTAMP()").unwrap().unwrap();
    c.query_drop(format!("DELETE FROM {db}.orders WHERE amount < 500"))
        .unwrap();
    let bad_gtid: String = c.query_first("SELECT @@last_gtid").unwrap().unwrap();
    drop(c);
    writers.resume();
    thread::sleep(Duration::from_millis(800));
    let committed = writers.stop();
    assert!(committed > 20, "only {committed} transactions written");
    wait_caught_up(&source, root.path(), &log);
    let moment = Local
        .timestamp_opt(at, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();

    // The plan: which dump, which files, how much.
    let target = Server::start_new();
    let out = mybak_restore_cmd(&target, root.path())
        .args(["--until", &moment, "--dry-run"])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{plan}{}", stderr(&out));
    assert!(plan.contains(dump.to_str().unwrap()), "{plan}");
    assert!(plan.contains("transactions"), "{plan}");
    assert!(target
        .query_rows("SHOW DATABASES")
        .iter()
        .all(|r| r[0].as_deref() != Some(db.as_str())));

    // To the second of the DELETE, exclusive: the state captured just before it.
    let out = mybak_restore_cmd(&target, root.path())
        .args(["--until", &moment])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(" transactions="), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("replayed") && said.contains(&bad_gtid_before(&bad_gtid)),
        "{said}"
    );
    assert!(
        state(&target, &db) == expected,
        "the restored state differs from the captured one"
    );

    // The same by GTID, over it.
    let out = mybak_restore_cmd(&target, root.path())
        .args(["--until", &bad_gtid, "--drop-existing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        state(&target, &db) == expected,
        "restored by GTID, the state differs"
    );

    // The writers name their database in their statements: renaming it cannot be replayed, and
    // is refused before anything is restored (it would write into the original).
    let copy = format!("{db}_copy");
    let out = mybak_restore_cmd(&target, root.path())
        .args([
            "--until",
            &bad_gtid,
            "--rename-database",
            &format!("{db}={copy}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot rewrite"), "{}", stderr(&out));
    assert!(target
        .query_rows("SHOW DATABASES")
        .iter()
        .all(|r| r[0].as_deref() != Some(copy.as_str())));

    // A target past the archive's end is refused before anything is restored.
    let later = Local
        .timestamp_opt(at + 3600, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let out = mybak_restore_cmd(&target, root.path())
        .args(["--until", &later, "--drop-existing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not reach"), "{}", stderr(&out));

    // Binlog purged on the server before it was archived: a gap, reported.
    let code = {
        let pid = nix::unistd::Pid::from_raw(archiver.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        archiver.wait().unwrap().code()
    };
    assert_eq!(code, Some(0), "{}", std::fs::read_to_string(&log).unwrap());
    for _ in 0..3 {
        source.exec(&format!(
            "INSERT INTO {db}.items VALUES (1000 + RAND() * 1000000, 1, NULL); FLUSH BINARY LOGS"
        ));
    }
    let files = server_binlogs(&source);
    let keep = files.last().unwrap().clone();
    let start = Instant::now();
    while server_binlogs(&source).first() != Some(&keep) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "PURGE did not purge"
        );
        source.exec(&format!("FLUSH ENGINE LOGS; PURGE BINARY LOGS TO '{keep}'"));
        thread::sleep(Duration::from_millis(200));
    }
    let out = mybak_binlog_cmd(&source, root.path())
        .arg("--once")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("binlog gap"), "{}", stderr(&out));
}

#[test]
fn point_in_time_recovery_from_object_storage() {
    let s3 = common::S3Server::start();
    s3.create_bucket("pitr");
    let source = Server::start_new();
    let spool = tempfile::tempdir().unwrap();
    let root = "s3://pitr/db1";
    let with_s3 = |mut cmd: std::process::Command| {
        s3.apply(&mut cmd);
        cmd.arg("--s3-endpoint").arg(s3.endpoint());
        cmd
    };
    let db = unique_name("s3pitr");
    source.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.orders (id INT PRIMARY KEY, amount INT);
         CREATE TABLE {db}.items (id INT PRIMARY KEY, qty INT);
         INSERT INTO {db}.orders VALUES (1, 10), (2, 20); INSERT INTO {db}.items VALUES (1, 1);"
    ));
    let out = with_s3(common::dump_into(&source, root, &db, &[]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    source.exec(&format!(
        "INSERT INTO {db}.orders VALUES (3, 30); UPDATE {db}.items SET qty = qty + 5"
    ));
    let expected = state(&source, &db);
    let mut c = source.conn();
    c.query_drop(format!("DELETE FROM {db}.orders")).unwrap();
    let bad_gtid: String = c.query_first("SELECT @@last_gtid").unwrap().unwrap();
    drop(c);
    source.exec(&format!(
        "INSERT INTO {db}.orders VALUES (9, 90); FLUSH BINARY LOGS"
    ));
    let out = with_s3(mybak_binlog_cmd(&source, Path::new(root)))
        .args(["--once", "--spool-dir", spool.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let target = Server::start_new();
    let out = with_s3(mybak_restore_cmd(&target, Path::new(root)))
        .args(["--until", &bad_gtid])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        state(&target, &db) == expected,
        "the state restored from S3 differs"
    );
}
