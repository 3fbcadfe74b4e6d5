//! A dump cannot attack its restorer: restore runs only the statements each kind of file may hold,
//! reads only regular files inside the dump, checks every table's rows against the manifest, and
//! refuses all of it before any SQL is sent. Verify says the same things offline.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::dump::{run_dump, sha256_hex};
use common::{
    dump_databases, mybak_restore_cmd, mybak_verify_cmd, rechecksum, unique_name, Server,
};

/// A database with two tables, dumped (with --users); returns (db, dump dir, root).
fn small_dump(server: &Server) -> (String, PathBuf, tempfile::TempDir) {
    let db = unique_name("safe");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, s VARCHAR(20));
         INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM seq_1_to_300;
         CREATE TABLE {db}.u (id INT PRIMARY KEY); INSERT INTO {db}.u VALUES (1), (2);
         CREATE VIEW {db}.v AS SELECT id FROM {db}.t;"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &["--users"]);
    (db, dir, root)
}

/// The manifest path of the file of `kind` for `table`.
fn path_of(dir: &Path, kind: &str, table: Option<&str>) -> String {
    let manifest = common::client::read_manifest(dir);
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && table.is_none_or(|t| f["table"] == t))
        .map(|f| f["path"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {kind} file for {table:?}"))
}

/// Appends `sql` to dump file `rel` (recompressed), then makes the manifest and SHA256SUMS agree
/// with it, as an attacker who can write the dump directory would.
fn append(dir: &Path, rel: &str, sql: &str) -> usize {
    let path = dir.join(rel);
    let mut text = zstd::decode_all(&fs::read(&path).unwrap()[..]).unwrap();
    let line = text.iter().filter(|&&b| b == b'\n').count() + 1;
    text.extend_from_slice(sql.as_bytes());
    let packed = zstd::encode_all(&text[..], 1).unwrap();
    fs::write(&path, &packed).unwrap();
    rechecksum(dir, rel, &packed);
    line
}

fn exists(server: &Server, sql: &str) -> bool {
    server.query_value(sql).as_deref() != Some("0")
}

fn database_exists(server: &Server, db: &str) -> bool {
    exists(
        server,
        &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"),
    )
}

#[test]
fn statements_a_file_may_not_hold_refuse_the_whole_restore() {
    let server = Server::shared();
    let evil = unique_name("evil");
    let attacks = [
        ("table-data", Some("t"), format!(
            "DROP DATABASE mysql;\nCREATE USER '{evil}'@'%' IDENTIFIED BY 'x';\nGRANT ALL ON *.* TO '{evil}'@'%';\n"
        )),
        ("table-data", Some("u"), format!("INSERT INTO `u` (`id`) VALUES ((SELECT COUNT(*) FROM mysql.user));\nCREATE USER '{evil}'@'%';\n")),
        ("table-schema", Some("t"), format!("CREATE USER '{evil}'@'%';\n")),
        ("view", Some("v"), format!("GRANT ALL ON *.* TO '{evil}'@'%';\n")),
        ("database", None, "SET GLOBAL read_only = 1;\n".to_string()),
    ];
    for (kind, table, sql) in attacks {
        let (db, dir, _root) = small_dump(server);
        let rel = path_of(&dir, kind, table);
        let line = append(&dir, &rel, &sql);
        server.exec(&format!("DROP DATABASE {db}"));

        let out = run_dump(mybak_restore_cmd(server, &dir));
        out.assert_code(2);
        let named = format!("{rel}: statement at line {line} ");
        assert!(
            out.stderr.contains(&named),
            "{kind}: want {named:?} in {}",
            out.stderr
        );
        assert!(out.stderr.contains("holds only"), "{}", out.stderr);
        // Nothing ran: not the attack, not even the dump's own statements.
        assert!(!database_exists(server, &db), "{kind}: restore ran SQL");
        assert!(database_exists(server, "mysql"));
        assert!(!exists(
            server,
            &format!("SELECT COUNT(*) FROM mysql.user WHERE user = '{evil}'")
        ));
        assert_eq!(
            server.query_value("SELECT @@read_only").as_deref(),
            Some("0")
        );

        let out = run_dump(mybak_verify_cmd(&dir));
        out.assert_code(1);
        assert!(
            out.stderr.contains(&named),
            "{kind}: verify: {}",
            out.stderr
        );
    }
}

#[test]
fn accounts_are_restored_only_with_users() {
    let server = Server::shared();
    let (db, dir, _root) = small_dump(server);
    let account = unique_name("acct");
    let users = path_of(&dir, "users", None);
    append(&dir, &users, &format!("CREATE USER '{account}'@'%';\n"));
    server.exec(&format!("DROP DATABASE {db}"));
    run_dump(mybak_restore_cmd(server, &dir)).assert_code(0);
    assert!(database_exists(server, &db));
    let account_sql = format!("SELECT COUNT(*) FROM mysql.user WHERE user = '{account}'");
    assert!(
        !exists(server, &account_sql),
        "accounts restored without --users"
    );
    server.exec(&format!("DROP DATABASE {db}"));
    let mut cmd = mybak_restore_cmd(server, &dir);
    cmd.arg("--users");
    run_dump(cmd).assert_code(0);
    assert!(
        exists(server, &account_sql),
        "--users did not restore the accounts"
    );
    server.exec(&format!("DROP USER '{account}'@'%'"));
}

#[test]
fn a_symlink_leaving_the_dump_is_never_followed() {
    let server = Server::shared();
    let (db, dir, _root) = small_dump(server);
    let outside = tempfile::tempdir().unwrap();
    let rel = path_of(&dir, "table-data", Some("t"));
    // Same bytes outside, so every checksum still matches: only the link gives it away.
    let target = outside.path().join("t.sql.zst");
    fs::rename(dir.join(&rel), &target).unwrap();
    std::os::unix::fs::symlink(&target, dir.join(&rel)).unwrap();
    server.exec(&format!("DROP DATABASE {db}"));
    let out = run_dump(mybak_restore_cmd(server, &dir));
    out.assert_code(2);
    assert!(
        out.stderr.contains(&rel) && out.stderr.contains("symlink"),
        "{}",
        out.stderr
    );
    assert!(!database_exists(server, &db));
    let out = run_dump(mybak_verify_cmd(&dir));
    out.assert_code(1);
    assert!(out.stderr.contains("symlink"), "{}", out.stderr);

    // A directory of the dump that is a symlink is refused the same way.
    fs::remove_file(dir.join(&rel)).unwrap();
    fs::rename(&target, dir.join(&rel)).unwrap();
    let db_dir = dir.join(rel.split('/').next().unwrap());
    let moved = outside.path().join("dbdir");
    fs::rename(&db_dir, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &db_dir).unwrap();
    let out = run_dump(mybak_restore_cmd(server, &dir));
    out.assert_code(2);
    assert!(out.stderr.contains("symlink"), "{}", out.stderr);
    assert!(!database_exists(server, &db));
}

#[test]
fn a_data_file_removed_with_its_manifest_entry_is_caught() {
    let server = Server::shared();
    let (db, dir, _root) = small_dump(server);
    let rel = path_of(&dir, "table-data", Some("t"));
    fs::remove_file(dir.join(&rel)).unwrap();
    // Drop the file from the manifest and SHA256SUMS, consistently.
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["files"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["path"] != rel.as_str());
    let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    fs::write(&manifest_path, &text).unwrap();
    let mut sums: String = fs::read_to_string(dir.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with(&format!("  {rel}")) && !l.ends_with("  manifest.json"))
        .map(|l| format!("{l}\n"))
        .collect();
    sums.push_str(&format!("{}  manifest.json\n", sha256_hex(text.as_bytes())));
    fs::write(dir.join("SHA256SUMS"), sums).unwrap();

    server.exec(&format!("DROP DATABASE {db}"));
    let out = run_dump(mybak_restore_cmd(server, &dir));
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!(
            "table `{db}`.`t`: the manifest counts 300 rows, its data files hold 0"
        )),
        "{}",
        out.stderr
    );
    assert!(!database_exists(server, &db), "restore ran SQL");
    let out = run_dump(mybak_verify_cmd(&dir));
    out.assert_code(1);
    assert!(out.stderr.contains("counts 300 rows"), "{}", out.stderr);
    // Restoring only the other table is fine: its rows are all there.
    let mut cmd = mybak_restore_cmd(server, &dir);
    cmd.args(["--tables", &format!("{db}.u")]);
    run_dump(cmd).assert_code(0);
    assert_eq!(
        server
            .query_value(&format!("SELECT COUNT(*) FROM {db}.u"))
            .as_deref(),
        Some("2")
    );
}

#[test]
fn a_decompression_bomb_is_stopped_with_little_memory() {
    let server = Server::shared();
    // In a data file, and in a table definition file read whole by --defer-indexes.
    for (kind, head, extra) in [
        (
            "table-data",
            &b"INSERT INTO `t` (`id`,`s`) VALUES (1,'"[..],
            &[][..],
        ),
        (
            "table-schema",
            &b"CREATE TABLE `t` (`id` int COMMENT '"[..],
            &["--defer-indexes"][..],
        ),
    ] {
        let (db, dir, _root) = small_dump(server);
        let rel = path_of(&dir, kind, Some("t"));
        // 512 MiB of one string, a few hundred KiB compressed, with every checksum made to match.
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        std::io::Write::write_all(&mut encoder, head).unwrap();
        let block = vec![b'a'; 1 << 20];
        for _ in 0..512 {
            std::io::Write::write_all(&mut encoder, &block).unwrap();
        }
        let packed = encoder.finish().unwrap();
        fs::write(dir.join(&rel), &packed).unwrap();
        rechecksum(&dir, &rel, &packed);
        server.exec(&format!("DROP DATABASE {db}"));
        let mut restore = mybak_restore_cmd(server, &dir);
        restore.args(extra);
        for (what, cmd) in [("verify", mybak_verify_cmd(&dir)), ("restore", restore)] {
            let (code, rss, stderr) = common::run_measured(cmd);
            assert!(
                code == 1 || code == 2,
                "{kind} {what}: exit {code}: {stderr}"
            );
            assert!(stderr.contains(&rel), "{kind} {what}: {stderr}");
            assert!(
                stderr.contains("statement longer than") || stderr.contains("far more SQL"),
                "{kind} {what}: {stderr}"
            );
            assert!(rss < 100 << 20, "{kind} {what}: peak RSS {} MB", rss >> 20);
        }
        assert!(!database_exists(server, &db));
    }
}
