//! A single-server store's operations share one multiplexed connection per worker thread
//! (commands of concurrent requests leave in one write), replaced after `keepalive_timeout`
//! of idleness, while raw connections still come from the pool. Counted on a redis-server of
//! the test's own, whose `total_connections_received` no other client moves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use session_redis::{RedisConfig, RedisStorage, redis};
use session_storage::{SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::net::{ServerProcess, closed_port};

/// A redis-server on `port`, killed on drop.
struct Server {
    process: ServerProcess,
    dir: std::path::PathBuf,
}

impl Server {
    fn start(port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("session-redis-shared-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null());
        let process = ServerProcess::start(
            command,
            port,
            "redis-server must be installed (cargo xtask test installs it)",
        );
        Self { process, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connections the server has accepted so far (one more: the connection asking).
async fn accepted(port: u16) -> u64 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .expect("INFO stats has total_connections_received")
        .trim()
        .parse()
        .unwrap()
}

fn key(i: usize) -> String {
    format!("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd{i:03}")
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_operations_share_one_connection() {
    let port = closed_port();
    let _server = Server::start(port);
    let config = RedisConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(2_000, 2_000, 2_000)
        .with_pool_size(30);
    let store = RedisStorage::from_config(config).unwrap();
    let before = accepted(port).await;

    let now = now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.spawn(async move {
            let k = key(i);
            let value = format!("[\"{i}\"]");
            store
                .set(&SetRequest::new("session", &k, &value, 60, now))
                .await
                .unwrap();
            let got = store.get("session", &k, now).await.unwrap();
            assert_eq!(got.as_deref(), Some(value.as_str()));
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    // One connection for 128 operations of 64 concurrent tasks (+ the INFO connection).
    assert_eq!(accepted(port).await - before, 2);
    assert!(
        format!("{store:?}").contains("shared_connections: Some(1)"),
        "{store:?}"
    );

    // A raw connection is the pool's, not the shared one.
    let mut raw = store.connection().await.unwrap();
    let _: () = redis::cmd("PING").query_async(&mut raw).await.unwrap();
    drop(raw);
    assert_eq!(accepted(port).await - before, 4);
}

#[tokio::test(flavor = "current_thread")]
async fn an_idle_shared_connection_is_replaced_after_keepalive_timeout() {
    let port = closed_port();
    let _server = Server::start(port);
    let mut config = RedisConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(2_000, 2_000, 2_000);
    config.keepalive_timeout = Some(100);
    let store = RedisStorage::from_config(config).unwrap();
    let before = accepted(port).await;
    let now = now();
    assert_eq!(store.get("session", &key(0), now).await.unwrap(), None);
    assert_eq!(store.get("session", &key(0), now).await.unwrap(), None);
    assert_eq!(accepted(port).await - before, 2, "reused within keepalive");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.get("session", &key(0), now).await.unwrap(), None);
    assert_eq!(accepted(port).await - before, 4, "replaced after keepalive");
}
