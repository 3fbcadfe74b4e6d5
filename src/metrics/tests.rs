//! Tests of the metrics textfile: the series of each command, merging and the atomic write.

use super::*;
use crate::summary::RunStatus;
use chrono::TimeZone;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn dump(status: RunStatus) -> Summary {
    let mut s = Summary::new(Command::Dump, status);
    s.databases = 3;
    s.tables = 40;
    s.rows = 1_234_567;
    s.bytes = 123_456_789_012;
    s.sql_bytes = 987_654_321_098_765;
    s.failed = u64::from(!status.is_success());
    s.seconds = 75.12345;
    s
}

fn names(samples: &[Sample]) -> Vec<&str> {
    samples.iter().map(|s| s.name.as_str()).collect()
}

fn file_in(dir: &TempDir) -> PathBuf {
    dir.path().join("mybak.prom")
}

fn write(path: &Path, job: &str, summary: &Summary, code: u8, secs: i64) {
    write_textfile(path, job, &samples(summary, code, at(secs))).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The value of the sample line that starts with `head` (name and labels).
fn value_of<'a>(text: &'a str, head: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(head)?.strip_prefix(' '))
}

#[test]
fn each_command_has_its_series() {
    let mut verify = Summary::new(Command::Verify, RunStatus::Ok);
    verify.extra = vec![("files", 3), ("statements", 40), ("tables_compared", 2)];
    let mut prune = Summary::new(Command::Prune, RunStatus::Complete);
    prune.extra = vec![("dumps", 5), ("kept", 3), ("removed", 2)];
    let common = |p: &str, success: bool| {
        let mut v = vec![format!("{p}last_run_timestamp_seconds")];
        if success {
            v.push(format!("{p}last_success_timestamp_seconds"));
        }
        v.extend(["duration_seconds", "success", "exit_code"].map(|s| format!("{p}last_run_{s}")));
        v
    };
    let with = |mut v: Vec<String>, p: &str, rest: &[&str]| {
        v.extend(rest.iter().map(|s| format!("{p}last_run_{s}")));
        v
    };
    let dump_counts = ["bytes", "sql_bytes", "rows", "failed_objects"];
    for (summary, want) in [
        (
            dump(RunStatus::Complete),
            with(common("mybak_", true), "mybak_", &dump_counts),
        ),
        (
            dump(RunStatus::Partial),
            with(common("mybak_", false), "mybak_", &dump_counts),
        ),
        (
            verify.clone(),
            with(
                common("mybak_verify_", true),
                "mybak_verify_",
                &[
                    "problems",
                    "bytes",
                    "rows",
                    "files",
                    "statements",
                    "tables_compared",
                ],
            ),
        ),
        (
            Summary::new(Command::Verify, RunStatus::Failed),
            with(
                common("mybak_verify_", false),
                "mybak_verify_",
                &["problems", "bytes", "rows"],
            ),
        ),
        (
            prune,
            with(
                common("mybak_prune_", true),
                "mybak_prune_",
                &["removed_dumps", "kept_dumps", "freed_bytes"],
            ),
        ),
        (
            Summary::new(Command::Restore, RunStatus::Interrupted),
            with(
                common("mybak_restore_", false),
                "mybak_restore_",
                &dump_counts,
            ),
        ),
        (Summary::new(Command::List, RunStatus::Complete), vec![]),
        (Summary::new(Command::Config, RunStatus::Complete), vec![]),
    ] {
        let got = samples(&summary, 0, at(1));
        assert_eq!(
            names(&got),
            want,
            "{:?} {:?}",
            summary.command,
            summary.status
        );
        assert!(got.iter().all(|s| !s.help.is_empty()));
    }
}

#[test]
fn a_fresh_file_for_a_dump() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(
        &path,
        "nightly",
        &dump(RunStatus::Complete),
        0,
        1_767_323_045,
    );
    insta::assert_snapshot!(read(&path));
}

#[test]
fn values_print_exactly() {
    for (value, text) in [
        (Value::Int(123_456_789_012), "123456789012"),
        (Value::Int(u64::MAX), "18446744073709551615"),
        (Value::Int(0), "0"),
        (Value::Float(75.12345), "75.123"),
        (Value::Float(1.0), "1"),
        (Value::Float(0.1 + 0.2), "0.3"),
        (Value::Float(2.5), "2.5"),
        (Value::Float(0.0), "0"),
        (Value::Float(-0.0001), "0"),
        (Value::Float(1e20), "100000000000000000000"),
        (Value::Float(f64::NAN), "NaN"),
        (Value::Float(f64::INFINITY), "+Inf"),
        (Value::Float(f64::NEG_INFINITY), "-Inf"),
    ] {
        assert_eq!(value.to_string(), text, "{value:?}");
    }
}

#[test]
fn jobs_commands_and_foreign_metrics_share_the_file() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let foreign = "# HELP other_seconds A histogram of another tool.\n\
                   # TYPE other_seconds histogram\n\
                   other_seconds_bucket{le=\"1\"} 2\n\
                   other_seconds_bucket{le=\"+Inf\"} 3\n\
                   other_seconds_sum 4.5\n\
                   other_seconds_count 3\n\
                   # just a comment\n\
                   aaa_untyped{x=\"y\"} 1.5e+10\n";
    std::fs::write(&path, foreign).unwrap();
    write(&path, "nightly", &dump(RunStatus::Complete), 0, 100);
    write(&path, "hourly", &dump(RunStatus::Complete), 0, 200);
    let mut verify = Summary::new(Command::Verify, RunStatus::Ok);
    verify.extra = vec![("files", 3)];
    write(&path, "nightly", &verify, 0, 300);
    let text = read(&path);
    for (head, value) in [
        ("mybak_last_run_timestamp_seconds{job=\"nightly\"}", "100"),
        ("mybak_last_run_timestamp_seconds{job=\"hourly\"}", "200"),
        (
            "mybak_verify_last_run_timestamp_seconds{job=\"nightly\"}",
            "300",
        ),
        ("mybak_verify_last_run_files{job=\"nightly\"}", "3"),
        ("mybak_last_run_bytes{job=\"hourly\"}", "123456789012"),
        ("other_seconds_bucket{le=\"+Inf\"}", "3"),
        ("other_seconds_count", "3"),
        ("aaa_untyped{x=\"y\"}", "1.5e+10"),
    ] {
        assert_eq!(value_of(&text, head), Some(value), "{head} in\n{text}");
    }
    // HELP and TYPE once per family, families sorted, a family's samples together.
    assert_eq!(
        text.matches("# TYPE mybak_last_run_bytes gauge\n").count(),
        1
    );
    assert_eq!(text.matches("# TYPE other_seconds histogram\n").count(), 1);
    assert!(!text.contains("just a comment"));
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = families.clone();
    sorted.sort();
    assert_eq!(families, sorted);
    assert!(text.contains(
        "# TYPE other_seconds histogram\nother_seconds_bucket{le=\"1\"} 2\nother_seconds_bucket{le=\"+Inf\"} 3\nother_seconds_sum 4.5\nother_seconds_count 3\n"
    ));
    assert!(text.contains(
        "mybak_last_run_rows{job=\"hourly\"} 1234567\nmybak_last_run_rows{job=\"nightly\"} 1234567\n"
    ));
    // Reading and writing again changes nothing.
    assert_eq!(merge(text.as_bytes(), &path, "x", &[]), text);
}

#[test]
fn a_failed_run_keeps_the_last_success_of_its_own_job() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(&path, "nightly", &dump(RunStatus::Complete), 0, 1000);
    write(&path, "hourly", &dump(RunStatus::Complete), 0, 2000);
    write(&path, "nightly", &dump(RunStatus::Failed), 1, 3000);
    let text = read(&path);
    for (head, value) in [
        (
            "mybak_last_success_timestamp_seconds{job=\"nightly\"}",
            "1000",
        ),
        (
            "mybak_last_success_timestamp_seconds{job=\"hourly\"}",
            "2000",
        ),
        ("mybak_last_run_timestamp_seconds{job=\"nightly\"}", "3000"),
        ("mybak_last_run_success{job=\"nightly\"}", "0"),
        ("mybak_last_run_exit_code{job=\"nightly\"}", "1"),
        ("mybak_last_run_success{job=\"hourly\"}", "1"),
    ] {
        assert_eq!(value_of(&text, head), Some(value), "{head} in\n{text}");
    }
    // A job that never succeeded has no last success, not another job's.
    write(&path, "weekly", &dump(RunStatus::Failed), 1, 4000);
    let text = read(&path);
    assert_eq!(
        value_of(
            &text,
            "mybak_last_success_timestamp_seconds{job=\"weekly\"}"
        ),
        None
    );
    write(&path, "nightly", &dump(RunStatus::Complete), 0, 5000);
    let text = read(&path);
    assert_eq!(
        value_of(
            &text,
            "mybak_last_success_timestamp_seconds{job=\"nightly\"}"
        ),
        Some("5000")
    );
}

#[test]
fn an_earlier_runs_series_of_the_same_job_and_command_go() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let mut verify = Summary::new(Command::Verify, RunStatus::Ok);
    verify.extra = vec![("files", 3), ("statements", 40), ("tables_compared", 2)];
    write(&path, "nightly", &verify, 0, 100);
    write(&path, "hourly", &verify, 0, 100);
    write(
        &path,
        "nightly",
        &Summary::new(Command::Verify, RunStatus::Failed),
        1,
        200,
    );
    let text = read(&path);
    assert_eq!(
        value_of(&text, "mybak_verify_last_run_files{job=\"nightly\"}"),
        None
    );
    assert_eq!(
        value_of(&text, "mybak_verify_last_run_files{job=\"hourly\"}"),
        Some("3")
    );
    assert_eq!(
        value_of(
            &text,
            "mybak_verify_last_success_timestamp_seconds{job=\"nightly\"}"
        ),
        Some("100")
    );
}

#[test]
fn label_values_are_escaped_and_read_back() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let job = "a\\b\"c\nd é";
    write(&path, job, &dump(RunStatus::Complete), 0, 100);
    write(&path, job, &dump(RunStatus::Complete), 0, 200);
    let text = read(&path);
    let head = "mybak_last_run_timestamp_seconds{job=\"a\\\\b\\\"c\\nd é\"}";
    assert_eq!(value_of(&text, head), Some("200"), "{text}");
    assert_eq!(text.matches("mybak_last_run_timestamp_seconds{").count(), 1);
}

#[test]
fn odd_lines_are_dropped_and_the_rest_kept() {
    let mut existing = b"good 1\n\
        bad{ 1\n\
        bad{a=\"\\x\"} 1\n\
        bad{a=\"1\",a=\"2\"} 1\n\
        bad 1 2 3\n\
        bad one\n\
        bad 1 notatime\n\
        9bad 1\n\
        # TYPE bad_type wobbly\n\
        # HELP bad_help a \\q\n\
        good{a=\"x\",} 2 1700000000000\n\
        good 3\n\
        \n   \n"
        .to_vec();
    existing.extend_from_slice(b"bad{a=\"\xff\"} 1\n");
    let text = merge(&existing, Path::new("t.prom"), "j", &[]);
    assert_eq!(text, "good 1\ngood{a=\"x\"} 2 1700000000000\n");
}

#[test]
fn a_fifo_or_directory_at_the_path_is_an_error_at_once() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("fifo.prom");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let directory = dir.path().join("dir.prom");
    std::fs::create_dir(&directory).unwrap();
    for path in [fifo, directory] {
        let (tx, rx) = mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let result = write_textfile(&p, "j", &samples(&dump(RunStatus::Complete), 0, at(1)));
            let _ = tx.send(result);
        });
        let result = rx.recv_timeout(Duration::from_secs(20)).expect("it hung");
        let e = result.unwrap_err();
        assert!(matches!(&e, Error::Io { path: p, .. } if *p == path), "{e}");
        assert!(e.to_string().contains("refusing"), "{e}");
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp."))
        .collect();
    left.sort();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn only_the_file_and_its_lock_remain_with_mode_0644() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let result = write_textfile(&path, "j", &samples(&dump(RunStatus::Complete), 0, at(1)));
    nix::sys::stat::umask(old);
    result.unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(entries, ["mybak.prom", "mybak.prom.lock"]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn a_missing_directory_or_no_file_name_is_an_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("no/such/dir/m.prom");
    let e = write_textfile(&missing, "j", &[]).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    for bad in ["", "/", "..", "x/.."] {
        let e = write_textfile(Path::new(bad), "j", &[]).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{bad:?}: {e}");
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let threads: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|job| {
            let path = path.clone();
            std::thread::spawn(move || {
                for i in 0..15 {
                    write(&path, job, &dump(RunStatus::Complete), 0, i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = read(&path);
    for job in ["a", "b", "c"] {
        let head = format!("mybak_last_run_timestamp_seconds{{job=\"{job}\"}}");
        assert_eq!(value_of(&text, &head), Some("14"), "{text}");
    }
}
