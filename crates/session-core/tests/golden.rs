//! Golden vectors V1–V10 of docs/cookie-format.md §12 and the behaviours of docs/semantics.md §21,
//! each test named after what it checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    missing_docs
)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use session_core::env::{FixedClock, SequentialSid};
use session_core::session_storage::{Metadata, SessionIndex, SetRequest, Storage, StorageError};
use session_core::{Error, Property, Request, Session, SessionConfig, State, block_on};
use session_testsupport::engine::{self, jar};

const NOW: u64 = 1_700_000_000;
const ATTRS: &str = "; Path=/; SameSite=Lax; HttpOnly";

fn config(json: Value, sid: u8) -> (SessionConfig, Arc<FixedClock>) {
    config_with(json, sid, None)
}

fn config_with(json: Value, sid: u8, store: Option<Recorder>) -> (SessionConfig, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(NOW));
    let mut builder = engine::builder(json)
        .clock(clock.clone())
        .sid_source(Arc::new(SequentialSid::new(sid)));
    if let Some(store) = store {
        builder = builder.storage(store);
    }
    (builder.build().unwrap(), clock)
}

fn req(cookie: &str) -> Request {
    Request::new().with_cookie(cookie.to_owned())
}

/// A new session on `c`, saved.
fn saved(c: &SessionConfig) -> Session {
    let mut s = Session::new(c, Request::new());
    block_on(s.save()).unwrap();
    s
}

/// A session on `c` opened from the `Cookie` header `cookie`.
fn opened(c: &SessionConfig, cookie: &str) -> Session {
    let mut s = Session::new(c, req(cookie));
    block_on(s.open()).unwrap();
    s
}

/// Audience `a1` with `subject` saved, then audience `a2` with
/// `second_subject` joining on its cookie (the open reports the missing
/// audience) and saved: the second request's session.
fn second_audience(c: &SessionConfig, subject: &str, second_subject: &str) -> Session {
    let mut a = Session::new(c, Request::new());
    a.set_audience("a1").unwrap();
    a.set_subject(Some(subject)).unwrap();
    block_on(a.save()).unwrap();
    let mut b = Session::new(c, req(&jar(a.set_cookies())));
    b.set_audience("a2").unwrap();
    b.set_subject(Some(second_subject)).unwrap();
    let _ = block_on(b.open());
    block_on(b.save()).unwrap();
    b
}

/// V1, the reference test suite's cookie, opened.
fn v1_opened() -> Session {
    let (c, _) = config(
        json!({"audience": "my_application", "idling_timeout": 0, "rolling_timeout": 0, "absolute_timeout": 0}),
        0x40,
    );
    opened(&c, &format!("session={V1}; Path=/; SameSite=Lax; HttpOnly"))
}

const V1: &str = "AQAAS3ZGU0k8tUKsWSci9Fb6PM5xbm469FlR5g_B5HWZ6KYGSOZjAAAAAABcAABTCuHjqpE7B6Ux7m4GCylZAAAAzcWnTvzG51whooR_4QQwDgGdMOOa5W7tG4JWiDFU3zuYLFzakWEi-y-ogrwTpnt24zQXP_uJK7r5lMPNzRSMJM9H1a_MIegzEMm-QSgVRaoZVJq3Oo";
const V2: &str = "session=AQAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAABcAADOtWf5dh5IOXTnkBE0SSCVAAAAZ6V44YlPteDyox0GJJJRNQDfMi66OQ9aaRSFj6oEgWCJVaFudikYE3w8VukF5PZiYd_FsRP1tViI5o2QiUgdxaYh9PwWdrVqlMHjCDZSNy-3j5QCF3; Path=/; SameSite=Lax; HttpOnly";
const V2T: &str = "session=AQAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAABcAADOtWf5dh5IOXTnkBE0SSCVZAAA_6TGo2TFdHZxzOid1uANZgDfMi66OQ9aaRSFj6oEgWCJVaFudikYE3w8VukF5PZiYd_FsRP1tViI5o2QiUgdxaYh9PwWdrVqlMHjCDZSNy-3j5QCF3; Path=/; SameSite=Lax; HttpOnly";
const V3: &str = "session=AQAAYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8A8VNlAAAAAAAWAABnsKdkOymbfHCaxmEhncz5AAAAvqVAjT_OzSp-ZG-Pfzxw6Q4Jls73TXtEqlzhOX7faqTg; Path=/; SameSite=Lax; HttpOnly";
const V4S: &str = "session=AQAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAAfAADayHChsiZqynKW-KqlJafxAAAAxnfBjQKHSvFp_snqnr0MrwDfMitP7H_reSCxe0mAVIT5IVF_kzubE; Path=/; SameSite=Lax; HttpOnly";
const V4R: &str = "remember=AQAAYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8A8VNlAAAAAAAfAAAT8I2PSnWzK7Ovrnm6x0t3AAAAuIXkIQTBx0Xhk07nUccNIAHJeRqdsbagzumTupe3nGJdn-V0b6lCw; Path=/; SameSite=Lax; HttpOnly; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Max-Age=604800";
const V4M: &str = "remember=AQAAoKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8A8VNlAAAAAAAfAABT6IDbBQujYS9Z3QCYKRqnAAAASvPgqkzEAHwmLmdvHSg1hgVtyjovQ9EKuELZVziPbsCFskAYAqA7A; Path=/; SameSite=Lax; HttpOnly; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Max-Age=604800";
const V4R_REMEMBER: &str = "remember=AQAAwMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t8A8VNlACAcAAAfAABqGOvV4NKXMAV0nYoMFBMkAAAAxXhH5_-BUCBnYO2tUKsayAelp18rWfREyCv-wyaZfhPwsB0HixOSs; Path=/; SameSite=Lax; HttpOnly; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Max-Age=604800";
const V4R_SESSION: &str = "session=AQAA4OHi4-Tl5ufo6err7O3u7_Dx8vP09fb3-Pn6-_z9_v8gDVRlAAAAAAAfAACJzw_ijw0hRQVhx0WXJnp3AAAAYwAOHPCC7-ME1tzDz5W3pQ_QyHi9Zk58SvOYjgSoyG_Hmqt5czu_M; Path=/; SameSite=Lax; HttpOnly";
const V5: &str = "session=ARAAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAA2AADBtCh2sWhOhfXZMNig1yNeAAAASjkdIXqU_wW2KmRzm0UYhA3Sb3n5gv1oVGOCjE6YQEeXT4Lqcboi2HoOC3xWZGvCbgeQNZEJ7G9Q";
const V6: &str = "session=AQAHQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAAWAADoJayEsq-CJd4WlDbbszvBAAAAV88RkSVc1DS8JJM5vlf5lQDfMitP7H_reSCxe0mAU5MA; Path=/; SameSite=Lax; HttpOnly";
const V7: &str = "session=AQEAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAA0AACzAZ5bD5zAdhft52POV4efAAAAxSSWwGW_Alb1-wtdyFgszg; Path=/; SameSite=Lax; HttpOnly";
const V7_VALUE: &str =
    r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#;
const V8: &str = "session=AQIAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A8VNlAAAAAAAWAADt-eUSt6vUDbBu_qwKCTG_AAAA8cfN6bcT53oIe42qf_PhYA_OX9aF5yqhsSnTecW6DnAA; Path=/; SameSite=Lax; HttpOnly";

#[test]
fn v1_reference_test_suite_cookie_opens() {
    let s = v1_opened();
    assert_eq!(s.get_subject().unwrap(), Some("Lua Fan"));
    assert_eq!(s.get_audience().unwrap(), Some("my_application"));
    assert_eq!(
        s.get::<String>("quote").unwrap().as_deref(),
        Some("Lorem ipsum dolor sit amet")
    );
}

#[test]
fn v1_clear_request_cookie_leaves_the_attribute_pairs() {
    let mut s = v1_opened();
    s.clear_request_cookie().unwrap();
    assert_eq!(
        s.request_cookie_edit(),
        Some(&b"Path=/; SameSite=Lax; HttpOnly"[..])
    );
}

fn v2_session(c: &SessionConfig) -> Session {
    let mut s = Session::new(c, Request::new());
    s.set_audience("my_application").unwrap();
    s.set_subject(Some("Lua Fan")).unwrap();
    s.set("quote", "Lorem ipsum dolor sit amet").unwrap();
    s
}

#[test]
fn v2_basic_save_is_byte_exact_and_properties_follow() {
    let (c, clock) = config(json!({"audience": "my_application"}), 0x40);
    let mut s = v2_session(&c);
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies(), [V2]);
    clock.set(NOW + 10);
    let o = opened(&c, &jar(s.set_cookies()));
    let p = |n: &str| o.get_property(n).unwrap();
    assert_eq!(
        p("id"),
        Some(Property::Text(
            "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8".into()
        ))
    );
    assert_eq!(p("timeout"), Some(Property::Number(890)));
    assert_eq!(p("idling-timeout"), Some(Property::Number(890)));
    assert_eq!(p("rolling-timeout"), Some(Property::Number(3590)));
    assert_eq!(p("absolute-timeout"), Some(Property::Number(86390)));
    assert_eq!(
        p("nonce").map(|n| matches!(n, Property::Bytes(b) if b.len() == 32)),
        Some(true)
    );
}

#[test]
fn v2t_touch_rewrites_only_idling_offset_and_mac() {
    let (c, clock) = config(json!({"audience": "my_application"}), 0x40);
    clock.set(NOW + 100);
    let mut s = opened(&c, &jar(&[V2.to_owned()]));
    block_on(s.touch()).unwrap();
    assert_eq!(s.set_cookies(), [V2T]);
}

#[test]
fn v3_empty_default_session_is_byte_exact() {
    let (c, _) = config(json!({}), 0x60);
    let s = saved(&c);
    assert_eq!(s.set_cookies(), [V3]);
}

#[test]
fn v4_remember_low_writes_both_cookies_byte_exact() {
    let (c, _) = config(
        json!({"remember": true, "remember_safety": "Low", "subject": "john"}),
        0x40,
    );
    let s = saved(&c);
    assert_eq!(s.set_cookies(), [V4S, V4R]);
}

#[test]
fn v4m_remember_medium_cookie_is_byte_exact() {
    let (c, _) = config(json!({"remember": true, "subject": "john"}), 0x80);
    let s = saved(&c);
    assert_eq!(s.set_cookies()[1], V4M);
}

#[test]
fn v4r_remember_fallback_renews_remember_then_mints_session() {
    let (c, clock) = config(json!({"remember": true, "subject": "john"}), 0xc0);
    clock.set(NOW + 7200);
    let s = opened(&c, &jar(&[V4M.to_owned()]));
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.set_cookies(), [V4R_REMEMBER, V4R_SESSION]);
}

#[test]
fn v5_deflated_reference_cookie_opens_and_large_json_is_deflated() {
    let (c, _) = config(json!({}), 0x40);
    let s = opened(&c, V5);
    assert_eq!(s.get::<String>("big").unwrap().unwrap(), "a".repeat(2000));
    let mut w = Session::new(&c, Request::new());
    w.set("big", &"a".repeat(2000)).unwrap();
    block_on(w.save()).unwrap();
    assert!(
        w.cookie_metadata()
            .unwrap()
            .flags
            .contains(session_core::session_codec::Flags::DEFLATE)
    );
}

#[test]
fn v6_bound_cookie_is_byte_exact_and_rejects_other_request_values() {
    let (c, _) = config(json!({"bind": ["ip", "scheme", "user-agent"]}), 0x40);
    let bound = || {
        Request::new()
            .with_remote_addr("127.0.0.1")
            .with_scheme("https")
            .with_user_agent("curl/8.0")
    };
    let mut s = Session::new(&c, bound());
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies(), [V6]);
    let cookie = jar(s.set_cookies());
    let (plain, _) = config(json!({}), 0x40);
    let mut ok = Session::new(&plain, bound().with_cookie(cookie.clone()));
    block_on(ok.open()).unwrap();
    for other in [
        Request::new()
            .with_remote_addr("127.0.0.2")
            .with_scheme("https")
            .with_user_agent("curl/8.0"),
        Request::new()
            .with_remote_addr("127.0.0.1")
            .with_scheme("http")
            .with_user_agent("curl/8.0"),
        Request::new()
            .with_remote_addr("127.0.0.1")
            .with_scheme("https"),
    ] {
        let mut s = Session::new(&plain, other.with_cookie(cookie.clone()));
        let err = block_on(s.open()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid session message authentication code"
        );
    }
}

/// A store that records `set` calls and serves what was set.
#[derive(Clone, Default)]
struct Recorder {
    sets: Arc<
        Mutex<
            Vec<(
                String,
                String,
                String,
                u64,
                i64,
                Option<String>,
                u64,
                Option<Metadata>,
            )>,
        >,
    >,
    deletes: Arc<Mutex<Vec<(String, String, i64)>>>,
    fail_get: Option<&'static str>,
}

impl Storage for Recorder {
    async fn set(&self, r: &SetRequest<'_>) -> Result<(), StorageError> {
        self.sets.lock().unwrap().push((
            r.name.into(),
            r.key.into(),
            r.value.into(),
            r.ttl,
            r.now,
            r.old_key.map(str::to_owned),
            r.stale_ttl,
            r.metadata.cloned(),
        ));
        Ok(())
    }
    async fn get(&self, name: &str, key: &str, _: i64) -> Result<Option<String>, StorageError> {
        if let Some(msg) = self.fail_get {
            return Err(StorageError::backend(msg));
        }
        Ok(self
            .sets
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.0 == name && s.1 == key)
            .map(|s| s.2.clone()))
    }
    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        _: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.deletes
            .lock()
            .unwrap()
            .push((name.into(), key.into(), now));
        Ok(())
    }
    async fn read_metadata(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<SessionIndex, StorageError> {
        Ok(SessionIndex::new())
    }
}

#[test]
fn v7_server_storage_cookie_record_and_set_arguments() {
    let store = Recorder::default();
    let (c, clock) = config_with(
        json!({"storage": "redis", "audience": "app1", "subject": "john@example.com", "store_metadata": true}),
        0x40,
        Some(store.clone()),
    );
    let mut s = Session::new(&c, Request::new());
    s.set("k", "v").unwrap();
    s.info().set("ik", "iv").unwrap();
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies(), [V7]);
    {
        let sets = store.sets.lock().unwrap();
        let (name, key, value, ttl, now, old, stale, meta) = &sets[0];
        assert_eq!(
            (name.as_str(), key.as_str()),
            ("session", "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8")
        );
        assert_eq!(value, V7_VALUE);
        assert_eq!(
            (*ttl, *now, old.clone(), *stale),
            (3600, 1_700_000_000, None, 10)
        );
        assert_eq!(
            meta.clone().unwrap(),
            Metadata::new(vec!["YXBwMQ".into()], vec!["am9obkBleGFtcGxlLmNvbQ".into()])
        );
    }
    // Re-save 100 s later passes the previous key as old key.
    clock.set(NOW + 100);
    let mut o = opened(&c, &jar(s.set_cookies()));
    assert_eq!(o.info().get::<String>("ik").unwrap().as_deref(), Some("iv"));
    block_on(o.save()).unwrap();
    let sets = store.sets.lock().unwrap();
    let last = sets.last().unwrap();
    assert_eq!(
        last.5.as_deref(),
        Some("QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8")
    );
    assert_eq!((last.3, last.6), (3600, 10));
}

#[test]
fn v8_forget_flag_is_written_and_sticky() {
    let (c, _) = config(json!({"remember": true}), 0x00);
    let mut s = Session::new(&c, Request::new());
    s.set_remember(false).unwrap();
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies(), [V8]);
    let mut o = opened(&c, &jar(s.set_cookies()));
    o.set_remember(true).unwrap();
    assert!(!o.get_remember().unwrap());
    block_on(o.save()).unwrap();
    assert_eq!(o.set_cookies().len(), 1);
    assert_eq!(o.cookie_metadata().unwrap().flags.bits(), 0x0002);
}

fn v9() -> (SessionConfig, Vec<String>) {
    let (c, _) = config(json!({"compression_threshold": 0}), 0x40);
    let mut s = Session::new(&c, Request::new());
    s.set("big", &"a".repeat(9000)).unwrap();
    block_on(s.save()).unwrap();
    (c, s.take_set_cookies())
}

#[test]
fn v9_chunked_cookie_split_and_missing_chunk() {
    let (c, cookies) = v9();
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["session", "session2", "session3"]);
    let lens: Vec<usize> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap().len())
        .collect();
    assert_eq!(lens, [4096, 4096, 3976]);
    assert!(cookies.iter().all(|c| c.ends_with(ATTRS)));
    opened(&c, &jar(&cookies));
    let mut missing = Session::new(&c, req(&jar(&cookies[..2])));
    assert_eq!(
        block_on(missing.open()).unwrap_err().to_string(),
        "missing session cookie chunk"
    );
}

#[test]
fn v10_shrinking_expires_surplus_chunks_and_destroy_expires_all() {
    let (c, cookies) = v9();
    let mut o = opened(&c, &jar(&cookies));
    o.set("big", "small").unwrap();
    block_on(o.save()).unwrap();
    let out = o.set_cookies();
    assert_eq!(out.len(), 3);
    assert!(out[0].starts_with("session=AQAA"));
    let del = |n: &str| format!("{n}={ATTRS}; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0");
    assert_eq!(out[1], del("session2"));
    assert_eq!(out[2], del("session3"));
    let mut d = opened(&c, &jar(&cookies));
    block_on(d.destroy()).unwrap();
    assert_eq!(
        d.set_cookies(),
        [del("session"), del("session2"), del("session3")]
    );
}

// ------------------------------------------------------------ docs/semantics.md §21.1

fn full_cycle(extra: Value) -> Session {
    let mut cfg =
        json!({"cookie_name": "session_cookie", "remember_cookie_name": "remember_cookie"});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let (c, _) = config(cfg, 0x40);
    let mut s = Session::new(&c, Request::new());
    assert_eq!(s.get_value("test_key").unwrap(), None);
    s.set("test_key", "test_data").unwrap();
    s.set_subject(Some("test_subject")).unwrap();
    s.set_audience("test_audience").unwrap();
    assert_eq!(s.get_audience().unwrap(), Some("test_audience"));
    block_on(s.save()).unwrap();
    assert_eq!(s.state(), State::Open);
    assert!(s.cookie_metadata().unwrap().data_size > 0);
    assert_eq!(s.set_cookies().len(), 1);
    s.close();
    assert!(
        s.get_value("test_key")
            .unwrap_err()
            .to_string()
            .contains("unable to get session data")
    );
    let cookie = jar(s.set_cookies());
    let mut o = Session::new(&c, req(&cookie));
    o.set_audience("test_audience").unwrap();
    o.close();
    block_on(o.open()).unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(
        o.get::<String>("test_key").unwrap().as_deref(),
        Some("test_data")
    );
    assert!(matches!(o.get_property("id").unwrap(), Some(Property::Text(id)) if id.len() == 43));
    assert!(matches!(
        o.get_property("timeout").unwrap(),
        Some(Property::Number(_))
    ));
    block_on(o.touch()).unwrap();
    block_on(o.destroy()).unwrap();
    assert_eq!(o.state(), State::Closed);
    assert!(o.get_value("test_key").is_err());
    assert!(o.set_cookies()[0].starts_with("session_cookie=; "));
    let mut e = Session::new(&c, req("session_cookie="));
    e.close();
    assert_eq!(
        block_on(e.open()).unwrap_err().to_string(),
        "invalid session header"
    );
    assert_eq!(e.state(), State::Closed);
    s
}

#[test]
fn full_cycle_with_default_values() {
    full_cycle(json!({}));
}

#[test]
fn full_cycle_with_secret() {
    full_cycle(json!({"secret": "t"}));
}

#[test]
fn full_cycle_with_ikm_beating_secret() {
    let (with_ikm, _) = config(
        json!({"secret": "t", "ikm": "00000000000000000000000000000000"}),
        0x40,
    );
    let (only_ikm, _) = config(json!({"ikm": "00000000000000000000000000000000"}), 0x40);
    let s = saved(&with_ikm);
    opened(&only_ikm, &jar(s.set_cookies()));
    full_cycle(json!({"secret": "t", "ikm": "00000000000000000000000000000000"}));
}

#[test]
fn cookie_attributes_appear_in_set_cookie() {
    for (cfg, part) in [
        (
            json!({"cookie_domain": "example.org"}),
            "; Domain=example.org",
        ),
        (json!({"cookie_path": "/test"}), "; Path=/test"),
        (json!({"cookie_same_site": "Default"}), "; SameSite=Default"),
        (json!({"cookie_secure": true}), "; Secure"),
        (json!({"cookie_priority": "High"}), "; Priority=High"),
        (json!({"cookie_partitioned": true}), "; Partitioned"),
        (json!({"cookie_same_party": true}), "; SameParty"),
    ] {
        let s = full_cycle(cfg);
        assert!(s.set_cookies()[0].contains(part), "{part}");
    }
    let s = full_cycle(json!({"cookie_http_only": false}));
    assert!(!s.set_cookies()[0].contains("HttpOnly"));
}

#[test]
fn logout_of_one_audience_keeps_the_other() {
    let (c, _) = config(json!({}), 0x40);
    let mut one = Session::new(&c, Request::new());
    one.set_audience("test_audience").unwrap();
    one.set_subject(Some("test_subject")).unwrap();
    block_on(one.save()).unwrap();
    let mut two = Session::new(&c, req(&jar(one.set_cookies())));
    two.set_audience("lout_audience").unwrap();
    two.set_subject(Some("lout_subject")).unwrap();
    assert!(block_on(two.open()).unwrap_err().is_audience_error());
    assert_eq!(two.state(), State::New);
    block_on(two.save()).unwrap();
    assert_eq!(two.get_audience().unwrap(), Some("lout_audience"));
    let cookie = jar(two.set_cookies());
    let mut two = Session::new(&c, req(&cookie));
    two.set_audience("lout_audience").unwrap();
    block_on(two.open()).unwrap();
    block_on(two.logout()).unwrap();
    assert_eq!(two.state(), State::Closed);
    let cookie = jar(two.set_cookies());
    assert!(!cookie.is_empty());
    let mut one = Session::new(&c, req(&cookie));
    one.set_audience("test_audience").unwrap();
    block_on(one.open()).unwrap();
    assert_eq!(one.inspect().entries, 1);
    block_on(one.logout()).unwrap();
    assert_eq!(one.state(), State::Closed);
    assert!(one.set_cookies()[0].starts_with("session=; "));
}

#[test]
fn remember_is_off_by_default_and_set_remember_writes_it() {
    let (c, _) = config(json!({"remember_safety": "None"}), 0x40);
    let mut s = Session::new(&c, Request::new());
    assert!(!s.get_remember().unwrap());
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies().len(), 1);
    s.set_remember(true).unwrap();
    assert!(s.get_remember().unwrap());
    block_on(s.save()).unwrap();
    assert!(s.set_cookies()[1].starts_with("remember=AQAA"));
}

// ------------------------------------------------------------ docs/semantics.md §21.4

#[test]
fn open_error_texts_match_the_reference() {
    let (c, clock) = config(json!({"absolute_timeout": 100}), 0x40);
    let s = saved(&c);
    let value = jar(s.set_cookies())["session=".len()..].to_owned();
    let open = |cookie: &str| {
        let mut o = Session::new(&c, req(cookie));
        block_on(o.open()).err().map(|e| e.to_string())
    };
    assert_eq!(open("a=1").as_deref(), Some("missing session cookie"));
    assert_eq!(open("session=").as_deref(), Some("invalid session header"));
    assert_eq!(
        open(&format!("session={}", &value[..109])).as_deref(),
        Some("invalid session header")
    );
    assert_eq!(
        open(&format!("session=!{}", &value[1..])).as_deref(),
        Some("unable to base64url decode session header (invalid input)")
    );
    let mut eq = value.clone();
    eq.replace_range(100..101, "=");
    assert_eq!(
        open(&format!("session={eq}")).as_deref(),
        Some("invalid session message authentication code")
    );
    let mut ty = value.clone();
    ty.replace_range(0..2, "Ag");
    assert_eq!(
        open(&format!("session={ty}")).as_deref(),
        Some("invalid session cookie type")
    );
    clock.set(NOW + 100);
    assert_eq!(open(&format!("session={value}")), None);
    clock.set(NOW + 101);
    assert_eq!(
        open(&format!("session={value}")).as_deref(),
        Some("session absolute timeout exceeded")
    );
    clock.set(NOW - 50);
    assert_eq!(open(&format!("session={value}")), None);
    clock.set(NOW);
    let mut extra = value.clone();
    extra.insert(110, 'A');
    assert_eq!(open(&format!("session={extra}")), None);
    let mut first = value.clone();
    let ch = if first[110..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    first.replace_range(110..111, ch);
    assert!(
        open(&format!("session={first}"))
            .unwrap()
            .starts_with("unable to decrypt session data")
    );
    let short = &value[..value.len() - 1];
    assert!(
        open(&format!("session={short}"))
            .unwrap()
            .starts_with("unable to decrypt session data")
    );
}

#[test]
fn storage_flag_mismatch_is_invalid_session_flags() {
    let (cookie_cfg, _) = config(json!({}), 0x40);
    let (storage_cfg, _) =
        config_with(json!({"storage": "redis"}), 0x40, Some(Recorder::default()));
    let s = saved(&cookie_cfg);
    let mut o = Session::new(&storage_cfg, req(&jar(s.set_cookies())));
    assert_eq!(
        block_on(o.open()).unwrap_err().to_string(),
        "invalid session flags"
    );
}

#[test]
fn storage_load_errors_match_the_reference() {
    let store = Recorder::default();
    let (c, _) = config_with(json!({"storage": "redis"}), 0x40, Some(store.clone()));
    let s = saved(&c);
    let cookie = jar(s.set_cookies());
    store.sets.lock().unwrap().clear();
    let mut o = Session::new(&c, req(&cookie));
    assert_eq!(
        block_on(o.open()).unwrap_err().to_string(),
        "unable to load session"
    );
    let failing = Recorder {
        fail_get: Some("boom"),
        ..Recorder::default()
    };
    let (c2, _) = config_with(json!({"storage": "redis"}), 0x40, Some(failing));
    let mut o = Session::new(&c2, req(&cookie));
    let err = block_on(o.open()).unwrap_err().to_string();
    assert!(
        err.starts_with("unable to load session (") && err.contains("boom"),
        "{err}"
    );
}

#[test]
fn refresh_table_with_default_timeouts() {
    for (dt, expect) in [
        (0, "none"),
        (60, "none"),
        (61, "touch"),
        (500, "touch"),
        (900, "touch"),
    ] {
        let (c, clock) = config(json!({}), 0x40);
        let s = saved(&c);
        clock.set(NOW + dt);
        let mut o = opened(&c, &jar(s.set_cookies()));
        block_on(o.refresh()).unwrap();
        match expect {
            "none" => assert!(o.set_cookies().is_empty(), "dt {dt}"),
            _ => assert_eq!(
                o.cookie_metadata().unwrap().idling_offset,
                u32::try_from(dt).unwrap()
            ),
        }
    }
    let (c, clock) = config(json!({"idling_timeout": 0}), 0x40);
    let s = saved(&c);
    for (dt, saves) in [(2700, false), (2701, true)] {
        clock.set(NOW + dt);
        let mut o = opened(&c, &jar(s.set_cookies()));
        block_on(o.refresh()).unwrap();
        assert_eq!(!o.set_cookies().is_empty(), saves, "dt {dt}");
        if saves {
            assert_eq!(o.cookie_metadata().unwrap().rolling_offset, 2701);
        }
    }
}

#[test]
fn refresh_threshold_is_ceil_of_three_quarters() {
    let (c, clock) = config(json!({"idling_timeout": 0, "rolling_timeout": 10}), 0x40);
    let s = saved(&c);
    for (dt, saves) in [(8, false), (9, true)] {
        clock.set(NOW + dt);
        let mut o = opened(&c, &jar(s.set_cookies()));
        block_on(o.refresh()).unwrap();
        assert_eq!(!o.set_cookies().is_empty(), saves);
    }
}

#[test]
fn touch_then_reopen_uses_the_new_idling_offset() {
    let (c, clock) = config(json!({"idling_timeout": 900}), 0x40);
    let s = saved(&c);
    clock.set(NOW + 500);
    let mut t = opened(&c, &jar(s.set_cookies()));
    block_on(t.touch()).unwrap();
    clock.set(NOW + 1300);
    let o = opened(&c, &jar(t.set_cookies()));
    assert_eq!(
        o.get_property("idling-timeout").unwrap(),
        Some(Property::Number(100))
    );
    clock.set(NOW + 1401);
    let mut o = Session::new(&c, req(&jar(t.set_cookies())));
    assert_eq!(
        block_on(o.open()).unwrap_err().to_string(),
        "session idling timeout exceeded"
    );
}

#[test]
fn compression_threshold_is_strictly_greater() {
    let (c, _) = config(json!({}), 0x40);
    // [[{"k":"…"},"default"]] is 22 bytes plus the value.
    for (len, deflated) in [(1024 - 22, false), (1025 - 22, true)] {
        let mut s = Session::new(&c, Request::new());
        s.set("k", &"a".repeat(len)).unwrap();
        block_on(s.save()).unwrap();
        let flags = s.cookie_metadata().unwrap().flags.bits();
        assert_eq!(flags & 0x10 != 0, deflated, "len {len}");
    }
}

#[test]
fn deflate_level_is_fast_only_where_it_cannot_cost_a_cookie() {
    use session_core::session_codec::{DeflateLevel, deflate, deflate_with_level, encoded_len};
    let (c, _) = config(json!({}), 0x40);
    let words = |n: usize| {
        let list = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
        ];
        let mut state = 7u32;
        let mut out = String::new();
        while out.len() < n {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            out.push_str(list[(state % 7) as usize]);
            out.push(' ');
        }
        out.truncate(n);
        out
    };
    // 2 KB fits in one cookie uncompressed: level 1. 6 KB would need two: the reference's 6.
    for (len, level) in [(2048, DeflateLevel::Fast), (6000, DeflateLevel::Reference)] {
        let value = words(len);
        let json = format!(r#"[[{{"k":"{value}"}},"default"]]"#);
        let mut s = Session::new(&c, Request::new());
        s.set("k", &value).unwrap();
        block_on(s.save()).unwrap();
        let header = s.cookie_metadata().unwrap();
        let want = deflate_with_level(json.as_bytes(), level).unwrap();
        assert_eq!(
            header.data_size as usize,
            encoded_len(want.len()),
            "len {len}"
        );
        let reference = deflate(json.as_bytes()).unwrap();
        if level == DeflateLevel::Fast {
            assert!(
                want.len() > reference.len(),
                "level 1 is distinguishable here"
            );
        }
        assert_eq!(
            s.set_cookies().len(),
            1,
            "one cookie, as the reference sends"
        );
        let mut o = Session::new(
            &c,
            Request::new().with_cookie(s.set_cookies()[0].split(';').next().unwrap()),
        );
        block_on(o.open()).unwrap();
        assert_eq!(o.get::<String>("k").unwrap().unwrap(), value);
    }
}

#[test]
fn set_cookie_merging_with_existing_response_cookies() {
    let (c, _) = config(json!({}), 0x40);
    let mut s = Session::new(&c, Request::new()).with_response_cookies(vec![
        "a=1".into(),
        "session=old; Path=/".into(),
        "b=2".into(),
    ]);
    block_on(s.save()).unwrap();
    assert_eq!(s.set_cookies().len(), 3);
    assert!(s.set_cookies()[1].starts_with("session=AQAA"));
}

#[test]
fn remember_resave_keeps_remember_creation_time() {
    let (c, clock) = config(json!({"remember": true, "remember_safety": "Low"}), 0x40);
    let s = saved(&c);
    clock.set(NOW + 100);
    let mut o = opened(&c, &jar(s.set_cookies()));
    block_on(o.save()).unwrap();
    assert_eq!(o.cookie_metadata().unwrap().rolling_offset, 100);
    assert_eq!(o.remember_metadata().unwrap().rolling_offset, 100);
    assert_eq!(o.remember_metadata().unwrap().creation_time, NOW);
}

#[test]
fn destroy_with_and_without_remember_cookie() {
    let (c, _) = config(json!({"remember": true, "remember_safety": "None"}), 0x40);
    let s = saved(&c);
    let both = jar(s.set_cookies());
    let mut d = opened(&c, &both);
    block_on(d.destroy()).unwrap();
    let names: Vec<&str> = d
        .set_cookies()
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["session", "remember"]);
    let only = both.split("; ").next().unwrap().to_owned();
    let mut d = opened(&c, &only);
    block_on(d.destroy()).unwrap();
    assert_eq!(d.set_cookies().len(), 1);
}

#[test]
fn set_remember_false_with_both_cookies_writes_forget_only() {
    let (c, _) = config(json!({"remember": true, "remember_safety": "None"}), 0x40);
    let s = saved(&c);
    let mut o = opened(&c, &jar(s.set_cookies()));
    o.set_remember(false).unwrap();
    block_on(o.save()).unwrap();
    assert_eq!(o.set_cookies().len(), 1);
    assert_eq!(o.cookie_metadata().unwrap().flags.bits(), 0x0002);
    let mut d = opened(&c, &jar(o.set_cookies()));
    block_on(d.destroy()).unwrap();
    assert_eq!(d.set_cookies().len(), 1);
}

#[test]
fn multi_audience_logout_of_last_entry_with_remember_succeeds() {
    let (c, _) = config(json!({"remember": true, "remember_safety": "None"}), 0x40);
    let a = saved(&c);
    let mut b = Session::new(&c, req(&jar(a.set_cookies())));
    b.set_audience("second").unwrap();
    let _ = block_on(b.open());
    block_on(b.save()).unwrap();
    let session_only = jar(b.set_cookies()).split("; ").next().unwrap().to_owned();
    let mut l = Session::new(
        &c,
        req(&format!("{session_only}; {}", jar(&a.set_cookies()[1..]))),
    );
    l.set_audience("second").unwrap();
    block_on(l.open()).unwrap();
    block_on(l.logout()).unwrap();
    let names: Vec<&str> = l
        .set_cookies()
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["session", "remember"]);
}

#[test]
fn remember_rolling_timeout_zero_gives_400_days() {
    let (c, _) = config(
        json!({"remember": true, "remember_safety": "None", "remember_rolling_timeout": 0}),
        0x40,
    );
    let s = saved(&c);
    assert!(
        s.set_cookies()[1].ends_with("; Expires=Wed, 18 Dec 2024 22:13:20 GMT; Max-Age=34560000")
    );
}

#[test]
fn hashed_storage_key_and_subject_metadata() {
    let store = Recorder::default();
    let (c, _) = config_with(
        json!({"storage": "redis", "hash_storage_key": true, "hash_subject": true, "store_metadata": true, "subject": "john@example.com"}),
        0x80,
        Some(store.clone()),
    );
    saved(&c);
    let sets = store.sets.lock().unwrap();
    assert_eq!(sets[0].1, "gthkCFMLdl5G6_R4BwlQJ-gHvAhnSw3nfuXvL659BJI");
    assert_eq!(
        sets[0].7.as_ref().unwrap().subjects,
        ["hV-W6YPx-Oi-lEaStvcZ_Q"]
    );
}

#[test]
fn two_audiences_put_raw_subjects_in_metadata() {
    let store = Recorder::default();
    let (c, _) = config_with(
        json!({"storage": "redis", "store_metadata": true}),
        0x40,
        Some(store.clone()),
    );
    second_audience(&c, "s1", "s2");
    let sets = store.sets.lock().unwrap();
    assert_eq!(sets[0].7.as_ref().unwrap().subjects, ["czE"]);
    let last = sets.last().unwrap().7.clone().unwrap();
    assert_eq!(
        last,
        Metadata::new(
            vec!["YTE".into(), "YTI".into()],
            vec!["s1".into(), "s2".into()]
        )
    );
}

#[test]
fn storage_ttl_examples() {
    let store = Recorder::default();
    let (c, clock) = config_with(
        json!({"storage": "redis", "absolute_timeout": 1000}),
        0x40,
        Some(store.clone()),
    );
    let s = saved(&c);
    clock.set(NOW + 500);
    let mut o = opened(&c, &jar(s.set_cookies()));
    block_on(o.save()).unwrap();
    let ttls: Vec<u64> = store.sets.lock().unwrap().iter().map(|s| s.3).collect();
    assert_eq!(ttls, [1000, 500]); // the reference gives 1500 the second time (docs/semantics.md §19 #1)
    let store = Recorder::default();
    let (c, _) = config_with(
        json!({"storage": "redis", "remember": true, "remember_safety": "None"}),
        0x40,
        Some(store.clone()),
    );
    saved(&c);
    let sets = store.sets.lock().unwrap();
    assert_eq!((sets[1].0.as_str(), sets[1].3), ("remember", 604_800));
}

#[test]
fn header_helpers_example() {
    let (c, clock) = config(
        json!({"audience": "aud", "subject": "sub", "response_headers": ["id", "audience", "subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"]}),
        0x40,
    );
    let s = saved(&c);
    clock.set(NOW + 10);
    let mut o = opened(&c, &jar(s.set_cookies()));
    o.set_headers(&[]).unwrap();
    let got: Vec<(String, String)> = o
        .response_headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("session-id", "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8"),
        ("session-audience", "aud"),
        ("session-subject", "sub"),
        ("session-timeout", "890"),
        ("session-idling-timeout", "890"),
        ("session-rolling-timeout", "3590"),
        ("session-absolute-timeout", "86390"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

#[test]
fn nonexistent_and_closed_session_messages() {
    let (c, _) = config(json!({}), 0x40);
    let mut s = Session::new(&c, Request::new());
    let msg = |r: Result<(), Error>| r.unwrap_err().to_string();
    assert_eq!(
        msg(block_on(s.touch())),
        "unable to touch nonexistent session"
    );
    assert_eq!(
        msg(block_on(s.refresh())),
        "unable to refresh nonexistent session"
    );
    assert_eq!(
        msg(block_on(s.logout())),
        "unable to logout nonexistent session"
    );
    assert_eq!(
        msg(block_on(s.destroy())),
        "unable to destroy nonexistent session"
    );
    assert_eq!(
        msg(s.clear_request_cookie()),
        "unable to clear session request cookie on nonexistent session"
    );
    assert_eq!(
        msg(s.set_headers(&[])),
        "unable to set request/response headers on nonexistent session"
    );
    assert_eq!(
        msg(s.set_request_headers(&[])),
        "unable to set request headers on nonexistent session"
    );
    assert_eq!(
        msg(s.set_response_headers(&[])),
        "unable to set response headers on nonexistent session"
    );
    assert_eq!(
        msg(block_on(s.info().save())),
        "unable to save session info on nonexistent session"
    );
    s.close();
    assert_eq!(msg(block_on(s.save())), "unable to save closed session");
    assert_eq!(msg(block_on(s.touch())), "unable to touch closed session");
    assert_eq!(
        msg(s.set_subject(None)),
        "unable to set subject on closed session"
    );
    assert_eq!(
        msg(s.set_audience("x")),
        "unable to set audience on closed session"
    );
    assert_eq!(
        msg(s.set_remember(true)),
        "unable to set remember on closed session"
    );
    assert_eq!(
        s.get_property("id").unwrap_err().to_string(),
        "unable to get session property on closed session"
    );
    assert_eq!(
        msg(s.info().set("k", &1)),
        "unable to set session info on closed session"
    );
}

#[test]
fn multi_audience_json_examples() {
    let (c, _) = config(json!({}), 0x40);
    let mut a = Session::new(&c, Request::new());
    a.set_audience("a1").unwrap();
    a.set_subject(Some("s1")).unwrap();
    a.set("x", &1).unwrap();
    block_on(a.save()).unwrap();
    let mut b = Session::new(&c, req(&jar(a.set_cookies())));
    b.set_audience("a2").unwrap();
    b.set_subject(Some("s2")).unwrap();
    let _ = block_on(b.open());
    b.set("y", &2).unwrap();
    block_on(b.save()).unwrap();
    let mut d = Session::new(&c, req(&jar(b.set_cookies())));
    d.set_audience("a3").unwrap();
    let _ = block_on(d.open());
    block_on(d.save()).unwrap();
    let mut e = Session::new(&c, req(&jar(d.set_cookies())));
    e.set_audience("a1").unwrap();
    block_on(e.open()).unwrap();
    assert_eq!(e.inspect().entries, 3);
    e.set_audience("a3").unwrap();
    assert_eq!(e.inspect().entries, 2);
    assert_eq!(e.get_data().unwrap(), &json!({"x": 1}));
    assert_eq!(e.get_subject().unwrap(), Some("s1"));
}

#[test]
fn enforce_same_subject_prunes_and_keeps_current_entry() {
    let (c, _) = config(json!({"enforce_same_subject": true}), 0x40);
    let b = second_audience(&c, "alice", "bob");
    assert_eq!(b.inspect().entries, 1);
    assert_eq!(b.get_audience().unwrap(), Some("a2"));
    assert_eq!(b.get_subject().unwrap(), Some("bob"));
}

#[test]
fn at_keys_are_prefixed_with_cookie_storage_and_info_falls_back_to_data() {
    let (c, _) = config(json!({}), 0x40);
    let mut s = Session::new(&c, Request::new());
    s.set("plain", &true).unwrap();
    s.set("@foo", "bar").unwrap();
    s.info().set("inf", "val").unwrap();
    assert_eq!(
        s.get_data().unwrap(),
        &json!({"plain": true, "$@foo": "bar", "@inf": "val"})
    );
    assert_eq!(s.get::<String>("@foo").unwrap().as_deref(), Some("bar"));
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread")]
async fn remember_open_at_medium_runs_inside_a_tokio_runtime() {
    let (c, clock) = config(json!({"remember": true, "subject": "john"}), 0xc0);
    clock.set(NOW + 7200);
    let mut s = Session::new(&c, req(&jar(&[V4M.to_owned()])));
    s.open().await.unwrap();
    assert_eq!(s.set_cookies(), [V4R_REMEMBER, V4R_SESSION]);
}
