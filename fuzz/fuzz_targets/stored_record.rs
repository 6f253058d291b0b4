//! The engine's stored-record parse (`[payload, info?]`, spec 03 §6), through the public
//! API: a session saved on an in-memory store gives a valid header-only cookie; each input
//! then replaces its record and the cookie is opened.
//!
//! Two passes per input: (1) the input as the whole record; (2) a valid payload with the
//! input, base64url-encoded, as the info element, so the info JSON decode and the info store
//! (get, set, re-encode on `info().save()`) see arbitrary JSON behind a payload that opens.
//! Never panics; a record the engine opens keeps its data.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use session_core::env::{FixedClock, SequentialSid};
use session_core::session_codec::{Header, b64_encode, hash_storage_key};
use session_core::session_storage::memory::MemoryStorage;
use session_core::session_storage::{SetRequest, Storage};
use session_core::{Config, Request, Session, SessionConfig, block_on};

const NOW: u64 = 1_700_000_000;

struct Fixture {
    config: SessionConfig,
    store: MemoryStorage,
    cookie: String,
    key: String,
    payload: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let store = MemoryStorage::new();
        let config: Config =
            serde_json::from_str(r#"{"secret":"fuzz","audience":"app1"}"#).expect("config");
        let config = config
            .builder()
            .storage(store.clone())
            .clock(Arc::new(FixedClock::new(NOW)))
            .sid_source(Arc::new(SequentialSid::new(0x40)))
            .build()
            .expect("config builds");
        let mut s = Session::new(&config, Request::new());
        s.set("k", "v").expect("set");
        block_on(s.save()).expect("save");
        let cookie = s.set_cookies()[0].split(';').next().expect("cookie").to_owned();
        let value = cookie.strip_prefix("session=").expect("session cookie");
        let key = hash_storage_key(&Header::decode_base64(value).expect("header").0.sid, false);
        let record = block_on(store.get("session", &key, NOW as i64))
            .expect("get")
            .expect("record");
        let items: Vec<String> = serde_json::from_str(&record).expect("record JSON");
        Fixture { config, store, cookie, key, payload: items[0].clone() }
    })
}

fn open_with(f: &Fixture, record: &str) -> Option<Session> {
    let req = SetRequest::new("session", &f.key, record, 3600, NOW as i64);
    block_on(f.store.set(&req)).expect("memory set");
    let mut s = Session::new(&f.config, Request::new().with_cookie(f.cookie.as_str()));
    block_on(s.open()).ok().map(|()| s)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(s) = open_with(f, text) {
            assert_eq!(s.get::<String>("k").expect("get").as_deref(), Some("v"));
        }
    }

    let record = format!("[\"{}\",\"{}\"]", f.payload, b64_encode(data));
    match open_with(f, &record) {
        Some(mut s) => {
            assert_eq!(s.get::<String>("k").expect("get").as_deref(), Some("v"));
            let _ = s.info().get::<Value>("x");
            s.info().set("fuzz", &true).expect("info set");
            block_on(s.info().save()).expect("info save");
        }
        None => {
            // Only the info element can be at fault: it is not JSON.
            assert!(serde_json::from_slice::<Value>(data).is_err());
        }
    }
});
