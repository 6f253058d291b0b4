//! The values a session save hands a store.

use std::fmt;

/// The largest TTL the session engine passes: 400 days (`MAX_TTL` in the reference).
///
/// ```
/// assert_eq!(session_storage::MAX_TTL, 34_560_000);
/// ```
pub const MAX_TTL: u64 = 34_560_000;

/// Which metadata collections a session belongs to (docs/storage.md §2.7).
///
/// Two parallel lists: `audiences[i]` goes with `subjects[i]`. The session engine has already
/// encoded them (base64url audience; base64url or hashed subject, or, with several audiences,
/// the reference's raw subject), so a store uses them as given.
///
/// ```
/// use session_storage::Metadata;
/// let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
/// assert_eq!(meta.pairs().collect::<Vec<_>>(), [("ZGVmYXVsdA", "am9obg")]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Encoded audiences, one per collection.
    pub audiences: Vec<String>,
    /// Encoded subjects, parallel to `audiences`.
    pub subjects: Vec<String>,
}

impl Metadata {
    /// Metadata from two parallel lists.
    ///
    /// ```
    /// let meta = session_storage::Metadata::new(vec!["YTE".into()], vec!["czE".into()]);
    /// assert_eq!(meta.audiences, ["YTE"]);
    /// ```
    #[must_use]
    pub fn new(audiences: Vec<String>, subjects: Vec<String>) -> Self {
        Self {
            audiences,
            subjects,
        }
    }

    /// The `(audience, subject)` pairs, in order. Extra elements of the longer list (which the
    /// engine never produces) are ignored.
    ///
    /// ```
    /// let meta = session_storage::Metadata::new(
    ///     vec!["YTE".into(), "YTI".into()],
    ///     vec!["s1".into(), "s2".into()],
    /// );
    /// assert_eq!(meta.pairs().count(), 2);
    /// ```
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.audiences
            .iter()
            .map(String::as_str)
            .zip(self.subjects.iter().map(String::as_str))
    }
}

/// Everything a `set` needs (docs/storage.md §4.1).
///
/// Build one with [`SetRequest::new`] and the `with_*` methods; the struct is
/// `#[non_exhaustive]` so fields can be added without breaking stores.
///
/// `Debug` does not print the keys or the value.
///
/// ```
/// use session_storage::{Metadata, SetRequest};
/// let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
/// let req = SetRequest::new("session", "new-key", "[\"payload\"]", 3600, 1_700_000_000)
///     .with_old_key("old-key", 10)
///     .with_metadata(&meta);
/// assert_eq!(req.expires_at(), 1_700_003_600);
/// assert_eq!(req.stale_expires_at(), 1_700_000_010);
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct SetRequest<'a> {
    /// Cookie name, including any `__Host-`/`__Secure-` prefix (docs/storage.md §2.1).
    pub name: &'a str,
    /// The new storage key (43 base64url characters from the engine).
    pub key: &'a str,
    /// The record, stored and returned byte for byte.
    pub value: &'a str,
    /// Seconds the record lives after `now`; the engine passes 1 ..= [`MAX_TTL`].
    pub ttl: u64,
    /// The engine's current time, Unix seconds.
    pub now: i64,
    /// The previous session's storage key, which should expire `stale_ttl` seconds from `now`.
    pub old_key: Option<&'a str>,
    /// How long the old record stays readable; meaningful only with `old_key`.
    pub stale_ttl: u64,
    /// Collections `key` joins (and `old_key` leaves).
    pub metadata: Option<&'a Metadata>,
    /// Whether this is the remember (persistent) session. Stores must not change behaviour
    /// because of it (4.1.5 semantics, docs/storage.md §2.8); it is here for logging.
    pub remember: bool,
}

impl<'a> SetRequest<'a> {
    /// A request without old key or metadata (the fast path).
    ///
    /// ```
    /// let req = session_storage::SetRequest::new("session", "k", "v", 60, 100);
    /// assert!(req.old_key.is_none() && req.metadata.is_none());
    /// ```
    #[must_use]
    pub const fn new(name: &'a str, key: &'a str, value: &'a str, ttl: u64, now: i64) -> Self {
        Self {
            name,
            key,
            value,
            ttl,
            now,
            old_key: None,
            stale_ttl: 0,
            metadata: None,
            remember: false,
        }
    }

    /// Sets the old key and its stale TTL.
    ///
    /// ```
    /// let req = session_storage::SetRequest::new("session", "k", "v", 60, 100).with_old_key("o", 10);
    /// assert_eq!((req.old_key, req.stale_ttl), (Some("o"), 10));
    /// ```
    #[must_use]
    pub const fn with_old_key(mut self, old_key: &'a str, stale_ttl: u64) -> Self {
        self.old_key = Some(old_key);
        self.stale_ttl = stale_ttl;
        self
    }

    /// Sets the stale TTL alone, without an old key.
    ///
    /// The reference passes `stale_ttl` on every save, also on a first save that has no old
    /// key (golden vector V7 records `stale_ttl = 10` there); a store ignores it without
    /// `old_key`. [`with_old_key`](Self::with_old_key) sets both at once.
    ///
    /// ```
    /// let req = session_storage::SetRequest::new("session", "k", "v", 60, 100).with_stale_ttl(10);
    /// assert_eq!((req.old_key, req.stale_ttl), (None, 10));
    /// ```
    #[must_use]
    pub const fn with_stale_ttl(mut self, stale_ttl: u64) -> Self {
        self.stale_ttl = stale_ttl;
        self
    }

    /// Sets the metadata collections.
    ///
    /// ```
    /// let meta = session_storage::Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    /// let req = session_storage::SetRequest::new("s", "k", "v", 60, 100).with_metadata(&meta);
    /// assert!(req.metadata.is_some());
    /// ```
    #[must_use]
    pub const fn with_metadata(mut self, metadata: &'a Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the remember flag (informational only).
    ///
    /// ```
    /// let req = session_storage::SetRequest::new("remember", "k", "v", 60, 100).with_remember(true);
    /// assert!(req.remember);
    /// ```
    #[must_use]
    pub const fn with_remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }

    /// Absolute expiry of the new record: `now + ttl`, saturating.
    ///
    /// ```
    /// assert_eq!(session_storage::SetRequest::new("s", "k", "v", 60, 100).expires_at(), 160);
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> i64 {
        add_secs(self.now, self.ttl)
    }

    /// Absolute expiry the old record is shortened to: `now + stale_ttl`, saturating.
    ///
    /// ```
    /// let req = session_storage::SetRequest::new("s", "k", "v", 60, 100).with_old_key("o", 10);
    /// assert_eq!(req.stale_expires_at(), 110);
    /// ```
    #[must_use]
    pub fn stale_expires_at(&self) -> i64 {
        add_secs(self.now, self.stale_ttl)
    }
}

impl fmt::Debug for SetRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetRequest")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("value_len", &self.value.len())
            .field("ttl", &self.ttl)
            .field("now", &self.now)
            .field("old_key", &self.old_key.map(|_| "<redacted>"))
            .field("stale_ttl", &self.stale_ttl)
            .field("metadata", &self.metadata)
            .field("remember", &self.remember)
            .finish()
    }
}

/// `now + secs` in Unix seconds, saturating instead of overflowing.
///
/// ```
/// assert_eq!(session_storage::add_secs(100, 60), 160);
/// assert_eq!(session_storage::add_secs(i64::MAX, 1), i64::MAX);
/// ```
#[must_use]
pub fn add_secs(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_keys_and_value() {
        let req = SetRequest::new("session", "SECRETKEY", "SECRETVALUE", 1, 0)
            .with_old_key("OLDSECRET", 1);
        let s = format!("{req:?}");
        assert!(!s.contains("SECRET"), "{s}");
    }

    #[test]
    fn expiry_saturates() {
        let req = SetRequest::new("s", "k", "v", u64::MAX, i64::MAX - 1);
        assert_eq!(req.expires_at(), i64::MAX);
    }
}
