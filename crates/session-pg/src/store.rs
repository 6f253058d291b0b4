//! [`PostgresStorage`]: the storage operations of docs/storage.md §11.

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{
    Client, Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use session_net::deadline::Deadline;
use session_storage::{
    Backend, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};
use tokio::time::error::Elapsed;
use tokio_postgres::NoTls;
use tokio_postgres::types::{FromSql, ToSql, Type};

use crate::config::{Limits, PostgresConfig, STORE};
use crate::error::{pg_error, pool_error};
use crate::protocol::{self, Statements};

/// One in this many multi-statement `set`s and `delete`s also runs CLEANUP (docs/storage.md §5.6).
const CLEANUP_ONE_IN: u64 = 1_000;

/// Most (aud, sub) pairs bound in one SET_META statement (PostgreSQL allows 65 535
/// parameters); more pairs are split over several statements of the same transaction.
const MAX_PAIRS_PER_STATEMENT: usize = 10_000;

/// Seconds between 1970-01-01 and 2000-01-01, PostgreSQL's timestamp epoch.
const PG_EPOCH_UNIX: i64 = 946_684_800;

/// A `timestamptz` (or `timestamp`) column read as whole Unix seconds, rounded down;
/// `infinity` and `-infinity` become `i64::MAX` and `i64::MIN`.
struct UnixSeconds(i64);

impl<'a> FromSql<'a> for UnixSeconds {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let bytes: [u8; 8] = raw
            .try_into()
            .map_err(|_| "a timestamp is not 8 bytes long")?;
        Ok(Self(match i64::from_be_bytes(bytes) {
            i64::MAX => i64::MAX,
            i64::MIN => i64::MIN,
            micros => micros.div_euclid(1_000_000).saturating_add(PG_EPOCH_UNIX),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

/// Unix seconds as the `double precision` argument of `TO_TIMESTAMP` (exact below 2^53).
#[allow(clippy::cast_precision_loss)]
fn ts_arg(secs: i64) -> f64 {
    secs as f64
}

struct Inner {
    pool: Pool,
    sql: Statements,
    limits: Limits,
    config: PostgresConfig,
    rng: AtomicU64,
}

/// PostgreSQL storage with the tables and statements of lua-resty-session 4.1.5's `postgres`
/// storage (docs/storage.md §11), pooled by deadpool-postgres.
///
/// Cheap to clone: clones share the pool. Expiry is judged with the `now` each call passes
/// ([`ExpiryClock::Argument`]); rows are removed lazily by CLEANUP.
///
/// ```no_run
/// use session_pg::{PostgresConfig, PostgresStorage};
/// use session_storage::{SetRequest, Storage};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let store = PostgresStorage::connect(PostgresConfig::from_url("postgres://postgres@127.0.0.1/app")?).await?;
/// store.create_schema().await?;
/// let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// store.set(&SetRequest::new("session", key, "[\"payload\"]", 3600, 1_700_000_000)).await?;
/// assert!(store.get("session", key, 1_700_000_000).await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStorage {
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("config", &self.inner.config)
            .field("pool", &self.inner.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStorage {
    /// A store for `config`. Validates the configuration and builds the pool; no connection
    /// is opened until the first operation (use [`connect`](Self::connect) to check the
    /// server at once). Must be called inside a tokio runtime only when connections are
    /// actually used.
    ///
    /// ```
    /// use session_pg::{PostgresConfig, PostgresStorage};
    /// let store = PostgresStorage::from_config(PostgresConfig::default().with_database("app"))?;
    /// assert_eq!(store.table(), "sessions");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the configuration is
    /// invalid (see [`PostgresConfig::validate`]) or `ssl_trusted_certificate` cannot be read.
    pub fn from_config(config: PostgresConfig) -> Result<Self, StorageError> {
        config.validate()?;
        let limits = config.limits();
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        #[cfg(feature = "tls")]
        let manager = if config.ssl == Some(true) {
            Manager::from_config(
                config.driver_config(),
                crate::tls::connector(&config)?,
                manager_config,
            )
        } else {
            Manager::from_config(config.driver_config(), NoTls, manager_config)
        };
        #[cfg(not(feature = "tls"))]
        let manager = Manager::from_config(config.driver_config(), NoTls, manager_config);
        let keepalive = limits.keepalive;
        let pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .max_size(limits.pool_size)
            .wait_timeout(Some(limits.connect))
            .create_timeout(Some(limits.connect))
            .recycle_timeout(Some(limits.statements))
            .pre_recycle(Hook::sync_fn(move |_, metrics| {
                if metrics.last_used() > keepalive {
                    Err(HookError::message("idle longer than keepalive_timeout"))
                } else {
                    Ok(())
                }
            }))
            .build()
            .map_err(|e| StorageError::config(format!("cannot build the postgres pool: {e}")))?;
        let sql = Statements::new(config.table_name(), &config.table_meta_name());
        let seed = RandomState::new().build_hasher().finish() | 1;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                sql,
                limits,
                config,
                rng: AtomicU64::new(seed),
            }),
        })
    }

    /// A store for `config` whose server answered a `SELECT 1`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), session_storage::StorageError> {
    /// use session_pg::{PostgresConfig, PostgresStorage};
    /// let store = PostgresStorage::connect(PostgresConfig::default().with_database("app")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// `Config` for an invalid configuration or refused credentials, `Unavailable` or
    /// `Timeout` when the server cannot be reached within `connect_timeout`.
    pub async fn connect(config: PostgresConfig) -> Result<Self, StorageError> {
        let store = Self::from_config(config)?;
        store.ping().await?;
        Ok(store)
    }

    /// A store from a `postgres://` URL (see [`PostgresConfig::from_url`]).
    ///
    /// ```
    /// let store = session_pg::PostgresStorage::from_url("postgres://postgres@127.0.0.1/app?table=s")?;
    /// assert_eq!(store.table_meta(), "s_meta");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Config` when the URL or the configuration is invalid.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_config(PostgresConfig::from_url(url)?)
    }

    /// The configuration this store was built from.
    ///
    /// ```
    /// let store = session_pg::PostgresStorage::from_config(Default::default())?;
    /// assert_eq!(store.config().table_name(), "sessions");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn config(&self) -> &PostgresConfig {
        &self.inner.config
    }

    /// The sessions table.
    ///
    /// ```
    /// let store = session_pg::PostgresStorage::from_config(Default::default())?;
    /// assert_eq!(store.table(), "sessions");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn table(&self) -> &str {
        self.inner.config.table_name()
    }

    /// The metadata table.
    ///
    /// ```
    /// let store = session_pg::PostgresStorage::from_config(Default::default())?;
    /// assert_eq!(store.table_meta(), "sessions_meta");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn table_meta(&self) -> String {
        self.inner.config.table_meta_name()
    }

    /// The longest any one operation can take before it fails with a `Timeout` error:
    /// `operation_timeout`, 5 s by default, covering the wait for a pooled connection,
    /// opening one and every statement (`connect_timeout` still bounds the connect and
    /// `send_timeout + read_timeout` the statements).
    ///
    /// ```
    /// use session_pg::{PostgresConfig, PostgresStorage};
    /// let store = PostgresStorage::from_config(PostgresConfig::default().with_timeouts(100, 200, 300))?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_secs(5));
    /// let store = PostgresStorage::from_config(PostgresConfig::default().with_operation_timeout(700))?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_millis(700));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn operation_timeout(&self) -> Duration {
        self.inner.limits.operation_deadline()
    }

    /// A pooled connection, for raw SQL next to the store (administration, tests). It goes
    /// back to the pool when dropped.
    ///
    /// ```no_run
    /// # async fn demo(store: session_pg::PostgresStorage) -> Result<(), Box<dyn std::error::Error>> {
    /// let client = store.connection().await?;
    /// let rows = client.query("SELECT count(*) FROM sessions", &[]).await?;
    /// let count: i64 = rows[0].get(0);
    /// # let _ = count; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// `Unavailable` or `Timeout` when no connection can be had within `connect_timeout`.
    pub async fn connection(&self) -> Result<Client, StorageError> {
        self.bounded("connection", self.checkout("getting a connection"))
            .await
    }

    /// Sends `SELECT 1`.
    ///
    /// ```no_run
    /// # async fn demo(store: session_pg::PostgresStorage) -> Result<(), session_storage::StorageError> {
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for any operation: `Unavailable`, `Timeout`, `Config` (credentials, database).
    pub async fn ping(&self) -> Result<(), StorageError> {
        const WHAT: &str = "postgres ping";
        self.bounded(WHAT, async {
            let client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                client.simple_query("SELECT 1").await.map(drop)
            })
            .await;
            finish(client, res, WHAT)
        })
        .await
    }

    /// Creates the tables and index of docs/storage.md §11.1 if they do not exist, with the
    /// configured names, in one transaction:
    ///
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS sessions (
    ///   sid  TEXT PRIMARY KEY,
    ///   name TEXT,
    ///   data TEXT,
    ///   exp  TIMESTAMP WITH TIME ZONE
    /// );
    /// CREATE INDEX IF NOT EXISTS sessions_exp_idx ON sessions (exp);
    /// CREATE TABLE IF NOT EXISTS sessions_meta (
    ///   aud TEXT,
    ///   sub TEXT,
    ///   sid TEXT REFERENCES sessions (sid) ON DELETE CASCADE ON UPDATE CASCADE,
    ///   PRIMARY KEY (aud, sub, sid)
    /// );
    /// ```
    ///
    /// This is the reference's documented schema; the only change is `IF NOT EXISTS` on the
    /// index, named as PostgreSQL names `CREATE INDEX ON sessions (exp)`, so the call is
    /// idempotent. Schemas of qualified table names must already exist.
    ///
    /// ```no_run
    /// # async fn demo(store: session_pg::PostgresStorage) -> Result<(), session_storage::StorageError> {
    /// store.create_schema().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for any operation; `Config` when the role may not create tables.
    pub async fn create_schema(&self) -> Result<(), StorageError> {
        const WHAT: &str = "postgres create_schema";
        self.bounded(WHAT, async {
            let ddl = protocol::schema(self.table(), &self.table_meta());
            let client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                client.batch_execute(&ddl).await
            })
            .await;
            finish(client, res, WHAT)
        })
        .await
    }

    /// Runs the reference's CLEANUP (`DELETE FROM sessions WHERE exp < TO_TIMESTAMP(now)`)
    /// now, instead of waiting for the 1-in-1000 chance on `set`/`delete`; metadata rows go
    /// by cascade. Returns the number of session rows deleted.
    ///
    /// ```no_run
    /// # async fn demo(store: session_pg::PostgresStorage) -> Result<(), session_storage::StorageError> {
    /// let removed = store.cleanup(1_700_000_000).await?;
    /// # let _ = removed; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for any operation.
    pub async fn cleanup(&self, now: i64) -> Result<u64, StorageError> {
        const WHAT: &str = "postgres cleanup";
        self.bounded(WHAT, async {
            let client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                let st = client.prepare_cached(&self.inner.sql.cleanup).await?;
                client.execute(&st, &[&ts_arg(now)]).await
            })
            .await;
            finish(client, res, WHAT)
        })
        .await
    }

    /// Runs operation `what` (`postgres set`...) under the operation deadline; past it the
    /// idle connections are dropped (the one that hung among them).
    async fn bounded<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let op = what.strip_prefix("postgres ").unwrap_or(what);
        let pool = &self.inner.pool;
        Deadline::new(STORE, self.inner.limits.operation_deadline())
            .run(op, fut, || {
                pool.retain(|_, _| false);
            })
            .await
    }

    async fn checkout(&self, what: &str) -> Result<Client, StorageError> {
        self.inner.pool.get().await.map_err(|e| {
            let e = pool_error(e, what);
            tracing::warn!(storage = STORE, operation = what, error = %e, "no postgres connection");
            e
        })
    }

    /// Whether this call also runs CLEANUP (probability 1/1000).
    fn roll_cleanup(&self) -> bool {
        // xorshift64: no need for a cryptographic generator to decide on housekeeping.
        let mut x = self.inner.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.inner.rng.store(x, Ordering::Relaxed);
        x.is_multiple_of(CLEANUP_ONE_IN)
    }
}

/// Returns the connection to the pool, or closes it if the statements timed out (it may be
/// in the middle of a transaction), and maps the outcome.
fn finish<T>(
    client: Client,
    res: Result<Result<T, tokio_postgres::Error>, Elapsed>,
    what: &str,
) -> Result<T, StorageError> {
    match res {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let closed = e.is_closed();
            let e = pg_error(e, what);
            if closed {
                tracing::warn!(
                    storage = STORE,
                    operation = what,
                    error = %e,
                    "postgres connection lost; it is not reused"
                );
            }
            Err(e)
        }
        Err(_) => {
            tracing::warn!(
                storage = STORE,
                operation = what,
                "postgres statements timed out; the connection is closed"
            );
            drop(Object::take(client));
            Err(StorageError::timeout(format!(
                "{what}: no answer within send_timeout + read_timeout"
            )))
        }
    }
}

impl Storage for PostgresStorage {
    /// SET, or in one transaction SET, EXPIRE (with an old key), SET_META (with metadata)
    /// and, once in 1000, CLEANUP (docs/storage.md §11.4).
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        const WHAT: &str = "postgres set";
        self.bounded(WHAT, async {
            let sql = &self.inner.sql;
            let exp = ts_arg(req.expires_at());
            let pairs: Vec<(&str, &str)> = req
                .metadata
                .map(|m| m.pairs().collect())
                .unwrap_or_default();
            let multi = req.old_key.is_some() || req.metadata.is_some();
            let cleanup = multi && self.roll_cleanup();
            let mut client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                let set_params: [&(dyn ToSql + Sync); 4] = [&req.key, &req.name, &req.value, &exp];
                if !multi {
                    let st = client.prepare_cached(&sql.set).await?;
                    return client.execute(&st, &set_params).await.map(drop);
                }
                let tx = client.transaction().await?;
                let st = tx.prepare_cached(&sql.set).await?;
                tx.execute(&st, &set_params).await?;
                if let Some(old) = req.old_key {
                    let stale = ts_arg(req.stale_expires_at());
                    let st = tx.prepare_cached(&sql.expire).await?;
                    tx.execute(&st, &[&stale, &old]).await?;
                }
                for chunk in pairs.chunks(MAX_PAIRS_PER_STATEMENT) {
                    let st = tx.prepare_cached(&sql.set_meta(chunk.len())).await?;
                    let mut params: Vec<&(dyn ToSql + Sync)> =
                        Vec::with_capacity(1 + 2 * chunk.len());
                    params.push(&req.key);
                    for (aud, sub) in chunk {
                        params.push(aud);
                        params.push(sub);
                    }
                    tx.execute(&st, &params).await?;
                }
                if cleanup {
                    let st = tx.prepare_cached(&sql.cleanup).await?;
                    tx.execute(&st, &[&ts_arg(req.now)]).await?;
                }
                tx.commit().await
            })
            .await;
            finish(client, res, WHAT)
        })
        .await
    }

    /// GET: the `data` of the row if `exp >= TO_TIMESTAMP(now) AT TIME ZONE 'UTC'`.
    async fn get(&self, _name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        const WHAT: &str = "postgres get";
        self.bounded(WHAT, async {
            let client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                let st = client.prepare_cached(&self.inner.sql.get).await?;
                client.query(&st, &[&key, &ts_arg(now)]).await
            })
            .await;
            let rows = finish(client, res, WHAT)?;
            match rows.first() {
                None => Ok(None),
                Some(row) => row.try_get::<_, Option<String>>(0).map_err(|e| {
                    StorageError::invalid_record("postgres get: the data column is not text")
                        .with_source(e)
                }),
            }
        })
        .await
    }

    /// DELETE (plus, once in 1000, CLEANUP in the same transaction). `metadata` is ignored:
    /// the metadata rows go by `ON DELETE CASCADE`.
    async fn delete(
        &self,
        _name: &str,
        key: &str,
        now: i64,
        _metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        const WHAT: &str = "postgres delete";
        self.bounded(WHAT, async {
            let sql = &self.inner.sql;
            let cleanup = self.roll_cleanup();
            let mut client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                if !cleanup {
                    let st = client.prepare_cached(&sql.delete).await?;
                    return client.execute(&st, &[&key]).await.map(drop);
                }
                let tx = client.transaction().await?;
                let st = tx.prepare_cached(&sql.delete).await?;
                tx.execute(&st, &[&key]).await?;
                let st = tx.prepare_cached(&sql.cleanup).await?;
                tx.execute(&st, &[&ts_arg(now)]).await?;
                tx.commit().await
            })
            .await;
            finish(client, res, WHAT)
        })
        .await
    }

    /// GET_META: `sid → exp` of the rows of (`audience`, `subject`) whose session row has
    /// `exp >= TO_TIMESTAMP(now)`. As in the reference, the cookie `name` is not part of the
    /// query (the metadata table has no name column).
    async fn read_metadata(
        &self,
        _name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        const WHAT: &str = "postgres read_metadata";
        self.bounded(WHAT, async {
            let client = self.checkout(WHAT).await?;
            let res = tokio::time::timeout(self.inner.limits.statements, async {
                let st = client.prepare_cached(&self.inner.sql.get_meta).await?;
                client
                    .query(&st, &[&audience, &subject, &ts_arg(now)])
                    .await
            })
            .await;
            let rows = finish(client, res, WHAT)?;
            let mut index = SessionIndex::new();
            for row in rows {
                let bad = |e: tokio_postgres::Error| {
                    StorageError::invalid_record(
                        "postgres read_metadata: sid is not text or exp is not a timestamp",
                    )
                    .with_source(e)
                };
                let sid: String = row.try_get(0).map_err(bad)?;
                let exp: UnixSeconds = row.try_get(1).map_err(bad)?;
                index.insert(sid, exp.0);
            }
            Ok(index)
        })
        .await
    }

    fn capability(&self) -> Capability {
        // The reference's tables key records and metadata by `sid` alone (docs/storage.md §11.1).
        Capability::new(ExpiryClock::Argument).without_name_scope()
    }
}

/// How configuration selects this store: `storage = "postgres"` (also `postgresql`), with
/// the options block of that name deserialized into [`PostgresConfig`].
///
/// ```
/// use session_pg::{PostgresConfig, PostgresStorage};
/// use session_storage::Backend;
/// assert_eq!(<PostgresStorage as Backend>::NAME, "postgres");
/// assert!(<PostgresStorage as Backend>::is_named("postgresql"));
/// let store = <PostgresStorage as Backend>::from_config(PostgresConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for PostgresStorage {
    const NAME: &'static str = "postgres";
    const ALIASES: &'static [&'static str] = &["postgresql"];
    type Config = PostgresConfig;

    fn from_config(config: PostgresConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_decode_to_unix_seconds() {
        let enc = |micros: i64| micros.to_be_bytes();
        let dec = |raw: &[u8]| UnixSeconds::from_sql(&Type::TIMESTAMPTZ, raw).unwrap().0;
        assert_eq!(dec(&enc(0)), PG_EPOCH_UNIX);
        // 2023-11-14T22:13:20Z = 1_700_000_000
        assert_eq!(
            dec(&enc((1_700_000_000 - PG_EPOCH_UNIX) * 1_000_000 + 999_999)),
            1_700_000_000
        );
        assert_eq!(dec(&enc(-1)), PG_EPOCH_UNIX - 1);
        assert_eq!(dec(&enc(i64::MAX)), i64::MAX);
        assert_eq!(dec(&enc(i64::MIN)), i64::MIN);
        assert!(UnixSeconds::from_sql(&Type::TIMESTAMPTZ, &[1, 2, 3]).is_err());
    }

    #[test]
    fn cleanup_roll_is_about_one_in_a_thousand() {
        let store = PostgresStorage::from_config(PostgresConfig::default()).unwrap();
        let hits = (0..100_000).filter(|_| store.roll_cleanup()).count();
        assert!((50..200).contains(&hits), "{hits}");
    }
}
