//! The replica's connection: a protocol-level connection ([`crate::conn::wire`]) that asks for
//! the binlog with `COM_BINLOG_DUMP`, handing out each event's bytes as they arrived.
//!
//! The `mysql` crate's binlog stream cannot be used for this: it masks the dump flags MariaDB
//! needs to send Annotate_rows events (so files would not be byte-identical) and keeps raw
//! packets private.

use std::time::Duration;

use mysql_common::packets::{BinlogDumpFlags, ComBinlogDump};
use mysql_common::proto::MySerialize;

use super::BinlogError;
use crate::conn::wire::{Wire, WireError, NO_ANSWER};
use crate::conn::{ConnSettings, Endpoint};

/// MariaDB's dump flag asking for Annotate_rows events (`BINLOG_SEND_ANNOTATE_ROWS_EVENT`).
const SEND_ANNOTATE_ROWS: u16 = 0x02;

/// The dump flag that makes the server answer EOF instead of waiting for new events.
const NON_BLOCK: u16 = 0x01;

/// What arrived on the binlog stream.
#[derive(Debug)]
pub enum Packet {
    /// One event's bytes (header, body, checksum), as in a binlog file.
    Event(Vec<u8>),
    /// The server has nothing more to send (non-blocking dump only).
    End,
    /// Nothing arrived within the read timeout.
    Idle,
}

impl From<WireError> for BinlogError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Connect { endpoint, reason } => BinlogError::Connect { endpoint, reason },
            WireError::AccessDenied {
                endpoint,
                user,
                message,
            } => BinlogError::AccessDenied {
                endpoint,
                user,
                message,
            },
            WireError::Lost {
                endpoint,
                during,
                reason,
                ..
            } => BinlogError::Lost {
                endpoint,
                during,
                reason,
            },
            WireError::Server {
                during,
                code,
                message,
                ..
            } => BinlogError::Server {
                during,
                code,
                message,
            },
            WireError::Protocol {
                endpoint,
                during,
                message,
            } => BinlogError::Protocol {
                endpoint,
                during,
                message,
            },
        }
    }
}

/// A logged-in connection that can become a binlog stream.
pub struct ReplicaConn {
    wire: Wire,
}

impl ReplicaConn {
    /// Connects and logs in as `settings` say, everything bounded by the connect timeout.
    pub fn connect(settings: &ConnSettings) -> Result<ReplicaConn, BinlogError> {
        Ok(ReplicaConn {
            wire: Wire::connect(settings, "the binlog connection")?,
        })
    }

    /// Where the connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        self.wire.endpoint()
    }

    /// Sets how long a read may wait (zero: forever).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<(), BinlogError> {
        Ok(self.wire.set_read_timeout(timeout)?)
    }

    /// Runs a statement that returns no rows (`SET @master_binlog_checksum=…`).
    pub fn execute(&mut self, sql: &str) -> Result<(), BinlogError> {
        Ok(self.wire.execute(sql)?)
    }

    /// Asks for the binlog from `file` at `pos` as replica `server_id`: waiting for new events
    /// at the end, or answering [`Packet::End`] there when `non_block`.
    pub fn request_dump(
        &mut self,
        server_id: u32,
        file: &str,
        pos: u32,
        non_block: bool,
    ) -> Result<(), BinlogError> {
        let flags = SEND_ANNOTATE_ROWS | if non_block { NON_BLOCK } else { 0 };
        let command = ComBinlogDump::new(server_id)
            .with_pos(pos)
            .with_filename(file.as_bytes())
            .with_flags(BinlogDumpFlags::from_bits_retain(flags));
        let mut payload = Vec::new();
        command.serialize(&mut payload);
        Ok(self
            .wire
            .send_command(&payload, &format!("asking for binlog {file} at {pos}"))?)
    }

    /// The next packet of the dump. A server error (a purged file, say) is
    /// [`BinlogError::Server`]; a broken or silent link is [`BinlogError::Lost`].
    pub fn next_packet(&mut self) -> Result<Packet, BinlogError> {
        let during = "reading the binlog";
        let mut packet = match self.wire.read(during) {
            Err(WireError::Lost { reason, .. }) if reason == NO_ANSWER => return Ok(Packet::Idle),
            other => other?,
        };
        match packet.first() {
            Some(0x00) => {
                packet.remove(0);
                Ok(Packet::Event(packet))
            }
            Some(0xfe) if packet.len() < 9 => Ok(Packet::End),
            _ => Err(self.wire.unexpected(&packet, during).into()),
        }
    }
}
