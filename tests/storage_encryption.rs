//! Encryption at rest: `mybak dump --encrypt-to age1…` writes age files the real `age` tool opens,
//! `restore`/`verify --identity` read them, integrity is checked without the key, and a bad
//! recipient or a wrong key is refused before anything is written or restored.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::{run_dump, sha256_hex, DumpOutput};
use common::server::find_binary;
use common::{
    assert_same_databases, dump_databases, load_full_fixture, mybak_bare, mybak_restore_cmd,
    mybak_verify_cmd, unique_name, Server,
};

/// The first line of every binary age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// A key pair made by the real `age-keygen`: the identity file and its public key.
struct Key {
    file: PathBuf,
    public: String,
}

impl Key {
    fn new(dir: &Path, name: &str) -> Key {
        let file = dir.join(name);
        let out = Command::new(find_binary("age-keygen"))
            .arg("-o")
            .arg(&file)
            .output()
            .expect("run age-keygen");
        assert!(out.status.success(), "age-keygen: {out:?}");
        let out = Command::new(find_binary("age-keygen"))
            .arg("-y")
            .arg(&file)
            .output()
            .expect("run age-keygen -y");
        assert!(out.status.success(), "age-keygen -y: {out:?}");
        let public = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(public.starts_with("age1"), "{public}");
        Key { file, public }
    }

    /// The `AGE-SECRET-KEY-1…` line of the identity file.
    fn secret(&self) -> String {
        fs::read_to_string(&self.file)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .expect("secret key line")
            .to_string()
    }

    fn path(&self) -> &str {
        self.file.to_str().unwrap()
    }
}

/// A database with two tables and a view.
fn small_db(server: &Server) -> String {
    let db = unique_name("enc");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), b BLOB);
         INSERT INTO t SELECT seq, CONCAT('row ', seq), UNHEX('00FF10') FROM seq_1_to_300;
         CREATE TABLE u (id INT PRIMARY KEY); INSERT INTO u VALUES (1), (2);
         CREATE VIEW v AS SELECT id FROM t;"
    ));
    db
}

/// The paths of every file the manifest lists.
fn manifest_paths(dir: &Path) -> Vec<String> {
    common::client::read_manifest(dir)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// `age -d -i KEY FILE`, then zstd: the SQL text of a dumped file, read with the real age tool.
fn decrypt_with_age(key: &Key, file: &Path) -> String {
    let out = Command::new(find_binary("age"))
        .arg("-d")
        .arg("-i")
        .arg(&key.file)
        .arg(file)
        .output()
        .expect("run age -d");
    assert!(
        out.status.success(),
        "age -d {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = zstd::decode_all(out.stdout.as_slice())
        .unwrap_or_else(|e| panic!("zstd -d of decrypted {}: {e}", file.display()));
    String::from_utf8(sql).unwrap()
}

fn run(mut cmd: Command, extra: &[&str]) -> DumpOutput {
    cmd.args(extra);
    run_dump(cmd)
}

fn schema_exists(server: &Server, db: &str) -> bool {
    server.query_value(&format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"
    )) == Some("1".to_string())
}

/// `sha256sum -c --strict SHA256SUMS` inside `dir` passes.
fn sha256sum_check(dir: &Path) {
    let out = Command::new(find_binary("sha256sum"))
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sha256sum -c in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_encrypted_full_fixture_dump_is_age_throughout_and_restores_exactly_with_the_identity() {
    let src = Server::shared();
    let names = load_full_fixture(src);
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::new(tmp.path(), "key.txt");
    let root = tmp.path().join("out");
    let dir = dump_databases(
        src,
        &root,
        &names.databases(),
        &["--threads", "2", "--encrypt-to", &key.public],
    );

    let manifest = common::client::read_manifest(&dir);
    assert_eq!(manifest["format_version"], 2);
    assert_eq!(manifest["encryption"]["method"], "age");
    assert_eq!(
        manifest["encryption"]["recipients"],
        serde_json::json!([key.public])
    );
    // The recorded hashes are of the stored (encrypted) bytes.
    sha256sum_check(&dir);
    let mut inserts = 0;
    for rel in manifest_paths(&dir) {
        let path = dir.join(&rel);
        let stored = fs::read(&path).unwrap();
        assert!(stored.starts_with(AGE_MAGIC), "{rel} is not an age file");
        assert_eq!(
            manifest["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["path"] == rel.as_str())
                .unwrap()["sha256"],
            sha256_hex(&stored).as_str()
        );
        let sql = decrypt_with_age(&key, &path);
        assert!(!sql.is_empty(), "{rel} decrypts to nothing");
        inserts += usize::from(sql.contains("INSERT INTO"));
    }
    assert!(inserts > 0, "no decrypted file holds INSERT INTO");

    let out = run(
        mybak_verify_cmd(&dir),
        &["--identity", key.path(), "--json"],
    );
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(report["statements"].as_u64().unwrap() > 0, "{report}");
    assert!(report["rows"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));

    let dst = Server::start_new();
    dst.exec(&format!("CREATE USER '{}'@'localhost'", names.user));
    // Without the key: refused, nothing created.
    let out = run(mybak_restore_cmd(&dst, &dir), &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("encrypted") && out.stderr.contains("--identity"),
        "{}",
        out.stderr
    );
    assert!(!schema_exists(&dst, &names.db) && !schema_exists(&dst, &names.db2));

    let out = run(
        mybak_restore_cmd(&dst, &dir),
        &["--identity", key.path(), "--threads", "2"],
    );
    out.assert_code(0);
    assert!(
        out.stderr.contains("summary: status=complete databases=2 "),
        "{}",
        out.stderr
    );
    assert_same_databases(src, &names.db, &dst, &names.db);
    assert_same_databases(src, &names.db2, &dst, &names.db2);
}

#[test]
fn without_the_key_verify_checks_hashes_only_and_still_catches_a_flipped_byte() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::new(tmp.path(), "key.txt");
    let dir = dump_databases(server, tmp.path(), &db, &["--encrypt-to", &key.public]);

    let out = run(mybak_verify_cmd(&dir), &[]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("encrypted")
            && out
                .stderr
                .contains("only each file's size and SHA-256 were checked"),
        "{}",
        out.stderr
    );
    let summary = out.stderr.lines().last().unwrap_or_default();
    assert!(
        summary.contains("status=ok") && summary.contains("statements=0"),
        "{}",
        out.stderr
    );

    let data = common::client::table_data_file(&dir, "t");
    let path = dir.join(&data);
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let out = run(mybak_verify_cmd(&dir), &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{data}: SHA-256 mismatch")),
        "{data} not named: {}",
        out.stderr
    );
}

#[test]
fn a_wrong_identity_fails_verify_and_restores_nothing() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::new(tmp.path(), "key.txt");
    let other = Key::new(tmp.path(), "other.txt");
    let dir = dump_databases(server, tmp.path(), &db, &["--encrypt-to", &key.public]);

    let out = run(mybak_verify_cmd(&dir), &["--identity", other.path()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let data = common::client::table_data_file(&dir, "t");
    assert!(
        out.stderr.contains(&format!("{data}: cannot be decrypted"))
            && out.stderr.contains("does not hold"),
        "{data} not named as undecryptable: {}",
        out.stderr
    );
    assert!(!out.stderr.contains(&other.secret()), "{}", out.stderr);

    server.exec(&format!("DROP DATABASE {db}"));
    let out = run(
        mybak_restore_cmd(server, &dir),
        &["--identity", other.path()],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("does not hold"), "{}", out.stderr);
    assert!(!out.stderr.contains(&other.secret()), "{}", out.stderr);
    assert!(!schema_exists(server, &db), "restore ran SQL");

    // A file holding no secret key (here: the public key) is no identity.
    let public_only = tmp.path().join("public.txt");
    fs::write(&public_only, format!("{}\n", key.public)).unwrap();
    let out = run(
        mybak_restore_cmd(server, &dir),
        &["--identity", public_only.to_str().unwrap()],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("identity file"), "{}", out.stderr);
    assert!(!schema_exists(server, &db), "restore ran SQL");

    // The right key still restores it.
    let out = run(mybak_restore_cmd(server, &dir), &["--identity", key.path()]);
    out.assert_code(0);
    assert_eq!(
        server.query_value(&format!("SELECT COUNT(*) FROM {db}.t")),
        Some("300".to_string())
    );
}

#[test]
fn a_bad_encrypt_to_is_refused_in_one_line_before_anything_is_written() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::new(tmp.path(), "key.txt");
    let secret = key.secret();
    let root = tmp.path().join("out");
    fs::create_dir(&root).unwrap();
    for values in [
        vec!["garbage"],
        vec!["age1notakey"],
        vec![secret.as_str()],
        vec![key.public.as_str(), "garbage"],
        vec![""],
    ] {
        let mut cmd = common::mybak_cmd(server);
        cmd.arg("--output-dir")
            .arg(&root)
            .args(["--databases", &db]);
        for v in &values {
            cmd.args(["--encrypt-to", v]);
        }
        let out = run_dump(cmd);
        out.assert_code(2);
        let errors: Vec<&str> = out.stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{values:?}: {}", out.stderr);
        assert!(errors[0].contains("--encrypt-to"), "{}", out.stderr);
        assert!(
            !out.stderr.contains(&secret) && !out.stderr.contains(&secret[20..]),
            "the secret key is echoed: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        let left: Vec<_> = fs::read_dir(&root).unwrap().flatten().collect();
        assert!(left.is_empty(), "{values:?}: {left:?} written");
    }
}

fn write_config(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
fn config_file_keys_encrypt_the_dump_and_give_restore_and_verify_the_identity() {
    let server = Server::shared();
    let db = small_db(server);
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::new(tmp.path(), "key.txt");
    let root = tmp.path().join("backups");
    let config = tmp.path().join("mybak.toml");
    write_config(
        &config,
        &format!(
            "progress = \"never\"\n\n[connection]\nsocket = \"{sock}\"\nuser = \"root\"\nno-defaults = true\n\n\
             [dump]\noutput-dir = \"{root}\"\ndatabases = [\"{db}\"]\nname = \"enc\"\nencrypt-to = [\"{public}\"]\n\n\
             [restore]\nidentity = \"{key}\"\n\n[verify]\nidentity = \"{key}\"\n",
            sock = server.socket().display(),
            root = root.display(),
            public = key.public,
            key = key.file.display(),
        ),
    );
    let with_config = |args: &[&str]| {
        let mut cmd = mybak_bare();
        cmd.arg("--config").arg(&config).args(args);
        run_dump(cmd)
    };

    let out = with_config(&["dump"]);
    out.assert_code(0);
    let dir = root.join("enc");
    assert_eq!(out.stdout.trim(), dir.display().to_string());
    let manifest = common::client::read_manifest(&dir);
    assert_eq!(
        manifest["encryption"]["recipients"],
        serde_json::json!([key.public])
    );
    for rel in manifest_paths(&dir) {
        assert!(
            fs::read(dir.join(&rel)).unwrap().starts_with(AGE_MAGIC),
            "{rel} is not an age file"
        );
    }

    let dir_arg = dir.to_str().unwrap();
    let out = with_config(&["verify", dir_arg, "--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["rows"], 302, "{report}");
    assert!(
        !out.stderr.contains("only each file's size"),
        "{}",
        out.stderr
    );

    server.exec(&format!("DROP DATABASE {db}"));
    let out = with_config(&["restore", dir_arg]);
    out.assert_code(0);
    assert_eq!(
        server.query_value(&format!("SELECT COUNT(*) FROM {db}.t")),
        Some("300".to_string())
    );
}
