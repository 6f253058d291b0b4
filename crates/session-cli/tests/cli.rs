//! The `session` binary end to end: mint, then inspect what was minted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;

fn session(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_session"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.success(), json, stderr)
}

const CONFIG: &str = r#"{"secret": "RaJKp8UQW1", "audience": "app"}"#;

fn cookie_header(minted: &Value) -> String {
    minted["cookies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn mint_then_inspect_round_trips() {
    let (ok, minted, err) = session(&[
        "mint",
        "--config",
        CONFIG,
        "--now",
        "1700000000",
        "--subject",
        "john",
        "--data",
        r#"{"role":"admin"}"#,
    ]);
    assert!(ok, "{err}");
    assert_eq!(minted["set_cookie"].as_array().unwrap().len(), 1);
    let cookie = cookie_header(&minted);
    let (ok, inspected, err) = session(&[
        "inspect",
        "--config",
        CONFIG,
        "--now",
        "1700000010",
        "--cookie",
        &cookie,
    ]);
    assert!(ok, "{err}");
    assert_eq!(inspected["ok"], true);
    assert_eq!(inspected["state"], "open");
    assert_eq!(inspected["subject"], "john");
    assert_eq!(inspected["audience"], "app");
    assert_eq!(inspected["data"]["role"], "admin");
    assert_eq!(inspected["properties"]["idling-timeout"], 890);
    assert_eq!(
        inspected["headers"]["session"]["creation_time"],
        1_700_000_000u64
    );
}

#[test]
fn mint_with_cookie_keeps_other_audiences_and_creation_time() {
    let (_, first, _) = session(&["mint", "--config", CONFIG, "--now", "1700000000"]);
    let cookie = cookie_header(&first);
    let (ok, second, err) = session(&[
        "mint",
        "--config",
        CONFIG,
        "--now",
        "1700000100",
        "--audience",
        "other",
        "--cookie",
        &cookie,
    ]);
    assert!(ok, "{err}");
    let cookie = cookie_header(&second);
    let (_, inspected, _) = session(&[
        "inspect",
        "--config",
        CONFIG,
        "--now",
        "1700000100",
        "--cookie",
        &cookie,
    ]);
    assert_eq!(inspected["ok"], true, "{inspected}");
    assert_eq!(inspected["headers"]["session"]["rolling_offset"], 100);
    let (_, other, _) = session(&[
        "inspect",
        "--config",
        CONFIG,
        "--now",
        "1700000100",
        "--audience",
        "other",
        "--cookie",
        &cookie,
    ]);
    assert_eq!(other["ok"], true);
}

#[test]
fn mint_remember_writes_both_cookies() {
    let (ok, minted, err) = session(&[
        "mint",
        "--config",
        r#"{"secret": "s", "remember_safety": "Low"}"#,
        "--remember",
        "true",
    ]);
    assert!(ok, "{err}");
    assert!(minted["cookies"]["remember"].is_string());
}

#[test]
fn mint_with_storage_prints_the_record() {
    let (ok, minted, err) =
        session(&["mint", "--config", r#"{"secret": "s", "storage": "redis"}"#]);
    assert!(ok, "{err}");
    assert_eq!(minted["storage"][0]["name"], "session");
}

#[test]
fn inspect_reports_open_errors() {
    let (ok, inspected, _) =
        session(&["inspect", "--config", CONFIG, "--cookie", "session=garbage"]);
    assert!(ok);
    assert_eq!(inspected["ok"], false);
    assert_eq!(inspected["err"], "invalid session header");
}

#[test]
fn invalid_configuration_fails_with_a_message() {
    let (ok, _, err) = session(&["mint", "--config", r#"{"ikm": "short"}"#]);
    assert!(!ok);
    assert!(err.contains("invalid ikm size"), "{err}");
}

#[test]
fn keygen_prints_a_32_byte_key() {
    let (ok, key, _) = session(&["keygen"]);
    assert!(ok);
    assert_eq!(key["ikm_hex"].as_str().unwrap().len(), 64);
    assert_eq!(key["ikm_base64url"].as_str().unwrap().len(), 43);
}

#[test]
fn example_config_mints() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.json");
    let (ok, _, err) = session(&["mint", "--config", path]);
    assert!(ok, "{err}");
}
