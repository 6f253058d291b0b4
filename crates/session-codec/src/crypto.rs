//! AES-256-GCM seal / open and the header MAC with optional binding
//! (docs/crypto.md §5–§7).

use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::{Aes256Gcm, KeyInit};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::b64::encoded_len;
use crate::derived::Lookup;
use crate::error::Error;
use crate::header::{AAD_SIZE, Flags, HEADER_SIZE, Header, MAC_INPUT_SIZE, MAX_DATA_SIZE};
use crate::hmac_sha256::HmacSha256;
use crate::keys::{CipherKey, CookieKind, Key, Keyring};

/// The request values a bound cookie mixes into its MAC (docs/crypto.md §7).
///
/// Which of them count is decided by the cookie's flags (`BIND_IP`,
/// `BIND_SCHEME`, `BIND_USER_AGENT`); missing and empty values are skipped.
///
/// ```
/// use session_codec::{BindValues, Flags};
///
/// let bind = BindValues { ip: Some("127.0.0.1"), scheme: Some("https"), user_agent: Some("curl/8.0") };
/// let suffix = bind.suffix(Flags::BIND_IP | Flags::BIND_SCHEME | Flags::BIND_USER_AGENT);
/// assert_eq!(suffix.map(|s| s[0]), Some(b'#'));
/// assert_eq!(bind.suffix(Flags::NONE), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BindValues<'a> {
    /// The client address as the server sees it, e.g. `127.0.0.1`.
    pub ip: Option<&'a str>,
    /// The request scheme, `http` or `https`.
    pub scheme: Option<&'a str>,
    /// The raw `User-Agent` request header.
    pub user_agent: Option<&'a str>,
}

impl BindValues<'_> {
    /// The bind suffix for a cookie with `flags`: `"#" || SHA-256(parts
    /// joined by "|")`, or `None` when nothing is bound.
    ///
    /// ```
    /// # use session_codec::*;
    /// let bind = BindValues { ip: None, scheme: Some(""), user_agent: None };
    /// assert_eq!(bind.suffix(Flags::BIND_IP | Flags::BIND_SCHEME), None);
    /// ```
    #[must_use]
    pub fn suffix(&self, flags: Flags) -> Option<[u8; 33]> {
        let sources = [
            (Flags::BIND_IP, self.ip),
            (Flags::BIND_SCHEME, self.scheme),
            (Flags::BIND_USER_AGENT, self.user_agent),
        ];
        let mut hasher = Sha256::new();
        let mut any = false;
        for (flag, value) in sources {
            let Some(v) = value.filter(|v| flags.contains(flag) && !v.is_empty()) else {
                continue;
            };
            if any {
                hasher.update(b"|");
            }
            hasher.update(v.as_bytes());
            any = true;
        }
        if !any {
            return None;
        }
        let mut out = [0u8; 33];
        out[0] = b'#';
        out[1..].copy_from_slice(&hasher.finalize());
        Some(out)
    }
}

/// The truncated HMAC-SHA256 over `header[0..66] || bind suffix`.
fn compute_mac(key: &HmacSha256, header: &[u8; HEADER_SIZE], bind: &BindValues<'_>) -> [u8; 16] {
    let flags = Flags::from_bits(u16::from_le_bytes([header[1], header[2]]));
    let full = match bind.suffix(flags) {
        Some(suffix) => key.mac(&[&header[..MAC_INPUT_SIZE], &suffix]),
        None => key.mac(&[&header[..MAC_INPUT_SIZE]]),
    };
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Runs `f` with the AEAD keyed by `cipher_key` and its nonce. The cipher (≈ 1.1 KB of
/// round keys and GHASH powers) is built where `f` uses it: returned in a tuple it was
/// copied once more on every seal and open.
fn with_aead<R>(cipher_key: &CipherKey, f: impl FnOnce(&Aes256Gcm, &Nonce<Aes256Gcm>) -> R) -> R {
    let cipher = Aes256Gcm::new(cipher_key.aes_key().into());
    f(&cipher, &Nonce::<Aes256Gcm>::from(*cipher_key.iv()))
}

impl Key {
    /// The 16-byte MAC of a header (bytes 0..66 and the bind suffix chosen by
    /// the header's own flags).
    ///
    /// ```
    /// # use session_codec::*;
    /// let key = Key::new(Ikm::from_secret(b"s"));
    /// let header = [1u8; 82];
    /// let a = key.header_mac(&header, &BindValues::default(), KeyDerivation::Hkdf);
    /// assert_eq!(a.len(), 16);
    /// ```
    #[must_use]
    pub fn header_mac(
        &self,
        header: &[u8; HEADER_SIZE],
        bind: &BindValues<'_>,
        derivation: crate::KeyDerivation,
    ) -> [u8; 16] {
        let sid = crate::SessionId::from_bytes(header_sid(header));
        compute_mac(&self.mac_state(&sid, derivation).0, header, bind)
    }
}

fn header_sid(header: &[u8; HEADER_SIZE]) -> [u8; 32] {
    let mut sid = [0u8; 32];
    sid.copy_from_slice(&header[3..35]);
    sid
}

impl Keyring {
    /// Verifies the MAC of a raw header with the primary key, then each
    /// fallback in order, in constant time per comparison. Returns the index
    /// of the key that matched (0 = primary).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMac`] when no key matches.
    ///
    /// ```
    /// # use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"s")));
    /// assert_eq!(ring.verify_mac(&[1u8; 82], &BindValues::default()), Err(Error::InvalidMac));
    /// ```
    pub fn verify_mac(
        &self,
        header: &[u8; HEADER_SIZE],
        bind: &BindValues<'_>,
    ) -> Result<usize, Error> {
        let expected: &[u8; 16] = header[MAC_INPUT_SIZE..]
            .try_into()
            .map_err(|_| Error::InvalidMac)?;
        let sid = crate::SessionId::from_bytes(header_sid(header));
        // A header that binds to nothing has a MAC that depends on its bytes alone: the
        // same bytes verified before under a key verify again (derived.rs).
        let flags = Flags::from_bits(u16::from_le_bytes([header[1], header[2]]));
        let unbound = !flags.binds_request();
        let derivation = self.derivation();
        for (index, key) in self.keys().enumerate() {
            let (state, kept) = match key.recent_lookup(&sid, derivation, unbound.then_some(header))
            {
                Lookup::Verified => return Ok(index),
                Lookup::Mac(state) => (state, true),
                Lookup::Miss => (key.fresh_mac_state(&sid, derivation), false),
            };
            let mac = compute_mac(&state, header, bind);
            if bool::from(mac.ct_eq(expected)) {
                if !kept {
                    key.keep_mac_state(&sid, derivation, &state, unbound.then_some(header));
                } else if unbound {
                    key.keep_verified_header(&sid, derivation, header);
                }
                return Ok(index);
            }
        }
        Err(Error::InvalidMac)
    }

    /// Encrypts `buf` in place for the cookie described by `header` and fills
    /// in the header's data size, tag, idling offset (0) and MAC, with the
    /// primary key. `header.flags` must already be final (DEFLATE included):
    /// they are part of the AAD and select the bind values.
    ///
    /// Returns the encoded header bytes.
    ///
    /// # Errors
    ///
    /// [`Error::DataSizeLimit`] when the payload's base64url form would not
    /// fit the 24-bit data-size field, [`Error::CreationTimeLimit`] when the
    /// creation time does not fit 40 bits, [`Error::Encrypt`] from the AEAD.
    ///
    /// ```
    /// use session_codec::*;
    ///
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
    /// let mut header = Header::new(Flags::NONE, SessionId::from_bytes([7; 32]), 1_700_000_000, 0);
    /// let mut buf = br#"[[{},"default"]]"#.to_vec();
    /// let raw = ring.seal(&mut header, CookieKind::Session, &mut buf, &BindValues::default()).unwrap();
    /// assert_eq!(header.data_size, 22);
    ///
    /// let index = ring.verify_mac(&raw, &BindValues::default()).unwrap();
    /// ring.open(&header, index, CookieKind::Session, &mut buf).unwrap();
    /// assert_eq!(buf, br#"[[{},"default"]]"#);
    /// ```
    pub fn seal(
        &self,
        header: &mut Header,
        kind: CookieKind,
        buf: &mut [u8],
        bind: &BindValues<'_>,
    ) -> Result<[u8; HEADER_SIZE], Error> {
        let cipher_key = crate::derive_new_cipher_key(self, &header.sid, kind);
        self.seal_with_cipher_key(header, &cipher_key, buf, bind)
    }

    /// [`Keyring::seal`] with an already derived cipher key (so a slow
    /// remember-cookie PBKDF2 can run elsewhere, e.g. on a blocking thread).
    ///
    /// # Errors
    ///
    /// As [`Keyring::seal`].
    ///
    /// ```
    /// use session_codec::*;
    ///
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
    /// let kind = CookieKind::Remember(RememberSafety::Low);
    /// let mut header = Header::new(Flags::NONE, SessionId::from_bytes([7; 32]), 1_700_000_000, 0);
    /// let ck = derive_cipher_key(&ring, 0, &header.sid, kind).unwrap();
    /// let mut buf = b"[]".to_vec();
    /// ring.seal_with_cipher_key(&mut header, &ck, &mut buf, &BindValues::default()).unwrap();
    /// ring.open(&header, 0, kind, &mut buf).unwrap();
    /// assert_eq!(buf, b"[]");
    /// ```
    pub fn seal_with_cipher_key(
        &self,
        header: &mut Header,
        cipher_key: &CipherKey,
        buf: &mut [u8],
        bind: &BindValues<'_>,
    ) -> Result<[u8; HEADER_SIZE], Error> {
        let data_size = u32::try_from(encoded_len(buf.len()))
            .ok()
            .filter(|&n| n <= MAX_DATA_SIZE)
            .ok_or(Error::DataSizeLimit)?;
        header.data_size = data_size;
        header.tag = [0; 16];
        header.idling_offset = 0;
        header.mac = [0; 16];
        let mut raw = header.encode()?;
        let tag = with_aead(cipher_key, |cipher, nonce| {
            cipher.encrypt_inout_detached(nonce, &raw[..AAD_SIZE], buf.into())
        })
        .map_err(|_| Error::Encrypt)?;
        header.tag.copy_from_slice(&tag);
        raw[AAD_SIZE..AAD_SIZE + 16].copy_from_slice(&tag);
        // Every save seals under a new session id: nothing kept to look up.
        self.sign_raw(&mut raw, 0, bind, false)?;
        header.mac.copy_from_slice(&raw[MAC_INPUT_SIZE..]);
        Ok(raw)
    }

    /// Recomputes the MAC of a header after its idling offset changed (a
    /// "touch"), with the key at `key_index` — the key that opened the cookie.
    /// Returns the encoded header bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMac`] when `key_index` names no key; the errors of
    /// [`Header::encode`].
    ///
    /// ```
    /// use session_codec::*;
    ///
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
    /// let mut header = Header::new(Flags::NONE, SessionId::from_bytes([7; 32]), 1_700_000_000, 0);
    /// let mut buf = b"[]".to_vec();
    /// ring.seal(&mut header, CookieKind::Session, &mut buf, &BindValues::default()).unwrap();
    /// header.idling_offset = 100;
    /// let raw = ring.sign(&mut header, 0, &BindValues::default()).unwrap();
    /// assert_eq!(ring.verify_mac(&raw, &BindValues::default()), Ok(0));
    /// ```
    pub fn sign(
        &self,
        header: &mut Header,
        key_index: usize,
        bind: &BindValues<'_>,
    ) -> Result<[u8; HEADER_SIZE], Error> {
        let mut raw = header.encode()?;
        self.sign_raw(&mut raw, key_index, bind, true)?;
        header.mac.copy_from_slice(&raw[MAC_INPUT_SIZE..]);
        Ok(raw)
    }

    fn sign_raw(
        &self,
        raw: &mut [u8; HEADER_SIZE],
        key_index: usize,
        bind: &BindValues<'_>,
        look_up: bool,
    ) -> Result<(), Error> {
        let key = self.get(key_index).ok_or(Error::InvalidMac)?;
        let sid = crate::SessionId::from_bytes(header_sid(raw));
        let state = if look_up {
            key.mac_state(&sid, self.derivation()).0
        } else {
            key.fresh_mac_state(&sid, self.derivation())
        };
        let mac = compute_mac(&state, raw, bind);
        raw[MAC_INPUT_SIZE..].copy_from_slice(&mac);
        Ok(())
    }

    /// Decrypts `buf` (the ciphertext) in place with the key at `key_index`,
    /// the header's tag, and the header's first 47 bytes as AAD.
    ///
    /// # Errors
    ///
    /// [`Error::Decrypt`] when the tag does not verify; [`Error::InvalidMac`]
    /// when `key_index` names no key.
    ///
    /// ```
    /// use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
    /// let header = Header::new(Flags::NONE, SessionId::from_bytes([7; 32]), 1, 0);
    /// let mut buf = b"junk".to_vec();
    /// assert_eq!(ring.open(&header, 0, CookieKind::Session, &mut buf), Err(Error::Decrypt));
    /// ```
    pub fn open(
        &self,
        header: &Header,
        key_index: usize,
        kind: CookieKind,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        let key = self.get(key_index).ok_or(Error::InvalidMac)?;
        let cipher_key = key.cipher_key(&header.sid, kind, self.derivation());
        Self::open_with_cipher_key(header, &cipher_key, buf)
    }

    /// [`Keyring::open`] with an already derived cipher key (see
    /// [`derive_cipher_key`](crate::derive_cipher_key)).
    ///
    /// # Errors
    ///
    /// [`Error::Decrypt`] when the tag does not verify.
    ///
    /// ```
    /// use session_codec::*;
    /// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
    /// let header = Header::new(Flags::NONE, SessionId::from_bytes([7; 32]), 1, 0);
    /// let ck = derive_cipher_key(&ring, 0, &header.sid, CookieKind::Session).unwrap();
    /// assert_eq!(Keyring::open_with_cipher_key(&header, &ck, &mut []), Err(Error::Decrypt));
    /// ```
    pub fn open_with_cipher_key(
        header: &Header,
        cipher_key: &CipherKey,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        let raw = header.encode().map_err(|_| Error::Decrypt)?;
        let tag = Tag::<Aes256Gcm>::from(header.tag);
        with_aead(cipher_key, |cipher, nonce| {
            cipher.decrypt_inout_detached(nonce, &raw[..AAD_SIZE], buf.into(), &tag)
        })
        .map_err(|_| Error::Decrypt)
    }
}
