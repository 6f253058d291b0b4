//! Unpadded base64url, with the decoding tolerance of the reference (docs/cookie-format.md §2).
//!
//! The codec is `base64-simd` (SIMD where the processor has it, chosen at run time): a
//! header and a small payload decode in ≈ 25 ns where the scalar `base64` crate took ≈ 85
//! (docs/benchmarks.md). It is given whole quads only; the last two or three characters
//! are decoded here, so that non-canonical trailing bits are accepted as the reference
//! accepts them.

use base64_simd::{Out, URL_SAFE_NO_PAD as SIMD};

/// The value of each url-alphabet character; `INVALID` for any other byte.
const INVALID: u8 = 0xff;
const VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i: u8 = 0;
    while i < 64 {
        table[alphabet[i as usize] as usize] = i;
        i += 1;
    }
    table
};

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
    SIMD.encode_to_string(input)
}

/// Appends the unpadded base64url form of `input` to `out`.
///
/// ```
/// let mut s = String::from("k=");
/// session_codec::b64_encode_into(b"app1", &mut s);
/// assert_eq!(s, "k=YXBwMQ");
/// ```
pub fn b64_encode_into(input: &[u8], out: &mut String) {
    SIMD.encode_append(input, out);
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
    match decode_unpadded(input, out) {
        Some(n) => {
            out.truncate(n);
            true
        }
        None => {
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
    decode_unpadded(input, out)
}

/// Decodes `input` (no `=` in it) into `out` (at least `decoded_len(input.len())` bytes):
/// the whole quads with the SIMD codec, the last two or three characters here.
fn decode_unpadded(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let quads = input.len() / 4 * 4;
    let (head, tail) = input.split_at(quads);
    let n = if head.is_empty() {
        0
    } else {
        SIMD.decode(head, Out::from_slice(&mut out[..quads / 4 * 3]))
            .ok()?
            .len()
    };
    let value = |c: u8| Some(VALUES[usize::from(c)]).filter(|&v| v != INVALID);
    match *tail {
        [] => Some(n),
        [a, b] => {
            let (a, b) = (value(a)?, value(b)?);
            out[n] = a << 2 | b >> 4;
            Some(n + 1)
        }
        [a, b, c] => {
            let (a, b, c) = (value(a)?, value(b)?, value(c)?);
            out[n] = a << 2 | b >> 4;
            out[n + 1] = b << 4 | c >> 2;
            Some(n + 2)
        }
        _ => None, // one character: 4k + 1
    }
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

        /// The tolerance of the reference, as the scalar `base64` crate configured for it
        /// (stop at the first `=`, trailing bits allowed, no padding) decodes: the same
        /// bytes or the same refusal, for url text with junk, `+`, `/` and `=` mixed in.
        #[test]
        fn decode_matches_the_scalar_codec(s in "[A-Za-z0-9_=+/*-]{0,130}") {
            use base64::Engine as _;
            use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
            const ORACLE: GeneralPurpose = GeneralPurpose::new(
                &base64::alphabet::URL_SAFE,
                GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(DecodePaddingMode::RequireNone),
            );
            let expected = ORACLE.decode(unpadded(s.as_bytes())).ok();
            prop_assert_eq!(b64_decode(&s), expected);
        }

        #[test]
        fn encode_matches_the_scalar_codec(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            use base64::Engine as _;
            let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(b64_encode(&bytes), expected.clone());
            let mut appended = String::from("k=");
            b64_encode_into(&bytes, &mut appended);
            prop_assert_eq!(appended, format!("k={expected}"));
        }
    }
}
