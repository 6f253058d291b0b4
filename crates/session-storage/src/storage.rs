//! The storage trait pair: [`Storage`] for generic code, [`DynStorage`] for trait objects.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Metadata, SetRequest, StorageError};

/// The live sessions of one metadata collection: storage key → expiry (Unix seconds).
pub type SessionIndex = BTreeMap<String, i64>;

/// A boxed, `Send` future, as returned by [`DynStorage`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a store decides that a record has expired.
///
/// ```
/// use session_storage::{Capability, ExpiryClock};
/// let cap = Capability::default();
/// assert_eq!(cap.expiry_clock, ExpiryClock::Server);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExpiryClock {
    /// Expiry is judged against the `now` argument of each call (file, SQL, the in-process
    /// stores). Tests can move time by passing a later `now`.
    Argument,
    /// Expiry is the server's own TTL, counted in real time from the write (redis, memcached,
    /// dshm). Tests must really wait.
    #[default]
    Server,
}

/// What a store can do. Returned by [`Storage::capability`]; the conformance suite reads it.
///
/// ```
/// use session_storage::{Capability, ExpiryClock};
/// let cap = Capability::new(ExpiryClock::Argument);
/// assert!(cap.metadata);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capability {
    /// How expiry is decided.
    pub expiry_clock: ExpiryClock,
    /// Whether the store keeps metadata collections and answers `read_metadata`.
    pub metadata: bool,
    /// Whether records and metadata collections are kept apart per cookie name (`name`), as
    /// every key-value store does by putting the name in the key. The SQL stores share the
    /// reference's tables, where the session id alone is the key and no query filters on
    /// the name (docs/storage.md §11, §12): there one key saved under two names is one record.
    /// The engine never relies on either: session ids are random and unique.
    pub name_scoped: bool,
}

impl Capability {
    /// A capability with metadata support and the given expiry clock.
    ///
    /// ```
    /// let cap = session_storage::Capability::new(session_storage::ExpiryClock::Server);
    /// assert!(cap.metadata);
    /// ```
    #[must_use]
    pub const fn new(expiry_clock: ExpiryClock) -> Self {
        Self {
            expiry_clock,
            metadata: true,
            name_scoped: true,
        }
    }

    /// The same capability for a store whose records and collections are not kept apart
    /// per cookie name (see [`Capability::name_scoped`]).
    ///
    /// ```
    /// use session_storage::{Capability, ExpiryClock};
    /// let sql = Capability::new(ExpiryClock::Argument).without_name_scope();
    /// assert!(!sql.name_scoped);
    /// ```
    #[must_use]
    pub const fn without_name_scope(mut self) -> Self {
        self.name_scoped = false;
        self
    }
}

impl Default for Capability {
    fn default() -> Self {
        Self::new(ExpiryClock::Server)
    }
}

/// A server-side session store (docs/storage.md §4).
///
/// Methods return `impl Future + Send`, so generic callers pay no boxing. For a store chosen
/// at run time use [`BoxedStorage`] (or `Arc<dyn DynStorage>`), which implements this trait too.
///
/// Conventions (docs/storage.md §4.6):
/// - a miss or an expired record is `Ok(None)`, never an error;
/// - deleting a missing record is `Ok(())`;
/// - `read_metadata` returns an empty map when there is no collection;
/// - times are `i64` Unix seconds, TTLs `u64` seconds;
/// - `remember` never changes behaviour.
///
/// See the [`session-storage` crate docs](https://docs.rs/session-storage/latest/session_storage/)
/// for a complete "implement your own store" example.
pub trait Storage: Send + Sync + 'static {
    /// Stores `req.value` under (`req.name`, `req.key`) for `req.ttl` seconds (an upsert),
    /// shortens the old record to `req.stale_ttl` and updates metadata collections
    /// (docs/storage.md §4.1).
    ///
    /// ```
    /// # use session_storage::{Storage, SetRequest, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStorage::new();
    /// store.set(&SetRequest::new("session", "k", "v", 60, 100)).await?;
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn set(&self, req: &SetRequest<'_>) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The record stored under (`name`, `key`), or `None` if missing or expired at `now`
    /// (docs/storage.md §4.2).
    ///
    /// ```
    /// # use session_storage::{Storage, SetRequest, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStorage::new();
    /// assert_eq!(store.get("session", "k", 100).await?, None);
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn get(
        &self,
        name: &str,
        key: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<String>, StorageError>> + Send;

    /// Removes the record and, with `metadata`, takes `key` out of those collections
    /// (docs/storage.md §4.3). `now` is the session's last-save timestamp on destroy.
    ///
    /// ```
    /// # use session_storage::{Storage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStorage::new();
    /// store.delete("session", "missing", 100, None).await?; // missing is fine
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The live sessions (expiry > `now`) of the collection (`name`, `audience`, `subject`);
    /// `audience` and `subject` are encoded as the engine stored them (docs/storage.md §4.4).
    ///
    /// ```
    /// # use session_storage::{Storage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStorage::new();
    /// assert!(store.read_metadata("session", "ZGVmYXVsdA", "am9obg", 100).await?.is_empty());
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<SessionIndex, StorageError>> + Send;

    /// What this store can do. The default says: server-side TTL, metadata supported.
    ///
    /// ```
    /// # use session_storage::{Storage, ExpiryClock, memory::MemoryStorage};
    /// assert_eq!(MemoryStorage::new().capability().expiry_clock, ExpiryClock::Argument);
    /// ```
    fn capability(&self) -> Capability {
        Capability::default()
    }
}

/// The dyn-compatible twin of [`Storage`]: the same operations returning boxed futures.
///
/// Every [`Storage`] is a `DynStorage` (blanket impl); implement [`Storage`], not this.
///
/// ```
/// use std::sync::Arc;
/// use session_storage::{DynStorage, memory::MemoryStorage};
/// let store: Arc<dyn DynStorage> = Arc::new(MemoryStorage::new());
/// # let _ = store;
/// ```
pub trait DynStorage: Send + Sync + 'static {
    /// See [`Storage::set`].
    ///
    /// ```
    /// # use session_storage::{DynStorage, SetRequest, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store: Box<dyn DynStorage> = Box::new(MemoryStorage::new());
    /// store.dyn_set(&SetRequest::new("session", "k", "v", 60, 100)).await?;
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn dyn_set<'a>(&'a self, req: &'a SetRequest<'_>) -> BoxFuture<'a, Result<(), StorageError>>;

    /// See [`Storage::get`].
    ///
    /// ```
    /// # use session_storage::{DynStorage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store: Box<dyn DynStorage> = Box::new(MemoryStorage::new());
    /// assert_eq!(store.dyn_get("session", "k", 100).await?, None);
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn dyn_get<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>>;

    /// See [`Storage::delete`].
    ///
    /// ```
    /// # use session_storage::{DynStorage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store: Box<dyn DynStorage> = Box::new(MemoryStorage::new());
    /// store.dyn_delete("session", "k", 100, None).await?;
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn dyn_delete<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        now: i64,
        metadata: Option<&'a Metadata>,
    ) -> BoxFuture<'a, Result<(), StorageError>>;

    /// See [`Storage::read_metadata`].
    ///
    /// ```
    /// # use session_storage::{DynStorage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store: Box<dyn DynStorage> = Box::new(MemoryStorage::new());
    /// assert!(store.dyn_read_metadata("session", "YQ", "cw", 100).await?.is_empty());
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    fn dyn_read_metadata<'a>(
        &'a self,
        name: &'a str,
        audience: &'a str,
        subject: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<SessionIndex, StorageError>>;

    /// See [`Storage::capability`].
    ///
    /// ```
    /// # use session_storage::{DynStorage, memory::MemoryStorage};
    /// let store: Box<dyn DynStorage> = Box::new(MemoryStorage::new());
    /// assert!(store.dyn_capability().metadata);
    /// ```
    fn dyn_capability(&self) -> Capability;
}

impl<T: Storage> DynStorage for T {
    fn dyn_set<'a>(&'a self, req: &'a SetRequest<'_>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(Storage::set(self, req))
    }

    fn dyn_get<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(Storage::get(self, name, key, now))
    }

    fn dyn_delete<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        now: i64,
        metadata: Option<&'a Metadata>,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(Storage::delete(self, name, key, now, metadata))
    }

    fn dyn_read_metadata<'a>(
        &'a self,
        name: &'a str,
        audience: &'a str,
        subject: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<SessionIndex, StorageError>> {
        Box::pin(Storage::read_metadata(self, name, audience, subject, now))
    }

    fn dyn_capability(&self) -> Capability {
        Storage::capability(self)
    }
}

/// A store chosen at run time: a cheaply cloneable `Arc<dyn DynStorage>` that implements
/// [`Storage`], so code generic over `S: Storage` accepts it.
///
/// ```
/// use session_storage::{BoxedStorage, Storage, SetRequest, memory::MemoryStorage};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = BoxedStorage::new(MemoryStorage::new());
/// store.set(&SetRequest::new("session", "k", "v", 60, 100)).await?;
/// assert_eq!(store.clone().get("session", "k", 100).await?.as_deref(), Some("v"));
/// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct BoxedStorage(Arc<dyn DynStorage>);

impl BoxedStorage {
    /// Boxes a store.
    ///
    /// ```
    /// let store = session_storage::BoxedStorage::new(session_storage::memory::MemoryStorage::new());
    /// # let _ = store;
    /// ```
    pub fn new(store: impl Storage) -> Self {
        Self(Arc::new(store))
    }

    /// Wraps an existing trait object.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_storage::{BoxedStorage, DynStorage, memory::MemoryStorage};
    /// let dyn_store: Arc<dyn DynStorage> = Arc::new(MemoryStorage::new());
    /// let store = BoxedStorage::from_arc(dyn_store);
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn from_arc(store: Arc<dyn DynStorage>) -> Self {
        Self(store)
    }
}

impl fmt::Debug for BoxedStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedStorage")
            .field("capability", &self.0.dyn_capability())
            .finish_non_exhaustive()
    }
}

impl Storage for BoxedStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.0.dyn_set(req).await
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.0.dyn_get(name, key, now).await
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.0.dyn_delete(name, key, now, metadata).await
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.0.dyn_read_metadata(name, audience, subject, now).await
    }

    fn capability(&self) -> Capability {
        self.0.dyn_capability()
    }
}

impl<S: Storage> Storage for Arc<S> {
    fn set(&self, req: &SetRequest<'_>) -> impl Future<Output = Result<(), StorageError>> + Send {
        S::set(self, req)
    }

    fn get(
        &self,
        name: &str,
        key: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<String>, StorageError>> + Send {
        S::get(self, name, key, now)
    }

    fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send {
        S::delete(self, name, key, now, metadata)
    }

    fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<SessionIndex, StorageError>> + Send {
        S::read_metadata(self, name, audience, subject, now)
    }

    fn capability(&self) -> Capability {
        S::capability(self)
    }
}
