//! [`ShmZone`]: the byte-bounded dictionary (a `lua_shared_dict` counterpart) and the items
//! it holds.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

/// Bytes counted per item on top of its key and its value's blocks: what an entry really
/// costs in resident memory beyond those, so that a zone of N bytes keeps the process within
/// about N bytes of sessions. Measured with `examples/rss_flood.rs` (docs/benchmarks.md):
/// resident bytes per entry minus key and value length is 390–400 bytes for values of 1 to
/// 3000 bytes (moka's entry, its deque and timer-wheel nodes, the hash table slot, the key
/// and value allocations and the allocator's headers). 640 also covers the memory a shift
/// from small to large sessions strands in the allocator (the bookkeeping of the many small
/// entries evicted for fewer large ones): 1.21 × the capacity at worst, measured.
pub(crate) const ITEM_OVERHEAD: u64 = 640;
/// Bytes counted per list element on top of its text: the `String` in the list (24) and its
/// allocation's header and rounding.
pub(crate) const ELEMENT_OVERHEAD: u64 = 48;

/// One stored item: a record or a list (the two kinds of shared-dictionary values).
#[derive(Clone)]
pub(crate) struct Slot {
    pub(crate) item: Item,
    /// Absolute expiry in the engine's clock; `None` = never (a list before compaction).
    pub(crate) exp: Option<i64>,
    /// Real-time lifetime handed to moka, from the `now` of the write.
    real_ttl: Option<Duration>,
}

/// The size of the blocks a record's value is stored in.
pub(crate) const BLOCK: usize = 256;
/// What the allocator adds to each block (its chunk header).
const BLOCK_OVERHEAD: u64 = 16;

/// A record's value, stored in fixed-size blocks: every value allocation of every zone has
/// the same size, so the memory an evicted record frees is reused by the next record
/// whatever its size. With one allocation per value, a flood of small sessions followed by
/// large ones left the small ones' freed chunks unusable and took resident memory to 1.66 ×
/// the capacity (docs/benchmarks.md).
pub(crate) struct Blocks {
    len: usize,
    #[allow(clippy::vec_box)] // one allocation per block, all of one size, is the point
    blocks: Vec<Box<[u8; BLOCK]>>,
}

impl Blocks {
    pub(crate) fn new(value: &str) -> Self {
        let blocks = value
            .as_bytes()
            .chunks(BLOCK)
            .map(|chunk| {
                let mut block = Box::new([0u8; BLOCK]);
                block[..chunk.len()].copy_from_slice(chunk);
                block
            })
            .collect();
        Self {
            len: value.len(),
            blocks,
        }
    }

    /// The value, reassembled (`None` cannot happen: the bytes came from a `str`).
    pub(crate) fn to_string(&self) -> Option<String> {
        let mut out = Vec::with_capacity(self.len);
        let mut left = self.len;
        for block in &self.blocks {
            let n = left.min(BLOCK);
            out.extend_from_slice(&block[..n]);
            left -= n;
        }
        String::from_utf8(out).ok()
    }

    /// The bytes this value holds in memory: its blocks with their allocation headers.
    fn weight(&self) -> u64 {
        self.blocks.len() as u64 * (BLOCK as u64 + BLOCK_OVERHEAD)
    }
}

#[derive(Clone)]
pub(crate) enum Item {
    Record(Arc<Blocks>),
    List {
        elements: Vec<String>,
        compact_at: usize,
    },
}

impl Slot {
    pub(crate) fn new(item: Item, exp: Option<i64>, now: i64) -> Self {
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

    pub(crate) fn live(&self, now: i64) -> bool {
        self.exp.is_none_or(|e| e > now)
    }

    pub(crate) fn weight(&self, key: &str) -> u64 {
        let body = match &self.item {
            Item::Record(v) => v.weight(),
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

/// A named, byte-bounded dictionary shared by every [`ShmStorage`](crate::ShmStorage) that uses it (the
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
    pub(crate) cache: Cache<String, Slot>,
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
