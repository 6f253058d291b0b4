//! The redis cases of the shared interop vectors, opened through the engine
//! from a real Redis: each case's `storage.key` → `storage.value` (written by
//! lua-resty-session 4.1.5) is stored with a raw `SET … EX`, then the case's
//! cookie is opened by `session-core` with a `RedisStorage`, and the result
//! must be what the Lua library returned.
//!
//! Needs Redis at `SESSION_REDIS_URL` (default `redis://127.0.0.1:6379`;
//! `cargo xtask test` starts what is missing) and the vectors file at
//! `SESSION_VECTORS` (default `../shared/vectors/lua-resty-session-4.1.5.json`
//! beside the repository). Either missing is a failure, never a skip.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use resty_session::crates::core::{Config, Request, Session};
use resty_session::redis::RedisStorage;
use serde_json::Value;
use session_redis::redis;

fn vectors() -> Value {
    let path = session_testsupport::env::vectors_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the vectors at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn is_redis(config: &Value) -> bool {
    config["storage"] == "redis"
}

/// Strips a trailing " (detail)" from the crypto or base64 backend.
fn strip_detail(err: &str) -> &str {
    match err.rfind(" (") {
        Some(i) if err.ends_with(')') => &err[..i],
        _ => err,
    }
}

/// `<cookie name>:<storage key>` of the session cookie in a Cookie header.
fn storage_key_of(cookie_header: &str, config: &Value) -> String {
    let value = cookie_header
        .split(';')
        .find_map(|p| p.trim().strip_prefix("session="))
        .expect("a session cookie");
    let (header, _) = resty_session::crates::codec::Header::decode_base64(value).unwrap();
    let hashed = config["hash_storage_key"].as_bool().unwrap_or(false);
    format!(
        "session:{}",
        resty_session::crates::codec::hash_storage_key(&header.sid, hashed)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_vectors_open_from_a_real_redis() {
    let doc = vectors();
    let cases = doc["cases"].as_array().unwrap();
    let by_name = |name: &str| cases.iter().find(|c| c["name"] == name);
    let store = RedisStorage::from_url(&session_testsupport::env::redis_url()).unwrap();
    let mut conn = store.connection().await.unwrap_or_else(|e| {
        panic!(
            "Redis at {} is not reachable: {e}",
            session_testsupport::env::redis_url()
        )
    });

    let mut checked = 0;
    for case in cases {
        let open_config = if case["open"]["config"].is_object() {
            &case["open"]["config"]
        } else {
            &case["config"]
        };
        if !is_redis(&case["config"]) && !is_redis(open_config) {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        // The record: the case's own, or its base case's.
        let storage = if case["storage"].is_object() {
            Some(&case["storage"])
        } else {
            case["base_case"]
                .as_str()
                .and_then(by_name)
                .map(|base| &base["storage"])
                .filter(|s| s.is_object())
        };
        let cookie_header = case["open"]["request"]["cookie"].as_str().unwrap();
        let key = match storage {
            Some(storage) => storage["key"].as_str().unwrap().to_owned(),
            None => storage_key_of(cookie_header, open_config),
        };
        match storage.filter(|_| case["mutation"]["op"] != "delete_storage_key") {
            Some(storage) => {
                let value = storage["value"].as_str().unwrap();
                let _: () = redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("EX")
                    .arg(600)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
            None => {
                let _: () = redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }

        let config: Config = serde_json::from_value(open_config.clone()).unwrap();
        let mut builder = config.builder();
        if is_redis(open_config) {
            builder = builder.dyn_storage(Arc::new(store.clone()));
        }
        let config = builder
            .build()
            .unwrap_or_else(|e| panic!("{name}: config: {e}"));
        let req = &case["open"]["request"];
        let mut request = Request::new().with_cookie(req["cookie"].as_str().unwrap());
        if let Some(v) = req["remote_addr"].as_str() {
            request = request.with_remote_addr(v);
        }
        if let Some(v) = req["scheme"].as_str() {
            request = request.with_scheme(v);
        }
        if let Some(v) = req["user_agent"].as_str() {
            request = request.with_user_agent(v);
        }
        let mut session = Session::new(&config, request);
        if let Some(audience) = case["open"]["audience"].as_str() {
            session.set_audience(audience).unwrap();
        }
        let result = session.open().await;
        let expected = &case["expected"];
        match (expected["ok"].as_bool(), result) {
            (Some(true), Ok(())) => {
                assert_eq!(
                    session.get_data().unwrap(),
                    &expected["data"],
                    "{name}: data"
                );
                assert_eq!(
                    session.get_subject().unwrap(),
                    expected["subject"].as_str(),
                    "{name}: subject"
                );
                assert_eq!(
                    session.get_audience().unwrap(),
                    expected["audience"].as_str(),
                    "{name}: audience"
                );
            }
            (Some(false), Err(e)) => assert_eq!(
                strip_detail(&e.to_string()),
                strip_detail(expected["err"].as_str().unwrap()),
                "{name}: error"
            ),
            (want, got) => panic!("{name}: expected ok={want:?}, got {got:?}"),
        }
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} redis cases in the vectors file"
    );
}
