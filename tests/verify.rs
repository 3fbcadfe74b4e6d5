//! `mybak verify` offline and with `--restore-test`, and `mybak restore` refusing damaged dumps
//! before any SQL runs.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::dump::{run_dump, DumpOutput};
use common::{dump_databases, mybak_restore_cmd, mybak_verify_cmd, unique_name, Server};

/// A small dump with two tables, a view and a routine; returns (database, dump directory, tempdir).
fn small_dump(server: &Server) -> (String, PathBuf, tempfile::TempDir) {
    let db = unique_name("ver");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id INT PRIMARY KEY, f FLOAT, ts TIMESTAMP(6) NULL, b BLOB);
         INSERT INTO t SELECT seq, 3.1415927, '2024-03-31 01:30:00.25', UNHEX('00FF10') FROM seq_1_to_500;
         CREATE TABLE u (id INT PRIMARY KEY, s VARCHAR(20)); INSERT INTO u VALUES (1, 'a;b'), (2, 'it''s');
         CREATE VIEW v AS SELECT id FROM t;
         CREATE PROCEDURE p() SELECT 1;"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    (db, dir, root)
}

fn verify(dir: &Path, extra: &[&str]) -> DumpOutput {
    let mut cmd = mybak_verify_cmd(dir);
    cmd.args(extra);
    run_dump(cmd)
}

#[test]
fn a_good_dump_verifies_offline_and_as_json() {
    let server = Server::shared();
    let (_db, dir, _root) = small_dump(server);
    let out = verify(&dir, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains("summary: status=ok"), "{}", out.stderr);
    let out = verify(&dir, &["--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["rows"], 502);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
}

/// Each damage makes verify and restore fail, naming the file, with nothing sent to the server.
#[test]
fn damaged_dumps_fail_verify_and_restore_naming_the_file() {
    let server = Server::shared();
    type Damage = fn(&Path, &str) -> String;
    let damages: [(&str, Damage); 4] = [
        ("flipped byte", |dir, data| {
            let path = dir.join(data);
            let mut bytes = fs::read(&path).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x01;
            fs::write(&path, bytes).unwrap();
            data.to_string()
        }),
        ("truncated file", |dir, data| {
            let path = dir.join(data);
            let bytes = fs::read(&path).unwrap();
            fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
            data.to_string()
        }),
        ("removed file", |dir, data| {
            fs::remove_file(dir.join(data)).unwrap();
            data.to_string()
        }),
        ("edited manifest", |dir, _| {
            let path = dir.join("manifest.json");
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, text.replacen("\"rows\": 500", "\"rows\": 499", 1)).unwrap();
            "manifest.json".to_string()
        }),
    ];
    for (what, damage) in damages {
        let (db, dir, _root) = small_dump(server);
        let named = damage(&dir, &common::client::table_data_file(&dir, "t"));
        let out = verify(&dir, &[]);
        assert_eq!(
            out.code,
            Some(1),
            "{what}: verify exit code; {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&named),
            "{what}: verify does not name {named}: {}",
            out.stderr
        );

        server.exec(&format!("DROP DATABASE {db}"));
        let out = run_dump(mybak_restore_cmd(server, &dir));
        assert_eq!(
            out.code,
            Some(2),
            "{what}: restore exit code; {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&named),
            "{what}: restore does not name {named}: {}",
            out.stderr
        );
        assert_eq!(
            server.query_value(&format!(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"
            )),
            Some("0".to_string()),
            "{what}: restore ran SQL"
        );
    }
}

fn restore_test(server: &Server, dir: &Path) -> DumpOutput {
    let socket = server.socket().to_str().unwrap().to_string();
    verify(
        dir,
        &[
            "--restore-test",
            "--no-defaults",
            "--socket",
            &socket,
            "--user",
            "root",
        ],
    )
}

#[test]
fn restore_test_passes_on_a_good_dump_and_leaves_nothing() {
    let server = Server::shared();
    let (_db, dir, _root) = small_dump(server);
    let scratch = Server::start_new();
    let before = scratch.query_rows("SHOW DATABASES");
    let out = restore_test(&scratch, &dir);
    out.assert_code(0);
    assert!(out.stderr.contains("tables_compared=2"), "{}", out.stderr);
    assert_eq!(scratch.query_rows("SHOW DATABASES"), before);
}

/// A data file altered and re-checksummed everywhere passes the offline checks: only the content
/// fingerprint, compared after a test restore, can catch it.
#[test]
fn restore_test_catches_a_consistently_rechecksummed_change() {
    let server = Server::shared();
    for (from, to) in [
        ("3.1415927410125732", "3.14159"),
        (
            "'2024-03-31 01:30:00.250000'",
            "'2024-03-31 02:30:00.250000'",
        ),
        ("0x00FF10", "0x00FE10"),
    ] {
        let (_db, dir, _root) = small_dump(server);
        let data = common::client::table_data_file(&dir, "t");
        let path = dir.join(&data);
        let sql =
            String::from_utf8(zstd::decode_all(&fs::read(&path).unwrap()[..]).unwrap()).unwrap();
        assert!(sql.contains(from), "{from} not in the dump");
        let altered = zstd::encode_all(sql.replacen(from, to, 1).as_bytes(), 3).unwrap();
        fs::write(&path, &altered).unwrap();
        common::rechecksum(&dir, &data, &altered);

        let offline = verify(&dir, &[]);
        offline.assert_code(0);
        let scratch = Server::start_new();
        let out = restore_test(&scratch, &dir);
        assert_eq!(out.code, Some(1), "{from} → {to}: {}", out.stderr);
        assert!(
            out.stderr.contains("differs from the dump's fingerprint")
                && out.stderr.contains("`t`"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn restore_test_passes_on_the_full_fixture() {
    let server = Server::shared();
    let names = common::load_full_fixture(server);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &names.databases(), &["--threads", "2"]);
    let scratch = Server::start_new();
    scratch.exec(&format!("CREATE USER '{}'@'localhost'", names.user));
    let out = restore_test(&scratch, &dir);
    out.assert_code(0);
    let tables: usize = common::client::read_manifest(&dir)["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tables"].as_array().unwrap().len())
        .sum();
    assert!(
        out.stderr.contains(&format!("tables_compared={tables} ")),
        "{}",
        out.stderr
    );
}
