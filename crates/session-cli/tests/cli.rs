//! The `session` binary end to end: mint, then inspect what was minted, in separate
//! processes, on cookie, file, Redis and memcached storage; usage errors and warnings.
//!
//! The Redis and memcached tests use `SESSION_REDIS_URL` (default `redis://127.0.0.1:6379`)
//! and `SESSION_MEMCACHED_ADDR` (default `127.0.0.1:11211`) and fail when they cannot reach
//! the server.
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
    assert_eq!(minted["cookie_header"], cookie.as_str());
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

/// Mints with `config`, checks the printed record and Cookie header, then inspects the
/// session from another process with the same configuration; returns the Cookie header.
fn mint_and_inspect_through(config: &str) -> String {
    let (ok, minted, err) = session(&[
        "mint",
        "--config",
        config,
        "--subject",
        "john",
        "--data",
        r#"{"cart":[1,2]}"#,
    ]);
    assert!(ok, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let record = &minted["storage"][0];
    assert_eq!(record["name"], "session", "{minted}");
    assert!(record["key"].as_str().unwrap().len() >= 43, "{minted}");
    let header = minted["cookie_header"].as_str().unwrap().to_owned();
    assert_eq!(header, cookie_header(&minted));
    let (ok, inspected, err) = session(&["inspect", "--config", config, "--cookie", &header]);
    assert!(ok, "{err}");
    assert_eq!(inspected["ok"], true, "{inspected}");
    assert_eq!(inspected["subject"], "john");
    assert_eq!(inspected["data"]["cart"][1], 2);
    header
}

#[test]
fn file_storage_mint_writes_the_record_and_inspect_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "secret": "RaJKp8UQW1",
        "storage": "file",
        "file": {"path": dir.path(), "prefix": "cli"},
    })
    .to_string();
    let header = mint_and_inspect_through(&config);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one record file");
    // The cookie holds no data: with the record gone, the session no longer opens.
    std::fs::remove_file(files[0].as_ref().unwrap().path()).unwrap();
    let (ok, inspected, _) = session(&["inspect", "--config", &config, "--cookie", &header]);
    assert!(ok);
    assert_eq!(inspected["ok"], false, "{inspected}");
}

/// `redis://[user[:password]@]host[:port][/db]` as a `[redis]` block.
fn redis_block(url: &str) -> serde_json::Value {
    let rest = url
        .strip_prefix("redis://")
        .unwrap_or_else(|| panic!("SESSION_REDIS_URL must be redis://..., got another scheme"));
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((auth, rest)) => (Some(auth), rest),
        None => (None, rest),
    };
    let (addr, db) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "6379"));
    let mut block = serde_json::json!({
        "host": host,
        "port": port.parse::<u16>().unwrap(),
        "prefix": session_testsupport::names::unique("cli"),
    });
    if let Some(auth) = auth {
        let (user, password) = auth.split_once(':').unwrap_or(("", auth));
        if !user.is_empty() {
            block["username"] = user.into();
        }
        block["password"] = password.into();
    }
    if !db.is_empty() {
        block["database"] = db.parse::<u32>().unwrap().into();
    }
    block
}

#[test]
fn redis_storage_mint_writes_the_record_and_inspect_reads_it() {
    let block = redis_block(&session_testsupport::env::redis_url());
    let config =
        serde_json::json!({"secret": "RaJKp8UQW1", "storage": "redis", "redis": block}).to_string();
    let header = mint_and_inspect_through(&config);
    // The record is in Redis under this prefix: under another prefix the session is missing.
    let mut other = block;
    other["prefix"] = session_testsupport::names::unique("cli_other").into();
    let config =
        serde_json::json!({"secret": "RaJKp8UQW1", "storage": "redis", "redis": other}).to_string();
    let (ok, inspected, _) = session(&["inspect", "--config", &config, "--cookie", &header]);
    assert!(ok);
    assert_eq!(inspected["ok"], false, "{inspected}");
    assert_eq!(inspected["err"], "unable to load session", "{inspected}");
}

#[test]
fn memcached_storage_mint_writes_the_record_and_inspect_reads_it() {
    let addr = session_testsupport::env::memcached_addr();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let config = serde_json::json!({
        "secret": "RaJKp8UQW1",
        "storage": "memcached",
        "memcached": {
            "host": host,
            "port": port.parse::<u16>().unwrap(),
            "prefix": session_testsupport::names::unique("cli"),
        },
    })
    .to_string();
    mint_and_inspect_through(&config);
}

#[test]
fn shm_storage_warns_that_it_lives_in_the_process() {
    let (ok, minted, err) = session(&["mint", "--config", r#"{"secret": "s", "storage": "shm"}"#]);
    assert!(ok, "{err}");
    assert_eq!(minted["storage"][0]["name"], "session");
    assert!(
        err.contains("warning") && err.contains("this process only"),
        "{err}"
    );
}

#[test]
fn a_storage_typo_fails_with_the_nearest_name() {
    let (ok, _, err) = session(&[
        "mint",
        "--config",
        r#"{"secret": "s", "storage": "reddis"}"#,
    ]);
    assert!(!ok);
    assert!(err.contains("did you mean \"redis\"?"), "{err}");
}

#[test]
fn print_cookie_header_feeds_inspect_directly() {
    let out = Command::new(env!("CARGO_BIN_EXE_session"))
        .args([
            "mint",
            "--config",
            CONFIG,
            "--subject",
            "ann",
            "--print-cookie-header",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let header = String::from_utf8(out.stdout).unwrap();
    let header = header.trim_end();
    assert!(
        header.starts_with("session=") && !header.contains('"'),
        "{header}"
    );
    let (ok, inspected, err) = session(&["inspect", "--config", CONFIG, "--cookie", header]);
    assert!(ok, "{err}");
    assert_eq!(inspected["subject"], "ann", "{inspected}");
}

#[test]
fn mint_without_a_secret_warns_about_the_throwaway_key() {
    for config in ["{}", r#"{"audience": "app"}"#] {
        let (ok, minted, err) = session(&["mint", "--config", config]);
        assert!(ok, "{err}");
        assert!(
            minted["cookie_header"]
                .as_str()
                .unwrap()
                .starts_with("session=")
        );
        assert!(
            err.contains("warning") && err.contains("throwaway random key"),
            "{config}: {err}"
        );
    }
    let (ok, _, err) = session(&["mint", "--config", CONFIG]);
    assert!(ok);
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn no_subcommand_or_a_missing_option_exits_non_zero() {
    for args in [
        &[][..],
        &["mint"][..],
        &["inspect", "--config", CONFIG][..],
        &["frobnicate"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_session"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} exited {}", out.status);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Usage"),
            "{args:?} printed no usage"
        );
    }
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
