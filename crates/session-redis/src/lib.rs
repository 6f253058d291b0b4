//! Redis storage for sessions: single instance, Sentinel and Cluster, pooled.
//!
//! [`RedisStorage`] implements [`session_storage::Storage`] with exactly the keys, values,
//! TTLs, metadata sorted sets and command sequences of lua-resty-session 4.1.5's `redis`,
//! `redis.sentinel` and `redis.cluster` storages (docs/storage.md §6), so an OpenResty service and a
//! Rust service can share one Redis and open each other's sessions:
//!
//! | operation | commands |
//! |---|---|
//! | `set` (no old key, no metadata) | `SET K value EX ttl` |
//! | `set` (otherwise) | `TTL OLD`, then a pipeline: `SET K value EX ttl`, `EXPIRE OLD stale_ttl` (only if `TTL OLD` failed or exceeds `stale_ttl`), and per collection `ZREMRANGEBYSCORE M 0 now-1`, `ZADD M now+ttl key`, `ZREM M old_key`, `EXPIRE M ttl` |
//! | `get` | `GET K` |
//! | `delete` | `UNLINK K` (with metadata, pipelined with `ZREMRANGEBYSCORE M 0 now-1`, `ZREM M key` per collection) |
//! | `read_metadata` | `ZRANGE M now +inf BYSCORE WITHSCORES` (Redis ≥ 6.2) |
//!
//! Keys are `[prefix:]name:key[:suffix]` and `[prefix:]name:audience:subject[:suffix]`
//! ([`KeyLayout`](session_storage::KeyLayout)). On a cluster every pipeline holds the commands
//! of one key only, so nothing spans two slots.
//!
//! **Most applications use the `session` facade** with its `redis` feature and configure this
//! store through the `redis = { ... }` block ([`RedisConfig`], the Lua option names) or a URL
//! ([`RedisConfig::from_url`]).
//!
//! # Deployments
//!
//! - Single server over TCP, TLS (rustls, feature `tls`, on by default) or a unix socket, with
//!   ACL user/password and database. The store's operations share one multiplexed
//!   connection per worker thread (commands of concurrent requests are written together),
//!   replaced when it fails, misses a deadline or idles past `keepalive_timeout`.
//! - Sentinel: every new connection asks the sentinels for the current master, so a failover
//!   is followed without a restart; connections that fail (or find a demoted master, `READONLY`)
//!   are dropped and the call is retried once on a fresh connection.
//! - Cluster: `MOVED` and `ASK` are followed up to `max_redirections` times.
//!
//! # Example
//!
//! ```no_run
//! use session_redis::{RedisConfig, RedisStorage};
//! use session_storage::{Metadata, SetRequest, Storage};
//!
//! # async fn demo() -> Result<(), session_storage::StorageError> {
//! let config: RedisConfig = serde_json::from_str(r#"{
//!     "prefix": "sessions",
//!     "host": "127.0.0.1", "port": 6379,
//!     "connect_timeout": 1000, "send_timeout": 1000, "read_timeout": 1000
//! }"#).expect("valid configuration");
//! let store = RedisStorage::connect(config).await?;
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
//! a retry can help: `Unavailable` (refused, dropped, no master), `Timeout` (no answer within
//! the configured timeouts: no call ever waits longer than
//! [`RedisStorage::operation_timeout`]), `Config` (bad options, authentication refused),
//! `InvalidRecord` (a stored value that is not UTF-8, a key of the wrong type, a score that
//! is not a number). Stored data never makes the store panic.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod pool;
mod shared;
mod store;
mod url;

pub use config::{Mode, NodeAddr, RedisConfig, Role};
/// The `redis` driver this crate is built on, for raw commands on a [`RedisConnection`].
pub use redis;
pub use store::{RedisConnection, RedisStorage};
