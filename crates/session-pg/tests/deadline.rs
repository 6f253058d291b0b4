//! The per-operation deadline (`operation_timeout`, docs/failure-behaviour.md): a hung
//! PostgreSQL costs an operation the deadline, not the 60 s Lua socket timeouts, and the same
//! store recovers by itself once the server answers again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use session_pg::{PostgresConfig, PostgresStorage};
use session_storage::{ErrorKind, SetRequest};
use session_testsupport::clock::now;
use session_testsupport::faults::{deadline_then_recovery, get_fails_within};
use session_testsupport::net::{MuteServer, SwitchProxy};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

#[tokio::test]
async fn hung_server_fails_within_the_deadline_then_the_pool_recovers() {
    let upstream = common::base_config();
    let proxy = SwitchProxy::start(
        upstream.host.as_deref().unwrap_or("127.0.0.1"),
        upstream.port.unwrap_or(5432),
    );
    let mut config = upstream.with_host("127.0.0.1", proxy.port());
    // The Lua socket timeouts keep their 60 s defaults: the deadline is what cuts.
    (
        config.connect_timeout,
        config.send_timeout,
        config.read_timeout,
    ) = (None, None, None);
    // `_tables` is dropped before `proxy`: the tables go while the proxy still forwards.
    let (store, _tables) =
        common::fresh_with("deadline", config.with_operation_timeout(1_000)).await;
    assert_eq!(store.operation_timeout(), Duration::from_secs(1));
    let save = SetRequest::new("session", K, "[\"v\"]", 60, now());
    deadline_then_recovery(&store, &proxy, Duration::from_secs(1), &save).await;
}

#[tokio::test]
async fn default_options_never_hang_on_a_mute_server() {
    let mute = MuteServer::start();
    let store =
        PostgresStorage::from_config(PostgresConfig::default().with_host("127.0.0.1", mute.port()))
            .unwrap();
    assert_eq!(store.operation_timeout(), Duration::from_secs(5));
    let err = get_fails_within(&store, K, Duration::from_secs(6)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.message().contains("operation_timeout (5000 ms)"),
        "{err}"
    );
}
