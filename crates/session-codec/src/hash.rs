//! Storage-key and subject hashing (docs/crypto.md §11).

use sha2::{Digest, Sha256};

use crate::b64::b64_encode;
use crate::header::SessionId;

/// The key a session is stored under in server-side storage:
/// `B64(SID)`, or `B64(SHA-256(SID))` with `hash_storage_key`. Always 43
/// characters. The same transform gives the "old key" of a save.
///
/// ```
/// use session_codec::{SessionId, hash_storage_key};
///
/// let sid = SessionId::from_bytes(core::array::from_fn(|i| 0x80 + i as u8));
/// assert_eq!(hash_storage_key(&sid, true), "gthkCFMLdl5G6_R4BwlQJ-gHvAhnSw3nfuXvL659BJI");
/// assert_eq!(hash_storage_key(&sid, false), sid.to_base64());
/// ```
#[must_use]
pub fn hash_storage_key(sid: &SessionId, hashed: bool) -> String {
    if hashed {
        b64_encode(&Sha256::digest(sid.as_bytes()))
    } else {
        sid.to_base64()
    }
}

/// The subject as stored in metadata: `B64(subject)`, or `B64` of the first
/// 16 bytes of `SHA-256(subject)` with `hash_subject` (22 characters).
///
/// ```
/// use session_codec::hash_subject;
/// assert_eq!(hash_subject("john@example.com", false), "am9obkBleGFtcGxlLmNvbQ");
/// assert_eq!(hash_subject("john@example.com", true), "hV-W6YPx-Oi-lEaStvcZ_Q");
/// ```
#[must_use]
pub fn hash_subject(subject: &str, hashed: bool) -> String {
    if hashed {
        b64_encode(&Sha256::digest(subject.as_bytes())[..16])
    } else {
        b64_encode(subject.as_bytes())
    }
}
