//! Property tests of the manifest reader: arbitrary bytes and structurally mutated manifests give
//! an error or a manifest, never a panic; every required field is required, every optional one
//! optional, every number range-checked; a generated manifest round-trips through `to_json`, the
//! file and the parser; and the offline verify of a dump directory holding a mutated manifest
//! reports problems instead of panicking.
//!
//! Bounded for CI: 32 to 64 cases per property, well under a second each;
//! `PROPTEST_CASES=N cargo test --lib props` runs N of each for a longer fuzzing session.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use sha2::Digest;

use super::*;

use crate::proptest_cases::config;

/// Any string, or one of the shapes the real ones have.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[a-z0-9_./-]{0,12}",
        1 => any::<String>(),
        1 => select(vec!["", "\0", "\"\\/\u{8}\u{c}\n\r\t", "\u{1F600}\u{FEFF}", "..", "../x"])
            .prop_map(str::to_string),
    ]
}

/// Any u64, edges often: JSON numbers past 2^53 must stay exact.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => select(vec![0, 1, (1 << 53) + 1, u64::from(u32::MAX) + 1, u64::MAX - 1, u64::MAX]),
        2 => any::<u64>(),
    ]
}

fn file_kind() -> impl Strategy<Value = FileKind> {
    select(vec![
        FileKind::Database,
        FileKind::Sequence,
        FileKind::TableSchema,
        FileKind::TableData,
        FileKind::Routines,
        FileKind::View,
        FileKind::Triggers,
        FileKind::Events,
        FileKind::Users,
    ])
}

fn manifest_file() -> impl Strategy<Value = ManifestFile> {
    (
        (text(), text(), count(), count(), file_kind()),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(count()),
            prop::option::of(count()),
        ),
    )
        .prop_map(
            |((path, sha256, bytes, sql_bytes, kind), (database, table, rows, max))| ManifestFile {
                path,
                sha256,
                bytes,
                sql_bytes,
                kind,
                database,
                table,
                rows,
                max_statement_bytes: max,
                etag: None,
            },
        )
}

fn database() -> impl Strategy<Value = DatabaseEntry> {
    let table = (text(), count(), count(), text(), any::<bool>()).prop_map(
        |(name, rows, bytes, fingerprint, history)| TableEntry {
            name,
            rows,
            bytes,
            fingerprint,
            history,
        },
    );
    let bare = (text(), text(), text()).prop_map(|(name, engine, reason)| DefinitionOnly {
        name,
        engine,
        reason,
    });
    (
        text(),
        prop::collection::vec(table, 0..4),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec(bare, 0..2),
    )
        .prop_map(|(name, tables, objects, definition_only)| DatabaseEntry {
            name,
            tables,
            objects,
            definition_only,
        })
}

fn failure() -> impl Strategy<Value = Failure> {
    (text(), prop::option::of(text()), text(), text()).prop_map(|(kind, database, name, error)| {
        Failure {
            kind,
            database,
            name,
            error,
        }
    })
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let head = (
        any::<u32>(),
        text(),
        text(),
        (text(), text()),
        text(),
        text(),
        select(vec![Status::Complete, Status::Partial]),
        select(vec![
            Consistency::Snapshot,
            Consistency::PerTable,
            Consistency::None,
        ]),
    );
    let tail = (
        prop::option::of(text()),
        prop::option::of(count()),
        prop::option::of((text(), count(), text())),
        prop::collection::vec(failure(), 0..3),
        prop::collection::vec(database(), 0..3),
        prop::collection::vec(manifest_file(), 0..5),
    );
    (head, tail).prop_map(
        |(
            (
                format_version,
                tool,
                tool_version,
                (version, host),
                started_at,
                finished_at,
                status,
                consistency,
            ),
            (run_id, source_bytes, binlog, failures, databases, files),
        )| Manifest {
            format_version,
            tool,
            tool_version,
            server: ServerInfo { version, host },
            started_at,
            finished_at,
            status,
            consistency,
            run_id,
            source_bytes,
            binlog: binlog.map(|(file, position, gtid)| Binlog {
                archive: None,
                file,
                position,
                gtid,
            }),
            failures,
            system_accounts_left_out: Vec::new(),
            encryption: None,
            databases,
            files,
        },
    )
}

fn parse(text: &[u8]) -> std::result::Result<Manifest, serde_json::Error> {
    serde_json::from_slice(text)
}

/// What the commands do with a manifest they read; none of it may panic.
fn use_manifest(m: &Manifest) -> std::result::Result<(), TestCaseError> {
    let json = m
        .to_json()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = parse(json.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&again, m);
    prop_assert_eq!(again.to_json().ok(), Some(json));
    let _ = m.sums("0".repeat(64).as_str());
    let _ = m.table_count();
    Ok(())
}

/// Every path to a node of `v`, as JSON pointer segments.
fn paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                here.push(k.clone());
                paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                here.push(i.to_string());
                paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// One structural change to a manifest's JSON.
#[derive(Debug, Clone)]
enum Mutation {
    /// Drop the node (an object member or an array item).
    Remove,
    /// Put this value in its place.
    Replace(Value),
    /// Add an unknown member to it when it is an object.
    Extend(String, Value),
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        count().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(vec![-1i64, i64::MIN]).prop_map(Value::from),
        select(vec![0.5f64, -0.0, 1e300, f64::MAX]).prop_map(Value::from),
        text().prop_map(Value::String),
        select(vec![
            "complete",
            "partial",
            "snapshot",
            "per-table",
            "none",
            "table-data",
            "users",
            "Complete",
            "PER_TABLE",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::Remove),
        3 => json_value().prop_map(Mutation::Replace),
        1 => ("[a-z_]{1,12}", json_value()).prop_map(|(k, v)| Mutation::Extend(k, v)),
    ]
}

fn apply(root: &mut Value, path: &[String], m: &Mutation) {
    let Some((last, parent)) = path.split_last() else {
        if let Mutation::Replace(v) = m {
            *root = v.clone();
        }
        return;
    };
    let Some(parent) = root.pointer_mut(&pointer(parent)) else {
        return;
    };
    match (m, parent) {
        (Mutation::Remove, Value::Object(map)) => {
            map.remove(last);
        }
        (Mutation::Remove, Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        (Mutation::Replace(v), parent) => {
            if let Some(node) = parent.pointer_mut(&pointer(std::slice::from_ref(last))) {
                *node = v.clone();
            }
        }
        (Mutation::Extend(k, v), parent) => {
            if let Some(Value::Object(map)) =
                parent.pointer_mut(&pointer(std::slice::from_ref(last)))
            {
                map.insert(k.clone(), v.clone());
            }
        }
        _ => {}
    }
}

/// A manifest with one of every element, so that every field is present somewhere.
fn full_manifest() -> Manifest {
    let mut m: Manifest = serde_json::from_value(json!({
        "format_version": 1, "tool": "mybak", "tool_version": "0.1.0",
        "server": {"version": "10.11.19-MariaDB", "host": "db1"},
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
        "status": "partial", "consistency": "snapshot", "run_id": "r1", "source_bytes": 5,
        "binlog": {"file": "b.000001", "position": 4, "gtid": "0-1-2"},
        "failures": [{"kind": "view", "database": "d", "name": "v", "error": "e"}],
        "system_accounts_left_out": ["'mysql'@'localhost'"],
        "databases": [{"name": "d", "tables": [{"name": "t", "rows": 2, "bytes": 9,
            "fingerprint": "f", "history": true}], "objects": ["view v"]}],
        "files": [{"path": "d/t.sql.zst", "sha256": "00", "bytes": 1, "sql_bytes": 2,
            "kind": "table-data", "database": "d", "table": "t", "rows": 2,
            "max_statement_bytes": 3}]
    }))
    .unwrap();
    m.files[0].sha256 = "ab".repeat(32);
    m
}

/// Whether the member at `path` may be left out (an `Option` or a member with a serde default),
/// and whether it may be null (an `Option`).
fn optional(path: &[String]) -> (bool, bool) {
    let last = path.last().map_or("", String::as_str);
    let nullable = match path[0].as_str() {
        _ if path.len() == 1 => matches!(last, "run_id" | "source_bytes" | "binlog"),
        "files" => {
            path.len() == 3 && matches!(last, "database" | "table" | "rows" | "max_statement_bytes")
        }
        "failures" => path.len() == 3 && last == "database",
        _ => false,
    };
    let defaulted = match path[0].as_str() {
        "databases" => {
            (path.len() == 3 && last == "objects") || (path.len() == 5 && last == "history")
        }
        "system_accounts_left_out" => path.len() == 1,
        _ => false,
    };
    (nullable || defaulted, nullable)
}

#[test]
fn every_member_is_checked() {
    let full = serde_json::to_value(full_manifest()).unwrap();
    let mut all = Vec::new();
    paths(&full, &mut Vec::new(), &mut all);
    for path in all.into_iter().filter(|p| !p.is_empty()) {
        let last = path.last().unwrap().as_str();
        let node = full.pointer(&pointer(&path)).unwrap();
        let is_item = last.parse::<usize>().is_ok();
        let mut removed = full.clone();
        apply(&mut removed, &path, &Mutation::Remove);
        let got = serde_json::from_value::<Manifest>(removed);
        let (may_miss, nullable) = optional(&path);
        assert_eq!(
            got.is_ok(),
            is_item || may_miss,
            "without {}: {got:?}",
            pointer(&path)
        );
        // Wrong types and out-of-range numbers are errors; null only where a member is optional.
        let wrong: Vec<Value> = match node {
            Value::Number(_) if last == "format_version" => {
                vec![
                    json!(-1),
                    json!(1.5),
                    json!(u64::from(u32::MAX) + 1),
                    json!("1"),
                ]
            }
            Value::Number(_) => vec![json!(-1), json!(0.5), json!(1e20), json!("1"), json!(true)],
            Value::String(_) => vec![json!(1), json!([]), json!({}), json!(false)],
            Value::Bool(_) => vec![json!(1), json!("true")],
            Value::Array(_) => vec![json!({}), json!("x"), json!(1)],
            Value::Object(_) => vec![json!([]), json!("x"), json!(0)],
            Value::Null => vec![],
        };
        for bad in wrong {
            let mut changed = full.clone();
            apply(&mut changed, &path, &Mutation::Replace(bad.clone()));
            let got = serde_json::from_value::<Manifest>(changed);
            assert!(got.is_err(), "{} = {bad}: {got:?}", pointer(&path));
        }
        let mut null = full.clone();
        apply(&mut null, &path, &Mutation::Replace(Value::Null));
        let got = serde_json::from_value::<Manifest>(null);
        assert_eq!(got.is_ok(), nullable, "{} = null: {got:?}", pointer(&path));
    }
    // Numbers past u64 are errors; deep nesting is neither a panic nor a stack overflow: an
    // error where a value is expected, skipped (without recursion) in an unknown member.
    let text = full_manifest().to_json().unwrap();
    let huge = text.replace(
        "\"source_bytes\": 5",
        "\"source_bytes\": 18446744073709551616",
    );
    assert!(parse(huge.as_bytes()).is_err());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse(deep.as_bytes()).is_err());
    let in_objects = text.replace("\"objects\": [", &format!("\"objects\": [{deep},"));
    assert!(parse(in_objects.as_bytes()).is_err());
    let in_unknown = text.replacen('{', &format!("{{\"unknown\": {deep},"), 1);
    assert_eq!(parse(in_unknown.as_bytes()).unwrap(), full_manifest());
    let shallow = text.replacen('{', "{\"unknown\": [[{\"a\": [1, null]}]],", 1);
    assert_eq!(parse(shallow.as_bytes()).unwrap(), full_manifest());
}

/// Writes `text` as the manifest of a dump directory that holds one real data file and a
/// `SHA256SUMS` matching the text, and runs the offline verify on it.
fn verify_dir(text: &[u8]) -> Option<crate::verify::Report> {
    let dir = tempfile::tempdir().unwrap();
    let sql = b"INSERT INTO `t` VALUES (1),(2);\n";
    let data = zstd::encode_all(&sql[..], 1).unwrap();
    std::fs::create_dir_all(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("d/t.sql.zst"), &data).unwrap();
    std::fs::write(dir.path().join(MANIFEST_FILE), text).unwrap();
    let manifest_sha = crate::sink::hex(&sha2::Sha256::digest(text));
    let sums = match parse(text) {
        Ok(m) => m.sums(&manifest_sha),
        Err(_) => format!("{manifest_sha}  {MANIFEST_FILE}\n"),
    };
    std::fs::write(dir.path().join(SUMS_FILE), sums).unwrap();
    crate::verify::offline(
        &crate::store::storage::local::LocalStorage::new(dir.path(), Default::default()),
        None,
        1 << 30,
    )
    .ok()
    .map(|(_, r)| r)
}

#[test]
fn a_consistent_dump_verifies_clean() {
    let mut m = full_manifest();
    let data = zstd::encode_all(&b"INSERT INTO `t` VALUES (1),(2);\n"[..], 1).unwrap();
    m.files[0].sha256 = crate::sink::hex(&sha2::Sha256::digest(&data));
    m.files[0].bytes = data.len() as u64;
    let report = verify_dir(m.to_json().unwrap().as_bytes()).expect("verify runs");
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    // The manifest lists a failure, so the dump is partial: that is the only problem.
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("the dump is partial"), "{problems:?}");
    assert_eq!(report.rows, 2);
}

proptest! {
    #![proptest_config(config(64))]

    /// A manifest reads back as written, from text and from its file.
    #[test]
    fn manifests_round_trip(m in manifest()) {
        let json = m.to_json().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let closed = json.ends_with("}\n");
        prop_assert!(closed, "{:?}", json);
        use_manifest(&m)?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), &json).unwrap();
        let read = Manifest::read(dir.path()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, m);
    }

    /// Arbitrary bytes, and valid manifests with bytes flipped, cut or inserted: an error or a
    /// manifest that round-trips, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        m in manifest(),
        raw in prop::collection::vec(any::<u8>(), 0..200),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        if let Ok(m) = parse(&raw) {
            use_manifest(&m)?;
        }
        let mut text = m.to_json().unwrap().into_bytes();
        for (at, byte, how) in edits {
            let i = at.index(text.len());
            match how {
                0 => text[i] = byte,
                1 => text.insert(i, byte),
                _ => {
                    text.remove(i);
                }
            }
        }
        if truncate {
            text.truncate(cut.index(text.len() + 1));
        }
        if let Ok(m) = parse(&text) {
            use_manifest(&m)?;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), &text).unwrap();
        if let Ok(m) = Manifest::read(dir.path()) {
            use_manifest(&m)?;
        }
    }

    /// Structurally mutated manifests (members removed, replaced by any JSON, unknown members
    /// added): an error or a manifest that round-trips, never a panic.
    #[test]
    fn mutated_json_never_panics(
        m in manifest(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 1..5),
    ) {
        let mut v = serde_json::to_value(&m).unwrap();
        for (at, mutation) in &mutations {
            let mut all = Vec::new();
            paths(&v, &mut Vec::new(), &mut all);
            let path = &all[at.index(all.len())];
            apply(&mut v, path, mutation);
        }
        let text = serde_json::to_vec_pretty(&v).unwrap();
        match parse(&text) {
            Ok(read) => {
                use_manifest(&read)?;
                // Unknown members are ignored, so adding only those changes nothing.
                if mutations.iter().all(|(_, m)| matches!(m, Mutation::Extend(..))) {
                    prop_assert_eq!(read, m);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// `mybak verify` of a dump directory whose manifest was mutated (paths that leave the
    /// directory, sizes, row counts, kinds): problems or an error, never a panic.
    #[test]
    fn verify_of_a_mutated_manifest_never_panics(
        mutations in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 0..4),
        path in select(vec![
            "d/t.sql.zst", "../t.sql.zst", "/etc/passwd", "d//t.sql.zst", "d/./t.sql.zst", "",
            "d", "d/t.sql.zst/", "manifest.json", "SHA256SUMS", "d/t\0.sql.zst",
        ]),
        rows in prop::option::of(count()),
    ) {
        let mut m = full_manifest();
        m.status = Status::Complete;
        m.failures.clear();
        m.files[0].path = path.to_string();
        m.files[0].rows = rows;
        m.databases[0].tables[0].rows = rows.unwrap_or(2);
        let mut v = serde_json::to_value(&m).unwrap();
        for (at, mutation) in &mutations {
            let mut all = Vec::new();
            paths(&v, &mut Vec::new(), &mut all);
            apply(&mut v, &all[at.index(all.len())], mutation);
        }
        let text = serde_json::to_vec_pretty(&v).unwrap();
        if let Some(report) = verify_dir(&text) {
            // The data file is never as the manifest says (its hash is made up).
            prop_assert!(!report.ok(), "{:?}", report);
        }
    }
}

/// Sums over a manifest read from disk overflow on sizes no real dump has: `verify` (and the
/// space estimate from the newest dump's manifest) add up `bytes` with `+`, which panics in debug
/// builds and wraps in release builds. The file problems are reported either way in release.
#[test]
fn file_sizes_past_u64_do_not_panic() {
    let mut m = full_manifest();
    m.files[0].bytes = u64::MAX;
    let mut second = m.files[0].clone();
    second.path = "d/u.sql.zst".into();
    m.files.push(second);
    let report = verify_dir(m.to_json().unwrap().as_bytes()).expect("verify runs");
    assert!(!report.ok());
    assert!(crate::dump::space::ratio_of(&m).is_none());
}
