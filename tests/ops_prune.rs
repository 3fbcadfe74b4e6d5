//! `mybak prune` and `mybak list` over an output root of dumps whose manifests span two years:
//! exactly the grandfather-father-son set stays, and nothing mybak did not write is touched.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, NaiveDate, Utc};

use common::dump::{run_dump, sha256_hex, DumpOutput};
use common::mybak_bare;

/// Writes a finished dump as mybak lays it out: one data file, the manifest, SHA256SUMS.
fn fake_dump(root: &Path, name: &str, started_at: &str, status: &str) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(dir.join("db")).unwrap();
    let data = zstd::encode_all(&b"INSERT INTO `t` VALUES (1);\n"[..], 1).unwrap();
    fs::write(dir.join("db/t.sql.zst"), &data).unwrap();
    let manifest = serde_json::json!({
        "format_version": 1,
        "tool": "mybak",
        "tool_version": "0.1.0",
        "server": {"version": "10.11.6-MariaDB", "host": "db1"},
        "started_at": started_at,
        "finished_at": started_at,
        "status": status,
        "consistency": "snapshot",
        "binlog": {"file": "mysql-bin.000001", "position": 42, "gtid": "0-1-7"},
        "failures": if status == "partial" {
            serde_json::json!([{"kind": "view", "database": "db", "name": "v", "error": "broken"}])
        } else {
            serde_json::json!([])
        },
        "databases": [{"name": "db", "tables": [{"name": "t", "rows": 1, "bytes": 28, "fingerprint": "x"}]}],
        "files": [{"path": "db/t.sql.zst", "sha256": sha256_hex(&data), "bytes": data.len(),
                   "sql_bytes": 28, "kind": "table-data", "database": "db", "table": "t", "rows": 1}],
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    fs::write(dir.join("manifest.json"), &text).unwrap();
    fs::write(
        dir.join("SHA256SUMS"),
        format!(
            "{}  db/t.sql.zst\n{}  manifest.json\n",
            sha256_hex(&data),
            sha256_hex(text.as_bytes())
        ),
    )
    .unwrap();
    dir
}

/// An unfinished dump of a run that started at `started_at`: `NAME.partial` with the run marker.
fn fake_unfinished(root: &Path, name: &str, started_at: &str) -> PathBuf {
    let dir = root.join(format!("{name}.partial"));
    fs::create_dir_all(dir.join("db")).unwrap();
    fs::write(dir.join("db/t.sql.zst"), b"half").unwrap();
    let marker = serde_json::json!({"run_id": "dead", "pid": 1, "host": "db1",
        "started_at": started_at, "tool_version": "0.1.0"});
    fs::write(dir.join(".mybak-run"), marker.to_string()).unwrap();
    dir
}

fn prune(root: &Path, args: &[&str]) -> DumpOutput {
    let mut cmd: Command = mybak_bare();
    cmd.env("TZ", "UTC").arg("prune").arg(root).args(args);
    run_dump(cmd)
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Names of the dumps left (directories holding a manifest), sorted.
fn remaining(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// One dump a day at 00:30 UTC from 2025-01-01 to 2026-12-03, named by date.
fn two_years_of_dailies(root: &Path) {
    let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    while day <= last {
        let name = day.format("%Y-%m-%d").to_string();
        fake_dump(root, &name, &format!("{name}T00:30:00.000Z"), "complete");
        day += Duration::days(1);
    }
}

#[test]
fn prune_keeps_exactly_the_gfs_set_and_touches_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    two_years_of_dailies(r);
    let now = Utc::now();
    // Things prune must decide by age, or leave alone.
    fake_dump(
        r,
        "partial-old",
        &rfc3339(now - Duration::days(10)),
        "partial",
    );
    fake_dump(
        r,
        "partial-young",
        &rfc3339(now - Duration::hours(1)),
        "partial",
    );
    let dead = fake_unfinished(r, "dead-run", &rfc3339(now - Duration::days(3)));
    let young = fake_unfinished(r, "young-run", &rfc3339(now - Duration::hours(2)));
    fs::create_dir_all(r.join("photos/2025")).unwrap();
    fs::write(r.join("photos/2025/cat.jpg"), "meow").unwrap();
    fs::write(r.join("notes.txt"), "mine").unwrap();
    fs::create_dir_all(r.join("someone-elses.partial")).unwrap();
    fs::write(r.join("someone-elses.partial/data"), "x").unwrap();
    fs::write(r.join("2025-03-10/README"), "a note inside a dump").unwrap();

    let args = [
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "12",
        "--keep-yearly",
        "3",
    ];
    // A dry run removes nothing and says what it would do.
    let out = prune(r, &[&args[..], &["--dry-run"]].concat());
    out.assert_code(0);
    assert!(out.stdout.contains("would remove"), "{}", out.stdout);
    assert_eq!(remaining(r).len(), 704);

    let out = prune(r, &args);
    out.assert_code(0);
    let mut want: Vec<String> = [
        // daily 7
        "2026-11-27",
        "2026-11-28",
        "2026-11-29",
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        // weekly 4 (ISO weeks 49, 48, 47, 46): 12-03, 11-29 are dailies already
        "2026-11-22",
        "2026-11-15",
        // monthly 12: Dec and Nov 2026 are dailies already
        "2026-10-31",
        "2026-09-30",
        "2026-08-31",
        "2026-07-31",
        "2026-06-30",
        "2026-05-31",
        "2026-04-30",
        "2026-03-31",
        "2026-02-28",
        "2026-01-31",
        // yearly 3: only 2026 and 2025 have dumps
        "2025-12-31",
        "partial-young",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    assert_eq!(remaining(r), want, "stdout:\n{}", out.stdout);
    // Every dump is printed with its fate and reason.
    assert!(
        out.stdout.lines().any(|l| l.starts_with("keep")
            && l.contains("2026-11-15")
            && l.contains("weekly 2026-W46")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("remove") && l.contains("2026-11-14")),
        "{}",
        out.stdout
    );
    let summary = out.stderr.lines().last().unwrap_or_default();
    assert!(summary.contains("summary: status=complete"), "{summary}");
    assert!(summary.contains(" removed=684 "), "{summary}");

    // What prune must not touch is there, byte for byte.
    assert!(!dead.exists(), "the dead run's leftover stays");
    assert!(
        young.join(".mybak-run").is_file(),
        "a young unfinished dump was removed"
    );
    assert_eq!(
        fs::read_to_string(r.join("photos/2025/cat.jpg")).unwrap(),
        "meow"
    );
    assert_eq!(fs::read_to_string(r.join("notes.txt")).unwrap(), "mine");
    assert_eq!(
        fs::read_to_string(r.join("someone-elses.partial/data")).unwrap(),
        "x"
    );
    assert_eq!(
        fs::read_to_string(r.join("2025-03-10.pruning/README")).unwrap(),
        "a note inside a dump"
    );
    assert!(!r.join("2025-03-10.pruning/db/t.sql.zst").exists());
    assert!(
        out.stderr.contains("2025-03-10.pruning/README"),
        "{}",
        out.stderr
    );

    // Pruning again with the same rules changes nothing.
    let out = prune(r, &args);
    out.assert_code(0);
    assert_eq!(remaining(r), want);
}

#[test]
fn the_newest_complete_dump_survives_any_policy() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fake_dump(r, "old", "2020-01-01T00:00:00.000Z", "complete");
    fake_dump(r, "older", "2019-01-01T00:00:00.000Z", "complete");
    let out = prune(r, &["--keep-within", "1d"]);
    out.assert_code(0);
    assert_eq!(remaining(r), vec!["old".to_string()]);
}

#[test]
fn prune_without_a_rule_or_on_a_locked_root_does_nothing() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fake_dump(r, "a", "2020-01-01T00:00:00.000Z", "complete");
    fake_dump(r, "b", "2020-01-02T00:00:00.000Z", "complete");
    let out = prune(r, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("no retention rule"), "{}", out.stderr);
    assert_eq!(remaining(r).len(), 2);

    // A run holding the root's lock (here: this test process) keeps prune out: exit 3.
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(r.join(".mybak.lock"))
        .unwrap();
    lock.lock().unwrap();
    fs::write(
        r.join(".mybak.lock"),
        "pid 4242 (mybak dump, started 2026-01-01T00:00:00Z)\n",
    )
    .unwrap();
    let out = prune(r, &["--keep-last", "1"]);
    out.assert_code(3);
    assert!(out.stderr.contains("pid 4242"), "{}", out.stderr);
    assert_eq!(remaining(r).len(), 2);
    drop(lock);
    prune(r, &["--keep-last", "1"]).assert_code(0);
    assert_eq!(remaining(r), vec!["b".to_string()]);
}

#[test]
fn list_shows_every_dump_with_status_size_and_binlog() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fake_dump(r, "2026/11/25", "2026-11-25T00:30:00.000Z", "complete");
    fake_dump(r, "p", "2026-11-26T00:30:00.000Z", "partial");
    fake_unfinished(r, "u", "2026-11-27T00:30:00.000Z");
    let mut cmd = mybak_bare();
    cmd.env("TZ", "UTC").arg("list").arg(r);
    let out = run_dump(cmd);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with("2026/11/25  complete"), "{}", lines[0]);
    assert!(
        lines[0].contains("mysql-bin.000001:42 gtid 0-1-7"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("snapshot") && lines[0].contains(" db "),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("p  partial"), "{}", lines[1]);
    assert!(lines[2].starts_with("u  unfinished"), "{}", lines[2]);

    let mut cmd = mybak_bare();
    cmd.arg("list").arg(r).arg("--json");
    let out = run_dump(cmd);
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["name"], "2026/11/25");
    assert_eq!(v[0]["status"], "complete");
    assert_eq!(v[0]["binlog"]["gtid"], "0-1-7");
    assert!(v[0]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(v[2]["status"], "unfinished");
}
