//! The DSHM commands the store sends, over a pooled [`Conn`] (`session_net::conn`).

use session_net::conn::{Conn, ConnError};

use crate::protocol::{self, ProtocolError, Reply};

/// What a command answered: its result, or the code of an `ERROR <code>` line.
pub(crate) type Answer<T> = Result<T, String>;

/// Sends one request and reads its reply.
async fn request(conn: &mut Conn, req: &[u8]) -> Result<Reply, ConnError> {
    conn.request(req, protocol::parse).await
}

/// The DSHM commands on a connection.
pub(crate) trait Commands {
    /// `get <key>`: the value, `Ok(Err("not_found"))` on a miss.
    async fn get(&mut self, key: &str) -> Result<Answer<String>, ConnError>;

    /// `set <key> <exptime> <len>\r\n<data>`: the value as the server stored it (echoed).
    ///
    /// An `ERROR` answer to a `set` means the server refused the command line and will read
    /// the data as a command: the connection is out of step, so it is an error that drops
    /// the connection.
    async fn set(&mut self, key: &str, exptime: u64, data: &[u8]) -> Result<String, ConnError>;

    /// `touch <key> <exptime>`.
    async fn touch(&mut self, key: &str, exptime: u64) -> Result<Answer<()>, ConnError>;

    /// `delete <key>`.
    async fn delete(&mut self, key: &str) -> Result<Answer<()>, ConnError>;
}

impl Commands for Conn {
    async fn get(&mut self, key: &str) -> Result<Answer<String>, ConnError> {
        match request(self, &protocol::line_command(&["get", key])).await? {
            Reply::Value(v) => Ok(Ok(v)),
            Reply::Error(code) => Ok(Err(code)),
            Reply::Done => Err(unexpected("DONE", "get")),
        }
    }

    async fn set(&mut self, key: &str, exptime: u64, data: &[u8]) -> Result<String, ConnError> {
        match request(self, &protocol::set_command(key, exptime, data)).await? {
            Reply::Value(v) => Ok(v),
            Reply::Error(code) => {
                self.poison(); // the server reads our data as a command: unusable
                Err(ConnError::Protocol(ProtocolError::new(format!(
                    "set was refused with ERROR {code}"
                ))))
            }
            Reply::Done => Err(unexpected("DONE", "set")),
        }
    }

    async fn touch(&mut self, key: &str, exptime: u64) -> Result<Answer<()>, ConnError> {
        let req = protocol::line_command(&["touch", key, &exptime.to_string()]);
        done(request(self, &req).await?, "touch")
    }

    async fn delete(&mut self, key: &str) -> Result<Answer<()>, ConnError> {
        done(
            request(self, &protocol::line_command(&["delete", key])).await?,
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
    ConnError::Protocol(ProtocolError::new(format!(
        "unexpected reply {what} to {cmd}"
    )))
}
