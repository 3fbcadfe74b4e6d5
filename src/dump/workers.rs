//! The worker pool: one connection per worker inside the snapshot; workers take chunks of open
//! big tables first, then the next table (largest first), until nothing is left.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use mysql::Conn;

use crate::dump::chunk::{Chunk, ChunkedTable, Completion, Next};
use crate::dump::table::{self, RowRange, TableOutput, TableRead, TableSettings};
use crate::dump::{DumpedFile, Job};
use crate::error::{Error, Result};
use crate::manifest::{Failure, TableEntry};
use crate::plan::{choose_key, chunk_rows};
use crate::progress::Progress;
use crate::schema::{self, TableInfo, TableKind};
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
}

/// What the workers produced.
#[derive(Default)]
pub(super) struct Results {
    pub files: Vec<DumpedFile>,
    pub tables: Vec<(String, TableEntry)>,
    pub failures: Vec<Failure>,
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
    Rows(DumpedFile, TableRead),
    /// One range of a big table.
    Chunk(Arc<ChunkedTable>, Chunk),
}

/// The tables still to start and the big tables being handed out in chunks.
struct Scheduler {
    queue: Mutex<VecDeque<Job>>,
    open: Mutex<Vec<Arc<ChunkedTable>>>,
    /// A connection to the server was lost: the snapshot cannot be completed, everyone stops.
    lost: Mutex<Option<String>>,
}

/// Runs `jobs` on the worker connections until everything is done, while `alongside` runs on the
/// calling thread. One object failing is recorded in `results`; a connection lost to the server
/// ends the whole run with an error (the dump stays `.partial`): what was not read yet can no
/// longer be read inside the snapshot.
pub(super) fn run_workers(
    ctx: &WorkerContext<'_>,
    workers: &mut [Option<Conn>],
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
    if let Some(why) = scheduler
        .lost
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(Error::Lost(why));
    }
    outcome
}

fn worker_loop(
    ctx: &WorkerContext<'_>,
    slot: &mut Option<Conn>,
    scheduler: &Scheduler,
    shared: &Mutex<Results>,
) {
    while let Some(conn) = slot.as_mut() {
        let Some(work) = scheduler.next(ctx, conn, shared) else {
            return;
        };
        let ok = match work {
            Work::Whole(job) => whole(ctx, conn, &job, shared),
            Work::Rows(schema_file, read) => rows(ctx, conn, schema_file, &read, shared),
            Work::Chunk(t, chunk) => {
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
                let ok = result.is_ok();
                if let Some(c) = t.finish(&chunk, result) {
                    if let Ok(mut r) = shared.lock() {
                        complete(ctx, &mut r, &t, c);
                    }
                }
                ok
            }
        };
        if !ok {
            if let Err(e) = conn.ping() {
                if let Ok(mut lost) = scheduler.lost.lock() {
                    lost.get_or_insert_with(|| crate::error::server_message(&e));
                }
                *slot = None;
            }
        }
    }
}

impl Scheduler {
    /// The next piece of work: a chunk of an open big table, else the next table.
    fn next(
        &self,
        ctx: &WorkerContext<'_>,
        conn: &mut Conn,
        shared: &Mutex<Results>,
    ) -> Option<Work> {
        loop {
            if self.lost.lock().ok()?.is_some() || ctx.dir.write_failure().is_some() {
                return None;
            }
            let open: Vec<Arc<ChunkedTable>> = self.open.lock().ok()?.clone();
            for t in open {
                match t.next(conn) {
                    Ok(Next::Chunk(chunk)) => return Some(Work::Chunk(t, chunk)),
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
                    }
                }
            }
            let job = self.queue.lock().ok()?.pop_front()?;
            let target_rows = chunk_rows(
                job.table.estimated_rows,
                job.table.estimated_bytes,
                ctx.chunk_bytes,
            );
            let Some(target_rows) = target_rows.filter(|_| job.table.kind == TableKind::Base)
            else {
                return Some(Work::Whole(job));
            };
            match open_chunked(ctx, conn, &job, target_rows) {
                Ok(Opened::Chunked(t)) => {
                    if let Ok(mut open) = self.open.lock() {
                        open.push(Arc::new(t));
                    }
                }
                Ok(Opened::Single(schema_file, read)) => {
                    return Some(Work::Rows(schema_file, read))
                }
                Err(e) => {
                    if let Ok(mut r) = shared.lock() {
                        r.failed(&job.table, e.detail());
                    }
                }
            }
        }
    }

    fn close(&self, t: &Arc<ChunkedTable>) {
        if let Ok(mut open) = self.open.lock() {
            open.retain(|o| !Arc::ptr_eq(o, t));
        }
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
    conn: &mut Conn,
    job: &Job,
    target_rows: u64,
) -> Result<Opened> {
    let (schema_file, read) = table::open_table(conn, ctx.server, ctx.dir, &job.table)?;
    let key = if read.history {
        Err("system-versioned: history rows share their key".to_string())
    } else {
        choose_key(&schema::unique_index_columns(conn, &job.table)?)
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

fn whole(ctx: &WorkerContext<'_>, conn: &mut Conn, job: &Job, shared: &Mutex<Results>) -> bool {
    let id = job.id();
    ctx.progress.table_started(&id, job.table.estimated_rows);
    let outcome = in_transaction(ctx, conn, &job.table, |conn| {
        table::dump_table(conn, ctx.server, ctx.dir, job, ctx.settings, ctx.progress)
    });
    ctx.progress.table_finished(&id);
    let Ok(mut r) = shared.lock() else {
        return false;
    };
    match outcome {
        Ok(out) => {
            record(&mut r, &job.table, out);
            true
        }
        Err(e) => {
            r.failed(&job.table, e.detail());
            false
        }
    }
}

fn rows(
    ctx: &WorkerContext<'_>,
    conn: &mut Conn,
    schema_file: DumpedFile,
    read: &TableRead,
    shared: &Mutex<Results>,
) -> bool {
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
        return false;
    };
    match result {
        Ok((file, stats)) => {
            r.files.push(schema_file);
            r.files.extend(file);
            r.tables
                .push((read.table.database.clone(), stats.entry(read)));
            true
        }
        Err(e) => {
            ctx.dir.remove_file(&schema_file.record.path);
            r.failed(&read.table, e.detail());
            false
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
    conn: &mut Conn,
    table: &TableInfo,
    f: impl FnOnce(&mut Conn) -> Result<T>,
) -> Result<T> {
    if ctx.per_table {
        snapshot::begin_table_transaction(conn, &table.qualified())
            .map_err(|e| table::object_error(table, e.detail()))?;
    }
    let out = f(conn);
    if ctx.per_table {
        let ended = snapshot::end_snapshot(conn);
        if out.is_ok() {
            ended?;
        }
    }
    out
}
