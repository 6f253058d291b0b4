//! One connection to a DSHM server: bounded writes and reads, one request at a time.

use std::io;

use session_storage::{ErrorKind, StorageError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{Limits, Target};
use crate::protocol::{self, Parsed, ProtocolError, Reply};

/// Smallest read buffer growth.
const READ_CHUNK: usize = 16 * 1024;

/// Why a request failed. Every variant leaves the connection unusable.
#[derive(Debug)]
pub(crate) enum ConnError {
    Io(&'static str, io::Error),
    Timeout(&'static str),
    Closed,
    Protocol(ProtocolError),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(phase, e) => write!(f, "{phase} failed: {e}"),
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
                StorageError::new(kind, format!("dshm at {target}: {phase} failed")).with_source(e)
            }
            Self::Timeout(phase) => StorageError::timeout(format!(
                "dshm at {target}: no {phase} within the configured timeout"
            )),
            Self::Closed => {
                StorageError::unavailable(format!("dshm at {target} closed the connection"))
            }
            Self::Protocol(e) => {
                StorageError::backend(format!("dshm at {target} broke the DSHM protocol: {e}"))
                    .with_source(e)
            }
        }
    }
}

/// A connection speaking the DSHM protocol.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    limits: Limits,
    /// Set while a request is outstanding; still set afterwards means the request was cut
    /// short (an error or a cancelled future) or left the server out of step, and the
    /// stream position is unknown.
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

/// What a command answered: its result, or the code of an `ERROR <code>` line.
pub(crate) type Answer<T> = Result<T, String>;

impl Conn {
    /// Opens a connection within the connect timeout.
    pub(crate) async fn connect(target: &Target, limits: Limits) -> Result<Self, ConnError> {
        let stream = tokio::time::timeout(
            limits.connect,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| ConnError::Timeout("connection"))?
        .map_err(|e| ConnError::Io("connect", e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| ConnError::Io("connect", e))?;
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
    pub(crate) fn is_reusable(&self) -> bool {
        if self.in_flight || !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0_u8; 1];
        // Would block: idle and open. EOF, unsolicited bytes or an error: drop it.
        matches!(self.stream.try_read(&mut probe), Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Sends one request and reads its reply.
    async fn request(&mut self, req: &[u8]) -> Result<Reply, ConnError> {
        self.in_flight = true;
        self.buf.clear();
        tokio::time::timeout(self.limits.send, self.stream.write_all(req))
            .await
            .map_err(|_| ConnError::Timeout("send"))?
            .map_err(|e| ConnError::Io("send", e))?;
        loop {
            match protocol::parse(&self.buf).map_err(ConnError::Protocol)? {
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
                    let n =
                        tokio::time::timeout(self.limits.read, self.stream.read_buf(&mut self.buf))
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

    /// `get <key>`: the value, `Ok(Err("not_found"))` on a miss.
    pub(crate) async fn get(&mut self, key: &str) -> Result<Answer<String>, ConnError> {
        match self.request(&protocol::line_command(&["get", key])).await? {
            Reply::Value(v) => Ok(Ok(v)),
            Reply::Error(code) => Ok(Err(code)),
            Reply::Done => Err(unexpected("DONE", "get")),
        }
    }

    /// `set <key> <exptime> <len>\r\n<data>`: the value as the server stored it (echoed).
    ///
    /// An `ERROR` answer to a `set` means the server refused the command line and will read
    /// the data as a command: the connection is out of step, so it is an error that drops
    /// the connection.
    pub(crate) async fn set(
        &mut self,
        key: &str,
        exptime: u64,
        data: &[u8],
    ) -> Result<String, ConnError> {
        match self
            .request(&protocol::set_command(key, exptime, data))
            .await?
        {
            Reply::Value(v) => Ok(v),
            Reply::Error(code) => {
                self.in_flight = true; // the server reads our data as a command: unusable
                Err(ConnError::Protocol(ProtocolError(format!(
                    "set was refused with ERROR {code}"
                ))))
            }
            Reply::Done => Err(unexpected("DONE", "set")),
        }
    }

    /// `touch <key> <exptime>`.
    pub(crate) async fn touch(&mut self, key: &str, exptime: u64) -> Result<Answer<()>, ConnError> {
        let req = protocol::line_command(&["touch", key, &exptime.to_string()]);
        done(self.request(&req).await?, "touch")
    }

    /// `delete <key>`.
    pub(crate) async fn delete(&mut self, key: &str) -> Result<Answer<()>, ConnError> {
        done(
            self.request(&protocol::line_command(&["delete", key]))
                .await?,
            "delete",
        )
    }
}

fn done(reply: Reply, cmd: &str) -> Result<Answer<()>, ConnError> {
    match reply {
        Reply::Done => Ok(Ok(())),
        Reply::Error(code) => Ok(Err(code)),
        Reply::Value(_) => Err(unexpected("a value", cmd)),
    }
}

fn unexpected(what: &str, cmd: &str) -> ConnError {
    ConnError::Protocol(ProtocolError(format!("unexpected reply {what} to {cmd}")))
}
