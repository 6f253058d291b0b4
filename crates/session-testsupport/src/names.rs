//! Names no other test uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name no other test of this process, no other process and no earlier run uses:
/// `t_<tag>_<pid>_<counter>_<nanoseconds>`, letters, digits and `_` only (when `tag` is), so
/// it serves as an SQL table name (with room for a `_meta` suffix within PostgreSQL's 63
/// characters when `tag` is short) as well as a key prefix.
///
/// ```
/// use session_testsupport::names::unique;
///
/// let (a, b) = (unique("conf"), unique("conf"));
/// assert_ne!(a, b);
/// assert!(a.starts_with("t_conf_"));
/// assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
/// ```
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
