use clap::CommandFactory;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(normalize_args(args.iter().map(OsString::from)))
}

#[test]
fn password_takes_an_attached_value_or_none() {
    let password = |args: &[&str]| {
        let mut all = vec!["mybak", "dump"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Dump(d) => d.conn.password,
            _ => unreachable!(),
        }
    };
    assert_eq!(password(&["-p"]), Some(String::new()));
    assert_eq!(password(&["--password=s3cret"]), Some("s3cret".into()));
    assert_eq!(password(&["-ps3cret"]), Some("s3cret".into()));
    assert_eq!(password(&["-p=s3cret"]), Some("s3cret".into()));
    assert_eq!(password(&["-p-x"]), Some("-x".into()));
    assert_eq!(password(&[]), None);
    assert!(parse(&["mybak", "dump", "-p", "s3cret"]).is_err());
}

#[test]
fn host_is_dash_h_like_the_stock_clients() {
    let cli = parse(&["mybak", "dump", "-h", "db1", "-P", "3307"]).unwrap();
    let Command::Dump(d) = cli.command else {
        panic!("not dump")
    };
    assert_eq!(d.conn.host.as_deref(), Some("db1"));
    assert_eq!(d.conn.port, Some(3307));
}

#[test]
fn global_options_go_before_or_after_the_command() {
    for args in [
        &["mybak", "--log-file", "/l", "dump", "-q"][..],
        &["mybak", "dump", "--log-file", "/l", "-q"],
    ] {
        let cli = parse(args).unwrap();
        assert_eq!(
            cli.global.log_file.as_deref(),
            Some(std::path::Path::new("/l"))
        );
        assert!(cli.global.quiet);
    }
}

#[test]
fn flags_not_given_leave_the_layer_empty() {
    let cli = parse(&["mybak", "dump"]).unwrap();
    let Command::Dump(d) = cli.command else {
        panic!("not dump")
    };
    assert_eq!(d.layer(), mybak::config::DumpConfig::default());
    assert_eq!(d.conn.layer(), mybak::config::ConnConfig::default());
    assert_eq!(cli.global.layer(), GlobalConfig::default());
    let cli = parse(&["mybak", "dump", "--local-time", "--ssl-mode", "verify-ca"]).unwrap();
    let Command::Dump(d) = cli.command else {
        panic!("not dump")
    };
    assert_eq!(d.layer().utc, Some(false));
    assert_eq!(d.conn.ssl_mode, Some(mybak::conn::SslMode::VerifyCa));
}

#[test]
fn defer_indexes_is_on_unless_turned_off_and_the_last_flag_wins() {
    let layer = |args: &[&str]| {
        let mut all = vec!["mybak", "restore", "/d"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Restore(r) => r.layer().defer_indexes,
            _ => unreachable!(),
        }
    };
    assert_eq!(layer(&[]), None);
    assert_eq!(layer(&["--no-defer-indexes"]), Some(false));
    assert_eq!(layer(&["--defer-indexes"]), Some(true));
    assert_eq!(
        layer(&["--defer-indexes", "--no-defer-indexes"]),
        Some(false)
    );
    assert_eq!(
        layer(&["--no-defer-indexes", "--defer-indexes"]),
        Some(true)
    );
    assert!(mybak::restore::RestoreSettings::default().defer_indexes);
}

/// The config-file section and key of option `--long` of `command`.
fn key_of(command: &str, long: &str, heading: Option<&str>) -> Option<(&'static str, String)> {
    let section = match (command, heading, long) {
        (_, _, "help" | "config" | "no-config" | "version") => return None,
        (_, Some("Global"), _) => "",
        (_, Some("Connection"), _) => "connection",
        (_, Some("Object storage"), l) => {
            let key = l.strip_prefix("s3-").unwrap_or(l).replace('-', "_");
            return Some(("s3", key));
        }
        ("dump", _, "local-time") => return Some(("dump", "utc".into())),
        ("restore", _, "no-defer-indexes") => return Some(("restore", "defer_indexes".into())),
        ("dump", Some("Retention"), l) if l.starts_with("keep-") => "prune",
        ("dump", ..) => "dump",
        // What a point-in-time recovery restores to is a choice of the run, never a setting.
        ("restore", Some("Point in time"), _) => return None,
        ("restore", ..) => "restore",
        ("verify", ..) => "verify",
        ("prune", ..) => "prune",
        ("list", ..) => "list",
        // Catching up once (cron) or following (a service) is how it is run, not a setting.
        ("binlog", _, "once") => return None,
        ("binlog", ..) => "binlog",
        _ => return None,
    };
    Some((section, long.replace('-', "_")))
}

#[test]
fn every_flag_of_every_command_has_a_config_key() {
    let sections = mybak::config::sections();
    let mut checked = 0;
    let cli = Cli::command();
    for arg in cli.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let Some((section, key)) = key_of("", long, arg.get_help_heading()) else {
            continue;
        };
        let keys = sections
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, k)| *k)
            .unwrap_or_default();
        assert!(
            keys.contains(&key.as_str()),
            "mybak --{long} has no key [{section}] {key}"
        );
        checked += 1;
    }
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let heading = arg.get_help_heading();
            let Some((section, key)) = key_of(sub.get_name(), long, heading) else {
                continue;
            };
            let keys = sections
                .iter()
                .find(|(s, _)| *s == section)
                .map(|(_, k)| *k)
                .unwrap_or_default();
            assert!(
                keys.contains(&key.as_str()),
                "mybak {} --{long} has no key [{section}] {key}",
                sub.get_name()
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} flags checked");
}

#[test]
fn users_takes_an_optional_mode_after_an_equals_sign() {
    use mybak::config::RestoreUsers;
    use mybak::restore::UsersMode;
    let users = |args: &[&str]| {
        let mut all = vec!["mybak", "restore"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Restore(r) => (r.users, r.dir),
            _ => unreachable!(),
        }
    };
    let dir = std::path::PathBuf::from("/d");
    assert_eq!(users(&["/d"]), (None, dir.clone()));
    assert_eq!(
        users(&["/d", "--users"]),
        (Some(RestoreUsers::Yes), dir.clone())
    );
    // A bare --users never takes the dump directory as its value.
    assert_eq!(
        users(&["--users", "/d"]),
        (Some(RestoreUsers::Yes), dir.clone())
    );
    for (word, mode) in [
        ("fail", UsersMode::Fail),
        ("skip", UsersMode::Skip),
        ("replace", UsersMode::Replace),
    ] {
        let arg = format!("--users={word}");
        assert_eq!(
            users(&["/d", &arg]),
            (Some(RestoreUsers::Mode(mode)), dir.clone())
        );
    }
    assert_eq!(RestoreUsers::Yes.mode(), Some(UsersMode::Fail));
    assert!(parse(&["mybak", "restore", "/d", "--users=merge"]).is_err());
}
