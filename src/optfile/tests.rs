//! Tests of option-file reading against temporary files.

use super::*;
use std::fs;
use tempfile::TempDir;

const GROUPS: [&str; 5] = [
    "client",
    "client-server",
    "client-mariadb",
    "mysqldump",
    "mybak",
];

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

fn only_file(path: &Path) -> DefaultsSpec {
    DefaultsSpec {
        defaults_file: Some(path.to_path_buf()),
        ..DefaultsSpec::default()
    }
}

fn read_one(text: &str) -> Result<OptionValues, OptionFileError> {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "my.cnf", text);
    read_options_from(&only_file(&file), &GROUPS, &[])
}

fn pairs(values: &OptionValues) -> Vec<(String, Option<String>)> {
    values
        .entries()
        .iter()
        .map(|e| (e.key().to_string(), e.value().map(str::to_string)))
        .collect()
}

fn messages(values: &OptionValues) -> Vec<String> {
    values.warnings().iter().map(ToString::to_string).collect()
}

fn kv(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

#[test]
fn group_selection() {
    let v = read_one(
        "[client]\na=1\n[mysqld]\nb=2\n[MyBak]\nc=3\n[ client]\nd=4\n[CLIENT-MARIADB] # x\ne=5\n[mysql]\nf=6\n",
    )
    .unwrap();
    assert_eq!(
        pairs(&v),
        kv(&[("a", Some("1")), ("c", Some("3")), ("e", Some("5"))])
    );
    assert_eq!(v.entries()[1].group(), "MyBak");
}

#[test]
fn syntax_is_read_like_mariadb() {
    let text = concat!(
        "# comment\n",
        "; another\n",
        "[client]\n",
        "  user = bob  \n",
        "password=\"pa#ss word\" # trailing comment\n",
        "host='db.example'\n",
        "socket=/run/a.sock#comment\n",
        "x=a\\sb\\tc\\\\d\\qe\n",
        "y=\"quoted\\\"inner\"\n",
        "loose_ssl_ca = /ca.pem\n",
        "default_character_set=utf8mb4\n",
        "quick\n",
        "empty=\n",
        "crlf=yes\r\n",
    );
    let v = read_one(text).unwrap();
    assert_eq!(
        pairs(&v),
        kv(&[
            ("user", Some("bob")),
            ("password", Some("pa#ss word")),
            ("host", Some("db.example")),
            ("socket", Some("/run/a.sock")),
            ("x", Some("a b\tc\\d\\qe")),
            ("y", Some("quoted\"inner")),
            ("ssl-ca", Some("/ca.pem")),
            ("default-character-set", Some("utf8mb4")),
            ("quick", None),
            ("empty", Some("")),
            ("crlf", Some("yes")),
        ])
    );
    assert_eq!(v.get("ssl_ca"), Some("/ca.pem"));
    assert_eq!(v.get("password"), Some("pa#ss word"));
    assert_eq!(v.entries()[1].origin().line, 5);
}

#[test]
fn file_order_and_precedence() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let sys1 = write(d, "etc/my.cnf", "[client]\nhost=sys1\nuser=sys1\nport=1\n");
    let sys2 = write(
        d,
        "etc/mysql/my.cnf",
        "[client]\nhost=sys2\nuser=sys2\n[mybak]\nport=2\n",
    );
    let extra = write(d, "extra.cnf", "[client-server]\nhost=extra\n");
    let home = d.join("home");
    write(&home, ".my.cnf", "[mysqldump]\nhost=home\n");
    let missing = d.join("etc/nonexistent.cnf");
    let system = [sys1.as_path(), missing.as_path(), sys2.as_path()];

    let mut spec = DefaultsSpec {
        defaults_extra_file: Some(extra.clone()),
        home: Some(home.clone()),
        ..DefaultsSpec::default()
    };
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert_eq!(v.get("host"), Some("home"));
    assert_eq!(v.get("user"), Some("sys2"));
    assert_eq!(v.get("port"), Some("2"));
    let files: Vec<_> = v
        .entries()
        .iter()
        .map(|e| e.origin().file.clone())
        .collect();
    assert_eq!(files.first(), Some(&sys1));
    assert_eq!(files.last(), Some(&home.join(".my.cnf")));

    spec.home = None;
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert_eq!(v.get("host"), Some("extra"));

    spec.home = Some(d.join("no-such-home"));
    spec.defaults_extra_file = None;
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert_eq!(v.get("host"), Some("sys2"));

    // --defaults-file: only that file.
    spec.defaults_file = Some(extra.clone());
    spec.home = Some(home);
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert_eq!(pairs(&v), kv(&[("host", Some("extra"))]));

    // --no-defaults: nothing.
    spec.defaults_file = None;
    spec.no_defaults = true;
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert!(v.is_empty());
}

#[test]
fn no_defaults_conflicts_with_files_to_read() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "a.cnf", "[client]\nuser=x\n");
    let cases: &[(Option<&Path>, Option<&Path>, Option<&str>)] = &[
        (Some(&file), None, Some("--defaults-file")),
        (None, Some(&file), Some("--defaults-extra-file")),
        (Some(&file), Some(&file), Some("--defaults-file")),
        (None, None, None),
    ];
    for (defaults_file, extra, conflict) in cases {
        let spec = DefaultsSpec {
            no_defaults: true,
            defaults_file: defaults_file.map(Path::to_path_buf),
            defaults_extra_file: extra.map(Path::to_path_buf),
            home: Some(dir.path().to_path_buf()),
        };
        match (read_options(&spec, &GROUPS), conflict) {
            (Err(err), Some(option)) => {
                assert!(
                    matches!(err, OptionFileError::Conflict { option: o } if o == *option),
                    "{err:?}"
                );
                assert_eq!(
                    err.to_string(),
                    format!("--no-defaults cannot be combined with {option}")
                );
            }
            (Ok(v), None) => assert!(v.is_empty()),
            (got, want) => panic!("{got:?} / {want:?}"),
        }
    }
}

#[test]
fn required_files_must_exist() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.cnf");
    let err = read_options_from(&only_file(&missing), &GROUPS, &[]).unwrap_err();
    assert!(
        matches!(err, OptionFileError::RequiredFile { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let spec = DefaultsSpec {
        defaults_extra_file: Some(missing.clone()),
        ..DefaultsSpec::default()
    };
    let err = read_options_from(&spec, &GROUPS, &[]).unwrap_err();
    assert!(err.to_string().contains("missing.cnf"), "{err}");

    let err = read_options_from(&only_file(dir.path()), &GROUPS, &[]).unwrap_err();
    assert!(
        matches!(err, OptionFileError::RequiredIsDirectory { .. }),
        "{err:?}"
    );
}

#[test]
fn bad_lines_name_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("# c\nuser=x\n[client]\n", 2, "value outside of any [group]"),
        (
            "[client]\nuser=x\n[mysqld\n",
            3,
            "group header without closing ']'",
        ),
        ("[client]\n=x\n", 2, "option without a name"),
        (
            "[client]\n!include\n",
            2,
            "'!include' directive without a path",
        ),
        (
            "[client]\n!includedir  \n",
            2,
            "'!includedir' directive without a path",
        ),
    ];
    for (text, line, msg) in cases {
        let dir = TempDir::new().unwrap();
        let file = write(dir.path(), "bad.cnf", text);
        let err = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap_err();
        let want = format!("{}:{line}: {msg}", file.display());
        assert!(err.to_string().starts_with(&want), "{err} / {want}");
    }
}

#[test]
fn non_utf8_only_matters_in_read_groups() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("latin1.cnf");
    fs::write(&file, b"[mysqld]\nx=caf\xe9\n[client]\nuser=bob\n").unwrap();
    let v = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap();
    assert_eq!(v.get("user"), Some("bob"));

    fs::write(&file, b"[client]\npassword=caf\xe9\n").unwrap();
    let err = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap_err();
    assert!(err.to_string().ends_with(":2: not valid UTF-8"), "{err}");
}

#[test]
fn includes() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let home = d.join("home");
    write(&home, "inc/home.cnf", "[client]\nfrom-home=1\n");
    let sub = write(d, "sub.cnf", "[client]\nhost=sub\n[mysqld]\nignored=1\n");
    let main = write(
        d,
        "main.cnf",
        &format!(
            "[client]\nhost=main\n!include {}\nafter=1\n!include {}/missing.cnf\n!include ~/inc/home.cnf\n",
            sub.display(),
            d.display()
        ),
    );
    let spec = DefaultsSpec {
        home: Some(home),
        ..only_file(&main)
    };
    let v = read_options_from(&spec, &GROUPS, &[]).unwrap();
    assert_eq!(
        pairs(&v),
        kv(&[
            ("host", Some("main")),
            ("host", Some("sub")),
            ("after", Some("1")),
            ("from-home", Some("1")),
        ])
    );
    assert_eq!(v.entries()[1].origin().file, sub);
    // The include keeps the group state of the including file: `after` is still [client].
    assert_eq!(v.entries()[2].group(), "client");
}

#[test]
fn includedir_reads_cnf_files_sorted() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let conf = d.join("conf.d");
    write(&conf, "b.cnf", "[client]\norder=b\n");
    write(&conf, "a.cnf", "[client]\norder=a\n");
    write(&conf, "10.cnf", "[client]\norder=10\n");
    write(&conf, "B.cnf", "[client]\norder=B\n");
    write(&conf, "c.txt", "[client]\norder=c\n");
    write(&conf, "d.cnf.bak", "[client]\norder=d\n");
    write(&conf, "sub.cnf/x.cnf", "[client]\norder=sub\n");
    let main = write(
        d,
        "main.cnf",
        &format!("!includedir {}\n[client]\norder=main\n", conf.display()),
    );
    let v = read_options_from(&only_file(&main), &GROUPS, &[]).unwrap();
    let order: Vec<_> = v.entries().iter().map(|e| e.value().unwrap()).collect();
    assert_eq!(order, ["10", "B", "a", "b", "main"]);
    assert_eq!(v.get("order"), Some("main"));

    let bad = write(
        d,
        "bad.cnf",
        &format!("[client]\n!includedir {}/nope\n", d.display()),
    );
    let err = read_options_from(&only_file(&bad), &GROUPS, &[]).unwrap_err();
    assert!(
        matches!(err, OptionFileError::IncludeDir { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn include_loops_stop_at_depth_limit() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("loop.cnf");
    fs::write(
        &path,
        format!("[client]\nport=1\n!include {}\n", path.display()),
    )
    .unwrap();
    let v = read_options_from(&only_file(&path), &GROUPS, &[]).unwrap();
    assert_eq!(v.len(), MAX_INCLUDE_DEPTH + 1);
    let want = format!(
        "{}:3: skipping include directive: includes nest deeper than {MAX_INCLUDE_DEPTH} levels (include loop?)",
        path.display()
    );
    assert_eq!(messages(&v), [want]);
}

#[test]
fn errors_in_included_files_propagate() {
    let dir = TempDir::new().unwrap();
    let bad = write(dir.path(), "bad.cnf", "oops=1\n");
    let main = write(
        dir.path(),
        "main.cnf",
        &format!("[client]\n!include {}\n", bad.display()),
    );
    let err = read_options_from(&only_file(&main), &GROUPS, &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1:", bad.display())),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn world_writable_files_are_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "ww.cnf", "[client]\nuser=evil\n");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let v = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap();
    assert!(v.is_empty());
    let want = format!("world-writable option file {} is ignored", file.display());
    assert_eq!(messages(&v), [want]);
}

#[test]
fn unreadable_standard_files_are_skipped_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "plain", "");
    let below_file = file.join("my.cnf");
    let spec = DefaultsSpec::default();
    let v = read_options_from(&spec, &GROUPS, &[below_file.as_path()]).unwrap();
    let shown = messages(&v);
    assert_eq!(shown.len(), 1, "{shown:?}");
    let want = format!("option file {} skipped: ", below_file.display());
    assert!(shown[0].starts_with(&want), "{shown:?}");
}

#[test]
fn home_expansion() {
    let home = Path::new("/home/u");
    assert_eq!(
        expand_home("~/a.cnf", Some(home)),
        PathBuf::from("/home/u/a.cnf")
    );
    assert_eq!(expand_home("~", Some(home)), PathBuf::from("/home/u"));
    assert_eq!(expand_home("~/a.cnf", None), PathBuf::from("~/a.cnf"));
    assert_eq!(
        expand_home("rel/a.cnf", Some(home)),
        PathBuf::from("rel/a.cnf")
    );
    assert_eq!(
        expand_home("~other/a", Some(home)),
        PathBuf::from("~other/a")
    );
}

#[test]
fn cnf_extension() {
    let cases: &[(&str, bool)] = &[
        ("a.cnf", true),
        (".cnf", true),
        ("a.b.cnf", true),
        ("a.cnf.bak", false),
        ("cnf", false),
        ("a.CNF", false),
        ("acnf", false),
    ];
    for (name, want) in cases {
        assert_eq!(has_cnf_extension(name.as_bytes()), *want, "{name}");
    }
}

#[test]
fn unknown_options_are_warned_about() {
    let mybak_setting = |line: usize, key: &str| {
        format!("{{f}}:{line}: '{key}' in [mybak] is not read from option files: mybak's own settings go in its config file (/etc/mybak/mybak.toml)")
    };
    let cases: &[(&str, &[String])] = &[
        (
            "[client]\nuser=bob\npasword=secret\n",
            &["{f}:3: unknown option 'pasword' in [client] (ignored); did you mean 'password'?".into()],
        ),
        (
            "[client]\nhost=db\n\nuser nc_bak\n",
            &["{f}:4: unknown option 'user nc_bak' in [client] (ignored); options are written key=value, did you mean 'user=nc_bak'?".into()],
        ),
        // Debian's /etc/mysql/conf.d/mysqldump.cnf.
        ("[mysqldump]\nquick\nquote-names\nmax_allowed_packet\t= 16M\n", &[]),
        // Options of the MariaDB and MySQL 8 clients, in the groups mybak reads.
        (
            concat!(
                "[client]\nport=3306\nsocket=/run/mysqld/mysqld.sock\n",
                "default-character-set=utf8mb4\nssl-mode=REQUIRED\nget-server-public-key\n",
                "ssl_ca=/ca.pem\ntls-version=TLSv1.3\ncompression-algorithms=zstd\n",
                "connect_timeout=5\nprotocol=tcp\nssl-fips-mode=OFF\nlogin-path=x\n",
                "[client-server]\nport=3307\n[client-mariadb]\nssl-verify-server-cert\n",
                "[mysqldump]\nsingle-transaction\ncolumn-statistics=0\nset-gtid-purged=OFF\n",
                "routines\nevents\nnetwork_timeout\nmax-allowed-packet=1G\nhex-blob\n",
                "[mybak]\nhost=db\nuser=backup\nssl-ca=/ca.pem\n",
            ),
            &[],
        ),
        ("[client]\nloose-anything=1\nloose_other\nloose-pasword=x\n", &[]),
        (
            "[client]\nskip-ssl\ndisable-ssl\nenable-ssl\nskip_auto_rehash\ndisable-quick\n",
            &[],
        ),
        (
            "[mybak]\nhost=db\noutput-dir=/backups\nthreads = 4\ncompress_level=3\n",
            &[
                mybak_setting(3, "output-dir"),
                mybak_setting(4, "threads"),
                mybak_setting(5, "compress_level"),
            ],
        ),
        // Groups mybak does not read are never checked.
        (
            "[mysqld]\ninnodb_buffer_pool_size=1G\nbogus\n[mysql]\npasword=x\n[client]\nuser=bob\n",
            &[],
        ),
        (
            "[Client]\nHost=db\npass=x\nskip-sll\nsingel-transaction\nfoo\nssl mode=VERIFY_CA\n",
            &[
                "{f}:2: unknown option 'Host' in [Client] (ignored); did you mean 'host'? (mybak matches option names case-sensitively)".into(),
                "{f}:3: unknown option 'pass' in [Client] (ignored); did you mean 'password'? (mybak does not read abbreviated option names)".into(),
                "{f}:4: unknown option 'skip-sll' in [Client] (ignored); did you mean 'skip-ssl'?".into(),
                "{f}:5: unknown option 'singel-transaction' in [Client] (ignored); did you mean 'single-transaction'?".into(),
                "{f}:6: unknown option 'foo' in [Client] (ignored)".into(),
                "{f}:7: unknown option 'ssl mode' in [Client] (ignored); did you mean 'ssl-mode'?".into(),
            ],
        ),
        (
            "[client-server]\nuser = bob\nfoo bar = baz\n[mybak]\nuser nc_bak\n",
            &[
                "{f}:3: unknown option 'foo bar' in [client-server] (ignored); options are written key=value".into(),
                "{f}:5: unknown option 'user nc_bak' in [mybak] (ignored); options are written key=value, did you mean 'user=nc_bak'?".into(),
            ],
        ),
        // The rest of a `password secret` line is the password: never shown.
        (
            "[client]\npassword hunter2\nPasswd \t hunter2 x\nssl-passphrase s3cret\n",
            &[
                "{f}:2: unknown option 'password ***' in [client] (ignored); options are written key=value, did you mean 'password=***'?".into(),
                "{f}:3: unknown option 'Passwd ***' in [client] (ignored); options are written key=value".into(),
                "{f}:4: unknown option 'ssl-passphrase ***' in [client] (ignored); options are written key=value".into(),
            ],
        ),
        (
            "[client]\nkey\u{e9}\u{301}=1\n",
            &["{f}:2: unknown option 'key\u{e9}\u{301}' in [client] (ignored)".into()],
        ),
    ];
    for (text, want) in cases {
        let dir = TempDir::new().unwrap();
        let file = write(dir.path(), "my.cnf", text);
        let v = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap();
        let f = file.display().to_string();
        let want: Vec<String> = want.iter().map(|w| w.replace("{f}", &f)).collect();
        assert_eq!(messages(&v), want, "{text:?}");
    }
}

#[test]
fn warnings_name_file_and_line_in_reading_order() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let sub = write(d, "sub.cnf", "[client]\nsokcet=/x\n");
    let main = write(
        d,
        "main.cnf",
        &format!(
            "[client]\nhots=a\n!include {s}\nprot=1\n!include {s}\n",
            s = sub.display()
        ),
    );
    let v = read_options_from(&only_file(&main), &GROUPS, &[]).unwrap();
    let origins: Vec<(PathBuf, usize)> = v
        .warnings()
        .into_iter()
        .map(|w| match w {
            OptionWarning::UnknownOption { origin, .. } => (origin.file, origin.line),
            other => panic!("{other:?}"),
        })
        .collect();
    // The second inclusion of sub.cnf repeats no warning.
    assert_eq!(origins, [(main.clone(), 2), (sub, 2), (main, 4)]);
}

#[cfg(unix)]
#[test]
fn passwords_in_files_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let cases: &[(u32, &str, bool)] = &[
        (0o644, "[client]\npassword=secret\n", true),
        (0o640, "[client]\npassword = \"secret\"\n", true),
        (0o604, "[mysqldump]\npassword=secret\n", true),
        (0o644, "[client]\nloose_password=secret\n", true),
        (0o644, "[client]\npassword=a\n[mybak]\npassword=b\n", true),
        (0o600, "[client]\npassword=secret\n", false),
        (0o400, "[client]\npassword=secret\n", false),
        (0o644, "[client]\npassword\n", false),
        (0o644, "[client]\npassword=\n", false),
        (
            0o644,
            "[mysqld]\npassword=secret\n[client]\nuser=bob\n",
            false,
        ),
    ];
    for (mode, text, warn) in cases {
        let dir = TempDir::new().unwrap();
        let file = write(dir.path(), "my.cnf", text);
        fs::set_permissions(&file, fs::Permissions::from_mode(*mode)).unwrap();
        let v = read_options_from(&only_file(&file), &GROUPS, &[]).unwrap();
        let want = if *warn {
            vec![format!(
                "{f} holds a password and is readable by group or others (mode {mode:04o}); chmod 600 {f}",
                f = file.display()
            )]
        } else {
            vec![]
        };
        assert_eq!(messages(&v), want, "{mode:o} {text:?}");
    }

    // An included file is judged on its own mode.
    let dir = TempDir::new().unwrap();
    let sub = write(dir.path(), "sub.cnf", "[client]\npassword=secret\n");
    let main = write(
        dir.path(),
        "main.cnf",
        &format!("[client]\npassword=x\n!include {}\n", sub.display()),
    );
    fs::set_permissions(&main, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o644)).unwrap();
    let v = read_options_from(&only_file(&main), &GROUPS, &[]).unwrap();
    assert_eq!(
        v.warnings(),
        [OptionWarning::ReadablePasswordFile {
            path: sub,
            mode: 0o644
        }]
    );
}

/// A FIFO, a link to `/dev/zero` and a file over the limit, in `dir`; and a link to a
/// regular file (`[client] user=linked`), which is read.
fn special_files(dir: &Path) -> [PathBuf; 4] {
    let fifo = dir.join("fifo.cnf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let zero = dir.join("zero.cnf");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let big = write(
        dir,
        "big.cnf",
        &format!("[client]\n{}", "#\n".repeat(1 << 19)),
    );
    let real = write(dir, "real.txt", "[client]\nuser=linked\n");
    let link = dir.join("link.cnf");
    std::os::unix::fs::symlink(real, &link).unwrap();
    [fifo, zero, big, link]
}

#[test]
fn required_files_must_be_regular_files_of_at_most_1_mib() {
    let dir = TempDir::new().unwrap();
    let [fifo, zero, big, link] = special_files(dir.path());
    let start = std::time::Instant::now();
    for (path, kind) in [(&fifo, "a FIFO"), (&zero, "a character device")] {
        for spec in [
            only_file(path),
            DefaultsSpec {
                defaults_extra_file: Some(path.clone()),
                ..DefaultsSpec::default()
            },
        ] {
            let err = read_options_from(&spec, &GROUPS, &[]).unwrap_err();
            assert!(
                matches!(err, OptionFileError::RequiredNotRegular { kind: k, .. } if k == kind),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "required option file {} is {kind}, not a regular file",
                    path.display()
                )
            );
        }
    }
    let err = read_options_from(&only_file(&big), &GROUPS, &[]).unwrap_err();
    assert!(matches!(err, OptionFileError::TooLarge { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "option file {} is larger than 1.0 MiB; not an option file",
            big.display()
        )
    );
    let v = read_options_from(&only_file(&link), &GROUPS, &[]).unwrap();
    assert_eq!(pairs(&v), kv(&[("user", Some("linked"))]));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn other_files_that_are_not_regular_are_skipped_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let [fifo, zero, big, link] = special_files(d);
    fs::create_dir(d.join("dir.cnf")).unwrap();
    let start = std::time::Instant::now();
    let main = write(
        d,
        "main.cnf",
        &format!(
            "[client]\n!include {}\n!include {}\n!include {}\nport=1\n",
            fifo.display(),
            zero.display(),
            link.display()
        ),
    );
    let v = read_options_from(&only_file(&main), &GROUPS, &[]).unwrap();
    assert_eq!(
        pairs(&v),
        kv(&[("user", Some("linked")), ("port", Some("1"))])
    );
    assert_eq!(
        messages(&v),
        [
            format!(
                "option file {} skipped: it is a FIFO, not a regular file",
                fifo.display()
            ),
            format!(
                "option file {} skipped: it is a character device, not a regular file",
                zero.display()
            ),
        ]
    );
    // As standard files too, and in an !includedir (which holds the big file too: an error).
    let v = read_options_from(
        &DefaultsSpec::default(),
        &GROUPS,
        &[&fifo, &d.join("dir.cnf")],
    )
    .unwrap();
    assert_eq!(v.warnings().len(), 2, "{:?}", messages(&v));
    assert!(
        messages(&v)[1].contains("it is a directory"),
        "{:?}",
        messages(&v)
    );
    let inc = write(
        d,
        "inc.cnf",
        &format!("[client]\n!includedir {}\n", d.display()),
    );
    let err = read_options_from(&only_file(&inc), &GROUPS, &[]).unwrap_err();
    assert!(
        err.to_string().contains(&big.display().to_string()),
        "{err}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
