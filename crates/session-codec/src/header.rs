//! The 82-byte binary header (docs/cookie-format.md §3) and its flags (docs/cookie-format.md §4).

use core::fmt;

use crate::b64::{b64_decode_slice, b64_encode_into};
use crate::error::Error;

/// Size of the binary header in bytes.
pub const HEADER_SIZE: usize = 82;
/// Size of the base64url-encoded header in characters.
pub const HEADER_ENCODED_SIZE: usize = 110;
/// The only defined header type.
pub const HEADER_TYPE: u8 = 1;
/// Number of header bytes covered by the AES-GCM additional data.
pub const AAD_SIZE: usize = 47;
/// Number of header bytes covered by the MAC (everything before it).
pub const MAC_INPUT_SIZE: usize = 66;
/// Largest creation time the 5-byte field holds (2^40 − 1).
pub const MAX_CREATION_TIME: u64 = (1 << 40) - 1;
/// Largest rolling offset the 4-byte field holds (2^32 − 1).
pub const MAX_ROLLING_OFFSET: u64 = u32::MAX as u64;
/// Largest data size the 3-byte field holds (2^24 − 1).
pub const MAX_DATA_SIZE: u32 = (1 << 24) - 1;
/// Largest idling offset the 3-byte field holds (2^24 − 1, about 194 days).
pub const MAX_IDLING_OFFSET: u32 = (1 << 24) - 1;

/// The header's flag bits (a little-endian `u16` at offset 1).
///
/// Unknown bits are kept as read, so a decoded header re-encodes to the same
/// bytes; the engine writes only the bits it defines.
///
/// ```
/// use session_codec::Flags;
///
/// let flags = Flags::STORAGE | Flags::DEFLATE;
/// assert!(flags.contains(Flags::DEFLATE));
/// assert!(!flags.contains(Flags::FORGET));
/// assert_eq!(flags.bits(), 0x0011);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    /// No flag set.
    pub const NONE: Flags = Flags(0);
    /// The payload lives in server-side storage.
    pub const STORAGE: Flags = Flags(0x0001);
    /// `set_remember(false)` was called: no remember cookie.
    pub const FORGET: Flags = Flags(0x0002);
    /// The plaintext is raw-DEFLATE compressed.
    pub const DEFLATE: Flags = Flags(0x0010);
    /// The client IP address is bound into the MAC.
    pub const BIND_IP: Flags = Flags(0x0100);
    /// The request scheme is bound into the MAC.
    pub const BIND_SCHEME: Flags = Flags(0x0200);
    /// The User-Agent header is bound into the MAC.
    pub const BIND_USER_AGENT: Flags = Flags(0x0400);

    /// Whether any `BIND_*` flag is set: the header MAC then also covers the request's
    /// address, scheme or user agent, so it is not a function of the header alone.
    ///
    /// ```
    /// use session_codec::Flags;
    /// assert!((Flags::STORAGE | Flags::BIND_SCHEME).binds_request());
    /// assert!(!(Flags::STORAGE | Flags::DEFLATE).binds_request());
    /// ```
    #[must_use]
    pub const fn binds_request(self) -> bool {
        self.0 & (Self::BIND_IP.0 | Self::BIND_SCHEME.0 | Self::BIND_USER_AGENT.0) != 0
    }

    /// Flags from their raw bits (unknown bits are kept).
    ///
    /// ```
    /// assert_eq!(session_codec::Flags::from_bits(0x0700).bits(), 0x0700);
    /// ```
    #[must_use]
    pub const fn from_bits(bits: u16) -> Flags {
        Flags(bits)
    }

    /// The raw bits.
    ///
    /// ```
    /// assert_eq!(session_codec::Flags::FORGET.bits(), 2);
    /// ```
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every bit of `other` is set.
    ///
    /// ```
    /// use session_codec::Flags;
    /// assert!((Flags::BIND_IP | Flags::BIND_SCHEME).contains(Flags::BIND_IP));
    /// ```
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets or clears the bits of `other`.
    ///
    /// ```
    /// use session_codec::Flags;
    /// let mut f = Flags::NONE;
    /// f.set(Flags::FORGET, true);
    /// assert_eq!(f, Flags::FORGET);
    /// f.set(Flags::FORGET, false);
    /// assert_eq!(f, Flags::NONE);
    /// ```
    pub fn set(&mut self, other: Flags, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }

    /// The names of the defined bits that are set, in bit order (the
    /// `flag_names` of the shared vectors).
    ///
    /// ```
    /// use session_codec::Flags;
    /// assert_eq!((Flags::STORAGE | Flags::BIND_IP).names(), vec!["STORAGE", "BIND_IP"]);
    /// ```
    #[must_use]
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(Flags, &str); 6] = [
            (Flags::STORAGE, "STORAGE"),
            (Flags::FORGET, "FORGET"),
            (Flags::DEFLATE, "DEFLATE"),
            (Flags::BIND_IP, "BIND_IP"),
            (Flags::BIND_SCHEME, "BIND_SCHEME"),
            (Flags::BIND_USER_AGENT, "BIND_USER_AGENT"),
        ];
        NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#06x} {:?})", self.0, self.names())
    }
}

/// A 32-byte session id: random, new on every save, and the nonce of every
/// per-session key derivation.
///
/// `Debug` shows only a short prefix of its base64url form, so ids do not end
/// up whole in logs; [`SessionId::to_base64`] gives the full 43-character form
/// (the `id` property and the unhashed storage key).
///
/// ```
/// use session_codec::SessionId;
///
/// let sid = SessionId::from_bytes([0x40; 32]);
/// assert_eq!(sid.to_base64().len(), 43);
/// assert_eq!(format!("{sid:?}"), "SessionId(QEBAQEBA…)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// Size of a session id in bytes.
    pub const LEN: usize = 32;

    /// A session id from its raw bytes.
    ///
    /// ```
    /// let sid = session_codec::SessionId::from_bytes([7; 32]);
    /// assert_eq!(sid.as_bytes(), &[7; 32]);
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> SessionId {
        SessionId(bytes)
    }

    /// The raw bytes.
    ///
    /// ```
    /// assert_eq!(session_codec::SessionId::from_bytes([1; 32]).as_bytes()[0], 1);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 43-character base64url form.
    ///
    /// ```
    /// let sid = session_codec::SessionId::from_bytes(core::array::from_fn(|i| 0x40 + i as u8));
    /// assert_eq!(sid.to_base64(), "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8");
    /// ```
    #[must_use]
    pub fn to_base64(&self) -> String {
        let mut s = String::with_capacity(43);
        b64_encode_into(&self.0, &mut s);
        s
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b64 = self.to_base64();
        write!(f, "SessionId({}…)", &b64[..8])
    }
}

/// The 82-byte session header, every field decoded.
///
/// | offset | size | field |
/// |-------:|-----:|-------|
/// | 0  | 1  | type (always 1) |
/// | 1  | 2  | flags |
/// | 3  | 32 | session id |
/// | 35 | 5  | creation time |
/// | 40 | 4  | rolling offset |
/// | 44 | 3  | data size (base64url characters of the payload) |
/// | 47 | 16 | AES-256-GCM tag |
/// | 63 | 3  | idling offset |
/// | 66 | 16 | MAC |
///
/// ```
/// use session_codec::{Flags, Header, SessionId};
///
/// let mut header = Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), 1_700_000_000, 0);
/// header.data_size = 22;
/// let bytes = header.encode().unwrap();
/// assert_eq!(bytes.len(), 82);
/// assert_eq!(Header::decode(&bytes).unwrap(), header);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Flag bits.
    pub flags: Flags,
    /// Session id.
    pub sid: SessionId,
    /// Unix time (seconds) when the session was first created (40 bits).
    pub creation_time: u64,
    /// Seconds from creation to the save that wrote this header.
    pub rolling_offset: u32,
    /// Number of base64url characters of the payload (24 bits).
    pub data_size: u32,
    /// AES-256-GCM authentication tag.
    pub tag: [u8; 16],
    /// Seconds from (creation + rolling offset) to the last touch (24 bits).
    pub idling_offset: u32,
    /// First 16 bytes of the HMAC-SHA256 over bytes 0..66 (plus bind suffix).
    pub mac: [u8; 16],
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("flags", &self.flags)
            .field("sid", &self.sid)
            .field("creation_time", &self.creation_time)
            .field("rolling_offset", &self.rolling_offset)
            .field("data_size", &self.data_size)
            .field("idling_offset", &self.idling_offset)
            .finish_non_exhaustive()
    }
}

/// Reads fixed-size fields off a byte slice; a short field is reported with
/// that field's error (the reference reads field by field).
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self, err: Error) -> Result<[u8; N], Error> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or(err)?;
        self.bytes = rest;
        Ok(*head)
    }
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Writes the low `out.len()` bytes of `v`, little-endian (callers check the
/// field width first).
fn put_le(out: &mut [u8], v: u64) {
    let n = out.len();
    out.copy_from_slice(&v.to_le_bytes()[..n]);
}

impl Header {
    /// A header for a new save: the given fields, everything else zero.
    ///
    /// ```
    /// use session_codec::{Flags, Header, SessionId};
    /// let h = Header::new(Flags::FORGET, SessionId::from_bytes([0; 32]), 5, 1);
    /// assert_eq!((h.data_size, h.idling_offset, h.tag, h.mac), (0, 0, [0; 16], [0; 16]));
    /// ```
    #[must_use]
    pub const fn new(
        flags: Flags,
        sid: SessionId,
        creation_time: u64,
        rolling_offset: u32,
    ) -> Header {
        Header {
            flags,
            sid,
            creation_time,
            rolling_offset,
            data_size: 0,
            tag: [0; 16],
            idling_offset: 0,
            mac: [0; 16],
        }
    }

    /// Encodes the header into its 82 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::CreationTimeLimit`], [`Error::DataSizeLimit`] or
    /// [`Error::IdlingOffsetLimit`] when a field does not fit its width (the
    /// reference would silently truncate it).
    ///
    /// ```
    /// use session_codec::{Error, Flags, Header, SessionId};
    /// let mut h = Header::new(Flags::NONE, SessionId::from_bytes([0; 32]), 1 << 40, 0);
    /// assert_eq!(h.encode(), Err(Error::CreationTimeLimit));
    /// h.creation_time = 1;
    /// assert_eq!(h.encode().unwrap()[0], 1);
    /// ```
    pub fn encode(&self) -> Result<[u8; HEADER_SIZE], Error> {
        if self.creation_time > MAX_CREATION_TIME {
            return Err(Error::CreationTimeLimit);
        }
        if self.data_size > MAX_DATA_SIZE {
            return Err(Error::DataSizeLimit);
        }
        if self.idling_offset > MAX_IDLING_OFFSET {
            return Err(Error::IdlingOffsetLimit);
        }
        let mut out = [0u8; HEADER_SIZE];
        out[0] = HEADER_TYPE;
        out[1..3].copy_from_slice(&self.flags.bits().to_le_bytes());
        out[3..35].copy_from_slice(self.sid.as_bytes());
        put_le(&mut out[35..40], self.creation_time);
        out[40..44].copy_from_slice(&self.rolling_offset.to_le_bytes());
        put_le(&mut out[44..47], u64::from(self.data_size));
        out[47..63].copy_from_slice(&self.tag);
        put_le(&mut out[63..66], u64::from(self.idling_offset));
        out[66..82].copy_from_slice(&self.mac);
        Ok(out)
    }

    /// Encodes the header and appends its 110-character base64url form to `out`.
    ///
    /// # Errors
    ///
    /// As [`Header::encode`].
    ///
    /// ```
    /// use session_codec::{Flags, Header, SessionId};
    /// let mut s = String::new();
    /// Header::new(Flags::NONE, SessionId::from_bytes([0; 32]), 1, 0).encode_base64_into(&mut s).unwrap();
    /// assert_eq!(s.len(), 110);
    /// ```
    pub fn encode_base64_into(&self, out: &mut String) -> Result<(), Error> {
        b64_encode_into(&self.encode()?, out);
        Ok(())
    }

    /// Decodes the header from its bytes, strictly.
    ///
    /// Fields are read in order; a field with fewer bytes left than its size
    /// fails with that field's error (as the reference does when a `=` in the
    /// cookie shortened the decoded header). More than 82 bytes, or a type
    /// other than 1, is an error. Flag bits are not validated here: whether
    /// STORAGE matches the configuration is the engine's decision.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHeader`] (more than 82 bytes), [`Error::InvalidType`],
    /// or the truncated field's error ([`Error::InvalidFlags`] …
    /// [`Error::InvalidMac`]).
    ///
    /// ```
    /// use session_codec::{Error, Header};
    /// assert_eq!(Header::decode(&[1, 0]), Err(Error::InvalidFlags));
    /// assert_eq!(Header::decode(&[1; 81]), Err(Error::InvalidMac));
    /// assert_eq!(Header::decode(&[1; 83]), Err(Error::InvalidHeader));
    /// assert!(Header::decode(&[1; 82]).is_ok());
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Header, Error> {
        if bytes.len() > HEADER_SIZE {
            return Err(Error::InvalidHeader);
        }
        let mut r = Reader { bytes };
        let [ty] = r.take::<1>(Error::InvalidType)?;
        if ty != HEADER_TYPE {
            return Err(Error::InvalidType);
        }
        let flags = Flags(u16::from_le_bytes(r.take::<2>(Error::InvalidFlags)?));
        let sid = SessionId(r.take::<32>(Error::InvalidSessionId)?);
        let creation_time = le(&r.take::<5>(Error::InvalidCreationTime)?);
        let rolling_offset = u32::from_le_bytes(r.take::<4>(Error::InvalidRollingOffset)?);
        let data_size = u32::from_le_bytes(pad4(r.take::<3>(Error::InvalidDataSize)?));
        let tag = r.take::<16>(Error::InvalidTag)?;
        let idling_offset = u32::from_le_bytes(pad4(r.take::<3>(Error::InvalidIdlingOffset)?));
        let mac = r.take::<16>(Error::InvalidMac)?;
        Ok(Header {
            flags,
            sid,
            creation_time,
            rolling_offset,
            data_size,
            tag,
            idling_offset,
            mac,
        })
    }

    /// Decodes the header from the start of a cookie value: the first 110
    /// characters, base64url-decoded, then [`Header::decode`].
    ///
    /// Returns the raw header bytes too (the MAC is verified over them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHeader`] when the value has fewer than 110 characters,
    /// [`Error::HeaderBase64`] when they are not base64url, then the errors of
    /// [`Header::decode`].
    ///
    /// ```
    /// use session_codec::{Error, Header};
    /// assert_eq!(Header::decode_base64("AQAA").unwrap_err(), Error::InvalidHeader);
    /// let bad = "*".repeat(110);
    /// assert_eq!(Header::decode_base64(&bad).unwrap_err(), Error::HeaderBase64);
    /// ```
    pub fn decode_base64(cookie_value: &str) -> Result<(Header, [u8; HEADER_SIZE]), Error> {
        let encoded = cookie_value
            .as_bytes()
            .get(..HEADER_ENCODED_SIZE)
            .ok_or(Error::InvalidHeader)?;
        let mut raw = [0u8; HEADER_SIZE + 1];
        let n = b64_decode_slice(encoded, &mut raw).ok_or(Error::HeaderBase64)?;
        let header = Header::decode(&raw[..n])?;
        let mut bytes = [0u8; HEADER_SIZE];
        bytes.copy_from_slice(&raw[..HEADER_SIZE]);
        Ok((header, bytes))
    }
}

fn pad4(b: [u8; 3]) -> [u8; 4] {
    [b[0], b[1], b[2], 0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V1_HEADER: &str = "0100004b764653493cb542ac592722f456fa3cce716e6e3af45951e60fc1e47599e8a60648e66300000000005c0000530ae1e3aa913b07a531ee6e060b2959000000cdc5a74efcc6e75c21a2847fe104300e";

    #[test]
    fn decodes_v1_header_fields() {
        let bytes = hex::decode(V1_HEADER).unwrap();
        let h = Header::decode(&bytes).unwrap();
        assert_eq!(h.flags, Flags::NONE);
        assert_eq!(
            hex::encode(h.sid.as_bytes()),
            "4b764653493cb542ac592722f456fa3cce716e6e3af45951e60fc1e47599e8a6"
        );
        assert_eq!(h.creation_time, 1_676_036_102);
        assert_eq!(h.rolling_offset, 0);
        assert_eq!(h.data_size, 92);
        assert_eq!(h.idling_offset, 0);
        assert_eq!(h.encode().unwrap().to_vec(), bytes);
    }

    #[test]
    fn decode_base64_of_v1_cookie() {
        let cookie = "AQAAS3ZGU0k8tUKsWSci9Fb6PM5xbm469FlR5g_B5HWZ6KYGSOZjAAAAAABcAABTCuHjqpE7B6Ux7m4GCylZAAAAzcWnTvzG51whooR_4QQwDgGdMOOa5W7tG4JWiDFU3zuYLFzakWEi-y-ogrwTpnt24zQXP_uJK7r5lMPNzRSMJM9H1a_MIegzEMm-QSgVRaoZVJq3Oo";
        let (h, raw) = Header::decode_base64(cookie).unwrap();
        assert_eq!(hex::encode(raw), V1_HEADER);
        assert_eq!(h.data_size, 92);
    }

    #[test]
    fn short_header_reports_the_truncated_field() {
        let full = [1u8; HEADER_SIZE];
        let cases = [
            (0, Error::InvalidType),
            (1, Error::InvalidFlags),
            (2, Error::InvalidFlags),
            (3, Error::InvalidSessionId),
            (34, Error::InvalidSessionId),
            (35, Error::InvalidCreationTime),
            (40, Error::InvalidRollingOffset),
            (44, Error::InvalidDataSize),
            (47, Error::InvalidTag),
            (63, Error::InvalidIdlingOffset),
            (66, Error::InvalidMac),
            (81, Error::InvalidMac),
        ];
        for (len, err) in cases {
            assert_eq!(Header::decode(&full[..len]), Err(err), "length {len}");
        }
    }

    #[test]
    fn padding_inside_the_header_gives_a_field_error_not_a_base64_error() {
        // docs/cookie-format.md §2: a `=` inside the first 110 characters shortens the header.
        let mut value = "AQAA".to_string() + &"A".repeat(100);
        value.push_str("==AAAA");
        assert_eq!(
            Header::decode_base64(&value).unwrap_err(),
            Error::InvalidMac
        );
    }

    #[test]
    fn wrong_type_is_rejected() {
        let mut bytes = [0u8; HEADER_SIZE];
        bytes[0] = 2;
        assert_eq!(Header::decode(&bytes), Err(Error::InvalidType));
    }

    #[test]
    fn unknown_flag_bits_are_kept() {
        let mut bytes = [0u8; HEADER_SIZE];
        bytes[0] = 1;
        bytes[1] = 0xff;
        bytes[2] = 0xff;
        let h = Header::decode(&bytes).unwrap();
        assert_eq!(h.flags.bits(), 0xffff);
        assert_eq!(h.encode().unwrap(), bytes);
    }

    #[test]
    fn encode_enforces_field_widths() {
        let mut h = Header::new(
            Flags::NONE,
            SessionId::from_bytes([0; 32]),
            MAX_CREATION_TIME,
            u32::MAX,
        );
        h.data_size = MAX_DATA_SIZE;
        h.idling_offset = MAX_IDLING_OFFSET;
        let bytes = h.encode().unwrap();
        assert_eq!(Header::decode(&bytes).unwrap(), h);
        h.data_size += 1;
        assert_eq!(h.encode(), Err(Error::DataSizeLimit));
        h.data_size = 0;
        h.idling_offset += 1;
        assert_eq!(h.encode(), Err(Error::IdlingOffsetLimit));
    }

    #[test]
    fn debug_does_not_print_tag_mac_or_whole_sid() {
        let h = Header::new(Flags::NONE, SessionId::from_bytes([0xab; 32]), 1, 0);
        let s = format!("{h:?}");
        assert!(!s.contains("tag"));
        assert!(!s.contains(&h.sid.to_base64()));
    }

    fn arb_header() -> impl Strategy<Value = Header> {
        (
            any::<u16>(),
            any::<[u8; 32]>(),
            0..=MAX_CREATION_TIME,
            any::<u32>(),
            0..=MAX_DATA_SIZE,
            any::<[u8; 16]>(),
            0..=MAX_IDLING_OFFSET,
            any::<[u8; 16]>(),
        )
            .prop_map(|(f, sid, ct, ro, ds, tag, io, mac)| Header {
                flags: Flags::from_bits(f),
                sid: SessionId::from_bytes(sid),
                creation_time: ct,
                rolling_offset: ro,
                data_size: ds,
                tag,
                idling_offset: io,
                mac,
            })
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(h in arb_header()) {
            let bytes = h.encode().unwrap();
            prop_assert_eq!(Header::decode(&bytes).unwrap(), h);
            let mut s = String::new();
            h.encode_base64_into(&mut s).unwrap();
            prop_assert_eq!(s.len(), HEADER_ENCODED_SIZE);
            let (back, raw) = Header::decode_base64(&s).unwrap();
            prop_assert_eq!(back, h);
            prop_assert_eq!(raw, bytes);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Header::decode(&bytes);
        }

        #[test]
        fn decode_base64_never_panics(s in "[A-Za-z0-9_=*-]{0,130}") {
            let _ = Header::decode_base64(&s);
        }

        #[test]
        fn one_flipped_type_bit_is_rejected(h in arb_header(), bit in 0u8..8) {
            let mut bytes = h.encode().unwrap();
            bytes[0] ^= 1 << bit;
            prop_assert_eq!(Header::decode(&bytes), Err(Error::InvalidType));
        }
    }
}
