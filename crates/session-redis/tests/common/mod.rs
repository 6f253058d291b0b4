//! Test servers and helpers shared by the integration tests.
//!
//! Addresses come from the environment, with defaults matching what `cargo xtask test`
//! starts (see `xtask/src/services.rs`). A test that cannot reach its server fails.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use session_redis::{NodeAddr, RedisConfig, RedisStorage};
use session_testsupport::env::var_or;

fn nodes(list: &str) -> Vec<NodeAddr> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (host, port) = s.rsplit_once(':').expect("host:port");
            NodeAddr::new(host, port.parse().expect("port"))
        })
        .collect()
}

/// `SESSION_REDIS_PASSWORD` (default `password`), the password of the Sentinel and cluster
/// deployments and of the server requiring AUTH.
pub fn password() -> String {
    var_or("SESSION_REDIS_PASSWORD", "password")
}

/// `SESSION_REDIS_SENTINEL_PASSWORD` (default `sentinelpass`), the Sentinels' own password.
pub fn sentinel_password() -> String {
    var_or("SESSION_REDIS_SENTINEL_PASSWORD", "sentinelpass")
}

/// The Sentinels: `SESSION_REDIS_SENTINELS` (default
/// `127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381`).
pub fn sentinels() -> Vec<NodeAddr> {
    nodes(&var_or(
        "SESSION_REDIS_SENTINELS",
        "127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381",
    ))
}

/// `SESSION_REDIS_SENTINEL_MASTER` (default `mymaster`), the master the Sentinels watch.
pub fn sentinel_master() -> String {
    var_or("SESSION_REDIS_SENTINEL_MASTER", "mymaster")
}

/// The machine's single Redis (`SESSION_REDIS_URL`, default `redis://127.0.0.1:6379`).
pub fn single_config() -> RedisConfig {
    let mut c =
        RedisConfig::from_url(&session_testsupport::env::redis_url()).expect("SESSION_REDIS_URL");
    c.connect_timeout.get_or_insert(2_000);
    c.send_timeout.get_or_insert(5_000);
    c.read_timeout.get_or_insert(5_000);
    c
}

/// The Sentinel deployment (`SESSION_REDIS_SENTINELS`, `SESSION_REDIS_SENTINEL_MASTER`,
/// `SESSION_REDIS_PASSWORD`, `SESSION_REDIS_SENTINEL_PASSWORD`).
pub fn sentinel_config() -> RedisConfig {
    let mut c = RedisConfig::default().with_sentinels(sentinel_master(), sentinels());
    let password = password();
    if !password.is_empty() {
        c.password = Some(password);
    }
    let sentinel_password = sentinel_password();
    if !sentinel_password.is_empty() {
        c.sentinel_password = Some(sentinel_password);
    }
    c.with_timeouts(1_000, 5_000, 5_000)
}

/// The cluster (`SESSION_REDIS_CLUSTER_NODES`, `SESSION_REDIS_PASSWORD`).
pub fn cluster_config() -> RedisConfig {
    let mut c = RedisConfig::default().with_nodes(nodes(&var_or(
        "SESSION_REDIS_CLUSTER_NODES",
        "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
    )));
    let password = password();
    if !password.is_empty() {
        c.password = Some(password);
    }
    c.with_timeouts(2_000, 5_000, 5_000)
}

pub fn store(config: RedisConfig) -> RedisStorage {
    RedisStorage::from_config(config).expect("valid redis configuration")
}

/// A raw connection to the Redis server on 127.0.0.1:`port`, authenticated with `password`
/// when it is not empty (for setting up and inspecting a deployment next to the store).
pub async fn raw_connection(
    port: u16,
    password: &str,
) -> session_redis::redis::aio::MultiplexedConnection {
    let url = if password.is_empty() {
        format!("redis://127.0.0.1:{port}")
    } else {
        format!("redis://:{password}@127.0.0.1:{port}")
    };
    session_redis::redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
