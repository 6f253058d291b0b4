//! [`ShmZone`]: the byte-bounded dictionary (a `lua_shared_dict` counterpart) and the items
//! it holds.
//!
//! A zone is a few shards, each a mutex over a hash table of indices into a node array that
//! is also a doubly linked LRU list (most recent at the head), as nginx's shared dictionary
//! is an rbtree and an LRU queue under one mutex. Every operation is a short critical
//! section: a lookup, a relink, and on writes the eviction of least-recently-used items
//! until the new one fits.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use hashbrown::HashTable;

/// Bytes counted per item on top of its key and its value's blocks: what an entry really
/// costs in resident memory beyond those, so that a zone of N bytes keeps the process within
/// about N bytes of sessions. Measured with `examples/rss_flood.rs` (docs/benchmarks.md).
pub(crate) const ITEM_OVERHEAD: u64 = 384;
/// Bytes counted per list element on top of its text: the `String` in the list (24) and its
/// allocation's header and rounding.
pub(crate) const ELEMENT_OVERHEAD: u64 = 48;
/// A zone is split into shards of at least this many bytes (at most [`MAX_SHARDS`]), so that
/// threads saving at once rarely wait for one another; each shard evicts on its own.
const MIN_SHARD_BYTES: u64 = 4 * 1024 * 1024;
const MAX_SHARDS: u64 = 16;
/// Expired items looked at (and freed) at the tail of the LRU list on every write, as nginx's
/// `ngx_http_lua_shdict_expire(ctx, 0)` does.
const EXPIRE_ON_WRITE: usize = 2;

/// One stored item: a record or a list (the two kinds of shared-dictionary values).
pub(crate) struct Slot {
    pub(crate) item: Item,
    /// Absolute expiry in the engine's clock; `None` = never (a list before compaction).
    pub(crate) exp: Option<i64>,
}

/// The size of the blocks a record's value is stored in.
pub(crate) const BLOCK: usize = 256;
/// What the allocator adds to each block (its chunk header).
const BLOCK_OVERHEAD: u64 = 16;

/// One block of a record's value.
type Block = [u8; BLOCK];
/// Blocks a record keeps in its node rather than in an array of its own: values up to 512
/// bytes (a small session's record) need no allocation besides their blocks.
const INLINE_BLOCKS: usize = 2;

/// A record's value, stored in fixed-size blocks: every value allocation of every zone has
/// the same size, so the memory an evicted record frees is reused by the next record
/// whatever its size. With one allocation per value, a flood of small sessions followed by
/// large ones left the small ones' freed chunks unusable and took resident memory to 1.66 ×
/// the capacity (docs/benchmarks.md).
pub(crate) struct Blocks {
    len: usize,
    inline: [Option<Box<Block>>; INLINE_BLOCKS],
    #[allow(clippy::vec_box)] // one allocation per block, all of one size, is the point
    more: Vec<Box<Block>>,
}

impl Blocks {
    #[cfg(test)]
    pub(crate) fn new(value: &str) -> Self {
        Self::with_spare(value, &mut Vec::new())
    }

    /// The value in blocks, taken from `spare` (blocks of evicted records) while it has some.
    #[allow(clippy::vec_box)]
    fn with_spare(value: &str, spare: &mut Vec<Box<Block>>) -> Self {
        let mut blocks = Self::empty();
        blocks.len = value.len();
        let count = value.len().div_ceil(BLOCK);
        blocks
            .more
            .reserve_exact(count.saturating_sub(INLINE_BLOCKS));
        for (i, chunk) in value.as_bytes().chunks(BLOCK).enumerate() {
            let mut block = spare.pop().unwrap_or_else(|| Box::new([0; BLOCK]));
            block[..chunk.len()].copy_from_slice(chunk);
            match blocks.inline.get_mut(i) {
                Some(slot) => *slot = Some(block),
                None => blocks.more.push(block),
            }
        }
        blocks
    }

    const fn empty() -> Self {
        Self {
            len: 0,
            inline: [None, None],
            more: Vec::new(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Block> {
        self.inline
            .iter()
            .flatten()
            .chain(self.more.iter())
            .map(|block| &**block)
    }

    /// The value, reassembled (`None` cannot happen: the bytes came from a `str`).
    pub(crate) fn to_string(&self) -> Option<String> {
        let mut out = Vec::with_capacity(self.len);
        let mut left = self.len;
        for block in self.iter() {
            let n = left.min(BLOCK);
            out.extend_from_slice(&block[..n]);
            left -= n;
        }
        String::from_utf8(out).ok()
    }

    /// The bytes a value of `len` bytes holds in memory: its blocks with their allocation
    /// headers.
    const fn weight_of(len: usize) -> u64 {
        len.div_ceil(BLOCK) as u64 * (BLOCK as u64 + BLOCK_OVERHEAD)
    }

    /// Moves this value's blocks to `spare` (up to `SPARE_BLOCKS`), without touching them.
    #[allow(clippy::vec_box)]
    fn recycle(self, spare: &mut Vec<Box<Block>>) {
        for block in self.inline.into_iter().flatten().chain(self.more) {
            if spare.len() >= SPARE_BLOCKS {
                return;
            }
            spare.push(block);
        }
    }
}

/// Blocks of evicted records a shard keeps for the next records (64 KiB): moving a block
/// from an evicted record to a new one spares the allocator a free and a malloc, and the
/// cache misses of touching a long-unused chunk twice (docs/benchmarks.md).
const SPARE_BLOCKS: usize = 256;

/// The longest key a node holds in place; longer ones get an allocation of their own.
const INLINE_KEY: usize = 64;

/// A key, in its node when short (the usual `prefix:name:<43-character id>`): looking it up
/// and evicting it touch no other memory.
enum Key {
    Inline(u8, [u8; INLINE_KEY]),
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: &str) -> Self {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE_KEY => {
                let mut bytes = [0; INLINE_KEY];
                bytes[..key.len()].copy_from_slice(key.as_bytes());
                Self::Inline(len, bytes)
            }
            _ => Self::Heap(key.as_bytes().into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Self::Heap(bytes) => bytes,
        }
    }
}

pub(crate) enum Item {
    Record(Blocks),
    List {
        elements: Vec<String>,
        compact_at: usize,
    },
}

impl Slot {
    pub(crate) const fn new(item: Item, exp: Option<i64>) -> Self {
        Self { item, exp }
    }

    pub(crate) fn live(&self, now: i64) -> bool {
        self.exp.is_none_or(|e| e > now)
    }

    pub(crate) fn weight(&self, key: &str) -> u64 {
        let body = match &self.item {
            Item::Record(v) => Blocks::weight_of(v.len),
            Item::List { elements, .. } => elements
                .iter()
                .map(|e| e.len() as u64 + ELEMENT_OVERHEAD)
                .sum(),
        };
        ITEM_OVERHEAD + key.len() as u64 + body
    }
}

/// The zone is full and the item is larger than a whole shard (nginx: "no memory").
#[derive(Debug)]
pub(crate) struct NoMemory;

const NIL: u32 = u32::MAX;

struct Node {
    hash: u64,
    key: Key,
    slot: Slot,
    weight: u64,
    /// Toward the head (more recently used).
    prev: u32,
    /// Toward the tail (less recently used).
    next: u32,
}

impl Node {
    /// What a free index holds: nothing allocated.
    fn vacant() -> Self {
        Self {
            hash: 0,
            key: Key::Inline(0, [0; INLINE_KEY]),
            slot: Slot::new(Item::Record(Blocks::empty()), None),
            weight: 0,
            prev: NIL,
            next: NIL,
        }
    }
}

/// One shard: an LRU list of nodes indexed by a hash table.
struct Shard {
    table: HashTable<u32>,
    /// Nodes by index; a free index (kept in `free`) holds a vacant node.
    nodes: Vec<Node>,
    free: Vec<u32>,
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Block>>,
    head: u32,
    tail: u32,
    used: u64,
    capacity: u64,
}

impl Shard {
    fn new(capacity: u64) -> Self {
        // Room for as many small records as fit, so the table never rehashes under a flood
        // (the node array only reserves address space: pages are touched as it fills).
        let expected =
            usize::try_from(capacity / (ITEM_OVERHEAD + 43 + BLOCK as u64 + BLOCK_OVERHEAD))
                .unwrap_or(0)
                .min(1 << 20);
        Self {
            table: HashTable::with_capacity(expected),
            nodes: Vec::with_capacity(expected),
            free: Vec::new(),
            spare: Vec::new(),
            head: NIL,
            tail: NIL,
            used: 0,
            capacity,
        }
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    fn node_mut(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    fn find(&self, hash: u64, key: &str) -> Option<u32> {
        let nodes = &self.nodes;
        self.table
            .find(hash, |&i| {
                nodes[i as usize].key.as_bytes() == key.as_bytes()
            })
            .copied()
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = self.node(i);
            (n.prev, n.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.node_mut(p).next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.node_mut(n).prev = prev,
        }
    }

    fn push_front(&mut self, i: u32) {
        let head = self.head;
        {
            let n = self.node_mut(i);
            n.prev = NIL;
            n.next = head;
        }
        match head {
            NIL => self.tail = i,
            h => self.node_mut(h).prev = i,
        }
        self.head = i;
    }

    fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Takes node `i` out of the table and the list; returns its slot.
    fn remove(&mut self, i: u32) -> Slot {
        self.unlink(i);
        let hash = self.node(i).hash;
        if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        let node = std::mem::replace(&mut self.nodes[i as usize], Node::vacant());
        self.used -= node.weight;
        self.free.push(i);
        node.slot
    }

    /// The live node for `key`, dropping it if it has expired by `now`.
    fn live(&mut self, hash: u64, key: &str, now: i64) -> Option<u32> {
        let i = self.find(hash, key)?;
        if self.node(i).slot.live(now) {
            Some(i)
        } else {
            self.evict(i);
            None
        }
    }

    /// Frees node `i`, keeping its record's blocks for the next record.
    fn evict(&mut self, i: u32) {
        if let Item::Record(blocks) = self.remove(i).item {
            blocks.recycle(&mut self.spare);
        }
    }

    /// Stores the item `make` builds (of `weight` bytes) at `key`, at the head of the list,
    /// after evicting what it needs room from. `make` gets the spare blocks.
    #[allow(clippy::vec_box)]
    fn insert_with(
        &mut self,
        hash: u64,
        key: &str,
        weight: u64,
        now: i64,
        make: impl FnOnce(&mut Vec<Box<Block>>) -> Slot,
    ) -> Result<(), NoMemory> {
        if let Some(i) = self.find(hash, key) {
            self.evict(i);
        }
        if weight > self.capacity {
            return Err(NoMemory);
        }
        for _ in 0..EXPIRE_ON_WRITE {
            match self.tail {
                NIL => break,
                t if self.node(t).slot.live(now) => break,
                t => self.evict(t),
            }
        }
        while self.used + weight > self.capacity && self.tail != NIL {
            self.evict(self.tail);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.nodes.len()).map_err(|_| NoMemory)?;
                self.nodes.push(Node::vacant());
                i
            }
        };
        let slot = make(&mut self.spare);
        self.nodes[i as usize] = Node {
            hash,
            key: Key::new(key),
            slot,
            weight,
            prev: NIL,
            next: NIL,
        };
        let nodes = &self.nodes;
        self.table
            .insert_unique(hash, i, |&j| nodes[j as usize].hash);
        self.push_front(i);
        self.used += weight;
        Ok(())
    }

    fn insert(&mut self, hash: u64, key: &str, slot: Slot, now: i64) -> Result<(), NoMemory> {
        let weight = slot.weight(key);
        self.insert_with(hash, key, weight, now, |_| slot)
    }

    fn len(&self) -> usize {
        self.table.len()
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
    inner: Arc<Inner>,
}

struct Inner {
    name: Box<str>,
    capacity: u64,
    /// Seeded per zone: keys with a chosen hash cannot be computed from outside.
    hasher: foldhash::fast::RandomState,
    shards: Box<[Mutex<Shard>]>,
}

impl fmt::Debug for ShmZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmZone")
            .field("name", &self.inner.name)
            .field("capacity", &self.inner.capacity)
            .field("entries", &self.len())
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
        let count = (capacity / MIN_SHARD_BYTES).clamp(1, MAX_SHARDS);
        // a power of two, so a shard is picked by masking the hash
        let count = 1u64 << (63 - count.leading_zeros());
        let shards = (0..count)
            .map(|_| Mutex::new(Shard::new(capacity / count)))
            .collect();
        Self {
            inner: Arc::new(Inner {
                name: name.into(),
                capacity,
                hasher: foldhash::fast::RandomState::default(),
                shards,
            }),
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
        let mut zones = registry().lock().unwrap_or_else(PoisonError::into_inner);
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
            .unwrap_or_else(PoisonError::into_inner)
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
        &self.inner.name
    }

    /// The zone's capacity in bytes.
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 123).capacity(), 123);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// Bytes currently charged against the capacity.
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 1024).used_bytes(), 0);
    /// ```
    #[must_use]
    pub fn used_bytes(&self) -> u64 {
        self.inner.shards.iter().map(|s| lock(s).used).sum()
    }

    /// The number of items held (live or expired but not yet reclaimed).
    ///
    /// ```
    /// assert_eq!(session_shm::ShmZone::new("z", 1024).len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether the zone holds no item.
    ///
    /// ```
    /// assert!(session_shm::ShmZone::new("z", 1024).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of `key` and its shard, locked.
    fn shard(&self, key: &str) -> (u64, MutexGuard<'_, Shard>) {
        let hash = self.inner.hasher.hash_one(key);
        let shards = &self.inner.shards;
        // bits the table does not use for its buckets (low) nor its control bytes (top 7)
        let index = (hash >> 32) as usize & (shards.len() - 1);
        (hash, lock(&shards[index]))
    }

    /// `dict:set(key, slot)`: stores `slot`, evicting least-recently-used items until it fits.
    #[cfg(test)]
    pub(crate) fn insert(&self, key: &str, slot: Slot, now: i64) -> Result<(), NoMemory> {
        let (hash, mut shard) = self.shard(key);
        shard.insert(hash, key, slot, now)
    }

    /// `dict:set(key, value, ttl)` for a record expiring at `exp`: its blocks are filled
    /// under the shard's lock, from those of the records it evicts.
    pub(crate) fn insert_record(
        &self,
        key: &str,
        value: &str,
        exp: i64,
        now: i64,
    ) -> Result<(), NoMemory> {
        let weight = ITEM_OVERHEAD + key.len() as u64 + Blocks::weight_of(value.len());
        let (hash, mut shard) = self.shard(key);
        shard.insert_with(hash, key, weight, now, |spare| {
            Slot::new(Item::Record(Blocks::with_spare(value, spare)), Some(exp))
        })
    }

    /// Reads the live item at `key` (marking it recently used); an expired one is freed.
    pub(crate) fn read<R>(&self, key: &str, now: i64, f: impl FnOnce(&Slot) -> R) -> Option<R> {
        let (hash, mut shard) = self.shard(key);
        let i = shard.live(hash, key, now)?;
        shard.touch(i);
        Some(f(&shard.node(i).slot))
    }

    /// Whether a live item is at `key`.
    pub(crate) fn contains(&self, key: &str, now: i64) -> bool {
        let (hash, mut shard) = self.shard(key);
        shard.live(hash, key, now).is_some()
    }

    /// Removes the item at `key`.
    pub(crate) fn remove(&self, key: &str) {
        let (hash, mut shard) = self.shard(key);
        if let Some(i) = shard.find(hash, key) {
            shard.remove(i);
        }
    }

    /// An atomic read-modify-write of `key`: `f` gets the live item (taken out of the zone)
    /// and returns what to store there (`None`: nothing). The shard stays locked throughout.
    pub(crate) fn update(
        &self,
        key: &str,
        now: i64,
        f: impl FnOnce(Option<Slot>) -> Option<Slot>,
    ) -> Result<(), NoMemory> {
        let (hash, mut shard) = self.shard(key);
        let current = shard.live(hash, key, now).map(|i| shard.remove(i));
        match f(current) {
            Some(slot) => shard.insert(hash, key, slot, now),
            None => Ok(()),
        }
    }

    /// Runs `f` on the item at `key`, live or not, without touching it (tests).
    #[cfg(test)]
    pub(crate) fn peek<R>(&self, key: &str, f: impl FnOnce(&Slot, u64) -> R) -> Option<R> {
        let (hash, shard) = self.shard(key);
        let i = shard.find(hash, key)?;
        let node = shard.node(i);
        Some(f(&node.slot, node.weight))
    }

    #[cfg(test)]
    pub(crate) fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // Every mutation leaves the shard consistent before any code that could panic runs, so
    // a poisoned lock holds a usable shard.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod model_tests {
    //! The zone against a plain model of an LRU dictionary: a list of (key, weight, expiry)
    //! from most to least recently used.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert { key: u8, len: usize, ttl: i64 },
        Read(u8),
        Remove(u8),
        Tick(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..24, 0usize..1400, 1i64..6).prop_map(|(key, len, ttl)| Op::Insert { key, len, ttl }),
            3 => (0u8..24).prop_map(Op::Read),
            1 => (0u8..24).prop_map(Op::Remove),
            1 => (0i64..3).prop_map(Op::Tick),
        ]
    }

    /// Keys from most to least recently used, walking the shard's list both ways.
    fn order(zone: &ShmZone) -> Vec<String> {
        let shard = lock(&zone.inner.shards[0]);
        let mut forward = Vec::new();
        let mut i = shard.head;
        while i != NIL {
            forward.push(String::from_utf8_lossy(shard.node(i).key.as_bytes()).into_owned());
            i = shard.node(i).next;
        }
        let mut backward = Vec::new();
        let mut i = shard.tail;
        while i != NIL {
            backward.push(String::from_utf8_lossy(shard.node(i).key.as_bytes()).into_owned());
            i = shard.node(i).prev;
        }
        backward.reverse();
        assert_eq!(forward, backward, "links agree both ways");
        assert_eq!(forward.len(), shard.len(), "table and list agree");
        forward
    }

    proptest! {
        #[test]
        fn behaves_as_an_lru_dictionary(ops in proptest::collection::vec(op(), 1..200)) {
            const CAPACITY: u64 = 6000;
            let zone = ShmZone::new("model", CAPACITY);
            // (key, weight, exp, value), most recent first
            let mut model: Vec<(String, u64, i64, String)> = Vec::new();
            let mut now = 0;
            let mut serial = 0u8;
            for op in ops {
                match op {
                    Op::Insert { key, len, ttl } => {
                        let key = format!("k{key}");
                        serial += 1;
                        let value: String = std::iter::repeat_n(char::from(b'a' + serial % 26), len).collect();
                        let slot = Slot::new(Item::Record(Blocks::new(&value)), Some(now + ttl));
                        let weight = slot.weight(&key);
                        // records are stored from the spare blocks of evicted ones
                        let stored = zone.insert_record(&key, &value, now + ttl, now);
                        model.retain(|(k, ..)| *k != key);
                        if weight > CAPACITY {
                            prop_assert!(stored.is_err());
                        } else {
                            prop_assert!(stored.is_ok());
                            for _ in 0..EXPIRE_ON_WRITE {
                                match model.last() {
                                    Some((_, _, exp, _)) if *exp <= now => { model.pop(); }
                                    _ => break,
                                }
                            }
                            while model.iter().map(|m| m.1).sum::<u64>() + weight > CAPACITY {
                                model.pop();
                            }
                            model.insert(0, (key, weight, now + ttl, value));
                        }
                    }
                    Op::Read(key) => {
                        let key = format!("k{key}");
                        let got = zone.read(&key, now, |slot| match &slot.item {
                            Item::Record(blocks) => (slot.exp, blocks.to_string()),
                            Item::List { .. } => (None, None),
                        });
                        let at = model.iter().position(|(k, ..)| *k == key);
                        match at {
                            Some(at) if model[at].2 > now => {
                                prop_assert_eq!(got, Some((Some(model[at].2), Some(model[at].3.clone()))));
                                let item = model.remove(at);
                                model.insert(0, item);
                            }
                            Some(at) => {
                                prop_assert_eq!(got, None);
                                model.remove(at);
                            }
                            None => prop_assert_eq!(got, None),
                        }
                    }
                    Op::Remove(key) => {
                        let key = format!("k{key}");
                        zone.remove(&key);
                        model.retain(|(k, ..)| *k != key);
                    }
                    Op::Tick(by) => now += by,
                }
                let expected: Vec<String> = model.iter().map(|m| m.0.clone()).collect();
                prop_assert_eq!(order(&zone), expected);
                prop_assert_eq!(zone.used_bytes(), model.iter().map(|m| m.1).sum::<u64>());
                prop_assert!(zone.used_bytes() <= CAPACITY);
            }
        }
    }
}
