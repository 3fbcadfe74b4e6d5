//! Files that are not what they should be: a FIFO or a link to `/dev/zero` where mybak reads a
//! manifest, a checksum list or an option file is refused at once, naming the file, instead of
//! hanging or filling memory.

mod common;

use std::path::Path;
use std::time::Duration;

use common::dump::run_within;
use common::{mybak_bare, mybak_verify_cmd, Server};

/// Well above what a refusal takes, well below "hangs".
const PROMPTLY: Duration = Duration::from_secs(15);

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

#[test]
fn verify_refuses_a_manifest_or_checksum_list_that_is_not_a_regular_file() {
    let server = Server::shared();
    let db = common::unique_name("ff");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1);"
    ));
    let root = tempfile::tempdir().unwrap();
    let dump = common::dump_databases(server, root.path(), &db, &[]);

    let sums = dump.join("SHA256SUMS");
    std::fs::rename(&sums, dump.join("sums.orig")).unwrap();
    mkfifo(&sums);
    let (out, took) = run_within(mybak_verify_cmd(&dump), Duration::from_secs(120));
    // A damaged dump: a problem, exit code 1.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(took < PROMPTLY, "took {took:?}");
    assert!(
        out.stderr
            .contains("problem: SHA256SUMS: cannot be read: is a FIFO, not a regular file"),
        "{}",
        out.stderr
    );

    let manifest = dump.join("manifest.json");
    std::fs::rename(&manifest, dump.join("manifest.orig")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &manifest).unwrap();
    let (out, took) = run_within(mybak_verify_cmd(&dump), Duration::from_secs(120));
    // Not readable as a dump at all: exit code 2.
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(took < PROMPTLY, "took {took:?}");
    assert!(
        out.stderr.contains(&format!(
            "{}: is a symbolic link, not a regular file; refused",
            manifest.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn option_files_that_are_not_regular_files_are_refused_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.cnf");
    mkfifo(&fifo);
    let mut cmd = mybak_bare();
    cmd.arg("dump")
        .arg("--defaults-file")
        .arg(&fifo)
        .args(["--progress", "never", "--output-dir"])
        .arg(dir.path().join("root"));
    let (out, took) = run_within(cmd, Duration::from_secs(120));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(took < PROMPTLY, "took {took:?}");
    assert!(
        out.stderr.contains(&format!(
            "required option file {} is a FIFO, not a regular file",
            fifo.display()
        )),
        "{}",
        out.stderr
    );

    // Included, stdin and a FIFO are skipped with a warning; the run goes on (to a socket that
    // is not there).
    let cnf = dir.path().join("my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\n!include /dev/stdin\n!include {}\nsocket={}\n",
            fifo.display(),
            dir.path().join("none.sock").display()
        ),
    )
    .unwrap();
    let mut cmd = mybak_bare();
    cmd.arg("dump")
        .arg("--defaults-file")
        .arg(&cnf)
        .args(["--user", "root", "--progress", "never", "--output-dir"])
        .arg(dir.path().join("root"));
    let (out, took) = run_within(cmd, Duration::from_secs(120));
    assert!(took < PROMPTLY, "took {took:?}");
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("option file /dev/stdin skipped: it is a character device"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "option file {} skipped: it is a FIFO, not a regular file",
            fifo.display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("none.sock"), "{}", out.stderr);
}
