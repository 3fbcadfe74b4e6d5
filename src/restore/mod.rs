//! `mybak restore`: checks a dump whole, then loads it — databases, tables and sequences, rows in
//! parallel, then views, routines, triggers, events and accounts — and says what failed where.

mod edit;
mod huge;
pub mod load;
pub mod rewrite;
pub mod schema;
pub mod until;
pub mod users;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::conn::{self, ConnSettings};
use crate::crypt::Identities;
use crate::error::{Error, QueryContext, Result};
use crate::filter::Filter;
use crate::manifest::{FileKind, Manifest, ManifestFile, Status};
use crate::progress::Progress;
use crate::sql::grant::{grant_target, GrantTarget};
use crate::sql::ident::{qualified, quote_ident};
use crate::sql::script::RESTORE_SQL_MODE;
use crate::sql::split::DEFAULT_MAX_STATEMENT;
use crate::store::read::Source;
use crate::store::{self, Location, S3Settings};
use crate::verify::files;

use load::{load_file, LoadFailure};
use rewrite::{alter_adding, Rename};
use schema::{Deferred, TableKey};
pub use users::UsersMode;

/// Everything a restore needs to know, resolved by the caller; `Default` gives mybak's defaults.
#[derive(Debug, Clone)]
pub struct RestoreSettings {
    pub conn: ConnSettings,
    /// The dump: a local directory or an `s3://` URL.
    pub dir: PathBuf,
    /// How object storage is reached, when the dump is there.
    pub s3: S3Settings,
    /// The keys of an encrypted dump (`--identity`).
    pub identities: Option<Arc<Identities>>,
    /// Selects databases and tables by their names in the dump.
    pub filter: Filter,
    pub renames: Vec<Rename>,
    pub threads: usize,
    pub no_binlog: bool,
    /// Add each table's secondary indexes once its rows are in (one sorted build instead of
    /// row-by-row inserts), where that is safe and worth it: InnoDB tables not involved in
    /// foreign keys nor system-versioned, with at least `defer_min_bytes` of rows; FULLTEXT and
    /// SPATIAL indexes, the UNIQUE ones of a table without a primary key and the one the
    /// AUTO_INCREMENT column needs stay (see [`rewrite::defer_indexes`]). On by default.
    pub defer_indexes: bool,
    /// Tables with less SQL in their data files keep all their indexes in their `CREATE TABLE`
    /// (default [`schema::DEFAULT_DEFER_MIN_BYTES`]; 0: every table where it is safe).
    pub defer_min_bytes: u64,
    pub drop_existing: bool,
    pub allow_partial: bool,
    /// Restore the accounts file too, and what to do with an account that exists on the target;
    /// `None`: accounts are not restored.
    pub users: Option<UsersMode>,
    /// Events of a renamed database are created disabled unless this is set (two copies of a
    /// scheduled job on one server are a surprise).
    pub keep_events_enabled: bool,
}

impl Default for RestoreSettings {
    fn default() -> Self {
        RestoreSettings {
            conn: ConnSettings::default(),
            dir: PathBuf::new(),
            s3: S3Settings::default(),
            identities: None,
            filter: Filter::default(),
            renames: Vec::new(),
            threads: crate::dump::default_threads(),
            no_binlog: false,
            defer_indexes: true,
            defer_min_bytes: schema::DEFAULT_DEFER_MIN_BYTES,
            drop_existing: false,
            allow_partial: false,
            users: None,
            keep_events_enabled: false,
        }
    }
}

/// How a restore went.
#[derive(Debug, Default)]
pub struct RestoreOutcome {
    pub databases: usize,
    /// Tables created (with or without rows).
    pub tables: usize,
    pub rows: u64,
    /// Bytes of SQL sent.
    pub sql_bytes: u64,
    /// Bytes on disk of the files loaded.
    pub bytes: u64,
    pub files: usize,
    pub failures: Vec<LoadFailure>,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// The files a restore loads, in manifest order, with the database each goes to.
#[derive(Debug)]
struct Plan<'m> {
    files: Vec<&'m ManifestFile>,
    /// Source database → target database.
    targets: BTreeMap<String, String>,
    /// The restored databases whose target name differs.
    renames: Vec<Rename>,
}

fn plan<'m>(manifest: &'m Manifest, settings: &RestoreSettings) -> Result<Plan<'m>> {
    let in_dump: BTreeSet<&str> = manifest.databases.iter().map(|d| d.name.as_str()).collect();
    for r in &settings.renames {
        if !in_dump.contains(r.from.as_str()) {
            return Err(Error::Settings(format!(
                "--rename-database {}={}: the dump has no database {}",
                r.from, r.to, r.from
            )));
        }
    }
    let databases: Vec<String> = in_dump.iter().map(|d| d.to_string()).collect();
    let tables: Vec<(String, String)> = manifest
        .files
        .iter()
        .filter_map(|f| Some((f.database.clone()?, f.table.clone()?)))
        .filter(|(d, _)| settings.filter.database(d))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for warning in settings.filter.check(&databases, &tables, "in the dump")? {
        log::warn!("{warning}");
    }
    let selected = |f: &&ManifestFile| match (&f.database, &f.table, f.kind) {
        (_, _, FileKind::Users) => settings.users.is_some(),
        (Some(db), Some(t), _) => settings.filter.table(db, t),
        (Some(db), None, _) => settings.filter.database(db),
        (None, _, _) => false,
    };
    let files: Vec<&ManifestFile> = manifest.files.iter().filter(selected).collect();
    if settings.users.is_some() && !files.iter().any(|f| f.kind == FileKind::Users) {
        return Err(Error::Settings(
            "--users: this dump holds no accounts (it was taken without --users)".to_string(),
        ));
    }
    let mut targets = BTreeMap::new();
    for f in &files {
        if let (FileKind::Database, Some(db)) = (f.kind, &f.database) {
            let to = settings
                .renames
                .iter()
                .find(|r| &r.from == db)
                .map_or(db.clone(), |r| r.to.clone());
            targets.insert(db.clone(), to);
        }
    }
    if files.is_empty() {
        return Err(Error::Settings(
            "nothing to restore: the selection matches nothing in the dump".to_string(),
        ));
    }
    let renames = targets
        .iter()
        .filter(|(from, to)| from != to)
        .map(|(from, to)| Rename {
            from: from.clone(),
            to: to.clone(),
        })
        .collect();
    Ok(Plan {
        files,
        targets,
        renames,
    })
}

/// Restores the dump in `settings.dir`. Nothing is sent to the server unless the manifest and every
/// selected file check out; a file that fails later is recorded and the rest goes on.
pub fn run(settings: &RestoreSettings, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let clock = Instant::now();
    if settings.threads == 0 {
        return Err(Error::Settings("--threads must be at least 1".to_string()));
    }
    let dump = Location::from_path(&settings.dir)?.open(Default::default(), &settings.s3)?;
    let storage = dump.as_ref();
    let manifest = store::open_dump(storage)?;
    let dump = Source::new(storage, &manifest, settings.identities.as_deref());
    if !dump.readable() {
        return Err(Error::Settings(format!(
            "the dump is encrypted (age, to {}); give --identity FILE holding a matching key",
            recipients_of(&manifest)
        )));
    }
    if manifest.status == Status::Partial && !settings.allow_partial {
        let names: Vec<String> = manifest
            .failures
            .iter()
            .map(|f| format!("{} {}", f.kind, f.name))
            .collect();
        return Err(Error::Settings(format!(
            "the dump is partial ({} objects failed: {}); restore it anyway with --allow-partial",
            names.len(),
            names.join(", ")
        )));
    }
    let plan = plan(&manifest, settings)?;
    preflight(dump, settings, &manifest, &plan)?;
    let mut main = connect(settings)?;
    let max_packet = max_allowed_packet(&mut main)?;
    check_statement_sizes(&plan, max_packet)?;
    let accounts = match settings.users {
        Some(mode) => users::plan_accounts(&mut main, dump, &plan.files, mode)?,
        None => users::AccountPlan::default(),
    };
    prepare_targets(&mut main, &plan, settings.drop_existing)?;

    let total = crate::units::total(plan.files.iter().map(|f| f.sql_bytes));
    progress.start(0, total);
    let mut run = Run {
        settings,
        dump,
        plan: &plan,
        max_packet,
        progress,
        outcome: Mutex::new(RestoreOutcome::default()),
        huge: Mutex::new(()),
        accounts,
    };
    let deferred = schema::create_tables(&mut run, &mut main)?;
    run.load_data(deferred)?;
    run.load_objects(&mut main);
    progress.finish();
    let mut outcome = run.outcome.into_inner().unwrap_or_else(|p| p.into_inner());
    outcome.databases = plan.targets.len();
    outcome.elapsed = clock.elapsed();
    Ok(outcome)
}

/// The recipients an encrypted dump names, for messages.
pub fn recipients_of(manifest: &Manifest) -> String {
    manifest
        .encryption
        .as_ref()
        .map(|e| e.recipients.join(", "))
        .unwrap_or_default()
}

/// Reads every file to restore before anything is sent: each must be exactly the file the
/// manifest describes (size, SHA-256, rows), hold only the statements its kind allows
/// ([`crate::sql::shape`]) and every restored table the rows the manifest counts.
fn preflight(
    dump: Source<'_>,
    settings: &RestoreSettings,
    manifest: &Manifest,
    plan: &Plan<'_>,
) -> Result<()> {
    let mut problems = files::check_listing(dump.storage, manifest);
    let selected = |db: &str, t: &str| settings.filter.table(db, t);
    let checked = crate::verify::check_files(
        dump,
        manifest,
        &plan.files,
        DEFAULT_MAX_STATEMENT,
        &selected,
    );
    problems.extend(checked.problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Integrity(problems))
    }
}

fn connect(settings: &RestoreSettings) -> Result<Conn> {
    let mut conn = conn::connect(&settings.conn)?;
    for s in [
        "SET SESSION net_read_timeout = 3600",
        "SET SESSION net_write_timeout = 3600",
        "SET SESSION wait_timeout = 28800",
        // Each statement commits on its own, whatever the server's default (`autocommit=0` in
        // my.cnf would roll everything back at disconnect); a statement rolled back by a lock
        // conflict can then be sent again alone.
        "SET SESSION autocommit = 1",
    ] {
        conn.query_drop(s)
            .context(|| format!("setting up the restore session ({s})"))?;
    }
    if settings.no_binlog {
        conn.query_drop("SET SESSION sql_log_bin = 0").map_err(|e| {
            Error::Unsupported(format!(
                "--no-binlog: SET sql_log_bin = 0 was refused ({}); it needs the SUPER or BINLOG ADMIN privilege",
                crate::error::server_message(&e)
            ))
        })?;
    }
    Ok(conn)
}

fn max_allowed_packet(conn: &mut Conn) -> Result<usize> {
    let v: Option<u64> = conn
        .query_first("SELECT @@max_allowed_packet")
        .context(|| "reading max_allowed_packet".to_string())?;
    Ok(v.unwrap_or(16 << 20) as usize)
}

/// Refuses, before anything runs, a dump whose largest statements the server would reject.
fn check_statement_sizes(plan: &Plan<'_>, max_packet: usize) -> Result<()> {
    for f in &plan.files {
        if let Some(n) = f.max_statement_bytes {
            if n as usize + 1024 > max_packet {
                return Err(Error::Settings(format!(
                    "{} holds a statement of {n} bytes, more than the server's max_allowed_packet ({max_packet}); \
                     raise it first (SET GLOBAL max_allowed_packet = 1073741824)",
                    f.path
                )));
            }
        }
    }
    Ok(())
}

/// Makes sure no restore merges silently into an existing database: one that holds anything is an
/// error naming it, unless `drop_existing`; an existing empty one is replaced.
fn prepare_targets(conn: &mut Conn, plan: &Plan<'_>, drop_existing: bool) -> Result<()> {
    for target in plan.targets.values() {
        let q = crate::sql::ident::quote_string(target);
        let exists: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {q}"
            ))
            .context(|| format!("looking for database {target}"))?;
        if exists.unwrap_or(0) == 0 {
            continue;
        }
        let objects: Option<u64> = conn
            .query_first(format!(
                "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {q}) \
                 + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {q}) \
                 + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {q})"
            ))
            .context(|| format!("looking into database {target}"))?;
        let objects = objects.unwrap_or(0);
        if objects > 0 && !drop_existing {
            return Err(Error::Settings(format!(
                "target database {} exists and holds {objects} tables, views, routines or events; \
                 restore under another name (--rename-database) or replace it (--drop-existing)",
                quote_ident(target)
            )));
        }
        log::info!("dropping existing database {}", quote_ident(target));
        conn.query_drop(format!("DROP DATABASE {}", quote_ident(target)))
            .context(|| format!("dropping database {target}"))?;
    }
    Ok(())
}

/// A restore in progress: settings, plan and what happened so far.
struct Run<'a> {
    settings: &'a RestoreSettings,
    /// The dump's files.
    dump: Source<'a>,
    plan: &'a Plan<'a>,
    max_packet: usize,
    progress: &'a dyn Progress,
    outcome: Mutex<RestoreOutcome>,
    /// Held while a file with huge statements loads: one such statement in memory at once.
    huge: Mutex<()>,
    /// What happens to the accounts of the dump.
    accounts: users::AccountPlan,
}

impl Run<'_> {
    fn rename_for(&self, file: &ManifestFile) -> Option<Rename> {
        let db = file.database.as_ref()?;
        let to = self.plan.targets.get(db)?;
        (to != db).then(|| Rename {
            from: db.clone(),
            to: to.clone(),
        })
    }

    fn record(&self, f: impl FnOnce(&mut RestoreOutcome)) {
        let mut o = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut o);
    }

    /// A GRANT on a table or routine of a database this restore does not create under its own
    /// name cannot be applied: it is skipped, with a warning.
    fn skip_grant(&self, file: &ManifestFile, sql: &str) -> bool {
        if file.kind != FileKind::Users {
            return false;
        }
        let GrantTarget::Object { database, .. } = grant_target(sql) else {
            return false;
        };
        if self.plan.targets.get(&database) == Some(&database) {
            return false;
        }
        self.record(|o| {
            o.warnings.push(format!(
                "{}: skipped, its object is not restored here: {sql}",
                file.path
            ))
        });
        true
    }

    /// Loads one file on `conn` with the database renames applied; records the result.
    fn load(&self, conn: &mut Conn, file: &ManifestFile, extra: &mut load::Edit<'_>) -> bool {
        let mut editor = edit::Editor::new(
            file,
            self.rename_for(file),
            &self.plan.renames,
            self.settings.keep_events_enabled,
        );
        let mut edit = |sql: &str| -> Option<String> {
            if self.skip_grant(file, sql)
                || (file.kind == FileKind::Users && self.accounts.skips(sql))
            {
                return Some(String::new());
            }
            let edited = extra(sql);
            let sql_now = edited.as_deref().unwrap_or(sql);
            editor.edit(sql_now).or(edited)
        };
        self.progress.table_started(&file.path, 0);
        let _one_at_a_time = crate::store::read::is_huge(file).then(|| self.huge.lock());
        let result = load_file(
            conn,
            self.dump,
            file,
            self.max_packet,
            &mut edit,
            &mut |n| self.progress.advance(&file.path, 0, n),
        );
        self.progress.table_finished(&file.path);
        let ok = result.is_ok();
        let mut warnings = std::mem::take(&mut editor.warnings);
        warnings.extend(editor.events_warning());
        self.record(|o| o.warnings.extend(warnings));
        self.record(|o| match result {
            Ok(()) => {
                o.files += 1;
                o.sql_bytes = o.sql_bytes.saturating_add(file.sql_bytes);
                o.bytes = o.bytes.saturating_add(file.bytes);
                o.rows = o.rows.saturating_add(file.rows.unwrap_or(0));
                if file.kind == FileKind::TableSchema {
                    o.tables += 1;
                }
            }
            Err(e) => o.failures.push(e),
        });
        ok
    }

    /// Views, routines, triggers, events and accounts, in manifest order, on one connection.
    fn load_objects(&self, conn: &mut Conn) {
        // Everything that comes after the rows, in the order the manifest keeps (FileKind::phase).
        let after_rows = |f: &&&ManifestFile| f.kind.phase() > FileKind::TableData.phase();
        for file in self.plan.files.iter().filter(after_rows) {
            if file.kind == FileKind::Users {
                self.prepare_accounts(conn, file);
            }
            self.load(conn, file, &mut |_| None);
        }
    }

    /// Before the accounts file: says what happens to existing and system accounts, and drops
    /// those `--users=replace` recreates.
    fn prepare_accounts(&self, conn: &mut Conn, file: &ManifestFile) {
        let failures = users::drop_replaced(conn, &self.accounts);
        self.record(|o| {
            o.warnings.extend(self.accounts.warnings.iter().cloned());
            for (account, error) in failures {
                o.failures.push(LoadFailure {
                    path: file.path.clone(),
                    line: 0,
                    offset: 0,
                    error: format!("dropping {account} to replace it: {error}"),
                });
            }
        });
    }

    /// Rows, in parallel over `threads` connections, largest files first; each table's deferred
    /// indexes are added by the worker that loads its last data file, so that at most `threads`
    /// statements run at once, index builds included.
    fn load_data(&self, deferred: BTreeMap<TableKey, Deferred>) -> Result<()> {
        let mut data: Vec<&ManifestFile> = self
            .plan
            .files
            .iter()
            .copied()
            .filter(|f| f.kind == FileKind::TableData)
            .collect();
        data.sort_by_key(|f| std::cmp::Reverse(f.bytes));
        let mut remaining: BTreeMap<TableKey, usize> = BTreeMap::new();
        for f in &data {
            if let (Some(db), Some(t)) = (&f.database, &f.table) {
                *remaining.entry((db.clone(), t.clone())).or_default() += 1;
            }
        }
        let queue = Mutex::new(data.into_iter().collect::<VecDeque<_>>());
        let remaining = Mutex::new(remaining);
        let deferred = Mutex::new(deferred);
        let threads = self.settings.threads.max(1);
        let mut conns = Vec::with_capacity(threads);
        for _ in 0..threads {
            conns.push(connect(self.settings)?);
        }
        std::thread::scope(|scope| {
            for conn in conns.iter_mut() {
                let (queue, remaining, deferred) = (&queue, &remaining, &deferred);
                scope.spawn(move || self.data_worker(conn, queue, remaining, deferred));
            }
        });
        // A safety net: each deferred table has data files, the last of which adds its indexes.
        let left = deferred.into_inner().unwrap_or_else(|p| p.into_inner());
        for (key, d) in &left {
            self.add_indexes(key, d);
        }
        Ok(())
    }

    fn data_worker(
        &self,
        conn: &mut Conn,
        queue: &Mutex<VecDeque<&ManifestFile>>,
        remaining: &Mutex<BTreeMap<TableKey, usize>>,
        deferred: &Mutex<BTreeMap<TableKey, Deferred>>,
    ) {
        loop {
            let next = queue.lock().ok().and_then(|mut q| q.pop_front());
            let Some(file) = next else { return };
            crate::failpoint::panic_point("restore-data");
            self.load(conn, file, &mut |_| None);
            let (Some(db), Some(t)) = (&file.database, &file.table) else {
                continue;
            };
            let key = (db.clone(), t.clone());
            let last = remaining.lock().is_ok_and(|mut r| {
                let n = r.entry(key.clone()).or_default();
                *n = n.saturating_sub(1);
                *n == 0
            });
            if last {
                let held = deferred.lock().ok().and_then(|mut d| d.remove(&key));
                if let Some(held) = held {
                    self.add_indexes(&key, &held);
                }
            }
        }
    }

    /// Adds a table's deferred secondary indexes, all in one `ALTER TABLE` (one pass over the
    /// rows). Building them can take hours on a big table, and the server says nothing
    /// meanwhile: the ALTER runs on a connection of its own, without the net timeout. When it
    /// fails (a UNIQUE index the rows break), each index is tried alone, so the table gets every
    /// index it can, and the failure names the table and the indexes that are missing.
    fn add_indexes(&self, (source_db, table): &TableKey, held: &Deferred) {
        let target = self
            .plan
            .targets
            .get(source_db)
            .map_or(source_db.as_str(), String::as_str);
        let name = qualified(target, table);
        let mut unbounded = self.settings.clone();
        unbounded.conn.net_timeout = Duration::ZERO;
        let clock = Instant::now();
        // The definitions are read as the table's definition file was: same character set and
        // sql_mode (backslash escapes in a COMMENT).
        let session = [
            "SET NAMES utf8mb4".to_string(),
            format!("SET SESSION sql_mode = '{RESTORE_SQL_MODE}'"),
        ];
        let prepared = connect(&unbounded).and_then(|mut conn| {
            for s in &session {
                conn.query_drop(s)
                    .context(|| format!("table {name}: {s}"))?;
            }
            Ok(conn)
        });
        let mut conn = match prepared {
            Ok(conn) => conn,
            Err(e) => {
                let missing = held.keys.iter().map(|k| (k.as_str(), e.to_string()));
                return self.record_missing_indexes(&name, held, missing.collect());
            }
        };
        let all = alter_adding(&name, &held.keys);
        let error = match conn.query_drop(&all) {
            Ok(()) => {
                log::debug!(
                    "table {name}: {} deferred indexes added in {:.1} s",
                    held.keys.len(),
                    clock.elapsed().as_secs_f64()
                );
                return;
            }
            Err(e) => e,
        };
        let missing: Vec<(&str, String)> = if held.keys.len() == 1 || crate::conn::is_broken(&error)
        {
            let message = crate::error::server_message(&error);
            held.keys
                .iter()
                .map(|k| (k.as_str(), message.clone()))
                .collect()
        } else {
            held.keys
                .iter()
                .filter_map(|k| {
                    let alone = alter_adding(&name, std::slice::from_ref(k));
                    conn.query_drop(alone)
                        .err()
                        .map(|e| (k.as_str(), crate::error::server_message(&e)))
                })
                .collect()
        };
        self.record_missing_indexes(&name, held, missing);
    }

    /// Records, as one failure of the table's definition file, which deferred indexes are
    /// missing and why.
    fn record_missing_indexes(&self, name: &str, held: &Deferred, missing: Vec<(&str, String)>) {
        if missing.is_empty() {
            return;
        }
        let list: Vec<String> = missing.iter().map(|(k, e)| format!("{k}: {e}")).collect();
        let error = format!(
            "table {name}: its rows are in, but {} of its {} deferred indexes could not be added: {}",
            missing.len(),
            held.keys.len(),
            list.join("; ")
        );
        self.record(|o| {
            o.failures.push(LoadFailure {
                path: held.path.clone(),
                line: 0,
                offset: 0,
                error,
            })
        });
    }
}
