//! The store: docs/storage.md §8.4–§8.7 command sequences over the pool.

use std::fmt;
use std::sync::Arc;

use session_net::conn::{Conn, Server};
use session_net::pool::{ConnPool, Fail};
use session_net::with_conn;
use session_storage::{
    Backend, Capability, ExpiryClock, KeyLayout, Metadata, SessionIndex, SetRequest, Storage,
    StorageError, collection,
};

use crate::client::Commands;
use crate::config::DshmConfig;
use crate::escape::escape_key;
use crate::protocol::MAX_VALUE_LEN;

/// The largest exptime the server parses (a Java `int`); larger ones are refused before
/// anything is sent.
const MAX_EXPTIME: u64 = 2_147_483_647;

/// The `ERROR` code of a `get` miss.
const NOT_FOUND: &str = "not_found";

/// A DSHM (ngx-distributed-shm) session store, wire-compatible with lua-resty-session
/// 4.1.5's `dshm` storage: the same escaped keys, values, exptimes and metadata collections,
/// so a Lua service and a Rust service can share one DSHM server.
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
/// use session_dshm::{DshmConfig, DshmStorage};
/// use session_storage::{SetRequest, Storage};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let store = DshmStorage::connect(DshmConfig::default().with_prefix("sessions")).await?;
/// let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// store.set(&SetRequest::new("session", key, "[\"x\"]", 3600, 1_700_000_000)).await?;
/// assert_eq!(store.get("session", key, 1_700_000_000).await?.as_deref(), Some("[\"x\"]"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DshmStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: ConnPool,
    layout: KeyLayout,
}

impl fmt::Debug for DshmStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DshmStorage")
            .field("target", &self.inner.pool.server().target().to_string())
            .field("layout", &self.inner.layout)
            .field("pool", &self.inner.pool.status())
            .finish()
    }
}

/// An `ERROR <code>` line as a storage error.
fn server_error(server: &Server, what: &str, code: &str) -> StorageError {
    StorageError::backend(format!("{server}: {what}: ERROR {code}"))
}

fn exptime(secs: u64, what: &str) -> Result<u64, StorageError> {
    if secs > MAX_EXPTIME {
        return Err(StorageError::invalid_input(format!(
            "dshm {what} of {secs} s exceeds the server's limit of {MAX_EXPTIME} s"
        )));
    }
    Ok(secs)
}

/// Everything a `set` sends, worked out before any I/O (so a bad argument sends nothing).
struct SetPlan {
    record: String,
    ttl: u64,
    old: Option<(String, u64)>,
    collections: Vec<String>,
}

impl Inner {
    fn wire_record(&self, name: &str, key: &str) -> String {
        escape_key(&self.layout.record_key(name, key))
    }

    fn wire_collections(&self, name: &str, metadata: Option<&Metadata>) -> Vec<String> {
        metadata
            .into_iter()
            .flat_map(Metadata::pairs)
            .map(|(audience, subject)| {
                escape_key(&self.layout.metadata_key(name, audience, subject))
            })
            .collect()
    }

    fn plan_set(&self, req: &SetRequest<'_>) -> Result<SetPlan, StorageError> {
        if req.value.is_empty() {
            return Err(StorageError::invalid_input(
                "dshm cannot store an empty value (the server refuses a zero length)",
            ));
        }
        if req.value.len() > MAX_VALUE_LEN {
            return Err(StorageError::invalid_input(format!(
                "dshm value of {} bytes exceeds the {MAX_VALUE_LEN}-byte limit",
                req.value.len()
            )));
        }
        let ttl = exptime(req.ttl, "ttl")?;
        let old = match req.old_key {
            Some(old) => Some((
                self.wire_record(req.name, old),
                exptime(req.stale_ttl, "stale_ttl")?,
            )),
            None => None,
        };
        let collections = self.wire_collections(req.name, req.metadata);
        if !collections.is_empty() {
            // The entry's expiry must fit the collection encoding (40 bits).
            collection::encode_exp(req.expires_at())?;
        }
        Ok(SetPlan {
            record: self.wire_record(req.name, req.key),
            ttl,
            old,
            collections,
        })
    }

    /// docs/storage.md §8.4.
    async fn set(&self, conn: &mut Conn, req: &SetRequest<'_>, plan: &SetPlan) -> Result<(), Fail> {
        conn.set(&plan.record, plan.ttl, req.value.as_bytes())
            .await?;
        if let Some((old, stale_ttl)) = &plan.old {
            // Unconditional (it may lengthen a shorter life); the answer is ignored.
            let _ = conn.touch(old, *stale_ttl).await?;
        }
        for m in &plan.collections {
            update(conn, m, req.key, req.expires_at(), req.now).await?;
            if let Some(old) = req.old_key {
                update(conn, m, old, 0, req.now).await?;
            }
        }
        Ok(())
    }

    /// docs/storage.md §8.5.
    async fn get(&self, conn: &mut Conn, record: &str) -> Result<Option<String>, Fail> {
        match conn.get(record).await? {
            Ok(v) => Ok(Some(v)),
            // The Lua client reports this as "protocol_error" (docs/storage.md §8.6); a miss here.
            Err(code) if code == NOT_FOUND => Ok(None),
            Err(code) => Err(server_error(self.pool.server(), "get failed", &code).into()),
        }
    }

    /// docs/storage.md §8.5: `delete`, then per collection a read-modify-write removing `key`.
    async fn delete(
        &self,
        conn: &mut Conn,
        record: &str,
        key: &str,
        collections: &[String],
        now: i64,
    ) -> Result<(), Fail> {
        if let Err(code) = conn.delete(record).await? {
            return Err(server_error(self.pool.server(), "delete failed", &code).into());
        }
        for m in collections {
            update(conn, m, key, 0, now).await?;
        }
        Ok(())
    }

    /// docs/storage.md §8.5: `get M`, parsed without write-back.
    async fn read_metadata(
        &self,
        conn: &mut Conn,
        m: &str,
        now: i64,
    ) -> Result<SessionIndex, Fail> {
        match conn.get(m).await? {
            Ok(v) => Ok(collection::parse(v.as_bytes(), now)?),
            Err(code) if code == NOT_FOUND => Ok(SessionIndex::new()),
            Err(code) => {
                Err(server_error(self.pool.server(), "get of a collection failed", &code).into())
            }
        }
    }
}

/// docs/storage.md §8.7 `update(M, key, exp)`: `get M` (any error, a miss or a collection that does
/// not parse count as empty), set or remove `key`, then `set M (max_exp - now)` of the live
/// entries, or `delete M` when none is left. Answers are ignored as in the reference; only a
/// connection failure is an error. Not concurrency-safe, exactly like the reference: two
/// writers of one collection can lose each other's change.
async fn update(conn: &mut Conn, m: &str, key: &str, exp: i64, now: i64) -> Result<(), Fail> {
    let mut map = match conn.get(m).await? {
        Ok(v) => collection::parse(v.as_bytes(), now).unwrap_or_default(),
        Err(_) => SessionIndex::new(),
    };
    if exp > 0 {
        map.insert(key.to_owned(), exp);
    } else {
        map.remove(key);
    }
    if map.is_empty() {
        let _ = conn.delete(m).await?;
        return Ok(());
    }
    let serialised = collection::encode_live(&map)?;
    let max_exp = map.values().copied().fold(now, i64::max);
    let ttl = u64::try_from(max_exp.saturating_sub(now))
        .unwrap_or(0)
        .min(MAX_EXPTIME);
    conn.set(m, ttl, serialised.as_bytes()).await?;
    Ok(())
}

impl DshmStorage {
    /// Builds the store from its configuration. No connection is opened until first use.
    ///
    /// ```
    /// use session_dshm::{DshmConfig, DshmStorage};
    /// let store = DshmStorage::from_config(DshmConfig::default().with_prefix("sessions"))?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the configuration is
    /// invalid (see [`DshmConfig::validate`]).
    pub fn from_config(config: DshmConfig) -> Result<Self, StorageError> {
        config.validate()?;
        let server = Server::new("dshm", "the DSHM protocol", config.target());
        let pool = ConnPool::new(server, None, config.limits())?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                layout: KeyLayout::new(config.prefix, config.suffix),
            }),
        })
    }

    /// Builds the store from a URL (see [`DshmConfig::from_url`]).
    ///
    /// ```
    /// let store = session_dshm::DshmStorage::from_url("dshm://127.0.0.1:4321?prefix=sessions")?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) for a malformed URL or an
    /// invalid configuration.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_config(DshmConfig::from_url(url)?)
    }

    /// Builds the store and checks that the server answers (see [`ping`](Self::ping)).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), session_storage::StorageError> {
    /// let store = session_dshm::DshmStorage::connect(Default::default()).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A configuration error, or the error of the first request (for example
    /// [`ErrorKind::Unavailable`](session_storage::ErrorKind::Unavailable)).
    pub async fn connect(config: DshmConfig) -> Result<Self, StorageError> {
        let store = Self::from_config(config)?;
        store.ping().await?;
        Ok(store)
    }

    /// Checks that the server speaks DSHM: DSHM has no ping command, so this sends
    /// `get session-dshm-ping` (a key without `:`, in the server's default region, that
    /// nothing writes) and accepts a value or `ERROR not_found`. Nothing is written.
    ///
    /// ```no_run
    /// # async fn demo(store: session_dshm::DshmStorage) -> Result<(), session_storage::StorageError> {
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When the server cannot be reached, does not answer in time, or answers something
    /// other than DSHM.
    pub async fn ping(&self) -> Result<(), StorageError> {
        let pool = &self.inner.pool;
        with_conn!(pool, "ping", |conn| async {
            match conn.get("session-dshm-ping").await? {
                Ok(_) => Ok(()),
                Err(code) if code == NOT_FOUND => Ok(()),
                Err(code) => Err(server_error(pool.server(), "ping failed", &code).into()),
            }
        })
    }

    /// The key layout (prefix and suffix) of this store's keys, before escaping.
    ///
    /// ```
    /// let store = session_dshm::DshmStorage::from_url("dshm://127.0.0.1?prefix=sessions")?;
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
    /// let store = session_dshm::DshmStorage::from_url("dshm://127.0.0.1?operation_timeout=1500")?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_millis(1500));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn operation_timeout(&self) -> std::time::Duration {
        self.inner.pool.deadline().limit()
    }

    /// The key a record is stored under on the wire: the layout's record key, escaped per
    /// `:`-separated piece (docs/storage.md §5.5).
    ///
    /// ```
    /// let store = session_dshm::DshmStorage::from_url("dshm://127.0.0.1?prefix=sessions")?;
    /// assert_eq!(store.record_wire_key("session", "K"), "sessions:session:K");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn record_wire_key(&self, name: &str, key: &str) -> String {
        self.inner.wire_record(name, key)
    }

    /// The key a metadata collection is stored under on the wire, escaped (docs/storage.md §5.5).
    ///
    /// ```
    /// let store = session_dshm::DshmStorage::from_url("dshm://127.0.0.1")?;
    /// assert_eq!(store.metadata_wire_key("session", "ZGVmYXVsdA", "a@b"), "session:ZGVmYXVsdA:a%40b");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn metadata_wire_key(&self, name: &str, audience: &str, subject: &str) -> String {
        escape_key(&self.inner.layout.metadata_key(name, audience, subject))
    }
}

/// Selected by `storage = "dshm"`, options in the `dshm` block.
///
/// ```
/// use session_dshm::{DshmConfig, DshmStorage};
/// use session_storage::Backend;
/// assert!(DshmStorage::is_named("dshm"));
/// let store = <DshmStorage as Backend>::from_config(DshmConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for DshmStorage {
    const NAME: &'static str = "dshm";
    type Config = DshmConfig;

    fn from_config(config: DshmConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

impl Storage for DshmStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let plan = self.inner.plan_set(req)?;
        with_conn!(&self.inner.pool, "set", |conn| self
            .inner
            .set(conn, req, &plan))
    }

    async fn get(&self, name: &str, key: &str, _now: i64) -> Result<Option<String>, StorageError> {
        let record = self.inner.wire_record(name, key);
        with_conn!(&self.inner.pool, "get", |conn| self
            .inner
            .get(conn, &record))
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let record = self.inner.wire_record(name, key);
        let collections = self.inner.wire_collections(name, metadata);
        with_conn!(&self.inner.pool, "delete", |conn| self.inner.delete(
            conn,
            &record,
            key,
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
        let m = escape_key(&self.inner.layout.metadata_key(name, audience, subject));
        with_conn!(&self.inner.pool, "read_metadata", |conn| self
            .inner
            .read_metadata(conn, &m, now))
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Server)
    }
}
