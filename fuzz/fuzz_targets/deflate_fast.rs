//! The one-cookie deflater on arbitrary bytes: never panics, and whatever it writes is
//! shorter than its input and inflates back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_codec::{DeflateLevel, deflate_with_level, inflate};

fuzz_target!(|data: &[u8]| {
    if let Some(packed) = deflate_with_level(data, DeflateLevel::Fast) {
        assert!(packed.len() < data.len());
        assert_eq!(inflate(&packed, data.len()).as_deref(), Ok(data));
    }
});
