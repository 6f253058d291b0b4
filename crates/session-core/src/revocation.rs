//! Revocation of cookie sessions: take back a session whose cookie is out of your hands.
//!
//! A cookie-only session carries everything it needs, so until its timeouts pass nothing on
//! the server can end it (lua-resty-session issue #209). With the opt-in `revocation` option,
//! a store of your choice (any storage kind, with the same options block as `storage`) keeps
//! one small record per subject:
//!
//! - a "not valid before" time for the subject in every audience, and per audience: a
//!   session whose entry for that subject was created before it no longer opens;
//! - single revoked session ids (or prefixes of them, at least [`MIN_ID_PREFIX_LEN`]
//!   characters of the base64url id `session inspect` prints), kept until the longest
//!   session created before the revocation has expired anyway.
//!
//! [`Session::open`](crate::Session::open) then fails with [`crate::Error::Revoked`]
//! ("session revoked (…)") for such a cookie. A cookie holding several audiences does not
//! open at all once one of its entries is revoked (its other audiences would otherwise carry
//! the revoked entry into a new cookie).
//!
//! Lookups are cached per subject for `cache_ttl` seconds (default [`DEFAULT_CACHE_TTL`]), so
//! an open costs at most one store read per subject and cache period: when a cached lookup goes
//! stale, one request reads the store while concurrent ones keep using the stale lookup (only a
//! subject's very first lookups, with nothing cached yet, may read side by side). A revocation
//! made by another process is seen once the period has passed (at worst two periods, while a
//! refresh is under way); one made through this configuration at once. Revoking reads and writes that one record, named `<cookie_name>-revocation` in the
//! store (the file store's `cleanup("session-revocation", now)` sweeps expired ones). Nothing in the cookie format changes, and
//! a session without a subject cannot be revoked this way.
//!
//! ```toml
//! [revocation]
//! storage = "file"          # any storage kind, as `storage`
//! cache_ttl = 5             # seconds a lookup is reused (0: read on every open)
//! fail_open = false         # a failing revocation store rejects sessions (default)
//! file = { path = "/var/lib/session-revocations" }
//! ```
//!
//! ```
//! # session_core::block_on(async {
//! use std::sync::Arc;
//! use session_core::{Config, Request, Session, env::FixedClock, revocation};
//! use session_core::session_storage::memory::MemoryStorage;
//!
//! let clock = Arc::new(FixedClock::new(1_700_000_000));
//! let config = Config::from_text(r#"{"secret": "RaJKp8UQW1", "revocation": {"storage": "memory"}}"#)?
//!     .builder()
//!     .revocation_storage(Arc::new(MemoryStorage::new()))
//!     .clock(clock.clone())
//!     .build()?;
//! let mut session = Session::new(&config, Request::new());
//! session.set_subject(Some("john"))?;
//! session.save().await?;
//! let cookie = session.set_cookies()[0].split(';').next().unwrap().to_owned();
//!
//! clock.advance(1);
//! revocation::revoke_subject(&config, "john", None).await?;
//! let mut stolen = Session::new(&config, Request::new().with_cookie(cookie));
//! let err = stolen.open().await.unwrap_err();
//! assert!(err.to_string().contains("revoked"));
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use session_codec::Header;
use session_storage::{DynStorage, MAX_TTL, SetRequest, StorageError};
use sha2::{Digest, Sha256};

use crate::config::SessionConfig;
use crate::error::Error;
use crate::payload::Entry;

/// Seconds a revocation lookup is reused when `revocation.cache_ttl` is not set.
///
/// ```
/// assert_eq!(session_core::revocation::DEFAULT_CACHE_TTL, 5);
/// ```
pub const DEFAULT_CACHE_TTL: u64 = 5;

/// The shortest session-id prefix [`revoke_id`] accepts (48 bits of the id).
///
/// ```
/// assert_eq!(session_core::revocation::MIN_ID_PREFIX_LEN, 8);
/// ```
pub const MIN_ID_PREFIX_LEN: usize = 8;

/// How many subjects' lookups the cache holds before it drops the stale ones.
const CACHE_SOFT_LIMIT: usize = 65_536;

/// The `revocation` option: where revocation records live and how lookups are cached.
///
/// `storage` names the store kind as `storage` does (`"file"`, `"redis"`, `"shm"`, …); its
/// options block sits beside it under the same name as at the top level. The `resty-session`
/// facade builds that store; with `session-core` alone, attach one with
/// [`SessionConfigBuilder::revocation_storage`](crate::SessionConfigBuilder::revocation_storage).
///
/// `Debug` names the option blocks without their contents (which may hold passwords).
///
/// ```
/// let config = session_core::Config::from_text(r#"
///     secret = "RaJKp8UQW1"
///     [revocation]
///     storage = "redis"
///     cache_ttl = 2
///     redis = { host = "127.0.0.1", password = "hunter2" }
/// "#).unwrap();
/// let revocation = config.revocation.as_ref().unwrap();
/// assert_eq!(revocation.storage.as_deref(), Some("redis"));
/// assert_eq!(revocation.cache_ttl, Some(2));
/// assert!(revocation.backends.contains_key("redis"));
/// assert!(!format!("{revocation:?}").contains("hunter2"));
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RevocationOptions {
    /// The store kind (`"file"`, `"redis"`, `"shm"`, …); required.
    pub storage: Option<String>,
    /// Seconds a lookup is reused (default [`DEFAULT_CACHE_TTL`]; 0 reads on every open).
    pub cache_ttl: Option<u64>,
    /// Open sessions when the revocation store cannot be read (default false: reject them).
    pub fail_open: Option<bool>,
    /// The store's options block (`file = { path = "…" }`, …), as at the top level.
    #[serde(flatten)]
    pub backends: BTreeMap<String, serde_json::Value>,
}

impl fmt::Debug for RevocationOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationOptions")
            .field("storage", &self.storage)
            .field("cache_ttl", &self.cache_ttl)
            .field("fail_open", &self.fail_open)
            .field("backends", &self.backends.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a session is revoked: the text after "session revoked" in [`Error::Revoked`].
///
/// ```
/// use session_core::revocation::RevocationReason;
/// assert_eq!(RevocationReason::Subject.to_string(), "all sessions of the subject were revoked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// Every session of the subject, in every audience, created before the revocation.
    Subject,
    /// Every session of the subject in one audience, created before the revocation.
    Audience,
    /// This session id was revoked.
    Id,
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Subject => "all sessions of the subject were revoked",
            Self::Audience => "all sessions of the subject in this audience were revoked",
            Self::Id => "this session id was revoked",
        })
    }
}

/// Why a revocation could not be written.
///
/// ```
/// use session_core::revocation::RevocationError;
/// assert!(RevocationError::NotConfigured.to_string().contains("`revocation`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The configuration has no `revocation` store.
    #[error(
        "revoking a cookie session needs the `revocation` option, e.g. \
         revocation = {{ storage = \"file\", file = {{ path = \"/var/lib/revocations\" }} }}"
    )]
    NotConfigured,
    /// The subject is empty.
    #[error("the subject must not be empty")]
    EmptySubject,
    /// The session id (prefix) is too short or not base64url.
    #[error(
        "a session id to revoke must be at least {MIN_ID_PREFIX_LEN} base64url characters \
         (the `sid` `session inspect` prints, or its start)"
    )]
    InvalidId,
    /// The revocation store failed to read the subject's record.
    #[error("unable to read the revocation record")]
    Read(#[source] StorageError),
    /// The revocation store refused the record.
    #[error("unable to write the revocation record")]
    Write(#[source] StorageError),
}

/// One subject's revocation record, as stored (JSON).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    /// Sessions created before this time (Unix seconds) are revoked in every audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<u64>,
    /// Per audience: sessions created before this time are revoked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    aud: BTreeMap<String, u64>,
    /// Revoked session ids (base64url, or a prefix) and when the entry may be dropped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    ids: BTreeMap<String, u64>,
}

impl Record {
    /// Why a session of `audience` created at `creation` with id `sid` is revoked, if it is.
    fn verdict(
        &self,
        header: &Header,
        audience: Option<&str>,
        now: u64,
    ) -> Option<RevocationReason> {
        let creation = header.creation_time;
        if self.all.is_some_and(|t| creation < t) {
            return Some(RevocationReason::Subject);
        }
        if let Some(audience) = audience
            && self.aud.get(audience).is_some_and(|&t| creation < t)
        {
            return Some(RevocationReason::Audience);
        }
        if !self.ids.is_empty() {
            let sid = header.sid.to_base64();
            let revoked = self
                .ids
                .iter()
                .any(|(prefix, &until)| until >= now && sid.starts_with(prefix.as_str()));
            if revoked {
                return Some(RevocationReason::Id);
            }
        }
        None
    }

    /// Drops what can no longer match a live session: times older than `horizon` seconds,
    /// ids past their expiry.
    fn prune(&mut self, now: u64, horizon: u64) {
        if self.all.is_some_and(|t| t.saturating_add(horizon) < now) {
            self.all = None;
        }
        self.aud.retain(|_, t| t.saturating_add(horizon) >= now);
        self.ids.retain(|_, until| *until >= now);
    }

    /// When the whole record can go.
    fn expires(&self, horizon: u64) -> u64 {
        let times = self.all.iter().chain(self.aud.values());
        let by_time = times.map(|t| t.saturating_add(horizon)).max().unwrap_or(0);
        by_time.max(self.ids.values().copied().max().unwrap_or(0))
    }
}

/// A cached lookup: the record (or its absence) and when it was read.
#[derive(Clone)]
struct Cached {
    fetched: u64,
    /// Lookups and revocations are numbered in the order they start: a read that started
    /// before this process's own revocation never replaces what the revocation cached.
    version: u64,
    /// A request is reading the store for a fresh copy since this time.
    refreshing_since: Option<u64>,
    record: Option<Arc<Record>>,
}

/// The revocation store of a built configuration, with its lookup cache.
pub(crate) struct Revocation {
    store: Arc<dyn DynStorage>,
    /// The `name` the records are stored under: `<cookie_name>-revocation`.
    name: String,
    cache_ttl: u64,
    fail_open: bool,
    /// The longest a session created before a revocation can live on (seconds).
    horizon: u64,
    cache: RwLock<HashMap<String, Cached>>,
    versions: AtomicU64,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("name", &self.name)
            .field("cache_ttl", &self.cache_ttl)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl Revocation {
    /// `absolute` / `remember_absolute`: the configured absolute timeouts (0: none).
    pub(crate) fn new(
        store: Arc<dyn DynStorage>,
        options: Option<&RevocationOptions>,
        cookie_name: &str,
        absolute: i64,
        remember_absolute: i64,
    ) -> Self {
        let bound = |t: i64| match u64::try_from(t) {
            Ok(0) | Err(_) => MAX_TTL,
            Ok(t) => t.min(MAX_TTL),
        };
        Self {
            store,
            name: format!("{cookie_name}-revocation"),
            cache_ttl: options
                .and_then(|o| o.cache_ttl)
                .unwrap_or(DEFAULT_CACHE_TTL),
            fail_open: options.and_then(|o| o.fail_open).unwrap_or(false),
            horizon: bound(absolute).max(bound(remember_absolute)),
            cache: RwLock::new(HashMap::new()),
            versions: AtomicU64::new(0),
        }
    }

    /// Rejects a cookie any of whose entries (audience, subject) is revoked.
    pub(crate) async fn check(
        &self,
        now: u64,
        header: &Header,
        entries: &[Entry],
    ) -> Result<(), Error> {
        for entry in entries {
            let Some(subject) = entry.subject.as_deref() else {
                continue;
            };
            let record = match self.lookup(subject, now).await {
                Ok(record) => record,
                Err(e) if self.fail_open => {
                    tracing::warn!(error = %crate::log::error_chain(&e), "revocation store read failed; session let through (revocation.fail_open)");
                    continue;
                }
                Err(e) => return Err(Error::RevocationCheck(e)),
            };
            if let Some(reason) =
                record.and_then(|r| r.verdict(header, entry.audience.as_deref(), now))
            {
                return Err(Error::Revoked(reason));
            }
        }
        Ok(())
    }

    /// The subject's record: cached if read less than `cache_ttl` seconds ago. When the
    /// cached lookup is stale, one request reads the store while the others keep using the
    /// stale record (for at most another period), so concurrent requests cost one read.
    async fn lookup(&self, subject: &str, now: u64) -> Result<Option<Arc<Record>>, StorageError> {
        let ttl = self.cache_ttl;
        if ttl == 0 {
            return Ok(self.read(subject, now).await?.map(Arc::new));
        }
        if let Ok(cache) = self.cache.read()
            && let Some(hit) = cache.get(subject)
            && now < hit.fetched.saturating_add(ttl)
        {
            return Ok(hit.record.clone());
        }
        if let Ok(mut cache) = self.cache.write()
            && let Some(hit) = cache.get_mut(subject)
        {
            let refreshing = hit
                .refreshing_since
                .is_some_and(|since| now < since.saturating_add(ttl));
            if now < hit.fetched.saturating_add(ttl) || refreshing {
                return Ok(hit.record.clone());
            }
            hit.refreshing_since = Some(now);
        }
        let version = self.next_version();
        let read = self.read(subject, now).await;
        let Ok(mut cache) = self.cache.write() else {
            return Ok(read?.map(Arc::new));
        };
        let record = match read {
            Ok(record) => record.map(Arc::new),
            Err(e) => {
                if let Some(hit) = cache.get_mut(subject) {
                    hit.refreshing_since = None;
                }
                return Err(e);
            }
        };
        Self::store_lookup(&mut cache, subject, now, ttl, version, record.clone());
        Ok(record)
    }

    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Caches a lookup unless a newer one (a read started later, or this process's own
    /// revocation) is already there; keeps the cache bounded.
    fn store_lookup(
        cache: &mut HashMap<String, Cached>,
        subject: &str,
        now: u64,
        ttl: u64,
        version: u64,
        record: Option<Arc<Record>>,
    ) {
        if cache.get(subject).is_some_and(|c| c.version > version) {
            return;
        }
        if cache.len() >= CACHE_SOFT_LIMIT {
            cache.retain(|_, c| now < c.fetched.saturating_add(ttl));
            if cache.len() >= CACHE_SOFT_LIMIT {
                cache.clear();
            }
        }
        cache.insert(
            subject.to_owned(),
            Cached {
                fetched: now,
                version,
                refreshing_since: None,
                record,
            },
        );
    }

    /// Reads and parses the subject's record from the store.
    async fn read(&self, subject: &str, now: u64) -> Result<Option<Record>, StorageError> {
        let key = record_key(subject);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        match self.store.dyn_get(&self.name, &key, now).await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|_| StorageError::invalid_record("revocation record is not valid JSON")),
        }
    }

    /// Read-modify-write of the subject's record; drops the subject's cached lookup.
    async fn update(
        &self,
        subject: &str,
        now: u64,
        change: impl FnOnce(&mut Record),
    ) -> Result<(), RevocationError> {
        let mut record = match self.read(subject, now).await {
            Ok(record) => record.unwrap_or_default(),
            Err(e) if e.kind() == session_storage::ErrorKind::InvalidRecord => {
                tracing::warn!("revocation record unreadable; replacing it");
                Record::default()
            }
            Err(e) => return Err(RevocationError::Read(e)),
        };
        record.prune(now, self.horizon);
        change(&mut record);
        let ttl = record
            .expires(self.horizon)
            .saturating_sub(now)
            .clamp(1, MAX_TTL);
        let value = serde_json::to_string(&record)
            .map_err(|e| RevocationError::Write(StorageError::invalid_record(e.to_string())))?;
        let key = record_key(subject);
        let now_signed = i64::try_from(now).unwrap_or(i64::MAX);
        self.store
            .dyn_set(&SetRequest::new(&self.name, &key, &value, ttl, now_signed))
            .await
            .map_err(RevocationError::Write)?;
        if self.cache_ttl > 0
            && let Ok(mut cache) = self.cache.write()
        {
            let version = self.next_version();
            let record = Some(Arc::new(record));
            Self::store_lookup(&mut cache, subject, now, self.cache_ttl, version, record);
        }
        tracing::info!(subject_key = %key, "session revocation recorded");
        Ok(())
    }
}

/// The store key of a subject's record: base64url of `SHA-256("session revocation\0" ||
/// subject)`, 43 characters like a session's storage key (so the stores' own cleanup, such as
/// the file store's, takes expired records away too); the subject itself is not stored.
fn record_key(subject: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"session revocation\0")
        .chain_update(subject.as_bytes())
        .finalize();
    session_codec::b64_encode(&digest)
}

fn revocation_of(config: &SessionConfig) -> Result<&Revocation, RevocationError> {
    config.revocation().ok_or(RevocationError::NotConfigured)
}

/// Revokes every session of `subject` created before now: in `audience` only, or (`None`)
/// in every audience. Writes one record to the revocation store.
///
/// # Errors
///
/// [`RevocationError::NotConfigured`] without a `revocation` store,
/// [`RevocationError::EmptySubject`], or the store's failure.
///
/// ```
/// # session_core::block_on(async {
/// use std::sync::Arc;
/// use session_core::{Config, revocation};
/// use session_core::session_storage::memory::MemoryStorage;
/// let config = Config::from_text(r#"{"secret": "RaJKp8UQW1"}"#)?
///     .builder()
///     .revocation_storage(Arc::new(MemoryStorage::new()))
///     .build()?;
/// revocation::revoke_subject(&config, "john", Some("shop")).await?;
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn revoke_subject(
    config: &SessionConfig,
    subject: &str,
    audience: Option<&str>,
) -> Result<(), RevocationError> {
    let revocation = revocation_of(config)?;
    if subject.is_empty() {
        return Err(RevocationError::EmptySubject);
    }
    let now = config.now();
    revocation
        .update(subject, now, |record| match audience {
            None => record.all = Some(now),
            Some(audience) => {
                record.aud.insert(audience.to_owned(), now);
            }
        })
        .await
}

/// Revokes one session of `subject`: the one whose id (base64url, as `session inspect`
/// prints `sid`) starts with `id`, at least [`MIN_ID_PREFIX_LEN`] characters. Writes one
/// record to the revocation store; the entry is dropped once every session created before
/// now has passed its absolute timeout.
///
/// # Errors
///
/// [`RevocationError::NotConfigured`], [`RevocationError::EmptySubject`],
/// [`RevocationError::InvalidId`], or the store's failure.
///
/// ```
/// # session_core::block_on(async {
/// use std::sync::Arc;
/// use session_core::{Config, revocation};
/// use session_core::session_storage::memory::MemoryStorage;
/// let config = Config::from_text(r#"{"secret": "RaJKp8UQW1"}"#)?
///     .builder()
///     .revocation_storage(Arc::new(MemoryStorage::new()))
///     .build()?;
/// revocation::revoke_id(&config, "john", "3fQx_a9B").await?;
/// assert!(revocation::revoke_id(&config, "john", "3fQx").await.is_err());
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn revoke_id(
    config: &SessionConfig,
    subject: &str,
    id: &str,
) -> Result<(), RevocationError> {
    let revocation = revocation_of(config)?;
    if subject.is_empty() {
        return Err(RevocationError::EmptySubject);
    }
    let valid = id.len() >= MIN_ID_PREFIX_LEN
        && id.len() <= 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(RevocationError::InvalidId);
    }
    let now = config.now();
    let until = now.saturating_add(revocation.horizon);
    revocation
        .update(subject, now, |record| {
            record.ids.insert(id.to_owned(), until);
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_codec::SessionId;

    fn header(creation: u64, sid_byte: u8) -> Header {
        Header {
            flags: session_codec::Flags::NONE,
            sid: SessionId::from_bytes([sid_byte; 32]),
            creation_time: creation,
            rolling_offset: 0,
            data_size: 0,
            tag: [0; 16],
            idling_offset: 0,
            mac: [0; 16],
        }
    }

    #[test]
    fn verdicts() {
        let mut record = Record::default();
        let h = header(100, 7);
        assert_eq!(record.verdict(&h, Some("a"), 100), None);
        record.aud.insert("b".into(), 200);
        assert_eq!(record.verdict(&h, Some("a"), 100), None);
        assert_eq!(
            record.verdict(&h, Some("b"), 100),
            Some(RevocationReason::Audience)
        );
        // Created in the second of the revocation: not revoked (a sign-in right after
        // "sign out everywhere" stays valid).
        assert_eq!(record.verdict(&header(200, 7), Some("b"), 200), None);
        record.all = Some(101);
        assert_eq!(
            record.verdict(&h, None, 100),
            Some(RevocationReason::Subject)
        );
        let sid = h.sid.to_base64();
        let mut ids = Record::default();
        ids.ids.insert(sid[..8].to_owned(), 500);
        assert_eq!(ids.verdict(&h, None, 500), Some(RevocationReason::Id));
        assert_eq!(ids.verdict(&h, None, 501), None);
        assert_eq!(ids.verdict(&header(100, 8), None, 100), None);
    }

    #[test]
    fn prune_and_expiry() {
        let mut record = Record {
            all: Some(10),
            aud: BTreeMap::from([("a".into(), 50), ("b".into(), 90)]),
            ids: BTreeMap::from([("x".repeat(8), 95), ("y".repeat(8), 120)]),
        };
        assert_eq!(record.expires(40), 130);
        record.prune(100, 40);
        assert_eq!(record.all, None);
        assert_eq!(record.aud.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(record.ids.len(), 1);
        assert_eq!(record.expires(40), 130);
    }

    #[test]
    fn record_round_trip_is_small() {
        let record = Record {
            all: Some(1_700_000_000),
            ..Record::default()
        };
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(text, r#"{"all":1700000000}"#);
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), record);
        assert_eq!(record_key("john").len(), 43);
        assert_ne!(record_key("john"), record_key("jane"));
    }
}
