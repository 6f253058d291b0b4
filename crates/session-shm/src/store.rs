//! [`ShmStorage`]: the storage operations of the shm backend on a [`ShmZone`].

use session_storage::collection::{self, parse_into};
use session_storage::{
    Backend, Capability, ExpiryClock, KeyLayout, Metadata, SessionIndex, SetRequest, Storage,
    StorageError,
};

use crate::config::ShmConfig;
use crate::zone::{Item, NoMemory, ShmZone, Slot};

/// The longest key a shared dictionary accepts.
pub const MAX_KEY_LEN: usize = 65_535;
/// A list is not compacted before it holds this many elements.
const MIN_COMPACT_AT: usize = 16;

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
    /// let err = ShmStorage::from_config(config).unwrap_err();
    /// assert_eq!(err.message(), "lua_shared_dict doc-missing is missing");
    /// ```
    pub fn from_config(config: ShmConfig) -> Result<Self, StorageError> {
        let zone = match config.capacity {
            Some(capacity) => ShmZone::declare(&config.zone, capacity),
            None => ShmZone::lookup(&config.zone).ok_or_else(|| {
                StorageError::config(format!("lua_shared_dict {} is missing", config.zone))
            })?,
        };
        Ok(Self::with_zone(zone, config.prefix, config.suffix))
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
        self.zone
            .insert_record(&key, value, exp, now)
            .map_err(no_memory)
    }

    /// Remaining seconds of a live item (`dict.ttl`), `None` if missing or expired.
    fn remaining(&self, key: &str, now: i64) -> Option<Option<i64>> {
        self.zone.read(key, now, |slot| slot.exp.map(|e| e - now))
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
        let stored = self.zone.update(&mkey, now, |current| {
            let (mut elements, exp, compact_at) = match current {
                Some(Slot {
                    item:
                        Item::List {
                            elements,
                            compact_at,
                        },
                    exp,
                }) => (elements, exp, compact_at),
                Some(record) => {
                    result = Err(StorageError::invalid_record("value not a list"));
                    return Some(record);
                }
                None => (Vec::new(), None, MIN_COMPACT_AT),
            };
            elements.extend(push.iter().cloned());
            if !force && elements.len() < compact_at {
                return Some(Slot::new(
                    Item::List {
                        elements,
                        compact_at,
                    },
                    exp,
                ));
            }
            // Compaction (docs/storage.md §9.3): fold every element in order, then rewrite live ones.
            let mut map = SessionIndex::new();
            for element in &elements {
                if let Err(e) = parse_into(&mut map, element.as_bytes(), now) {
                    result = Err(e);
                    return None; // the reference loses the popped entries too
                }
            }
            let Some(max_exp) = map.values().copied().max().filter(|m| *m > now) else {
                result = Ok(Some(map));
                return None;
            };
            let mut live = Vec::with_capacity(map.len());
            for (key, exp) in &map {
                match collection::encode_entry(key, *exp) {
                    Ok(entry) => live.push(entry),
                    Err(e) => {
                        result = Err(e);
                        return None;
                    }
                }
            }
            let compact_at = (live.len() * 2).max(MIN_COMPACT_AT);
            result = Ok(Some(map));
            Some(Slot::new(
                Item::List {
                    elements: live,
                    compact_at,
                },
                Some(max_exp),
            ))
        });
        stored.map_err(no_memory)?;
        result
    }

    /// The raw elements of the list at the metadata key, for layout checks.
    #[cfg(test)]
    fn raw_list(&self, mkey: &str) -> Option<Vec<String>> {
        self.zone
            .peek(mkey, |slot, _| match &slot.item {
                Item::List { elements, .. } => Some(elements.clone()),
                Item::Record(_) => None,
            })
            .flatten()
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
                self.zone
                    .update(&old_key, now, |current| {
                        current.map(|slot| Slot::new(slot.item, Some(stale_exp)))
                    })
                    .map_err(no_memory)?;
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
        Ok(self
            .zone
            .read(&key, now, |slot| match &slot.item {
                Item::Record(value) => value.to_string(),
                Item::List { .. } => None,
            })
            .flatten())
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.zone.remove(&self.layout.record_key(name, key));
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
        if !self.zone.contains(&mkey, now) {
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

/// How configuration selects this store: `storage = "shm"`, with the options
/// block of that name deserialized into [`ShmConfig`].
///
/// ```
/// use session_shm::{ShmConfig, ShmStorage};
/// use session_storage::Backend;
/// assert_eq!(<ShmStorage as Backend>::NAME, "shm");
/// let store = <ShmStorage as Backend>::from_config(ShmConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for ShmStorage {
    const NAME: &'static str = "shm";
    type Config = ShmConfig;

    fn from_config(config: ShmConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

/// The zone's "no memory": the item is larger than a shard of the zone.
fn no_memory(_: NoMemory) -> StorageError {
    StorageError::new(session_storage::ErrorKind::CapacityExceeded, "no memory")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
