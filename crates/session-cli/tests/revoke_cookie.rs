//! `session revoke` on cookie storage, end to end in separate processes: the configuration's
//! `revocation` store (here the file store) gets the subject's record, `session inspect` of a
//! revoked cookie prints `"ok": false` with the reason, another subject's cookie still opens,
//! and one session id can be revoked alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;

const T: u64 = 1_700_000_000;

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

fn mint(config: &str, subject: &str, now: u64) -> String {
    let now = now.to_string();
    let (ok, minted, err) = session(&[
        "mint",
        "--config",
        config,
        "--subject",
        subject,
        "--now",
        &now,
    ]);
    assert!(ok, "{err}");
    minted["cookie_header"].as_str().unwrap().to_owned()
}

fn inspect(config: &str, cookie: &str, now: u64) -> Value {
    let now = now.to_string();
    let (ok, out, err) = session(&[
        "inspect", "--config", config, "--cookie", cookie, "--now", &now,
    ]);
    assert!(ok, "{err}");
    out
}

fn revoke(config: &str, args: &[&str], now: u64) -> Value {
    let now = now.to_string();
    let mut all = vec!["revoke", "--config", config, "--now", &now];
    all.extend(args);
    let (ok, out, err) = session(&all);
    assert!(ok, "{err}");
    out
}

#[test]
fn revoke_on_cookie_storage_writes_the_revocation_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "secret": "RaJKp8UQW1",
        "revocation": {"storage": "file", "file": {"path": dir.path()}},
    })
    .to_string();
    let alice = mint(&config, "alice", T);
    let bob = mint(&config, "bob", T);
    assert_eq!(inspect(&config, &alice, T)["ok"], true);

    let out = revoke(&config, &["--subject", "alice"], T + 1);
    assert_eq!(out, serde_json::json!({"revoked": 1}));
    let seen = inspect(&config, &alice, T + 2);
    assert_eq!(seen["ok"], false);
    assert!(
        seen["err"]
            .as_str()
            .unwrap()
            .starts_with("session revoked ("),
        "{seen}"
    );
    assert_eq!(seen["revoked"], "all sessions of the subject were revoked");
    assert_eq!(inspect(&config, &bob, T + 2)["ok"], true);

    // One id alone, by the start of the `sid` inspect prints; per audience, one record each.
    let bob2 = mint(&config, "bob", T + 3);
    let sid = inspect(&config, &bob2, T + 3)["headers"]["session"]["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = revoke(&config, &["--subject", "bob", "--id", &sid[..10]], T + 4);
    assert_eq!(out["revoked"], 1);
    let seen = inspect(&config, &bob2, T + 5);
    assert_eq!(seen["revoked"], "this session id was revoked");
    assert_eq!(inspect(&config, &bob, T + 5)["ok"], true);
    let out = revoke(
        &config,
        &[
            "--subject",
            "bob",
            "--audience",
            "shop",
            "--audience",
            "blog",
        ],
        T + 6,
    );
    assert_eq!(out["revoked"], 2);
    assert_eq!(
        inspect(&config, &bob, T + 7)["ok"],
        true,
        "bob's default audience"
    );
}

#[test]
fn revoke_on_cookie_storage_without_a_revocation_store_says_what_to_add() {
    let (ok, _, err) = session(&[
        "revoke",
        "--config",
        r#"{"secret": "RaJKp8UQW1"}"#,
        "--subject",
        "alice",
    ]);
    assert!(!ok);
    assert!(err.contains("needs the `revocation` option"), "{err}");
}
