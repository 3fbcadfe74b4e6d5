//! `mybak prune` and the binlog archive: the archived files needed to replay from the oldest kept
//! dump stay, exactly; older ones go with the dumps that needed them.

mod common;

use std::path::Path;

use common::binlog::{archived_names, mybak_binlog_cmd};
use common::client::read_manifest;
use common::{dump_databases, mybak_bare, unique_name, Server};

fn prune(root: &Path, extra: &[&str]) -> std::process::Output {
    mybak_bare()
        .arg("prune")
        .arg(root)
        .args(["--no-config", "--progress", "never"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn prune_keeps_exactly_the_binlog_needed_by_the_oldest_kept_dump() {
    let server = Server::start_new();
    let root = tempfile::tempdir().unwrap();
    let db = unique_name("pr");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (a INT)"
    ));
    let mut dumps = Vec::new();
    for round in 0..3 {
        server.exec(&format!(
            "INSERT INTO {db}.t VALUES ({round}); FLUSH BINARY LOGS; INSERT INTO {db}.t VALUES ({round})"
        ));
        let name = format!("d{round}");
        let dir = dump_databases(&server, root.path(), &db, &["--name", &name]);
        dumps.push(
            read_manifest(&dir)["binlog"]["file"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        server.exec("FLUSH BINARY LOGS");
    }
    let out = mybak_binlog_cmd(&server, root.path())
        .arg("--once")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = archived_names(root.path());
    assert!(before.first().unwrap() < &dumps[0], "{before:?} {dumps:?}");
    // A dry run says which files would go and removes nothing.
    let out = prune(root.path(), &["--keep-last", "2", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let would: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("would remove") && l.contains("binlog/"))
        .collect();
    let expected: Vec<&String> = before.iter().filter(|f| **f < dumps[1]).collect();
    assert_eq!(would.len(), expected.len(), "{text}");
    assert_eq!(archived_names(root.path()), before);
    // The real run: the oldest dump and the files before the second dump's binlog file go.
    let out = prune(root.path(), &["--keep-last", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = archived_names(root.path());
    let kept: Vec<String> = before.iter().filter(|f| **f >= dumps[1]).cloned().collect();
    assert_eq!(after, kept);
    assert!(after.contains(&dumps[1]) && after.contains(&dumps[2]));
    for f in before.iter().filter(|f| **f < dumps[1]) {
        let dir = root.path().join("binlog/1");
        assert!(!dir.join(format!("{f}.zst")).exists() && !dir.join(format!("{f}.json")).exists());
    }
}
