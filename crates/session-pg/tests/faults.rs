//! Unreachable, stalled and misconfigured servers give typed errors within the configured
//! timeouts, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use session_pg::{PostgresConfig, PostgresStorage};
use session_storage::testkit::Keys;
use session_storage::{BoxFuture, ErrorKind, SetRequest, Storage, StorageError};
use session_testsupport::clock::now;
use session_testsupport::env::postgres_url;
use session_testsupport::faults::fails_between;
use session_testsupport::net::{MuteServer, closed_port};

const NAME: &str = "session";

fn all_ops(store: &PostgresStorage) -> Vec<BoxFuture<'_, Result<(), StorageError>>> {
    vec![
        Box::pin(async move { store.set(&SetRequest::new(NAME, "k", "v", 60, 0)).await }),
        Box::pin(async move { store.get(NAME, "k", 0).await.map(drop) }),
        Box::pin(async move { store.delete(NAME, "k", 0, None).await }),
        Box::pin(async move { store.read_metadata(NAME, "a", "s", 0).await.map(drop) }),
        Box::pin(async move { store.ping().await }),
    ]
}

#[tokio::test]
async fn closed_port_is_unavailable_at_once() {
    let config = PostgresConfig::default()
        .with_host("127.0.0.1", closed_port())
        .with_timeouts(2_000, 2_000, 2_000);
    let store = PostgresStorage::from_config(config).unwrap();
    for op in all_ops(&store) {
        let err = fails_between(op, Duration::ZERO, Duration::from_millis(1_500)).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
    }
    let err =
        PostgresStorage::connect(PostgresConfig::default().with_host("127.0.0.1", closed_port()))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_connect_timeout() {
    // Accepts connections and reads nothing: the startup handshake never completes.
    let server = MuteServer::start();
    let config = PostgresConfig::default()
        .with_host("127.0.0.1", server.port())
        .with_timeouts(300, 1_000, 1_000);
    let store = PostgresStorage::from_config(config).unwrap();
    for op in all_ops(&store) {
        let (min, max) = (Duration::from_millis(250), Duration::from_millis(1_200));
        let err = fails_between(op, min, max).await;
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    }
    drop(server);
}

#[tokio::test]
async fn a_statement_blocked_by_a_lock_times_out_and_the_store_recovers() {
    let config = common::base_config().with_timeouts(2_000, 200, 300);
    let (store, _tables) = common::fresh_with("flt", config).await;
    let key = Keys::new().next();
    let t = now();
    store
        .set(&SetRequest::new(NAME, &key, "v", 60, t))
        .await
        .unwrap();

    // Another session holds the row lock.
    let mut locker = store.connection().await.unwrap();
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        &format!("SELECT 1 FROM {} WHERE sid = $1 FOR UPDATE", store.table()),
        &[&key],
    )
    .await
    .unwrap();

    let started = Instant::now();
    let err = store
        .set(&SetRequest::new(NAME, &key, "w", 60, t))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2_000),
        "{took:?}"
    );

    // The server runs the timed-out statement until it notices its client is gone, so once
    // the lock is released it could still write "w" after the "x" below (a timed-out write's
    // outcome is unknown). End it first, so what follows tests the store, not that race.
    let admin = store.connection().await.unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' \
             AND strpos(query, $1) > 0",
            &[&store.table()],
        )
        .await
        .unwrap();
    drop(admin);
    tx.rollback().await.unwrap();
    drop(locker);
    // The timed-out connection was discarded; the next operations work.
    store
        .set(&SetRequest::new(NAME, &key, "x", 60, t))
        .await
        .unwrap();
    assert_eq!(
        store.get(NAME, &key, t).await.unwrap().as_deref(),
        Some("x")
    );
}

#[tokio::test]
async fn unknown_database_or_role_is_a_config_error() {
    let mut config = common::base_config();
    config.database = Some("no_such_database_for_session_pg".into());
    let err = PostgresStorage::connect(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("3D000"), "{err}");

    let mut config = common::base_config();
    config.username = Some("no_such_role_for_session_pg".into());
    let err = PostgresStorage::connect(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[test]
fn bad_options_are_refused_when_building() {
    let mut config = PostgresConfig::default();
    config.ssl = Some(true);
    let built = PostgresStorage::from_config(config);
    if cfg!(feature = "tls") {
        built.unwrap();
    } else {
        let err = built.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("`ssl`"), "{err}");
        let err = PostgresStorage::from_url("postgres://h/db?sslmode=verify-full").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
    let mut config = PostgresConfig::default();
    config.ssl_required = Some(true);
    let err = PostgresStorage::from_config(config).unwrap_err();
    assert!(err.message().contains("`ssl_required`"), "{err}");
    let err = PostgresStorage::from_config(PostgresConfig::default().with_tables("x y", None))
        .unwrap_err();
    assert!(err.message().contains("`table`"), "{err}");
    let err =
        PostgresStorage::from_config(PostgresConfig::default().with_timeouts(0, 1, 1)).unwrap_err();
    assert!(err.message().contains("`connect_timeout`"), "{err}");
}

#[tokio::test]
async fn the_real_server_is_reachable() {
    // Fails loudly (instead of every other test failing obscurely) when SESSION_PG_URL is down.
    let store = PostgresStorage::connect(common::base_config())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} is not reachable: {e}", postgres_url()));
    store.ping().await.unwrap();
}
