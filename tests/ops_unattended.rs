//! mybak run as cron runs it: no terminal, a log file, a metrics file, hooks. Every line says
//! when it was written, and the log, summary, manifest and metrics all tell the same story.

mod common;

use std::fs;
use std::path::Path;

use common::dump::run_dump;
use common::{mybak_cmd, mybak_cmd_as, unique_name, Server};

/// `2026-11-26T00:00:01.123Z `: a UTC timestamp with milliseconds and a space.
fn starts_with_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 25
        && line.is_char_boundary(24)
        && chrono::DateTime::parse_from_rfc3339(&line[..24]).is_ok()
        && b[23] == b'Z'
        && b[24] == b' '
}

/// The value of the sample `name{job="JOB"}` in a Prometheus text file.
fn sample(text: &str, name: &str, job: &str) -> Option<f64> {
    let prefix = format!("{name}{{job=\"{job}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

fn broken_view_database(server: &Server) -> String {
    let db = unique_name("cron");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; USE `{db}`;
         CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3);
         CREATE TABLE gone (id INT); CREATE VIEW v_broken AS SELECT id FROM gone; DROP TABLE gone;"
    ));
    db
}

/// A dump as cron would run it, as an account whose password comes from `MYSQL_PWD`.
fn cron_dump(server: &Server, root: &Path, work: &Path, db: &str) -> common::dump::DumpOutput {
    let user = format!("u{db}");
    server.exec(&format!(
        "CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY 'not-for-hooks';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS, BINLOG MONITOR ON *.* TO '{user}'@'localhost';"
    ));
    let mut cmd = mybak_cmd_as(server, &user);
    cmd.env("MYSQL_PWD", "not-for-hooks")
        .arg("--output-dir")
        .arg(root)
        .args(["--databases", db, "--job", "nightly"])
        .arg("--log-file")
        .arg(work.join("mybak.log"))
        .arg("--metrics-file")
        .arg(work.join("mybak.prom"))
        .arg("--on-failure")
        .arg(format!(
            "env | grep -E '^(MYBAK_|MYSQL_PWD)' | sort > {}",
            work.join("hook.env").display()
        ))
        .arg("--on-success")
        .arg(format!("echo ok >> {}", work.join("success.txt").display()));
    run_dump(cmd)
}

#[test]
fn an_unattended_run_with_a_broken_view_says_so_everywhere() {
    let server = Server::shared();
    let db = broken_view_database(server);
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = cron_dump(server, root.path(), work.path(), &db);
    out.assert_code(1);
    let dir = out.dump_dir(root.path());

    // stderr: every line timestamped, the view named, the summary last.
    for line in out.stderr.lines() {
        assert!(starts_with_timestamp(line), "no timestamp: {line:?}");
    }
    assert!(out.stderr.contains("mybak: failed: view"), "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(last[25..].starts_with("summary: status=partial "), "{last}");
    assert!(
        last.contains(" failed=1 ") && last.contains(" sql_bytes="),
        "{last}"
    );

    // The log file: the same story, every line `TIME LEVEL [run-id] message`.
    let log = fs::read_to_string(work.path().join("mybak.log")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let run_id = manifest["run_id"].as_str().expect("run_id in the manifest");
    for line in log.lines() {
        assert!(starts_with_timestamp(line), "no timestamp: {line:?}");
        let level = &line[25..31];
        assert!(["INFO  ", "WARN  ", "ERROR "].contains(&level), "{line:?}");
        assert!(line[31..].starts_with(&format!("[{run_id}] ")), "{line:?}");
    }
    assert!(log.contains("v_broken"), "{log}");
    assert!(log.contains("summary: status=partial"), "{log}");
    assert!(log.contains("dump started"), "{log}");
    assert_eq!(manifest["status"], "partial");

    // Metrics: the run failed, and there has been no success yet.
    let prom = fs::read_to_string(work.path().join("mybak.prom")).unwrap();
    assert_eq!(
        sample(&prom, "mybak_last_run_success", "nightly"),
        Some(0.0),
        "{prom}"
    );
    assert_eq!(
        sample(&prom, "mybak_last_run_failed_objects", "nightly"),
        Some(1.0),
        "{prom}"
    );
    assert_eq!(
        sample(&prom, "mybak_last_run_exit_code", "nightly"),
        Some(1.0),
        "{prom}"
    );
    assert!(
        sample(&prom, "mybak_last_run_rows", "nightly") == Some(3.0),
        "{prom}"
    );
    assert_eq!(
        sample(&prom, "mybak_last_success_timestamp_seconds", "nightly"),
        None,
        "{prom}"
    );
    assert!(
        prom.contains("# TYPE mybak_last_run_success gauge"),
        "{prom}"
    );

    // The failure hook ran with the run's facts and without the password.
    let env = fs::read_to_string(work.path().join("hook.env")).unwrap();
    assert!(env.contains("MYBAK_STATUS=partial"), "{env}");
    assert!(env.contains("MYBAK_EXIT_CODE=1"), "{env}");
    assert!(
        env.contains(&format!("MYBAK_DUMP_DIR={}", dir.display())),
        "{env}"
    );
    assert!(
        env.contains("MYBAK_SUMMARY=summary: status=partial"),
        "{env}"
    );
    assert!(env.contains("MYBAK_LOG_FILE="), "{env}");
    assert!(
        !env.contains("MYSQL_PWD") && !env.contains("not-for-hooks"),
        "{env}"
    );
    assert!(!work.path().join("success.txt").exists());

    // Fixed: the next run succeeds; its metrics say so and keep other series.
    server.exec(&format!("DROP VIEW `{db}`.v_broken"));
    let out = cron_dump(server, root.path(), work.path(), &db);
    out.assert_code(0);
    let prom = fs::read_to_string(work.path().join("mybak.prom")).unwrap();
    assert_eq!(
        sample(&prom, "mybak_last_run_success", "nightly"),
        Some(1.0),
        "{prom}"
    );
    let success = sample(&prom, "mybak_last_success_timestamp_seconds", "nightly").unwrap();
    assert!(success > 1.7e9, "{prom}");
    assert_eq!(
        fs::read_to_string(work.path().join("success.txt")).unwrap(),
        "ok\n"
    );

    // Broken again: the failure does not erase when the last success was.
    server.exec(&format!(
        "USE `{db}`; CREATE TABLE gone (id INT); CREATE VIEW v_broken AS SELECT id FROM gone; DROP TABLE gone;"
    ));
    let out = cron_dump(server, root.path(), work.path(), &db);
    out.assert_code(1);
    let prom = fs::read_to_string(work.path().join("mybak.prom")).unwrap();
    assert_eq!(
        sample(&prom, "mybak_last_run_success", "nightly"),
        Some(0.0),
        "{prom}"
    );
    assert_eq!(
        sample(&prom, "mybak_last_success_timestamp_seconds", "nightly"),
        Some(success),
        "{prom}"
    );
    let runs = fs::read_to_string(work.path().join("mybak.log")).unwrap();
    assert_eq!(
        runs.matches("summary: status=").count(),
        3,
        "the log is appended to"
    );
}

#[test]
fn the_log_file_can_be_json() {
    let server = Server::shared();
    let db = unique_name("jsonlog");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT)"
    ));
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("log.json");
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path().join("out"))
        .args(["--databases", &db, "--log-format", "json", "-v"])
        .arg("--log-file")
        .arg(&log);
    run_dump(cmd).assert_code(0);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    for l in &lines {
        assert!(l["time"].as_str().unwrap().ends_with('Z'), "{l}");
        assert_eq!(l["command"], "dump");
        assert_eq!(l["run_id"], lines[0]["run_id"]);
    }
    let last = lines.last().unwrap();
    assert_eq!(last["summary"]["status"], "complete", "{last}");
    assert_eq!(last["summary"]["databases"], 1, "{last}");
}

#[test]
fn sigterm_leaves_the_partial_directory_and_says_so() {
    let server = Server::shared();
    let db = unique_name("term");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; USE `{db}`;
         CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, c CHAR(200));
         INSERT INTO t (c) SELECT REPEAT(MD5(seq), 6) FROM seq_1_to_400000;"
    ));
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir")
        .arg(root.path())
        .args([
            "--databases",
            &db,
            "--threads",
            "1",
            "--compress-level",
            "19",
        ])
        .arg("--metrics-file")
        .arg(work.path().join("m.prom"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait for rows to be written, then stop it as systemd or a shell would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let writing = fs::read_dir(root.path())
            .unwrap()
            .flatten()
            .any(|e| fs::read_dir(e.path().join(&db)).is_ok_and(|d| d.count() > 1));
        if writing {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(stderr.contains(".partial"), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(last.contains("summary: status=interrupted"), "{last}");
    assert!(out.stdout.is_empty());
    let names: Vec<String> = fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".mybak.lock")
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".partial"), "{names:?}");
    let prom = fs::read_to_string(work.path().join("m.prom")).unwrap();
    assert!(prom.contains("mybak_last_run_exit_code"), "{prom}");
    assert!(
        prom.lines()
            .any(|l| l.starts_with("mybak_last_run_success{") && l.ends_with(" 0")),
        "{prom}"
    );
}
