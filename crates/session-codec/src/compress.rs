//! Raw DEFLATE (window bits −15) with a hard bound on the inflated size
//! (docs/crypto.md §10).
//!
//! Each thread keeps one zlib deflate stream and one inflate stream and resets
//! them between uses: a deflate stream is about 256 KB of state (window, hash
//! chains, pending buffer) that would otherwise be allocated, zeroed by page
//! faults and freed on every save. A reset stream writes exactly the bytes a
//! fresh one would (zlib's `deflateReset` / `inflateReset`).

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::Error;
use crate::fast_deflate;

/// The largest plaintext a session can carry: the most bytes whose base64url
/// form fits the header's 24-bit data-size field (`ceil(4n/3) ≤ 2^24 − 1`).
/// [`inflate`] refuses to produce more than the bound it is given, and this
/// is the bound to give it when nothing smaller is known.
pub const MAX_PLAINTEXT_SIZE: usize = 12_582_911;

/// The default `compression_threshold` of the reference.
pub const DEFAULT_COMPRESSION_THRESHOLD: usize = 1024;

/// How hard to compress. Any raw DEFLATE stream opens in the reference
/// (docs/crypto.md §10); the level trades CPU for bytes.
///
/// ```
/// use session_codec::{DeflateLevel, deflate_with_level};
/// let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "ab".repeat(1000));
/// let reference = deflate_with_level(json.as_bytes(), DeflateLevel::Reference).unwrap();
/// let fast = deflate_with_level(json.as_bytes(), DeflateLevel::Fast).unwrap();
/// assert_eq!(session_codec::inflate(&fast, 10_000).unwrap(), json.as_bytes());
/// assert!(reference.len() <= fast.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeflateLevel {
    /// The reference's zlib settings: level 6, window bits 15, memLevel 8, default
    /// strategy — byte for byte what lua-resty-session writes.
    #[default]
    Reference,
    /// Speed first: a greedy LZ77 encoder with the fixed Huffman codes (one hash
    /// probe per position, no trees to build), about a fifth of zlib level 6's time
    /// on session-sized text for about a third more bytes (2 KB of words: 2.6 µs →
    /// 801 bytes vs 13.5 µs → 596, docs/benchmarks.md). Input that fixed codes
    /// cannot shrink well (hex or base64 tokens: entropy, not repeats) goes to zlib
    /// level 1 instead, as does input over 64 KiB. Meant for payloads whose
    /// uncompressed form already fits in one cookie, where the extra bytes can
    /// never cost a cookie chunk.
    Fast,
}

impl DeflateLevel {
    const fn zlib(self) -> u32 {
        match self {
            Self::Reference => 6,
            Self::Fast => 1,
        }
    }
}

thread_local! {
    /// This thread's deflate stream, created on first use, reset after each use.
    static DEFLATER: RefCell<Option<Compress>> = const { RefCell::new(None) };
    /// This thread's level-1 deflate stream (what [`DeflateLevel::Fast`] falls back
    /// to), likewise.
    static FAST_DEFLATER: RefCell<Option<Compress>> = const { RefCell::new(None) };
    /// This thread's inflate stream, likewise.
    static INFLATER: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Whether a JSON plaintext of `json_len` bytes is a candidate for
/// compression: `threshold != 0` and `json_len > threshold` (strictly). The
/// deflated bytes are then used only if strictly shorter (see [`deflate`]).
///
/// ```
/// use session_codec::should_deflate;
/// assert!(!should_deflate(1024, 1024));
/// assert!(should_deflate(1025, 1024));
/// assert!(!should_deflate(5000, 0));
/// ```
#[must_use]
pub const fn should_deflate(json_len: usize, threshold: usize) -> bool {
    threshold != 0 && json_len > threshold
}

/// Compresses `input` with raw DEFLATE (zlib, level 6, memLevel 8, default
/// strategy: byte for byte what the reference's zlib writes) and
/// returns it only when it is strictly shorter than `input` — the rule by
/// which the reference sets the DEFLATE flag. Callers check
/// [`should_deflate`] first.
///
/// The output buffer never grows past `input.len()` bytes: a stream that does
/// not end within them is not shorter, and compression stops there. The zlib
/// stream is this thread's, reset after use (see the module docs).
///
/// ```
/// let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
/// let packed = session_codec::deflate(json.as_bytes()).unwrap();
/// assert!(packed.len() < 100);
/// assert_eq!(session_codec::inflate(&packed, 10_000).unwrap(), json.as_bytes());
/// assert_eq!(session_codec::deflate(b"abc"), None); // not shorter
/// ```
#[must_use]
pub fn deflate(input: &[u8]) -> Option<Vec<u8>> {
    deflate_with_level(input, DeflateLevel::Reference)
}

/// [`deflate`] at the given [`DeflateLevel`]: the compressed bytes when they are
/// strictly shorter than `input`, else `None`. The zlib stream is this
/// thread's (one per level), reset after use.
///
/// ```
/// use session_codec::{DeflateLevel, deflate_with_level, inflate};
/// let packed = deflate_with_level(&[b'x'; 3000], DeflateLevel::Fast).unwrap();
/// assert_eq!(inflate(&packed, 3000).unwrap(), vec![b'x'; 3000]);
/// assert_eq!(deflate_with_level(b"abc", DeflateLevel::Fast), None);
/// ```
#[must_use]
pub fn deflate_with_level(input: &[u8], level: DeflateLevel) -> Option<Vec<u8>> {
    let streams = match level {
        DeflateLevel::Reference => &DEFLATER,
        DeflateLevel::Fast => {
            if let Some(packed) = fast_deflate::deflate(input) {
                return Some(packed);
            }
            &FAST_DEFLATER
        }
    };
    let fresh = || Compress::new(Compression::new(level.zlib()), false);
    streams.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let stream = slot.get_or_insert_with(fresh);
            let out = deflate_with(stream, input);
            stream.reset();
            out
        }
        // Not reachable (nothing here re-enters), but never a panic: a fresh stream.
        Err(_) => deflate_with(&mut fresh(), input),
    })
}

/// Deflates `input` with a stream fresh or just reset; `None` unless the
/// complete stream is strictly shorter than `input`.
fn deflate_with(stream: &mut Compress, input: &[u8]) -> Option<Vec<u8>> {
    let bound = input.len();
    // Small inputs (sessions) get their bound at once; large ones start at half.
    let mut out = Vec::with_capacity(if bound <= 64 * 1024 { bound } else { bound / 2 });
    loop {
        if out.len() >= out.capacity() {
            if out.len() >= bound {
                return None; // not shorter
            }
            let grow = (bound - out.len()).min(out.capacity().max(64));
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(stream.total_in()).ok()?;
        let rest = input.get(consumed..)?;
        let before = (stream.total_in(), stream.total_out());
        let status = stream
            .compress_vec(rest, &mut out, FlushCompress::Finish)
            .ok()?;
        match status {
            Status::StreamEnd => return (out.len() < bound).then_some(out),
            Status::Ok | Status::BufError => {
                // No progress with room left: a stuck stream (never seen with Finish).
                let progressed = (stream.total_in(), stream.total_out()) != before;
                if !progressed && out.len() < out.capacity() {
                    return None;
                }
            }
        }
    }
}

/// Inflates a raw DEFLATE stream, refusing to produce more than `limit`
/// bytes. Like the reference, the stream must be complete and bytes after
/// its end are ignored. The zlib stream is this thread's, reset after use.
///
/// # Errors
///
/// [`Error::Inflate`] for an invalid or truncated stream,
/// [`Error::InflateLimit`] when the output would exceed `limit`.
///
/// ```
/// use session_codec::{Error, deflate, inflate};
/// let packed = deflate(&[b'x'; 5000]).unwrap();
/// assert_eq!(inflate(&packed, 4999), Err(Error::InflateLimit));
/// assert_eq!(inflate(&packed, 5000).unwrap().len(), 5000);
/// assert_eq!(inflate(&packed[..packed.len() - 1], 5000), Err(Error::Inflate));
/// ```
pub fn inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let stream = slot.get_or_insert_with(|| Decompress::new(false));
            let out = inflate_with(stream, input, limit);
            stream.reset(false);
            out
        }
        Err(_) => inflate_with(&mut Decompress::new(false), input, limit),
    })
}

/// Inflates with a stream fresh or just reset.
fn inflate_with(inflater: &mut Decompress, input: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let hard_cap = limit.saturating_add(1);
    // Not `clamp`: it panics when `limit` is under 63.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).max(64).min(hard_cap));
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(Error::InflateLimit);
            }
            let grow = out.capacity().max(64).min(hard_cap - out.len());
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(inflater.total_in()).map_err(|_| Error::Inflate)?;
        let rest = input.get(consumed..).ok_or(Error::Inflate)?;
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| Error::Inflate)?;
        if out.len() > limit {
            return Err(Error::InflateLimit);
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let progressed =
                    inflater.total_in() != in_before || inflater.total_out() != out_before;
                let room_left = out.len() < out.capacity();
                if !progressed && room_left {
                    // Input exhausted before the final block: truncated.
                    return Err(Error::Inflate);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zip_bomb_is_refused_at_the_limit() {
        let bomb = deflate(&vec![0u8; 10 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < 20_000);
        assert_eq!(inflate(&bomb, 1024 * 1024), Err(Error::InflateLimit));
    }

    #[test]
    fn a_reused_stream_writes_what_a_fresh_one_writes() {
        let text: Vec<u8> = (0..6000u32)
            .map(|i| b"session cookie header "[(i % 22) as usize] ^ (i % 7) as u8)
            .collect();
        let fresh = || {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(6));
            std::io::Write::write_all(&mut enc, &text).unwrap();
            enc.finish().unwrap()
        };
        // Twice on this thread (the second on the reset stream), with other sizes between.
        let first = deflate(&text).unwrap();
        assert!(deflate(b"abc").is_none());
        let _ = deflate(&vec![0u8; 200_000]);
        let second = deflate(&text).unwrap();
        assert_eq!(first, fresh());
        assert_eq!(second, first);
        assert_eq!(inflate(&second, text.len()).unwrap(), text);
    }

    #[test]
    fn an_error_leaves_the_inflate_stream_usable() {
        let packed = deflate(&[b'z'; 4000]).unwrap();
        assert_eq!(inflate(&packed, 100), Err(Error::InflateLimit));
        assert_eq!(inflate(&[0xff; 8], 100), Err(Error::Inflate));
        assert_eq!(
            inflate(&packed[..packed.len() / 2], 9000),
            Err(Error::Inflate)
        );
        assert_eq!(inflate(&packed, 4000).unwrap(), vec![b'z'; 4000]);
    }

    #[test]
    fn incompressible_input_stops_at_its_own_size() {
        // A stream that cannot end within input.len() bytes is not shorter: None, and the
        // next call still compresses from a clean state.
        let mut state = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(deflate(&noise), None);
        let json = format!(r#"[[{{"big":"{}"}},"default"]]"#, "a".repeat(2000));
        assert!(deflate(json.as_bytes()).unwrap().len() < 100);
    }

    #[test]
    fn garbage_is_an_inflate_error() {
        assert_eq!(inflate(&[0xff; 32], 1000), Err(Error::Inflate));
        assert_eq!(inflate(&[], 1000), Err(Error::Inflate));
    }

    #[test]
    fn bytes_after_the_stream_are_ignored() {
        let mut packed = deflate(&[b'y'; 3000]).unwrap();
        packed.extend_from_slice(b"trailing");
        assert_eq!(inflate(&packed, 3000).unwrap(), vec![b'y'; 3000]);
    }

    #[test]
    fn truncated_streams_are_errors() {
        let packed = deflate(&(0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()).unwrap();
        for cut in [1, packed.len() / 2, packed.len() - 1] {
            assert_eq!(
                inflate(&packed[..cut], 10_000),
                Err(Error::Inflate),
                "cut {cut}"
            );
        }
    }

    proptest! {
        #[test]
        fn deflate_then_inflate_is_identity(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            if let Some(packed) = deflate(&data) {
                prop_assert!(packed.len() < data.len());
                prop_assert_eq!(inflate(&packed, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn fast_deflate_then_inflate_is_identity(
            words in proptest::collection::vec("[a-e]{1,6}", 0..600),
            noise in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut data = words.join(" ").into_bytes();
            data.extend_from_slice(&noise);
            if let Some(packed) = deflate_with_level(&data, DeflateLevel::Fast) {
                prop_assert!(packed.len() < data.len());
                prop_assert_eq!(inflate(&packed, data.len()).unwrap(), data.clone());
            }
            // Each level keeps its own stream: the reference level's bytes are unchanged.
            let fresh = deflate_with(&mut Compress::new(Compression::new(6), false), &data);
            prop_assert_eq!(deflate(&data), fresh);
        }

        #[test]
        fn repetitive_data_always_deflates(byte in any::<u8>(), len in 100usize..10_000) {
            let data = vec![byte; len];
            let packed = deflate(&data).unwrap();
            prop_assert_eq!(inflate(&packed, len).unwrap(), data);
        }

        #[test]
        fn inflate_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), limit in 0usize..20_000) {
            let _ = inflate(&data, limit);
        }
    }
}
