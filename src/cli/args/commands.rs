//! The arguments of each command, and the config-file layer each fills.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};

use mybak::config::{
    BinlogConfig, DumpConfig, ListConfig, PruneConfig, RestoreConfig, RestoreUsers, VerifyConfig,
};
use mybak::manifest::Consistency;
use mybak::plan::Threads;
use mybak::units::{ByteSize, FileMode, Span};

use super::{flag, list, ConnArgs};

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

fn restore_users() -> impl TypedValueParser<Value = RestoreUsers> {
    PossibleValuesParser::new(RestoreUsers::WORDS).try_map(|s| s.parse::<RestoreUsers>())
}

fn consistency() -> impl TypedValueParser<Value = Consistency> {
    PossibleValuesParser::new(["snapshot", "per-table", "none"])
        .try_map(|s| s.parse::<Consistency>())
}

/// `mybak dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Where dump directories are created (default ./backups).
    #[arg(long, value_name = "ROOT")]
    pub output_dir: Option<PathBuf>,
    /// Name of the dump directory: a strftime format of the start time; `/` makes
    /// subdirectories (default %Y-%m-%dT%H-%M-%S, with a Z under --utc).
    #[arg(long, value_name = "FORMAT")]
    pub name: Option<String>,
    /// Name the dump by UTC time (the manifest always records UTC).
    #[arg(long, conflicts_with = "local_time")]
    pub utc: bool,
    /// Name the dump by local time (the default).
    #[arg(long)]
    pub local_time: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Also dump accounts, roles and grants (users.sql.zst); the server's own accounts (root,
    /// mariadb.sys, mysql@localhost, debian-sys-maint…) are left out and listed in the manifest.
    #[arg(long, help_heading = "Selection")]
    pub users: bool,
    /// How one point in time is had: snapshot (needs RELOAD), per-table or none (default snapshot).
    #[arg(long, value_parser = consistency())]
    pub consistency: Option<Consistency>,
    /// How long to wait for the short global lock, e.g. 60 or 2min (default 60s).
    #[arg(long, value_name = "SPAN")]
    pub lock_wait_timeout: Option<Span>,
    /// Parallel connections, or auto (the default: one per CPU free here and on the server,
    /// at most 8).
    #[arg(long, value_name = "N|auto")]
    pub threads: Option<Threads>,
    /// Largest INSERT statement, e.g. 1M (default; a single larger row stands alone).
    #[arg(long, value_name = "SIZE")]
    pub max_statement_bytes: Option<ByteSize>,
    /// Tables estimated larger are cut into chunks of about this size, read in parallel
    /// (default 64M; 0: never).
    #[arg(long, value_name = "SIZE")]
    pub chunk_size: Option<ByteSize>,
    /// zstd level: 1 to 22, or -1 to -7 for zstd's fast levels (default -3).
    #[arg(long, allow_negative_numbers = true, value_name = "LEVEL")]
    pub compress_level: Option<i32>,
    /// Refuse to start unless this much stays free after the estimated dump (default 0).
    #[arg(long, value_name = "SIZE")]
    pub min_free: Option<ByteSize>,
    /// Permissions of the dump's files, 0600 (default) or wider by read bits (0640, 0644);
    /// directories get the matching search bits.
    #[arg(long, value_name = "MODE")]
    pub file_mode: Option<FileMode>,
    /// Encrypt the dump's files (after compression) to this age public key (age1...); repeat
    /// for several. Restore and verify then need --identity with a matching secret key.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// After a successful dump, remove old dumps by the retention rules (--keep-*, [prune]).
    #[arg(long, help_heading = "Retention")]
    pub prune: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

impl DumpArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> DumpConfig {
        DumpConfig {
            output_dir: self.output_dir.clone(),
            name: self.name.clone(),
            utc: if self.utc {
                Some(true)
            } else if self.local_time {
                Some(false)
            } else {
                None
            },
            databases: list(&self.select.databases),
            exclude_databases: list(&self.select.exclude_databases),
            tables: list(&self.select.tables),
            exclude_tables: list(&self.select.exclude_tables),
            users: flag(self.users),
            consistency: self.consistency,
            lock_wait_timeout: self.lock_wait_timeout,
            threads: self.threads,
            max_statement_bytes: self.max_statement_bytes,
            chunk_size: self.chunk_size,
            compress_level: self.compress_level,
            min_free: self.min_free,
            file_mode: self.file_mode,
            prune: flag(self.prune),
            encrypt_to: list(&self.encrypt_to),
        }
    }
}

/// The retention rules, for `prune` and `dump --prune`.
#[derive(Debug, Args, Clone, Default)]
pub struct RetentionArgs {
    /// Keep the N newest dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_last: Option<u32>,
    /// Keep the newest dump of each of the last N hours that have dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest dump of each of the last N days that have dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_daily: Option<u32>,
    /// Keep the newest dump of each of the last N ISO weeks that have dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest dump of each of the last N months that have dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest dump of each of the last N years that have dumps.
    #[arg(long, value_name = "N", help_heading = "Retention")]
    pub keep_yearly: Option<u32>,
    /// Keep every dump started within this span before the newest one, e.g. 30d.
    #[arg(long, value_name = "SPAN", help_heading = "Retention")]
    pub keep_within: Option<Span>,
    /// Keep partial dumps (some objects failed) while younger than this (default 7d).
    #[arg(long, value_name = "SPAN", help_heading = "Retention")]
    pub keep_partial: Option<Span>,
}

impl RetentionArgs {
    /// The settings given on the command line (`dry_run` aside).
    pub fn layer(&self) -> PruneConfig {
        PruneConfig {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self.keep_within,
            keep_partial: self.keep_partial,
            dry_run: None,
        }
    }
}

/// `mybak restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The dump directory; with --until, the output root (its dumps and binlog/ archive).
    pub dir: PathBuf,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Point-in-time recovery: restore the newest complete dump taken before TARGET, then replay
    /// the archived binlog up to it. TARGET is a local time (2026-12-04 14:32:05, or RFC 3339
    /// with an offset), a GTID (0-1-4711) or FILE:POS (mariadb-bin.000042:1234).
    #[arg(long, value_name = "TARGET", help_heading = "Point in time")]
    pub until: Option<String>,
    /// With --until: apply the transaction at TARGET too (default: stop just before it).
    #[arg(long, requires = "until", help_heading = "Point in time")]
    pub inclusive: bool,
    /// With --until: print the plan (which dump, which binlog files, how many transactions and
    /// events) and change nothing.
    #[arg(long, short = 'n', requires = "until", help_heading = "Point in time")]
    pub dry_run: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Restore database FROM under the name TO (repeatable).
    #[arg(
        long = "rename-database",
        value_name = "FROM=TO",
        help_heading = "Selection"
    )]
    pub rename_database: Vec<String>,
    /// Create the events of a renamed database as dumped (by default they are created DISABLED,
    /// so that a scheduled job does not run twice on one server).
    #[arg(long, help_heading = "Selection")]
    pub keep_events_enabled: bool,
    /// Also restore accounts, roles and grants. An account that exists on the target: --users=fail
    /// (what a bare --users does) stops before anything is restored, naming it; --users=skip leaves
    /// it and its grants as they are; --users=replace drops it and recreates it from the dump.
    #[arg(
        long,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = restore_users(),
        help_heading = "Selection"
    )]
    pub users: Option<RestoreUsers>,
    /// Parallel connections for the rows (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Do not write the restore to the binary log (SET sql_log_bin = 0).
    #[arg(long)]
    pub no_binlog: bool,
    /// Add each table's secondary indexes after its rows are in, where that is safe (the default).
    #[arg(long, overrides_with = "no_defer_indexes")]
    pub defer_indexes: bool,
    /// Create every table with all its indexes and load the rows into them.
    #[arg(long, overrides_with = "defer_indexes")]
    pub no_defer_indexes: bool,
    /// Tables with less SQL than this keep their indexes in the CREATE TABLE (default 4M; 0:
    /// defer in every table where it is safe).
    #[arg(long, value_name = "SIZE")]
    pub defer_min_size: Option<ByteSize>,
    /// Replace target databases that exist already.
    #[arg(long)]
    pub drop_existing: bool,
    /// Restore a dump whose manifest records failed objects.
    #[arg(long)]
    pub allow_partial: bool,
    /// Identity file (age-keygen's format) holding a key an encrypted dump is encrypted to.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl RestoreArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> RestoreConfig {
        RestoreConfig {
            databases: list(&self.select.databases),
            exclude_databases: list(&self.select.exclude_databases),
            tables: list(&self.select.tables),
            exclude_tables: list(&self.select.exclude_tables),
            rename_database: list(&self.rename_database),
            keep_events_enabled: flag(self.keep_events_enabled),
            users: self.users,
            threads: self.threads,
            no_binlog: flag(self.no_binlog),
            defer_indexes: if self.defer_indexes {
                Some(true)
            } else if self.no_defer_indexes {
                Some(false)
            } else {
                None
            },
            defer_min_size: self.defer_min_size,
            drop_existing: flag(self.drop_existing),
            allow_partial: flag(self.allow_partial),
            identity: self.identity.clone(),
        }
    }
}

/// `mybak verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The dump directory, or a binlog archive directory (ROOT/binlog/<server>).
    pub dir: PathBuf,
    /// Also restore the dump on a scratch server (connection options below) under temporary
    /// names and compare every table with the fingerprint recorded at dump time.
    #[arg(long)]
    pub restore_test: bool,
    /// Keep the temporary databases of --restore-test.
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Parallel connections for --restore-test (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Refuse statements larger than this (default 1G; a data file's recorded largest statement
    /// is the tighter bound).
    #[arg(long, value_name = "SIZE")]
    pub max_statement: Option<ByteSize>,
    /// Identity file (age-keygen's format) to decrypt an encrypted dump with; without it only
    /// the files' sizes and SHA-256 are checked.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl VerifyArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> VerifyConfig {
        VerifyConfig {
            restore_test: flag(self.restore_test),
            keep: flag(self.keep),
            threads: self.threads,
            json: flag(self.json),
            max_statement: self.max_statement,
            identity: self.identity.clone(),
        }
    }
}

/// `mybak prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The output root (default: [dump] output-dir of the config file, else ./backups).
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Print what would be removed, remove nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

impl PruneArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> PruneConfig {
        PruneConfig {
            dry_run: flag(self.dry_run),
            ..self.retention.layer()
        }
    }
}

/// `mybak copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The finished dump to copy: a directory or an s3:// URL.
    pub src: PathBuf,
    /// The output root to copy it into (it keeps its name there): a directory or an s3:// URL.
    pub dst: PathBuf,
    /// Files copied at the same time (default: 4).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Permissions of the files created on a local destination (default 0600; directories get
    /// x where r is).
    #[arg(long, value_name = "MODE")]
    pub file_mode: Option<FileMode>,
}

/// `mybak binlog`.
#[derive(Debug, Args)]
pub struct BinlogArgs {
    /// Print help.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The output root the archive goes below, as ROOT/binlog/<server>/: a directory or an
    /// s3:// URL (default: [dump] output-dir of the config file, else ./backups).
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Catch up with the server, store every file it has closed, then exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// A local directory for the file being received (required for s3:// roots; default: the
    /// archive directory).
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// The server id this replica announces; it must differ from every other replica's
    /// (default 1836671595).
    #[arg(long, value_name = "ID")]
    pub replica_server_id: Option<u32>,
    /// How often the server sends a heartbeat when idle, e.g. 15 or 30s (default 15s); a link
    /// silent for three times as long (5 s at least) is reconnected.
    #[arg(long, value_name = "SPAN")]
    pub heartbeat: Option<Span>,
    /// The binlog file an empty archive starts with (default: the oldest the server has).
    #[arg(long, value_name = "FILE")]
    pub start_file: Option<String>,
    /// The longest wait between reconnection attempts (default 60s).
    #[arg(long, value_name = "SPAN")]
    pub max_backoff: Option<Span>,
    /// Permissions of the files created on a local root (default 0600; directories get x
    /// where r is).
    #[arg(long, value_name = "MODE")]
    pub file_mode: Option<FileMode>,
}

impl BinlogArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> BinlogConfig {
        BinlogConfig {
            spool_dir: self.spool_dir.clone(),
            replica_server_id: self.replica_server_id,
            heartbeat: self.heartbeat,
            max_backoff: self.max_backoff,
            start_file: self.start_file.clone(),
            file_mode: self.file_mode,
        }
    }
}

/// `mybak list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The output root (default: [dump] output-dir of the config file, else ./backups).
    pub root: Option<PathBuf>,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> ListConfig {
        ListConfig {
            json: flag(self.json),
        }
    }
}

/// `mybak config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// What `mybak config` does.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config file and print the effective settings of every command (password masked).
    Check,
}
