//! `mybak prune`: decide which dumps of an output root to keep (a plan, with reasons), and which
//! archived binlog files the kept dumps need, then remove the others through the store.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};

use crate::binlog::index::{self, stored_name};
use crate::binlog::retain::{self, ArchivePlan, KeptDump};
use crate::error::{Error, Result};
use crate::manifest::Status;
use crate::retention::{self, Action, Candidate, DumpState, Policy, Verdict};
use crate::store::catalog::{self, Found, StoredDump};
use crate::store::{S3Settings, Storage};

/// Everything a prune needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSettings {
    /// The output root: a local path or an `s3://` URL.
    pub root: PathBuf,
    /// How object storage is reached, when the root is there.
    pub s3: S3Settings,
    pub policy: Policy,
    pub dry_run: bool,
}

/// One dump's fate, with what the store knows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub verdict: Verdict,
    pub dump: StoredDump,
}

/// What to keep and what to remove, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Directories that look like dumps but cannot be read: never touched.
    pub unreadable: Vec<(String, String)>,
    /// The binlog archives below the root (`binlog/<server>`).
    pub binlog: Vec<ArchivePlan>,
}

impl Plan {
    /// The steps that remove a dump.
    pub fn removals(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| s.verdict.action == Action::Remove)
    }
}

/// Lists the root's dumps and decides, in time zone `tz`, as of `now`. Pure but for listing.
/// `.pruning` leftovers (removals that were interrupted) are always removed.
pub fn plan<Tz: TimeZone>(
    root: &dyn Storage,
    settings: &PruneSettings,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<Plan> {
    if settings.policy.is_empty() {
        return Err(Error::Settings(
            "no retention rule given (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within or [prune] in the config file): nothing removed".to_string(),
        ));
    }
    let dumps = catalog::list_dumps(root)?;
    let mut candidates = Vec::new();
    let mut unreadable = Vec::new();
    let mut leftovers = Vec::new();
    for d in &dumps {
        let state = match &d.found {
            Found::Dump(m) if m.status == Status::Complete => DumpState::Complete,
            Found::Dump(_) => DumpState::Partial,
            Found::Unfinished(_) => DumpState::Unfinished,
            Found::Pruning => {
                leftovers.push(d.clone());
                continue;
            }
            Found::Unreadable(why) => {
                unreadable.push((d.name.clone(), why.clone()));
                continue;
            }
        };
        candidates.push(Candidate {
            name: d.name.clone(),
            time: d.time,
            state,
        });
    }
    let verdicts = retention::decide(&settings.policy, &candidates, now, tz);
    let mut steps: Vec<Step> = verdicts
        .into_iter()
        .filter_map(|verdict| {
            let dump = dumps.iter().find(|d| {
                d.name == verdict.name && !matches!(d.found, Found::Pruning | Found::Unreadable(_))
            })?;
            Some(Step {
                verdict,
                dump: dump.clone(),
            })
        })
        .collect();
    for dump in leftovers {
        steps.push(Step {
            verdict: Verdict {
                name: dump.name.clone(),
                time: dump.time,
                state: DumpState::Unfinished,
                action: Action::Remove,
                reasons: vec!["an interrupted removal".to_string()],
            },
            dump,
        });
    }
    let binlog = binlog_plans(root, &steps, &mut unreadable)?;
    Ok(Plan {
        steps,
        unreadable,
        binlog,
    })
}

/// The plan of each binlog archive below the root, given the dumps' fates. An archive whose
/// index cannot be read entirely is left alone (listed with the unreadable).
fn binlog_plans(
    root: &dyn Storage,
    steps: &[Step],
    unreadable: &mut Vec<(String, String)>,
) -> Result<Vec<ArchivePlan>> {
    let servers: Vec<String> = match root.list("binlog") {
        Ok(list) => list
            .into_iter()
            .filter(|e| e.kind == crate::store::storage::EntryKind::Dir)
            .map(|e| e.name)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(root.display("binlog"), e)),
    };
    let kept: Vec<KeptDump> = steps
        .iter()
        .filter(|s| s.verdict.action == Action::Keep)
        .filter_map(|s| {
            let binlog = s.dump.manifest()?.binlog.clone()?;
            Some(KeptDump {
                name: s.dump.name.clone(),
                binlog,
            })
        })
        .collect();
    let only = servers.len() == 1;
    let mut plans = Vec::new();
    for server in servers {
        let dir = index::archive_dir(&server);
        let entries =
            index::read_entries(root, &dir).map_err(|e| Error::io(root.display(&dir), e))?;
        let bad: Vec<String> = entries
            .iter()
            .filter_map(|e| e.as_ref().err().map(|(name, why)| format!("{name}: {why}")))
            .collect();
        if !bad.is_empty() {
            unreadable.push((dir, bad.join("; ")));
            continue;
        }
        let entries = entries.into_iter().filter_map(|e| e.ok()).collect();
        plans.push(retain::plan(&dir, &server, only, entries, &kept));
    }
    Ok(plans)
}

/// What removing went like.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Executed {
    pub removed: usize,
    pub freed_bytes: u64,
    /// Files mybak did not write, left in place (their dump directories stay).
    pub kept_foreign: Vec<PathBuf>,
    /// Dumps that could not be removed, with the error.
    pub failed: Vec<(String, String)>,
    /// Unfinished multipart uploads of killed runs aborted (object storage), or that would be
    /// with `dry_run`.
    pub aborted_uploads: usize,
    /// Archived binlog files removed.
    pub binlog_removed: usize,
}

/// How old an unfinished multipart upload must be to count as abandoned (a dump running now
/// has its uploads open).
pub const ABANDONED_UPLOAD_AGE: chrono::Duration = chrono::Duration::days(1);

/// Removes the dumps the plan removes and aborts abandoned multipart uploads older than
/// [`ABANDONED_UPLOAD_AGE`] at `now` (with `dry_run` nothing is removed, the uploads counted).
pub fn execute(root: &dyn Storage, plan: &Plan, now: DateTime<Utc>, dry_run: bool) -> Executed {
    let mut done = Executed::default();
    match root.abort_abandoned_uploads(now - ABANDONED_UPLOAD_AGE, dry_run) {
        Ok(n) => done.aborted_uploads = n,
        Err(e) => done.failed.push((
            "unfinished uploads".to_string(),
            format!("cannot clean them up: {e}"),
        )),
    }
    if dry_run {
        return done;
    }
    for step in plan.removals() {
        match catalog::remove_dump(root, &step.dump) {
            Ok((freed, kept)) => {
                done.removed += 1;
                done.freed_bytes += freed;
                done.kept_foreign.extend(kept);
            }
            Err(e) => done.failed.push((step.dump.name.clone(), e.to_string())),
        }
    }
    for archive in &plan.binlog {
        remove_binlog_files(root, archive, &mut done);
    }
    done
}

/// Removes the archived binlog files a plan removes: the index entry first, so a file is never
/// indexed without its data.
fn remove_binlog_files(root: &dyn Storage, archive: &ArchivePlan, done: &mut Executed) {
    for entry in &archive.remove {
        let json = crate::store::storage::join(&archive.dir, &index::entry_name(&entry.file));
        let data = crate::store::storage::join(&archive.dir, &stored_name(&entry.file));
        match root
            .remove_file(&json)
            .and_then(|()| root.remove_file(&data))
        {
            Ok(()) => {
                done.binlog_removed += 1;
                done.freed_bytes += entry.stored_size;
            }
            Err(e) => done
                .failed
                .push((format!("{}/{}", archive.dir, entry.file), e.to_string())),
        }
    }
}
