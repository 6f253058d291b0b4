//! Engine-level checks of a vectors case, through `session-core`.
//!
//! This is what session-core's `tests/vectors.rs` runs on every case.
//!
//! Every kind of case of `lua-resty-session-vectors/1` is replayed through the
//! session engine, with the case's configuration, request values and clock:
//!
//! - `roundtrip`: the reference's cookies open to the expected view (storage
//!   cases first load `storage.key` → `storage.value` into an in-memory
//!   store); then the save is replayed with the case's input, and our own
//!   cookies must carry the same names, attributes and header fields and open
//!   to the same view;
//! - `negative`, `timeout`, `transport`, `open`: the open gives the expected
//!   result, error text compared up to a trailing parenthesised detail;
//! - `remember_open`: the remember fallback gives the expected view and emits
//!   the expected cookies (names, attributes, `Expires`/`Max-Age`, flags);
//! - `operation`: `touch`, `refresh`, `start`, `logout`, `destroy` give the
//!   expected result and view, and the exact `Set-Cookie` values when the
//!   case says they are deterministic (otherwise names, attributes and header
//!   fields);
//! - `save_error`: the save fails with the expected error and emits nothing.
//!
//! Nothing here depends on case names; fields marked nondeterministic by a
//! case are not compared.

use std::sync::Arc;

use serde_json::{Value, json};
use session_core::env::{Clock, FixedClock, SystemClock};
use session_core::session_codec::Header;
use session_core::session_storage::memory::MemoryStorage;
use session_core::{Config, Property, Request, Session, SessionConfig, State, block_on};

/// The outcome of the engine-level check of one case.
///
/// ```
/// use session_vectors::engine::{Verdict, check};
/// let case = serde_json::json!({"kind": "a kind from the future"});
/// assert!(matches!(check(&case), Verdict::Skip(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The engine reproduced what the case expects.
    Pass,
    /// The engine disagreed; the text says how.
    Fail(String),
    /// The engine did not check the case; the text says why.
    Skip(String),
}

type Check = Result<(), String>;

/// Checks one case through the session engine.
///
/// ```
/// use session_vectors::engine::{Verdict, check};
/// let case = serde_json::json!({
///     "kind": "negative",
///     "config": {"secret": "RaJKp8UQW1"},
///     "open": {"request": {"cookie": null, "now": 1700000000}},
///     "expected": {"ok": false, "err": "missing session cookie"},
/// });
/// assert_eq!(check(&case), Verdict::Pass);
/// ```
#[must_use]
pub fn check(case: &Value) -> Verdict {
    let kind = case["kind"].as_str().unwrap_or("?");
    let result = match kind {
        "roundtrip" => roundtrip(case),
        "negative" | "timeout" | "transport" | "open" | "remember_open" => open_case(case),
        "operation" => operation(case),
        "save_error" => save_error(case),
        other => return Verdict::Skip(format!("unknown case kind {other:?}")),
    };
    match result {
        Ok(()) => Verdict::Pass,
        Err(e) => Verdict::Fail(e),
    }
}

// ---------------------------------------------------------------------------
// Building blocks.

/// The clock for a request: fixed at `now`, or the system clock when the
/// case says any time works (`now: null`).
fn clock(now: &Value) -> Arc<dyn Clock> {
    match now.as_u64() {
        Some(now) => Arc::new(FixedClock::new(now)),
        None => Arc::new(SystemClock),
    }
}

fn build_config(
    config: &Value,
    store: &MemoryStorage,
    now: &Value,
) -> Result<SessionConfig, String> {
    let parsed: Config = serde_json::from_value(config.clone())
        .map_err(|e| format!("configuration does not parse: {e}"))?;
    let uses_storage = matches!(
        &config["storage"],
        Value::String(s) if !s.is_empty() && s != "cookie"
    );
    let mut builder = parsed.builder().clock(clock(now));
    if uses_storage {
        builder = builder.storage(store.clone());
    }
    builder
        .build()
        .map_err(|e| format!("configuration does not build: {e}"))
}

fn request(req: &Value) -> Request {
    let mut r = Request::new();
    if let Some(cookie) = req["cookie"].as_str() {
        r = r.with_cookie(cookie);
    }
    if let Some(v) = req["remote_addr"].as_str() {
        r = r.with_remote_addr(v);
    }
    if let Some(v) = req["scheme"].as_str() {
        r = r.with_scheme(v);
    }
    if let Some(v) = req["user_agent"].as_str() {
        r = r.with_user_agent(v);
    }
    r
}

/// Load a case's `storage` record (`<cookie name>:<key>` → value).
fn load_storage(case: &Value, store: &MemoryStorage) -> Check {
    let Some(storage) = case.get("storage").filter(|s| s.is_object()) else {
        return Ok(());
    };
    let key = storage["key"]
        .as_str()
        .ok_or("storage.key is not a string")?;
    let value = storage["value"]
        .as_str()
        .ok_or("storage.value is not a string")?;
    let (name, key) = key
        .split_once(':')
        .ok_or_else(|| format!("storage.key {key:?} has no ':'"))?;
    store.insert(name, key, value, i64::MAX);
    Ok(())
}

/// Error texts compare up to a trailing parenthesised backend detail.
fn error_core(s: &str) -> &str {
    match s.find(" (") {
        Some(i) if s.ends_with(')') => &s[..i],
        _ => s,
    }
}

fn compare_err(expected: &Value, actual: Option<String>) -> Check {
    match (expected.as_str(), actual.as_deref()) {
        (None, None) => Ok(()),
        (Some(e), Some(a)) if error_core(e) == error_core(a) => Ok(()),
        (e, a) => Err(format!("error: expected {e:?}, got {a:?}")),
    }
}

/// JSON equality with cjson's habits: an empty array equals an empty object,
/// numbers compare by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Object(y)) | (Value::Object(y), Value::Array(x)) => {
            x.is_empty() && y.is_empty()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn property_json(session: &Session, name: &str) -> Value {
    match session.get_property(name) {
        Ok(Some(Property::Text(s))) => Value::String(s),
        Ok(Some(Property::Number(n))) => json!(n),
        _ => Value::Null,
    }
}

fn cookie_name(set_cookie: &str) -> &str {
    set_cookie.split('=').next().unwrap_or_default()
}

/// What the harness records about a session after an open or operation.
fn view(session: &Session, ok: bool, err: Option<String>) -> Value {
    let inspect = session.inspect();
    let closed = session.state() == State::Closed;
    let mut properties = serde_json::Map::new();
    for name in [
        "id",
        "timeout",
        "idling-timeout",
        "rolling-timeout",
        "absolute-timeout",
    ] {
        let v = if closed {
            Value::Null
        } else {
            property_json(session, name)
        };
        properties.insert(name.to_owned(), v);
    }
    json!({
        "ok": ok,
        "err": err,
        "exists": ok,
        "state": session.state().as_str(),
        "data": inspect.data.cloned().unwrap_or(Value::Null),
        "audience": inspect.audience,
        "subject": inspect.subject,
        "remember": if closed { Value::Null } else { json!(session.get_remember().unwrap_or(false)) },
        "properties": properties,
        "set_cookie_names": session.set_cookies().iter().map(|c| cookie_name(c)).collect::<Vec<_>>(),
    })
}

fn nondeterministic(expected: &Value) -> Vec<String> {
    expected["nondeterministic"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Compare a view with `expected`, skipping the listed fields (and `skip`).
fn compare_view(expected: &Value, actual: &Value, skip: &[&str]) -> Check {
    let nondet = nondeterministic(expected);
    let skipped = |path: &str| nondet.iter().any(|n| n == path) || skip.contains(&path);
    compare_err(&expected["err"], actual["err"].as_str().map(str::to_owned))?;
    for field in [
        "ok",
        "exists",
        "state",
        "data",
        "audience",
        "subject",
        "remember",
        "set_cookie_names",
    ] {
        if skipped(field) || expected.get(field).is_none() {
            continue;
        }
        if !json_eq(&expected[field], &actual[field]) {
            return Err(format!(
                "{field}: expected {}, got {}",
                expected[field], actual[field]
            ));
        }
    }
    if let Some(props) = expected["properties"].as_object() {
        for (name, want) in props {
            let path = format!("properties.{name}");
            if skipped(&path) {
                continue;
            }
            let got = &actual["properties"][name];
            if !json_eq(want, got) {
                return Err(format!("{path}: expected {want}, got {got}"));
            }
        }
    }
    Ok(())
}

async fn open_session(
    config: &SessionConfig,
    req: &Value,
    audience: &Value,
) -> (Session, Result<(), String>) {
    let mut session = Session::new(config, request(req));
    if let Some(aud) = audience.as_str()
        && let Err(e) = session.set_audience(aud)
    {
        return (session, Err(e.to_string()));
    }
    let result = session.open().await.map_err(|e| e.to_string());
    (session, result)
}

fn open_view(session: &Session, result: &Result<(), String>) -> Value {
    view(session, result.is_ok(), result.as_ref().err().cloned())
}

/// The attribute part of a `Set-Cookie` value (after the value).
fn attributes(set_cookie: &str) -> &str {
    set_cookie.find(';').map_or("", |i| &set_cookie[i..])
}

/// `Expires=…` depends on the creation time; mask it when time is not fixed.
fn mask_expires(attrs: &str) -> String {
    attrs
        .split("; ")
        .map(|part| {
            if part.starts_with("Expires=") {
                "Expires=*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn decode_set_cookie_header(set_cookie: &str) -> Option<Header> {
    let value = set_cookie.split(';').next()?.split_once('=')?.1;
    Header::decode_base64(value).ok().map(|(h, _)| h)
}

/// Compare emitted cookies with the reference's: names in order, attributes
/// (with `Expires` masked unless `fixed_time`), and the header fields that do
/// not depend on randomness.
fn compare_emitted(expected: &[Value], actual: &[String], fixed_time: bool) -> Check {
    let want: Vec<&str> = expected.iter().filter_map(Value::as_str).collect();
    let want_names: Vec<&str> = want.iter().map(|c| cookie_name(c)).collect();
    let got_names: Vec<&str> = actual.iter().map(|c| cookie_name(c)).collect();
    if want_names != got_names {
        return Err(format!(
            "Set-Cookie names: expected {want_names:?}, got {got_names:?}"
        ));
    }
    for (w, g) in want.iter().zip(actual) {
        let (wa, ga) = (attributes(w), attributes(g));
        let same = if fixed_time {
            wa == ga
        } else {
            mask_expires(wa) == mask_expires(ga)
        };
        if !same {
            return Err(format!(
                "attributes of {}: expected {wa:?}, got {ga:?}",
                cookie_name(w)
            ));
        }
        if let (Some(wh), Some(gh)) = (decode_set_cookie_header(w), decode_set_cookie_header(g)) {
            if wh.flags != gh.flags {
                return Err(format!(
                    "flags of {}: expected {:#06x}, got {:#06x}",
                    cookie_name(w),
                    wh.flags.bits(),
                    gh.flags.bits()
                ));
            }
            if fixed_time
                && (wh.creation_time, wh.rolling_offset, wh.idling_offset)
                    != (gh.creation_time, gh.rolling_offset, gh.idling_offset)
            {
                return Err(format!(
                    "times of {}: expected creation {} rolling {} idling {}, got {} {} {}",
                    cookie_name(w),
                    wh.creation_time,
                    wh.rolling_offset,
                    wh.idling_offset,
                    gh.creation_time,
                    gh.rolling_offset,
                    gh.idling_offset
                ));
            }
        }
    }
    Ok(())
}

/// A `Cookie` header holding what a browser keeps after `set_cookies`.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------
// Kinds.

fn open_config(case: &Value) -> &Value {
    match case["open"].get("config") {
        Some(c) if c.is_object() => c,
        _ => &case["config"],
    }
}

fn open_case(case: &Value) -> Check {
    let store = MemoryStorage::new();
    load_storage(case, &store)?;
    let open = &case["open"];
    let config = build_config(open_config(case), &store, &open["request"]["now"])?;
    let (session, result) = block_on(open_session(&config, &open["request"], &open["audience"]));
    let actual = open_view(&session, &result);
    compare_view(&case["expected"], &actual, &[])?;
    if let Some(observed) = case["expected"]["observed_set_cookie"].as_array() {
        let fixed = open["request"]["now"].is_u64();
        compare_emitted(observed, session.set_cookies(), fixed)
            .map_err(|e| format!("remember fallback: {e}"))?;
    }
    Ok(())
}

fn apply_input(session: &mut Session, input: &Value) -> Check {
    if let Some(aud) = input["audience"].as_str() {
        session.set_audience(aud).map_err(|e| e.to_string())?;
    }
    if let Some(sub) = input["subject"].as_str() {
        session.set_subject(Some(sub)).map_err(|e| e.to_string())?;
    }
    if input["data"].is_object() || input["data"].is_array() {
        session
            .set_data(input["data"].clone())
            .map_err(|e| e.to_string())?;
    }
    if let Some(set) = input["set"].as_object() {
        for (k, v) in set {
            session
                .set_value(k, Some(v.clone()))
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(remember) = input["remember"].as_bool() {
        session.set_remember(remember).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn roundtrip(case: &Value) -> Check {
    // 1. The reference's cookies open to the expected view.
    open_case(case).map_err(|e| format!("opening the reference's cookie: {e}"))?;

    // 2. Replay the save through the engine and open what it wrote.
    let save = &case["save"];
    let store = MemoryStorage::new();
    let config = build_config(&case["config"], &store, &save["request"]["now"])?;
    let input = &case["input"];
    let mut session = Session::new(&config, request(&save["request"]));
    if input["open_first"].as_bool() == Some(true) {
        if let Some(aud) = input["audience"].as_str() {
            session.set_audience(aud).map_err(|e| e.to_string())?;
        }
        // The open may report a missing audience: that is how a second
        // audience joins (docs/payload.md §2).
        let _ = block_on(session.open());
    }
    apply_input(&mut session, input)?;
    let result = block_on(session.save()).map_err(|e| e.to_string());
    compare_err(&save["err"], result.err()).map_err(|e| format!("replayed save: {e}"))?;
    let expected_set = save["set_cookie"].as_array().cloned().unwrap_or_default();
    let fixed = save["request"]["now"].is_u64();
    compare_emitted(&expected_set, session.set_cookies(), fixed)
        .map_err(|e| format!("replayed save: {e}"))?;

    let open = &case["open"];
    let mut req = open["request"].clone();
    req["cookie"] = Value::String(cookie_header(session.set_cookies()));
    let config = build_config(open_config(case), &store, &open["request"]["now"])?;
    let (opened, result) = block_on(open_session(&config, &req, &open["audience"]));
    compare_view(
        &case["expected"],
        &open_view(&opened, &result),
        &["properties.id"],
    )
    .map_err(|e| format!("opening the replayed save: {e}"))
}

fn operation(case: &Value) -> Check {
    let store = MemoryStorage::new();
    load_storage(case, &store)?;
    let req = &case["request"];
    let config = build_config(&case["config"], &store, &req["now"])?;
    let op = case["operation"].as_str().unwrap_or("?");
    let (mut session, opened) = block_on(open_session(&config, req, &req["audience"]));
    let expected = &case["expected"];
    let (ok, err) = match &opened {
        Err(e) => (false, Some(e.clone())),
        Ok(()) => {
            let r = match op {
                "touch" => block_on(session.touch()),
                "refresh" | "start" => block_on(session.refresh()),
                "logout" => block_on(session.logout()),
                "destroy" => block_on(session.destroy()),
                other => return Err(format!("unknown operation {other:?}")),
            };
            if op == "start" {
                let refreshed = r.is_ok();
                if expected
                    .get("refreshed")
                    .and_then(Value::as_bool)
                    .is_some_and(|w| w != refreshed)
                {
                    return Err(format!(
                        "refreshed: expected {}, got {refreshed}",
                        expected["refreshed"]
                    ));
                }
            }
            (r.is_ok(), r.err().map(|e| e.to_string()))
        }
    };
    let mut actual = view(&session, ok, err);
    // `exists` is the open's result for the helpers.
    actual["exists"] = json!(opened.is_ok());
    compare_view(expected, &actual, &[])?;
    let want = case["set_cookie"].as_array().cloned().unwrap_or_default();
    if case["set_cookie_deterministic"].as_bool() == Some(true) {
        let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
        if want != session.set_cookies() {
            return Err(format!(
                "Set-Cookie: expected {want:#?}, got {:#?}",
                session.set_cookies()
            ));
        }
        Ok(())
    } else {
        compare_emitted(&want, session.set_cookies(), req["now"].is_u64())
    }
}

fn save_error(case: &Value) -> Check {
    let store = MemoryStorage::new();
    let config = build_config(&case["config"], &store, &Value::Null)?;
    let input = &case["input"];
    let mut session = Session::new(&config, Request::new());
    if let Some(len) = input["data_blob_length"].as_u64() {
        // A random-looking base64url blob of that length, as the harness used.
        let mut blob = String::with_capacity(usize::try_from(len).unwrap_or(0));
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            blob.push(char::from(alphabet[usize::try_from(x % 64).unwrap_or(0)]));
        }
        session
            .set_data(json!({ "blob": blob }))
            .map_err(|e| e.to_string())?;
    }
    apply_input(&mut session, input)?;
    let result = block_on(session.save());
    let expected = &case["expected"];
    if expected["ok"].as_bool() == Some(result.is_ok()) || expected["ok"].is_null() {
        compare_err(&expected["err"], result.err().map(|e| e.to_string()))?;
    } else {
        return Err(format!(
            "save: expected ok={}, got {result:?}",
            expected["ok"]
        ));
    }
    let want = expected["set_cookie"].as_array().map_or(0, Vec::len);
    if session.set_cookies().len() != want {
        return Err(format!(
            "Set-Cookie: expected {want} values, got {:?}",
            session.set_cookies()
        ));
    }
    Ok(())
}
