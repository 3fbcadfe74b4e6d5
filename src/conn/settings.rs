//! Connection settings: the password secret, TLS modes, and resolving command line,
//! option files and `MYSQL_PWD` into one [`ConnSettings`].

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::ConnError;
use crate::optfile::OptionValues;

/// The unix socket used when no `socket` is configured (Debian/Ubuntu/Fedora MariaDB).
pub const DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// The TCP port used when no `port` (or `port=0`) is configured.
pub const DEFAULT_PORT: u16 = 3306;

/// How long connecting may take when no `connect-timeout` is configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for an answer when no `net-timeout` is configured.
pub const DEFAULT_NET_TIMEOUT: Duration = Duration::from_secs(600);

/// A password. `Debug` and `Display` print `***`; only [`expose`](Self::expose) gives
/// the text, for handing it to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    /// The password text. Never log or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(secret: String) -> Self {
        Password(secret)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// TLS requirement, named as MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// No TLS.
    Disabled,
    /// TLS without verification if the server offers it, else plain (TCP only).
    Preferred,
    /// TLS without certificate verification; fail if the server has no TLS.
    Required,
    /// TLS, server certificate chain verified against `ssl-ca`; host name not checked.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyIdentity,
}

impl SslMode {
    /// All modes, in order of strictness.
    pub const ALL: [SslMode; 5] = [
        SslMode::Disabled,
        SslMode::Preferred,
        SslMode::Required,
        SslMode::VerifyCa,
        SslMode::VerifyIdentity,
    ];

    /// The MySQL spelling: `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `ssl-mode` value; the message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ssl-mode '{value}': expected one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")]
pub struct ParseSslModeError {
    /// The value given.
    pub value: String,
}

impl FromStr for SslMode {
    type Err = ParseSslModeError;

    /// Case-insensitive; `-` is accepted for `_` (`verify-ca`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('-', "_");
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| ParseSslModeError {
                value: s.to_string(),
            })
    }
}

impl<'de> serde::Deserialize<'de> for SslMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for SslMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// TLS settings: mode and the PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslSettings {
    /// What TLS is required.
    pub mode: SslMode,
    /// CA certificate(s) to verify the server with (`ssl-ca`).
    pub ca: Option<PathBuf>,
    /// Client certificate chain (`ssl-cert`).
    pub cert: Option<PathBuf>,
    /// Client private key (`ssl-key`).
    pub key: Option<PathBuf>,
}

/// What the command line said; `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnOverrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--user`.
    pub user: Option<String>,
    /// `--password`, already prompted for by the CLI when given without a value.
    pub password: Option<Password>,
    /// `--ssl-mode`.
    pub ssl_mode: Option<SslMode>,
    /// `--ssl-ca`.
    pub ssl_ca: Option<PathBuf>,
    /// `--ssl-cert`.
    pub ssl_cert: Option<PathBuf>,
    /// `--ssl-key`.
    pub ssl_key: Option<PathBuf>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<Duration>,
    /// `--net-timeout`.
    pub net_timeout: Option<Duration>,
}

/// Everything needed to connect. `Debug` shows the password as `***`. `Default` is the
/// stock clients' default (the unix socket, no user yet: [`resolve`] fills it in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSettings {
    /// Server host; `None` or `localhost` means the unix socket.
    pub host: Option<String>,
    /// TCP port.
    pub port: u16,
    /// Unix socket path; `None` means [`DEFAULT_SOCKET`].
    pub socket: Option<PathBuf>,
    /// User name.
    pub user: String,
    /// Password, if any.
    pub password: Option<Password>,
    /// TLS settings.
    pub ssl: SslSettings,
    /// The longest a connection may take to be made: TCP or socket connect, TLS and login
    /// together ([`DEFAULT_CONNECT_TIMEOUT`]); zero means no limit.
    pub connect_timeout: Duration,
    /// The longest to wait for the server on an open connection, for each read or write
    /// ([`DEFAULT_NET_TIMEOUT`]); zero means no limit. A statement that takes longer on the
    /// server ends with a timeout error, so this must exceed the longest single statement
    /// (the dump's global lock waits up to its lock-wait-timeout).
    pub net_timeout: Duration,
}

impl Default for ConnSettings {
    fn default() -> Self {
        ConnSettings {
            host: None,
            port: DEFAULT_PORT,
            socket: None,
            user: String::new(),
            password: None,
            ssl: SslSettings {
                mode: SslMode::Preferred,
                ca: None,
                cert: None,
                key: None,
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            net_timeout: DEFAULT_NET_TIMEOUT,
        }
    }
}

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket.
    Socket(PathBuf),
    /// TCP; `host` is bracketed when it is an IPv6 address (`[::1]`).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Socket(path) => write!(f, "unix socket {}", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl ConnSettings {
    /// Where [`connect`](super::connect) goes: like the stock clients, no host or
    /// `localhost` means the unix socket ([`DEFAULT_SOCKET`] unless `socket` is set);
    /// anything else (including `127.0.0.1`) means TCP to `host:port`.
    pub fn endpoint(&self) -> Endpoint {
        match self.host.as_deref() {
            None | Some("localhost") => Endpoint::Socket(
                self.socket
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
            ),
            Some(host) => Endpoint::Tcp {
                host: bracket_ipv6(host),
                port: self.port,
            },
        }
    }
}

fn bracket_ipv6(host: &str) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Whether option files ask for a password prompt: their last `password` line is bare
/// (`password` without `=`), as the MariaDB clients treat it, and the command line gave
/// no password. The CLI should then prompt and pass the answer in
/// [`ConnOverrides::password`]; [`resolve`] itself never prompts.
pub fn password_prompt_requested(overrides: &ConnOverrides, files: &OptionValues) -> bool {
    overrides.password.is_none() && files.is_bare("password")
}

/// Merges the sources of connection settings: command line (`overrides`) > option files
/// (`files`) > `MYSQL_PWD` (`env_password`, for the password only).
///
/// - `host`, `socket`, `user`: empty values count as not given, as in libmariadb; the user
///   defaults to `login_user` (the OS user: pass [`login_user()`](super::login_user)), else
///   [`ConnError::MissingUser`].
/// - `port`: `0` means [`DEFAULT_PORT`]; a value from a file that is not a number up to
///   65535 is [`ConnError::InvalidPort`] naming file and line.
/// - `password`: a bare `password` line in a file gives no password here (see
///   [`password_prompt_requested`]); `password=` is the empty password.
/// - TLS: see [`ssl_settings`].
/// - `connect_timeout`, `net_timeout`: from the command line, else the defaults
///   ([`DEFAULT_CONNECT_TIMEOUT`], [`DEFAULT_NET_TIMEOUT`]); option files are not read for them.
///
/// The password is only moved around in memory, wrapped in [`Password`]: it never goes to
/// argv, logs or error text.
pub fn resolve(
    overrides: &ConnOverrides,
    files: &OptionValues,
    env_password: Option<String>,
    login_user: Option<String>,
) -> Result<ConnSettings, ConnError> {
    let non_empty = |s: &String| !s.is_empty();
    let host = (overrides.host.clone().filter(non_empty)).or_else(|| file_string(files, "host"));
    let port = match overrides.port {
        Some(port) => port,
        None => match files.get_with_origin("port") {
            None => 0,
            Some((value, origin)) => parse_port(value).ok_or_else(|| ConnError::InvalidPort {
                value: value.to_string(),
                origin: origin.clone(),
            })?,
        },
    };
    let socket = (overrides
        .socket
        .clone()
        .filter(|p| !p.as_os_str().is_empty()))
    .or_else(|| file_string(files, "socket").map(PathBuf::from));
    let user = (overrides.user.clone().filter(non_empty))
        .or_else(|| file_string(files, "user"))
        .or_else(|| login_user.filter(non_empty))
        .ok_or(ConnError::MissingUser)?;
    let password = (overrides.password.clone())
        .or_else(|| files.get("password").map(Password::new))
        .or_else(|| env_password.map(Password::new));
    Ok(ConnSettings {
        host,
        port: if port == 0 { DEFAULT_PORT } else { port },
        socket,
        user,
        password,
        ssl: ssl_settings(overrides, files)?,
        connect_timeout: overrides.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        net_timeout: overrides.net_timeout.unwrap_or(DEFAULT_NET_TIMEOUT),
    })
}

fn file_string(files: &OptionValues, key: &str) -> Option<String> {
    files.get(key).filter(|v| !v.is_empty()).map(str::to_string)
}

fn parse_port(value: &str) -> Option<u16> {
    value.parse::<u16>().ok()
}

/// Options whose presence turns TLS on in the MariaDB clients (`sslopt-case.h`).
const SSL_ENABLING_KEYS: [&str; 7] = [
    "ssl-ca",
    "ssl-capath",
    "ssl-cert",
    "ssl-cipher",
    "ssl-crl",
    "ssl-crlpath",
    "ssl-key",
];

/// The TLS settings from command line and option files.
///
/// Files and command line give `ssl-ca`, `ssl-cert`, `ssl-key` (command line first). As in
/// libmariadb, a certificate without key (or key without certificate) names one PEM file
/// holding both. The mode is, first match wins:
///
/// 1. `--ssl-mode` from the command line;
/// 2. `ssl-mode` from the files (MySQL's option; it overrides `ssl` and
///    `ssl-verify-server-cert`, as in MySQL);
/// 3. `ssl-verify-server-cert` set in the files: `VERIFY_IDENTITY` (MariaDB's option);
/// 4. the MariaDB `ssl` switch: the last of `ssl`/`skip-ssl`/`ssl=0`/… and of any
///    `ssl-ca`/`ssl-cert`/`ssl-key`/`ssl-capath`/`ssl-cipher`/`ssl-crl`/`ssl-crlpath` line
///    (which turn it on), then the command-line `--ssl-ca/--ssl-cert/--ssl-key` (on).
///    On: `VERIFY_CA` when a CA is known (libmariadb verifies the chain when given a CA,
///    not the host name), else `REQUIRED`. Off: `DISABLED`;
/// 5. nothing said: `PREFERRED` (MySQL's default).
///
/// `VERIFY_CA` without a CA is [`ConnError::MissingCa`]; a bad `ssl-mode` value in a file
/// is [`ConnError::InvalidSslMode`] naming file and line.
pub fn ssl_settings(
    overrides: &ConnOverrides,
    files: &OptionValues,
) -> Result<SslSettings, ConnError> {
    let path = |cli: &Option<PathBuf>, key: &str| {
        (cli.clone().filter(|p| !p.as_os_str().is_empty()))
            .or_else(|| file_string(files, key).map(PathBuf::from))
    };
    let ca = path(&overrides.ssl_ca, "ssl-ca");
    let (cert, key) = match (
        path(&overrides.ssl_cert, "ssl-cert"),
        path(&overrides.ssl_key, "ssl-key"),
    ) {
        (Some(cert), None) => (Some(cert.clone()), Some(cert)),
        (None, Some(key)) => (Some(key.clone()), Some(key)),
        pair => pair,
    };
    let mode = match overrides.ssl_mode {
        Some(mode) => mode,
        None => ssl_mode_from_files(overrides, files, ca.is_some())?,
    };
    if mode == SslMode::VerifyCa && ca.is_none() {
        return Err(ConnError::MissingCa);
    }
    Ok(SslSettings {
        mode,
        ca,
        cert,
        key,
    })
}

/// Steps 2–5 of [`ssl_settings`].
fn ssl_mode_from_files(
    overrides: &ConnOverrides,
    files: &OptionValues,
    have_ca: bool,
) -> Result<SslMode, ConnError> {
    if let Some((value, origin)) = files.get_with_origin("ssl-mode") {
        return value.parse().map_err(|reason| ConnError::InvalidSslMode {
            origin: origin.clone(),
            reason,
        });
    }
    if files.flag("ssl-verify-server-cert") {
        return Ok(SslMode::VerifyIdentity);
    }
    let mut use_ssl = None;
    for entry in files.entries() {
        if let Some(on) = entry.as_flag("ssl") {
            use_ssl = Some(on);
        } else if SSL_ENABLING_KEYS.contains(&entry.key()) && entry.value().is_some() {
            use_ssl = Some(true);
        }
    }
    if overrides.ssl_ca.is_some() || overrides.ssl_cert.is_some() || overrides.ssl_key.is_some() {
        use_ssl = Some(true);
    }
    Ok(match use_ssl {
        Some(true) if have_ca => SslMode::VerifyCa,
        Some(true) => SslMode::Required,
        Some(false) => SslMode::Disabled,
        None => SslMode::Preferred,
    })
}

#[cfg(test)]
mod tests;
