//! Revocation of cookie sessions in the engine: a failing revocation store rejects sessions
//! unless `fail_open`, the remember cookie is checked too (a revoked subject's remember cookie
//! does not start a new session), a cookie with a revoked entry in another audience does not
//! open, and no lookup is made without a subject. Stores on real servers: session-http-tests
//! (tests/revoke_cookie.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use session_core::env::FixedClock;
use session_core::revocation::{self, RevocationError};
use session_core::session_storage::memory::MemoryStorage;
use session_core::session_storage::{
    Capability, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};
use session_core::{Config, Error, Request, Session, SessionConfig};

/// A revocation store that is down.
struct Down;

impl Storage for Down {
    async fn set(&self, _: &SetRequest<'_>) -> Result<(), StorageError> {
        Err(StorageError::unavailable("connection refused"))
    }
    async fn get(&self, _: &str, _: &str, _: i64) -> Result<Option<String>, StorageError> {
        Err(StorageError::unavailable("connection refused"))
    }
    async fn delete(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        Err(StorageError::unavailable("connection refused"))
    }
    async fn read_metadata(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<SessionIndex, StorageError> {
        Err(StorageError::unavailable("connection refused"))
    }
    fn capability(&self) -> Capability {
        Capability::default()
    }
}

fn build(
    json: &str,
    store: Arc<dyn session_core::session_storage::DynStorage>,
    clock: &Arc<FixedClock>,
) -> SessionConfig {
    Config::from_text(json)
        .unwrap()
        .builder()
        .revocation_storage(store)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .filter(|c| !c.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn login(config: &SessionConfig, subject: Option<&str>, remember: bool) -> String {
    let mut s = Session::new(config, Request::new());
    s.set_subject(subject).unwrap();
    if remember {
        s.set_remember(true).unwrap();
    }
    s.save().await.unwrap();
    cookie_header(s.set_cookies())
}

async fn open(config: &SessionConfig, cookie: &str) -> Result<Session, Error> {
    let mut s = Session::new(config, Request::new().with_cookie(cookie.to_owned()));
    s.open().await.map(|()| s)
}

#[tokio::test]
async fn a_failing_store_rejects_unless_fail_open() {
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let closed = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t", "revocation": {"storage": "down"}}"#,
        Arc::new(Down),
        &clock,
    );
    let cookie = login(&closed, Some("john"), false).await;
    let err = open(&closed, &cookie).await.err().unwrap();
    assert!(matches!(err, Error::RevocationCheck(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("unable to check session revocation ("),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
    let open_config = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t", "revocation": {"storage": "down", "fail_open": true}}"#,
        Arc::new(Down),
        &clock,
    );
    assert!(open(&open_config, &cookie).await.is_ok());
    // Writing fails with the store's error, typed.
    let err = revocation::revoke_subject(&closed, "john", None)
        .await
        .unwrap_err();
    assert!(matches!(err, RevocationError::Read(_)), "{err}");
}

#[tokio::test]
async fn the_remember_cookie_of_a_revoked_subject_starts_no_session() {
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let store = Arc::new(MemoryStorage::new());
    let config = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t", "remember": true, "remember_safety": "None"}"#,
        store,
        &clock,
    );
    let both = login(&config, Some("john"), true).await;
    let remember_only: String = both
        .split("; ")
        .filter(|c| c.starts_with("remember="))
        .collect();
    assert!(!remember_only.is_empty(), "{both}");
    // Before: the remember cookie alone starts a session.
    assert!(open(&config, &remember_only).await.is_ok());
    clock.advance(1);
    revocation::revoke_subject(&config, "john", None)
        .await
        .unwrap();
    let err = open(&config, &remember_only).await.err().unwrap();
    assert!(err.to_string().contains("revoked"), "{err}");
    let err = open(&config, &both).await.err().unwrap();
    assert!(err.to_string().contains("revoked"), "{err}");
}

#[tokio::test]
async fn a_revoked_entry_in_another_audience_stops_the_whole_cookie() {
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let store: Arc<MemoryStorage> = Arc::new(MemoryStorage::new());
    let shop = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t", "audience": "shop"}"#,
        store.clone(),
        &clock,
    );
    let blog = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t", "audience": "blog"}"#,
        store,
        &clock,
    );
    let cookie = login(&shop, Some("john"), false).await;
    // The blog instance sees a cookie without its audience: it would keep the shop entry for
    // its next save. Once john's shop sessions are revoked, the cookie opens nowhere.
    assert!(
        open(&blog, &cookie)
            .await
            .err()
            .unwrap()
            .is_audience_error()
    );
    clock.advance(1);
    revocation::revoke_subject(&shop, "john", Some("shop"))
        .await
        .unwrap();
    // The blog instance's lookup of john is cached until the period has passed.
    assert!(
        open(&blog, &cookie)
            .await
            .err()
            .unwrap()
            .is_audience_error()
    );
    clock.advance(revocation::DEFAULT_CACHE_TTL);
    let err = open(&blog, &cookie).await.err().unwrap();
    assert!(err.to_string().contains("revoked"), "{err}");
    assert!(!err.is_audience_error());
}

#[tokio::test]
async fn sessions_without_a_subject_need_no_lookup() {
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    // A store that is down: a lookup would fail the open.
    let config = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t"}"#,
        Arc::new(Down),
        &clock,
    );
    let cookie = login(&config, None, false).await;
    assert!(open(&config, &cookie).await.is_ok());
    assert!(matches!(
        revocation::revoke_subject(&config, "", None).await,
        Err(RevocationError::EmptySubject)
    ));
    let plain = Config::from_text(r#"{"secret": "s"}"#)
        .unwrap()
        .build()
        .unwrap();
    assert!(matches!(
        revocation::revoke_id(&plain, "john", "AAAAAAAA").await,
        Err(RevocationError::NotConfigured)
    ));
}

/// A revocation store whose reads are slow and counted.
#[derive(Clone)]
struct Slow {
    inner: Arc<MemoryStorage>,
    gets: Arc<std::sync::atomic::AtomicUsize>,
}

impl Storage for Slow {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.inner.set(req).await
    }
    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.inner.get(name, key, now).await
    }
    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.inner.delete(name, key, now, metadata).await
    }
    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.inner.read_metadata(name, audience, subject, now).await
    }
}

/// Concurrent opens of one subject whose cached lookup went stale cost one store read: the
/// first request refreshes, the others use the stale lookup meanwhile. This process's own
/// revocation is cached at once (no read), and a read that started before it does not
/// overwrite it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_share_one_refresh() {
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let gets = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = Slow {
        inner: Arc::new(MemoryStorage::new()),
        gets: gets.clone(),
    };
    let config = build(
        r#"{"secret": "s3cr3t-s3cr3t-s3cr3t"}"#,
        Arc::new(store),
        &clock,
    );
    let cookie = login(&config, Some("john"), false).await;
    assert!(open(&config, &cookie).await.is_ok());
    let reads = || gets.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(reads(), 1);
    clock.advance(revocation::DEFAULT_CACHE_TTL);
    let opens: Vec<_> = (0..8)
        .map(|_| {
            let (config, cookie) = (config.clone(), cookie.clone());
            tokio::spawn(async move { open(&config, &cookie).await.is_ok() })
        })
        .collect();
    for handle in opens {
        assert!(handle.await.unwrap());
    }
    assert_eq!(reads(), 2, "one refresh for eight concurrent opens");

    // Revoking reads the record once (read-modify-write) and caches the result.
    clock.advance(1);
    revocation::revoke_subject(&config, "john", None)
        .await
        .unwrap();
    assert_eq!(reads(), 3);
    let err = open(&config, &cookie).await.err().unwrap();
    assert!(err.to_string().contains("revoked"), "{err}");
    assert_eq!(
        reads(),
        3,
        "the revocation was cached by the revoking process"
    );
}
