//! `mybak restore` against a busy or unusually configured target: a statement rolled back by a
//! lock conflict is sent again, and rows are committed whatever the server's `autocommit` default.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::exec_on;
use common::dump::run_dump;
use common::server::ServerOptions;
use common::{dump_databases, mybak_restore_cmd, unique_name, Server};

const ROWS: u64 = 30_000;

fn source_with_rows(db: &str) -> &'static Server {
    let src = Server::shared();
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40)); \
         INSERT INTO {db}.t SELECT seq, MD5(seq) FROM {db}.seq_1_to_{ROWS};"
    ));
    src
}

fn count(server: &Server, db: &str) -> u64 {
    server
        .query_value(&format!("SELECT COUNT(*) FROM {db}.t"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits for the restore to create `db`.`t`, then locks the whole table (and the gap after its
/// last row, where the next INSERT goes) for `hold`. Returns how many rows the table had when the
/// lock was taken.
fn hold_table_lock(dst: &Server, db: &str, hold: Duration, stop: &AtomicBool) -> Option<u64> {
    let mut conn = dst.conn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        let exists = common::client::query_rows_on(
            &mut conn,
            &format!(
                "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 't'"
            ),
        );
        if exists.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        exec_on(&mut conn, "START TRANSACTION");
        let rows = common::client::query_rows_on(
            &mut conn,
            &format!("SELECT COUNT(*) FROM {db}.t FOR UPDATE"),
        );
        let seen = rows[0][0].as_deref().and_then(|v| v.parse().ok());
        std::thread::sleep(hold);
        exec_on(&mut conn, "COMMIT");
        return seen;
    }
    None
}

#[test]
fn a_statement_rolled_back_by_a_lock_wait_timeout_is_sent_again() {
    let db = unique_name("lockwait");
    let src = source_with_rows(&db);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &["--max-statement-bytes", "2K"]);
    // Every INSERT that waits more than a second for a row lock is rolled back with ERROR 1205.
    let dst = Arc::new(Server::start_with(
        ServerOptions::default().arg("--innodb-lock-wait-timeout=1"),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let blocker = {
        let (dst, db, stop) = (Arc::clone(&dst), db.clone(), Arc::clone(&stop));
        std::thread::spawn(move || hold_table_lock(&dst, &db, Duration::from_millis(2500), &stop))
    };
    let mut cmd = mybak_restore_cmd(&dst, &dir);
    cmd.args(["--threads", "1", "-v"]);
    let out = run_dump(cmd);
    stop.store(true, Ordering::SeqCst);
    let seen = blocker.join().unwrap();
    out.assert_code(0);
    let seen = seen.expect("the restore never created the table");
    assert!(
        seen < ROWS,
        "the lock was taken only after every row was in ({seen} rows): nothing was blocked"
    );
    assert!(
        out.stderr.contains("ERROR 1205") && out.stderr.contains("sending the statement again"),
        "no retry was reported:\n{}",
        out.stderr
    );
    assert_eq!(count(&dst, &db), ROWS);
    common::assert_same_databases(src, &db, &dst, &db);
}

#[test]
fn rows_are_committed_on_a_server_whose_default_is_autocommit_off() {
    let db = unique_name("noautocommit");
    let src = source_with_rows(&db);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    let dst = Server::start_with(ServerOptions::default().arg("--autocommit=0"));
    assert_eq!(
        dst.query_value("SELECT @@GLOBAL.autocommit").as_deref(),
        Some("0")
    );
    run_dump(mybak_restore_cmd(&dst, &dir)).assert_code(0);
    assert_eq!(count(&dst, &db), ROWS);
    common::assert_same_databases(src, &db, &dst, &db);
    // The files alone, through the stock client: each data file turns autocommit on itself.
    dst.exec(&format!("DROP DATABASE {db}"));
    dst.restore_with_stock_client(&dir);
    assert_eq!(count(&dst, &db), ROWS);
    common::assert_same_databases(src, &db, &dst, &db);
}
