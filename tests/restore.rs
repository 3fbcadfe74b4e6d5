//! `mybak restore`: exact restores of the full fixture, renames, refusals before any SQL runs.

mod common;

use std::path::Path;

use common::compare::compare_databases_renamed;
use common::dump::run_dump;
use common::{
    assert_same_databases, dump_databases, load_full_fixture, mybak_restore_cmd, unique_name,
    Server, ServerOptions,
};

fn restore(server: &Server, dir: &Path, extra: &[&str]) -> common::dump::DumpOutput {
    let mut cmd = mybak_restore_cmd(server, dir);
    cmd.args(extra);
    run_dump(cmd)
}

fn databases(server: &Server) -> Vec<String> {
    server
        .query_rows("SHOW DATABASES")
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

#[test]
fn full_fixture_restores_identically_with_and_without_deferred_indexes() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &names.databases(), &["--threads", "4"]);
    // By default the fixture's small tables keep their indexes inline; --defer-min-size 0 defers
    // them wherever it is safe.
    for extra in [&[][..], &["--defer-min-size", "0"][..]] {
        let dst = Server::start_new();
        dst.exec(&format!("CREATE USER '{}'@'localhost'", names.user));
        let mut args = vec!["--threads", "4"];
        args.extend_from_slice(extra);
        let out = restore(&dst, &dir, &args);
        out.assert_code(0);
        let summary = out.stderr.lines().last().unwrap_or_default();
        assert!(
            summary.contains("summary: status=complete databases=2 "),
            "{extra:?}: {}",
            out.stderr
        );
        assert_same_databases(src, &names.db, &dst, &names.db);
        assert_same_databases(src, &names.db2, &dst, &names.db2);
    }
}

#[test]
fn rename_database_restores_beside_the_original_with_bodies_following() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &names.db, &[]);
    let copy = unique_name("copy");
    let out = restore(
        src,
        &dir,
        &[
            "--rename-database",
            &format!("{}={copy}", names.db),
            "--keep-events-enabled",
        ],
    );
    out.assert_code(0);
    assert!(
        !out.stderr.contains("still names the old database") && !out.stderr.contains("DISABLED"),
        "{}",
        out.stderr
    );
    // Views, routines, triggers and events now name the copy: identical after the rename.
    compare_databases_renamed(src, &names.db, src, &copy, &[]).unwrap();
    // The original is untouched by the restore.
    let again = unique_name("again");
    let dir2 = dump_databases(src, root.path(), &names.db, &["--name", &again]);
    assert!(dir2.exists());
}

#[test]
fn an_existing_target_is_refused_unless_dropped() {
    let src = Server::shared();
    let db = unique_name("exist");
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1),(2)"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    src.exec(&format!("INSERT INTO {db}.t VALUES (3)"));
    let out = restore(src, &dir, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains(&format!("`{db}`")), "{}", out.stderr);
    assert!(out.stderr.contains("--drop-existing"), "{}", out.stderr);
    assert_eq!(
        src.query_value(&format!("SELECT COUNT(*) FROM {db}.t"))
            .unwrap(),
        "3"
    );

    let out = restore(src, &dir, &["--drop-existing"]);
    out.assert_code(0);
    assert_eq!(
        src.query_value(&format!("SELECT COUNT(*) FROM {db}.t"))
            .unwrap(),
        "2"
    );
}

#[test]
fn a_partial_dump_needs_allow_partial() {
    let src = Server::shared();
    let db = unique_name("part");
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db}; CREATE TABLE t (id INT); INSERT INTO t VALUES (1);
         CREATE TABLE gone (id INT); CREATE VIEW v AS SELECT id FROM gone; DROP TABLE gone;"
    ));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = common::mybak_cmd(src);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", &db]);
    let out = run_dump(cmd);
    out.assert_code(1);
    let dir = out.dump_dir(root.path());
    let dst = Server::start_new();
    let out = restore(&dst, &dir, &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("--allow-partial") && out.stderr.contains("view v"),
        "{}",
        out.stderr
    );
    assert!(!databases(&dst).contains(&db));
    let out = restore(&dst, &dir, &["--allow-partial"]);
    out.assert_code(0);
    assert_eq!(
        dst.query_value(&format!("SELECT COUNT(*) FROM {db}.t"))
            .unwrap(),
        "1"
    );
}

#[test]
fn selection_and_users_restore_only_what_was_asked() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &names.databases(), &["--users"]);
    let dst = Server::start_new();
    let out = restore(&dst, &dir, &["--databases", &names.db2, "--users"]);
    out.assert_code(0);
    let dbs = databases(&dst);
    assert!(
        dbs.contains(&names.db2) && !dbs.contains(&names.db),
        "{dbs:?}"
    );
    assert_same_databases(src, &names.db2, &dst, &names.db2);
    let grants = dst.query_rows(&format!("SHOW GRANTS FOR '{}'@'localhost'", names.user));
    assert!(!grants.is_empty());
}

#[test]
fn a_statement_larger_than_max_allowed_packet_is_refused_before_loading() {
    let src = Server::shared();
    let db = unique_name("pkt");
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, b LONGBLOB);
         INSERT INTO {db}.t VALUES (1, REPEAT('x', 3*1024*1024))"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    let small = Server::start_with(ServerOptions::default().arg("--max-allowed-packet=1M"));
    let out = restore(&small, &dir, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("max_allowed_packet"), "{}", out.stderr);
    assert!(out.stderr.contains(".sql.zst"), "{}", out.stderr);
    assert!(!databases(&small).contains(&db), "SQL ran before the check");
}

#[test]
fn a_failing_statement_is_named_by_file_line_and_server_error() {
    let src = Server::shared();
    let db = unique_name("badstmt");
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, s VARCHAR(10));
         INSERT INTO {db}.t VALUES (1, 'a'), (2, 'b'); CREATE TABLE {db}.ok (id INT); INSERT INTO {db}.ok VALUES (7)"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    let manifest = common::client::read_manifest(&dir);
    let data = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "table-data" && f["table"] == "t")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .unwrap();
    let path = dir.join(&data);
    let sql =
        String::from_utf8(zstd::decode_all(&std::fs::read(&path).unwrap()[..]).unwrap()).unwrap();
    let broken = sql.replacen("(`id`,`s`)", "(`id`,`nope`)", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("INSERT INTO"))
        .unwrap()
        + 1;
    let packed = zstd::encode_all(broken.as_bytes(), 1).unwrap();
    std::fs::write(&path, &packed).unwrap();
    common::rechecksum(&dir, &data, &packed);

    let dst = Server::start_new();
    let out = restore(&dst, &dir, &[]);
    out.assert_code(1);
    let expected = format!("{data}: statement at line {line} ");
    assert!(
        out.stderr.contains(&expected),
        "want {expected:?} in {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Unknown column 'nope'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("status=partial"), "{}", out.stderr);
    // Everything else was restored.
    assert_eq!(
        dst.query_value(&format!("SELECT id FROM {db}.ok")).unwrap(),
        "7"
    );
}

#[test]
fn no_binlog_keeps_the_restore_out_of_the_binary_log() {
    let src = Server::shared();
    let db = unique_name("nobin");
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1),(2)"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    let dst = Server::start_new();
    let position = || dst.query_rows("SHOW MASTER STATUS")[0][1].clone().unwrap();
    let before = position();
    restore(&dst, &dir, &["--no-binlog"]).assert_code(0);
    assert_eq!(
        position(),
        before,
        "the restore was written to the binary log"
    );
    dst.exec(&format!("DROP DATABASE {db}"));
    let before = position();
    restore(&dst, &dir, &[]).assert_code(0);
    assert_ne!(
        position(),
        before,
        "without --no-binlog the restore is logged"
    );
}
