//! The memcached server and helpers shared by the integration tests.
//!
//! The server is `SESSION_MEMCACHED_ADDR` (default `127.0.0.1:11211`), what `cargo xtask test`
//! starts. A test that cannot reach it fails; none is skipped.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use session_memcached::{MemcachedConfig, MemcachedStorage};
use session_testsupport::env::memcached_addr as addr;

/// Panics (the test fails) when the shared memcached does not accept connections.
pub fn require_server() {
    let addr = addr();
    let sock: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .unwrap_or_else(|e| panic!("SESSION_MEMCACHED_ADDR={addr} does not resolve: {e}"))
        .next()
        .unwrap_or_else(|| panic!("SESSION_MEMCACHED_ADDR={addr} does not resolve"));
    if let Err(e) = TcpStream::connect_timeout(&sock, Duration::from_secs(3)) {
        panic!(
            "memcached is not reachable at {addr} ({e}); start one with \
             `memcached -d -u root -l 127.0.0.1 -p 11211 -U 0 -m 64 -A -I 4m` or set \
             SESSION_MEMCACHED_ADDR"
        );
    }
}

/// A configuration for the shared server.
pub fn config() -> MemcachedConfig {
    let addr = addr();
    let (host, port) = addr
        .rsplit_once(':')
        .expect("SESSION_MEMCACHED_ADDR is host:port");
    MemcachedConfig::default()
        .with_host(
            host.trim_start_matches('[').trim_end_matches(']'),
            port.parse().expect("port"),
        )
        .with_timeouts(2_000, 5_000, 5_000)
}

/// A store on the shared server under a fresh prefix (checked reachable first).
pub fn store_with(config: MemcachedConfig) -> MemcachedStorage {
    require_server();
    MemcachedStorage::from_config(config).expect("valid memcached configuration")
}

/// A raw text-protocol client over std's blocking `TcpStream`, independent of the crate's
/// own client, to check what is really stored.
pub struct Raw {
    stream: TcpStream,
}

impl Raw {
    pub fn connect() -> Self {
        Self::connect_to(&addr())
    }

    pub fn connect_to(addr: &str) -> Self {
        let stream =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("memcached at {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self { stream }
    }

    /// Sends `req` and reads one reply (a line, or a VALUE block up to END).
    pub fn cmd(&mut self, req: &[u8]) -> Vec<u8> {
        self.stream.write_all(req).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 65536];
        loop {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "memcached closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            let done = if buf.starts_with(b"VALUE ") {
                buf.ends_with(b"\r\nEND\r\n")
            } else {
                buf.ends_with(b"\r\n")
            };
            if done {
                return buf;
            }
        }
    }

    /// The stored bytes under a wire key, or `None` on a miss.
    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let reply = self.cmd(format!("get {key}\r\n").as_bytes());
        if reply == b"END\r\n" {
            return None;
        }
        let header_end = reply.windows(2).position(|w| w == b"\r\n").unwrap();
        let header = std::str::from_utf8(&reply[..header_end]).unwrap();
        let fields: Vec<&str> = header.split(' ').collect();
        assert_eq!(fields[0], "VALUE", "{header}");
        assert_eq!(fields[1], key);
        assert_eq!(fields[2], "0", "flags are always 0");
        let len: usize = fields[3].parse().unwrap();
        let data = reply[header_end + 2..header_end + 2 + len].to_vec();
        assert_eq!(&reply[header_end + 2 + len..], b"\r\nEND\r\n");
        Some(data)
    }

    /// `set <key> 0 <exptime> <len>` as the reference sends it.
    pub fn set(&mut self, key: &str, exptime: u64, data: &[u8]) {
        let mut req = format!("set {key} 0 {exptime} {}\r\n", data.len()).into_bytes();
        req.extend_from_slice(data);
        req.extend_from_slice(b"\r\n");
        assert_eq!(self.cmd(&req), b"STORED\r\n");
    }

    /// `stats settings` as a map.
    pub fn stats_settings(&mut self) -> std::collections::HashMap<String, String> {
        self.stream.write_all(b"stats settings\r\n").unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 65536];
        while !buf.ends_with(b"END\r\n") {
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "memcached closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut f = l.strip_prefix("STAT ")?.splitn(2, ' ');
                Some((f.next()?.to_owned(), f.next()?.to_owned()))
            })
            .collect()
    }

    /// Remaining TTL of an item in seconds through the meta protocol (`mg <key> t`):
    /// `Some(-1)` for an item that never expires, `None` for a miss.
    pub fn ttl(&mut self, key: &str) -> Option<i64> {
        let reply = String::from_utf8(self.cmd(format!("mg {key} t\r\n").as_bytes())).unwrap();
        if reply == "EN\r\n" {
            return None;
        }
        let t = reply
            .trim_end()
            .split(' ')
            .find_map(|f| f.strip_prefix('t'))
            .unwrap_or_else(|| panic!("no TTL in {reply:?}"));
        Some(t.parse().unwrap())
    }
}
