//! Redis errors as storage errors.

use redis::{ErrorKind as RedisKind, RedisError, ServerErrorKind};
use session_storage::{ErrorKind, StorageError};

/// Maps a driver error onto a [`StorageError`] whose kind says whether a retry can help,
/// keeping the driver error as the source. `what` says what was being done.
pub(crate) fn redis_error(e: RedisError, what: &'static str) -> StorageError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        ErrorKind::Unavailable
    } else {
        match e.kind() {
            RedisKind::Server(
                ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask,
            )
            | RedisKind::MasterNameNotFoundBySentinel
            | RedisKind::NoValidReplicasFoundBySentinel
            | RedisKind::ClusterConnectionNotFound => ErrorKind::Unavailable,
            RedisKind::AuthenticationFailed
            | RedisKind::InvalidClientConfig
            | RedisKind::EmptySentinelList
            | RedisKind::Server(ServerErrorKind::NoPerm) => ErrorKind::Config,
            RedisKind::Parse | RedisKind::UnexpectedReturnType => ErrorKind::InvalidRecord,
            _ if e.code() == Some("WRONGTYPE") => ErrorKind::InvalidRecord,
            _ if e.code() == Some("NOAUTH") || e.code() == Some("WRONGPASS") => ErrorKind::Config,
            _ => ErrorKind::Backend,
        }
    };
    StorageError::new(kind, what).with_source(e)
}

/// A driver error raised while building clients from the configuration.
pub(crate) fn config_error(e: RedisError) -> StorageError {
    StorageError::config("invalid redis configuration").with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let io = RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert_eq!(redis_error(io, "x").kind(), ErrorKind::Unavailable);
        let timeout = RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "t"));
        assert_eq!(redis_error(timeout, "x").kind(), ErrorKind::Timeout);
        let auth = RedisError::from((RedisKind::AuthenticationFailed, "bad"));
        assert_eq!(redis_error(auth, "x").kind(), ErrorKind::Config);
        let parse = RedisError::from((RedisKind::UnexpectedReturnType, "bad"));
        let err = redis_error(parse, "reading");
        assert_eq!(err.kind(), ErrorKind::InvalidRecord);
        assert!(std::error::Error::source(&err).is_some());
    }
}
