//! The single-server connection options against real servers: ACL user and legacy password,
//! database, unix socket, TLS (trusted CA, server name, verification), URL form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use session_redis::{RedisConfig, RedisStorage};
use session_storage::{ErrorKind, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::env::var_or;
use session_testsupport::names::unique;

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn auth_url() -> String {
    var_or("SESSION_REDIS_AUTH_URL", "redis://127.0.0.1:6390")
}

fn services_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("session-xtask-redis")
}

async fn round_trip(store: &RedisStorage) {
    let now = now();
    store
        .set(&SetRequest::new("session", K, "[\"v\"]", 60, now))
        .await
        .expect("set");
    assert_eq!(
        store.get("session", K, now).await.expect("get").as_deref(),
        Some("[\"v\"]")
    );
    store.delete("session", K, now, None).await.expect("delete");
}

fn auth_config() -> RedisConfig {
    let mut c = RedisConfig::from_url(&auth_url()).unwrap();
    c.connect_timeout = Some(2_000);
    c.with_prefix(unique("auth"))
}

#[tokio::test]
async fn acl_user_and_password() {
    let c = auth_config().with_auth(Some("sessions"), "sessionspass");
    round_trip(&RedisStorage::connect(c).await.unwrap()).await;
}

#[tokio::test]
async fn legacy_password_and_database() {
    let mut c = auth_config().with_auth(None, common::password());
    c.database = Some(3);
    let store = RedisStorage::connect(c).await.unwrap();
    round_trip(&store).await;
    let mut conn = store.connection().await.unwrap();
    let db: String = session_redis::redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(db.contains(" db=3 "), "{db}");
}

#[tokio::test]
async fn wrong_password_is_a_config_error() {
    let c = auth_config().with_auth(Some("sessions"), "wrong");
    let err = RedisStorage::connect(c).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let c = auth_config();
    let store = RedisStorage::from_config(c).unwrap();
    let err = store.get("session", K, 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "NOAUTH: {err}");
}

#[tokio::test]
async fn unix_socket() {
    let socket = var_or(
        "SESSION_REDIS_SOCKET",
        &format!("unix:{}", services_dir().join("redis.sock").display()),
    );
    let mut c = auth_config().with_auth(None, common::password());
    c.socket = Some(socket);
    c.host = Some("192.0.2.1".into()); // ignored: the socket replaces host and port
    round_trip(&RedisStorage::connect(c).await.unwrap()).await;
}

fn tls_config() -> RedisConfig {
    let ca = var_or(
        "SESSION_REDIS_TLS_CA",
        &services_dir().join("tls/ca.crt").display().to_string(),
    );
    let mut c = RedisConfig::from_url(&var_or("SESSION_REDIS_TLS_URL", "rediss://127.0.0.1:6391"))
        .unwrap()
        .with_prefix(unique("tls"));
    c.ssl_trusted_certificate = Some(ca.into());
    c.connect_timeout = Some(2_000);
    c
}

#[tokio::test]
async fn tls_with_trusted_ca_and_server_name() {
    // Connect to 127.0.0.1 but verify the certificate as `redis.test` (SNI).
    let mut c = tls_config();
    c.server_name = Some("redis.test".into());
    round_trip(&RedisStorage::connect(c).await.unwrap()).await;
    // The certificate also names 127.0.0.1.
    round_trip(&RedisStorage::connect(tls_config()).await.unwrap()).await;
}

#[tokio::test]
async fn tls_verification_fails_closed() {
    // A name the certificate does not carry.
    let mut c = tls_config();
    c.server_name = Some("other.test".into());
    let err = RedisStorage::connect(c).await.unwrap_err();
    assert!(!matches!(err.kind(), ErrorKind::Timeout), "{err}");
    // Without the test CA (web PKI roots only).
    let mut c = tls_config();
    c.ssl_trusted_certificate = None;
    assert!(RedisStorage::connect(c).await.is_err());
    // ssl_verify = false accepts it, as OpenResty does.
    let mut c = tls_config();
    c.ssl_trusted_certificate = None;
    c.ssl_verify = Some(false);
    round_trip(&RedisStorage::connect(c).await.unwrap()).await;
}

#[tokio::test]
async fn missing_ca_file_is_a_config_error() {
    let mut c = tls_config();
    c.ssl_trusted_certificate = Some("/nonexistent/ca.crt".into());
    assert_eq!(
        RedisStorage::from_config(c).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn store_from_url() {
    let url = format!(
        "{}?prefix={}&connect_timeout=2000",
        session_testsupport::env::redis_url(),
        unique("url")
    );
    round_trip(&RedisStorage::from_url(&url).unwrap()).await;
}

#[tokio::test]
async fn lua_style_config_block() {
    // A `redis = { ... }` block as lua-resty-session's tests write it, as JSON.
    let json = format!(
        r#"{{"prefix":"{}","password":"{}","sentinels":[{{"host":"127.0.0.1","port":26379}}],
            "sentinel_password":"{}","connect_timeout":1000,"read_timeout":5000,"send_timeout":5000}}"#,
        unique("lua"),
        common::password(),
        common::sentinel_password(),
    );
    let c: RedisConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(c.mode(), session_redis::Mode::Sentinel);
    round_trip(&RedisStorage::connect(c).await.unwrap()).await;
}
