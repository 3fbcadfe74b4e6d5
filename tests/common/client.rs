//! Talking to a test server: `mysql` crate connections, queries as text or raw bytes, and the stock client
//! (`mariadb`) for SQL files and for restoring a dump in manifest order.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

use mysql::prelude::Queryable;

use super::server::{try_find_binary, Server};

/// One row fetched over the text protocol, every value as raw bytes (`None` is SQL NULL).
pub type RawRow = Vec<Option<Vec<u8>>>;

impl Server {
    /// A new root connection over the unix socket.
    pub fn conn(&self) -> mysql::Conn {
        let opts = mysql::OptsBuilder::new()
            .socket(Some(self.socket_str()))
            .user(Some("root"))
            .prefer_socket(false);
        mysql::Conn::new(opts)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.socket().display()))
    }

    /// Starts `sql` (a `SELECT SLEEP(…)`) on a connection of its own in a thread, and returns once
    /// the server shows it sleeping: its connection id (to `KILL QUERY` it) and the thread. The
    /// statement's own error (when it is killed) is ignored.
    pub fn start_sleeping(&self, sql: &str) -> (u32, thread::JoinHandle<()>) {
        let mut conn = self.conn();
        let id = conn.connection_id();
        let sql = sql.to_string();
        let handle = thread::spawn(move || {
            let _ = conn.query_drop(sql);
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self
            .query_value(&format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id} AND STATE = 'User sleep'"
            ))
            .as_deref()
            != Some("1")
        {
            assert!(std::time::Instant::now() < deadline, "connection {id} never started");
            thread::sleep(std::time::Duration::from_millis(50));
        }
        (id, handle)
    }

    /// Runs `sql` (several `;`-separated statements allowed) on a fresh connection; panics on any error.
    pub fn exec(&self, sql: &str) {
        exec_on(&mut self.conn(), sql);
    }

    /// All rows of the last result set of `sql`, values as (lossy) UTF-8 text.
    pub fn query_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_rows_on(&mut self.conn(), sql)
    }

    /// The first column of the first row of `sql` (`None` for no row or NULL).
    pub fn query_value(&self, sql: &str) -> Option<String> {
        self.query_rows(sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    }

    /// Pipes `path` through the stock client after replacing every `{{key}}` by its value from
    /// `replacements` (`&[("db", "x")]`); panics on leftover placeholders or any client error.
    pub fn load_sql_file(&self, path: impl AsRef<Path>, replacements: &[(&str, &str)]) {
        let path = path.as_ref();
        let text =
            fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let sql = apply_placeholders(&text, replacements)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = run_stock_client(self.socket(), None, sql.as_bytes());
        assert!(
            out.status.success(),
            "loading {} failed ({}):\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Restores a dump directory the documented way: for each `files` entry of `manifest.json`, in order,
    /// `zstd -dc <dir>/<path> | mariadb --no-defaults --binary-mode --socket=… -uroot`.
    pub fn restore_with_stock_client(&self, dump_dir: impl AsRef<Path>) {
        let dump_dir = dump_dir.as_ref();
        for file in manifest_files(dump_dir) {
            let out = restore_one_file(self.socket(), &dump_dir.join(&file));
            if let Err(e) = out {
                panic!("restoring {file} from {} failed: {e}", dump_dir.display());
            }
        }
    }
}

/// Runs `sql` on `conn`, draining every result set so errors of later statements surface.
pub fn exec_on(conn: &mut mysql::Conn, sql: &str) {
    let mut result = conn
        .query_iter(sql)
        .unwrap_or_else(|e| panic!("{e}\nin SQL: {}", abbreviate(sql)));
    while let Some(set) = result.iter() {
        for row in set {
            if let Err(e) = row {
                panic!("{e}\nin SQL: {}", abbreviate(sql));
            }
        }
    }
}

/// Rows of the last result set of `sql`, as raw bytes; `Err` carries the server's message.
pub fn try_query_raw(conn: &mut mysql::Conn, sql: &str) -> Result<Vec<RawRow>, String> {
    let mut result = conn.query_iter(sql).map_err(|e| e.to_string())?;
    let mut last = Vec::new();
    while let Some(set) = result.iter() {
        let mut rows = Vec::new();
        for row in set {
            let row = row.map_err(|e| e.to_string())?;
            rows.push(row.unwrap().into_iter().map(value_bytes).collect());
        }
        last = rows;
    }
    Ok(last)
}

/// Like [`try_query_raw`], panicking on error.
pub fn query_raw_on(conn: &mut mysql::Conn, sql: &str) -> Vec<RawRow> {
    try_query_raw(conn, sql).unwrap_or_else(|e| panic!("{e}\nin SQL: {}", abbreviate(sql)))
}

/// Like [`query_raw_on`] with values as lossy UTF-8.
pub fn query_rows_on(conn: &mut mysql::Conn, sql: &str) -> Vec<Vec<Option<String>>> {
    query_raw_on(conn, sql)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect()
        })
        .collect()
}

/// Column names and rows of `sql` (raw bytes), for comparisons that must skip columns by name.
pub fn query_named_raw(
    conn: &mut mysql::Conn,
    sql: &str,
) -> Result<(Vec<String>, Vec<RawRow>), String> {
    let mut result = conn.query_iter(sql).map_err(|e| e.to_string())?;
    let names: Vec<String> = result
        .columns()
        .as_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let mut rows = Vec::new();
    if let Some(set) = result.iter() {
        for row in set {
            let row = row.map_err(|e| e.to_string())?;
            rows.push(row.unwrap().into_iter().map(value_bytes).collect());
        }
    }
    Ok((names, rows))
}

fn value_bytes(value: mysql::Value) -> Option<Vec<u8>> {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(b) => Some(b),
        // Text protocol gives bytes; keep other variants readable anyway.
        other => Some(other.as_sql(true).into_bytes()),
    }
}

/// Replaces `{{key}}` placeholders; `Err` names any placeholder left over.
pub fn apply_placeholders(text: &str, replacements: &[(&str, &str)]) -> Result<String, String> {
    let mut out = text.to_string();
    for (key, value) in replacements {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(start) = out.find("{{") {
        let end = out[start..].find("}}").map_or(out.len(), |e| start + e + 2);
        return Err(format!(
            "placeholder {} has no replacement",
            &out[start..end.min(start + 40)]
        ));
    }
    Ok(out)
}

/// The stock command-line client (`mariadb`, else `mysql`).
pub fn stock_client() -> PathBuf {
    try_find_binary("mariadb")
        .or_else(|| try_find_binary("mysql"))
        .unwrap_or_else(|| {
            panic!(
                "mariadb client not found; install mariadb-client (apt-get install mariadb-client)"
            )
        })
}

/// `mariadb --no-defaults --binary-mode --socket=… -uroot [db] < input`, returning its output.
pub fn run_stock_client(socket: &Path, database: Option<&str>, input: &[u8]) -> Output {
    let mut cmd = Command::new(stock_client());
    // --no-defaults must come first or the client rejects it.
    cmd.arg("--no-defaults")
        .arg("--binary-mode")
        .arg(format!("--socket={}", socket.display()))
        .arg("-uroot");
    if let Some(db) = database {
        cmd.arg(db);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run the stock client: {e}"));
    let mut stdin = child.stdin.take().expect("client stdin");
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for the stock client");
    let _ = writer.join();
    out
}

/// `zstd -dc file | mariadb …`; `Err` carries both programs' stderr.
fn restore_one_file(socket: &Path, file: &Path) -> Result<(), String> {
    let zstd = try_find_binary("zstd").ok_or("zstd not found; apt-get install zstd")?;
    let mut decompress = Command::new(zstd)
        .arg("-dc")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn zstd: {e}"))?;
    let pipe = decompress.stdout.take().ok_or("zstd stdout")?;
    let client = Command::new(stock_client())
        .arg("--no-defaults")
        .arg("--binary-mode")
        .arg(format!("--socket={}", socket.display()))
        .arg("-uroot")
        .stdin(pipe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn the stock client: {e}"))?;
    let client_out = client.wait_with_output().map_err(|e| e.to_string())?;
    let zstd_out = decompress.wait_with_output().map_err(|e| e.to_string())?;
    if client_out.status.success() && zstd_out.status.success() {
        return Ok(());
    }
    Err(format!(
        "zstd {}: {}\nclient {}: {}",
        zstd_out.status,
        String::from_utf8_lossy(&zstd_out.stderr).trim(),
        client_out.status,
        String::from_utf8_lossy(&client_out.stderr).trim()
    ))
}

/// The `path` of every `files` entry of `<dir>/manifest.json`, in order.
pub fn manifest_files(dump_dir: &Path) -> Vec<String> {
    let manifest = read_manifest(dump_dir);
    let files = manifest["files"]
        .as_array()
        .unwrap_or_else(|| panic!("manifest.json has no files array"));
    files
        .iter()
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap_or_else(|| panic!("files entry without path: {f}"))
                .to_string()
        })
        .collect()
}

/// `<dir>/manifest.json` parsed.
pub fn read_manifest(dump_dir: &Path) -> serde_json::Value {
    let path = dump_dir.join("manifest.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The path (relative to the dump) of table `table`'s data file in `dump_dir`'s manifest.
pub fn table_data_file(dump_dir: &Path, table: &str) -> String {
    read_manifest(dump_dir)["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "table-data" && f["table"] == table)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no data file of {table} in {}", dump_dir.display()))
}

fn abbreviate(sql: &str) -> String {
    if sql.len() <= 300 {
        return sql.to_string();
    }
    let mut cut = 300;
    while !sql.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &sql[..cut], sql.len())
}

#[cfg(test)]
mod tests {
    use super::apply_placeholders;

    #[test]
    fn placeholders_are_replaced_and_leftovers_reported() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Result<&'a str, &'a str>);
        let cases: &[Case] = &[
            ("USE `{{db}}`;", &[("db", "a")], Ok("USE `a`;")),
            ("{{db}}.{{db2}}", &[("db", "a"), ("db2", "b")], Ok("a.b")),
            (
                "{{user}}",
                &[("db", "a")],
                Err("placeholder {{user}} has no replacement"),
            ),
            ("no placeholders", &[], Ok("no placeholders")),
        ];
        for (input, repl, want) in cases {
            let got = apply_placeholders(input, repl);
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                *want,
                "input {input:?}"
            );
        }
    }
}
