//! One connection to memcached (TCP, TLS over TCP or a unix socket): bounded writes and
//! reads, one request at a time.

use std::io;

use session_storage::{ErrorKind, StorageError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use crate::config::{Limits, Target};
use crate::protocol::{self, Item, Parsed, ProtocolError, Reply, Status};
use crate::tls::TlsConnector;

/// Smallest read buffer growth.
const READ_CHUNK: usize = 16 * 1024;

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream>),
}

/// Why a request failed. Every variant leaves the connection unusable.
#[derive(Debug)]
pub(crate) enum ConnError {
    Io(&'static str, io::Error),
    /// The TLS handshake failed (feature `tls`).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls(io::Error),
    Timeout(&'static str),
    Closed,
    Protocol(ProtocolError),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(phase, e) => write!(f, "{phase} failed: {e}"),
            Self::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            Self::Timeout(phase) => write!(f, "no {phase} in time"),
            Self::Closed => f.write_str("connection closed by the server"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for ConnError {}

impl ConnError {
    /// Whether the connection (or the server) is gone, rather than out of step.
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Io(..) | Self::Closed)
    }

    pub(crate) fn into_storage(self, target: &Target) -> StorageError {
        match self {
            Self::Io(phase, e) => {
                let kind = match e.kind() {
                    io::ErrorKind::TimedOut => ErrorKind::Timeout,
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => ErrorKind::Backend,
                    _ => ErrorKind::Unavailable,
                };
                StorageError::new(kind, format!("memcached at {target}: {phase} failed"))
                    .with_source(e)
            }
            #[cfg(feature = "tls")]
            Self::Tls(e) => crate::tls::handshake_error(target, e),
            #[cfg(not(feature = "tls"))]
            Self::Tls(e) => {
                StorageError::backend(format!("memcached at {target}: TLS handshake failed"))
                    .with_source(e)
            }
            Self::Timeout(phase) => StorageError::timeout(format!(
                "memcached at {target}: no {phase} within the configured timeout"
            )),
            Self::Closed => {
                StorageError::unavailable(format!("memcached at {target} closed the connection"))
            }
            Self::Protocol(e) => {
                StorageError::backend(format!("memcached at {target} broke the text protocol"))
                    .with_source(e)
            }
        }
    }
}

/// The TLS form of the reusability probe: one non-blocking read through the TLS session,
/// which consumes what a server may send unasked without it being data (TLS 1.3 session
/// tickets, key updates) and sees a `close_notify` or a closed socket.
#[cfg(feature = "tls")]
fn tls_is_idle(s: &mut crate::tls::TlsStream) -> bool {
    use std::task::{Context, Waker};
    use tokio::io::{AsyncRead, ReadBuf};

    let mut probe = [0_u8; 1];
    let mut buf = ReadBuf::new(&mut probe);
    let mut cx = Context::from_waker(Waker::noop());
    // Pending: idle and open. EOF, unsolicited bytes or an error: drop it.
    std::pin::Pin::new(s)
        .poll_read(&mut cx, &mut buf)
        .is_pending()
}

/// A connection speaking the text protocol.
pub(crate) struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    limits: Limits,
    /// Set while a request is outstanding; still set afterwards means the request was cut
    /// short (an error or a cancelled future) and the stream position is unknown.
    in_flight: bool,
    /// Replies read so far on this connection.
    completed: u64,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens a connection (and with `tls` runs the TLS handshake) within the connect
    /// timeout.
    pub(crate) async fn connect(
        target: &Target,
        tls: Option<&TlsConnector>,
        limits: Limits,
    ) -> Result<Self, ConnError> {
        let deadline = tokio::time::Instant::now() + limits.connect;
        let stream = match target {
            Target::Tcp(host, port) => {
                let s =
                    tokio::time::timeout_at(deadline, TcpStream::connect((host.as_str(), *port)))
                        .await
                        .map_err(|_| ConnError::Timeout("connection"))?
                        .map_err(|e| ConnError::Io("connect", e))?;
                s.set_nodelay(true)
                    .map_err(|e| ConnError::Io("connect", e))?;
                match tls {
                    #[cfg(feature = "tls")]
                    Some(tls) => Stream::Tls(Box::new(
                        tokio::time::timeout_at(deadline, tls.connect(s))
                            .await
                            .map_err(|_| ConnError::Timeout("TLS handshake"))?
                            .map_err(ConnError::Tls)?,
                    )),
                    #[cfg(not(feature = "tls"))]
                    Some(never) => match *never {},
                    None => Stream::Tcp(s),
                }
            }
            #[cfg(unix)]
            Target::Unix(path) => Stream::Unix(
                tokio::time::timeout(limits.connect, UnixStream::connect(path))
                    .await
                    .map_err(|_| ConnError::Timeout("connection"))?
                    .map_err(|e| ConnError::Io("connect", e))?,
            ),
            #[cfg(not(unix))]
            Target::Unix(_) => {
                return Err(ConnError::Io(
                    "connect",
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "unix sockets need a unix platform",
                    ),
                ));
            }
        };
        Ok(Self {
            stream,
            buf: Vec::new(),
            limits,
            in_flight: false,
            completed: 0,
        })
    }

    /// Whether the connection can be reused: no request was cut short and the server has
    /// not closed its end (checked without blocking and without a round trip).
    pub(crate) fn is_reusable(&mut self) -> bool {
        if self.in_flight || !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0_u8; 1];
        let res = match &mut self.stream {
            Stream::Tcp(s) => s.try_read(&mut probe),
            #[cfg(unix)]
            Stream::Unix(s) => s.try_read(&mut probe),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => return tls_is_idle(s),
        };
        // Would block: idle and open. EOF, unsolicited bytes or an error: drop it.
        matches!(res, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write_all(bytes).await,
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(bytes).await,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => {
                // rustls may keep records buffered until flushed.
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.read_buf(&mut self.buf).await,
            #[cfg(unix)]
            Stream::Unix(s) => s.read_buf(&mut self.buf).await,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read_buf(&mut self.buf).await,
        }
    }

    /// Sends one request and reads its reply. `key` is the wire key of a retrieval.
    pub(crate) async fn request(
        &mut self,
        req: &[u8],
        key: Option<&str>,
    ) -> Result<Reply, ConnError> {
        self.in_flight = true;
        self.buf.clear();
        tokio::time::timeout(self.limits.send, self.write_all(req))
            .await
            .map_err(|_| ConnError::Timeout("send"))?
            .map_err(|e| ConnError::Io("send", e))?;
        loop {
            match protocol::parse(&self.buf, key.map(str::as_bytes)).map_err(ConnError::Protocol)? {
                Parsed::Done(used, reply) => {
                    if used != self.buf.len() {
                        return Err(ConnError::Protocol(ProtocolError(
                            "unexpected bytes after the reply".to_owned(),
                        )));
                    }
                    self.buf.clear();
                    if self.buf.capacity() > 4 * READ_CHUNK {
                        self.buf = Vec::new(); // do not keep a large value's buffer pooled
                    }
                    self.in_flight = false;
                    self.completed += 1;
                    return Ok(reply);
                }
                Parsed::Need(total) => {
                    // `total` is bounded by the parser (a line cap, a value cap), so this
                    // never reserves what the server merely announces beyond those caps.
                    let additional = total.saturating_sub(self.buf.len()).max(READ_CHUNK);
                    self.buf.reserve_exact(additional);
                    let n = tokio::time::timeout(self.limits.read, self.read_more())
                        .await
                        .map_err(|_| ConnError::Timeout("reply"))?
                        .map_err(|e| ConnError::Io("read", e))?;
                    if n == 0 {
                        return Err(ConnError::Closed);
                    }
                }
            }
        }
    }

    /// How many replies were read on this connection.
    pub(crate) fn completed(&self) -> u64 {
        self.completed
    }
}

/// What a command answered, or a server error line.
pub(crate) type Answer<T> = Result<T, String>;

fn expect_status(reply: Reply) -> Result<Answer<Status>, ConnError> {
    match reply {
        Reply::Status(s) => Ok(Ok(s)),
        Reply::Error(e) => Ok(Err(e)),
        other => Err(unexpected(&other)),
    }
}

fn expect_value(reply: Reply) -> Result<Answer<Option<Item>>, ConnError> {
    match reply {
        Reply::Value(v) => Ok(Ok(v)),
        Reply::Error(e) => Ok(Err(e)),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(reply: &Reply) -> ConnError {
    let what = match reply {
        Reply::Status(s) => s.to_string(),
        Reply::Value(_) => "a value".to_owned(),
        Reply::Version(_) => "VERSION".to_owned(),
        Reply::Error(e) => e.clone(),
    };
    ConnError::Protocol(ProtocolError(format!("unexpected reply {what}")))
}

impl Conn {
    /// `set`/`add`/`append`/`prepend`/`replace` (`cas` with `Some(cas)`).
    pub(crate) async fn store(
        &mut self,
        cmd: &str,
        key: &str,
        flags: u32,
        exptime: u64,
        data: &[u8],
        cas: Option<u64>,
    ) -> Result<Answer<Status>, ConnError> {
        let req = protocol::storage_command(cmd, key, flags, exptime, data, cas);
        expect_status(self.request(&req, None).await?)
    }

    /// `get <key>` or `gets <key>`.
    pub(crate) async fn retrieve(
        &mut self,
        cmd: &str,
        key: &str,
    ) -> Result<Answer<Option<Item>>, ConnError> {
        let req = protocol::line_command(&[cmd, key]);
        expect_value(self.request(&req, Some(key)).await?)
    }

    /// `touch <key> <exptime>`.
    pub(crate) async fn touch(
        &mut self,
        key: &str,
        exptime: u64,
    ) -> Result<Answer<Status>, ConnError> {
        let req = protocol::line_command(&["touch", key, &exptime.to_string()]);
        expect_status(self.request(&req, None).await?)
    }

    /// `delete <key>`.
    pub(crate) async fn delete(&mut self, key: &str) -> Result<Answer<Status>, ConnError> {
        let req = protocol::line_command(&["delete", key]);
        expect_status(self.request(&req, None).await?)
    }

    /// `version`.
    pub(crate) async fn version(&mut self) -> Result<Answer<String>, ConnError> {
        match self.request(b"version\r\n", None).await? {
            Reply::Version(v) => Ok(Ok(v)),
            Reply::Error(e) => Ok(Err(e)),
            other => Err(unexpected(&other)),
        }
    }
}
