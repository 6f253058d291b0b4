//! The store: docs/storage.md §6 command sequences over the pool.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::Object;
use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use session_storage::{
    Backend, Capability, ExpiryClock, KeyLayout, Metadata, SessionIndex, SetRequest, Storage,
    StorageError,
};

use crate::config::{Limits, Mode, RedisConfig};
use crate::error::redis_error;
use crate::pool::{self, Manager, Pool, is_connection_error};
use crate::shared::{Lease, Shared};

/// A Redis session store (single server, Sentinel or Cluster), wire-compatible with
/// lua-resty-session 4.1.5's `redis`, `redis.sentinel` and `redis.cluster` storages.
///
/// Cheap to clone: clones share one connection pool. Built without I/O by
/// [`from_config`](Self::from_config) or [`from_url`](Self::from_url); connections are
/// opened on first use. [`connect`](Self::connect) also checks that the server answers.
///
/// Every operation is bounded: waiting for a pooled connection, opening one and each round trip
/// have their own timeouts (the Lua ones), and the whole call — retry and cluster redirections
/// included — is cut at `operation_timeout` (5 s by default, see
/// [`operation_timeout`](Self::operation_timeout)), giving
/// [`ErrorKind::Timeout`](session_storage::ErrorKind::Timeout); the idle connections are then
/// dropped, so the next call starts on fresh ones.
///
/// ```no_run
/// use session_redis::{RedisConfig, RedisStorage};
/// use session_storage::{SetRequest, Storage};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let store = RedisStorage::connect(RedisConfig::default().with_prefix("sessions")).await?;
/// store.set(&SetRequest::new("session", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "[\"x\"]", 3600, 1_700_000_000)).await?;
/// let value = store.get("session", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 1_700_000_000).await?;
/// assert_eq!(value.as_deref(), Some("[\"x\"]"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStorage {
    inner: Arc<Inner>,
}

struct Inner {
    /// Raw connections ([`RedisStorage::connection`]) and, on Sentinel and Cluster, every
    /// operation's connection.
    pool: Pool,
    /// The connections a single-server store's operations share (see `shared.rs`).
    shared: Option<Shared>,
    layout: KeyLayout,
    mode: Mode,
    limits: Limits,
}

impl fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStorage")
            .field("mode", &self.inner.mode)
            .field("layout", &self.inner.layout)
            .field("limits", &self.inner.limits)
            .field("pool", &self.inner.pool.status())
            .field(
                "shared_connections",
                &self.inner.shared.as_ref().map(Shared::open),
            )
            .finish()
    }
}

/// A connection checked out of a [`RedisStorage`]'s pool, for raw commands through the
/// re-exported [`redis`] crate. It goes back to the pool when dropped.
///
/// ```no_run
/// # async fn demo(store: session_redis::RedisStorage) -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = store.connection().await?;
/// let pong: String = session_redis::redis::cmd("PING").query_async(&mut conn).await?;
/// assert_eq!(pong, "PONG");
/// # Ok(()) }
/// ```
pub struct RedisConnection(Object<Manager>);

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection").finish_non_exhaustive()
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.0.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.0.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

/// Runs `$body` (an expression using the connection `$conn`) with a shared (single server) or
/// pooled connection; on a connection-level error drops that connection (and the idle pooled
/// ones) and runs it once more on a fresh one. The whole thing is bounded by the operation
/// deadline.
macro_rules! with_conn {
    ($self:ident, $op:literal, $what:literal, |$conn:ident| $body:expr) => {{
        let inner = &$self.inner;
        let work = async {
            let mut retried = false;
            loop {
                let mut obj = inner.checkout().await?;
                let result: Result<_, RedisError> = {
                    let $conn: &mut pool::Conn = obj.conn();
                    $body.await
                };
                match result {
                    Ok(v) => return Ok(v),
                    Err(e) if is_connection_error(&e) => {
                        inner.discard(obj);
                        tracing::warn!(
                            storage = "redis",
                            operation = $op,
                            error_kind = ?e.kind(),
                            "redis connection failed; idle connections dropped"
                        );
                        if retried || e.is_timeout() {
                            return Err(redis_error(e, $what));
                        }
                        tracing::warn!(storage = "redis", operation = $op, "reconnecting");
                        retried = true;
                    }
                    Err(e) => return Err(redis_error(e, $what)),
                }
            }
        };
        inner
            .deadline()
            .run($op, work, || inner.drop_connections())
            .await
    }};
}

impl Inner {
    /// The deadline of every operation.
    fn deadline(&self) -> session_net::deadline::Deadline {
        session_net::deadline::Deadline::new("redis", self.limits.operation_deadline())
    }

    /// A connection for one attempt of an operation. The slow paths (opening a shared
    /// connection, a pool checkout) are boxed: their futures are kilobytes, and every
    /// operation's future would otherwise carry (and copy) them.
    async fn checkout(&self) -> Result<Checkout, StorageError> {
        match &self.shared {
            Some(shared) => match shared.current() {
                Some(lease) => Ok(Checkout::Shared(lease)),
                None => Box::pin(shared.connect(self.pool.manager()))
                    .await
                    .map(Checkout::Shared),
            },
            None => Box::pin(pool::get(&self.pool)).await.map(Checkout::Pooled),
        }
    }

    /// Drops a connection that failed and every idle one (they share the failed server).
    fn discard(&self, obj: Checkout) {
        match obj {
            Checkout::Pooled(obj) => drop(Object::take(obj)),
            Checkout::Shared(lease) => {
                if let Some(shared) = &self.shared {
                    shared.discard(lease);
                }
            }
        }
        self.pool.retain(|_, _| false);
    }

    /// Drops every idle connection, shared ones included (an operation missed its deadline).
    fn drop_connections(&self) {
        if let Some(shared) = &self.shared {
            shared.clear();
        }
        self.pool.retain(|_, _| false);
    }
}

/// The connection of one attempt: shared (single server) or checked out of the pool.
enum Checkout {
    Shared(Lease),
    Pooled(Object<Manager>),
}

impl Checkout {
    fn conn(&mut self) -> &mut pool::Conn {
        match self {
            Self::Shared(lease) => &mut lease.conn,
            Self::Pooled(obj) => obj,
        }
    }
}

/// The commands of one `set` or `delete`, grouped the way they are sent.
struct Plan {
    /// Every command, in the reference's order, with the key each one touches.
    cmds: Vec<(String, Cmd)>,
}

impl Plan {
    fn new() -> Self {
        Self { cmds: Vec::new() }
    }

    fn push(&mut self, key: &str, cmd: Cmd) {
        self.cmds.push((key.to_owned(), cmd));
    }

    /// Sends the plan: one pipeline on a single server or Sentinel master; on a cluster one
    /// pipeline per key (so no pipeline spans two slots), in order of first appearance.
    async fn send(self, conn: &mut pool::Conn, mode: Mode) -> Result<(), RedisError> {
        let mut cmds = self.cmds;
        if mode != Mode::Cluster {
            let mut pipe = redis::Pipeline::with_capacity(cmds.len());
            for (_, cmd) in cmds {
                pipe.add_command(cmd).ignore();
            }
            return pipe.query_async::<()>(conn).await;
        }
        while let Some((key, _)) = cmds.first() {
            let key = key.clone();
            let (this, rest): (Vec<_>, Vec<_>) = cmds.into_iter().partition(|(k, _)| *k == key);
            cmds = rest;
            let mut pipe = redis::Pipeline::with_capacity(this.len());
            for (_, cmd) in this {
                pipe.add_command(cmd).ignore();
            }
            pipe.query_async::<()>(conn).await?;
        }
        Ok(())
    }
}

fn ex_cmd(key: &str, value: &str, ttl: u64) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value).arg("EX").arg(ttl);
    cmd
}

fn parse_score(score: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(score).ok()?;
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let f = s.parse::<f64>().ok()?;
    // Scores are written as whole seconds; a float from another writer is floored.
    #[allow(clippy::cast_possible_truncation)]
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.floor() as i64)
}

impl RedisStorage {
    /// Builds the store from its configuration. No connection is opened until first use.
    ///
    /// ```
    /// use session_redis::{RedisConfig, RedisStorage};
    /// let store = RedisStorage::from_config(RedisConfig::default().with_prefix("sessions"))?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the configuration is
    /// invalid (a zero timeout, an empty sentinel list, an unreadable CA file, ...).
    pub fn from_config(config: RedisConfig) -> Result<Self, StorageError> {
        config.validate()?;
        let limits = config.limits();
        let pool = pool::build(&config, &limits)?;
        let shared = (config.mode() == Mode::Single).then(|| {
            Shared::new(
                limits.pool_size,
                pool::create_timeout(&limits),
                limits.keepalive,
            )
        });
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                shared,
                layout: KeyLayout::new(config.prefix.clone(), config.suffix.clone()),
                mode: config.mode(),
                limits,
            }),
        })
    }

    /// Builds the store from a URL (see [`RedisConfig::from_url`] for the forms).
    ///
    /// ```
    /// let store = session_redis::RedisStorage::from_url("redis://127.0.0.1:6379/0?prefix=sessions")?;
    /// # let _ = store;
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) for a malformed URL or an
    /// invalid configuration.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_config(RedisConfig::from_url(url)?)
    }

    /// Builds the store and checks that Redis answers (`PING`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), session_storage::StorageError> {
    /// let store = session_redis::RedisStorage::connect(session_redis::RedisConfig::default()).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A configuration error, or the error of the first `PING` (for example
    /// [`ErrorKind::Unavailable`](session_storage::ErrorKind::Unavailable)).
    pub async fn connect(config: RedisConfig) -> Result<Self, StorageError> {
        let store = Self::from_config(config)?;
        store.ping().await?;
        Ok(store)
    }

    /// Sends `PING` through the pool.
    ///
    /// ```no_run
    /// # async fn demo(store: session_redis::RedisStorage) -> Result<(), session_storage::StorageError> {
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When Redis cannot be reached or does not answer in time.
    pub async fn ping(&self) -> Result<(), StorageError> {
        with_conn!(self, "ping", "redis PING failed", |conn| redis::cmd("PING")
            .query_async::<()>(conn))
    }

    /// The deployment this store talks to.
    ///
    /// ```
    /// let store = session_redis::RedisStorage::from_url("redis://127.0.0.1")?;
    /// assert_eq!(store.mode(), session_redis::Mode::Single);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The key layout (prefix and suffix) of this store's keys.
    ///
    /// ```
    /// let store = session_redis::RedisStorage::from_url("redis://127.0.0.1?prefix=sessions")?;
    /// assert_eq!(store.layout().record_key("session", "K"), "sessions:session:K");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn layout(&self) -> &KeyLayout {
        &self.inner.layout
    }

    /// The longest any one operation may take before it fails with a timeout:
    /// `operation_timeout`, 5 s by default (the Lua socket timeouts still bound each step).
    ///
    /// ```
    /// let store = session_redis::RedisStorage::from_url("redis://127.0.0.1?connect_timeout=100&read_timeout=50")?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_secs(5));
    /// let store = session_redis::RedisStorage::from_url("redis://127.0.0.1?operation_timeout=1500")?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_millis(1500));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn operation_timeout(&self) -> Duration {
        self.inner.limits.operation_deadline()
    }

    /// Checks a connection out of the pool, for raw commands (see [`RedisConnection`]).
    ///
    /// ```no_run
    /// # async fn demo(store: session_redis::RedisStorage) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = store.connection().await?;
    /// let ttl: i64 = session_redis::redis::cmd("TTL").arg("sessions:session:K").query_async(&mut conn).await?;
    /// # let _ = ttl; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When no connection can be had within the pool's timeouts.
    pub async fn connection(&self) -> Result<RedisConnection, StorageError> {
        let inner = &self.inner;
        inner
            .deadline()
            .run(
                "connection",
                async { pool::get(&inner.pool).await.map(RedisConnection) },
                || inner.drop_connections(),
            )
            .await
    }

    fn set_plan(&self, req: &SetRequest<'_>, old_ttl: Option<i64>) -> Plan {
        let layout = &self.inner.layout;
        let key = layout.record_key(req.name, req.key);
        let mut plan = Plan::new();
        plan.push(&key, ex_cmd(&key, req.value, req.ttl));
        if let Some(old) = req.old_key {
            let stale = i64::try_from(req.stale_ttl).unwrap_or(i64::MAX);
            if old_ttl.is_none_or(|t| t > stale) {
                let old_key = layout.record_key(req.name, old);
                let mut cmd = redis::cmd("EXPIRE");
                cmd.arg(&old_key).arg(req.stale_ttl);
                plan.push(&old_key, cmd);
            }
        }
        for (aud, sub) in req.metadata.iter().flat_map(|m| m.pairs()) {
            let meta = layout.metadata_key(req.name, aud, sub);
            let mut prune = redis::cmd("ZREMRANGEBYSCORE");
            prune.arg(&meta).arg(0).arg(req.now.saturating_sub(1));
            plan.push(&meta, prune);
            let mut add = redis::cmd("ZADD");
            add.arg(&meta).arg(req.expires_at()).arg(req.key);
            plan.push(&meta, add);
            if let Some(old) = req.old_key {
                let mut rem = redis::cmd("ZREM");
                rem.arg(&meta).arg(old);
                plan.push(&meta, rem);
            }
            let mut expire = redis::cmd("EXPIRE");
            expire.arg(&meta).arg(req.ttl);
            plan.push(&meta, expire);
        }
        plan
    }

    fn delete_plan(&self, name: &str, key: &str, now: i64, metadata: &Metadata) -> Plan {
        let layout = &self.inner.layout;
        let record = layout.record_key(name, key);
        let mut plan = Plan::new();
        let mut unlink = redis::cmd("UNLINK");
        unlink.arg(&record);
        plan.push(&record, unlink);
        for (aud, sub) in metadata.pairs() {
            let meta = layout.metadata_key(name, aud, sub);
            let mut prune = redis::cmd("ZREMRANGEBYSCORE");
            prune.arg(&meta).arg(0).arg(now.saturating_sub(1));
            plan.push(&meta, prune);
            let mut rem = redis::cmd("ZREM");
            rem.arg(&meta).arg(key);
            plan.push(&meta, rem);
        }
        plan
    }
}

async fn old_ttl(conn: &mut pool::Conn, key: &str) -> Result<Option<i64>, RedisError> {
    match redis::cmd("TTL").arg(key).query_async::<i64>(conn).await {
        Ok(ttl) => Ok(Some(ttl)),
        // A connection failure fails the save; an error reply means "no TTL known"
        // (docs/storage.md §6.1: the old key then gets the stale TTL).
        Err(e) if is_connection_error(&e) => Err(e),
        Err(_) => Ok(None),
    }
}

impl Storage for RedisStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        if req.ttl == 0 {
            return Err(StorageError::invalid_input(
                "redis set needs a ttl of at least 1 s",
            ));
        }
        let mode = self.inner.mode;
        if req.old_key.is_none() && req.metadata.is_none() {
            let key = self.inner.layout.record_key(req.name, req.key);
            let cmd = ex_cmd(&key, req.value, req.ttl);
            return with_conn!(self, "set", "redis SET failed", |conn| cmd
                .query_async::<()>(conn));
        }
        let old = req
            .old_key
            .map(|old| self.inner.layout.record_key(req.name, old));
        with_conn!(self, "set", "redis set pipeline failed", |conn| async {
            let ttl = match &old {
                Some(old) => old_ttl(conn, old).await?,
                None => None,
            };
            self.set_plan(req, ttl).send(conn, mode).await
        })
    }

    async fn get(&self, name: &str, key: &str, _now: i64) -> Result<Option<String>, StorageError> {
        let key = self.inner.layout.record_key(name, key);
        let raw: Option<Vec<u8>> =
            with_conn!(self, "get", "redis GET failed", |conn| redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<Vec<u8>>>(conn))?;
        raw.map(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| StorageError::invalid_record("stored redis record is not UTF-8"))
        })
        .transpose()
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let mode = self.inner.mode;
        match metadata {
            None => {
                let record = self.inner.layout.record_key(name, key);
                with_conn!(self, "delete", "redis UNLINK failed", |conn| redis::cmd(
                    "UNLINK"
                )
                .arg(&record)
                .query_async::<()>(conn))
            }
            Some(meta) => {
                with_conn!(self, "delete", "redis delete pipeline failed", |conn| self
                    .delete_plan(name, key, now, meta)
                    .send(conn, mode))
            }
        }
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        let meta = self.inner.layout.metadata_key(name, audience, subject);
        let mut zrange = redis::cmd("ZRANGE");
        zrange
            .arg(&meta)
            .arg(now)
            .arg("+inf")
            .arg("BYSCORE")
            .arg("WITHSCORES");
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            with_conn!(self, "read_metadata", "redis ZRANGE failed", |conn| zrange
                .query_async::<Vec<(
                Vec<u8>,
                Vec<u8>
            )>>(
                conn
            ))?;
        let mut index = SessionIndex::new();
        for (member, score) in pairs {
            let member = String::from_utf8(member)
                .map_err(|_| StorageError::invalid_record("redis metadata member is not UTF-8"))?;
            let score = parse_score(&score).ok_or_else(|| {
                StorageError::invalid_record("redis metadata score is not a number")
            })?;
            index.insert(member, score);
        }
        Ok(index)
    }

    fn capability(&self) -> Capability {
        Capability::new(ExpiryClock::Server)
    }
}

/// How configuration selects this store: `storage = "redis"`, with the options
/// block of that name deserialized into [`RedisConfig`].
///
/// ```
/// use session_redis::{RedisConfig, RedisStorage};
/// use session_storage::Backend;
/// assert_eq!(<RedisStorage as Backend>::NAME, "redis");
/// let store = <RedisStorage as Backend>::from_config(RedisConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for RedisStorage {
    const NAME: &'static str = "redis";
    type Config = RedisConfig;

    fn from_config(config: RedisConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_as_whole_seconds() {
        assert_eq!(parse_score(b"1700003600"), Some(1_700_003_600));
        assert_eq!(parse_score(b"1.7e9"), Some(1_700_000_000));
        assert_eq!(parse_score(b"1700003600.5"), Some(1_700_003_600));
        assert_eq!(parse_score(b"inf"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"x"), None);
        assert_eq!(parse_score(&[0xff]), None);
    }

    fn names(plan: &Plan) -> Vec<String> {
        plan.cmds
            .iter()
            .map(|(_, c)| {
                c.args_iter()
                    .map(|a| match a {
                        redis::Arg::Simple(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => "<cursor>".to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn set_plan_is_the_spec_example() {
        let store = RedisStorage::from_config(RedisConfig::default()).unwrap();
        let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
        let req = SetRequest::new("session", "NEW", "<value>", 3600, 1_700_000_000)
            .with_old_key("OLD", 10)
            .with_metadata(&meta);
        assert_eq!(
            names(&store.set_plan(&req, Some(3000))),
            [
                "SET session:NEW <value> EX 3600",
                "EXPIRE session:OLD 10",
                "ZREMRANGEBYSCORE session:ZGVmYXVsdA:am9obg 0 1699999999",
                "ZADD session:ZGVmYXVsdA:am9obg 1700003600 NEW",
                "ZREM session:ZGVmYXVsdA:am9obg OLD",
                "EXPIRE session:ZGVmYXVsdA:am9obg 3600",
            ]
        );
        // TTL -2 (missing), -1 (no expiry) or shorter than stale: no EXPIRE of the old key.
        for ttl in [-2, -1, 5, 10] {
            let got = names(&store.set_plan(&req, Some(ttl)));
            assert!(!got.iter().any(|c| c == "EXPIRE session:OLD 10"), "{ttl}");
        }
        // TTL failed: treated as absent, so the EXPIRE is sent.
        assert!(names(&store.set_plan(&req, None)).contains(&"EXPIRE session:OLD 10".to_owned()));
    }

    #[test]
    fn delete_plan_is_unlink_then_prune_and_zrem() {
        let store = RedisStorage::from_url("redis://127.0.0.1?prefix=p&suffix=s").unwrap();
        let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
        assert_eq!(
            names(&store.delete_plan("n", "K", 100, &meta)),
            [
                "UNLINK p:n:K:s",
                "ZREMRANGEBYSCORE p:n:YQ:cw:s 0 99",
                "ZREM p:n:YQ:cw:s K"
            ]
        );
    }
}
