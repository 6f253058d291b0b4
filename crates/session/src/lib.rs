#![doc = include_str!("../README.md")]
// Without the features that compile them, the README's links to the layer and the error
// response point at their docs.rs pages (docs.rs builds with every feature).
#![cfg_attr(
    not(feature = "tower"),
    doc = "\n[`SessionLayer`]: https://docs.rs/resty-session/latest/resty_session/struct.SessionLayer.html"
)]
#![cfg_attr(
    not(feature = "axum"),
    doc = "\n[`HttpError`]: https://docs.rs/resty-session/latest/resty_session/struct.HttpError.html"
)]
//!
//! # What is where
//!
//! - The engine ([`Session`], [`Config`], [`SessionConfig`], the Lua helpers [`open`],
//!   [`start`], [`logout`], [`destroy`]) comes from `session-core`; see its Lua → Rust table.
//! - [`build`] turns a [`Config`] into a [`SessionConfig`] with the storage its `storage`
//!   option names, as lua-resty-session does (`storage = "shm"` with an `[shm]` options
//!   block). Each backend is a cargo feature; asking for one that is not compiled in is a
//!   [`SetupError`] naming the feature.
//! - [`SessionHandle`] is the session of one request, opened lazily, with the layer's
//!   save-when-modified mode; it needs no cargo feature ([`SessionHandle::from_headers`],
//!   then [`SessionHandle::finish`] on the response headers), so any framework can use it.
//!   With the `tower` feature, [`SessionLayer`] gives each request one and puts `Set-Cookie`
//!   values and session headers on the response. With `axum` (on by default),
//!   [`SessionHandle`] is an extractor and [`HttpError`] turns session errors into responses.
//!   With `actix` (independent of `tower` and `axum`), `actix::SessionMiddleware` does the
//!   same for actix-web 4 and [`SessionHandle`] is an actix extractor.
//! - Your own store: implement [`Storage`] (see the `session-storage` crate docs) and attach
//!   it with [`Config::builder`] (`config.builder().storage(..)`); implement [`Backend`] too and add it to the
//!   table of stores ([`Backends::with`], [`build_with`]) to select it by name in
//!   configuration (`storage = "mystore"`).
//!
//! # Lua → Rust, in a handler
//!
//! | lua-resty-session | `resty-session` (with [`SessionHandle`]) |
//! |---|---|
//! | `local session = require "resty.session".new()` | `let mut s = handle.new_session().await;` |
//! | `local session, err, exists = require "resty.session".open()` | `let s = handle.open().await;` (`s.open_error()`, `s.exists()`) |
//! | `local session, err, exists, refreshed = require "resty.session".start()` | `let s = handle.start().await;` |
//! | `require "resty.session".destroy()` / `.logout()` | `handle.destroy().await?` / `handle.logout().await?` |
//! | `session:get("k")` / `session:set("k", v)` | `s.get::<T>("k")?` / `s.set("k", &v)?` |
//! | `session:get_subject()` / `session:set_subject(s)` | `s.get_subject()?` / `s.set_subject(Some(s))?` |
//! | `session:set_remember(true)` | `s.set_remember(true)?` |
//! | `session:save()` / `session:destroy()` | `s.save().await?` / `s.destroy().await?` |
//! | `session:get_property("timeout")` | `s.get_property("timeout")?` |
//! | `session:clear_request_cookie()` | `s.clear_request_cookie()?` + `s.apply_request_headers(..)` |
//! | `session:set_headers()` / `set_response_headers()` | `s.set_headers(&[])?` / `s.set_response_headers(&[])?` (applied by the layer) |
//! | `session:set_request_headers("subject", "id")` | `s.set_request_headers(&["subject", "id"])?` + `s.apply_request_headers(..)` |
//! | `ngx.header["Set-Cookie"]` | done by [`SessionLayer`] on the response |
//!
//! Outside a framework, the engine's helpers take the request's headers directly:
//! [`start`]`(&config, Request::from_headers(&headers)).await`.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `axum` | yes | the [`SessionHandle`] extractor and [`HttpError`] (implies `tower`) |
//! | `tower` | via `axum` | [`SessionLayer`] (the [`SessionHandle`] needs no feature) |
//! | `actix` | no | actix-web 4: `actix::SessionMiddleware` and the [`SessionHandle`] extractor (no tower) |
//! | `shm` | no | `storage = "shm"`: in-process store, byte-bounded, LRU (`resty_session::shm`) |
//! | `redis` | no | `storage = "redis"`: single server, Sentinel or Cluster (`resty_session::redis`) |
//! | `redis-tls` | no | TLS to Redis (rustls), with `redis` |
//! | `file` | no | `storage = "file"`: one file per session, shareable with OpenResty (`resty_session::file`) |
//! | `postgres` | no | `storage = "postgres"`: the reference's tables (`resty_session::postgres`) |
//! | `postgres-tls` | no | TLS to PostgreSQL (rustls), with `postgres` |
//! | `mysql` | no | `storage = "mysql"` / `"mariadb"`: the reference's tables (`resty_session::mysql`) |
//! | `mysql-tls` | no | TLS to MySQL / MariaDB (rustls), with `mysql` |
//! | `memcached` | no | `storage = "memcached"` (`resty_session::memcached`) |
//! | `memcached-tls` | no | TLS to memcached (rustls), with `memcached` |
//! | `dshm` | no | `storage = "dshm"`: ngx-distributed-shm (`resty_session::dshm`) |
//!
//! # Proxies
//!
//! As with OpenResty's `access_by_lua`, a handler that forwards a request upstream can remove
//! the session cookies from it and pass session properties as headers:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! # let config = resty_session::Config::default().build()?;
//! # let mut h = http::HeaderMap::new();
//! # let mut s0 = resty_session::Session::new(&config, resty_session::Request::new());
//! # s0.set_subject(Some("john"))?; s0.save().await?;
//! # h.insert(http::header::COOKIE, format!("{}; theme=dark", s0.set_cookies()[0].split(';').next().unwrap()).parse().unwrap());
//! # let handle = resty_session::SessionHandle::from_headers(config, &h);
//! let mut upstream = http::Request::builder().uri("http://backend/").body(())?;
//! *upstream.headers_mut() = h.clone();
//! let mut s = handle.open().await;
//! s.clear_request_cookie()?;                       // Lua: session:clear_request_cookie()
//! s.set_request_headers(&["subject", "id"])?;      // Lua: session:set_request_headers(...)
//! s.apply_request_headers(upstream.headers_mut());
//! assert_eq!(upstream.headers()["cookie"], "theme=dark");
//! assert_eq!(upstream.headers()["session-subject"], "john");
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod setup;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
mod extract;
mod handle;
#[cfg(feature = "tower")]
mod layer;

pub use setup::{
    BackendEntry, Backends, SetupError, build, build_with, entry, storage_from_config,
};

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::{HttpError, MissingSessionLayer};
pub use handle::{LogId, SessionGuard, SessionHandle};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use layer::{ResponseFuture, SessionLayer, SessionService};

// The engine.
pub use session_core::config::{HeaderProperty, RememberSafetyOption, StorageOption};
pub use session_core::{
    Config, ConfigError, CookieHeader, CookieMetadata, Ended, Error, Info, Inspection, Opened,
    Operation, ParseConfigError, Property, Request, Session, SessionConfig, SessionConfigBuilder,
    Started, State, block_on, destroy, env, init, logout, new, open, start,
};
// Log out everywhere: list and revoke a subject's server-side sessions (README "Log out everywhere").
pub use session_core::admin::{
    self, AdminError, SubjectSession, list_sessions, revoke_all, revoke_session,
};
// Revocation of cookie sessions (README "Revoking cookie sessions").
pub use session_core::revocation::{
    self, RevocationError, RevocationOptions, RevocationReason, revoke_id, revoke_subject,
};
// Scheduled cleanup of expired records (session_core::maintenance).
pub use session_core::maintenance::{self, Cleanup, CleanupHandle, CleanupReport, CleanupTotals};
// The storage trait, for your own store.
pub use session_storage::{
    Backend, BoxedStorage, Capability, DynStorage, ErrorKind, ExpiryClock, Metadata, SessionIndex,
    SetRequest, Storage, StorageError,
};

/// The crates under the facade, for what it does not re-export.
///
/// ```
/// use resty_session::crates::codec::RememberSafety;
/// assert_eq!(RememberSafety::from_name("Medium"), RememberSafety::Medium);
/// ```
pub mod crates {
    pub use session_codec as codec;
    pub use session_core as core;
    pub use session_storage as storage;
}

/// The in-memory reference store ([`MemoryStorage`](memory::MemoryStorage)), for tests.
///
/// ```
/// let config = resty_session::Config::default()
///     .builder()
///     .storage(resty_session::memory::MemoryStorage::new())
///     .build()?;
/// assert!(config.has_storage());
/// # Ok::<_, resty_session::ConfigError>(())
/// ```
pub mod memory {
    pub use session_storage::memory::MemoryStorage;
}

/// The `shm` backend: an in-process, byte-bounded store shared by every task of the process
/// (`storage = "shm"`, options `prefix`, `suffix`, `zone`, `capacity`).
///
/// ```
/// use resty_session::shm::{ShmConfig, ShmStorage};
/// let store = ShmStorage::from_config(ShmConfig::default().with_zone("docs"))?;
/// let config = resty_session::Config::default().builder().storage(store).build()?;
/// assert!(config.has_storage());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "shm")]
#[cfg_attr(docsrs, doc(cfg(feature = "shm")))]
pub mod shm {
    pub use session_shm::{DEFAULT_CAPACITY, DEFAULT_ZONE, ShmConfig, ShmStorage, ShmZone};
}

/// The `file` backend: one file per session in a directory (`storage = "file"`, options
/// `path`, `prefix`, `suffix`, `pool`). Needs a Tokio runtime.
///
/// ```
/// use resty_session::file::{FileConfig, FileStorage};
/// let store = FileStorage::from_config(FileConfig::default().with_suffix("session"))?;
/// let config = resty_session::Config::default().builder().storage(store).build()?;
/// assert!(config.has_storage());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
pub mod file {
    pub use session_file::{FileConfig, FileStorage, validate_file_name};
}

/// The `redis` backend: single server, Sentinel or Cluster, pooled (`storage = "redis"`; the
/// `redis` block picks Cluster when it has `nodes`, else Sentinel with `sentinels`, else a
/// single server, as in Lua). No connection is opened before the first request.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     storage = "redis"
///     [redis]
///     host = "127.0.0.1"
///     port = 6379
///     prefix = "sessions"
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis {
    pub use session_redis::{Mode, NodeAddr, RedisConfig, RedisStorage};
}

/// The `postgres` backend: the reference's `sessions` / `sessions_meta` tables, shared with
/// OpenResty services using lua-resty-session (`storage = "postgres"`, options in a
/// `postgres` block). Pooled; no connection is opened before the first request. Create the
/// tables with [`PostgresStorage::create_schema`](postgres::PostgresStorage::create_schema)
/// or the reference's SQL.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     storage = "postgres"
///     [postgres]
///     host = "127.0.0.1"
///     username = "app"
///     database = "app"
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres {
    pub use session_pg::{PostgresConfig, PostgresStorage};
}

/// The `memcached` backend: records and metadata collections under the reference's keys,
/// shared with OpenResty services using lua-resty-session (`storage = "memcached"`, options
/// in a `memcached` block). Pooled; no connection is opened before the first request.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     storage = "memcached"
///     [memcached]
///     host = "127.0.0.1"
///     port = 11211
///     prefix = "sessions"
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[cfg(feature = "memcached")]
#[cfg_attr(docsrs, doc(cfg(feature = "memcached")))]
pub mod memcached {
    pub use session_memcached::{MemcachedConfig, MemcachedStorage};
}

/// The `mysql` backend (MySQL or MariaDB): the reference's `sessions` / `sessions_meta`
/// tables, shared with OpenResty services using lua-resty-session (`storage = "mysql"` or
/// `"mariadb"`, options in a `mysql` or `mariadb` block). Pooled; no connection is opened
/// before the first request. Create the tables with
/// [`MysqlStorage::create_schema`](mysql::MysqlStorage::create_schema) or the reference's SQL.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     storage = "mariadb"
///     [mariadb]
///     host = "127.0.0.1"
///     username = "app"
///     database = "app"
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub mod mysql {
    pub use session_mysql::{MysqlConfig, MysqlStorage, mysql_async};
}

/// The `dshm` backend (ngx-distributed-shm): records and metadata collections under the
/// reference's keys, shared with OpenResty services using lua-resty-session
/// (`storage = "dshm"`, options in a `dshm` block). Pooled; no connection is opened before
/// the first request.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     storage = "dshm"
///     [dshm]
///     host = "127.0.0.1"
///     port = 4321
///     prefix = "sessions"
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[cfg(feature = "dshm")]
#[cfg_attr(docsrs, doc(cfg(feature = "dshm")))]
pub mod dshm {
    pub use session_dshm::{DshmConfig, DshmStorage};
}
