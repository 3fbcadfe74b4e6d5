//! Connection settings and connecting to the server (`mysql` crate, sync).
//!
//! [`resolve`] merges the command line ([`ConnOverrides`]), option files
//! ([`OptionValues`](crate::optfile::OptionValues)) and `MYSQL_PWD` into [`ConnSettings`];
//! [`opts`] turns those into driver options; [`connect`] opens the connection.
//!
//! # The password
//!
//! The password is held in [`Password`], whose `Debug` and `Display` print `***`. This
//! module never puts it on a command line (argv), in a log record or in an error message:
//! errors name the user and where the connection went, and carry the server's message
//! (which says "using password: YES/NO", never the password). The only way out is
//! [`Password::expose`], used to hand it to the driver. Beware that `mysql::Opts` (from
//! [`opts`]) shows the password in its `Debug` output: never log it.

pub mod data;
mod login;
mod opts;
mod session;
mod settings;
mod timeout;
pub mod wire;

use std::path::PathBuf;
use std::time::Duration;

pub use data::{DataConn, TextRow, TextRows};
pub use login::login_user;
pub use opts::opts;
pub use session::{query, query_first, Session};
pub use settings::{
    password_prompt_requested, resolve, ssl_settings, ConnOverrides, ConnSettings, Endpoint,
    ParseSslModeError, Password, SslMode, SslSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_NET_TIMEOUT, DEFAULT_PORT, DEFAULT_SOCKET,
};
pub use timeout::{failure_reason, is_broken, is_timeout};

use crate::optfile::Origin;
use crate::units::Span;

/// Server error codes that mean the credentials were refused: `ER_DBACCESS_DENIED_ERROR`,
/// `ER_ACCESS_DENIED_ERROR`, `ER_ACCESS_DENIED_NO_PASSWORD_ERROR`.
const ACCESS_DENIED_CODES: [u16; 3] = [1044, 1045, 1698];

/// Errors resolving settings or connecting. None of them contains the password.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// A `port` value in an option file that is not a number from 0 to 65535.
    #[error("{origin}: invalid port '{value}': expected a number from 0 to 65535")]
    InvalidPort {
        /// The value found.
        value: String,
        /// Where it was read.
        origin: Origin,
    },
    /// An unknown `ssl-mode` value in an option file.
    #[error("{origin}: {reason}")]
    InvalidSslMode {
        /// Where it was read.
        origin: Origin,
        /// The value and the valid ones.
        reason: ParseSslModeError,
    },
    /// No user given and the OS user is unknown.
    #[error(
        "no user name given (--user or user= in an option file) and the login user is unknown"
    )]
    MissingUser,
    /// `VERIFY_CA` without `ssl-ca`.
    #[error(
        "ssl-mode VERIFY_CA needs a CA certificate: give --ssl-ca or ssl-ca= in an option file"
    )]
    MissingCa,
    /// A unix socket path the driver cannot take (it wants UTF-8).
    #[error("unix socket path {} is not valid UTF-8", path.display())]
    NonUtf8Socket {
        /// The path.
        path: PathBuf,
    },
    /// The server refused the credentials.
    #[error("access denied connecting to {endpoint} as user '{user}': {message}")]
    AccessDenied {
        /// Where the connection went.
        endpoint: Endpoint,
        /// The user name sent.
        user: String,
        /// The server's message, with error code and SQLSTATE.
        message: String,
    },
    /// The server did not answer in time: connecting, TLS and login together took longer
    /// than the connect timeout (or one read longer than the net timeout).
    #[error("cannot connect: {endpoint} did not answer within {} ({what})", Span(*timeout))]
    Timeout {
        /// Where the connection went.
        endpoint: Endpoint,
        /// The limit that ran out.
        timeout: Duration,
        /// Its setting: `connect-timeout` or `net-timeout`.
        what: &'static str,
    },
    /// Any other failure to connect (network, TLS, protocol, server error).
    #[error("cannot connect to {endpoint}: {}", describe(cause))]
    Connect {
        /// Where the connection went.
        endpoint: Endpoint,
        /// The driver's error.
        cause: mysql::Error,
    },
}

impl ConnError {
    /// Whether the server refused the credentials.
    pub fn is_access_denied(&self) -> bool {
        matches!(self, ConnError::AccessDenied { .. })
    }
}

/// Connects as [`opts`] describes.
///
/// With `PREFERRED` over TCP, TLS (without verification) is tried first; when the server
/// has no TLS or the TLS handshake fails, a second, plain connection is made (logged at
/// info level). This is how libmariadb/libmysqlclient treat `PREFERRED`; the driver cannot
/// downgrade within one connection. Server errors such as access denied never cause the
/// fallback, nor does a timeout.
///
/// Each attempt (TCP or socket connect, TLS, login) is given up after
/// [`ConnSettings::connect_timeout`], with [`ConnError::Timeout`]; see [`timeout`] for why
/// the driver's own timeouts are not enough.
///
/// Errors say where the connection went (socket path or `host:port`) and give the
/// driver's or server's message; [`ConnError::is_access_denied`] tells refused
/// credentials apart. The password never appears in them.
pub fn connect(settings: &ConnSettings) -> Result<mysql::Conn, ConnError> {
    let endpoint = settings.endpoint();
    match attempt(settings, true, &endpoint) {
        Err(Attempt::Failed(cause)) if tried_tls(settings, &endpoint) && is_tls_failure(&cause) => {
            log::info!(
                "TLS to {endpoint} failed ({}); ssl-mode is PREFERRED, connecting without TLS",
                describe(&cause)
            );
            attempt(settings, false, &endpoint).map_err(|e| e.into_error(settings, &endpoint))
        }
        other => other.map_err(|e| e.into_error(settings, &endpoint)),
    }
}

/// How one connection attempt failed.
enum Attempt {
    /// Settings the driver cannot take.
    Settings(ConnError),
    /// The driver's error.
    Failed(mysql::Error),
    /// No result within the connect timeout.
    TimedOut,
}

impl Attempt {
    fn into_error(self, settings: &ConnSettings, endpoint: &Endpoint) -> ConnError {
        let timeout = |timeout, what| ConnError::Timeout {
            endpoint: endpoint.clone(),
            timeout,
            what,
        };
        match self {
            Attempt::Settings(e) => e,
            Attempt::TimedOut => timeout(settings.connect_timeout, "connect-timeout"),
            Attempt::Failed(mysql::Error::DriverError(mysql::DriverError::ConnectTimeout)) => {
                timeout(settings.connect_timeout, "connect-timeout")
            }
            Attempt::Failed(cause) if is_timeout(&cause) => {
                timeout(settings.net_timeout, "net-timeout")
            }
            Attempt::Failed(cause) => classify(cause, endpoint, &settings.user),
        }
    }
}

/// One connection attempt (with TLS when `tls` and the settings ask for it), given up after
/// the connect timeout.
fn attempt(
    settings: &ConnSettings,
    tls: bool,
    endpoint: &Endpoint,
) -> Result<mysql::Conn, Attempt> {
    let opts = opts::build(settings, tls).map_err(Attempt::Settings)?;
    match timeout::within(settings.connect_timeout, move || mysql::Conn::new(opts)) {
        Ok(Some(Ok(conn))) => Ok(conn),
        Ok(Some(Err(cause))) => Err(Attempt::Failed(cause)),
        Ok(None) => {
            log::debug!("no answer from {endpoint} within the connect timeout");
            Err(Attempt::TimedOut)
        }
        Err(e) => Err(Attempt::Failed(mysql::Error::IoError(e))),
    }
}

/// Whether the first attempt was the opportunistic TLS of `PREFERRED` over TCP.
fn tried_tls(settings: &ConnSettings, endpoint: &Endpoint) -> bool {
    settings.ssl.mode == SslMode::Preferred && matches!(endpoint, Endpoint::Tcp { .. })
}

/// Whether a connection error comes from the TLS attempt (server without TLS, handshake
/// or certificate failure, connection dropped or garbled during the handshake) rather
/// than from reaching the server or from the server refusing us.
fn is_tls_failure(error: &mysql::Error) -> bool {
    use std::io::ErrorKind;
    if is_timeout(error) {
        return false;
    }
    match error {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => true,
        mysql::Error::TlsError(_) | mysql::Error::CodecError(_) => true,
        mysql::Error::IoError(e) => matches!(
            e.kind(),
            ErrorKind::InvalidData
                | ErrorKind::InvalidInput
                | ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// The driver's message without its `IoError { … }`-style wrapper.
fn describe(cause: &mysql::Error) -> String {
    match cause {
        mysql::Error::IoError(e) => e.to_string(),
        mysql::Error::CodecError(e) => e.to_string(),
        mysql::Error::MySqlError(e) => e.to_string(),
        mysql::Error::DriverError(e) => e.to_string(),
        mysql::Error::TlsError(e) => format!("TLS error: {e}"),
        other => other.to_string(),
    }
}

fn classify(cause: mysql::Error, endpoint: &Endpoint, user: &str) -> ConnError {
    match &cause {
        mysql::Error::MySqlError(e)
            if ACCESS_DENIED_CODES.contains(&e.code) || e.state == "28000" =>
        {
            ConnError::AccessDenied {
                endpoint: endpoint.clone(),
                user: user.to_string(),
                message: e.to_string(),
            }
        }
        _ => ConnError::Connect {
            endpoint: endpoint.clone(),
            cause,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn server_error(code: u16, state: &str, message: &str) -> mysql::Error {
        mysql::Error::MySqlError(mysql::MySqlError {
            state: state.into(),
            message: message.into(),
            code,
        })
    }

    #[test]
    fn tls_failures() {
        let io_err = |kind| mysql::Error::IoError(io::Error::new(kind, "x"));
        let cases = [
            (
                mysql::Error::DriverError(mysql::DriverError::TlsNotSupported),
                true,
            ),
            (io_err(io::ErrorKind::InvalidData), true),
            (io_err(io::ErrorKind::UnexpectedEof), true),
            (io_err(io::ErrorKind::ConnectionReset), true),
            (io_err(io::ErrorKind::ConnectionRefused), false),
            (io_err(io::ErrorKind::NotFound), false),
            (
                mysql::Error::DriverError(mysql::DriverError::ConnectTimeout),
                false,
            ),
            (server_error(1045, "28000", "Access denied"), false),
        ];
        for (error, want) in cases {
            assert_eq!(is_tls_failure(&error), want, "{error:?}");
        }
    }

    #[test]
    fn access_denied_is_distinguished() {
        let endpoint = Endpoint::Tcp {
            host: "db".into(),
            port: 3306,
        };
        let cases = [
            (
                server_error(
                    1045,
                    "28000",
                    "Access denied for user 'bob'@'h' (using password: YES)",
                ),
                true,
            ),
            (
                server_error(1698, "28000", "Access denied for user 'root'@'localhost'"),
                true,
            ),
            (
                server_error(
                    1044,
                    "42000",
                    "Access denied for user 'bob'@'%' to database 'x'",
                ),
                true,
            ),
            (
                server_error(1130, "HY000", "Host 'h' is not allowed to connect"),
                false,
            ),
            (
                mysql::Error::DriverError(mysql::DriverError::ConnectTimeout),
                false,
            ),
        ];
        for (cause, want) in cases {
            let err = classify(cause, &endpoint, "bob");
            assert_eq!(err.is_access_denied(), want, "{err}");
            assert!(err.to_string().contains("db:3306"), "{err}");
        }
        let err = classify(
            server_error(1045, "28000", "Access denied"),
            &endpoint,
            "bob",
        );
        assert_eq!(
            err.to_string(),
            "access denied connecting to db:3306 as user 'bob': ERROR 1045 (28000): Access denied"
        );
    }

    #[test]
    fn timeouts_name_the_endpoint_and_the_limit() {
        let settings = ConnSettings::default();
        let endpoint = Endpoint::Socket(PathBuf::from("/run/x.sock"));
        let text = |a: Attempt| a.into_error(&settings, &endpoint).to_string();
        assert_eq!(
            text(Attempt::TimedOut),
            "cannot connect: unix socket /run/x.sock did not answer within 10s (connect-timeout)"
        );
        assert_eq!(
            text(Attempt::Failed(mysql::Error::DriverError(
                mysql::DriverError::ConnectTimeout
            ))),
            "cannot connect: unix socket /run/x.sock did not answer within 10s (connect-timeout)"
        );
        assert_eq!(
            text(Attempt::Failed(mysql::Error::IoError(io::Error::new(
                io::ErrorKind::WouldBlock,
                "Resource temporarily unavailable"
            )))),
            "cannot connect: unix socket /run/x.sock did not answer within 10min (net-timeout)"
        );
    }

    #[test]
    fn socket_endpoint_in_errors() {
        let endpoint = Endpoint::Socket(PathBuf::from("/run/mysqld/mysqld.sock"));
        let cause = mysql::Error::IoError(io::Error::new(
            io::ErrorKind::NotFound,
            "No such file or directory",
        ));
        let err = classify(cause, &endpoint, "bob");
        assert_eq!(
            err.to_string(),
            "cannot connect to unix socket /run/mysqld/mysqld.sock: No such file or directory"
        );
    }
}
