//! The store: docs/storage.md §12 statements over `mysql_async`'s pool.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, TxOpts, Value};
use session_net::deadline::Deadline;
use session_storage::{
    Backend, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
};

use crate::config::{Limits, MysqlConfig, STORE, check_charset};
use crate::error::{is_deadlock, mysql_error};
use crate::protocol::Statements;

/// How often `set` and `delete` also delete expired rows: 1 in 1000, as the reference.
const CLEANUP_ONE_IN: u64 = 1000;
/// How many times a statement (or transaction) the server rolled back for a deadlock is run.
const DEADLOCK_ATTEMPTS: usize = 3;

/// A MySQL / MariaDB session store, sharing its tables with lua-resty-session 4.1.5's `mysql`
/// storage (docs/storage.md §12).
///
/// Cheap to clone: clones share one `mysql_async` connection pool. Built without I/O by
/// [`from_config`](Self::from_config) or [`from_url`](Self::from_url); connections are opened
/// on first use (and the pool's background tasks run on the tokio runtime of that first use,
/// so keep a store on one runtime). [`connect`](Self::connect) also checks that the server
/// answers.
///
/// Every call is bounded: waiting for (or opening) a connection by `connect_timeout`, each
/// statement by `send_timeout + read_timeout`, giving
/// [`ErrorKind::Timeout`](session_storage::ErrorKind::Timeout).
///
/// ```no_run
/// use session_mysql::{MysqlConfig, MysqlStorage};
/// use session_storage::{SetRequest, Storage};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let store = MysqlStorage::connect(MysqlConfig::from_url("mysql://app:secret@127.0.0.1/test")?).await?;
/// store.create_schema().await?;
/// let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// store.set(&SetRequest::new("session", key, "[\"x\"]", 3600, 1_700_000_000)).await?;
/// let value = store.get("session", key, 1_700_000_000).await?;
/// assert_eq!(value.as_deref(), Some("[\"x\"]"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MysqlStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    sql: Statements,
    limits: Limits,
    address: String,
    tables: (String, String),
    cleanups: AtomicU64,
}

impl fmt::Debug for MysqlStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlStorage")
            .field("address", &self.inner.address)
            .field("table", &self.inner.tables.0)
            .field("table_meta", &self.inner.tables.1)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// A failed step: a driver error (kept raw so deadlocks can be retried) or a finished error.
enum Fail {
    Db(mysql_async::Error, &'static str),
    Done(StorageError),
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Self::Done(e)
    }
}

impl Fail {
    fn into_error(self) -> StorageError {
        match self {
            Self::Db(e, what) => mysql_error(e, what),
            Self::Done(e) => e,
        }
    }
}

fn text(v: &str) -> Value {
    Value::from(v)
}

/// Reads a text column; `None` for SQL NULL.
fn column_text(row: &mut Row, idx: usize, what: &str) -> Result<Option<String>, StorageError> {
    match row.take_opt::<Value, usize>(idx) {
        Some(Ok(Value::NULL)) => Ok(None),
        Some(Ok(Value::Bytes(bytes))) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StorageError::invalid_record(format!("{what} is not valid UTF-8"))),
        Some(Ok(_)) => Err(StorageError::invalid_record(format!(
            "{what} is not a text column"
        ))),
        Some(Err(_)) | None => Err(StorageError::invalid_record(format!("{what} is missing"))),
    }
}

/// Reads an integer column (binary `BIGINT`, or a `DECIMAL` sent as text).
fn column_int(row: &mut Row, idx: usize, what: &str) -> Result<Option<i64>, StorageError> {
    let bad = || StorageError::invalid_record(format!("{what} is not an integer"));
    match row.take_opt::<Value, usize>(idx) {
        Some(Ok(Value::NULL)) => Ok(None),
        Some(Ok(Value::Int(i))) => Ok(Some(i)),
        Some(Ok(Value::UInt(u))) => i64::try_from(u).map(Some).map_err(|_| bad()),
        Some(Ok(Value::Bytes(bytes))) => {
            let s = std::str::from_utf8(&bytes).map_err(|_| bad())?;
            // UNIX_TIMESTAMP of a DATETIME with fractional digits is a DECIMAL: "123.000000".
            let whole = match s.split_once('.') {
                Some((w, frac)) if frac.bytes().all(|b| b == b'0') => w,
                Some(_) => return Err(bad()),
                None => s,
            };
            whole.parse().map(Some).map_err(|_| bad())
        }
        Some(Ok(_)) => Err(bad()),
        Some(Err(_)) | None => Err(StorageError::invalid_record(format!("{what} is missing"))),
    }
}

impl MysqlStorage {
    /// A store from a configuration, without I/O (connections open on first use).
    ///
    /// ```
    /// use session_mysql::{MysqlConfig, MysqlStorage};
    /// let store = MysqlStorage::from_config(MysqlConfig::default().with_database("test"))?;
    /// assert_eq!(store.table_names(), ("sessions", "sessions_meta"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the configuration is
    /// invalid (see [`MysqlConfig::validate`]) or, with `ssl`, when the
    /// `ssl_trusted_certificate` file cannot be read or holds no certificate.
    pub fn from_config(config: MysqlConfig) -> Result<Self, StorageError> {
        config.validate()?;
        let limits = config.limits();
        let (table, table_meta) = config.table_names();
        let constraints = PoolConstraints::new(0, limits.pool_size)
            .ok_or_else(|| StorageError::config("mysql option `pool_size`: must be at least 1"))?;
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(limits.keepalive);
        let mut opts = OptsBuilder::default()
            .user(config.username.clone())
            .pass(config.password.clone())
            .db_name(config.database.clone())
            // Never switch a TCP connection to a local socket behind the user's back.
            .prefer_socket(false)
            // `SET NAMES` on every new or reset connection; `time_zone` is left alone
            // (docs/storage.md §12.5).
            .setup(vec![format!("SET NAMES {}", config.charset_name())])
            .pool_opts(pool_opts)
            .max_allowed_packet(config.max_packet_size);
        #[cfg(feature = "tls")]
        {
            opts = opts.ssl_opts(crate::tls::ssl_opts(&config)?);
        }
        opts = match &config.socket {
            Some(path) => opts.socket(Some(path.clone())),
            None => opts
                .ip_or_hostname(config.host.as_deref().unwrap_or("127.0.0.1"))
                .tcp_port(config.port.unwrap_or(3306)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool: Pool::new(opts),
                sql: Statements::new(&table, &table_meta),
                limits,
                address: config.address(),
                tables: (table, table_meta),
                cleanups: AtomicU64::new(0),
            }),
        })
    }

    /// A store from a URL (see [`MysqlConfig::from_url`]), without I/O.
    ///
    /// ```
    /// let store = session_mysql::MysqlStorage::from_url("mysql://root@127.0.0.1:3306/test?table=web")?;
    /// assert_eq!(store.table_names(), ("web", "web_meta"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) for a malformed URL or
    /// invalid options.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_config(MysqlConfig::from_url(url)?)
    }

    /// A store whose server has answered a ping.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), session_storage::StorageError> {
    /// let config = session_mysql::MysqlConfig::from_url("mysql://root@127.0.0.1/test")?;
    /// let store = session_mysql::MysqlStorage::connect(config).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// `Config` for an invalid configuration or refused credentials (and, with `ssl`, a server
    /// that does not offer TLS or a certificate that fails verification), `Unavailable` when
    /// the server cannot be reached, `Timeout` when it does not answer in time.
    pub async fn connect(config: MysqlConfig) -> Result<Self, StorageError> {
        let store = Self::from_config(config)?;
        store.ping().await?;
        Ok(store)
    }

    /// Checks that the server answers (a pooled connection and a `COM_PING`).
    ///
    /// ```no_run
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), session_storage::StorageError> {
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.deadline("ping", async {
            let mut conn = self.conn().await.map_err(Fail::into_error)?;
            self.bounded("pinging mysql", conn.ping())
                .await
                .map_err(Fail::into_error)
        })
        .await
    }

    /// The sessions and metadata table names (unquoted).
    ///
    /// ```
    /// let store = session_mysql::MysqlStorage::from_config(session_mysql::MysqlConfig::default())?;
    /// assert_eq!(store.table_names(), ("sessions", "sessions_meta"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn table_names(&self) -> (&str, &str) {
        (&self.inner.tables.0, &self.inner.tables.1)
    }

    /// The longest any one operation may take before it fails with a `Timeout` error:
    /// `operation_timeout`, 5 s by default, covering the pool checkout, the connect and every
    /// write and read (the Lua socket timeouts still bound each step).
    ///
    /// ```
    /// let store = session_mysql::MysqlStorage::from_url("mysql://root@127.0.0.1/app?operation_timeout=1500")?;
    /// assert_eq!(store.operation_timeout(), std::time::Duration::from_millis(1500));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn operation_timeout(&self) -> std::time::Duration {
        self.inner.limits.operation
    }

    /// The reference schema (docs/storage.md §12.1) for this store's tables, as two `CREATE TABLE IF
    /// NOT EXISTS` statements, with `CHARACTER SET ascii` as documented by the reference.
    ///
    /// ```
    /// let store = session_mysql::MysqlStorage::from_config(session_mysql::MysqlConfig::default())?;
    /// let [sessions, meta] = store.schema();
    /// assert!(sessions.starts_with("CREATE TABLE IF NOT EXISTS `sessions` ("));
    /// assert!(meta.contains("ON DELETE CASCADE"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn schema(&self) -> [String; 2] {
        self.inner.sql.schema("ascii")
    }

    /// Creates the reference schema ([`schema`](Self::schema)) if the tables do not exist.
    /// The metadata table's foreign key needs InnoDB.
    ///
    /// ```no_run
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), session_storage::StorageError> {
    /// store.create_schema().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`StorageError`] when the server refuses (for example `Config` without the
    /// `CREATE` privilege) or cannot be reached.
    pub async fn create_schema(&self) -> Result<(), StorageError> {
        self.create_schema_with_charset("ascii").await
    }

    /// Creates the reference schema with another table character set (same columns, types
    /// and keys). With the reference's `ascii` tables and `ascii` connection, MariaDB keeps
    /// the bytes it is given (everything lua-resty-session stores is ASCII anyway, except raw
    /// subjects, docs/storage.md §2.7); `utf8mb4` tables with a `utf8mb4` connection (`charset`) make
    /// the server treat non-ASCII text as characters.
    ///
    /// ```no_run
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), session_storage::StorageError> {
    /// store.create_schema_with_charset("utf8mb4").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// `Config` for an invalid character set name; otherwise as
    /// [`create_schema`](Self::create_schema).
    pub async fn create_schema_with_charset(&self, charset: &str) -> Result<(), StorageError> {
        check_charset("charset", charset)?;
        self.deadline("create_schema", async {
            let mut conn = self.conn().await.map_err(Fail::into_error)?;
            for statement in self.inner.sql.schema(charset) {
                self.bounded("creating the session tables", conn.query_drop(statement))
                    .await
                    .map_err(Fail::into_error)?;
            }
            Ok(())
        })
        .await
    }

    /// Deletes every session row that expired before `now` (the reference's CLEANUP, which
    /// `set` and `delete` also run with probability 1/1000); metadata rows go by cascade.
    /// Returns the number of session rows deleted.
    ///
    /// ```no_run
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), session_storage::StorageError> {
    /// let removed = store.cleanup(1_700_000_000).await?;
    /// # let _ = removed; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`StorageError`] when the server cannot be reached or refuses.
    pub async fn cleanup(&self, now: i64) -> Result<u64, StorageError> {
        self.retrying("cleanup", || async {
            let mut conn = self.conn().await?;
            self.run(
                &mut conn,
                "deleting expired sessions",
                &self.inner.sql.cleanup,
                vec![Value::from(now)],
            )
            .await?;
            Ok(conn.affected_rows())
        })
        .await
    }

    /// A connection from the store's pool, for raw SQL through the re-exported
    /// [`mysql_async`] crate. It goes back to the pool when dropped.
    ///
    /// ```no_run
    /// use session_mysql::mysql_async::prelude::Queryable;
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut conn = store.connection().await?;
    /// let n: Option<u64> = conn.query_first("SELECT COUNT(*) FROM sessions").await?;
    /// # let _ = n; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`ping`](Self::ping).
    pub async fn connection(&self) -> Result<Conn, StorageError> {
        self.deadline("connection", async {
            self.conn().await.map_err(Fail::into_error)
        })
        .await
    }

    /// Closes the pool's connections. Clones of this store cannot be used afterwards.
    ///
    /// ```no_run
    /// # async fn demo(store: session_mysql::MysqlStorage) -> Result<(), session_storage::StorageError> {
    /// store.disconnect().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`StorageError`] if a connection could not be closed cleanly.
    pub async fn disconnect(self) -> Result<(), StorageError> {
        self.inner
            .pool
            .clone()
            .disconnect()
            .await
            .map_err(|e| mysql_error(e, "closing the mysql pool"))
    }

    // ------------------------------------------------------------------ plumbing

    async fn conn(&self) -> Result<Conn, Fail> {
        let connect = self.inner.limits.connect;
        let e = match tokio::time::timeout(connect, self.inner.pool.get_conn()).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => mysql_error(
                e,
                &format!("cannot connect to mysql at {}", self.inner.address),
            ),
            Err(_) => StorageError::timeout(format!(
                "no connection to mysql at {} within connect_timeout ({} ms)",
                self.inner.address,
                connect.as_millis()
            )),
        };
        tracing::warn!(storage = STORE, error = %e, "no mysql connection");
        Err(Fail::Done(e))
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        work: impl Future<Output = Result<T, mysql_async::Error>>,
    ) -> Result<T, Fail> {
        let limit = self.inner.limits.statement;
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Fail::Db(e, what)),
            Err(_) => Err(Fail::Done(StorageError::timeout(format!(
                "{what}: no answer from mysql at {} within send_timeout + read_timeout ({} ms)",
                self.inner.address,
                limit.as_millis()
            )))),
        }
    }

    async fn run<Q: Queryable>(
        &self,
        conn: &mut Q,
        what: &'static str,
        statement: &str,
        params: Vec<Value>,
    ) -> Result<(), Fail> {
        self.bounded(what, conn.exec_drop(statement, params)).await
    }

    /// Runs `op` again (on a fresh connection) when the server rolled it back for a deadlock.
    /// The whole of it is bounded by the operation deadline (`operation_timeout`).
    async fn retrying<T, F, Fut>(&self, name: &str, op: F) -> Result<T, StorageError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Fail>>,
    {
        self.deadline(name, self.retrying_unbounded(op)).await
    }

    /// Runs operation `name` under the operation deadline.
    async fn deadline<T>(
        &self,
        name: &str,
        work: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        // mysql_async's pool has no "drop the idle connections": a connection cut mid-query
        // is cleaned (or dropped) by the pool itself before it is handed out again.
        Deadline::new(STORE, self.inner.limits.operation)
            .run(name, work, || ())
            .await
    }

    async fn retrying_unbounded<T, F, Fut>(&self, op: F) -> Result<T, StorageError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Fail>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(Fail::Db(e, _)) if is_deadlock(&e) && attempt < DEADLOCK_ATTEMPTS => {
                    attempt += 1;
                }
                Err(fail) => return Err(fail.into_error()),
            }
        }
    }

    /// The reference's `math.random() < 0.001` before CLEANUP.
    fn cleanup_due(&self) -> bool {
        use std::hash::{BuildHasher, Hasher};
        let n = self.inner.cleanups.fetch_add(1, Ordering::Relaxed);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.finish().is_multiple_of(CLEANUP_ONE_IN)
    }

    /// CLEANUP with the reference's probability, after the operation's own statements. Its
    /// failure does not fail the operation (the reference ignores every result after the
    /// first statement's).
    async fn maybe_cleanup(&self, conn: &mut Conn, now: i64) {
        if self.cleanup_due() {
            let _ignored = self
                .run(
                    conn,
                    "deleting expired sessions",
                    &self.inner.sql.cleanup,
                    vec![Value::from(now)],
                )
                .await;
        }
    }

    async fn set_once(&self, req: &SetRequest<'_>) -> Result<(), Fail> {
        let sql = &self.inner.sql;
        let set_params = vec![
            text(req.key),
            text(req.name),
            text(req.value),
            Value::from(req.expires_at()),
        ];
        let mut conn = self.conn().await?;
        if req.old_key.is_none() && req.metadata.is_none() {
            // Fast path: the single upsert, no cleanup (docs/storage.md §4.1).
            return self
                .run(&mut conn, "storing a session", &sql.set, set_params)
                .await;
        }
        {
            let mut tx = self
                .bounded(
                    "starting a transaction",
                    conn.start_transaction(TxOpts::default()),
                )
                .await?;
            self.run(&mut tx, "storing a session", &sql.set, set_params)
                .await?;
            if let Some(old) = req.old_key {
                let stale = Value::from(req.stale_expires_at());
                self.run(
                    &mut tx,
                    "shortening the previous session",
                    &sql.expire,
                    vec![stale.clone(), text(old), stale],
                )
                .await?;
            }
            let pairs: Vec<(&str, &str)> =
                req.metadata.map_or_else(Vec::new, |m| m.pairs().collect());
            if !pairs.is_empty() {
                let mut params = Vec::with_capacity(pairs.len() * 3);
                for (aud, sub) in &pairs {
                    params.extend([text(aud), text(sub), text(req.key)]);
                }
                self.run(
                    &mut tx,
                    "storing session metadata",
                    &sql.set_meta(pairs.len()),
                    params,
                )
                .await?;
            }
            self.bounded("committing", tx.commit()).await?;
        }
        self.maybe_cleanup(&mut conn, req.now).await;
        Ok(())
    }
}

impl Storage for MysqlStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.retrying("set", || self.set_once(req)).await
    }

    async fn get(&self, _name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.retrying("get", || async {
            let mut conn = self.conn().await?;
            let row: Option<Row> = self
                .bounded(
                    "reading a session",
                    conn.exec_first(&self.inner.sql.get, vec![text(key), Value::from(now)]),
                )
                .await?;
            let Some(mut row) = row else {
                return Ok(None); // the reference's `nil, "session not found"`
            };
            match column_text(&mut row, 0, "session data")? {
                Some(data) => Ok(Some(data)),
                None => Err(Fail::Done(StorageError::invalid_record(
                    "session row has NULL data",
                ))),
            }
        })
        .await
    }

    async fn delete(
        &self,
        _name: &str,
        key: &str,
        now: i64,
        _metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        // Metadata rows go with the session row (ON DELETE CASCADE), as in the reference.
        self.retrying("delete", || async {
            let mut conn = self.conn().await?;
            self.run(
                &mut conn,
                "deleting a session",
                &self.inner.sql.delete,
                vec![text(key)],
            )
            .await?;
            self.maybe_cleanup(&mut conn, now).await;
            Ok(())
        })
        .await
    }

    async fn read_metadata(
        &self,
        _name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.retrying("read_metadata", || async {
            let mut conn = self.conn().await?;
            let rows: Vec<Row> = self
                .bounded(
                    "reading session metadata",
                    conn.exec(
                        &self.inner.sql.get_meta,
                        vec![text(audience), text(subject), Value::from(now)],
                    ),
                )
                .await?;
            let mut index = SessionIndex::new();
            for mut row in rows {
                let sid = column_text(&mut row, 0, "metadata sid")?;
                let exp = column_int(&mut row, 1, "metadata exp")?;
                if let (Some(sid), Some(exp)) = (sid, exp) {
                    index.insert(sid, exp);
                }
            }
            Ok(index)
        })
        .await
    }

    fn capability(&self) -> Capability {
        // The reference's tables key records and metadata by `sid` alone (docs/storage.md §12.1).
        Capability::new(ExpiryClock::Argument).without_name_scope()
    }
}

/// How configuration selects this store: `storage = "mysql"` (also `mariadb`), with the
/// options block of that name deserialized into [`MysqlConfig`].
///
/// ```
/// use session_mysql::{MysqlConfig, MysqlStorage};
/// use session_storage::Backend;
/// assert_eq!(<MysqlStorage as Backend>::NAME, "mysql");
/// assert!(<MysqlStorage as Backend>::is_named("mariadb"));
/// let store = <MysqlStorage as Backend>::from_config(MysqlConfig::default())?;
/// # let _ = store;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
impl Backend for MysqlStorage {
    const NAME: &'static str = "mysql";
    const ALIASES: &'static [&'static str] = &["mariadb"];
    type Config = MysqlConfig;

    fn from_config(config: MysqlConfig) -> Result<Self, StorageError> {
        Self::from_config(config)
    }
}
