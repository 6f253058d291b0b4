//! Header decoding from raw bytes and from a cookie value's first 110
//! characters: never panics; whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_codec::{HEADER_SIZE, Header};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::decode(data) {
        assert_eq!(data.len(), HEADER_SIZE);
        assert_eq!(&header.encode().expect("a decoded header re-encodes")[..], data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((header, raw)) = Header::decode_base64(text) {
            assert_eq!(header.encode().expect("re-encodes"), raw);
        }
    }
});
