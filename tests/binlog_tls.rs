//! `mybak binlog` over TCP with TLS and a password: the replica connection logs in as the driver
//! does (mysql_native_password), verifies the server's certificate, and archives byte for byte.

mod common;

use common::binlog::{archived_bytes, archived_names, server_binlog_bytes};
use common::tls::server_with_tls;
use common::{mybak_bare, unique_name};

#[test]
fn the_archiver_logs_in_with_a_password_over_verified_tls() {
    let certs = tempfile::tempdir().unwrap();
    let server = server_with_tls(certs.path());
    let p = |f: &str| certs.path().join(f).to_str().unwrap().to_string();
    let db = unique_name("tlsb");
    let user = unique_name("repl");
    server.exec(&format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw' REQUIRE SSL;
         GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'127.0.0.1';
         CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v MEDIUMTEXT);
         INSERT INTO {db}.t VALUES (1, REPEAT('x', 100000)); FLUSH BINARY LOGS;"
    ));
    let root = tempfile::tempdir().unwrap();
    let port = server.port().to_string();
    let run = |password: &str, extra: &[&str]| {
        let mut cmd = mybak_bare();
        cmd.arg("binlog")
            .arg(root.path())
            .args(["--no-defaults", "--once", "--progress", "never"])
            .args(["-h", "127.0.0.1", "-P", &port, "-u", &user])
            .args(extra)
            .env("MYSQL_PWD", password);
        cmd.output().unwrap()
    };
    let out = run(
        "pw",
        &["--ssl-mode=VERIFY_IDENTITY", "--ssl-ca", &p("ca.pem")],
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let names = archived_names(root.path());
    assert!(!names.is_empty());
    for name in &names {
        assert!(
            archived_bytes(root.path(), name) == server_binlog_bytes(&server, name),
            "{name}"
        );
    }
    // A wrong password: refused, exit 2, the password in no message.
    let out = run("wrong-secret", &["--ssl-mode=REQUIRED"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("access denied") && !err.contains("wrong-secret"),
        "{err}"
    );
}
