//! What a run did, in one type for every command: the `summary:` line that ends stderr, and the
//! numbers the metrics file and the hooks report.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// The command that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Dump,
    Restore,
    Verify,
    Prune,
    Copy,
    Binlog,
    List,
    Config,
}

impl Command {
    /// The command's name, as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Dump => "dump",
            Command::Restore => "restore",
            Command::Verify => "verify",
            Command::Prune => "prune",
            Command::Copy => "copy",
            Command::Binlog => "binlog",
            Command::List => "list",
            Command::Config => "config",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Everything done.
    Complete,
    /// Finished, but some objects failed.
    Partial,
    /// Checked and found nothing wrong (`verify`).
    Ok,
    /// Checked and found problems (`verify`).
    Damaged,
    /// Ended by an error.
    Failed,
    /// Another run holds the output root's lock; nothing was done.
    Locked,
    /// Ended by a signal.
    Interrupted,
}

impl RunStatus {
    /// The word on the summary line.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Ok => "ok",
            RunStatus::Damaged => "damaged",
            RunStatus::Failed => "failed",
            RunStatus::Locked => "locked",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the run did all it was asked to.
    pub fn is_success(self) -> bool {
        matches!(self, RunStatus::Complete | RunStatus::Ok)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run did. `bytes` always counts bytes on disk (compressed files), `sql_bytes` the SQL
/// text inside them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub command: Command,
    pub status: RunStatus,
    pub databases: u64,
    pub tables: u64,
    pub rows: u64,
    /// Bytes on disk: written (dump), read (restore, verify) or freed (prune).
    pub bytes: u64,
    /// Bytes of SQL text: written (dump), sent (restore) or checked (verify).
    pub sql_bytes: u64,
    /// Objects that failed (dump, restore), problems found (verify), dumps not removed (prune).
    pub failed: u64,
    pub seconds: f64,
    /// The dump directory written (dump) or read (restore, verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump_dir: Option<PathBuf>,
    /// Counts only some commands have, printed after the common ones: `files`, `statements`,
    /// `tables_compared` (verify), `dumps`, `kept`, `removed` (prune).
    pub extra: Vec<(&'static str, u64)>,
}

impl Summary {
    /// An empty summary of `command` ending in `status`.
    pub fn new(command: Command, status: RunStatus) -> Summary {
        Summary {
            command,
            status,
            databases: 0,
            tables: 0,
            rows: 0,
            bytes: 0,
            sql_bytes: 0,
            failed: 0,
            seconds: 0.0,
            dump_dir: None,
            extra: Vec::new(),
        }
    }

    /// One of the `extra` counts, by name.
    pub fn extra(&self, name: &str) -> Option<u64> {
        self.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The `key=value` pairs of the summary line, in order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("status", self.status.to_string())];
        let transfers = !matches!(self.command, Command::Prune | Command::Copy);
        if transfers {
            out.push(("databases", self.databases.to_string()));
            out.push(("tables", self.tables.to_string()));
            out.push(("rows", self.rows.to_string()));
        }
        out.push(("bytes", self.bytes.to_string()));
        if transfers {
            out.push(("sql_bytes", self.sql_bytes.to_string()));
        }
        out.push(("failed", self.failed.to_string()));
        for (name, value) in &self.extra {
            out.push((name, value.to_string()));
        }
        out.push(("seconds", format!("{:.2}", self.seconds)));
        out
    }
}

impl fmt::Display for Summary {
    /// `summary: status=complete databases=2 tables=9 rows=1000 bytes=5120 sql_bytes=40960 failed=0 seconds=1.25`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("summary:")?;
        for (key, value) in self.fields() {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_what_its_bytes_count() {
        let mut s = Summary::new(Command::Dump, RunStatus::Partial);
        s.databases = 2;
        s.tables = 9;
        s.rows = 1000;
        s.bytes = 5120;
        s.sql_bytes = 40960;
        s.failed = 1;
        s.seconds = 1.254;
        assert_eq!(
            s.to_string(),
            "summary: status=partial databases=2 tables=9 rows=1000 bytes=5120 sql_bytes=40960 failed=1 seconds=1.25"
        );
        let mut v = Summary::new(Command::Verify, RunStatus::Ok);
        v.extra = vec![("files", 3), ("statements", 40), ("tables_compared", 0)];
        assert!(v
            .to_string()
            .ends_with("failed=0 files=3 statements=40 tables_compared=0 seconds=0.00"));
        assert_eq!(v.extra("statements"), Some(40));
        let mut p = Summary::new(Command::Prune, RunStatus::Complete);
        p.extra = vec![("dumps", 5), ("kept", 3), ("removed", 2)];
        p.bytes = 100;
        assert_eq!(
            p.to_string(),
            "summary: status=complete bytes=100 failed=0 dumps=5 kept=3 removed=2 seconds=0.00"
        );
    }

    #[test]
    fn only_complete_and_ok_are_success() {
        use RunStatus::*;
        for (s, ok) in [
            (Complete, true),
            (Ok, true),
            (Partial, false),
            (Damaged, false),
            (Failed, false),
            (Locked, false),
            (Interrupted, false),
        ] {
            assert_eq!(s.is_success(), ok, "{s}");
        }
    }
}
