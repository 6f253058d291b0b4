//! Resolution: each option from the configuration, else from [`init`]'s
//! defaults, else the built-in default; validated once, into the settings a
//! [`SessionConfig`] keeps.
//!
//! [`init`]: super::init
//! [`SessionConfig`]: super::SessionConfig

use std::sync::Arc;

use session_codec::{Flags, Key, KeyDerivation, Keyring};
use session_storage::DynStorage;

use super::built::Settings;
use super::defaults::{InitState, fallback_ikms, primary_ikm};
use super::diagnose::closest_name;
use super::options::OPTION_NAMES;
use super::{Config, HeaderProperty, StorageOption};
use crate::cookie::CookieAttributes;
use crate::env::{Clock, OsRandomSid, SidSource, SystemClock};
use crate::error::ConfigError;

/// The storage names lua-resty-session knows, each also the name of an options table a
/// configuration may carry (beside the one its `storage` names, and those a
/// [`SessionConfigBuilder::option_blocks`](super::SessionConfigBuilder::option_blocks) call
/// adds), to tell unknown options apart.
///
/// ```
/// assert!(session_core::config::LUA_STORAGE_NAMES.contains(&"postgresql"));
/// ```
pub const LUA_STORAGE_NAMES: &[&str] = &[
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

/// What a builder attaches beside the options.
#[derive(Default)]
pub(super) struct Attached {
    pub(super) storage: Option<Arc<dyn DynStorage>>,
    pub(super) clock: Option<Arc<dyn Clock>>,
    pub(super) sid_source: Option<Arc<dyn SidSource>>,
    pub(super) revocation: Option<Arc<dyn DynStorage>>,
}

/// Validates `own` over `init`'s defaults into the settings of a
/// [`SessionConfig`](super::SessionConfig). The steps run in a fixed order,
/// so the first invalid option is the one reported.
pub(super) fn resolve(
    own: &Config,
    init: &InitState,
    attached: Attached,
    require_instance: bool,
    option_blocks: &[String],
) -> Result<Settings, ConfigError> {
    let Attached {
        storage,
        clock,
        sid_source,
        revocation,
    } = attached;
    let d = &init.config;
    let keys = keyring(own, init)?;
    let cookies = cookie_setup(own, d)?;
    let bind = bind_flags(own, d)?;
    check_storage(own, d, storage.is_some(), require_instance, option_blocks)?;
    check_revocation(own, revocation.is_some(), require_instance, option_blocks)?;
    let timeouts = Timeouts::resolve(own, d)?;
    let cookie_name_for_revocation = cookies.cookie_name.clone();
    let compression_threshold =
        pick(&own.compression_threshold, &d.compression_threshold).unwrap_or(1024);
    let max_plaintext_size = crate::payload::max_plaintext_size(
        pick(&own.max_plaintext_size, &d.max_plaintext_size),
        storage.is_some(),
    )?;
    let storage_name =
        crate::payload::storage_name(pick(&own.storage, &d.storage).as_ref(), storage.is_some());
    let mut settings = Settings {
        cookie_name: cookies.cookie_name,
        remember_cookie_name: cookies.remember_cookie_name,
        attributes: cookies.attributes,
        remember: pick(&own.remember, &d.remember).unwrap_or(false),
        remember_safety: pick(&own.remember_safety, &d.remember_safety)
            .map(|s| s.level())
            .unwrap_or_default(),
        audience: pick(&own.audience, &d.audience).unwrap_or_else(|| "default".into()),
        subject: pick(&own.subject, &d.subject),
        enforce_same_subject: pick(&own.enforce_same_subject, &d.enforce_same_subject)
            .unwrap_or(false),
        stale_ttl: pick(&own.stale_ttl, &d.stale_ttl).unwrap_or(10),
        idling_timeout: timeouts.idling,
        rolling_timeout: timeouts.rolling,
        absolute_timeout: timeouts.absolute,
        remember_rolling_timeout: timeouts.remember_rolling,
        remember_absolute_timeout: timeouts.remember_absolute,
        hash_storage_key: pick(&own.hash_storage_key, &d.hash_storage_key).unwrap_or(false),
        hash_subject: pick(&own.hash_subject, &d.hash_subject).unwrap_or(false),
        store_metadata: pick(&own.store_metadata, &d.store_metadata).unwrap_or(false),
        touch_threshold: timeouts.touch_threshold,
        compression_threshold: usize::try_from(compression_threshold).unwrap_or(usize::MAX),
        max_plaintext_size,
        storage_name,
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
        revocation: revocation.map(|store| {
            Arc::new(crate::revocation::Revocation::new(
                store,
                own.revocation.as_ref(),
                &cookie_name_for_revocation,
                timeouts.absolute,
                timeouts.remember_absolute,
            ))
        }),
        opened: crate::opened::OpenedCache::new(
            pick(&own.opened_cache, &d.opened_cache).unwrap_or(true),
        ),
        fresh_entries: Arc::new(Vec::new()),
    };
    // What every new session starts from, shared until its first change (copy on write).
    settings.fresh_entries = Arc::new(vec![crate::payload::Entry::new(
        &settings.audience,
        settings.subject.as_deref(),
    )]);
    Ok(settings)
}

/// Keys: the primary and fallback IKMs (the configuration's, else `init`'s)
/// with the HKDF-extract of each computed once here.
fn keyring(own: &Config, init: &InitState) -> Result<Keyring, ConfigError> {
    if let Some(kdf) = own.secret_kdf.as_deref()
        && kdf != "sha256"
        && kdf != "argon2id"
    {
        return Err(ConfigError::new("secret_kdf", "invalid secret_kdf")
            .with_detail(format!("{kdf:?}: expected \"sha256\" or \"argon2id\"")));
    }
    let primary = match primary_ikm(own)? {
        Some(ikm) => {
            crate::log::warn_key_hazards(own, false);
            ikm
        }
        None => {
            crate::log::warn_key_hazards(&init.config, init.random_ikm);
            init.ikm.clone().ok_or_else(|| {
                ConfigError::new("secret", "unable to draw a random key").with_detail(
                    "no secret is configured and the OS random source failed; \
                     set `secret`, `ikm` or `ikm_hex`",
                )
            })?
        }
    };
    let fallbacks = match fallback_ikms(own)? {
        Some(list) => list,
        None => init.fallbacks.clone().unwrap_or_default(),
    };
    let fips = pick(&own.fips, &init.config.fips).unwrap_or(false);
    Ok(Keyring::new(Key::new(primary))
        .with_fallbacks(fallbacks.into_iter().map(Key::new))
        .with_derivation(if fips {
            KeyDerivation::Fips
        } else {
            KeyDerivation::Hkdf
        }))
}

/// The cookie names (with any prefix) and the rendered attribute string.
struct CookieSetup {
    cookie_name: String,
    remember_cookie_name: String,
    attributes: String,
}

/// Cookie names and attributes (docs/cookie-format.md §8): prefixes, `SameSite=None` and
/// SameParty force `Secure`; names must be HTTP tokens.
fn cookie_setup(own: &Config, d: &Config) -> Result<CookieSetup, ConfigError> {
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
    check_cookie_name("cookie_name", &cookie_name)?;
    check_cookie_name("remember_cookie_name", &remember_cookie_name)?;
    let attributes = attrs.render();
    if attributes.bytes().any(|b| b.is_ascii_control()) {
        return Err(ConfigError::new("cookie_path", "invalid cookie attribute")
            .with_detail("control characters in cookie attributes"));
    }
    Ok(CookieSetup {
        cookie_name,
        remember_cookie_name,
        attributes,
    })
}

/// A cookie name must be an HTTP token.
fn check_cookie_name(option: &'static str, name: &str) -> Result<(), ConfigError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(ConfigError::new(option, "invalid cookie name")
            .with_detail(format!("{name:?} is not an HTTP token")))
    }
}

/// `bind`: which request values the header MAC covers.
fn bind_flags(own: &Config, d: &Config) -> Result<Flags, ConfigError> {
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
    Ok(bind)
}

/// `storage`: `true` is invalid, a backend name needs an instance (when
/// building), and every extra key must be a backend table: one of Lua's storage names or of
/// `option_blocks` (the names of stores registered beside them).
fn check_storage(
    own: &Config,
    d: &Config,
    has_instance: bool,
    require_instance: bool,
    option_blocks: &[String],
) -> Result<(), ConfigError> {
    let storage_option = pick(&own.storage, &d.storage);
    match &storage_option {
        Some(StorageOption::Flag(true)) => {
            return Err(ConfigError::new("storage", "invalid session storage")
                .with_detail("true is neither a backend name nor false"));
        }
        Some(StorageOption::Name(name))
            if require_instance && !name.is_empty() && name != "cookie" && !has_instance =>
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
        let known = LUA_STORAGE_NAMES.contains(&key.as_str()) || option_blocks.contains(key);
        if !known && !is_storage_table {
            let names = OPTION_NAMES
                .iter()
                .chain(LUA_STORAGE_NAMES)
                .copied()
                .chain(option_blocks.iter().map(String::as_str));
            let detail = match closest_name(key, names) {
                Some(name) => format!("`{key}` (did you mean `{name}`?)"),
                None => format!("`{key}`"),
            };
            return Err(ConfigError::new("configuration", "unknown option").with_detail(detail));
        }
    }
    Ok(())
}

/// `revocation`: a store kind (not cookie storage), an instance when building, and no
/// options block but those of store kinds.
fn check_revocation(
    own: &Config,
    has_instance: bool,
    require_instance: bool,
    option_blocks: &[String],
) -> Result<(), ConfigError> {
    let Some(options) = &own.revocation else {
        return Ok(());
    };
    let storage = options.storage.as_deref().unwrap_or_default();
    if storage.is_empty() || storage == "cookie" {
        return Err(
            ConfigError::new("revocation", "invalid revocation storage").with_detail(
                "`revocation.storage` must name a store kind (file, redis, shm, postgres, \
                 mysql, memcached, dshm, ...), e.g. revocation = { storage = \"file\", \
                 file = { path = \"/var/lib/revocations\" } }",
            ),
        );
    }
    if require_instance && !has_instance {
        return Err(
            ConfigError::new("revocation", "invalid revocation storage").with_detail(format!(
                "backend {storage:?} needs a store instance \
                 (SessionConfigBuilder::revocation_storage, or build with resty-session)"
            )),
        );
    }
    for key in options.backends.keys() {
        let known = key == storage
            || LUA_STORAGE_NAMES.contains(&key.as_str())
            || option_blocks.contains(key);
        if !known {
            let names = ["storage", "cache_ttl", "fail_open"]
                .into_iter()
                .chain(LUA_STORAGE_NAMES.iter().copied())
                .chain(option_blocks.iter().map(String::as_str));
            let detail = match closest_name(key, names) {
                Some(name) => format!("`revocation.{key}` (did you mean `{name}`?)"),
                None => format!("`revocation.{key}`"),
            };
            return Err(ConfigError::new("revocation", "unknown option").with_detail(detail));
        }
    }
    Ok(())
}

/// The timeouts in seconds, as signed numbers for the engine's arithmetic.
struct Timeouts {
    idling: i64,
    rolling: i64,
    absolute: i64,
    remember_rolling: i64,
    remember_absolute: i64,
    touch_threshold: i64,
}

impl Timeouts {
    fn resolve(own: &Config, d: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            idling: timeout(
                "idling_timeout",
                pick(&own.idling_timeout, &d.idling_timeout).unwrap_or(900),
            )?,
            rolling: timeout(
                "rolling_timeout",
                pick(&own.rolling_timeout, &d.rolling_timeout).unwrap_or(3600),
            )?,
            absolute: timeout(
                "absolute_timeout",
                pick(&own.absolute_timeout, &d.absolute_timeout).unwrap_or(86_400),
            )?,
            remember_rolling: timeout(
                "remember_rolling_timeout",
                pick(&own.remember_rolling_timeout, &d.remember_rolling_timeout).unwrap_or(604_800),
            )?,
            remember_absolute: timeout(
                "remember_absolute_timeout",
                pick(&own.remember_absolute_timeout, &d.remember_absolute_timeout)
                    .unwrap_or(2_592_000),
            )?,
            touch_threshold: timeout(
                "touch_threshold",
                pick(&own.touch_threshold, &d.touch_threshold).unwrap_or(60),
            )?,
        })
    }
}
