//! Log out everywhere: list and revoke the server-side sessions of a subject.
//!
//! With `store_metadata = true`, a server-side store keeps, per cookie name, audience and
//! subject, the index of that subject's session keys with their expiry (docs/storage.md §3,
//! §4.4). The reference fills that index but offers no way to use it; this module does:
//!
//! - [`list_sessions`]: the live sessions of a subject, in one audience or several, normal and
//!   remember records alike, with their expiry;
//! - [`revoke_session`]: delete one of them, named by its storage key or a unique prefix of it;
//! - [`revoke_all`]: delete all of them (the "sign out all my devices" button);
//! - [`Session::revoke_everywhere`]: the same for the subject and audience of an open session,
//!   for a request handler.
//!
//! A revoked record is deleted with [`Storage::delete`](session_storage::Storage::delete),
//! given the metadata of every collection it was found in, so the store drops it from those
//! indexes too. A cookie that pointed at it no longer opens ("unable to load session").
//!
//! One limit: a record a refresh replaced in the last `stale_ttl` seconds has left the index
//! but still reads (docs/storage.md §4.1), so it is out of reach here; opened through a
//! remember cookie it even starts new sessions. To be thorough, call [`revoke_all`] again
//! once `stale_ttl` has passed.
//!
//! Nothing here works on cookie storage (a cookie session has no server-side record) or with
//! `store_metadata = false` (no index): both are [`AdminError::Unsupported`].
//!
//! ```
//! # session_core::block_on(async {
//! use std::sync::Arc;
//! use session_core::{Config, Request, Session, admin};
//! use session_core::session_storage::memory::MemoryStorage;
//!
//! let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "store_metadata": true}"#)?;
//! let config = config.builder().storage(MemoryStorage::new()).build()?;
//! for _ in 0..2 {
//!     let mut session = Session::new(&config, Request::new());
//!     session.set_subject(Some("john"))?;
//!     session.save().await?;
//! }
//! let sessions = admin::list_sessions(&config, "john", &[]).await?;
//! assert_eq!(sessions.len(), 2);
//! assert_eq!(sessions[0].audience(), "default");
//!
//! let one = sessions[0].short_id().to_owned();
//! admin::revoke_session(&config, "john", &[], &one).await?;
//! assert_eq!(admin::revoke_all(&config, "john", &[]).await?, 1);
//! assert!(admin::list_sessions(&config, "john", &[]).await?.is_empty());
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::collections::BTreeMap;

use session_codec::b64_encode;
use session_storage::{DynStorage, Metadata, StorageError};

use crate::{Session, SessionConfig};

/// How many characters of a storage key [`SubjectSession::short_id`] shows (and the longest
/// prefix an error message repeats).
pub const SHORT_ID_LEN: usize = 8;

/// Why listing or revoking a subject's sessions failed.
///
/// No message holds a full storage key: an id prefix is cut to [`SHORT_ID_LEN`] characters.
///
/// ```
/// use session_core::admin::AdminError;
/// let err = AdminError::Unsupported { storage: "cookie".into(), store_metadata: false };
/// assert!(err.to_string().contains("needs a server-side storage with store_metadata = true"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The configuration has no server-side storage, `store_metadata` is off, or the store
    /// keeps no metadata indexes.
    #[error(
        "listing or revoking a subject's sessions needs a server-side storage with \
         store_metadata = true (storage is {storage}, store_metadata = {store_metadata})"
    )]
    Unsupported {
        /// The configured storage's name (`"cookie"` without a store).
        storage: String,
        /// The configured `store_metadata`.
        store_metadata: bool,
    },
    /// The subject is empty.
    #[error("the subject must not be empty")]
    EmptySubject,
    /// The id prefix is empty.
    #[error("the session id prefix must not be empty")]
    EmptyPrefix,
    /// No live session of the subject has a key starting with the prefix.
    #[error("no live session of this subject has an id starting with {prefix:?}")]
    NotFound {
        /// The prefix asked for (at most [`SHORT_ID_LEN`] characters of it).
        prefix: String,
    },
    /// Several live sessions of the subject have a key starting with the prefix.
    #[error(
        "{count} live sessions of this subject have an id starting with {prefix:?}; give more characters"
    )]
    Ambiguous {
        /// The prefix asked for (at most [`SHORT_ID_LEN`] characters of it).
        prefix: String,
        /// How many sessions matched.
        count: usize,
    },
    /// The session is closed, or has no subject (for [`Session::revoke_everywhere`]).
    #[error("the session has no subject")]
    NoSubject,
    /// The store failed to read an index or a record.
    #[error("unable to read the sessions of the subject")]
    Read(#[source] StorageError),
    /// The store failed to delete a record.
    #[error("unable to revoke a session")]
    Delete(#[source] StorageError),
}

/// One live server-side session of a subject, as [`list_sessions`] finds it.
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request, Session, admin};
/// use session_core::session_storage::memory::MemoryStorage;
/// let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "store_metadata": true}"#)?;
/// let config = config.builder().storage(MemoryStorage::new()).build()?;
/// let mut session = Session::new(&config, Request::new());
/// session.set_subject(Some("john"))?;
/// session.save().await?;
/// let found = &admin::list_sessions(&config, "john", &[]).await?[0];
/// assert_eq!(found.short_id().len(), admin::SHORT_ID_LEN);
/// assert_eq!(found.cookie_name(), "session");
/// assert!(!found.is_remember());
/// assert!(found.expires() > i64::try_from(config.now())?);
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectSession {
    cookie_name: String,
    key: String,
    audiences: Vec<String>,
    expires: i64,
    remember: bool,
    /// The collections (encoded audience, encoded subject) the key was found in.
    metadata: Metadata,
}

impl std::fmt::Debug for SubjectSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectSession")
            .field("cookie_name", &self.cookie_name)
            .field("id", &self.short_id())
            .field("audiences", &self.audiences)
            .field("expires", &self.expires)
            .field("remember", &self.remember)
            .finish_non_exhaustive()
    }
}

impl SubjectSession {
    /// The storage key (docs/storage.md §2.2). It identifies the record: do not log it whole,
    /// use [`short_id`](Self::short_id).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The first [`SHORT_ID_LEN`] characters of the storage key: what to show an operator,
    /// and a prefix [`revoke_session`] accepts while it is unique.
    pub fn short_id(&self) -> &str {
        short(&self.key)
    }

    /// The cookie name the record is stored under (`cookie_name` or `remember_cookie_name`;
    /// always `cookie_name` on a store that is not name-scoped, see [`is_remember`](Self::is_remember)).
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// Whether it is a remember (persistent) session's record. A store that keeps one index
    /// for every cookie name (the SQL stores, see
    /// [`Capability::name_scoped`](session_storage::Capability::name_scoped)) cannot tell:
    /// there every session is listed under `cookie_name`, with `false` here.
    pub fn is_remember(&self) -> bool {
        self.remember
    }

    /// The first audience whose index lists it.
    pub fn audience(&self) -> &str {
        self.audiences.first().map_or("", String::as_str)
    }

    /// Every audience (among those asked for) whose index lists it.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// When the record expires (Unix seconds), as the index says.
    pub fn expires(&self) -> i64 {
        self.expires
    }
}

/// At most [`SHORT_ID_LEN`] characters of `s` (storage keys are ASCII; a prefix given by a
/// user may not be, so cut on a character boundary).
fn short(s: &str) -> &str {
    s.char_indices()
        .nth(SHORT_ID_LEN)
        .map_or(s, |(i, _)| &s[..i])
}

/// The store of `config`, when it keeps the indexes this module reads.
fn indexed_store(config: &SessionConfig) -> Result<&dyn DynStorage, AdminError> {
    match config.storage() {
        Some(store) if config.store_metadata() && store.dyn_capability().metadata => Ok(store),
        _ => Err(AdminError::Unsupported {
            storage: config.storage_name().to_owned(),
            store_metadata: config.store_metadata(),
        }),
    }
}

/// Every index entry of `subject` in `audiences` (the configured audience when empty),
/// under both cookie names, grouped per record; with whether the record still reads.
async fn find(
    config: &SessionConfig,
    subject: &str,
    audiences: &[&str],
) -> Result<Vec<(SubjectSession, bool)>, AdminError> {
    let store = indexed_store(config)?;
    if subject.is_empty() {
        return Err(AdminError::EmptySubject);
    }
    let now = i64::try_from(config.now()).unwrap_or(i64::MAX);
    let default = [config.audience()];
    let audiences = if audiences.is_empty() {
        &default[..]
    } else {
        audiences
    };
    // A single-audience session lists the encoded subject; a multi-audience one the raw subject
    // under `compat_raw_multi_subjects` (docs/storage.md §2.7): look in both collections.
    let mut subjects = vec![config.metadata_subject(subject, true)];
    let multi = config.metadata_subject(subject, false);
    if multi != subjects[0] {
        subjects.push(multi);
    }
    // The SQL stores keep one index for every cookie name (docs/storage.md §11, §12): read it
    // once, or each session would be listed twice.
    let mut names = vec![(config.cookie_name(), false)];
    if store.dyn_capability().name_scoped && config.remember_cookie_name() != config.cookie_name() {
        names.push((config.remember_cookie_name(), true));
    }

    let mut found: BTreeMap<(String, String), SubjectSession> = BTreeMap::new();
    for &(name, remember) in &names {
        for &audience in audiences {
            let encoded_audience = b64_encode(audience.as_bytes());
            for encoded_subject in &subjects {
                let index = store
                    .dyn_read_metadata(name, &encoded_audience, encoded_subject, now)
                    .await
                    .map_err(AdminError::Read)?;
                for (key, expires) in index {
                    if expires <= now {
                        continue; // Redis returns score >= now: keep only the live ones.
                    }
                    let entry = found
                        .entry((name.to_owned(), key.clone()))
                        .or_insert_with(|| SubjectSession {
                            cookie_name: name.to_owned(),
                            key,
                            audiences: Vec::new(),
                            expires,
                            remember,
                            metadata: Metadata::default(),
                        });
                    entry.expires = entry.expires.max(expires);
                    if !entry.audiences.iter().any(|a| a == audience) {
                        entry.audiences.push(audience.to_owned());
                    }
                    entry.metadata.audiences.push(encoded_audience.clone());
                    entry.metadata.subjects.push(encoded_subject.clone());
                }
            }
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (_, session) in found {
        // An index can outlive its record (a delete without metadata, a store's own expiry):
        // only a record that still reads is a live session.
        let live = store
            .dyn_get(&session.cookie_name, &session.key, now)
            .await
            .map_err(AdminError::Read)?
            .is_some();
        out.push((session, live));
    }
    out.sort_by(|(a, _), (b, _)| {
        (a.remember, a.expires, &a.key).cmp(&(b.remember, b.expires, &b.key))
    });
    Ok(out)
}

/// Deletes a record and drops it from every collection it was found in.
async fn delete(config: &SessionConfig, session: &SubjectSession) -> Result<(), AdminError> {
    let store = indexed_store(config)?;
    let now = i64::try_from(config.now()).unwrap_or(i64::MAX);
    store
        .dyn_delete(
            &session.cookie_name,
            &session.key,
            now,
            Some(&session.metadata),
        )
        .await
        .map_err(AdminError::Delete)
}

/// The live server-side sessions of `subject` in `audiences` (the configured `audience` when
/// empty): normal and remember records, sorted normal first, then by expiry. Expired index
/// entries, and entries whose record no longer reads, are left out.
///
/// # Errors
///
/// [`AdminError::Unsupported`] on cookie storage or with `store_metadata = false`,
/// [`AdminError::EmptySubject`], [`AdminError::Read`] when the store fails.
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, admin};
/// let cookie_only = Config::default().build()?;
/// let err = admin::list_sessions(&cookie_only, "john", &[]).await.unwrap_err();
/// assert!(matches!(err, admin::AdminError::Unsupported { .. }));
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn list_sessions(
    config: &SessionConfig,
    subject: &str,
    audiences: &[&str],
) -> Result<Vec<SubjectSession>, AdminError> {
    Ok(find(config, subject, audiences)
        .await?
        .into_iter()
        .filter_map(|(session, live)| live.then_some(session))
        .collect())
}

/// Revokes the one live session of `subject` (in `audiences`, the configured `audience` when
/// empty) whose storage key starts with `id_prefix` (a whole key, or a unique prefix such as
/// [`SubjectSession::short_id`]), and returns it.
///
/// # Errors
///
/// As [`list_sessions`], plus [`AdminError::EmptyPrefix`], [`AdminError::NotFound`],
/// [`AdminError::Ambiguous`] and [`AdminError::Delete`].
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request, Session, admin};
/// use session_core::session_storage::memory::MemoryStorage;
/// let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "store_metadata": true}"#)?;
/// let config = config.builder().storage(MemoryStorage::new()).build()?;
/// let mut session = Session::new(&config, Request::new());
/// session.set_subject(Some("john"))?;
/// session.save().await?;
/// let id = admin::list_sessions(&config, "john", &[]).await?[0].short_id().to_owned();
/// let revoked = admin::revoke_session(&config, "john", &[], &id).await?;
/// assert_eq!(revoked.short_id(), id);
/// let again = admin::revoke_session(&config, "john", &[], &id).await.unwrap_err();
/// assert!(matches!(again, admin::AdminError::NotFound { .. }));
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn revoke_session(
    config: &SessionConfig,
    subject: &str,
    audiences: &[&str],
    id_prefix: &str,
) -> Result<SubjectSession, AdminError> {
    indexed_store(config)?;
    if id_prefix.is_empty() {
        return Err(AdminError::EmptyPrefix);
    }
    let mut matching: Vec<SubjectSession> = list_sessions(config, subject, audiences)
        .await?
        .into_iter()
        .filter(|s| s.key.starts_with(id_prefix))
        .collect();
    match matching.len() {
        0 => Err(AdminError::NotFound {
            prefix: short(id_prefix).to_owned(),
        }),
        1 => {
            let session = matching.remove(0);
            delete(config, &session).await?;
            Ok(session)
        }
        count => Err(AdminError::Ambiguous {
            prefix: short(id_prefix).to_owned(),
            count,
        }),
    }
}

/// Revokes every session of `subject` in `audiences` (the configured `audience` when empty),
/// normal and remember records, and returns how many live sessions that ended. Index entries
/// whose record was already gone are dropped from the index too (not counted).
///
/// # Errors
///
/// As [`list_sessions`], plus [`AdminError::Delete`] (the records deleted before the failure
/// stay deleted; calling again finishes the job).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request, Session, admin};
/// use session_core::session_storage::memory::MemoryStorage;
/// let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "store_metadata": true}"#)?;
/// let config = config.builder().storage(MemoryStorage::new()).build()?;
/// let mut session = Session::new(&config, Request::new());
/// session.set_subject(Some("john"))?;
/// session.save().await?;
/// assert_eq!(admin::revoke_all(&config, "john", &[]).await?, 1);
/// assert_eq!(admin::revoke_all(&config, "john", &[]).await?, 0);
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub async fn revoke_all(
    config: &SessionConfig,
    subject: &str,
    audiences: &[&str],
) -> Result<usize, AdminError> {
    let mut revoked = 0;
    for (session, live) in find(config, subject, audiences).await? {
        delete(config, &session).await?;
        revoked += usize::from(live);
    }
    Ok(revoked)
}

impl Session {
    /// "Sign out all my devices": revokes every server-side session (normal and remember) of
    /// this session's subject in its audience, this one included, and returns how many
    /// ended. The cookies of this response are left as they are: follow with
    /// [`Session::logout`] or [`Session::destroy`] to clear them too.
    ///
    /// # Errors
    ///
    /// [`AdminError::NoSubject`] when the session is closed or has no subject, else as
    /// [`revoke_all`].
    ///
    /// ```
    /// # session_core::block_on(async {
    /// use session_core::{Config, Request, Session};
    /// use session_core::session_storage::memory::MemoryStorage;
    /// let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "store_metadata": true}"#)?;
    /// let config = config.builder().storage(MemoryStorage::new()).build()?;
    /// let mut laptop = Session::new(&config, Request::new());
    /// laptop.set_subject(Some("john"))?;
    /// laptop.save().await?;
    /// let mut phone = Session::new(&config, Request::new());
    /// phone.set_subject(Some("john"))?;
    /// phone.save().await?;
    ///
    /// assert_eq!(phone.revoke_everywhere().await?, 2);
    /// phone.destroy().await?;
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn revoke_everywhere(&self) -> Result<usize, AdminError> {
        let subject = self
            .get_subject()
            .ok()
            .flatten()
            .ok_or(AdminError::NoSubject)?;
        let audience = self
            .get_audience()
            .ok()
            .flatten()
            .unwrap_or(self.config().audience());
        revoke_all(self.config(), subject, &[audience]).await
    }
}
