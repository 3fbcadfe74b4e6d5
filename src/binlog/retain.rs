//! Which archived binlog files a prune keeps: exactly those needed to replay from the oldest
//! dump it keeps of that server, and all of them when it keeps no dump to replay from.

use super::index::{binlog_order, FileEntry};
use crate::manifest::Binlog;

/// A kept dump's name and binlog coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDump {
    pub name: String,
    pub binlog: Binlog,
}

/// What a prune does to one server's archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivePlan {
    /// The archive directory below the root (`binlog/<server>`).
    pub dir: String,
    /// The files removed: archived before the oldest kept dump's binlog file.
    pub remove: Vec<FileEntry>,
    /// How many files stay.
    pub keep: usize,
    /// The oldest kept dump of this server and its binlog file, when there is one.
    pub from: Option<(String, String)>,
}

/// Whether dump coordinates `binlog` belong to archive `server` (`binlog/<server>`):
/// recorded so, or (dumps of older versions, which did not record it) when the root has only
/// this one archive.
pub fn belongs(binlog: &Binlog, server: &str, only_archive: bool) -> bool {
    match &binlog.archive {
        Some(archive) => archive == server,
        None => only_archive,
    }
}

/// Decides for the archive `dir` of `server`, given its entries and the dumps kept (of any
/// server; those of others are ignored).
pub fn plan(
    dir: &str,
    server: &str,
    only_archive: bool,
    entries: Vec<FileEntry>,
    kept: &[KeptDump],
) -> ArchivePlan {
    let oldest = kept
        .iter()
        .filter(|d| belongs(&d.binlog, server, only_archive) && !d.binlog.file.is_empty())
        .min_by(|a, b| binlog_order(&a.binlog.file, &b.binlog.file));
    let Some(oldest) = oldest else {
        return ArchivePlan {
            dir: dir.to_string(),
            keep: entries.len(),
            remove: Vec::new(),
            from: None,
        };
    };
    let (remove, keep): (Vec<FileEntry>, Vec<FileEntry>) = entries
        .into_iter()
        .partition(|e| binlog_order(&e.file, &oldest.binlog.file).is_lt());
    ArchivePlan {
        dir: dir.to_string(),
        remove,
        keep: keep.len(),
        from: Some((oldest.name.clone(), oldest.binlog.file.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str) -> FileEntry {
        FileEntry::sample(file, Some("next"))
    }

    fn dump(name: &str, file: &str, archive: Option<&str>) -> KeptDump {
        KeptDump {
            name: name.to_string(),
            binlog: Binlog {
                file: file.to_string(),
                position: 400,
                gtid: String::new(),
                archive: archive.map(str::to_string),
            },
        }
    }

    #[test]
    fn keeps_exactly_what_the_oldest_kept_dump_needs() {
        let files = ["b.000008", "b.000009", "b.000010", "b.000011"];
        // (kept dumps, only archive, removed, from)
        type Case = (Vec<KeptDump>, bool, Vec<&'static str>, Option<&'static str>);
        let cases: Vec<Case> = vec![
            // The oldest kept dump's file and everything after it stay.
            (
                vec![
                    dump("new", "b.000011", Some("1")),
                    dump("old", "b.000010", Some("1")),
                ],
                false,
                vec!["b.000008", "b.000009"],
                Some("old"),
            ),
            // No kept dump of this server: everything stays.
            (
                vec![dump("other", "b.000011", Some("2"))],
                false,
                vec![],
                None,
            ),
            (vec![], true, vec![], None),
            // Older dumps without the archive name count when this is the only archive.
            (
                vec![dump("legacy", "b.000009", None)],
                true,
                vec!["b.000008"],
                Some("legacy"),
            ),
            (vec![dump("legacy", "b.000009", None)], false, vec![], None),
            // A dump older than the whole archive keeps all of it.
            (
                vec![dump("ancient", "b.000002", Some("1"))],
                false,
                vec![],
                Some("ancient"),
            ),
            // Numbers are compared as numbers past their zero padding.
            (
                vec![dump("big", "b.1000000", Some("1"))],
                false,
                vec!["b.000008", "b.000009", "b.000010", "b.000011"],
                Some("big"),
            ),
        ];
        for (kept, only, removed, from) in cases {
            let entries: Vec<FileEntry> = files.iter().map(|f| entry(f)).collect();
            let p = plan("binlog/1", "1", only, entries, &kept);
            let got: Vec<&str> = p.remove.iter().map(|e| e.file.as_str()).collect();
            assert_eq!(got, removed, "{kept:?}");
            assert_eq!(p.keep, files.len() - removed.len());
            assert_eq!(p.from.as_ref().map(|(n, _)| n.as_str()), from);
        }
    }
}
