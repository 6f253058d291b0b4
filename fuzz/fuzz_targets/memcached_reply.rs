//! Memcached replies (untrusted: whatever the server, or something posing as it, sends):
//! the parser never panics, never claims more bytes than it has, and is consistent when the
//! same bytes arrive in two pieces. Config URLs too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_memcached::__fuzz::parse_reply;

fuzz_target!(|data: &[u8]| {
    let whole = parse_reply(data, None);
    let _ = parse_reply(data, Some(b"sessions:k"));
    // A prefix of a reply that parses completely needs more bytes or is the same reply.
    if let Ok(Some(n)) = whole {
        for cut in [0, n / 2, n.saturating_sub(1)] {
            match parse_reply(&data[..cut], None) {
                Ok(None) => {}
                Ok(Some(m)) => assert!(m <= cut),
                Err(e) => panic!("a prefix of a valid reply was refused: {e}"),
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = session_memcached::MemcachedConfig::from_url(text);
    }
});
