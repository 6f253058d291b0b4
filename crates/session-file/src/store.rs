//! [`FileStorage`]: the storage operations of the file backend, run off the runtime's
//! workers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use session_storage::{
    Backend, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};

use crate::config::FileConfig;
use crate::{io, names};

/// Run [`FileStorage::cleanup`] once every this many `set`/`delete` calls.
const CLEANUP_EVERY: u32 = 2000;

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) prefix: Option<String>,
    pub(crate) suffix: Option<String>,
    calls: AtomicU32,
}

impl Inner {
    fn file_name(&self, name: &str, key_part: &str) -> Result<String, StorageError> {
        names::file_name(
            self.prefix.as_deref(),
            self.suffix.as_deref(),
            name,
            key_part,
        )
    }

    fn path(&self, name: &str, key_part: &str) -> Result<PathBuf, StorageError> {
        Ok(self.dir.join(self.file_name(name, key_part)?))
    }

    fn meta_path(&self, name: &str, aud: &str, sub: &str) -> Result<PathBuf, StorageError> {
        names::check_part("audience", aud)?;
        names::check_part("subject", sub)?;
        self.path(name, &format!("{aud}:{sub}"))
    }

    fn maybe_cleanup(&self, name: &str, now: i64) {
        if self.calls.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            // Housekeeping failures never fail the caller's save (as in the reference).
            let _ = io::cleanup(self, name, now);
        }
    }

    fn set(&self, req: &OwnedSet) -> Result<(), StorageError> {
        let path = self.path(&req.name, &req.key)?;
        let old = match &req.old_key {
            Some(old) => {
                let old_path = self.path(&req.name, old)?;
                let remaining = io::expiry(&old_path)?.map(|e| e.saturating_sub(req.now));
                Some((old_path, remaining))
            }
            None => None,
        };
        let metas = req
            .metadata
            .iter()
            .flat_map(Metadata::pairs)
            .map(|(a, s)| self.meta_path(&req.name, a, s))
            .collect::<Result<Vec<_>, _>>()?;
        io::write_atomic(&self.dir, &path, req.value.as_bytes(), req.expires_at)?;
        if let Some((old_path, remaining)) = old {
            let stale = i64::try_from(req.stale_ttl).unwrap_or(i64::MAX);
            if remaining.is_none_or(|r| r > stale) {
                // shorten-only; a missing file is not created
                let _ = io::set_mtime_if_exists(&old_path, req.stale_expires_at);
            }
        }
        if !metas.is_empty() {
            let mut append = session_storage::collection::encode_entry(&req.key, req.expires_at)?;
            let floor = match &req.old_key {
                Some(old) => {
                    append.push_str(&session_storage::collection::tombstone(old));
                    0 // the reference's second update: max(mtime after append, 0)
                }
                None => req.expires_at,
            };
            for meta in &metas {
                io::append(meta, append.as_bytes(), floor)?;
            }
        }
        self.maybe_cleanup(&req.name, req.now);
        Ok(())
    }

    fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let path = self.path(name, key)?;
        let metas = metadata
            .into_iter()
            .flat_map(Metadata::pairs)
            .map(|(a, s)| self.meta_path(name, a, s))
            .collect::<Result<Vec<_>, _>>()?;
        let _ = std::fs::remove_file(&path);
        let tomb = session_storage::collection::tombstone(key);
        for meta in &metas {
            io::append(meta, tomb.as_bytes(), 0)?;
        }
        self.maybe_cleanup(name, now);
        Ok(())
    }
}

/// A `set` request with owned fields, to move into `spawn_blocking`.
struct OwnedSet {
    name: String,
    key: String,
    value: String,
    now: i64,
    expires_at: i64,
    old_key: Option<String>,
    stale_ttl: u64,
    stale_expires_at: i64,
    metadata: Option<Metadata>,
}

/// The file store. Cheap to clone; clones share the configuration.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let store = session_file::FileStorage::from_config(session_file::FileConfig::default().with_path(dir.path()))?;
/// assert_eq!(store.dir(), dir.path());
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStorage {
    inner: Arc<Inner>,
}

impl FileStorage {
    /// A store from configuration. Fails with a [`Config`](session_storage::ErrorKind::Config)
    /// error if the prefix or suffix contains `/`, `\` or NUL, or the path is not a directory.
    ///
    /// ```
    /// use session_file::{FileConfig, FileStorage};
    /// let err = FileStorage::from_config(FileConfig::default().with_prefix("../x")).unwrap_err();
    /// assert_eq!(err.kind(), session_storage::ErrorKind::Config);
    /// ```
    pub fn from_config(config: FileConfig) -> Result<Self, StorageError> {
        let norm = |s: Option<String>| s.filter(|s| !s.is_empty());
        let prefix = norm(config.prefix);
        let suffix = norm(config.suffix);
        for (what, part) in [("prefix", &prefix), ("suffix", &suffix)] {
            if let Some(p) = part {
                names::check_part(what, p)
                    .map_err(|e| StorageError::config(e.message().to_owned()))?;
            }
        }
        if !config.path.is_dir() {
            return Err(StorageError::config(format!(
                "file storage path {} is not a directory",
                config.path.display()
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                dir: config.path,
                prefix,
                suffix,
                calls: AtomicU32::new(0),
            }),
        })
    }

    /// The directory holding the files.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = session_file::FileStorage::from_config(session_file::FileConfig::default().with_path(dir.path()))?;
    /// assert!(store.dir().is_dir());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Deletes this cookie name's record and metadata files whose expiry (mtime) is before
    /// `now` (docs/storage.md §10.5), then rewrites the metadata files that hold dead entries
    /// (tombstones, superseded or expired entries) with their live entries only; returns how
    /// many files were deleted plus how many were rewritten. Only names that pass
    /// [`validate_file_name`](crate::validate_file_name) are touched.
    ///
    /// Metadata files are append-only (as in the reference), so without this a subject who
    /// keeps signing in grows one file until their last session expires. The rewrite is safe
    /// against concurrent appends by this or another process (a Lua peer included): see the
    /// crate docs. It waits about 20 ms when it rewrote anything, so call it from a scheduled
    /// task (`session_core::maintenance::Cleanup`), not per request; the 1-in-2000
    /// housekeeping of `set`/`delete` only deletes expired files, as the reference does.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use session_storage::{SetRequest, Storage};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = session_file::FileStorage::from_config(session_file::FileConfig::default().with_path(dir.path()))?;
    /// let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    /// store.set(&SetRequest::new("session", key, "v", 60, 1_000)).await?;
    /// assert_eq!(store.cleanup("session", 2_000).await?, 1);
    /// # Ok::<_, session_storage::StorageError>(()) }).unwrap();
    /// ```
    pub async fn cleanup(&self, name: &str, now: i64) -> Result<usize, StorageError> {
        names::check_part("cookie name", name)?;
        let inner = Arc::clone(&self.inner);
        let name = name.to_owned();
        blocking(move || {
            let removed = io::cleanup(&inner, &name, now)?;
            Ok(removed + io::compact_collections(&inner, &name, now)?)
        })
        .await
    }
}

async fn blocking<T, F>(f: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::backend("file storage task failed").with_source(e))?
}

impl Storage for FileStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let owned = OwnedSet {
            name: req.name.to_owned(),
            key: req.key.to_owned(),
            value: req.value.to_owned(),
            now: req.now,
            expires_at: req.expires_at(),
            old_key: req.old_key.map(str::to_owned),
            stale_ttl: req.stale_ttl,
            stale_expires_at: req.stale_expires_at(),
            metadata: req.metadata.cloned(),
        };
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.set(&owned)).await
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        let path = self.inner.path(name, key)?;
        blocking(move || io::read_record(&path, now)).await
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let inner = Arc::clone(&self.inner);
        let (name, key, metadata) = (name.to_owned(), key.to_owned(), metadata.cloned());
        blocking(move || inner.delete(&name, &key, now, metadata.as_ref())).await
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        let path = self.inner.meta_path(name, audience, subject)?;
        blocking(move || io::read_collection(&path, now)).await
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Argument)
    }
}

/// How configuration selects this store: `storage = "file"`, with the options
/// block of that name deserialized into [`FileConfig`].
///
/// ```
/// use session_file::{FileConfig, FileStorage};
/// use session_storage::Backend;
/// assert_eq!(<FileStorage as Backend>::NAME, "file");
/// let store = <FileStorage as Backend>::from_config(FileConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for FileStorage {
    const NAME: &'static str = "file";
    type Config = FileConfig;

    fn from_config(config: FileConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
