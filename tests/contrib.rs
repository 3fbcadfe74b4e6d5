//! The files in contrib/ are what a sysadmin installs: each passes its own tool's check, and
//! every mybak setting they use exists.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::run_dump;
use common::mybak_bare;
use common::server::try_find_binary;

fn contrib(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(path)
}

/// `#key = value` lines of the commented config made live.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if is_setting(rest) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_setting(line: &str) -> bool {
    let Some((key, _)) = line.split_once(" = ") else {
        return false;
    };
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

#[test]
fn the_sample_config_documents_every_key_with_a_valid_value() {
    let text = fs::read_to_string(contrib("mybak.toml")).unwrap();
    // As shipped (everything commented out) and with every example made live, it parses.
    let path = contrib("mybak.toml");
    mybak::config::ConfigFile::parse(&path, &text).unwrap();
    let live = uncommented(&text);
    let config =
        mybak::config::ConfigFile::parse(&path, &live).unwrap_or_else(|e| panic!("{e}\n{live}"));
    let mut section = String::new();
    let mut seen = Vec::new();
    for line in live.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if is_setting(line) {
            seen.push((
                section.clone(),
                line.split(" = ").next().unwrap().to_string(),
            ));
        }
    }
    for (section, keys) in mybak::config::sections() {
        for key in keys {
            let key = key.replace('_', "-");
            assert!(
                seen.contains(&(section.to_string(), key.clone())),
                "contrib/mybak.toml does not show [{section}] {key}"
            );
        }
    }
    // The defaults it shows are the defaults.
    let effective = mybak::config::ConfigFile::default().effective().unwrap();
    let d = &effective.dump;
    assert!(text.contains(&format!("#compress-level = {}", d.compress_level.unwrap())));
    assert!(text.contains(&format!("#chunk-size = \"{}\"", d.chunk_size.unwrap())));
    assert!(text.contains(&format!("#name = \"{}\"", d.name.as_ref().unwrap())));
    assert!(text.contains(&format!(
        "#defer-indexes = {}",
        effective.restore.defer_indexes.unwrap()
    )));
    assert!(text.contains(&format!(
        "#defer-min-size = \"{}\"",
        effective.restore.defer_min_size.unwrap()
    )));
    assert!(text.contains(&format!(
        "#keep-partial = \"{}\"",
        effective.prune.keep_partial.unwrap()
    )));
    assert_eq!(
        config.dump.output_dir.as_deref(),
        Some(Path::new("./backups"))
    );
}

#[test]
fn config_check_accepts_the_sample_config() {
    // Made live, the sample's option-file and key-file paths (which must exist) are left out.
    let live: String = uncommented(&fs::read_to_string(contrib("mybak.toml")).unwrap())
        .lines()
        .filter(|l| !l.starts_with("defaults-") && !l.starts_with("identity"))
        .map(|l| format!("{l}\n"))
        .collect();
    for text in [fs::read_to_string(contrib("mybak.toml")).unwrap(), live] {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("mybak.toml");
        fs::write(&file, text).unwrap();
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let mut cmd = mybak_bare();
        cmd.env("HOME", tmp.path())
            .arg("--config")
            .arg(&file)
            .args(["config", "check"]);
        let out = run_dump(cmd);
        out.assert_code(0);
        assert!(out.stdout.contains("[dump]"), "{}", out.stdout);
        assert!(
            !out.stdout.contains("keep-this-file-chmod-600"),
            "password shown"
        );
    }
}

#[test]
fn the_cron_file_is_valid_and_uses_real_flags() {
    let text = fs::read_to_string(contrib("cron.d/mybak")).unwrap();
    let mut jobs = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            if name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                continue;
            }
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(fields.len() > 6, "{line}");
        let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
        for (field, (lo, hi)) in fields[..5].iter().zip(ranges) {
            for part in field.split(',') {
                if part == "*" {
                    continue;
                }
                let n: u32 = part.parse().unwrap_or_else(|_| panic!("{line}: {part}"));
                assert!((lo..=hi).contains(&n), "{line}: {part}");
            }
        }
        assert!(fields[5] == "root" || fields[5] == "mybak", "{line}: user");
        let command = fields[6..].join(" ");
        // `%` means newline to cron; an unescaped one would cut the command.
        assert!(!command.contains('%'), "{command}");
        let mybak = fields
            .iter()
            .position(|f| f.ends_with("bin/mybak"))
            .unwrap_or_else(|| panic!("{line}: no mybak"));
        let args: Vec<&str> = fields[mybak + 1..]
            .iter()
            .take_while(|a| !a.starts_with('2') && !a.starts_with(')') && !a.contains('>'))
            .map(|a| a.trim_end_matches(')').trim_end_matches("2>&1"))
            .filter(|a| !a.is_empty())
            .collect();
        check_flags(&args);
        let sh = Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(&command)
            .status()
            .unwrap();
        assert!(sh.success(), "sh -n rejects: {command}");
        jobs += 1;
    }
    assert!(jobs >= 1);
}

/// Every `--flag` of `args` (a command and its options) is one the command has.
fn check_flags(args: &[&str]) {
    let mut cmd = mybak_bare();
    cmd.arg("help").arg(args[0]);
    let out = run_dump(cmd);
    out.assert_code(0);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        let name = flag.split('=').next().unwrap();
        assert!(out.stdout.contains(name), "mybak {} has no {name}", args[0]);
    }
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    const SERVICES: [&str; 2] = ["mybak.service", "mybak-binlog.service"];
    for unit in SERVICES {
        let service = fs::read_to_string(contrib(&format!("systemd/{unit}"))).unwrap();
        for needed in [
            "UMask=0077",
            "User=",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
        ] {
            assert!(service.contains(needed), "{unit} lacks {needed}");
        }
        let exec = service
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
        check_flags(&args);
    }
    let Some(analyze) = try_find_binary("systemd-analyze") else {
        eprintln!("systemd-analyze is not installed: unit syntax not checked");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // systemd-analyze checks that ExecStart is executable: point it at the built binary.
    for unit in SERVICES {
        let service = fs::read_to_string(contrib(&format!("systemd/{unit}"))).unwrap();
        let service = service.replace("/usr/local/bin/mybak", env!("CARGO_BIN_EXE_mybak"));
        fs::write(tmp.path().join(unit), service).unwrap();
    }
    fs::copy(
        contrib("systemd/mybak.timer"),
        tmp.path().join("mybak.timer"),
    )
    .unwrap();
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .args(SERVICES.map(|u| tmp.path().join(u)))
        .arg(tmp.path().join("mybak.timer"))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    let about_ours: Vec<&str> = said.lines().filter(|l| l.contains("mybak")).collect();
    assert!(
        about_ours.is_empty(),
        "systemd-analyze complains: {about_ours:?}"
    );
}

#[test]
fn the_logrotate_file_passes_logrotate_and_mybak_logs_to_the_new_file() {
    let logrotate =
        try_find_binary("logrotate").expect("logrotate not found; apt-get install logrotate");
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("log");
    fs::create_dir(&logs).unwrap();
    let text = fs::read_to_string(contrib("logrotate.d/mybak")).unwrap();
    assert!(!text.contains("postrotate"), "mybak needs no signal");
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let group = nix::unistd::Group::from_gid(nix::unistd::getegid())
        .unwrap()
        .unwrap()
        .name;
    let conf = tmp.path().join("mybak");
    fs::write(
        &conf,
        text.replace("/var/log/mybak", &logs.display().to_string())
            .replace("create 0640 root adm", &format!("create 0640 {me} {group}")),
    )
    .unwrap();
    let log = logs.join("mybak.log");
    fs::write(&log, "2026-11-26T00:00:01.123Z INFO  [0] an old line\n").unwrap();
    let state = tmp.path().join("state");
    for args in [&["-d"][..], &["-f"][..]] {
        let out = Command::new(&logrotate)
            .args(args)
            .arg("-s")
            .arg(&state)
            .arg(&conf)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "logrotate {args:?}: {said}");
        assert!(
            !said.to_lowercase().contains("error"),
            "logrotate {args:?}: {said}"
        );
    }
    assert!(logs.join("mybak.log.1").is_file(), "not rotated");
    // The next run appends to the new file, with no signal.
    let mut cmd = mybak_bare();
    cmd.args(["list", "--log-file"])
        .arg(&log)
        .arg(tmp.path().join("no-dumps-here"));
    let _ = run_dump(cmd);
    let fresh = fs::read_to_string(&log).unwrap();
    assert!(!fresh.contains("an old line"), "{fresh}");
}

fn _unused(_: &Path) {}
