//! Unpadded base64url, with the decoding tolerance of the reference (docs/cookie-format.md §2).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Decoding stops at the first `=`, accepts non-canonical trailing bits and
/// never writes padding, like nginx's base64url codec.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The base64url-encoded length of `n` bytes: `ceil(4 * n / 3)`.
///
/// This is also the value of the header's data-size field.
///
/// ```
/// assert_eq!(session_codec::encoded_len(82), 110);
/// assert_eq!(session_codec::encoded_len(16), 22);
/// assert_eq!(session_codec::encoded_len(0), 0);
/// ```
#[must_use]
pub const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4 + [0, 2, 3][n % 3]
}

/// The largest number of bytes `len` base64url characters can decode to.
///
/// ```
/// assert_eq!(session_codec::decoded_len(110), 82);
/// ```
#[must_use]
pub const fn decoded_len(len: usize) -> usize {
    len / 4 * 3 + [0, 0, 1, 2][len % 4]
}

/// Encodes bytes as unpadded base64url.
///
/// ```
/// assert_eq!(session_codec::b64_encode(b"app1"), "YXBwMQ");
/// ```
#[must_use]
pub fn b64_encode(input: &[u8]) -> String {
    ENGINE.encode(input)
}

/// Appends the unpadded base64url form of `input` to `out`.
///
/// ```
/// let mut s = String::from("k=");
/// session_codec::b64_encode_into(b"app1", &mut s);
/// assert_eq!(s, "k=YXBwMQ");
/// ```
pub fn b64_encode_into(input: &[u8], out: &mut String) {
    out.reserve(encoded_len(input.len()));
    ENGINE.encode_string(input, out);
}

/// The part of `input` the reference decodes: everything before the first `=`.
fn unpadded(input: &[u8]) -> &[u8] {
    match memchr::memchr(b'=', input) {
        Some(i) => &input[..i],
        None => input,
    }
}

/// Decodes base64url the way the reference does: everything from the first
/// `=` on is ignored, any other character outside the url alphabet (including
/// `+` and `/`) is an error, a length of `4k + 1` is an error, and unused
/// trailing bits are ignored.
///
/// Returns `None` when the input is invalid.
///
/// ```
/// assert_eq!(session_codec::b64_decode("YXBwMQ").as_deref(), Some(&b"app1"[..]));
/// assert_eq!(session_codec::b64_decode("YXBwMQ==junk").as_deref(), Some(&b"app1"[..]));
/// assert_eq!(session_codec::b64_decode("YX+wMQ"), None);
/// ```
#[must_use]
pub fn b64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    b64_decode_into(input, &mut out).then_some(out)
}

/// Decodes base64url (as [`b64_decode`]) into `out`, replacing its contents.
/// Returns `false` when the input is invalid (then `out` is left empty).
///
/// ```
/// let mut buf = Vec::new();
/// assert!(session_codec::b64_decode_into("YXBwMQ", &mut buf));
/// assert_eq!(buf, b"app1");
/// ```
pub fn b64_decode_into(input: &str, out: &mut Vec<u8>) -> bool {
    let input = unpadded(input.as_bytes());
    out.clear();
    out.resize(decoded_len(input.len()), 0);
    match ENGINE.decode_slice_unchecked(input, out) {
        Ok(n) => {
            out.truncate(n);
            true
        }
        Err(_) => {
            out.clear();
            false
        }
    }
}

/// Decodes base64url (as [`b64_decode`]) into a fixed buffer, returning the
/// number of bytes written, or `None` when the input is invalid or does not fit.
pub(crate) fn b64_decode_slice(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let input = unpadded(input);
    if decoded_len(input.len()) > out.len() {
        return None;
    }
    ENGINE.decode_slice_unchecked(input, out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encoded_len_matches_ceil_formula() {
        for n in 0..1000usize {
            assert_eq!(encoded_len(n), (4 * n).div_ceil(3));
            assert_eq!(b64_encode(&vec![0u8; n]).len(), encoded_len(n));
        }
    }

    #[test]
    fn decode_rejects_standard_alphabet_and_junk() {
        assert_eq!(b64_decode("ab+c"), None);
        assert_eq!(b64_decode("ab/c"), None);
        assert_eq!(b64_decode("ab c"), None);
        assert_eq!(b64_decode("a*bc"), None);
    }

    #[test]
    fn decode_rejects_length_4k_plus_1() {
        assert_eq!(b64_decode("abcde"), None);
        assert_eq!(b64_decode("a"), None);
    }

    #[test]
    fn decode_stops_at_first_padding_character() {
        assert_eq!(b64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(b64_decode("YQ=*&").as_deref(), Some(&b"a"[..]));
        assert_eq!(b64_decode("=").as_deref(), Some(&b""[..]));
        assert_eq!(b64_decode("").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn decode_accepts_non_canonical_trailing_bits() {
        // "YR" has non-zero unused low bits; nginx ignores them.
        assert_eq!(b64_decode("YR").as_deref(), Some(&b"a"[..]));
    }

    #[test]
    fn decode_slice_refuses_output_that_does_not_fit() {
        let mut buf = [0u8; 2];
        assert_eq!(b64_decode_slice(b"YWJj", &mut buf), None);
        let mut buf = [0u8; 3];
        assert_eq!(b64_decode_slice(b"YWJj", &mut buf), Some(3));
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = b64_encode(&bytes);
            prop_assert!(!s.contains('='));
            prop_assert_eq!(s.len(), encoded_len(bytes.len()));
            prop_assert_eq!(b64_decode(&s), Some(bytes));
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,200}") {
            let _ = b64_decode(&s);
        }
    }
}
