//! The global lock's wait limit: who the error names when the lock does not come in time (the session
//! holding the conflicting lock, never a long statement that holds nothing), and what does not block it.

mod common;

use std::path::Path;
use std::process::Output;
use std::thread::JoinHandle;
use std::time::Duration;

use mysql::prelude::Queryable;

use common::client::read_manifest;
use common::{mybak_cmd, unique_name, Server};

/// A decoy: runs longer than any blocker, on its own connection, and holds no lock.
const DECOY: &str = "SELECT SLEEP(30)";

fn dump(server: &Server, root: &Path, db: &str, timeout: &str) -> Output {
    mybak_cmd(server)
        .arg("--output-dir")
        .arg(root)
        .args(["--databases", db, "--lock-wait-timeout", timeout])
        .output()
        .expect("run mybak")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `sql` on a new connection in a thread, once the server shows it running; returns its id.
fn start(server: &Server, sql: &str) -> (u32, JoinHandle<()>) {
    server.start_sleeping(sql)
}

fn stop(server: &Server, (id, handle): (u32, JoinHandle<()>)) {
    server.exec(&format!("KILL QUERY {id}"));
    handle.join().unwrap();
}

/// The failed dump's message, after checking it failed as a lock timeout and left nothing behind.
fn lock_failure(out: &Output, root: &Path) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("within 1 s"), "{err}");
    assert!(!err.contains(DECOY), "the decoy is named: {err}");
    assert_eq!(
        common::root_entries(root).len(),
        0,
        "a failed lock must leave nothing behind"
    );
    err
}

fn myisam_db(server: &Server, prefix: &str) -> String {
    let db = unique_name(prefix);
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.m (x INT) ENGINE=MyISAM; INSERT INTO {db}.m VALUES (1)"
    ));
    db
}

#[test]
fn a_running_myisam_write_is_named_and_not_a_longer_select() {
    let server = Server::shared();
    let db = myisam_db(server, "lw_upd");
    let decoy = start(server, DECOY);
    let update = start(server, &format!("UPDATE {db}.m SET x = x + SLEEP(6)"));
    let root = tempfile::tempdir().unwrap();
    let out = dump(server, root.path(), &db, "1");
    stop(server, decoy);
    let err = lock_failure(&out, root.path());
    update.1.join().unwrap();
    // Other tests' blockers on the shared server may be named too, but never before the first session.
    assert!(err.contains("blocked by id "), "{err}");
    assert!(
        err.contains(&format!("id {} (root@localhost, Query for ", update.0)),
        "{err}"
    );
    assert!(
        err.contains(&format!("UPDATE {db}.m SET x = x + SLEEP(6))")),
        "{err}"
    );
    // Seen by the watcher while the lock statement still waited (in BLOCK_COMMIT, or in START while
    // another test's backup holds its stage).
    assert!(err.contains(": Waiting for backup lock)"), "{err}");
}

#[test]
fn an_idle_write_transaction_does_not_hold_up_the_lock() {
    let server = Server::shared();
    let db = unique_name("lw_trx");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         INSERT INTO {db}.i VALUES (1, 1), (2, 2), (3, 3)"
    ));
    let mut writer = server.conn();
    writer
        .query_drop(format!(
            "START TRANSACTION; INSERT INTO {db}.i VALUES (4, 4); UPDATE {db}.i SET v = 0 WHERE id = 1"
        ))
        .unwrap();
    let decoy = start(server, DECOY);
    // BACKUP STAGE BLOCK_COMMIT waits for commits in progress, not for open transactions: the dump
    // goes ahead (the generous limit only rides out other tests' blockers on the shared server).
    let root = tempfile::tempdir().unwrap();
    let out = dump(server, root.path(), &db, "30");
    stop(server, decoy);
    writer.query_drop("ROLLBACK").unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = String::from_utf8(out.stdout).unwrap();
    let manifest = read_manifest(Path::new(dir.trim_end()));
    assert_eq!(manifest["databases"][0]["tables"][0]["name"], "i");
    assert_eq!(
        manifest["databases"][0]["tables"][0]["rows"], 3,
        "the uncommitted row is not in the snapshot"
    );
}

#[test]
fn lock_tables_write_without_the_plugin_points_at_idle_holders() {
    let server = Server::shared();
    let db = myisam_db(server, "lw_lt");
    let decoy = start(server, DECOY);
    let mut holder = server.conn();
    holder
        .query_drop(format!("LOCK TABLES {db}.m WRITE"))
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = dump(server, root.path(), &db, "1");
    holder.query_drop("UNLOCK TABLES").unwrap();
    stop(server, decoy);
    let err = lock_failure(&out, root.path());
    // An idle holder is invisible in the processlist: the message says what to look for.
    assert!(
        err.contains("a session idle under LOCK TABLES … WRITE"),
        "{err}"
    );
    assert!(err.contains(&format!("{db}.m")), "{err}");
    assert!(err.contains("the metadata_lock_info plugin"), "{err}");
}

#[test]
fn lock_tables_write_holder_is_named_through_metadata_lock_info() {
    let server = Server::start_new();
    // The plugin ships with Debian's mariadb-server, not with mariadb-server-core alone.
    let plugin_dir = server
        .query_value("SELECT @@plugin_dir")
        .unwrap_or_default();
    if !Path::new(&plugin_dir)
        .join("metadata_lock_info.so")
        .is_file()
    {
        eprintln!("note: metadata_lock_info.so not in {plugin_dir} (install mariadb-server); test skipped");
        return;
    }
    server.exec("INSTALL SONAME 'metadata_lock_info'");
    let db = myisam_db(&server, "lw_mdl");
    let decoy = start(&server, DECOY);
    let mut holder = server.conn();
    holder
        .query_drop(format!("LOCK TABLES {db}.m WRITE"))
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = dump(&server, root.path(), &db, "1");
    holder.query_drop("UNLOCK TABLES").unwrap();
    stop(&server, decoy);
    let err = lock_failure(&out, root.path());
    assert!(
        err.contains(&format!(
            "held by id {} (root@localhost, Sleep for ",
            holder.connection_id()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("idle, holding LOCK TABLES … WRITE on {db}.m)")),
        "{err}"
    );
    assert!(!err.contains("metadata_lock_info"), "{err}");
}

#[test]
fn without_a_watcher_the_waiting_connection_looks_after_the_timeout() {
    use mybak::snapshot::{lock_global, LockRequest, Server as Flavour};
    let server = Server::shared();
    let db = myisam_db(server, "lw_late");
    let decoy = start(server, DECOY);
    let update = start(server, &format!("UPDATE {db}.m SET x = x + SLEEP(5)"));
    let mut conn = server.conn();
    let flavour = Flavour::detect(&mut conn).unwrap();
    let request = LockRequest {
        timeout: Duration::from_secs(1),
        watch_with: None,
        ours: &[decoy.0],
        backup_stage_taken: false,
    };
    let result = lock_global(&mut conn, &flavour, request);
    stop(server, decoy);
    update.1.join().unwrap();
    let Err(mybak::Error::LockTimeout { report, .. }) = result else {
        panic!("expected a lock timeout: {result:?}");
    };
    assert!(report.statement.starts_with("BACKUP STAGE "), "{report:?}");
    assert_eq!(report.state, None, "nobody saw the statement wait");
    let name = format!("id {} (root@localhost, Query for ", update.0);
    assert!(
        report.named.iter().any(|n| n.starts_with(&name)),
        "{report:?}"
    );
    // The lock was released: another BACKUP STAGE can start at once.
    conn.query_drop("SET SESSION lock_wait_timeout = 30; BACKUP STAGE START; BACKUP STAGE END")
        .unwrap();
}
