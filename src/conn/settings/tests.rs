//! Tests of settings resolution: precedence, defaults, TLS mode derivation.

use super::*;
use crate::optfile::{OptionEntry, Origin};
use std::path::Path;

fn files(lines: &[&str]) -> OptionValues {
    let mut v = OptionValues::new();
    for (i, line) in lines.iter().enumerate() {
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (*line, None),
        };
        let origin = Origin {
            file: PathBuf::from("/t/my.cnf"),
            line: i + 1,
        };
        v.push(OptionEntry::new(key, value, "client", origin));
    }
    v
}

fn resolve_simple(o: &ConnOverrides, lines: &[&str]) -> Result<ConnSettings, ConnError> {
    resolve(o, &files(lines), None, Some("login".into()))
}

#[test]
fn password_is_masked() {
    let p = Password::new("hunter2");
    assert_eq!(format!("{p:?}"), "***");
    assert_eq!(p.to_string(), "***");
    assert_eq!(p.expose(), "hunter2");
    let o = ConnOverrides {
        password: Some(p),
        ..ConnOverrides::default()
    };
    let s = resolve_simple(&o, &["password=other"]).unwrap();
    let shown = format!("{o:?} {s:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn ssl_mode_parsing() {
    let cases: &[(&str, Option<SslMode>)] = &[
        ("disabled", Some(SslMode::Disabled)),
        ("Preferred", Some(SslMode::Preferred)),
        ("REQUIRED", Some(SslMode::Required)),
        ("verify_ca", Some(SslMode::VerifyCa)),
        ("VERIFY-IDENTITY", Some(SslMode::VerifyIdentity)),
        (" required ", Some(SslMode::Required)),
        ("yes", None),
        ("", None),
        ("verify", None),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<SslMode>().ok(), *want, "{text:?}");
    }
    let err = "yes".parse::<SslMode>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid ssl-mode 'yes': expected one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
    );
    for mode in SslMode::ALL {
        assert_eq!(mode.to_string().parse::<SslMode>(), Ok(mode));
    }
}

#[test]
fn defaults() {
    let s = resolve_simple(&ConnOverrides::default(), &[]).unwrap();
    assert_eq!(s.host, None);
    assert_eq!(s.port, 3306);
    assert_eq!(s.socket, None);
    assert_eq!(s.user, "login");
    assert_eq!(s.password, None);
    assert_eq!(s.ssl.mode, SslMode::Preferred);
    assert_eq!(
        s.endpoint(),
        Endpoint::Socket(PathBuf::from(DEFAULT_SOCKET))
    );
}

#[test]
fn precedence() {
    let file_lines = [
        "host=filehost",
        "port=3310",
        "socket=/file.sock",
        "user=fileuser",
        "password=filepw",
    ];
    let cli = ConnOverrides {
        host: Some("clihost".into()),
        port: Some(3320),
        socket: Some(PathBuf::from("/cli.sock")),
        user: Some("cliuser".into()),
        password: Some(Password::new("clipw")),
        ..ConnOverrides::default()
    };
    type Case<'a> = (
        &'a str,
        &'a ConnOverrides,
        &'a [&'a str],
        Option<&'a str>,
        Option<&'a str>,
    );
    let none = ConnOverrides::default();
    // (name, overrides, file lines, env password, login user) → checked below
    let cases: &[Case<'_>] = &[
        (
            "files only",
            &none,
            &file_lines,
            Some("envpw"),
            Some("login"),
        ),
        (
            "cli beats files",
            &cli,
            &file_lines,
            Some("envpw"),
            Some("login"),
        ),
        (
            "env and login only",
            &none,
            &[],
            Some("envpw"),
            Some("login"),
        ),
    ];
    let want = [
        ("filehost", 3310, "/file.sock", "fileuser", "filepw"),
        ("clihost", 3320, "/cli.sock", "cliuser", "clipw"),
        ("", 3306, "", "login", "envpw"),
    ];
    for ((name, o, lines, env, login), (host, port, socket, user, pw)) in cases.iter().zip(want) {
        let s = resolve(
            o,
            &files(lines),
            env.map(str::to_string),
            login.map(str::to_string),
        )
        .unwrap();
        assert_eq!(s.host.as_deref().unwrap_or(""), host, "{name}");
        assert_eq!(s.port, port, "{name}");
        let sock = s.socket.as_deref().unwrap_or(Path::new(""));
        assert_eq!(sock, Path::new(socket), "{name}");
        assert_eq!(s.user, user, "{name}");
        assert_eq!(
            s.password.as_ref().map(Password::expose),
            Some(pw),
            "{name}"
        );
    }
}

#[test]
fn file_details() {
    // (file lines, env password, want password, want host, want user, prompt requested)
    type Case<'a> = (
        &'a [&'a str],
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        bool,
    );
    let cases: &[Case<'_>] = &[
        (&["password="], Some("env"), Some(""), None, "login", false),
        (&["password"], Some("env"), Some("env"), None, "login", true),
        (&["password"], None, None, None, "login", true),
        (
            &["password", "password=x"],
            None,
            Some("x"),
            None,
            "login",
            false,
        ),
        (&["password=x", "password"], None, None, None, "login", true),
        (&["host=", "user="], None, None, None, "login", false),
        (
            &["host=a", "host=b", "user=u1", "user=u2"],
            None,
            None,
            Some("b"),
            "u2",
            false,
        ),
        (
            &["host=localhost"],
            None,
            None,
            Some("localhost"),
            "login",
            false,
        ),
    ];
    for (lines, env, pw, host, user, prompt) in cases {
        let f = files(lines);
        let none = ConnOverrides::default();
        let s = resolve(&none, &f, env.map(str::to_string), Some("login".into())).unwrap();
        assert_eq!(s.password.as_ref().map(Password::expose), *pw, "{lines:?}");
        assert_eq!(s.host.as_deref(), *host, "{lines:?}");
        assert_eq!(s.user, *user, "{lines:?}");
        assert_eq!(password_prompt_requested(&none, &f), *prompt, "{lines:?}");
    }
    let with_pw = ConnOverrides {
        password: Some(Password::new("cli")),
        ..ConnOverrides::default()
    };
    assert!(!password_prompt_requested(&with_pw, &files(&["password"])));
}

#[test]
fn ports() {
    let cases: &[(&str, Result<u16, &str>)] = &[
        ("port=3307", Ok(3307)),
        ("port=0", Ok(3306)),
        ("port=65535", Ok(65535)),
        (
            "port=65536",
            Err("/t/my.cnf:2: invalid port '65536': expected a number from 0 to 65535"),
        ),
        (
            "port=abc",
            Err("/t/my.cnf:2: invalid port 'abc': expected a number from 0 to 65535"),
        ),
        (
            "port=-1",
            Err("/t/my.cnf:2: invalid port '-1': expected a number from 0 to 65535"),
        ),
    ];
    for (line, want) in cases {
        let got = resolve_simple(&ConnOverrides::default(), &["user=u", line])
            .map(|s| s.port)
            .map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_string), "{line}");
    }
    let cli = ConnOverrides {
        port: Some(0),
        ..ConnOverrides::default()
    };
    assert_eq!(resolve_simple(&cli, &["port=abc"]).unwrap().port, 3306);
}

#[test]
fn missing_user() {
    let err = resolve(&ConnOverrides::default(), &files(&[]), None, None).unwrap_err();
    assert!(matches!(err, ConnError::MissingUser));
    let err = resolve(
        &ConnOverrides::default(),
        &files(&["user="]),
        None,
        Some(String::new()),
    )
    .unwrap_err();
    assert!(matches!(err, ConnError::MissingUser));
}

#[test]
fn ssl_modes() {
    let cli_ca = ConnOverrides {
        ssl_ca: Some(PathBuf::from("/cli-ca.pem")),
        ..ConnOverrides::default()
    };
    let cli_required = ConnOverrides {
        ssl_mode: Some(SslMode::Required),
        ..ConnOverrides::default()
    };
    let none = ConnOverrides::default();
    let cases: &[(&ConnOverrides, &[&str], SslMode)] = &[
        (&none, &[], SslMode::Preferred),
        (&none, &["ssl"], SslMode::Required),
        (&none, &["ssl=1"], SslMode::Required),
        (&none, &["skip-ssl"], SslMode::Disabled),
        (&none, &["ssl=0"], SslMode::Disabled),
        (&none, &["disable_ssl"], SslMode::Disabled),
        (&none, &["ssl-ca=/ca.pem"], SslMode::VerifyCa),
        (
            &none,
            &["ssl-cert=/c.pem", "ssl-key=/k.pem"],
            SslMode::Required,
        ),
        (&none, &["ssl-cipher=AES"], SslMode::Required),
        (&none, &["ssl-ca=/ca.pem", "skip-ssl"], SslMode::Disabled),
        (&none, &["skip-ssl", "ssl-ca=/ca.pem"], SslMode::VerifyCa),
        (&none, &["ssl-verify-server-cert"], SslMode::VerifyIdentity),
        (
            &none,
            &["skip-ssl", "ssl-verify-server-cert"],
            SslMode::VerifyIdentity,
        ),
        (
            &none,
            &["ssl-verify-server-cert", "skip-ssl-verify-server-cert"],
            SslMode::Preferred,
        ),
        (
            &none,
            &["ssl-mode=required", "ssl-verify-server-cert"],
            SslMode::Required,
        ),
        (&none, &["ssl", "ssl-mode=DISABLED"], SslMode::Disabled),
        (
            &none,
            &["loose-ssl-mode=verify_identity"],
            SslMode::VerifyIdentity,
        ),
        (&cli_ca, &["skip-ssl"], SslMode::VerifyCa),
        (&cli_ca, &[], SslMode::VerifyCa),
        (&cli_required, &["ssl-mode=DISABLED"], SslMode::Required),
        (&cli_required, &["ssl-mode=bogus"], SslMode::Required),
    ];
    for (o, lines, want) in cases {
        let got = ssl_settings(o, &files(lines)).map(|s| s.mode);
        assert_eq!(got.ok(), Some(*want), "{o:?} {lines:?}");
    }
}

#[test]
fn ssl_errors() {
    let none = ConnOverrides::default();
    let err = ssl_settings(&none, &files(&["ssl", "ssl-mode=bogus"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/t/my.cnf:2: invalid ssl-mode 'bogus': expected one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
    );
    let err = ssl_settings(&none, &files(&["ssl-mode=VERIFY_CA"])).unwrap_err();
    assert!(matches!(err, ConnError::MissingCa), "{err}");
    let cli = ConnOverrides {
        ssl_mode: Some(SslMode::VerifyCa),
        ..ConnOverrides::default()
    };
    assert!(matches!(
        ssl_settings(&cli, &files(&[])),
        Err(ConnError::MissingCa)
    ));
    // VERIFY_IDENTITY may rely on the public roots.
    let ok = ssl_settings(&none, &files(&["ssl-mode=VERIFY_IDENTITY"])).unwrap();
    assert_eq!(ok.ca, None);
}

#[test]
fn ssl_files() {
    let p = |s: &str| Some(PathBuf::from(s));
    let cli = ConnOverrides {
        ssl_ca: p("/cli-ca.pem"),
        ssl_key: p("/cli-key.pem"),
        ..ConnOverrides::default()
    };
    let none = ConnOverrides::default();
    type Case<'a> = (&'a ConnOverrides, &'a [&'a str], [Option<PathBuf>; 3]);
    let cases: &[Case<'_>] = &[
        (&none, &[], [None, None, None]),
        (
            &none,
            &["ssl-ca=/ca.pem", "ssl-cert=/c.pem", "ssl-key=/k.pem"],
            [p("/ca.pem"), p("/c.pem"), p("/k.pem")],
        ),
        (
            &none,
            &["ssl-cert=/both.pem"],
            [None, p("/both.pem"), p("/both.pem")],
        ),
        (
            &none,
            &["ssl-key=/both.pem"],
            [None, p("/both.pem"), p("/both.pem")],
        ),
        (
            &cli,
            &["ssl-ca=/ca.pem", "ssl-cert=/c.pem", "ssl-key=/k.pem"],
            [p("/cli-ca.pem"), p("/c.pem"), p("/cli-key.pem")],
        ),
        (
            &none,
            &["ssl-ca=/a.pem", "ssl_ca=/b.pem"],
            [p("/b.pem"), None, None],
        ),
    ];
    for (o, lines, [ca, cert, key]) in cases {
        let s = ssl_settings(o, &files(lines)).unwrap();
        assert_eq!((&s.ca, &s.cert, &s.key), (ca, cert, key), "{lines:?}");
    }
}

#[test]
fn endpoints() {
    let base = resolve_simple(&ConnOverrides::default(), &[]).unwrap();
    let with = |host: Option<&str>, socket: Option<&str>| ConnSettings {
        host: host.map(str::to_string),
        socket: socket.map(PathBuf::from),
        port: 3307,
        ..base.clone()
    };
    let cases: &[(Option<&str>, Option<&str>, &str)] = &[
        (None, None, "unix socket /run/mysqld/mysqld.sock"),
        (
            Some("localhost"),
            Some("/tmp/x.sock"),
            "unix socket /tmp/x.sock",
        ),
        (Some("127.0.0.1"), Some("/tmp/x.sock"), "127.0.0.1:3307"),
        (Some("db.example"), None, "db.example:3307"),
        (Some("::1"), None, "[::1]:3307"),
        (Some("fe80::1"), None, "[fe80::1]:3307"),
    ];
    for (host, socket, want) in cases {
        assert_eq!(
            with(*host, *socket).endpoint().to_string(),
            *want,
            "{host:?}"
        );
    }
}

#[test]
fn timeouts_come_from_the_command_line_else_the_defaults() {
    let s = resolve_simple(&ConnOverrides::default(), &["connect-timeout=3"]).unwrap();
    assert_eq!(s.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(s.net_timeout, DEFAULT_NET_TIMEOUT);
    assert_eq!(
        ConnSettings::default().connect_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(
        ConnSettings::default().net_timeout,
        Duration::from_secs(600)
    );
    let o = ConnOverrides {
        connect_timeout: Some(Duration::from_secs(2)),
        net_timeout: Some(Duration::ZERO),
        ..ConnOverrides::default()
    };
    let s = resolve_simple(&o, &[]).unwrap();
    assert_eq!(s.connect_timeout, Duration::from_secs(2));
    assert_eq!(s.net_timeout, Duration::ZERO);
}
