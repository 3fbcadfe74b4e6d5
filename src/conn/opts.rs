//! Turns [`ConnSettings`] into driver options (`mysql::Opts`): socket or TCP, and TLS.

use std::time::Duration;

use mysql::{ClientIdentity, Opts, OptsBuilder, SslOpts};

use super::settings::{ConnSettings, Endpoint, SslMode, SslSettings};
use super::ConnError;

/// The driver options for `settings`, as the stock clients would connect:
///
/// - no host or `localhost`: the unix socket (`socket`, else
///   [`DEFAULT_SOCKET`](super::DEFAULT_SOCKET)); anything else: TCP to `host:port`.
///   `prefer_socket(false)` always, so the driver never silently switches a TCP
///   connection to `127.0.0.1` over to a socket.
/// - TLS is only used over TCP: over the unix socket (a local, kernel-protected transport)
///   the driver cannot do TLS, so every mode connects in plain there, as MariaDB 11.4+
///   treats the socket as secure.
/// - over TCP: `DISABLED` no TLS; `PREFERRED` and `REQUIRED` TLS without certificate
///   verification (for `PREFERRED`, [`connect`](super::connect) falls back to plain when
///   the TLS attempt fails; these options are the TLS attempt); `VERIFY_CA` verifies the
///   chain against `ssl-ca` but not the host name; `VERIFY_IDENTITY` verifies both (with
///   `ssl-ca` and the built-in public roots). Note that the driver (mysql 28 with rustls)
///   always adds the public web PKI roots to `ssl-ca`. `ssl-cert` + `ssl-key` give the
///   client identity in all TLS modes.
///
/// Timeouts: `connect_timeout` bounds the TCP connect (the whole connection, handshake and
/// login included, is bounded by [`connect`](super::connect)); `net_timeout` is the read and
/// write timeout of the stream, over TCP and over the unix socket alike (the driver sets
/// `SO_RCVTIMEO`/`SO_SNDTIMEO` on either). Zero means none.
///
/// The result carries the password, and its `Debug` output shows it: never log it.
pub fn opts(settings: &ConnSettings) -> Result<Opts, ConnError> {
    build(settings, true)
}

/// The largest packet the protocol allows (1 GiB).
pub const MAX_PACKET: usize = 1 << 30;

/// [`opts`], with TLS left out when `tls` is false (the `PREFERRED` fallback).
pub(crate) fn build(settings: &ConnSettings, tls: bool) -> Result<Opts, ConnError> {
    let builder = OptsBuilder::new()
        .user(Some(settings.user.as_str()))
        .pass(settings.password.as_ref().map(|p| p.expose()))
        // Accept whatever row size the server sends (up to the protocol's 1 GiB); the server's
        // own max_allowed_packet still bounds what it accepts from us.
        .max_allowed_packet(Some(MAX_PACKET))
        .prefer_socket(false)
        .tcp_connect_timeout(limit(settings.connect_timeout))
        .read_timeout(limit(settings.net_timeout))
        .write_timeout(limit(settings.net_timeout));
    let builder = match settings.endpoint() {
        Endpoint::Socket(path) => {
            let socket = path
                .to_str()
                .ok_or_else(|| ConnError::NonUtf8Socket { path: path.clone() })?;
            builder
                .ip_or_hostname(Some("localhost"))
                .socket(Some(socket))
        }
        Endpoint::Tcp { host, port } => {
            let ssl = if tls { ssl_opts(&settings.ssl) } else { None };
            builder
                .ip_or_hostname(Some(host))
                .tcp_port(port)
                .ssl_opts(ssl)
        }
    };
    Ok(builder.into())
}

/// A timeout for the driver: zero means none (the driver would refuse a zero timeout).
fn limit(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero()).then_some(timeout)
}

/// The driver's TLS options for a TCP connection in `ssl.mode`; `None` for no TLS.
fn ssl_opts(ssl: &SslSettings) -> Option<SslOpts> {
    let identity = match (&ssl.cert, &ssl.key) {
        (Some(cert), Some(key)) => Some(ClientIdentity::new(cert.clone(), key.clone())),
        _ => None,
    };
    let base = SslOpts::default().with_client_identity(identity);
    match ssl.mode {
        SslMode::Disabled => None,
        SslMode::Preferred | SslMode::Required => Some(
            base.with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyCa => Some(
            base.with_root_cert_path(ssl.ca.clone())
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyIdentity => Some(base.with_root_cert_path(ssl.ca.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::settings::Password;
    use std::path::{Path, PathBuf};

    fn settings(host: Option<&str>, mode: SslMode) -> ConnSettings {
        ConnSettings {
            host: host.map(str::to_string),
            port: 3307,
            socket: None,
            user: "bob".into(),
            password: Some(Password::new("pw")),
            ssl: SslSettings {
                mode,
                ca: Some(PathBuf::from("/ca.pem")),
                cert: Some(PathBuf::from("/cert.pem")),
                key: Some(PathBuf::from("/key.pem")),
            },
            ..ConnSettings::default()
        }
    }

    #[test]
    fn timeouts_reach_the_driver_and_zero_means_none() {
        let mut s = settings(None, SslMode::Disabled);
        s.connect_timeout = Duration::from_secs(7);
        s.net_timeout = Duration::from_secs(90);
        let o = opts(&s).unwrap();
        assert_eq!(o.get_tcp_connect_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(o.get_read_timeout(), Some(&Duration::from_secs(90)));
        assert_eq!(o.get_write_timeout(), Some(&Duration::from_secs(90)));
        s.connect_timeout = Duration::ZERO;
        s.net_timeout = Duration::ZERO;
        let o = opts(&s).unwrap();
        assert_eq!(o.get_tcp_connect_timeout(), None);
        assert_eq!(o.get_read_timeout(), None);
        assert_eq!(o.get_write_timeout(), None);
        let d = opts(&ConnSettings::default()).unwrap();
        assert_eq!(d.get_tcp_connect_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(d.get_read_timeout(), Some(&Duration::from_secs(600)));
    }

    #[test]
    fn socket_or_tcp() {
        // (host, socket setting, want socket, want host)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);
        let cases: &[Case<'_>] = &[
            (None, None, Some("/run/mysqld/mysqld.sock"), "localhost"),
            (
                Some("localhost"),
                Some("/tmp/my.sock"),
                Some("/tmp/my.sock"),
                "localhost",
            ),
            (Some("127.0.0.1"), Some("/tmp/my.sock"), None, "127.0.0.1"),
            (Some("db.example"), None, None, "db.example"),
            (Some("::1"), None, None, "[::1]"),
        ];
        for (host, socket, want_socket, want_host) in cases {
            let mut s = settings(*host, SslMode::Required);
            s.socket = socket.map(PathBuf::from);
            let o = opts(&s).unwrap();
            assert_eq!(o.get_socket(), *want_socket, "{host:?}");
            assert_eq!(o.get_ip_or_hostname(), *want_host, "{host:?}");
            assert!(!o.get_prefer_socket(), "{host:?}");
            assert_eq!(o.get_user(), Some("bob"));
            assert_eq!(o.get_pass(), Some("pw"));
            if want_socket.is_none() {
                assert_eq!(o.get_tcp_port(), 3307);
                assert!(o.get_ssl_opts().is_some(), "{host:?}");
            } else {
                assert!(
                    o.get_ssl_opts().is_none(),
                    "no TLS over the socket: {host:?}"
                );
            }
            // The net timeout applies to the socket as much as to TCP.
            assert_eq!(o.get_read_timeout(), Some(&Duration::from_secs(600)));
            assert_eq!(o.get_write_timeout(), Some(&Duration::from_secs(600)));
        }
    }

    #[test]
    fn tls_per_mode() {
        // (mode, tls, accept invalid certs, skip domain validation, root cert)
        let cases: &[(SslMode, bool, bool, bool, Option<&str>)] = &[
            (SslMode::Disabled, false, false, false, None),
            (SslMode::Preferred, true, true, true, None),
            (SslMode::Required, true, true, true, None),
            (SslMode::VerifyCa, true, false, true, Some("/ca.pem")),
            (SslMode::VerifyIdentity, true, false, false, Some("/ca.pem")),
        ];
        for &(mode, tls, accept_invalid, skip_domain, root) in cases {
            let o = opts(&settings(Some("db.example"), mode)).unwrap();
            let Some(ssl) = o.get_ssl_opts() else {
                assert!(!tls, "{mode}: TLS expected");
                continue;
            };
            assert!(tls, "{mode}: no TLS expected");
            assert_eq!(ssl.accept_invalid_certs(), accept_invalid, "{mode}");
            assert_eq!(ssl.skip_domain_validation(), skip_domain, "{mode}");
            assert_eq!(ssl.root_cert_path(), root.map(Path::new), "{mode}");
            let id = ssl.client_identity().expect("client identity");
            assert_eq!(id.cert_chain_path(), Path::new("/cert.pem"));
            assert_eq!(id.priv_key_path(), Path::new("/key.pem"));
        }
    }

    #[test]
    fn no_identity_without_cert_and_key() {
        let mut s = settings(Some("db.example"), SslMode::Required);
        s.ssl.cert = None;
        s.ssl.key = None;
        s.password = None;
        let o = opts(&s).unwrap();
        assert!(o.get_ssl_opts().unwrap().client_identity().is_none());
        assert_eq!(o.get_pass(), None);
    }

    #[test]
    fn plain_fallback_options() {
        let o = build(&settings(Some("db.example"), SslMode::Preferred), false).unwrap();
        assert!(o.get_ssl_opts().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_socket_is_an_error() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let mut s = settings(None, SslMode::Disabled);
        s.socket = Some(PathBuf::from(OsStr::from_bytes(b"/tmp/\xff.sock")));
        assert!(matches!(opts(&s), Err(ConnError::NonUtf8Socket { .. })));
    }
}
