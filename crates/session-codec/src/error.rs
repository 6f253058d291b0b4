//! The codec's error type.

/// Everything that can go wrong while encoding or decoding a session cookie.
///
/// The `Display` text of each variant is the reason lua-resty-session 4.1.5
/// gives for the same failure (docs/semantics.md §18), so logs read the same on both
/// sides. Crypto failures carry no detail from the crypto backend.
///
/// ```
/// use session_codec::{Error, Header};
///
/// let err = Header::decode(&[0u8; 82]).unwrap_err();
/// assert_eq!(err, Error::InvalidType);
/// assert_eq!(err.to_string(), "invalid session cookie type");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cookie value is shorter than the 110 characters of an encoded header,
    /// or a decoded header is longer than 82 bytes.
    #[error("invalid session header")]
    InvalidHeader,
    /// The first 110 characters are not valid base64url.
    #[error("unable to base64url decode session header (invalid input)")]
    HeaderBase64,
    /// The type byte is not `0x01`.
    #[error("invalid session cookie type")]
    InvalidType,
    /// The flags are truncated (or, decided by the engine, the STORAGE bit does
    /// not match the configuration).
    #[error("invalid session flags")]
    InvalidFlags,
    /// The session id is truncated.
    #[error("invalid session id")]
    InvalidSessionId,
    /// The creation time is truncated.
    #[error("invalid session creation time")]
    InvalidCreationTime,
    /// The rolling offset is truncated.
    #[error("invalid session rolling offset")]
    InvalidRollingOffset,
    /// The data size is truncated.
    #[error("invalid session data size")]
    InvalidDataSize,
    /// The authentication tag is truncated.
    #[error("invalid session tag")]
    InvalidTag,
    /// The idling offset is truncated (or not zero on a remember cookie).
    #[error("invalid session idling offset")]
    InvalidIdlingOffset,
    /// The header MAC is truncated or matches none of the keys.
    #[error("invalid session message authentication code")]
    InvalidMac,
    /// The assembled payload does not have the length the header announces.
    #[error("invalid session payload")]
    InvalidPayload,
    /// The payload is not valid base64url.
    #[error("unable to base64url decode session data (invalid input)")]
    PayloadBase64,
    /// AES-256-GCM refused the ciphertext (wrong key, tampered data or header).
    #[error("unable to decrypt session data")]
    Decrypt,
    /// AES-256-GCM refused to encrypt (the payload is too large for GCM).
    #[error("unable to encrypt session data")]
    Encrypt,
    /// The decrypted payload is not a complete raw DEFLATE stream.
    #[error("unable to inflate session data (invalid deflate stream)")]
    Inflate,
    /// The inflated payload would exceed the configured bound.
    #[error("unable to inflate session data (inflated size limit exceeded)")]
    InflateLimit,
    /// A chunk cookie (`NAME2` … `NAMEn`) is missing from the request.
    #[error("missing session cookie chunk")]
    MissingChunk,
    /// The payload does not fit in nine cookies of 4096 bytes.
    #[error("cookie size limit exceeded")]
    CookieSizeLimit,
    /// The creation time does not fit in 40 bits.
    #[error("session maximum creation time exceeded")]
    CreationTimeLimit,
    /// The data size does not fit in 24 bits.
    #[error("session maximum data size exceeded")]
    DataSizeLimit,
    /// The idling offset does not fit in 24 bits.
    #[error("session maximum idling offset exceeded")]
    IdlingOffsetLimit,
    /// An `ikm` is not exactly 32 bytes.
    #[error("invalid ikm size")]
    InvalidIkmSize,
}
