//! The store: docs/storage.md §7 command sequences over the pool.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use session_net::conn::{Conn, ConnError, Server};
use session_net::pool::{ConnPool, Fail, PooledConn};
use session_net::with_conn;
use session_storage::{
    Backend, Capability, ExpiryClock, KeyLayout, Metadata, SessionIndex, SetRequest, Storage,
    StorageError, collection,
};

use crate::client::{Answer, Commands};
use crate::config::MemcachedConfig;
use crate::escape::{MAX_KEY_LEN, escape_key};
use crate::protocol::{Item, Status};

/// A memcached session store, wire-compatible with lua-resty-session 4.1.5's `memcached`
/// storage: the same escaped keys, values, exptimes and appended metadata collections, so a
/// Lua service and a Rust service can share one memcached.
///
/// Cheap to clone: clones share one connection pool. Built without I/O by
/// [`from_config`](Self::from_config) or [`from_url`](Self::from_url); connections are
/// opened on first use. [`connect`](Self::connect) also checks that the server answers.
///
/// Every step is bounded by the configured timeouts: waiting for a pooled connection and
/// opening one by `connect_timeout`, each write by `send_timeout`, each read by
/// `read_timeout`. A failure gives [`ErrorKind::Unavailable`](session_storage::ErrorKind)
/// (refused, reset, closed) or [`ErrorKind::Timeout`](session_storage::ErrorKind); the
/// failed connection and every idle one are dropped, so the pool recovers by itself when the
/// server is back.
///
/// ```no_run
/// use session_memcached::{MemcachedConfig, MemcachedStorage};
/// use session_storage::{SetRequest, Storage};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let store = MemcachedStorage::connect(MemcachedConfig::default().with_prefix("sessions")).await?;
/// let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// store.set(&SetRequest::new("session", key, "[\"x\"]", 3600, 1_700_000_000)).await?;
/// assert_eq!(store.get("session", key, 1_700_000_000).await?.as_deref(), Some("[\"x\"]"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemcachedStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: ConnPool,
    layout: KeyLayout,
    compaction_probability: f64,
}

impl fmt::Debug for MemcachedStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedStorage")
            .field("target", &self.inner.pool.server().target().to_string())
            .field("layout", &self.inner.layout)
            .field("compaction_probability", &self.inner.compaction_probability)
            .field("tls", &self.inner.pool.is_tls())
            .field("pool", &self.inner.pool.status())
            .finish()
    }
}

/// A server error line (`ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...`) as a storage error.
fn server_error(server: &Server, what: &str, line: &str) -> StorageError {
    StorageError::backend(format!("{server}: {what}: {line}"))
}

/// Whether to compact now, with probability `p` (no cryptographic quality needed).
fn chance(p: f64) -> bool {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 exactly
    let x = (h.finish() >> 11) as f64 / (1_u64 << 53) as f64;
    x < p
}

fn wire(key: &str) -> Result<String, StorageError> {
    let escaped = escape_key(key);
    if escaped.len() > MAX_KEY_LEN {
        return Err(StorageError::invalid_input(format!(
            "memcached key is {} bytes after escaping; memcached accepts at most {MAX_KEY_LEN}",
            escaped.len()
        )));
    }
    Ok(escaped)
}

/// One collection update of a `set`.
struct PairPlan {
    key: String,
    entry: String,
    compact: bool,
}

/// Everything a `set` sends, worked out before any I/O (so a bad argument sends nothing).
struct SetPlan {
    record: String,
    old: Option<String>,
    tombstone: Option<String>,
    pairs: Vec<PairPlan>,
}

impl Inner {
    fn plan_set(&self, req: &SetRequest<'_>) -> Result<SetPlan, StorageError> {
        let record = wire(&self.layout.record_key(req.name, req.key))?;
        let old = req
            .old_key
            .map(|old| wire(&self.layout.record_key(req.name, old)))
            .transpose()?;
        let mut pairs = Vec::new();
        if let Some(meta) = req.metadata {
            let entry = collection::encode_entry(req.key, req.expires_at())?;
            for (audience, subject) in meta.pairs() {
                pairs.push(PairPlan {
                    key: wire(&self.layout.metadata_key(req.name, audience, subject))?,
                    entry: entry.clone(),
                    compact: chance(self.compaction_probability),
                });
            }
        }
        Ok(SetPlan {
            record,
            old,
            tombstone: req.old_key.map(collection::tombstone),
            pairs,
        })
    }

    fn stored(&self, answer: Answer<Status>, what: &str) -> Result<(), Fail> {
        match answer {
            Ok(Status::Stored) => Ok(()),
            Ok(status) => Err(StorageError::backend(format!(
                "{}: {what}: {status}",
                self.pool.server()
            ))
            .into()),
            Err(line) => Err(server_error(self.pool.server(), what, &line).into()),
        }
    }

    /// docs/storage.md §7.2.
    async fn set(&self, conn: &mut Conn, req: &SetRequest<'_>, plan: &SetPlan) -> Result<(), Fail> {
        let answer = conn
            .store("set", &plan.record, 0, req.ttl, req.value.as_bytes(), None)
            .await?;
        self.stored(answer, "set of the record failed")?;
        if let Some(old) = &plan.old {
            // Unconditional (it may lengthen a shorter life); NOT_FOUND is ignored.
            let _ = conn.touch(old, req.stale_ttl).await?;
        }
        for pair in &plan.pairs {
            // Exptime 0: the collection never expires until a compaction gives it one.
            let added = conn
                .store("add", &pair.key, 0, 0, pair.entry.as_bytes(), None)
                .await?;
            if added != Ok(Status::Stored) {
                let _ = conn
                    .store("append", &pair.key, 0, 0, pair.entry.as_bytes(), None)
                    .await?;
            }
            if let Some(tombstone) = &plan.tombstone {
                let _ = conn
                    .store("append", &pair.key, 0, 0, tombstone.as_bytes(), None)
                    .await?;
            }
            if pair.compact {
                compact(conn, &pair.key, req.now).await?;
            }
        }
        Ok(())
    }

    /// docs/storage.md §7.3.
    async fn get(&self, conn: &mut Conn, key: &str) -> Result<Option<String>, Fail> {
        match conn.retrieve("get", key).await? {
            Ok(None) => Ok(None),
            Ok(Some(item)) => String::from_utf8(item.data)
                .map(Some)
                .map_err(|_| StorageError::invalid_record("memcached record is not UTF-8").into()),
            Err(line) => Err(server_error(self.pool.server(), "get failed", &line).into()),
        }
    }

    /// docs/storage.md §7.3: `delete`, then per collection a tombstone and a compaction.
    async fn delete(
        &self,
        conn: &mut Conn,
        record: &str,
        tombstone: &str,
        collections: &[String],
        now: i64,
    ) -> Result<(), Fail> {
        let deleted = match conn.delete(record).await? {
            // The reference reports NOT_FOUND as an error; docs/storage.md §4.6 maps it to success.
            Ok(Status::Deleted | Status::NotFound) => Ok(()),
            Ok(status) => Err(StorageError::backend(format!(
                "{}: delete answered {status}",
                self.pool.server()
            ))),
            Err(line) => Err(server_error(self.pool.server(), "delete failed", &line)),
        };
        for key in collections {
            // NOT_STORED (no such collection) is ignored, as is any other answer.
            let _ = conn
                .store("append", key, 0, 0, tombstone.as_bytes(), None)
                .await?;
            compact(conn, key, now).await?;
        }
        Ok(deleted?)
    }

    /// docs/storage.md §7.3: `get M`, parsed without compaction.
    async fn read_metadata(
        &self,
        conn: &mut Conn,
        key: &str,
        now: i64,
    ) -> Result<SessionIndex, Fail> {
        match conn.retrieve("get", key).await? {
            Ok(None) => Ok(SessionIndex::new()),
            Ok(Some(item)) => Ok(collection::parse(&item.data, now)?),
            Err(line) => {
                Err(server_error(self.pool.server(), "get of a collection failed", &line).into())
            }
        }
    }
}

/// docs/storage.md §7.4: `gets M`, parse, then `cas` the live entries with exptime
/// `max_exp - now`, or `delete M` when nothing is live. Misses, server errors, a collection
/// that does not parse and a failed `cas` end it quietly, as in the reference; only a
/// connection failure is an error.
async fn compact(conn: &mut Conn, key: &str, now: i64) -> Result<(), ConnError> {
    let Ok(Some(Item {
        data,
        cas: Some(cas),
        ..
    })) = conn.retrieve("gets", key).await?
    else {
        return Ok(());
    };
    let Ok(live) = collection::parse(&data, now) else {
        return Ok(());
    };
    let max_exp = live.values().copied().fold(now, i64::max);
    match u64::try_from(max_exp.saturating_sub(now)) {
        Ok(ttl) if ttl > 0 => {
            let Ok(rebuilt) = collection::encode_live(&live) else {
                return Ok(());
            };
            let _ = conn
                .store("cas", key, 0, ttl, rebuilt.as_bytes(), Some(cas))
                .await?;
        }
        _ => {
            let _ = conn.delete(key).await?;
        }
    }
    Ok(())
}

impl MemcachedStorage {
    /// Builds the store from its configuration. No connection is opened until first use.
    ///
    /// ```
    /// use session_memcached::{MemcachedConfig, MemcachedStorage};
    /// let store = MemcachedStorage::from_config(MemcachedConfig::default().with_prefix("sessions"))?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the configuration is
    /// invalid (see [`MemcachedConfig::validate`]) or, with `ssl = true`, when the TLS
    /// settings cannot be used (an unreadable or empty `ssl_trusted_certificate`, a
    /// `server_name` that is not a valid TLS name).
    pub fn from_config(config: MemcachedConfig) -> Result<Self, StorageError> {
        config.validate()?;
        let server = Server::new("memcached", "the text protocol", config.target());
        let pool = ConnPool::new(server, config.tls()?, config.limits())?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                layout: KeyLayout::new(config.prefix.clone(), config.suffix.clone()),
                compaction_probability: config.compaction_probability(),
            }),
        })
    }

    /// Builds the store from a URL (see [`MemcachedConfig::from_url`] for the forms).
    ///
    /// ```
    /// let store = session_memcached::MemcachedStorage::from_url("memcache://127.0.0.1:11211?prefix=sessions")?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) for a malformed URL or an
    /// invalid configuration.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_config(MemcachedConfig::from_url(url)?)
    }

    /// Builds the store and checks that memcached answers (`version`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), session_storage::StorageError> {
    /// let store = session_memcached::MemcachedStorage::connect(Default::default()).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A configuration error, or the error of the first request (for example
    /// [`ErrorKind::Unavailable`](session_storage::ErrorKind::Unavailable)).
    pub async fn connect(config: MemcachedConfig) -> Result<Self, StorageError> {
        let store = Self::from_config(config)?;
        store.version().await?;
        Ok(store)
    }

    /// The server's version (the `version` command), through the pool.
    ///
    /// ```no_run
    /// # async fn demo(store: session_memcached::MemcachedStorage) -> Result<(), session_storage::StorageError> {
    /// let version = store.version().await?;
    /// assert!(!version.is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When memcached cannot be reached or does not answer in time.
    pub async fn version(&self) -> Result<String, StorageError> {
        let pool = &self.inner.pool;
        with_conn!(pool, "ping", |conn| async {
            match conn.version().await? {
                Ok(v) => Ok(v),
                Err(line) => Err(server_error(pool.server(), "version failed", &line).into()),
            }
        })
    }

    /// Checks that memcached answers (the `version` command), through the pool.
    ///
    /// ```no_run
    /// # async fn demo(store: session_memcached::MemcachedStorage) -> Result<(), session_storage::StorageError> {
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`version`](Self::version).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.version().await.map(drop)
    }

    /// The key layout (prefix and suffix) of this store's keys, before escaping.
    ///
    /// ```
    /// let store = session_memcached::MemcachedStorage::from_url("memcache://127.0.0.1?prefix=sessions")?;
    /// assert_eq!(store.layout().record_key("session", "K"), "sessions:session:K");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn layout(&self) -> &KeyLayout {
        &self.inner.layout
    }

    /// The longest any one operation may take before it fails with a `Timeout` error:
    /// `operation_timeout`, 5 s by default, covering the pool checkout, the connect and every
    /// write and read (the Lua socket timeouts still bound each step).
    ///
    /// ```
    /// let store = session_memcached::MemcachedStorage::from_url("memcache://127.0.0.1?operation_timeout=1500")?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_millis(1500));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn operation_timeout(&self) -> std::time::Duration {
        self.inner.pool.deadline().limit()
    }

    /// The key a record is stored under on the wire: the layout's record key, escaped
    /// (docs/storage.md §5.5).
    ///
    /// ```
    /// let store = session_memcached::MemcachedStorage::from_url("memcache://127.0.0.1?prefix=sessions")?;
    /// assert_eq!(store.record_wire_key("session", "K"), "sessions%3Asession%3AK");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn record_wire_key(&self, name: &str, key: &str) -> String {
        escape_key(&self.inner.layout.record_key(name, key))
    }

    /// The key a metadata collection is stored under on the wire, escaped (docs/storage.md §5.5).
    ///
    /// ```
    /// let store = session_memcached::MemcachedStorage::from_url("memcache://127.0.0.1")?;
    /// assert_eq!(store.metadata_wire_key("session", "ZGVmYXVsdA", "a@b"), "session%3AZGVmYXVsdA%3Aa%40b");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn metadata_wire_key(&self, name: &str, audience: &str, subject: &str) -> String {
        escape_key(&self.inner.layout.metadata_key(name, audience, subject))
    }

    /// Checks a connection out of the pool, for raw commands (see [`MemcachedConnection`]).
    ///
    /// ```no_run
    /// # async fn demo(store: session_memcached::MemcachedStorage) -> Result<(), session_storage::StorageError> {
    /// let mut conn = store.connection().await?;
    /// let item = conn.get(&store.record_wire_key("session", "K")).await?;
    /// # let _ = item; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When no connection can be had within the connect timeout or `operation_timeout`.
    pub async fn connection(&self) -> Result<MemcachedConnection, StorageError> {
        let pool = &self.inner.pool;
        let conn = pool
            .deadline()
            .run("connection", pool.checkout(), || pool.drop_idle())
            .await?;
        Ok(MemcachedConnection {
            conn,
            server: self.inner.pool.server().clone(),
        })
    }
}

/// Selected by `storage = "memcached"` (or `"memcache"`), options in the `memcached` block.
///
/// ```
/// use session_memcached::{MemcachedConfig, MemcachedStorage};
/// use session_storage::Backend;
/// assert!(MemcachedStorage::is_named("memcache"));
/// let store = <MemcachedStorage as Backend>::from_config(MemcachedConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for MemcachedStorage {
    const NAME: &'static str = "memcached";
    const ALIASES: &'static [&'static str] = &["memcache"];
    type Config = MemcachedConfig;

    fn from_config(config: MemcachedConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

impl Storage for MemcachedStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let plan = self.inner.plan_set(req)?;
        let inner = &*self.inner;
        with_conn!(&inner.pool, "set", |conn| inner.set(conn, req, &plan))
    }

    async fn get(&self, name: &str, key: &str, _now: i64) -> Result<Option<String>, StorageError> {
        let record = wire(&self.inner.layout.record_key(name, key))?;
        let inner = &*self.inner;
        with_conn!(&inner.pool, "get", |conn| inner.get(conn, &record))
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let record = wire(&self.inner.layout.record_key(name, key))?;
        let collections = metadata
            .into_iter()
            .flat_map(Metadata::pairs)
            .map(|(audience, subject)| {
                wire(&self.inner.layout.metadata_key(name, audience, subject))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tombstone = collection::tombstone(key);
        let inner = &*self.inner;
        with_conn!(&inner.pool, "delete", |conn| inner.delete(
            conn,
            &record,
            &tombstone,
            &collections,
            now
        ))
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        let key = wire(&self.inner.layout.metadata_key(name, audience, subject))?;
        let inner = &*self.inner;
        with_conn!(&inner.pool, "read_metadata", |conn| inner
            .read_metadata(conn, &key, now))
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Server)
    }
}

/// A connection checked out of a [`MemcachedStorage`]'s pool, for raw text-protocol commands
/// (inspection, migration, tests). Keys are **wire keys**, already escaped (see
/// [`MemcachedStorage::record_wire_key`]); flags are always 0, as the reference writes them.
/// It goes back to the pool when dropped; after a failed command it is closed instead.
///
/// ```no_run
/// # async fn demo(store: session_memcached::MemcachedStorage) -> Result<(), session_storage::StorageError> {
/// use session_memcached::Status;
/// let mut conn = store.connection().await?;
/// assert_eq!(conn.set("some%3Akey", 60, b"value").await?, Status::Stored);
/// assert_eq!(conn.get("some%3Akey").await?.map(|i| i.data), Some(b"value".to_vec()));
/// # Ok(()) }
/// ```
pub struct MemcachedConnection {
    conn: PooledConn,
    server: Server,
}

impl fmt::Debug for MemcachedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedConnection")
            .field("target", &self.server.to_string())
            .finish_non_exhaustive()
    }
}

impl MemcachedConnection {
    fn check(key: &str) -> Result<(), StorageError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StorageError::invalid_input(
                "memcached keys are 1 to 250 printable ASCII bytes without spaces",
            ));
        }
        Ok(())
    }

    fn answer<T>(&self, r: Result<Answer<T>, ConnError>, what: &str) -> Result<T, StorageError> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(line)) => Err(server_error(&self.server, what, &line)),
            Err(e) => Err(e.into_storage(&self.server)),
        }
    }

    /// `get <key>`: the item, or `None` on a miss.
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// let item = conn.get("sessions%3Asession%3AK").await?;
    /// # let _ = item; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn get(&mut self, key: &str) -> Result<Option<Item>, StorageError> {
        Self::check(key)?;
        let r = self.conn.retrieve("get", key).await;
        self.answer(r, "get failed")
    }

    /// `gets <key>`: the item with its CAS unique, or `None` on a miss.
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// let cas = conn.gets("k").await?.and_then(|item| item.cas);
    /// # let _ = cas; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn gets(&mut self, key: &str) -> Result<Option<Item>, StorageError> {
        Self::check(key)?;
        let r = self.conn.retrieve("gets", key).await;
        self.answer(r, "gets failed")
    }

    async fn store(
        &mut self,
        cmd: &str,
        key: &str,
        exptime: u64,
        data: &[u8],
        cas: Option<u64>,
    ) -> Result<Status, StorageError> {
        Self::check(key)?;
        let r = self.conn.store(cmd, key, 0, exptime, data, cas).await;
        self.answer(r, "storage command failed")
    }

    /// `set <key> 0 <exptime> <len>`.
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// conn.set("k", 60, b"v").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn set(
        &mut self,
        key: &str,
        exptime: u64,
        data: &[u8],
    ) -> Result<Status, StorageError> {
        self.store("set", key, exptime, data, None).await
    }

    /// `add <key> 0 <exptime> <len>` (`NotStored` when the key exists).
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// let status = conn.add("k", 0, b"v").await?;
    /// # let _ = status; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn add(
        &mut self,
        key: &str,
        exptime: u64,
        data: &[u8],
    ) -> Result<Status, StorageError> {
        self.store("add", key, exptime, data, None).await
    }

    /// `append <key> 0 0 <len>` (`NotStored` when the key is missing).
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// let status = conn.append("k", b"more").await?;
    /// # let _ = status; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn append(&mut self, key: &str, data: &[u8]) -> Result<Status, StorageError> {
        self.store("append", key, 0, data, None).await
    }

    /// `cas <key> 0 <exptime> <len> <cas>` (`Exists` when the item changed since `gets`).
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// if let Some(cas) = conn.gets("k").await?.and_then(|item| item.cas) {
    ///     conn.cas("k", 60, b"new", cas).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn cas(
        &mut self,
        key: &str,
        exptime: u64,
        data: &[u8],
        cas: u64,
    ) -> Result<Status, StorageError> {
        self.store("cas", key, exptime, data, Some(cas)).await
    }

    /// `touch <key> <exptime>` (`NotFound` when the key is missing).
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// conn.touch("k", 10).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn touch(&mut self, key: &str, exptime: u64) -> Result<Status, StorageError> {
        Self::check(key)?;
        let r = self.conn.touch(key, exptime).await;
        self.answer(r, "touch failed")
    }

    /// `delete <key>` (`Deleted` or `NotFound`).
    ///
    /// ```no_run
    /// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
    /// conn.delete("k").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A connection failure, a server error line or an invalid key.
    pub async fn delete(&mut self, key: &str) -> Result<Status, StorageError> {
        Self::check(key)?;
        let r = self.conn.delete(key).await;
        self.answer(r, "delete failed")
    }
}
