//! `mybak verify ROOT/binlog/<server>`: a clean archive verifies; a damaged file, a missing file
//! (a gap) and a dump older than the archive are problems naming the file, the gap and the dump;
//! an archive on S3 is verified through its `s3://` URL.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::binlog::{archive_dir, archived_names, mybak_binlog_cmd, server_binlogs};
use common::dump::{run_dump, DumpOutput};
use common::{dump_databases, dump_into, mybak_verify_cmd, unique_name, S3Server, Server};

/// Writes to `db`, then starts a new binlog file; `files` times.
fn writes_over_files(server: &Server, db: &str, files: u32) {
    for round in 0..files {
        server.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64));
             INSERT INTO {db}.t (v) VALUES ('round {round}'), (UUID());
             BEGIN; UPDATE {db}.t SET v = CONCAT(v, '+'); COMMIT;
             FLUSH BINARY LOGS;"
        ));
    }
}

/// A server with a database dumped into a fresh root, written to over `files` more binlog
/// files, and archived with `mybak binlog --once`: (root, dump directory, the dump's binlog file).
fn archived(server: &Server, files: u32) -> (tempfile::TempDir, PathBuf, String) {
    let db = unique_name("bv");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.s (id INT PRIMARY KEY); INSERT INTO {db}.s VALUES (1);"
    ));
    let root = tempfile::tempdir().unwrap();
    let dump = dump_databases(server, root.path(), &db, &[]);
    let manifest = common::client::read_manifest(&dump);
    let file = manifest["binlog"]["file"].as_str().unwrap().to_string();
    assert_eq!(manifest["binlog"]["archive"], "1", "{manifest}");
    writes_over_files(server, &db, files);
    let out = mybak_binlog_cmd(server, root.path())
        .arg("--once")
        .output()
        .expect("run mybak binlog");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (root, dump, file)
}

fn verify(dir: &Path, extra: &[&str]) -> DumpOutput {
    let mut cmd = mybak_verify_cmd(dir);
    cmd.args(extra);
    run_dump(cmd)
}

fn dump_name(dump: &Path) -> String {
    dump.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_clean_archive_verifies_and_damage_or_a_gap_is_named() {
    let server = Server::start_new();
    let (root, dump, dump_file) = archived(&server, 3);
    let dir = archive_dir(root.path());
    let names = archived_names(root.path());
    let at = names.iter().position(|n| *n == dump_file).unwrap();
    assert!(names.len() >= at + 3, "{names:?}");

    let out = verify(&dir, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains("summary: status=ok"), "{}", out.stderr);
    assert!(
        out.stderr.contains("info: ") && out.stderr.contains(".open: the file being received"),
        "{}",
        out.stderr
    );
    let out = verify(&dir, &["--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(report["files"], names.len());
    assert_eq!(report["dumps"], 1);
    assert!(report["events"].as_u64().unwrap() > 0);
    assert!(report["open"]["file"].is_string(), "{report}");

    // A flipped byte in a stored file.
    let damaged = dir.join(format!("{}.zst", names[at + 1]));
    let good = fs::read(&damaged).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    fs::write(&damaged, &bad).unwrap();
    let out = verify(&dir, &[]);
    out.assert_code(1);
    let named = format!("problem: {}.zst: its SHA-256 differs", names[at + 1]);
    assert!(out.stderr.contains(&named), "{}", out.stderr);
    assert!(
        out.stderr.contains("summary: status=damaged"),
        "{}",
        out.stderr
    );
    fs::write(&damaged, &good).unwrap();
    verify(&dir, &[]).assert_code(0);

    // A missing middle file is a gap, and the dump before it can no longer be rolled forward.
    let (before, gone, after) = (&names[at], &names[at + 1], &names[at + 2]);
    fs::remove_file(dir.join(format!("{gone}.zst"))).unwrap();
    fs::remove_file(dir.join(format!("{gone}.json"))).unwrap();
    let out = verify(&dir, &["--json"]);
    out.assert_code(1);
    let gap = format!("gap between {before} and {after}");
    assert!(out.stderr.contains(&gap), "{}", out.stderr);
    let stranded = format!(
        "point-in-time recovery from dump {} is impossible: {gap}",
        dump_name(&dump)
    );
    assert!(out.stderr.contains(&stranded), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 2, "{report}");
}

#[test]
fn a_dump_older_than_the_archive_is_named() {
    let server = Server::start_new();
    let (root, dump, dump_file) = archived(&server, 2);
    let dir = archive_dir(root.path());
    let names = archived_names(root.path());
    assert_eq!(names.first(), Some(&dump_file), "{names:?}");
    // The archive lost its oldest file (or was started after the dump's file was purged).
    fs::remove_file(dir.join(format!("{dump_file}.zst"))).unwrap();
    fs::remove_file(dir.join(format!("{dump_file}.json"))).unwrap();
    let out = verify(&dir, &[]);
    out.assert_code(1);
    let named = format!(
        "problem: {}: point-in-time recovery from dump {} is impossible: its binlog file \
         {dump_file} is older than the archive's first file, {}",
        dump.display(),
        dump_name(&dump),
        names[1]
    );
    assert!(out.stderr.contains(&named), "{}", out.stderr);
    // A dump directory is still verified as a dump.
    verify(&dump, &[]).assert_code(0);
}

#[test]
fn an_archive_on_s3_verifies_through_its_url() {
    const BUCKET: &str = "mybak-binlog-verify";
    let server = Server::start_new();
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let root = format!("s3://{BUCKET}/nightly");
    let db = unique_name("bv");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.s (id INT PRIMARY KEY); INSERT INTO {db}.s VALUES (1);"
    ));
    let mut dump = dump_into(&server, &root, &db, &[]);
    s3.apply(&mut dump);
    dump.arg("--s3-endpoint").arg(s3.endpoint());
    run_dump(dump).assert_code(0);
    writes_over_files(&server, &db, 2);
    let spool = tempfile::tempdir().unwrap();
    let mut archive = common::binlog::mybak_binlog_cmd(&server, Path::new(&root));
    archive
        .arg("--once")
        .arg("--spool-dir")
        .arg(spool.path())
        .arg("--s3-endpoint")
        .arg(s3.endpoint());
    s3.apply(&mut archive);
    run_dump(archive).assert_code(0);
    let url = format!("{root}/binlog/1");
    let verify = |extra: &[&str]| {
        let mut cmd = mybak_verify_cmd(Path::new(&url));
        cmd.args(extra).arg("--s3-endpoint").arg(s3.endpoint());
        s3.apply(&mut cmd);
        run_dump(cmd)
    };
    let out = verify(&["--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["dumps"], 1, "{report}");
    assert!(report["files"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["open"].is_null(), "{report}");
    // The oldest archived file replaced by other bytes.
    let first = server_binlogs(&server)[0].clone();
    s3.put_object(
        BUCKET,
        &format!("nightly/binlog/1/{first}.zst"),
        b"not zstd",
    );
    let out = verify(&[]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains(&format!("problem: {first}.zst: is 8 bytes")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("point-in-time recovery from dump"),
        "{}",
        out.stderr
    );
}
