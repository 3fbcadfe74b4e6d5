//! The protocol-level connection: the handshake, TLS and login with the packets of
//! `mysql_common`, then raw packets. Two users need what the `mysql` crate keeps private:
//! the binlog archiver ([`crate::binlog::wire`]: `COM_BINLOG_DUMP` with MariaDB's flags, events
//! as they arrived) and the dump's row stream ([`super::data`]: text rows decoded straight from
//! the packet buffer). Only what they need is spoken: the handshake (TLS as the settings say),
//! authentication (`mysql_native_password`, `caching_sha2_password`, the unix socket, clear
//! text over TLS or the socket), `COM_QUERY` and reading packets.

mod tls;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, ErrPacket, HandshakePacket, HandshakeResponse, SslRequest,
};
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::sync_framed::MySyncFramed;
use mysql_common::proto::MySerialize;
use mysql_common::scramble::{scramble_native, scramble_sha256};

use crate::conn::{ConnSettings, Endpoint, SslMode};

/// `COM_QUERY`.
const COM_QUERY: u8 = 0x03;

/// utf8mb4_general_ci, for the handshake.
const CHARSET: u8 = 45;

/// The largest packet the protocol allows (1 GiB): the largest event or row.
pub const MAX_PACKET: usize = 1 << 30;

/// What a read that timed out says.
pub const NO_ANSWER: &str = "no answer from the server in time";

/// The byte stream under the protocol.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(Box<tls::TlsStream>),
}

impl Stream {
    fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Tls(s) => {
                s.sock.set_read_timeout(timeout)?;
                s.sock.set_write_timeout(timeout)
            }
        }
    }

    /// Whether the password may be sent in clear text over this stream.
    fn is_secure(&self) -> bool {
        !matches!(self, Stream::Tcp(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Why a protocol-level connection failed. None of them contains the password.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The server could not be reached, or the connection could not be set up.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    /// The server refused the login.
    #[error("access denied connecting to {endpoint} as user '{user}': {message}")]
    AccessDenied {
        endpoint: String,
        user: String,
        message: String,
    },
    /// The connection broke or went silent ([`NO_ANSWER`] when a read timed out).
    #[error("lost the connection to {endpoint} while {during}: {reason}")]
    Lost {
        endpoint: String,
        during: String,
        reason: String,
        /// The I/O error's kind (`TimedOut` when the net timeout ran out).
        kind: io::ErrorKind,
    },
    /// The server refused a request.
    #[error("{during}: ERROR {code} ({state}): {message}")]
    Server {
        during: String,
        code: u16,
        state: String,
        message: String,
    },
    /// The server sent what the protocol does not allow.
    #[error("{endpoint}: {during}: protocol error: {message}")]
    Protocol {
        endpoint: String,
        during: String,
        message: String,
    },
}

/// A logged-in connection speaking raw packets.
pub struct Wire {
    framed: MySyncFramed<Stream>,
    caps: CapabilityFlags,
    endpoint: Endpoint,
    net_timeout: Duration,
    connection_id: u32,
    /// What the connection is for, in messages ("the binlog connection").
    purpose: &'static str,
}

impl Wire {
    /// Connects and logs in as `settings` say, everything bounded by the connect timeout;
    /// `purpose` names the connection in messages.
    pub fn connect(settings: &ConnSettings, purpose: &'static str) -> Result<Wire, WireError> {
        let endpoint = settings.endpoint();
        let fail = |reason: String| WireError::Connect {
            endpoint: endpoint.to_string(),
            reason,
        };
        let limit = (!settings.connect_timeout.is_zero()).then_some(settings.connect_timeout);
        let stream = open(&endpoint, limit).map_err(|e| fail(e.to_string()))?;
        stream
            .set_timeouts(limit)
            .map_err(|e| fail(e.to_string()))?;
        let mut framed = MySyncFramed::new(stream);
        framed.codec_mut().max_allowed_packet = MAX_PACKET;
        let mut conn = Wire {
            framed,
            caps: CapabilityFlags::empty(),
            endpoint,
            net_timeout: settings.net_timeout,
            connection_id: 0,
            purpose,
        };
        conn.login(settings)?;
        conn.set_read_timeout(settings.net_timeout)?;
        Ok(conn)
    }

    /// Where the connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The server's id of this connection (`CONNECTION_ID()`).
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// How long a read may wait (zero: forever).
    pub fn net_timeout(&self) -> Duration {
        self.net_timeout
    }

    /// The capabilities agreed with the server.
    pub fn capabilities(&self) -> CapabilityFlags {
        self.caps
    }

    /// Sets how long a read may wait (zero: forever).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<(), WireError> {
        self.net_timeout = timeout;
        let limit = (!timeout.is_zero()).then_some(timeout);
        self.framed
            .get_mut()
            .set_timeouts(limit)
            .map_err(|e| self.lost("setting the read timeout", e))
    }

    /// Runs a statement that returns no rows (`SET @master_binlog_checksum=…`).
    pub fn execute(&mut self, sql: &str) -> Result<(), WireError> {
        let during = format!("running '{sql}'");
        self.send_query(sql, &during)?;
        let answer = self.read(&during)?;
        match answer.first() {
            Some(0x00) => Ok(()),
            _ => Err(self.unexpected(&answer, &during)),
        }
    }

    /// Sends `sql` as `COM_QUERY`; the answer is read with [`Wire::read_into`].
    pub fn send_query(&mut self, sql: &str, during: &str) -> Result<(), WireError> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(COM_QUERY);
        payload.extend_from_slice(sql.as_bytes());
        self.send_command(&payload, during)
    }

    /// Sends a command packet (a new sequence).
    pub fn send_command(&mut self, payload: &[u8], during: &str) -> Result<(), WireError> {
        self.framed.codec_mut().reset_seq_id();
        self.send(payload, during)
    }

    fn login(&mut self, settings: &ConnSettings) -> Result<(), WireError> {
        let during = "logging in";
        let first = self.read(during)?;
        if first.first() == Some(&0xff) {
            return Err(self.unexpected(&first, during));
        }
        let handshake: HandshakePacket<'_> = ParseBuf(&first)
            .parse(())
            .map_err(|e| self.protocol(during, format!("bad handshake: {e}")))?;
        if handshake.protocol_version() != 10
            || !handshake
                .capabilities()
                .contains(CapabilityFlags::CLIENT_PROTOCOL_41)
        {
            return Err(self.protocol(during, "the server speaks an unsupported protocol".into()));
        }
        self.connection_id = handshake.connection_id();
        let server_caps = handshake.capabilities();
        let mut caps = client_flags() & server_caps;
        if self.wants_tls(settings, server_caps)? {
            caps.insert(CapabilityFlags::CLIENT_SSL);
            self.start_tls(settings, caps)?;
        }
        self.caps = caps;
        let mut nonce = handshake.scramble_1_ref().to_vec();
        nonce.extend_from_slice(handshake.scramble_2_ref().unwrap_or_default());
        nonce.resize(20, 0);
        let plugin = match handshake.auth_plugin() {
            Some(AuthPlugin::CachingSha2Password) => AuthPlugin::CachingSha2Password,
            _ => AuthPlugin::MysqlNativePassword,
        };
        let password = settings.password.as_ref().map(|p| p.expose());
        let data = scramble(&plugin, password, &nonce);
        let response = HandshakeResponse::new(
            Some(data.as_slice()),
            handshake.server_version_parsed().unwrap_or((0, 0, 0)),
            Some(settings.user.as_bytes()),
            None::<&[u8]>,
            Some(plugin.clone()),
            caps,
            None,
            MAX_PACKET as u32,
        );
        let mut payload = Vec::new();
        response.serialize(&mut payload);
        self.send(&payload, during)?;
        self.authenticate(settings)
    }

    /// Whether to start TLS: over TCP unless `DISABLED`; an error when required and the
    /// server has none (`PREFERRED` then goes on in plain).
    fn wants_tls(
        &self,
        settings: &ConnSettings,
        server: CapabilityFlags,
    ) -> Result<bool, WireError> {
        if !matches!(self.endpoint, Endpoint::Tcp { .. }) || settings.ssl.mode == SslMode::Disabled
        {
            return Ok(false);
        }
        if server.contains(CapabilityFlags::CLIENT_SSL) {
            return Ok(true);
        }
        if settings.ssl.mode == SslMode::Preferred {
            return Ok(false);
        }
        Err(WireError::Connect {
            endpoint: self.endpoint.to_string(),
            reason: format!(
                "ssl-mode is {} but the server does not offer TLS",
                settings.ssl.mode
            ),
        })
    }

    fn start_tls(
        &mut self,
        settings: &ConnSettings,
        caps: CapabilityFlags,
    ) -> Result<(), WireError> {
        let request = SslRequest::new(caps, MAX_PACKET as u32, CHARSET);
        let mut payload = Vec::new();
        request.serialize(&mut payload);
        self.send(&payload, "starting TLS")?;
        let Endpoint::Tcp { host, .. } = &self.endpoint else {
            return Ok(());
        };
        let host = host.clone();
        // Swap the plain stream for the TLS one, keeping the codec's sequence.
        let placeholder = MySyncFramed::new(Stream::Unix(
            UnixStream::pair()
                .map_err(|e| self.lost("starting TLS", e))?
                .0,
        ));
        let framed = std::mem::replace(&mut self.framed, placeholder);
        let (in_buf, out_buf, codec, stream) = framed.destruct();
        let Stream::Tcp(tcp) = stream else {
            return Err(self.protocol("starting TLS", "not a TCP connection".into()));
        };
        let secure = tls::wrap(tcp, &host, &settings.ssl).map_err(|reason| WireError::Connect {
            endpoint: self.endpoint.to_string(),
            reason,
        })?;
        self.framed =
            MySyncFramed::construct(in_buf, out_buf, codec, Stream::Tls(Box::new(secure)));
        Ok(())
    }

    /// Answers the server until it accepts or refuses the login.
    fn authenticate(&mut self, settings: &ConnSettings) -> Result<(), WireError> {
        let during = "logging in";
        let password = settings.password.as_ref().map(|p| p.expose());
        let mut switched = false;
        loop {
            let packet = self.read(during)?;
            match packet.first() {
                Some(0x00) => return Ok(()),
                Some(0xfe) if !switched => {
                    switched = true;
                    let request: AuthSwitchRequest<'_> = ParseBuf(&packet)
                        .parse(())
                        .map_err(|e| self.protocol(during, format!("bad auth switch: {e}")))?;
                    let plugin = request.auth_plugin().into_owned();
                    let nonce = request.plugin_data().to_vec();
                    let answer = self.switch_answer(&plugin, password, &nonce, settings)?;
                    self.send(&answer, during)?;
                }
                // caching_sha2_password: fast authentication succeeded; the OK follows.
                Some(0x01) if packet.get(1) == Some(&0x03) => {}
                // caching_sha2_password: full authentication wants the password itself.
                Some(0x01) if packet.get(1) == Some(&0x04) => {
                    if !self.framed.get_ref().is_secure() {
                        let message = format!(
                            "caching_sha2_password needs TLS or the unix socket to send the \
                             password for {} (use --ssl-mode=REQUIRED)",
                            self.purpose
                        );
                        return Err(self.refused(settings, &message));
                    }
                    let mut clear = password.unwrap_or_default().as_bytes().to_vec();
                    clear.push(0);
                    self.send(&clear, during)?;
                }
                Some(0xff) => {
                    let error = self.unexpected(&packet, during);
                    return Err(match error {
                        WireError::Server { message, code, .. }
                            if matches!(code, 1044 | 1045 | 1698) =>
                        {
                            WireError::AccessDenied {
                                endpoint: self.endpoint.to_string(),
                                user: settings.user.clone(),
                                message: format!("ERROR {code}: {message}"),
                            }
                        }
                        other => other,
                    });
                }
                _ => return Err(self.protocol(during, "unexpected packet while logging in".into())),
            }
        }
    }

    /// The answer to a request to switch to `plugin`.
    fn switch_answer(
        &self,
        plugin: &AuthPlugin<'_>,
        password: Option<&str>,
        nonce: &[u8],
        settings: &ConnSettings,
    ) -> Result<Vec<u8>, WireError> {
        match plugin {
            AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => {
                Ok(scramble(plugin, password, nonce))
            }
            AuthPlugin::MysqlClearPassword if self.framed.get_ref().is_secure() => {
                let mut clear = password.unwrap_or_default().as_bytes().to_vec();
                clear.push(0);
                Ok(clear)
            }
            AuthPlugin::Other(name) if name.as_ref() == b"unix_socket" => Ok(Vec::new()),
            other => Err(self.refused(
                settings,
                &format!(
                    "the account uses authentication plugin '{}', which {} does not support",
                    String::from_utf8_lossy(other.as_bytes()),
                    self.purpose
                ),
            )),
        }
    }

    fn refused(&self, settings: &ConnSettings, message: &str) -> WireError {
        WireError::AccessDenied {
            endpoint: self.endpoint.to_string(),
            user: settings.user.clone(),
            message: message.to_string(),
        }
    }

    fn send(&mut self, payload: &[u8], during: &str) -> Result<(), WireError> {
        let mut data = payload;
        self.framed
            .send(&mut data)
            .map_err(|e| self.codec_error(during, e))
    }

    /// Reads the next packet.
    pub fn read(&mut self, during: &str) -> Result<Vec<u8>, WireError> {
        let mut packet = Vec::new();
        self.read_into(&mut packet, during)?;
        Ok(packet)
    }

    /// Reads the next packet into `packet` (cleared first), reusing its allocation.
    pub fn read_into(&mut self, packet: &mut Vec<u8>, during: &str) -> Result<(), WireError> {
        packet.clear();
        match self.framed.next_packet(packet) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.lost(
                during,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ),
            )),
            Err(e) => Err(self.codec_error(during, e)),
        }
    }

    fn codec_error(&self, during: &str, e: PacketCodecError) -> WireError {
        match e {
            PacketCodecError::Io(io) => self.lost(during, io),
            other => self.protocol(during, other.to_string()),
        }
    }

    fn lost(&self, during: &str, e: io::Error) -> WireError {
        let kind = e.kind();
        let reason = if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            NO_ANSWER.to_string()
        } else {
            e.to_string()
        };
        WireError::Lost {
            endpoint: self.endpoint.to_string(),
            during: during.to_string(),
            reason,
            kind,
        }
    }

    /// A protocol error during `during`.
    pub fn protocol(&self, during: &str, message: String) -> WireError {
        WireError::Protocol {
            endpoint: self.endpoint.to_string(),
            during: during.to_string(),
            message,
        }
    }

    /// An error packet as [`WireError::Server`], anything else as a protocol error.
    pub fn unexpected(&self, packet: &[u8], during: &str) -> WireError {
        if packet.first() == Some(&0xff) {
            if let Ok(ErrPacket::Error(e)) = ParseBuf(packet).parse::<ErrPacket<'_>>(self.caps) {
                return WireError::Server {
                    during: during.to_string(),
                    code: e.error_code(),
                    state: e
                        .sql_state_ref()
                        .map(|s| s.as_str().into_owned())
                        .unwrap_or_else(|| "HY000".to_string()),
                    message: e.message_str().into_owned(),
                };
            }
        }
        self.protocol(
            during,
            format!("unexpected packet (first byte {:?})", packet.first()),
        )
    }
}

/// The capabilities this client asks for.
fn client_flags() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
}

/// The scrambled password for `plugin` (empty for no password).
fn scramble(plugin: &AuthPlugin<'_>, password: Option<&str>, nonce: &[u8]) -> Vec<u8> {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    let scrambled = match plugin {
        AuthPlugin::CachingSha2Password => {
            scramble_sha256(nonce, password.as_bytes()).map(|s| s.to_vec())
        }
        _ => scramble_native(nonce, password.as_bytes()).map(|s| s.to_vec()),
    };
    scrambled.unwrap_or_default()
}

/// Opens the unix socket or TCP connection, within `limit`.
fn open(endpoint: &Endpoint, limit: Option<Duration>) -> io::Result<Stream> {
    match endpoint {
        Endpoint::Socket(path) => UnixStream::connect(path).map(Stream::Unix),
        Endpoint::Tcp { host, port } => {
            let bare = host.trim_matches(['[', ']']);
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
            for addr in (bare, *port).to_socket_addrs()? {
                let attempt = match limit {
                    Some(limit) => TcpStream::connect_timeout(&addr, limit),
                    None => TcpStream::connect(addr),
                };
                match attempt {
                    Ok(tcp) => {
                        tcp.set_nodelay(true)?;
                        return Ok(Stream::Tcp(tcp));
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
    }
}
