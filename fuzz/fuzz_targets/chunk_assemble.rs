//! The cookie chunk plan (docs/cookie-format.md §6): `split_payload` then `assemble_payload` gives the
//! payload back for any name length, and assembling arbitrary chunk values never panics
//! and never returns a payload of another length than announced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_codec::{HEADER_ENCODED_SIZE, assemble_payload, chunk_count, split_payload};

fuzz_target!(|data: &[u8]| {
    let Some((&name_len, rest)) = data.split_first() else { return };
    let name_len = usize::from(name_len % 64) + 1;
    let Ok(text) = std::str::from_utf8(rest) else { return };

    // 1. Arbitrary values: `;` separates the first value from chunks 2, 3, ….
    let values: Vec<&str> = text.split(';').collect();
    let announced = values.iter().map(|v| v.len()).sum::<usize>() % 40_000;
    if let Ok(payload) =
        assemble_payload(name_len, announced, values[0], |i| values.get(i - 1).copied())
    {
        assert_eq!(payload.len(), announced);
    }

    // 2. Round trip of a payload long enough to need chunks: the input repeated.
    let payload: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
    if payload.is_empty() {
        return;
    }
    let mut payload = payload.repeat(usize::from(data[0]) * 20 + 1);
    payload.truncate(40_000);
    let Ok(parts) = split_payload(name_len, &payload) else {
        assert!(chunk_count(name_len, payload.len()).is_err());
        return;
    };
    assert_eq!(Ok(parts.len()), chunk_count(name_len, payload.len()));
    let first = format!("{}{}", "H".repeat(HEADER_ENCODED_SIZE), parts[0]);
    let back = assemble_payload(name_len, payload.len(), &first, |i| parts.get(i - 1).copied())
        .expect("a split payload reassembles");
    assert_eq!(back, payload);
});
