//! An in-process DSHM test server, written from docs/storage.md §8 and the ngx-distributed-shm
//! sources it describes (the real Java server is not available here).
//!
//! What it does like the real server:
//! - command mode reads up to `\r\n` and splits the line on single spaces the way Java's
//!   `String.split(" ")` does (trailing empty tokens dropped, inner ones kept); the verb is
//!   matched case-insensitively;
//! - `set <key> <exptime> <length>` (exactly 4 tokens, exptime a Java `int` ≥ 0, length a
//!   Java `int` > 0) switches to data mode for exactly `<length>` bytes, no CRLF expected;
//!   the data is decoded as UTF-8 (lossy, like Java), stored in normalised decimal form when
//!   it parses as a Java `long`, and echoed as `LEN <n>\r\n<value>\r\nDONE\r\n` where `<n>`
//!   counts UTF-16 units;
//! - `get <key>` (2 tokens): the value framed the same way, or `ERROR not_found`;
//! - `touch <key> <exptime>` (3 tokens): resets the TTL of an existing key, `DONE` either
//!   way; `delete <key>` (2 tokens): `DONE` either way; `quit` closes the connection;
//! - anything malformed or unknown: `ERROR malformed_request`, still in command mode (so a
//!   client that sends a CRLF after `set` data gets that error for the empty line);
//! - TTLs in real time (`0` = never), keys stored whole in the map of their region (the
//!   first `:`-piece when the key has more than one piece, else `shmmap`).
//!
//! Stricter than the real server, to catch client bugs: a command line holding anything
//! but printable ASCII (the Lua client's escaping guarantees that) is refused with
//! `ERROR malformed_request`; `incr`, `flushall` and `rate_limiter` (never used by
//! sessions) are unknown verbs here.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One stored value with its expiry.
#[derive(Debug, Clone)]
struct Entry {
    value: String,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self) -> bool {
        self.expires.is_none_or(|t| Instant::now() < t)
    }
}

/// What survives a restart of the server (use [`TestServer::start_on`] with the same
/// `Shared` to keep the data, or a fresh one to start empty), and the bytes received.
#[derive(Debug, Default)]
pub struct Shared {
    /// region → key → entry.
    regions: Mutex<HashMap<String, HashMap<String, Entry>>>,
    /// Every byte received, in arrival order, on all connections.
    received: Mutex<Vec<u8>>,
}

/// The region (Hazelcast map) a key lands in: Java's `key.split(":")` has more than one
/// piece → the first piece, else `shmmap`.
pub fn region_of(key: &str) -> String {
    let pieces = java_split(key, ':');
    if pieces.len() > 1 {
        pieces[0].to_owned()
    } else {
        "shmmap".to_owned()
    }
}

/// Java's `String.split` with a one-character literal: trailing empty strings are removed;
/// an empty input gives one empty string.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() {
        // e.g. ":" splits to nothing at all in Java
        return Vec::new();
    }
    parts
}

/// Java's `Integer.parseInt`: optional sign, ASCII digits, within `i32`.
fn java_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Java's `Long.valueOf` over the whole data: optional sign, ASCII digits, within `i64`.
fn java_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn framed(value: &str) -> Vec<u8> {
    format!(
        "LEN {}\r\n{value}\r\nDONE\r\n",
        value.encode_utf16().count()
    )
    .into_bytes()
}

const MALFORMED: &[u8] = b"ERROR malformed_request\r\n";

impl Shared {
    fn get(&self, key: &str) -> Option<String> {
        let mut regions = self.regions.lock().unwrap();
        let map = regions.entry(region_of(key)).or_default();
        match map.get(key) {
            Some(e) if e.live() => Some(e.value.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn expiry(secs: i32) -> Option<Instant> {
        (secs > 0).then(|| Instant::now() + Duration::from_secs(secs.unsigned_abs().into()))
    }

    fn set(&self, key: &str, value: String, secs: i32) {
        let mut regions = self.regions.lock().unwrap();
        regions.entry(region_of(key)).or_default().insert(
            key.to_owned(),
            Entry {
                value,
                expires: Self::expiry(secs),
            },
        );
    }

    fn touch(&self, key: &str, secs: i32) {
        let mut regions = self.regions.lock().unwrap();
        let map = regions.entry(region_of(key)).or_default();
        if let Some(e) = map.get_mut(key) {
            if e.live() {
                e.expires = Self::expiry(secs);
            } else {
                map.remove(key);
            }
        }
    }

    fn delete(&self, key: &str) {
        let mut regions = self.regions.lock().unwrap();
        regions.entry(region_of(key)).or_default().remove(key);
    }
}

/// A running test server on a loopback port. Stopped (every connection closed) on drop.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A fresh, empty server on an ephemeral port.
    pub fn start() -> Self {
        Self::start_on(0, Arc::new(Shared::default()))
    }

    /// A server on `port` (0: ephemeral) serving `shared`.
    pub fn start_on(port: u16, shared: Arc<Shared>) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:{port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        if let Ok((stream, _)) = listener.accept().await {
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(serve(stream, Arc::clone(&state)));
                        }
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels every connection task: all sockets close.
            drop(rt);
        });
        Self {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Stops accepting and closes every connection; waits until done.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Every byte received so far (all connections, arrival order), and forgets them.
    pub fn take_received(&self) -> Vec<u8> {
        std::mem::take(&mut *self.shared.received.lock().unwrap())
    }

    /// The live value under a wire key.
    pub fn value(&self, key: &str) -> Option<String> {
        self.shared.get(key)
    }

    /// The remaining life of a live key: `Some(None)` for a key that never expires.
    pub fn ttl(&self, key: &str) -> Option<Option<Duration>> {
        let regions = self.shared.regions.lock().unwrap();
        let e = regions.get(&region_of(key))?.get(key)?;
        e.live().then(|| {
            e.expires
                .map(|t| t.saturating_duration_since(Instant::now()))
        })
    }

    /// The region a live key is stored in.
    pub fn region_holding(&self, key: &str) -> Option<String> {
        let regions = self.shared.regions.lock().unwrap();
        regions
            .iter()
            .find(|(_, m)| m.get(key).is_some_and(Entry::live))
            .map(|(r, _)| r.clone())
    }

    /// Stores a value as another client (the Lua side) would: `set key secs`.
    pub fn put(&self, key: &str, value: &str, secs: i32) {
        self.shared.set(key, value.to_owned(), secs);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the connection expects next.
enum Mode {
    Command,
    Data { key: String, secs: i32, len: usize },
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut mode = Mode::Command;
    let mut chunk = vec![0_u8; 64 * 1024];
    loop {
        // Handle every complete frame in the buffer.
        loop {
            match &mode {
                Mode::Command => {
                    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line: Vec<u8> = buf.drain(..end + 2).take(end).collect();
                    let (reply, next, quit) = command(&line, &shared);
                    if stream.write_all(&reply).await.is_err() || quit {
                        return;
                    }
                    mode = next;
                }
                Mode::Data { key, secs, len } => {
                    if buf.len() < *len {
                        break;
                    }
                    let data: Vec<u8> = buf.drain(..*len).collect();
                    let text = String::from_utf8_lossy(&data).into_owned();
                    let value = match java_long(&text) {
                        Some(n) => n.to_string(),
                        None => text,
                    };
                    shared.set(key, value.clone(), *secs);
                    if stream.write_all(&framed(&value)).await.is_err() {
                        return;
                    }
                    mode = Mode::Command;
                }
            }
        }
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        shared
            .received
            .lock()
            .unwrap()
            .extend_from_slice(&chunk[..n]);
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Executes one command line: (reply, next mode, close afterwards).
fn command(line: &[u8], shared: &Shared) -> (Vec<u8>, Mode, bool) {
    let malformed = || (MALFORMED.to_vec(), Mode::Command, false);
    if !line.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return malformed();
    }
    let Ok(line) = std::str::from_utf8(line) else {
        return malformed();
    };
    let tokens = java_split(line, ' ');
    let Some(verb) = tokens.first() else {
        return malformed();
    };
    match verb.to_ascii_uppercase().as_str() {
        "GET" => {
            if tokens.len() != 2 {
                return malformed();
            }
            let reply = match shared.get(tokens[1]) {
                Some(v) => framed(&v),
                None => b"ERROR not_found\r\n".to_vec(),
            };
            (reply, Mode::Command, false)
        }
        "SET" => {
            if tokens.len() != 4 {
                return malformed();
            }
            let secs = java_int(tokens[2]).filter(|s| *s >= 0);
            let len = java_int(tokens[3]).filter(|l| *l > 0);
            match (secs, len) {
                (Some(secs), Some(len)) => (
                    Vec::new(),
                    Mode::Data {
                        key: tokens[1].to_owned(),
                        secs,
                        len: usize::try_from(len).unwrap(),
                    },
                    false,
                ),
                _ => malformed(),
            }
        }
        "TOUCH" => {
            if tokens.len() != 3 {
                return malformed();
            }
            match java_int(tokens[2]).filter(|s| *s >= 0) {
                Some(secs) => {
                    shared.touch(tokens[1], secs);
                    (b"DONE\r\n".to_vec(), Mode::Command, false)
                }
                None => malformed(),
            }
        }
        "DELETE" => {
            if tokens.len() != 2 {
                return malformed();
            }
            shared.delete(tokens[1]);
            (b"DONE\r\n".to_vec(), Mode::Command, false)
        }
        "QUIT" => (Vec::new(), Mode::Command, true),
        _ => malformed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_split_semantics() {
        assert_eq!(java_split("get k", ' '), ["get", "k"]);
        assert_eq!(java_split("get k ", ' '), ["get", "k"]);
        assert_eq!(java_split("get  k", ' '), ["get", "", "k"]);
        assert_eq!(java_split("", ' '), [""]);
        assert_eq!(region_of("sessions:session:K"), "sessions");
        assert_eq!(region_of("session-dshm-ping"), "shmmap");
        assert_eq!(region_of("a:"), "shmmap");
        assert_eq!(region_of(":n:k"), "");
    }
}
