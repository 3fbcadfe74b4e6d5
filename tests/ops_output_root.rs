//! The output root: one run at a time, names that never collide, private files whatever the
//! umask, and roots that cannot take a dump refused before anything is written.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::dump::{run_dump, walk};
use common::{mybak_cmd, unique_name, Server};

fn small_database(server: &Server) -> String {
    let db = unique_name("root");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT PRIMARY KEY, s TEXT);
         INSERT INTO `{db}`.t VALUES (1, 'a'), (2, 'b');
         CREATE TABLE `{db}`.m (x INT) ENGINE=MyISAM; INSERT INTO `{db}`.m VALUES (1);"
    ));
    db
}

/// Every path below `root` with its mode and, for files, content: what "touching" would change.
fn snapshot(root: &Path) -> Vec<(PathBuf, u32, Vec<u8>)> {
    let mut out: Vec<_> = walk(root)
        .into_iter()
        .map(|p| {
            let meta = fs::symlink_metadata(&p).unwrap();
            let content = if meta.is_file() {
                fs::read(&p).unwrap()
            } else {
                vec![]
            };
            (p, meta.permissions().mode(), content)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_second_run_on_a_locked_root_exits_3_and_touches_nothing() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    // A dump that waits for the global lock: a long statement on the MyISAM table holds it up.
    let blocker = {
        let mut conn = server.conn();
        let db = db.clone();
        std::thread::spawn(move || {
            use mysql::prelude::Queryable;
            conn.query_drop(format!("UPDATE `{db}`.m SET x = x + SLEEP(8)"))
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut first = mybak_cmd(server);
    first
        .arg("--output-dir")
        .arg(root.path())
        .args(["--databases", &db, "--lock-wait-timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let first = first.spawn().unwrap();
    // Wait until the first run holds the root's lock (it says so in the lock file); it then
    // waits for the server's locks behind the long UPDATE.
    let holder = format!("pid {} ", first.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !fs::read_to_string(root.path().join(".mybak.lock"))
            .is_ok_and(|t| t.starts_with(&holder))
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = snapshot(root.path());
    assert!(
        before.iter().any(|(p, _, _)| p.ends_with(".mybak.lock")),
        "{before:?}"
    );

    let mut second = mybak_cmd(server);
    second
        .arg("--output-dir")
        .arg(root.path())
        .args(["--databases", &db]);
    let out = run_dump(second);
    out.assert_code(3);
    assert!(
        out.stderr.contains(&format!("pid {}", first.id())),
        "the message does not name the running pid: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        snapshot(root.path()),
        before,
        "the second run touched the root"
    );
    let last = out.stderr.lines().last().unwrap();
    assert!(last.contains("summary: status=locked"), "{last}");

    blocker.join().unwrap().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
}

#[test]
fn files_are_0600_and_directories_0700_under_umask_022() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    for (mode_arg, file_mode, dir_mode) in [(None, 0o600, 0o700), (Some("0640"), 0o640, 0o750)] {
        let out_root = root.path().join(mode_arg.unwrap_or("default"));
        let mut cmd = mybak_cmd(server);
        cmd.arg("--output-dir").arg(&out_root).args([
            "--databases",
            &db,
            "--name",
            "%Y/%m/%d/%H%M%S",
        ]);
        if let Some(m) = mode_arg {
            cmd.args(["--file-mode", m]);
        }
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
                Ok(())
            });
        }
        let out = run_dump(cmd);
        out.assert_code(0);
        let dir = PathBuf::from(out.stdout.trim());
        assert_eq!(
            dir.strip_prefix(&out_root).unwrap().components().count(),
            4,
            "{dir:?}"
        );
        let below_root: Vec<PathBuf> = walk(&out_root);
        let mut files = 0;
        for p in below_root {
            let meta = fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if p.ends_with(".mybak.lock") {
                assert_eq!(mode, 0o600, "{p:?}");
            } else if meta.is_dir() {
                assert_eq!(mode, dir_mode, "{p:?}");
            } else {
                files += 1;
                assert_eq!(mode, file_mode, "{p:?}");
            }
        }
        assert!(files >= 5, "{files} files");
    }
}

#[test]
fn dumps_started_in_the_same_second_never_collide() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for _ in 0..3 {
        let mut cmd = mybak_cmd(server);
        cmd.arg("--output-dir")
            .arg(root.path())
            .args(["--databases", &db, "--name", "nightly-%F"]);
        let out = run_dump(cmd);
        out.assert_code(0);
        names.push(
            out.dump_dir(root.path())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    let today = names[0].clone();
    assert!(today.starts_with("nightly-20"), "{names:?}");
    assert_eq!(
        names,
        vec![today.clone(), format!("{today}-2"), format!("{today}-3")]
    );
}

#[test]
fn an_output_root_that_cannot_take_a_dump_is_refused_before_connecting() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, "x").unwrap();
    // No server at this socket: the root is checked first, so the error is about the root.
    let missing_socket = tmp.path().join("none.sock");
    for (root, words) in [
        (file.clone(), "exists and is not a directory"),
        (file.join("sub"), "is not a directory"),
    ] {
        let mut cmd = common::mybak_bare();
        cmd.args(["dump", "--no-defaults", "--user", "root", "--socket"])
            .arg(&missing_socket)
            .arg("--output-dir")
            .arg(&root);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert!(out.stderr.contains(words), "{root:?}: {}", out.stderr);
        assert!(!out.stderr.contains("cannot connect"), "{}", out.stderr);
        assert!(
            out.stderr.matches("os error").count() <= 1,
            "{}",
            out.stderr
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn too_little_space_is_refused_with_the_numbers() {
    let server = Server::shared();
    let db = small_database(server);
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir").arg(root.path().join("r")).args([
        "--databases",
        &db,
        "--min-free",
        "100000T",
    ]);
    let out = run_dump(cmd);
    out.assert_code(2);
    assert!(
        out.stderr.contains("not enough free space"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--min-free keeps"), "{}", out.stderr);
    assert!(
        !root.path().join("r").exists(),
        "the refused run created the root"
    );
}
