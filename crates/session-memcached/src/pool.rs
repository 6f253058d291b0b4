//! Connection pooling: a `deadpool::managed` manager over [`Conn`].
//!
//! Recycling does not ping (the reference reuses keepalive connections without a round
//! trip): it drops a connection idle for longer than `keepalive_timeout`, one whose last
//! request was cut short, and one whose server has closed its end (a non-blocking probe, so a
//! restarted memcached is noticed without a failed request).

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use session_storage::StorageError;

use crate::client::{Conn, ConnError};
use crate::config::{Limits, Target};
use crate::tls::TlsConnector;

/// Opens connections for one store.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) target: Target,
    /// Set when `ssl = true`.
    pub(crate) tls: Option<TlsConnector>,
    pub(crate) limits: Limits,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnError;

    async fn create(&self) -> Result<Conn, ConnError> {
        Conn::connect(&self.target, self.tls.as_ref(), self.limits).await
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

pub(crate) type Pool = managed::Pool<Manager>;

/// Builds the pool. No connection is opened yet.
pub(crate) fn build(
    target: Target,
    tls: Option<TlsConnector>,
    limits: Limits,
) -> Result<Pool, StorageError> {
    Pool::builder(Manager {
        target,
        tls,
        limits,
    })
    .max_size(limits.pool_size)
    .runtime(deadpool::Runtime::Tokio1)
    .wait_timeout(Some(limits.connect))
    .create_timeout(Some(limits.connect.saturating_add(limits.connect / 10)))
    .recycle_timeout(Some(limits.read))
    .build()
    .map_err(|e| StorageError::config("cannot build the memcached pool").with_source(e))
}

/// Checks out a connection, mapping pool errors onto storage errors.
pub(crate) async fn get(pool: &Pool) -> Result<managed::Object<Manager>, StorageError> {
    pool.get().await.map_err(|e| {
        let target = &pool.manager().target;
        match e {
            managed::PoolError::Backend(e) => e.into_storage(target),
            managed::PoolError::Timeout(t) => StorageError::timeout(format!(
                "memcached at {target}: no connection within the connect timeout ({t:?})"
            )),
            other => StorageError::backend(format!("memcached at {target}: pool failed"))
                .with_source(other),
        }
    })
}
