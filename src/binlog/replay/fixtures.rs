//! Test fixtures: binlog events built byte by byte (on a real MariaDB 10.11 Format_description
//! event), and a recorder standing in for the server.

use std::collections::HashMap;

use base64::Engine;

use super::apply::Apply;
use super::decode::Xid;
use super::error::ReplayError;
use super::frame::{self, kind, HEADER_LEN};
use super::plan::{Sql, Stmt};
use super::status::Collations;
use super::RawEvent;

/// The Format_description event of a MariaDB 10.11.19 binlog (CRC32), as `mariadb-binlog`
/// prints it.
const FDE_10_11: &str =
    "nS4Taw8BAAAA/AAAAAABAAAAAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAA\
    AAAAAAAAAAAAAAAAAACdLhNrEzgNAAgAEgAEBAQEEgAA5AAEGggAAAAICAgCAAAACgoKAAAAAAAA\
    CgoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\
    AAAAAAAAAAAEEwQADQgICAoKCgENh9/a";

pub(crate) fn fde_bytes() -> Vec<u8> {
    let text: String = FDE_10_11.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

/// A Format_description event as MySQL 8.0 writes it (CRC32): post-header lengths of its
/// 41 event types.
pub(crate) fn mysql_fde_bytes() -> Vec<u8> {
    let mut lengths = [0u8; 41];
    for (code, len) in [
        (0x01, 56),
        (0x02, 13),
        (0x04, 8),
        (0x0f, 98),
        (0x13, 8),
        (0x17, 8),
        (0x18, 8),
        (0x19, 8),
        (0x1e, 10),
        (0x1f, 10),
        (0x20, 10),
        (0x21, 42),
        (0x22, 42),
        (0x27, 10),
    ] {
        lengths[code - 1] = len;
    }
    let mut body = 4u16.to_le_bytes().to_vec();
    let mut version = b"8.0.36".to_vec();
    version.resize(50, 0);
    body.extend_from_slice(&version);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(HEADER_LEN as u8);
    body.extend_from_slice(&lengths);
    body.push(1);
    let mut b = vec![0u8; HEADER_LEN];
    b[4] = kind::FORMAT_DESCRIPTION;
    b[5] = 1;
    b.extend_from_slice(&body);
    b.extend_from_slice(&[0; 4]);
    frame::reseal(&mut b, true);
    b
}

/// Events of one binlog file, appended one after another.
pub(crate) struct Binlog {
    pub file: String,
    pub events: Vec<RawEvent>,
    pub pos: u64,
    pub time: u32,
}

impl Binlog {
    /// A file beginning with its Format_description event.
    pub fn new(file: &str) -> Binlog {
        Binlog::with_format(file, fde_bytes())
    }

    /// A file beginning with the Format_description event `fde`.
    pub fn with_format(file: &str, fde: Vec<u8>) -> Binlog {
        let mut b = Binlog {
            file: file.to_string(),
            events: Vec::new(),
            pos: 4,
            time: 1_800_000_000,
        };
        b.raw(fde);
        b
    }

    /// A MySQL GTID event (5.7 layout) for `3e11fa47-71ca-11e1-9e33-c80aa9429562:gno`.
    pub fn mysql_gtid(&mut self, gno: u64) -> &RawEvent {
        let mut body = vec![1];
        body.extend_from_slice(&[
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ]);
        body.extend_from_slice(&gno.to_le_bytes());
        body.push(2);
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&1u64.to_le_bytes());
        self.event(kind::GTID, 0, &body)
    }

    fn raw(&mut self, bytes: Vec<u8>) -> &RawEvent {
        let start = self.pos;
        self.pos += bytes.len() as u64;
        self.events.push(RawEvent {
            file: self.file.clone(),
            start,
            end: self.pos,
            bytes,
        });
        self.events.last().unwrap_or_else(|| unreachable!())
    }

    /// An event of type `code`, checksummed.
    pub fn event(&mut self, code: u8, flags: u16, body: &[u8]) -> &RawEvent {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&self.time.to_le_bytes());
        b[4] = code;
        b[5..9].copy_from_slice(&1u32.to_le_bytes());
        let end = self.pos as u32 + (HEADER_LEN + body.len() + 4) as u32;
        b[13..17].copy_from_slice(&end.to_le_bytes());
        b[17..19].copy_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&[0; 4]);
        frame::reseal(&mut b, true);
        self.raw(b)
    }

    /// A MariaDB GTID event 0-1-`seq` with `flags` (1: standalone, 0x40: XA prepared).
    pub fn gtid(&mut self, seq: u64, flags: u8, xid: Option<&Xid>) -> &RawEvent {
        let mut body = seq.to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        body.push(flags);
        if let Some(x) = xid {
            body.extend_from_slice(&x.format_id.to_le_bytes());
            body.push(x.gtrid.len() as u8);
            body.push(x.bqual.len() as u8);
            body.extend_from_slice(&x.gtrid);
            body.extend_from_slice(&x.bqual);
        }
        body.resize(body.len().max(19), 0);
        self.event(kind::MARIADB_GTID, 0x08, &body)
    }

    /// A Query event in database `db` with status variables `status`.
    pub fn query_with(&mut self, db: &str, sql: &[u8], status: &[u8], error: u16) -> &RawEvent {
        let mut body = 7u32.to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        body.push(db.len() as u8);
        body.extend_from_slice(&error.to_le_bytes());
        body.extend_from_slice(&(status.len() as u16).to_le_bytes());
        body.extend_from_slice(status);
        body.extend_from_slice(db.as_bytes());
        body.push(0);
        body.extend_from_slice(sql);
        self.event(kind::QUERY, 0, &body)
    }

    /// A Query event with MariaDB's usual status variables.
    pub fn query(&mut self, db: &str, sql: &str) -> &RawEvent {
        let status = [
            &[0, 0, 0, 0, 1][..],
            &[1, 0, 0, 0x20, 0x54, 0, 0, 0, 0],
            &[6, 3, b's', b't', b'd'],
            &[4, 45, 0, 45, 0, 8, 0],
        ]
        .concat();
        self.query_with(db, sql.as_bytes(), &status, 0)
    }

    pub fn xid(&mut self) -> &RawEvent {
        self.event(kind::XID, 0, &9u64.to_le_bytes())
    }

    pub fn table_map(&mut self, id: u8, db: &str, table: &str) -> &RawEvent {
        let mut body = vec![id, 0, 0, 0, 0, 0, 1, 0, db.len() as u8];
        body.extend_from_slice(db.as_bytes());
        body.push(0);
        body.push(table.len() as u8);
        body.extend_from_slice(table.as_bytes());
        body.extend_from_slice(&[0, 1, 3, 0, 0]);
        self.event(kind::TABLE_MAP, 0, &body)
    }

    /// A Write_rows_v1 event for table `id` carrying `payload` bytes of rows.
    pub fn rows(&mut self, id: u8, stmt_end: bool, payload: usize) -> &RawEvent {
        let mut body = vec![id, 0, 0, 0, 0, 0, u8::from(stmt_end), 0, 1, 1];
        body.resize(body.len() + payload, 0xab);
        self.event(0x17, 0, &body)
    }

    pub fn intvar(&mut self, insert_id: u64) -> &RawEvent {
        let mut body = vec![2];
        body.extend_from_slice(&insert_id.to_le_bytes());
        self.event(kind::INTVAR, 0, &body)
    }

    /// A User_var event holding a string of collation `collation`.
    pub fn user_var(&mut self, name: &str, value: &[u8], collation: u32) -> &RawEvent {
        let mut body = (name.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&collation.to_le_bytes());
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(value);
        body.push(0);
        self.event(kind::USER_VAR, 0, &body)
    }

    pub fn xa_prepare(&mut self, xid: &Xid) -> &RawEvent {
        let mut body = vec![0];
        body.extend_from_slice(&xid.format_id.to_le_bytes());
        body.extend_from_slice(&(xid.gtrid.len() as u32).to_le_bytes());
        body.extend_from_slice(&(xid.bqual.len() as u32).to_le_bytes());
        body.extend_from_slice(&xid.gtrid);
        body.extend_from_slice(&xid.bqual);
        self.event(kind::XA_PREPARE, 0, &body)
    }

    /// The events as the replay's input.
    pub fn feed(&self) -> impl Iterator<Item = Result<RawEvent, std::io::Error>> + '_ {
        self.events.iter().cloned().map(Ok)
    }
}

/// Stands in for the server: records what it is sent, fails on request.
#[derive(Default)]
pub(crate) struct Recorder {
    pub log: Vec<String>,
    /// A statement containing this text fails with this error code.
    pub fail: Option<(String, u16)>,
}

impl Recorder {
    /// The events of each `BINLOG` statement sent, whole or in two fragments.
    pub fn binlogs(&self) -> Vec<Vec<Vec<u8>>> {
        let mut fragments = [String::new(), String::new()];
        let mut out = Vec::new();
        for s in &self.log {
            let b64 = if let Some(rest) = s.strip_prefix("BINLOG '") {
                rest.trim_end_matches('\'').to_string()
            } else if s == "BINLOG @mybak_binlog_0, @mybak_binlog_1" {
                fragments.concat()
            } else {
                for (i, f) in fragments.iter_mut().enumerate() {
                    if let Some(v) = s.strip_prefix(&format!("SET @mybak_binlog_{i} = '")) {
                        *f = v.trim_end_matches('\'').to_string();
                    }
                }
                continue;
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            out.push(split_events(&bytes));
        }
        out
    }

    /// The events inside the `n`th `BINLOG` statement.
    pub fn binlog_events(&self, n: usize) -> Vec<Vec<u8>> {
        self.binlogs().into_iter().nth(n).unwrap_or_default()
    }
}

/// Events laid end to end, apart.
fn split_events(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + HEADER_LEN <= bytes.len() {
        let size = u32::from_le_bytes([
            bytes[at + 9],
            bytes[at + 10],
            bytes[at + 11],
            bytes[at + 12],
        ]) as usize;
        out.push(bytes[at..(at + size).min(bytes.len())].to_vec());
        at += size.max(1);
    }
    out
}

impl Apply for Recorder {
    fn run(&mut self, file: &str, stmt: &Stmt) -> Result<(), ReplayError> {
        let text = match &stmt.sql {
            Sql::Text(t) => String::from_utf8_lossy(t).into_owned(),
            Sql::Use(db) => format!("USE `{db}`"),
        };
        if let Some((needle, code)) = &self.fail {
            if text.contains(needle.as_str()) && *code != stmt.expected_error {
                let e = mysql::Error::MySqlError(mysql::MySqlError {
                    state: "HY000".into(),
                    message: "refused".into(),
                    code: *code,
                });
                return Err(ReplayError::Server {
                    file: file.to_string(),
                    pos: stmt.pos,
                    event: frame::kind_name(stmt.kind),
                    statement: text,
                    message: "refused".into(),
                    source: Box::new(e),
                });
            }
        }
        self.log.push(text);
        Ok(())
    }

    fn abort(&mut self, xid: Option<&Xid>) {
        self.log.push(match xid {
            Some(x) => format!("ABORT {x}"),
            None => "ABORT".to_string(),
        });
    }
}

impl Collations for Recorder {
    fn names(&mut self, id: u32) -> Result<(String, String), String> {
        let known: HashMap<u32, (&str, &str)> = [
            (8, ("latin1", "latin1_swedish_ci")),
            (45, ("utf8mb4", "utf8mb4_general_ci")),
        ]
        .into_iter()
        .collect();
        known
            .get(&id)
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .ok_or_else(|| format!("collation {id} is unknown"))
    }
}
