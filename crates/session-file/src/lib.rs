//! File-system session storage, compatible with lua-resty-session's `file` backend
//! (docs/storage.md §10): one file per session in a directory, which a Rust service and OpenResty on
//! the same file system can share.
//!
//! - File names: `[prefix_]<name>_<key>[.suffix]` for records and
//!   `[prefix_]<name>_<audience>:<subject>[.suffix]` for metadata collections (§10.2).
//! - A record's expiry is its **mtime** (`now + ttl`); `get` treats a file whose mtime is
//!   before `now` as missing (§10.3). The old key's mtime is shortened to `now + stale_ttl`.
//! - Metadata files hold appended entries in the reference's format
//!   ([`session_storage::collection`]); their mtime is `max(wall clock, expiry)` (§10.4).
//! - Record writes are atomic: a temporary file in the same directory, mode 0600, written,
//!   given its mtime, synced, then renamed over the target, so a crash or a concurrent reader
//!   never sees a torn record (§10.7).
//! - Names, keys, audiences and subjects containing `/`, `\` or NUL are refused with
//!   [`ErrorKind::InvalidInput`](session_storage::ErrorKind::InvalidInput): no path traversal.
//! - File I/O runs in `tokio::task::spawn_blocking`, off the runtime's workers (so the store
//!   needs a tokio runtime).
//! - Expired files are removed by [`FileStorage::cleanup`], which the application can call or
//!   schedule; `set` and `delete` also remove them once every 2000 calls (the reference: with
//!   probability 1/2000).
//! - [`FileStorage::cleanup`] also compacts the append-only metadata files to their live
//!   entries. The compacted file is renamed over the old one (readers see one or the other,
//!   never neither), and about 20 ms later whatever other writers appended to the replaced
//!   file after it was read (a Lua peer takes no lock) is appended to the new one, so no
//!   entry is lost; an entry's tombstone can only come from a request that began after the
//!   entry was written, so the order of entries and tombstones is kept.
//!
//! ```
//! use session_file::{FileConfig, FileStorage};
//! use session_storage::{SetRequest, Storage};
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = FileStorage::from_config(FileConfig::default().with_path(dir.path()).with_suffix("session"))?;
//! store.set(&SetRequest::new("session", "key", "[\"payload\"]", 3600, 1_700_000_000)).await?;
//! assert!(dir.path().join("session_key.session").is_file());
//! assert_eq!(store.get("session", "key", 1_700_000_001).await?.as_deref(), Some("[\"payload\"]"));
//! # Ok::<_, session_storage::StorageError>(()) }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod config;
mod io;
mod names;
mod store;

pub use config::FileConfig;
pub use names::validate_file_name;
pub use store::FileStorage;
