//! [`MemoryStorage`]: an in-process reference store for tests, examples and the vectors runner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError};

/// How many writes between two sweeps of expired records.
const SWEEP_EVERY: u32 = 256;

/// An in-process store with exact semantics and no capacity limit: the reference
/// implementation of the [`Storage`] contract.
///
/// - Expiry is judged against the `now` argument ([`ExpiryClock::Argument`]): a record set at
///   `now` with `ttl` is readable while `now' < now + ttl`.
/// - An old key is shortened to `now + stale_ttl` if it lives longer than that (shorten-only,
///   like redis and shm); it is never lengthened or created.
/// - Metadata collections hold `key → expiry`; saving with an old key removes the old key from
///   them, `delete` removes the key, reads return entries with expiry > `now` and prune the rest.
/// - Expired records are swept every few hundred writes, so memory follows the live set.
///
/// It has no byte budget: use it for tests and tools, and `session-shm` in production.
/// Clones share the same data.
///
/// ```
/// use session_storage::{Storage, SetRequest, memory::MemoryStorage};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStorage::new();
/// store.set(&SetRequest::new("session", "k", "v", 60, 1_000)).await?;
/// assert_eq!(store.get("session", "k", 1_059).await?.as_deref(), Some("v"));
/// assert_eq!(store.get("session", "k", 1_060).await?, None);
/// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (name, key) → (value, expiry)
    records: HashMap<(String, String), (String, i64)>,
    /// (name, audience, subject) → key → expiry
    collections: HashMap<(String, String, String), SessionIndex>,
    writes: u32,
}

impl MemoryStorage {
    /// An empty store.
    ///
    /// ```
    /// let store = session_storage::memory::MemoryStorage::new();
    /// assert!(store.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records held, expired or not (expired ones are swept lazily).
    ///
    /// ```
    /// assert_eq!(session_storage::memory::MemoryStorage::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    ///
    /// ```
    /// assert!(session_storage::memory::MemoryStorage::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// Stores a record with an absolute expiry, bypassing metadata. For loading fixtures
    /// (such as the shared vectors' `storage.key → storage.value`).
    ///
    /// ```
    /// use session_storage::{Storage, memory::MemoryStorage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStorage::new();
    /// store.insert("session", "k", "[\"payload\"]", i64::MAX);
    /// assert!(store.get("session", "k", 0).await?.is_some());
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    pub fn insert(&self, name: &str, key: &str, value: &str, expires_at: i64) {
        self.lock().records.insert(
            (name.to_owned(), key.to_owned()),
            (value.to_owned(), expires_at),
        );
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // breaks their invariants (each operation is a few inserts/removes), so recover.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_sync(&self, req: &SetRequest<'_>) {
        let mut inner = self.lock();
        let exp = req.expires_at();
        inner.records.insert(
            (req.name.to_owned(), req.key.to_owned()),
            (req.value.to_owned(), exp),
        );
        if let Some(old) = req.old_key {
            let stale = req.stale_expires_at();
            if let Some((_, old_exp)) = inner
                .records
                .get_mut(&(req.name.to_owned(), old.to_owned()))
                && *old_exp > stale
            {
                *old_exp = stale;
            }
        }
        if let Some(meta) = req.metadata {
            for (aud, sub) in meta.pairs() {
                let coll = inner
                    .collections
                    .entry((req.name.to_owned(), aud.to_owned(), sub.to_owned()))
                    .or_default();
                coll.insert(req.key.to_owned(), exp);
                if let Some(old) = req.old_key {
                    coll.remove(old);
                }
                coll.retain(|_, e| *e > req.now);
            }
        }
        inner.writes = inner.writes.wrapping_add(1);
        if inner.writes.is_multiple_of(SWEEP_EVERY) {
            let now = req.now;
            inner.records.retain(|_, (_, e)| *e > now);
            inner.collections.retain(|_, c| {
                c.retain(|_, e| *e > now);
                !c.is_empty()
            });
        }
    }

    fn get_sync(&self, name: &str, key: &str, now: i64) -> Option<String> {
        let inner = self.lock();
        match inner.records.get(&(name.to_owned(), key.to_owned())) {
            Some((value, exp)) if *exp > now => Some(value.clone()),
            _ => None,
        }
    }

    fn delete_sync(&self, name: &str, key: &str, now: i64, metadata: Option<&Metadata>) {
        let mut inner = self.lock();
        inner.records.remove(&(name.to_owned(), key.to_owned()));
        for (aud, sub) in metadata.into_iter().flat_map(Metadata::pairs) {
            let id = (name.to_owned(), aud.to_owned(), sub.to_owned());
            if let Some(coll) = inner.collections.get_mut(&id) {
                coll.remove(key);
                coll.retain(|_, e| *e > now);
                if coll.is_empty() {
                    inner.collections.remove(&id);
                }
            }
        }
    }

    fn read_metadata_sync(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> SessionIndex {
        let mut inner = self.lock();
        let id = (name.to_owned(), audience.to_owned(), subject.to_owned());
        let Some(coll) = inner.collections.get_mut(&id) else {
            return SessionIndex::new();
        };
        coll.retain(|_, e| *e > now);
        let out = coll.clone();
        if coll.is_empty() {
            inner.collections.remove(&id);
        }
        out
    }
}

impl Storage for MemoryStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.set_sync(req);
        Ok(())
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        Ok(self.get_sync(name, key, now))
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.delete_sync(name, key, now, metadata);
        Ok(())
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        Ok(self.read_metadata_sync(name, audience, subject, now))
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Argument)
    }
}
