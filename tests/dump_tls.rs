//! TLS: `--ssl-mode` and `--ssl-ca` against a server that has a certificate and an account that
//! requires TLS.

mod common;

use common::dump::run_dump;
use common::tls::{make_certificates, server_with_tls};
use common::{mybak_bare, unique_name};

#[test]
fn ssl_modes_reach_a_server_that_requires_tls() {
    let certs = tempfile::tempdir().unwrap();
    let server = server_with_tls(certs.path());
    let p = |f: &str| certs.path().join(f).to_str().unwrap().to_string();
    let db = unique_name("tls");
    let user = unique_name("tlsuser");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1);
         CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw' REQUIRE SSL;
         GRANT SELECT, SHOW VIEW, RELOAD, BINLOG MONITOR, EVENT, TRIGGER ON *.* TO '{user}'@'127.0.0.1';"
    ));
    let port = server.port().to_string();
    let dump = |extra: &[&str]| {
        let root = tempfile::tempdir().unwrap();
        let mut cmd = mybak_bare();
        cmd.args([
            "dump",
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &port,
            "-u",
            &user,
        ])
        .args(["--progress", "never", "--databases", &db])
        .arg("--output-dir")
        .arg(root.path())
        .args(extra)
        .env("MYSQL_PWD", "pw");
        (run_dump(cmd), root)
    };
    for mode in [
        vec!["--ssl-mode=REQUIRED"],
        vec!["--ssl-mode=VERIFY_CA", "--ssl-ca", &p("ca.pem")],
        vec!["--ssl-mode=VERIFY_IDENTITY", "--ssl-ca", &p("ca.pem")],
        vec!["--ssl-mode=PREFERRED"],
    ] {
        let (out, _root) = dump(&mode);
        assert_eq!(out.code, Some(0), "{mode:?}: {}", out.stderr);
    }
    // Without TLS the account is refused; with a CA that did not sign the server, verification fails.
    let (out, _root) = dump(&["--ssl-mode=DISABLED"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let wrong_ca = other.path().join("ca.pem");
    let (out, _root) = dump(&[
        "--ssl-mode=VERIFY_CA",
        "--ssl-ca",
        wrong_ca.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}
