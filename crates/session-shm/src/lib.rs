//! In-process session storage, the counterpart of lua-resty-session's `shm` backend
//! (an OpenResty `lua_shared_dict`, docs/storage.md §9).
//!
//! [`ShmStorage`] is a cheap-to-clone handle on a [`ShmZone`], a byte-bounded dictionary shared
//! by every task and thread of the process. Nginx shared memory cannot be shared with a Rust
//! process, so this crate copies the reference's *semantics*: the same keys
//! (`[prefix:]name:key[:suffix]`), records with a per-entry TTL, metadata collections kept as
//! lists of appended entries (`<key>:<exp7>;` / `<key>;`) with the same compaction, and the
//! same shorten-only stale TTL for the old key.
//!
//! ```
//! use session_shm::{ShmConfig, ShmStorage};
//! use session_storage::{SetRequest, Storage};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = ShmStorage::from_config(ShmConfig::default().with_prefix("sessions"))?;
//! store.set(&SetRequest::new("session", "key", "[\"payload\"]", 3600, 1_700_000_000)).await?;
//! assert_eq!(store.get("session", "key", 1_700_000_001).await?.as_deref(), Some("[\"payload\"]"));
//! # Ok::<_, session_storage::StorageError>(()) }).unwrap();
//! ```
//!
//! # Why moka
//!
//! The zone is a [`moka::sync::Cache`] with a byte weigher, LRU eviction and per-entry expiry.
//! moka is well kept, already in the workspace, lock-free for reads, bounds memory by weight
//! (so the store never grows without bound: least-recently-used entries are evicted when the
//! capacity is reached) and offers `and_compute_with`, a per-key atomic read-modify-write that
//! makes list appends and compaction atomic (the reference's are not). A hand-written sharded
//! LRU would need its own eviction and expiry wheels for no measured gain.
//!
//! # Time: the injected `now` and real time
//!
//! Each entry stores its absolute expiry `now + ttl` computed from the `now` the engine passes,
//! and every read treats an entry as missing when the caller's `now` ≥ that expiry. So tests
//! and vectors with a fixed clock behave exactly. Independently, moka drops the entry after
//! `expiry − now` seconds of *real* time, which reclaims memory without a sweeper.
//!
//! # Differences from a `lua_shared_dict`
//!
//! - Capacity bounds resident memory: each item counts its key and value bytes plus a fixed
//!   overhead covering what an entry really costs beyond them (640 bytes; see
//!   docs/benchmarks.md), and values are stored in 256-byte blocks so that freed memory is
//!   reused whatever the next record's size: a 64 MiB zone keeps a process flooded with
//!   saves within about 64 MiB of sessions, where a `lua_shared_dict` of that size holds
//!   more small items. moka applies the capacity with a short delay (its housekeeping runs on later
//!   operations), and it may evict a
//!   metadata list as well as a record (the reference's `rpush` fails with "no memory"
//!   instead). A record larger than the whole zone is refused with
//!   [`ErrorKind::CapacityExceeded`](session_storage::ErrorKind::CapacityExceeded).
//! - Collections are compacted when a list has doubled since its last compaction (and on
//!   every delete and read, as the reference) instead of with probability 0.1.
//! - A stale TTL of 0 ends the old record at once (the dictionary would read it as
//!   "never expires").
#![forbid(unsafe_code)]

mod config;
mod store;
mod zone;

pub use config::{DEFAULT_CAPACITY, DEFAULT_ZONE, ShmConfig};
pub use store::{MAX_KEY_LEN, ShmStorage};
pub use zone::ShmZone;
