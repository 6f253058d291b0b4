//! Configuration: every option of lua-resty-session 4.1.5 under its Lua name
//! and default (spec 04 §1), deserializable from JSON or TOML, validated once
//! when built into a [`SessionConfig`], which caches everything a request
//! needs (keys with their HKDF-extract state, cookie names, the attribute
//! string).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use serde::Deserialize;
use session_codec::{Flags, Ikm, Key, KeyDerivation, Keyring, RememberSafety};
use session_storage::{DynStorage, Storage};

use crate::cookie::CookieAttributes;
use crate::env::{Clock, OsRandomSid, SidSource, SystemClock};
use crate::error::ConfigError;

/// The value of the `storage` option: `false`, `"cookie"`, or a backend name.
///
/// ```
/// use session_core::config::StorageOption;
/// let s: StorageOption = serde_json::from_str("\"redis\"").unwrap();
/// assert_eq!(s, StorageOption::Name("redis".into()));
/// let s: StorageOption = serde_json::from_str("false").unwrap();
/// assert_eq!(s, StorageOption::Flag(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StorageOption {
    /// `false` means cookie storage; `true` is invalid (as in Lua).
    Flag(bool),
    /// `"cookie"` or a backend name (`redis`, `shm`, …).
    Name(String),
}

impl StorageOption {
    /// Whether this selects cookie storage.
    ///
    /// ```
    /// use session_core::config::StorageOption;
    /// assert!(StorageOption::Name("cookie".into()).is_cookie());
    /// ```
    pub fn is_cookie(&self) -> bool {
        matches!(self, Self::Flag(false)) || matches!(self, Self::Name(n) if n == "cookie")
    }
}

/// The value of `remember_safety`: a level name, or `false` (HKDF, a Lua quirk).
///
/// ```
/// use session_core::config::RememberSafetyOption;
/// use session_codec::RememberSafety;
/// let s: RememberSafetyOption = serde_json::from_str("\"Very High\"").unwrap();
/// assert_eq!(s.level(), RememberSafety::VeryHigh);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RememberSafetyOption {
    /// `false` → HKDF (`None`); `true` → the default (`Medium`).
    Flag(bool),
    /// A level name; unknown names mean `Medium`, as in Lua.
    Name(String),
}

impl RememberSafetyOption {
    /// The level this selects.
    ///
    /// ```
    /// use session_core::config::RememberSafetyOption;
    /// use session_codec::RememberSafety;
    /// assert_eq!(RememberSafetyOption::Flag(false).level(), RememberSafety::None);
    /// ```
    pub fn level(&self) -> RememberSafety {
        match self {
            Self::Flag(false) => RememberSafety::None,
            Self::Flag(true) => RememberSafety::Medium,
            Self::Name(name) => RememberSafety::from_name(name),
        }
    }
}

/// Session options, with the Lua option names (spec 04 §1). Every field is
/// optional: an absent option takes the [`init`] default, else the built-in
/// default. Build it once (at start-up) with [`Config::build`] or
/// [`Config::builder`].
///
/// Extra keys beyond the Lua names: `ikm_hex` / `ikm_fallbacks_hex` (binary
/// keys as hex), `fips` (FIPS-compatible key derivation, spec 02 §9), and the
/// compatibility switches `compat_reference_storage_ttl` and
/// `compat_raw_multi_subjects` (spec 04 §19 #1, #2). Backend tables (`redis`,
/// `shm`, …) are kept in [`Config::backends`] for the storage crates.
///
/// `Debug` never prints secrets or keys.
///
/// ```
/// use session_core::Config;
/// let config: Config = serde_json::from_str(r#"{
///     "secret": "RaJKp8UQW1",
///     "audience": "my_application",
///     "idling_timeout": 0,
///     "cookie_same_site": "Strict"
/// }"#).unwrap();
/// let built = config.build().unwrap();
/// assert_eq!(built.cookie_name(), "session");
/// assert!(!format!("{config:?}").contains("RaJKp8UQW1"));
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Secret; IKM = SHA-256(secret) unless `ikm` is given.
    pub secret: Option<String>,
    /// Fallback secrets for key rotation.
    pub secret_fallbacks: Option<Vec<String>>,
    /// Initial key material: exactly 32 bytes (the string's bytes).
    pub ikm: Option<String>,
    /// `ikm` as 64 hex digits (for binary keys).
    pub ikm_hex: Option<String>,
    /// Fallback IKMs, each exactly 32 bytes.
    pub ikm_fallbacks: Option<Vec<String>>,
    /// `ikm_fallbacks` as hex strings.
    pub ikm_fallbacks_hex: Option<Vec<String>>,
    /// `__Host-` or `__Secure-` (other values are ignored, as in Lua).
    pub cookie_prefix: Option<String>,
    /// Session cookie name (default `session`).
    pub cookie_name: Option<String>,
    /// `Path` (default `/`).
    pub cookie_path: Option<String>,
    /// `Domain` (omitted when empty or `localhost`).
    pub cookie_domain: Option<String>,
    /// `HttpOnly` (default true).
    pub cookie_http_only: Option<bool>,
    /// `Secure` (default false; forced by prefixes, `SameSite=None`, SameParty).
    pub cookie_secure: Option<bool>,
    /// `Priority`, verbatim.
    pub cookie_priority: Option<String>,
    /// `SameSite`, verbatim (default `Lax`).
    pub cookie_same_site: Option<String>,
    /// `SameParty`.
    pub cookie_same_party: Option<bool>,
    /// `Partitioned`.
    pub cookie_partitioned: Option<bool>,
    /// Persistent ("remember me") sessions (default false).
    pub remember: Option<bool>,
    /// Remember cookie key derivation cost (default `Medium`).
    pub remember_safety: Option<RememberSafetyOption>,
    /// Remember cookie name (default `remember`).
    pub remember_cookie_name: Option<String>,
    /// Audience of new sessions (default `default`).
    pub audience: Option<String>,
    /// Subject of new sessions.
    pub subject: Option<String>,
    /// Drop entries with another subject on save.
    pub enforce_same_subject: Option<bool>,
    /// Seconds the previous storage key stays valid after a save (default 10).
    pub stale_ttl: Option<u64>,
    /// Idle timeout in seconds (default 900; 0 disables).
    pub idling_timeout: Option<u64>,
    /// Rolling timeout in seconds (default 3600; 0 disables).
    pub rolling_timeout: Option<u64>,
    /// Absolute timeout in seconds (default 86400; 0 disables).
    pub absolute_timeout: Option<u64>,
    /// Remember rolling timeout and `Max-Age` (default 604800).
    pub remember_rolling_timeout: Option<u64>,
    /// Remember absolute timeout (default 2592000).
    pub remember_absolute_timeout: Option<u64>,
    /// Store under SHA-256 of the session id.
    pub hash_storage_key: Option<bool>,
    /// Hash subjects in storage metadata.
    pub hash_subject: Option<bool>,
    /// Pass audience/subject metadata to the storage.
    pub store_metadata: Option<bool>,
    /// Minimum idle seconds before `refresh` touches (default 60).
    pub touch_threshold: Option<u64>,
    /// Deflate JSON longer than this many bytes (default 1024; 0 disables).
    pub compression_threshold: Option<u64>,
    /// Bind the MAC to `ip`, `scheme`, `user_agent` / `user-agent`.
    pub bind: Option<Vec<String>>,
    /// Session headers `set_headers` puts on the request.
    pub request_headers: Option<Vec<String>>,
    /// Session headers `set_headers` puts on the response.
    pub response_headers: Option<Vec<String>>,
    /// `false` / `"cookie"` (cookie storage) or a backend name.
    pub storage: Option<StorageOption>,
    /// FIPS-compatible key derivation (spec 02 §9; extension, default false).
    pub fips: Option<bool>,
    /// Compute the storage TTL with the reference's swapped times (spec 04
    /// §16.1; extension, default false = the intended formula).
    pub compat_reference_storage_ttl: Option<bool>,
    /// With several audiences, put raw subjects in storage metadata as the
    /// reference does (spec 03 §8; extension, default true).
    pub compat_raw_multi_subjects: Option<bool>,
    /// Backend tables (`redis`, `shm`, `file`, …) and any other keys,
    /// untouched, for the storage crates.
    #[serde(flatten)]
    pub backends: BTreeMap<String, serde_json::Value>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |set: bool| if set { Some("<redacted>") } else { None };
        f.debug_struct("Config")
            .field("secret", &redact(self.secret.is_some()))
            .field(
                "secret_fallbacks",
                &self.secret_fallbacks.as_ref().map(Vec::len),
            )
            .field("ikm", &redact(self.ikm.is_some() || self.ikm_hex.is_some()))
            .field(
                "ikm_fallbacks",
                &self
                    .ikm_fallbacks
                    .as_ref()
                    .or(self.ikm_fallbacks_hex.as_ref())
                    .map(Vec::len),
            )
            .field("cookie_prefix", &self.cookie_prefix)
            .field("cookie_name", &self.cookie_name)
            .field("cookie_path", &self.cookie_path)
            .field("cookie_domain", &self.cookie_domain)
            .field("cookie_http_only", &self.cookie_http_only)
            .field("cookie_secure", &self.cookie_secure)
            .field("cookie_priority", &self.cookie_priority)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("cookie_same_party", &self.cookie_same_party)
            .field("cookie_partitioned", &self.cookie_partitioned)
            .field("remember", &self.remember)
            .field("remember_safety", &self.remember_safety)
            .field("remember_cookie_name", &self.remember_cookie_name)
            .field("audience", &self.audience)
            .field("subject", &self.subject)
            .field("enforce_same_subject", &self.enforce_same_subject)
            .field("stale_ttl", &self.stale_ttl)
            .field("idling_timeout", &self.idling_timeout)
            .field("rolling_timeout", &self.rolling_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("remember_rolling_timeout", &self.remember_rolling_timeout)
            .field("remember_absolute_timeout", &self.remember_absolute_timeout)
            .field("hash_storage_key", &self.hash_storage_key)
            .field("hash_subject", &self.hash_subject)
            .field("store_metadata", &self.store_metadata)
            .field("touch_threshold", &self.touch_threshold)
            .field("compression_threshold", &self.compression_threshold)
            .field("bind", &self.bind)
            .field("request_headers", &self.request_headers)
            .field("response_headers", &self.response_headers)
            .field("storage", &self.storage)
            .field("fips", &self.fips)
            .field("backends", &self.backends.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A session property that can be sent as a header (spec 04 §15).
///
/// ```
/// use session_core::config::HeaderProperty;
/// let p = HeaderProperty::from_name("idling_timeout").unwrap();
/// assert_eq!(p.header_name(), "Session-Idling-Timeout");
/// assert!(HeaderProperty::from_name("nonce").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderProperty {
    /// `id` → `Session-Id`.
    Id,
    /// `audience` → `Session-Audience`.
    Audience,
    /// `subject` → `Session-Subject`.
    Subject,
    /// `timeout` → `Session-Timeout`.
    Timeout,
    /// `idling-timeout` → `Session-Idling-Timeout`.
    IdlingTimeout,
    /// `rolling-timeout` → `Session-Rolling-Timeout`.
    RollingTimeout,
    /// `absolute-timeout` → `Session-Absolute-Timeout`.
    AbsoluteTimeout,
}

impl HeaderProperty {
    /// Parse a property name as accepted in `request_headers`.
    ///
    /// ```
    /// use session_core::config::HeaderProperty;
    /// assert_eq!(HeaderProperty::from_name("id"), Some(HeaderProperty::Id));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "audience" => Self::Audience,
            "subject" => Self::Subject,
            "timeout" => Self::Timeout,
            "idling-timeout" | "idling_timeout" => Self::IdlingTimeout,
            "rolling-timeout" | "rolling_timeout" => Self::RollingTimeout,
            "absolute-timeout" | "absolute_timeout" => Self::AbsoluteTimeout,
            _ => return None,
        })
    }

    /// The HTTP header name.
    ///
    /// ```
    /// assert_eq!(session_core::config::HeaderProperty::Id.header_name(), "Session-Id");
    /// ```
    pub const fn header_name(self) -> &'static str {
        match self {
            Self::Id => "Session-Id",
            Self::Audience => "Session-Audience",
            Self::Subject => "Session-Subject",
            Self::Timeout => "Session-Timeout",
            Self::IdlingTimeout => "Session-Idling-Timeout",
            Self::RollingTimeout => "Session-Rolling-Timeout",
            Self::AbsoluteTimeout => "Session-Absolute-Timeout",
        }
    }

    /// The property name (`get_property` name).
    ///
    /// ```
    /// assert_eq!(session_core::config::HeaderProperty::IdlingTimeout.name(), "idling-timeout");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Audience => "audience",
            Self::Subject => "subject",
            Self::Timeout => "timeout",
            Self::IdlingTimeout => "idling-timeout",
            Self::RollingTimeout => "rolling-timeout",
            Self::AbsoluteTimeout => "absolute-timeout",
        }
    }
}

/// Process-wide defaults set by [`init`].
struct InitState {
    config: Config,
    ikm: Ikm,
    fallbacks: Option<Vec<Ikm>>,
}

fn init_state() -> &'static RwLock<Arc<InitState>> {
    static STATE: OnceLock<RwLock<Arc<InitState>>> = OnceLock::new();
    STATE.get_or_init(|| {
        // The reference draws a random IKM once per process.
        let ikm = crate::env::random_bytes()
            .map(Ikm::from_bytes)
            .unwrap_or_else(|_| Ikm::from_secret(&process_entropy()));
        RwLock::new(Arc::new(InitState {
            config: Config::default(),
            ikm,
            fallbacks: None,
        }))
    })
}

/// Last-resort entropy when the OS RNG fails at start-up: sessions then only
/// work with an explicit secret or ikm, which every real deployment sets.
fn process_entropy() -> Vec<u8> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut v = t.to_le_bytes().to_vec();
    v.extend_from_slice(&std::process::id().to_le_bytes());
    v
}

fn current_init() -> Arc<InitState> {
    match init_state().read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

/// The configuration last given to [`init`] (the built-in defaults before
/// any call), for code that builds what an option names — e.g. a facade
/// creating the storage of `init({storage = "shm"})` for configurations that
/// do not name one themselves.
///
/// ```
/// use session_core::{Config, config::init_config};
/// // Before any `init`, the built-in defaults: no storage (cookies).
/// assert!(init_config().storage.is_none());
/// ```
#[must_use]
pub fn init_config() -> Config {
    current_init().config.clone()
}

/// Set the process-wide defaults, as Lua's `session.init(configuration)`.
///
/// Every default is recomputed from `config` and the built-in defaults
/// (options not given go back to built-in defaults), except the primary key,
/// which keeps its previous value (at first a random one) unless `config`
/// gives `ikm`, `ikm_hex` or `secret`. Configurations built afterwards use
/// these defaults; configurations already built are not affected.
///
/// # Errors
///
/// The validation errors of [`Config::build`].
///
/// ```
/// use session_core::{init, Config, config::RememberSafetyOption};
/// use session_core::session_codec::RememberSafety;
/// let high = RememberSafetyOption::Name("High".into());
/// init(Config { remember_safety: Some(high), ..Config::default() }).unwrap();
/// let built = Config::default().build().unwrap();
/// assert_eq!(built.remember_safety(), RememberSafety::High);
/// init(Config::default()).unwrap();
/// ```
pub fn init(config: Config) -> Result<(), ConfigError> {
    let previous = current_init();
    let ikm = match primary_ikm(&config)? {
        Some(ikm) => ikm,
        None => previous.ikm.clone(),
    };
    let fallbacks = fallback_ikms(&config)?;
    // Validate everything else once, against built-in defaults.
    let state = InitState {
        config: config.clone(),
        ikm,
        fallbacks,
    };
    // `init` only records options: a backend named here gets its instance
    // when a configuration is built.
    resolve(&Config::default(), &state, None, None, None, false)?;
    let mut guard = match init_state().write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    *guard = Arc::new(state);
    Ok(())
}

fn decode_hex32(option: &'static str, reason: &'static str, s: &str) -> Result<Ikm, ConfigError> {
    let bytes = hex::decode(s.trim())
        .map_err(|e| ConfigError::new(option, reason).with_detail(format!("not hex: {e}")))?;
    Ikm::try_from_slice(&bytes).map_err(|_| {
        ConfigError::new(option, reason)
            .with_detail(format!("expected 32 bytes, got {}", bytes.len()))
    })
}

fn primary_ikm(config: &Config) -> Result<Option<Ikm>, ConfigError> {
    match (&config.ikm, &config.ikm_hex) {
        (Some(_), Some(_)) => Err(ConfigError::new("ikm", "invalid ikm size")
            .with_detail("give either ikm or ikm_hex, not both")),
        (Some(ikm), None) => Ikm::try_from_slice(ikm.as_bytes()).map(Some).map_err(|_| {
            ConfigError::new("ikm", "invalid ikm size")
                .with_detail(format!("expected 32 bytes, got {}", ikm.len()))
        }),
        (None, Some(hex)) => decode_hex32("ikm_hex", "invalid ikm size", hex).map(Some),
        (None, None) => Ok(config
            .secret
            .as_ref()
            .map(|s| Ikm::from_secret(s.as_bytes()))),
    }
}

fn fallback_ikms(config: &Config) -> Result<Option<Vec<Ikm>>, ConfigError> {
    const REASON: &str = "invalid ikm size in ikm_fallbacks";
    if let Some(list) = &config.ikm_fallbacks {
        let mut out = Vec::with_capacity(list.len());
        for ikm in list {
            out.push(Ikm::try_from_slice(ikm.as_bytes()).map_err(|_| {
                ConfigError::new("ikm_fallbacks", REASON)
                    .with_detail(format!("expected 32 bytes, got {}", ikm.len()))
            })?);
        }
        return Ok(Some(out));
    }
    if let Some(list) = &config.ikm_fallbacks_hex {
        return list
            .iter()
            .map(|s| decode_hex32("ikm_fallbacks_hex", REASON, s))
            .collect::<Result<Vec<_>, _>>()
            .map(Some);
    }
    match &config.secret_fallbacks {
        Some(list) if !list.is_empty() => Ok(Some(
            list.iter()
                .map(|s| Ikm::from_secret(s.as_bytes()))
                .collect(),
        )),
        _ => Ok(None),
    }
}

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
}

impl fmt::Debug for SessionConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfigBuilder")
            .field("config", &self.config)
            .field("storage", &self.storage.is_some())
            .field("clock", &self.clock)
            .field("sid_source", &self.sid_source)
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
        let inner = resolve(
            &self.config,
            &init,
            self.storage,
            self.clock,
            self.sid_source,
            true,
        )?;
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

    /// Parse a configuration from JSON or TOML text (JSON when it starts
    /// with `{`).
    ///
    /// # Errors
    ///
    /// [`ParseConfigError`](crate::ParseConfigError), keeping the parser's
    /// error, when the text is neither.
    ///
    /// ```
    /// use session_core::Config;
    /// let c = Config::from_text("secret = \"s\"\nidling_timeout = 0").unwrap();
    /// assert_eq!(c.idling_timeout, Some(0));
    /// let c = Config::from_text(r#"{"secret": "s"}"#).unwrap();
    /// assert!(c.secret.is_some());
    /// ```
    pub fn from_text(text: &str) -> Result<Config, crate::ParseConfigError> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| crate::ParseConfigError::new("JSON", e))
        } else {
            toml::from_str(text).map_err(|e| crate::ParseConfigError::new("TOML", e))
        }
    }
}

/// The key names of this struct, to tell unknown options apart.
const BACKEND_NAMES: &[&str] = &[
    "dshm",
    "file",
    "memcached",
    "memcache",
    "mysql",
    "mariadb",
    "postgres",
    "postgresql",
    "redis",
    "shm",
];

pub(crate) struct Inner {
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
    pub(crate) bind: Flags,
    pub(crate) request_headers: Vec<HeaderProperty>,
    pub(crate) response_headers: Vec<HeaderProperty>,
    pub(crate) keys: Keyring,
    pub(crate) storage: Option<Arc<dyn DynStorage>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sid_source: Arc<dyn SidSource>,
    pub(crate) reference_storage_ttl: bool,
    pub(crate) raw_multi_subjects: bool,
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
pub struct SessionConfig(pub(crate) Arc<Inner>);

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

    /// The current time from the configured clock.
    ///
    /// ```
    /// assert!(session_core::Config::default().build().unwrap().now() > 0);
    /// ```
    pub fn now(&self) -> u64 {
        self.0.clock.now()
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

fn pick<T: Clone>(own: &Option<T>, init: &Option<T>) -> Option<T> {
    own.clone().or_else(|| init.clone())
}

fn timeout(option: &'static str, value: u64) -> Result<i64, ConfigError> {
    i64::try_from(value).map_err(|_| {
        ConfigError::new(option, "invalid timeout").with_detail("larger than 2^63-1 seconds")
    })
}

fn header_list(
    option: &'static str,
    list: Option<Vec<String>>,
) -> Result<Vec<HeaderProperty>, ConfigError> {
    list.unwrap_or_default()
        .iter()
        .map(|name| {
            HeaderProperty::from_name(name).ok_or_else(|| {
                ConfigError::new(option, "invalid header name").with_detail(format!("{name:?}"))
            })
        })
        .collect()
}

fn resolve(
    own: &Config,
    init: &InitState,
    storage: Option<Arc<dyn DynStorage>>,
    clock: Option<Arc<dyn Clock>>,
    sid_source: Option<Arc<dyn SidSource>>,
    require_instance: bool,
) -> Result<Inner, ConfigError> {
    let d = &init.config;

    // Keys.
    let primary = match primary_ikm(own)? {
        Some(ikm) => ikm,
        None => init.ikm.clone(),
    };
    let fallbacks = match fallback_ikms(own)? {
        Some(list) => list,
        None => init.fallbacks.clone().unwrap_or_default(),
    };
    let fips = pick(&own.fips, &d.fips).unwrap_or(false);
    let keys = Keyring::new(Key::new(primary))
        .with_fallbacks(fallbacks.into_iter().map(Key::new))
        .with_derivation(if fips {
            KeyDerivation::Fips
        } else {
            KeyDerivation::Hkdf
        });

    // Cookie names and attributes (spec 01 §8).
    let cookie_name = pick(&own.cookie_name, &d.cookie_name).unwrap_or_else(|| "session".into());
    let remember_cookie_name = pick(&own.remember_cookie_name, &d.remember_cookie_name)
        .unwrap_or_else(|| "remember".into());
    let same_site =
        pick(&own.cookie_same_site, &d.cookie_same_site).unwrap_or_else(|| "Lax".into());
    let same_party = pick(&own.cookie_same_party, &d.cookie_same_party).unwrap_or(false);
    let mut attrs = CookieAttributes {
        domain: pick(&own.cookie_domain, &d.cookie_domain),
        path: pick(&own.cookie_path, &d.cookie_path).unwrap_or_else(|| "/".into()),
        same_site: same_site.clone(),
        priority: pick(&own.cookie_priority, &d.cookie_priority),
        same_party,
        partitioned: pick(&own.cookie_partitioned, &d.cookie_partitioned).unwrap_or(false),
        secure: pick(&own.cookie_secure, &d.cookie_secure).unwrap_or(false),
        http_only: pick(&own.cookie_http_only, &d.cookie_http_only).unwrap_or(true),
    };
    let prefix = pick(&own.cookie_prefix, &d.cookie_prefix);
    let (cookie_name, remember_cookie_name) = match prefix.as_deref() {
        Some(p @ "__Host-") => {
            attrs.path = "/".into();
            attrs.domain = None;
            attrs.secure = true;
            (
                format!("{p}{cookie_name}"),
                format!("{p}{remember_cookie_name}"),
            )
        }
        Some(p @ "__Secure-") => {
            attrs.secure = true;
            (
                format!("{p}{cookie_name}"),
                format!("{p}{remember_cookie_name}"),
            )
        }
        _ => {
            if same_site == "None" {
                attrs.secure = true;
            }
            (cookie_name, remember_cookie_name)
        }
    };
    if same_party {
        if same_site == "Strict" {
            return Err(ConfigError::new(
                "cookie_same_party",
                "SameParty session cookies cannot use SameSite=Strict",
            ));
        }
        attrs.secure = true;
    }
    for (option, name) in [
        ("cookie_name", &cookie_name),
        ("remember_cookie_name", &remember_cookie_name),
    ] {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid {
            return Err(ConfigError::new(option, "invalid cookie name")
                .with_detail(format!("{name:?} is not an HTTP token")));
        }
    }
    let attributes = attrs.render();
    if attributes.bytes().any(|b| b.is_ascii_control()) {
        return Err(ConfigError::new("cookie_path", "invalid cookie attribute")
            .with_detail("control characters in cookie attributes"));
    }

    // Bind.
    let mut bind = Flags::NONE;
    for item in pick(&own.bind, &d.bind).unwrap_or_default() {
        bind |= match item.as_str() {
            "ip" => Flags::BIND_IP,
            "scheme" => Flags::BIND_SCHEME,
            "user_agent" | "user-agent" => Flags::BIND_USER_AGENT,
            _ => {
                return Err(
                    ConfigError::new("bind", "invalid bind").with_detail(format!("{item:?}"))
                );
            }
        };
    }

    // Storage.
    let storage_option = pick(&own.storage, &d.storage);
    match &storage_option {
        Some(StorageOption::Flag(true)) => {
            return Err(ConfigError::new("storage", "invalid session storage")
                .with_detail("true is neither a backend name nor false"));
        }
        Some(StorageOption::Name(name))
            if require_instance && !name.is_empty() && name != "cookie" && storage.is_none() =>
        {
            return Err(
                ConfigError::new("storage", "invalid session storage").with_detail(format!(
                    "backend {name:?} needs a storage instance (SessionConfigBuilder::storage)"
                )),
            );
        }
        _ => {}
    }
    for key in own.backends.keys() {
        let is_storage_table = matches!(&storage_option, Some(StorageOption::Name(n)) if n == key);
        if !BACKEND_NAMES.contains(&key.as_str()) && !is_storage_table {
            return Err(
                ConfigError::new("configuration", "unknown option").with_detail(format!("{key:?}"))
            );
        }
    }

    let remember_safety = pick(&own.remember_safety, &d.remember_safety)
        .map(|s| s.level())
        .unwrap_or_default();
    let compression_threshold =
        pick(&own.compression_threshold, &d.compression_threshold).unwrap_or(1024);

    Ok(Inner {
        cookie_name,
        remember_cookie_name,
        attributes,
        remember: pick(&own.remember, &d.remember).unwrap_or(false),
        remember_safety,
        audience: pick(&own.audience, &d.audience).unwrap_or_else(|| "default".into()),
        subject: pick(&own.subject, &d.subject),
        enforce_same_subject: pick(&own.enforce_same_subject, &d.enforce_same_subject)
            .unwrap_or(false),
        stale_ttl: pick(&own.stale_ttl, &d.stale_ttl).unwrap_or(10),
        idling_timeout: timeout(
            "idling_timeout",
            pick(&own.idling_timeout, &d.idling_timeout).unwrap_or(900),
        )?,
        rolling_timeout: timeout(
            "rolling_timeout",
            pick(&own.rolling_timeout, &d.rolling_timeout).unwrap_or(3600),
        )?,
        absolute_timeout: timeout(
            "absolute_timeout",
            pick(&own.absolute_timeout, &d.absolute_timeout).unwrap_or(86_400),
        )?,
        remember_rolling_timeout: timeout(
            "remember_rolling_timeout",
            pick(&own.remember_rolling_timeout, &d.remember_rolling_timeout).unwrap_or(604_800),
        )?,
        remember_absolute_timeout: timeout(
            "remember_absolute_timeout",
            pick(&own.remember_absolute_timeout, &d.remember_absolute_timeout).unwrap_or(2_592_000),
        )?,
        hash_storage_key: pick(&own.hash_storage_key, &d.hash_storage_key).unwrap_or(false),
        hash_subject: pick(&own.hash_subject, &d.hash_subject).unwrap_or(false),
        store_metadata: pick(&own.store_metadata, &d.store_metadata).unwrap_or(false),
        touch_threshold: timeout(
            "touch_threshold",
            pick(&own.touch_threshold, &d.touch_threshold).unwrap_or(60),
        )?,
        compression_threshold: usize::try_from(compression_threshold).unwrap_or(usize::MAX),
        bind,
        request_headers: header_list(
            "request_headers",
            pick(&own.request_headers, &d.request_headers),
        )?,
        response_headers: header_list(
            "response_headers",
            pick(&own.response_headers, &d.response_headers),
        )?,
        keys,
        storage,
        clock: clock.unwrap_or_else(|| Arc::new(SystemClock)),
        sid_source: sid_source.unwrap_or_else(|| Arc::new(OsRandomSid)),
        reference_storage_ttl: pick(
            &own.compat_reference_storage_ttl,
            &d.compat_reference_storage_ttl,
        )
        .unwrap_or(false),
        raw_multi_subjects: pick(&own.compat_raw_multi_subjects, &d.compat_raw_multi_subjects)
            .unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(json: &str) -> Result<SessionConfig, ConfigError> {
        serde_json::from_str::<Config>(json).unwrap().build()
    }

    #[test]
    fn validation_invalid_ikm_size() {
        let err = build(r#"{"ikm": "12345"}"#).unwrap_err();
        assert_eq!(err.reason(), "invalid ikm size");
        assert!(
            init(Config {
                ikm: Some("12345".into()),
                ..Config::default()
            })
            .is_err()
        );
    }

    #[test]
    fn validation_invalid_ikm_size_in_fallbacks() {
        let err = build(r#"{"ikm_fallbacks": ["00000000000000000000000000000000", "123456"]}"#)
            .unwrap_err();
        assert_eq!(err.reason(), "invalid ikm size in ikm_fallbacks");
        assert_eq!(err.option(), "ikm_fallbacks");
    }

    #[test]
    fn validation_same_party_with_strict() {
        let err =
            build(r#"{"cookie_same_party": true, "cookie_same_site": "Strict"}"#).unwrap_err();
        assert_eq!(
            err.reason(),
            "SameParty session cookies cannot use SameSite=Strict"
        );
    }

    #[test]
    fn validation_invalid_bind_and_header_names() {
        assert_eq!(
            build(r#"{"bind": ["port"]}"#).unwrap_err().reason(),
            "invalid bind"
        );
        assert_eq!(
            build(r#"{"request_headers": ["nonce"]}"#)
                .unwrap_err()
                .reason(),
            "invalid header name"
        );
        assert!(build(r#"{"bind": []}"#).is_ok());
    }

    #[test]
    fn cookie_prefix_table_of_spec_01_8() {
        let host = build(r#"{"cookie_prefix": "__Host-", "cookie_domain": "example.com", "cookie_path": "/x", "cookie_secure": false}"#).unwrap();
        assert_eq!(host.cookie_name(), "__Host-session");
        assert_eq!(host.remember_cookie_name(), "__Host-remember");
        assert_eq!(
            host.attributes(),
            "; Path=/; SameSite=Lax; Secure; HttpOnly"
        );
        let secure = build(r#"{"cookie_prefix": "__Secure-", "cookie_domain": "example.com", "cookie_path": "/x", "cookie_secure": false}"#).unwrap();
        assert_eq!(secure.cookie_name(), "__Secure-session");
        assert_eq!(
            secure.attributes(),
            "; Domain=example.com; Path=/x; SameSite=Lax; Secure; HttpOnly"
        );
        let other = build(r#"{"cookie_prefix": "foo-"}"#).unwrap();
        assert_eq!(other.cookie_name(), "session");
        assert_eq!(other.attributes(), "; Path=/; SameSite=Lax; HttpOnly");
        let none = build(r#"{"cookie_same_site": "None", "cookie_secure": false}"#).unwrap();
        assert_eq!(
            none.attributes(),
            "; Path=/; SameSite=None; Secure; HttpOnly"
        );
        let all = build(r#"{"cookie_domain": "example.com", "cookie_priority": "High", "cookie_same_party": true, "cookie_partitioned": true}"#).unwrap();
        assert_eq!(
            all.attributes(),
            "; Domain=example.com; Path=/; SameSite=Lax; Priority=High; SameParty; Partitioned; Secure; HttpOnly"
        );
        let lower = build(r#"{"cookie_same_site": "lax"}"#).unwrap();
        assert_eq!(lower.attributes(), "; Path=/; SameSite=lax; HttpOnly");
        let names = build(
            r#"{"cookie_name": "sid", "remember_cookie_name": "rem", "cookie_prefix": "__Host-"}"#,
        )
        .unwrap();
        assert_eq!(
            (names.cookie_name(), names.remember_cookie_name()),
            ("__Host-sid", "__Host-rem")
        );
    }

    #[test]
    fn storage_name_needs_an_instance() {
        let err = build(r#"{"storage": "redis"}"#).unwrap_err();
        assert_eq!(err.reason(), "invalid session storage");
        assert!(build(r#"{"storage": "cookie"}"#).is_ok());
        assert!(build(r#"{"storage": false}"#).is_ok());
        assert!(build(r#"{"storage": true}"#).is_err());
    }

    #[test]
    fn unknown_options_are_named() {
        let err = build(r#"{"secrte": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("secrte"));
        assert!(build(r#"{"redis": {"prefix": "x"}}"#).is_ok());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c: Config = serde_json::from_str(r#"{"secret": "hunter2", "ikm_hex": "00"}"#).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn toml_configuration_is_accepted() {
        let c = Config::from_text("secret = \"s\"\nbind = [\"ip\"]\n[redis]\nprefix = \"x\"\n")
            .unwrap();
        assert_eq!(c.bind.as_deref(), Some(&["ip".to_owned()][..]));
        assert!(c.build().is_ok());
    }
}
