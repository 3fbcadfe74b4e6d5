//! What `mybak dump` selects: database and table globs, exclusions, and bad patterns.

mod common;

use common::dump::{manifest_tables, run_dump, verify_dump_dir};
use common::{mybak_cmd, unique_name, Server};

fn databases_in(manifest: &serde_json::Value) -> Vec<String> {
    manifest["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn globs_select_databases_and_tables_and_exclusions_win() {
    let server = Server::shared();
    let p = unique_name("sel");
    server.exec(&format!(
        "CREATE DATABASE {p}_app1; CREATE DATABASE {p}_app2; CREATE DATABASE {p}_other;
         CREATE TABLE {p}_app1.orders (id INT PRIMARY KEY); INSERT INTO {p}_app1.orders VALUES (1);
         CREATE TABLE {p}_app1.log_2024 (id INT); CREATE TABLE {p}_app1.log_2025 (id INT);
         CREATE VIEW {p}_app1.v_orders AS SELECT id FROM {p}_app1.orders;
         CREATE TABLE {p}_app2.items (id INT PRIMARY KEY);
         CREATE TABLE {p}_other.keep_out (id INT);"
    ));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", &format!("{p}_app*,{p}_nothing*")])
        .args(["--exclude-tables", &format!("{p}_app1.log_*")])
        .args(["--exclude-databases", &format!("{p}_app2")]);
    let out = run_dump(cmd);
    out.assert_code(0);
    let manifest = verify_dump_dir(&out.dump_dir(root.path()));
    assert_eq!(databases_in(&manifest), vec![format!("{p}_app1")]);
    assert_eq!(
        manifest_tables(&manifest, &format!("{p}_app1")),
        vec!["orders"]
    );
    let paths: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/v_orders.view.sql.zst")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains("log_")), "{paths:?}");

    // --tables alone: only the databases its patterns name, only the tables they match.
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--tables", &format!("{p}_app1.log_*")])
        .args(["--tables", &format!("{p}_app2.items")]);
    let out = run_dump(cmd);
    out.assert_code(0);
    let manifest = verify_dump_dir(&out.dump_dir(root.path()));
    assert_eq!(
        databases_in(&manifest),
        vec![format!("{p}_app1"), format!("{p}_app2")]
    );
    assert_eq!(
        manifest_tables(&manifest, &format!("{p}_app1")),
        vec!["log_2024", "log_2025"]
    );
    assert_eq!(
        manifest_tables(&manifest, &format!("{p}_app2")),
        vec!["items"]
    );
}

#[test]
fn bad_patterns_exit_2_naming_the_pattern() {
    let server = Server::shared();
    for (option, pattern) in [("--tables", "no_dot"), ("--databases", "a[b")] {
        let root = tempfile::tempdir().unwrap();
        let mut cmd = mybak_cmd(server);
        cmd.arg("--output-dir")
            .arg(root.path())
            .args([option, pattern]);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert!(out.stderr.contains(pattern), "{option}: {}", out.stderr);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}

#[test]
fn patterns_that_match_nothing_are_an_error_not_an_empty_dump() {
    let server = Server::shared();
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", "no_such_database_anywhere"]);
    let out = run_dump(cmd);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("\"no_such_database_anywhere\": no such database"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}
