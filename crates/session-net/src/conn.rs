//! One connection to a text-protocol server (TCP, TLS over TCP with the feature `tls`, or a
//! unix socket): bounded writes and reads, one request at a time, and the typed reasons a
//! request fails.

use std::fmt;
use std::io;
use std::path::PathBuf;

use session_storage::{ErrorKind, StorageError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use crate::options::Limits;
use crate::text::{Parsed, ProtocolError};
#[cfg(feature = "tls")]
pub use crate::tls::TlsConnector;
#[cfg(feature = "tls")]
use crate::tls::TlsStream;

/// Smallest read buffer growth.
const READ_CHUNK: usize = 16 * 1024;

/// Where a server is.
///
/// ```
/// use session_net::conn::Target;
/// assert_eq!(Target::Tcp("::1".into(), 11211).to_string(), "[::1]:11211");
/// assert_eq!(Target::Tcp("cache".into(), 11211).to_string(), "cache:11211");
/// assert_eq!(Target::Unix("/run/m.sock".into()).to_string(), "unix:/run/m.sock");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name or IP address, and a port.
    Tcp(String, u16),
    /// A unix socket path (unix platforms only; elsewhere connecting fails).
    Unix(PathBuf),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(host, port) if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Tcp(host, port) => write!(f, "{host}:{port}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A server as the errors name it: the store, the protocol and where it is
/// (`memcached at 127.0.0.1:11211 broke the text protocol`).
///
/// ```
/// use session_net::conn::{Server, Target};
/// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("127.0.0.1".into(), 4321));
/// assert_eq!(server.to_string(), "dshm at 127.0.0.1:4321");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    store: &'static str,
    protocol: &'static str,
    target: Target,
}

impl Server {
    /// Server `target` of store `store`, speaking `protocol` (as it reads in
    /// `broke <protocol>`).
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// let server = Server::new("memcached", "the text protocol", Target::Unix("/m.sock".into()));
    /// assert_eq!(server.target(), &Target::Unix("/m.sock".into()));
    /// ```
    #[must_use]
    pub const fn new(store: &'static str, protocol: &'static str, target: Target) -> Self {
        Self {
            store,
            protocol,
            target,
        }
    }

    /// Where the server is.
    ///
    /// See [`Server::new`].
    #[must_use]
    pub const fn target(&self) -> &Target {
        &self.target
    }

    /// The store's name (`memcached`).
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// let server = Server::new("memcached", "the text protocol", Target::Tcp("h".into(), 1));
    /// assert_eq!(server.store(), "memcached");
    /// ```
    #[must_use]
    pub const fn store(&self) -> &'static str {
        self.store
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.store, self.target)
    }
}

/// Why a request failed. Every variant leaves the connection unusable.
///
/// ```
/// use session_net::conn::{ConnError, Server, Target};
/// use session_storage::ErrorKind;
/// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("h".into(), 4321));
/// let err = ConnError::Closed.into_storage(&server);
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert_eq!(err.message(), "dshm at h:4321 closed the connection");
/// assert_eq!(ConnError::Timeout("reply").into_storage(&server).kind(), ErrorKind::Timeout);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// Connecting, sending or reading failed (the phase, the I/O error).
    #[error("{0} failed")]
    Io(&'static str, #[source] io::Error),
    /// The TLS handshake failed.
    #[error("TLS handshake failed")]
    Tls(#[source] io::Error),
    /// No connection, write or reply (the phase) within the configured timeout.
    #[error("no {0} in time")]
    Timeout(&'static str),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The reply broke the protocol.
    #[error("protocol error")]
    Protocol(#[source] ProtocolError),
}

impl ConnError {
    /// Whether the connection (or the server) is gone, rather than out of step.
    ///
    /// ```
    /// use session_net::conn::ConnError;
    /// use session_net::text::ProtocolError;
    /// assert!(ConnError::Closed.is_connection_lost());
    /// assert!(!ConnError::Protocol(ProtocolError::new("junk")).is_connection_lost());
    /// ```
    #[must_use]
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Io(..) | Self::Closed)
    }

    /// The storage error for this failure talking to `server`: `Unavailable` (refused, reset,
    /// closed), `Timeout`, `Backend` (a broken protocol, a failed TLS handshake) or `Config`
    /// (a server certificate that fails verification).
    ///
    /// ```
    /// use session_net::conn::{ConnError, Server, Target};
    /// use session_net::text::ProtocolError;
    /// use session_storage::ErrorKind;
    /// let server = Server::new("memcached", "the text protocol", Target::Tcp("h".into(), 1));
    /// let err = ConnError::Protocol(ProtocolError::new("junk")).into_storage(&server);
    /// assert_eq!(err.kind(), ErrorKind::Backend);
    /// assert_eq!(err.message(), "memcached at h:1 broke the text protocol: junk");
    /// ```
    #[must_use]
    pub fn into_storage(self, server: &Server) -> StorageError {
        match self {
            Self::Io(phase, e) => {
                let kind = match e.kind() {
                    io::ErrorKind::TimedOut => ErrorKind::Timeout,
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => ErrorKind::Backend,
                    _ => ErrorKind::Unavailable,
                };
                StorageError::new(kind, format!("{server}: {phase} failed")).with_source(e)
            }
            #[cfg(feature = "tls")]
            Self::Tls(e) => crate::tls::handshake_error(server, e),
            #[cfg(not(feature = "tls"))]
            Self::Tls(e) => {
                StorageError::backend(format!("{server}: TLS handshake failed")).with_source(e)
            }
            Self::Timeout(phase) => StorageError::timeout(format!(
                "{server}: no {phase} within the configured timeout"
            )),
            Self::Closed => StorageError::unavailable(format!("{server} closed the connection")),
            // The protocol error is a message only: it goes into the message.
            Self::Protocol(e) => {
                StorageError::backend(format!("{server} broke {}: {e}", server.protocol))
            }
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

/// No TLS without the feature `tls`: this type has no value, so no connection uses TLS.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub enum TlsConnector {}

/// A connection: one request at a time, each write bounded by the send timeout and each read
/// by the read timeout.
///
/// ```no_run
/// use session_net::conn::{Conn, Target};
/// use session_net::options::Limits;
/// use session_net::text::{Parsed, find_crlf};
///
/// # async fn demo() -> Result<(), session_net::conn::ConnError> {
/// let target = Target::Tcp("127.0.0.1".into(), 11211);
/// let mut conn = Conn::connect(&target, None, Limits::default()).await?;
/// let version = conn
///     .request(b"version\r\n", |buf: &[u8]| {
///         Ok(match find_crlf(buf) {
///             Some(end) => Parsed::Done(end + 2, String::from_utf8_lossy(&buf[..end]).into_owned()),
///             None => Parsed::Need(buf.len() + 1),
///         })
///     })
///     .await?;
/// assert!(version.starts_with("VERSION "));
/// # Ok(()) }
/// ```
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    limits: Limits,
    /// Set while a request is outstanding; still set afterwards means the request was cut
    /// short (an error or a cancelled future) or left the server out of step, and the
    /// stream position is unknown.
    in_flight: bool,
    /// Replies read so far on this connection.
    completed: u64,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("in_flight", &self.in_flight)
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens a connection (and with `tls` runs the TLS handshake, over TCP only) within the
    /// connect timeout.
    ///
    /// See the [type example](Conn).
    ///
    /// # Errors
    ///
    /// `Timeout("connection")`, `Timeout("TLS handshake")`, `Io("connect", _)` or `Tls(_)`.
    pub async fn connect(
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
                tokio::time::timeout_at(deadline, UnixStream::connect(path))
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
    ///
    /// See the [type example](Conn).
    pub fn is_reusable(&mut self) -> bool {
        if self.in_flight || !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0_u8; 1];
        let res = match &mut self.stream {
            Stream::Tcp(s) => s.try_read(&mut probe),
            #[cfg(unix)]
            Stream::Unix(s) => s.try_read(&mut probe),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => return crate::tls::is_idle(s),
        };
        // Would block: idle and open. EOF, unsolicited bytes or an error: drop it.
        matches!(res, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Marks the connection out of step (the server will read what follows as something
    /// else): it is not reused.
    ///
    /// See the [type example](Conn).
    pub fn poison(&mut self) {
        self.in_flight = true;
    }

    /// How many replies were read on this connection.
    ///
    /// See the [type example](Conn).
    #[must_use]
    pub fn completed(&self) -> u64 {
        self.completed
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

    /// Sends `req` and reads one reply with `parse`, which sees every byte read so far and
    /// must bound what it asks for ([`Parsed::Need`]) by its own caps. A reply followed by
    /// more bytes is a protocol error.
    ///
    /// See the [type example](Conn).
    ///
    /// # Errors
    ///
    /// Timeouts, I/O errors, a closed connection, what `parse` refuses.
    pub async fn request<R>(
        &mut self,
        req: &[u8],
        mut parse: impl FnMut(&[u8]) -> Result<Parsed<R>, ProtocolError>,
    ) -> Result<R, ConnError> {
        self.in_flight = true;
        self.buf.clear();
        tokio::time::timeout(self.limits.send, self.write_all(req))
            .await
            .map_err(|_| ConnError::Timeout("send"))?
            .map_err(|e| ConnError::Io("send", e))?;
        loop {
            match parse(&self.buf).map_err(ConnError::Protocol)? {
                Parsed::Done(used, reply) => {
                    if used != self.buf.len() {
                        return Err(ConnError::Protocol(ProtocolError::new(
                            "unexpected bytes after the reply",
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
}
