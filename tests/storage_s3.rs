//! Dumps on S3-compatible object storage (a moto server per test): the full round trip dump → list →
//! verify → restore through `s3://` URLs, what a finished dump leaves in the bucket, dumps cut short by
//! a vanishing endpoint or a killed `mybak`, wrong credentials, a missing bucket, and prune.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dump::{run_dump, sha256_hex, DumpOutput};
use common::{
    assert_same_databases, load_full_fixture, mybak_bare, mybak_cmd, mybak_restore_cmd,
    mybak_verify_cmd, unique_name, S3Server, Server,
};

const BUCKET: &str = "mybak-test";

/// `cmd` talking to `s3`: its credentials and environment, `--s3-endpoint`.
fn with_s3(s3: &S3Server, mut cmd: Command) -> Command {
    s3.apply(&mut cmd);
    cmd.arg("--s3-endpoint").arg(s3.endpoint());
    cmd
}

/// `mybak dump` of `databases` from `server` into `root` (an `s3://` URL).
fn dump_cmd(
    server: &Server,
    s3: &S3Server,
    root: &str,
    databases: &str,
    extra: &[&str],
) -> Command {
    with_s3(s3, common::dump_into(server, root, databases, extra))
}

/// Dumps into `root` (exit 0) and returns the dump's location, the one stdout line.
fn dump(server: &Server, s3: &S3Server, root: &str, databases: &str, extra: &[&str]) -> String {
    let out = run_dump(dump_cmd(server, s3, root, databases, extra));
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {:?}\n{}", out.stdout, out.stderr);
    let url = lines[0].to_string();
    assert!(
        url.starts_with(&format!("{root}/")) && !url[root.len() + 1..].contains('/'),
        "{url} is not directly in {root}"
    );
    url
}

fn mybak(s3: &S3Server, args: &[&str]) -> DumpOutput {
    let mut cmd = mybak_bare();
    cmd.args(args);
    run_dump(with_s3(s3, cmd))
}

/// `mybak list ROOT --json`: exit 0, the entries.
fn list(s3: &S3Server, root: &str) -> Vec<serde_json::Value> {
    let out = mybak(s3, &["list", root, "--json"]);
    out.assert_code(0);
    serde_json::from_str::<serde_json::Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("list --json: {e}\n{}", out.stdout))
        .as_array()
        .expect("list --json gives an array")
        .clone()
}

/// `(name, status)` of each entry of `list`.
fn statuses(entries: &[serde_json::Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn verify(s3: &S3Server, dump: &str) -> DumpOutput {
    run_dump(with_s3(s3, mybak_verify_cmd(Path::new(dump))))
}

fn restore(server: &Server, s3: &S3Server, dump: &str, extra: &[&str]) -> DumpOutput {
    let mut cmd = mybak_restore_cmd(server, Path::new(dump));
    cmd.args(extra);
    run_dump(with_s3(s3, cmd))
}

/// The key of `url` (`s3://BUCKET/key`) in [`BUCKET`].
fn key_of(url: &str) -> &str {
    url.strip_prefix(&format!("s3://{BUCKET}/"))
        .unwrap_or_else(|| panic!("{url} is not in s3://{BUCKET}"))
}

/// The stderr lines of errors (`mybak: error: ...`).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(" error: ")).collect()
}

/// Exactly one error line, containing every one of `needles`.
fn assert_one_error_line(out: &DumpOutput, needles: &[&str]) {
    let errors = error_lines(&out.stderr);
    assert_eq!(errors.len(), 1, "one error line expected:\n{}", out.stderr);
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "error line lacks {needle:?}: {}",
            errors[0]
        );
    }
}

/// A database of one small table.
fn small_database(server: &Server) -> String {
    let db = unique_name("s3s");
    server.exec(&format!(
        "CREATE DATABASE {db};
         CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(40));
         INSERT INTO {db}.t SELECT seq, CONCAT('row ', seq) FROM {db}.seq_1_to_100;"
    ));
    db
}

/// A database on `server` whose dump takes seconds and is streamed as multipart uploads (tens of MiB
/// after zstd: hex digests compress only about 2:1).
fn big_database(server: &Server) -> String {
    let db = unique_name("s3big");
    server.exec(&format!(
        "CREATE DATABASE {db};
         CREATE TABLE {db}.big (id INT PRIMARY KEY, a CHAR(128), b CHAR(128));
         INSERT INTO {db}.big
           SELECT seq, SHA2(seq, 512), SHA2(-seq, 512) FROM {db}.seq_1_to_300000;"
    ));
    db
}

/// `cmd` started with stdout and stderr going to files in `out`.
fn spawn_logged(mut cmd: Command, out: &Path) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(out.join("stdout")).unwrap())
        .stderr(fs::File::create(out.join("stderr")).unwrap());
    cmd.spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

/// Waits for `child` (killing it and panicking after `limit`) and reads what it wrote to `out`.
fn wait_logged(mut child: Child, out: &Path, limit: Duration) -> (DumpOutput, Duration) {
    let start = Instant::now();
    let read =
        |name: &str| String::from_utf8_lossy(&fs::read(out.join(name)).unwrap()).into_owned();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}; stderr:\n{}", read("stderr"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = DumpOutput {
        code: status.code(),
        stdout: read("stdout"),
        stderr: read("stderr"),
    };
    (output, start.elapsed())
}

/// Polls until a multipart upload is under way in [`BUCKET`] (the dump is streaming a file); panics
/// when `child` ends first or after 60 s.
fn wait_for_multipart_upload(s3: &S3Server, child: &mut Child, out: &Path) {
    let start = Instant::now();
    loop {
        if !s3.list_multipart_uploads(BUCKET).is_empty() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "mybak ended ({status}) before a multipart upload was seen; make the table bigger\n{}",
                fs::read_to_string(out.join("stderr")).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no multipart upload within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The full fixture through S3: dump, list, verify, restore on a fresh server, compare; and the
/// bucket holds exactly the finished dump, every object matching the manifest.
#[test]
fn full_fixture_round_trips_through_s3() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let names = load_full_fixture(src);
    let root = format!("s3://{BUCKET}/nightly");
    let url = dump(src, &s3, &root, &names.databases(), &["--threads", "4"]);
    let prefix = format!("{}/", key_of(&url));
    let name = prefix.trim_end_matches('/').rsplit('/').next().unwrap();

    // Exactly manifest.json, SHA256SUMS and the data files; no run marker, no upload left open.
    let manifest: serde_json::Value =
        serde_json::from_slice(&s3.get_object(BUCKET, &format!("{prefix}manifest.json"))).unwrap();
    assert_eq!(manifest["status"], "complete");
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() > 3, "{manifest}");
    let keys: BTreeSet<String> = s3.list_keys(BUCKET, &prefix).into_iter().collect();
    let mut expected: BTreeSet<String> = files
        .iter()
        .map(|f| format!("{prefix}{}", f["path"].as_str().unwrap()))
        .collect();
    assert!(
        expected.iter().all(|k| k.ends_with(".sql.zst")),
        "{expected:?}"
    );
    expected.insert(format!("{prefix}manifest.json"));
    expected.insert(format!("{prefix}SHA256SUMS"));
    assert_eq!(keys, expected);
    assert_eq!(
        s3.list_keys(BUCKET, "").len(),
        keys.len(),
        "objects outside the dump"
    );
    assert_eq!(s3.list_multipart_uploads(BUCKET), []);

    // Every object's bytes are what the manifest and SHA256SUMS say.
    let sums = String::from_utf8(s3.get_object(BUCKET, &format!("{prefix}SHA256SUMS"))).unwrap();
    for f in files {
        let path = f["path"].as_str().unwrap();
        let data = s3.get_object(BUCKET, &format!("{prefix}{path}"));
        let digest = sha256_hex(&data);
        assert_eq!(f["sha256"].as_str(), Some(digest.as_str()), "{path}");
        assert_eq!(f["bytes"].as_u64(), Some(data.len() as u64), "{path}");
        assert!(
            sums.contains(&format!("{digest}  {path}\n")),
            "{path}: {sums}"
        );
    }
    let manifest_bytes = s3.get_object(BUCKET, &format!("{prefix}manifest.json"));
    assert!(
        sums.contains(&format!("{}  manifest.json\n", sha256_hex(&manifest_bytes))),
        "{sums}"
    );

    assert_eq!(
        statuses(&list(&s3, &root)),
        [(name.to_string(), "complete".to_string())]
    );

    let out = verify(&s3, &url);
    out.assert_code(0);
    assert!(out.stderr.contains("summary: status=ok"), "{}", out.stderr);

    let dst = Server::start_new();
    dst.exec(&format!("CREATE USER '{}'@'localhost'", names.user));
    let out = restore(&dst, &s3, &url, &["--threads", "4"]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("summary: status=complete databases=2 "),
        "{}",
        out.stderr
    );
    assert_same_databases(src, &names.db, &dst, &names.db);
    assert_same_databases(src, &names.db2, &dst, &names.db2);
}

/// The endpoint vanishes while a table streams: after its retries mybak exits 1, naming the failed
/// write, and prints no dump location.
#[test]
fn a_dump_whose_endpoint_dies_mid_upload_fails_with_exit_1() {
    let mut s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    // Its own server: the stalled dump keeps its table open for minutes, which would hold up the
    // FLUSH TABLES WITH READ LOCK of every other dump on the shared server.
    let src = Server::start_new();
    let db = big_database(&src);
    let out_dir = tempfile::tempdir().unwrap();
    let root = format!("s3://{BUCKET}/nightly");
    let mut child = spawn_logged(dump_cmd(&src, &s3, &root, &db, &[]), out_dir.path());
    wait_for_multipart_upload(&s3, &mut child, out_dir.path());
    s3.kill();
    // The failed part upload is retried with backoff for about 45 s; today the abort of the upload
    // and the removal of the table's two files are each retried as long again (about 190 s in all,
    // reported as a bug), hence the limit.
    let (out, took) = wait_logged(child, out_dir.path(), Duration::from_secs(300));
    out.assert_code(1);
    assert_eq!(out.stdout, "", "no dump location for a failed dump");
    assert!(
        out.stderr.contains("writing the dump failed") && out.stderr.contains("left unfinished"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("summary: status=failed"),
        "{}",
        out.stderr
    );
    eprintln!("gave up {took:?} after the endpoint died");
}

/// `mybak` SIGKILLed mid-dump leaves no manifest: list shows the dump unfinished (or not at all),
/// verify and restore refuse it, and prune aborts the multipart upload it left open.
#[test]
fn a_dump_killed_mid_upload_is_never_taken_for_a_finished_one() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = big_database(src);
    let out_dir = tempfile::tempdir().unwrap();
    let root = format!("s3://{BUCKET}/nightly");
    let mut child = spawn_logged(
        dump_cmd(src, &s3, &root, &db, &["--name", "killed"]),
        out_dir.path(),
    );
    wait_for_multipart_upload(&s3, &mut child, out_dir.path());
    child.kill().unwrap();
    child.wait().unwrap();

    let keys = s3.list_keys(BUCKET, "nightly/killed/");
    assert!(
        !keys.iter().any(|k| k.ends_with("manifest.json")),
        "{keys:?}"
    );
    for (name, status) in statuses(&list(&s3, &root)) {
        assert_eq!(
            (name.as_str(), status.as_str()),
            ("killed", "unfinished"),
            "only the unfinished dump may be listed"
        );
    }
    let url = format!("{root}/killed");
    let out = verify(&s3, &url);
    out.assert_code(2);
    assert!(out.stderr.contains("unfinished"), "{}", out.stderr);
    let copy = unique_name("s3copy");
    let out = restore(
        src,
        &s3,
        &url,
        &["--rename-database", &format!("{db}={copy}")],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("unfinished"), "{}", out.stderr);
    assert_eq!(
        src.query_value(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{copy}'"
        ))
        .as_deref(),
        Some("0")
    );

    // The killed run's multipart upload stays open until prune aborts it (moto dates every
    // upload 2010, so it counts as older than a day); --dry-run only counts it.
    assert!(!s3.list_multipart_uploads(BUCKET).is_empty());
    let out = mybak(
        &s3,
        &["prune", &root, "--keep-last", "1", "--dry-run", "-v"],
    );
    out.assert_code(0);
    assert!(!s3.list_multipart_uploads(BUCKET).is_empty());
    let out = mybak(&s3, &["prune", &root, "--keep-last", "1", "-v"]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("unfinished uploads of killed runs"),
        "{}",
        out.stderr
    );
    assert_eq!(s3.list_multipart_uploads(BUCKET), []);
}

/// moto enforcing an IAM user's key: the right key dumps; a wrong secret or an unknown key is refused
/// with exit 2 and one line naming the problem, before anything is written; list likewise.
#[test]
fn wrong_credentials_are_refused_before_anything_is_written() {
    let s3 = S3Server::start_with_auth();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = small_database(src);
    let root = format!("s3://{BUCKET}/nightly");
    let (access_key, secret_key) = s3.credentials();

    for (key, secret, code) in [
        (access_key.as_str(), "wrong-secret", "SignatureDoesNotMatch"),
        (
            "AKIAIOSFODNN7EXAMPLE",
            secret_key.as_str(),
            "InvalidAccessKeyId",
        ),
    ] {
        let mut cmd = dump_cmd(src, &s3, &root, &db, &[]);
        s3.apply_credentials(&mut cmd, key, secret);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert_eq!(out.stdout, "");
        assert_one_error_line(&out, &[&root, code, "credentials"]);
        assert_eq!(s3.list_keys(BUCKET, ""), Vec::<String>::new(), "{code}");
        assert_eq!(s3.list_multipart_uploads(BUCKET), [], "{code}");

        let mut cmd = mybak_bare();
        cmd.args(["list", &root]);
        let mut cmd = with_s3(&s3, cmd);
        s3.apply_credentials(&mut cmd, key, secret);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert_one_error_line(&out, &[&root, code]);
    }

    // The right key works against the same server.
    let url = dump(src, &s3, &root, &db, &[]);
    assert_eq!(
        statuses(&list(&s3, &root)),
        [(
            url.rsplit('/').next().unwrap().to_string(),
            "complete".to_string()
        )]
    );
}

/// `[s3] access-key-id` and `secret-access-key` in mybak's config file are the credentials when
/// the environment has none; `config check` masks the secret; one without the other is refused.
#[test]
fn credentials_from_the_config_file_are_used_and_masked() {
    let s3 = S3Server::start_with_auth();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = small_database(src);
    let root = format!("s3://{BUCKET}/from-config");
    let (access_key, secret_key) = s3.credentials();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("mybak.toml");
    let write = |text: &str| {
        std::fs::write(&config, text).unwrap();
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    };
    let without_env = |mut cmd: Command| {
        s3.apply(&mut cmd);
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .arg("--config")
            .arg(&config);
        cmd
    };
    write(&format!(
        "[s3]\nendpoint = \"{}\"\naccess-key-id = \"{access_key}\"\nsecret-access-key = \"{secret_key}\"\n",
        s3.endpoint()
    ));
    let mut cmd = mybak_cmd(src);
    cmd.args(["--output-dir", &root, "--databases", &db]);
    let out = run_dump(without_env(cmd));
    out.assert_code(0);
    assert!(out.stdout.starts_with(&root), "{}", out.stdout);

    let mut cmd = mybak_bare();
    cmd.args(["config", "check"]);
    let out = run_dump(without_env(cmd));
    out.assert_code(0);
    assert!(
        !out.stdout.contains(&secret_key),
        "secret shown: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("secret-access-key = \"***\""),
        "{}",
        out.stdout
    );

    write(&format!("[s3]\naccess-key-id = \"{access_key}\"\n"));
    let mut cmd = mybak_bare();
    cmd.args(["list", &root]);
    let out = run_dump(without_env(cmd));
    out.assert_code(2);
    assert_one_error_line(&out, &["access-key-id", "secret-access-key"]);
}

/// A bucket that does not exist: dump, list, verify and restore exit 2 naming it (NoSuchBucket)
/// and nothing is created.
#[test]
fn a_missing_bucket_is_an_error_naming_it() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = small_database(src);
    let root = "s3://no-such-bucket/nightly";

    let out = run_dump(dump_cmd(src, &s3, root, &db, &[]));
    out.assert_code(2);
    assert_eq!(out.stdout, "");
    assert_one_error_line(&out, &["no-such-bucket", "NoSuchBucket"]);
    assert_eq!(s3.bucket_names(), [BUCKET]);
    assert_eq!(s3.list_keys(BUCKET, ""), Vec::<String>::new());

    let out = mybak(&s3, &["list", root]);
    out.assert_code(2);
    assert_one_error_line(&out, &["no-such-bucket", "NoSuchBucket"]);
    let dump_url = format!("{root}/2024-01-01T00-00-00");
    let out = verify(&s3, &dump_url);
    out.assert_code(2);
    assert_one_error_line(&out, &["no-such-bucket", "NoSuchBucket"]);
    let out = restore(src, &s3, &dump_url, &[]);
    out.assert_code(2);
    assert_one_error_line(&out, &["no-such-bucket", "NoSuchBucket"]);
    assert_eq!(s3.bucket_names(), [BUCKET]);
}

/// verify and restore of a dump they cannot reach (missing bucket, wrong credentials) are setup
/// errors: exit 2, like dump and list.
#[test]
fn verify_and_restore_of_an_unreachable_dump_exit_2() {
    let s3 = S3Server::start_with_auth();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = small_database(src);
    let url = dump(src, &s3, &format!("s3://{BUCKET}/nightly"), &db, &[]);
    let missing = "s3://no-such-bucket/nightly/2024-01-01T00-00-00";
    let (access_key, _) = s3.credentials();
    for (dump_url, secret, code) in [
        (missing, None, "NoSuchBucket"),
        (url.as_str(), Some("wrong-secret"), "SignatureDoesNotMatch"),
    ] {
        let mut cmd = with_s3(&s3, mybak_verify_cmd(Path::new(dump_url)));
        if let Some(secret) = secret {
            s3.apply_credentials(&mut cmd, &access_key, secret);
        }
        let out = run_dump(cmd);
        out.assert_code(2);
        assert_one_error_line(&out, &[code]);
        let mut cmd = with_s3(&s3, mybak_restore_cmd(src, Path::new(dump_url)));
        if let Some(secret) = secret {
            s3.apply_credentials(&mut cmd, &access_key, secret);
        }
        let out = run_dump(cmd);
        out.assert_code(2);
        assert_one_error_line(&out, &[code]);
    }
}

/// Three dumps; `prune --keep-last 1 --dry-run` removes nothing, `prune --keep-last 1` removes every
/// object of the two older ones and keeps the newest intact.
#[test]
fn prune_removes_the_older_dumps_objects_and_keeps_the_newest() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let src = Server::shared();
    let db = small_database(src);
    let root = format!("s3://{BUCKET}/nightly");
    let urls: Vec<String> = ["first", "second", "third"]
        .iter()
        .map(|name| dump(src, &s3, &root, &db, &["--name", name]))
        .collect();
    let keys_of = |url: &str| s3.list_keys(BUCKET, &format!("{}/", key_of(url)));
    let before: Vec<Vec<String>> = urls.iter().map(|u| keys_of(u)).collect();
    assert!(before.iter().all(|k| k.len() >= 3), "{before:?}");
    let all_before = s3.list_keys(BUCKET, "");

    let out = mybak(&s3, &["prune", &root, "--keep-last", "1", "--dry-run"]);
    out.assert_code(0);
    let plan = format!("{}{}", out.stdout, out.stderr);
    for name in ["first", "second"] {
        assert!(
            plan.lines()
                .any(|l| l.starts_with("would remove") && l.contains(name)),
            "{plan}"
        );
    }
    assert!(
        plan.lines()
            .any(|l| l.starts_with("keep") && l.contains("third")),
        "{plan}"
    );
    assert_eq!(
        s3.list_keys(BUCKET, ""),
        all_before,
        "dry run removed objects"
    );

    let out = mybak(&s3, &["prune", &root, "--keep-last", "1"]);
    out.assert_code(0);
    assert_eq!(keys_of(&urls[0]), Vec::<String>::new());
    assert_eq!(keys_of(&urls[1]), Vec::<String>::new());
    assert_eq!(keys_of(&urls[2]), before[2]);
    assert_eq!(
        statuses(&list(&s3, &root)),
        [("third".to_string(), "complete".to_string())]
    );
    verify(&s3, &urls[2]).assert_code(0);
}
