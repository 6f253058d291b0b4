//! Metadata collections (docs/storage.md §5.4), as memcached, dshm, file and shm store them:
//! `session_storage::collection::parse` never panics on arbitrary bytes, agrees with
//! `parse_into` on an empty map, returns only live entries (expiry > now) with 43-byte keys,
//! and what it returns re-encodes (compaction) to a collection that parses to the same map.
//!
//! Input: 5 bytes of `now` (little-endian, 40 bits like an entry's expiry), then the
//! collection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_storage::SessionIndex;
use session_storage::collection::{KEY_LEN, MAX_EXP, encode_live, parse, parse_into};

fuzz_target!(|data: &[u8]| {
    let (now_bytes, input) = data.split_at(data.len().min(5));
    let mut now_le = [0u8; 8];
    now_le[..now_bytes.len()].copy_from_slice(now_bytes);
    let now = i64::from_le_bytes(now_le);

    let parsed = parse(input, now);
    let mut folded = SessionIndex::new();
    let into = parse_into(&mut folded, input, now);
    assert_eq!(parsed.is_ok(), into.is_ok());
    let Ok(index) = parsed else { return };
    assert_eq!(index, folded);
    for (key, exp) in &index {
        assert_eq!(key.len(), KEY_LEN);
        assert!(*exp > now && *exp <= MAX_EXP);
    }
    let compacted = encode_live(&index).expect("live entries re-encode");
    assert_eq!(parse(compacted.as_bytes(), now).expect("compaction parses"), index);
});
