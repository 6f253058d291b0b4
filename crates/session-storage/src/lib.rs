//! The storage trait for server-side sessions, compatible with lua-resty-session 4.1.5.
//!
//! A session engine hands a store four operations (docs/storage.md §4): [`Storage::set`] (with TTL,
//! old key and stale TTL, metadata), [`Storage::get`], [`Storage::delete`] and
//! [`Storage::read_metadata`]. This crate holds that trait, the values it takes
//! ([`SetRequest`], [`Metadata`]), its error type ([`StorageError`]), the encodings shared by
//! several backends ([`KeyLayout`] for `prefix:name:key:suffix` keys, [`collection`] for the
//! appended metadata entries), an in-process reference store ([`memory::MemoryStorage`], feature
//! `memory`, on by default) and, behind the `testkit` feature, the conformance suite every
//! backend runs (`testkit`). A store that configuration can select by name
//! (`storage = "redis"`) also implements [`Backend`].
//!
//! **A third-party storage crate depends on this crate alone.** It has no I/O and no backend
//! code; the only dependency is `thiserror` (plus `tokio` with `testkit`).
//!
//! # Generic and dynamic use
//!
//! [`Storage`] returns `impl Future + Send`, so generic code (`S: Storage`) pays no boxing.
//! Every `Storage` is also a [`DynStorage`], its dyn-compatible twin with boxed futures, and
//! [`BoxedStorage`] wraps an `Arc<dyn DynStorage>` back into a `Storage`, so a store picked
//! from configuration at run time fits where a generic one is expected.
//!
//! # Implement your own store
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! use session_storage::{
//!     BoxedStorage, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage,
//!     StorageError,
//! };
//!
//! /// Records only, no metadata; expiry judged with the `now` the engine passes.
//! #[derive(Default)]
//! struct TinyStore {
//!     records: Mutex<HashMap<(String, String), (String, i64)>>,
//! }
//!
//! impl TinyStore {
//!     fn records(&self) -> Result<std::sync::MutexGuard<'_, HashMap<(String, String), (String, i64)>>, StorageError> {
//!         self.records.lock().map_err(|_| StorageError::backend("lock poisoned"))
//!     }
//! }
//!
//! impl Storage for TinyStore {
//!     async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
//!         let mut records = self.records()?;
//!         let new = (req.value.to_owned(), req.expires_at());
//!         records.insert((req.name.to_owned(), req.key.to_owned()), new);
//!         if let Some(old) = req.old_key {
//!             // Shorten-only: the old record stays readable for at most `stale_ttl`.
//!             if let Some((_, exp)) = records.get_mut(&(req.name.to_owned(), old.to_owned())) {
//!                 *exp = (*exp).min(req.stale_expires_at());
//!             }
//!         }
//!         Ok(())
//!     }
//!
//!     async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
//!         let records = self.records()?;
//!         Ok(records
//!             .get(&(name.to_owned(), key.to_owned()))
//!             .filter(|(_, exp)| *exp > now) // expired records are misses
//!             .map(|(value, _)| value.clone()))
//!     }
//!
//!     async fn delete(
//!         &self, name: &str, key: &str, _now: i64, _metadata: Option<&Metadata>,
//!     ) -> Result<(), StorageError> {
//!         self.records()?.remove(&(name.to_owned(), key.to_owned()));
//!         Ok(())
//!     }
//!
//!     async fn read_metadata(
//!         &self, _name: &str, _audience: &str, _subject: &str, _now: i64,
//!     ) -> Result<SessionIndex, StorageError> {
//!         Ok(SessionIndex::new())
//!     }
//!
//!     fn capability(&self) -> Capability {
//!         let mut cap = Capability::new(ExpiryClock::Argument);
//!         cap.metadata = false;
//!         cap
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // Generic use…
//! let store = TinyStore::default();
//! store.set(&SetRequest::new("session", "key", "[\"payload\"]", 60, 1_000)).await?;
//! assert_eq!(store.get("session", "key", 1_030).await?.as_deref(), Some("[\"payload\"]"));
//! assert_eq!(store.get("session", "key", 1_060).await?, None);
//! // …or chosen at run time.
//! let boxed = BoxedStorage::new(store);
//! assert!(boxed.get("session", "key", 1_030).await?.is_some());
//! # Ok::<_, StorageError>(()) }).unwrap();
//! ```
//!
//! A store tests itself with the conformance suite: enable the `testkit` feature in its
//! dev-dependencies and call `session_storage::storage_conformance!` (see `testkit`).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
pub mod collection;
mod error;
mod layout;
#[cfg(feature = "memory")]
pub mod memory;
mod request;
mod storage;

pub use backend::Backend;
pub use error::{BoxError, ErrorKind, StorageError};
pub use layout::KeyLayout;
pub use request::{MAX_TTL, Metadata, SetRequest, add_secs};
pub use storage::{
    BoxFuture, BoxedStorage, Capability, DynStorage, ExpiryClock, SessionIndex, Storage,
};
#[cfg(feature = "testkit")]
pub mod testkit;
