//! The replica's connection: logs in with the protocol packets of `mysql_common` and asks for
//! the binlog with `COM_BINLOG_DUMP`, handing out each event's bytes as they arrived.
//!
//! The `mysql` crate's binlog stream cannot be used for this: it masks the dump flags MariaDB
//! needs to send Annotate_rows events (so files would not be byte-identical) and keeps raw
//! packets private. Only what a replica needs is spoken here: the handshake (TLS as the
//! settings say), authentication (`mysql_native_password`, `caching_sha2_password`, the unix
//! socket, clear text over TLS or the socket), `SET` statements, and the dump.

mod tls;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, BinlogDumpFlags, ComBinlogDump, ErrPacket, HandshakePacket,
    HandshakeResponse, SslRequest,
};
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::sync_framed::MySyncFramed;
use mysql_common::proto::MySerialize;
use mysql_common::scramble::{scramble_native, scramble_sha256};

use super::BinlogError;
use crate::conn::{ConnSettings, Endpoint, SslMode};

/// `COM_QUERY`.
const COM_QUERY: u8 = 0x03;

/// MariaDB's dump flag asking for Annotate_rows events (`BINLOG_SEND_ANNOTATE_ROWS_EVENT`).
const SEND_ANNOTATE_ROWS: u16 = 0x02;

/// The dump flag that makes the server answer EOF instead of waiting for new events.
const NON_BLOCK: u16 = 0x01;

/// utf8mb4_general_ci, for the handshake.
const CHARSET: u8 = 45;

/// The largest packet the protocol allows (1 GiB): the largest event.
const MAX_PACKET: usize = 1 << 30;

/// What a read that timed out says.
const NO_ANSWER: &str = "no answer from the server in time";

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

/// A logged-in connection that can become a binlog stream.
pub struct ReplicaConn {
    framed: MySyncFramed<Stream>,
    caps: CapabilityFlags,
    endpoint: Endpoint,
    net_timeout: Duration,
}

impl ReplicaConn {
    /// Connects and logs in as `settings` say, everything bounded by the connect timeout.
    pub fn connect(settings: &ConnSettings) -> Result<ReplicaConn, BinlogError> {
        let endpoint = settings.endpoint();
        let fail = |reason: String| BinlogError::Connect {
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
        let mut conn = ReplicaConn {
            framed,
            caps: CapabilityFlags::empty(),
            endpoint,
            net_timeout: settings.net_timeout,
        };
        conn.login(settings)?;
        conn.set_read_timeout(settings.net_timeout)?;
        Ok(conn)
    }

    /// Where the connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sets how long a read may wait (zero: forever).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<(), BinlogError> {
        self.net_timeout = timeout;
        let limit = (!timeout.is_zero()).then_some(timeout);
        self.framed
            .get_mut()
            .set_timeouts(limit)
            .map_err(|e| self.lost("setting the read timeout", e))
    }

    /// Runs a statement that returns no rows (`SET @master_binlog_checksum=…`).
    pub fn execute(&mut self, sql: &str) -> Result<(), BinlogError> {
        let during = format!("running '{sql}'");
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(COM_QUERY);
        payload.extend_from_slice(sql.as_bytes());
        self.framed.codec_mut().reset_seq_id();
        self.send(&payload, &during)?;
        let answer = self.read(&during)?;
        match answer.first() {
            Some(0x00) => Ok(()),
            _ => Err(self.unexpected(&answer, &during)),
        }
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
        self.framed.codec_mut().reset_seq_id();
        self.send(&payload, &format!("asking for binlog {file} at {pos}"))
    }

    /// The next packet of the dump. A server error (a purged file, say) is
    /// [`BinlogError::Server`]; a broken or silent link is [`BinlogError::Lost`].
    pub fn next_packet(&mut self) -> Result<Packet, BinlogError> {
        let during = "reading the binlog";
        let mut packet = match self.read(during) {
            Err(BinlogError::Lost { reason, .. }) if reason == NO_ANSWER => {
                return Ok(Packet::Idle)
            }
            other => other?,
        };
        match packet.first() {
            Some(0x00) => {
                packet.remove(0);
                Ok(Packet::Event(packet))
            }
            Some(0xfe) if packet.len() < 9 => Ok(Packet::End),
            _ => Err(self.unexpected(&packet, during)),
        }
    }

    fn login(&mut self, settings: &ConnSettings) -> Result<(), BinlogError> {
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
    ) -> Result<bool, BinlogError> {
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
        Err(BinlogError::Connect {
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
    ) -> Result<(), BinlogError> {
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
        let secure =
            tls::wrap(tcp, &host, &settings.ssl).map_err(|reason| BinlogError::Connect {
                endpoint: self.endpoint.to_string(),
                reason,
            })?;
        self.framed =
            MySyncFramed::construct(in_buf, out_buf, codec, Stream::Tls(Box::new(secure)));
        Ok(())
    }

    /// Answers the server until it accepts or refuses the login.
    fn authenticate(&mut self, settings: &ConnSettings) -> Result<(), BinlogError> {
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
                        return Err(self.refused(
                            settings,
                            "caching_sha2_password needs TLS or the unix socket to send the \
                             password for the binlog connection (use --ssl-mode=REQUIRED)",
                        ));
                    }
                    let mut clear = password.unwrap_or_default().as_bytes().to_vec();
                    clear.push(0);
                    self.send(&clear, during)?;
                }
                Some(0xff) => {
                    let error = self.unexpected(&packet, during);
                    return Err(match error {
                        BinlogError::Server { message, code, .. }
                            if matches!(code, 1044 | 1045 | 1698) =>
                        {
                            BinlogError::AccessDenied {
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
    ) -> Result<Vec<u8>, BinlogError> {
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
                    "the account uses authentication plugin '{}', which the binlog connection \
                     does not support",
                    String::from_utf8_lossy(other.as_bytes())
                ),
            )),
        }
    }

    fn refused(&self, settings: &ConnSettings, message: &str) -> BinlogError {
        BinlogError::AccessDenied {
            endpoint: self.endpoint.to_string(),
            user: settings.user.clone(),
            message: message.to_string(),
        }
    }

    fn send(&mut self, payload: &[u8], during: &str) -> Result<(), BinlogError> {
        let mut data = payload;
        self.framed
            .send(&mut data)
            .map_err(|e| self.codec_error(during, e))
    }

    fn read(&mut self, during: &str) -> Result<Vec<u8>, BinlogError> {
        let mut packet = Vec::new();
        match self.framed.next_packet(&mut packet) {
            Ok(true) => Ok(packet),
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

    fn codec_error(&self, during: &str, e: PacketCodecError) -> BinlogError {
        match e {
            PacketCodecError::Io(io) => self.lost(during, io),
            other => self.protocol(during, other.to_string()),
        }
    }

    fn lost(&self, during: &str, e: io::Error) -> BinlogError {
        let reason = if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            NO_ANSWER.to_string()
        } else {
            e.to_string()
        };
        BinlogError::Lost {
            endpoint: self.endpoint.to_string(),
            during: during.to_string(),
            reason,
        }
    }

    fn protocol(&self, during: &str, message: String) -> BinlogError {
        BinlogError::Protocol {
            endpoint: self.endpoint.to_string(),
            during: during.to_string(),
            message,
        }
    }

    /// An error packet as [`BinlogError::Server`], anything else as a protocol error.
    fn unexpected(&self, packet: &[u8], during: &str) -> BinlogError {
        if packet.first() == Some(&0xff) {
            if let Ok(ErrPacket::Error(e)) = ParseBuf(packet).parse::<ErrPacket<'_>>(self.caps) {
                return BinlogError::Server {
                    during: during.to_string(),
                    code: e.error_code(),
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
