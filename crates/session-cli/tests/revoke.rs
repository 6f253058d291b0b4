//! `session sessions` and `session revoke` end to end, in separate processes, on the file store:
//! sessions minted by `session mint` are listed, revoked one by id and all at once, and a
//! revoked cookie no longer opens in `session inspect`; another subject's session stays.
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

fn mint(config: &str, audience: &str, subject: &str) -> String {
    let (ok, minted, err) = session(&[
        "mint",
        "--config",
        config,
        "--audience",
        audience,
        "--subject",
        subject,
        "--data",
        r#"{"n": 1}"#,
    ]);
    assert!(ok, "{err}");
    minted["cookie_header"].as_str().unwrap().to_owned()
}

fn opens(config: &str, audience: &str, cookie: &str) -> bool {
    let (ok, out, err) = session(&[
        "inspect",
        "--config",
        config,
        "--audience",
        audience,
        "--cookie",
        cookie,
    ]);
    assert!(ok, "{err}");
    out["ok"].as_bool().unwrap()
}

fn list(config: &str, subject: &str, audiences: &[&str]) -> Vec<Value> {
    let mut args = vec!["sessions", "--config", config, "--subject", subject];
    for a in audiences {
        args.extend(["--audience", a]);
    }
    let (ok, out, err) = session(&args);
    assert!(ok, "{err}");
    out["sessions"].as_array().unwrap().clone()
}

fn try_revoke(
    config: &str,
    subject: &str,
    audiences: &[&str],
    id: Option<&str>,
) -> (bool, Value, String) {
    let mut args = vec!["revoke", "--config", config, "--subject", subject];
    for a in audiences {
        args.extend(["--audience", a]);
    }
    if let Some(id) = id {
        args.extend(["--id", id]);
    }
    session(&args)
}

fn revoke(config: &str, subject: &str, audiences: &[&str], id: Option<&str>) -> u64 {
    let (ok, out, err) = try_revoke(config, subject, audiences, id);
    assert!(ok, "{err}");
    out["revoked"].as_u64().unwrap()
}

#[test]
fn sessions_and_revoke_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "secret": "RaJKp8UQW1",
        "store_metadata": true,
        "storage": "file",
        "file": {"path": dir.path().to_str().unwrap()},
    })
    .to_string();
    let config = config.as_str();
    let shop1 = mint(config, "shop", "alice");
    let shop2 = mint(config, "shop", "alice");
    let blog = mint(config, "blog", "alice");
    let bob = mint(config, "shop", "bob");

    let in_shop = list(config, "alice", &["shop"]);
    assert_eq!(in_shop.len(), 2, "{in_shop:?}");
    for s in &in_shop {
        assert_eq!(s["audience"], "shop");
        assert_eq!(
            s["id"].as_str().unwrap().len(),
            8,
            "a short prefix, not the id"
        );
        assert!(s["expires"].as_i64().unwrap() > 1_700_000_000);
    }
    let all = list(config, "alice", &["shop", "blog"]);
    assert_eq!(all.len(), 3);
    // The configured audience ("default") holds none of them.
    assert!(list(config, "alice", &[]).is_empty());

    // One, by its short id.
    let blog_id = all.iter().find(|s| s["audience"] == "blog").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(opens(config, "blog", &blog));
    assert_eq!(revoke(config, "alice", &["blog"], Some(&blog_id)), 1);
    assert!(!opens(config, "blog", &blog));
    assert!(opens(config, "shop", &shop1));
    assert_eq!(list(config, "alice", &["shop", "blog"]).len(), 2);

    // An unknown id fails, naming at most a short prefix.
    let (ok, _, err) = try_revoke(config, "alice", &["blog"], Some(&blog_id));
    assert!(!ok);
    assert!(err.contains("no live session"), "{err}");
    // Ids are base64url: one in 64 starts with `-`, and is still read as the id.
    let (ok, _, err) = try_revoke(config, "alice", &[], Some("-AbCdEfG"));
    assert!(!ok);
    assert!(err.contains("no live session"), "{err}");

    // All the rest.
    assert_eq!(revoke(config, "alice", &["shop", "blog"], None), 2);
    assert!(!opens(config, "shop", &shop1));
    assert!(!opens(config, "shop", &shop2));
    assert!(list(config, "alice", &["shop", "blog"]).is_empty());
    assert!(opens(config, "shop", &bob));
    assert_eq!(list(config, "bob", &["shop"]).len(), 1);
}

#[test]
fn sessions_on_cookie_storage_says_what_it_needs() {
    let (ok, out, err) = session(&[
        "sessions",
        "--config",
        r#"{"secret": "RaJKp8UQW1"}"#,
        "--subject",
        "alice",
    ]);
    assert!(!ok);
    assert_eq!(out, Value::Null);
    assert!(
        err.contains("needs a server-side storage with store_metadata = true"),
        "{err}"
    );
}
