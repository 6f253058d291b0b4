//! A pool of [`Conn`]s (deadpool's managed pool) and the retry rule of the text-protocol
//! stores.
//!
//! Recycling does not ping (lua-resty-session reuses keepalive connections without a round
//! trip): it drops a connection idle for longer than `keepalive_timeout`, one whose last
//! request was cut short, and one whose server has closed its end (a non-blocking probe, so
//! a restarted server is noticed without a failed request).

use std::fmt;
use std::ops::ControlFlow;

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use session_storage::StorageError;

use crate::conn::{Conn, ConnError, Server, TlsConnector};
use crate::deadline::Deadline;
use crate::options::Limits;

/// Why an operation on a pooled connection stopped: a connection failure (the connection is
/// dropped) or an error that leaves the connection usable.
///
/// ```
/// use session_net::conn::ConnError;
/// use session_net::pool::Fail;
/// let fail: Fail = ConnError::Closed.into();
/// assert!(matches!(fail, Fail::Conn(_)));
/// let fail: Fail = session_storage::StorageError::invalid_record("not UTF-8").into();
/// assert!(matches!(fail, Fail::Storage(_)));
/// ```
#[derive(Debug)]
pub enum Fail {
    /// The connection failed; it is dropped.
    Conn(ConnError),
    /// The operation failed; the connection stays usable.
    Storage(StorageError),
}

impl From<ConnError> for Fail {
    fn from(e: ConnError) -> Self {
        Self::Conn(e)
    }
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

/// Opens connections for one store.
#[derive(Debug)]
struct Manager {
    server: Server,
    tls: Option<TlsConnector>,
    limits: Limits,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnError;

    async fn create(&self) -> Result<Conn, ConnError> {
        Conn::connect(self.server.target(), self.tls.as_ref(), self.limits).await
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<ConnError> {
        if metrics.last_used() > self.limits.keepalive {
            return Err(RecycleError::message("idle longer than keepalive_timeout"));
        }
        if !conn.is_reusable() {
            return Err(RecycleError::message("connection closed or out of step"));
        }
        Ok(())
    }
}

/// The connections of one store to one server, at most `pool_size` open at once; waiting
/// for one (and opening one) is bounded by `connect_timeout`. Cheap to clone: clones share
/// the connections.
///
/// ```no_run
/// use session_net::conn::{Server, Target};
/// use session_net::options::Limits;
/// use session_net::pool::ConnPool;
/// use session_net::text::{Parsed, find_crlf};
///
/// # async fn demo() -> Result<(), session_storage::StorageError> {
/// let server = Server::new("memcached", "the text protocol", Target::Tcp("127.0.0.1".into(), 11211));
/// let pool = ConnPool::new(server, None, Limits::default())?;
/// let version = session_net::with_conn!(&pool, |conn| async {
///     let line = conn
///         .request(b"version\r\n", |buf: &[u8]| {
///             Ok(find_crlf(buf).map_or(Parsed::Need(buf.len() + 1), |end| {
///                 Parsed::Done(end + 2, String::from_utf8_lossy(&buf[..end]).into_owned())
///             }))
///         })
///         .await?;
///     Ok(line)
/// })?;
/// assert!(version.starts_with("VERSION"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConnPool {
    pool: managed::Pool<Manager>,
    deadline: Deadline,
}

impl fmt::Debug for ConnPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("ConnPool")
            .field("server", &self.server().to_string())
            .field("tls", &self.is_tls())
            .field("size", &status.size)
            .field("available", &status.available)
            .field("max_size", &status.max_size)
            .field("operation_timeout", &self.deadline.limit())
            .finish()
    }
}

impl ConnPool {
    /// A pool of connections to `server` (with TLS when `tls` is given); each operation run
    /// by [`with_conn!`](crate::with_conn) is bounded by `limits.operation`. No connection is
    /// opened yet.
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("127.0.0.1".into(), 4321));
    /// let pool = session_net::pool::ConnPool::new(server, None, Default::default())?;
    /// assert!(!pool.is_tls());
    /// assert_eq!(pool.server().to_string(), "dshm at 127.0.0.1:4321");
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Config` when the pool cannot be built (no tokio runtime support compiled in).
    pub fn new(
        server: Server,
        tls: Option<TlsConnector>,
        limits: Limits,
    ) -> Result<Self, StorageError> {
        let store = server.store();
        let deadline = Deadline::new(store, limits.operation);
        let pool = managed::Pool::builder(Manager {
            server,
            tls,
            limits,
        })
        .max_size(limits.pool_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(limits.connect))
        .create_timeout(Some(limits.connect.saturating_add(limits.connect / 10)))
        .recycle_timeout(Some(limits.read))
        .build()
        .map_err(|e| {
            StorageError::config(format!("cannot build the {store} pool")).with_source(e)
        })?;
        Ok(Self { pool, deadline })
    }

    /// The server the connections go to.
    ///
    /// See [`ConnPool::new`].
    #[must_use]
    pub fn server(&self) -> &Server {
        &self.pool.manager().server
    }

    /// The deadline of each operation ([`with_conn!`](crate::with_conn) applies it).
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// use session_net::options::SocketLimits;
    /// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("127.0.0.1".into(), 4321));
    /// let limits = SocketLimits { operation_timeout: Some(800), ..Default::default() }.resolve("dshm")?;
    /// let pool = session_net::pool::ConnPool::new(server, None, limits)?;
    /// assert_eq!(pool.deadline().limit(), std::time::Duration::from_millis(800));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// Drops every idle connection: the next operations open fresh ones. Run when an
    /// operation hit its deadline (the connection that hung may be among the idle ones).
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("127.0.0.1".into(), 4321));
    /// let pool = session_net::pool::ConnPool::new(server, None, Default::default())?;
    /// pool.drop_idle();
    /// assert_eq!(pool.status().size, 0);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    pub fn drop_idle(&self) {
        self.pool.retain(|_, _| false);
    }

    /// Whether connections use TLS.
    ///
    /// See [`ConnPool::new`].
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.pool.manager().tls.is_some()
    }

    /// Checks a connection out, for commands outside [`with_conn!`](crate::with_conn)'s retry
    /// rule. It goes back to the pool when dropped, unless a request on it was cut short or
    /// failed.
    ///
    /// ```no_run
    /// # async fn demo(pool: session_net::pool::ConnPool) -> Result<(), session_storage::StorageError> {
    /// let conn = pool.checkout().await?;
    /// assert_eq!(conn.completed(), 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// No connection within the connect timeout, or opening one failed.
    pub async fn checkout(&self) -> Result<PooledConn, StorageError> {
        let obj = self.get().await?;
        Ok(PooledConn {
            completed_at_checkout: obj.completed(),
            obj,
        })
    }

    async fn get(&self) -> Result<Object<Manager>, StorageError> {
        self.pool.get().await.map_err(|e| {
            let server = self.server();
            tracing::warn!(
                storage = server.store(),
                error = %e,
                "no pooled connection to the storage server"
            );
            match e {
                managed::PoolError::Backend(e) => e.into_storage(server),
                managed::PoolError::Timeout(t) => StorageError::timeout(format!(
                    "{server}: no connection within the connect timeout ({t:?})"
                )),
                other => StorageError::backend(format!("{server}: pool failed")).with_source(other),
            }
        })
    }

    /// Settles one attempt of [`with_conn!`](crate::with_conn): `Break` with the outcome,
    /// or `Continue` to run the body once more on a fresh connection.
    ///
    /// A connection that failed is dropped with every idle one; when a reused connection
    /// turned out dead before its first reply (the server restarted while it sat in the
    /// pool), the body may run once more: nothing was executed, so every body must start
    /// with an idempotent command. `retried` records that the one retry was used.
    ///
    /// See [`with_conn!`](crate::with_conn).
    pub fn settle<T>(
        &self,
        conn: PooledConn,
        result: Result<T, Fail>,
        retried: &mut bool,
    ) -> ControlFlow<Result<T, StorageError>> {
        match result {
            Ok(v) => ControlFlow::Break(Ok(v)),
            Err(Fail::Storage(e)) => ControlFlow::Break(Err(e)),
            Err(Fail::Conn(e)) => {
                let lost = e.is_connection_lost();
                let nothing_read = conn.completed() == conn.completed_at_checkout;
                let reused = Object::metrics(&conn.obj).recycle_count > 0;
                drop(Object::take(conn.obj));
                let store = self.server().store();
                tracing::warn!(storage = store, error = %e, "storage connection failed; dropped");
                if lost {
                    self.pool.retain(|_, _| false);
                    if reused && nothing_read && !*retried {
                        *retried = true;
                        tracing::warn!(
                            storage = store,
                            "reconnecting: a pooled connection was closed by the server"
                        );
                        return ControlFlow::Continue(());
                    }
                }
                ControlFlow::Break(Err(e.into_storage(self.server())))
            }
        }
    }

    /// The pool's counters: open connections, idle ones, the limit.
    ///
    /// ```
    /// use session_net::conn::{Server, Target};
    /// let server = Server::new("dshm", "the DSHM protocol", Target::Tcp("127.0.0.1".into(), 4321));
    /// let pool = session_net::pool::ConnPool::new(server, None, Default::default())?;
    /// assert_eq!(pool.status().size, 0);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> deadpool::Status {
        self.pool.status()
    }
}

/// A connection checked out of a [`ConnPool`] ([`ConnPool::checkout`]); it derefs to the
/// [`Conn`].
///
/// ```no_run
/// # async fn demo(pool: session_net::pool::ConnPool) -> Result<(), session_storage::StorageError> {
/// let mut conn = pool.checkout().await?;
/// conn.poison(); // not reused: closed when dropped
/// # Ok(()) }
/// ```
pub struct PooledConn {
    obj: Object<Manager>,
    completed_at_checkout: u64,
}

impl fmt::Debug for PooledConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledConn").field(&*self.obj).finish()
    }
}

impl std::ops::Deref for PooledConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.obj
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.obj
    }
}

/// Runs `$body` (a future using `$conn: &mut Conn`, failing with [`Fail`]) on a connection
/// of the pool `$pool` (`&ConnPool`), and evaluates to `Result<T, StorageError>`. The retry
/// rule is [`ConnPool::settle`]'s; the whole of it — checkouts, connects, the body, the
/// retry — is bounded by the pool's [`deadline`](ConnPool::deadline), past which the idle
/// connections are dropped and the result is a `Timeout`. `$op` (a `&str`, `"operation"`
/// when omitted) names the operation in that error and in the log.
///
/// A macro rather than a function taking an async closure: the futures of the stores'
/// `Storage` methods must be `Send`, which an async closure borrowing the connection cannot
/// yet promise.
///
/// See the [`ConnPool`] example.
#[macro_export]
macro_rules! with_conn {
    ($pool:expr, |$conn:ident| $body:expr) => {
        $crate::with_conn!($pool, "operation", |$conn| $body)
    };
    ($pool:expr, $op:expr, |$conn:ident| $body:expr) => {{
        let pool: &$crate::pool::ConnPool = $pool;
        let work = async {
            let mut retried = false;
            loop {
                let mut pooled = pool.checkout().await?;
                let result: ::std::result::Result<_, $crate::pool::Fail> = {
                    let $conn: &mut $crate::conn::Conn = &mut pooled;
                    $body.await
                };
                if let ::std::ops::ControlFlow::Break(outcome) =
                    pool.settle(pooled, result, &mut retried)
                {
                    break outcome;
                }
            }
        };
        pool.deadline().run($op, work, || pool.drop_idle()).await
    }};
}
