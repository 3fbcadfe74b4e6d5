//! A panic (a bug) is contained: one error line naming it, exit 2, and the cleanups still run —
//! the test restore's scratch databases are dropped, a dump stays `.partial` and its lock is released.
//! Panics are injected with the debug-build failpoint `MYBAK_FAILPOINT`.

mod common;

use common::dump::{run_dump, DumpOutput};
use common::{
    dump_databases, mybak_cmd, mybak_restore_cmd, mybak_verify_cmd, root_entries, unique_name,
    Server,
};

/// The stderr of a contained panic: one error line naming the failpoint, no panic report.
fn assert_one_error_line(out: &DumpOutput, point: &str) {
    out.assert_code(2);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains("internal error"), "{}", out.stderr);
    assert!(
        errors[0].contains(&format!("failpoint {point} reached")),
        "{}",
        out.stderr
    );
    for noise in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!out.stderr.contains(noise), "{noise}: {}", out.stderr);
    }
}

fn small_database(server: &Server) -> String {
    let db = unique_name("pan");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.a (id INT PRIMARY KEY, v TEXT); \
         INSERT INTO {db}.a VALUES (1,'x'),(2,'y'); CREATE TABLE {db}.b (id INT PRIMARY KEY); \
         INSERT INTO {db}.b VALUES (1)"
    ));
    db
}

fn databases(server: &Server) -> Vec<Vec<Option<String>>> {
    server.query_rows("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
}

#[test]
fn a_panic_in_a_test_restore_drops_the_scratch_databases() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    let scratch = Server::start_new();
    let before = databases(&scratch);
    let mut cmd = mybak_verify_cmd(&dir);
    cmd.args(["--restore-test", "--no-defaults", "--socket"])
        .arg(scratch.socket())
        .args(["--user", "root"])
        .env("MYBAK_FAILPOINT", "restore-data")
        .env_remove("RUST_BACKTRACE");
    let out = run_dump(cmd);
    assert_one_error_line(&out, "restore-data");
    assert!(out.stderr.contains("status=failed"), "{}", out.stderr);
    assert_eq!(databases(&scratch), before, "scratch databases left behind");
}

#[test]
fn a_panic_in_a_dump_leaves_it_partial_and_the_root_unlocked() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", &db])
        .env("MYBAK_FAILPOINT", "dump-table")
        .env_remove("RUST_BACKTRACE");
    let out = run_dump(cmd);
    assert_one_error_line(&out, "dump-table");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let entries = root_entries(root.path());
    assert!(
        entries
            .iter()
            .all(|e| e.ends_with(".partial") || e.starts_with('.')),
        "{entries:?}"
    );
    // The lock went with the process: the next run works.
    let dir = dump_databases(server, root.path(), &db, &[]);
    assert!(dir.is_dir());
}

#[test]
fn a_panic_in_a_restore_is_one_error_line() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    let target = Server::start_new();
    let mut cmd = mybak_restore_cmd(&target, &dir);
    cmd.env("MYBAK_FAILPOINT", "restore-data")
        .env_remove("RUST_BACKTRACE");
    let out = run_dump(cmd);
    assert_one_error_line(&out, "restore-data");
}
