//! "decode + verify + decrypt + inflate" of arbitrary input under a fixed key.
//!
//! Two passes per input: the input as a cookie value (almost always stopped
//! by the MAC), and the input re-signed with the fixed key so the payload
//! reassembly, base64, AES-GCM and inflate paths see arbitrary data too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_codec::{
    BindValues, CookieKind, Header, Ikm, Key, Keyring, RememberSafety, b64_encode, open_cookie,
};
use std::sync::OnceLock;

fn ring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| Keyring::new(Key::new(Ikm::from_secret(b"fuzz"))))
}

fuzz_target!(|data: &[u8]| {
    let bind = BindValues { ip: Some("127.0.0.1"), scheme: Some("https"), user_agent: Some("fuzz") };
    let Ok(text) = std::str::from_utf8(data) else { return };
    let chunks: Vec<&str> = text.split(';').collect();
    let chunk = |i: usize| chunks.get(i - 1).copied();

    // 1. As is.
    let _ = open_cookie(ring(), CookieKind::Session, 7, chunks[0], chunk, &bind);

    // 2. With a valid MAC over whatever header the input starts with.
    if let Ok((mut header, _)) = Header::decode_base64(chunks[0]) {
        header.idling_offset &= 0x00ff_ffff;
        header.data_size &= 0x00ff_ffff;
        header.creation_time &= (1 << 40) - 1;
        let Ok(raw) = ring().sign(&mut header, 0, &bind) else { return };
        let mut value = b64_encode(&raw);
        value.push_str(chunks[0].get(110..).unwrap_or(""));
        for kind in [CookieKind::Session, CookieKind::Remember(RememberSafety::None)] {
            let _ = open_cookie(ring(), kind, 7, &value, chunk, &bind);
        }
    }
});
