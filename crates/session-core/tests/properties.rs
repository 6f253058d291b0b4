//! Property tests: any sequence of operations leaves a cookie jar that opens
//! to exactly what was last saved (or to nothing after destroy), and no
//! Cookie header makes `open` panic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};
use session_core::env::FixedClock;
use session_core::session_storage::memory::MemoryStorage;
use session_core::{Config, Request, Session, SessionConfig, block_on, session_codec};

#[derive(Debug, Clone)]
enum Op {
    Save(Value),
    Touch,
    Refresh,
    Logout,
    Destroy,
}

fn data() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any::<i32>(), "[a-z]{0,12}").prop_map(|(n, s)| json!({"n": n, "s": s})),
        (0usize..9000).prop_map(|n| json!({"big": "x".repeat(n)})),
        prop::collection::vec("[ -~]{0,40}", 0..40).prop_map(|v| json!({"list": v})),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => data().prop_map(Op::Save),
        2 => Just(Op::Touch),
        2 => Just(Op::Refresh),
        1 => Just(Op::Logout),
        1 => Just(Op::Destroy),
    ]
}

#[derive(Debug, Clone)]
struct Setup {
    config: Value,
    storage: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just(0u64), Just(16), Just(1024)],
        any::<bool>(),
        prop_oneof![Just("None"), Just("Low")],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some("__Host-")), Just(Some("__Secure-"))],
        any::<bool>(),
    )
        .prop_map(
            |(threshold, remember, safety, storage, timeouts, prefix, hash)| {
                let mut config = json!({
                    "secret": "property-secret",
                    "compression_threshold": threshold,
                    "remember": remember,
                    "remember_safety": safety,
                    "hash_storage_key": hash,
                });
                if !timeouts {
                    for t in ["idling_timeout", "rolling_timeout", "absolute_timeout"] {
                        config[t] = json!(0);
                    }
                }
                if let Some(p) = prefix {
                    config["cookie_prefix"] = json!(p);
                }
                if storage {
                    config["storage"] = json!("redis");
                }
                Setup { config, storage }
            },
        )
}

fn build(setup: &Setup, clock: &Arc<FixedClock>, store: &MemoryStorage) -> SessionConfig {
    let config: Config = serde_json::from_value(setup.config.clone()).unwrap();
    let mut b = config.builder().clock(clock.clone());
    if setup.storage {
        b = b.storage(store.clone());
    }
    b.build().unwrap()
}

fn apply(jar: &mut BTreeMap<String, String>, set_cookies: &[String]) {
    for c in set_cookies {
        let pair = c.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        if value.is_empty() {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}

fn request(jar: &BTreeMap<String, String>) -> Request {
    let header = jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    if header.is_empty() {
        Request::new()
    } else {
        Request::new().with_cookie(header)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_operation_sequence_leaves_a_jar_that_opens_to_what_was_saved(
        setup in setup(),
        ops in prop::collection::vec((op(), 0u64..30), 1..8),
    ) {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let store = MemoryStorage::new();
        let config = build(&setup, &clock, &store);
        let mut jar = BTreeMap::new();
        let mut saved: Option<Value> = None;
        for (op, dt) in ops {
            let mut s = Session::new(&config, request(&jar));
            let opened = block_on(s.open()).is_ok();
            prop_assert_eq!(opened, saved.is_some());
            match op {
                Op::Save(data) => {
                    s.set_data(data.clone()).unwrap();
                    block_on(s.save()).unwrap();
                    saved = Some(data);
                }
                Op::Touch if opened => block_on(s.touch()).unwrap(),
                Op::Refresh if opened => block_on(s.refresh()).unwrap(),
                Op::Logout | Op::Destroy if opened => {
                    if matches!(op, Op::Logout) {
                        block_on(s.logout()).unwrap();
                    } else {
                        block_on(s.destroy()).unwrap();
                    }
                    saved = None;
                }
                _ => {}
            }
            apply(&mut jar, s.set_cookies());
            clock.advance(dt);
            let mut check = Session::new(&config, request(&jar));
            let result = block_on(check.open());
            match &saved {
                Some(data) => {
                    prop_assert!(result.is_ok(), "{:?} after {:?}", result, jar.keys());
                    prop_assert_eq!(check.get_data().unwrap(), data);
                }
                None => prop_assert!(result.is_err()),
            }
        }
    }

    #[test]
    fn arbitrary_cookie_headers_never_make_open_panic(
        header in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..600),
            "[A-Za-z0-9_=; -]{0,400}".prop_map(String::into_bytes),
            "(session[2-9]?|remember[2-9]?)=[A-Za-z0-9_-]{0,300}(; (session[2-9]?|remember[2-9]?)=[A-Za-z0-9_=-]{0,300}){0,4}"
                .prop_map(String::into_bytes),
        ],
        storage in any::<bool>(),
        remember in any::<bool>(),
    ) {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let store = MemoryStorage::new();
        let setup = Setup {
            config: json!({"secret": "s", "remember": remember, "remember_safety": "None",
                           "storage": if storage { json!("redis") } else { json!(false) }}),
            storage,
        };
        let config = build(&setup, &clock, &store);
        let mut s = Session::new(&config, Request::new().with_cookie(header.clone()));
        let _ = block_on(s.open());
        let _ = s.clear_request_cookie();
        let _ = session_core::cookie::clear_cookie(&header, "session", 9);
        let _ = session_core::cookie::find_cookie(&[&header], "session");
    }
}

/// Opens `jar` under `config`: the data, or the error's text.
fn open_outcome(config: &SessionConfig, jar: &BTreeMap<String, String>) -> Result<Value, String> {
    let mut s = Session::new(config, request(jar));
    block_on(s.open()).map_err(|e| e.to_string())?;
    s.get_data().cloned().map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The cache of opened sessions (on by default) answers exactly what a full open does:
    /// for the saved cookies, for any one character of them changed or cut, and later on.
    #[test]
    fn the_opened_cache_answers_exactly_what_a_full_open_does(
        setup in setup(),
        value in data(),
        edit in (any::<prop::sample::Index>(), prop_oneof![
            "[A-Za-z0-9_-]".prop_map(Some),
            Just(None),
        ]),
        later in prop_oneof![Just(0u64), 1u64..4000, Just(100_000)],
    ) {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let store = MemoryStorage::new();
        let cached = build(&setup, &clock, &store);
        let config: Config = serde_json::from_value(setup.config.clone()).unwrap();
        let mut b = config.builder().clock(clock.clone()).opened_cache(false);
        if setup.storage {
            b = b.storage(store.clone());
        }
        let uncached = b.build().unwrap();

        let mut s = Session::new(&cached, Request::new());
        s.set("v", &value).unwrap();
        block_on(s.save()).unwrap();
        let mut jar = BTreeMap::new();
        apply(&mut jar, s.set_cookies());

        // Twice on the cached configuration: a full open, then (when kept) a hit.
        for _ in 0..2 {
            prop_assert_eq!(open_outcome(&cached, &jar), open_outcome(&uncached, &jar));
        }
        let (index, replacement) = edit;
        let mut edited = jar.clone();
        let first = edited.values_mut().next().unwrap();
        let at = index.index(first.len());
        match replacement {
            Some(c) => first.replace_range(at..=at, &c),
            None => first.truncate(at),
        }
        prop_assert_eq!(open_outcome(&cached, &edited), open_outcome(&uncached, &edited));
        prop_assert_eq!(open_outcome(&cached, &jar), open_outcome(&uncached, &jar));
        clock.advance(later);
        prop_assert_eq!(open_outcome(&cached, &jar), open_outcome(&uncached, &jar));
    }
}

#[test]
fn a_valid_header_with_garbage_payloads_never_panics() {
    // A real header followed by every kind of broken payload.
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let config = Config {
        secret: Some("s".into()),
        ..Config::default()
    }
    .builder()
    .clock(clock)
    .build()
    .unwrap();
    let mut s = Session::new(&config, Request::new());
    s.set("k", &"v".repeat(5000)).unwrap();
    block_on(s.save()).unwrap();
    let value = s.set_cookies()[0].split(';').next().unwrap()["session=".len()..].to_owned();
    let payload = |v: &str| session_codec::b64_decode(v.get(110..).unwrap_or(""));
    let original = payload(&value);
    let mut broken = 0;
    for cut in [110, 111, 150, value.len() - 1] {
        for tail in ["", "A", "==", "\u{e9}", "%%%"] {
            let candidate = format!("{}{tail}", &value[..cut.min(value.len())]);
            // Cutting the last character and appending "A" (or "==", which
            // the tolerant decoder drops) can rebuild the very same payload
            // bytes when the cut character only carried unused bits or was
            // itself "A": that cookie is not broken, and must open.
            let intact = payload(&candidate) == original;
            let mut o = Session::new(
                &config,
                Request::new().with_cookie(format!("session={candidate}")),
            );
            let opened = block_on(o.open());
            assert_eq!(
                opened.is_ok(),
                intact,
                "cut {cut}, tail {tail:?}: {opened:?}"
            );
            broken += usize::from(!intact);
        }
    }
    assert!(broken >= 18, "only {broken} of 20 candidates were broken");
}
