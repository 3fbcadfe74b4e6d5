//! End-to-end tests of `mybak dump` against throwaway servers: dump the full fixture, restore it with the
//! stock client in manifest order into a fresh server, and compare everything; plus accounts, partial
//! dumps, killed dumps, usage/connection errors, password handling and time zones.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use common::compare::compare_databases_renamed;
use common::dump::{dump_contents, manifest_tables, run_dump, verify_dump_dir};
use common::{
    assert_same_databases, load_full_fixture, mybak_bare, mybak_cmd, mybak_cmd_as, unique_name,
    Server, ServerOptions,
};

fn entries(root: &Path) -> Vec<String> {
    common::root_entries(root)
}

#[test]
fn full_fixture_round_trips_exactly() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let dir = common::dump_databases(src, root.path(), &names.databases(), &["--threads", "4"]);
    let manifest = verify_dump_dir(&dir);
    assert_eq!(manifest["status"], "complete", "manifest status");
    assert_eq!(
        manifest["failures"].as_array().map_or(0, Vec::len),
        0,
        "failures: {}",
        manifest["failures"]
    );
    let tables = manifest_tables(&manifest, &names.db);
    for t in ["ints", "big_values", "sv_implicit", "odd `name` / ü"] {
        assert!(
            tables.iter().any(|n| n == t),
            "manifest tables of {} lack {t}: {tables:?}",
            names.db
        );
    }

    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    let mut problems = Vec::new();
    for db in [&names.db, &names.db2] {
        if let Err(e) = compare_databases_renamed(src, db, &dst, db, &[]) {
            problems.push(format!("database {db}:\n{e}"));
        }
    }
    assert!(
        problems.is_empty(),
        "restored databases differ from the source:\n{}",
        problems.join("\n")
    );
}

/// `SHOW CREATE USER` and `SHOW GRANTS` of an account (or role), with an error text if missing.
fn account_state(server: &Server, account: &str) -> Vec<String> {
    let mut conn = server.conn();
    let mut state = Vec::new();
    for sql in [
        format!("SHOW CREATE USER {account}"),
        format!("SHOW GRANTS FOR {account}"),
    ] {
        match common::client::try_query_raw(&mut conn, &sql) {
            Ok(rows) => {
                state.extend(rows.into_iter().map(|r| {
                    String::from_utf8_lossy(&r[0].clone().unwrap_or_default()).into_owned()
                }))
            }
            Err(e) => state.push(format!("{sql}: {e}")),
        }
    }
    // The server lists table-level grants in hash order, which differs between servers.
    state.sort();
    state
}

#[test]
fn users_and_grants_round_trip() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let dir = common::dump_databases(src, root.path(), &names.databases(), &["--users"]);
    verify_dump_dir(&dir);

    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    let u = &names.user;
    let accounts = [
        format!("'{u}'@'localhost'"),
        format!("'{u}_app'@'%'"),
        format!("'{u}_ro'@'127.0.0.1'"),
        format!("'{u}_role'"),
    ];
    for account in &accounts {
        let want = account_state(src, account);
        assert!(
            !want.iter().any(|l| l.contains("There is no such")),
            "fixture account {account} missing: {want:?}"
        );
        assert_eq!(
            account_state(&dst, account),
            want,
            "account {account} after restore"
        );
    }
    // The DEFINER accounts exist now, so the definitions must still match too.
    assert_same_databases(src, &names.db, &dst, &names.db);
}

#[test]
fn broken_view_gives_partial_dump_with_everything_else() {
    let src = Server::shared();
    let db = unique_name("broken");
    src.exec(&format!(
        "CREATE DATABASE `{db}`; USE `{db}`;
         CREATE TABLE t1 (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO t1 VALUES (1, 'a'), (2, 'b');
         CREATE TABLE t2 (id INT PRIMARY KEY); INSERT INTO t2 VALUES (7);
         CREATE TABLE gone (id INT); CREATE VIEW v_broken AS SELECT id FROM gone;
         CREATE VIEW v_fine AS SELECT id FROM t1; DROP TABLE gone;"
    ));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(src);
    cmd.arg("--output-dir")
        .arg(root.path())
        .arg("--databases")
        .arg(&db);
    let out = run_dump(cmd);
    out.assert_code(1);
    let dir = out.dump_dir(root.path());
    let manifest = verify_dump_dir(&dir);
    assert_eq!(manifest["status"], "partial");
    let failures = manifest["failures"].as_array().expect("failures array");
    assert!(
        failures.iter().any(|f| f["kind"] == "view"
            && f["database"] == db.as_str()
            && f["name"] == "v_broken"),
        "failures do not name the view: {failures:?}"
    );
    assert_eq!(failures.len(), 1, "only the view failed: {failures:?}");
    let mut tables = manifest_tables(&manifest, &db);
    tables.sort();
    assert_eq!(tables, ["t1", "t2"]);

    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    for t in ["t1", "t2"] {
        let sql = format!("CHECKSUM TABLE `{db}`.`{t}` EXTENDED");
        assert_eq!(
            dst.query_rows(&sql)[0][1],
            src.query_rows(&sql)[0][1],
            "data of {t}"
        );
    }
    assert_eq!(
        dst.query_value(&format!("SELECT COUNT(*) FROM `{db}`.v_fine"))
            .as_deref(),
        Some("2")
    );
}

#[test]
fn killed_dump_leaves_only_the_partial_directory() {
    let src = Server::shared();
    let db = unique_name("big");
    src.exec(&format!(
        "CREATE DATABASE `{db}`; USE `{db}`;
         CREATE TABLE t (id INT PRIMARY KEY, a CHAR(64), b VARCHAR(200));
         INSERT INTO t SELECT seq, SHA2(seq, 256), CONCAT(SHA2(seq + 1, 256), MD5(seq), MD5(seq + 7))
           FROM seq_1_to_1000000;"
    ));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(src);
    cmd.arg("--output-dir")
        .arg(root.path())
        .arg("--databases")
        .arg(&db)
        .args(["--threads", "1"]);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mybak");
    let deadline = Instant::now() + Duration::from_secs(60);
    let partial = loop {
        if let Some(name) = entries(root.path())
            .into_iter()
            .find(|n| n.ends_with(".partial"))
        {
            break name;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "mybak exited ({status}) before a .partial directory appeared: {:?}",
                entries(root.path())
            );
        }
        assert!(
            Instant::now() < deadline,
            "no .partial directory within 60 s"
        );
        thread::sleep(Duration::from_millis(2));
    };
    thread::sleep(Duration::from_millis(200));
    let still_running = child.try_wait().expect("try_wait").is_none();
    child.kill().expect("SIGKILL mybak");
    child.wait().expect("reap mybak");
    src.exec(&format!("DROP DATABASE `{db}`"));
    assert!(
        still_running,
        "the dump finished before it could be killed; make the table bigger"
    );
    let left = entries(root.path());
    assert_eq!(
        left,
        vec![partial.clone()],
        "ROOT must hold only the .partial directory"
    );
    assert!(root.path().join(&partial).is_dir());
}

#[test]
fn bad_usage_exits_2_and_writes_nothing() {
    let src = Server::shared();
    let cases: [&[&str]; 4] = [
        &["--no-such-option"],
        &["--threads", "0"],
        &["--threads", "many"],
        &["--consistency", "sometimes"],
    ];
    for args in cases {
        let root = tempfile::tempdir().unwrap();
        let mut cmd = mybak_cmd(src);
        cmd.arg("--output-dir").arg(root.path()).args(args);
        let out = run_dump(cmd);
        assert_eq!(
            out.code,
            Some(2),
            "{args:?}: exit code; stderr: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        assert!(
            entries(root.path()).is_empty(),
            "{args:?} wrote {:?}",
            entries(root.path())
        );
    }
}

/// A user with a password and the privileges a dump needs; returns (user, password).
fn password_user(server: &Server) -> (String, String) {
    let user = unique_name("pw");
    let password = format!("Leak-Check-{}-7f3Q2zX9", std::process::id());
    server.exec(&format!(
        "CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS, BINLOG MONITOR, SHOW DATABASES
           ON *.* TO '{user}'@'localhost';"
    ));
    (user, password)
}

fn assert_single_line_error(out: &common::dump::DumpOutput, secret: &str, what: &str) {
    assert_eq!(
        out.code,
        Some(2),
        "{what}: exit code; stderr: {}",
        out.stderr
    );
    let err = out.stderr.trim_end();
    assert!(!err.is_empty(), "{what}: no error message");
    // One error line, then the summary line every run ends with.
    // Not on a terminal, each line starts with a timestamp.
    let lines: Vec<&str> = err.lines().map(|l| l.get(25..).unwrap_or(l)).collect();
    assert_eq!(lines.len(), 2, "{what}: error must be one line: {err:?}");
    assert!(lines[0].starts_with("mybak: error: "), "{what}: {err:?}");
    assert!(
        lines[1].starts_with("summary: status=failed "),
        "{what}: no summary line: {err:?}"
    );
    assert!(
        !out.stderr.contains(secret) && !out.stdout.contains(secret),
        "{what}: password leaked: {err}"
    );
}

#[test]
fn connection_errors_exit_2_with_one_line_and_no_password() {
    let src = Server::shared();
    let (user, password) = password_user(src);
    let wrong = format!("{password}-wrong");

    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd_as(src, &user);
    cmd.env("MYSQL_PWD", &wrong)
        .arg("--output-dir")
        .arg(root.path());
    assert_single_line_error(&run_dump(cmd), &wrong, "wrong password");
    assert!(
        entries(root.path()).is_empty(),
        "wrong password wrote {:?}",
        entries(root.path())
    );

    let missing = root.path().join("no-such-dir").join("mysqld.sock");
    let mut cmd = mybak_bare();
    cmd.args([
        "dump",
        "--no-defaults",
        "--user",
        &user,
        "--progress",
        "never",
        "--socket",
    ])
    .arg(&missing)
    .arg("--output-dir")
    .arg(root.path())
    .env("MYSQL_PWD", &password);
    assert_single_line_error(&run_dump(cmd), &password, "unreachable socket");
    assert!(
        entries(root.path()).is_empty(),
        "unreachable socket wrote {:?}",
        entries(root.path())
    );
}

fn assert_no_leak(out: &common::dump::DumpOutput, dir: &Path, password: &str) {
    assert!(!out.stdout.contains(password), "password in stdout");
    assert!(!out.stderr.contains(password), "password in stderr");
    let needle = password.as_bytes();
    for (path, data) in dump_contents(dir) {
        assert!(
            !data.windows(needle.len()).any(|w| w == needle),
            "password in {}",
            path.display()
        );
    }
}

#[test]
fn password_from_env_or_defaults_file_works_and_never_leaks() {
    let src = Server::shared();
    let (user, password) = password_user(src);
    let db = unique_name("pwdb");
    src.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v TEXT);
         INSERT INTO `{db}`.t VALUES (1, 'x'); CREATE VIEW `{db}`.v AS SELECT id FROM `{db}`.t;"
    ));

    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd_as(src, &user);
    cmd.env("MYSQL_PWD", &password)
        .arg("--output-dir")
        .arg(root.path())
        .arg("--databases")
        .arg(&db);
    let out = run_dump(cmd);
    out.assert_code(0);
    let dir = out.dump_dir(root.path());
    verify_dump_dir(&dir);
    assert_no_leak(&out, &dir, &password);

    let root = tempfile::tempdir().unwrap();
    let cnf = root.path().join("client.cnf");
    fs::write(
        &cnf,
        format!("[client]\nuser={user}\npassword={password}\n"),
    )
    .unwrap();
    let out_dir = root.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let mut cmd = mybak_bare();
    cmd.arg("dump")
        .arg(format!("--defaults-file={}", cnf.display()))
        .arg("--socket")
        .arg(src.socket())
        .args(["--progress", "never", "--databases", &db])
        .arg("--output-dir")
        .arg(&out_dir);
    let out = run_dump(cmd);
    out.assert_code(0);
    let dir = out.dump_dir(&out_dir);
    let manifest = verify_dump_dir(&dir);
    assert_eq!(manifest["status"], "complete");
    assert_no_leak(&out, &dir, &password);
}

#[test]
fn timestamps_survive_different_server_time_zones() {
    // The source's SYSTEM zone has DST (so 02:30 on 2021-10-31 is ambiguous there); the target's differs.
    let src = Server::start_with(ServerOptions::default().env("TZ", "Europe/Berlin"));
    let dst = Server::start_with(
        ServerOptions::default()
            .env("TZ", "America/New_York")
            .arg("--default-time-zone=+05:30"),
    );
    assert_eq!(
        src.query_value("SELECT @@global.time_zone").as_deref(),
        Some("SYSTEM")
    );
    let db = "tz_check";
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db}; SET time_zone = '+00:00'; SET timestamp = 1700000000;
         CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL, dt DATETIME(6),
                         created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO t (id, ts, dt) VALUES
           (1, '2021-10-31 00:30:00', '2021-10-31 02:30:00'), (2, '2021-10-31 01:30:00', '2021-10-31 02:30:00'),
           (3, '2021-03-28 01:00:00.5', '2021-03-28 02:30:00'), (4, '1970-01-01 00:00:01', '1970-01-01 00:00:00'),
           (5, '2038-01-19 03:14:07.999999', '2038-01-19 03:14:07.999999'), (6, NULL, NULL);
         CREATE TABLE h (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
         SET timestamp = 1635640200; INSERT INTO h VALUES (1, 1);
         SET timestamp = 1635643800; UPDATE h SET v = 2;"
    ));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(&src);
    cmd.arg("--output-dir")
        .arg(root.path())
        .arg("--databases")
        .arg(db);
    let out = run_dump(cmd);
    out.assert_code(0);
    let dir = out.dump_dir(root.path());
    verify_dump_dir(&dir);
    dst.restore_with_stock_client(&dir);
    let epochs =
        "SELECT id, UNIX_TIMESTAMP(ts), dt, UNIX_TIMESTAMP(created) FROM tz_check.t ORDER BY id";
    assert_eq!(dst.query_rows(epochs), src.query_rows(epochs));
    assert_same_databases(&src, db, &dst, db);
}
