//! Building: [`SessionConfigBuilder`] attaches what is not an option
//! (storage instance, clock, session-id source), and [`SessionConfig`] is the
//! validated result every request shares.

use std::fmt;
use std::sync::Arc;

use session_codec::{Flags, Keyring, RememberSafety, SessionId, hash_storage_key, hash_subject};
use session_storage::{DynStorage, Storage};

use super::defaults::current_init;
use super::resolve::{Attached, resolve};
use super::{Config, HeaderProperty};
use crate::env::{Clock, SidError, SidSource};
use crate::error::ConfigError;
use crate::opened::OpenedCache;

/// Builds a [`SessionConfig`] with the parts that are not options: the
/// storage instance, the clock and the session-id source.
///
/// ```
/// use std::sync::Arc;
/// use session_core::{Config, env::FixedClock};
/// use session_storage::memory::MemoryStorage;
/// let config: Config = serde_json::from_str(r#"{"secret": "s", "storage": "redis"}"#).unwrap();
/// let built = config
///     .builder()
///     .storage(MemoryStorage::new())
///     .clock(Arc::new(FixedClock::new(1_700_000_000)))
///     .build()
///     .unwrap();
/// assert!(built.has_storage());
/// ```
#[must_use = "a builder does nothing until built"]
pub struct SessionConfigBuilder {
    config: Config,
    storage: Option<Arc<dyn DynStorage>>,
    clock: Option<Arc<dyn Clock>>,
    sid_source: Option<Arc<dyn SidSource>>,
    option_blocks: Vec<String>,
    revocation: Option<Arc<dyn DynStorage>>,
    opened_cache: Option<bool>,
}

impl fmt::Debug for SessionConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfigBuilder")
            .field("config", &self.config)
            .field("storage", &self.storage.is_some())
            .field("clock", &self.clock)
            .field("sid_source", &self.sid_source)
            .field("option_blocks", &self.option_blocks)
            .field("revocation", &self.revocation.is_some())
            .field("opened_cache", &self.opened_cache)
            .finish()
    }
}

impl SessionConfigBuilder {
    /// Use `storage` for server-side sessions (the cookie then carries only
    /// the header).
    ///
    /// ```
    /// use session_core::Config;
    /// use session_storage::memory::MemoryStorage;
    /// let built = Config::default().builder().storage(MemoryStorage::new()).build().unwrap();
    /// assert!(built.has_storage());
    /// ```
    pub fn storage(mut self, storage: impl Storage) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// Use a shared storage trait object (chosen at run time).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_core::Config;
    /// use session_storage::{DynStorage, memory::MemoryStorage};
    /// let store: Arc<dyn DynStorage> = Arc::new(MemoryStorage::new());
    /// let built = Config::default().builder().dyn_storage(store).build().unwrap();
    /// assert!(built.has_storage());
    /// ```
    pub fn dyn_storage(mut self, storage: Arc<dyn DynStorage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Keep revocations of cookie sessions in `store` (see [`crate::revocation`]): every
    /// open then checks the session's subject there (cached for `revocation.cache_ttl`
    /// seconds). The `revocation` option, when set, gives the cache settings; the
    /// `resty-session` facade builds this store from its `storage` block.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_core::Config;
    /// use session_storage::memory::MemoryStorage;
    /// let built = Config::default().builder().revocation_storage(Arc::new(MemoryStorage::new())).build().unwrap();
    /// assert!(built.has_revocation());
    /// ```
    pub fn revocation_storage(mut self, store: Arc<dyn DynStorage>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// Whether to keep the decoded header and entries of recently opened and saved sessions
    /// (on by default; overrides the `opened_cache` option): the same cookie again (same
    /// header and payload text), or the one a save or touch of an opened session just wrote, is answered from them instead
    /// of a base64 decode, a MAC (when the header binds to nothing), a decryption and a JSON
    /// parse. At most 1 024 sessions, each
    /// with a payload and a plaintext of at most 4 KiB, are kept in memory; every check that
    /// depends on the time or the request still runs. Turn it off to keep no session data
    /// in memory beyond its request.
    ///
    /// ```
    /// use session_core::Config;
    /// let built = Config::default().builder().opened_cache(false).build();
    /// assert!(built.is_ok());
    /// ```
    pub fn opened_cache(mut self, enabled: bool) -> Self {
        self.opened_cache = Some(enabled);
        self
    }

    /// Read the time from `clock` instead of the system clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_core::{Config, env::FixedClock};
    /// let built = Config::default().builder().clock(Arc::new(FixedClock::new(5))).build().unwrap();
    /// assert_eq!(built.now(), 5);
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Draw session ids from `source` instead of the OS random generator.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use session_core::{Config, env::SequentialSid};
    /// let built = Config::default().builder().sid_source(Arc::new(SequentialSid::new(0x40))).build();
    /// assert!(built.is_ok());
    /// ```
    pub fn sid_source(mut self, source: Arc<dyn SidSource>) -> Self {
        self.sid_source = Some(source);
        self
    }

    /// Accept options tables named `names` (a third-party store's name and aliases) beside
    /// the storage names lua-resty-session knows ([`LUA_STORAGE_NAMES`](super::LUA_STORAGE_NAMES));
    /// any other table is still an unknown option. The `session` facade passes the names of
    /// every store in its table.
    ///
    /// ```
    /// use session_core::Config;
    /// let config = Config::from_text("[journal]\ndir = \"/var/log/sessions\"").unwrap();
    /// assert!(config.clone().builder().build().is_err());
    /// assert!(config.builder().option_blocks(["journal"]).build().is_ok());
    /// ```
    pub fn option_blocks<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.option_blocks.extend(names.into_iter().map(Into::into));
        self
    }

    /// Validate the options and build the shared configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the option at fault.
    ///
    /// ```
    /// use session_core::Config;
    /// assert!(Config::default().builder().build().is_ok());
    /// ```
    pub fn build(self) -> Result<SessionConfig, ConfigError> {
        let init = current_init();
        let mut inner = resolve(
            &self.config,
            &init,
            Attached {
                storage: self.storage,
                clock: self.clock,
                sid_source: self.sid_source,
                revocation: self.revocation,
            },
            true,
            &self.option_blocks,
        )?;
        if let Some(enabled) = self.opened_cache {
            inner.opened = OpenedCache::new(enabled);
        }
        Ok(SessionConfig(Arc::new(inner)))
    }
}

impl Config {
    /// A builder, to attach a storage, a clock or a session-id source.
    ///
    /// ```
    /// let builder = session_core::Config::default().builder();
    /// assert!(builder.build().is_ok());
    /// ```
    pub fn builder(self) -> SessionConfigBuilder {
        SessionConfigBuilder {
            config: self,
            storage: None,
            clock: None,
            sid_source: None,
            option_blocks: Vec::new(),
            revocation: None,
            opened_cache: None,
        }
    }

    /// Validate and build with the default clock and session-id source and
    /// no storage instance.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the option at fault.
    ///
    /// ```
    /// use session_core::Config;
    /// let err = Config {
    ///     cookie_same_party: Some(true),
    ///     cookie_same_site: Some("Strict".into()),
    ///     ..Config::default()
    /// }
    /// .build()
    /// .unwrap_err();
    /// assert_eq!(err.reason(), "SameParty session cookies cannot use SameSite=Strict");
    /// ```
    pub fn build(&self) -> Result<SessionConfig, ConfigError> {
        self.clone().builder().build()
    }
}

/// The resolved settings a [`SessionConfig`] shares between requests.
pub(crate) struct Settings {
    pub(crate) cookie_name: String,
    pub(crate) remember_cookie_name: String,
    pub(crate) attributes: String,
    pub(crate) remember: bool,
    pub(crate) remember_safety: RememberSafety,
    pub(crate) audience: String,
    pub(crate) subject: Option<String>,
    pub(crate) enforce_same_subject: bool,
    pub(crate) stale_ttl: u64,
    pub(crate) idling_timeout: i64,
    pub(crate) rolling_timeout: i64,
    pub(crate) absolute_timeout: i64,
    pub(crate) remember_rolling_timeout: i64,
    pub(crate) remember_absolute_timeout: i64,
    pub(crate) hash_storage_key: bool,
    pub(crate) hash_subject: bool,
    pub(crate) store_metadata: bool,
    pub(crate) touch_threshold: i64,
    pub(crate) compression_threshold: usize,
    pub(crate) max_plaintext_size: usize,
    pub(crate) storage_name: String,
    pub(crate) bind: Flags,
    pub(crate) request_headers: Vec<HeaderProperty>,
    pub(crate) response_headers: Vec<HeaderProperty>,
    pub(crate) keys: Keyring,
    pub(crate) storage: Option<Arc<dyn DynStorage>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sid_source: Arc<dyn SidSource>,
    pub(crate) reference_storage_ttl: bool,
    pub(crate) raw_multi_subjects: bool,
    pub(crate) revocation: Option<Arc<crate::revocation::Revocation>>,
    /// The decoded entries of recently opened sessions (crate::opened).
    pub(crate) opened: OpenedCache,
    /// A new session's entries (one empty entry for the audience and subject), shared by
    /// every new session until it changes them.
    pub(crate) fresh_entries: Arc<Vec<crate::payload::Entry>>,
}

/// A built, validated configuration, cheap to clone and share between
/// requests (an `Arc` inside). It caches the keys (with their HKDF-extract
/// state), the cookie names and the attribute string.
///
/// `Debug` prints no key material.
///
/// ```
/// use session_core::Config;
/// let built = Config { cookie_prefix: Some("__Host-".into()), ..Config::default() }.build().unwrap();
/// assert_eq!(built.cookie_name(), "__Host-session");
/// assert_eq!(built.attributes(), "; Path=/; SameSite=Lax; Secure; HttpOnly");
/// ```
#[derive(Clone)]
pub struct SessionConfig(Arc<Settings>);

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.0;
        f.debug_struct("SessionConfig")
            .field("cookie_name", &c.cookie_name)
            .field("remember_cookie_name", &c.remember_cookie_name)
            .field("attributes", &c.attributes)
            .field("remember", &c.remember)
            .field("remember_safety", &c.remember_safety)
            .field("audience", &c.audience)
            .field("subject", &c.subject)
            .field("idling_timeout", &c.idling_timeout)
            .field("rolling_timeout", &c.rolling_timeout)
            .field("absolute_timeout", &c.absolute_timeout)
            .field("keys", &c.keys.len())
            .field("storage", &c.storage.is_some())
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The session cookie name, with any prefix.
    ///
    /// ```
    /// assert_eq!(session_core::Config::default().build().unwrap().cookie_name(), "session");
    /// ```
    pub fn cookie_name(&self) -> &str {
        &self.0.cookie_name
    }

    /// The remember cookie name, with any prefix.
    ///
    /// ```
    /// assert_eq!(session_core::Config::default().build().unwrap().remember_cookie_name(), "remember");
    /// ```
    pub fn remember_cookie_name(&self) -> &str {
        &self.0.remember_cookie_name
    }

    /// The cookie attribute string (starts with `"; "`).
    ///
    /// ```
    /// assert_eq!(session_core::Config::default().build().unwrap().attributes(), "; Path=/; SameSite=Lax; HttpOnly");
    /// ```
    pub fn attributes(&self) -> &str {
        &self.0.attributes
    }

    /// The audience of new sessions.
    ///
    /// ```
    /// assert_eq!(session_core::Config::default().build().unwrap().audience(), "default");
    /// ```
    pub fn audience(&self) -> &str {
        &self.0.audience
    }

    /// Whether a server-side storage is configured.
    ///
    /// ```
    /// assert!(!session_core::Config::default().build().unwrap().has_storage());
    /// ```
    pub fn has_storage(&self) -> bool {
        self.0.storage.is_some()
    }

    /// Whether opens check a revocation store (see [`crate::revocation`]).
    ///
    /// ```
    /// assert!(!session_core::Config::default().build().unwrap().has_revocation());
    /// ```
    pub fn has_revocation(&self) -> bool {
        self.0.revocation.is_some()
    }

    /// The current time from the configured clock.
    ///
    /// ```
    /// assert!(session_core::Config::default().build().unwrap().now() > 0);
    /// ```
    pub fn now(&self) -> u64 {
        self.0.clock.now()
    }

    /// The largest session data (JSON bytes after inflate) an open decodes and a save
    /// writes: the `max_plaintext_size` option, else 1 MiB with cookie storage and the
    /// format's limit (12 MiB) with a server-side store.
    ///
    /// ```
    /// let built = session_core::Config::default().build().unwrap();
    /// assert_eq!(built.max_plaintext_size(), session_core::config::DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE);
    /// ```
    pub fn max_plaintext_size(&self) -> usize {
        self.0.max_plaintext_size
    }

    /// The storage's name for logs and spans: the `storage` option (`"redis"`, `"shm"`, …),
    /// `"cookie"` without a store, `"custom"` for a store attached without a name.
    ///
    /// ```
    /// assert_eq!(session_core::Config::default().build().unwrap().storage_name(), "cookie");
    /// ```
    pub fn storage_name(&self) -> &str {
        &self.0.storage_name
    }

    /// The `remember_safety` level.
    ///
    /// ```
    /// use session_codec::RememberSafety;
    /// use session_core::{Config, config::RememberSafetyOption};
    /// let config = Config { remember_safety: Some(RememberSafetyOption::Name("Low".into())), ..Config::default() };
    /// assert_eq!(config.build().unwrap().remember_safety(), RememberSafety::Low);
    /// ```
    pub fn remember_safety(&self) -> RememberSafety {
        self.0.remember_safety
    }
}

/// The settings the engine reads, one accessor each.
impl SessionConfig {
    pub(crate) fn keys(&self) -> &Keyring {
        &self.0.keys
    }

    pub(crate) fn storage(&self) -> Option<&dyn DynStorage> {
        self.0.storage.as_deref()
    }

    pub(crate) fn revocation(&self) -> Option<&crate::revocation::Revocation> {
        self.0.revocation.as_deref()
    }

    /// The decoded entries of recently opened sessions.
    pub(crate) fn opened(&self) -> &OpenedCache {
        &self.0.opened
    }

    /// A new session's entries, shared (copy on write).
    pub(crate) fn fresh_entries(&self) -> Arc<Vec<crate::payload::Entry>> {
        Arc::clone(&self.0.fresh_entries)
    }

    /// A fresh session id from the configured source.
    pub(crate) fn new_sid(&self) -> Result<SessionId, SidError> {
        self.0.sid_source.generate().map(SessionId::from_bytes)
    }

    /// The storage key of a session id (`hash_storage_key` applied).
    pub(crate) fn storage_key(&self, sid: &SessionId) -> String {
        hash_storage_key(sid, self.0.hash_storage_key)
    }

    /// A subject as the storage metadata lists it: hashed when
    /// `hash_subject`, except raw with several audiences under
    /// `compat_raw_multi_subjects`.
    pub(crate) fn metadata_subject(&self, subject: &str, single_audience: bool) -> String {
        if single_audience || !self.0.raw_multi_subjects {
            hash_subject(subject, self.0.hash_subject)
        } else {
            subject.to_owned()
        }
    }

    pub(crate) fn remember(&self) -> bool {
        self.0.remember
    }

    pub(crate) fn bind(&self) -> Flags {
        self.0.bind
    }

    pub(crate) fn enforce_same_subject(&self) -> bool {
        self.0.enforce_same_subject
    }

    pub(crate) fn store_metadata(&self) -> bool {
        self.0.store_metadata
    }

    pub(crate) fn stale_ttl(&self) -> u64 {
        self.0.stale_ttl
    }

    pub(crate) fn idling_timeout(&self) -> i64 {
        self.0.idling_timeout
    }

    pub(crate) fn rolling_timeout(&self) -> i64 {
        self.0.rolling_timeout
    }

    pub(crate) fn absolute_timeout(&self) -> i64 {
        self.0.absolute_timeout
    }

    pub(crate) fn remember_rolling_timeout(&self) -> i64 {
        self.0.remember_rolling_timeout
    }

    pub(crate) fn remember_absolute_timeout(&self) -> i64 {
        self.0.remember_absolute_timeout
    }

    pub(crate) fn touch_threshold(&self) -> i64 {
        self.0.touch_threshold
    }

    pub(crate) fn reference_storage_ttl(&self) -> bool {
        self.0.reference_storage_ttl
    }

    pub(crate) fn compression_threshold(&self) -> usize {
        self.0.compression_threshold
    }

    pub(crate) fn request_headers(&self) -> &[HeaderProperty] {
        &self.0.request_headers
    }

    pub(crate) fn response_headers(&self) -> &[HeaderProperty] {
        &self.0.response_headers
    }
}
