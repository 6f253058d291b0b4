//! The process-wide defaults of [`init`] (Lua `session.init`) and the key
//! material options they share with every configuration.

use std::sync::{Arc, OnceLock, RwLock};

use session_codec::Ikm;

use super::Config;
use super::resolve::{Attached, resolve};
use crate::error::ConfigError;

/// Process-wide defaults set by [`init`].
pub(super) struct InitState {
    pub(super) config: Config,
    /// The primary key: `init`'s, else the per-process random key; `None` when no key was
    /// given and the OS random source failed (building then fails: never a weak key).
    pub(super) ikm: Option<Ikm>,
    /// Whether `ikm` is the per-process random key (no secret anywhere).
    pub(super) random_ikm: bool,
    pub(super) fallbacks: Option<Vec<Ikm>>,
}

/// The state before any `init`: the reference draws a random IKM once per process.
fn initial_state(draw: impl FnOnce() -> Result<[u8; 32], crate::env::SidError>) -> InitState {
    InitState {
        config: Config::default(),
        ikm: draw().map(Ikm::from_bytes).ok(),
        random_ikm: true,
        fallbacks: None,
    }
}

fn init_state() -> &'static RwLock<Arc<InitState>> {
    static STATE: OnceLock<RwLock<Arc<InitState>>> = OnceLock::new();
    STATE.get_or_init(|| RwLock::new(Arc::new(initial_state(crate::env::random_bytes))))
}

pub(super) fn current_init() -> Arc<InitState> {
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
    let (ikm, random_ikm) = match primary_ikm(&config)? {
        Some(ikm) => (Some(ikm), false),
        None => (previous.ikm.clone(), previous.random_ikm),
    };
    let fallbacks = fallback_ikms(&config)?;
    // Validate everything else once, against built-in defaults.
    let state = InitState {
        config: config.clone(),
        ikm,
        random_ikm,
        fallbacks,
    };
    // `init` only records options: a backend named here gets its instance
    // when a configuration is built.
    resolve(&Config::default(), &state, Attached::default(), false, &[])?;
    let mut guard = match init_state().write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    *guard = Arc::new(state);
    Ok(())
}

fn decode_hex32(option: &'static str, reason: &'static str, s: &str) -> Result<Ikm, ConfigError> {
    // The hex error names the offending character: part of a key, so it is not shown.
    let bytes = hex::decode(s.trim()).map_err(|_| {
        ConfigError::new(option, reason).with_detail("expected 64 hex digits (32 bytes)")
    })?;
    Ikm::try_from_slice(&bytes).map_err(|_| {
        ConfigError::new(option, reason)
            .with_detail(format!("expected 32 bytes, got {}", bytes.len()))
    })
}

pub(super) fn primary_ikm(config: &Config) -> Result<Option<Ikm>, ConfigError> {
    match (&config.ikm, &config.ikm_hex) {
        (Some(_), Some(_)) => Err(ConfigError::new("ikm", "invalid ikm size")
            .with_detail("give either ikm or ikm_hex, not both")),
        (Some(ikm), None) => Ikm::try_from_slice(ikm.as_bytes()).map(Some).map_err(|_| {
            ConfigError::new("ikm", "invalid ikm size")
                .with_detail(format!("expected 32 bytes, got {}", ikm.len()))
        }),
        (None, Some(hex)) => decode_hex32("ikm_hex", "invalid ikm size", hex).map(Some),
        (None, None) => config
            .secret
            .as_ref()
            .map(|s| secret_ikm(config, "secret", s))
            .transpose(),
    }
}

/// The IKM of a secret: `SHA-256(secret)` as in Lua, or with `secret_kdf = "argon2id"` the
/// Argon2id derivation (cached per process).
fn secret_ikm(config: &Config, option: &'static str, secret: &str) -> Result<Ikm, ConfigError> {
    match config.secret_kdf.as_deref() {
        None | Some("sha256") => Ok(Ikm::from_secret(secret.as_bytes())),
        Some("argon2id") => {
            let d = session_codec::Argon2idParams::DEFAULT;
            let params = session_codec::Argon2idParams::new(
                config.argon2_memory_kib.unwrap_or(d.memory_kib),
                config.argon2_iterations.unwrap_or(d.iterations),
                config.argon2_parallelism.unwrap_or(d.parallelism),
            );
            session_codec::derive_ikm_argon2id(secret.as_bytes(), &params).map_err(|e| {
                ConfigError::new("secret_kdf", "invalid argon2id parameters").with_detail(format!(
                    "{e}; for {option}, with argon2_memory_kib >= 8 x argon2_parallelism, \
                         argon2_iterations >= 1, argon2_parallelism >= 1"
                ))
            })
        }
        Some(other) => Err(ConfigError::new("secret_kdf", "invalid secret_kdf")
            .with_detail(format!("{other:?}: expected \"sha256\" or \"argon2id\""))),
    }
}

impl Config {
    /// The key material this configuration's own key options give: the primary IKM (`None`
    /// without `secret`, `ikm` or `ikm_hex`) and the fallbacks, with `secret_kdf` applied.
    /// With `secret_kdf = "argon2id"` this is what to give a Lua peer as its `ikm` /
    /// `ikm_fallbacks` (`session derive-ikm` prints them as hex). Handle the result as a
    /// secret; [`Ikm`] is zeroized when dropped and never printed by `Debug`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for an invalid key option, `secret_kdf` or Argon2id parameter.
    ///
    /// ```
    /// use session_core::Config;
    /// let config = Config::from_text(r#"
    ///     secret = "RaJKp8UQW1"
    ///     secret_fallbacks = ["old secret"]
    ///     secret_kdf = "argon2id"
    ///     argon2_memory_kib = 1024   # small for the example; the default is 65536
    ///     argon2_iterations = 1
    /// "#)?;
    /// let (primary, fallbacks) = config.derived_ikms()?;
    /// let primary = primary.unwrap();
    /// assert_eq!(fallbacks.len(), 1);
    /// assert_ne!(primary.as_bytes(), session_core::session_codec::Ikm::from_secret(b"RaJKp8UQW1").as_bytes());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn derived_ikms(&self) -> Result<(Option<Ikm>, Vec<Ikm>), ConfigError> {
        Ok((primary_ikm(self)?, fallback_ikms(self)?.unwrap_or_default()))
    }
}

pub(super) fn fallback_ikms(config: &Config) -> Result<Option<Vec<Ikm>>, ConfigError> {
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
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|s| secret_ikm(config, "secret_fallbacks", s))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::SidError;

    #[test]
    fn a_failed_random_source_is_an_error_never_a_weak_key() {
        let state = initial_state(|| Err(SidError("no entropy (test)".into())));
        assert!(state.ikm.is_none());
        let err = resolve(&Config::default(), &state, Attached::default(), false, &[])
            .err()
            .expect("a configuration without a key built on a failed random source");
        assert_eq!(err.option(), "secret");
        assert!(err.to_string().contains("random"), "{err}");
        // With a secret, the random source is not needed.
        let own = Config {
            secret: Some("a long enough secret for this test".into()),
            ..Config::default()
        };
        assert!(resolve(&own, &state, Attached::default(), false, &[]).is_ok());
    }
}
