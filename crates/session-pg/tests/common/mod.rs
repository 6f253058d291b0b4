//! The test database and helpers shared by the integration tests.
//!
//! The server comes from `SESSION_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! A test that cannot reach it fails. Every store gets its own tables, named after the
//! process id and a counter, dropped when the returned guard is dropped, so parallel test
//! binaries never collide.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use session_pg::{PostgresConfig, PostgresStorage};
use session_testsupport::env::postgres_url;
use session_testsupport::names::unique;

/// The configuration of `SESSION_PG_URL` with test timeouts and a small pool.
pub fn base_config() -> PostgresConfig {
    let mut c =
        PostgresConfig::from_url(&postgres_url()).expect("SESSION_PG_URL is a valid postgres URL");
    c.connect_timeout.get_or_insert(2_000);
    c.send_timeout.get_or_insert(5_000);
    c.read_timeout.get_or_insert(5_000);
    c.pool_size.get_or_insert(8);
    c
}

/// Drops a store's tables when dropped (from a thread of its own, so it works inside or
/// outside a runtime).
pub struct Tables {
    pub table: String,
    pub table_meta: String,
    config: PostgresConfig,
}

impl Drop for Tables {
    fn drop(&mut self) {
        let config = self.config.clone();
        let sql = format!(
            "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
            self.table_meta, self.table
        );
        let dropped = session_testsupport::rt::block_on_own_thread(move || async move {
            let store = PostgresStorage::from_config(config).unwrap();
            let client = store.connection().await.unwrap();
            client.batch_execute(&sql).await.unwrap();
        });
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop test tables {}", self.table);
        }
    }
}

/// A store on fresh tables created with `create_schema`; fails loudly when the server
/// cannot be reached.
pub async fn fresh(tag: &str) -> (PostgresStorage, Tables) {
    fresh_with(tag, base_config()).await
}

pub async fn fresh_with(tag: &str, config: PostgresConfig) -> (PostgresStorage, Tables) {
    let table = unique(tag);
    let table_meta = format!("{table}_meta");
    let config = config.with_tables(&table, Some(&table_meta));
    let store = PostgresStorage::from_config(config.clone()).expect("valid test configuration");
    if let Err(e) = store.create_schema().await {
        panic!(
            "PostgreSQL at SESSION_PG_URL={} is not usable: {e} (source: {:?})",
            postgres_url(),
            std::error::Error::source(&e)
        );
    }
    (
        store,
        Tables {
            table,
            table_meta,
            config,
        },
    )
}
