//! The clock the stores are given.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock in whole Unix seconds, the `now` the `Storage` operations take.
///
/// ```
/// assert!(session_testsupport::clock::now() > 1_700_000_000);
/// ```
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}
