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
//! # The zone
//!
//! A zone is what nginx's shared dictionary is: a hash table and an LRU list under a mutex.
//! Zones of 8 MiB and more are split into shards of at least 4 MiB (up to 16), each with
//! its own mutex, so threads rarely wait for one another; a key's shard is picked by its
//! hash (foldhash, seeded at random per zone). Every operation is a short critical section:
//! a lookup and a relink, plus, on writes, freeing expired items at the tail of the list
//! (up to two per write, as nginx does) and evicting least-recently-used items until the
//! new one fits. A read marks its item recently used. List appends and compactions are
//! atomic read-modify-writes under the shard's lock (the reference's are not).
//!
//! The zone used to be a `moka` cache: a profile of a save flood put 46 % of the server's
//! CPU in its insert path (rehashing its table to drop tombstones, SipHash) and its
//! housekeeper; in the same profile of this zone the store is 6 % (docs/benchmarks.md),
//! and it needs no background work. What remains is the cache misses of evicting records
//! nobody has touched for a while; an evicted record's blocks go straight to the next
//! record, and short keys live in the list node, so that an eviction touches as little
//! memory as it can.
//!
//! # Time
//!
//! Each entry stores its absolute expiry `now + ttl` computed from the `now` the engine passes,
//! and every read treats an entry as missing when the caller's `now` ≥ that expiry, and frees
//! it. So tests and vectors with a fixed clock behave exactly. Expired items nobody reads are
//! freed when they reach the tail of the LRU list; until then they count against the
//! capacity, as in a `lua_shared_dict`.
//!
//! # Differences from a `lua_shared_dict`
//!
//! - Capacity bounds resident memory: each item counts its key and value bytes plus a fixed
//!   overhead covering what an entry really costs beyond them (384 bytes; see
//!   docs/benchmarks.md), and values are stored in 256-byte blocks so that freed memory is
//!   reused whatever the next record's size: a 64 MiB zone keeps a process flooded with
//!   saves within about 64 MiB of sessions, where a `lua_shared_dict` of that size holds
//!   more small items. The zone may evict a metadata list as well as a record (the
//!   reference's `rpush` fails with "no memory" instead). A record larger than a shard (the
//!   whole zone below 8 MiB, 4 MiB and more above) is refused with
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
