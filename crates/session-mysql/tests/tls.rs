//! TLS (`ssl = true`) against a private MariaDB started with a test CA, and against the
//! machine's server, which has no TLS.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/tls_server.rs"]
mod tls_server;

use std::time::{Duration, Instant};

use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};
use session_storage::{ErrorKind, SetRequest, Storage, StorageError};
use session_testsupport::clock::now;
use session_testsupport::names::unique;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// The cipher of the store's own (pooled) connection, as the server reports it.
async fn server_cipher(store: &MysqlStorage) -> String {
    let mut conn = store.connection().await.unwrap();
    let row: Option<(String, String)> = conn
        .query_first("SHOW STATUS LIKE 'Ssl_cipher'")
        .await
        .unwrap();
    row.map(|(_, cipher)| cipher).unwrap_or_default()
}

fn tables(config: MysqlConfig, tag: &str) -> MysqlConfig {
    config.with_tables(unique(tag), None)
}

/// Set, get and delete over a connection the server says is encrypted.
async fn round_trip(config: MysqlConfig) {
    let store = MysqlStorage::connect(config).await.unwrap();
    let cipher = server_cipher(&store).await;
    assert!(!cipher.is_empty(), "the connection is not encrypted");
    store.create_schema().await.unwrap();
    let now = now();
    store
        .set(&SetRequest::new("session", KEY, "[\"tls\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", KEY, now).await.unwrap().as_deref(),
        Some("[\"tls\"]")
    );
    store.delete("session", KEY, now, None).await.unwrap();
    assert_eq!(store.get("session", KEY, now).await.unwrap(), None);
    store.disconnect().await.unwrap();
}

async fn connect_error(config: MysqlConfig) -> StorageError {
    let began = Instant::now();
    let err = MysqlStorage::connect(config).await.unwrap_err();
    eprintln!("{err}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "failing took {:?}",
        began.elapsed()
    );
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverified_tls_encrypts_set_get_delete() {
    let server = tls_server::server();
    round_trip(tables(server.config().with_ssl(false), "tls_any")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_tls_with_the_test_ca_and_server_name() {
    let server = tls_server::server();
    let config = server
        .config()
        .with_ssl(true)
        .with_trusted_certificate(&server.ca)
        .with_server_name("localhost");
    round_trip(tables(config, "tls_ca")).await;
    // The host, 127.0.0.1, is also in the certificate (an IP address SAN).
    let config = server
        .config()
        .with_ssl(true)
        .with_trusted_certificate(&server.ca);
    round_trip(tables(config, "tls_ip")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pki_roots_refuse_the_test_certificate() {
    let server = tls_server::server();
    // `ssl = true` alone verifies (the default), against the web PKI roots only.
    let mut default_verify = server.config();
    default_verify.ssl = Some(true);
    let named = server.config().with_ssl(true).with_server_name("localhost");
    for config in [default_verify, named] {
        assert_certificate_refused(config).await;
    }
}

/// Connecting with `config` fails with a `Config` error saying the certificate was refused.
async fn assert_certificate_refused(config: MysqlConfig) {
    let err = connect_error(config).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.message().contains("certificate could not be verified"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_name_is_refused() {
    let server = tls_server::server();
    let config = server
        .config()
        .with_ssl(true)
        .with_trusted_certificate(&server.ca)
        .with_server_name("db.example.com");
    assert_certificate_refused(config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_tls_is_a_config_error() {
    let mut config = common::config().with_ssl(false);
    config.connect_timeout = Some(3_000);
    let err = connect_error(config).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("does not offer TLS"), "{err}");
}

#[test]
fn an_unreadable_ca_file_is_a_config_error() {
    let config = MysqlConfig::default()
        .with_ssl(true)
        .with_trusted_certificate("/nonexistent/ca.pem");
    let err = MysqlStorage::from_config(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("ssl_trusted_certificate"), "{err}");
}
