//! The memcached commands the store sends, over a pooled [`Conn`] (`session_net::conn`).

use session_net::conn::{Conn, ConnError};

use crate::protocol::{self, Item, ProtocolError, Reply, Status};

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
    ConnError::Protocol(ProtocolError::new(format!("unexpected reply {what}")))
}

/// Sends one request and reads its reply. `key` is the wire key of a retrieval.
async fn request(conn: &mut Conn, req: &[u8], key: Option<&str>) -> Result<Reply, ConnError> {
    conn.request(req, |buf: &[u8]| {
        protocol::parse(buf, key.map(str::as_bytes))
    })
    .await
}

/// The memcached text protocol commands on a connection.
pub(crate) trait Commands {
    /// `set`/`add`/`append`/`prepend`/`replace` (`cas` with `Some(cas)`).
    async fn store(
        &mut self,
        cmd: &str,
        key: &str,
        flags: u32,
        exptime: u64,
        data: &[u8],
        cas: Option<u64>,
    ) -> Result<Answer<Status>, ConnError>;

    /// `get <key>` or `gets <key>`.
    async fn retrieve(&mut self, cmd: &str, key: &str) -> Result<Answer<Option<Item>>, ConnError>;

    /// `touch <key> <exptime>`.
    async fn touch(&mut self, key: &str, exptime: u64) -> Result<Answer<Status>, ConnError>;

    /// `delete <key>`.
    async fn delete(&mut self, key: &str) -> Result<Answer<Status>, ConnError>;

    /// `version`.
    async fn version(&mut self) -> Result<Answer<String>, ConnError>;
}

impl Commands for Conn {
    async fn store(
        &mut self,
        cmd: &str,
        key: &str,
        flags: u32,
        exptime: u64,
        data: &[u8],
        cas: Option<u64>,
    ) -> Result<Answer<Status>, ConnError> {
        let req = protocol::storage_command(cmd, key, flags, exptime, data, cas);
        expect_status(request(self, &req, None).await?)
    }

    async fn retrieve(&mut self, cmd: &str, key: &str) -> Result<Answer<Option<Item>>, ConnError> {
        let req = protocol::line_command(&[cmd, key]);
        expect_value(request(self, &req, Some(key)).await?)
    }

    async fn touch(&mut self, key: &str, exptime: u64) -> Result<Answer<Status>, ConnError> {
        let req = protocol::line_command(&["touch", key, &exptime.to_string()]);
        expect_status(request(self, &req, None).await?)
    }

    async fn delete(&mut self, key: &str) -> Result<Answer<Status>, ConnError> {
        let req = protocol::line_command(&["delete", key]);
        expect_status(request(self, &req, None).await?)
    }

    async fn version(&mut self) -> Result<Answer<String>, ConnError> {
        match request(self, b"version\r\n", None).await? {
            Reply::Version(v) => Ok(Ok(v)),
            Reply::Error(e) => Ok(Err(e)),
            other => Err(unexpected(&other)),
        }
    }
}
