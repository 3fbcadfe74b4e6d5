//! Loading one dump file: decompress, split into statements, edit where asked, execute.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::error::server_message;
use crate::manifest::ManifestFile;
use crate::sql::split::{Quoting, Splitter};

/// Where and why loading a file stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadFailure {
    /// The file, relative to the dump directory.
    pub path: String,
    /// 1-based line of the failing statement in the decompressed file (0: not at a statement).
    pub line: u64,
    /// Byte offset of the statement in the decompressed file.
    pub offset: u64,
    pub error: String,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}: statement at line {} (byte {}): {}",
                self.path, self.line, self.offset, self.error
            )
        } else {
            write!(f, "{}: {}", self.path, self.error)
        }
    }
}

/// What to do with each statement before it is sent: `None` sends it as is, an empty string
/// skips it.
pub type Edit<'a> = dyn FnMut(&str) -> Option<String> + 'a;

/// Loads `file` of the dump in `dir` on `conn`. `edit` may rewrite statements; `sent` is told the
/// size of each statement sent. Statements larger than `max_packet` are refused with a clear error.
pub fn load_file(
    conn: &mut Conn,
    dir: &Path,
    file: &ManifestFile,
    max_packet: usize,
    edit: &mut Edit<'_>,
    sent: &mut dyn FnMut(u64),
) -> Result<(), LoadFailure> {
    let fail = |line: u64, offset: u64, error: String| LoadFailure {
        path: file.path.clone(),
        line,
        offset,
        error,
    };
    let path = dir.join(&file.path);
    let reader = File::open(&path).map_err(|e| fail(0, 0, format!("cannot open: {e}")))?;
    let decoder =
        zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(1 << 20, reader))
            .map_err(|e| fail(0, 0, format!("cannot decompress: {e}")))?;
    let mut splitter = Splitter::new(decoder);
    while let Some(statement) = splitter.next() {
        let statement = statement.map_err(|e| fail(0, 0, e.to_string()))?;
        let (line, offset) = (statement.line, statement.offset);
        let text = String::from_utf8(statement.sql)
            .map_err(|_| fail(line, offset, "the statement is not valid UTF-8".to_string()))?;
        let text = edit(&text).unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        if text.len() + 1 > max_packet {
            return Err(fail(
                line,
                offset,
                format!(
                    "the statement has {} bytes, more than the server's max_allowed_packet ({max_packet}); \
                     raise it (SET GLOBAL max_allowed_packet = 1073741824) and try again",
                    text.len()
                ),
            ));
        }
        conn.query_drop(&text)
            .map_err(|e| fail(line, offset, server_message(&e)))?;
        sent(text.len() as u64);
        // A statement may switch NO_BACKSLASH_ESCAPES (a routine created under it, say): split
        // what follows as the server will read it, as the stock client does.
        splitter.set_quoting(Quoting {
            no_backslash_escapes: conn.no_backslash_escape(),
            ..splitter.quoting()
        });
    }
    Ok(())
}

/// Reads all statements of a (small) file into memory, for the schema phase.
pub fn read_statements(
    dir: &Path,
    file: &ManifestFile,
) -> Result<Vec<(u64, u64, String)>, LoadFailure> {
    let fail = |line: u64, offset: u64, error: String| LoadFailure {
        path: file.path.clone(),
        line,
        offset,
        error,
    };
    let reader =
        File::open(dir.join(&file.path)).map_err(|e| fail(0, 0, format!("cannot open: {e}")))?;
    let decoder = zstd::stream::read::Decoder::new(reader)
        .map_err(|e| fail(0, 0, format!("cannot decompress: {e}")))?;
    let mut out = Vec::new();
    for statement in Splitter::new(decoder) {
        let s = statement.map_err(|e| fail(0, 0, e.to_string()))?;
        let text = String::from_utf8(s.sql).map_err(|_| {
            fail(
                s.line,
                s.offset,
                "the statement is not valid UTF-8".to_string(),
            )
        })?;
        out.push((s.line, s.offset, text));
    }
    Ok(out)
}
