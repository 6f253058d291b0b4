//! The `socket` option: a Unix socket instead of host and port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use session_mysql::{MysqlConfig, MysqlStorage};
use session_storage::{ErrorKind, SetRequest, Storage};
use session_testsupport::clock::now;

#[tokio::test]
async fn a_missing_socket_is_unavailable_at_once() {
    let config = MysqlConfig::default()
        .with_socket("/nonexistent/session-mysql-test.sock")
        .with_timeouts(1_000, 1_000, 1_000);
    let store = MysqlStorage::from_config(config).unwrap();
    let started = Instant::now();
    let err = store
        .get("session", &common::key("s"), now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("unix:/nonexistent"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Through the server's socket: `SESSION_MYSQL_SOCKET` (default `/run/mysqld/mysqld.sock`,
/// Debian's). A server without a socket on this machine (one in a container) fails this
/// test, unless `SESSION_MYSQL_SOCKET=none` says there is none to test.
#[tokio::test]
async fn the_store_works_over_the_servers_unix_socket() {
    let path =
        std::env::var("SESSION_MYSQL_SOCKET").unwrap_or_else(|_| "/run/mysqld/mysqld.sock".into());
    if path == "none" {
        eprintln!("SESSION_MYSQL_SOCKET=none: the server has no unix socket here, not tested");
        return;
    }
    assert!(
        std::path::Path::new(&path).exists(),
        "no MariaDB socket at {path}: set SESSION_MYSQL_SOCKET to the server's socket \
         (or to `none` when the server has no socket on this machine)"
    );
    let config = common::config().with_socket(path);
    let (store, _tables) = common::fresh_with("sock", "ascii", config).await;
    let (k, now) = (common::key("sock"), now());
    store
        .set(&SetRequest::new("session", &k, "[\"x\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", &k, now).await.unwrap().as_deref(),
        Some("[\"x\"]")
    );
}
