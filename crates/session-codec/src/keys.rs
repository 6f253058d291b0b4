//! The key schedule (docs/crypto.md §2–§9): IKM, cached HKDF-extract, per-session
//! HKDF-expand or PBKDF2, and the FIPS variant.

use core::fmt;
use std::sync::Arc;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::derived::DerivedCache;
use crate::error::Error;
use crate::header::SessionId;
use crate::hmac_sha256::HmacSha256;

/// Initial keying material: 32 bytes, zeroized on drop, never printed.
///
/// ```
/// use session_codec::Ikm;
///
/// let ikm = Ikm::from_secret(b"RaJKp8UQW1");
/// assert_eq!(ikm.as_bytes()[..4], [0x19, 0x99, 0xbb, 0x99]);
/// assert_eq!(format!("{ikm:?}"), "Ikm(<redacted>)");
/// assert!(Ikm::try_from_slice(&[0; 31]).is_err());
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Ikm([u8; 32]);

impl Ikm {
    /// Size of an IKM in bytes.
    pub const LEN: usize = 32;

    /// `SHA-256(secret)`: the IKM of a configured `secret` (any string works).
    ///
    /// ```
    /// let ikm = session_codec::Ikm::from_secret(b"");
    /// assert_eq!(ikm.as_bytes().len(), 32);
    /// ```
    #[must_use]
    pub fn from_secret(secret: &[u8]) -> Ikm {
        Ikm(Sha256::digest(secret).into())
    }

    /// A raw 32-byte `ikm`, used as is.
    ///
    /// ```
    /// let ikm = session_codec::Ikm::from_bytes([9; 32]);
    /// assert_eq!(ikm.as_bytes(), &[9; 32]);
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Ikm {
        Ikm(bytes)
    }

    /// A raw `ikm` of unchecked length.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIkmSize`] unless `bytes` is exactly 32 bytes long.
    ///
    /// ```
    /// use session_codec::{Error, Ikm};
    /// assert_eq!(Ikm::try_from_slice(b"short").unwrap_err(), Error::InvalidIkmSize);
    /// assert!(Ikm::try_from_slice(&[0; 32]).is_ok());
    /// ```
    pub fn try_from_slice(bytes: &[u8]) -> Result<Ikm, Error> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::InvalidIkmSize)?;
        Ok(Ikm(arr))
    }

    /// The raw bytes.
    ///
    /// ```
    /// assert_eq!(session_codec::Ikm::from_bytes([1; 32]).as_bytes()[31], 1);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Ikm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ikm(<redacted>)")
    }
}

/// How per-session keys are derived from a [`Key`].
///
/// ```
/// assert_eq!(session_codec::KeyDerivation::default(), session_codec::KeyDerivation::Hkdf);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyDerivation {
    /// HKDF-SHA256 with an empty salt (the reference on a non-FIPS OpenSSL).
    #[default]
    Hkdf,
    /// PBKDF2-HMAC-SHA256 with one iteration for both keys, as the reference
    /// does when its OpenSSL runs in FIPS mode (docs/crypto.md §9). Cookies written
    /// this way are not readable by a non-FIPS deployment and vice versa.
    Fips,
}

/// `remember_safety`: the cost of the remember cookie's encryption key
/// (docs/crypto.md §8). The header MAC key is never affected.
///
/// ```
/// use session_codec::RememberSafety;
///
/// assert_eq!(RememberSafety::from_name("Very High"), RememberSafety::VeryHigh);
/// assert_eq!(RememberSafety::from_name("medium"), RememberSafety::Medium); // any other string
/// assert_eq!(RememberSafety::Low.iterations(), Some(1_000));
/// assert_eq!(RememberSafety::None.iterations(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RememberSafety {
    /// HKDF, like a session cookie.
    None,
    /// PBKDF2 with 1 000 iterations.
    Low,
    /// PBKDF2 with 10 000 iterations (the default).
    #[default]
    Medium,
    /// PBKDF2 with 100 000 iterations.
    High,
    /// PBKDF2 with 1 000 000 iterations.
    VeryHigh,
}

impl RememberSafety {
    /// The level named as in the Lua configuration: `"None"`, `"Low"`,
    /// `"Medium"`, `"High"`, `"Very High"`; like the reference, any other
    /// string means `Medium`.
    ///
    /// ```
    /// assert_eq!(session_codec::RememberSafety::from_name("None"), session_codec::RememberSafety::None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> RememberSafety {
        match name {
            "None" => RememberSafety::None,
            "Low" => RememberSafety::Low,
            "High" => RememberSafety::High,
            "Very High" => RememberSafety::VeryHigh,
            _ => RememberSafety::Medium,
        }
    }

    /// The Lua name of the level.
    ///
    /// ```
    /// assert_eq!(session_codec::RememberSafety::VeryHigh.name(), "Very High");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            RememberSafety::None => "None",
            RememberSafety::Low => "Low",
            RememberSafety::Medium => "Medium",
            RememberSafety::High => "High",
            RememberSafety::VeryHigh => "Very High",
        }
    }

    /// PBKDF2 iterations, or `None` for HKDF.
    ///
    /// ```
    /// assert_eq!(session_codec::RememberSafety::VeryHigh.iterations(), Some(1_000_000));
    /// ```
    #[must_use]
    pub const fn iterations(self) -> Option<u32> {
        match self {
            RememberSafety::None => None,
            RememberSafety::Low => Some(1_000),
            RememberSafety::Medium => Some(10_000),
            RememberSafety::High => Some(100_000),
            RememberSafety::VeryHigh => Some(1_000_000),
        }
    }
}

/// Which cookie a key is derived for.
///
/// ```
/// use session_codec::{CookieKind, RememberSafety};
/// assert!(CookieKind::Remember(RememberSafety::High).is_slow());
/// assert!(!CookieKind::Session.is_slow());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CookieKind {
    /// The session cookie.
    Session,
    /// The persistent "remember me" cookie, with its safety level.
    Remember(RememberSafety),
}

impl CookieKind {
    /// Whether deriving this cookie's encryption key runs PBKDF2 with 1 000
    /// or more iterations (run it off an async runtime's worker threads).
    ///
    /// ```
    /// assert!(!session_codec::CookieKind::Remember(session_codec::RememberSafety::None).is_slow());
    /// ```
    #[must_use]
    pub const fn is_slow(self) -> bool {
        matches!(self, CookieKind::Remember(s) if s.iterations().is_some())
    }
}

/// The AES-256-GCM key and IV of one cookie (44 derived bytes), zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CipherKey([u8; 44]);

impl CipherKey {
    /// The 32-byte AES key.
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let ck = key.cipher_key(&SessionId::from_bytes([0; 32]), CookieKind::Session, KeyDerivation::Hkdf);
    /// assert_eq!(ck.aes_key().len(), 32);
    /// ```
    #[must_use]
    pub fn aes_key(&self) -> &[u8; 32] {
        self.0.first_chunk::<32>().unwrap_or(&[0; 32])
    }

    /// The 12-byte GCM IV.
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let ck = key.cipher_key(&SessionId::from_bytes([0; 32]), CookieKind::Session, KeyDerivation::Hkdf);
    /// assert_eq!(ck.iv().len(), 12);
    /// ```
    #[must_use]
    pub fn iv(&self) -> &[u8; 12] {
        self.0.last_chunk::<12>().unwrap_or(&[0; 12])
    }
}

impl CipherKey {
    /// A copy (deliberately not `Clone`: copies of key material are explicit).
    pub(crate) fn duplicate(&self) -> CipherKey {
        CipherKey(self.0)
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 44]) -> CipherKey {
        CipherKey(bytes)
    }
}

impl fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CipherKey(<redacted>)")
    }
}

/// The 32-byte HMAC key of one cookie's header MAC, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MacKey([u8; 32]);

impl MacKey {
    /// The raw key bytes.
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let mk = key.mac_key(&SessionId::from_bytes([0; 32]), KeyDerivation::Hkdf);
    /// assert_eq!(mk.as_bytes().len(), 32);
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

const ENCRYPTION: &[u8] = b"encryption:";
const AUTHENTICATION: &[u8] = b"authentication:";

/// `usage || SID` in a stack buffer (at most 15 + 32 bytes).
fn info(usage: &[u8], sid: &SessionId) -> ([u8; 47], usize) {
    let mut buf = [0u8; 47];
    let n = usage.len() + SessionId::LEN;
    buf[..usage.len()].copy_from_slice(usage);
    buf[usage.len()..n].copy_from_slice(sid.as_bytes());
    (buf, n)
}

/// One key: its IKM and the cached HKDF-extract state (the PRK, already
/// keyed into HMAC), so a cookie costs only HKDF-expand, never an extract.
///
/// A key also remembers the derived keys of the sessions it has recently opened
/// (1 024 of them, shared by its clones), so reopening the same cookie skips the
/// key derivation: its header MAC costs three SHA-256 blocks instead of nine, and no
/// HKDF-expand runs for its cipher key. Only keys of cookies whose MAC matched are kept.
///
/// All of it is zeroized on drop; `Debug` prints nothing secret.
///
/// ```
/// use session_codec::{Ikm, Key, KeyDerivation, SessionId};
///
/// let key = Key::new(Ikm::from_secret(b"RaJKp8UQW1"));
/// let sid = SessionId::from_bytes(core::array::from_fn(|i| 0x40 + i as u8));
/// let mac_key = key.mac_key(&sid, KeyDerivation::Hkdf);
/// assert_eq!(mac_key.as_bytes()[..2], [0xa6, 0x14]);
/// ```
#[derive(Clone)]
pub struct Key {
    ikm: Ikm,
    /// The PRK of HKDF-Extract, keyed into HMAC (its pad states).
    prk: HmacSha256,
    /// Derived keys of recent sessions (see `derived.rs`), shared by clones.
    recent: Arc<DerivedCache>,
}

impl Key {
    /// Builds a key, running HKDF-extract (empty salt) once.
    ///
    /// ```
    /// let key = session_codec::Key::new(session_codec::Ikm::from_bytes([0; 32]));
    /// assert_eq!(key.ikm().as_bytes(), &[0; 32]);
    /// ```
    #[must_use]
    pub fn new(ikm: Ikm) -> Key {
        let (prk, _) = Hkdf::<Sha256>::extract(None, ikm.as_bytes());
        let mut bytes: [u8; 32] = prk.into();
        let prk = HmacSha256::new(&bytes);
        bytes.zeroize();
        Key {
            ikm,
            prk,
            recent: Arc::default(),
        }
    }

    /// The key's IKM.
    ///
    /// ```
    /// let key = session_codec::Key::new(session_codec::Ikm::from_bytes([3; 32]));
    /// assert_eq!(key.ikm().as_bytes()[0], 3);
    /// ```
    #[must_use]
    pub fn ikm(&self) -> &Ikm {
        &self.ikm
    }

    fn expand(&self, usage: &[u8], sid: &SessionId, out: &mut [u8]) {
        let (info, n) = info(usage, sid);
        // 44 and 32 bytes: two HKDF blocks at most.
        self.prk.hkdf_expand(&info[..n], out);
    }

    fn pbkdf2(&self, usage: &[u8], sid: &SessionId, rounds: u32, out: &mut [u8]) {
        let (salt, n) = info(usage, sid);
        pbkdf2::pbkdf2_hmac::<Sha256>(self.ikm.as_bytes(), &salt[..n], rounds, out);
    }

    /// The MAC key of the cookie whose header carries `sid`:
    /// HKDF-Expand(PRK, `"authentication:" || SID`, 32), or PBKDF2 with one
    /// iteration under [`KeyDerivation::Fips`].
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let sid = SessionId::from_bytes([1; 32]);
    /// assert_ne!(
    ///     key.mac_key(&sid, KeyDerivation::Hkdf).as_bytes(),
    ///     key.mac_key(&sid, KeyDerivation::Fips).as_bytes()
    /// );
    /// ```
    #[must_use]
    pub fn mac_key(&self, sid: &SessionId, derivation: KeyDerivation) -> MacKey {
        let mut out = MacKey([0; 32]);
        match derivation {
            KeyDerivation::Hkdf => self.expand(AUTHENTICATION, sid, &mut out.0),
            KeyDerivation::Fips => self.pbkdf2(AUTHENTICATION, sid, 1, &mut out.0),
        }
        out
    }

    /// The AES-256-GCM key and IV of the cookie whose header carries `sid`:
    /// HKDF-Expand(PRK, `"encryption:" || SID`, 44) for session cookies and
    /// remember cookies at [`RememberSafety::None`]; PBKDF2(IKM,
    /// `"encryption:" || SID`, N, 44) for other remember cookies; PBKDF2 with
    /// one iteration for the former under [`KeyDerivation::Fips`].
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let sid = SessionId::from_bytes([1; 32]);
    /// let a = key.cipher_key(&sid, CookieKind::Session, KeyDerivation::Hkdf);
    /// let b = key.cipher_key(&sid, CookieKind::Remember(RememberSafety::None), KeyDerivation::Hkdf);
    /// assert_eq!(a.aes_key(), b.aes_key());
    /// ```
    #[must_use]
    pub fn cipher_key(
        &self,
        sid: &SessionId,
        kind: CookieKind,
        derivation: KeyDerivation,
    ) -> CipherKey {
        // A remember cookie's PBKDF2 key is never kept (it is not the session's key).
        if kind.is_slow() {
            return self.fresh_cipher_key(sid, kind, derivation);
        }
        let derive = || self.fresh_cipher_key(sid, kind, derivation);
        self.recent
            .cipher(sid, derivation, derive)
            .unwrap_or_else(derive)
    }

    /// [`Key::cipher_key`] derived now, without looking in (or filling) the recent
    /// sessions' table: what a save needs, whose session id was just drawn.
    pub(crate) fn fresh_cipher_key(
        &self,
        sid: &SessionId,
        kind: CookieKind,
        derivation: KeyDerivation,
    ) -> CipherKey {
        let rounds = match kind {
            CookieKind::Remember(safety) => safety.iterations(),
            CookieKind::Session => None,
        };
        let mut out = CipherKey([0; 44]);
        match (rounds, derivation) {
            (Some(rounds), _) => self.pbkdf2(ENCRYPTION, sid, rounds, &mut out.0),
            (None, KeyDerivation::Hkdf) => self.expand(ENCRYPTION, sid, &mut out.0),
            (None, KeyDerivation::Fips) => self.pbkdf2(ENCRYPTION, sid, 1, &mut out.0),
        }
        out
    }

    /// What the recent sessions' table keeps for `sid`: the verified `header` (given when
    /// it binds to nothing), else the MAC state, in one visit.
    pub(crate) fn recent_lookup(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: Option<&[u8; crate::header::HEADER_SIZE]>,
    ) -> crate::derived::Lookup {
        self.recent.lookup(sid, derivation, header)
    }

    /// The header MAC key of `sid` with its HMAC pads applied, and whether it came from
    /// the recent sessions' keys.
    pub(crate) fn mac_state(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
    ) -> (HmacSha256, bool) {
        match self.recent.lookup(sid, derivation, None) {
            crate::derived::Lookup::Mac(kept) => (kept, true),
            _ => (self.fresh_mac_state(sid, derivation), false),
        }
    }

    /// The header MAC key of `sid` with its HMAC pads applied, derived now.
    pub(crate) fn fresh_mac_state(&self, sid: &SessionId, derivation: KeyDerivation) -> HmacSha256 {
        HmacSha256::new(self.mac_key(sid, derivation).as_bytes())
    }

    /// Keeps the MAC state of `sid` after its header MAC matched or was made with it, and
    /// `verified`, that header when its flags bind to nothing.
    pub(crate) fn keep_mac_state(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        state: &HmacSha256,
        verified: Option<&[u8; crate::header::HEADER_SIZE]>,
    ) {
        self.recent.keep_mac(sid, derivation, state, verified);
    }

    /// Whether `header` is the last verified, unbound header kept for `sid` (tests).
    #[cfg(test)]
    pub(crate) fn verified_header(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: &[u8; crate::header::HEADER_SIZE],
    ) -> bool {
        self.recent.verified(sid, derivation, header)
    }

    /// Keeps `header` (its MAC just matched; its flags bind to nothing) for `sid`.
    pub(crate) fn keep_verified_header(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: &[u8; crate::header::HEADER_SIZE],
    ) {
        self.recent.keep_verified(sid, derivation, header);
    }

    /// Whether the recent sessions' keys hold `sid`'s MAC and cipher keys (tests).
    #[cfg(test)]
    pub(crate) fn keeps(&self, sid: &SessionId, derivation: KeyDerivation) -> (bool, bool) {
        self.recent.holds(sid, derivation)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// A primary key and its ordered fallbacks (key rotation, docs/crypto.md §3).
///
/// Opening tries the primary key, then each fallback in order; saving always
/// uses the primary key.
///
/// ```
/// use session_codec::{Ikm, Key, Keyring};
///
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"new")))
///     .with_fallbacks([Key::new(Ikm::from_secret(b"old"))]);
/// assert_eq!(ring.len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<Key>,
    derivation: KeyDerivation,
}

impl Keyring {
    /// A keyring with only a primary key and HKDF derivation.
    ///
    /// ```
    /// let ring = session_codec::Keyring::new(session_codec::Key::new(session_codec::Ikm::from_bytes([0; 32])));
    /// assert_eq!(ring.len(), 1);
    /// ```
    #[must_use]
    pub fn new(primary: Key) -> Keyring {
        Keyring {
            keys: vec![primary],
            derivation: KeyDerivation::Hkdf,
        }
    }

    /// Adds fallback keys, tried in order after the primary key.
    ///
    /// ```
    /// # use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_bytes([0; 32]))).with_fallbacks(vec![]);
    /// assert_eq!(ring.len(), 1);
    /// ```
    #[must_use]
    pub fn with_fallbacks(mut self, fallbacks: impl IntoIterator<Item = Key>) -> Keyring {
        self.keys.extend(fallbacks);
        self
    }

    /// Chooses the key derivation (HKDF, or the FIPS variant).
    ///
    /// ```
    /// # use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_bytes([0; 32]))).with_derivation(KeyDerivation::Fips);
    /// assert_eq!(ring.derivation(), KeyDerivation::Fips);
    /// ```
    #[must_use]
    pub fn with_derivation(mut self, derivation: KeyDerivation) -> Keyring {
        self.derivation = derivation;
        self
    }

    /// The key derivation in use.
    ///
    /// ```
    /// # use session_codec::*;
    /// assert_eq!(Keyring::new(Key::new(Ikm::from_bytes([0; 32]))).derivation(), KeyDerivation::Hkdf);
    /// ```
    #[must_use]
    pub fn derivation(&self) -> KeyDerivation {
        self.derivation
    }

    /// The primary key (used by every save).
    ///
    /// ```
    /// # use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_bytes([5; 32])));
    /// assert_eq!(ring.primary().ikm().as_bytes()[0], 5);
    /// ```
    #[must_use]
    pub fn primary(&self) -> &Key {
        &self.keys[0]
    }

    /// The key at `index`: 0 is the primary key, `n` is fallback `n`.
    ///
    /// ```
    /// # use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_bytes([5; 32])));
    /// assert!(ring.get(0).is_some());
    /// assert!(ring.get(1).is_none());
    /// ```
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&Key> {
        self.keys.get(index)
    }

    /// Number of keys (primary plus fallbacks).
    ///
    /// ```
    /// # use session_codec::*;
    /// assert_eq!(Keyring::new(Key::new(Ikm::from_bytes([5; 32]))).len(), 1);
    /// ```
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // never empty: there is always a primary key
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// All keys in the order they are tried.
    ///
    /// ```
    /// # use session_codec::*;
    /// assert_eq!(Keyring::new(Key::new(Ikm::from_bytes([5; 32]))).keys().count(), 1);
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Key> {
        self.keys.iter()
    }
}

/// Derives the 44 bytes of a remember cookie's key material without the AEAD,
/// for callers that want to run the (slow) PBKDF2 step on a blocking thread
/// and the rest inline: see [`Keyring::open_with_cipher_key`](crate::Keyring::open_with_cipher_key).
///
/// ```
/// # use session_codec::*;
/// let ring = Keyring::new(Key::new(Ikm::from_bytes([0; 32])));
/// let sid = SessionId::from_bytes([0; 32]);
/// let ck = derive_cipher_key(&ring, 0, &sid, CookieKind::Remember(RememberSafety::Low)).unwrap();
/// assert_eq!(ck.iv().len(), 12);
/// ```
///
/// # Errors
///
/// [`Error::InvalidMac`] when `key_index` names no key of the ring.
pub fn derive_cipher_key(
    ring: &Keyring,
    key_index: usize,
    sid: &SessionId,
    kind: CookieKind,
) -> Result<CipherKey, Error> {
    let key = ring.get(key_index).ok_or(Error::InvalidMac)?;
    Ok(key.cipher_key(sid, kind, ring.derivation()))
}

/// The key material of a cookie about to be sealed under `sid`, a session id just drawn,
/// with the primary key: [`derive_cipher_key`] at index 0, without the look-up in the keys
/// of recently opened sessions (a new id is never there, and the look-up would touch a
/// cold slot of that table on every save).
///
/// ```
/// # use session_codec::*;
/// let ring = Keyring::new(Key::new(Ikm::from_bytes([0; 32])));
/// let sid = SessionId::from_bytes([4; 32]);
/// let new = derive_new_cipher_key(&ring, &sid, CookieKind::Session);
/// let any = derive_cipher_key(&ring, 0, &sid, CookieKind::Session).unwrap();
/// assert_eq!(new.aes_key(), any.aes_key());
/// assert_eq!(new.iv(), any.iv());
/// ```
#[must_use]
pub fn derive_new_cipher_key(ring: &Keyring, sid: &SessionId, kind: CookieKind) -> CipherKey {
    ring.primary()
        .fresh_cipher_key(sid, kind, ring.derivation())
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // small test indices
mod tests {
    use super::*;

    fn sid_from(start: u8) -> SessionId {
        SessionId::from_bytes(core::array::from_fn(|i| start.wrapping_add(i as u8)))
    }

    #[test]
    fn ikm_from_secret_matches_the_crypto_doc_section_12() {
        let ikm = Ikm::from_secret(b"RaJKp8UQW1");
        assert_eq!(
            hex::encode(ikm.as_bytes()),
            "1999bb992d207e8ff35c52c36b911e7bebf5946158043dc74b08e9a169059d05"
        );
    }

    #[test]
    fn prk_matches_the_crypto_doc_section_12() {
        let ikm = Ikm::from_secret(b"RaJKp8UQW1");
        let (prk, _) = Hkdf::<Sha256>::extract(None, ikm.as_bytes());
        assert_eq!(
            hex::encode(prk),
            "3a13136ee61a57ff4ef1c617800f72f4e8294a6f843c5369b95c02804fedc474"
        );
    }

    #[test]
    fn v1_keys_match_the_crypto_doc_section_12() {
        let key = Key::new(Ikm::from_secret(b"RaJKp8UQW1"));
        let sid = SessionId::from_bytes(
            hex::decode("4b764653493cb542ac592722f456fa3cce716e6e3af45951e60fc1e47599e8a6")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let mk = key.mac_key(&sid, KeyDerivation::Hkdf);
        assert_eq!(
            hex::encode(mk.as_bytes()),
            "6d60b0b72f4b8191de9e3e21fe233f3baa8934a4b706e44c0db99d7d3bdb08e2"
        );
        let ck = key.cipher_key(&sid, CookieKind::Session, KeyDerivation::Hkdf);
        assert_eq!(
            hex::encode(ck.aes_key()),
            "680d9f9a17bcc7972e16653ccf8c27a0ee95ecae317bf856949acb3be6da5dfb"
        );
        assert_eq!(hex::encode(ck.iv()), "fb67f240e7e6366cab152298");
    }

    #[test]
    fn v2_keys_match_the_crypto_doc_section_12() {
        let key = Key::new(Ikm::from_secret(b"RaJKp8UQW1"));
        let sid = sid_from(0x40);
        assert_eq!(
            hex::encode(key.mac_key(&sid, KeyDerivation::Hkdf).as_bytes()),
            "a614a8775cd20a4756113fab3722856d4da6b5106536c07622082b253bcc32e0"
        );
        let ck = key.cipher_key(&sid, CookieKind::Session, KeyDerivation::Hkdf);
        assert_eq!(
            hex::encode(ck.aes_key()),
            "edbc187f6b671ed2638a139dcc58a3e703d90f4d37c436d917b515884186ab8f"
        );
        assert_eq!(hex::encode(ck.iv()), "3bc9818b32a6814d16f51bef");
    }

    #[test]
    fn v4_remember_low_uses_pbkdf2_over_the_raw_ikm() {
        let key = Key::new(Ikm::from_secret(b"RaJKp8UQW1"));
        let sid = sid_from(0x60);
        let ck = key.cipher_key(
            &sid,
            CookieKind::Remember(RememberSafety::Low),
            KeyDerivation::Hkdf,
        );
        assert_eq!(
            hex::encode(ck.aes_key()),
            "c953d1fe541fd5a13e780f437836a47a3106daa68fffebb37284298c06bafbfc"
        );
        assert_eq!(hex::encode(ck.iv()), "7206ef2a8bd4fe91ae828f20");
    }

    #[test]
    fn remember_safety_never_changes_the_mac_key() {
        // The MAC key has no CookieKind parameter at all; this documents it.
        let key = Key::new(Ikm::from_secret(b"x"));
        let sid = sid_from(0);
        let a = key.mac_key(&sid, KeyDerivation::Hkdf);
        let b = key.mac_key(&sid, KeyDerivation::Hkdf);
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn fips_derivation_is_pbkdf2_with_one_iteration() {
        let key = Key::new(Ikm::from_secret(b"x"));
        let sid = sid_from(0);
        let mut expected = [0u8; 32];
        let mut salt = b"authentication:".to_vec();
        salt.extend_from_slice(sid.as_bytes());
        pbkdf2::pbkdf2_hmac::<Sha256>(key.ikm().as_bytes(), &salt, 1, &mut expected);
        assert_eq!(key.mac_key(&sid, KeyDerivation::Fips).as_bytes(), &expected);
        // Remember cookies above None keep their PBKDF2 count in FIPS mode.
        let a = key.cipher_key(
            &sid,
            CookieKind::Remember(RememberSafety::Low),
            KeyDerivation::Fips,
        );
        let b = key.cipher_key(
            &sid,
            CookieKind::Remember(RememberSafety::Low),
            KeyDerivation::Hkdf,
        );
        assert_eq!(a.aes_key(), b.aes_key());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let key = Key::new(Ikm::from_bytes([0x41; 32]));
        let ring = Keyring::new(key.clone());
        for s in [
            format!("{key:?}"),
            format!("{ring:?}"),
            format!("{:?}", key.ikm()),
        ] {
            assert!(
                !s.contains("65") && !s.contains("41, 65") && !s.contains("AAAA"),
                "{s}"
            );
            assert!(s.contains("redacted"), "{s}");
        }
    }
}
