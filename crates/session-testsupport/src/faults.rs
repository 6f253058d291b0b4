//! What an outage looks like to a caller of `Storage`.

use session_storage::{ErrorKind, StorageError};

/// Whether `err` is a typed outage: the server is unavailable or did not answer in time (the
/// two kinds a caller may retry on), as opposed to a configuration, protocol or data error.
///
/// ```
/// use session_storage::{ErrorKind, StorageError};
/// use session_testsupport::faults::is_outage;
///
/// assert!(is_outage(&StorageError::new(ErrorKind::Timeout, "read timed out")));
/// assert!(!is_outage(&StorageError::new(ErrorKind::Config, "bad option")));
/// ```
pub fn is_outage(err: &StorageError) -> bool {
    matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout)
}
