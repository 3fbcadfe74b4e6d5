use super::*;
use crate::manifest::FileKind;
use crate::sink::hex;
use crate::store::storage::local::{open_file, LocalStorage};
use sha2::{Digest, Sha256};
use std::path::Path;

fn local(dir: &Path) -> LocalStorage {
    LocalStorage::new(dir, Default::default())
}

/// The plain dump in `storage`.
fn plain(storage: &LocalStorage) -> Source<'_> {
    Source {
        storage,
        encrypted: false,
        identities: None,
    }
}

/// Writes `sql` compressed as `rel` in `dir` and describes it as the manifest would.
fn file(dir: &Path, rel: &str, sql: &[u8], rows: Option<u64>) -> ManifestFile {
    let data = zstd::encode_all(sql, 1).unwrap();
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &data).unwrap();
    ManifestFile {
        path: rel.to_string(),
        sha256: hex(&Sha256::digest(&data)),
        bytes: data.len() as u64,
        sql_bytes: sql.len() as u64,
        kind: FileKind::TableData,
        database: Some("db".into()),
        table: Some("t".into()),
        rows,
        max_statement_bytes: None,
        etag: None,
    }
}

fn accept_all(_: &[u8]) -> Result<(), String> {
    Ok(())
}

#[test]
fn a_file_as_described_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let sql = b"SET NAMES utf8mb4;\nINSERT INTO `t` VALUES (1),(2);\nINSERT INTO `t` VALUES (3);\n";
    let f = file(dir.path(), "db/t.sql.zst", sql, Some(3));
    let s = scan(plain(&local(dir.path())), &f, 1 << 20, &mut accept_all).unwrap();
    assert_eq!(s.statements, 3);
    assert_eq!(s.rows, 3);
    assert_eq!(s.sql_bytes, sql.len() as u64);
    assert_eq!(s.sha256, f.sha256);
}

#[test]
fn a_file_unlike_its_description_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sql = b"INSERT INTO `t` VALUES (1),(2);\n";
    let mut f = file(dir.path(), "db/t.sql.zst", sql, Some(2));
    f.rows = Some(3);
    let e = scan(plain(&local(dir.path())), &f, 1 << 20, &mut accept_all).unwrap_err();
    assert!(e.error.contains("holds 2 rows, the manifest says 3"), "{e}");
    f.rows = Some(2);
    f.sha256 = "0".repeat(64);
    let e = scan(plain(&local(dir.path())), &f, 1 << 20, &mut accept_all).unwrap_err();
    assert!(e.error.contains("SHA-256 mismatch"), "{e}");
    f.bytes += 1;
    let e = scan(plain(&local(dir.path())), &f, 1 << 20, &mut accept_all).unwrap_err();
    assert!(e.error.contains("the manifest says"), "{e}");
}

#[test]
fn a_refused_statement_is_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let sql = b"SET NAMES utf8mb4;\n\nDROP DATABASE mysql;\n";
    let f = file(dir.path(), "db/t.sql.zst", sql, None);
    let mut no_drop = |s: &[u8]| {
        if s.starts_with(b"DROP") {
            Err("not allowed".to_string())
        } else {
            Ok(())
        }
    };
    let e = scan(plain(&local(dir.path())), &f, 1 << 20, &mut no_drop).unwrap_err();
    assert_eq!((e.line, e.offset), (3, 20));
    assert_eq!(
        e.to_string(),
        "db/t.sql.zst: statement at line 3 (byte 20): not allowed"
    );
}

#[test]
fn a_decompression_bomb_stops_early_and_small() {
    let dir = tempfile::tempdir().unwrap();
    // 80 MiB of one statement, compressed to a few KiB; the manifest says 40 bytes of SQL.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    std::io::Write::write_all(&mut encoder, b"INSERT INTO `t` VALUES ('").unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..80 {
        std::io::Write::write_all(&mut encoder, &block).unwrap();
    }
    let data = encoder.finish().unwrap();
    assert!(data.len() < 64 << 10);
    std::fs::write(dir.path().join("bomb.sql.zst"), &data).unwrap();
    let f = ManifestFile {
        path: "bomb.sql.zst".into(),
        sha256: hex(&Sha256::digest(&data)),
        bytes: data.len() as u64,
        sql_bytes: 40,
        kind: FileKind::TableData,
        database: Some("db".into()),
        table: Some("t".into()),
        rows: Some(1),
        max_statement_bytes: Some(40),
        etag: None,
    };
    let e = scan(plain(&local(dir.path())), &f, 1 << 30, &mut accept_all).unwrap_err();
    // The recorded largest statement (40 bytes + room) stops it long before the bomb's size.
    assert!(e.error.contains("statement longer than 1064 bytes"), "{e}");
    let mut unbounded = f.clone();
    unbounded.max_statement_bytes = None;
    let e = scan(
        plain(&local(dir.path())),
        &unbounded,
        1 << 30,
        &mut accept_all,
    )
    .unwrap_err();
    assert!(
        e.error.contains("statement longer than") || e.error.contains("far more SQL"),
        "{e}"
    );
}

#[test]
fn only_regular_files_inside_the_dump_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.sql.zst"), b"x").unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("db")).unwrap();
    std::fs::write(d.join("db/ok.sql.zst"), b"x").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.sql.zst"),
        d.join("db/link.sql.zst"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), d.join("linkdir")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.sql.zst")).unwrap();
    nix::unistd::mkfifo(&d.join("fifo.sql.zst"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert!(open_file(d, "db/ok.sql.zst").is_ok());
    for (rel, why) in [
        ("db/link.sql.zst", "symlink"),
        ("linkdir/secret.sql.zst", "symlink"),
        ("zero.sql.zst", "symlink"),
        ("fifo.sql.zst", "not a regular file"),
        ("db", "not a regular file"),
        ("../x.sql.zst", "leaves the dump directory"),
        ("/etc/passwd", "leaves the dump directory"),
        ("db//ok.sql.zst", "leaves the dump directory"),
        ("db/missing.sql.zst", "missing"),
    ] {
        let e = open_file(d, rel).unwrap_err();
        assert!(e.contains(why), "{rel}: {e}");
    }
}

#[test]
fn statement_limits_follow_the_manifest() {
    let mut f = ManifestFile {
        path: "a".into(),
        sha256: String::new(),
        bytes: 0,
        sql_bytes: 0,
        kind: FileKind::TableData,
        database: None,
        table: None,
        rows: None,
        max_statement_bytes: Some(1000),
        etag: None,
    };
    assert_eq!(statement_limit(&f, 1 << 30), 2024);
    assert_eq!(statement_limit(&f, 500), 500);
    f.max_statement_bytes = None;
    assert_eq!(statement_limit(&f, 1 << 30), OBJECT_STATEMENT_LIMIT);
    f.max_statement_bytes = Some(u64::MAX);
    assert_eq!(statement_limit(&f, 1 << 30), 1 << 30);
}

#[test]
fn an_encrypted_file_is_read_with_its_key_and_only_hashed_without() {
    use age::secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let secret = age::x25519::Identity::generate();
    let recipient = crate::crypt::Recipient::parse(&secret.to_public().to_string()).unwrap();
    let sql = b"INSERT INTO `t` VALUES (1),(2);\nINSERT INTO `t` VALUES (3);\n";
    let compressed = zstd::encode_all(&sql[..], 1).unwrap();
    let mut w = crate::crypt::encrypting(&[recipient], Vec::new()).unwrap();
    std::io::Write::write_all(&mut w, &compressed).unwrap();
    let data = w.finish().unwrap();
    std::fs::create_dir_all(dir.path().join("db")).unwrap();
    std::fs::write(dir.path().join("db/t.sql.zst"), &data).unwrap();
    let mut f = file(dir.path(), "db/other.sql.zst", sql, Some(3));
    f.path = "db/t.sql.zst".into();
    f.sha256 = hex(&Sha256::digest(&data));
    f.bytes = data.len() as u64;
    let key_file = dir.path().join("key.txt");
    std::fs::write(
        &key_file,
        format!("# key\n{}\n", secret.to_string().expose_secret()),
    )
    .unwrap();
    let identities = crate::crypt::Identities::from_file(&key_file).unwrap();
    let storage = local(dir.path());
    let with_key = Source {
        storage: &storage,
        encrypted: true,
        identities: Some(&identities),
    };
    let s = scan(with_key, &f, 1 << 20, &mut accept_all).unwrap();
    assert!(s.statements_read);
    assert_eq!((s.statements, s.rows), (2, 3));
    let without = Source {
        identities: None,
        ..with_key
    };
    let s = scan(without, &f, 1 << 20, &mut accept_all).unwrap();
    assert!(!s.statements_read);
    assert_eq!(s.sha256, f.sha256);
    let e = StatementReader::open(without, &f, 1 << 20).err().unwrap();
    assert!(e.error.contains("--identity"), "{e}");
    // Another key: refused before any statement.
    let other = dir.path().join("other.txt");
    let other_secret = age::x25519::Identity::generate();
    std::fs::write(
        &other,
        format!("{}\n", other_secret.to_string().expose_secret()),
    )
    .unwrap();
    let other = crate::crypt::Identities::from_file(&other).unwrap();
    let wrong = Source {
        identities: Some(&other),
        ..with_key
    };
    let e = scan(wrong, &f, 1 << 20, &mut accept_all).unwrap_err();
    assert!(e.error.contains("cannot be decrypted"), "{e}");
}
