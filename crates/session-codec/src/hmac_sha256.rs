//! HMAC-SHA256 from precomputed pad states (RFC 2104 §4, "precomputed intermediate
//! results"): the SHA-256 state after the key's inner and outer pad blocks is kept, so a
//! MAC costs only the blocks of its message plus one outer block. Every open and save
//! computes three HMACs with 32-byte keys over short messages (HKDF-expand to 32 and to 44
//! bytes, then the header MAC, docs/crypto.md §4 and §6): with the generic `hmac` and
//! `hkdf` types each call also re-keyed the pads or cloned and finalised wider state.
//!
//! Checked against the `hmac` crate by the tests below and against the reference's
//! derived keys and MACs by the shared vectors.

use sha2::block_api::compress256;
use zeroize::Zeroize;

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// An HMAC-SHA256 key as its two pad states; zeroized on drop (each state is as good as
/// the key for computing MACs).
#[derive(Clone)]
pub(crate) struct HmacSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacSha256 {
    /// Keys HMAC with a 32-byte key (shorter than the block: used as is, zero-padded).
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let mut block = [0x36u8; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        let mut inner = IV;
        compress256(&mut inner, std::slice::from_ref(&block));
        for b in &mut block {
            *b ^= 0x36 ^ 0x5c;
        }
        let mut outer = IV;
        compress256(&mut outer, std::slice::from_ref(&block));
        block.zeroize(); // the key itself: `zeroize`, once per key
        Self { inner, outer }
    }

    /// The MAC of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = digest_from(self.inner, parts);
        let out = outer_digest(self.outer, &inner);
        wipe(&mut inner);
        out
    }

    /// HKDF-Expand (RFC 5869 §2.3) with this key as the PRK, for up to two blocks of
    /// output (64 bytes; ours are 32 and 44).
    pub(crate) fn hkdf_expand(&self, info: &[u8], out: &mut [u8]) {
        debug_assert!(out.len() <= 64, "at most two HKDF blocks");
        let mut t1 = self.mac(&[info, &[1]]);
        let n = out.len().min(32);
        out[..n].copy_from_slice(&t1[..n]);
        if out.len() > 32 {
            let mut t2 = self.mac(&[&t1, info, &[2]]);
            let rest = (out.len() - 32).min(32);
            out[32..32 + rest].copy_from_slice(&t2[..rest]);
            wipe(&mut t2);
        }
        wipe(&mut t1);
    }
}

impl Drop for HmacSha256 {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// SHA-256 of `parts`, continuing from `state` after one 64-byte block (the pad).
fn digest_from(mut state: [u32; 8], parts: &[&[u8]]) -> [u8; 32] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > SHORT {
        return digest_long(state, parts, len);
    }
    // Every message of the format (HKDF info and T(1), the 66-byte header and its bind
    // suffix) fits in two blocks with its padding: one buffer, no per-block bookkeeping, the
    // padding's zeros already there, one call for both blocks.
    let mut blocks = [[0u8; 64]; 2];
    let buf = blocks.as_flattened_mut();
    let mut at = 0;
    for part in parts {
        buf[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    buf[at] = 0x80;
    let used = if at < 56 { 1 } else { 2 };
    let bits = (64 + len as u64) * 8;
    buf[used * 64 - 8..used * 64].copy_from_slice(&bits.to_be_bytes());
    compress256(&mut state, &blocks[..used]);
    let out = state_bytes(&state);
    for block in &mut blocks {
        wipe(block);
    }
    state.zeroize();
    out
}

/// HMAC's outer hash: SHA-256 of the inner digest, continuing from the outer pad's state.
/// The one block's layout is fixed (32 bytes of digest, `0x80`, zeros, the bit length of
/// 96 bytes), so it is filled with fixed-size moves, not [`digest_from`]'s copies of
/// parts whose lengths are known only at run time.
fn outer_digest(mut state: [u32; 8], inner: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(inner);
    block[32] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
    compress256(&mut state, std::slice::from_ref(&block));
    let out = state_bytes(&state);
    wipe(&mut block);
    state.zeroize();
    out
}

/// The longest message [`digest_from`] pads into two blocks (the length field and the
/// `0x80` byte take 9 of the 128 bytes).
const SHORT: usize = 128 - 9;

/// Longer messages, block by block.
#[cold]
fn digest_long(mut state: [u32; 8], parts: &[&[u8]], len: usize) -> [u8; 32] {
    let mut block = [0u8; 64];
    let mut fill = 0;
    for part in parts {
        let mut rest = *part;
        while !rest.is_empty() {
            let take = (64 - fill).min(rest.len());
            block[fill..fill + take].copy_from_slice(&rest[..take]);
            fill += take;
            rest = &rest[take..];
            if fill == 64 {
                compress256(&mut state, std::slice::from_ref(&block));
                fill = 0;
            }
        }
    }
    // Padding: 0x80, zeros, the bit length in the last 8 bytes (FIPS 180-4 §5.1.1).
    block[fill] = 0x80;
    block[fill + 1..].fill(0);
    if fill >= 56 {
        compress256(&mut state, std::slice::from_ref(&block));
        block.fill(0);
    }
    let bits = (64 + len as u64) * 8;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    compress256(&mut state, std::slice::from_ref(&block));
    let out = state_bytes(&state);
    wipe(&mut block);
    state.zeroize();
    out
}

/// The digest: the state words, big-endian.
fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Clears a block or an intermediate digest that held message or key bytes. Stack residue
/// only: the keys themselves (the pad states, the derived keys) are zeroized with `zeroize`.
/// A plain store kept alive by `black_box` costs one or two vector stores where `zeroize`'s
/// volatile writes cost one store per byte (≈ 5 ns for 32 bytes), on a path that runs about
/// fifteen times per open or save.
fn wipe<const N: usize>(bytes: &mut [u8; N]) {
    *bytes = [0; N];
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;
    use sha2::Sha256;

    fn reference(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn rfc_4231_case_2_shape_and_block_edges() {
        // Messages around every padding edge (55, 56, 63, 64, 119, 120 bytes...).
        let key = [0x0b; 32];
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300] {
            let msg = vec![0xa5u8; len];
            assert_eq!(
                HmacSha256::new(&key).mac(&[&msg]),
                reference(&key, &[&msg]),
                "len {len}"
            );
        }
    }

    #[test]
    fn hkdf_expand_matches_the_hkdf_crate() {
        let prk = [7u8; 32];
        let hk = hkdf::Hkdf::<Sha256>::from_prk(&prk).unwrap();
        for len in [1, 31, 32, 33, 44, 64] {
            let info = b"encryption:0123456789abcdef0123456789abcdef";
            let mut want = vec![0; len];
            hk.expand(info, &mut want).unwrap();
            let mut got = vec![0; len];
            HmacSha256::new(&prk).hkdf_expand(info, &mut got);
            assert_eq!(got, want, "len {len}");
        }
    }

    proptest! {
        #[test]
        fn mac_matches_the_hmac_crate(
            key in any::<[u8; 32]>(),
            a in proptest::collection::vec(any::<u8>(), 0..200),
            b in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            prop_assert_eq!(HmacSha256::new(&key).mac(&[&a, &b]), reference(&key, &[&a, &b]));
        }

        #[test]
        fn hkdf_expand_matches_for_any_prk_and_info(
            prk in any::<[u8; 32]>(),
            info in proptest::collection::vec(any::<u8>(), 0..80),
            len in 1usize..=64,
        ) {
            let mut want = vec![0; len];
            hkdf::Hkdf::<Sha256>::from_prk(&prk).unwrap().expand(&info, &mut want).unwrap();
            let mut got = vec![0; len];
            HmacSha256::new(&prk).hkdf_expand(&info, &mut got);
            prop_assert_eq!(got, want);
        }
    }
}
