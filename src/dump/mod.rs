//! `mybak dump`: lists what to dump, takes one snapshot, and writes every file of the dump directory.
//!
//! Workers (one connection each, all inside the snapshot) take tables largest first; the main
//! connection writes databases, routines, views, triggers, events and accounts meanwhile.

pub mod chunk;
pub mod fingerprint;
mod objects;
pub mod rows;
pub mod select;
pub mod space;
pub mod table;
mod workers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use mysql::Conn;

use crate::conn::{self, ConnSettings, DataConn};
use crate::crypt::Recipient;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::manifest::{
    Consistency, DatabaseEntry, DefinitionOnly, Encryption, Failure, FileKind, Manifest,
    ManifestFile, Status, ENCRYPTED_FORMAT_VERSION, FORMAT_VERSION,
};
use crate::plan::{self, Threads};
use crate::progress::Progress;
use crate::schema::{self, Catalog, TableInfo, TableKind};
use crate::sink::FileRecord;
use crate::snapshot::{self, Server};
use crate::store::lock::RootLock;
use crate::store::{
    self, default_name_format, dump_name, DumpDir, Location, RunInfo, S3Settings, SharedStorage,
    WriteOptions,
};
use crate::units::{FileMode, Span};

use objects::ObjectWriter;
use select::TableSettings;
use workers::{run_workers, Results, WorkerContext};

/// Everything a dump needs to know, resolved by the caller; `Default` gives mybak's defaults.
#[derive(Debug, Clone)]
pub struct DumpSettings {
    pub conn: ConnSettings,
    /// The output root, where dump directories are created: a local path or an `s3://` URL.
    pub output_dir: PathBuf,
    /// How object storage is reached, when the output root is there.
    pub s3: S3Settings,
    /// Encrypt the dump's files to these age recipients (public keys); none: plain files.
    pub encrypt_to: Vec<Recipient>,
    /// strftime format of the dump directory's name; `None`: [`default_name_format`].
    pub name_format: Option<String>,
    /// Name the dump by its UTC start time instead of local time.
    pub utc: bool,
    pub filter: Filter,
    pub users: bool,
    pub consistency: Consistency,
    pub lock_wait_timeout: Duration,
    /// Connections reading rows.
    pub threads: Threads,
    pub max_statement_bytes: usize,
    pub compress_level: i32,
    /// Tables estimated larger than this are cut into chunks of about this size (0: never).
    pub chunk_bytes: u64,
    /// Bytes that must stay free on the output root's file system after the (estimated) dump.
    pub min_free: u64,
    /// Permissions of the dump's files (and, with search bits, its directories).
    pub file_mode: FileMode,
    /// Identifies this run in logs, the run marker and the manifest.
    pub run_id: String,
}

/// The number of CPUs here: the default number of connections of restore and verify, and what
/// a dump's `--threads auto` starts from.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for DumpSettings {
    fn default() -> Self {
        DumpSettings {
            conn: ConnSettings::default(),
            output_dir: PathBuf::from("./backups"),
            s3: S3Settings::default(),
            encrypt_to: Vec::new(),
            name_format: None,
            utc: false,
            filter: Filter::default(),
            users: false,
            consistency: Consistency::Snapshot,
            lock_wait_timeout: Duration::from_secs(60),
            threads: Threads::Auto,
            max_statement_bytes: 1 << 20,
            compress_level: -3,
            chunk_bytes: 64 << 20,
            min_free: 0,
            file_mode: FileMode::PRIVATE,
            run_id: String::new(),
        }
    }
}

impl DumpSettings {
    /// Refuses values no dump can run with.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Settings(m));
        if self.threads == Threads::Count(0) {
            return fail("--threads must be at least 1".to_string());
        }
        if self.max_statement_bytes < 1024 {
            return fail(format!(
                "--max-statement-bytes {}: expected a size of at least 1K, like 1M",
                self.max_statement_bytes
            ));
        }
        if !(-7..=22).contains(&self.compress_level) || self.compress_level == 0 {
            return fail(format!(
                "--compress-level {}: expected 1 to 22, or -1 to -7 for zstd's fast levels",
                self.compress_level
            ));
        }
        Ok(())
    }

    /// Refuses a net timeout the global lock could outlast: the server answers the lock only
    /// after up to lock-wait-timeout, and a client that gave up first would lose the answer
    /// (which names the blocking statement). Separate from [`validate`](Self::validate)
    /// because the connection settings are resolved after the dump's own.
    pub fn check_timeouts(&self) -> Result<()> {
        let net = self.conn.net_timeout;
        // lock_global waits at least a second.
        let lock_wait = self.lock_wait_timeout.max(Duration::from_secs(1));
        if self.consistency == Consistency::Snapshot && !net.is_zero() && net <= lock_wait {
            return Err(Error::Settings(format!(
                "--net-timeout {} must be longer than --lock-wait-timeout {}: the server may \
                 wait that long for the global lock before it answers",
                Span(net),
                Span(self.lock_wait_timeout)
            )));
        }
        Ok(())
    }

    /// The name format in effect.
    pub fn name_format(&self) -> &str {
        self.name_format
            .as_deref()
            .unwrap_or(default_name_format(self.utc))
    }
}

/// A finished dump: where it is and what its manifest says.
#[derive(Debug)]
pub struct DumpOutcome {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub elapsed: Duration,
    /// The output root, and its lock (on a local root), still held (so the caller can prune
    /// under it).
    pub root: SharedStorage,
    pub lock: Option<RootLock>,
}

/// A file written by the dump, with what the manifest needs to know of it.
#[derive(Debug, Clone)]
pub struct DumpedFile {
    pub record: FileRecord,
    pub kind: FileKind,
    pub database: Option<String>,
    pub table: Option<String>,
    pub rows: Option<u64>,
    pub max_statement_bytes: Option<u64>,
}

/// One unit of work for a worker: a table or sequence.
#[derive(Debug, Clone)]
pub struct Job {
    pub table: TableInfo,
}

impl Job {
    /// The name progress reports use.
    pub fn id(&self) -> String {
        format!("{}.{}", self.table.database, self.table.name)
    }
}

/// A worker connection, set up for dumping.
fn connect(settings: &ConnSettings, server: &Server) -> Result<DataConn> {
    let mut conn = DataConn::connect(settings)?;
    snapshot::prepare_session(&mut conn, server)?;
    Ok(conn)
}

/// The number of worker connections: as asked, or chosen from the CPUs here and the server's
/// load; never more than there are tables to read.
fn connections(threads: Threads, main: &mut Conn, server: &Server, catalog: &Catalog) -> usize {
    let n = match threads {
        Threads::Count(n) => n,
        Threads::Auto => {
            let load = snapshot::load(main, server, default_threads());
            let n = plan::auto_threads(load);
            log::info!(
                "{n} connection{} (auto: {} CPUs here, {} on the server, {} other queries running)",
                if n == 1 { "" } else { "s" },
                load.client_cpus,
                load.server_cpus
                    .map_or_else(|| "unknown".to_string(), |c| c.to_string()),
                load.busy
            );
            n
        }
    };
    n.clamp(1, catalog.tables.len().max(1))
}

/// Runs a dump. Errors before the dump directory exists (settings, output root, lock,
/// connection, selection, space) leave nothing behind; an object that fails later is recorded in
/// the manifest and the dump goes on.
pub fn run(settings: &DumpSettings, progress: &dyn Progress) -> Result<DumpOutcome> {
    let started = Utc::now();
    let clock = Instant::now();
    settings.validate()?;
    settings.check_timeouts()?;
    let name = dump_name(settings.name_format(), started, settings.utc)?;
    let root = Location::from_path(&settings.output_dir)?.open(settings.file_mode, &settings.s3)?;
    store::check_storage(root.as_ref())?;
    let mut main = conn::connect(&settings.conn)?;
    let server = Server::detect(&mut main)?;
    snapshot::prepare_session(&mut main, &server)?;
    let catalog = schema::list(&mut main, &settings.filter)?;
    for warning in &catalog.warnings {
        log::warn!("{warning}");
    }
    let source_bytes = space::check(root.as_ref(), &catalog, settings.min_free)?;
    // Nothing is written before this point: the root and its lock file come last (object
    // storage has neither: a bucket is not created, and runs are told apart by their names).
    let lock = match root.local_dir() {
        Some(dir) => {
            store::create_root(dir)?;
            Some(RootLock::acquire(dir, "mybak dump")?)
        }
        None => None,
    };
    // DDL is held off from here to the end; the tables are listed again under it, so every
    // definition read from now on is the one at the snapshot.
    let guard = take_ddl_guard(settings, &server)?;
    let catalog = match guard {
        Some(_) => schema::list(&mut main, &settings.filter)?,
        None => catalog,
    };
    let details = read_details(settings, &mut main, &catalog, guard.is_some())?;
    log::info!(
        "server {} on {}: {} databases, {} tables and views selected",
        server.info.version,
        server.info.host,
        catalog.databases.len(),
        catalog.tables.len()
    );
    let threads = connections(settings.threads, &mut main, &server, &catalog);
    let options = WriteOptions {
        recipients: settings.encrypt_to.clone(),
        compress_level: settings.compress_level,
        compress_workers: plan::compress_workers(default_threads(), threads),
    };
    let run = RunInfo::current(&settings.run_id, started);
    let dump_dir = DumpDir::create(root.clone(), &name, options, &run)?;
    progress.writing_to(&dump_dir.path());

    let guarded = Guarded {
        backup_stage: guard
            .as_ref()
            .is_some_and(snapshot::DdlGuard::holds_backup_stage),
        ours: guard
            .iter()
            .map(snapshot::DdlGuard::connection_id)
            .collect(),
    };
    let (workers, binlog, global, results) =
        match begin(settings, threads, &server, &mut main, &guarded) {
            Ok(v) => v,
            Err(e) => {
                dump_dir.discard();
                return Err(e);
            }
        };
    // A connection that breaks from here on ends the run with the dump left unfinished.
    let results = read_all(
        settings, &server, &catalog, &details, &mut main, &dump_dir, workers, global, results,
        progress,
    )
    .map_err(|e| e.into_lost(settings.conn.net_timeout))?;
    progress.finish();
    if let Some(g) = guard {
        g.release();
    }
    if let Some(e) = dump_dir.write_failure() {
        return Err(e);
    }

    let mut manifest = build_manifest(settings, &server, binlog, &catalog, results, started);
    manifest.source_bytes = Some(source_bytes);
    let path = dump_dir.finish(&manifest)?;
    Ok(DumpOutcome {
        path,
        manifest,
        elapsed: clock.elapsed(),
        root,
        lock,
    })
}

/// Reads every table (non-transactional ones while the lock holds, then the rest) on the
/// workers while the main connection writes the other objects; returns what was written.
#[allow(clippy::too_many_arguments)]
fn read_all(
    settings: &DumpSettings,
    server: &Server,
    catalog: &Catalog,
    details: &schema::Details,
    main: &mut Conn,
    dir: &DumpDir,
    mut workers: Vec<Option<DataConn>>,
    lock: Option<snapshot::GlobalLock>,
    mut results: Results,
    progress: &dyn Progress,
) -> Result<Results> {
    let table_settings = TableSettings {
        max_statement_bytes: settings.max_statement_bytes,
    };
    let jobs: Vec<Job> = crate::plan::largest_first(&catalog.tables)
        .into_iter()
        .map(|i| &catalog.tables[i])
        .filter(|t| t.kind != TableKind::View)
        .map(|t| Job { table: t.clone() })
        .collect();
    let (locked_jobs, free_jobs): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|j| lock.is_some() && !j.table.transactional());
    // The tables whose rows will be read (not views, nor tables whose rows live elsewhere).
    let (mut est_rows, mut est_bytes) = (0, 0);
    for job in locked_jobs.iter().chain(&free_jobs) {
        if job.table.rows_elsewhere().is_none() {
            progress.planned(
                &job.id(),
                job.table.estimated_rows,
                job.table.estimated_bytes,
            );
            est_rows = job.table.estimated_rows.saturating_add(est_rows);
            est_bytes = job.table.estimated_bytes.saturating_add(est_bytes);
        }
    }
    progress.start(est_rows, est_bytes);

    let ctx = WorkerContext {
        server,
        dir,
        settings: table_settings,
        per_table: settings.consistency == Consistency::PerTable,
        chunk_bytes: chunk_bytes(settings),
        progress,
        net_timeout: settings.conn.net_timeout,
        details,
    };
    if let Some(lock) = lock {
        if !locked_jobs.is_empty() {
            log::info!(
                "reading {} non-transactional tables under the global lock",
                locked_jobs.len()
            );
            run_workers(&ctx, &mut workers, locked_jobs, &mut results, |_| Ok(()))?;
        }
        snapshot::release(main, lock)?;
        log::info!("global lock released");
    }
    let mut object_results = None;
    run_workers(&ctx, &mut workers, free_jobs, &mut results, |_| {
        object_results = Some(write_objects(main, dir, settings, catalog));
        Ok(())
    })?;
    let (object_files, object_failures, system_accounts) =
        object_results.unwrap_or_else(|| Ok((vec![], vec![], vec![])))?;
    results.files.extend(object_files);
    results.failures.extend(object_failures);
    results.system_accounts = system_accounts;
    for w in workers.iter_mut().flatten() {
        if settings.consistency == Consistency::Snapshot {
            let _ = snapshot::end_snapshot(w);
        }
    }
    Ok(results)
}

/// Tables estimated larger than this are cut into chunks (0: never). Chunks of one table are
/// one point in time only inside one snapshot.
fn chunk_bytes(settings: &DumpSettings) -> u64 {
    match settings.consistency {
        Consistency::PerTable => 0,
        _ => settings.chunk_bytes,
    }
}

/// The columns (and keys) of the catalog's tables, read at once; `guarded`: DDL is held off
/// from before the catalog was listed until the dump ends, so they cannot change (see
/// [`schema::Details`]). When the batch read fails (short of a broken connection), every table
/// reads its own, as it would without it.
fn read_details(
    settings: &DumpSettings,
    main: &mut Conn,
    catalog: &Catalog,
    guarded: bool,
) -> Result<schema::Details> {
    let chunk_bytes = chunk_bytes(settings);
    let started = Instant::now();
    match schema::Details::read(main, &catalog.tables, guarded, |t| {
        crate::plan::chunk_target(t, chunk_bytes).is_some()
    }) {
        Ok(details) => {
            log::info!(
                "read the columns of {} tables in {} {} ({:.2} s){}",
                details.tables(),
                details.queries(),
                if details.queries() == 1 {
                    "query"
                } else {
                    "queries"
                },
                started.elapsed().as_secs_f64(),
                if guarded {
                    ""
                } else {
                    "; DDL is not held off: each table's definition is checked at its turn"
                }
            );
            Ok(details)
        }
        Err(e) if e.broken_connection().is_some() => Err(e),
        Err(e) => {
            log::warn!("{e}; each table's columns are read on their own");
            Ok(schema::Details::default())
        }
    }
}

/// The DDL guard for this dump: in snapshot mode it must be had where the server has one; in
/// the other modes it is taken when the account may (each table is locked on its own otherwise).
fn take_ddl_guard(settings: &DumpSettings, server: &Server) -> Result<Option<snapshot::DdlGuard>> {
    let request = snapshot::LockRequest {
        timeout: settings.lock_wait_timeout,
        watch_with: Some(&settings.conn),
        ours: &[],
        backup_stage_taken: false,
    };
    let guard = snapshot::DdlGuard::take(&settings.conn, server, request)?;
    if guard.is_none() && settings.consistency == Consistency::Snapshot {
        log::warn!(
            "this server ({}) cannot hold off DDL during the dump: a table altered meanwhile may not match the snapshot",
            server.info.version
        );
    }
    Ok(guard)
}

/// What the DDL guard holds.
struct Guarded {
    /// The server's one `BACKUP STAGE` (the snapshot lock is then FTWRL).
    backup_stage: bool,
    /// Its connection, never named as a blocker.
    ours: Vec<u32>,
}

type Begun = (
    Vec<Option<DataConn>>,
    Option<crate::manifest::Binlog>,
    Option<snapshot::GlobalLock>,
    Results,
);

/// Opens the worker connections inside one snapshot (or none), and reads the binlog coordinates.
fn begin(
    settings: &DumpSettings,
    threads: usize,
    server: &Server,
    main: &mut Conn,
    guarded: &Guarded,
) -> Result<Begun> {
    match settings.consistency {
        Consistency::Snapshot => {
            // No worker is open yet: the main connection (excluded by itself) is the only one of ours.
            let request = snapshot::LockRequest {
                timeout: settings.lock_wait_timeout,
                watch_with: Some(&settings.conn),
                ours: &guarded.ours,
                backup_stage_taken: guarded.backup_stage,
            };
            let lock = snapshot::lock_global(main, server, request)?;
            let opened = (|| -> Result<_> {
                let binlog = snapshot::binlog_coordinates(main, server)?;
                let mut workers = Vec::with_capacity(threads);
                for _ in 0..threads {
                    let mut c = connect(&settings.conn, server)?;
                    snapshot::begin_snapshot(&mut c)?;
                    workers.push(Some(c));
                }
                Ok((workers, binlog))
            })();
            match opened {
                Ok((workers, binlog)) => Ok((workers, binlog, Some(lock), Results::default())),
                Err(e) => {
                    // A broken connection is not used again; closing it releases the lock.
                    if e.broken_connection().is_none() {
                        let _ = snapshot::release(main, lock);
                    }
                    Err(e)
                }
            }
        }
        Consistency::PerTable | Consistency::None => {
            let binlog = snapshot::binlog_coordinates(main, server)?;
            let mut workers = Vec::with_capacity(threads);
            for _ in 0..threads {
                workers.push(Some(connect(&settings.conn, server)?));
            }
            Ok((workers, binlog, None, Results::default()))
        }
    }
}

/// Object files, the objects that failed, the system accounts left out.
type ObjectFiles = (Vec<DumpedFile>, Vec<Failure>, Vec<String>);

fn write_objects(
    main: &mut Conn,
    dir: &DumpDir,
    settings: &DumpSettings,
    catalog: &Catalog,
) -> Result<ObjectFiles> {
    let mut w = ObjectWriter::new(main, dir);
    w.databases(catalog)?;
    w.routines(catalog)?;
    let views: Vec<&TableInfo> = catalog
        .tables
        .iter()
        .filter(|t| t.kind == TableKind::View)
        .collect();
    w.views(&views)?;
    w.invisible(catalog)?;
    w.triggers(catalog)?;
    w.events(catalog)?;
    if settings.users {
        w.users(catalog)?;
    }
    Ok((w.files, w.failures, w.system_accounts))
}

fn build_manifest(
    settings: &DumpSettings,
    server: &Server,
    binlog: Option<crate::manifest::Binlog>,
    catalog: &Catalog,
    results: Results,
    started: chrono::DateTime<Utc>,
) -> Manifest {
    let Results {
        files,
        mut tables,
        failures,
        system_accounts,
    } = results;
    // Views keep the dependency order they were written in; everything else sorts by name.
    let mut indexed: Vec<(usize, DumpedFile)> = files.into_iter().enumerate().collect();
    indexed.sort_by(|(ia, a), (ib, b)| {
        a.kind.phase().cmp(&b.kind.phase()).then_with(|| {
            if a.kind == FileKind::View {
                ia.cmp(ib)
            } else {
                (&a.database, &a.table, &a.record.path).cmp(&(
                    &b.database,
                    &b.table,
                    &b.record.path,
                ))
            }
        })
    });
    tables.sort_by(|a, b| (&a.0, &a.1.name).cmp(&(&b.0, &b.1.name)));
    let databases = catalog
        .databases
        .iter()
        .map(|db| DatabaseEntry {
            name: db.clone(),
            tables: tables
                .iter()
                .filter(|(d, _)| d == db)
                .map(|(_, t)| t.clone())
                .collect(),
            objects: objects_of(catalog, db),
            definition_only: definition_only(catalog, db, &failures),
        })
        .collect();
    Manifest {
        format_version: if settings.encrypt_to.is_empty() {
            FORMAT_VERSION
        } else {
            ENCRYPTED_FORMAT_VERSION
        },
        tool: "mybak".to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        server: server.info.clone(),
        started_at: started.to_rfc3339_opts(SecondsFormat::Millis, true),
        finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        status: if failures.is_empty() {
            Status::Complete
        } else {
            Status::Partial
        },
        consistency: settings.consistency,
        run_id: (!settings.run_id.is_empty()).then(|| settings.run_id.clone()),
        source_bytes: None,
        binlog,
        failures,
        system_accounts_left_out: system_accounts,
        encryption: (!settings.encrypt_to.is_empty()).then(|| Encryption {
            method: "age".to_string(),
            recipients: settings
                .encrypt_to
                .iter()
                .map(ToString::to_string)
                .collect(),
        }),
        databases,
        files: indexed
            .into_iter()
            .map(|(_, f)| ManifestFile {
                path: f.record.path,
                sha256: f.record.sha256,
                bytes: f.record.bytes,
                sql_bytes: f.record.sql_bytes,
                etag: f.record.etag,
                kind: f.kind,
                database: f.database,
                table: f.table,
                rows: f.rows,
                max_statement_bytes: f.max_statement_bytes,
            })
            .collect(),
    }
}

/// The tables of `db` dumped without rows (those that did not fail), with the reason.
fn definition_only(catalog: &Catalog, db: &str, failures: &[Failure]) -> Vec<DefinitionOnly> {
    catalog
        .tables
        .iter()
        .filter(|t| t.database == db)
        .filter(|t| {
            !failures
                .iter()
                .any(|f| f.database.as_deref() == Some(db) && f.name == t.name)
        })
        .filter_map(|t| {
            Some(DefinitionOnly {
                name: t.name.clone(),
                engine: t.engine.clone()?,
                reason: t.rows_elsewhere()?.to_string(),
            })
        })
        .collect()
}

fn objects_of(catalog: &Catalog, db: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in catalog.tables.iter().filter(|t| t.database == db) {
        match t.kind {
            TableKind::View => out.push(format!("view {}", t.name)),
            TableKind::Sequence => out.push(format!("sequence {}", t.name)),
            _ => {}
        }
    }
    for r in catalog.routines.iter().filter(|r| r.database == db) {
        out.push(format!("{} {}", r.kind.to_ascii_lowercase(), r.name));
    }
    for t in catalog.triggers.iter().filter(|t| t.database == db) {
        out.push(format!("trigger {}", t.name));
    }
    for e in catalog.events.iter().filter(|e| e.database == db) {
        out.push(format!("event {}", e.name));
    }
    out
}
