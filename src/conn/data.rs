//! The dump's worker connection: statements over the protocol-level connection
//! ([`super::wire`]), and text-protocol rows read in place from the packet buffer, so a row's
//! values reach the SQL literal formatter without a copy or an allocation each.
//!
//! Errors are the `mysql` crate's ([`mysql::Error`]), built the way the driver builds them (a
//! server error is `MySqlError` with code and SQLSTATE, a broken or silent link an `IoError`
//! of the same kind), so the dump classifies a worker's failure exactly as the main
//! connection's ([`super::is_broken`], [`super::is_timeout`]).

use std::io;
use std::sync::Arc;

use mysql::{Column, Row, Value};
use mysql_common::io::ParseBuf;

use super::wire::{Wire, WireError, NO_ANSWER};
use super::{ConnError, ConnSettings, Endpoint, SslMode};

/// `COM_PING`.
const COM_PING: u8 = 0x0e;

/// The server's "more results follow" status flag (`SERVER_MORE_RESULTS_EXISTS`).
const MORE_RESULTS: u16 = 0x0008;

/// A logged-in connection for reading rows.
pub struct DataConn {
    wire: Wire,
    /// The last packet read; rows are handed out as views into it.
    packet: Vec<u8>,
}

/// What the first packet of an answer was.
enum Answer {
    /// `OK` (no rows), with the server's status flags.
    Done(u16),
    /// A result set of this many columns.
    Columns(u64),
}

impl DataConn {
    /// Connects and logs in as `settings` say (TLS as `ssl-mode` asks; with `PREFERRED` over
    /// TCP, a failed TLS attempt is followed by a plain one, as [`super::connect`] does).
    pub fn connect(settings: &ConnSettings) -> Result<DataConn, ConnError> {
        let purpose = "the dump's data connection";
        let endpoint = settings.endpoint();
        let wire = match Wire::connect(settings, purpose) {
            Err(WireError::Connect { .. } | WireError::Protocol { .. })
                if settings.ssl.mode == SslMode::Preferred
                    && matches!(endpoint, Endpoint::Tcp { .. }) =>
            {
                let mut plain = settings.clone();
                plain.ssl.mode = SslMode::Disabled;
                Wire::connect(&plain, purpose)
            }
            other => other,
        }
        .map_err(|e| connect_error(e, settings, &endpoint))?;
        Ok(DataConn {
            wire,
            packet: Vec::with_capacity(64 * 1024),
        })
    }

    /// The server's id of this connection.
    pub fn connection_id(&self) -> u32 {
        self.wire.connection_id()
    }

    /// Runs `sql`, discarding any rows it returns.
    pub fn query_drop(&mut self, sql: &str) -> Result<(), mysql::Error> {
        let mut rows = self.query_stream(sql)?;
        while rows.next_row()?.is_some() {}
        Ok(())
    }

    /// Runs `sql` and returns its rows (as text values), for small results.
    pub fn query_rows(&mut self, sql: &str) -> Result<Vec<Row>, mysql::Error> {
        let mut rows = self.query_stream(sql)?;
        let columns = rows.columns.clone();
        let mut out = Vec::new();
        while let Some(row) = rows.next_row()? {
            let values = (0..row.len())
                .map(|i| match row.get(i) {
                    Some(v) => Value::Bytes(v.to_vec()),
                    None => Value::NULL,
                })
                .collect();
            out.push(mysql_common::row::new_row(values, columns.clone()));
        }
        Ok(out)
    }

    /// The first row of `sql` converted to `T`, if there is one.
    pub fn query_first<T: mysql::prelude::FromRow>(
        &mut self,
        sql: &str,
    ) -> Result<Option<T>, mysql::Error> {
        super::session::query_first(self, sql)
    }

    /// Asks the server whether the connection still works (`COM_PING`).
    pub fn ping(&mut self) -> Result<(), mysql::Error> {
        let during = "pinging the server";
        self.wire
            .send_command(&[COM_PING], during)
            .map_err(into_mysql)?;
        match self.answer(during)? {
            Answer::Done(_) => Ok(()),
            Answer::Columns(_) => Err(self.protocol(during, "rows in answer to a ping")),
        }
    }

    /// Runs `sql` and hands out its rows one at a time, each a view into the packet buffer.
    /// A statement without a result set gives no columns and no rows. Rows not read when
    /// the stream is dropped are read and discarded then, so the connection stays usable.
    pub fn query_stream(&mut self, sql: &str) -> Result<TextRows<'_>, mysql::Error> {
        let during = "running a statement";
        self.wire.send_query(sql, during).map_err(into_mysql)?;
        let (columns, done) = match self.answer(during)? {
            Answer::Done(status) => {
                self.skip_more(status)?;
                (Arc::from(Vec::new()), true)
            }
            Answer::Columns(n) => (self.column_definitions(n)?, false),
        };
        Ok(TextRows {
            conn: self,
            columns,
            spans: Vec::new(),
            done,
        })
    }

    /// Reads the first packet of an answer.
    fn answer(&mut self, during: &str) -> Result<Answer, mysql::Error> {
        self.read(during)?;
        match self.packet.first() {
            Some(0x00) => Ok(Answer::Done(ok_status(&self.packet))),
            Some(0xff) => Err(into_mysql(self.wire.unexpected(&self.packet, during))),
            Some(_) => match lenenc(&self.packet, 0) {
                Some((n, end)) if end == self.packet.len() && n > 0 => Ok(Answer::Columns(n)),
                _ => Err(self.protocol(during, "a bad result-set header")),
            },
            None => Err(self.protocol(during, "an empty packet")),
        }
    }

    /// Reads `n` column definitions and the EOF after them.
    fn column_definitions(&mut self, n: u64) -> Result<Arc<[Column]>, mysql::Error> {
        let during = "reading column definitions";
        let mut columns = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(4096));
        for _ in 0..n {
            self.read(during)?;
            let column: Column = ParseBuf(&self.packet)
                .parse(())
                .map_err(|e| self.protocol(during, &format!("a bad column definition: {e}")))?;
            columns.push(column);
        }
        self.read(during)?;
        if !is_eof(&self.packet) {
            return Err(self.protocol(during, "no EOF after the column definitions"));
        }
        Ok(Arc::from(columns))
    }

    /// Reads and discards further result sets while the server says more follow.
    fn skip_more(&mut self, mut status: u16) -> Result<(), mysql::Error> {
        let during = "reading further results";
        while status & MORE_RESULTS != 0 {
            status = match self.answer(during)? {
                Answer::Done(status) => status,
                Answer::Columns(n) => {
                    self.column_definitions(n)?;
                    loop {
                        self.read(during)?;
                        match self.packet.first() {
                            Some(0xff) => {
                                return Err(into_mysql(self.wire.unexpected(&self.packet, during)))
                            }
                            _ if is_eof(&self.packet) => break eof_status(&self.packet),
                            _ => {}
                        }
                    }
                }
            };
        }
        Ok(())
    }

    fn read(&mut self, during: &str) -> Result<(), mysql::Error> {
        self.wire
            .read_into(&mut self.packet, during)
            .map_err(into_mysql)
    }

    fn protocol(&self, during: &str, message: &str) -> mysql::Error {
        into_mysql(self.wire.protocol(during, message.to_string()))
    }
}

/// The rows of one statement, read as they are asked for.
pub struct TextRows<'c> {
    conn: &'c mut DataConn,
    columns: Arc<[Column]>,
    /// Where each value of the current row is in the packet (`None`: NULL).
    spans: Vec<Option<(usize, usize)>>,
    done: bool,
}

impl TextRows<'_> {
    /// The result set's columns (none for a statement without rows).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The next row, or `None` after the last.
    pub fn next_row(&mut self) -> Result<Option<TextRow<'_>>, mysql::Error> {
        if self.done {
            return Ok(None);
        }
        let during = "reading rows";
        if let Err(e) = self.conn.read(during) {
            self.done = true;
            return Err(e);
        }
        let packet = &self.conn.packet;
        match packet.first() {
            Some(0xff) => {
                self.done = true;
                return Err(into_mysql(self.conn.wire.unexpected(packet, during)));
            }
            _ if is_eof(packet) => {
                self.done = true;
                let status = eof_status(packet);
                self.conn.skip_more(status)?;
                return Ok(None);
            }
            _ => {}
        }
        if !split_row(packet, self.columns.len(), &mut self.spans) {
            self.done = true;
            return Err(self
                .conn
                .protocol(during, "a row that does not match its columns"));
        }
        Ok(Some(TextRow {
            packet: &self.conn.packet,
            spans: &self.spans,
        }))
    }
}

impl Drop for TextRows<'_> {
    fn drop(&mut self) {
        // Errors here leave the connection broken; its next use reports them.
        while let Ok(Some(_)) = self.next_row() {}
    }
}

/// One row of a text result set: each value is its bytes as the server sent them, or NULL.
pub struct TextRow<'a> {
    packet: &'a [u8],
    spans: &'a [Option<(usize, usize)>],
}

impl<'a> TextRow<'a> {
    /// The number of values.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the row has no values.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`th value, `None` for NULL (or past the last value).
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let (start, end) = (*self.spans.get(i)?)?;
        self.packet.get(start..end)
    }
}

/// Splits a text row packet into `n` values (length-encoded strings, 0xfb for NULL); false
/// when the packet does not hold exactly `n` values.
fn split_row(packet: &[u8], n: usize, spans: &mut Vec<Option<(usize, usize)>>) -> bool {
    spans.clear();
    let mut pos = 0;
    for _ in 0..n {
        if packet.get(pos) == Some(&0xfb) {
            spans.push(None);
            pos += 1;
            continue;
        }
        let Some((len, start)) = lenenc(packet, pos) else {
            return false;
        };
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= packet.len())
        else {
            return false;
        };
        spans.push(Some((start, end)));
        pos = end;
    }
    pos == packet.len()
}

/// The length-encoded integer at `pos`, and where it ends.
fn lenenc(packet: &[u8], pos: usize) -> Option<(u64, usize)> {
    let first = *packet.get(pos)?;
    let width = match first {
        0..=0xfa => return Some((u64::from(first), pos + 1)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let bytes = packet.get(pos + 1..pos + 1 + width)?;
    let mut value = [0u8; 8];
    value[..width].copy_from_slice(bytes);
    Some((u64::from_le_bytes(value), pos + 1 + width))
}

/// Whether `packet` is an EOF packet (0xfe and short: a row starting with 0xfe is at least
/// nine bytes long).
fn is_eof(packet: &[u8]) -> bool {
    packet.first() == Some(&0xfe) && packet.len() < 9
}

/// The status flags of an EOF packet (0xfe, warnings, status).
fn eof_status(packet: &[u8]) -> u16 {
    match packet.get(3..5) {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => 0,
    }
}

/// The status flags of an OK packet (0x00, affected rows, last insert id, status).
fn ok_status(packet: &[u8]) -> u16 {
    let status = lenenc(packet, 1)
        .and_then(|(_, at)| lenenc(packet, at))
        .and_then(|(_, at)| packet.get(at..at + 2));
    match status {
        Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
        _ => 0,
    }
}

/// A protocol-level error as the driver would have reported it.
fn into_mysql(e: WireError) -> mysql::Error {
    match e {
        WireError::Server {
            code,
            state,
            message,
            ..
        } => mysql::Error::MySqlError(mysql::MySqlError {
            state,
            message,
            code,
        }),
        WireError::Lost {
            endpoint,
            during,
            reason,
            kind,
        } => {
            let kind = if reason == NO_ANSWER {
                io::ErrorKind::TimedOut
            } else {
                kind
            };
            mysql::Error::IoError(io::Error::new(
                kind,
                format!("{endpoint}: {reason} while {during}"),
            ))
        }
        other => mysql::Error::IoError(io::Error::new(
            io::ErrorKind::InvalidData,
            other.to_string(),
        )),
    }
}

/// A failure to connect as [`super::connect`] reports it.
fn connect_error(e: WireError, settings: &ConnSettings, endpoint: &Endpoint) -> ConnError {
    match e {
        WireError::AccessDenied { user, message, .. } => ConnError::AccessDenied {
            endpoint: endpoint.clone(),
            user,
            message,
        },
        WireError::Lost { ref reason, .. } if reason == NO_ANSWER => ConnError::Timeout {
            endpoint: endpoint.clone(),
            timeout: settings.connect_timeout,
            what: "connect-timeout",
        },
        other => ConnError::Connect {
            endpoint: endpoint.clone(),
            cause: into_mysql(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text row packet of these values.
    fn packet(values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut p = Vec::new();
        for v in values {
            match v {
                None => p.push(0xfb),
                Some(v) if v.len() < 0xfb => {
                    p.push(v.len() as u8);
                    p.extend_from_slice(v);
                }
                Some(v) if v.len() < 1 << 16 => {
                    p.push(0xfc);
                    p.extend_from_slice(&(v.len() as u16).to_le_bytes());
                    p.extend_from_slice(v);
                }
                Some(v) => {
                    p.push(0xfd);
                    p.extend_from_slice(&(v.len() as u32).to_le_bytes()[..3]);
                    p.extend_from_slice(v);
                }
            }
        }
        p
    }

    fn values(p: &[u8], n: usize) -> Option<Vec<Option<Vec<u8>>>> {
        let mut spans = Vec::new();
        if !split_row(p, n, &mut spans) {
            return None;
        }
        let row = TextRow {
            packet: p,
            spans: &spans,
        };
        Some(
            (0..row.len())
                .map(|i| row.get(i).map(<[u8]>::to_vec))
                .collect(),
        )
    }

    #[test]
    fn rows_split_into_their_values() {
        let big = vec![b'x'; 300];
        let huge = vec![b'y'; 70_000];
        let cases: Vec<Vec<Option<&[u8]>>> = vec![
            vec![],
            vec![None],
            vec![Some(b"")],
            vec![Some(b"1"), None, Some(b"abc")],
            vec![Some(&big), Some(b"\xfb\xfe\xff")],
            vec![Some(&huge), None],
        ];
        for case in cases {
            let p = packet(&case);
            let want: Vec<Option<Vec<u8>>> = case.iter().map(|v| v.map(<[u8]>::to_vec)).collect();
            assert_eq!(values(&p, case.len()), Some(want), "{case:?}");
        }
    }

    #[test]
    fn malformed_rows_are_refused_not_panicked_on() {
        let p = packet(&[Some(b"abc"), Some(b"de")]);
        // Too few columns, too many columns, truncated, a bad length prefix.
        assert_eq!(values(&p, 1), None);
        assert_eq!(values(&p, 3), None);
        for cut in 0..p.len() {
            assert_eq!(values(&p[..cut], 2), None, "cut at {cut}");
        }
        assert_eq!(values(&[0xff, 1, 2], 1), None);
        assert_eq!(values(&[0xfe, 1, 0, 0, 0, 0, 0, 0, 0x80], 1), None);
        assert_eq!(values(&[0xfc, 0xff], 1), None);
    }

    #[test]
    fn eof_and_status_flags() {
        assert!(is_eof(&[0xfe, 0, 0, 0x08, 0]));
        assert!(!is_eof(&[0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(eof_status(&[0xfe, 0, 0, 0x0a, 0]), 0x000a);
        assert_eq!(eof_status(&[0xfe]), 0);
        // OK: affected rows 1, insert id 0xfc 0x01 0x02 (258), status 0x0008.
        assert_eq!(ok_status(&[0x00, 1, 0xfc, 2, 1, 0x08, 0x00, 0, 0]), 0x0008);
        assert_eq!(ok_status(&[0x00]), 0);
    }
}
