//! The worker pool: one connection per worker inside the snapshot; workers take chunks of open
//! big tables first, then the next table (largest first), until nothing is left.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::conn::DataConn;

use crate::dump::chunk::{Chunk, ChunkedTable, Completion, Next};
use crate::dump::select::{RowRange, TableRead, TableSettings};
use crate::dump::table::{self, TableOutput};
use crate::dump::{DumpedFile, Job};
use crate::error::{Error, Result};
use crate::manifest::{Failure, TableEntry};
use crate::plan::{choose_key, chunk_target};
use crate::progress::Progress;
use crate::schema::{self, Details, TableInfo, TableKind};
use crate::snapshot::{self, Server};
use crate::store::DumpDir;

/// What the workers share.
pub(super) struct WorkerContext<'a> {
    pub server: &'a Server,
    pub dir: &'a DumpDir,
    pub settings: TableSettings,
    /// Each table in its own transaction.
    pub per_table: bool,
    /// Tables estimated larger than this are cut into chunks (0: never).
    pub chunk_bytes: u64,
    pub progress: &'a dyn Progress,
    /// The connections' net timeout, for messages.
    pub net_timeout: Duration,
    /// The tables' columns and keys, read once for the whole dump.
    pub details: &'a Details,
}

/// What the workers produced.
#[derive(Default)]
pub(super) struct Results {
    pub files: Vec<DumpedFile>,
    pub tables: Vec<(String, TableEntry)>,
    pub failures: Vec<Failure>,
    /// The system accounts left out of `users.sql.zst`.
    pub system_accounts: Vec<String>,
}

impl Results {
    fn failed(&mut self, table: &TableInfo, error: String) {
        self.failures.push(Failure {
            kind: kind_name(table).to_string(),
            database: Some(table.database.clone()),
            name: table.name.clone(),
            error,
        });
    }
}

fn kind_name(t: &TableInfo) -> &'static str {
    match t.kind {
        TableKind::Sequence => "sequence",
        TableKind::View => "view",
        _ => "table",
    }
}

/// One unit of work.
enum Work {
    /// A table (or sequence) read in one stream, schema file included.
    Whole(Job),
    /// The rows of a table whose schema file is written already, in one stream.
    Rows(Box<DumpedFile>, TableRead),
    /// One range of a big table.
    Chunk(Arc<ChunkedTable>, Chunk),
}

impl Work {
    /// What the work is doing, for a message: `reading table `shop`.`orders` (chunk 3)`.
    fn during(&self) -> String {
        match self {
            Work::Whole(job) => reading(&job.table, None),
            Work::Rows(_, read) => reading(&read.table, None),
            Work::Chunk(t, chunk) => reading(&t.read.table, chunk.range.chunk),
        }
    }
}

/// `reading table `d`.`t``, with the chunk number when there is one.
fn reading(table: &TableInfo, chunk: Option<u32>) -> String {
    let chunk = chunk.map(|n| format!(" (chunk {n})")).unwrap_or_default();
    format!("reading {} {}{chunk}", kind_name(table), table.qualified())
}

/// The tables still to start and the big tables being handed out in chunks.
struct Scheduler {
    queue: Mutex<VecDeque<Job>>,
    open: Mutex<Vec<Arc<ChunkedTable>>>,
    /// A connection to the server was lost: the snapshot cannot be completed, everyone stops.
    lost: Mutex<Option<Error>>,
}

/// Runs `jobs` on the worker connections until everything is done, while `alongside` runs on the
/// calling thread. One object failing is recorded in `results`; a connection lost to the server
/// ends the whole run with an error (the dump stays `.partial`): what was not read yet can no
/// longer be read inside the snapshot.
pub(super) fn run_workers(
    ctx: &WorkerContext<'_>,
    workers: &mut [Option<DataConn>],
    jobs: Vec<Job>,
    results: &mut Results,
    alongside: impl FnOnce(()) -> Result<()>,
) -> Result<()> {
    let scheduler = Scheduler {
        queue: Mutex::new(jobs.into_iter().collect()),
        open: Mutex::new(Vec::new()),
        lost: Mutex::new(None),
    };
    let shared = Mutex::new(std::mem::take(results));
    let outcome = std::thread::scope(|scope| {
        for slot in workers.iter_mut() {
            let (scheduler, shared) = (&scheduler, &shared);
            scope.spawn(move || worker_loop(ctx, slot, scheduler, shared));
        }
        alongside(())
    });
    *results = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = ctx.dir.write_failure() {
        return Err(e);
    }
    if let Some(lost) = scheduler
        .lost
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(lost);
    }
    outcome
}

fn worker_loop(
    ctx: &WorkerContext<'_>,
    slot: &mut Option<DataConn>,
    scheduler: &Scheduler,
    shared: &Mutex<Results>,
) {
    while let Some(conn) = slot.as_mut() {
        let work = match scheduler.next(ctx, conn, shared) {
            Ok(Some(work)) => work,
            Ok(None) => return,
            Err(lost) => {
                scheduler.lose(lost);
                *slot = None;
                return;
            }
        };
        let during = work.during();
        let result = match work {
            Work::Whole(job) => whole(ctx, conn, &job, shared),
            Work::Rows(schema_file, read) => rows(ctx, conn, *schema_file, &read, shared),
            Work::Chunk(t, chunk) => chunk_of(ctx, conn, &t, &chunk, shared),
        };
        if let Err(e) = result {
            if let Some(lost) = lost_connection(ctx, conn, &e, &during) {
                scheduler.lose(lost);
                *slot = None;
            }
        }
    }
}

/// The error that ends the run when the failure `e` of `during` means the connection is gone:
/// the error says so (a timeout, a network error: the connection must not be used again), or
/// a ping gets no answer.
fn lost_connection(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    e: &Error,
    during: &str,
) -> Option<Error> {
    if let Some(cause) = e.broken_connection() {
        return Some(Error::lost(during, cause, ctx.net_timeout));
    }
    let ping = conn.ping().err()?;
    Some(Error::lost(during, &ping, ctx.net_timeout))
}

/// Reads one chunk of a big table; the table's completion is recorded with its last chunk.
fn chunk_of(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    t: &ChunkedTable,
    chunk: &Chunk,
    shared: &Mutex<Results>,
) -> Result<()> {
    let id = format!("{}.{}", t.read.table.database, t.read.table.name);
    ctx.progress.table_started(&id, 0);
    let result = table::data_file(
        conn,
        ctx.server,
        ctx.dir,
        &t.read,
        &chunk.range,
        ctx.settings,
        ctx.progress,
    );
    ctx.progress.table_finished(&id);
    let (outcome, result) = match result {
        Ok(v) => (Ok(()), Ok(v)),
        // The chunk's table records the message; the error itself goes back to the worker.
        Err(e) => {
            let message = e.detail();
            (
                Err(e),
                Err(Error::Object {
                    object: id,
                    message,
                }),
            )
        }
    };
    if let Some(c) = t.finish(chunk, result) {
        if let Ok(mut r) = shared.lock() {
            complete(ctx, &mut r, t, c);
        }
    }
    outcome
}

impl Scheduler {
    /// Records the first lost connection; everyone stops.
    fn lose(&self, lost: Error) {
        if let Ok(mut slot) = self.lost.lock() {
            slot.get_or_insert(lost);
        }
    }

    /// The next piece of work: a chunk of an open big table, else the next table. `Err`: the
    /// connection broke while cutting a table into chunks, and the run must end.
    fn next(
        &self,
        ctx: &WorkerContext<'_>,
        conn: &mut DataConn,
        shared: &Mutex<Results>,
    ) -> Result<Option<Work>> {
        loop {
            if self.lost.lock().map_or(true, |l| l.is_some()) || ctx.dir.write_failure().is_some() {
                return Ok(None);
            }
            let open: Vec<Arc<ChunkedTable>> = match self.open.lock() {
                Ok(open) => open.clone(),
                Err(_) => return Ok(None),
            };
            for t in open {
                match t.next(conn) {
                    Ok(Next::Chunk(chunk)) => return Ok(Some(Work::Chunk(t, chunk))),
                    Ok(Next::HandedOut(completion)) => {
                        self.close(&t);
                        if let (Some(c), Ok(mut r)) = (completion, shared.lock()) {
                            complete(ctx, &mut r, &t, c);
                        }
                    }
                    Err(e) => {
                        self.close(&t);
                        if let (Some(c), Ok(mut r)) = (t.fail(&e), shared.lock()) {
                            complete(ctx, &mut r, &t, c);
                        }
                        broken(ctx, &e, &t.read.table)?;
                    }
                }
            }
            let Some(job) = self.queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                return Ok(None);
            };
            if let Some(work) = self.start(ctx, conn, job, shared)? {
                return Ok(Some(work));
            }
        }
    }

    /// Starts `job`: a table to read whole, or a big table opened for chunks (`None`: its
    /// chunks are handed out from now on) or that failed to open.
    fn start(
        &self,
        ctx: &WorkerContext<'_>,
        conn: &mut DataConn,
        job: Job,
        shared: &Mutex<Results>,
    ) -> Result<Option<Work>> {
        let Some(target_rows) = chunk_target(&job.table, ctx.chunk_bytes) else {
            return Ok(Some(Work::Whole(job)));
        };
        match open_chunked(ctx, conn, &job, target_rows) {
            Ok(Opened::Chunked(t)) => {
                if let Ok(mut open) = self.open.lock() {
                    open.push(Arc::new(t));
                }
                Ok(None)
            }
            Ok(Opened::Single(schema_file, read)) => {
                Ok(Some(Work::Rows(Box::new(schema_file), read)))
            }
            Err(e) => {
                if let Ok(mut r) = shared.lock() {
                    r.failed(&job.table, e.detail());
                }
                broken(ctx, &e, &job.table)?;
                Ok(None)
            }
        }
    }

    fn close(&self, t: &Arc<ChunkedTable>) {
        if let Ok(mut open) = self.open.lock() {
            open.retain(|o| !Arc::ptr_eq(o, t));
        }
    }
}

/// `Err` (the run-ending [`Error::Lost`]) when `e`, met while reading `table`, broke the
/// connection.
fn broken(ctx: &WorkerContext<'_>, e: &Error, table: &TableInfo) -> Result<()> {
    match e.broken_connection() {
        Some(cause) => Err(Error::lost(reading(table, None), cause, ctx.net_timeout)),
        None => Ok(()),
    }
}

enum Opened {
    Chunked(ChunkedTable),
    /// No usable key (or no rows): one stream; the schema file is written.
    Single(DumpedFile, TableRead),
}

/// Writes the schema file of a big table and prepares its chunks.
fn open_chunked(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    job: &Job,
    target_rows: u64,
) -> Result<Opened> {
    let (schema_file, read) =
        table::open_table(conn, ctx.server, ctx.dir, &job.table, ctx.details)?;
    let key = if read.history {
        Err("system-versioned: history rows share their key".to_string())
    } else {
        let keys = match ctx.details.unique_index_columns(&job.table) {
            Some(keys) => keys,
            None => schema::unique_index_columns(conn, &job.table)?,
        };
        choose_key(&keys)
    };
    let chunked = match key {
        Ok(key) => ChunkedTable::open(conn, read.clone(), key, target_rows, schema_file.clone())?,
        Err(why) => {
            log::warn!(
                "{}: bigger than --chunk-size but read in one stream: {why}",
                job.table.qualified()
            );
            None
        }
    };
    Ok(match chunked {
        Some(t) => Opened::Chunked(t),
        None => Opened::Single(schema_file, read),
    })
}

fn whole(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    job: &Job,
    shared: &Mutex<Results>,
) -> Result<()> {
    let id = job.id();
    crate::failpoint::panic_point("dump-table");
    ctx.progress.table_started(&id, job.table.estimated_rows);
    let outcome = in_transaction(ctx, conn, &job.table, |conn| {
        table::dump_table(
            conn,
            ctx.server,
            ctx.dir,
            job,
            ctx.settings,
            ctx.progress,
            ctx.details,
        )
    });
    ctx.progress.table_finished(&id);
    let Ok(mut r) = shared.lock() else {
        return Err(poisoned(&job.table));
    };
    match outcome {
        Ok(out) => {
            record(&mut r, &job.table, out);
            Ok(())
        }
        Err(e) => {
            r.failed(&job.table, e.detail());
            Err(e)
        }
    }
}

/// The error of a worker that finds the shared results poisoned (another worker panicked).
fn poisoned(table: &TableInfo) -> Error {
    Error::Object {
        object: table.qualified(),
        message: "a worker died; the results cannot be recorded".to_string(),
    }
}

fn rows(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    schema_file: DumpedFile,
    read: &TableRead,
    shared: &Mutex<Results>,
) -> Result<()> {
    let id = format!("{}.{}", read.table.database, read.table.name);
    ctx.progress.table_started(&id, read.table.estimated_rows);
    let result = table::data_file(
        conn,
        ctx.server,
        ctx.dir,
        read,
        &RowRange::default(),
        ctx.settings,
        ctx.progress,
    );
    ctx.progress.table_finished(&id);
    let Ok(mut r) = shared.lock() else {
        return Err(poisoned(&read.table));
    };
    match result {
        Ok((file, stats)) => {
            r.files.push(schema_file);
            r.files.extend(file);
            r.tables
                .push((read.table.database.clone(), stats.entry(read)));
            Ok(())
        }
        Err(e) => {
            ctx.dir.remove_file(&schema_file.record.path);
            r.failed(&read.table, e.detail());
            Err(e)
        }
    }
}

fn record(r: &mut Results, table: &TableInfo, out: TableOutput) {
    r.files.extend(out.files);
    if let Some(entry) = out.entry {
        r.tables.push((table.database.clone(), entry));
    }
}

/// Records a chunked table's completion; a failed one leaves no file behind.
fn complete(ctx: &WorkerContext<'_>, r: &mut Results, t: &ChunkedTable, c: Completion) {
    match c {
        Completion::Done { files, entry } => {
            r.files.extend(files);
            r.tables.push((t.read.table.database.clone(), entry));
        }
        Completion::Failed { error, files } => {
            for f in files {
                ctx.dir.remove_file(&f);
            }
            r.failed(&t.read.table, error);
        }
    }
}

/// Runs `f` inside the table's own transaction in per-table mode (its metadata lock first).
fn in_transaction<T>(
    ctx: &WorkerContext<'_>,
    conn: &mut DataConn,
    table: &TableInfo,
    f: impl FnOnce(&mut DataConn) -> Result<T>,
) -> Result<T> {
    if ctx.per_table {
        snapshot::begin_table_transaction(conn, &table.qualified())?;
    }
    let out = f(conn);
    let broken = out.as_ref().is_err_and(|e| e.broken_connection().is_some());
    if ctx.per_table && !broken {
        let ended = snapshot::end_snapshot(conn);
        if out.is_ok() {
            ended?;
        }
    }
    out
}
