//! An example of a third-party session store, as a crate outside this repository would write
//! it: it depends on `session-storage` alone (plus `serde` for its options), passes the
//! storage conformance suite (`tests/conformance.rs`) and is selected by name from the
//! configuration (`tests/from_configuration.rs`).
//!
//! [`CappedStorage`] keeps sessions in process memory, at most `max_records` of them: when
//! full, a save evicts the record closest to expiry. The application registers it once, and
//! `storage = "capped"` with a `[capped]` options block then selects it:
//!
//! ```
//! use session_example_store::CappedStorage;
//!
//! let config = resty_session::Config::from_text(r#"
//!     secret = "change me"
//!     storage = "capped"
//!     [capped]
//!     max_records = 10000
//! "#)?;
//! let backends = resty_session::Backends::builtin().with::<CappedStorage>();
//! let built = resty_session::build_with(&config, &backends)?;
//! assert!(built.has_storage());
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Deserialize;
use session_storage::{
    Backend, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};

/// The default `max_records`.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// The `[capped]` options block (unknown options are errors).
///
/// ```
/// let config: session_example_store::CappedConfig =
///     serde_json::from_str(r#"{"max_records": 5}"#)?;
/// assert_eq!(config.max_records, Some(5));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CappedConfig {
    /// The most records kept at once (default [`DEFAULT_MAX_RECORDS`]); must not be 0.
    pub max_records: Option<usize>,
}

/// (cookie name, key) → (value, expiry).
type Records = HashMap<(String, String), (String, i64)>;
/// (cookie name, audience, subject) → key → expiry.
type Collections = HashMap<(String, String, String), SessionIndex>;

#[derive(Debug, Default)]
struct Inner {
    records: Records,
    collections: Collections,
}

/// An in-process store holding at most `max_records` sessions; see the [crate docs](self).
///
/// ```
/// use session_example_store::{CappedConfig, CappedStorage};
/// use session_storage::{Backend, SetRequest, Storage};
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let store = CappedStorage::from_config(CappedConfig::default())?;
/// store.set(&SetRequest::new("session", "k", "v", 60, 1_000)).await?;
/// assert_eq!(store.get("session", "k", 1_030).await?.as_deref(), Some("v"));
/// # Ok::<_, session_storage::StorageError>(()) })?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CappedStorage {
    max_records: usize,
    inner: Arc<Mutex<Inner>>,
}

impl CappedStorage {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the maps consistent between statements: recover from a
        // poisoned lock rather than fail every later request.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many records the store holds (expired ones included until they are evicted).
    ///
    /// ```
    /// use session_example_store::{CappedConfig, CappedStorage};
    /// use session_storage::Backend;
    /// let store = CappedStorage::from_config(CappedConfig::default())?;
    /// assert_eq!(store.len(), 0);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    ///
    /// ```
    /// use session_example_store::{CappedConfig, CappedStorage};
    /// use session_storage::Backend;
    /// assert!(CappedStorage::from_config(CappedConfig::default())?.is_empty());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }
}

/// Removes expired records; then, while the store is full, the record closest to expiry.
fn make_room(records: &mut Records, max_records: usize, now: i64) {
    if records.len() < max_records {
        return;
    }
    records.retain(|_, (_, expiry)| *expiry > now);
    while records.len() >= max_records {
        let Some(first) = records
            .iter()
            .min_by_key(|(_, (_, expiry))| *expiry)
            .map(|(id, _)| id.clone())
        else {
            return;
        };
        records.remove(&first);
    }
}

impl Storage for CappedStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let mut inner = self.lock();
        let id = (req.name.to_owned(), req.key.to_owned());
        if !inner.records.contains_key(&id) {
            make_room(&mut inner.records, self.max_records, req.now);
        }
        let expiry = req.expires_at();
        inner.records.insert(id, (req.value.to_owned(), expiry));
        if let Some(old) = req.old_key {
            // The previous record stays readable for at most `stale_ttl` (never longer).
            let stale = req.stale_expires_at();
            if let Some((_, old_expiry)) = inner
                .records
                .get_mut(&(req.name.to_owned(), old.to_owned()))
            {
                *old_expiry = (*old_expiry).min(stale);
            }
        }
        for (audience, subject) in req.metadata.into_iter().flat_map(Metadata::pairs) {
            let collection = inner
                .collections
                .entry((req.name.to_owned(), audience.to_owned(), subject.to_owned()))
                .or_default();
            collection.insert(req.key.to_owned(), expiry);
            if let Some(old) = req.old_key {
                collection.remove(old);
            }
            collection.retain(|_, e| *e > req.now);
        }
        Ok(())
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        let inner = self.lock();
        Ok(
            match inner.records.get(&(name.to_owned(), key.to_owned())) {
                Some((value, expiry)) if *expiry > now => Some(value.clone()),
                _ => None,
            },
        )
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let mut inner = self.lock();
        inner.records.remove(&(name.to_owned(), key.to_owned()));
        for (audience, subject) in metadata.into_iter().flat_map(Metadata::pairs) {
            let id = (name.to_owned(), audience.to_owned(), subject.to_owned());
            if let Some(collection) = inner.collections.get_mut(&id) {
                collection.remove(key);
                collection.retain(|_, e| *e > now);
                if collection.is_empty() {
                    inner.collections.remove(&id);
                }
            }
        }
        Ok(())
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        let inner = self.lock();
        let id = (name.to_owned(), audience.to_owned(), subject.to_owned());
        Ok(inner
            .collections
            .get(&id)
            .map(|collection| {
                collection
                    .iter()
                    .filter(|(_, expiry)| **expiry > now)
                    .map(|(key, expiry)| (key.clone(), *expiry))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn capability(&self) -> Capability {
        // Expiry is judged with the `now` the engine passes, so the conformance suite moves
        // time without sleeping.
        Capability::new(ExpiryClock::Argument)
    }
}

impl Backend for CappedStorage {
    const NAME: &'static str = "capped";
    type Config = CappedConfig;

    fn from_config(config: CappedConfig) -> Result<Self, StorageError> {
        let max_records = config.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
        if max_records == 0 {
            return Err(StorageError::config(
                "capped option `max_records` must be at least 1",
            ));
        }
        Ok(Self {
            max_records,
            inner: Arc::default(),
        })
    }
}
