//! DSHM replies (untrusted: whatever the server, or something posing as it, sends): the
//! parser never panics, never claims more bytes than it has or asks past its caps, and is
//! consistent when the same bytes arrive in two pieces. Config URLs too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_dshm::__fuzz::parse_reply;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = parse_reply(data) {
        // A prefix of a complete reply needs more bytes or is itself a complete reply.
        for cut in [0, n / 2, n.saturating_sub(1)] {
            match parse_reply(&data[..cut]) {
                Ok(None) => {}
                Ok(Some(m)) => assert!(m <= cut),
                Err(e) => panic!("a prefix of a valid reply was refused: {e}"),
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = session_dshm::DshmConfig::from_url(text);
    }
});
