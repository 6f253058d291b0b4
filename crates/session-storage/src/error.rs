//! The error type every store returns.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

/// A boxed cause kept as the `source` of a [`StorageError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, in terms a caller can act on.
///
/// ```
/// use session_storage::ErrorKind;
/// assert!(ErrorKind::Timeout.is_retryable());
/// assert!(!ErrorKind::InvalidRecord.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The backend could not be reached or refused the connection. A retry may help.
    Unavailable,
    /// The backend did not answer in time. A retry may help.
    Timeout,
    /// The backend is out of room (for example an in-process store whose byte capacity cannot
    /// hold the record even after evicting). A retry may help once other records expire.
    CapacityExceeded,
    /// A stored record or collection is malformed (what another writer left is not in the
    /// reference's layout). Retrying will not help.
    InvalidRecord,
    /// An argument cannot be stored safely: for example a key or cookie name that would
    /// escape the file store's directory. Retrying will not help.
    InvalidInput,
    /// The store's configuration is wrong (unknown zone, missing directory, ...).
    Config,
    /// Any other backend failure (an I/O error, a driver error, ...).
    Backend,
}

impl ErrorKind {
    /// Whether repeating the same call later can succeed.
    ///
    /// ```
    /// use session_storage::ErrorKind;
    /// assert!(ErrorKind::Unavailable.is_retryable());
    /// assert!(!ErrorKind::InvalidInput.is_retryable());
    /// ```
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Unavailable | Self::Timeout | Self::CapacityExceeded
        )
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "storage unavailable",
            Self::Timeout => "storage timed out",
            Self::CapacityExceeded => "storage capacity exceeded",
            Self::InvalidRecord => "invalid stored record",
            Self::InvalidInput => "invalid storage argument",
            Self::Config => "invalid storage configuration",
            Self::Backend => "storage backend error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error every [`Storage`](crate::Storage) operation returns.
///
/// It carries a [`kind`](Self::kind) (which says whether a retry can help), a short message
/// and, when there is one, the underlying cause as its [`source`](std::error::Error::source).
/// Messages never contain record values.
///
/// Third-party stores build one with [`StorageError::new`] or a shorthand such as
/// [`StorageError::unavailable`], and attach their driver's error with
/// [`with_source`](Self::with_source):
///
/// ```
/// use session_storage::{ErrorKind, StorageError};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let err = StorageError::unavailable("cannot connect to 127.0.0.1:6379").with_source(io);
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert!(err.is_retryable());
/// assert_eq!(err.to_string(), "storage unavailable: cannot connect to 127.0.0.1:6379");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct StorageError {
    kind: ErrorKind,
    message: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl StorageError {
    /// An error of `kind` with a message saying what failed.
    ///
    /// ```
    /// use session_storage::{ErrorKind, StorageError};
    /// let err = StorageError::new(ErrorKind::Backend, "unexpected reply");
    /// assert_eq!(err.message(), "unexpected reply");
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause, kept as the error's `source`.
    ///
    /// ```
    /// use session_storage::StorageError;
    /// let err = StorageError::backend("write failed")
    ///     .with_source(std::io::Error::other("disk full"));
    /// assert_eq!(std::error::Error::source(&err).map(ToString::to_string).as_deref(), Some("disk full"));
    /// ```
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Shorthand for [`ErrorKind::Unavailable`].
    ///
    /// ```
    /// assert!(session_storage::StorageError::unavailable("down").is_retryable());
    /// ```
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Shorthand for [`ErrorKind::Timeout`].
    ///
    /// ```
    /// assert!(session_storage::StorageError::timeout("no reply in 1s").is_retryable());
    /// ```
    pub fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// Shorthand for [`ErrorKind::InvalidRecord`].
    ///
    /// ```
    /// assert!(!session_storage::StorageError::invalid_record("bad entry").is_retryable());
    /// ```
    pub fn invalid_record(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidRecord, message)
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    ///
    /// ```
    /// assert!(!session_storage::StorageError::invalid_input("key contains '/'").is_retryable());
    /// ```
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Config`].
    ///
    /// ```
    /// let err = session_storage::StorageError::config("lua_shared_dict sessions is missing");
    /// assert_eq!(err.kind(), session_storage::ErrorKind::Config);
    /// ```
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Shorthand for [`ErrorKind::Backend`].
    ///
    /// ```
    /// let err = session_storage::StorageError::backend("unexpected reply");
    /// assert_eq!(err.kind(), session_storage::ErrorKind::Backend);
    /// ```
    pub fn backend(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Backend, message)
    }

    /// What went wrong.
    ///
    /// ```
    /// use session_storage::{ErrorKind, StorageError};
    /// assert_eq!(StorageError::timeout("x").kind(), ErrorKind::Timeout);
    /// ```
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    ///
    /// ```
    /// assert_eq!(session_storage::StorageError::timeout("no reply").message(), "no reply");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether repeating the call later can succeed (see [`ErrorKind::is_retryable`]).
    ///
    /// ```
    /// assert!(session_storage::StorageError::timeout("x").is_retryable());
    /// ```
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_and_message_and_source_is_kept() {
        let err = StorageError::backend("write failed").with_source(std::io::Error::other("disk"));
        assert_eq!(err.to_string(), "storage backend error: write failed");
        assert_eq!(
            StdError::source(&err).map(ToString::to_string).as_deref(),
            Some("disk")
        );
    }

    #[test]
    fn only_transient_kinds_are_retryable() {
        for kind in [
            ErrorKind::InvalidRecord,
            ErrorKind::InvalidInput,
            ErrorKind::Config,
            ErrorKind::Backend,
        ] {
            assert!(!kind.is_retryable(), "{kind}");
        }
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<StorageError>();
    }
}
