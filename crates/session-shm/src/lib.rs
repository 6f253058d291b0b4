//! In-process session storage, the counterpart of lua-resty-session's `shm` backend
//! (an OpenResty `lua_shared_dict`, spec 05 §9).
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
//! let store = ShmStorage::new(&ShmConfig::default().with_prefix("sessions"))?;
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
//! - Capacity counts key and value bytes plus a fixed per-item overhead; moka applies it
//!   with a short delay (its housekeeping runs on later operations), and it may evict a
//!   metadata list as well as a record (the reference's `rpush` fails with "no memory"
//!   instead). A record larger than the whole zone is refused with
//!   [`ErrorKind::CapacityExceeded`](session_storage::ErrorKind::CapacityExceeded).
//! - Collections are compacted when a list has doubled since its last compaction (and on
//!   every delete and read, as the reference) instead of with probability 0.1.
//! - A stale TTL of 0 ends the old record at once (the dictionary would read it as
//!   "never expires").
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde::Deserialize;
use session_storage::collection::{self, parse_into};
use session_storage::{
    Capability, ExpiryClock, KeyLayout, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};

/// The default zone name, as in the reference.
pub const DEFAULT_ZONE: &str = "sessions";
/// The default zone capacity: 64 MiB.
pub const DEFAULT_CAPACITY: u64 = 64 * 1024 * 1024;
/// The longest key a shared dictionary accepts.
pub const MAX_KEY_LEN: usize = 65_535;
/// Bytes counted per item on top of its key and value.
const ITEM_OVERHEAD: u64 = 64;
/// Bytes counted per list element on top of its text.
const ELEMENT_OVERHEAD: u64 = 16;
/// A list is not compacted before it holds this many elements.
const MIN_COMPACT_AT: usize = 16;

/// Options of the shm store, with the reference's names (spec 05 §9.1).
///
/// Unknown fields (the reference's tests pass timeouts) are ignored.
///
/// ```
/// let config: session_shm::ShmConfig =
///     serde_json::from_str(r#"{"prefix":"sessions","zone":"sessions","capacity":1048576}"#)?;
/// assert_eq!(config.prefix.as_deref(), Some("sessions"));
/// assert_eq!(config.capacity, Some(1_048_576));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ShmConfig {
    /// Key prefix, joined with `:` (an empty string still counts, as in the reference).
    pub prefix: Option<String>,
    /// Key suffix, joined with `:`.
    pub suffix: Option<String>,
    /// Name of the zone (the `lua_shared_dict`). Default `"sessions"`.
    pub zone: String,
    /// Capacity in bytes. `Some` declares the zone with that capacity if it does not exist
    /// yet (an existing zone keeps its capacity); `None` requires the zone to have been
    /// declared (see [`ShmZone::declare`]). Default 64 MiB.
    pub capacity: Option<u64>,
}

impl Default for ShmConfig {
    fn default() -> Self {
        Self {
            prefix: None,
            suffix: None,
            zone: DEFAULT_ZONE.to_owned(),
            capacity: Some(DEFAULT_CAPACITY),
        }
    }
}

impl ShmConfig {
    /// Sets the key prefix.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_prefix("sessions");
    /// assert_eq!(c.prefix.as_deref(), Some("sessions"));
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the key suffix.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_suffix("s");
    /// assert_eq!(c.suffix.as_deref(), Some("s"));
    /// ```
    #[must_use]
    pub fn with_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = Some(suffix.into());
        self
    }

    /// Sets the zone name.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_zone("other");
    /// assert_eq!(c.zone, "other");
    /// ```
    #[must_use]
    pub fn with_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = zone.into();
        self
    }

    /// Sets the capacity in bytes (`None`: the zone must already be declared).
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_capacity(None);
    /// assert_eq!(c.capacity, None);
    /// ```
    #[must_use]
    pub const fn with_capacity(mut self, capacity: Option<u64>) -> Self {
        self.capacity = capacity;
        self
    }
}

/// One stored item: a record or a list (the two kinds of shared-dictionary values).
#[derive(Clone)]
struct Slot {
    item: Item,
    /// Absolute expiry in the engine's clock; `None` = never (a list before compaction).
    exp: Option<i64>,
    /// Real-time lifetime handed to moka, from the `now` of the write.
    real_ttl: Option<Duration>,
}

#[derive(Clone)]
enum Item {
    Record(Arc<str>),
    List {
        elements: Vec<String>,
        compact_at: usize,
    },
}

impl Slot {
    fn new(item: Item, exp: Option<i64>, now: i64) -> Self {
        let real_ttl = exp.map(|e| {
            let secs = e.saturating_sub(now);
            Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        });
        Self {
            item,
            exp,
            real_ttl,
        }
    }

    fn live(&self, now: i64) -> bool {
        self.exp.is_none_or(|e| e > now)
    }

    fn weight(&self, key: &str) -> u64 {
        let body = match &self.item {
            Item::Record(v) => v.len() as u64,
            Item::List { elements, .. } => elements
                .iter()
                .map(|e| e.len() as u64 + ELEMENT_OVERHEAD)
                .sum(),
        };
        ITEM_OVERHEAD + key.len() as u64 + body
    }
}

struct SlotExpiry;

impl moka::Expiry<String, Slot> for SlotExpiry {
    fn expire_after_create(&self, _: &String, value: &Slot, _: Instant) -> Option<Duration> {
        value.real_ttl
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Slot,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        value.real_ttl
    }
}

/// A named, byte-bounded dictionary shared by every [`ShmStorage`] that uses it (the
/// counterpart of a `lua_shared_dict` zone). Clones share the same data.
///
/// ```
/// let zone = session_shm::ShmZone::new("test-zone", 1024 * 1024);
/// assert_eq!(zone.capacity(), 1024 * 1024);
/// ```
#[derive(Clone)]
pub struct ShmZone {
    name: Arc<str>,
    capacity: u64,
    cache: Cache<String, Slot>,
}

impl fmt::Debug for ShmZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmZone")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

fn registry() -> &'static Mutex<HashMap<String, ShmZone>> {
    static ZONES: OnceLock<Mutex<HashMap<String, ShmZone>>> = OnceLock::new();
    ZONES.get_or_init(Mutex::default)
}

impl ShmZone {
    /// A new, private zone of `capacity` bytes (not registered by name; see
    /// [`declare`](Self::declare) for process-wide zones).
    ///
    /// ```
    /// let zone = session_shm::ShmZone::new("private", 4096);
    /// assert_eq!(zone.name(), "private");
    /// ```
    #[must_use]
    pub fn new(name: &str, capacity: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|k: &String, v: &Slot| u32::try_from(v.weight(k)).unwrap_or(u32::MAX))
            .expire_after(SlotExpiry)
            .build();
        Self {
            name: name.into(),
            capacity,
            cache,
        }
    }

    /// The process-wide zone called `name`, created with `capacity` bytes if it does not
    /// exist yet (an existing zone keeps its capacity), like a `lua_shared_dict` directive.
    ///
    /// ```
    /// let a = session_shm::ShmZone::declare("doc-declare", 4096);
    /// let b = session_shm::ShmZone::declare("doc-declare", 1);
    /// assert_eq!(b.capacity(), 4096);
    /// # let _ = a;
    /// ```
    #[must_use]
    pub fn declare(name: &str, capacity: u64) -> Self {
        let mut zones = registry()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        zones
            .entry(name.to_owned())
            .or_insert_with(|| Self::new(name, capacity))
            .clone()
    }

    /// The process-wide zone called `name`, if declared.
    ///
    /// ```
    /// assert!(session_shm::ShmZone::lookup("doc-never-declared").is_none());
    /// ```
    #[must_use]
    pub fn lookup(name: &str) -> Option<Self> {
        registry()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The zone's name.
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 1).name(), "z");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's capacity in bytes.
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 123).capacity(), 123);
    /// ```
    #[must_use]
    pub const fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes currently charged against the capacity (after pending housekeeping).
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 1024).used_bytes(), 0);
    /// ```
    #[must_use]
    pub fn used_bytes(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

/// The shm store: a handle on a [`ShmZone`] with a key prefix and suffix. Cheap to clone;
/// clones share the zone.
///
/// ```
/// use session_shm::{ShmStorage, ShmZone};
/// let store = ShmStorage::with_zone(ShmZone::new("tests", 1 << 20), Some("sessions".into()), None);
/// let same = store.clone();
/// # let _ = same;
/// ```
#[derive(Clone, Debug)]
pub struct ShmStorage {
    zone: ShmZone,
    layout: KeyLayout,
}

impl ShmStorage {
    /// A store from configuration. Fails with a [`Config`](session_storage::ErrorKind::Config)
    /// error `lua_shared_dict <zone> is missing` when `capacity` is `None` and the zone was
    /// never declared.
    ///
    /// ```
    /// use session_shm::{ShmConfig, ShmStorage};
    /// let mut config = ShmConfig::default();
    /// config.zone = "doc-missing".into();
    /// config.capacity = None;
    /// let err = ShmStorage::new(&config).unwrap_err();
    /// assert_eq!(err.message(), "lua_shared_dict doc-missing is missing");
    /// ```
    pub fn new(config: &ShmConfig) -> Result<Self, StorageError> {
        let zone = match config.capacity {
            Some(capacity) => ShmZone::declare(&config.zone, capacity),
            None => ShmZone::lookup(&config.zone).ok_or_else(|| {
                StorageError::config(format!("lua_shared_dict {} is missing", config.zone))
            })?,
        };
        Ok(Self::with_zone(
            zone,
            config.prefix.clone(),
            config.suffix.clone(),
        ))
    }

    /// A store on a given zone.
    ///
    /// ```
    /// let store = session_shm::ShmStorage::with_zone(session_shm::ShmZone::new("z", 1 << 20), None, None);
    /// assert_eq!(store.zone().name(), "z");
    /// ```
    #[must_use]
    pub fn with_zone(zone: ShmZone, prefix: Option<String>, suffix: Option<String>) -> Self {
        Self {
            zone,
            layout: KeyLayout::new(prefix, suffix),
        }
    }

    /// The zone this store writes to.
    ///
    /// ```
    /// let store = session_shm::ShmStorage::with_zone(session_shm::ShmZone::new("z", 1 << 20), None, None);
    /// assert_eq!(store.zone().capacity(), 1 << 20);
    /// ```
    #[must_use]
    pub const fn zone(&self) -> &ShmZone {
        &self.zone
    }

    fn cache(&self) -> &Cache<String, Slot> {
        &self.zone.cache
    }

    fn check_key(key: &str) -> Result<(), StorageError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(StorageError::invalid_input(
                "shm key must be 1 to 65535 bytes",
            ));
        }
        Ok(())
    }

    /// `dict.set(key, value, ttl)`.
    fn put_record(&self, key: String, value: &str, exp: i64, now: i64) -> Result<(), StorageError> {
        Self::check_key(&key)?;
        let slot = Slot::new(Item::Record(value.into()), Some(exp), now);
        if slot.weight(&key) > self.zone.capacity {
            return Err(StorageError::new(
                session_storage::ErrorKind::CapacityExceeded,
                "no memory",
            ));
        }
        self.cache().insert(key, slot);
        Ok(())
    }

    /// Remaining seconds of a live item (`dict.ttl`), `None` if missing or expired.
    fn remaining(&self, key: &str, now: i64) -> Option<Option<i64>> {
        let slot = self.cache().get(key)?;
        slot.live(now).then(|| slot.exp.map(|e| e - now))
    }

    /// `rpush` each element, then compact when `force` or the list has doubled.
    /// Returns the compacted map when a compaction ran.
    fn push_and_maybe_compact(
        &self,
        mkey: String,
        push: &[String],
        now: i64,
        force: bool,
    ) -> Result<Option<SessionIndex>, StorageError> {
        Self::check_key(&mkey)?;
        let mut result: Result<Option<SessionIndex>, StorageError> = Ok(None);
        self.cache().entry(mkey).and_compute_with(|current| {
            let (mut elements, exp, compact_at) = match current.map(moka::Entry::into_value) {
                Some(slot) if slot.live(now) => match slot.item {
                    Item::List {
                        elements,
                        compact_at,
                    } => (elements, slot.exp, compact_at),
                    Item::Record(_) => {
                        result = Err(StorageError::invalid_record("value not a list"));
                        return Op::Nop;
                    }
                },
                _ => (Vec::new(), None, MIN_COMPACT_AT),
            };
            elements.extend(push.iter().cloned());
            if !force && elements.len() < compact_at {
                return Op::Put(Slot::new(
                    Item::List {
                        elements,
                        compact_at,
                    },
                    exp,
                    now,
                ));
            }
            // Compaction (spec 05 §9.3): fold every element in order, then rewrite live ones.
            let mut map = SessionIndex::new();
            for element in &elements {
                if let Err(e) = parse_into(&mut map, element.as_bytes(), now) {
                    result = Err(e);
                    return Op::Remove; // the reference loses the popped entries too
                }
            }
            let Some(max_exp) = map.values().copied().max().filter(|m| *m > now) else {
                result = Ok(Some(map));
                return Op::Remove;
            };
            let mut live = Vec::with_capacity(map.len());
            for (key, exp) in &map {
                match collection::encode_entry(key, *exp) {
                    Ok(entry) => live.push(entry),
                    Err(e) => {
                        result = Err(e);
                        return Op::Remove;
                    }
                }
            }
            let compact_at = (live.len() * 2).max(MIN_COMPACT_AT);
            result = Ok(Some(map));
            Op::Put(Slot::new(
                Item::List {
                    elements: live,
                    compact_at,
                },
                Some(max_exp),
                now,
            ))
        });
        result
    }

    /// The raw elements of the list at the metadata key, for layout checks.
    #[cfg(test)]
    fn raw_list(&self, mkey: &str) -> Option<Vec<String>> {
        match self.cache().get(mkey)?.item {
            Item::List { elements, .. } => Some(elements),
            Item::Record(_) => None,
        }
    }
}

impl Storage for ShmStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let now = req.now;
        let exp = req.expires_at();
        let record_key = self.layout.record_key(req.name, req.key);
        if req.old_key.is_none() && req.metadata.is_none() {
            return self.put_record(record_key, req.value, exp, now);
        }
        // 1. the old record's remaining ttl, read before writing the new one
        let old = req.old_key.map(|old| {
            let key = self.layout.record_key(req.name, old);
            let remaining = self.remaining(&key, now);
            (key, remaining)
        });
        // 2. the new record
        self.put_record(record_key, req.value, exp, now)?;
        // 3. shorten the old record to the stale ttl (a no-expiry item is left alone)
        if let Some((old_key, remaining)) = old {
            let stale = i64::try_from(req.stale_ttl).unwrap_or(i64::MAX);
            let shorten = match remaining {
                None => true,        // missing: expire() fails, nothing happens
                Some(None) => false, // never expires: left alone
                Some(Some(r)) => r > stale,
            };
            if shorten {
                let stale_exp = req.stale_expires_at();
                self.cache()
                    .entry(old_key)
                    .and_compute_with(|current| match current {
                        Some(entry) if entry.value().live(now) => {
                            let mut slot = entry.into_value();
                            slot = Slot::new(slot.item, Some(stale_exp), now);
                            Op::Put(slot)
                        }
                        _ => Op::Nop,
                    });
            }
        }
        // 4. metadata: append the new entry (and the old key's tombstone)
        if let Some(meta) = req.metadata {
            let mut push = vec![collection::encode_entry(req.key, exp)?];
            if let Some(old) = req.old_key {
                push.push(collection::tombstone(old));
            }
            for (aud, sub) in meta.pairs() {
                let mkey = self.layout.metadata_key(req.name, aud, sub);
                self.push_and_maybe_compact(mkey, &push, now, false)?;
            }
        }
        Ok(())
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        let key = self.layout.record_key(name, key);
        Ok(self.cache().get(&key).and_then(|slot| match slot.item {
            Item::Record(value) if slot.exp.is_none_or(|e| e > now) => Some(value.to_string()),
            _ => None,
        }))
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.cache().invalidate(&self.layout.record_key(name, key));
        if let Some(meta) = metadata {
            let push = [collection::tombstone(key)];
            for (aud, sub) in meta.pairs() {
                let mkey = self.layout.metadata_key(name, aud, sub);
                self.push_and_maybe_compact(mkey, &push, now, true)?;
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
        let mkey = self.layout.metadata_key(name, audience, subject);
        if !self.cache().contains_key(&mkey) {
            return Ok(SessionIndex::new());
        }
        Ok(self
            .push_and_maybe_compact(mkey, &[], now, true)?
            .unwrap_or_default())
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Argument)
    }
}

#[cfg(test)]
mod tests;
