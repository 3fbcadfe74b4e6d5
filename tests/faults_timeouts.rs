//! Timeouts: a server that stops answering (`SIGSTOP`) ends the run with a message naming what
//! timed out, instead of stalling it forever. Each test starts its own server, as it stops it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{mybak_bare, mybak_cmd, mybak_restore_cmd, mybak_verify_cmd, Server};

/// How a command ended: exit code, stdout, stderr, and how long it took.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `cmd`, killing it (and failing the test) if it is still running after `limit`.
fn run_within(cmd: Command, limit: Duration) -> Ended {
    let (out, took) = common::dump::run_within(cmd, limit);
    Ended {
        code: out.code,
        stdout: out.stdout,
        stderr: out.stderr,
        took,
    }
}

/// Resumes the server when dropped, so a failing test still lets the harness stop it.
struct Paused<'a>(&'a Server);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.0.resume();
    }
}

fn pause(server: &Server) -> Paused<'_> {
    server.pause();
    Paused(server)
}

/// The dump directories in `root` (the lock file left out).
fn dumps_in(root: &Path) -> Vec<String> {
    common::root_entries(root)
}

/// `t.sql.zst` or `t.00001.sql.zst`: the rows of table `t`.
fn is_rows_file(name: &str) -> bool {
    name.starts_with("t.") && name.ends_with(".sql.zst") && name != "t.schema.sql.zst"
}

const CONNECT_LIMIT: Duration = Duration::from_secs(20);

fn assert_connect_timeout(what: &str, ended: &Ended, endpoint: &str) {
    eprintln!("{what}: {:?}\n{}", ended.took, ended.stderr);
    assert_eq!(ended.code, Some(2), "{what}: {}", ended.stderr);
    assert!(ended.took < CONNECT_LIMIT, "{what}: took {:?}", ended.took);
    assert!(
        ended
            .stderr
            .contains("did not answer within 2s (connect-timeout)"),
        "{what}: {}",
        ended.stderr
    );
    assert!(ended.stderr.contains(endpoint), "{what}: {}", ended.stderr);
    assert!(ended.stdout.is_empty(), "{what}: {}", ended.stdout);
}

#[test]
fn connecting_to_a_stopped_server_times_out() {
    let server = Server::start_new();
    server.exec(
        "CREATE DATABASE ct; CREATE TABLE ct.t (id INT PRIMARY KEY); INSERT INTO ct.t VALUES (1);",
    );
    let dumps = tempfile::tempdir().unwrap();
    let dump = common::dump_databases(&server, dumps.path(), "ct", &[]);
    let root = tempfile::tempdir().unwrap();
    let _paused = pause(&server);

    let mut socket = mybak_cmd(&server);
    socket
        .args(["--connect-timeout", "2", "--output-dir"])
        .arg(root.path());
    let ended = run_within(socket, Duration::from_secs(120));
    assert_connect_timeout("dump over the socket", &ended, server.socket_str());

    let port = server.port().to_string();
    let mut tcp = mybak_bare();
    tcp.args([
        "dump",
        "--no-defaults",
        "-h",
        "127.0.0.1",
        "-P",
        &port,
        "-u",
        "root",
    ])
    .args([
        "--progress",
        "never",
        "--connect-timeout",
        "2",
        "--output-dir",
    ])
    .arg(root.path());
    let ended = run_within(tcp, Duration::from_secs(120));
    assert_connect_timeout("dump over TCP", &ended, &format!("127.0.0.1:{port}"));
    assert!(
        dumps_in(root.path()).is_empty(),
        "{:?}",
        dumps_in(root.path())
    );

    let mut restore = mybak_restore_cmd(&server, &dump);
    restore.args(["--rename-database", "ct=ct2", "--connect-timeout", "2"]);
    let ended = run_within(restore, Duration::from_secs(120));
    assert_connect_timeout("restore", &ended, server.socket_str());

    let mut verify = mybak_verify_cmd(&dump);
    verify
        .args([
            "--restore-test",
            "--no-defaults",
            "--user",
            "root",
            "--socket",
        ])
        .arg(server.socket())
        .args(["--connect-timeout", "2"]);
    let ended = run_within(verify, Duration::from_secs(120));
    assert_connect_timeout("verify --restore-test", &ended, server.socket_str());
}

#[test]
fn a_server_that_stops_answering_mid_dump_ends_the_run() {
    let server = Server::start_new();
    server.exec(
        "CREATE DATABASE st; USE st;
         CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, c CHAR(200));
         INSERT INTO t (c) SELECT REPEAT(MD5(seq), 6) FROM seq_1_to_300000;",
    );
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(&server);
    // A slow compression level keeps the dump busy long enough to be caught mid-table.
    cmd.args([
        "--databases",
        "st",
        "--threads",
        "1",
        "--compress-level",
        "19",
    ])
    .args([
        "--net-timeout",
        "3",
        "--lock-wait-timeout",
        "2",
        "--output-dir",
    ])
    .arg(root.path());
    let root_path = root.path().to_path_buf();
    let watcher = std::thread::spawn({
        let deadline = Instant::now() + Duration::from_secs(60);
        move || loop {
            // Stop the server once rows are being written.
            let writing = std::fs::read_dir(&root_path).unwrap().flatten().any(|e| {
                std::fs::read_dir(e.path().join("st")).is_ok_and(|mut d| {
                    d.any(|f| f.is_ok_and(|f| is_rows_file(&f.file_name().to_string_lossy())))
                })
            });
            if writing || Instant::now() > deadline {
                return writing;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let server_ref = &server;
    let ended = std::thread::scope(|scope| {
        let pauser = scope.spawn(move || {
            let writing = watcher.join().unwrap();
            let paused = pause(server_ref);
            (writing, paused)
        });
        let ended = run_within(cmd, Duration::from_secs(60));
        let (writing, paused) = pauser.join().unwrap();
        assert!(writing, "the dump wrote no rows file: {}", ended.stderr);
        drop(paused);
        ended
    });
    eprintln!("mid-dump: {:?}\n{}", ended.took, ended.stderr);
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert!(
        ended
            .stderr
            .contains("lost the connection to the server while reading table `st`.`t`"),
        "{}",
        ended.stderr
    );
    assert!(
        ended
            .stderr
            .contains("no answer from the server within 3s (net-timeout)"),
        "{}",
        ended.stderr
    );
    assert!(ended.stdout.is_empty(), "{}", ended.stdout);
    let names = dumps_in(root.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".partial"), "{names:?}");
}
