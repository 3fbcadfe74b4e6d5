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
    spec.no_defaults = true;
    let v = read_options_from(&spec, &GROUPS, &system).unwrap();
    assert!(v.is_empty());
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
        format!("[client]\nx=1\n!include {}\n", path.display()),
    )
    .unwrap();
    let v = read_options_from(&only_file(&path), &GROUPS, &[]).unwrap();
    assert_eq!(v.len(), MAX_INCLUDE_DEPTH + 1);
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
