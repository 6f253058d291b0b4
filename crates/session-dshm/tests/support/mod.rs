//! Helpers shared by the integration tests: the in-process DSHM test server and a raw
//! blocking client independent of the crate's own.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use session_dshm::{DshmConfig, DshmStorage};

pub use server::TestServer;

/// A configuration for a test server on `port`.
pub fn config(port: u16) -> DshmConfig {
    DshmConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(2_000, 5_000, 5_000)
}

/// A store on `server` with the reference's test prefix `sessions`.
pub fn store(server: &TestServer) -> DshmStorage {
    DshmStorage::from_config(config(server.port()).with_prefix("sessions")).unwrap()
}

/// A raw blocking client: sends bytes, reads one reply.
pub struct Raw {
    stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one reply: a line, or a `LEN n` block up to `DONE\r\n`.
    pub fn reply(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut byte = [0_u8; 1];
        loop {
            let n = self.stream.read(&mut byte).unwrap();
            assert!(n > 0, "server closed the connection");
            buf.push(byte[0]);
            if buf.ends_with(b"\r\n") {
                if buf.starts_with(b"LEN ") {
                    if buf.ends_with(b"\r\nDONE\r\n") {
                        return buf;
                    }
                } else {
                    return buf;
                }
            }
        }
    }

    pub fn cmd(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.send(bytes);
        self.reply()
    }

    /// Whether the server has nothing more to say within `wait`.
    pub fn silent_for(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0_u8; 1];
        let silent = matches!(self.stream.read(&mut byte), Err(ref e)
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        silent
    }
}
