//! `mybak binlog`: follows a server's binlog as a replica and keeps byte-identical copies of
//! its files under `ROOT/binlog/<server>/`, each compressed, checksummed and indexed once the
//! server moves on to the next file.
//!
//! The file being received lives in a local spool (the archive directory itself on a local
//! root) as `NAME.open`. A run that resumes cuts it back to its last whole transaction and
//! asks the server for the rest from there, so nothing is lost or doubled across a killed
//! archiver, a restarted server or a broken link. Events the server makes up for the stream
//! (rotates to the next file, the format description re-sent on resume, heartbeats) are never
//! written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use super::event::{self, kind, Event, Header};
use super::index::{self, binlog_order, FileEntry};
use super::seal::{seal_file, Sealed};
use super::spool::{OpenFile, Spool};
use super::wire::{Packet, ReplicaConn};
use super::BinlogError;
use crate::conn::{self, ConnSettings};
use crate::error::{Error, QueryContext, Result};
use crate::store::lock::RootLock;
use crate::store::storage::SharedStorage;
use crate::units::FileMode;

/// How `mybak binlog` runs.
#[derive(Debug, Clone)]
pub struct ArchiveSettings {
    pub conn: ConnSettings,
    /// The root the archive goes below (`ROOT/binlog/<server>/`).
    pub storage: SharedStorage,
    /// Where the file being received is kept; `None`: the archive directory (local roots only).
    pub spool_dir: Option<PathBuf>,
    /// Permissions of the spool's files and directories (default 0600/0700).
    pub spool_mode: FileMode,
    /// The server id this replica announces (it must differ from every other replica's).
    pub replica_id: u32,
    /// How often the server sends a heartbeat when it has nothing to send; a link silent for
    /// three times as long (5 s at least) is taken as dead.
    pub heartbeat: Duration,
    /// Catch up and exit instead of following the server.
    pub once: bool,
    /// The file to start an empty archive with (default: the oldest the server has).
    pub start_file: Option<String>,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// In `once` mode, how many failed attempts in a row end the run.
    pub once_attempts: u32,
    /// Set to end the run (SIGTERM); seen within a second.
    pub stop: Arc<AtomicBool>,
}

impl ArchiveSettings {
    /// Settings with the defaults for everything but the connection and the root.
    pub fn new(conn: ConnSettings, storage: SharedStorage) -> ArchiveSettings {
        ArchiveSettings {
            conn,
            storage,
            spool_dir: None,
            spool_mode: FileMode::default(),
            replica_id: DEFAULT_REPLICA_ID,
            heartbeat: DEFAULT_HEARTBEAT,
            once: false,
            start_file: None,
            max_backoff: DEFAULT_MAX_BACKOFF,
            once_attempts: 3,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// The server id announced by default: "mybk" in ASCII, unlikely to be a real server's.
pub const DEFAULT_REPLICA_ID: u32 = 0x6d79_626b;

/// How often the server is asked for a heartbeat by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// The longest wait between reconnection attempts by default.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the archiver tells the caller as it goes (logging, metrics, hooks).
pub trait ArchiveObserver {
    /// Connected; the stream starts at `file`:`pos`.
    fn connected(&mut self, _file: &str, _pos: u64) {}
    /// An event was written (its header time and size).
    fn event(&mut self, _timestamp: u32, _bytes: u64) {}
    /// The server has nothing more to send right now.
    fn caught_up(&mut self) {}
    /// A file was closed, stored and indexed.
    fn archived(&mut self, _entry: &FileEntry) {}
    /// Files were purged on the server before they were archived ([`BinlogError::Gap`]).
    fn gap(&mut self, _error: &BinlogError) {}
    /// An attempt failed; the next one follows after `wait`.
    fn retrying(&mut self, _error: &Error, _wait: Duration) {}
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct ArchiveReport {
    /// The archive directory below the root.
    pub dir: String,
    pub files: u64,
    pub events: u64,
    pub bytes: u64,
    /// The gaps found ([`BinlogError::Gap`] messages).
    pub gaps: Vec<String>,
    /// Where the archive ends: file and position.
    pub file: Option<String>,
    pub pos: u64,
}

/// The server's identity and binlog settings.
struct ServerBinlog {
    /// `server_uuid` (MySQL) or `server_id` (MariaDB): the archive directory's name.
    archive_id: String,
    /// The binlog files the server has, oldest first.
    files: Vec<String>,
    /// Whether events carry a CRC32 (`binlog_checksum`): the stream's events do from the first
    /// one on (we ask for the server's setting), before any format description says so.
    checksum: bool,
}

fn read_server(settings: &ConnSettings) -> Result<ServerBinlog> {
    let mut c = conn::connect(settings)?;
    let row: Option<(String, Option<String>, Option<String>)> = c
        .query_first("SELECT VERSION(), @@global.log_bin, @@global.binlog_checksum")
        .context(|| "reading the server's binlog settings".to_string())?;
    let (version, log_bin, checksum) = row.unwrap_or_default();
    if !matches!(log_bin.as_deref(), Some("1" | "ON")) {
        return Err(Error::Unsupported(
            "binary logging is off on the server (log_bin): there is no binlog to archive".into(),
        ));
    }
    let archive_id = super::archive_id(&mut c, version.to_ascii_lowercase().contains("mariadb"))?;
    if !index::is_file_name(&archive_id) {
        return Err(Error::Unsupported(format!(
            "the server's id {archive_id:?} cannot name its archive directory"
        )));
    }
    let rows: Vec<mysql::Row> = c
        .query("SHOW BINARY LOGS")
        .context(|| "listing the server's binlog files (SHOW BINARY LOGS)".to_string())?;
    let files = rows
        .into_iter()
        .filter_map(|row| row.get::<String, _>(0))
        .collect();
    Ok(ServerBinlog {
        archive_id,
        files,
        checksum: checksum.is_some_and(|c| c.eq_ignore_ascii_case("CRC32")),
    })
}

/// Where the next event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    file: String,
    pos: u64,
}

/// The archiver's state between connections.
struct Archiver<'a> {
    settings: &'a ArchiveSettings,
    dir: String,
    spool: Spool,
    cursor: Option<Cursor>,
    open: Option<OpenFile>,
    /// Whether the events of the stream carry checksums (the last format description's word).
    checksum: bool,
    report: ArchiveReport,
}

/// Runs the archiver until `settings.stop` (or, with `once`, until it has caught up).
pub fn archive(
    settings: &ArchiveSettings,
    observer: &mut dyn ArchiveObserver,
) -> Result<ArchiveReport> {
    let mut failures = 0;
    let server = loop {
        match read_server(&settings.conn) {
            Ok(server) => break server,
            Err(e) => {
                failures += 1;
                if !transient(&e) || (settings.once && failures >= settings.once_attempts) {
                    return Err(e);
                }
                let wait = backoff(failures, settings.max_backoff);
                observer.retrying(&e, wait);
                if sleep_unless_stopped(&settings.stop, wait) {
                    return Ok(ArchiveReport::default());
                }
            }
        }
    };
    let dir = index::archive_dir(&server.archive_id);
    let spool_dir = match (&settings.spool_dir, settings.storage.local_dir()) {
        (Some(dir), _) => dir.clone(),
        (None, Some(root)) => root.join(&dir),
        (None, None) => {
            return Err(Error::Settings(
                "the archive is on object storage: give --spool-dir, a local directory for \
                 the binlog file being received"
                    .into(),
            ))
        }
    };
    let spool = Spool::new(&spool_dir, settings.spool_mode)?;
    let _lock = RootLock::acquire(spool.dir(), "mybak binlog")?;
    let mut archiver = Archiver {
        settings,
        dir: dir.clone(),
        spool,
        cursor: None,
        open: None,
        checksum: false,
        report: ArchiveReport {
            dir,
            ..ArchiveReport::default()
        },
    };
    archiver.recover(observer)?;
    archiver.run(observer)?;
    if let Some(open) = &mut archiver.open {
        open.flush()?;
    }
    archiver.report.file = archiver.cursor.as_ref().map(|c| c.file.clone());
    archiver.report.pos = archiver.position();
    Ok(archiver.report)
}

impl Archiver<'_> {
    /// The position the next event goes to.
    fn position(&self) -> u64 {
        match (&self.open, &self.cursor) {
            (Some(open), _) => open.len(),
            (None, Some(c)) => c.pos,
            (None, None) => 4,
        }
    }

    /// Picks up where the last run stopped: files it received completely but did not store
    /// yet are stored, the last one is cut back to its last whole transaction.
    fn recover(&mut self, observer: &mut dyn ArchiveObserver) -> Result<()> {
        let entries = index::read_entries(self.settings.storage.as_ref(), &self.dir)
            .map_err(|e| Error::io(self.settings.storage.display(&self.dir), e))?;
        let archived: Vec<FileEntry> = entries.into_iter().filter_map(|e| e.ok()).collect();
        let names = self.spool.open_names()?;
        for (i, name) in names.iter().enumerate() {
            if archived.iter().any(|e| &e.file == name) {
                remove_spooled(&self.spool, name)?;
                continue;
            }
            let (open, scan) = self.spool.resume(name)?;
            let next = names.get(i + 1).cloned().or(scan.rotated_to.clone());
            if next.is_some() {
                self.close(open, next, observer)?;
            } else {
                self.cursor = Some(Cursor {
                    file: name.clone(),
                    pos: open.len(),
                });
                self.checksum = scan.checksum;
                self.open = Some(open);
            }
        }
        if self.cursor.is_none() {
            self.cursor = archived
                .iter()
                .max_by(|a, b| binlog_order(&a.file, &b.file))
                .and_then(|last| last.next.clone())
                .map(|file| Cursor { file, pos: 4 });
        }
        Ok(())
    }

    /// Connects again and again (backing off) until stopped, or caught up with `once`.
    fn run(&mut self, observer: &mut dyn ArchiveObserver) -> Result<()> {
        let mut failures = 0u32;
        loop {
            let received = self.report.events;
            let error = match self.session(observer) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if !transient(&error) {
                return Err(error);
            }
            failures = if self.report.events > received {
                1
            } else {
                failures + 1
            };
            if self.settings.once && failures >= self.settings.once_attempts {
                return Err(error);
            }
            let wait = backoff(failures, self.settings.max_backoff);
            observer.retrying(&error, wait);
            if sleep_unless_stopped(&self.settings.stop, wait) {
                return Ok(());
            }
        }
    }

    /// One connection: from the cursor until stopped, caught up (`once`) or broken.
    fn session(&mut self, observer: &mut dyn ArchiveObserver) -> Result<()> {
        let server = read_server(&self.settings.conn)?;
        let start = self.start(&server.files, observer)?;
        self.checksum = server.checksum;
        let mut conn = ReplicaConn::connect(&self.settings.conn)?;
        conn.execute("SET @master_binlog_checksum = @@global.binlog_checksum")?;
        conn.execute("SET @mariadb_slave_capability = 4")?;
        conn.execute(&format!(
            "SET @master_heartbeat_period = {}",
            self.settings.heartbeat.as_nanos()
        ))?;
        let pos = u32::try_from(start.pos).map_err(|_| BinlogError::Event {
            file: start.file.clone(),
            pos: start.pos,
            message: "position beyond 4 GiB".into(),
        })?;
        conn.request_dump(
            self.settings.replica_id,
            &start.file,
            pos,
            self.settings.once,
        )?;
        conn.set_read_timeout(Duration::from_secs(1))?;
        observer.connected(&start.file, start.pos);
        let silence = (self.settings.heartbeat * 3).max(Duration::from_secs(5));
        let mut heard = Instant::now();
        loop {
            if self.settings.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match conn.next_packet()? {
                Packet::Event(bytes) => {
                    heard = Instant::now();
                    self.take(&bytes, observer)?;
                }
                Packet::Idle if heard.elapsed() < silence => self.idle(observer)?,
                Packet::Idle => {
                    return Err(BinlogError::Lost {
                        endpoint: conn.endpoint().to_string(),
                        during: "waiting for binlog events".into(),
                        reason: format!(
                            "nothing heard for {} s, not even a heartbeat",
                            silence.as_secs()
                        ),
                    }
                    .into())
                }
                Packet::End => {
                    self.idle(observer)?;
                    return Ok(());
                }
            }
        }
    }

    /// Nothing to receive: what is buffered goes to the kernel.
    fn idle(&mut self, observer: &mut dyn ArchiveObserver) -> Result<()> {
        if let Some(open) = &mut self.open {
            open.flush()?;
        }
        observer.caught_up();
        Ok(())
    }

    /// Where to ask the server to start, given the files it has: the cursor, or (empty
    /// archive) `--start-file` or the oldest file. A cursor on a purged file is a gap: it is
    /// reported and archiving goes on from the oldest file.
    fn start(&mut self, files: &[String], observer: &mut dyn ArchiveObserver) -> Result<Cursor> {
        let Some(oldest) = files.first() else {
            return Err(Error::Unsupported(
                "the server lists no binlog files (SHOW BINARY LOGS)".into(),
            ));
        };
        if let (Some(open), Some(c)) = (&self.open, &mut self.cursor) {
            if open.name == c.file {
                c.pos = open.len();
            }
        }
        let cursor = match &self.cursor {
            Some(c) if files.contains(&c.file) => c.clone(),
            Some(c) if binlog_order(&c.file, oldest).is_lt() => {
                let gap = BinlogError::Gap {
                    missing: c.file.clone(),
                    oldest: oldest.clone(),
                };
                observer.gap(&gap);
                self.report.gaps.push(gap.to_string());
                if let Some(open) = self.open.take() {
                    self.close(open, None, observer)?;
                }
                Cursor {
                    file: oldest.clone(),
                    pos: 4,
                }
            }
            Some(c) => {
                return Err(BinlogError::Archive {
                    path: self
                        .settings
                        .storage
                        .display(&self.dir)
                        .display()
                        .to_string(),
                    message: format!(
                        "the archive goes on with {} but the server's files are {} … {} (was its \
                         binlog reset?): archive it into another root",
                        c.file,
                        oldest,
                        files.last().unwrap_or(oldest)
                    ),
                }
                .into())
            }
            None => match &self.settings.start_file {
                Some(f) if files.contains(f) => Cursor {
                    file: f.clone(),
                    pos: 4,
                },
                Some(f) => {
                    return Err(Error::Settings(format!(
                        "--start-file {f}: the server has no such binlog file (it has {} … {})",
                        oldest,
                        files.last().unwrap_or(oldest)
                    )))
                }
                None => Cursor {
                    file: oldest.clone(),
                    pos: 4,
                },
            },
        };
        self.cursor = Some(cursor.clone());
        Ok(cursor)
    }

    /// One event from the stream.
    fn take(&mut self, bytes: &[u8], observer: &mut dyn ArchiveObserver) -> Result<()> {
        let Some(header) = Header::parse(bytes) else {
            return Err(self.bad_event(format!("an event of {} bytes", bytes.len())));
        };
        if header.kind == kind::FORMAT_DESCRIPTION {
            self.checksum = event::format_checksum(bytes).unwrap_or(false);
        }
        let event =
            Event::parse(bytes, self.checksum).map_err(|e| self.bad_event(e.to_string()))?;
        log::debug!(
            "event {:#04x} pos {} flags {:#x} size {}",
            header.kind,
            header.log_pos,
            header.flags,
            header.size
        );
        if header.is_artificial() {
            if header.kind == kind::ROTATE {
                if let Some((next, _)) = event::rotate_target(&event, self.checksum) {
                    self.rotate_to(next, observer)?;
                }
            } else if header.kind == kind::HEARTBEAT {
                self.idle(observer)?;
            }
            return Ok(());
        }
        let Some(open) = &mut self.open else {
            return Err(self.bad_event("an event before any rotate event named its file".into()));
        };
        let end = open.len() + bytes.len() as u64;
        if u64::from(header.log_pos) != end {
            let message = format!(
                "the server's event ends at {} but the archive's copy would end at {end}",
                header.log_pos
            );
            return Err(self.bad_event(message));
        }
        open.append(bytes)?;
        self.report.events += 1;
        self.report.bytes += bytes.len() as u64;
        observer.event(header.timestamp, bytes.len() as u64);
        if header.kind == kind::ROTATE {
            if let Some((next, _)) = event::rotate_target(&event, self.checksum) {
                self.rotate_to(next, observer)?;
            }
        }
        Ok(())
    }

    fn bad_event(&self, message: String) -> Error {
        BinlogError::Event {
            file: self
                .open
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            pos: self.position(),
            message,
        }
        .into()
    }

    /// The stream goes on in file `next`: the current file (if another) is closed and stored.
    fn rotate_to(&mut self, next: String, observer: &mut dyn ArchiveObserver) -> Result<()> {
        if self.open.as_ref().is_some_and(|o| o.name == next) {
            return Ok(());
        }
        if !index::is_file_name(&next) {
            let shown: String = next.escape_debug().take(80).collect();
            return Err(self.bad_event(format!(
                "a rotate event names \"{shown}\", which is not a binlog file name"
            )));
        }
        if let Some(open) = self.open.take() {
            self.close(open, Some(next.clone()), observer)?;
        }
        self.open = Some(self.spool.create(&next)?);
        self.cursor = Some(Cursor { file: next, pos: 4 });
        Ok(())
    }

    /// Stores a complete file, indexes it and removes it from the spool.
    fn close(
        &mut self,
        open: OpenFile,
        next: Option<String>,
        observer: &mut dyn ArchiveObserver,
    ) -> Result<()> {
        let name = open.name.clone();
        // A file the server never closed (it crashed) keeps the in-use flag on its disk.
        let in_use = next.is_some() && !open.closed_by_server();
        let path = open.close()?;
        let sealed = Sealed {
            name: &name,
            path: &path,
            next,
            in_use,
        };
        let entry = seal_file(self.settings.storage.as_ref(), &self.dir, sealed)?;
        remove_spooled(&self.spool, &name)?;
        self.report.files += 1;
        observer.archived(&entry);
        Ok(())
    }
}

/// Sleeps for `wait`, waking for `stop`; returns whether to stop.
fn sleep_unless_stopped(stop: &AtomicBool, wait: Duration) -> bool {
    let until = Instant::now() + wait;
    loop {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100).min(left));
    }
}

fn remove_spooled(spool: &Spool, name: &str) -> Result<()> {
    let path = spool.path(name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Whether trying again later may help.
fn transient(error: &Error) -> bool {
    match error {
        Error::Binlog(e) => e.is_transient(),
        Error::Conn(e) => !e.is_access_denied(),
        e => e.broken_connection().is_some(),
    }
}

/// The wait before attempt `failures + 1`: 1 s, 2 s, 4 s … up to `max`.
fn backoff(failures: u32, max: Duration) -> Duration {
    let secs = 1u64 << failures.saturating_sub(1).min(16);
    Duration::from_secs(secs).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let max = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(1000, max), max);
    }
}
