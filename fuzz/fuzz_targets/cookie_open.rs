//! "decode + verify + decrypt + inflate" of arbitrary input under a fixed key, through
//! the codec's `open_cookie` (the chain of pipeline steps the engine runs) and through
//! the engine's own `Session::open` (cookie storage, the same steps plus the text and
//! age checks around them).
//!
//! Two passes per input: the input as a cookie value (almost always stopped by the MAC),
//! and the input re-signed with the fixed key so the payload reassembly, base64, AES-GCM
//! and inflate paths see arbitrary data too. `;` separates chunk cookies.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use session_codec::{
    BindValues, CookieKind, Header, Ikm, Key, Keyring, RememberSafety, b64_encode, open_cookie,
};
use session_core::env::FixedClock;
use session_core::{Config, Request, Session, SessionConfig, block_on};

const SECRET: &str = "fuzz";

fn ring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| Keyring::new(Key::new(Ikm::from_secret(SECRET.as_bytes()))))
}

/// Cookie storage under the same key, timeouts off, a fixed clock.
fn config() -> &'static SessionConfig {
    static CONFIG: OnceLock<SessionConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let config: Config = serde_json::from_str(
            r#"{"secret":"fuzz","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0}"#,
        )
        .expect("config");
        config
            .builder()
            .clock(Arc::new(FixedClock::new(1_700_000_000)))
            .build()
            .expect("config builds")
    })
}

/// Opens `first` (with `chunks` as `session2`, `session3`, …) through the engine.
fn engine_open(first: &str, chunks: &[&str]) {
    let mut header = format!("session={first}");
    for (i, chunk) in chunks.iter().enumerate() {
        header.push_str(&format!("; session{}={chunk}", i + 2));
    }
    let request = Request::new()
        .with_cookie(header)
        .with_remote_addr("127.0.0.1")
        .with_scheme("https")
        .with_user_agent("fuzz");
    let mut session = Session::new(config(), request);
    if block_on(session.open()).is_ok() {
        assert!(session.get_data().is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    let bind = BindValues { ip: Some("127.0.0.1"), scheme: Some("https"), user_agent: Some("fuzz") };
    let Ok(text) = std::str::from_utf8(data) else { return };
    let chunks: Vec<&str> = text.split(';').collect();
    let chunk = |i: usize| chunks.get(i - 1).copied();

    // 1. As is.
    let _ = open_cookie(ring(), CookieKind::Session, 7, chunks[0], chunk, &bind);
    engine_open(chunks[0], &chunks[1..]);

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
        engine_open(&value, &chunks[1..]);
    }
});
