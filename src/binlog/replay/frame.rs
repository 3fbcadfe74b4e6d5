//! One binlog event as bytes: its 19-byte header, its CRC32, a binlog file cut into events, and
//! the two edits replay makes to event bytes (a table map's database name, a rows event's
//! end-of-statement flag), each leaving a valid event with a fresh checksum.

use super::error::ReplayError;
use super::RawEvent;
use crate::binlog::event;

pub(crate) use crate::binlog::event::HEADER_LEN;
/// The CRC32 that ends each event when the file's Format_description event says so.
pub(crate) const CHECKSUM_LEN: usize = 4;
/// An event of an unknown type with this flag may be skipped.
pub(crate) const IGNORABLE: u16 = 0x0080;
/// Rows event flag: the last event of its statement.
pub(crate) const STMT_END: u16 = 0x0001;

/// Event type codes, MySQL's and MariaDB's.
pub(crate) mod kind {
    pub const START_V3: u8 = 0x01;
    pub const QUERY: u8 = 0x02;
    pub const STOP: u8 = 0x03;
    pub const ROTATE: u8 = 0x04;
    pub const INTVAR: u8 = 0x05;
    pub const SLAVE: u8 = 0x07;
    pub const RAND: u8 = 0x0d;
    pub const USER_VAR: u8 = 0x0e;
    pub const FORMAT_DESCRIPTION: u8 = 0x0f;
    pub const XID: u8 = 0x10;
    pub const BEGIN_LOAD_QUERY: u8 = 0x11;
    pub const EXECUTE_LOAD_QUERY: u8 = 0x12;
    pub const TABLE_MAP: u8 = 0x13;
    pub const INCIDENT: u8 = 0x1a;
    pub const HEARTBEAT: u8 = 0x1b;
    pub const IGNORABLE: u8 = 0x1c;
    pub const ROWS_QUERY: u8 = 0x1d;
    pub const GTID: u8 = 0x21;
    pub const ANONYMOUS_GTID: u8 = 0x22;
    pub const PREVIOUS_GTIDS: u8 = 0x23;
    pub const TRANSACTION_CONTEXT: u8 = 0x24;
    pub const VIEW_CHANGE: u8 = 0x25;
    pub const XA_PREPARE: u8 = 0x26;
    pub const TRANSACTION_PAYLOAD: u8 = 0x28;
    pub const GTID_TAGGED: u8 = 0x2a;
    pub const ANNOTATE_ROWS: u8 = 0xa0;
    pub const BINLOG_CHECKPOINT: u8 = 0xa1;
    pub const MARIADB_GTID: u8 = 0xa2;
    pub const GTID_LIST: u8 = 0xa3;
    pub const START_ENCRYPTION: u8 = 0xa4;
    pub const QUERY_COMPRESSED: u8 = 0xa5;

    /// Rows events: v1 (0x17–0x19), v2 (0x1e–0x20), MySQL's partial JSON update (0x27) and
    /// MariaDB's compressed v1 and v2 (0xa6–0xab).
    pub fn is_rows(code: u8) -> bool {
        matches!(code, 0x17..=0x19 | 0x1e..=0x20 | 0x27 | 0xa6..=0xab)
    }

    /// LOAD DATA as logged in statement format.
    pub fn is_load(code: u8) -> bool {
        matches!(
            code,
            0x06 | 0x08..=0x0c | BEGIN_LOAD_QUERY | EXECUTE_LOAD_QUERY
        )
    }
}

/// The name of an event type, for messages (as the MariaDB server names them).
pub(crate) fn kind_name(code: u8) -> &'static str {
    match code {
        0x01 => "Start_v3",
        0x02 => "Query",
        0x03 => "Stop",
        0x04 => "Rotate",
        0x05 => "Intvar",
        0x06 => "Load",
        0x07 => "Slave",
        0x08 => "Create_file",
        0x09 => "Append_block",
        0x0a => "Exec_load",
        0x0b => "Delete_file",
        0x0c => "New_load",
        0x0d => "RAND",
        0x0e => "User_var",
        0x0f => "Format_desc",
        0x10 => "Xid",
        0x11 => "Begin_load_query",
        0x12 => "Execute_load_query",
        0x13 => "Table_map",
        0x14..=0x16 => "Pre_GA_rows",
        0x17 => "Write_rows_v1",
        0x18 => "Update_rows_v1",
        0x19 => "Delete_rows_v1",
        0x1e => "Write_rows",
        0x1f => "Update_rows",
        0x20 => "Delete_rows",
        0x1a => "Incident",
        0x1b => "Heartbeat",
        0x1c => "Ignorable",
        0x1d => "Rows_query",
        0x21 | 0x2a => "Gtid",
        0x22 => "Anonymous_Gtid",
        0x23 => "Previous_gtids",
        0x24 => "Transaction_context",
        0x25 => "View_change",
        0x26 => "XA_prepare",
        0x27 => "Update_rows_partial",
        0x28 => "Transaction_payload",
        0xa0 => "Annotate_rows",
        0xa1 => "Binlog_checkpoint",
        0xa2 => "GTID",
        0xa3 => "Gtid_list",
        0xa4 => "Start_encryption",
        0xa5 => "Query_compressed",
        0xa6 => "Write_rows_compressed_v1",
        0xa7 => "Update_rows_compressed_v1",
        0xa8 => "Delete_rows_compressed_v1",
        0xa9 => "Write_rows_compressed",
        0xaa => "Update_rows_compressed",
        0xab => "Delete_rows_compressed",
        _ => "Unknown",
    }
}

/// The fields of the common header replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub timestamp: u32,
    pub kind: u8,
    pub server_id: u32,
    pub size: u32,
    pub flags: u16,
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The header of `bytes`, checking that its size field is the length of `bytes`.
pub(crate) fn header(raw: &RawEvent) -> Result<Header, ReplayError> {
    let malformed = |message: String| ReplayError::Malformed {
        file: raw.file.clone(),
        pos: raw.start,
        message,
    };
    let b = &raw.bytes;
    if b.len() < HEADER_LEN {
        return Err(malformed(format!(
            "truncated event: {} bytes, shorter than the {HEADER_LEN}-byte event header",
            b.len()
        )));
    }
    let h = Header {
        timestamp: le_u32(b, 0).unwrap_or(0),
        kind: b[4],
        server_id: le_u32(b, 5).unwrap_or(0),
        size: le_u32(b, 9).unwrap_or(0),
        flags: le_u16(b, 17).unwrap_or(0),
    };
    if h.size as usize != b.len() {
        return Err(malformed(format!(
            "{} event: its header says {} bytes, {} are there (truncated or not an event)",
            kind_name(h.kind),
            h.size,
            b.len()
        )));
    }
    let span = raw.end.checked_sub(raw.start);
    if span != Some(b.len() as u64) {
        return Err(malformed(format!(
            "{} event: {} bytes do not fit between positions {} and {}",
            kind_name(h.kind),
            b.len(),
            raw.start,
            raw.end
        )));
    }
    Ok(h)
}

/// The CRC32 the server computes for an event (see [`event::checksum_of`]).
pub(crate) fn compute_checksum(bytes: &[u8]) -> u32 {
    event::checksum_of(&bytes[..bytes.len().saturating_sub(CHECKSUM_LEN)])
}

/// The checksum stored at the end of `bytes`, and the one its contents give.
pub(crate) fn checksums(bytes: &[u8]) -> (u32, u32) {
    let stored = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .and_then(|at| le_u32(bytes, at))
        .unwrap_or(0);
    (stored, compute_checksum(bytes))
}

/// After an edit: the size field set to the new length and, when `checksummed`, a fresh CRC32.
pub(crate) fn reseal(bytes: &mut [u8], checksummed: bool) {
    let len = (bytes.len() as u32).to_le_bytes();
    if let Some(size) = bytes.get_mut(9..13) {
        size.copy_from_slice(&len);
    }
    if checksummed && bytes.len() >= HEADER_LEN + CHECKSUM_LEN {
        let crc = compute_checksum(bytes).to_le_bytes();
        let at = bytes.len() - CHECKSUM_LEN;
        bytes[at..].copy_from_slice(&crc);
    }
}

/// Where a table map's database name is: the offset of its length byte, and that length.
fn table_map_db(bytes: &[u8], post_header_len: usize) -> Option<(usize, usize)> {
    let at = HEADER_LEN + post_header_len;
    let len = *bytes.get(at)? as usize;
    // The name is NUL-terminated.
    (*bytes.get(at + 1 + len)? == 0).then_some((at, len))
}

/// A table map's database and table names, as bytes.
pub(crate) fn table_map_names(bytes: &[u8], post_header_len: usize) -> Option<(&[u8], &[u8])> {
    let (at, len) = table_map_db(bytes, post_header_len)?;
    let db = bytes.get(at + 1..at + 1 + len)?;
    let t_at = at + 1 + len + 1;
    let t_len = *bytes.get(t_at)? as usize;
    let table = bytes.get(t_at + 1..t_at + 1 + t_len)?;
    (*bytes.get(t_at + 1 + t_len)? == 0).then_some((db, table))
}

/// The table map event `bytes` with its database renamed to `db`: length byte, size field and
/// checksum fixed. `None` when the event does not have the expected shape or `db` is longer than
/// the 255 bytes the format allows.
pub(crate) fn rename_table_map(
    bytes: &[u8],
    post_header_len: usize,
    db: &[u8],
    checksummed: bool,
) -> Option<Vec<u8>> {
    let (at, old_len) = table_map_db(bytes, post_header_len)?;
    let new_len = u8::try_from(db.len()).ok()?;
    let mut out = Vec::with_capacity(bytes.len() + db.len());
    out.extend_from_slice(bytes.get(..at)?);
    out.push(new_len);
    out.extend_from_slice(db);
    out.extend_from_slice(bytes.get(at + 1 + old_len..)?);
    reseal(&mut out, checksummed);
    Some(out)
}

/// The table id and flags of a rows event (`post_header_len` 6: a 4-byte table id, else 6).
pub(crate) fn rows_header(bytes: &[u8], post_header_len: usize) -> Option<(u64, u16)> {
    let id_len = if post_header_len == 6 { 4 } else { 6 };
    let id_bytes = bytes.get(HEADER_LEN..HEADER_LEN + id_len)?;
    let mut id = [0u8; 8];
    id[..id_len].copy_from_slice(id_bytes);
    let flags = le_u16(bytes, HEADER_LEN + id_len)?;
    Some((u64::from_le_bytes(id), flags))
}

/// Sets the end-of-statement flag of a rows event in place (its last rows events were filtered
/// out) and fixes its checksum.
pub(crate) fn set_stmt_end(bytes: &mut [u8], post_header_len: usize, checksummed: bool) {
    let id_len = if post_header_len == 6 { 4 } else { 6 };
    let at = HEADER_LEN + id_len;
    if let Some(flags) = le_u16(bytes, at) {
        bytes[at..at + 2].copy_from_slice(&(flags | STMT_END).to_le_bytes());
        reseal(bytes, checksummed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checksummed event of type `kind` with `body`.
    pub(crate) fn event(kind: u8, flags: u16, body: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&1_700_000_000u32.to_le_bytes());
        b[4] = kind;
        b[5..9].copy_from_slice(&1u32.to_le_bytes());
        b[17..19].copy_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&[0; CHECKSUM_LEN]);
        reseal(&mut b, true);
        b
    }

    fn table_map(db: &[u8], table: &[u8]) -> Vec<u8> {
        let mut body = vec![42, 0, 0, 0, 0, 0, 1, 0];
        body.push(db.len() as u8);
        body.extend_from_slice(db);
        body.push(0);
        body.push(table.len() as u8);
        body.extend_from_slice(table);
        body.push(0);
        body.extend_from_slice(&[1, 3, 0, 0]);
        event(kind::TABLE_MAP, 0, &body)
    }

    #[test]
    fn checksum_matches_the_server_for_a_real_event() {
        // A MariaDB 10.11 Table_map event (`d1`.`t`), as `mariadb-binlog` prints it in base64.
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode("oy4TaxMBAAAAMgAAAN0FAAAAABIAAAAAAAEAAmQxAAF0AAQDDw8RBTIAKAAADrbEfH8=")
            .unwrap();
        let (stored, computed) = checksums(&bytes);
        assert_eq!(stored, 0x7f7cc4b6);
        assert_eq!(computed, stored);
        assert_eq!(table_map_names(&bytes, 8), Some((&b"d1"[..], &b"t"[..])));
        let renamed = rename_table_map(&bytes, 8, b"restored", true).unwrap();
        assert_eq!(renamed.len(), bytes.len() + 6);
        let (stored, computed) = checksums(&renamed);
        assert_eq!(stored, computed);
        assert_eq!(
            table_map_names(&renamed, 8),
            Some((&b"restored"[..], &b"t"[..]))
        );
        assert_eq!(le_u32(&renamed, 9), Some(renamed.len() as u32));
        // Everything after the database name is unchanged.
        let tail = |b: &[u8], from: usize| b[from..b.len() - CHECKSUM_LEN].to_vec();
        assert_eq!(
            tail(&renamed, HEADER_LEN + 8 + 10),
            tail(&bytes, HEADER_LEN + 8 + 4)
        );
    }

    #[test]
    fn table_map_renames() {
        type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
        let cases: Vec<Case<'_>> = vec![
            (b"shop", b"shop_restored", Some(b"shop_restored")),
            (b"long_name", b"s", Some(b"s")),
            (b"db", "caf\u{e9}".as_bytes(), Some("caf\u{e9}".as_bytes())),
            (b"", b"x", Some(b"x")),
            (b"db", &[b'x'; 256], None),
        ];
        for (from, to, want) in cases {
            let tm = table_map(from, b"t1");
            for checksummed in [true, false] {
                let got = rename_table_map(&tm, 8, to, checksummed);
                match (want, got) {
                    (None, got) => assert!(got.is_none()),
                    (Some(want), Some(got)) => {
                        assert_eq!(table_map_names(&got, 8), Some((want, &b"t1"[..])));
                        assert_eq!(le_u32(&got, 9), Some(got.len() as u32));
                        let (stored, computed) = checksums(&got);
                        assert_eq!(stored == computed, checksummed, "{to:?}");
                    }
                    (Some(_), None) => panic!("{from:?} -> {to:?} refused"),
                }
            }
        }
        // Not a table map shape: no NUL after the name.
        let mut bad = table_map(b"db", b"t");
        bad[HEADER_LEN + 8 + 3] = b'x';
        assert_eq!(rename_table_map(&bad, 8, b"x", true), None);
        assert_eq!(table_map_names(&bad, 8), None);
    }

    #[test]
    fn rows_flags() {
        let body = [7, 0, 0, 0, 0, 0, 0x04, 0, 2, 0, 1, 0xff];
        let mut rows = event(0x1e, 0, &body);
        assert_eq!(rows_header(&rows, 10), Some((7, 0x04)));
        set_stmt_end(&mut rows, 10, true);
        assert_eq!(rows_header(&rows, 10), Some((7, 0x05)));
        let (stored, computed) = checksums(&rows);
        assert_eq!(stored, computed);
        // Old 4-byte table ids.
        assert_eq!(rows_header(&rows, 6), Some((7, 0)));
        assert_eq!(rows_header(&rows[..HEADER_LEN + 3], 10), None);
    }

    #[test]
    fn format_description_checksum_ignores_the_in_use_flag() {
        let body = [0u8; 60];
        let closed = event(kind::FORMAT_DESCRIPTION, 0, &body);
        let mut open = closed.clone();
        open[17] |= event::FLAG_BINLOG_IN_USE as u8;
        assert_eq!(compute_checksum(&open), compute_checksum(&closed));
        let mut other = event(kind::QUERY, 0, &body);
        other[17] |= event::FLAG_BINLOG_IN_USE as u8;
        assert_ne!(checksums(&other).0, compute_checksum(&other));
    }

    fn raw(bytes: Vec<u8>, start: u64) -> RawEvent {
        RawEvent {
            file: "b.000001".into(),
            start,
            end: start + bytes.len() as u64,
            bytes,
        }
    }

    #[test]
    fn headers_check_their_length() {
        let good = event(kind::XID, 0, &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(header(&raw(good.clone(), 100)).unwrap().kind, kind::XID);
        let cases: Vec<RawEvent> = vec![
            raw(good[..10].to_vec(), 4),
            raw(good[..good.len() - 1].to_vec(), 4),
            raw([good.clone(), vec![0]].concat(), 4),
            RawEvent {
                end: 5,
                ..raw(good.clone(), 4)
            },
            raw(Vec::new(), 4),
        ];
        for r in cases {
            assert!(
                matches!(header(&r), Err(ReplayError::Malformed { .. })),
                "{r:?}"
            );
        }
    }
}
