//! Connection settings from option files as the stock clients read them: `~/.my.cnf`, groups,
//! `!include`, and errors naming file and line.

mod common;

use common::dump::run_dump;
use common::{mybak_bare, unique_name, Server};

fn account(server: &Server) -> (String, String, String) {
    let db = unique_name("opt");
    let user = unique_name("optu");
    let password = format!("p#ss \"q\" {}", std::process::id());
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT); INSERT INTO {db}.t VALUES (1);
         CREATE USER '{user}'@'localhost' IDENTIFIED BY '{}';
         GRANT SELECT, SHOW VIEW, RELOAD, BINLOG MONITOR, EVENT, TRIGGER ON *.* TO '{user}'@'localhost';",
        password.replace('\'', "''")
    ));
    (db, user, password)
}

#[test]
fn home_my_cnf_groups_and_includes_are_read() {
    let server = Server::shared();
    let (db, user, password) = account(server);
    let home = tempfile::tempdir().unwrap();
    let quoted = password.replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        home.path().join("extra.cnf"),
        format!("[client]\nuser = wrong_user\n[mybak]\nuser={user}\n"),
    )
    .unwrap();
    std::fs::write(
        home.path().join(".my.cnf"),
        format!(
            "# comment\n[client]\npassword = \"{quoted}\"\nsocket={}\n!include {}\n",
            server.socket().display(),
            home.path().join("extra.cnf").display()
        ),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_bare();
    cmd.env("HOME", home.path())
        .args(["dump", "--progress", "never", "--databases", &db])
        .arg("--output-dir")
        .arg(root.path());
    let out = run_dump(cmd);
    out.assert_code(0);
    assert!(!out.stderr.contains(&password));
}

#[test]
fn a_broken_option_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.cnf");
    std::fs::write(&file, "user=outside_any_group\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_bare();
    cmd.arg("dump")
        .arg(format!("--defaults-file={}", file.display()))
        .arg("--output-dir")
        .arg(root.path());
    let out = run_dump(cmd);
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("{}:1", file.display())),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}
