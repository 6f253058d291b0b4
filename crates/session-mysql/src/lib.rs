//! MySQL and MariaDB storage for sessions, sharing its tables with lua-resty-session.
//!
//! [`MysqlStorage`] implements [`session_storage::Storage`] on [`mysql_async`] (its built-in
//! connection pool; TLS with rustls under the default `tls` feature) with the tables, columns and statements of lua-resty-session
//! 4.1.5's `mysql` storage (docs/storage.md §12), so an OpenResty service and a Rust service can share
//! one database:
//!
//! | operation | statements (`{T}` sessions table, `{TM}` metadata table) |
//! |---|---|
//! | `set` (no old key, no metadata) | `INSERT INTO {T} (sid, name, data, exp) VALUES (?, ?, ?, FROM_UNIXTIME(now+ttl)) ON DUPLICATE KEY UPDATE data = VALUES(data)` |
//! | `set` (otherwise) | in one transaction: that upsert; `UPDATE {T} SET exp = FROM_UNIXTIME(now+stale_ttl) WHERE sid = old AND exp > FROM_UNIXTIME(now+stale_ttl)` with an old key; `INSERT INTO {TM} (aud, sub, sid) VALUES (?, ?, ?), … ON DUPLICATE KEY UPDATE sid = sid` with metadata; then, 1 time in 1000, `DELETE FROM {T} WHERE exp < FROM_UNIXTIME(now)` |
//! | `get` | `SELECT data FROM {T} WHERE sid = ? AND exp >= FROM_UNIXTIME(now)` |
//! | `delete` | `DELETE FROM {T} WHERE sid = ?` (metadata rows go by `ON DELETE CASCADE`), then 1 time in 1000 the cleanup |
//! | `read_metadata` | `SELECT sid, UNIX_TIMESTAMP(exp) FROM {TM} JOIN {T} USING (sid) WHERE aud = ? AND sub = ? AND exp >= FROM_UNIXTIME(now)` |
//!
//! Faithful to the reference, including its quirks: an upsert of an existing `sid` only
//! replaces `data` (`exp` and `name` keep their values, so re-saving the same key does not
//! extend it); records are keyed by `sid` alone (the cookie name is stored but not used to
//! look records up, so two cookie names never hold the same key at once); metadata rows of
//! an old key stay until its session row is deleted, visible until its stale expiry; expiry
//! is judged against the `now` the engine passes (`exp >= now` is still live).
//!
//! Differences, none of which changes what is stored:
//! - values are bound as parameters of prepared statements, never spliced into the SQL text;
//! - the upsert uses `VALUES(data)` instead of the reference's `AS new … new.data` row
//!   alias, which MariaDB cannot parse (docs/storage.md §12.4); on MySQL both mean the same;
//! - the statements of a `set` run in one transaction (the reference sends them as one
//!   multi-statement query that is not atomic), and a deadlock is retried;
//! - `read_metadata` reads `exp` as Unix seconds with `UNIX_TIMESTAMP(exp)` (the inverse of
//!   `FROM_UNIXTIME` in the same session time zone) instead of the driver's text.
//!
//! The connection's `time_zone` is never changed (docs/storage.md §12.5): every statement converts
//! through `FROM_UNIXTIME`, so a Lua and a Rust client agree as long as they use the same
//! server default. The connection character set (`charset`, default `ascii`) is set with
//! `SET NAMES` on every connection.
//!
//! # Schema
//!
//! [`MysqlStorage::create_schema`] creates the reference's tables (docs/storage.md §12.1):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS sessions (
//!   sid  CHAR(43) PRIMARY KEY,
//!   name VARCHAR(255),
//!   data MEDIUMTEXT,
//!   exp  DATETIME,
//!   INDEX (exp)
//! ) CHARACTER SET ascii;
//! CREATE TABLE IF NOT EXISTS sessions_meta (
//!   aud VARCHAR(255),
//!   sub VARCHAR(255),
//!   sid CHAR(43),
//!   PRIMARY KEY (aud, sub, sid),
//!   CONSTRAINT FOREIGN KEY (sid) REFERENCES sessions(sid) ON DELETE CASCADE ON UPDATE CASCADE
//! ) CHARACTER SET ascii;
//! ```
//!
//! # Example
//!
//! ```no_run
//! use session_mysql::{MysqlConfig, MysqlStorage};
//! use session_storage::{Metadata, SetRequest, Storage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config: MysqlConfig = serde_json::from_str(r#"{
//!     "host": "127.0.0.1", "port": 3306,
//!     "username": "app", "password": "secret", "database": "test",
//!     "connect_timeout": 1000, "send_timeout": 1000, "read_timeout": 1000
//! }"#).expect("valid configuration");
//! let store = MysqlStorage::connect(config).await?;
//! store.create_schema().await?;
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
//! # TLS
//!
//! With the `tls` feature (on by default), `ssl = true` encrypts connections with rustls
//! (ring provider, TLS 1.2 or 1.3; no OpenSSL). Certificates are verified against the web
//! PKI roots, or only the CAs of `ssl_trusted_certificate`, and the name `server_name`
//! (default `host`) unless `ssl_verify = false` — a deliberate difference from OpenResty,
//! which verifies only when asked. See the [TLS section](MysqlConfig#tls) of the options.
//!
//! ```no_run
//! use session_mysql::{MysqlConfig, MysqlStorage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config = MysqlConfig::from_url(
//!     "mysql://app:secret@10.0.0.7/test?ssl=true&server_name=db.internal\
//!      &ssl_trusted_certificate=/etc/ssl/internal-ca.pem",
//! )?;
//! let store = MysqlStorage::connect(config).await?;
//! # let _ = store; Ok(()) }
//! ```
//!
//! # Features
//!
//! - `tls` (default): TLS connections (`ssl = true`). Without it `ssl = true` is a
//!   configuration error saying to enable it.
//!
//! # Errors
//!
//! Every failure is a [`StorageError`](session_storage::StorageError) whose kind says whether
//! a retry can help: `Unavailable` (refused, dropped, too many connections, deadlock after
//! retries), `Timeout` (no connection within `connect_timeout`, no answer within
//! `send_timeout + read_timeout`, lock wait timeout, nothing within `operation_timeout`, 5 s
//! by default: docs/failure-behaviour.md), `Config` (bad options, refused
//! credentials, unknown database or table, `ssl = true` without the `tls` feature, a server
//! without TLS or a certificate that fails verification with `ssl = true`), `InvalidInput` (a value the column
//! cannot hold, such as non-ASCII text in an `ascii` table), `InvalidRecord` (a stored row
//! that is not UTF-8 or has NULL data), `Backend` (anything else). Stored data never makes
//! the store panic.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod protocol;
mod store;
#[cfg(feature = "tls")]
mod tls;
mod url;

pub use config::MysqlConfig;
/// The `mysql_async` driver this crate is built on, for raw SQL on
/// [`MysqlStorage::connection`].
pub use mysql_async;
pub use store::MysqlStorage;
