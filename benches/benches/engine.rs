//! Engine benchmarks on cookie storage: `open` + `get` and `new` + `set` +
//! `save` for a 100-byte session, a 2 KB deflated one and a 4-chunk one;
//! `start` on an existing session; a remember-only open at Medium. `open+get/100B` reopens
//! one cookie, as a browser's repeated requests do (answered from the cache of opened
//! sessions: session-core's `opened.rs`); `open+get/100B-keys` does so with that cache off
//! (the key still keeps the session's derived keys); `open+get/100B-cold` opens 4 096
//! sessions in turn, so nearly every open misses both tables and does all the work (and
//! keeps its result); `open+get/100B-cold-no-cache` likewise with the cache off.
//! `open+get/100B-first` (and `-first-no-cache`) open two sessions in turn whose ids share
//! both tables' slots: every open is a first open, with the memory it touches in cache.
//! `open+get/13-keys-first` is a first open (as `-first`) of a session of 13 string values
//! (≈ 700 bytes of JSON) that reads two of them.
//! `roll/100B` is a returning browser under rolling saves: open the cookie the last save set
//! (answered from the opened-sessions cache, which that save filled), set a value, save.
//!
//! Run: `cargo bench -p session-benches --bench engine`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use session_core::{Config, Request, Session, SessionConfig, block_on};

fn config(json: &str) -> SessionConfig {
    let config: Config = serde_json::from_str(json).unwrap();
    config.build().unwrap()
}

/// A string of `len` characters that deflates like real text, not to nothing.
fn text(len: usize) -> String {
    let mut s = String::with_capacity(len);
    let mut i = 7u32;
    while s.len() < len {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        s.push(char::from(b'a' + u8::try_from((i >> 16) % 26).unwrap()));
        if i.is_multiple_of(5) {
            s.push(' ');
        }
    }
    s
}

/// Random-looking base64url, so a payload does not compress.
fn noise(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 1u64;
    (0..len)
        .map(|_| {
            i ^= i << 13;
            i ^= i >> 7;
            i ^= i << 17;
            char::from(ALPHABET[usize::try_from(i % 64).unwrap()])
        })
        .collect()
}

/// The Cookie header a browser would send back after `session` was saved.
fn cookie_header(session: &Session) -> String {
    session
        .set_cookies()
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn save_one(config: &SessionConfig, value: &Value) -> Session {
    let mut session = Session::new(config, Request::new());
    session.set("v", value).unwrap();
    block_on(session.save()).unwrap();
    session
}

fn cases_100b_json() -> &'static str {
    r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0}"#
}

/// The `Cookie` headers of `n` saved 100-byte sessions.
fn many_sessions(config: &SessionConfig, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| cookie_header(&save_one(config, &Value::String(text(70)))))
        .collect()
}

/// Session ids that differ only in their last byte: every id lands in the same slot of the
/// derived-key table and of the opened-sessions cache.
#[derive(Debug, Default)]
struct TwinSids(std::sync::atomic::AtomicU8);

impl session_core::env::SidSource for TwinSids {
    fn generate(&self) -> Result<[u8; 32], session_core::env::SidError> {
        let mut sid = [0x5a; 32];
        sid[31] = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(sid)
    }
}

fn by_size(c: &mut Criterion) {
    let cases: [(&str, &str, Value); 3] = [
        ("100B", cases_100b_json(), Value::String(text(70))),
        (
            "2KB-deflated",
            r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0}"#,
            Value::String(text(2048)),
        ),
        (
            "4-chunks",
            r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0,"compression_threshold":0}"#,
            Value::String(noise(11_000)),
        ),
    ];
    let mut g = c.benchmark_group("engine");
    for (label, json, value) in cases {
        let config = config(json);
        let saved = save_one(&config, &value);
        let header = cookie_header(&saved);
        if label == "4-chunks" {
            assert_eq!(
                saved.set_cookies().len(),
                4,
                "the 4-chunk case must span 4 cookies"
            );
        }
        g.bench_function(format!("open+get/{label}"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
                block_on(s.open()).unwrap();
                s.get::<Value>("v").unwrap()
            })
        });
        g.bench_function(format!("new+set+save/{label}"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new());
                s.set("v", black_box(&value)).unwrap();
                block_on(s.save()).unwrap();
                s
            })
        });
        if label == "100B" {
            let mut cookie = header.clone();
            g.bench_function(format!("roll/{label}"), |b| {
                b.iter(|| {
                    let request = Request::new().with_cookie(std::mem::take(&mut cookie));
                    let mut s = Session::new(&config, request);
                    block_on(s.open()).unwrap();
                    s.set("v", black_box(&value)).unwrap();
                    block_on(s.save()).unwrap();
                    cookie = cookie_header(&s);
                })
            });
        }
    }
    // The same session again with the opened-sessions cache off: its derived keys are kept.
    let no_cache = serde_json::from_str::<Config>(cases_100b_json())
        .unwrap()
        .builder()
        .opened_cache(false)
        .build()
        .unwrap();
    let header = cookie_header(&save_one(&no_cache, &Value::String(text(70))));
    g.bench_function("open+get/100B-keys", |b| {
        b.iter(|| {
            let mut s = Session::new(&no_cache, Request::new().with_cookie(header.as_bytes()));
            block_on(s.open()).unwrap();
            s.get::<Value>("v").unwrap()
        })
    });
    // Many sessions in turn (four times the 1 024 slots of each table): nearly every open is
    // a first open (a busy site, or a table too small for its traffic).
    let twin = |opened_cache| {
        serde_json::from_str::<Config>(cases_100b_json())
            .unwrap()
            .builder()
            .opened_cache(opened_cache)
            .sid_source(std::sync::Arc::new(TwinSids::default()))
            .build()
            .unwrap()
    };
    // Two sessions whose ids share their first bytes, opened in turn: each open evicts the
    // other from the derived-key table and from the opened-sessions cache (both pick a slot
    // from the id's first bytes), so every open is a first open that does all the work —
    // with the memory it touches in cache, as in the primitives' own benchmarks.
    for (label, config, sessions) in [
        ("open+get/100B-cold", config(cases_100b_json()), 4096),
        ("open+get/100B-cold-no-cache", no_cache, 4096),
        ("open+get/100B-first", twin(true), 2),
        ("open+get/100B-first-no-cache", twin(false), 2),
    ] {
        let headers = many_sessions(&config, sessions);
        let mut turn = 0;
        g.bench_function(label, |b| {
            b.iter(|| {
                turn = (turn + 1) % headers.len();
                let request = Request::new().with_cookie(headers[turn].as_bytes());
                let mut s = Session::new(&config, request);
                block_on(s.open()).unwrap();
                s.get::<Value>("v").unwrap()
            })
        });
    }
    // A first open of a session with more keys than the handler reads.
    let config13 = twin(true);
    let headers: Vec<String> = (0..2)
        .map(|_| {
            let mut s = Session::new(&config13, Request::new());
            for i in 0..12 {
                let value = format!("value number {i} of the session {}", text(10));
                s.set(&format!("key{i}"), &value).unwrap();
            }
            s.set("v", &text(70)).unwrap();
            block_on(s.save()).unwrap();
            cookie_header(&s)
        })
        .collect();
    let mut turn = 0;
    g.bench_function("open+get/13-keys-first", |b| {
        b.iter(|| {
            turn = (turn + 1) % headers.len();
            let request = Request::new().with_cookie(headers[turn].as_bytes());
            let mut s = Session::new(&config13, request);
            block_on(s.open()).unwrap();
            (
                s.get::<Value>("v").unwrap(),
                s.get::<Value>("key3").unwrap(),
            )
        })
    });
    // start() on an existing, fresh session (default timeouts: no refresh due).
    let config = config(r#"{"secret":"bench"}"#);
    let saved = save_one(&config, &Value::String(text(70)));
    let header = cookie_header(&saved);
    g.bench_function("start/100B", |b| {
        b.iter(|| {
            let started = block_on(session_core::start(
                &config,
                Request::new().with_cookie(header.as_bytes()),
            ));
            assert!(started.exists);
            started
        })
    });
    g.finish();
}

fn remember(c: &mut Criterion) {
    let config = config(
        r#"{"secret":"bench","remember":true,"remember_safety":"Medium","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0}"#,
    );
    let saved = save_one(&config, &Value::String(text(70)));
    let remember = saved
        .set_cookies()
        .iter()
        .find(|c| c.starts_with("remember="))
        .expect("a remember cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut g = c.benchmark_group("engine");
    g.sample_size(20);
    g.bench_function("remember-only-open/Medium", |b| {
        b.iter(|| {
            let mut s = Session::new(&config, Request::new().with_cookie(remember.as_bytes()));
            block_on(s.open()).unwrap();
            s
        })
    });
    g.finish();
}

#[path = "common/primitives.rs"]
mod primitives;
use primitives::primitives;

criterion_group!(benches, by_size, remember, primitives);
criterion_main!(benches);
