//! Command-line arguments (clap derive). Every setting is optional here: what is not given
//! comes from the config file, else from the library's defaults.

mod commands;
mod conn;
pub mod help;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use mybak::config::{GlobalConfig, LogFormat, ProgressMode, S3Config};
use mybak::units::Span;

pub use commands::{
    BinlogArgs, ConfigArgs, CopyArgs, DumpArgs, ListArgs, PruneArgs, RestoreArgs, VerifyArgs,
};
pub use conn::ConnArgs;

/// Exact, fast, verifiable logical backups of MySQL and MariaDB.
#[derive(Debug, Parser)]
#[command(name = "mybak", version, about, after_help = help::MAIN)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dump databases into a new dump directory; prints its path on stdout.
    #[command(disable_help_flag = true, after_help = help::DUMP)]
    Dump(DumpArgs),
    /// Restore a dump directory into a server (checks every file first).
    #[command(disable_help_flag = true, after_help = help::RESTORE)]
    Restore(RestoreArgs),
    /// Check a dump offline; with --restore-test, also restore it on a scratch server and compare.
    #[command(disable_help_flag = true, after_help = help::VERIFY)]
    Verify(VerifyArgs),
    /// Remove old dumps of an output root by retention rules.
    #[command(after_help = help::PRUNE)]
    Prune(PruneArgs),
    /// Copy a finished dump to another output root (local or s3://), checking every file.
    #[command(after_help = help::COPY)]
    Copy(CopyArgs),
    /// Archive the server's binlog continuously (as a replica), for point-in-time recovery.
    #[command(disable_help_flag = true, after_help = help::BINLOG)]
    Binlog(BinlogArgs),
    /// List the dumps of an output root.
    #[command(after_help = help::LIST)]
    List(ListArgs),
    /// Show and check the configuration.
    Config(ConfigArgs),
}

/// Settings of every command (also valid after the command's name).
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (TOML). Default: /etc/mybak/mybak.toml when it exists.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Global")]
    pub config: Option<PathBuf>,
    /// Read no config file, not even /etc/mybak/mybak.toml.
    #[arg(
        long,
        global = true,
        conflicts_with = "config",
        help_heading = "Global"
    )]
    pub no_config: bool,
    /// More messages on stderr (-v: info, -vv: debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true, help_heading = "Global")]
    pub verbose: u8,
    /// Only errors and the summary line on stderr.
    #[arg(short = 'q', long = "quiet", global = true, help_heading = "Global")]
    pub quiet: bool,
    /// Append timestamped messages to this file (opened per run: logrotate needs no signal).
    #[arg(long, global = true, value_name = "PATH", help_heading = "Global")]
    pub log_file: Option<PathBuf>,
    /// Format of the log file.
    #[arg(long, global = true, value_parser = log_format(), help_heading = "Global")]
    pub log_format: Option<LogFormat>,
    /// Write Prometheus metrics (node_exporter textfile) to this file after the run.
    #[arg(long, global = true, value_name = "PATH", help_heading = "Global")]
    pub metrics_file: Option<PathBuf>,
    /// Job name in the metrics' `job` label (default: the output root).
    #[arg(long, global = true, value_name = "NAME", help_heading = "Global")]
    pub job: Option<String>,
    /// Run this shell command after a successful run (MYBAK_* variables describe the run).
    #[arg(long, global = true, value_name = "CMD", help_heading = "Global")]
    pub on_success: Option<String>,
    /// Run this shell command after a failed, partial or interrupted run.
    #[arg(long, global = true, value_name = "CMD", help_heading = "Global")]
    pub on_failure: Option<String>,
    /// Kill a hook still running after this long (default 5min).
    #[arg(long, global = true, value_name = "SPAN", help_heading = "Global")]
    pub hook_timeout: Option<Span>,
    /// Progress bars on stderr: only on a terminal (auto), always, never.
    #[arg(long, global = true, value_parser = progress_mode(), help_heading = "Global")]
    pub progress: Option<ProgressMode>,
    #[command(flatten)]
    pub s3: S3Args,
}

/// How `s3://` locations are reached. Credentials are never flags: they come from the AWS
/// environment variables and `~/.aws/credentials`/`~/.aws/config`.
#[derive(Debug, Args, Clone, Default)]
pub struct S3Args {
    /// S3-compatible service URL for s3:// locations (MinIO, Ceph, SeaweedFS...; default AWS).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Object storage"
    )]
    pub s3_endpoint: Option<String>,
    /// Region of the bucket (default: AWS_REGION, the profile's, else us-east-1).
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = "Object storage"
    )]
    pub s3_region: Option<String>,
    /// Path-style addressing (endpoint/bucket/key); default: on with --s3-endpoint, off on AWS.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set, help_heading = "Object storage")]
    pub s3_path_style: Option<bool>,
    /// AWS profile to take credentials from (default: AWS_PROFILE, else "default").
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Object storage"
    )]
    pub s3_profile: Option<String>,
}

impl S3Args {
    /// The settings given on the command line.
    pub fn layer(&self) -> S3Config {
        S3Config {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            path_style: self.s3_path_style,
            profile: self.s3_profile.clone(),
            // Secrets are never flags (argv is visible to every user): the config file only.
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

impl GlobalArgs {
    /// The settings given on the command line.
    pub fn layer(&self) -> GlobalConfig {
        GlobalConfig {
            log_file: self.log_file.clone(),
            log_format: self.log_format,
            metrics_file: self.metrics_file.clone(),
            job: self.job.clone(),
            on_success: self.on_success.clone(),
            on_failure: self.on_failure.clone(),
            hook_timeout: self.hook_timeout,
            progress: self.progress,
            verbose: (self.verbose > 0).then_some(self.verbose),
            quiet: self.quiet.then_some(true),
        }
    }
}

fn log_format() -> impl TypedValueParser<Value = LogFormat> {
    PossibleValuesParser::new(LogFormat::WORDS).try_map(|s| s.parse::<LogFormat>())
}

fn progress_mode() -> impl TypedValueParser<Value = ProgressMode> {
    PossibleValuesParser::new(ProgressMode::WORDS).try_map(|s| s.parse::<ProgressMode>())
}

/// `Some(true)` for a flag that was given, `None` (config file or default) otherwise.
pub(crate) fn flag(given: bool) -> Option<bool> {
    given.then_some(true)
}

/// A list option: `None` when not given.
pub(crate) fn list(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// Rewrites `-pSECRET` (the stock clients' attached password) as `--password=SECRET`, which clap
/// reads; a bare `-p` stays and means "ask". Everything else passes unchanged.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s) if s.len() > 2 && s.starts_with("-p") && !s.starts_with("-p=") => {
                format!("--password={}", &s[2..]).into()
            }
            _ => a,
        })
        .collect()
}

#[cfg(test)]
mod tests;
