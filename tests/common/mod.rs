//! Shared integration-test harness: throwaway MariaDB servers, SQL helpers, the `mybak` command, a
//! database comparator and a throwaway S3 server (moto). Each test binary does `mod common;`.
#![allow(dead_code, unused_imports)]

pub mod binlog;
pub mod client;
pub mod compare;
pub mod diff;
pub mod dump;
pub mod http;
pub mod s3;
pub mod server;
pub mod tls;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use client::RawRow;
pub use compare::{assert_same_databases, compare_databases};
pub use s3::S3Server;
pub use server::{Server, ServerOptions};

/// A name unique per test process and call, e.g. `unique_name("fx")` → `fx_3_12345`; short enough for
/// database and account names.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}_{n}_{}", std::process::id())
}

/// `mybak dump --no-defaults --socket <server> --user root --progress never`; callers add `--output-dir` etc.
pub fn mybak_cmd(server: &Server) -> Command {
    mybak_cmd_as(server, "root")
}

/// Like [`mybak_cmd`] with another `--user` (the password goes via `MYSQL_PWD`, never on the command line).
pub fn mybak_cmd_as(server: &Server, user: &str) -> Command {
    mybak_on(server, "dump", user)
}

/// `mybak COMMAND --no-defaults --socket <server> --user USER --progress never`.
pub fn mybak_on(server: &Server, command: &str, user: &str) -> Command {
    let mut cmd = mybak_bare();
    cmd.arg(command)
        .arg("--no-defaults")
        .arg("--socket")
        .arg(server.socket())
        .arg("--user")
        .arg(user)
        .arg("--progress")
        .arg("never");
    cmd
}

/// The `mybak` binary with no arguments, and without `MYSQL_PWD`/`MYSQL_HOST` from the test environment.
pub fn mybak_bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mybak"));
    cmd.env_remove("MYSQL_PWD")
        .env_remove("MYSQL_HOST")
        .env_remove("MYSQL_TCP_PORT")
        .env_remove("MYSQL_UNIX_PORT");
    cmd
}

/// The names in an output root, without the lock file every run leaves there.
pub fn root_entries(root: &std::path::Path) -> Vec<String> {
    match std::fs::read_dir(root) {
        Ok(list) => list
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".mybak.lock")
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Runs `cmd` to completion (stdout discarded); returns its exit code (-1 when killed by a
/// signal), its peak RSS in bytes and its stderr.
pub fn run_measured(mut cmd: Command) -> (i32, u64, String) {
    let err = tempfile::tempfile().unwrap();
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let mut stderr = String::new();
    let mut err = err;
    std::io::Seek::rewind(&mut err).unwrap();
    std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
    (code, usage.ru_maxrss as u64 * 1024, stderr)
}

/// `fixtures/<name>` in the source tree.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Names for one load of the full fixture.
pub struct FixtureNames {
    pub db: String,
    pub db2: String,
    pub user: String,
}

pub fn load_full_fixture(server: &Server) -> FixtureNames {
    let names = FixtureNames {
        db: unique_name("fx"),
        db2: unique_name("fx2"),
        user: unique_name("fxu"),
    };
    server.load_sql_file(
        fixture("full.sql"),
        &[
            ("db", &names.db),
            ("db2", &names.db2),
            ("user", &names.user),
        ],
    );
    names
}

impl FixtureNames {
    /// `db,db2`, for `--databases`.
    pub fn databases(&self) -> String {
        format!("{},{}", self.db, self.db2)
    }
}

/// `mybak restore DIR --no-defaults --socket <server> --user root --progress never`.
pub fn mybak_restore_cmd(server: &Server, dir: &std::path::Path) -> Command {
    let mut cmd = mybak_on(server, "restore", "root");
    cmd.arg(dir);
    cmd
}

/// `mybak verify DIR --progress never` (add `--restore-test` and connection options as needed).
pub fn mybak_verify_cmd(dir: &std::path::Path) -> Command {
    let mut cmd = mybak_bare();
    cmd.arg("verify").arg(dir).arg("--progress").arg("never");
    cmd
}

/// `mybak dump` of `databases` (comma-separated) of `server` into output root `root` (a path or
/// an `s3://` URL), with `extra` arguments.
pub fn dump_into(
    server: &Server,
    root: impl AsRef<std::ffi::OsStr>,
    databases: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root)
        .arg("--databases")
        .arg(databases)
        .args(extra);
    cmd
}

/// Dumps `databases` (comma-separated) of `server` into `root` and returns the dump directory.
pub fn dump_databases(
    server: &Server,
    root: &std::path::Path,
    databases: &str,
    extra: &[&str],
) -> PathBuf {
    let out = dump::run_dump(dump_into(server, root, databases, extra));
    out.assert_code(0);
    out.dump_dir(root)
}

/// Updates the manifest's sha256/bytes for `data` and rewrites SHA256SUMS consistently.
pub fn rechecksum(dir: &std::path::Path, data: &str, content: &[u8]) {
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == data {
            f["sha256"] = dump::sha256_hex(content).into();
            f["bytes"] = content.len().into();
        }
    }
    let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    std::fs::write(&manifest_path, &text).unwrap();
    let mut sums = String::new();
    for f in manifest["files"].as_array().unwrap() {
        sums.push_str(&format!(
            "{}  {}\n",
            f["sha256"].as_str().unwrap(),
            f["path"].as_str().unwrap()
        ));
    }
    sums.push_str(&format!(
        "{}  manifest.json\n",
        dump::sha256_hex(text.as_bytes())
    ));
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}
