//! Every store the route suites run on, configured as an application would (`storage =
//! "<kind>"` plus its block), shared by the axum suite (`http.rs`) and the actix-web one
//! (`actix.rs`) so both front doors cover the same list.
//!
//! Real servers (addresses from `session_testsupport::env` and the Sentinel/cluster variables
//! of session-redis's tests, defaults matching `cargo xtask services start`): a store that
//! cannot be reached fails the test, nothing skips. DSHM runs on the in-process test server
//! session-dshm's tests use (the real Java server is not available here).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use resty_session::Config;
use session_testsupport::env;
use session_testsupport::names::unique;

/// The in-process DSHM server (written from docs/storage.md §8).
#[path = "../../../session-dshm/tests/support/server.rs"]
mod dshm_server;

/// The Sentinel and cluster deployments `cargo xtask services start` runs, reached as
/// session-redis's tests reach them (`SESSION_REDIS_SENTINELS`, `SESSION_REDIS_CLUSTER_NODES`,
/// passwords).
#[path = "../../../session-redis/tests/common/mod.rs"]
mod redis_common;

/// One store of the route suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// The default: the whole session in the cookie.
    Cookie,
    Shm,
    /// A temporary directory, removed after.
    File,
    /// The single Redis (`SESSION_REDIS_URL`, default `redis://127.0.0.1:6379`).
    Redis,
    /// The Sentinel deployment (`cargo xtask services start`).
    RedisSentinel,
    /// The Redis cluster (`cargo xtask services start`).
    RedisCluster,
    /// `SESSION_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`): tables of the
    /// test's own, created with the reference's schema and dropped after.
    Postgres,
    /// MariaDB or MySQL at `SESSION_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`):
    /// tables of the test's own, created with the reference's schema and dropped after.
    Mysql,
    /// `SESSION_MEMCACHED_ADDR` (default `127.0.0.1:11211`, which `cargo xtask test` starts).
    Memcached,
    /// The in-process DSHM test server.
    Dshm,
}

/// What a store holds on to until the suite is done with it.
enum Held {
    Nothing,
    Dir(tempfile::TempDir),
    Dshm(dshm_server::TestServer),
    Postgres(resty_session::postgres::PostgresStorage, String),
    Mysql(resty_session::mysql::MysqlStorage, String),
}

/// A store ready for a suite: its configuration, and what to clean up after.
pub struct Prepared {
    /// The application's configuration: `base("storage = …")` plus the store's options.
    pub config: Config,
    /// Whether the cookie holds only the header (the record is in the store).
    pub server_side: bool,
    held: Held,
}

impl Store {
    /// Configure the store for a suite: `base` turns configuration text into a `Config`
    /// (each suite adds its own secret), `tag` names its zone, key prefix or tables.
    pub async fn prepare(self, base: fn(&str) -> Config, tag: &str) -> Prepared {
        let pid = std::process::id();
        let with_block = |backend: &str, options: serde_json::Value| {
            let mut config = base(&format!("storage = \"{backend}\""));
            config.backends.insert(backend.into(), options);
            config
        };
        let (config, held) = match self {
            Self::Cookie => (base(""), Held::Nothing),
            Self::Shm => (
                base(&format!("storage = \"shm\"\n[shm]\nzone = \"{tag}\"")),
                Held::Nothing,
            ),
            Self::File => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().to_str().unwrap().to_owned();
                (
                    base(&format!("storage = \"file\"\n[file]\npath = {path:?}")),
                    Held::Dir(dir),
                )
            }
            Self::Redis => (
                base(&format!(
                    "storage = \"redis\"\n[redis]\nprefix = \"{tag}-{pid}\"\n{}",
                    redis_block(&env::redis_url())
                )),
                Held::Nothing,
            ),
            Self::RedisSentinel | Self::RedisCluster => {
                let mut options = if self == Self::RedisSentinel {
                    redis_common::sentinel_config()
                } else {
                    redis_common::cluster_config()
                };
                options.prefix = Some(unique(&tag.replace('-', "_")));
                (
                    with_block("redis", serde_json::to_value(&options).unwrap()),
                    Held::Nothing,
                )
            }
            Self::Postgres => {
                let table = unique(&tag.replace('-', "_"));
                let options =
                    resty_session::postgres::PostgresConfig::from_url(&env::postgres_url())
                        .unwrap()
                        .with_tables(table.clone(), None);
                let store =
                    resty_session::postgres::PostgresStorage::from_config(options.clone()).unwrap();
                store
                    .create_schema()
                    .await
                    .expect("a PostgreSQL server at SESSION_PG_URL");
                (
                    with_block("postgres", serde_json::to_value(&options).unwrap()),
                    Held::Postgres(store, table),
                )
            }
            Self::Mysql => {
                let table = unique(&tag.replace('-', "_"));
                let options = resty_session::mysql::MysqlConfig::from_url(&env::mysql_url())
                    .unwrap()
                    .with_tables(table.clone(), None);
                let store =
                    resty_session::mysql::MysqlStorage::from_config(options.clone()).unwrap();
                store
                    .create_schema()
                    .await
                    .expect("a MariaDB server at SESSION_MYSQL_URL");
                (
                    with_block("mysql", serde_json::to_value(&options).unwrap()),
                    Held::Mysql(store, table),
                )
            }
            Self::Memcached => {
                let options = resty_session::memcached::MemcachedConfig::from_url(&format!(
                    "memcache://{}",
                    env::memcached_addr()
                ))
                .unwrap()
                .with_prefix(format!("{tag}-{pid}"));
                (
                    with_block("memcached", serde_json::to_value(&options).unwrap()),
                    Held::Nothing,
                )
            }
            Self::Dshm => {
                let server = dshm_server::TestServer::start();
                let options = resty_session::dshm::DshmConfig::from_url(&format!(
                    "dshm://127.0.0.1:{}?prefix={tag}",
                    server.port()
                ))
                .unwrap();
                (
                    with_block("dshm", serde_json::to_value(&options).unwrap()),
                    Held::Dshm(server),
                )
            }
        };
        Prepared {
            config,
            server_side: self != Self::Cookie,
            held,
        }
    }
}

impl Prepared {
    /// Drop the suite's SQL tables; remove its directory; stop its DSHM server.
    pub async fn finish(self) {
        match self.held {
            Held::Nothing | Held::Dir(_) | Held::Dshm(_) => {}
            Held::Postgres(store, table) => {
                let client = store.connection().await.unwrap();
                client
                    .batch_execute(&format!("DROP TABLE {table}_meta; DROP TABLE {table}"))
                    .await
                    .unwrap();
            }
            Held::Mysql(store, table) => {
                let mut conn = store.connection().await.unwrap();
                resty_session::mysql::mysql_async::prelude::Queryable::query_drop(
                    &mut conn,
                    format!("DROP TABLE {table}_meta, {table}"),
                )
                .await
                .unwrap();
            }
        }
    }
}

/// `host`/`port` lines for a `redis://[user:pass@]host:port[/db]` URL.
pub fn redis_block(url: &str) -> String {
    let rest = url.trim_start_matches("redis://");
    let rest = rest.rsplit('@').next().unwrap();
    let hostport = rest.split('/').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    format!("host = \"{host}\"\nport = {port}")
}

/// One `#[tokio::test]` per store, named `route_suite_on_<store>`, each running
/// `$suite(config, server_side)` on the store prepared with `$base` and `$tag`.
macro_rules! route_suites {
    ($suite:ident, $base:path, $tag:literal) => {
        $crate::stores::route_suites!(@each $suite, $base, $tag,
            route_suite_on_cookie_storage: Cookie,
            route_suite_on_shm: Shm,
            route_suite_on_file: File,
            route_suite_on_redis: Redis,
            route_suite_on_redis_sentinel: RedisSentinel,
            route_suite_on_redis_cluster: RedisCluster,
            route_suite_on_postgres: Postgres,
            route_suite_on_mysql: Mysql,
            route_suite_on_memcached: Memcached,
            route_suite_on_dshm: Dshm,
        );
    };
    (@each $suite:ident, $base:path, $tag:literal, $($name:ident: $store:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let store = $crate::stores::Store::$store.prepare($base, $tag).await;
            $suite(store.config.clone(), store.server_side).await;
            store.finish().await;
        }
    )*};
}
pub(crate) use route_suites;
