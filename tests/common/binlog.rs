//! The binlog archive in tests: the `mybak binlog` command, the archived files decompressed, and
//! the server's own binlog files to compare them with.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::server::Server;

/// `mybak binlog ROOT --no-defaults --socket <server> --user root --progress never`.
pub fn mybak_binlog_cmd(server: &Server, root: &Path) -> Command {
    let mut cmd = super::mybak_on(server, "binlog", "root");
    cmd.arg(root);
    cmd
}

/// The archive directory of the harness's servers (server_id 1).
pub fn archive_dir(root: &Path) -> PathBuf {
    root.join("binlog").join("1")
}

/// The names of the binlog files archived (with an index entry) below `root`, in order.
pub fn archived_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(archive_dir(root))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The bytes of archived binlog file `name` (decompressed).
pub fn archived_bytes(root: &Path, name: &str) -> Vec<u8> {
    let stored = fs::read(archive_dir(root).join(format!("{name}.zst")))
        .unwrap_or_else(|e| panic!("read archived {name}: {e}"));
    zstd::decode_all(&stored[..]).expect("decompress archived binlog")
}

/// The index entry of archived file `name`.
pub fn archived_entry(root: &Path, name: &str) -> serde_json::Value {
    let text = fs::read(archive_dir(root).join(format!("{name}.json"))).expect("read entry");
    serde_json::from_slice(&text).expect("entry is JSON")
}

/// The server's binlog file names (SHOW BINARY LOGS), oldest first.
pub fn server_binlogs(server: &Server) -> Vec<String> {
    server
        .query_rows("SHOW BINARY LOGS")
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

/// The bytes of the server's binlog file `name`, as on its disk.
pub fn server_binlog_bytes(server: &Server, name: &str) -> Vec<u8> {
    fs::read(server.datadir().join(name)).unwrap_or_else(|e| panic!("read server's {name}: {e}"))
}

/// The event types in binlog file bytes, in order.
pub fn event_types(file: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 4;
    while pos + 19 <= file.len() {
        out.push(file[pos + 4]);
        let size = u32::from_le_bytes([
            file[pos + 9],
            file[pos + 10],
            file[pos + 11],
            file[pos + 12],
        ]);
        pos += size as usize;
    }
    out
}
