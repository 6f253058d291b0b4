//! PostgreSQL and pool errors as storage errors.

use std::error::Error as _;
use std::io;

use deadpool_postgres::{PoolError, TimeoutType};
use session_storage::{ErrorKind, StorageError};
use tokio_postgres::error::SqlState;

/// The kind for a server error code (SQLSTATE).
fn kind_of_state(code: &SqlState) -> ErrorKind {
    let c = code.code();
    if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || c.starts_with("40") {
        // connection exceptions, insufficient resources, shutdown / cannot connect now,
        // serialization failures and deadlocks: a retry may help.
        ErrorKind::Unavailable
    } else if c == "57014" {
        // query_canceled (statement_timeout)
        ErrorKind::Timeout
    } else if c.starts_with("28") || c.starts_with("42") || c == "3D000" || c == "3F000" {
        // authentication, undefined table/column or privileges, unknown database or schema
        ErrorKind::Config
    } else if c == "22021" || c == "22P05" {
        // a value the database encoding cannot hold
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Backend
    }
}

/// Maps a driver error onto a [`StorageError`] whose kind says whether a retry can help.
/// `what` says what was being done.
///
/// The cause is told once: a server error's text (with its SQLSTATE) is the message and the
/// driver error is not attached; otherwise the message says what failed and the driver
/// error is the source.
pub(crate) fn pg_error(e: tokio_postgres::Error, what: &str) -> StorageError {
    if let Some(db) = e.as_db_error() {
        let kind = kind_of_state(db.code());
        let hint = if *db.code() == SqlState::UNDEFINED_TABLE {
            " (create the tables of docs/storage.md §11.1, see PostgresStorage::create_schema)"
        } else {
            ""
        };
        let message = format!(
            "{what}: {} (SQLSTATE {}){hint}",
            db.message(),
            db.code().code()
        );
        return StorageError::new(kind, message);
    }
    #[cfg(feature = "tls")]
    if let Some(tls) = e
        .source()
        .and_then(|s| s.downcast_ref::<crate::tls::TlsError>())
    {
        // A refused certificate: retrying will not help.
        let kind = if tls.is_certificate() {
            ErrorKind::Config
        } else {
            ErrorKind::Unavailable
        };
        return StorageError::new(kind, format!("{what}: {tls}")).with_source(e);
    }
    if e.source()
        .is_some_and(|s| s.to_string() == "server does not support TLS")
    {
        return StorageError::config(format!(
            "{what}: the server does not support TLS (ssl_required = true)"
        ));
    }
    let io_kind = e
        .source()
        .and_then(|s| s.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    let (kind, failure) = match io_kind {
        Some(io::ErrorKind::TimedOut) => (ErrorKind::Timeout, "timed out"),
        Some(_) => (ErrorKind::Unavailable, "the connection failed"),
        None if e.is_closed() => (ErrorKind::Unavailable, "the connection is closed"),
        None => (ErrorKind::Backend, "the driver failed"),
    };
    StorageError::new(kind, format!("{what}: {failure}")).with_source(e)
}

/// Maps a pool error (waiting for or opening a connection).
pub(crate) fn pool_error(e: PoolError, what: &str) -> StorageError {
    match e {
        PoolError::Timeout(TimeoutType::Wait) => StorageError::timeout(format!(
            "{what}: no pooled connection became free within connect_timeout"
        )),
        PoolError::Timeout(TimeoutType::Create) => StorageError::timeout(format!(
            "{what}: connecting to the server took longer than connect_timeout"
        )),
        PoolError::Timeout(TimeoutType::Recycle) => StorageError::timeout(format!(
            "{what}: checking a pooled connection took longer than read_timeout"
        )),
        PoolError::Backend(e) => {
            let err = pg_error(e, what);
            if err.kind() == ErrorKind::Backend {
                // Failing to open a connection for a reason we cannot classify.
                StorageError::unavailable(format!("{what}: cannot connect")).with_source(err)
            } else {
                err
            }
        }
        PoolError::Closed => StorageError::unavailable(format!("{what}: the pool is closed")),
        PoolError::NoRuntimeSpecified => {
            StorageError::config(format!("{what}: the pool has no runtime"))
        }
        PoolError::PostCreateHook(e) => {
            StorageError::backend(format!("{what}: connection setup failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_kinds() {
        assert_eq!(kind_of_state(&SqlState::UNDEFINED_TABLE), ErrorKind::Config);
        assert_eq!(
            kind_of_state(&SqlState::INVALID_PASSWORD),
            ErrorKind::Config
        );
        assert_eq!(
            kind_of_state(&SqlState::ADMIN_SHUTDOWN),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_of_state(&SqlState::T_R_DEADLOCK_DETECTED),
            ErrorKind::Unavailable
        );
        assert_eq!(kind_of_state(&SqlState::QUERY_CANCELED), ErrorKind::Timeout);
        assert_eq!(
            kind_of_state(&SqlState::CHARACTER_NOT_IN_REPERTOIRE),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind_of_state(&SqlState::FOREIGN_KEY_VIOLATION),
            ErrorKind::Backend
        );
        assert!(
            pool_error(PoolError::Timeout(TimeoutType::Create), "get").kind() == ErrorKind::Timeout
        );
    }
}
