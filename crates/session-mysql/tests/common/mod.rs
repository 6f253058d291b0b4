//! The test database and helpers shared by the integration tests.
//!
//! The server comes from `SESSION_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). A
//! test that cannot reach it fails, naming the URL. Every store gets its own uniquely named
//! tables (process id, counter, clock), dropped when its [`Tables`] guard goes, so parallel
//! runs never collide.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};
use session_testsupport::env::mysql_url;
use session_testsupport::names::unique;

/// The server's configuration, with test timeouts.
pub fn config() -> MysqlConfig {
    let mut c =
        MysqlConfig::from_url(&mysql_url()).expect("SESSION_MYSQL_URL is a valid mysql URL");
    c.connect_timeout.get_or_insert(2_000);
    c.send_timeout.get_or_insert(10_000);
    c.read_timeout.get_or_insert(10_000);
    // Small pools, so many test processes in parallel stay under the server's
    // max_connections (151 by default); waiting for a connection is bounded by the
    // connect timeout.
    c.pool_size.get_or_insert(4);
    c
}

/// Drops a store's tables when dropped (on its own thread and runtime, so it works from
/// inside or outside an async context).
#[derive(Debug)]
pub struct Tables {
    pub table: String,
    pub table_meta: String,
}

impl Drop for Tables {
    fn drop(&mut self) {
        let (t, tm) = (self.table.clone(), self.table_meta.clone());
        let dropped = session_testsupport::rt::block_on_own_thread(move || async move {
            // A few attempts: a busy server may refuse a connection for a moment.
            let mut last = None;
            for _ in 0..10 {
                let store = MysqlStorage::from_config(config()).unwrap();
                let done = match store.connection().await {
                    Ok(mut conn) => conn
                        .query_drop(format!("DROP TABLE IF EXISTS `{tm}`, `{t}`"))
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                let _ = store.disconnect().await;
                match done {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            Err(last.unwrap_or_default())
        });
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) if !std::thread::panicking() => {
                panic!(
                    "could not drop test tables {}/{}: {e}",
                    self.table, self.table_meta
                )
            }
            Err(_) if !std::thread::panicking() => {
                panic!(
                    "could not drop test tables {}/{}",
                    self.table, self.table_meta
                )
            }
            _ => {}
        }
    }
}

/// A store on fresh tables created with the given table and connection character set
/// (`ascii` is the reference's schema and default).
pub async fn fresh_with(tag: &str, charset: &str, config: MysqlConfig) -> (MysqlStorage, Tables) {
    let table = unique(tag);
    let config = config
        .with_tables(table.clone(), None)
        .with_charset(charset);
    let store = MysqlStorage::from_config(config).expect("valid mysql configuration");
    let guard = Tables {
        table: table.clone(),
        table_meta: format!("{table}_meta"),
    };
    if let Err(e) = store.create_schema_with_charset(charset).await {
        panic!(
            "cannot create test tables on the MySQL/MariaDB server at {} \
             (set SESSION_MYSQL_URL): {e} (source: {:?})",
            mysql_url(),
            std::error::Error::source(&e)
        );
    }
    (store, guard)
}

/// A store on fresh reference-schema tables (`CHARACTER SET ascii`, connection `ascii`).
pub async fn fresh(tag: &str) -> (MysqlStorage, Tables) {
    fresh_with(tag, "ascii", config()).await
}

/// A 43-character storage key, unique per call.
pub fn key(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let s = format!(
        "{tag}{}x{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    format!("{s:_<43}")[..43].to_owned()
}
