//! `restore --until`: point-in-time recovery. The newest complete dump taken before the target
//! is restored, then the archived binlog is replayed from the dump's position up to the target.
//!
//! Everything that can be checked is checked before the server is touched: the dump, the chain
//! of archived files from its position, and that the target is among the archived events (a
//! replay without a server, [`survey`]). `--dry-run` stops there and shows the plan.

use std::path::PathBuf;

use crate::binlog::index::{self, binlog_order};
use crate::binlog::replay::{self, Gtid, ReplayOptions, ReplayReport, Target, Until};
use crate::binlog::source;
use crate::binlog::BinlogError;
use crate::error::{Error, Result};
use crate::manifest::{Binlog, Manifest, Status};
use crate::progress::Progress;
use crate::store::catalog::{self, Found, StoredDump};
use crate::store::storage::{EntryKind, Storage};
use crate::store::Location;

use super::{RestoreOutcome, RestoreSettings};

/// What `restore --until` needs besides the restore's own settings.
#[derive(Debug, Clone)]
pub struct UntilSettings {
    /// The restore; its `dir` is set to the dump picked.
    pub restore: RestoreSettings,
    /// The output root holding the dumps and `binlog/`.
    pub root: PathBuf,
    pub target: Target,
    /// Apply the transaction at the target too.
    pub inclusive: bool,
}

/// The plan: which dump, which archived files, what the replay will apply.
#[derive(Debug, Clone)]
pub struct UntilPlan {
    pub dump: StoredDump,
    /// Its binlog coordinates: where the replay starts.
    pub binlog: Binlog,
    /// The archive directory below the root.
    pub archive: String,
    pub files: Vec<String>,
    /// The replay as a survey of the events saw it.
    pub survey: ReplayReport,
}

/// What `restore --until` did.
#[derive(Debug)]
pub struct UntilOutcome {
    pub plan: UntilPlan,
    pub restore: RestoreOutcome,
    pub replay: ReplayReport,
}

/// Plans the recovery; nothing is written anywhere.
pub fn plan(settings: &UntilSettings) -> Result<UntilPlan> {
    let storage =
        Location::from_path(&settings.root)?.open(Default::default(), &settings.restore.s3)?;
    let storage = storage.as_ref();
    let until = Until::new(settings.target.clone(), settings.inclusive);
    let options = replay_options(&settings.restore);
    let archives = archive_names(storage)?;
    let dumps = catalog::list_dumps(storage)?;
    let mut candidates: Vec<(&StoredDump, &Manifest, &Binlog)> = dumps
        .iter()
        .filter_map(|d| match &d.found {
            Found::Dump(m) if m.status == Status::Complete || settings.restore.allow_partial => {
                Some((d, m.as_ref(), m.binlog.as_ref()?))
            }
            _ => None,
        })
        .filter(|(_, m, b)| before_target(&m.started_at, b, &settings.target, settings.inclusive))
        .collect();
    candidates
        .sort_by(|a, b| binlog_order(&b.2.file, &a.2.file).then(b.2.position.cmp(&a.2.position)));
    let mut last_error = None;
    for (dump, _, binlog) in candidates {
        let Some(archive) = archive_of(binlog, &archives) else {
            continue;
        };
        match survey_from(
            storage,
            &archive,
            binlog,
            &until,
            &options,
            &settings.target,
        ) {
            Ok((files, survey)) => {
                return Ok(UntilPlan {
                    dump: dump.clone(),
                    binlog: binlog.clone(),
                    archive,
                    files,
                    survey,
                })
            }
            // A dump whose snapshot turned out to be after the target: try an older one.
            Err(Skip::After) => continue,
            Err(Skip::Fatal(e)) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        Error::Settings(format!(
            "no complete dump with binlog coordinates in {} before {} that a binlog archive \
             there can replay from",
            settings.root.display(),
            show_target(&settings.target)
        ))
    }))
}

/// Plans, restores the dump, replays the binlog to the target.
pub fn run(settings: &UntilSettings, progress: &dyn Progress) -> Result<UntilOutcome> {
    let plan = plan(settings)?;
    let mut restore = settings.restore.clone();
    restore.dir = plan.dump.path.clone();
    let restored = super::run(&restore, progress)?;
    if !restored.failures.is_empty() {
        return Err(Error::Settings(format!(
            "the dump {} did not restore cleanly ({} objects failed): the binlog is not replayed \
             on top of it",
            plan.dump.path.display(),
            restored.failures.len()
        )));
    }
    let storage =
        Location::from_path(&settings.root)?.open(Default::default(), &settings.restore.s3)?;
    let files = source::files_from(storage.as_ref(), &plan.archive, &plan.binlog.file)?;
    let until = Until::new(settings.target.clone(), settings.inclusive);
    let mut conn = crate::conn::connect(&settings.restore.conn)?;
    let events = source::events(
        storage.as_ref(),
        &plan.archive,
        &files,
        plan.binlog.position,
    );
    let replayed = replay::replay(
        &mut conn,
        events,
        &until,
        &replay_options(&settings.restore),
    )
    .map_err(BinlogError::from)?;
    Ok(UntilOutcome {
        plan,
        restore: restored,
        replay: replayed,
    })
}

/// How the replay filters and renames, from the restore's settings.
fn replay_options(restore: &RestoreSettings) -> ReplayOptions {
    ReplayOptions {
        log_bin: !restore.no_binlog,
        databases: restore.filter.clone(),
        renames: restore.renames.clone(),
        ..ReplayOptions::default()
    }
}

/// Why a dump was not taken.
enum Skip {
    /// Its snapshot holds transactions at or after the target.
    After,
    Fatal(Error),
}

/// The files from the dump's position, and the survey of their events up to the target, which
/// must be reached.
fn survey_from(
    storage: &dyn Storage,
    archive: &str,
    binlog: &Binlog,
    until: &Until,
    options: &ReplayOptions,
    target: &Target,
) -> std::result::Result<(Vec<String>, ReplayReport), Skip> {
    let files = source::files_from(storage, archive, &binlog.file).map_err(Skip::Fatal)?;
    if let Target::Time(at) = target {
        // The snapshot must not hold a transaction stamped at or after the target.
        let before = source::events(storage, archive, files.get(..1).unwrap_or_default(), 4)
            .take_while(|e| e.as_ref().map_or(true, |e| e.start < binlog.position));
        for event in before {
            let event = event.map_err(Skip::Fatal)?;
            let header = crate::binlog::event::Header::parse(&event.bytes);
            let stamped = header.map_or(0, |h| i64::from(h.timestamp));
            if stamped > *at || (stamped == *at && !until_inclusive(until)) {
                return Err(Skip::After);
            }
        }
    }
    let events = source::events(storage, archive, &files, binlog.position);
    // Nothing is restored yet: what the replay would refuse is refused now (exit 2).
    let survey = replay::survey(events, until, options).map_err(|e| {
        Skip::Fatal(Error::Unsupported(format!(
            "the binlog archive {archive} cannot be replayed: {e}"
        )))
    })?;
    if !survey.reached {
        let end = match (&survey.last, survey.last_time) {
            (Some((file, pos)), Some(t)) => format!(
                "its last transaction ends at {file}:{pos} ({})",
                index::time_of(u32::try_from(t).unwrap_or_default())
                    .format("%Y-%m-%d %H:%M:%S UTC")
            ),
            _ => "it holds no transaction after the dump".to_string(),
        };
        return Err(Skip::Fatal(Error::Settings(format!(
            "the binlog archive {archive} does not reach {}: {end} (is the archiver running, \
             and has the server closed the file? FLUSH BINARY LOGS closes it)",
            show_target(target)
        ))));
    }
    let names = files.iter().map(|f| f.name().to_string()).collect();
    Ok((names, survey))
}

fn until_inclusive(until: &Until) -> bool {
    match until {
        Until::End => true,
        Until::Time { inclusive, .. }
        | Until::Gtid { inclusive, .. }
        | Until::Position { inclusive, .. } => *inclusive,
    }
}

/// The archive directories below `binlog/`.
fn archive_names(storage: &dyn Storage) -> Result<Vec<String>> {
    match storage.list("binlog") {
        Ok(list) => Ok(list
            .into_iter()
            .filter(|e| e.kind == EntryKind::Dir)
            .map(|e| e.name)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BinlogError::Archive {
            path: storage.display("binlog").display().to_string(),
            message: "no binlog archive in this output root (run mybak binlog)".into(),
        }
        .into()),
        Err(e) => Err(Error::io(storage.display("binlog"), e)),
    }
}

/// The archive directory of a dump's server.
fn archive_of(binlog: &Binlog, archives: &[String]) -> Option<String> {
    let only = archives.len() == 1;
    archives
        .iter()
        .find(|a| crate::binlog::retain::belongs(binlog, a, only))
        .map(|a| index::archive_dir(a))
}

/// Whether a dump can be the start of a recovery to `target`: taken before it (by its start
/// time, its GTID position, or its binlog position).
fn before_target(started_at: &str, binlog: &Binlog, target: &Target, inclusive: bool) -> bool {
    match target {
        Target::Time(at) => chrono::DateTime::parse_from_rfc3339(started_at)
            .is_ok_and(|t| t.timestamp() < *at || (inclusive && t.timestamp() == *at)),
        Target::Gtid(Gtid::MariaDb { domain, seq, .. }) => {
            let had = dump_seq(&binlog.gtid, *domain);
            had.is_none_or(|n| n < *seq || (inclusive && n == *seq))
        }
        // MySQL GTID sets are not read: any dump before in binlog order may do; the survey
        // tells whether the target follows it.
        Target::Gtid(Gtid::MySql { .. }) => true,
        Target::Position { file, pos } => {
            let order = binlog_order(&binlog.file, file);
            order.is_lt() || (order.is_eq() && binlog.position <= *pos)
        }
    }
}

/// The sequence number of MariaDB GTID domain `domain` in a GTID position (`0-1-5,1-2-9`).
fn dump_seq(position: &str, domain: u32) -> Option<u64> {
    position.split(',').find_map(|part| {
        let mut it = part.trim().split('-');
        let d: u32 = it.next()?.parse().ok()?;
        let _server = it.next()?;
        let seq: u64 = it.next()?.parse().ok()?;
        (d == domain).then_some(seq)
    })
}

/// A target as the user would read it back.
pub fn show_target(target: &Target) -> String {
    match target {
        Target::Time(at) => index::time_of(u32::try_from(*at).unwrap_or_default())
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Target::Gtid(g) => format!("GTID {g}"),
        Target::Position { file, pos } => format!("{file}:{pos}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_before_a_gtid_has_a_lower_sequence_in_its_domain() {
        let g = |seq| {
            Target::Gtid(Gtid::MariaDb {
                domain: 0,
                server: 1,
                seq,
            })
        };
        let binlog = Binlog {
            file: "b.000002".into(),
            position: 400,
            gtid: "0-1-10,1-1-99".into(),
            archive: None,
        };
        let m = "2026-01-01T00:00:00Z";
        // (target seq, inclusive, usable)
        for (seq, inclusive, usable) in [
            (11, false, true),
            (10, false, false),
            (10, true, true),
            (9, true, false),
        ] {
            assert_eq!(
                before_target(m, &binlog, &g(seq), inclusive),
                usable,
                "{seq} {inclusive}"
            );
        }
        assert_eq!(dump_seq("0-1-10, 1-1-99", 1), Some(99));
        assert_eq!(dump_seq("", 0), None);
        // A position target: the dump's position at or before it.
        let at = |file: &str, pos| Target::Position {
            file: file.into(),
            pos,
        };
        assert!(before_target(m, &binlog, &at("b.000002", 400), false));
        assert!(!before_target(m, &binlog, &at("b.000002", 399), false));
        assert!(before_target(m, &binlog, &at("b.000010", 4), false));
        assert!(!before_target(m, &binlog, &at("b.000001", 9999), false));
    }
}
