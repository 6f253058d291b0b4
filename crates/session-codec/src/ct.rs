//! Constant-time comparison of byte strings, for the engine's caches (kept headers, session
//! ids, cookie texts): one XOR-OR per 64-bit word, then `subtle` on the word. `subtle`'s
//! byte-slice `ct_eq` costs about twelve instructions a byte; this about one a word.

use subtle::ConstantTimeEq;

/// Whether `a` and `b` are equal. The time taken depends only on their lengths (which
/// are public in every use: they travel in the cookie), never on where they differ.
///
/// ```
/// use session_codec::constant_time_eq;
/// assert!(constant_time_eq(b"same bytes", b"same bytes"));
/// assert!(!constant_time_eq(b"same bytes", b"same bytez"));
/// assert!(!constant_time_eq(b"short", b"longer"));
/// ```
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u64;
    let mut words_a = a.chunks_exact(8);
    let mut words_b = b.chunks_exact(8);
    for (x, y) in (&mut words_a).zip(&mut words_b) {
        let x = u64::from_ne_bytes(x.try_into().unwrap_or_default());
        let y = u64::from_ne_bytes(y.try_into().unwrap_or_default());
        diff |= x ^ y;
    }
    for (x, y) in words_a.remainder().iter().zip(words_b.remainder()) {
        diff |= u64::from(x ^ y);
    }
    bool::from(diff.ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_difference_and_every_length_is_seen() {
        let a: Vec<u8> = (0..=40u8).collect();
        assert!(constant_time_eq(&a, &a.clone()));
        for i in 0..a.len() {
            for bit in 0..8 {
                let mut b = a.clone();
                b[i] ^= 1 << bit;
                assert!(!constant_time_eq(&a, &b), "byte {i} bit {bit}");
            }
        }
        assert!(!constant_time_eq(&a, &a[..40]));
    }
}
