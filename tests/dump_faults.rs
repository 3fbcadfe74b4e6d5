//! Faults during a dump: the server dying half-way is an error, and the dump stays `.partial`.

mod common;

use std::time::{Duration, Instant};

use common::{mybak_cmd, Server};

#[test]
fn a_server_that_dies_mid_dump_leaves_only_a_partial_directory() {
    let server = Server::start_new();
    server.exec(
        "CREATE DATABASE f; USE f;
         CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, c CHAR(200));
         INSERT INTO t (c) SELECT REPEAT(MD5(seq), 6) FROM seq_1_to_600000;
         CREATE TABLE u LIKE t; INSERT INTO u SELECT * FROM t;",
    );
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(&server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--threads", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Kill the server once rows are being written.
    loop {
        let writing = std::fs::read_dir(root.path())
            .unwrap()
            .flatten()
            .any(|e| std::fs::read_dir(e.path().join("f")).is_ok_and(|mut d| d.next().is_some()));
        if writing || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    server.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lost the connection to the server"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "a dump dir was announced: {:?}",
        out.stdout
    );
    let names = common::root_entries(root.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".partial"), "{names:?}");
}
