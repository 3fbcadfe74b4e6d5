//! Turning arguments, option files and the environment into the library's settings.

use std::time::Duration;

use mybak::conn::{self, ConnOverrides, ConnSettings, Password, SslMode};
use mybak::dump::DumpSettings;
use mybak::filter::{Filter, FilterSpec};
use mybak::optfile::{self, DefaultsSpec};

use mybak::restore::rewrite::Rename;
use mybak::restore::RestoreSettings;
use mybak::verify::RestoreTestSettings;

use super::args::{parse_size, ConnArgs, DumpArgs, RestoreArgs, SelectArgs, VerifyArgs};

/// Option-file groups read, in this order (later groups win).
pub const GROUPS: [&str; 5] = [
    "client",
    "client-server",
    "client-mariadb",
    "mysqldump",
    "mybak",
];

/// Resolves connection settings: command line > option files > `MYSQL_PWD`.
pub fn conn_settings(args: &ConnArgs) -> anyhow::Result<ConnSettings> {
    let spec = DefaultsSpec {
        no_defaults: args.no_defaults,
        defaults_file: args.defaults_file.clone(),
        defaults_extra_file: args.defaults_extra_file.clone(),
        home: std::env::var_os("HOME").map(Into::into),
    };
    let files = optfile::read_options(&spec, &GROUPS).map_err(mybak::Error::from)?;
    let password = match args.password.as_deref() {
        None => None,
        Some("") => Some(prompt_password()?),
        Some(p) => {
            log::warn!("a password on the command line can be seen by other users; prefer an option file or MYSQL_PWD");
            Some(Password::new(p.to_string()))
        }
    };
    let ssl_mode = args
        .ssl_mode
        .as_deref()
        .map(str::parse::<SslMode>)
        .transpose()
        .map_err(|e| mybak::Error::Settings(format!("--ssl-mode: {e}")))?;
    let mut overrides = ConnOverrides {
        host: args.host.clone(),
        port: args.port,
        socket: args.socket.clone(),
        user: args.user.clone(),
        password,
        ssl_mode,
        ssl_ca: args.ssl_ca.clone(),
        ssl_cert: args.ssl_cert.clone(),
        ssl_key: args.ssl_key.clone(),
    };
    if conn::password_prompt_requested(&overrides, &files) {
        overrides.password = Some(prompt_password()?);
    }
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok();
    let settings = conn::resolve(&overrides, &files, std::env::var("MYSQL_PWD").ok(), login)
        .map_err(mybak::Error::from)?;
    Ok(settings)
}

fn prompt_password() -> anyhow::Result<Password> {
    let p = rpassword::prompt_password("Enter password: ").map_err(|e| {
        mybak::Error::Settings(format!(
            "cannot ask for the password ({e}); use an option file or MYSQL_PWD"
        ))
    })?;
    Ok(Password::new(p))
}

fn filter(select: &SelectArgs) -> anyhow::Result<Filter> {
    Ok(Filter::new(&FilterSpec {
        databases: select.databases.clone(),
        exclude_databases: select.exclude_databases.clone(),
        tables: select.tables.clone(),
        exclude_tables: select.exclude_tables.clone(),
    })?)
}

fn threads(arg: Option<usize>) -> anyhow::Result<usize> {
    match arg {
        Some(0) => Err(mybak::Error::Settings("--threads must be at least 1".into()).into()),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(2, |n| n.get())),
    }
}

/// Everything `mybak restore` needs.
pub fn restore_settings(args: &RestoreArgs) -> anyhow::Result<RestoreSettings> {
    let filter = filter(&args.select)?;
    let threads = threads(args.threads)?;
    let mut renames = Vec::new();
    for spec in &args.rename_database {
        match spec.split_once('=') {
            Some((from, to)) if !from.is_empty() && !to.is_empty() && to.chars().count() <= 64 => {
                renames.push(Rename {
                    from: from.to_string(),
                    to: to.to_string(),
                })
            }
            _ => {
                return Err(mybak::Error::Settings(format!(
                    "--rename-database {spec:?}: expected FROM=TO with a target name of at most 64 characters"
                ))
                .into())
            }
        }
    }
    Ok(RestoreSettings {
        conn: conn_settings(&args.conn)?,
        dir: args.dir.clone(),
        filter,
        renames,
        threads,
        no_binlog: args.no_binlog,
        defer_indexes: args.defer_indexes,
        drop_existing: args.drop_existing,
        allow_partial: args.allow_partial,
        users: args.users,
        rewrite_bodies: false,
    })
}

/// Connection and threads for `mybak verify --restore-test`.
pub fn restore_test_settings(args: &VerifyArgs) -> anyhow::Result<RestoreTestSettings> {
    Ok(RestoreTestSettings {
        conn: conn_settings(&args.conn)?,
        dir: args.dir.clone(),
        threads: threads(args.threads)?,
        keep: args.keep,
    })
}

/// Everything `mybak dump` needs.
pub fn dump_settings(args: &DumpArgs) -> anyhow::Result<DumpSettings> {
    let conn = conn_settings(&args.conn)?;
    let filter = filter(&args.select)?;
    let threads = threads(args.threads)?;
    let max_statement_bytes = parse_size(&args.max_statement_bytes)
        .filter(|n| *n >= 1024)
        .ok_or_else(|| {
            mybak::Error::Settings(format!(
                "--max-statement-bytes {:?}: expected a size of at least 1K, like 1M or 65536",
                args.max_statement_bytes
            ))
        })?;
    if !(-7..=22).contains(&args.compress_level) {
        return Err(mybak::Error::Settings(format!(
            "--compress-level {}: expected -7 to 22",
            args.compress_level
        ))
        .into());
    }
    let consistency = args.consistency.parse()?;
    let chunk_bytes = parse_size(&args.chunk_size).ok_or_else(|| {
        mybak::Error::Settings(format!(
            "--chunk-size {:?}: expected a size like 64M, or 0 for no chunks",
            args.chunk_size
        ))
    })? as u64;
    Ok(DumpSettings {
        conn,
        output_dir: args.output_dir.clone(),
        name_format: args.name.clone(),
        filter,
        users: args.users,
        consistency,
        lock_wait_timeout: Duration::from_secs(args.lock_wait_timeout),
        threads,
        max_statement_bytes,
        compress_level: args.compress_level,
        chunk_bytes,
    })
}
