//! `mybak binlog`: the archive holds byte-identical copies of the server's binlog files, survives
//! a killed archiver and a restarted server, and reports purged files as a gap.

mod common;

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::binlog::{
    archive_dir, archived_bytes, archived_entry, archived_names, event_types, mybak_binlog_cmd,
    server_binlog_bytes, server_binlogs,
};
use common::{unique_name, Server};

/// Annotate_rows: present only when the archiver asked for them as MariaDB's replicas do.
const ANNOTATE_ROWS: u8 = 0xa0;

fn once(server: &Server, root: &Path, extra: &[&str]) -> Output {
    mybak_binlog_cmd(server, root)
        .arg("--once")
        .args(extra)
        .output()
        .expect("run mybak binlog")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Some writes of every kind of event group: DDL, row-based and statement-based transactions,
/// a rolled back one, a big row.
fn workload(server: &Server, db: &str, round: u32) {
    server.exec(&format!(
        "CREATE DATABASE IF NOT EXISTS {db};
         CREATE TABLE IF NOT EXISTS {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), b LONGBLOB);
         INSERT INTO {db}.t (v) VALUES ('round {round}'), (UUID());
         BEGIN; UPDATE {db}.t SET v = CONCAT(v, '+') WHERE id % 2 = 0; INSERT INTO {db}.t (v) VALUES (RAND()); COMMIT;
         BEGIN; DELETE FROM {db}.t WHERE id = 1; ROLLBACK;
         INSERT INTO {db}.t (v, b) VALUES ('big', REPEAT('x', 300000));
         ALTER TABLE {db}.t COMMENT 'round {round}';"
    ));
}

/// Every archived file equals the server's file of the same name, byte for byte; returns how many.
fn assert_identical(server: &Server, root: &Path) -> usize {
    let names = archived_names(root);
    for name in &names {
        let ours = archived_bytes(root, name);
        let theirs = server_binlog_bytes(server, name);
        assert!(
            ours == theirs,
            "{name}: archived copy ({} bytes) differs from the server's ({} bytes)",
            ours.len(),
            theirs.len()
        );
        let entry = archived_entry(root, name);
        assert_eq!(entry["size"], theirs.len() as u64, "{name}");
        assert_eq!(entry["sha256"], common::dump::sha256_hex(&theirs), "{name}");
    }
    names.len()
}

#[test]
fn archived_files_are_byte_identical_to_the_servers() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let db = unique_name("arch");
    workload(&server, &db, 1);
    server.exec("FLUSH BINARY LOGS");
    workload(&server, &db, 2);
    let out = once(&server, root.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Everything but the file the server still writes is archived; that one is in the spool.
    let on_server = server_binlogs(&server);
    let (active, closed) = on_server.split_last().unwrap();
    assert_eq!(&archived_names(root.path()), closed);
    let open_path = archive_dir(root.path()).join(format!("{active}.open"));
    // Binlogs hold the data itself: only the owner may read the archive (the default file mode).
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&open_path), 0o600);
    assert_eq!(mode(&archive_dir(root.path())), 0o700);
    assert_eq!(
        mode(&archive_dir(root.path()).join(format!("{}.zst", closed[0]))),
        0o600
    );
    let spooled = std::fs::read(&open_path).unwrap();
    let live = server_binlog_bytes(&server, active);
    assert!(spooled.len() > 4 && spooled.len() <= live.len());
    // The open file on the server's disk has the in-use flag (byte 21) set; the stream has not.
    assert_eq!(spooled[..21], live[..21]);
    assert_eq!(spooled[22..], live[22..spooled.len()]);
    // More writes and rotations, picked up by a second run.
    workload(&server, &db, 3);
    server.exec("FLUSH BINARY LOGS");
    workload(&server, &db, 4);
    server.exec("FLUSH BINARY LOGS");
    let out = once(&server, root.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let n = assert_identical(&server, root.path());
    assert_eq!(n, server_binlogs(&server).len() - 1);
    let all: Vec<u8> = archived_names(root.path())
        .iter()
        .flat_map(|n| event_types(&archived_bytes(root.path(), n)))
        .collect();
    assert!(
        all.contains(&ANNOTATE_ROWS),
        "no Annotate_rows event archived"
    );
    // The index chains the files and carries the GTID range.
    let names = archived_names(root.path());
    for pair in names.windows(2) {
        let entry = archived_entry(root.path(), &pair[0]);
        assert_eq!(entry["next"], pair[1].as_str());
        assert_eq!(entry["ending"], "rotate");
        let next = archived_entry(root.path(), &pair[1]);
        assert_eq!(entry["gtid_end"], next["gtid_start"], "{}", pair[0]);
    }
    assert!(archived_entry(root.path(), &names[1])["last_gtid"]
        .as_str()
        .is_some_and(|g| g.starts_with("0-1-")));
}

/// Starts `mybak binlog` following the server (heartbeat and backoff 1 s), its stderr into `log`.
fn follow(server: &Server, root: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    mybak_binlog_cmd(server, root)
        .args(["--heartbeat", "1", "--max-backoff", "1", "-v"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mybak binlog")
}

/// Waits until `done` holds (up to a minute).
fn wait_for(what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; archiver log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// The archive holds every file the server closed.
fn caught_up(server: &Server, root: &Path) -> bool {
    let on_server = server_binlogs(server);
    archived_names(root) == on_server[..on_server.len() - 1]
}

fn sigterm(child: &mut Child) -> i32 {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn survives_a_killed_archiver_a_cut_transaction_and_a_restarted_server() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("archiver.log");
    let db = unique_name("surv");
    workload(&server, &db, 1);
    let mut archiver = follow(&server, root.path(), &log);
    workload(&server, &db, 2);
    server.exec("FLUSH BINARY LOGS");
    wait_for("the first file", &log, || caught_up(&server, root.path()));
    workload(&server, &db, 3);
    // Killed mid-stream; the file it was receiving loses its last bytes, as if cut mid-write.
    let active = server_binlogs(&server).last().unwrap().clone();
    let spooled = archive_dir(root.path()).join(format!("{active}.open"));
    wait_for("the spool to catch up", &log, || {
        std::fs::metadata(&spooled).map(|m| m.len()).unwrap_or(0)
            == server_binlog_bytes(&server, &active).len() as u64
    });
    archiver.kill().unwrap();
    archiver.wait().unwrap();
    let len = std::fs::metadata(&spooled).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&spooled)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    workload(&server, &db, 4);
    let mut archiver = follow(&server, root.path(), &log);
    workload(&server, &db, 5);
    // The server restarts under the archiver (its file ends with a stop event).
    server.restart();
    workload(&server, &db, 6);
    server.exec("FLUSH BINARY LOGS");
    workload(&server, &db, 7);
    server.exec("FLUSH BINARY LOGS");
    wait_for("every closed file", &log, || {
        caught_up(&server, root.path())
    });
    assert_eq!(
        sigterm(&mut archiver),
        0,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let n = assert_identical(&server, root.path());
    assert!(n >= 4, "{n} files");
    let endings: Vec<String> = archived_names(root.path())
        .iter()
        .map(|n| {
            archived_entry(root.path(), n)["ending"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(endings.contains(&"stop".to_string()), "{endings:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("trying again"),
        "no reconnection logged:\n{text}"
    );
}

#[test]
fn purged_binlog_is_reported_as_a_gap_and_archiving_goes_on() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let db = unique_name("gap");
    workload(&server, &db, 1);
    server.exec("FLUSH BINARY LOGS");
    workload(&server, &db, 2);
    let out = once(&server, root.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let open = server_binlogs(&server).last().unwrap().clone();
    for round in 3..6 {
        workload(&server, &db, round);
        server.exec("FLUSH BINARY LOGS");
    }
    let files = server_binlogs(&server);
    let keep = &files[files.len() - 2];
    // The server purges a file only once InnoDB no longer needs it for crash recovery.
    let start = Instant::now();
    while server_binlogs(&server).first() != Some(keep) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "PURGE did not purge"
        );
        server.exec(&format!("FLUSH ENGINE LOGS; PURGE BINARY LOGS TO '{keep}'"));
        thread::sleep(Duration::from_millis(200));
    }
    let metrics = root.path().join("mybak.prom");
    let hook = root.path().join("hook.out");
    let out = once(
        &server,
        root.path(),
        &[
            "--metrics-file",
            metrics.to_str().unwrap(),
            "--on-failure",
            &format!(
                "echo \"$MYBAK_COMMAND $MYBAK_STATUS\" >> {}",
                hook.display()
            ),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("binlog gap") && err.contains(&open), "{err}");
    // What was received of the purged file is kept and marked; the files after the gap follow.
    let entry = archived_entry(root.path(), &open);
    assert_eq!(entry["ending"], "purged");
    assert_eq!(entry["next"], serde_json::Value::Null);
    assert!(archived_names(root.path()).contains(keep));
    assert_eq!(
        archived_bytes(root.path(), keep),
        server_binlog_bytes(&server, keep)
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("mybak_binlog_gap{") && l.ends_with(" 1")),
        "{text}"
    );
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("binlog failed"));
}

#[test]
fn a_crashed_servers_last_file_is_archived_without_its_rotate() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("archiver.log");
    let db = unique_name("crash");
    workload(&server, &db, 1);
    let mut archiver = follow(&server, root.path(), &log);
    workload(&server, &db, 2);
    let crashed = server_binlogs(&server).last().unwrap().clone();
    let spooled = archive_dir(root.path()).join(format!("{crashed}.open"));
    wait_for("the spool to catch up", &log, || {
        std::fs::metadata(&spooled).map(|m| m.len()).unwrap_or(0)
            == server_binlog_bytes(&server, &crashed).len() as u64
    });
    server.kill();
    server.restart();
    workload(&server, &db, 3);
    server.exec("FLUSH BINARY LOGS");
    wait_for("every closed file", &log, || {
        caught_up(&server, root.path())
    });
    assert_eq!(sigterm(&mut archiver), 0);
    let entry = archived_entry(root.path(), &crashed);
    assert_eq!(entry["ending"], "cut", "{entry}");
    let ours = archived_bytes(root.path(), &crashed);
    let theirs = server_binlog_bytes(&server, &crashed);
    assert_eq!(ours.len(), theirs.len());
    // The server never closed it: its format description still says "in use", in both.
    assert_eq!(theirs[21] & 1, 1);
    assert!(ours == theirs, "the crashed file differs from the server's");
}

#[test]
fn an_archive_on_object_storage_is_byte_identical_too() {
    let s3 = common::S3Server::start();
    s3.create_bucket("binlogs");
    let server = Server::start_new();
    let spool = tempfile::tempdir().unwrap();
    let db = unique_name("s3");
    workload(&server, &db, 1);
    server.exec("FLUSH BINARY LOGS");
    workload(&server, &db, 2);
    server.exec("FLUSH BINARY LOGS");
    let root = Path::new("s3://binlogs/mysql");
    let run = |extra: &[&str]| {
        let mut cmd = mybak_binlog_cmd(&server, root);
        s3.apply(&mut cmd);
        cmd.arg("--s3-endpoint")
            .arg(s3.endpoint())
            .arg("--once")
            .args(extra);
        cmd.output().unwrap()
    };
    // Object storage cannot hold the file being received: a local spool is required.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--spool-dir"), "{}", stderr(&out));
    let out = run(&["--spool-dir", spool.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let on_server = server_binlogs(&server);
    let keys = s3.list_keys("binlogs", "mysql/binlog/1/");
    for name in &on_server[..on_server.len() - 1] {
        assert!(
            keys.contains(&format!("mysql/binlog/1/{name}.json")),
            "{keys:?}"
        );
        let stored = s3.get_object("binlogs", &format!("mysql/binlog/1/{name}.zst"));
        let ours = zstd::decode_all(&stored[..]).unwrap();
        assert!(ours == server_binlog_bytes(&server, name), "{name} differs");
    }
    let active = on_server.last().unwrap();
    assert!(spool.path().join(format!("{active}.open")).exists());
    assert!(
        !keys.iter().any(|k| k.contains(active.as_str())),
        "{keys:?}"
    );
    // The spool from the config file's [binlog] section, as the service would run it.
    workload(&server, &db, 3);
    server.exec("FLUSH BINARY LOGS");
    let config = spool.path().join("mybak.toml");
    std::fs::write(
        &config,
        format!(
            "[binlog]\nspool-dir = {:?}\n",
            spool.path().to_str().unwrap()
        ),
    )
    .unwrap();
    let out = run(&["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let keys = s3.list_keys("binlogs", "mysql/binlog/1/");
    assert!(
        keys.contains(&format!("mysql/binlog/1/{active}.zst")),
        "{keys:?}"
    );
}

#[test]
fn a_silent_link_is_noticed_and_the_archiver_reconnects() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("archiver.log");
    let db = unique_name("silent");
    workload(&server, &db, 1);
    let mut archiver = follow(&server, root.path(), &log);
    server.exec("FLUSH BINARY LOGS");
    wait_for("the first file", &log, || caught_up(&server, root.path()));
    // The server stops answering (SIGSTOP) but keeps the connection open: only the missing
    // heartbeats tell.
    server.pause();
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("not even a heartbeat")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the silence went unnoticed:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        thread::sleep(Duration::from_millis(100));
    }
    server.resume();
    workload(&server, &db, 2);
    server.exec("FLUSH BINARY LOGS");
    wait_for("the files written after", &log, || {
        caught_up(&server, root.path())
    });
    assert_eq!(sigterm(&mut archiver), 0);
    assert_identical(&server, root.path());
}

#[test]
fn what_cannot_be_archived_is_said_in_one_line_with_exit_2() {
    let root = tempfile::tempdir().unwrap();
    // Binary logging off.
    let off = Server::start_with(common::ServerOptions::default().arg("--skip-log-bin"));
    let out = once(&off, root.path(), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("binary logging is off"), "{err}");
    assert!(!root.path().join("binlog").exists());
    // A start file the server does not have.
    let server = Server::start_new();
    let out = once(&server, root.path(), &["--start-file", "nope-bin.000001"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--start-file nope-bin.000001"), "{err}");
    // An account without replication privileges.
    let user = unique_name("norepl");
    server.exec(&format!(
        "CREATE USER '{user}'@'localhost'; GRANT BINLOG MONITOR ON *.* TO '{user}'@'localhost'"
    ));
    let out = common::mybak_bare()
        .arg("binlog")
        .arg(root.path())
        .args(["--no-defaults", "--once", "--progress", "never", "--socket"])
        .arg(server.socket())
        .args(["--user", &user])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ERROR 1227"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("error:")).count(),
        1,
        "{err}"
    );
}
