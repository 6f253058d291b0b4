//! Memcached storage for sessions, wire-compatible with lua-resty-session 4.1.5.
//!
//! [`MemcachedStorage`] implements [`session_storage::Storage`] with exactly the keys, values,
//! exptimes and appended metadata collections of lua-resty-session's `memcached` storage
//! (docs/storage.md §7), so an OpenResty service and a Rust service can share one memcached and open
//! each other's sessions. It speaks the memcached text protocol itself, over TCP, TLS (feature
//! `tls`, on by default) or a unix socket, with a `deadpool` connection pool.
//!
//! | operation | commands (keys escaped as by `ngx.escape_uri`, so `:` is `%3A`) |
//! |---|---|
//! | `set` (no old key, no metadata) | `set K 0 ttl len` |
//! | `set` (otherwise) | `set K 0 ttl len`; `touch OLD stale_ttl`; per collection `add M 0 0 len` (or, if it exists, `append M 0 0 len`) of `key:exp7;`, `append M 0 0 len` of the tombstone `old_key;`, and with probability 0.1 a compaction |
//! | `get` | `get K` |
//! | `delete` | `delete K`; per collection `append M` of the tombstone `key;`, then a compaction |
//! | `read_metadata` | `get M`, parsed (entries with exp > now) |
//! | compaction | `gets M`; `cas M 0 (max_exp-now) len cas` of the live entries, or `delete M` when none is live |
//!
//! Keys are `[prefix:]name:key[:suffix]` and `[prefix:]name:audience:subject[:suffix]`
//! ([`KeyLayout`](session_storage::KeyLayout)), escaped as a whole ([`escape_key`]).
//!
//! **Most applications use the `session` facade** with its `memcached` feature and configure
//! this store through the `memcached = { ... }` block ([`MemcachedConfig`], the Lua option
//! names) or a URL ([`MemcachedConfig::from_url`]).
//!
//! # Example
//!
//! ```no_run
//! use session_memcached::{MemcachedConfig, MemcachedStorage};
//! use session_storage::{Metadata, SetRequest, Storage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config: MemcachedConfig = serde_json::from_str(r#"{
//!     "prefix": "sessions",
//!     "host": "127.0.0.1", "port": 11211,
//!     "connect_timeout": 1000, "send_timeout": 1000, "read_timeout": 1000
//! }"#).expect("valid configuration");
//! let store = MemcachedStorage::connect(config).await?;
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
//! # TLS
//!
//! With the feature `tls` (on by default), `ssl = true` opens every TCP connection with TLS
//! 1.2 or 1.3 (rustls with the ring provider; memcached's own TLS, `memcached -Z`, or a TLS
//! terminator in front of it). The handshake counts against `connect_timeout`; reads and
//! writes keep their timeouts and the same reply caps. TLS over a unix socket is refused.
//!
//! - `ssl_verify` (default **true** here, as in `session-redis`) checks the chain against the
//!   CAs of the PEM file `ssl_trusted_certificate` (only those), else the web PKI roots, and
//!   the name
//!   against `server_name` (also sent as SNI), else `host` (an IP host is matched against the
//!   certificate's IP addresses).
//! - `ssl_verify = false` (the Lua default) accepts any certificate: the connection is
//!   encrypted but the server is **not authenticated**, as with OpenResty's `sslhandshake`
//!   without verification. Use it only where interception is not a concern.
//!
//! A certificate that fails verification is a `Config` error naming "certificate
//! verification"; a server that does not speak TLS is a `Backend` (or `Timeout`) error, never
//! a hang. Without the feature, `ssl = true` is a `Config` error saying to enable it.
//!
//! ```no_run
//! use session_memcached::{MemcachedConfig, MemcachedStorage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config = MemcachedConfig::default()
//!     .with_host("10.0.0.5", 11211)
//!     .with_ssl(true) // verify
//!     .with_server_name("cache.internal")
//!     .with_trusted_certificate("/etc/ssl/private-ca.pem");
//! let store = MemcachedStorage::connect(config).await?;
//! // Or: MemcachedStorage::from_url("memcache://10.0.0.5?ssl=true&server_name=cache.internal\
//! //     &ssl_trusted_certificate=%2Fetc%2Fssl%2Fprivate-ca.pem")
//! # let _ = store; Ok(()) }
//! ```
//!
//! # Faithful quirks
//!
//! These come from the reference and are kept so both sides store the same thing:
//! - the ttl is sent as memcached's exptime unchanged, so a ttl above 30 days
//!   (2 592 000 s) is read by memcached as an absolute Unix time in 1970 and the record
//!   expires at once (docs/storage.md §7.1);
//! - the old key is `touch`ed to `stale_ttl` unconditionally, which can lengthen its life;
//! - collections are added with exptime 0 and get an expiry only when compacted.
//!
//! # Errors
//!
//! Every failure is a [`StorageError`](session_storage::StorageError) whose kind says whether
//! a retry can help: `Unavailable` (refused, reset, closed by the server), `Timeout` (no
//! connection, write or reply within the configured timeouts, or the whole operation not done
//! within `operation_timeout`, 5 s by default: docs/failure-behaviour.md), `Config` (bad options, an
//! unreadable CA file, a server certificate that fails verification, `ssl = true` without the
//! `tls` feature), `InvalidInput` (a key longer than memcached's 250 bytes after escaping),
//! `InvalidRecord` (a record that is not UTF-8, a collection that does not parse) and
//! `Backend` (a server error line, a reply that breaks the protocol, a failed TLS handshake).
//! Replies are read with fixed caps ([`MAX_VALUE_LEN`]); server data never makes the store
//! panic.
//!
//! Where the reference ignores a reply (the `touch` of the old key, the collection
//! `add`/`append`s, compaction), this crate ignores it too; a *connection* failure during
//! those steps is reported as an error, though, where the reference would still return
//! success.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod escape;
mod protocol;
mod store;
mod url;

pub use config::MemcachedConfig;
pub use escape::{MAX_KEY_LEN, escape_key};
pub use protocol::{Item, MAX_VALUE_LEN, Status};
pub use store::{MemcachedConnection, MemcachedStorage};

/// Entry points for the fuzz targets (`fuzz/`): not part of the API, may change at any time.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses one reply at the start of `buf` (as the client does, `key` being the wire key
    /// of a `get`): `Ok(Some(n))` when a complete reply uses the first `n` bytes, `Ok(None)`
    /// when more bytes are needed (checked to be more than `buf` holds), `Err` when the bytes
    /// break the protocol.
    ///
    /// ```
    /// assert_eq!(session_memcached::__fuzz::parse_reply(b"STORED\r\n", None), Ok(Some(8)));
    /// assert_eq!(session_memcached::__fuzz::parse_reply(b"STOR", None), Ok(None));
    /// assert!(session_memcached::__fuzz::parse_reply(b"HELLO\r\n", None).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The parser's message when the bytes are not a valid reply.
    ///
    /// # Panics
    ///
    /// When the parser breaks its own contract (a used length past the input, or a request
    /// for no more bytes than it already has): that is what the fuzzer looks for.
    pub fn parse_reply(buf: &[u8], key: Option<&[u8]>) -> Result<Option<usize>, String> {
        match crate::protocol::parse(buf, key) {
            Ok(crate::protocol::Parsed::Done(n, _)) => {
                assert!(n <= buf.len(), "used {n} bytes of {}", buf.len());
                Ok(Some(n))
            }
            Ok(crate::protocol::Parsed::Need(n)) => {
                assert!(n > buf.len(), "asked for {n} bytes with {} held", buf.len());
                assert!(
                    n <= buf.len() + crate::protocol::MAX_LINE_LEN + crate::MAX_VALUE_LEN + 16,
                    "asked for {n} bytes"
                );
                Ok(None)
            }
            Err(e) => Err(e.message().to_owned()),
        }
    }
}
