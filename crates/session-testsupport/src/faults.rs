//! What an outage looks like to a caller of `Storage`, and what recovering from one does.

use std::time::{Duration, Instant};

use session_storage::{ErrorKind, SetRequest, Storage, StorageError};

/// Whether `err` is a typed outage: the server is unavailable or did not answer in time (the
/// two kinds a caller may retry on), as opposed to a configuration, protocol or data error.
///
/// ```
/// use session_storage::{ErrorKind, StorageError};
/// use session_testsupport::faults::is_outage;
///
/// assert!(is_outage(&StorageError::new(ErrorKind::Timeout, "read timed out")));
/// assert!(!is_outage(&StorageError::new(ErrorKind::Config, "bad option")));
/// ```
pub fn is_outage(err: &StorageError) -> bool {
    matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout)
}

/// The audience and subject of the first collection of `save`'s metadata; panics when it has
/// none.
fn first_collection<'a>(save: &'a SetRequest<'_>) -> (&'a str, &'a str) {
    save.metadata
        .and_then(|m| m.pairs().next())
        .unwrap_or_else(|| panic!("the save request needs metadata"))
}

/// One round of every `Storage` operation on a store whose server is down: `set(save)`, then
/// `get`, `delete` (with the save's metadata) and `read_metadata` (of its first collection) of
/// the save's name and key, each at `save.now`. Every one must fail with a typed outage
/// ([`is_outage`]), the `get` error must be retryable, and `set` and `get` must each give up
/// within `limit`.
///
/// ```
/// use std::time::Duration;
///
/// use session_storage::{Metadata, SetRequest};
/// use session_testsupport::faults::every_operation_fails_in_time;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # struct Down;
/// # impl session_storage::Storage for Down {
/// #     async fn set(&self, _: &SetRequest<'_>) -> Result<(), session_storage::StorageError> { Err(down()) }
/// #     async fn get(&self, _: &str, _: &str, _: i64) -> Result<Option<String>, session_storage::StorageError> { Err(down()) }
/// #     async fn delete(&self, _: &str, _: &str, _: i64, _: Option<&Metadata>) -> Result<(), session_storage::StorageError> { Err(down()) }
/// #     async fn read_metadata(&self, _: &str, _: &str, _: &str, _: i64) -> Result<session_storage::SessionIndex, session_storage::StorageError> { Err(down()) }
/// # }
/// # fn down() -> session_storage::StorageError {
/// #     session_storage::StorageError::new(session_storage::ErrorKind::Unavailable, "connection refused")
/// # }
/// // `Down`: a store whose every operation fails with `ErrorKind::Unavailable`.
/// let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
/// let save = SetRequest::new("session", "k", "[\"v\"]", 60, 1_000).with_metadata(&meta);
/// every_operation_fails_in_time(&Down, &save, Duration::from_secs(1)).await;
/// # });
/// ```
pub async fn every_operation_fails_in_time<S: Storage>(
    store: &S,
    save: &SetRequest<'_>,
    limit: Duration,
) {
    let (name, key, now) = (save.name, save.key, save.now);
    let (audience, subject) = first_collection(save);
    let t = Instant::now();
    let err = expect_err(store.set(save).await, "set");
    assert!(is_outage(&err), "set: {err}");
    assert!(t.elapsed() <= limit, "set took {:?}", t.elapsed());
    let t = Instant::now();
    let err = expect_err(store.get(name, key, now).await, "get");
    assert!(is_outage(&err), "get: {err}");
    assert!(err.is_retryable());
    assert!(t.elapsed() <= limit, "get took {:?}", t.elapsed());
    let err = expect_err(store.delete(name, key, now, save.metadata).await, "delete");
    assert!(is_outage(&err), "delete: {err}");
    let err = expect_err(
        store.read_metadata(name, audience, subject, now).await,
        "read_metadata",
    );
    assert!(is_outage(&err), "read_metadata: {err}");
}

/// After the server is back (empty), the same store works without being rebuilt: `save`
/// succeeds, its value reads back, and its key is listed in the first collection of its
/// metadata with the record's expiry.
///
/// ```
/// use session_storage::memory::MemoryStorage;
/// use session_storage::{Metadata, SetRequest};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
/// let save = SetRequest::new("session", "k", "[\"v\"]", 60, 1_000).with_metadata(&meta);
/// session_testsupport::faults::store_recovered(&MemoryStorage::new(), &save).await;
/// # });
/// ```
pub async fn store_recovered<S: Storage>(store: &S, save: &SetRequest<'_>) {
    let (audience, subject) = first_collection(save);
    if let Err(e) = store.set(save).await {
        panic!("pool recovers after restart: {e}");
    }
    let value = store.get(save.name, save.key, save.now).await;
    assert_eq!(
        value
            .unwrap_or_else(|e| panic!("get after restart: {e}"))
            .as_deref(),
        Some(save.value)
    );
    let index = store
        .read_metadata(save.name, audience, subject, save.now)
        .await
        .unwrap_or_else(|e| panic!("read_metadata after restart: {e}"));
    assert_eq!(index.get(save.key), Some(&save.expires_at()));
}

/// The error of an operation that must fail.
fn expect_err<T: std::fmt::Debug>(result: Result<T, StorageError>, op: &str) -> StorageError {
    match result {
        Ok(v) => panic!("{op} succeeded with the server down: {v:?}"),
        Err(e) => e,
    }
}

/// The error of a `get` of (`session`, `key`) at the current time that must fail, checked to
/// have come back within `limit` (never a hang).
///
/// ```
/// use std::time::Duration;
///
/// use session_storage::ErrorKind;
/// use session_testsupport::faults::get_fails_within;
///
/// # struct Refused;
/// # impl session_storage::Storage for Refused {
/// #     async fn set(&self, _: &session_storage::SetRequest<'_>) -> Result<(), session_storage::StorageError> { Err(refused()) }
/// #     async fn get(&self, _: &str, _: &str, _: i64) -> Result<Option<String>, session_storage::StorageError> { Err(refused()) }
/// #     async fn delete(&self, _: &str, _: &str, _: i64, _: Option<&session_storage::Metadata>) -> Result<(), session_storage::StorageError> { Err(refused()) }
/// #     async fn read_metadata(&self, _: &str, _: &str, _: &str, _: i64) -> Result<session_storage::SessionIndex, session_storage::StorageError> { Err(refused()) }
/// # }
/// # fn refused() -> session_storage::StorageError {
/// #     session_storage::StorageError::new(ErrorKind::Unavailable, "127.0.0.1: connection refused")
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // `Refused`: a store whose server refuses every connection.
/// let err = get_fails_within(&Refused, "k", Duration::from_secs(1)).await;
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// # });
/// ```
pub async fn get_fails_within<S: Storage>(store: &S, key: &str, limit: Duration) -> StorageError {
    fails_between(
        store.get("session", key, crate::clock::now()),
        Duration::ZERO,
        limit,
    )
    .await
}

/// The error of an operation that must fail, checked to have taken at least `min` (a
/// timeout that really waited) and less than `max` (never a hang).
///
/// ```
/// use std::time::Duration;
///
/// use session_storage::{ErrorKind, StorageError};
/// use session_testsupport::faults::fails_between;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let slow = async {
///     tokio::time::sleep(Duration::from_millis(30)).await;
///     Err::<(), _>(StorageError::new(ErrorKind::Timeout, "read timed out"))
/// };
/// let err = fails_between(slow, Duration::from_millis(20), Duration::from_secs(1)).await;
/// assert_eq!(err.kind(), ErrorKind::Timeout);
/// # });
/// ```
pub async fn fails_between<T: std::fmt::Debug>(
    op: impl Future<Output = Result<T, StorageError>>,
    min: Duration,
    max: Duration,
) -> StorageError {
    let t = Instant::now();
    let err = expect_err(op.await, "the operation");
    let took = t.elapsed();
    assert!(took >= min && took < max, "took {took:?}: {err}");
    err
}

/// Saves `save` while the server is up and checks that it reads back: where a fault test
/// starts from before it stops the server.
///
/// ```
/// use session_storage::memory::MemoryStorage;
/// use session_storage::SetRequest;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let save = SetRequest::new("session", "k", "[\"v\"]", 60, 1_000);
/// session_testsupport::faults::saved_before_the_outage(&MemoryStorage::new(), &save).await;
/// # });
/// ```
pub async fn saved_before_the_outage<S: Storage>(store: &S, save: &SetRequest<'_>) {
    if let Err(e) = store.set(save).await {
        panic!("set before the outage: {e}");
    }
    let value = store.get(save.name, save.key, save.now).await;
    assert!(
        value.is_ok_and(|v| v.is_some()),
        "the record saved before the outage reads back"
    );
}

/// The per-operation deadline of a networked store, checked through a [`SwitchProxy`] in
/// front of its real server: `save` succeeds while the proxy forwards; muted (the server
/// hung), a `get` and a `set` each fail with [`ErrorKind::Timeout`] after at least
/// `deadline` and within `deadline` + 1 s; forwarding again, the very next operation of the
/// same store succeeds and `save` reads back (the pool recovered by itself).
///
/// `deadline` is the store's `operation_timeout`; give the store Lua socket timeouts longer
/// than it (their 60 s defaults will do) so that the deadline is what cuts.
///
/// [`SwitchProxy`]: crate::net::SwitchProxy
///
/// ```no_run
/// # async fn demo<S: session_storage::Storage>(store: S, proxy: session_testsupport::net::SwitchProxy) {
/// use std::time::Duration;
/// use session_storage::SetRequest;
/// let save = SetRequest::new("session", "k", "[\"v\"]", 60, session_testsupport::clock::now());
/// session_testsupport::faults::deadline_then_recovery(&store, &proxy, Duration::from_secs(1), &save).await;
/// # }
/// ```
pub async fn deadline_then_recovery<S: Storage>(
    store: &S,
    proxy: &crate::net::SwitchProxy,
    deadline: Duration,
    save: &SetRequest<'_>,
) {
    let limit = deadline + Duration::from_secs(1);
    saved_before_the_outage(store, save).await;
    proxy.mute();
    let err = fails_between(store.get(save.name, save.key, save.now), deadline, limit).await;
    assert_eq!(
        err.kind(),
        ErrorKind::Timeout,
        "get on a hung server: {err}"
    );
    assert!(err.message().contains("operation_timeout"), "{err}");
    let err = fails_between(store.set(save), deadline, limit).await;
    assert_eq!(
        err.kind(),
        ErrorKind::Timeout,
        "set on a hung server: {err}"
    );
    proxy.forward();
    let value = store
        .get(save.name, save.key, save.now)
        .await
        .unwrap_or_else(|e| panic!("the first get once the server answers again: {e}"));
    assert_eq!(value.as_deref(), Some(save.value));
    if let Err(e) = store.set(save).await {
        panic!("set once the server answers again: {e}");
    }
}
