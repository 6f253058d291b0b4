//! Failures give typed errors within the configured timeouts, never a hang or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{fresh, key};
use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage, StorageError};
use session_testsupport::clock::now;
use session_testsupport::faults::fails_between;
use session_testsupport::names::unique;
use session_testsupport::net::{MuteServer, closed_port};

/// Runs every operation once (the storage ones, then a ping) and returns their errors.
async fn all_ops_fail(store: &MysqlStorage) -> Vec<StorageError> {
    let mut errors = storage_ops_fail(store).await;
    errors.push(store.ping().await.unwrap_err());
    errors
}

/// Runs every storage operation once and returns their errors.
async fn storage_ops_fail(store: &MysqlStorage) -> Vec<StorageError> {
    let k = key("f");
    let m = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let now = now();
    vec![
        store
            .set(&SetRequest::new("session", &k, "v", 60, now))
            .await
            .unwrap_err(),
        store
            .set(
                &SetRequest::new("session", &k, "v", 60, now)
                    .with_old_key(&key("o"), 10)
                    .with_metadata(&m),
            )
            .await
            .unwrap_err(),
        store.get("session", &k, now).await.unwrap_err(),
        store
            .delete("session", &k, now, Some(&m))
            .await
            .unwrap_err(),
        store
            .read_metadata("session", "YQ", "cw", now)
            .await
            .unwrap_err(),
    ]
}

#[tokio::test]
async fn a_closed_port_is_unavailable_at_once() {
    let config = MysqlConfig::default()
        .with_host("127.0.0.1", closed_port())
        .with_timeouts(1_000, 1_000, 1_000);
    let store = MysqlStorage::from_config(config).unwrap();
    let started = Instant::now();
    for err in all_ops_fail(&store).await {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
        assert!(err.message().contains("127.0.0.1:"), "{err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    // `connect` reports the same.
    let err = MysqlStorage::connect(
        MysqlConfig::default()
            .with_host("127.0.0.1", closed_port())
            .with_timeouts(1_000, 1_000, 1_000),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_connect_timeout() {
    // Accepts TCP connections and never sends the MySQL handshake.
    let server = MuteServer::start();
    let config = MysqlConfig::default()
        .with_host("127.0.0.1", server.port())
        .with_timeouts(300, 1_000, 1_000);
    let store = MysqlStorage::from_config(config).unwrap();
    for _ in 0..2 {
        let (min, max) = (Duration::from_millis(250), Duration::from_millis(1_500));
        let err = fails_between(store.get("session", &key("s"), now()), min, max).await;
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.message().contains("connect_timeout"), "{err}");
    }
    drop(server);
}

#[tokio::test]
async fn a_statement_stuck_on_a_lock_times_out_within_send_plus_read_timeout() {
    let (store, tables) = fresh("lock").await;
    let (k, now) = (key("l"), now());
    store
        .set(&SetRequest::new("session", &k, "v", 60, now))
        .await
        .unwrap();
    // A second store on the same tables with short statement timeouts.
    let quick = MysqlStorage::from_config(
        common::config()
            .with_tables(tables.table.clone(), None)
            .with_timeouts(2_000, 200, 300),
    )
    .unwrap();
    let mut locker = store.connection().await.unwrap();
    locker.query_drop("BEGIN").await.unwrap();
    let _: Vec<String> = locker
        .exec(
            format!(
                "SELECT sid FROM `{}` WHERE sid = ? FOR UPDATE",
                tables.table
            ),
            (&k,),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let err = quick
        .set(&SetRequest::new("session", &k, "w", 60, now))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.message().contains("send_timeout + read_timeout"),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2_000),
        "took {took:?}"
    );
    locker.query_drop("ROLLBACK").await.unwrap();
    drop(locker);
    // The store recovers once the lock is gone.
    quick
        .set(&SetRequest::new("session", &k, "w", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", &k, now).await.unwrap().as_deref(),
        Some("w")
    );
}

#[tokio::test]
async fn refused_credentials_unknown_database_and_missing_tables_are_config_errors() {
    let mut bad_user = common::config();
    bad_user.username = Some("no_such_user_session_mysql".into());
    bad_user.password = Some("wrong".into());
    let err = MysqlStorage::connect(bad_user).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        !format!("{err:?}").contains("wrong\""),
        "no password in errors"
    );

    let bad_db = common::config().with_database("no_such_database_session_mysql");
    let err = MysqlStorage::connect(bad_db).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");

    let no_tables =
        MysqlStorage::from_config(common::config().with_tables(unique("none"), None)).unwrap();
    no_tables.ping().await.unwrap();
    for err in storage_ops_fail(&no_tables).await {
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains("1146"), "{err}");
    }
}

#[tokio::test]
async fn ssl_and_invalid_options_are_refused_before_any_io() {
    // `ssl = true` needs the `tls` feature (tests/tls.rs covers TLS itself)...
    let tls = MysqlStorage::from_url("mysql://root@127.0.0.1/test?ssl=true");
    assert_eq!(tls.is_ok(), cfg!(feature = "tls"));
    if let Err(err) = tls {
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("`tls` feature"), "{err}");
    }
    // ... and host and port: it is refused over a Unix socket.
    let err = MysqlStorage::from_url("mysql+unix:///run/mysqld/mysqld.sock?ssl=true").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`ssl`"), "{err}");
    let err = MysqlStorage::from_url("mysql://root@127.0.0.1/test?table=a%20b").unwrap_err();
    assert!(err.message().contains("`table`"), "{err}");
    let err = MysqlStorage::from_url("mysql://root@127.0.0.1/test?read_timeout=0").unwrap_err();
    assert!(err.message().contains("read_timeout"), "{err}");
}
