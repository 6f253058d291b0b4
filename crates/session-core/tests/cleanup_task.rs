//! The scheduled cleanup task (issue 12, part 4) on the file store (a fresh temporary directory
//! per test): it sweeps at once and then every interval, reports what each sweep removed,
//! leaves live records alone, goes on after a failed sweep, and stops promptly when cancelled,
//! even in the middle of a long sleep. One sweep each on PostgreSQL and MariaDB (their
//! `cleanup(now)`, on tables of their own) shows the same task driving the SQL stores.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use session_core::env::FixedClock;
use session_core::maintenance::Cleanup;
use session_core::session_storage::{SetRequest, Storage, StorageError};
use session_file::{FileConfig, FileStorage};

const NOW: i64 = 1_700_000_000;

fn key(i: u8) -> String {
    session_core::session_codec::b64_encode(&[i; 32])
}

/// The file records in `dir` (temporary files included).
fn files(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path()).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_the_file_store_reports_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStorage::from_config(FileConfig::default().with_path(dir.path())).unwrap();
    // Three short records (10 s), one long (1 h), under two cookie names.
    for i in 0..2 {
        store
            .set(&SetRequest::new("session", &key(i), "v", 10, NOW))
            .await
            .unwrap();
    }
    store
        .set(&SetRequest::new("remember", &key(2), "v", 10, NOW))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", &key(3), "v", 3600, NOW))
        .await
        .unwrap();
    assert_eq!(files(&dir), 4);

    let clock = Arc::new(FixedClock::new(u64::try_from(NOW).unwrap() + 60));
    let sweeper = store.clone();
    let (task, handle) = Cleanup::new(Duration::from_secs(1), move |now| {
        let store = sweeper.clone();
        async move { Ok(store.cleanup("session", now).await? + store.cleanup("remember", now).await?) }
    });
    let (tx, rx) = mpsc::channel();
    let running = tokio::spawn(task.with_clock(clock.clone()).run(
        tokio::time::sleep,
        move |report| {
            tx.send((report.at, report.removed())).unwrap();
        },
    ));

    // The first sweep runs at once: the three expired records go, the live one stays.
    let first = tokio::task::spawn_blocking(move || {
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        (first, rx)
    });
    let ((at, removed), rx) = first.await.unwrap();
    assert_eq!((at, removed), (NOW + 60, 3));
    assert_eq!(files(&dir), 1);
    assert!(
        store
            .get("session", &key(3), NOW + 60)
            .await
            .unwrap()
            .is_some()
    );

    // An hour later the next sweep (one interval on) takes the last one.
    clock.set(u64::try_from(NOW).unwrap() + 7200);
    let (rx, second) = tokio::task::spawn_blocking(move || {
        let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        (rx, second)
    })
    .await
    .unwrap();
    assert_eq!(second, (NOW + 7200, 1));
    assert_eq!(files(&dir), 0);

    handle.cancel();
    let totals = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the task stops when cancelled")
        .unwrap();
    assert_eq!(totals.removed, 4);
    assert_eq!(totals.failures, 0);
    assert!(totals.sweeps >= 2);
    // Nothing more is reported once it has stopped.
    while let Ok((_, removed)) = rx.try_recv() {
        assert_eq!(removed, 0);
    }
}

#[tokio::test]
async fn cancel_wakes_a_long_sleep_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStorage::from_config(FileConfig::default().with_path(dir.path())).unwrap();
    let (task, handle) = Cleanup::new(Duration::from_secs(24 * 3600), move |now| {
        let store = store.clone();
        async move { store.cleanup("session", now).await }
    });
    let running = tokio::spawn(task.run(tokio::time::sleep, |_| {}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    handle.cancel();
    let totals = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("a day-long sleep is cut short")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!((totals.sweeps, totals.removed), (1, 0));
}

#[tokio::test]
async fn a_failed_sweep_is_reported_and_the_task_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone");
    std::fs::create_dir(&path).unwrap();
    let store = FileStorage::from_config(FileConfig::default().with_path(&path)).unwrap();
    std::fs::remove_dir(&path).unwrap(); // the directory disappears: sweeps fail
    let (task, handle) = Cleanup::new(Duration::from_secs(1), move |now| {
        let store = store.clone();
        async move { store.cleanup("session", now).await }
    });
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&failures);
    let stopper = handle.clone();
    let running = tokio::spawn(task.run(tokio::time::sleep, move |report| {
        let err: &StorageError = report.result.as_ref().unwrap_err();
        let mut seen = seen.lock().unwrap();
        seen.push(err.to_string());
        if seen.len() == 2 {
            stopper.cancel();
        }
    }));
    let totals = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the task goes on after a failure, then stops")
        .unwrap();
    assert_eq!((totals.sweeps, totals.failures, totals.removed), (2, 2, 0));
    assert_eq!(failures.lock().unwrap().len(), 2);
}

/// Three expired records and one live one in `store`, swept once by a [`Cleanup`] whose clock
/// says an hour has passed; returns what the sweep reported.
async fn one_sweep_on<S, F, Fut>(store: &S, sweep: F) -> (usize, bool)
where
    S: Storage,
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<usize, StorageError>> + Send,
{
    for i in 0..3 {
        store
            .set(&SetRequest::new("session", &key(i), "v", 10, NOW))
            .await
            .unwrap();
    }
    store
        .set(&SetRequest::new("session", &key(3), "v", 7200, NOW))
        .await
        .unwrap();
    let (task, handle) = Cleanup::new(Duration::from_secs(3600), sweep);
    let clock = Arc::new(FixedClock::new(u64::try_from(NOW).unwrap() + 3600));
    let stopper = handle.clone();
    let totals = task
        .with_clock(clock)
        .run(tokio::time::sleep, move |_| stopper.cancel())
        .await;
    assert_eq!((totals.sweeps, totals.failures), (1, 0));
    let live = store
        .get("session", &key(3), NOW + 3600)
        .await
        .unwrap()
        .is_some();
    (usize::try_from(totals.removed).unwrap(), live)
}

/// Needs PostgreSQL: `SESSION_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); runs
/// on tables of its own, dropped after.
#[tokio::test]
async fn sweeps_postgres() {
    use session_pg::{PostgresConfig, PostgresStorage};
    let table = session_testsupport::names::unique("cleanup");
    let config = PostgresConfig::from_url(&session_testsupport::env::postgres_url())
        .unwrap()
        .with_tables(table.clone(), None);
    let store = PostgresStorage::from_config(config).unwrap();
    store
        .create_schema()
        .await
        .expect("a PostgreSQL server at SESSION_PG_URL");
    let sweeper = store.clone();
    let result = one_sweep_on(&store, move |now| {
        let store = sweeper.clone();
        async move { Ok(usize::try_from(store.cleanup(now).await?).unwrap_or(usize::MAX)) }
    })
    .await;
    let client = store.connection().await.unwrap();
    client
        .batch_execute(&format!("DROP TABLE {table}_meta; DROP TABLE {table}"))
        .await
        .unwrap();
    assert_eq!(result, (3, true));
}

/// Needs MariaDB or MySQL: `SESSION_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`);
/// runs on tables of its own, dropped after.
#[tokio::test]
async fn sweeps_mysql() {
    use session_mysql::mysql_async::prelude::Queryable;
    use session_mysql::{MysqlConfig, MysqlStorage};
    let table = session_testsupport::names::unique("cleanup");
    let config = MysqlConfig::from_url(&session_testsupport::env::mysql_url())
        .unwrap()
        .with_tables(table.clone(), None);
    let store = MysqlStorage::from_config(config).unwrap();
    store
        .create_schema()
        .await
        .expect("a MariaDB server at SESSION_MYSQL_URL");
    let sweeper = store.clone();
    let result = one_sweep_on(&store, move |now| {
        let store = sweeper.clone();
        async move { Ok(usize::try_from(store.cleanup(now).await?).unwrap_or(usize::MAX)) }
    })
    .await;
    let mut conn = store.connection().await.unwrap();
    conn.query_drop(format!("DROP TABLE {table}_meta, {table}"))
        .await
        .unwrap();
    assert_eq!(result, (3, true));
}
