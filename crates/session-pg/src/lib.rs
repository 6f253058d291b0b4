//! PostgreSQL storage for sessions, pooled.
//!
//! [`PostgresStorage`] implements [`session_storage::Storage`] with exactly the tables and
//! statements of lua-resty-session 4.1.5's `postgres` storage (docs/storage.md §11), so an OpenResty
//! service and a Rust service can share one database and open each other's sessions. Values
//! are bound as parameters instead of spliced into the SQL text (the reference does not
//! escape them), but the SQL expressions around them are the reference's, so the stored rows
//! are the same:
//!
//! | operation | statements |
//! |---|---|
//! | `set` (no old key, no metadata) | `INSERT INTO sessions (sid, name, data, exp) VALUES ($1, $2, $3, TO_TIMESTAMP($4) AT TIME ZONE 'UTC') ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp` |
//! | `set` (otherwise) | one transaction: that INSERT; with an old key `UPDATE sessions SET exp = TO_TIMESTAMP(now+stale_ttl) AT TIME ZONE 'UTC' WHERE sid = old AND exp > (the same)`; with metadata `INSERT INTO sessions_meta (aud, sub, sid) VALUES (...), (...) ON CONFLICT DO NOTHING`; once in 1000 calls `DELETE FROM sessions WHERE exp < TO_TIMESTAMP(now)` |
//! | `get` | `SELECT data FROM sessions WHERE sid = $1 AND exp >= TO_TIMESTAMP(now) AT TIME ZONE 'UTC'` |
//! | `delete` | `DELETE FROM sessions WHERE sid = $1` (metadata rows go by `ON DELETE CASCADE`; once in 1000 calls with the CLEANUP above, in one transaction) |
//! | `read_metadata` | `SELECT sid, exp FROM sessions_meta JOIN sessions USING (sid) WHERE aud = $1 AND sub = $2 AND exp >= TO_TIMESTAMP(now)` |
//!
//! Statements are prepared once per connection (deadpool-postgres's statement cache).
//! [`PostgresStorage::create_schema`] creates the reference's tables (docs/storage.md §11.1).
//!
//! **Most applications use the `session` facade** with its `postgres` feature and configure
//! this store through the `postgres = { ... }` block ([`PostgresConfig`], the Lua option
//! names) or a URL ([`PostgresConfig::from_url`]).
//!
//! # Behaviour shared with the reference (not bugs of this crate)
//!
//! - The cookie name is stored in the `name` column but is not part of the key: the same
//!   storage key under two cookie names is one row (the second `set` overwrites `data` and
//!   `exp`, keeps `name`), and `get`, `delete` and `read_metadata` ignore the name. Session
//!   ids are random, so distinct sessions never share a key.
//! - Expiry is checked by the client against the `now` each call passes; expired rows stay
//!   until CLEANUP. An old key's metadata rows stay listed until its stale expiry.
//! - Time zone: `TO_TIMESTAMP(x) AT TIME ZONE 'UTC'` is a timestamp without time zone read
//!   back in the connection's `TimeZone`. With the server's `TimeZone = UTC` (recommended)
//!   everything is exact; otherwise `set`/`get` stay consistent but `read_metadata` and
//!   CLEANUP are shifted, exactly as in the reference (docs/storage.md §11.6). This crate does not
//!   change the session's `TimeZone`, so it behaves like a Lua client on the same server.
//!
//! # TLS
//!
//! With the `tls` feature (on by default: rustls with the ring provider), `ssl = true` asks
//! the server for TLS as pgmoon does. Without `ssl_required = true` a server that declines
//! gets a **plain-text** connection. The certificate is verified unless `ssl_verify = false`
//! (pgmoon verifies only when asked), which accepts any certificate: encryption without
//! authenticating the server. For an authenticated, encrypted connection set `ssl` and
//! `ssl_required` (or `sslmode=verify-full` in a URL),
//! plus `server_name` when the certificate does not name `host` and
//! `ssl_trusted_certificate` for a private CA. See [`PostgresConfig`'s TLS
//! section](PostgresConfig#tls). A certificate that cannot be verified is a `Config` error
//! whose message says so. Without the feature, `ssl = true` is a `Config` error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! use session_pg::{PostgresConfig, PostgresStorage};
//! let config = PostgresConfig::default()
//!     .with_host("10.0.0.2", 5432)
//!     .with_database("app")
//!     .with_ssl(true, true) // ssl_required, ssl_verify
//!     .with_server_name("db.internal")
//!     .with_trusted_certificate("/etc/ssl/certs/internal-ca.pem");
//! let store = PostgresStorage::connect(config).await?;
//! // or: PostgresConfig::from_url("postgres://app@db.internal/app?sslmode=verify-full")
//! # let _ = store; Ok(()) }
//! ```
//!
//! # Example
//!
//! ```no_run
//! use session_pg::{PostgresConfig, PostgresStorage};
//! use session_storage::{Metadata, SetRequest, Storage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config: PostgresConfig = serde_json::from_str(r#"{
//!     "host": "127.0.0.1", "port": 5432,
//!     "username": "postgres", "database": "app",
//!     "table": "sessions",
//!     "connect_timeout": 1000, "send_timeout": 1000, "read_timeout": 1000
//! }"#).expect("valid configuration");
//! let store = PostgresStorage::connect(config).await?;
//! store.create_schema().await?; // once, or use your own migration
//!
//! let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
//! let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
//! let now = 1_700_000_000;
//! store.set(&SetRequest::new("session", key, "[\"payload\"]", 3600, now).with_metadata(&meta)).await?;
//! assert_eq!(store.get("session", key, now).await?.as_deref(), Some("[\"payload\"]"));
//! let sessions = store.read_metadata("session", "ZGVmYXVsdA", "am9obg", now).await?;
//! assert_eq!(sessions.get(key), Some(&(now + 3600)));
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every failure is a [`StorageError`](session_storage::StorageError) whose kind says whether
//! a retry can help: `Unavailable` (refused, dropped, server shutting down, deadlock),
//! `Timeout` (no answer within the configured timeouts: no call waits longer than
//! [`PostgresStorage::operation_timeout`]), `Config` (bad options, refused credentials,
//! missing tables or database), `InvalidInput` (a value the database encoding cannot hold,
//! such as a NUL character), `InvalidRecord` (columns of unexpected types). Server data never
//! makes the store panic.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod protocol;
mod store;
#[cfg(feature = "tls")]
mod tls;
mod url;

pub use config::{DEFAULT_TABLE, PostgresConfig};
/// The pool this crate is built on, for raw SQL through [`PostgresStorage::connection`].
pub use deadpool_postgres;
pub use store::PostgresStorage;
/// The driver this crate is built on.
pub use tokio_postgres;
