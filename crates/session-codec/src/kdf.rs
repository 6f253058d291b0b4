//! Argon2id hardening of a configured secret (extension, `secret_kdf = "argon2id"`).
//!
//! The IKM of a `secret` is `SHA-256(secret)` in lua-resty-session, and every cookie's header
//! MAC key comes from it by one HKDF: a single cookie lets an attacker test guesses of a weak
//! secret at hashing speed. With Argon2id the IKM is
//! `Argon2id(password = secret, salt = ARGON2ID_SALT, m, t, p, 32 bytes)` (version 0x13, no
//! secret key, no associated data): each guess then costs one Argon2id run. The salt is
//! fixed so that every node (and a Lua peer given the derived IKM as its `ikm`) gets the same
//! key; the secret itself must carry the entropy a salt would otherwise add against
//! precomputation.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::Ikm;

/// The fixed Argon2id salt: the ASCII bytes `lua-resty-session/ikm/argon2id/v1` (33 bytes).
///
/// ```
/// assert_eq!(session_codec::ARGON2ID_SALT, b"lua-resty-session/ikm/argon2id/v1");
/// ```
pub const ARGON2ID_SALT: &[u8] = b"lua-resty-session/ikm/argon2id/v1";

/// Argon2id cost parameters. The default is 64 MiB, 3 passes, 1 lane (RFC 9106's second
/// recommended option, with one lane since the derivation runs once per process).
///
/// ```
/// let p = session_codec::Argon2idParams::default();
/// assert_eq!((p.memory_kib, p.iterations, p.parallelism), (65_536, 3, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Argon2idParams {
    /// Memory in KiB (`m`); at least 8 × `parallelism`.
    pub memory_kib: u32,
    /// Passes over the memory (`t`); at least 1.
    pub iterations: u32,
    /// Lanes (`p`); 1 to 2^24 − 1.
    pub parallelism: u32,
}

impl Default for Argon2idParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Argon2idParams {
    /// 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: Self = Self {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Parameters `m` (KiB), `t`, `p`.
    ///
    /// ```
    /// let p = session_codec::Argon2idParams::new(19_456, 2, 1);
    /// assert_eq!(p.memory_kib, 19_456);
    /// ```
    #[must_use]
    pub const fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        Self {
            memory_kib,
            iterations,
            parallelism,
        }
    }
}

/// Argon2id refused its parameters (or could not allocate its memory).
///
/// ```
/// let err = session_codec::Ikm::from_secret_argon2id(b"s", &session_codec::Argon2idParams::new(1, 1, 1)).unwrap_err();
/// assert!(err.to_string().starts_with("argon2id key derivation failed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argon2id key derivation failed ({0})")]
pub struct KdfError(String);

impl Ikm {
    /// `Argon2id(secret, ARGON2ID_SALT, params)`, 32 bytes: the hardened IKM of a `secret`.
    /// Costs the full derivation on every call; [`derive_ikm_argon2id`] caches it.
    ///
    /// # Errors
    ///
    /// [`KdfError`] when the parameters are out of range.
    ///
    /// ```
    /// use session_codec::{Argon2idParams, Ikm};
    /// let small = Argon2idParams::new(64, 1, 1);
    /// let a = Ikm::from_secret_argon2id(b"RaJKp8UQW1", &small)?;
    /// assert_ne!(a.as_bytes(), Ikm::from_secret(b"RaJKp8UQW1").as_bytes());
    /// # Ok::<_, session_codec::KdfError>(())
    /// ```
    pub fn from_secret_argon2id(secret: &[u8], params: &Argon2idParams) -> Result<Ikm, KdfError> {
        let fail = |e: argon2::Error| KdfError(e.to_string());
        let argon_params = argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(Ikm::LEN),
        )
        .map_err(fail)?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let mut out = [0u8; 32];
        argon
            .hash_password_into(secret, ARGON2ID_SALT, &mut out)
            .map_err(fail)?;
        let ikm = Ikm::from_bytes(out);
        out.zeroize();
        Ok(ikm)
    }
}

/// What the cache is keyed by: SHA-256 over the parameters and the secret (never the
/// secret itself), zeroized when dropped.
#[derive(PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
struct CacheKey([u8; 32]);

impl CacheKey {
    fn new(secret: &[u8], params: &Argon2idParams) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"session-codec argon2id cache\0");
        hasher.update(params.memory_kib.to_be_bytes());
        hasher.update(params.iterations.to_be_bytes());
        hasher.update(params.parallelism.to_be_bytes());
        hasher.update(secret);
        Self(hasher.finalize().into())
    }
}

/// [`Ikm::from_secret_argon2id`], run once per process for each secret and parameters: the
/// result is cached (the cache holds the IKMs, zeroized on drop, keyed by a hash of secret
/// and parameters). A second thread asking for a derivation in progress waits for it.
///
/// # Errors
///
/// [`KdfError`] when the parameters are out of range (not cached).
///
/// ```
/// use session_codec::{Argon2idParams, derive_ikm_argon2id};
/// let small = Argon2idParams::new(64, 1, 1);
/// let first = derive_ikm_argon2id(b"RaJKp8UQW1", &small)?;
/// let again = derive_ikm_argon2id(b"RaJKp8UQW1", &small)?; // from the cache
/// assert_eq!(first.as_bytes(), again.as_bytes());
/// # Ok::<_, session_codec::KdfError>(())
/// ```
pub fn derive_ikm_argon2id(secret: &[u8], params: &Argon2idParams) -> Result<Ikm, KdfError> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Ikm>>> = OnceLock::new();
    let key = CacheKey::new(secret, params);
    let mut cache = CACHE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(ikm) = cache.get(&key) {
        return Ok(ikm.clone());
    }
    let ikm = Ikm::from_secret_argon2id(secret, params)?;
    cache.insert(key, ikm.clone());
    Ok(ikm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_validated() {
        assert!(Ikm::from_secret_argon2id(b"s", &Argon2idParams::new(8, 0, 1)).is_err());
        assert!(Ikm::from_secret_argon2id(b"s", &Argon2idParams::new(8, 1, 0)).is_err());
        assert!(Ikm::from_secret_argon2id(b"s", &Argon2idParams::new(8, 1, 1)).is_ok());
    }

    #[test]
    fn cache_keys_tell_secrets_and_parameters_apart() {
        let p = Argon2idParams::new(64, 1, 1);
        assert!(CacheKey::new(b"a", &p) == CacheKey::new(b"a", &p));
        assert!(CacheKey::new(b"a", &p) != CacheKey::new(b"b", &p));
        assert!(CacheKey::new(b"a", &p) != CacheKey::new(b"a", &Argon2idParams::new(64, 2, 1)));
    }
}
