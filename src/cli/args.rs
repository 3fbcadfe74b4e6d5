//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exact, fast, verifiable logical backups of MySQL and MariaDB.
#[derive(Debug, Parser)]
#[command(name = "mybak", version, about, disable_help_subcommand = true)]
pub struct Cli {
    /// More messages on stderr (-v: info, -vv: debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors and the summary line on stderr.
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dump databases into a new dump directory; prints its path on stdout.
    #[command(disable_help_flag = true)]
    Dump(DumpArgs),
    /// Restore a dump directory into a server (checks every file first).
    #[command(disable_help_flag = true)]
    Restore(RestoreArgs),
    /// Check a dump offline; with --restore-test, also restore it on a scratch server and compare.
    #[command(disable_help_flag = true)]
    Verify(VerifyArgs),
}

/// How to reach the server, as the stock clients take it.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnArgs {
    /// Server host name or IP; `localhost` (the default) means the unix socket.
    #[arg(short = 'h', long = "host", help_heading = "Connection")]
    pub host: Option<String>,
    /// TCP port (default 3306).
    #[arg(short = 'P', long = "port", help_heading = "Connection")]
    pub port: Option<u16>,
    /// Unix socket path.
    #[arg(short = 'S', long = "socket", help_heading = "Connection")]
    pub socket: Option<PathBuf>,
    /// User name (default: the login name).
    #[arg(short = 'u', long = "user", help_heading = "Connection")]
    pub user: Option<String>,
    /// Password; with no value, asks on the terminal. Prefer an option file or MYSQL_PWD.
    #[arg(
        short = 'p',
        long = "password",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        help_heading = "Connection"
    )]
    pub password: Option<String>,
    /// Read options from this file only.
    #[arg(long = "defaults-file", help_heading = "Connection")]
    pub defaults_file: Option<PathBuf>,
    /// Read this file after the global option files.
    #[arg(long = "defaults-extra-file", help_heading = "Connection")]
    pub defaults_extra_file: Option<PathBuf>,
    /// Read no option files.
    #[arg(long = "no-defaults", help_heading = "Connection")]
    pub no_defaults: bool,
    /// DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY.
    #[arg(long = "ssl-mode", help_heading = "Connection")]
    pub ssl_mode: Option<String>,
    /// CA certificate file (PEM).
    #[arg(long = "ssl-ca", help_heading = "Connection")]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate file (PEM).
    #[arg(long = "ssl-cert", help_heading = "Connection")]
    pub ssl_cert: Option<PathBuf>,
    /// Client private key file (PEM).
    #[arg(long = "ssl-key", help_heading = "Connection")]
    pub ssl_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    Auto,
    Always,
    Never,
}

/// `mybak dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Where dump directories are created.
    #[arg(long, default_value = "./backups")]
    pub output_dir: PathBuf,
    /// Name of the dump directory, a strftime format applied to the UTC start time.
    #[arg(long, default_value = mybak::store::DEFAULT_NAME_FORMAT)]
    pub name: String,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Also dump accounts, roles and grants (users.sql.zst).
    #[arg(long, help_heading = "Selection")]
    pub users: bool,
    /// snapshot (one point in time, needs RELOAD), per-table, or none.
    #[arg(long, default_value = "snapshot")]
    pub consistency: String,
    /// Seconds to wait for the global lock before giving up.
    #[arg(long, default_value_t = 60)]
    pub lock_wait_timeout: u64,
    /// Parallel connections (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Largest INSERT statement in bytes (a single larger row stands alone); K, M suffixes allowed.
    #[arg(long, default_value = "1M")]
    pub max_statement_bytes: String,
    /// Tables estimated larger than this are cut into chunks of about this size, read in
    /// parallel (K, M, G suffixes; 0: never).
    #[arg(long, default_value = "64M")]
    pub chunk_size: String,
    /// zstd compression level: 1 to 19, or -1 to -7 for zstd's fast levels (which keep Huffman
    /// coding here, so SQL still shrinks by half); -3 is the best time-to-size trade-off measured.
    #[arg(long, default_value_t = -3, allow_negative_numbers = true)]
    pub compress_level: i32,
    /// Progress bars on stderr: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// Database and table selection, shared by the commands.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Databases (comma-separated globs; repeatable). Default: all but the system ones.
    #[arg(long, value_delimiter = ',', help_heading = "Selection")]
    pub databases: Vec<String>,
    /// Databases to leave out (globs).
    #[arg(long, value_delimiter = ',', help_heading = "Selection")]
    pub exclude_databases: Vec<String>,
    /// Tables, as DB.TABLE globs.
    #[arg(long, value_delimiter = ',', help_heading = "Selection")]
    pub tables: Vec<String>,
    /// Tables to leave out, as DB.TABLE globs.
    #[arg(long, value_delimiter = ',', help_heading = "Selection")]
    pub exclude_tables: Vec<String>,
}

/// `mybak restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The dump directory.
    pub dir: PathBuf,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Restore database FROM under the name TO (repeatable).
    #[arg(
        long = "rename-database",
        value_name = "FROM=TO",
        help_heading = "Selection"
    )]
    pub rename_database: Vec<String>,
    /// Also restore accounts, roles and grants.
    #[arg(long, help_heading = "Selection")]
    pub users: bool,
    /// Parallel connections for the rows (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Do not write the restore to the binary log (SET sql_log_bin = 0).
    #[arg(long)]
    pub no_binlog: bool,
    /// Create secondary indexes after each table's rows are in.
    #[arg(long)]
    pub defer_indexes: bool,
    /// Replace target databases that exist already.
    #[arg(long)]
    pub drop_existing: bool,
    /// Restore a dump whose manifest records failed objects.
    #[arg(long)]
    pub allow_partial: bool,
    /// Progress bars on stderr: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// `mybak verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The dump directory.
    pub dir: PathBuf,
    /// Also restore the dump on a scratch server (connection options below) under temporary
    /// names and compare every table with the fingerprint recorded at dump time.
    #[arg(long)]
    pub restore_test: bool,
    /// Keep the temporary databases of --restore-test.
    #[arg(long, requires = "restore_test")]
    pub keep: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Parallel connections for --restore-test (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Progress bars on stderr: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// Rewrites `-pSECRET` (the stock clients' attached password) as `--password=SECRET`, which clap
/// reads; a bare `-p` stays and means "ask". Everything else passes unchanged.
pub fn normalize_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s) if s.len() > 2 && s.starts_with("-p") && !s.starts_with("-p=") => {
                format!("--password={}", &s[2..]).into()
            }
            _ => a,
        })
        .collect()
}

/// `1048576`, `64K`, `1M`, `1G` → bytes.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last()?.to_ascii_uppercase() {
        'K' => (&s[..s.len() - 1], 1usize << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_suffixes() {
        for (s, want) in [
            ("1000", Some(1000)),
            ("64K", Some(65536)),
            ("1m", Some(1 << 20)),
            ("2G", Some(2 << 30)),
            ("x", None),
            ("", None),
            ("-1", None),
        ] {
            assert_eq!(parse_size(s), want, "{s}");
        }
    }

    #[test]
    fn password_takes_an_attached_value_or_none() {
        let parse = |args: &[&str]| {
            let mut all = vec!["mybak", "dump"];
            all.extend_from_slice(args);
            let all = normalize_args(all.into_iter().map(Into::into));
            match Cli::try_parse_from(all).unwrap().command {
                Command::Dump(d) => d.conn.password,
                _ => unreachable!(),
            }
        };
        assert_eq!(parse(&["-p"]), Some(String::new()));
        assert_eq!(parse(&["--password=s3cret"]), Some("s3cret".into()));
        assert_eq!(parse(&["-ps3cret"]), Some("s3cret".into()));
        assert_eq!(parse(&["-p=s3cret"]), Some("s3cret".into()));
        assert_eq!(parse(&["-p-x"]), Some("-x".into()));
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn host_is_dash_h_like_the_stock_clients() {
        let cli = Cli::try_parse_from(["mybak", "dump", "-h", "db1", "-P", "3307"]).unwrap();
        let Command::Dump(d) = cli.command else {
            panic!("not dump")
        };
        assert_eq!(d.conn.host.as_deref(), Some("db1"));
        assert_eq!(d.conn.port, Some(3307));
    }
}
