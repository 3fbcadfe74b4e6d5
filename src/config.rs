//! The config file (`/etc/mybak/mybak.toml`): one key per command-line setting, in layers.
//!
//! Every setting is resolved as: command line, else config file, else the library's default
//! (each settings struct's `Default`). The file has the global keys at the top and one section
//! per command (`[connection]`, `[dump]`, `[restore]`, `[verify]`, `[prune]`, `[list]`) and one
//! for object storage (`[s3]`, keys without the flags' `s3-`); a key is the long flag's name
//! without `--`. Unknown keys and bad values are errors naming the file
//! and line. The command line fills the same layer types, so merging is `cli.over(file)`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::conn::SslMode;
use crate::error::{Error, Result};
use crate::manifest::Consistency;
use crate::plan::Threads;
use crate::regular_file::{self, Links, ReadError};
use crate::restore::UsersMode;
use crate::units::{ByteSize, FileMode, Span};

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/mybak/mybak.toml";

/// Defines a layer: a struct of optional settings, `over` to merge two layers field by field,
/// and `KEYS`, the config-file keys it accepts.
macro_rules! layer {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $field:ident : $ty:ty, )* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $( $(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>, )*
        }

        impl $name {
            /// The config-file keys of this layer (`_` in a field name is `-` in the file).
            pub const KEYS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Each setting from `self` where it is set, else from `lower`.
            pub fn over(self, lower: $name) -> $name {
                $name { $( $field: self.$field.or(lower.$field), )* }
            }
        }
    };
}

/// How log-file lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-11-26T00:00:01.123Z INFO  [run-id] message`.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// When progress bars are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgressMode {
    /// Only when stderr is a terminal.
    #[default]
    Auto,
    Always,
    Never,
}

/// Parses one of `words` (case-insensitive) into the value at the same index.
fn one_of<T: Copy>(what: &str, s: &str, words: &[&str], values: &[T]) -> Result<T, String> {
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(s.trim()))
        .and_then(|i| values.get(i).copied())
        .ok_or_else(|| format!("invalid {what} {s:?}: expected one of {}", words.join(", ")))
}

impl LogFormat {
    /// The accepted words.
    pub const WORDS: [&'static str; 2] = ["text", "json"];
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        one_of(
            "log format",
            s,
            &Self::WORDS,
            &[LogFormat::Text, LogFormat::Json],
        )
    }
}

impl ProgressMode {
    /// The accepted words.
    pub const WORDS: [&'static str; 3] = ["auto", "always", "never"];
}

impl FromStr for ProgressMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use ProgressMode::*;
        one_of("progress mode", s, &Self::WORDS, &[Auto, Always, Never])
    }
}

impl fmt::Display for ProgressMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::WORDS[*self as usize])
    }
}

/// `[restore] users` and `--users[=MODE]`: whether accounts are restored, and what happens to
/// one that exists on the target. `true` (a bare `--users`) is the library's default mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreUsers {
    No,
    Yes,
    Mode(UsersMode),
}

impl RestoreUsers {
    /// The accepted words.
    pub const WORDS: [&'static str; 5] = ["true", "false", "fail", "skip", "replace"];

    /// The setting: `None` when accounts are not restored.
    pub fn mode(self) -> Option<UsersMode> {
        match self {
            RestoreUsers::No => None,
            RestoreUsers::Yes => Some(UsersMode::default()),
            RestoreUsers::Mode(m) => Some(m),
        }
    }
}

impl FromStr for RestoreUsers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(RestoreUsers::Yes),
            "false" => Ok(RestoreUsers::No),
            other => other.parse().map(RestoreUsers::Mode).map_err(|_| {
                format!(
                    "invalid users {s:?}: expected true, false or the mode for accounts that \
                     exist on the target: fail, skip, replace"
                )
            }),
        }
    }
}

impl Serialize for RestoreUsers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RestoreUsers::No => s.serialize_bool(false),
            RestoreUsers::Yes => s.serialize_bool(true),
            RestoreUsers::Mode(m) => s.serialize_str(&m.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for RestoreUsers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::Flag(true)) => Ok(RestoreUsers::Yes),
            Ok(Raw::Flag(false)) => Ok(RestoreUsers::No),
            Ok(Raw::Word(w)) => w.parse().map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "invalid users: expected true, false, \"fail\", \"skip\" or \"replace\"",
            )),
        }
    }
}

layer! {
    /// Settings of every command: logging, metrics, hooks, progress (top of the file).
    pub struct GlobalConfig {
        pub log_file: PathBuf,
        pub log_format: LogFormat,
        pub metrics_file: PathBuf,
        pub job: String,
        pub on_success: String,
        pub on_failure: String,
        pub hook_timeout: Span,
        pub progress: ProgressMode,
        pub verbose: u8,
        pub quiet: bool,
    }
}

layer! {
    /// `[connection]`: how to reach the server, as the stock clients take it.
    pub struct ConnConfig {
        pub host: String,
        pub port: u16,
        pub socket: PathBuf,
        pub user: String,
        pub password: String,
        pub defaults_file: PathBuf,
        pub defaults_extra_file: PathBuf,
        pub no_defaults: bool,
        pub ssl_mode: SslMode,
        pub ssl_ca: PathBuf,
        pub ssl_cert: PathBuf,
        pub ssl_key: PathBuf,
        pub connect_timeout: Span,
        pub net_timeout: Span,
    }
}

layer! {
    /// `[dump]`.
    pub struct DumpConfig {
        pub output_dir: PathBuf,
        pub name: String,
        pub utc: bool,
        pub databases: Vec<String>,
        pub exclude_databases: Vec<String>,
        pub tables: Vec<String>,
        pub exclude_tables: Vec<String>,
        pub users: bool,
        pub consistency: Consistency,
        pub lock_wait_timeout: Span,
        pub threads: Threads,
        pub max_statement_bytes: ByteSize,
        pub chunk_size: ByteSize,
        pub compress_level: i32,
        pub min_free: ByteSize,
        pub file_mode: FileMode,
        pub prune: bool,
        pub encrypt_to: Vec<String>,
    }
}

layer! {
    /// `[restore]`.
    pub struct RestoreConfig {
        pub databases: Vec<String>,
        pub exclude_databases: Vec<String>,
        pub tables: Vec<String>,
        pub exclude_tables: Vec<String>,
        pub rename_database: Vec<String>,
        pub keep_events_enabled: bool,
        pub users: RestoreUsers,
        pub threads: usize,
        pub no_binlog: bool,
        pub defer_indexes: bool,
        pub defer_min_size: ByteSize,
        pub drop_existing: bool,
        pub allow_partial: bool,
        pub identity: PathBuf,
    }
}

layer! {
    /// `[verify]`.
    pub struct VerifyConfig {
        pub restore_test: bool,
        pub keep: bool,
        pub threads: usize,
        pub json: bool,
        pub max_statement: ByteSize,
        pub identity: PathBuf,
    }
}

layer! {
    /// `[prune]`: the retention policy, also used by `dump --prune`.
    pub struct PruneConfig {
        pub keep_last: u32,
        pub keep_hourly: u32,
        pub keep_daily: u32,
        pub keep_weekly: u32,
        pub keep_monthly: u32,
        pub keep_yearly: u32,
        pub keep_within: Span,
        pub keep_partial: Span,
        pub dry_run: bool,
    }
}

layer! {
    /// `[s3]`: how S3-compatible object storage is reached (`s3://` output roots and dumps).
    /// Credentials come from the AWS environment variables and `~/.aws/credentials`/`~/.aws/config`
    /// (the profile named here or by `AWS_PROFILE`), or from the two keys here (the file only:
    /// no flag takes a secret).
    pub struct S3Config {
        pub endpoint: String,
        pub region: String,
        pub path_style: bool,
        pub profile: String,
        pub access_key_id: String,
        pub secret_access_key: String,
    }
}

layer! {
    /// `[list]`.
    pub struct ListConfig {
        pub json: bool,
    }
}

layer! {
    /// `[binlog]`: the binlog archiver (`mybak binlog`).
    pub struct BinlogConfig {
        pub spool_dir: PathBuf,
        pub replica_server_id: u32,
        pub heartbeat: Span,
        pub max_backoff: Span,
        pub start_file: String,
        pub file_mode: FileMode,
    }
}

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConfigFile {
    /// Where it was read from (`None`: no file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    #[serde(flatten)]
    pub global: GlobalConfig,
    pub connection: ConnConfig,
    pub dump: DumpConfig,
    pub restore: RestoreConfig,
    pub verify: VerifyConfig,
    pub prune: PruneConfig,
    pub list: ListConfig,
    pub binlog: BinlogConfig,
    pub s3: S3Config,
}

/// The file's shape for parsing: the global keys listed one by one, because serde cannot
/// refuse unknown keys of a flattened struct.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    log_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    metrics_file: Option<PathBuf>,
    job: Option<String>,
    on_success: Option<String>,
    on_failure: Option<String>,
    hook_timeout: Option<Span>,
    progress: Option<ProgressMode>,
    verbose: Option<u8>,
    quiet: Option<bool>,
    #[serde(default)]
    connection: ConnConfig,
    #[serde(default)]
    dump: DumpConfig,
    #[serde(default)]
    restore: RestoreConfig,
    #[serde(default)]
    verify: VerifyConfig,
    #[serde(default)]
    prune: PruneConfig,
    #[serde(default)]
    list: ListConfig,
    #[serde(default)]
    binlog: BinlogConfig,
    #[serde(default)]
    s3: S3Config,
}

/// The sections of the file, in order, with their keys.
pub fn sections() -> [(&'static str, &'static [&'static str]); 9] {
    [
        ("", GlobalConfig::KEYS),
        ("connection", ConnConfig::KEYS),
        ("dump", DumpConfig::KEYS),
        ("restore", RestoreConfig::KEYS),
        ("verify", VerifyConfig::KEYS),
        ("prune", PruneConfig::KEYS),
        ("list", ListConfig::KEYS),
        ("binlog", BinlogConfig::KEYS),
        ("s3", S3Config::KEYS),
    ]
}

impl ConfigFile {
    /// Parses config text; errors name `path` and the line.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let mut message = e.message().trim().replace('\n', " ");
            if let Some(key) = line.and_then(|l| key_on_line(text, l)) {
                if !message.contains(&key) {
                    message = format!("{key}: {message}");
                }
            }
            Error::Config {
                path: path.to_path_buf(),
                line,
                message,
            }
        })?;
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            global: GlobalConfig {
                log_file: raw.log_file,
                log_format: raw.log_format,
                metrics_file: raw.metrics_file,
                job: raw.job,
                on_success: raw.on_success,
                on_failure: raw.on_failure,
                hook_timeout: raw.hook_timeout,
                progress: raw.progress,
                verbose: raw.verbose,
                quiet: raw.quiet,
            },
            connection: raw.connection,
            dump: raw.dump,
            restore: raw.restore,
            verify: raw.verify,
            prune: raw.prune,
            list: raw.list,
            binlog: raw.binlog,
            s3: raw.s3,
        })
    }

    /// Reads the config file: `explicit` (which must exist) or else [`DEFAULT_CONFIG_FILE`]
    /// when it exists; no file gives the empty config. A file that is not a regular file is
    /// refused (a FIFO or device would hang or never end).
    pub fn load(explicit: Option<&Path>) -> Result<ConfigFile> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok(ConfigFile::default()),
        };
        let config_error = |message: String| Error::Config {
            path: path.clone(),
            line: None,
            message,
        };
        let (bytes, meta) = regular_file::read(&path, Links::Follow, 1 << 20).map_err(|e| {
            config_error(match e {
                ReadError::TooLarge { .. } => "larger than 1 MiB; not a config file".to_string(),
                other => other.to_string(),
            })
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| config_error("not UTF-8 text; not a config file".to_string()))?;
        let config = ConfigFile::parse(&path, &text)?;
        warn_if_exposed(&path, &meta, &config);
        Ok(config)
    }
}

/// 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key set on 1-based `line` of `text`, if the line is `key = value`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let (key, _) = text.lines().nth(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// Warns when a config file holding a password can be read by group or others.
fn warn_if_exposed(path: &Path, meta: &std::fs::Metadata, config: &ConfigFile) {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    let secret = config.connection.password.is_some() || config.s3.secret_access_key.is_some();
    if secret && mode & 0o044 != 0 {
        log::warn!(
            "{} holds a password or secret key and is readable by group or others (mode {mode:04o}); chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

mod resolve;

pub use resolve::{GlobalSettings, VerifySettings};

#[cfg(test)]
mod tests;
