use super::*;

fn parse(text: &str) -> Result<ConfigFile> {
    ConfigFile::parse(Path::new("/etc/mybak/mybak.toml"), text)
}

#[test]
fn every_section_and_kind_of_value_parses() {
    let c = parse(
        r#"
log-file = "/var/log/mybak/mybak.log"
log-format = "json"
job = "nightly"
hook-timeout = "2min"
progress = "never"

[connection]
user = "backup"
password = "s3cret"
ssl-mode = "verify-ca"
port = 3307

[dump]
output-dir = "/db_backups"
databases = ["shop", "blog_*"]
consistency = "per-table"
lock-wait-timeout = 30
chunk-size = "128M"
compress-level = -1
min-free = "5G"
file-mode = "0640"
prune = true

[prune]
keep-daily = 7
keep-within = "30d"
"#,
    )
    .unwrap();
    assert_eq!(c.global.log_format, Some(LogFormat::Json));
    assert_eq!(c.global.hook_timeout, Some(Span::from_secs(120)));
    assert_eq!(c.global.progress, Some(ProgressMode::Never));
    assert_eq!(c.connection.ssl_mode, Some(SslMode::VerifyCa));
    assert_eq!(c.connection.port, Some(3307));
    assert_eq!(c.dump.databases.as_deref().map(<[String]>::len), Some(2));
    assert_eq!(c.dump.consistency, Some(Consistency::PerTable));
    assert_eq!(c.dump.lock_wait_timeout, Some(Span::from_secs(30)));
    assert_eq!(c.dump.chunk_size, Some(ByteSize(128 << 20)));
    assert_eq!(c.dump.compress_level, Some(-1));
    assert_eq!(c.dump.file_mode.map(FileMode::file), Some(0o640));
    assert_eq!(c.prune.keep_daily, Some(7));
    assert_eq!(c.restore, RestoreConfig::default());
}

#[test]
fn unknown_keys_and_bad_values_name_file_and_line() {
    // (text, line, words the message contains)
    let cases: &[(&str, usize, &[&str])] = &[
        (
            "[dump]\noutput-dir = \"/b\"\npasword = \"x\"\n",
            3,
            &["pasword"],
        ),
        (
            "job = \"a\"\n\nlogfile = \"/x\"\n",
            3,
            &["logfile", "log-file"],
        ),
        ("[dump]\nchunk-size = \"64Q\"\n", 2, &["64Q"]),
        (
            "[dump]\nconsistency = \"fast\"\n",
            2,
            &["fast", "per-table"],
        ),
        (
            "[connection]\nssl-mode = \"maybe\"\n",
            2,
            &["maybe", "VERIFY_CA"],
        ),
        ("progress = \"sometimes\"\n", 1, &["sometimes", "auto"]),
        ("[prune]\nkeep-within = \"1y6m\"\n", 2, &["ambiguous"]),
        ("[prune]\nkeep-daily = -1\n", 2, &["keep-daily"]),
        ("[nosuchsection]\nx = 1\n", 1, &["nosuchsection"]),
        ("[dump]\nthreads = \"four\"\n", 2, &["threads"]),
        ("[dump\n", 1, &[]),
    ];
    for (text, line, words) in cases {
        let e = parse(text).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("/etc/mybak/mybak.toml:{line}: ")),
            "{text:?}: {msg}"
        );
        assert!(!msg.contains('\n'), "{text:?}: not one line: {msg}");
        for w in *words {
            assert!(msg.contains(w), "{text:?}: {msg} lacks {w}");
        }
    }
}

#[test]
fn the_command_line_layer_wins_field_by_field() {
    let file = DumpConfig {
        output_dir: Some("/file".into()),
        threads: Some(Threads::Count(2)),
        ..DumpConfig::default()
    };
    let cli = DumpConfig {
        threads: Some(Threads::Count(8)),
        users: Some(true),
        ..DumpConfig::default()
    };
    let merged = cli.over(file);
    assert_eq!(merged.output_dir.as_deref(), Some(Path::new("/file")));
    assert_eq!(merged.threads, Some(Threads::Count(8)));
    assert_eq!(merged.users, Some(true));
    assert_eq!(merged.name, None);
}

#[test]
fn keys_are_the_serialized_names() {
    for (section, keys) in sections() {
        for key in keys {
            assert!(!key.contains('-'), "{section}.{key}");
        }
    }
    assert!(DumpConfig::KEYS.contains(&"output_dir"));
    assert!(GlobalConfig::KEYS.contains(&"on_failure"));
}

#[test]
fn missing_or_irregular_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let e = ConfigFile::load(Some(&missing)).unwrap_err().to_string();
    assert!(e.starts_with(&missing.display().to_string()), "{e}");
    assert_eq!(e.matches("os error").count(), 1, "{e}");
    let e = ConfigFile::load(Some(dir.path())).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let e = ConfigFile::load(Some(&fifo)).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    let ok = dir.path().join("ok.toml");
    std::fs::write(&ok, "[list]\njson = true\n").unwrap();
    let c = ConfigFile::load(Some(&ok)).unwrap();
    assert_eq!(c.list.json, Some(true));
    assert_eq!(c.path.as_deref(), Some(ok.as_path()));
}

#[test]
fn restore_users_takes_a_flag_or_a_mode() {
    use crate::restore::UsersMode;
    for (value, want) in [
        ("true", Some(UsersMode::Fail)),
        ("false", None),
        ("\"fail\"", Some(UsersMode::Fail)),
        ("\"skip\"", Some(UsersMode::Skip)),
        ("\"replace\"", Some(UsersMode::Replace)),
    ] {
        let c = parse(&format!("[restore]\nusers = {value}\n")).unwrap();
        let mut s = crate::restore::RestoreSettings::default();
        c.restore.clone().apply(&mut s).unwrap();
        assert_eq!(s.users, want, "{value}");
        // What config check prints parses back to the same.
        let e = c.effective().unwrap();
        let text = toml::to_string(&e).unwrap();
        let again = ConfigFile::parse(Path::new("printed"), &text).unwrap();
        let mut s2 = crate::restore::RestoreSettings::default();
        again.restore.apply(&mut s2).unwrap();
        assert_eq!(s2.users, want, "{text}");
    }
    let e = parse("[restore]\nusers = \"merge\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains(":2: ") && e.contains("replace"), "{e}");
}
