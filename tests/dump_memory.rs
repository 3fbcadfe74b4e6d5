//! Memory stays bounded: a dump's peak RSS does not grow with table size, and a huge row costs
//! at most about twice its size on top of a fixed base.

mod common;

use std::process::Command;

use common::{mybak_cmd, unique_name, Server};

/// Dumps `db` of `server` with two threads; returns (exit code, peak RSS of mybak in bytes).
fn dump_measured(server: &Server, db: &str) -> (i32, u64) {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", db, "--threads", "2"]);
    run_measured(cmd)
}

/// Runs `cmd` to completion; returns (exit code, peak RSS of that process in bytes).
fn run_measured(cmd: Command) -> (i32, u64) {
    let (code, rss, _) = common::run_measured(cmd);
    (code, rss)
}

const MB: u64 = 1 << 20;

#[test]
fn many_rows_do_not_grow_memory() {
    let server = Server::shared();
    let db = unique_name("mem");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE a (id INT PRIMARY KEY, c CHAR(120), pad CHAR(60));
         INSERT INTO a SELECT seq, REPEAT(MD5(seq), 3), MD5(seq) FROM seq_1_to_300000;
         CREATE TABLE b LIKE a; INSERT INTO b SELECT * FROM a;"
    ));
    let (code, rss) = dump_measured(server, &db);
    assert_eq!(code, 0);
    eprintln!("peak RSS {} MB", rss / MB);
    assert!(rss < 100 * MB, "peak RSS {} MB", rss / MB);
}

#[test]
fn a_huge_row_costs_at_most_about_twice_its_size() {
    let server = Server::shared();
    let db = unique_name("huge");
    let row = 48 * MB;
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT);
         INSERT INTO t VALUES (1, REPEAT(UNHEX('00FF'), 12*1024*1024), REPEAT('x', 24*1024*1024)),
                              (2, REPEAT(UNHEX('7F'), 32*1024*1024), REPEAT('é', 8*1024*1024)),
                              (3, 'small', 'small');"
    ));
    let (code, rss) = dump_measured(server, &db);
    assert_eq!(code, 0);
    eprintln!("peak RSS {} MB for rows of {} MB", rss / MB, row / MB);
    assert!(
        rss < 100 * MB + 2 * row,
        "peak RSS {} MB for rows of {} MB",
        rss / MB,
        row / MB
    );
}

#[test]
fn huge_statements_are_restored_one_at_a_time() {
    let server = Server::shared();
    let db = unique_name("hugeres");
    let row = 40 * MB;
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE a (id INT PRIMARY KEY, t LONGTEXT); CREATE TABLE b LIKE a; CREATE TABLE c LIKE a;
         INSERT INTO a VALUES (1, REPEAT('x', 40*1024*1024));
         INSERT INTO b SELECT * FROM a; INSERT INTO c SELECT * FROM a;"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = common::dump_databases(server, root.path(), &db, &[]);
    let mut cmd = common::mybak_restore_cmd(server, &dir);
    let copy = format!("{db}_r");
    cmd.args([
        "--threads",
        "3",
        "--rename-database",
        &format!("{db}={copy}"),
    ]);
    let (code, rss, stderr) = common::run_measured(cmd);
    assert_eq!(code, 0, "{stderr}");
    eprintln!(
        "restore peak RSS {} MB for statements of {} MB",
        rss / MB,
        row / MB
    );
    // Three threads, three huge statements: held one at a time (each costs about five times
    // its size while sent), not three at once.
    assert!(
        rss < 100 * MB + 6 * row,
        "restore peak RSS {} MB for statements of {} MB",
        rss / MB,
        row / MB
    );
    let (code, rss, stderr) = common::run_measured(common::mybak_verify_cmd(&dir));
    assert_eq!(code, 0, "{stderr}");
    assert!(rss < 100 * MB + 2 * row, "verify peak RSS {} MB", rss / MB);
    server.exec(&format!("DROP DATABASE {db}; DROP DATABASE {copy}"));
}

#[test]
fn a_huge_blob_is_dumped_without_holding_its_hex_text() {
    let server = Server::shared();
    let db = unique_name("hugeblob");
    let row = 100 * MB;
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB);
         INSERT INTO t VALUES (1, REPEAT(UNHEX('00FF5C27'), 25*1024*1024)), (2, 'small');"
    ));
    let (code, rss) = dump_measured(server, &db);
    assert_eq!(code, 0);
    eprintln!("peak RSS {} MB for a BLOB of {} MB", rss / MB, row / MB);
    // Its 200 MB of hex SQL are written in pieces: the driver's copies of the row, not the text.
    assert!(
        rss < 100 * MB + 2 * row,
        "peak RSS {} MB for a BLOB of {} MB",
        rss / MB,
        row / MB
    );
    server.exec(&format!("DROP DATABASE {db}"));
}

#[test]
fn a_huge_row_restores_in_under_twice_its_size() {
    let server = Server::shared();
    let db = unique_name("hugerow");
    let row = 64 * MB;
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE b (id INT PRIMARY KEY, v LONGBLOB);
         INSERT INTO b VALUES (1, REPEAT(UNHEX('00FF5C27'), 16*1024*1024)), (2, 'small');"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = common::dump_databases(server, root.path(), &db, &[]);
    let copy = format!("{db}_r");
    let mut cmd = common::mybak_restore_cmd(server, &dir);
    cmd.args(["--rename-database", &format!("{db}={copy}")]);
    let (code, rss, stderr) = common::run_measured(cmd);
    assert_eq!(code, 0, "{stderr}");
    eprintln!(
        "restore peak RSS {} MB for rows of {} MB",
        rss / MB,
        row / MB
    );
    // The BLOB is 128 MB of hex SQL: decoded in its own memory and sent in pieces, never copied whole.
    assert!(
        rss < 100 * MB + 2 * row,
        "restore peak RSS {} MB for rows of {} MB",
        rss / MB,
        row / MB
    );
    let sum = |d: &str| {
        server.query_value(&format!(
            "SELECT MD5(GROUP_CONCAT(MD5(v) ORDER BY id)) FROM {d}.b"
        ))
    };
    assert_eq!(sum(&copy), sum(&db));
    server.exec(&format!("DROP DATABASE {db}; DROP DATABASE {copy}"));
}
