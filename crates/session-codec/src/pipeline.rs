//! The seal / open pipeline of a session payload, as named steps:
//!
//! - seal: JSON → [`pack`] (deflate when worth it) → [`seal_packed`]
//!   (AES-256-GCM with a derived cipher key, header MAC, base64url);
//! - open: [`decode_payload`] (length check, base64url) → [`unseal`]
//!   (AES-256-GCM with a derived cipher key, inflate).
//!
//! The session engine runs these steps one by one (it derives the cipher key
//! itself, possibly on a blocking thread, and checks timeouts in between);
//! [`seal_payload`], [`open_payload`] and [`open_cookie`] chain the same steps
//! in one call.

use crate::b64::{b64_decode_into, b64_encode_into, encoded_len};
use crate::chunk::assemble_payload;
use crate::compress::{
    DeflateLevel, MAX_PLAINTEXT_SIZE, deflate_with_level, inflate, should_deflate,
};
use crate::crypto::BindValues;
use crate::error::Error;
use crate::header::{Flags, HEADER_SIZE, Header};
use crate::keys::{CipherKey, CookieKind, Keyring, derive_cipher_key, derive_new_cipher_key};

/// A plaintext ready to be encrypted: the JSON bytes, deflated when that
/// made them shorter (see [`pack`]).
///
/// ```
/// let packed = session_codec::pack(b"[]".to_vec(), 1024);
/// assert!(!packed.is_deflated());
/// assert_eq!(packed.encoded_len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    bytes: Vec<u8>,
    deflated: bool,
}

impl Packed {
    /// Whether the bytes are raw DEFLATE (the header's DEFLATE flag).
    ///
    /// ```
    /// let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
    /// assert!(session_codec::pack(json.into_bytes(), 1024).is_deflated());
    /// ```
    #[must_use]
    pub fn is_deflated(&self) -> bool {
        self.deflated
    }

    /// The length of the sealed payload's base64url form: the header's data
    /// size (AES-GCM keeps the length; the tag travels in the header).
    ///
    /// ```
    /// assert_eq!(session_codec::pack(vec![0; 22], 0).encoded_len(), 30);
    /// ```
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        encoded_len(self.bytes.len())
    }

    /// The bytes to encrypt.
    ///
    /// ```
    /// assert_eq!(session_codec::pack(b"[]".to_vec(), 0).as_bytes(), b"[]");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Seal step 1 (docs/semantics.md §7 step 7): deflate `json` when
/// `json.len() > compression_threshold` (threshold 0 disables) and the result
/// is strictly shorter; otherwise keep `json` as it is (no copy).
///
/// ```
/// use session_codec::pack;
/// let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
/// assert!(pack(json.clone().into_bytes(), 1024).is_deflated());
/// assert!(!pack(json.into_bytes(), 0).is_deflated());
/// ```
#[must_use]
pub fn pack(json: Vec<u8>, compression_threshold: usize) -> Packed {
    pack_with_level(json, compression_threshold, DeflateLevel::Reference)
}

/// [`pack`] with the deflate stream at `level` (see [`DeflateLevel`]).
///
/// ```
/// use session_codec::{DeflateLevel, pack_with_level};
/// let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
/// assert!(pack_with_level(json.into_bytes(), 1024, DeflateLevel::Fast).is_deflated());
/// ```
#[must_use]
pub fn pack_with_level(json: Vec<u8>, compression_threshold: usize, level: DeflateLevel) -> Packed {
    let packed = should_deflate(json.len(), compression_threshold)
        .then(|| deflate_with_level(&json, level))
        .flatten();
    match packed {
        Some(bytes) => Packed {
            bytes,
            deflated: true,
        },
        None => Packed {
            bytes: json,
            deflated: false,
        },
    }
}

/// A sealed payload: the header (every field filled in), its 82 encoded
/// bytes, and the base64url ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The header, with data size, tag, idling offset (0) and MAC set.
    pub header: Header,
    /// The encoded header bytes.
    pub raw_header: [u8; HEADER_SIZE],
    /// `B64(ciphertext)`: what follows the header in a cookie, or the first
    /// element of a server-side storage record.
    pub payload: String,
}

/// Seal step 2 (docs/semantics.md §7 steps 8–10): set the header's DEFLATE flag from
/// `packed`, encrypt with `cipher_key` (derived from the primary key for the
/// header's session id), MAC the header with the primary key, and encode the
/// ciphertext as base64url.
///
/// `header` supplies flags (bind bits, FORGET, STORAGE), session id,
/// creation time and rolling offset.
///
/// # Errors
///
/// The errors of [`Keyring::seal_with_cipher_key`].
///
/// ```
/// use session_codec::*;
///
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
/// let header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1_700_000_000, 0);
/// let key = derive_cipher_key(&ring, 0, &header.sid, CookieKind::Session)?;
/// let packed = pack(br#"[[{},"default"]]"#.to_vec(), 1024);
/// let sealed = seal_packed(&ring, header, &key, packed, &BindValues::default())?;
/// assert_eq!(sealed.payload.len(), 22);
/// # Ok::<(), Error>(())
/// ```
pub fn seal_packed(
    ring: &Keyring,
    mut header: Header,
    cipher_key: &CipherKey,
    packed: Packed,
    bind: &BindValues<'_>,
) -> Result<Sealed, Error> {
    let Packed {
        bytes: mut buf,
        deflated,
    } = packed;
    header.flags.set(Flags::DEFLATE, deflated);
    let raw_header = ring.seal_with_cipher_key(&mut header, cipher_key, &mut buf, bind)?;
    let mut payload = String::with_capacity(header.data_size as usize);
    b64_encode_into(&buf, &mut payload);
    Ok(Sealed {
        header,
        raw_header,
        payload,
    })
}

/// Seals a JSON plaintext the way the reference's save does: [`pack`], then
/// [`seal_packed`] with the primary key's cipher key for `kind`.
///
/// # Errors
///
/// The errors of [`Keyring::seal_with_cipher_key`].
///
/// ```
/// use session_codec::*;
///
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
/// let header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1_700_000_000, 0);
/// let json = br#"[[{},"default"]]"#.to_vec();
/// let sealed = seal_payload(&ring, header, CookieKind::Session, json, 1024, &BindValues::default()).unwrap();
/// assert_eq!(sealed.payload.len(), 22);
///
/// let opened = open_payload(&ring, &sealed.header, 0, CookieKind::Session, &sealed.payload, MAX_PLAINTEXT_SIZE).unwrap();
/// assert_eq!(opened, br#"[[{},"default"]]"#);
/// ```
pub fn seal_payload(
    ring: &Keyring,
    header: Header,
    kind: CookieKind,
    json: Vec<u8>,
    compression_threshold: usize,
    bind: &BindValues<'_>,
) -> Result<Sealed, Error> {
    let packed = pack(json, compression_threshold);
    let cipher_key = derive_new_cipher_key(ring, &header.sid, kind);
    seal_packed(ring, header, &cipher_key, packed, bind)
}

/// Open step 1: check a base64url payload's length against the header's
/// data size and decode it to the ciphertext.
///
/// # Errors
///
/// [`Error::InvalidPayload`] (wrong length), [`Error::PayloadBase64`].
///
/// ```
/// use session_codec::*;
/// let header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1, 0);
/// assert_eq!(decode_payload(&header, "AAAA"), Err(Error::InvalidPayload));
/// ```
pub fn decode_payload(header: &Header, payload: &str) -> Result<Vec<u8>, Error> {
    if payload.len() != header.data_size as usize {
        return Err(Error::InvalidPayload);
    }
    let mut ciphertext = Vec::new();
    if !b64_decode_into(payload, &mut ciphertext) {
        return Err(Error::PayloadBase64);
    }
    Ok(ciphertext)
}

/// Open step 2: decrypt `ciphertext` in place with `cipher_key` (the header's
/// tag, its first 47 bytes as AAD), then inflate it when the header's DEFLATE
/// flag is set (at most `inflate_limit` bytes; use [`MAX_PLAINTEXT_SIZE`]
/// when nothing smaller is known).
///
/// # Errors
///
/// [`Error::Decrypt`], [`Error::Inflate`], [`Error::InflateLimit`].
///
/// ```
/// use session_codec::*;
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
/// let header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1, 0);
/// let key = derive_cipher_key(&ring, 0, &header.sid, CookieKind::Session)?;
/// assert_eq!(unseal(&header, &key, b"junk".to_vec(), 100), Err(Error::Decrypt));
/// # Ok::<(), Error>(())
/// ```
pub fn unseal(
    header: &Header,
    cipher_key: &CipherKey,
    mut ciphertext: Vec<u8>,
    inflate_limit: usize,
) -> Result<Vec<u8>, Error> {
    Keyring::open_with_cipher_key(header, cipher_key, &mut ciphertext)?;
    if header.flags.contains(Flags::DEFLATE) {
        inflate(&ciphertext, inflate_limit)
    } else {
        Ok(ciphertext)
    }
}

/// Opens a base64url payload: [`decode_payload`], then [`unseal`] with the
/// cipher key of the key at `key_index` for `kind`.
///
/// # Errors
///
/// [`Error::InvalidPayload`], [`Error::PayloadBase64`], [`Error::Decrypt`],
/// [`Error::Inflate`], [`Error::InflateLimit`]; [`Error::InvalidMac`] when
/// `key_index` names no key.
///
/// ```
/// use session_codec::*;
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"secret")));
/// let header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1, 0);
/// assert_eq!(open_payload(&ring, &header, 0, CookieKind::Session, "AAAA", 100), Err(Error::InvalidPayload));
/// ```
pub fn open_payload(
    ring: &Keyring,
    header: &Header,
    key_index: usize,
    kind: CookieKind,
    payload: &str,
    inflate_limit: usize,
) -> Result<Vec<u8>, Error> {
    let ciphertext = decode_payload(header, payload)?;
    let cipher_key = derive_cipher_key(ring, key_index, &header.sid, kind)?;
    unseal(header, &cipher_key, ciphertext, inflate_limit)
}

/// What [`open_cookie`] returns: the opened cookie's header, the key that
/// verified it, and its plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCookie {
    /// The decoded header.
    pub header: Header,
    /// Index of the key whose MAC matched (0 = primary, `n` = fallback `n`).
    pub key_index: usize,
    /// The JSON plaintext (inflated when the cookie was deflated).
    pub plaintext: Vec<u8>,
}

/// Opens a cookie-storage cookie in one call, at the byte level only:
/// header (110 characters, base64url, every field), MAC (primary key then
/// fallbacks, bind values chosen by the cookie's flags), payload reassembly
/// across chunks, then [`open_payload`].
///
/// It does **not** check timeouts or whether the STORAGE flag matches a
/// configuration: that is the engine's job, and the engine runs the same
/// steps one by one with those checks in between.
///
/// `name_len` is the byte length of the cookie name (prefix included);
/// `chunk(i)` returns the value of cookie `NAME{i}`.
///
/// # Errors
///
/// Any header, MAC, chunk, payload, decryption or inflation error.
///
/// ```
/// use session_codec::*;
///
/// let ring = Keyring::new(Key::new(Ikm::from_secret(b"RaJKp8UQW1")));
/// let v1 = "AQAAS3ZGU0k8tUKsWSci9Fb6PM5xbm469FlR5g_B5HWZ6KYGSOZjAAAAAABcAABTCuHjqpE7B6Ux7m4GCylZAAAAzcWnTvzG51whooR_4QQwDgGdMOOa5W7tG4JWiDFU3zuYLFzakWEi-y-ogrwTpnt24zQXP_uJK7r5lMPNzRSMJM9H1a_MIegzEMm-QSgVRaoZVJq3Oo";
/// let opened = open_cookie(&ring, CookieKind::Session, 7, v1, |_| None, &BindValues::default()).unwrap();
/// assert_eq!(opened.plaintext, br#"[[{"quote":"Lorem ipsum dolor sit amet"},"my_application","Lua Fan"]]"#);
/// ```
pub fn open_cookie<'a, F>(
    ring: &Keyring,
    kind: CookieKind,
    name_len: usize,
    first_value: &'a str,
    chunk: F,
    bind: &BindValues<'_>,
) -> Result<OpenedCookie, Error>
where
    F: FnMut(usize) -> Option<&'a str>,
{
    let (header, raw) = Header::decode_base64(first_value)?;
    let key_index = ring.verify_mac(&raw, bind)?;
    let payload = assemble_payload(name_len, header.data_size as usize, first_value, chunk)?;
    let plaintext = open_payload(ring, &header, key_index, kind, &payload, MAX_PLAINTEXT_SIZE)?;
    Ok(OpenedCookie {
        header,
        key_index,
        plaintext,
    })
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // small test indices
mod tests {
    use super::*;
    use crate::{Ikm, Key, KeyDerivation, RememberSafety, SessionId};
    use proptest::prelude::*;

    const SECRET: &[u8] = b"RaJKp8UQW1";
    const NOW: u64 = 1_700_000_000;

    fn ring() -> Keyring {
        Keyring::new(Key::new(Ikm::from_secret(SECRET)))
    }

    fn sid_from(start: u8) -> SessionId {
        SessionId::from_bytes(core::array::from_fn(|i| start.wrapping_add(i as u8)))
    }

    /// Opens a one-chunk session cookie without bind values.
    fn open_session(ring: &Keyring, value: &str) -> Result<OpenedCookie, Error> {
        open_cookie(
            ring,
            CookieKind::Session,
            7,
            value,
            |_| None,
            &BindValues::default(),
        )
    }

    fn cookie_value(set_cookie: &str) -> &str {
        let v = set_cookie.split_once('=').unwrap().1;
        v.split_once(';').map_or(v, |(v, _)| v)
    }

    const V1_PLAIN: &str =
        r#"[[{"quote":"Lorem ipsum dolor sit amet"},"my_application","Lua Fan"]]"#;
    const V2: &str = "session=AQAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAABcAADOtWf5dh5IOXTnkBE0SSCVAAAAZ6V44YlPteDyox0GJJJRNQDfMi66OQ9aaRSFj6oEgWCJVaFudikYE3w8VukF5PZiYd_FsRP1tViI5o2QiUgdxaYh9PwWdrVqlMHjCDZSNy-3j5QCF3; Path=/; SameSite=Lax; HttpOnly";
    const V2T: &str = "session=AQAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAABcAADOtWf5dh5IOXTnkBE0SSCVZAAA_6TGo2TFdHZxzOid1uANZgDfMi66OQ9aaRSFj6oEgWCJVaFudikYE3w8VukF5PZiYd_FsRP1tViI5o2QiUgdxaYh9PwWdrVqlMHjCDZSNy-3j5QCF3; Path=/; SameSite=Lax; HttpOnly";
    const V3: &str = "session=AQAAYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8A8VNlAAAAAAAWAABnsKdkOymbfHCaxmEhncz5AAAAvqVAjT_OzSp-ZG-Pfzxw6Q4Jls73TXtEqlzhOX7faqTg; Path=/; SameSite=Lax; HttpOnly";
    const V4_REMEMBER: &str = "remember=AQAAYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8A8VNlAAAAAAAfAAAT8I2PSnWzK7Ovrnm6x0t3AAAAuIXkIQTBx0Xhk07nUccNIAHJeRqdsbagzumTupe3nGJdn-V0b6lCw; Path=/; SameSite=Lax; HttpOnly; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Max-Age=604800";
    const V5: &str = "session=ARAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAA2AADBtCh2sWhOhfXZMNig1yNeAAAASjkdIXqU_wW2KmRzm0UYhA3Sb3n5gv1oVGOCjE6YQEeXT4Lqcboi2HoOC3xWZGvCbgeQNZEJ7G9Q; Path=/; SameSite=Lax; HttpOnly";
    const V6: &str = "session=AQAHQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAAWAADoJayEsq-CJd4WlDbbszvBAAAAV88RkSVc1DS8JJM5vlf5lQDfMitP7H_reSCxe0mAU5MA; Path=/; SameSite=Lax; HttpOnly";
    const V8: &str = "session=AQIAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A8VNlAAAAAAAWAADt-eUSt6vUDbBu_qwKCTG_AAAA8cfN6bcT53oIe42qf_PhYA_OX9aF5yqhsSnTecW6DnAA; Path=/; SameSite=Lax; HttpOnly";

    fn reseal(
        kind: CookieKind,
        flags: Flags,
        sid: SessionId,
        json: &str,
        bind: &BindValues<'_>,
    ) -> String {
        reseal_with(&ring(), kind, flags, sid, json, bind)
    }

    /// A one-chunk cookie value sealed with `ring` at `NOW`.
    fn reseal_with(
        ring: &Keyring,
        kind: CookieKind,
        flags: Flags,
        sid: SessionId,
        json: &str,
        bind: &BindValues<'_>,
    ) -> String {
        let header = Header::new(flags, sid, NOW, 0);
        let sealed =
            seal_payload(ring, header, kind, json.as_bytes().to_vec(), 1024, bind).unwrap();
        let mut s = String::new();
        sealed.header.encode_base64_into(&mut s).unwrap();
        s + &sealed.payload
    }

    #[test]
    fn v2_reseals_byte_for_byte() {
        assert_eq!(
            reseal(
                CookieKind::Session,
                Flags::NONE,
                sid_from(0x40),
                V1_PLAIN,
                &BindValues::default()
            ),
            cookie_value(V2)
        );
    }

    #[test]
    fn v2_touched_is_v2_with_new_idling_offset_and_mac() {
        let ring = ring();
        let opened = open_session(&ring, cookie_value(V2)).unwrap();
        let mut header = opened.header;
        header.idling_offset = 100;
        let raw = ring
            .sign(&mut header, opened.key_index, &BindValues::default())
            .unwrap();
        let mut s = crate::b64_encode(&raw);
        s.push_str(&cookie_value(V2)[110..]);
        assert_eq!(s, cookie_value(V2T));
    }

    #[test]
    fn v3_empty_session_reseals() {
        assert_eq!(
            reseal(
                CookieKind::Session,
                Flags::NONE,
                sid_from(0x60),
                r#"[[{},"default"]]"#,
                &BindValues::default()
            ),
            cookie_value(V3)
        );
    }

    #[test]
    fn v4_remember_low_reseals_and_opens() {
        let kind = CookieKind::Remember(RememberSafety::Low);
        let json = r#"[[{},"default","john"]]"#;
        assert_eq!(
            reseal(
                kind,
                Flags::NONE,
                sid_from(0x60),
                json,
                &BindValues::default()
            ),
            cookie_value(V4_REMEMBER)
        );
        let opened = open_cookie(
            &ring(),
            kind,
            8,
            cookie_value(V4_REMEMBER),
            |_| None,
            &BindValues::default(),
        )
        .unwrap();
        assert_eq!(opened.plaintext, json.as_bytes());
        // The session-cookie derivation cannot decrypt it.
        assert_eq!(
            open_cookie(
                &ring(),
                CookieKind::Session,
                8,
                cookie_value(V4_REMEMBER),
                |_| None,
                &BindValues::default()
            )
            .unwrap_err(),
            Error::Decrypt
        );
    }

    #[test]
    fn v5_deflated_cookie_opens() {
        let opened = open_session(&ring(), cookie_value(V5)).unwrap();
        assert!(opened.header.flags.contains(Flags::DEFLATE));
        let expected = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
        assert_eq!(opened.plaintext, expected.as_bytes());
    }

    #[test]
    fn deflate_output_matches_zlib_byte_for_byte() {
        // V5 was compressed by zlib 1.2.13 (level 6, raw): recover those
        // bytes by decrypting without inflating, and compress the plaintext
        // ourselves. Identical output means identical data sizes and chunk
        // counts on both sides, even near the cookie size limit.
        let ring = ring();
        let (header, raw) = Header::decode_base64(cookie_value(V5)).unwrap();
        let index = ring.verify_mac(&raw, &BindValues::default()).unwrap();
        let mut body = crate::b64_decode(&cookie_value(V5)[110..]).unwrap();
        ring.open(&header, index, CookieKind::Session, &mut body)
            .unwrap();
        let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
        assert_eq!(crate::deflate(json.as_bytes()).unwrap(), body);
        // And the whole cookie re-seals from the plaintext alone.
        let resealed = reseal(
            CookieKind::Session,
            Flags::NONE,
            sid_from(0x40),
            &json,
            &BindValues::default(),
        );
        assert_eq!(resealed, cookie_value(V5));
    }

    #[test]
    fn v6_bound_cookie_reseals_and_checks_each_value() {
        let bind = BindValues {
            ip: Some("127.0.0.1"),
            scheme: Some("https"),
            user_agent: Some("curl/8.0"),
        };
        let flags = Flags::BIND_IP | Flags::BIND_SCHEME | Flags::BIND_USER_AGENT;
        assert_eq!(
            reseal(
                CookieKind::Session,
                flags,
                sid_from(0x40),
                r#"[[{},"default"]]"#,
                &bind
            ),
            cookie_value(V6)
        );
        let suffix = bind.suffix(flags).unwrap();
        assert_eq!(
            hex::encode(&suffix[1..]),
            "b23be8e0716c2af4edbcf50046f31421e11ce43b33043ba75feec459fda12bfb"
        );
        for wrong in [
            BindValues {
                ip: Some("127.0.0.2"),
                ..bind
            },
            BindValues {
                scheme: Some("http"),
                ..bind
            },
            BindValues {
                user_agent: None,
                ..bind
            },
        ] {
            assert_eq!(
                open_cookie(
                    &ring(),
                    CookieKind::Session,
                    7,
                    cookie_value(V6),
                    |_| None,
                    &wrong
                )
                .unwrap_err(),
                Error::InvalidMac
            );
        }
        assert!(
            open_cookie(
                &ring(),
                CookieKind::Session,
                7,
                cookie_value(V6),
                |_| None,
                &bind
            )
            .is_ok()
        );
    }

    #[test]
    fn v8_forget_flag_reseals() {
        assert_eq!(
            reseal(
                CookieKind::Session,
                Flags::FORGET,
                sid_from(0x00),
                r#"[[{},"default"]]"#,
                &BindValues::default()
            ),
            cookie_value(V8)
        );
    }

    #[test]
    fn fallback_key_opens_and_reports_its_index() {
        let old = ring();
        let new = Keyring::new(Key::new(Ikm::from_secret(b"new")))
            .with_fallbacks([Key::new(Ikm::from_secret(SECRET))]);
        let value = reseal(
            CookieKind::Session,
            Flags::NONE,
            sid_from(3),
            "[]",
            &BindValues::default(),
        );
        assert_eq!(open_session(&old, &value).unwrap().key_index, 0);
        assert_eq!(open_session(&new, &value).unwrap().key_index, 1);
        let stranger = Keyring::new(Key::new(Ikm::from_secret(b"other")));
        assert_eq!(
            open_session(&stranger, &value).unwrap_err(),
            Error::InvalidMac
        );
    }

    #[test]
    fn one_flipped_bit_anywhere_in_the_header_is_rejected() {
        let value = cookie_value(V2).to_string();
        let (_, raw) = Header::decode_base64(&value).unwrap();
        for byte in 0..HEADER_SIZE {
            for bit in 0..8 {
                let mut bad = raw;
                bad[byte] ^= 1 << bit;
                let v = crate::b64_encode(&bad) + &value[110..];
                let err = open_session(&ring(), &v).unwrap_err();
                let expected = if byte == 0 {
                    Error::InvalidType
                } else {
                    Error::InvalidMac
                };
                assert_eq!(err, expected, "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn tampered_or_truncated_payload_is_rejected() {
        let value = cookie_value(V2).to_string();
        let open = |v: &str| open_session(&ring(), v);
        let mut flipped = value.clone().into_bytes();
        flipped[115] = if flipped[115] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open(std::str::from_utf8(&flipped).unwrap()).unwrap_err(),
            Error::Decrypt
        );
        assert_eq!(open(&value[..100]).unwrap_err(), Error::InvalidHeader);
        // One chunk: the payload is the *last* data-size characters, so a
        // header-only value opens its own tail (92 < 110 here) and fails to
        // decrypt, while a value shorter than header + data size is refused.
        assert_eq!(open(&value[..110]).unwrap_err(), Error::Decrypt);
        assert_eq!(open(&value[..150]).unwrap_err(), Error::Decrypt);
        let long = reseal(
            CookieKind::Session,
            Flags::NONE,
            sid_from(9),
            &"x".repeat(200),
            &BindValues::default(),
        );
        assert_eq!(open(&long[..110]).unwrap_err(), Error::InvalidPayload);
        assert_eq!(open(&value[..value.len() - 1]).unwrap_err(), Error::Decrypt);
        assert_eq!(open(&format!("{value}A")).unwrap_err(), Error::Decrypt);
        let mut bad64 = value.clone();
        bad64.replace_range(112..113, "*");
        assert_eq!(open(&bad64).unwrap_err(), Error::PayloadBase64);
        let mut bad_header = value.clone();
        bad_header.replace_range(0..1, "*");
        assert_eq!(open(&bad_header).unwrap_err(), Error::HeaderBase64);
        assert_eq!(open("").unwrap_err(), Error::InvalidHeader);
    }

    #[test]
    fn oversized_payload_cannot_be_sealed() {
        let header = Header::new(Flags::NONE, sid_from(0), NOW, 0);
        let big = vec![b'a'; crate::MAX_PLAINTEXT_SIZE + 1];
        assert_eq!(
            seal_payload(
                &ring(),
                header,
                CookieKind::Session,
                big,
                0,
                &BindValues::default()
            )
            .unwrap_err(),
            Error::DataSizeLimit
        );
    }

    #[test]
    fn sealing_neither_looks_up_nor_keeps_derived_keys() {
        let ring = ring();
        let sid = sid_from(0x60);
        let mut header = Header::new(Flags::NONE, sid, 1_700_000_000, 0);
        let mut buf = b"[]".to_vec();
        ring.seal(
            &mut header,
            CookieKind::Session,
            &mut buf,
            &BindValues::default(),
        )
        .unwrap();
        seal_payload(
            &ring,
            Header::new(Flags::NONE, sid, 1_700_000_000, 0),
            CookieKind::Session,
            b"[]".to_vec(),
            usize::MAX,
            &BindValues::default(),
        )
        .unwrap();
        let new = derive_new_cipher_key(&ring, &sid, CookieKind::Session);
        assert_eq!(
            ring.primary().keeps(&sid, KeyDerivation::Hkdf),
            (false, false)
        );
        // The same key material as the derivation that keeps it.
        let kept = derive_cipher_key(&ring, 0, &sid, CookieKind::Session).unwrap();
        assert_eq!((new.aes_key(), new.iv()), (kept.aes_key(), kept.iv()));
    }

    #[test]
    fn reopening_uses_the_kept_keys_and_gives_the_same_results() {
        let ring = ring();
        let key = ring.primary();
        let v2 = cookie_value(V2);
        let sid = sid_from(0x40);
        assert_eq!(key.keeps(&sid, KeyDerivation::Hkdf), (false, false));
        let first = open_session(&ring, v2).unwrap();
        // The MAC matched: its state is kept, and the cipher key beside it.
        assert_eq!(key.keeps(&sid, KeyDerivation::Hkdf), (true, true));
        for _ in 0..3 {
            let again = open_session(&ring, v2).unwrap();
            assert_eq!(again.plaintext, first.plaintext);
            assert_eq!(again.key_index, 0);
        }
        // Re-sealing from the kept keys is still byte-identical to the reference.
        assert_eq!(
            reseal_with(
                &ring,
                CookieKind::Session,
                Flags::NONE,
                sid,
                V1_PLAIN,
                &BindValues::default()
            ),
            v2
        );
        // A clone of the ring shares what the key keeps.
        assert_eq!(
            ring.clone().primary().keeps(&sid, KeyDerivation::Hkdf),
            (true, true)
        );
        // A FIPS ring over the same key never uses the HKDF entries.
        let fips = ring.clone().with_derivation(KeyDerivation::Fips);
        assert_eq!(open_session(&fips, v2).unwrap_err(), Error::InvalidMac);
    }

    #[test]
    fn a_verified_header_is_remembered_byte_for_byte_and_only_unbound() {
        let ring = ring();
        let key = ring.primary();
        let sid = sid_from(0x40);
        let v2 = cookie_value(V2);
        let (_, bytes) = Header::decode_base64(v2).unwrap();
        assert!(!key.verified_header(&sid, KeyDerivation::Hkdf, &bytes));
        let first = open_session(&ring, v2).unwrap();
        assert!(key.verified_header(&sid, KeyDerivation::Hkdf, &bytes));
        assert_eq!(open_session(&ring, v2).unwrap().plaintext, first.plaintext);
        // Any other header of the same session still has its MAC checked: one character of
        // the MAC (characters 88..110), of the creation time (47..54), of the flags (1..4).
        for at in [100, 50, 2] {
            let mut forged = v2.to_owned();
            let c = if &forged[at..=at] == "A" { "B" } else { "A" };
            forged.replace_range(at..=at, c);
            assert_eq!(
                open_session(&ring, &forged).unwrap_err(),
                Error::InvalidMac,
                "{at}"
            );
        }
        assert_eq!(open_session(&ring, v2).unwrap().plaintext, first.plaintext);

        // A header bound to the request (V6: address, scheme, user agent) is never taken
        // as verified: the same bytes from another address fail every time.
        let v6 = cookie_value(V6);
        let (_, bound) = Header::decode_base64(v6).unwrap();
        let bind = BindValues {
            ip: Some("127.0.0.1"),
            scheme: Some("https"),
            user_agent: Some("curl/8.0"),
        };
        let other = BindValues {
            ip: Some("127.0.0.2"),
            ..bind
        };
        let open_bound =
            |bind: &BindValues<'_>| open_cookie(&ring, CookieKind::Session, 7, v6, |_| None, bind);
        for _ in 0..2 {
            assert!(open_bound(&bind).is_ok());
            assert_eq!(open_bound(&other).unwrap_err(), Error::InvalidMac);
        }
        assert!(!key.verified_header(&sid, KeyDerivation::Hkdf, &bound));
    }

    #[test]
    fn a_forged_cookie_keeps_nothing() {
        let ring = ring();
        let sid = sid_from(0x40);
        let v2 = cookie_value(V2);
        // Flip one character of the MAC (header bytes 66..82: characters 88..110).
        let mut forged = v2.to_owned();
        let c = if &forged[100..101] == "A" { "B" } else { "A" };
        forged.replace_range(100..101, c);
        assert_eq!(open_session(&ring, &forged).unwrap_err(), Error::InvalidMac);
        assert_eq!(
            ring.primary().keeps(&sid, KeyDerivation::Hkdf),
            (false, false)
        );
        // Deriving a cipher key for a session without a verified entry keeps nothing either.
        let _ = derive_cipher_key(&ring, 0, &sid, CookieKind::Session).unwrap();
        assert_eq!(
            ring.primary().keeps(&sid, KeyDerivation::Hkdf),
            (false, false)
        );
        // The genuine cookie still opens, and its keys are kept from then on.
        open_session(&ring, v2).unwrap();
        assert_eq!(
            ring.primary().keeps(&sid, KeyDerivation::Hkdf),
            (true, true)
        );
    }

    #[test]
    fn a_fallback_key_keeps_its_own_entries() {
        let old = Key::new(Ikm::from_secret(SECRET));
        let ring = Keyring::new(Key::new(Ikm::from_secret(b"new"))).with_fallbacks([old]);
        let sid = sid_from(0x40);
        assert_eq!(open_session(&ring, cookie_value(V2)).unwrap().key_index, 1);
        assert_eq!(
            ring.primary().keeps(&sid, KeyDerivation::Hkdf),
            (false, false)
        );
        assert_eq!(
            ring.get(1).unwrap().keeps(&sid, KeyDerivation::Hkdf),
            (true, true)
        );
        assert_eq!(open_session(&ring, cookie_value(V2)).unwrap().key_index, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn kept_keys_agree_with_fresh_derivations(
            sids in proptest::collection::vec((0u8..4, any::<[u8; 30]>()), 1..24),
            bind_ip in proptest::option::of("[0-9.]{1,15}"),
        ) {
            // Session ids drawn from four slots, so entries evict each other; every cookie
            // sealed and reopened through the shared key must equal what a key with
            // nothing kept produces, and must open there too.
            let ring = ring();
            let bind = BindValues { ip: bind_ip.as_deref(), ..BindValues::default() };
            let flags = if bind_ip.is_some() { Flags::BIND_IP } else { Flags::NONE };
            for (slot, rest) in &sids {
                let mut bytes = [0u8; 32];
                bytes[0] = *slot;
                bytes[2..].copy_from_slice(rest);
                let sid = SessionId::from_bytes(bytes);
                let cookie = reseal_with(&ring, CookieKind::Session, flags, sid, V1_PLAIN, &bind);
                prop_assert_eq!(&cookie, &reseal_with(&super::tests::ring(), CookieKind::Session, flags, sid, V1_PLAIN, &bind));
                for _ in 0..2 {
                    let opened = open_cookie(&ring, CookieKind::Session, 7, &cookie, |_| None, &bind).unwrap();
                    prop_assert_eq!(opened.plaintext.as_slice(), V1_PLAIN.as_bytes());
                }
                let fresh = open_cookie(&super::tests::ring(), CookieKind::Session, 7, &cookie, |_| None, &bind).unwrap();
                prop_assert_eq!(fresh.plaintext.as_slice(), V1_PLAIN.as_bytes());
            }
        }
        #[test]
        fn seal_then_open_is_identity(
            json in proptest::collection::vec(any::<u8>(), 0..3000),
            threshold in prop::sample::select(vec![0usize, 1, 1024]),
            sid in any::<[u8; 32]>(),
            ct in 0u64..(1 << 40),
            ro in any::<u32>(),
            bits in any::<u16>(),
        ) {
            let ring = ring();
            let header = Header::new(Flags::from_bits(bits), SessionId::from_bytes(sid), ct, ro);
            let bind = BindValues { ip: Some("10.0.0.1"), scheme: Some("https"), user_agent: Some("ua") };
            let sealed = seal_payload(&ring, header, CookieKind::Session, json.clone(), threshold, &bind).unwrap();
            let mut value = String::new();
            sealed.header.encode_base64_into(&mut value).unwrap();
            value.push_str(&sealed.payload);
            let parts = crate::split_payload(7, &sealed.payload);
            let opened = match parts {
                Ok(parts) if parts.len() > 1 => {
                    let mut first = value[..110].to_string();
                    first.push_str(parts[0]);
                    open_cookie(&ring, CookieKind::Session, 7, &first, |i| parts.get(i - 1).copied(), &bind).unwrap()
                }
                _ => open_cookie(&ring, CookieKind::Session, 7, &value, |_| None, &bind).unwrap(),
            };
            prop_assert_eq!(opened.plaintext, json);
            prop_assert_eq!(opened.header.creation_time, ct);
            prop_assert_eq!(opened.header.rolling_offset, ro);
        }

        #[test]
        fn arbitrary_cookie_values_never_panic(value in "[A-Za-z0-9_=-]{0,400}") {
            let _ = open_cookie(&ring(), CookieKind::Session, 7, &value, |_| Some("AAAA"), &BindValues::default());
        }
    }
}
