//! The options as written: [`Config`], every option of lua-resty-session
//! 4.1.5 under its Lua name, deserializable from JSON or TOML, and the value
//! types of the options that are not plain numbers, strings or booleans.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use session_codec::RememberSafety;

use super::diagnose::TextError;

/// Every top-level option [`Config`] reads (the Lua names and this crate's extras), besides
/// the backend blocks: the names an unknown option is compared with for a suggestion.
///
/// ```
/// assert!(session_core::config::OPTION_NAMES.contains(&"idling_timeout"));
/// ```
pub const OPTION_NAMES: &[&str] = &[
    "secret",
    "secret_fallbacks",
    "ikm",
    "ikm_hex",
    "ikm_fallbacks",
    "ikm_fallbacks_hex",
    "secret_kdf",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "cookie_prefix",
    "cookie_name",
    "cookie_path",
    "cookie_domain",
    "cookie_http_only",
    "cookie_secure",
    "cookie_priority",
    "cookie_same_site",
    "cookie_same_party",
    "cookie_partitioned",
    "remember",
    "remember_safety",
    "remember_cookie_name",
    "audience",
    "subject",
    "enforce_same_subject",
    "stale_ttl",
    "idling_timeout",
    "rolling_timeout",
    "absolute_timeout",
    "remember_rolling_timeout",
    "remember_absolute_timeout",
    "hash_storage_key",
    "hash_subject",
    "store_metadata",
    "touch_threshold",
    "compression_threshold",
    "bind",
    "request_headers",
    "response_headers",
    "storage",
    "fips",
    "compat_reference_storage_ttl",
    "compat_raw_multi_subjects",
    "revocation",
    "opened_cache",
];

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

/// Session options, with the Lua option names (docs/semantics.md §1). Every field is
/// optional: an absent option takes the [`init`](crate::init) default, else the built-in
/// default. Build it once (at start-up) with [`Config::build`] or
/// [`Config::builder`].
///
/// Extra keys beyond the Lua names: `ikm_hex` / `ikm_fallbacks_hex` (binary
/// keys as hex), `fips` (FIPS-compatible key derivation, docs/crypto.md §9), and the
/// compatibility switches `compat_reference_storage_ttl` and
/// `compat_raw_multi_subjects` (docs/semantics.md §19 #1, #2). Backend tables (`redis`,
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
    /// How `secret` and `secret_fallbacks` become IKMs (extension): `"sha256"` (default, as
    /// in Lua) or `"argon2id"` (hardened, once per process; see
    /// [`derived_ikms`](Config::derived_ikms)).
    pub secret_kdf: Option<String>,
    /// Argon2id memory in KiB (default 65536 = 64 MiB), with `secret_kdf = "argon2id"`.
    pub argon2_memory_kib: Option<u32>,
    /// Argon2id passes (default 3), with `secret_kdf = "argon2id"`.
    pub argon2_iterations: Option<u32>,
    /// Argon2id lanes (default 1), with `secret_kdf = "argon2id"`.
    pub argon2_parallelism: Option<u32>,
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
    /// The largest session data an open decodes (and a save writes): bytes of JSON after
    /// inflate (extension). Default [`DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE`](crate::config::DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE)
    /// (1 MiB) with cookie storage, the format's limit
    /// ([`MAX_PLAINTEXT_SIZE`](session_codec::MAX_PLAINTEXT_SIZE), 12 MiB) with a
    /// server-side store; from 1024 up to that limit.
    pub max_plaintext_size: Option<u64>,
    /// Bind the MAC to `ip`, `scheme`, `user_agent` / `user-agent`.
    pub bind: Option<Vec<String>>,
    /// Session headers `set_headers` puts on the request.
    pub request_headers: Option<Vec<String>>,
    /// Session headers `set_headers` puts on the response.
    pub response_headers: Option<Vec<String>>,
    /// `false` / `"cookie"` (cookie storage) or a backend name.
    pub storage: Option<StorageOption>,
    /// FIPS-compatible key derivation (docs/crypto.md §9; extension, default false).
    pub fips: Option<bool>,
    /// Compute the storage TTL with the reference's swapped times (docs/semantics.md
    /// §16.1; extension, default false = the intended formula).
    pub compat_reference_storage_ttl: Option<bool>,
    /// With several audiences, put raw subjects in storage metadata as the
    /// reference does (docs/payload.md §8; extension, default true).
    pub compat_raw_multi_subjects: Option<bool>,
    /// Revocation of cookie sessions (extension): the store that keeps revoked subjects and
    /// session ids, and its lookup cache. See [`crate::revocation`].
    pub revocation: Option<crate::revocation::RevocationOptions>,
    /// Keep the decoded header and entries of the 1 024 sessions opened or saved last, so the
    /// same cookie again, or the one a save or touch of an opened session just set, skips
    /// base64, decryption and JSON
    /// parsing (extension, default true; see
    /// [`SessionConfigBuilder::opened_cache`](crate::config::SessionConfigBuilder::opened_cache)).
    pub opened_cache: Option<bool>,
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
            .field("secret_kdf", &self.secret_kdf)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field("argon2_parallelism", &self.argon2_parallelism)
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
            .field("max_plaintext_size", &self.max_plaintext_size)
            .field("bind", &self.bind)
            .field("request_headers", &self.request_headers)
            .field("response_headers", &self.response_headers)
            .field("storage", &self.storage)
            .field("fips", &self.fips)
            .field("revocation", &self.revocation)
            .field("opened_cache", &self.opened_cache)
            .field("backends", &self.backends.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A session property that can be sent as a header (docs/semantics.md §15).
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

impl Config {
    /// Parse a configuration from JSON or TOML text (JSON when it starts
    /// with `{`).
    ///
    /// # Errors
    ///
    /// [`ParseConfigError`](crate::ParseConfigError) when the text is neither: the parser's
    /// message with its position, never the offending line or value (a secret or a password
    /// given the wrong type stays out of the message).
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
            serde_json::from_str(text)
                .map_err(|e| crate::ParseConfigError::new("JSON", TextError::json(&e)))
        } else {
            toml::from_str(text)
                .map_err(|e| crate::ParseConfigError::new("TOML", TextError::toml(text, &e)))
        }
    }
}
