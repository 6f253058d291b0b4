//! ngx-distributed-shm (DSHM) storage for sessions, wire-compatible with lua-resty-session
//! 4.1.5.
//!
//! [DSHM](https://github.com/grrolland/ngx-distributed-shm) is a networked shared-memory
//! server (Hazelcast underneath) with its own small text protocol. [`DshmStorage`]
//! implements [`session_storage::Storage`] with exactly the keys, values, exptimes and
//! metadata collections of lua-resty-session's `dshm` storage (docs/storage.md §8), so an OpenResty
//! service and a Rust service can share one DSHM server and open each other's sessions. It
//! speaks the protocol itself over TCP, with a `deadpool` connection pool.
//!
//! | operation | commands (keys escaped per `:`-separated piece, so colons survive) |
//! |---|---|
//! | `set` (no old key, no metadata) | `set K ttl len\r\n<value>` (no CRLF after the data) |
//! | `set` (otherwise) | the same; `touch OLD stale_ttl`; per collection an update adding `key` with `now + ttl`, then (with an old key) an update removing `old_key` |
//! | `get` | `get K` (`ERROR not_found` is a miss) |
//! | `delete` | `delete K`; per collection an update removing `key` |
//! | `read_metadata` | `get M`, parsed (entries with exp > now) |
//! | collection update | `get M`; `set M (max_exp-now) len` of the live entries, or `delete M` when none is left |
//!
//! Keys are `[prefix:]name:key[:suffix]` and `[prefix:]name:audience:subject[:suffix]`
//! ([`KeyLayout`](session_storage::KeyLayout)), escaped with [`escape_key`]. The server
//! files each key under its first `:`-separated piece (its "region": the prefix, or the
//! cookie name without one).
//!
//! **Most applications use the `session` facade** with its `dshm` feature and configure
//! this store through the `dshm = { ... }` block ([`DshmConfig`], the Lua option names) or a
//! URL ([`DshmConfig::from_url`]).
//!
//! # Example
//!
//! ```no_run
//! use session_dshm::{DshmConfig, DshmStorage};
//! use session_storage::{Metadata, SetRequest, Storage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config: DshmConfig = serde_json::from_str(r#"{
//!     "prefix": "sessions",
//!     "host": "127.0.0.1", "port": 4321,
//!     "connect_timeout": 1000, "send_timeout": 1000, "read_timeout": 1000
//! }"#).expect("valid configuration");
//! let store = DshmStorage::connect(config).await?;
//!
//! let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
//! let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)
//!     .map_or(0, |d| d.as_secs() as i64);
//! store.set(&SetRequest::new("session", key, "[\"payload\"]", 3600, now).with_metadata(&meta)).await?;
//! assert_eq!(store.get("session", key, now).await?.as_deref(), Some("[\"payload\"]"));
//! let sessions = store.read_metadata("session", "ZGVmYXVsdA", "am9obg", now).await?;
//! assert_eq!(sessions.get(key), Some(&(now + 3600)));
//! # Ok(()) }
//! ```
//!
//! # Faithful quirks
//!
//! These come from the reference and are kept so both sides store the same thing:
//! - the old key is `touch`ed to `stale_ttl` unconditionally, which can lengthen its life
//!   (and an exptime of 0 means "never expires" to the server);
//! - collections are updated read-modify-write (`get`, then `set` or `delete`), which is
//!   **not concurrency-safe**: two services updating one collection at the same moment can
//!   lose one of the changes, as with the Lua storage. No lock is added, because the Lua side
//!   would ignore it;
//! - a collection that does not parse is treated as empty by an update (and overwritten),
//!   as a failed read is in the reference.
//!
//! Where the Lua client differs and this crate does not copy it:
//! - every `ERROR` reply comes out of the Lua client as `"protocol_error"` (docs/storage.md §8.6);
//!   here `ERROR not_found` is a miss (`Ok(None)`, or an empty collection) and any other
//!   `ERROR` is a typed error;
//! - the server's `LEN <n>` counts UTF-16 code units (a Java string length). The Lua client
//!   reads `n` *bytes*, which is the same for the ASCII values sessions store but cuts a
//!   non-ASCII value short; this crate counts UTF-16 units over the UTF-8 bytes, so any
//!   value comes back whole.
//!
//! Server behaviour to know about: a value that parses as a Java `long` (for example `0123`)
//! is stored in normalised decimal form (`123`); session records and collections are never
//! numeric. An empty value cannot be stored (the server refuses a zero length), so `set`
//! refuses it with `InvalidInput` before sending anything.
//!
//! # Errors
//!
//! Every failure is a [`StorageError`](session_storage::StorageError) whose kind says whether
//! a retry can help: `Unavailable` (refused, reset, closed by the server), `Timeout` (no
//! connection, write or reply within the configured timeouts, or the whole operation not done
//! within `operation_timeout`, 5 s by default: docs/failure-behaviour.md), `Config` (bad options,
//! `ssl = true`), `InvalidInput` (an empty value, a value above [`MAX_VALUE_LEN`], a TTL the
//! server cannot parse), `InvalidRecord` (a collection that does not parse on
//! `read_metadata`) and `Backend` (an `ERROR` reply other than `not_found`, a reply that
//! breaks the protocol). Replies are read with fixed caps; server data never makes the store
//! panic.
//!
//! # Testing
//!
//! The real ngx-distributed-shm server (Java, Hazelcast) was not available where this crate
//! was written. Its tests run against an in-process test server written from the server's
//! protocol as docs/storage.md §8 describes it (framing, commands, replies, regions, TTLs in real
//! time, refusal of malformed requests), and compare the bytes the client sends with the
//! bytes the Lua client sends, written out by hand from the spec.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod escape;
mod protocol;
mod store;
mod url;

pub use config::DshmConfig;
pub use escape::escape_key;
pub use protocol::MAX_VALUE_LEN;
pub use store::DshmStorage;

/// Entry points for fuzz targets: not part of the API, may change at any time.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses one reply at the start of `buf` as the client does: `Ok(Some(n))` when a
    /// complete reply uses the first `n` bytes, `Ok(None)` when more bytes are needed
    /// (checked to be more than `buf` holds and within the caps), `Err` when the bytes break
    /// the protocol.
    ///
    /// ```
    /// assert_eq!(session_dshm::__fuzz::parse_reply(b"DONE\r\n"), Ok(Some(6)));
    /// assert_eq!(session_dshm::__fuzz::parse_reply(b"DON"), Ok(None));
    /// assert!(session_dshm::__fuzz::parse_reply(b"HELLO\r\n").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The parser's message when the bytes are not a valid reply.
    ///
    /// # Panics
    ///
    /// When the parser breaks its own contract (a used length past the input, or a request
    /// for no more bytes than it already has, or past the caps): that is what a fuzzer looks
    /// for.
    pub fn parse_reply(buf: &[u8]) -> Result<Option<usize>, String> {
        match crate::protocol::parse(buf) {
            Ok(crate::protocol::Parsed::Done(n, _)) => {
                assert!(n <= buf.len(), "used {n} bytes of {}", buf.len());
                Ok(Some(n))
            }
            Ok(crate::protocol::Parsed::Need(n)) => {
                assert!(n > buf.len(), "asked for {n} bytes with {} held", buf.len());
                assert!(
                    n <= crate::protocol::MAX_LINE_LEN + crate::MAX_VALUE_LEN + 16,
                    "asked for {n} bytes"
                );
                Ok(None)
            }
            Err(e) => Err(e.message().to_owned()),
        }
    }
}
