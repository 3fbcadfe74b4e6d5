//! Reading one event: its length and checksum checked, its type-specific part parsed — with
//! `mysql_common` where it knows the type, by hand for MariaDB's own events — into what replay
//! acts on.

use std::fmt;

use mysql_common::binlog::consts::{BinlogChecksumAlg, BinlogVersion, IntvarEventType};
use mysql_common::binlog::events::{
    Event, FormatDescriptionEvent, GtidEvent, IntvarEvent, QueryEvent, RandEvent, UserVarEvent,
};
use mysql_common::constants::ItemResult;

use super::compressed;
use super::error::ReplayError;
use super::frame::{self, kind, kind_name, Header, CHECKSUM_LEN, HEADER_LEN};
use super::status::{parse_status, Status};
use super::target::Gtid;
use super::RawEvent;

/// A binlog file's format, from its Format_description event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Format {
    pub file: String,
    pub fde: FormatDescriptionEvent<'static>,
    /// The event itself, sent to the server before the file's row events.
    pub bytes: Vec<u8>,
    /// Every event ends with a CRC32.
    pub checksummed: bool,
    /// Written by MariaDB (not MySQL).
    pub mariadb: bool,
}

impl Format {
    /// The post-header length of events of type `code`.
    pub fn post_header_len(&self, code: u8) -> usize {
        let table = self.fde.event_type_header_lengths();
        match usize::from(code).checked_sub(1).and_then(|i| table.get(i)) {
            Some(n) => usize::from(*n),
            None if matches!(code, 0x17..=0x19 | 0xa6..=0xa8) => 8,
            None if kind::is_rows(code) => 10,
            None => 8,
        }
    }
}

/// An XA transaction id, printed as `X'gtrid',X'bqual',formatID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Xid {
    pub format_id: u32,
    pub gtrid: Vec<u8>,
    pub bqual: Vec<u8>,
}

impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        write!(
            f,
            "X'{}',X'{}',{}",
            hex(&self.gtrid),
            hex(&self.bqual),
            self.format_id
        )
    }
}

/// How the event group a GTID event begins is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `BEGIN` … `COMMIT` (XID, a COMMIT or ROLLBACK query).
    Transaction,
    /// One statement that commits on its own (DDL; MariaDB's XA COMMIT/ROLLBACK).
    Standalone,
    /// `XA START` … the XA_prepare event.
    XaPrepared,
    /// A MySQL GTID: the next event tells.
    Pending,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GtidStart {
    pub gtid: Option<Gtid>,
    pub shape: Shape,
    /// For an XA group: the transaction's id.
    pub xid: Option<Xid>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub thread_id: u32,
    pub error_code: u16,
    pub schema: Vec<u8>,
    pub sql: Vec<u8>,
    pub status: Status,
    /// `LOG_EVENT_SUPPRESS_USE_F`: run without making its schema the default database.
    pub suppress_use: bool,
}

/// A user variable's value, as the User_var event carries it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UserValue {
    Null,
    Real(f64),
    Int(i64),
    Unsigned(u64),
    Decimal(String),
    Text { collation: u32, bytes: Vec<u8> },
}

/// What an event is to replay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// Nothing to apply (annotations, GTID lists, rotations, heartbeats …).
    Skip,
    Format(Box<Format>),
    Gtid(GtidStart),
    Query(Query),
    InsertId(u64),
    LastInsertId(u64),
    Rand(u64, u64),
    UserVar {
        name: Vec<u8>,
        value: UserValue,
    },
    TableMap {
        table_id: u64,
        db: Vec<u8>,
    },
    Rows {
        table_id: u64,
        stmt_end: bool,
    },
    Xid,
    XaPrepare {
        one_phase: bool,
        xid: Xid,
    },
}

/// One event, where it came from, and what it is.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub header: Header,
    pub item: Item,
}

struct At<'a> {
    raw: &'a RawEvent,
    kind: u8,
}

impl At<'_> {
    fn malformed(&self, what: impl fmt::Display) -> ReplayError {
        ReplayError::Malformed {
            file: self.raw.file.clone(),
            pos: self.raw.start,
            message: format!("{} event: {what}", kind_name(self.kind)),
        }
    }

    fn unsupported(&self, reason: impl Into<String>) -> ReplayError {
        ReplayError::Unsupported {
            file: self.raw.file.clone(),
            pos: self.raw.start,
            event: kind_name(self.kind),
            reason: reason.into(),
        }
    }
}

/// Reads `raw`, whose file's format is `format` (`None` before the file's Format_description
/// event, which is then the only event accepted).
pub(crate) fn decode(format: Option<&Format>, raw: &RawEvent) -> Result<Decoded, ReplayError> {
    let header = frame::header(raw)?;
    let at = At {
        raw,
        kind: header.kind,
    };
    if header.kind == kind::FORMAT_DESCRIPTION {
        let format = read_format(&at)?;
        return Ok(Decoded {
            header,
            item: Item::Format(Box::new(format)),
        });
    }
    let format = format.filter(|f| f.file == raw.file).ok_or_else(|| {
        at.malformed(format!(
            "no Format_description event of {} came before it (feed the file's event at \
             position 4 first)",
            raw.file
        ))
    })?;
    if format.checksummed {
        check_crc(&at)?;
    }
    let item = item(format, &at, &header)?;
    Ok(Decoded { header, item })
}

fn check_crc(at: &At<'_>) -> Result<(), ReplayError> {
    if at.raw.bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(at.malformed("too short to hold its checksum"));
    }
    let (stored, computed) = frame::checksums(&at.raw.bytes);
    if stored != computed {
        return Err(ReplayError::Checksum {
            file: at.raw.file.clone(),
            pos: at.raw.start,
            event: kind_name(at.kind),
            stored,
            computed,
        });
    }
    Ok(())
}

/// The smallest Format_description event: binlog version, server version, creation time,
/// header length.
const FDE_MIN: usize = HEADER_LEN + 2 + 50 + 4 + 1;

fn read_format(at: &At<'_>) -> Result<Format, ReplayError> {
    let bytes = &at.raw.bytes;
    if bytes.len() < FDE_MIN {
        return Err(at.malformed(format!("{} bytes, too short", bytes.len())));
    }
    let base = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let event = Event::read(&base, &bytes[..]).map_err(|e| at.malformed(e))?;
    let fde = event
        .read_event::<FormatDescriptionEvent<'_>>()
        .map_err(|e| at.malformed(e))?
        .with_footer(event.footer())
        .into_owned();
    let alg = event
        .footer()
        .get_checksum_alg()
        .map_err(|e| at.malformed(e))?;
    let checksummed = alg == Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
    if checksummed {
        // The event carries the checksum it announces.
        check_crc(at)?;
    }
    if fde.event_header_length() as usize != HEADER_LEN {
        return Err(at.unsupported(format!(
            "an event header of {} bytes (only binlog version 4's {HEADER_LEN} are known)",
            fde.event_header_length()
        )));
    }
    let mariadb = fde.server_version().contains("MariaDB");
    Ok(Format {
        file: at.raw.file.clone(),
        fde,
        bytes: bytes.clone(),
        checksummed,
        mariadb,
    })
}

fn item(format: &Format, at: &At<'_>, header: &Header) -> Result<Item, ReplayError> {
    let code = header.kind;
    let event = Event::read(&format.fde, &at.raw.bytes[..]).map_err(|e| at.malformed(e))?;
    let bad = |e: std::io::Error| at.malformed(e);
    let post = format.post_header_len(code);
    Ok(match code {
        kind::QUERY | kind::QUERY_COMPRESSED => Item::Query(query(at, &event, header)?),
        kind::MARIADB_GTID => Item::Gtid(mariadb_gtid(at, event.data(), header)?),
        kind::GTID | kind::GTID_TAGGED => {
            let g = event.read_event::<GtidEvent>().map_err(bad)?;
            Item::Gtid(GtidStart {
                gtid: Some(Gtid::MySql {
                    sid: g.sid(),
                    tag: g.tag().map(|t| t.to_string()),
                    gno: g.gno(),
                }),
                shape: Shape::Pending,
                xid: None,
            })
        }
        kind::ANONYMOUS_GTID => Item::Gtid(GtidStart {
            gtid: None,
            shape: Shape::Pending,
            xid: None,
        }),
        kind::INTVAR => {
            let e = event.read_event::<IntvarEvent>().map_err(bad)?;
            match e.subtype() {
                IntvarEventType::INSERT_ID_EVENT => Item::InsertId(e.value()),
                IntvarEventType::LAST_INSERT_ID_EVENT => Item::LastInsertId(e.value()),
                IntvarEventType::INVALID_INT_EVENT => return Err(at.malformed("invalid subtype")),
            }
        }
        kind::RAND => {
            let e = event.read_event::<RandEvent>().map_err(bad)?;
            Item::Rand(e.seed1.0, e.seed2.0)
        }
        kind::USER_VAR => user_var(at, &event)?,
        kind::XID => Item::Xid,
        kind::XA_PREPARE => xa_prepare(at, event.data())?,
        kind::TABLE_MAP => {
            let (db, _) = frame::table_map_names(&at.raw.bytes, post)
                .ok_or_else(|| at.malformed("no database and table name where expected"))?;
            let (table_id, _) = frame::rows_header(&at.raw.bytes, post)
                .ok_or_else(|| at.malformed("truncated post-header"))?;
            Item::TableMap {
                table_id,
                db: db.to_vec(),
            }
        }
        c if kind::is_rows(c) => {
            let (table_id, flags) = frame::rows_header(&at.raw.bytes, post)
                .ok_or_else(|| at.malformed("truncated post-header"))?;
            Item::Rows {
                table_id,
                stmt_end: flags & frame::STMT_END != 0,
            }
        }
        _ => return other(at, header),
    })
}

/// Events that carry nothing to apply, or that replay refuses.
fn other(at: &At<'_>, header: &Header) -> Result<Item, ReplayError> {
    match header.kind {
        kind::STOP
        | kind::ROTATE
        | kind::SLAVE
        | kind::HEARTBEAT
        | kind::IGNORABLE
        | kind::ROWS_QUERY
        | kind::PREVIOUS_GTIDS
        | kind::TRANSACTION_CONTEXT
        | kind::VIEW_CHANGE
        | kind::ANNOTATE_ROWS
        | kind::BINLOG_CHECKPOINT
        | kind::GTID_LIST => Ok(Item::Skip),
        kind::START_ENCRYPTION => Err(at.unsupported("the binlog is encrypted")),
        kind::INCIDENT => {
            Err(at
                .unsupported("the source server recorded an incident here (events may be missing)"))
        }
        kind::TRANSACTION_PAYLOAD => Err(at.unsupported(
            "compressed transactions (binlog_transaction_compression) are not supported",
        )),
        kind::START_V3 => Err(at.unsupported("binlog versions before 4 are not supported")),
        c if kind::is_load(c) => Err(at.unsupported(
            "LOAD DATA logged as a statement is not supported (log it in ROW format)",
        )),
        _ if header.flags & frame::IGNORABLE != 0 => Ok(Item::Skip),
        c => Err(at.unsupported(format!("unknown event type {c} ({c:#04x})"))),
    }
}

fn query(at: &At<'_>, event: &Event, header: &Header) -> Result<Query, ReplayError> {
    let q = event
        .read_event::<QueryEvent>()
        .map_err(|e| at.malformed(e))?;
    let status = parse_status(q.status_vars_raw()).map_err(|e| at.malformed(e))?;
    let sql = if header.kind == kind::QUERY_COMPRESSED {
        compressed::uncompress(q.query_raw()).map_err(|e| at.malformed(e))?
    } else {
        q.query_raw().to_vec()
    };
    Ok(Query {
        thread_id: q.thread_id(),
        error_code: q.error_code(),
        schema: q.schema_raw().to_vec(),
        sql,
        status,
        suppress_use: header.flags & 0x0008 != 0,
    })
}

/// MariaDB GTID flags.
const FL_STANDALONE: u8 = 0x01;
const FL_GROUP_COMMIT_ID: u8 = 0x02;
const FL_PREPARED_XA: u8 = 0x40;
const FL_COMPLETED_XA: u8 = 0x80;
/// `flags_extra`: the phases of a two-phase ALTER (binlog_alter_two_phase).
const FL_ALTER_PHASES: u8 = 0x02 | 0x04 | 0x08;

fn mariadb_gtid(at: &At<'_>, data: &[u8], header: &Header) -> Result<GtidStart, ReplayError> {
    let short = || at.malformed("truncated");
    let seq = u64::from_le_bytes(
        data.get(0..8)
            .ok_or_else(short)?
            .try_into()
            .unwrap_or_default(),
    );
    let domain = u32::from_le_bytes(
        data.get(8..12)
            .ok_or_else(short)?
            .try_into()
            .unwrap_or_default(),
    );
    let flags = *data.get(12).ok_or_else(short)?;
    let mut rest = 13;
    if flags & FL_GROUP_COMMIT_ID != 0 {
        rest += 8;
    }
    let mut xid = None;
    if flags & (FL_PREPARED_XA | FL_COMPLETED_XA) != 0 {
        let x = data.get(rest..rest + 6).ok_or_else(short)?;
        let format_id = u32::from_le_bytes([x[0], x[1], x[2], x[3]]);
        let (g, b) = (usize::from(x[4]), usize::from(x[5]));
        let ids = data.get(rest + 6..rest + 6 + g + b).ok_or_else(short)?;
        xid = Some(Xid {
            format_id,
            gtrid: ids[..g].to_vec(),
            bqual: ids[g..].to_vec(),
        });
        rest += 6 + g + b;
    }
    if data
        .get(rest)
        .is_some_and(|extra| extra & FL_ALTER_PHASES != 0)
    {
        return Err(at.unsupported("two-phase ALTER (binlog_alter_two_phase) is not supported"));
    }
    let shape = if flags & FL_PREPARED_XA != 0 {
        Shape::XaPrepared
    } else if flags & (FL_STANDALONE | FL_COMPLETED_XA) != 0 {
        Shape::Standalone
    } else {
        Shape::Transaction
    };
    Ok(GtidStart {
        gtid: Some(Gtid::MariaDb {
            domain,
            server: header.server_id,
            seq,
        }),
        shape,
        xid,
    })
}

/// XA_prepare: one-phase flag, format id, gtrid and bqual lengths (4 bytes each), the ids.
fn xa_prepare(at: &At<'_>, data: &[u8]) -> Result<Item, ReplayError> {
    let short = || at.malformed("truncated");
    let x = data.get(..13).ok_or_else(short)?;
    let word = |i: usize| u32::from_le_bytes([x[i], x[i + 1], x[i + 2], x[i + 3]]);
    let (g, b) = (word(5) as usize, word(9) as usize);
    if g > 64 || b > 64 {
        return Err(at.malformed(format!("XID lengths {g} and {b} exceed 64")));
    }
    let ids = data.get(13..13 + g + b).ok_or_else(short)?;
    Ok(Item::XaPrepare {
        one_phase: x[0] != 0,
        xid: Xid {
            format_id: word(1),
            gtrid: ids[..g].to_vec(),
            bqual: ids[g..].to_vec(),
        },
    })
}

fn user_var(at: &At<'_>, event: &Event) -> Result<Item, ReplayError> {
    let e = event
        .read_event::<UserVarEvent>()
        .map_err(|e| at.malformed(e))?;
    let name = e.name_raw().to_vec();
    if e.is_null() {
        return Ok(Item::UserVar {
            name,
            value: UserValue::Null,
        });
    }
    let raw = e.value();
    let eight = || -> Result<[u8; 8], ReplayError> {
        raw.get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| at.malformed("user variable value truncated"))
    };
    let value = match e.value_type() {
        Ok(ItemResult::REAL_RESULT) => UserValue::Real(f64::from_le_bytes(eight()?)),
        Ok(ItemResult::INT_RESULT) if e.flags_raw() & 1 != 0 => {
            UserValue::Unsigned(u64::from_le_bytes(eight()?))
        }
        Ok(ItemResult::INT_RESULT) => UserValue::Int(i64::from_le_bytes(eight()?)),
        Ok(ItemResult::DECIMAL_RESULT) => {
            // Precision and scale first; mysql_common assumes scale <= precision.
            match raw {
                [p, s, ..] if s <= p && *p <= 65 => {}
                _ => return Err(at.malformed("decimal user variable: bad precision or scale")),
            }
            let d = mysql_common::binlog::decimal::Decimal::read_packed(raw, false)
                .map_err(|e| at.malformed(format!("decimal user variable: {e}")))?;
            UserValue::Decimal(d.to_string())
        }
        Ok(ItemResult::STRING_RESULT) => UserValue::Text {
            collation: e.charset(),
            bytes: raw.to_vec(),
        },
        other => {
            return Err(at.unsupported(format!("a user variable of type {other:?}")));
        }
    };
    Ok(Item::UserVar { name, value })
}
