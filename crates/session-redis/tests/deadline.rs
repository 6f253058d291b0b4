//! The per-operation deadline (`operation_timeout`, docs/failure-behaviour.md): a hung Redis
//! (single, Sentinel or Cluster) costs an operation the deadline, not the Lua socket
//! timeouts added up over retries and redirections, and the same store recovers by itself
//! once the server answers again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use session_redis::{NodeAddr, RedisConfig, RedisStorage};
use session_storage::{ErrorKind, SetRequest};
use session_testsupport::clock::now;
use session_testsupport::faults::{deadline_then_recovery, get_fails_within};
use session_testsupport::names::unique;
use session_testsupport::net::{MuteServer, SwitchProxy};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

#[tokio::test]
async fn hung_server_fails_within_the_deadline_then_the_pool_recovers() {
    let upstream = common::single_config();
    let proxy = SwitchProxy::start(
        upstream.host.as_deref().unwrap_or("127.0.0.1"),
        upstream.port.unwrap_or(6379),
    );
    let mut config = upstream.with_host("127.0.0.1", proxy.port());
    // The Lua socket timeouts are the single server's 60 s defaults: the deadline cuts.
    (
        config.connect_timeout,
        config.send_timeout,
        config.read_timeout,
    ) = (None, None, None);
    let store = RedisStorage::from_config(
        config
            .with_operation_timeout(1_000)
            .with_prefix(unique("deadline")),
    )
    .unwrap();
    assert_eq!(store.operation_timeout(), Duration::from_secs(1));
    let save = SetRequest::new("session", K, "[\"v\"]", 60, now());
    deadline_then_recovery(&store, &proxy, Duration::from_secs(1), &save).await;
}

#[tokio::test]
async fn default_options_never_hang_on_a_mute_server() {
    let mute = MuteServer::start();
    let store =
        RedisStorage::from_config(RedisConfig::default().with_host("127.0.0.1", mute.port()))
            .unwrap();
    assert_eq!(store.operation_timeout(), Duration::from_secs(5));
    let err = get_fails_within(&store, K, Duration::from_secs(6)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.message().contains("operation_timeout (5000 ms)"),
        "{err}"
    );
}

/// Long Lua timeouts on every step, a mute sentinel: without the deadline the sentinel
/// query alone could wait a minute.
#[tokio::test]
async fn mute_sentinel_fails_within_the_deadline() {
    let mute = MuteServer::start();
    let config = RedisConfig::default()
        .with_sentinels("mymaster", vec![NodeAddr::new("127.0.0.1", mute.port())])
        .with_timeouts(60_000, 60_000, 60_000)
        .with_operation_timeout(1_000);
    let store = RedisStorage::from_config(config).unwrap();
    let err = get_fails_within(&store, K, Duration::from_secs(2)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

/// Long Lua timeouts, a mute cluster node: connection attempts and redirections are cut
/// by the one deadline.
#[tokio::test]
async fn mute_cluster_node_fails_within_the_deadline() {
    let mute = MuteServer::start();
    let config = RedisConfig::default()
        .with_nodes(vec![NodeAddr::new("127.0.0.1", mute.port())])
        .with_timeouts(60_000, 60_000, 60_000)
        .with_operation_timeout(1_000);
    let store = RedisStorage::from_config(config).unwrap();
    let err = get_fails_within(&store, K, Duration::from_secs(2)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}
