//! The lua-resty-session 4.x wire format, byte for byte.
//!
//! This crate is the bottom layer of the `session` workspace: pure functions
//! and small value types, no I/O, no async and no configuration struct. It
//! knows how a session cookie is laid out and protected, and nothing about
//! HTTP, timeouts policy or storage. Everything the interop vectors check at
//! byte level lives here:
//!
//! - the 82-byte [`Header`] (encode, strict decode naming the bad field) and
//!   its [`Flags`];
//! - unpadded base64url with the reference's decoding tolerance
//!   ([`b64_encode`], [`b64_decode`]);
//! - the key schedule: [`Ikm`] from a secret or raw bytes, [`Key`] with its
//!   HKDF-extract cached, [`Keyring`] with fallback keys, per-session
//!   HKDF-expand or PBKDF2 at a [`RememberSafety`] level, the FIPS variant
//!   ([`KeyDerivation`]);
//! - AES-256-GCM with the header prefix as AAD and the truncated HMAC-SHA256
//!   header MAC with optional [`BindValues`], compared in constant time;
//! - raw DEFLATE with a hard output bound ([`deflate`], [`inflate`]);
//! - the cookie chunk plan ([`chunk_count`], [`split_payload`],
//!   [`assemble_payload`]);
//! - the seal / open pipeline as named steps ([`pack`], [`seal_packed`],
//!   [`decode_payload`], [`unseal`]), which the session engine runs, and the
//!   same steps chained in one call ([`seal_payload`], [`open_payload`],
//!   [`open_cookie`]);
//! - the server-side storage record `[payload, info]`
//!   ([`parse_stored_record`], [`encode_stored_record`]);
//! - [`hash_storage_key`] and [`hash_subject`].
//!
//! Errors are one [`Error`] enum (plus [`RecordError`] for storage records)
//! whose messages are the reference's reasons.
//! Key material is zeroized on drop and never printed by `Debug`.
//!
//! # Example
//!
//! Seal a session payload, build the cookie value, and open it again:
//!
//! ```
//! use session_codec::*;
//!
//! let ring = Keyring::new(Key::new(Ikm::from_secret(b"RaJKp8UQW1")));
//! let sid = SessionId::from_bytes([0x40; 32]);
//! let header = Header::new(Flags::NONE, sid, 1_700_000_000, 0);
//! let json = br#"[[{"quote":"Lorem ipsum"},"default","Lua Fan"]]"#;
//!
//! let sealed = seal_payload(&ring, header, CookieKind::Session, json.to_vec(), 1024, &BindValues::default())?;
//! let mut cookie = String::new();
//! sealed.header.encode_base64_into(&mut cookie)?;
//! cookie.push_str(&sealed.payload);
//!
//! let opened = open_cookie(&ring, CookieKind::Session, "session".len(), &cookie, |_| None, &BindValues::default())?;
//! assert_eq!(opened.plaintext, json);
//! assert_eq!(opened.header.creation_time, 1_700_000_000);
//! # Ok::<(), session_codec::Error>(())
//! ```
#![forbid(unsafe_code)]

mod b64;
mod chunk;
mod compress;
mod crypto;
mod ct;
mod derived;
mod error;
mod fast_deflate;
mod hash;
mod header;
mod hmac_sha256;
mod kdf;
mod keys;
mod pipeline;
mod record;

pub use b64::{b64_decode, b64_decode_into, b64_encode, b64_encode_into, decoded_len, encoded_len};
pub use chunk::{
    MAX_COOKIE_SIZE, MAX_COOKIES, MAX_COOKIES_SIZE, assemble_payload, chunk_count, max_data_size,
    split_payload,
};
pub use compress::{
    DEFAULT_COMPRESSION_THRESHOLD, DeflateLevel, MAX_PLAINTEXT_SIZE, deflate, deflate_with_level,
    inflate, should_deflate,
};
pub use crypto::BindValues;
pub use ct::constant_time_eq;
pub use error::Error;
pub use hash::{hash_storage_key, hash_subject};
pub use header::{
    AAD_SIZE, Flags, HEADER_ENCODED_SIZE, HEADER_SIZE, HEADER_TYPE, Header, MAC_INPUT_SIZE,
    MAX_CREATION_TIME, MAX_DATA_SIZE, MAX_IDLING_OFFSET, MAX_ROLLING_OFFSET, SessionId,
};
pub use kdf::{ARGON2ID_SALT, Argon2idParams, KdfError, derive_ikm_argon2id};
pub use keys::{
    CipherKey, CookieKind, Ikm, Key, KeyDerivation, Keyring, MacKey, RememberSafety,
    derive_cipher_key, derive_new_cipher_key,
};
pub use pipeline::{
    OpenedCookie, Packed, Sealed, decode_payload, open_cookie, open_payload, pack, pack_with_level,
    seal_packed, seal_payload, unseal,
};
pub use record::{RecordError, StoredRecord, encode_stored_record, parse_stored_record};
