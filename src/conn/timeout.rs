//! Waiting for the server, bounded: a connection attempt under a deadline, and telling a broken
//! or silent connection apart from an error the server replied with.
//!
//! # What the driver does, and what is added here
//!
//! The driver (mysql 28) sets the read and write timeouts it is given on the stream, TCP or
//! unix socket alike (`SO_RCVTIMEO`/`SO_SNDTIMEO`, from right after the connect, so the
//! handshake reads are covered too), and bounds the TCP connect by its connect timeout. That
//! still leaves a stopped server (`kill -STOP`) able to hold a connection attempt for far
//! longer than the connect timeout: the kernel accepts the connection into the listen queue,
//! and the greeting never comes, so the first read waits the whole read timeout (the
//! net-timeout, 10 minutes by default); and a unix-socket connect whose listen queue is full
//! blocks with no timeout at all. So [`within`] runs each connection attempt on a thread of
//! its own and gives up on it after the connect timeout.
//!
//! A read or write that times out leaves the connection in an unknown state: part of an
//! answer may have been read, and a late answer would be taken for the next statement's.
//! [`is_broken`] says when a connection must not be used again.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::units::Span;

/// Runs `attempt` on a thread of its own and waits at most `limit` for its result (zero: no
/// limit, and it runs on the calling thread). `Ok(None)`: it did not finish in time. The
/// thread is then left behind to end on its own (the driver's timeouts end it, or the end of
/// the process does); what it yields after that is dropped, which closes that connection.
pub(super) fn within<T: Send + 'static>(
    limit: Duration,
    attempt: impl FnOnce() -> T + Send + 'static,
) -> io::Result<Option<T>> {
    if limit.is_zero() {
        return Ok(Some(attempt()));
    }
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("mybak-connect".to_string())
        .spawn(move || {
            // The receiver is gone when the attempt took too long: nothing to do then.
            let _ = tx.send(attempt());
        })?;
    match rx.recv_timeout(limit) {
        Ok(value) => Ok(Some(value)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(io::Error::other(
            "the connection attempt ended without a result",
        )),
    }
}

/// The kind of the I/O error under a driver error, if there is one.
fn io_kind(e: &mysql::Error) -> Option<io::ErrorKind> {
    match e {
        mysql::Error::IoError(io) => Some(io.kind()),
        mysql::Error::CodecError(c) => std::error::Error::source(c)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .map(io::Error::kind),
        _ => None,
    }
}

/// Whether `e` is a read or write (or TCP connect) that timed out: the server did not answer.
/// A socket timeout shows as `WouldBlock` (`EAGAIN`) on Linux.
pub fn is_timeout(e: &mysql::Error) -> bool {
    matches!(
        e,
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout | mysql::DriverError::Timeout)
    ) || matches!(
        io_kind(e),
        Some(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
    )
}

/// Whether the connection `e` happened on can no longer be used: a network or protocol error,
/// a timeout, the server gone. An error the server replied with (`ERROR 1146 …`) leaves the
/// connection usable, and so does a value that did not convert.
pub fn is_broken(e: &mysql::Error) -> bool {
    use mysql::DriverError as D;
    match e {
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) | mysql::Error::TlsError(_) => true,
        mysql::Error::DriverError(d) => matches!(
            d,
            D::ConnectTimeout
                | D::CouldNotConnect(_)
                | D::UnsupportedProtocol(_)
                | D::PacketOutOfSync
                | D::PacketTooLarge
                | D::UnexpectedPacket
                | D::Timeout
        ),
        _ => false,
    }
}

/// Why a connection failed, for a message: a timeout names `net_timeout`; anything else is
/// the driver's or server's message.
pub fn failure_reason(e: &mysql::Error, net_timeout: Duration) -> String {
    if is_timeout(e) {
        format!(
            "no answer from the server within {} (net-timeout)",
            Span(net_timeout)
        )
    } else {
        crate::error::server_message(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn io_err(kind: io::ErrorKind) -> mysql::Error {
        mysql::Error::IoError(io::Error::new(kind, "x"))
    }

    #[test]
    fn timeouts_and_broken_connections() {
        let server = mysql::Error::MySqlError(mysql::MySqlError {
            state: "42S02".into(),
            message: "Table 'd.t' doesn't exist".into(),
            code: 1146,
        });
        // (error, timeout, broken)
        let cases = [
            (io_err(io::ErrorKind::WouldBlock), true, true),
            (io_err(io::ErrorKind::TimedOut), true, true),
            (io_err(io::ErrorKind::BrokenPipe), false, true),
            (
                mysql::Error::DriverError(mysql::DriverError::ConnectTimeout),
                true,
                true,
            ),
            (
                mysql::Error::DriverError(mysql::DriverError::PacketOutOfSync),
                false,
                true,
            ),
            (
                mysql::Error::DriverError(mysql::DriverError::MixedParams),
                false,
                false,
            ),
            (server, false, false),
        ];
        for (e, timeout, broken) in cases {
            assert_eq!(is_timeout(&e), timeout, "{e:?}");
            assert_eq!(is_broken(&e), broken, "{e:?}");
        }
        let reason = failure_reason(&io_err(io::ErrorKind::WouldBlock), Duration::from_secs(180));
        assert_eq!(
            reason,
            "no answer from the server within 3min (net-timeout)"
        );
        let reason = failure_reason(&io_err(io::ErrorKind::BrokenPipe), Duration::from_secs(1));
        assert!(reason.contains("connection error"), "{reason}");
    }

    #[test]
    fn an_attempt_that_takes_too_long_is_given_up() {
        let start = Instant::now();
        let slow = within(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5));
            1
        });
        assert!(matches!(slow, Ok(None)));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(matches!(within(Duration::from_secs(5), || 2), Ok(Some(2))));
        assert!(matches!(within(Duration::ZERO, || 3), Ok(Some(3))));
    }
}
