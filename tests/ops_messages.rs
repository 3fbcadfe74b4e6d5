//! What mybak says when something is wrong: usage errors whole, valid values listed, typos in
//! selections caught (exit 2, nothing written), each OS error once, no password echoed.

mod common;

use std::fs;

use common::dump::run_dump;
use common::{
    dump_databases, mybak_bare, mybak_cmd, mybak_restore_cmd, mybak_verify_cmd, unique_name, Server,
};

fn bare(args: &[&str]) -> common::dump::DumpOutput {
    let mut cmd = mybak_bare();
    cmd.args(args);
    run_dump(cmd)
}

#[test]
fn usage_errors_are_shown_whole() {
    let out = bare(&["restore"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("<DIR>"),
        "the missing argument is not named: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Usage: mybak restore"),
        "{}",
        out.stderr
    );

    let out = bare(&["dump", "--consistency", "fast"]);
    out.assert_code(2);
    for v in ["snapshot", "per-table", "none"] {
        assert!(
            out.stderr.contains(v),
            "valid values not listed: {}",
            out.stderr
        );
    }
    let out = bare(&["dump", "--ssl-mode", "sometimes"]);
    out.assert_code(2);
    assert!(out.stderr.contains("VERIFY_IDENTITY"), "{}", out.stderr);
    let out = bare(&["verify", "x", "--log-format", "xml"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("text") && out.stderr.contains("json"),
        "{}",
        out.stderr
    );
    let out = bare(&[
        "dump",
        "--compress-level",
        "99",
        "--no-defaults",
        "--output-dir",
        "/nonexistent/x",
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("--compress-level 99"), "{}", out.stderr);
}

#[test]
fn help_is_there_for_every_command() {
    let out = bare(&["help"]);
    out.assert_code(0);
    for word in [
        "dump",
        "restore",
        "verify",
        "prune",
        "list",
        "config",
        "Exit codes",
        "[mybak]",
        "summary:",
    ] {
        assert!(
            out.stdout.contains(word),
            "`mybak help` lacks {word}: {}",
            out.stdout
        );
    }
    for command in ["dump", "restore", "verify", "prune", "list"] {
        let out = bare(&["help", command]);
        out.assert_code(0);
        assert!(
            out.stdout.contains("Examples:"),
            "help {command}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("mybak {command}")),
            "help {command}: {}",
            out.stdout
        );
    }
    let out = bare(&["dump", "--help"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("--output-dir") && out.stdout.contains("--log-file"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_password_clap_rejects_is_not_echoed() {
    let out = bare(&["dump", "-p", "Sup3r-Secret-pw", "--no-defaults"]);
    out.assert_code(2);
    assert!(!out.stderr.contains("Sup3r-Secret-pw"), "{}", out.stderr);
    assert!(out.stderr.contains("***"), "{}", out.stderr);
}

#[test]
fn selections_that_match_nothing_exit_2_and_write_nothing() {
    let server = Server::shared();
    let db = unique_name("typo");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT)"
    ));
    let root = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--tables".into(), format!("{db}.typo")],
            "matches no table",
        ),
        (vec!["--databases".into(), String::new()], "empty name"),
        (
            vec!["--exclude-databases".into(), "*".into()],
            "leaves no database",
        ),
        (
            vec!["--databases".into(), format!("{db},nosuchdb_{db}")],
            "no such database",
        ),
        (
            vec!["--databases".into(), "mysql".into()],
            "system database",
        ),
    ];
    for (args, words) in cases {
        let mut cmd = mybak_cmd(server);
        cmd.arg("--output-dir")
            .arg(root.path().join("r"))
            .args(&args);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert!(out.stderr.contains(words), "{args:?}: {}", out.stderr);
        assert!(!root.path().join("r").exists(), "{args:?} wrote something");
    }
    // The same typos in a restore's selection, against the names in the dump.
    let dir = dump_databases(server, &root.path().join("ok"), &db, &[]);
    for args in [
        vec!["--tables".to_string(), format!("{db}.typo")],
        vec!["--databases".to_string(), format!("{db}_typo")],
    ] {
        let mut cmd = mybak_restore_cmd(server, &dir);
        cmd.args(&args);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert!(out.stderr.contains("typo"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn a_directory_that_is_not_a_dump_is_named_as_such() {
    let server = Server::shared();
    let db = unique_name("notdump");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT)"
    ));
    let root = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = run_dump(mybak_verify_cmd(empty.path()));
    out.assert_code(2);
    assert!(out.stderr.contains("not a mybak dump"), "{}", out.stderr);
    let dir = dump_databases(server, root.path(), &db, &[]);
    for mut cmd in [
        mybak_verify_cmd(root.path()),
        mybak_restore_cmd(server, root.path()),
    ] {
        let out = run_dump({
            cmd.arg("--no-config");
            cmd
        });
        out.assert_code(2);
        assert!(
            out.stderr.contains("output root holding 1 dumps"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&dir.display().to_string()),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn an_os_error_is_said_once() {
    let root = tempfile::tempdir().unwrap();
    let out = bare(&[
        "dump",
        "--no-defaults",
        "--log-file",
        &root
            .path()
            .join("no/such/dir/mybak.log")
            .display()
            .to_string(),
    ]);
    out.assert_code(2);
    assert_eq!(
        out.stderr.matches("(os error 2)").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("mybak.log"), "{}", out.stderr);
}

#[test]
fn mybak_works_without_user_or_logname() {
    let server = Server::shared();
    let db = unique_name("envi");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT)"
    ));
    let root = tempfile::tempdir().unwrap();
    // As under systemd or `env -i`: no USER, LOGNAME or HOME; the user comes from the uid.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mybak"));
    cmd.env_clear()
        .args([
            "dump",
            "--no-defaults",
            "--progress",
            "never",
            "--databases",
            &db,
            "--socket",
        ])
        .arg(server.socket())
        .arg("--output-dir")
        .arg(root.path());
    let out = run_dump(cmd);
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    if me == "root" {
        out.assert_code(0);
    } else {
        // Not root: the server knows no such account, and says which user was tried.
        assert!(out.stderr.contains(&format!("'{me}'")), "{}", out.stderr);
    }
    assert!(
        !out.stderr.contains("login user is unknown"),
        "{}",
        out.stderr
    );
    let _ = fs::read_dir(root.path()).unwrap();
}
