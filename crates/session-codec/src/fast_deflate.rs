//! A fast raw-DEFLATE encoder for payloads that fit in one cookie anyway
//! ([`DeflateLevel::Fast`](crate::DeflateLevel::Fast)).
//!
//! Greedy LZ77 with one hash probe per position (4-byte matches, the 32 KiB
//! window of DEFLATE, lengths up to 258), written as one final block of the
//! fixed Huffman codes of RFC 1951 §3.2.6. No hash chains, no lazy matching,
//! no dynamic trees: on the 2 KB of text of `cargo xtask bench-http` it takes
//! about a third of the time of zlib level 1 (whose fixed cost per stream —
//! clearing a 64 KiB hash table, building trees — is most of a small input's
//! time), for about 30 % more bytes (docs/benchmarks.md). Any inflater opens
//! the stream, the reference's zlib included (docs/crypto.md §10).
//!
//! Fixed codes spend 8–9 bits per literal, so data that compresses mostly
//! through its entropy (hex, base64 tokens) gains little here: [`deflate`]
//! gives up early on such input and the caller uses zlib instead.

/// The largest input: positions are kept as `u16`.
pub(crate) const MAX_INPUT: usize = 1 << 16;

/// DEFLATE's window: the longest distance a match may reach back.
const WINDOW: usize = 32 * 1024;
/// log2 of the hash table's entries (8 KiB of `u16`, cleared per call).
const HASH_BITS: u32 = 12;
/// The shortest match looked for (the hash covers 4 bytes).
const MIN_MATCH: usize = 4;
/// DEFLATE's longest match.
const MAX_MATCH: usize = 258;
/// After this many input bytes, give up when the output so far is larger than
/// [`GIVE_UP_NUM`] / [`GIVE_UP_DEN`] of the input so far.
const GIVE_UP_AFTER: usize = 512;
/// Give up when the first this many bytes hold no match at all.
const NO_MATCH_WITHIN: usize = 256;
const GIVE_UP_NUM: usize = 3;
const GIVE_UP_DEN: usize = 4;

/// `code`'s low `len` bits, reversed: Huffman codes are sent most significant
/// bit first into DEFLATE's least-significant-bit-first stream.
const fn reverse(code: u32, len: u32) -> u32 {
    let mut out = 0;
    let mut i = 0;
    while i < len {
        out |= ((code >> i) & 1) << (len - 1 - i);
        i += 1;
    }
    out
}

/// The fixed code of a literal/length symbol (0–287): its bits in stream
/// order, and its length.
const fn symbol_code(symbol: u32) -> (u32, u32) {
    if symbol <= 143 {
        (reverse(0x30 + symbol, 8), 8)
    } else if symbol <= 255 {
        (reverse(0x190 + symbol - 144, 9), 9)
    } else if symbol <= 279 {
        (reverse(symbol - 256, 7), 7)
    } else {
        (reverse(0xC0 + symbol - 280, 8), 8)
    }
}

/// The code of each literal byte: (bits in stream order, length).
// Built at compile time (no `try_from` in const): every value is below 2^9.
#[allow(clippy::cast_possible_truncation)]
const LITERALS: [(u16, u8); 256] = {
    let mut table = [(0u16, 0u8); 256];
    let mut byte = 0;
    while byte < 256 {
        let (bits, len) = symbol_code(byte as u32);
        table[byte] = (bits as u16, len as u8);
        byte += 1;
    }
    table
};

/// The base length of length symbols 257–285, and their extra bits.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// For each match length (3–258): its symbol's code followed by the extra
/// bits, in stream order, and the total length.
// Built at compile time (no `try_from` in const): every value is below 2^13.
#[allow(clippy::cast_possible_truncation)]
const LENGTHS: [(u32, u8); MAX_MATCH + 1] = {
    let mut table = [(0u32, 0u8); MAX_MATCH + 1];
    let mut index = 0;
    while index < 29 {
        let base = LENGTH_BASE[index] as usize;
        let extra = LENGTH_EXTRA[index] as u32;
        let (bits, len) = symbol_code(257 + index as u32);
        let mut offset = 0;
        while offset < (1 << extra) && base + offset <= MAX_MATCH {
            // 258 is symbol 285 alone (284 with all extra bits set would also read 258,
            // which some inflaters reject).
            if !(index == 27 && base + offset == MAX_MATCH) {
                table[base + offset] = (bits | ((offset as u32) << len), (len + extra) as u8);
            }
            offset += 1;
        }
        index += 1;
    }
    table
};

/// The fixed code of the end-of-block symbol.
const END_OF_BLOCK: (u32, u32) = symbol_code(256);

/// The code of a distance (1–32768) followed by its extra bits, in stream
/// order, and the total length. Distance codes are 5 bits in the fixed code.
fn distance_code(distance: usize) -> (u32, u32) {
    // `distance` is at most WINDOW (checked by the caller), so this never truncates.
    let x = u32::try_from(distance - 1).unwrap_or(0);
    let (code, extra_bits, extra) = if x < 4 {
        (x, 0, 0)
    } else {
        let log = 31 - x.leading_zeros();
        (
            2 * log + ((x >> (log - 1)) & 1),
            log - 1,
            x & ((1 << (log - 1)) - 1),
        )
    };
    ((code.reverse_bits() >> 27) | (extra << 5), 5 + extra_bits)
}

/// Bits written least significant first, flushed 32 at a time.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    /// Appends the low `count` bits of `bits` (at most 32).
    #[inline(always)]
    fn put(&mut self, bits: u32, count: u32) {
        self.acc |= u64::from(bits) << self.count;
        self.count += count;
        if self.count >= 32 {
            self.out.extend_from_slice(&self.acc.to_le_bytes()[..4]);
            self.acc >>= 32;
            self.count -= 32;
        }
    }

    /// The literals `bytes`.
    #[inline(always)]
    fn literals(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            let (bits, len) = LITERALS[usize::from(byte)];
            self.put(u32::from(bits), u32::from(len));
        }
    }

    /// The bytes written, the last one padded with zero bits.
    fn finish(mut self) -> Vec<u8> {
        let bytes = self.count.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
        self.out
    }
}

#[inline(always)]
fn load32(input: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&input[at..at + 4]);
    u32::from_le_bytes(word)
}

#[inline(always)]
fn load64(input: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&input[at..at + 8]);
    u64::from_le_bytes(word)
}

#[inline(always)]
fn hash(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// How far the bytes at `at` and `earlier` agree, from `MIN_MATCH` (already
/// compared) up to `max`.
#[inline(always)]
fn match_length(input: &[u8], earlier: usize, at: usize, max: usize) -> usize {
    let mut len = MIN_MATCH;
    while len + 8 <= max {
        let diff = load64(input, at + len) ^ load64(input, earlier + len);
        if diff != 0 {
            return len + (diff.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && input[at + len] == input[earlier + len] {
        len += 1;
    }
    len
}

/// `input` as one fixed-Huffman DEFLATE block, or `None` when that is not
/// worth it: the input is larger than [`MAX_INPUT`], the stream would not be
/// shorter than the input, the first 256 bytes repeat nothing, or after the
/// first 512 bytes it is more than 3/4 of what it encodes (data a dynamic
/// Huffman code would shrink better).
pub(crate) fn deflate(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    if n > MAX_INPUT {
        return None;
    }
    let mut table = [0u16; 1 << HASH_BITS];
    let mut bits = BitWriter {
        out: Vec::with_capacity(n),
        acc: 0,
        count: 0,
    };
    // BFINAL = 1, BTYPE = 01 (fixed Huffman codes).
    bits.put(0b011, 3);
    let mut at = 0;
    let mut pending = 0; // the first literal not written yet
    while at + MIN_MATCH <= n {
        let word = load32(input, at);
        let slot = &mut table[hash(word)];
        let earlier = usize::from(*slot);
        // `at` < MAX_INPUT = 2^16, so it fits; positions past it are never stored.
        *slot = u16::try_from(at).unwrap_or(u16::MAX);
        if earlier < at && at - earlier <= WINDOW && load32(input, earlier) == word {
            let len = match_length(input, earlier, at, (n - at).min(MAX_MATCH));
            bits.literals(&input[pending..at]);
            let (len_bits, len_count) = LENGTHS[len];
            bits.put(len_bits, u32::from(len_count));
            let (dist_bits, dist_count) = distance_code(at - earlier);
            bits.put(dist_bits, dist_count);
            at += len;
            pending = at;
            if bits.out.len() >= n
                || (at >= GIVE_UP_AFTER && bits.out.len() * GIVE_UP_DEN > at * GIVE_UP_NUM)
            {
                return None;
            }
        } else {
            at += 1;
            if pending == 0 && at == NO_MATCH_WITHIN {
                // No repeat at all so far: text for a dynamic code, if any.
                return None;
            }
        }
    }
    bits.literals(&input[pending..]);
    bits.put(END_OF_BLOCK.0, END_OF_BLOCK.1);
    let out = bits.finish();
    (out.len() < n && (n < GIVE_UP_AFTER || out.len() * GIVE_UP_DEN <= n * GIVE_UP_NUM))
        .then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::compress::inflate;
    use proptest::prelude::*;

    /// A deterministic xorshift32 sequence from `seed` (non-zero).
    fn xorshift(seed: u32) -> impl Iterator<Item = u32> {
        std::iter::successors(Some(seed), |&state| {
            let state = state ^ (state << 13);
            let state = state ^ (state >> 17);
            Some(state ^ (state << 5))
        })
        .skip(1)
    }

    fn words(len: usize, vocabulary: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut picks = xorshift(7);
        while out.len() < len {
            let pick = picks.next().unwrap_or_default() as usize;
            out.extend_from_slice(vocabulary[pick % vocabulary.len()].as_bytes());
            out.push(b' ');
        }
        out.truncate(len);
        out
    }

    fn round_trip(input: &[u8]) -> Option<Vec<u8>> {
        let packed = deflate(input)?;
        assert!(packed.len() < input.len());
        assert_eq!(inflate(&packed, input.len()).unwrap(), input);
        Some(packed)
    }

    #[test]
    fn text_compresses_and_inflates_back() {
        let text = words(
            2048,
            &["alpha", "bravo", "charlie", "delta", "session", "cookie"],
        );
        let packed = round_trip(&text).unwrap();
        assert!(packed.len() < text.len() / 2, "{}", packed.len());
    }

    #[test]
    fn every_length_and_the_longest_distance_inflate_back() {
        // 1 000 bytes of noise (16 letters), repeated exactly 32 768 bytes later (matches at
        // the longest distance), then prefixes of it of every length from 4 to 80 and
        // 250 to 261 (lengths 258 and over are split), each ended by a byte it lacks.
        let noise: Vec<u8> = xorshift(1)
            .take(1000)
            .map(|state| b'a' + (state % 16) as u8)
            .collect();
        let mut input = vec![b'~'; 600];
        input.extend_from_slice(&noise);
        input.resize(600 + WINDOW, b'-');
        input.extend_from_slice(&noise);
        for len in (MIN_MATCH..=80).chain(250..=MAX_MATCH + 3) {
            input.extend_from_slice(&noise[..len]);
            input.push(b'|');
        }
        assert!(input.len() <= MAX_INPUT);
        let packed = round_trip(&input).unwrap();
        assert!(packed.len() < input.len() / 10, "{}", packed.len());
    }

    #[test]
    fn length_and_distance_tables_match_rfc_1951() {
        // Spot checks against RFC 1951 §3.2.5: length 3 is symbol 257 (7-bit code 0000001),
        // 258 is symbol 285 (8-bit 11000101), 11 is 265 with one extra bit 0.
        assert_eq!(LENGTHS[3], (reverse(1, 7), 7));
        assert_eq!(LENGTHS[258], (reverse(0xC5, 8), 8));
        assert_eq!(LENGTHS[11], (reverse(9, 7), 8));
        assert_eq!(LENGTHS[12], (reverse(9, 7) | (1 << 7), 8));
        // Distance 1 is code 0; 5 is code 4 + 1 extra bit; 32768 is code 29 + 13 bits 8191.
        assert_eq!(distance_code(1), (0, 5));
        assert_eq!(distance_code(5), (reverse(4, 5), 6));
        assert_eq!(distance_code(6), (reverse(4, 5) | (1 << 5), 6));
        assert_eq!(distance_code(32768), (reverse(29, 5) | (8191 << 5), 18));
        for (len, code) in LENGTHS.iter().enumerate().skip(3) {
            assert!(code.1 >= 7, "length {len} has a code");
        }
    }

    #[test]
    fn gives_up_on_what_it_cannot_shrink() {
        assert_eq!(deflate(b""), None);
        assert_eq!(deflate(b"abc"), None);
        let hex: Vec<u8> = xorshift(1)
            .take(2048)
            .map(|state| b"0123456789abcdef"[(state >> 28) as usize])
            .collect();
        assert_eq!(deflate(&hex), None, "hex is zlib's (dynamic codes)");
        assert_eq!(deflate(&vec![0u8; MAX_INPUT + 1]), None);
        round_trip(&vec![0u8; MAX_INPUT]).unwrap();
    }

    proptest! {
        #[test]
        fn whatever_it_writes_inflates_back(data in proptest::collection::vec(any::<u8>(), 0..6000)) {
            if let Some(packed) = deflate(&data) {
                prop_assert!(packed.len() < data.len());
                prop_assert_eq!(inflate(&packed, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn repetitive_data_inflates_back(
            pieces in proptest::collection::vec(proptest::collection::vec(0u8..4, 1..40), 1..8),
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..400),
        ) {
            let data: Vec<u8> = picks.iter().flat_map(|i| i.get(&pieces).clone()).collect();
            if let Some(packed) = deflate(&data) {
                prop_assert_eq!(inflate(&packed, data.len()).unwrap(), data);
            }
        }
    }
}
