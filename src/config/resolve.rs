//! From layers to settings: each layer's values applied over the settings' `Default`, and back
//! (the effective settings `mybak config check` prints).

use std::path::PathBuf;
use std::time::Duration;

use super::{
    BinlogConfig, ConfigFile, ConnConfig, DumpConfig, GlobalConfig, ListConfig, LogFormat,
    ProgressMode, PruneConfig, RestoreConfig, RestoreUsers, S3Config, VerifyConfig,
};
use crate::binlog::archive::{self, ArchiveSettings};
use crate::conn::ConnSettings;
use crate::crypt::{Identities, Recipient};
use crate::dump::DumpSettings;
use crate::error::{Error, Result};
use crate::filter::{Filter, FilterSpec};
use crate::prune::PruneSettings;
use crate::restore::rewrite::Rename;
use crate::restore::RestoreSettings;
use crate::retention::Policy;
use crate::store::{S3Key, S3Settings};
use crate::units::{ByteSize, FileMode, Span};

/// Settings of every command: logging, metrics, hooks, progress.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSettings {
    pub log_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub metrics_file: Option<PathBuf>,
    /// The metrics' `job` label; `None`: the output root.
    pub job: Option<String>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub hook_timeout: Duration,
    pub progress: ProgressMode,
    pub verbose: u8,
    pub quiet: bool,
}

impl Default for GlobalSettings {
    fn default() -> Self {
        GlobalSettings {
            log_file: None,
            log_format: LogFormat::Text,
            metrics_file: None,
            job: None,
            on_success: None,
            on_failure: None,
            hook_timeout: Duration::from_secs(300),
            progress: ProgressMode::Auto,
            verbose: 0,
            quiet: false,
        }
    }
}

/// An empty string in a layer means "none" (`on-failure = ""` turns a hook off).
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl GlobalConfig {
    /// The settings, over the defaults.
    pub fn settings(self) -> GlobalSettings {
        let d = GlobalSettings::default();
        GlobalSettings {
            log_file: self.log_file.filter(|p| !p.as_os_str().is_empty()),
            log_format: self.log_format.unwrap_or(d.log_format),
            metrics_file: self.metrics_file.filter(|p| !p.as_os_str().is_empty()),
            job: non_empty(self.job),
            on_success: non_empty(self.on_success),
            on_failure: non_empty(self.on_failure),
            hook_timeout: self.hook_timeout.map_or(d.hook_timeout, Span::duration),
            progress: self.progress.unwrap_or(d.progress),
            verbose: self.verbose.unwrap_or(d.verbose),
            quiet: self.quiet.unwrap_or(d.quiet),
        }
    }

    fn of(s: &GlobalSettings) -> GlobalConfig {
        GlobalConfig {
            log_file: s.log_file.clone(),
            log_format: Some(s.log_format),
            metrics_file: s.metrics_file.clone(),
            job: s.job.clone(),
            on_success: s.on_success.clone(),
            on_failure: s.on_failure.clone(),
            hook_timeout: Some(Span(s.hook_timeout)),
            progress: Some(s.progress),
            verbose: Some(s.verbose),
            quiet: Some(s.quiet),
        }
    }
}

/// A filter from four optional pattern lists, or `current` when none is given.
fn filter(lists: [Option<Vec<String>>; 4], current: &Filter) -> Result<Filter> {
    if lists.iter().all(Option::is_none) {
        return Ok(current.clone());
    }
    let [databases, exclude_databases, tables, exclude_tables] =
        lists.map(Option::unwrap_or_default);
    Filter::new(&FilterSpec {
        databases,
        exclude_databases,
        tables,
        exclude_tables,
    })
}

/// A pattern list for the effective config: `None` when empty.
fn patterns(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

impl DumpConfig {
    /// Applies the values that are set to `s` (whose connection is resolved separately).
    pub fn apply(self, s: &mut DumpSettings) -> Result<()> {
        let lists = [
            self.databases,
            self.exclude_databases,
            self.tables,
            self.exclude_tables,
        ];
        s.filter = filter(lists, &s.filter)?;
        set(&mut s.output_dir, self.output_dir);
        if let Some(name) = self.name {
            s.name_format = Some(name);
        }
        set(&mut s.utc, self.utc);
        set(&mut s.users, self.users);
        set(&mut s.consistency, self.consistency);
        set(
            &mut s.lock_wait_timeout,
            self.lock_wait_timeout.map(Span::duration),
        );
        set(&mut s.threads, self.threads);
        if let Some(size) = self.max_statement_bytes {
            s.max_statement_bytes = usize::try_from(size.bytes())
                .map_err(|_| Error::Settings(format!("--max-statement-bytes {size}: too large")))?;
        }
        set(&mut s.chunk_bytes, self.chunk_size.map(ByteSize::bytes));
        set(&mut s.compress_level, self.compress_level);
        set(&mut s.min_free, self.min_free.map(ByteSize::bytes));
        set(&mut s.file_mode, self.file_mode);
        if let Some(keys) = self.encrypt_to {
            s.encrypt_to = keys
                .iter()
                .map(|k| {
                    Recipient::parse(k).map_err(|e| Error::Settings(format!("--encrypt-to: {e}")))
                })
                .collect::<Result<_>>()?;
        }
        s.validate()
    }

    /// The layer that gives `s` (and `prune`).
    pub fn of(s: &DumpSettings, prune: bool) -> DumpConfig {
        let spec = s.filter.spec();
        DumpConfig {
            output_dir: Some(s.output_dir.clone()),
            name: Some(s.name_format().to_string()),
            utc: Some(s.utc),
            databases: patterns(&spec.databases),
            exclude_databases: patterns(&spec.exclude_databases),
            tables: patterns(&spec.tables),
            exclude_tables: patterns(&spec.exclude_tables),
            users: Some(s.users),
            consistency: Some(s.consistency),
            lock_wait_timeout: Some(Span(s.lock_wait_timeout)),
            threads: Some(s.threads),
            max_statement_bytes: Some(ByteSize(s.max_statement_bytes as u64)),
            chunk_size: Some(ByteSize(s.chunk_bytes)),
            compress_level: Some(s.compress_level),
            min_free: Some(ByteSize(s.min_free)),
            file_mode: Some(s.file_mode),
            prune: Some(prune),
            encrypt_to: (!s.encrypt_to.is_empty())
                .then(|| s.encrypt_to.iter().map(ToString::to_string).collect()),
        }
    }
}

/// The keys of identity file `path` (`--identity`).
fn identities(path: &std::path::Path) -> Result<Identities> {
    Identities::from_file(path).map_err(|e| Error::Settings(format!("--identity: {e}")))
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// `FROM=TO` of `--rename-database`.
fn rename(spec: &str) -> Result<Rename> {
    match spec.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() && to.chars().count() <= 64 => {
            Ok(Rename {
                from: from.to_string(),
                to: to.to_string(),
            })
        }
        _ => Err(Error::Settings(format!(
            "--rename-database {spec:?}: expected FROM=TO with a target name of at most 64 characters"
        ))),
    }
}

impl RestoreConfig {
    /// Applies the values that are set to `s` (whose connection and directory come separately).
    pub fn apply(self, s: &mut RestoreSettings) -> Result<()> {
        let lists = [
            self.databases,
            self.exclude_databases,
            self.tables,
            self.exclude_tables,
        ];
        s.filter = filter(lists, &s.filter)?;
        if let Some(specs) = self.rename_database {
            s.renames = specs.iter().map(|r| rename(r)).collect::<Result<_>>()?;
        }
        set(&mut s.keep_events_enabled, self.keep_events_enabled);
        set(&mut s.users, self.users.map(RestoreUsers::mode));
        set(&mut s.threads, self.threads);
        set(&mut s.no_binlog, self.no_binlog);
        set(&mut s.defer_indexes, self.defer_indexes);
        set(
            &mut s.defer_min_bytes,
            self.defer_min_size.map(ByteSize::bytes),
        );
        set(&mut s.drop_existing, self.drop_existing);
        set(&mut s.allow_partial, self.allow_partial);
        if let Some(path) = self.identity {
            s.identities = Some(std::sync::Arc::new(identities(&path)?));
        }
        if s.threads == 0 {
            return Err(Error::Settings("--threads must be at least 1".to_string()));
        }
        Ok(())
    }

    /// The layer that gives `s`.
    pub fn of(s: &RestoreSettings) -> RestoreConfig {
        let spec = s.filter.spec();
        RestoreConfig {
            databases: patterns(&spec.databases),
            exclude_databases: patterns(&spec.exclude_databases),
            tables: patterns(&spec.tables),
            exclude_tables: patterns(&spec.exclude_tables),
            rename_database: (!s.renames.is_empty()).then(|| {
                s.renames
                    .iter()
                    .map(|r| format!("{}={}", r.from, r.to))
                    .collect()
            }),
            keep_events_enabled: Some(s.keep_events_enabled),
            users: Some(s.users.map_or(RestoreUsers::No, RestoreUsers::Mode)),
            threads: Some(s.threads),
            no_binlog: Some(s.no_binlog),
            defer_indexes: Some(s.defer_indexes),
            defer_min_size: Some(ByteSize(s.defer_min_bytes)),
            drop_existing: Some(s.drop_existing),
            allow_partial: Some(s.allow_partial),
            identity: s.identities.as_ref().map(|i| i.path().to_path_buf()),
        }
    }
}

/// `mybak verify`'s settings besides the dump and the connection.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    pub restore_test: bool,
    pub keep: bool,
    pub threads: usize,
    pub json: bool,
    /// No statement larger than this is read (a file's own recorded largest is the tighter bound).
    pub max_statement: usize,
    /// The keys of an encrypted dump.
    pub identities: Option<std::sync::Arc<Identities>>,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            restore_test: false,
            keep: false,
            threads: crate::dump::default_threads(),
            json: false,
            max_statement: 1 << 30,
            identities: None,
        }
    }
}

impl VerifyConfig {
    /// The settings, over the defaults.
    pub fn settings(self) -> Result<VerifySettings> {
        let d = VerifySettings::default();
        let s = VerifySettings {
            restore_test: self.restore_test.unwrap_or(d.restore_test),
            keep: self.keep.unwrap_or(d.keep),
            threads: self.threads.unwrap_or(d.threads),
            json: self.json.unwrap_or(d.json),
            max_statement: self.max_statement.map_or(d.max_statement, |b| {
                usize::try_from(b.bytes()).unwrap_or(usize::MAX)
            }),
            identities: match self.identity {
                Some(path) => Some(std::sync::Arc::new(identities(&path)?)),
                None => None,
            },
        };
        if s.threads == 0 {
            return Err(Error::Settings("--threads must be at least 1".to_string()));
        }
        if s.keep && !s.restore_test {
            return Err(Error::Settings("--keep needs --restore-test".to_string()));
        }
        Ok(s)
    }

    fn of(s: &VerifySettings) -> VerifyConfig {
        VerifyConfig {
            restore_test: Some(s.restore_test),
            keep: Some(s.keep),
            threads: Some(s.threads),
            json: Some(s.json),
            max_statement: Some(ByteSize(s.max_statement as u64)),
            identity: s.identities.as_ref().map(|i| i.path().to_path_buf()),
        }
    }
}

impl PruneConfig {
    /// The defaults of the retention settings: no keep rule (prune refuses to run without
    /// one), partial dumps kept 7 days, not a dry run.
    pub fn defaults() -> PruneConfig {
        PruneConfig {
            keep_partial: Some(Policy::default().keep_partial),
            dry_run: Some(false),
            ..PruneConfig::default()
        }
    }
}

impl PruneConfig {
    /// The settings of a prune of `root`, over the defaults.
    pub fn settings(self, root: PathBuf, s3: S3Settings) -> PruneSettings {
        let l = self.over(PruneConfig::defaults());
        let policy = Policy {
            keep_last: l.keep_last.unwrap_or(0),
            keep_hourly: l.keep_hourly.unwrap_or(0),
            keep_daily: l.keep_daily.unwrap_or(0),
            keep_weekly: l.keep_weekly.unwrap_or(0),
            keep_monthly: l.keep_monthly.unwrap_or(0),
            keep_yearly: l.keep_yearly.unwrap_or(0),
            keep_within: l.keep_within,
            keep_partial: l
                .keep_partial
                .unwrap_or_else(|| Policy::default().keep_partial),
        };
        PruneSettings {
            root,
            s3,
            policy,
            dry_run: l.dry_run.unwrap_or(false),
        }
    }
}

impl S3Config {
    /// How object storage is reached (no setting: AWS, credentials from the environment).
    /// An access key id without its secret (or the other way round) is an error.
    pub fn settings(self) -> Result<S3Settings> {
        let key = match (self.access_key_id, self.secret_access_key) {
            (Some(id), Some(secret)) => Some(S3Key { id, secret }),
            (None, None) => None,
            _ => {
                return Err(Error::Settings(
                    "[s3] access-key-id and secret-access-key go together: set both or neither"
                        .to_string(),
                ))
            }
        };
        Ok(S3Settings {
            endpoint: self.endpoint,
            region: self.region,
            path_style: self.path_style,
            profile: self.profile,
            key,
        })
    }
}

impl BinlogConfig {
    /// Sets what this layer sets on `settings` (heartbeat and backoff at least 1 s).
    pub fn apply(self, settings: &mut ArchiveSettings) {
        if let Some(dir) = self.spool_dir {
            settings.spool_dir = Some(dir);
        }
        if let Some(id) = self.replica_server_id {
            settings.replica_id = id;
        }
        if let Some(span) = self.heartbeat {
            settings.heartbeat = span.0.max(Duration::from_secs(1));
        }
        if let Some(span) = self.max_backoff {
            settings.max_backoff = span.0.max(Duration::from_secs(1));
        }
        if let Some(file) = self.start_file {
            settings.start_file = Some(file);
        }
        if let Some(mode) = self.file_mode {
            settings.spool_mode = mode;
        }
    }

    /// The archiver's defaults as a layer (what `config check` shows).
    pub fn defaults() -> BinlogConfig {
        BinlogConfig {
            spool_dir: None,
            replica_server_id: Some(archive::DEFAULT_REPLICA_ID),
            heartbeat: Some(Span(archive::DEFAULT_HEARTBEAT)),
            max_backoff: Some(Span(archive::DEFAULT_MAX_BACKOFF)),
            start_file: None,
            file_mode: Some(FileMode::default()),
        }
    }
}

impl ListConfig {
    /// Whether `list` prints JSON.
    pub fn json(&self) -> bool {
        self.json.unwrap_or(false)
    }
}

impl ConfigFile {
    /// Every setting as it takes effect with this file and no flags: the file's values over the
    /// defaults. The password, if any, is shown as `***`; `connection` shows only what the file
    /// sets (option files and the login name fill in the rest at run time), and the timeouts.
    pub fn effective(&self) -> Result<ConfigFile> {
        let conn_defaults = ConnSettings::default();
        let mut dump = DumpSettings::default();
        if let Some(net) = self.connection.net_timeout {
            dump.conn.net_timeout = net.duration();
        }
        self.dump.clone().apply(&mut dump)?;
        dump.check_timeouts()?;
        let mut restore = RestoreSettings::default();
        self.restore.clone().apply(&mut restore)?;
        let verify = self.verify.clone().settings()?;
        let prune = self.prune.clone().over(PruneConfig::defaults());
        let mut connection: ConnConfig = self.connection.clone();
        let mut s3 = self.s3.clone();
        if s3.secret_access_key.is_some() {
            s3.secret_access_key = Some("***".to_string());
        }
        if connection.password.is_some() {
            connection.password = Some("***".to_string());
        }
        connection
            .connect_timeout
            .get_or_insert(Span(conn_defaults.connect_timeout));
        connection
            .net_timeout
            .get_or_insert(Span(conn_defaults.net_timeout));
        Ok(ConfigFile {
            path: self.path.clone(),
            global: GlobalConfig::of(&self.global.clone().settings()),
            connection,
            dump: DumpConfig::of(&dump, self.dump.prune.unwrap_or(false)),
            restore: RestoreConfig::of(&restore),
            verify: VerifyConfig::of(&verify),
            prune,
            list: ListConfig {
                json: Some(self.list.json()),
            },
            binlog: self.binlog.clone().over(BinlogConfig::defaults()),
            s3,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Threads;

    #[test]
    fn defaults_come_from_the_settings_structs() {
        let e = ConfigFile::default().effective().unwrap();
        let d = DumpSettings::default();
        assert_eq!(e.dump.output_dir, Some(d.output_dir.clone()));
        assert_eq!(e.dump.compress_level, Some(d.compress_level));
        assert_eq!(e.dump.chunk_size, Some(ByteSize(d.chunk_bytes)));
        assert_eq!(e.global.hook_timeout, Some(Span::from_secs(300)));
        assert_eq!(e.prune.keep_partial, Some(Span::from_secs(7 * 86400)));
        assert_eq!(e.verify.restore_test, Some(false));
        let r = RestoreSettings::default();
        assert_eq!(e.restore.defer_indexes, Some(r.defer_indexes));
        assert_eq!(e.restore.defer_min_size, Some(ByteSize(r.defer_min_bytes)));
        assert_eq!(e.connection.connect_timeout, Some(Span::from_secs(10)));
        assert_eq!(e.connection.net_timeout, Some(Span::from_secs(600)));
        assert_eq!(e.connection.host, None);
    }

    #[test]
    fn a_net_timeout_shorter_than_the_lock_wait_is_refused() {
        let mut file = ConfigFile::default();
        file.connection.net_timeout = Some(Span::from_secs(30));
        let e = file.effective().unwrap_err().to_string();
        assert!(
            e.contains("--net-timeout 30s") && e.contains("--lock-wait-timeout 1min"),
            "{e}"
        );
        file.dump.lock_wait_timeout = Some(Span::from_secs(20));
        let e = file.effective().unwrap();
        assert_eq!(e.connection.net_timeout, Some(Span::from_secs(30)));
        file.connection.net_timeout = Some(Span::from_secs(0));
        file.dump.lock_wait_timeout = None;
        assert!(file.effective().is_ok(), "0: no limit");
    }

    #[test]
    fn the_file_overrides_the_defaults_and_the_password_is_masked() {
        let mut file = ConfigFile::default();
        file.dump.threads = Some(Threads::Count(3));
        file.dump.databases = Some(vec!["shop".into()]);
        file.connection.password = Some("s3cret".into());
        file.restore.rename_database = Some(vec!["a=b".into()]);
        let e = file.effective().unwrap();
        assert_eq!(e.dump.threads, Some(Threads::Count(3)));
        assert_eq!(e.dump.databases, Some(vec!["shop".to_string()]));
        assert_eq!(e.connection.password.as_deref(), Some("***"));
        assert_eq!(e.restore.rename_database, Some(vec!["a=b".to_string()]));
        let text = toml::to_string(&e).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        // What config check prints parses back as a config file.
        ConfigFile::parse(std::path::Path::new("printed"), &text).unwrap();
    }

    #[test]
    fn bad_values_are_refused_when_applied() {
        let mut s = DumpSettings::default();
        let e = DumpConfig {
            threads: Some(Threads::Count(0)),
            ..DumpConfig::default()
        }
        .apply(&mut s)
        .unwrap_err();
        assert!(e.to_string().contains("--threads"), "{e}");
        let e = DumpConfig {
            compress_level: Some(40),
            ..DumpConfig::default()
        }
        .apply(&mut DumpSettings::default())
        .unwrap_err();
        assert!(e.to_string().contains("--compress-level 40"), "{e}");
        let e = RestoreConfig {
            rename_database: Some(vec!["nonsense".into()]),
            ..RestoreConfig::default()
        }
        .apply(&mut RestoreSettings::default())
        .unwrap_err();
        assert!(e.to_string().contains("FROM=TO"), "{e}");
    }
}
