//! `session derive-ikm`: the Argon2id IKMs of a configuration's secret and fallbacks, as hex,
//! and a cookie minted with them opens in a configuration given `ikm_hex` (a Lua peer's
//! `ikm`).
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
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

#[test]
fn derive_ikm_prints_keys_a_peer_can_use() {
    let config = r#"{"secret": "RaJKp8UQW1", "secret_fallbacks": ["old secret"],
        "secret_kdf": "argon2id", "argon2_memory_kib": 1024, "argon2_iterations": 1}"#;
    let (ok, out, err) = session(&["derive-ikm", "--config", config]);
    assert!(ok, "{err}");
    let ikm = out["ikm_hex"].as_str().unwrap();
    assert_eq!(ikm.len(), 64);
    assert_eq!(out["fallbacks"].as_array().unwrap().len(), 1);
    assert_eq!(out["secret_kdf"], "argon2id");
    // Same configuration, same keys.
    let (_, again, _) = session(&["derive-ikm", "--config", config]);
    assert_eq!(again["ikm_hex"], out["ikm_hex"]);

    let (ok, minted, err) = session(&["mint", "--config", config, "--subject", "john"]);
    assert!(ok, "{err}");
    let cookie = minted["cookie_header"].as_str().unwrap();
    let peer = format!(r#"{{"ikm_hex": "{ikm}"}}"#);
    let (ok, seen, err) = session(&["inspect", "--config", &peer, "--cookie", cookie]);
    assert!(ok, "{err}");
    assert_eq!(seen["ok"], true, "{seen}");
    assert_eq!(seen["subject"], "john");
}

#[test]
fn derive_ikm_without_a_secret_says_so() {
    let (ok, _, err) = session(&["derive-ikm", "--config", r#"{"secret_kdf": "argon2id"}"#]);
    assert!(!ok);
    assert!(err.contains("no secret"), "{err}");
}
