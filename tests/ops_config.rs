//! The config file and option files: every setting has a key, flags win, mistakes are named
//! with file and line, `config check` shows what takes effect without the password.

mod common;

use std::fs;
use std::path::Path;

use common::dump::run_dump;
use common::{mybak_bare, unique_name, Server};

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
fn the_config_file_drives_a_dump_and_flags_override_it() {
    let server = Server::shared();
    let db = unique_name("cfg");
    let other = unique_name("cfgo");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT); INSERT INTO `{db}`.t VALUES (1);
         CREATE DATABASE `{other}`; CREATE TABLE `{other}`.t (id INT);"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("backups");
    let config = tmp.path().join("mybak.toml");
    write(
        &config,
        &format!(
            "progress = \"never\"\nlog-file = \"{log}\"\n\n[connection]\nsocket = \"{sock}\"\nuser = \"root\"\nno-defaults = true\n\n[dump]\noutput-dir = \"{root}\"\ndatabases = [\"{db}\"]\nname = \"fixed\"\nfile-mode = \"0640\"\n",
            log = tmp.path().join("mybak.log").display(),
            sock = server.socket().display(),
            root = root.display(),
        ),
    );
    let mut cmd = mybak_bare();
    cmd.arg("--config").arg(&config).arg("dump");
    let out = run_dump(cmd);
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), root.join("fixed").display().to_string());
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("fixed/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["databases"][0]["name"], db.as_str());
    let mode = fs::metadata(root.join("fixed/manifest.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o640
    );
    assert!(tmp.path().join("mybak.log").is_file());

    // Flags win over the file, key by key.
    let mut cmd = mybak_bare();
    cmd.args(["dump", "--databases", &other, "--name", "flagged"])
        .arg("--config")
        .arg(&config);
    run_dump(cmd).assert_code(0);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("flagged/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["databases"][0]["name"], other.as_str());
}

#[test]
fn an_unknown_key_is_named_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("mybak.toml");
    write(
        &config,
        "[dump]\noutput-dir = \"/tmp/x\"\n\ncompres-level = 3\n",
    );
    for command in [&["dump"][..], &["config", "check"], &["prune", "/tmp/x"]] {
        let mut cmd = mybak_bare();
        cmd.arg("--config").arg(&config).args(command);
        let out = run_dump(cmd);
        out.assert_code(2);
        assert!(
            out.stderr.contains(&format!("{}:4: ", config.display())),
            "{command:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("compres-level"), "{}", out.stderr);
    }
    let mut cmd = mybak_bare();
    cmd.arg("--config")
        .arg(tmp.path().join("missing.toml"))
        .arg("dump");
    let out = run_dump(cmd);
    out.assert_code(2);
    assert!(out.stderr.contains("missing.toml"), "{}", out.stderr);
}

#[test]
fn config_check_prints_effective_settings_with_the_password_masked() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("mybak.toml");
    write(
        &config,
        "job = \"nightly\"\n[connection]\nuser = \"backup\"\npassword = \"Very-Secret-7\"\nno-defaults = true\n[dump]\nthreads = 3\n[prune]\nkeep-daily = 7\n",
    );
    let mut cmd = mybak_bare();
    cmd.arg("--config").arg(&config).args(["config", "check"]);
    let out = run_dump(cmd);
    out.assert_code(0);
    assert!(!out.stdout.contains("Very-Secret-7") && !out.stderr.contains("Very-Secret-7"));
    for want in [
        "password = \"***\"",
        "threads = 3",
        "keep-daily = 7",
        "job = \"nightly\"",
        "compress-level = -3",
        "output-dir = \"./backups\"",
        "user 'backup'",
    ] {
        assert!(out.stdout.contains(want), "lacks {want}:\n{}", out.stdout);
    }
    // A password in a file others can read is worth a warning.
    fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let mut cmd = mybak_bare();
    cmd.arg("--config").arg(&config).args(["config", "check"]);
    let out = run_dump(cmd);
    out.assert_code(0);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
}

#[test]
fn option_file_mistakes_are_warned_about_with_file_and_line() {
    let server = Server::shared();
    let db = unique_name("optw");
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (id INT)"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let cnf = tmp.path().join("my.cnf");
    write(
        &cnf,
        &format!(
            "[client]\nsocket={}\npasword=oops\nuser nc_bak\n[mysqldump]\nquick\nmax_allowed_packet=16M\n[mybak]\noutput-dir=/nowhere\n",
            server.socket().display()
        ),
    );
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_bare();
    cmd.arg("dump")
        .arg(format!("--defaults-file={}", cnf.display()))
        .args(["--user", "root", "--databases", &db, "--progress", "never"])
        .arg("--output-dir")
        .arg(root.path());
    let out = run_dump(cmd);
    out.assert_code(0);
    let f = cnf.display().to_string();
    assert!(
        out.stderr.contains(&format!("{f}:3: ")) && out.stderr.contains("pasword"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{f}:4: ")) && out.stderr.contains("user nc_bak"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{f}:9: ")) && out.stderr.contains("output-dir"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("quick") && !out.stderr.contains("max_allowed_packet"),
        "{}",
        out.stderr
    );

    let mut cmd = mybak_bare();
    cmd.args(["dump", "--no-defaults"])
        .arg(format!("--defaults-extra-file={}", cnf.display()));
    let out = run_dump(cmd);
    out.assert_code(2);
    assert!(out.stderr.contains("--no-defaults"), "{}", out.stderr);
}
