//! TLS against the real PostgreSQL and against a fake server that declines TLS.
//!
//! `SESSION_PG_TLS` says what the server at `SESSION_PG_URL` offers:
//! - unset or `on`: TLS with Debian's self-signed snakeoil certificate, trusted through
//!   `/etc/ssl/certs/ssl-cert-snakeoil.pem`;
//! - a path: TLS with a certificate issued by the CA(s) in that PEM file;
//! - `none`: no TLS (GitHub's service container); the tests that need it print that they
//!   did not run.
//!
//! The certificate's name is `SESSION_PG_TLS_SERVER_NAME`, else the first of the machine's
//! host name and `localhost` that the certificate is valid for. When the server should offer
//! TLS and does not, the tests fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg_attr(not(feature = "tls"), allow(dead_code, unused_imports))]

mod common;

use session_pg::{PostgresConfig, PostgresStorage};
use session_storage::{ErrorKind, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::env::postgres_url;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The trusted CA file of the server's certificate, or `None` when `SESSION_PG_TLS=none`.
fn server_ca() -> Option<String> {
    match std::env::var("SESSION_PG_TLS").as_deref() {
        Err(_) | Ok("" | "on" | "1" | "true") => Some(SNAKEOIL.to_owned()),
        Ok("none") => None,
        Ok(path) => Some(path.to_owned()),
    }
}

/// The CA file, or `None` after saying why the test does not run.
fn ca_or_skip(test: &str) -> Option<String> {
    let ca = server_ca();
    if ca.is_none() {
        eprintln!("{test}: NOT TESTED: SESSION_PG_TLS=none says the server offers no TLS");
    }
    ca
}

/// Whether the connection of `client` is encrypted, as the server sees it.
async fn server_says_ssl(store: &PostgresStorage) -> bool {
    let client = store.connection().await.unwrap();
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    row.get(0)
}

/// `ssl_required = true`: a server without TLS fails here, with a message that says what to do.
fn tls_config(verify: bool) -> PostgresConfig {
    common::base_config().with_ssl(true, verify)
}

async fn expect_tls(store: &PostgresStorage) {
    if let Err(e) = store.ping().await {
        assert!(
            !e.message().contains("does not support TLS"),
            "the server at {} offers no TLS; set SESSION_PG_TLS=none if that is expected: {e}",
            postgres_url()
        );
        panic!(
            "TLS connection failed: {e} ({:?})",
            std::error::Error::source(&e)
        );
    }
}

/// The name the server certificate is valid for (see the module docs).
async fn server_name(ca: &str) -> String {
    if let Ok(name) = std::env::var("SESSION_PG_TLS_SERVER_NAME") {
        return name;
    }
    let hostname = std::process::Command::new("hostname")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut tried = Vec::new();
    for name in hostname.into_iter().chain(["localhost".to_owned()]) {
        let config = tls_config(true)
            .with_trusted_certificate(ca)
            .with_server_name(&name);
        match PostgresStorage::from_config(config).unwrap().ping().await {
            Ok(()) => return name,
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    panic!(
        "the certificate of {} is valid for none of the names tried (set SESSION_PG_TLS_SERVER_NAME): {tried:#?}",
        postgres_url()
    );
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn set_get_delete_over_tls_without_verification() {
    if ca_or_skip("set_get_delete_over_tls_without_verification").is_none() {
        return;
    }
    let config = tls_config(false);
    let (store, _tables) = common::fresh_with("tls", config).await;
    expect_tls(&store).await;
    assert!(
        server_says_ssl(&store).await,
        "the connection is not encrypted"
    );
    let now = now();
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    store
        .set(&SetRequest::new("session", key, "[\"over tls\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", key, now).await.unwrap().as_deref(),
        Some("[\"over tls\"]")
    );
    store.delete("session", key, now, None).await.unwrap();
    assert_eq!(store.get("session", key, now).await.unwrap(), None);
    assert!(server_says_ssl(&store).await);
}

#[tokio::test]
async fn plain_text_when_ssl_is_off() {
    let store = PostgresStorage::from_config(common::base_config()).unwrap();
    assert!(
        !server_says_ssl(&store).await,
        "ssl is off but the connection is encrypted"
    );
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn verified_with_the_trusted_ca_and_the_right_name() {
    let Some(ca) = ca_or_skip("verified_with_the_trusted_ca_and_the_right_name") else {
        return;
    };
    let name = server_name(&ca).await;
    let config = tls_config(true)
        .with_trusted_certificate(&ca)
        .with_server_name(&name);
    let store = PostgresStorage::connect(config).await.unwrap();
    assert!(server_says_ssl(&store).await);
    // The same through a URL with libpq's option names.
    let mut config = PostgresConfig::from_url(&format!(
        "postgres://postgres@127.0.0.1/test?sslmode=verify-full&sslrootcert={ca}&server_name={name}"
    ))
    .unwrap();
    let base = common::base_config();
    config.host = base.host;
    config.port = base.port;
    config.username = base.username;
    config.password = base.password;
    config.database = base.database;
    let store = PostgresStorage::connect(config).await.unwrap();
    assert!(server_says_ssl(&store).await);
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn the_web_pki_roots_refuse_a_self_signed_certificate() {
    let Some(ca) = ca_or_skip("the_web_pki_roots_refuse_a_self_signed_certificate") else {
        return;
    };
    if ca != SNAKEOIL {
        eprintln!("NOT TESTED: SESSION_PG_TLS names a CA that might be a web PKI root");
        return;
    }
    let name = server_name(&ca).await;
    let store = PostgresStorage::from_config(tls_config(true).with_server_name(name)).unwrap();
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.message()
            .contains("the server certificate could not be verified"),
        "{err}"
    );
    // Verifying is the default: `ssl` alone, without `ssl_verify`, refuses it too.
    let mut default = tls_config(true).with_server_name(server_name(&ca).await);
    default.ssl_verify = None;
    let err = PostgresStorage::from_config(default)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    // Without verification the same server is accepted.
    let store =
        PostgresStorage::from_config(tls_config(false).with_server_name("any.invalid")).unwrap();
    store.ping().await.unwrap();
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn a_wrong_server_name_is_refused() {
    let Some(ca) = ca_or_skip("a_wrong_server_name_is_refused") else {
        return;
    };
    let config = tls_config(true)
        .with_trusted_certificate(&ca)
        .with_server_name("wrong-name.invalid");
    let err = PostgresStorage::connect(config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.message()
            .contains("the server certificate could not be verified"),
        "{err}"
    );
    // Without a server name, the host (127.0.0.1 by default) is checked: the snakeoil
    // certificate names no IP address.
    let mut config = tls_config(true).with_trusted_certificate(&ca);
    if config.host.as_deref().unwrap_or("127.0.0.1") == "127.0.0.1" {
        config.server_name = None;
        let err = PostgresStorage::connect(config).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn unreadable_trusted_certificate_is_a_config_error() {
    for path in ["/nonexistent/ca.pem", "/dev/null"] {
        let err = PostgresStorage::from_config(tls_config(true).with_trusted_certificate(path))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains("ssl_trusted_certificate"), "{err}");
    }
    // Not read when the certificate is not verified.
    PostgresStorage::from_config(tls_config(false).with_trusted_certificate("/nonexistent/ca.pem"))
        .unwrap();
}

/// A server that answers every SSLRequest with `N` (no TLS) and reports what the client
/// sent next: the 8-byte header of the startup message (protocol 3.0) when the client falls
/// back to plain text, nothing when it hangs up.
async fn declining_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                socket.read_exact(&mut request).await.unwrap();
                // SSLRequest: length 8, code 80877103.
                assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
                socket.write_all(b"N").await.unwrap();
                let mut next = vec![0u8; 8];
                let n = socket.read(&mut next).await.unwrap_or(0);
                next.truncate(n);
                let _ = tx.send(next);
            });
        }
    });
    (port, rx)
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn ssl_required_fails_when_the_server_declines_tls() {
    let (port, mut seen) = declining_server().await;
    let config = PostgresConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(1_000, 1_000, 1_000)
        .with_ssl(true, false);
    let err = PostgresStorage::from_config(config)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("does not support TLS"), "{err}");
    assert_eq!(
        seen.recv().await.unwrap(),
        Vec::<u8>::new(),
        "sent more after N"
    );
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn without_ssl_required_a_declined_request_falls_back_to_plain_text() {
    let (port, mut seen) = declining_server().await;
    let config = PostgresConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(1_000, 1_000, 1_000)
        .with_ssl(false, false);
    let err = PostgresStorage::from_config(config)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Config, "{err}");
    let startup = seen.recv().await.unwrap();
    assert_eq!(startup.len(), 8, "{startup:?}");
    assert_eq!(
        &startup[4..],
        &[0, 3, 0, 0],
        "a plain startup message (protocol 3.0)"
    );
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_the_feature_ssl_is_a_config_error() {
    let err =
        PostgresStorage::from_config(PostgresConfig::default().with_ssl(false, false)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("`tls` feature"), "{err}");
    // sslmode=prefer is satisfied by plain text without the feature.
    let config = PostgresConfig::from_url("postgres://h?sslmode=prefer").unwrap();
    assert_eq!(config.ssl, Some(false));
    PostgresStorage::from_config(config).unwrap();
}

/// Over a unix socket the server declines TLS: `ssl = true` continues in plain text, and
/// `ssl_required = true` fails. Runs when `/var/run/postgresql` has the server's socket and
/// the plain connection is accepted.
#[cfg(feature = "tls")]
#[tokio::test]
async fn over_a_unix_socket_tls_is_declined() {
    let dir = "/var/run/postgresql";
    let mut plain = common::base_config();
    plain.host = Some(dir.to_owned());
    plain.port = Some(5432);
    if !std::path::Path::new(dir).join(".s.PGSQL.5432").exists()
        || PostgresStorage::from_config(plain.clone())
            .unwrap()
            .ping()
            .await
            .is_err()
    {
        eprintln!("over_a_unix_socket_tls_is_declined: NOT TESTED: no usable socket in {dir}");
        return;
    }
    let store = PostgresStorage::from_config(plain.clone().with_ssl(false, true)).unwrap();
    assert!(!server_says_ssl(&store).await);
    let err = PostgresStorage::connect(plain.with_ssl(true, true))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("does not support TLS"), "{err}");
}
