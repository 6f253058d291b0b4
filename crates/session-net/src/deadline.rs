//! One deadline per storage operation.
//!
//! The Lua socket options bound each socket step (`connect_timeout`, `send_timeout`,
//! `read_timeout`, 60 s each by default), so one operation of a hung server could wait for
//! minutes (a pool checkout, a connect, several round trips, a retry). Every networked store
//! also runs each whole operation — pool checkout, connect, TLS handshake, every write and
//! read, retries and cluster redirections included — under one [`Deadline`]:
//! `operation_timeout` milliseconds, [`DEFAULT_OPERATION_TIMEOUT_MS`] when not configured.
//! Past it the operation fails with [`ErrorKind::Timeout`](session_storage::ErrorKind::Timeout)
//! and the store drops its idle connections, so the next operation starts on fresh ones.
//!
//! Why 5 s by default: a session operation is one or two round trips to a store on the same
//! network, normally a millisecond or so; a store that has not answered within a few seconds
//! is down or hung for the request waiting on it, and answering that request with an error
//! is better than holding it (and a worker) for a minute. It stays well above a loaded
//! server's tail latency and the time a Sentinel failover takes to be followed. See
//! docs/failure-behaviour.md.
//!
//! ```
//! use std::time::Duration;
//! use session_net::deadline::Deadline;
//! use session_storage::ErrorKind;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let deadline = Deadline::new("memcached", Duration::from_millis(20));
//! let answered = deadline.run("get", async { Ok::<_, session_storage::StorageError>(7) }, || ()).await;
//! assert_eq!(answered.unwrap(), 7);
//!
//! let mut reset = false;
//! let hung = deadline
//!     .run("get", std::future::pending::<Result<(), _>>(), || reset = true)
//!     .await
//!     .unwrap_err();
//! assert_eq!(hung.kind(), ErrorKind::Timeout);
//! assert_eq!(hung.message(), "memcached get: no result within operation_timeout (20 ms)");
//! assert!(reset, "the store is told to drop its idle connections");
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

mod keeper;

use session_storage::StorageError;

/// The deadline of one storage operation when `operation_timeout` is not configured: 5 s.
pub const DEFAULT_OPERATION_TIMEOUT_MS: u64 = 5_000;

/// The deadline of every operation of one store: see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    store: &'static str,
    limit: Duration,
}

impl Deadline {
    /// Operations of store `store` (as errors and log events name it) last at most `limit`.
    ///
    /// ```
    /// let d = session_net::deadline::Deadline::new("dshm", std::time::Duration::from_secs(2));
    /// assert_eq!(d.limit(), std::time::Duration::from_secs(2));
    /// assert_eq!(d.store(), "dshm");
    /// ```
    #[must_use]
    pub const fn new(store: &'static str, limit: Duration) -> Self {
        Self { store, limit }
    }

    /// The longest one operation may take.
    ///
    /// See [`Deadline::new`].
    #[must_use]
    pub const fn limit(&self) -> Duration {
        self.limit
    }

    /// The store's name.
    ///
    /// See [`Deadline::new`].
    #[must_use]
    pub const fn store(&self) -> &'static str {
        self.store
    }

    /// The error of operation `op` cut at the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let d = session_net::deadline::Deadline::new("postgres", Duration::from_millis(1500));
    /// let e = d.timeout_error("set");
    /// assert_eq!(e.kind(), session_storage::ErrorKind::Timeout);
    /// assert_eq!(e.message(), "postgres set: no result within operation_timeout (1500 ms)");
    /// ```
    #[must_use]
    pub fn timeout_error(&self, op: &str) -> StorageError {
        StorageError::timeout(format!(
            "{} {op}: no result within operation_timeout ({} ms)",
            self.store,
            self.limit.as_millis()
        ))
    }

    /// Runs `fut`, operation `op` of the store, for at most [`limit`](Self::limit). When the
    /// deadline passes, `fut` is dropped first (its connection, if any, goes back to the
    /// pool or is closed), then `on_timeout` runs — a store drops its idle connections there,
    /// the one that hung among them — a `warn` event is emitted (storage, operation, limit:
    /// no key or value) and the [`timeout_error`](Self::timeout_error) is returned.
    ///
    /// See the [module example](self).
    ///
    /// # Errors
    ///
    /// `fut`'s error, or a [`Timeout`](session_storage::ErrorKind::Timeout) past the deadline.
    pub async fn run<T, F>(
        &self,
        op: &str,
        fut: F,
        on_timeout: impl FnOnce(),
    ) -> Result<T, StorageError>
    where
        F: Future<Output = Result<T, StorageError>>,
    {
        keeper::keep(self.limit);
        // `timeout(..).await` drops `fut` before yielding the elapsed error.
        let outcome = tokio::time::timeout(self.limit, fut).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                on_timeout();
                tracing::warn!(
                    storage = self.store,
                    operation = op,
                    timeout_ms = u64::try_from(self.limit.as_millis()).unwrap_or(u64::MAX),
                    "storage operation timed out; idle connections dropped"
                );
                Err(self.timeout_error(op))
            }
        }
    }
}
