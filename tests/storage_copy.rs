//! `mybak copy SRC DST`: a finished dump into another output root (local disk or S3) byte for
//! byte, checked against its manifest on the way; a damaged source leaves nothing behind, an
//! identical copy is left alone, a different dump of the same name is refused.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::compare::compare_databases_renamed;
use common::dump::{run_dump, walk, DumpOutput};
use common::server::find_binary;
use common::{
    dump_databases, mybak_bare, mybak_restore_cmd, mybak_verify_cmd, root_entries, unique_name,
    S3Server, Server,
};

/// A database with two tables, a view and a routine.
fn small_db(server: &Server) -> String {
    let db = unique_name("cp");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id INT PRIMARY KEY, f DOUBLE, b BLOB);
         INSERT INTO t SELECT seq, seq / 7, UNHEX('00FF10') FROM seq_1_to_2000;
         CREATE TABLE u (id INT PRIMARY KEY, s VARCHAR(20)); INSERT INTO u VALUES (1, 'a;b'), (2, 'it''s');
         CREATE VIEW v AS SELECT id FROM t;
         CREATE PROCEDURE p() SELECT 1;"
    ));
    db
}

/// `mybak copy SRC DST ARGS…`, pointed at `s3` when given.
fn copy(src: &str, dst: &str, s3: Option<&S3Server>, extra: &[&str]) -> DumpOutput {
    let mut cmd = mybak_bare();
    cmd.arg("copy")
        .arg(src)
        .arg(dst)
        .args(["--progress", "never"]);
    cmd.args(extra);
    if let Some(s3) = s3 {
        with_s3(&mut cmd, s3);
    }
    run_dump(cmd)
}

fn with_s3(cmd: &mut Command, s3: &S3Server) {
    cmd.arg("--s3-endpoint").arg(s3.endpoint());
    s3.apply(cmd);
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn dump_name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every file under `dir` by its path relative to `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (rel, fs::read(&p).unwrap())
        })
        .collect()
}

/// Panics unless `a` and `b` hold the same files with the same bytes.
fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for (rel, bytes) in &ta {
        assert!(bytes == &tb[rel], "{rel} differs");
    }
    assert!(ta.contains_key("manifest.json") && ta.contains_key("SHA256SUMS"));
}

/// The single stdout line, as a path.
fn stdout_path(out: &DumpOutput) -> String {
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}\n{}", out.stdout, out.stderr);
    lines[0].to_string()
}

/// Restores `dir` (`extra`: e.g. `--identity`) under a new database name and compares it with `db`.
fn restore_renamed_and_compare(server: &Server, db: &str, dir: &str, extra: &[&str]) {
    let copy_db = unique_name("cpr");
    let mut cmd = mybak_restore_cmd(server, Path::new(dir));
    cmd.args(["--rename-database", &format!("{db}={copy_db}")])
        .args(extra);
    run_dump(cmd).assert_code(0);
    compare_databases_renamed(server, db, server, &copy_db, &[]).unwrap();
}

#[test]
fn a_local_copy_is_byte_identical_and_verifies_and_copying_again_changes_nothing() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, &tmp.path().join("a"), &db, &[]);
    let name = dump_name(&dir);
    let dst = tmp.path().join("b");

    let out = copy(path_str(&dir), path_str(&dst), None, &["--threads", "2"]);
    out.assert_code(0);
    let copied = dst.join(&name);
    assert_eq!(stdout_path(&out), copied.display().to_string());
    assert_eq!(root_entries(&dst), std::slice::from_ref(&name));
    assert_same_tree(&dir, &copied);
    run_dump(mybak_verify_cmd(&copied)).assert_code(0);

    let modified = |p: &Path| {
        walk(p)
            .into_iter()
            .map(|f| fs::metadata(&f).unwrap().modified().unwrap())
            .collect::<Vec<_>>()
    };
    let before = modified(&copied);
    let out = copy(path_str(&dir), path_str(&dst), None, &["-v"]);
    out.assert_code(0);
    assert_eq!(stdout_path(&out), copied.display().to_string());
    assert!(
        out.stderr.contains("holds this dump already")
            && out.stderr.contains("summary: status=complete bytes=0 "),
        "{}",
        out.stderr
    );
    assert_eq!(modified(&copied), before, "files were rewritten");
    assert_eq!(root_entries(&dst), [name]);
    assert_same_tree(&dir, &copied);
}

#[test]
fn a_dump_round_trips_through_s3_byte_for_byte_and_restores_from_there() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, &tmp.path().join("a"), &db, &[]);
    let name = dump_name(&dir);
    let s3 = S3Server::start();
    s3.create_bucket("bkt");

    let out = copy(path_str(&dir), "s3://bkt/nightly", Some(&s3), &[]);
    out.assert_code(0);
    let url = format!("s3://bkt/nightly/{name}");
    assert_eq!(stdout_path(&out), url);
    let local = tree(&dir);
    let mut keys = s3.list_keys("bkt", "");
    keys.sort();
    let mut expected: Vec<String> = local
        .keys()
        .map(|rel| format!("nightly/{name}/{rel}"))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    for (rel, bytes) in &local {
        assert!(
            &s3.get_object("bkt", &format!("nightly/{name}/{rel}")) == bytes,
            "{rel} differs on S3"
        );
    }
    assert_eq!(s3.list_multipart_uploads("bkt"), []);

    let mut cmd = mybak_bare();
    cmd.args(["list", "s3://bkt/nightly", "--json"]);
    with_s3(&mut cmd, &s3);
    let out = run_dump(cmd);
    out.assert_code(0);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], name.as_str());
    assert_eq!(listed[0]["status"], "complete");

    let mut cmd = mybak_verify_cmd(Path::new(&url));
    with_s3(&mut cmd, &s3);
    run_dump(cmd).assert_code(0);

    // Back to disk: the same bytes again.
    let back = tmp.path().join("back");
    let out = copy(&url, path_str(&back), Some(&s3), &[]);
    out.assert_code(0);
    assert_eq!(stdout_path(&out), back.join(&name).display().to_string());
    assert_same_tree(&dir, &back.join(&name));

    // Restore straight from the S3 copy.
    let copy_db = unique_name("cps3");
    let mut cmd = mybak_restore_cmd(server, Path::new(&url));
    cmd.args(["--rename-database", &format!("{db}={copy_db}")]);
    with_s3(&mut cmd, &s3);
    run_dump(cmd).assert_code(0);
    compare_databases_renamed(server, &db, server, &copy_db, &[]).unwrap();
}

/// Changed data under unchanged checksums: one byte flipped (same size), bytes appended (the
/// file is longer than the manifest says, caught mid-stream).
#[test]
fn a_tampered_source_file_fails_the_copy_and_leaves_nothing_at_the_destination() {
    let server = Server::shared();
    let db = small_db(server);
    let s3 = S3Server::start();
    s3.create_bucket("bkt");
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 2] = [
        ("flipped byte", |bytes| {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x01;
        }),
        ("appended bytes", |bytes| bytes.extend_from_slice(b"DROP")),
    ];
    let mut codes = Vec::new();
    for (what, damage) in damages {
        let tmp = tempfile::tempdir().unwrap();
        let dir = dump_databases(server, &tmp.path().join("a"), &db, &[]);
        let data = common::client::table_data_file(&dir, "t");
        let path = dir.join(&data);
        let mut bytes = fs::read(&path).unwrap();
        damage(&mut bytes);
        fs::write(&path, bytes).unwrap();

        let dst = tmp.path().join("b");
        let out = copy(path_str(&dir), path_str(&dst), None, &["--threads", "1"]);
        assert!(
            out.stderr.contains(&data),
            "{what}: {data} not named: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
        assert_eq!(
            root_entries(&dst),
            Vec::<String>::new(),
            "{what}: left at the destination"
        );
        codes.push((format!("{what}, to disk"), out.code));

        let out = copy(path_str(&dir), "s3://bkt/nightly", Some(&s3), &[]);
        assert!(
            out.stderr.contains(&data),
            "{what}: {data} not named: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
        assert_eq!(
            s3.list_keys("bkt", ""),
            Vec::<String>::new(),
            "{what}: left on S3"
        );
        assert_eq!(
            s3.list_multipart_uploads("bkt"),
            [],
            "{what}: uploads left on S3"
        );
        codes.push((format!("{what}, to S3"), out.code));
    }
    // `mybak help copy`: "1: a file failed on the way (nothing is left at the destination)".
    for (what, code) in codes {
        assert_eq!(code, Some(1), "{what}: exit code");
    }
}

#[test]
fn a_different_dump_of_the_same_name_at_the_destination_is_refused_and_kept() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, &tmp.path().join("a"), &db, &["--name", "nightly"]);
    server.exec(&format!("INSERT INTO {db}.u VALUES (3, 'new')"));
    let dst = tmp.path().join("b");
    let other = dump_databases(server, &dst, &db, &["--name", "nightly"]);
    let before = tree(&other);

    let out = copy(path_str(&dir), path_str(&dst), None, &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("holds a different dump"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(tree(&other), before, "the destination dump changed");
    assert_eq!(root_entries(&dst), ["nightly"]);
}

#[test]
fn a_source_that_is_not_a_finished_dump_is_refused() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, &tmp.path().join("a"), &db, &["--name", "n"]);
    let dst = tmp.path().join("b");

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    // Unfinished: a dump directory without its manifest.
    let unfinished = tmp.path().join("a/n.partial");
    fs::create_dir(&unfinished).unwrap();
    for (rel, bytes) in tree(&dir) {
        if rel != "manifest.json" {
            let to = unfinished.join(rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::write(to, bytes).unwrap();
        }
    }
    for src in [&empty, &unfinished, &tmp.path().join("missing")] {
        let out = copy(path_str(src), path_str(&dst), None, &[]);
        assert_eq!(out.code, Some(2), "{}: {}", src.display(), out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert_eq!(root_entries(&dst), Vec::<String>::new());
    }
}

#[test]
fn an_encrypted_dump_copies_without_a_key_and_restores_from_the_copy_with_it() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let keygen = Command::new(find_binary("age-keygen"))
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let public = Command::new(find_binary("age-keygen"))
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    let public = String::from_utf8(public.stdout).unwrap().trim().to_string();
    let dir = dump_databases(
        server,
        &tmp.path().join("a"),
        &db,
        &["--encrypt-to", &public],
    );
    let dst = tmp.path().join("b");

    let out = copy(path_str(&dir), path_str(&dst), None, &[]);
    out.assert_code(0);
    let copied: PathBuf = stdout_path(&out).into();
    assert_same_tree(&dir, &copied);
    let data = common::client::table_data_file(&copied, "t");
    assert!(fs::read(copied.join(&data))
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    run_dump(mybak_verify_cmd(&copied)).assert_code(0);

    restore_renamed_and_compare(
        server,
        &db,
        path_str(&copied),
        &["--identity", path_str(&key)],
    );
}
