use std::os::unix::fs::PermissionsExt;

use super::catalog::{list_dumps, remove_dump, Found};
use super::*;
use crate::manifest::{Consistency, ServerInfo, Status};

fn options() -> WriteOptions {
    WriteOptions {
        compress_level: 1,
        recipients: Vec::new(),
        compress_workers: 0,
    }
}

/// The local root `root`, creating with `mode`.
fn local(root: &Path, mode: &str) -> SharedStorage {
    std::sync::Arc::new(storage::local::LocalStorage::new(
        root,
        mode.parse().unwrap(),
    ))
}

fn run() -> RunInfo {
    RunInfo::current("r1", Utc::now())
}

fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

pub(crate) fn manifest(started_at: &str, status: Status) -> Manifest {
    Manifest {
        format_version: 1,
        tool: "mybak".into(),
        tool_version: "0".into(),
        server: ServerInfo {
            version: "10.11".into(),
            host: "h".into(),
        },
        started_at: started_at.into(),
        finished_at: started_at.into(),
        status,
        consistency: Consistency::Snapshot,
        run_id: None,
        source_bytes: None,
        binlog: None,
        failures: vec![],
        system_accounts_left_out: vec![],
        encryption: None,
        databases: vec![],
        files: vec![],
    }
}

/// Writes a finished dump named `name` with one data file.
fn finished(root: &Path, name: &str, started_at: &str, status: Status) -> PathBuf {
    let d = DumpDir::create(local(root, "0600"), name, options(), &run()).unwrap();
    let mut f = d.sql_file("db/t.sql.zst").unwrap();
    f.write_all(b"SELECT 1;\n").unwrap();
    let mut m = manifest(started_at, status);
    m.files.push(data_file(f.finish().unwrap()));
    d.finish(&m).unwrap()
}

/// The manifest entry of data file `rec`.
fn data_file(rec: crate::sink::FileRecord) -> crate::manifest::ManifestFile {
    crate::manifest::ManifestFile {
        path: rec.path,
        sha256: rec.sha256,
        bytes: rec.bytes,
        sql_bytes: rec.sql_bytes,
        kind: crate::manifest::FileKind::TableData,
        database: Some("db".into()),
        table: Some("t".into()),
        rows: Some(0),
        max_statement_bytes: None,
        etag: None,
    }
}

#[test]
fn files_are_private_whatever_the_umask_unless_widened() {
    let root = tempfile::tempdir().unwrap();
    // The process umask is 022 in tests; 0600/0700 must still hold, and a wider mode must reach
    // every file and directory.
    for (mode, file, dir) in [
        ("0600", 0o600, 0o700),
        ("0640", 0o640, 0o750),
        ("0644", 0o644, 0o755),
    ] {
        let nest = format!("m{mode}");
        let d = DumpDir::create(
            local(root.path(), mode),
            &format!("{nest}/x"),
            options(),
            &run(),
        )
        .unwrap();
        let f = d.sql_file("db/t.sql.zst").unwrap();
        let mut m = manifest("2026-11-26T00:00:00Z", Status::Complete);
        m.files.push(data_file(f.finish().unwrap()));
        let dump = d.finish(&m).unwrap();
        assert_eq!(
            mode_of(&root.path().join(&nest)),
            dir,
            "{mode}: nested name's directory"
        );
        assert_eq!(mode_of(&dump), dir, "{mode}");
        assert_eq!(mode_of(&dump.join("db")), dir, "{mode}");
        for f in ["db/t.sql.zst", "manifest.json", "SHA256SUMS"] {
            assert_eq!(mode_of(&dump.join(f)), file, "{mode}: {f}");
        }
    }
}

#[test]
fn a_taken_name_gets_a_suffix_and_nothing_is_overwritten() {
    let root = tempfile::tempdir().unwrap();
    let first = finished(root.path(), "n", "2026-11-26T00:00:00Z", Status::Complete);
    let in_progress = DumpDir::create(local(root.path(), "0600"), "n", options(), &run()).unwrap();
    assert_eq!(in_progress.name(), "n-2");
    let third = DumpDir::create(local(root.path(), "0600"), "n", options(), &run()).unwrap();
    assert_eq!(third.name(), "n-3");
    assert!(first.join("manifest.json").is_file());
    assert!(in_progress.path().join(RUN_MARKER).is_file());
}

#[test]
fn finishing_removes_the_marker_and_renames() {
    let root = tempfile::tempdir().unwrap();
    let path = finished(root.path(), "a/b", "2026-11-26T00:00:00Z", Status::Complete);
    assert_eq!(path, root.path().join("a/b"));
    assert!(!path.join(RUN_MARKER).exists());
    assert!(!root.path().join("a/b.partial").exists());
}

#[test]
fn the_catalog_lists_only_what_mybak_wrote() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    finished(r, "2026/11/25", "2026-11-25T00:00:00Z", Status::Complete);
    finished(r, "p", "2026-11-24T00:00:00Z", Status::Partial);
    let unfinished = DumpDir::create(local(r, "0600"), "u", options(), &run()).unwrap();
    std::fs::create_dir_all(r.join("foreign.partial")).unwrap();
    std::fs::create_dir_all(r.join("photos/2026")).unwrap();
    std::fs::write(r.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir_all(r.join("other")).unwrap();
    std::fs::write(r.join("other/manifest.json"), "{not json").unwrap();
    let dumps = list_dumps(&*local(r, "0600")).unwrap();
    let names: Vec<(&str, &str)> = dumps
        .iter()
        .map(|d| {
            let kind = match &d.found {
                Found::Dump(m) if m.status == Status::Complete => "complete",
                Found::Dump(_) => "partial",
                Found::Unfinished(_) => "unfinished",
                Found::Pruning => "pruning",
                Found::Unreadable(_) => "unreadable",
            };
            (d.name.as_str(), kind)
        })
        .collect();
    assert!(names.contains(&("2026/11/25", "complete")), "{names:?}");
    assert!(names.contains(&("p", "partial")), "{names:?}");
    assert!(names.contains(&("u", "unfinished")), "{names:?}");
    assert!(names.contains(&("other", "unreadable")), "{names:?}");
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(unfinished.name(), "u");
}

#[test]
fn removal_deletes_only_mybaks_files() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let clean = finished(r, "2026/11/25", "2026-11-25T00:00:00Z", Status::Complete);
    let foreign = finished(r, "kept", "2026-11-24T00:00:00Z", Status::Complete);
    std::fs::write(foreign.join("db/README"), "someone's note").unwrap();
    std::fs::create_dir_all(r.join("2026/other")).unwrap();
    let dumps = list_dumps(&*local(r, "0600")).unwrap();
    let by_name = |n: &str| dumps.iter().find(|d| d.name == n).unwrap();

    let (freed, kept) = remove_dump(&*local(r, "0600"), by_name("2026/11/25")).unwrap();
    assert!(freed > 0);
    assert!(kept.is_empty());
    assert!(!clean.exists());
    assert!(!r.join("2026/11").exists(), "empty parent left behind");
    assert!(
        r.join("2026/other").is_dir(),
        "a foreign directory was removed"
    );

    let (_, kept) = remove_dump(&*local(r, "0600"), by_name("kept")).unwrap();
    assert_eq!(kept, vec![r.join("kept.pruning/db/README")]);
    assert_eq!(
        std::fs::read_to_string(r.join("kept.pruning/db/README")).unwrap(),
        "someone's note"
    );
    assert!(list_dumps(&*local(r, "0600")).unwrap().is_empty());
}

#[test]
fn an_interrupted_removal_is_finished_next_time() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let path = finished(r, "x", "2026-11-25T00:00:00Z", Status::Complete);
    std::fs::rename(&path, r.join("x.pruning")).unwrap();
    let dumps = list_dumps(&*local(r, "0600")).unwrap();
    assert_eq!(dumps.len(), 1);
    assert_eq!(dumps[0].found, Found::Pruning);
    remove_dump(&*local(r, "0600"), &dumps[0]).unwrap();
    assert!(std::fs::read_dir(r).unwrap().next().is_none());
}

#[test]
fn open_dump_says_what_a_directory_is() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let e = open_dump(&*local(r, "0600")).unwrap_err().to_string();
    assert!(e.contains("not a mybak dump"), "{e}");
    let dump = finished(r, "d1", "2026-11-25T00:00:00Z", Status::Complete);
    let e = open_dump(&*local(r, "0600")).unwrap_err().to_string();
    assert!(e.contains("output root holding 1 dumps"), "{e}");
    assert!(e.contains(&dump.display().to_string()), "{e}");
    assert!(open_dump(&*local(&dump, "0600")).is_ok());
    let e = open_dump(&*local(&r.join("nope"), "0600"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no such dump directory"), "{e}");
    assert_eq!(e.matches("os error").count(), 1, "{e}");
    let e = open_dump(&*local(&dump.join("SHA256SUMS"), "0600"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a directory"), "{e}");
}

#[test]
fn a_root_that_is_a_file_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let e = check_root(&file).unwrap_err().to_string();
    assert!(e.contains("exists and is not a directory"), "{e}");
    let e = check_root(&file.join("sub/deeper"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{} is not a directory", file.display())),
        "{e}"
    );
    let new = root.path().join("a/b");
    check_root(&new).unwrap();
    assert!(!root.path().join("a").exists(), "checking wrote something");
    assert!(free_space(&new).unwrap() > 0);
    create_root(&new).unwrap();
    assert!(new.is_dir());
}

#[test]
fn a_discarded_dump_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let d = DumpDir::create(local(root.path(), "0600"), "n", options(), &run()).unwrap();
    let mut f = d.sql_file("db/t.sql.zst").unwrap();
    f.write_all(b"SELECT 1;\n").unwrap();
    f.finish().unwrap();
    d.discard();
    assert!(std::fs::read_dir(root.path()).unwrap().next().is_none());
}
