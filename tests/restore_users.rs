//! `dump --users` leaves the server's own accounts out (and says so in the manifest);
//! `restore --users[=fail|skip|replace]` with accounts that exist on the target.

mod common;

use std::path::Path;

use common::dump::run_dump;
use common::{dump_databases, mybak_restore_cmd, unique_name, Server};

fn restore(server: &Server, dir: &Path, extra: &[&str]) -> common::dump::DumpOutput {
    let mut cmd = mybak_restore_cmd(server, dir);
    cmd.args(extra);
    run_dump(cmd)
}

fn lines(server: &Server, sql: &str) -> Vec<String> {
    let mut v: Vec<String> = server
        .query_rows(sql)
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    v.sort();
    v
}

fn users_sql(dir: &Path) -> String {
    let bytes = std::fs::read(dir.join("users.sql.zst")).unwrap();
    String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap()
}

fn has_database(server: &Server, db: &str) -> bool {
    lines(server, "SHOW DATABASES").contains(&db.to_string())
}

#[test]
fn system_accounts_stay_out_and_existing_accounts_follow_the_mode() {
    let src = Server::start_new();
    let db = unique_name("acc");
    let (app, role) = (unique_name("app"), unique_name("role"));
    src.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1);
         CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket;
         CREATE USER '{app}'@'%' IDENTIFIED BY 'source-pw';
         CREATE ROLE '{role}';
         GRANT SELECT ON {db}.* TO '{role}';
         GRANT SELECT, INSERT ON {db}.* TO '{app}'@'%';
         GRANT '{role}' TO '{app}'@'%';"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(&src, root.path(), &db, &["--users"]);
    let text = users_sql(&dir);
    assert!(!text.contains("`mysql`@`localhost`"), "{text}");
    assert!(!text.contains("`root`@"), "{text}");
    assert!(text.contains(&format!("`{app}`@`%`")), "{text}");
    let manifest = common::client::read_manifest(&dir);
    let left_out: Vec<&str> = manifest["system_accounts_left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(left_out.contains(&"'mysql'@'localhost'"), "{left_out:?}");
    assert!(left_out.contains(&"'root'@'localhost'"), "{left_out:?}");

    let dst = Server::start_new();
    dst.exec(&format!(
        "CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket;
         CREATE DATABASE other; CREATE USER '{app}'@'%' IDENTIFIED BY 'target-pw';
         GRANT SELECT ON other.* TO '{app}'@'%';"
    ));
    let show_user = |s: &Server| lines(s, &format!("SHOW CREATE USER '{app}'@'%'"));
    let show_grants = |s: &Server| lines(s, &format!("SHOW GRANTS FOR '{app}'@'%'"));
    let (user_before, grants_before) = (show_user(&dst), show_grants(&dst));

    // Default: stop before anything, naming the account and the options.
    let out = restore(&dst, &dir, &["--users"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("'{app}'@'%'"))
            && out.stderr.contains("--users=skip")
            && out.stderr.contains("--users=replace"),
        "{}",
        out.stderr
    );
    assert!(!has_database(&dst, &db), "the restore went ahead");
    assert!(lines(
        &dst,
        &format!("SELECT User FROM mysql.user WHERE User = '{role}'")
    )
    .is_empty());
    assert_eq!(
        (show_user(&dst), show_grants(&dst)),
        (user_before.clone(), grants_before.clone())
    );

    // skip: the existing account and its grants stay as they are.
    let out = restore(&dst, &dir, &["--users=skip"]);
    out.assert_code(0);
    assert!(
        out.stderr
            .contains(&format!("'{app}'@'%' exists on the target")),
        "{}",
        out.stderr
    );
    assert_eq!(
        (show_user(&dst), show_grants(&dst)),
        (user_before, grants_before)
    );
    assert!(has_database(&dst, &db));
    assert_eq!(
        lines(
            &dst,
            &format!("SELECT User FROM mysql.user WHERE User = '{role}'")
        ),
        vec![role.clone()]
    );

    // replace: the account is the source's, grants included (the role exists now too).
    let out = restore(&dst, &dir, &["--users=replace", "--drop-existing"]);
    out.assert_code(0);
    assert_eq!(show_user(&dst), show_user(&src));
    assert_eq!(show_grants(&dst), show_grants(&src));
    assert_eq!(
        lines(&dst, &format!("SHOW GRANTS FOR '{role}'")),
        lines(&src, &format!("SHOW GRANTS FOR '{role}'"))
    );
}

/// A dump taken before system accounts were left out holds Debian's `mysql`@`localhost`: restoring
/// it leaves the target's own alone, with a warning, instead of failing.
#[test]
fn a_system_account_in_an_older_dump_is_left_alone() {
    let server = Server::start_new();
    let db = unique_name("old");
    let app = unique_name("app");
    server.exec(&format!(
        "CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket;
         CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY);
         CREATE USER '{app}'@'localhost'; GRANT SELECT ON {db}.* TO '{app}'@'localhost';"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(&server, root.path(), &db, &["--users"]);
    // Put the system account back in, as older versions wrote it.
    let text = users_sql(&dir).replacen(
        "CREATE USER ",
        "CREATE USER `mysql`@`localhost` IDENTIFIED VIA unix_socket;\nCREATE USER ",
        1,
    );
    let packed = zstd::encode_all(text.as_bytes(), 1).unwrap();
    std::fs::write(dir.join("users.sql.zst"), &packed).unwrap();
    let manifest_path = dir.join("manifest.json");
    let mut manifest = common::client::read_manifest(&dir);
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == "users.sql.zst" {
            f["sql_bytes"] = text.len().into();
        }
    }
    manifest
        .as_object_mut()
        .unwrap()
        .remove("system_accounts_left_out");
    std::fs::write(
        &manifest_path,
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    common::rechecksum(&dir, "users.sql.zst", &packed);

    server.exec(&format!(
        "DROP DATABASE {db}; DROP USER '{app}'@'localhost'"
    ));
    let out = restore(&server, &dir, &["--users"]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("'mysql'@'localhost': a system account"),
        "{}",
        out.stderr
    );
    assert_eq!(
        lines(&server, &format!("SHOW GRANTS FOR '{app}'@'localhost'")).len(),
        2
    );
}
