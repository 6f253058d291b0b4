//! base64url decoding with the reference's tolerance (session-codec's SIMD codec for whole
//! quads, its own table for the tail): never panics, and agrees with the scalar `base64`
//! crate configured the same way (stop at the first `=`, trailing bits allowed, no padding);
//! what decodes re-encodes to a canonical text that decodes to the same bytes.
#![no_main]

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use libfuzzer_sys::fuzz_target;
use session_codec::{b64_decode, b64_encode, decoded_len, encoded_len};

const ORACLE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = b64_decode(text);
    let unpadded = text.split('=').next().unwrap_or_default();
    assert_eq!(decoded, ORACLE.decode(unpadded).ok());
    if let Some(bytes) = decoded {
        assert_eq!(bytes.len(), decoded_len(unpadded.len()));
        let canonical = b64_encode(&bytes);
        assert_eq!(canonical.len(), encoded_len(bytes.len()));
        assert_eq!(b64_decode(&canonical), Some(bytes));
    }
});
