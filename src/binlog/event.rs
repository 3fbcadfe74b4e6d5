//! Binlog events as bytes: the common header, the few bodies the archiver reads (format
//! description, rotate, GTID, GTID list, query text), and where transactions begin and end.
//!
//! Events are never re-serialised: the archiver writes the bytes the server sent, so this module
//! only reads. Every reader checks lengths first and answers `None` or an error on short or
//! malformed input; nothing here can panic on bytes from the wire or a file.

use std::fmt;
use std::io::Read;

/// The magic number at the start of every binlog file.
pub const MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// The length of the common event header (binlog format version 4).
pub const HEADER_LEN: usize = 19;

/// Event types the archiver tells apart (MySQL's and MariaDB's numbering).
pub mod kind {
    pub const QUERY: u8 = 0x02;
    pub const STOP: u8 = 0x03;
    pub const ROTATE: u8 = 0x04;
    pub const FORMAT_DESCRIPTION: u8 = 0x0f;
    pub const XID: u8 = 0x10;
    pub const HEARTBEAT: u8 = 0x1b;
    pub const MYSQL_GTID: u8 = 0x21;
    pub const MYSQL_ANONYMOUS_GTID: u8 = 0x22;
    pub const XA_PREPARE: u8 = 0x26;
    pub const MARIADB_ANNOTATE_ROWS: u8 = 0xa0;
    pub const MARIADB_BINLOG_CHECKPOINT: u8 = 0xa1;
    pub const MARIADB_GTID: u8 = 0xa2;
    pub const MARIADB_GTID_LIST: u8 = 0xa3;
}

/// Header flag of events the server makes up for the stream (never in a file).
pub const FLAG_ARTIFICIAL: u16 = 0x20;

/// Header flag of the first format description event while its file is open.
pub const FLAG_BINLOG_IN_USE: u16 = 0x01;

/// The byte offset of the header flags in an event.
pub const FLAGS_OFFSET: usize = 17;

/// MariaDB GTID event flag: the event group is one statement without BEGIN (DDL).
const MARIADB_GTID_STANDALONE: u8 = 0x01;

/// The common header of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub timestamp: u32,
    pub kind: u8,
    pub server_id: u32,
    pub size: u32,
    /// The position just after this event in its file; 0 for events made up for the stream.
    pub log_pos: u32,
    pub flags: u16,
}

impl Header {
    /// Reads the header at the start of `bytes`; `None` if there are fewer than 19 bytes.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let h = bytes.get(..HEADER_LEN)?;
        Some(Header {
            timestamp: u32_at(h, 0)?,
            kind: h[4],
            server_id: u32_at(h, 5)?,
            size: u32_at(h, 9)?,
            log_pos: u32_at(h, 13)?,
            flags: u16::from_le_bytes([h[17], h[18]]),
        })
    }

    /// Whether the server made this event up for the stream (a rotate to the next file, the
    /// format description re-sent on resume, a heartbeat): such events are never written.
    pub fn is_artificial(&self) -> bool {
        self.log_pos == 0 || self.flags & FLAG_ARTIFICIAL != 0 || self.kind == kind::HEARTBEAT
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// A whole event that was checked: its header agrees with its length.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub header: Header,
    pub bytes: &'a [u8],
}

/// Why bytes are not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event shorter than its 19-byte header ({0} bytes)")]
    Short(usize),
    #[error("event header says {said} bytes but {got} arrived")]
    Length { said: u32, got: usize },
    #[error("event of type {kind:#04x} fails its CRC32 checksum")]
    Checksum { kind: u8 },
}

impl<'a> Event<'a> {
    /// Checks that `bytes` is exactly one event, and its CRC32 when `checksum` is on.
    pub fn parse(bytes: &'a [u8], checksum: bool) -> Result<Event<'a>, EventError> {
        let header = Header::parse(bytes).ok_or(EventError::Short(bytes.len()))?;
        if usize::try_from(header.size).ok() != Some(bytes.len()) {
            return Err(EventError::Length {
                said: header.size,
                got: bytes.len(),
            });
        }
        let event = Event { header, bytes };
        if checksum && !event.checksum_ok() {
            return Err(EventError::Checksum { kind: header.kind });
        }
        Ok(event)
    }

    /// Whether the last 4 bytes are the CRC32 of the rest.
    fn checksum_ok(&self) -> bool {
        let Some(split) = self.bytes.len().checked_sub(4) else {
            return false;
        };
        let (data, crc) = self.bytes.split_at(split);
        u32_at(crc, 0) == Some(checksum_of(data))
    }

    /// The body after the header, without the trailing checksum when `checksum` is on.
    pub fn body(&self, checksum: bool) -> &'a [u8] {
        let end = self
            .bytes
            .len()
            .saturating_sub(if checksum { 4 } else { 0 });
        self.bytes.get(HEADER_LEN..end).unwrap_or_default()
    }
}

/// The CRC32 the server computes for an event: over `data`, everything but the checksum itself,
/// with a format description's in-use flag clear (the server sets the flag on a file it has open
/// after computing the checksum).
pub fn checksum_of(data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    match data.get(..HEADER_LEN) {
        Some(head) if head[4] == kind::FORMAT_DESCRIPTION => {
            let mut head: [u8; HEADER_LEN] = head.try_into().unwrap_or([0; HEADER_LEN]);
            head[FLAGS_OFFSET] &= !(FLAG_BINLOG_IN_USE as u8);
            hasher.update(&head);
            hasher.update(&data[HEADER_LEN..]);
        }
        _ => hasher.update(data),
    }
    hasher.finalize()
}

/// Whether events of a format description carry a CRC32: the algorithm byte sits before the
/// 4-byte checksum at the end of the event (`None` for a format description too short for it).
pub fn format_checksum(fde: &[u8]) -> Option<bool> {
    let at = fde.len().checked_sub(5)?;
    // Binlog version (2) + server version (50) + create time (4) + header length (1).
    if at < HEADER_LEN + 57 {
        return Some(false);
    }
    Some(fde[at] == 1)
}

/// The next file and its start position named by a rotate event.
pub fn rotate_target(event: &Event<'_>, checksum: bool) -> Option<(String, u64)> {
    let body = event.body(checksum);
    let pos = u64_at(body, 0)?;
    let name = std::str::from_utf8(body.get(8..)?).ok()?;
    (!name.is_empty()).then(|| (name.to_string(), pos))
}

/// A global transaction id: MariaDB's `domain-server-sequence` or MySQL's `uuid[:tag]:number`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Gtid {
    MariaDb {
        domain: u32,
        server: u32,
        seq: u64,
    },
    MySql {
        sid: [u8; 16],
        tag: Option<String>,
        gno: u64,
    },
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtid::MariaDb {
                domain,
                server,
                seq,
            } => write!(f, "{domain}-{server}-{seq}"),
            Gtid::MySql { sid, tag, gno } => {
                for (i, b) in sid.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                if let Some(tag) = tag {
                    write!(f, ":{tag}")?;
                }
                write!(f, ":{gno}")
            }
        }
    }
}

/// The GTID an event starts a transaction with, and whether that transaction is a single
/// statement without BEGIN (MariaDB's standalone flag; `None` when only the first query tells,
/// as on MySQL).
pub fn gtid_of(event: &Event<'_>, checksum: bool) -> Option<(Gtid, Option<bool>)> {
    let body = event.body(checksum);
    match event.header.kind {
        kind::MARIADB_GTID => {
            let seq = u64_at(body, 0)?;
            let domain = u32_at(body, 8)?;
            let flags = *body.get(12)?;
            let gtid = Gtid::MariaDb {
                domain,
                server: event.header.server_id,
                seq,
            };
            Some((gtid, Some(flags & MARIADB_GTID_STANDALONE != 0)))
        }
        kind::MYSQL_GTID | kind::MYSQL_ANONYMOUS_GTID => {
            let mut sid = [0u8; 16];
            sid.copy_from_slice(body.get(1..17)?);
            let gno = u64_at(body, 17)?;
            Some((
                Gtid::MySql {
                    sid,
                    tag: None,
                    gno,
                },
                None,
            ))
        }
        _ => None,
    }
}

/// The GTIDs of a MariaDB GTID list event: the binlog state when its file was started.
pub fn gtid_list(event: &Event<'_>, checksum: bool) -> Option<Vec<Gtid>> {
    let body = event.body(checksum);
    let count = u32_at(body, 0)? & 0x0fff_ffff;
    let mut out = Vec::new();
    for i in 0..usize::try_from(count).ok()? {
        let at = 4usize.checked_add(i.checked_mul(16)?)?;
        out.push(Gtid::MariaDb {
            domain: u32_at(body, at)?,
            server: u32_at(body, at + 4)?,
            seq: u64_at(body, at + 8)?,
        });
    }
    Some(out)
}

/// The statement text of a query event (`None` when the body is malformed).
pub fn query_text<'a>(event: &Event<'a>, checksum: bool) -> Option<&'a [u8]> {
    let body = event.body(checksum);
    // thread id (4), exec time (4), db length (1), error code (2), status vars length (2).
    let db_len = usize::from(*body.get(8)?);
    let vars_len = usize::from(u16::from_le_bytes([*body.get(11)?, *body.get(12)?]));
    let start = 13usize
        .checked_add(vars_len)?
        .checked_add(db_len)?
        .checked_add(1)?;
    body.get(start..)
}

/// Whether a query ends the transaction it is in.
fn ends_transaction(text: &[u8]) -> bool {
    let word = |w: &str| {
        text.len() >= w.len()
            && text[..w.len()].eq_ignore_ascii_case(w.as_bytes())
            && text.get(w.len()).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    word("COMMIT") || word("ROLLBACK") || word("XA COMMIT") || word("XA ROLLBACK")
}

/// Whether a query opens a multi-statement transaction (MySQL writes BEGIN after its GTID).
fn begins_transaction(text: &[u8]) -> bool {
    let head =
        |w: &str| text.len() >= w.len() && text[..w.len()].eq_ignore_ascii_case(w.as_bytes());
    head("BEGIN") || head("XA START") || head("XA BEGIN")
}

/// Follows the events of a file and says where a transaction may be cut: after an event that
/// is outside any transaction or ends one.
#[derive(Debug, Default, Clone)]
pub struct Boundaries {
    group: Option<Group>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// A GTID was seen; the first query says which kind follows (MySQL).
    Undecided,
    /// BEGIN … COMMIT (or XID).
    Transaction,
    /// One statement.
    Standalone,
}

impl Boundaries {
    /// Takes the next event; returns whether the file is at a transaction boundary after it.
    pub fn after(&mut self, event: &Event<'_>, checksum: bool) -> bool {
        let k = event.header.kind;
        if let Some((_, standalone)) = gtid_of(event, checksum) {
            self.group = Some(match standalone {
                Some(true) => Group::Standalone,
                Some(false) => Group::Transaction,
                None => Group::Undecided,
            });
            return false;
        }
        let Some(group) = self.group else {
            return true;
        };
        let ends = match k {
            kind::XID | kind::XA_PREPARE => true,
            kind::QUERY => {
                let text = query_text(event, checksum).unwrap_or_default();
                match group {
                    Group::Standalone => true,
                    Group::Undecided if begins_transaction(text) => {
                        self.group = Some(Group::Transaction);
                        false
                    }
                    Group::Undecided => true,
                    Group::Transaction => ends_transaction(text),
                }
            }
            _ => false,
        };
        if ends {
            self.group = None;
        }
        ends
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.group.is_some()
    }
}

/// What a scan of a binlog file's bytes found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// The length up to the end of the last event after which no transaction is open.
    pub safe_len: u64,
    /// The length up to the end of the last whole event.
    pub whole_len: u64,
    /// Whether the events carry checksums (from the format description).
    pub checksum: bool,
    /// The last event up to `safe_len` is a rotate: the file is complete.
    pub rotated_to: Option<String>,
    /// The type of the last event up to `safe_len` (0: none).
    pub last_kind: u8,
}

/// Why a binlog file's bytes cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("not a binlog file (no magic number)")]
    NoMagic,
    #[error("at position {pos}: {error}")]
    Event { pos: u64, error: EventError },
    #[error("reading at position {pos}: {message}")]
    Read { pos: u64, message: String },
}

/// What [`EventReader::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole event, checked.
    Event(Vec<u8>),
    /// The end, after a whole event.
    End,
    /// The end, inside an event (a file whose writer died).
    Cut,
}

/// Reads the events of a binlog file one by one, checking each (length, CRC32 once the format
/// description says so). Memory is one event.
pub struct EventReader<R> {
    inner: R,
    pos: u64,
    checksum: bool,
}

impl<R: Read> EventReader<R> {
    /// Reads the magic number; `None` when the input ends before it (nothing written yet).
    pub fn start(mut inner: R) -> Result<Option<EventReader<R>>, ScanError> {
        let mut magic = [0u8; 4];
        let got = fill(&mut inner, &mut magic, 0)?;
        if got < magic.len() {
            return Ok(None);
        }
        if magic != MAGIC {
            return Err(ScanError::NoMagic);
        }
        Ok(Some(EventReader {
            inner,
            pos: 4,
            checksum: false,
        }))
    }

    /// The position after the last event read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether events carry checksums (known once the format description was read).
    pub fn checksum(&self) -> bool {
        self.checksum
    }

    /// The next event.
    pub fn next_event(&mut self) -> Result<Next, ScanError> {
        let mut header = [0u8; HEADER_LEN];
        match fill(&mut self.inner, &mut header, self.pos)? {
            0 => return Ok(Next::End),
            n if n < HEADER_LEN => return Ok(Next::Cut),
            _ => {}
        }
        let err = |error| ScanError::Event {
            pos: self.pos,
            error,
        };
        let size = u32_at(&header, 9).unwrap_or_default() as usize;
        if size < HEADER_LEN {
            return Err(err(EventError::Short(size)));
        }
        // Grown as bytes arrive, so a garbage size cannot make it allocate gigabytes.
        let mut bytes = header.to_vec();
        while bytes.len() < size {
            let want = (size - bytes.len()) as u64;
            match (&mut self.inner).take(want).read_to_end(&mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ScanError::Read {
                        pos: self.pos,
                        message: e.to_string(),
                    })
                }
            }
        }
        if bytes.len() < size {
            return Ok(Next::Cut);
        }
        if header[4] == kind::FORMAT_DESCRIPTION {
            self.checksum = format_checksum(&bytes).unwrap_or(false);
        }
        Event::parse(&bytes, self.checksum).map_err(err)?;
        self.pos += size as u64;
        Ok(Next::Event(bytes))
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn fill(inner: &mut impl Read, buf: &mut [u8], pos: u64) -> Result<usize, ScanError> {
    let mut got = 0;
    while got < buf.len() {
        match inner.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(ScanError::Read {
                    pos,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(got)
}

/// Walks the events of a binlog file, checking each, up to a cut transaction or event at the
/// end (a file written by a process that died): see [`Scan`].
pub fn scan(file: impl Read) -> Result<Scan, ScanError> {
    let Some(mut reader) = EventReader::start(file)? else {
        return Ok(Scan::default());
    };
    let mut scan = Scan {
        safe_len: 4,
        whole_len: 4,
        ..Scan::default()
    };
    let mut bounds = Boundaries::default();
    while let Next::Event(bytes) = reader.next_event()? {
        scan.checksum = reader.checksum();
        scan.whole_len = reader.position();
        let event = Event::parse(&bytes, scan.checksum).map_err(|error| ScanError::Event {
            pos: scan.whole_len,
            error,
        })?;
        if bounds.after(&event, scan.checksum) {
            scan.safe_len = reader.position();
            scan.last_kind = event.header.kind;
            scan.rotated_to = (event.header.kind == kind::ROTATE)
                .then(|| rotate_target(&event, scan.checksum).map(|(name, _)| name))
                .flatten();
        }
    }
    Ok(scan)
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
