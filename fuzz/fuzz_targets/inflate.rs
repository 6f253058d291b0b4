//! Raw inflate of arbitrary bytes: never panics, never exceeds its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = session_codec::inflate(data, 64 * 1024) {
        assert!(out.len() <= 64 * 1024);
    }
});
