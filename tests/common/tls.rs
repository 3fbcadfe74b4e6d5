//! Certificates for TLS tests: a throwaway CA and a server certificate (openssl CLI).

use std::path::Path;
use std::process::Command;

use super::server::{Server, ServerOptions};

/// A CA and a server certificate for 127.0.0.1 in `dir` (openssl CLI).
pub fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=mybak test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    ]);
}

/// A server with TLS: certificates made in `dir` (kept there: `ca.pem` verifies the server).
pub fn server_with_tls(dir: &Path) -> Server {
    make_certificates(dir);
    let p = |f: &str| dir.join(f).display().to_string();
    Server::start_with(
        ServerOptions::default()
            .arg(&format!("--ssl-ca={}", p("ca.pem")))
            .arg(&format!("--ssl-cert={}", p("server.pem")))
            .arg(&format!("--ssl-key={}", p("server-key.pem"))),
    )
}
