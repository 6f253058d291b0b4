//! Server addresses and file paths from the environment.
//!
//! Each function reads one variable and falls back to the address `cargo xtask services start`
//! (see `xtask/src/services.rs`) and the machine's own servers use. A test that then cannot
//! reach the server fails; nothing here skips.

use std::path::PathBuf;

/// The value of the environment variable `name`, or `default` when it is unset (or not
/// valid Unicode).
///
/// ```
/// let v = session_testsupport::env::var_or("SESSION_TESTSUPPORT_SURELY_UNSET", "fallback");
/// assert_eq!(v, "fallback");
/// ```
pub fn var_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The PostgreSQL server: `SESSION_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
///
/// ```
/// assert!(session_testsupport::env::postgres_url().starts_with("postgres"));
/// ```
pub fn postgres_url() -> String {
    var_or("SESSION_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
}

/// The MySQL / MariaDB server: `SESSION_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`.
///
/// ```
/// assert!(session_testsupport::env::mysql_url().starts_with("mysql"));
/// ```
pub fn mysql_url() -> String {
    var_or("SESSION_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
}

/// The single Redis server: `SESSION_REDIS_URL`, default `redis://127.0.0.1:6379`.
///
/// ```
/// assert!(session_testsupport::env::redis_url().starts_with("redis"));
/// ```
pub fn redis_url() -> String {
    var_or("SESSION_REDIS_URL", "redis://127.0.0.1:6379")
}

/// The shared memcached: `SESSION_MEMCACHED_ADDR` (`host:port`), default `127.0.0.1:11211`.
///
/// ```
/// assert!(session_testsupport::env::memcached_addr().contains(':'));
/// ```
pub fn memcached_addr() -> String {
    var_or("SESSION_MEMCACHED_ADDR", "127.0.0.1:11211")
}

/// The shared interop vectors (lua-resty-session 4.1.5): `SESSION_VECTORS`, default
/// `shared/vectors/lua-resty-session-4.1.5.json` beside the repository.
///
/// ```
/// let path = session_testsupport::env::vectors_path();
/// assert!(path.to_string_lossy().ends_with(".json"));
/// ```
pub fn vectors_path() -> PathBuf {
    std::env::var_os("SESSION_VECTORS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/vectors/lua-resty-session-4.1.5.json")
        },
        PathBuf::from,
    )
}
