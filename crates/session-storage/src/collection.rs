//! The appended metadata collections of memcached, dshm, file and shm (docs/storage.md §5.3, §5.4).
//!
//! A collection is a concatenation of entries: a live entry `<key>:<exp7>;` where `<exp7>` is
//! base64url (no padding) of the expiry as 5 little-endian bytes, or a tombstone `<key>;`.
//! Keys are 43 bytes (base64url of 32 bytes); the parser relies on that fixed width exactly
//! like the reference does.
//!
//! ```
//! use session_storage::collection::{encode_entry, parse};
//! let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
//! let entry = encode_entry(k, 1_700_003_600)?;
//! assert_eq!(entry, format!("{k}:EP9TZQA;"));
//! let live = parse(entry.as_bytes(), 1_700_000_000)?;
//! assert_eq!(live.get(k), Some(&1_700_003_600));
//! # Ok::<_, session_storage::StorageError>(())
//! ```

use crate::{SessionIndex, StorageError};

/// Width of a storage key in a collection (base64url of 32 bytes).
pub const KEY_LEN: usize = 43;
/// Length of an encoded expiry.
pub const EXP_LEN: usize = 7;
/// Length of a live entry for a 43-byte key.
pub const ENTRY_LEN: usize = KEY_LEN + 1 + EXP_LEN + 1;
/// Length of a tombstone for a 43-byte key.
pub const TOMBSTONE_LEN: usize = KEY_LEN + 1;
/// The largest expiry an entry can hold (40 bits).
pub const MAX_EXP: i64 = (1 << 40) - 1;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes an expiry as 7 base64url characters of its 5 little-endian bytes.
///
/// Fails for a negative expiry or one above [`MAX_EXP`].
///
/// ```
/// use session_storage::collection::encode_exp;
/// assert_eq!(encode_exp(1_735_689_600)?, "gIV0ZwA");
/// assert_eq!(encode_exp(1)?, "AQAAAAA");
/// assert!(encode_exp(-1).is_err());
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn encode_exp(exp: i64) -> Result<String, StorageError> {
    let exp = u64::try_from(exp)
        .ok()
        .filter(|e| *e <= MAX_EXP.unsigned_abs())
        .ok_or_else(|| StorageError::invalid_input("metadata expiry does not fit in 40 bits"))?;
    // 40 bits as 7 sextets, little-endian byte order: the bit stream is byte 0 first,
    // most significant bit of each byte first; 42 bits with two zero padding bits.
    let bytes = exp.to_le_bytes();
    let mut acc: u64 = 0;
    for b in &bytes[..5] {
        acc = (acc << 8) | u64::from(*b);
    }
    acc <<= 2;
    let mut out = String::with_capacity(EXP_LEN);
    for i in (0..EXP_LEN).rev() {
        let idx = usize::try_from((acc >> (6 * i)) & 0x3f).unwrap_or(0);
        out.push(char::from(ALPHABET[idx]));
    }
    Ok(out)
}

/// Decodes 7 base64url characters into the expiry (the first 5 decoded bytes,
/// little-endian). Like OpenResty's decoder, the two leftover bits are ignored.
///
/// ```
/// use session_storage::collection::decode_exp;
/// assert_eq!(decode_exp(b"EP9TZQA")?, 1_700_003_600);
/// assert!(decode_exp(b"EP9TZQ=").is_err());
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn decode_exp(chars: &[u8]) -> Result<i64, StorageError> {
    if chars.len() != EXP_LEN {
        return Err(StorageError::invalid_record(
            "metadata expiry is not 7 characters",
        ));
    }
    let mut acc: u64 = 0;
    for c in chars {
        let v = sextet(*c).ok_or_else(|| {
            StorageError::invalid_record("metadata expiry is not valid base64url")
        })?;
        acc = (acc << 6) | u64::from(v);
    }
    acc >>= 2; // 42 bits → 40 bits, big-endian byte stream
    let be = acc.to_be_bytes(); // bytes [3..8] are the 5 decoded bytes in stream order
    let mut exp: u64 = 0;
    for b in be[3..8].iter().rev() {
        exp = (exp << 8) | u64::from(*b);
    }
    i64::try_from(exp).map_err(|_| StorageError::invalid_record("metadata expiry out of range"))
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// A live entry `<key>:<exp7>;`, or a tombstone `<key>;` when `exp` is 0 (as the reference).
///
/// ```
/// use session_storage::collection::encode_entry;
/// assert_eq!(encode_entry("K", 1)?, "K:AQAAAAA;");
/// assert_eq!(encode_entry("K", 0)?, "K;");
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn encode_entry(key: &str, exp: i64) -> Result<String, StorageError> {
    if exp == 0 {
        return Ok(tombstone(key));
    }
    let exp = encode_exp(exp)?;
    let mut out = String::with_capacity(key.len() + 2 + EXP_LEN);
    out.push_str(key);
    out.push(':');
    out.push_str(&exp);
    out.push(';');
    Ok(out)
}

/// A tombstone `<key>;`: marks `key` as removed from the collection.
///
/// ```
/// assert_eq!(session_storage::collection::tombstone("K"), "K;");
/// ```
#[must_use]
pub fn tombstone(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 1);
    out.push_str(key);
    out.push(';');
    out
}

/// Serialises a map as live entries only (the reference's compaction), in key order.
///
/// ```
/// use session_storage::{SessionIndex, collection::{encode_live, parse}};
/// let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// let map = SessionIndex::from([(k.to_owned(), 1_700_003_600)]);
/// let s = encode_live(&map)?;
/// assert_eq!(parse(s.as_bytes(), 0)?, map);
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn encode_live(map: &SessionIndex) -> Result<String, StorageError> {
    let mut out = String::with_capacity(map.len() * ENTRY_LEN);
    for (key, exp) in map {
        out.push_str(&encode_entry(key, *exp)?);
    }
    Ok(out)
}

/// Parses a collection (docs/storage.md §5.4) into the map of live entries at `now`.
///
/// Later entries win; a tombstone or an entry with `exp <= now` removes the key. The walk is
/// the reference's fixed-width walk (43-byte key, one delimiter byte, 7 expiry characters, one
/// skipped byte). A trailing fragment too short to hold a key and its delimiter is ignored,
/// as the reference effectively does; an entry whose expiry is cut short or not base64url, or
/// whose key is not UTF-8, is an [`InvalidRecord`](crate::ErrorKind::InvalidRecord) error.
/// Never panics; allocates at most one map entry per 52 input bytes.
///
/// ```
/// use session_storage::collection::parse;
/// let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// let s = format!("{k}:EP9TZQA;{k};");
/// assert!(parse(s.as_bytes(), 0)?.is_empty()); // the tombstone wins
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn parse(input: &[u8], now: i64) -> Result<SessionIndex, StorageError> {
    let mut out = SessionIndex::new();
    parse_into(&mut out, input, now)?;
    Ok(out)
}

/// Like [`parse`], applying the entries on top of an existing map (used to fold the elements
/// of a list, as shm's compaction does).
///
/// ```
/// use session_storage::{SessionIndex, collection::parse_into};
/// let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// let mut map = SessionIndex::new();
/// parse_into(&mut map, format!("{k}:EP9TZQA;").as_bytes(), 0)?;
/// parse_into(&mut map, format!("{k};").as_bytes(), 0)?;
/// assert!(map.is_empty());
/// # Ok::<_, session_storage::StorageError>(())
/// ```
pub fn parse_into(out: &mut SessionIndex, input: &[u8], now: i64) -> Result<(), StorageError> {
    let mut rest = input;
    while !rest.is_empty() {
        let Some((key, after_key)) = rest.split_at_checked(KEY_LEN) else {
            // Reference: the key is a short garbage string, the delimiter is nil, and removing
            // a key that short is a no-op. Nothing to do.
            return Ok(());
        };
        let Some((&delim, after_delim)) = after_key.split_first() else {
            return Ok(()); // same: delimiter is nil, remove(key) of a key we then drop
        };
        let key = std::str::from_utf8(key)
            .map_err(|_| StorageError::invalid_record("metadata entry key is not UTF-8"))?;
        if delim != b':' {
            out.remove(key);
            rest = after_delim;
            continue;
        }
        let Some((exp, after_exp)) = after_delim.split_at_checked(EXP_LEN) else {
            return Err(StorageError::invalid_record(
                "metadata entry is truncated in its expiry",
            ));
        };
        let exp = decode_exp(exp)?;
        // Skip the terminator byte, whatever it is (the reference does not check it).
        rest = after_exp.get(1..).unwrap_or_default();
        if exp > now {
            out.insert(key.to_owned(), exp);
        } else {
            out.remove(key);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn spec_table_examples() {
        assert_eq!(
            encode_entry(K, 1_700_003_600).unwrap(),
            format!("{K}:EP9TZQA;")
        );
        assert_eq!(
            encode_entry(K, 1_735_689_600).unwrap(),
            format!("{K}:gIV0ZwA;")
        );
        assert_eq!(encode_entry(K, 1).unwrap(), format!("{K}:AQAAAAA;"));
        assert_eq!(encode_entry(K, 0).unwrap(), format!("{K};"));
        assert_eq!(encode_entry(K, 1).unwrap().len(), ENTRY_LEN);
        assert_eq!(tombstone(K).len(), TOMBSTONE_LEN);
    }

    #[test]
    fn later_entries_win() {
        let e = 100;
        let live = encode_entry(K, e).unwrap();
        let tomb = tombstone(K);
        assert!(
            parse(format!("{live}{tomb}").as_bytes(), 0)
                .unwrap()
                .is_empty()
        );
        let m = parse(format!("{tomb}{live}").as_bytes(), 0).unwrap();
        assert_eq!(m.get(K), Some(&e));
    }

    #[test]
    fn expiry_equal_to_now_is_expired_and_removes_earlier_entry() {
        let s = format!(
            "{}{}",
            encode_entry(K, 200).unwrap(),
            encode_entry(K, 50).unwrap()
        );
        assert!(parse(s.as_bytes(), 50).unwrap().is_empty());
        assert!(
            parse(encode_entry(K, 50).unwrap().as_bytes(), 50)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            parse(encode_entry(K, 51).unwrap().as_bytes(), 50)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn invalid_base64_in_expiry_is_an_error() {
        let s = format!("{K}:EP9T*QA;");
        let err = parse(s.as_bytes(), 0).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidRecord);
    }

    #[test]
    fn truncated_fragments_do_not_panic() {
        let full = format!("{}{}", encode_entry(K, 100).unwrap(), tombstone(K));
        for cut in 0..full.len() {
            let _ = parse(&full.as_bytes()[..cut], 0);
        }
        // a short tail is ignored
        let s = format!("{}{}", encode_entry(K, 100).unwrap(), &K[..10]);
        assert_eq!(parse(s.as_bytes(), 0).unwrap().len(), 1);
    }

    #[test]
    fn missing_final_terminator_is_accepted() {
        let s = format!("{K}:EP9TZQA");
        assert_eq!(parse(s.as_bytes(), 0).unwrap().get(K), Some(&1_700_003_600));
    }

    #[test]
    fn encode_rejects_out_of_range_exp() {
        assert!(encode_exp(MAX_EXP).is_ok());
        assert!(encode_exp(MAX_EXP + 1).is_err());
        assert!(encode_exp(-5).is_err());
    }

    #[test]
    fn decode_ignores_leftover_bits_like_openresty() {
        // 'B' as last char sets one of the two padding bits.
        assert_eq!(decode_exp(b"AQAAAAB").unwrap(), 1);
    }

    proptest! {
        #[test]
        fn exp_round_trips(exp in 1i64..=MAX_EXP) {
            let s = encode_exp(exp).unwrap();
            prop_assert_eq!(s.len(), EXP_LEN);
            prop_assert_eq!(decode_exp(s.as_bytes()).unwrap(), exp);
        }

        #[test]
        fn entries_round_trip(
            keys in proptest::collection::vec("[A-Za-z0-9_-]{43}", 0..8),
            exps in proptest::collection::vec(1i64..=MAX_EXP, 8),
            now in 0i64..MAX_EXP,
        ) {
            let mut want = SessionIndex::new();
            let mut s = String::new();
            for (k, e) in keys.iter().zip(&exps) {
                s.push_str(&encode_entry(k, *e).unwrap());
                if *e > now { want.insert(k.clone(), *e); } else { want.remove(k); }
            }
            prop_assert_eq!(parse(s.as_bytes(), now).unwrap(), want);
        }

        #[test]
        fn parse_never_panics(input in proptest::collection::vec(any::<u8>(), 0..400), now in any::<i64>()) {
            let _ = parse(&input, now);
        }
    }
}
