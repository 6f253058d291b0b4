//! Stores wrapped for the route tests: one that counts the engine's calls, one whose writes
//! fail. Shared by the axum, actix-web, hardening and revocation suites.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use resty_session::memory::MemoryStorage;
use resty_session::{Capability, Metadata, SessionIndex, SetRequest, Storage, StorageError};

/// `inner`, counting the `get` and `set` calls the engine makes. Clones share the store and
/// the counters.
#[derive(Clone, Default)]
pub struct Counting<S = MemoryStorage> {
    pub inner: Arc<S>,
    pub gets: Arc<AtomicUsize>,
    pub sets: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    /// Wraps `inner` with fresh counters.
    pub fn new(inner: S) -> Self {
        Self {
            inner: Arc::new(inner),
            gets: Arc::default(),
            sets: Arc::default(),
        }
    }
}

impl<S: Storage> Storage for Counting<S> {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.inner.set(req).await
    }
    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
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
    fn capability(&self) -> Capability {
        self.inner.capability()
    }
}

/// A store that reads from memory and whose writes fail, as a store that went down.
#[derive(Default)]
pub struct DownForWrites(pub MemoryStorage);

impl Storage for DownForWrites {
    async fn set(&self, _req: &SetRequest<'_>) -> Result<(), StorageError> {
        Err(StorageError::unavailable("store down (test)"))
    }
    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.0.get(name, key, now).await
    }
    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.0.delete(name, key, now, metadata).await
    }
    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.0.read_metadata(name, audience, subject, now).await
    }
}
