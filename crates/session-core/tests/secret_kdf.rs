//! `secret_kdf = "argon2id"`: the IKM derived from `secret` (and each fallback) is
//! deterministic and matches fixed vectors (computed once with the argon2 crate at these
//! parameters and the fixed salt, and checked against the reference C implementation's
//! command-line tool: `echo -n RaJKp8UQW1 | argon2 lua-resty-session/ikm/argon2id/v1 -id -t 3
//! -m 16 -p 1 -l 32 -r`), and a cookie sealed with it opens in a configuration given
//! that IKM as `ikm_hex` — the path a Lua peer takes — and the other way round.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use session_core::{Config, Request, Session, SessionConfig};

/// `Argon2id(m = 65536 KiB, t = 3, p = 1, salt = "lua-resty-session/ikm/argon2id/v1")` of
/// `RaJKp8UQW1`: the defaults.
const DEFAULT_VECTOR: &str = "9b8ea46501a0a843f10d846fd369d47c35b1347ec0d66227994f91355afdeca9";
/// The same at m = 1024 KiB, t = 1, p = 1, of `old secret`.
const SMALL_VECTOR: &str = "7aa1a9ab8e330db702d62139d3716d7a6a6492e90b24e9d830b504ecce25316a";

const SMALL: &str = "argon2_memory_kib = 1024\nargon2_iterations = 1\n";

fn hex_of(config: &Config) -> (String, Vec<String>) {
    let (primary, fallbacks) = config.derived_ikms().unwrap();
    (
        hex::encode(primary.unwrap().as_bytes()),
        fallbacks
            .iter()
            .map(|f| hex::encode(f.as_bytes()))
            .collect(),
    )
}

#[test]
fn derivation_at_the_defaults_matches_the_fixed_vector() {
    let config = Config::from_text("secret = \"RaJKp8UQW1\"\nsecret_kdf = \"argon2id\"").unwrap();
    let (first, _) = hex_of(&config);
    assert_eq!(first, DEFAULT_VECTOR);
    // Deterministic (and, the second time, from the per-process cache).
    assert_eq!(hex_of(&config).0, first);
    // Not the Lua IKM (SHA-256 of the secret).
    let lua = Config::from_text("secret = \"RaJKp8UQW1\"").unwrap();
    assert_ne!(hex_of(&lua).0, first);
}

#[test]
fn fallbacks_are_derived_with_the_same_parameters() {
    let config = Config::from_text(&format!(
        "secret = \"new secret\"\nsecret_fallbacks = [\"old secret\"]\nsecret_kdf = \"argon2id\"\n{SMALL}"
    ))
    .unwrap();
    let (_, fallbacks) = hex_of(&config);
    assert_eq!(fallbacks, [SMALL_VECTOR]);
}

fn login(config: &SessionConfig) -> String {
    let mut s = Session::new(config, Request::new());
    s.set_subject(Some("john")).unwrap();
    session_core::block_on(s.save()).unwrap();
    s.set_cookies()[0].split(';').next().unwrap().to_owned()
}

fn opens(config: &SessionConfig, cookie: &str) -> bool {
    let mut s = Session::new(config, Request::new().with_cookie(cookie.to_owned()));
    session_core::block_on(s.open()).is_ok()
}

#[test]
fn a_peer_given_the_derived_ikm_opens_the_cookies_and_back() {
    let hardened = Config::from_text(&format!(
        "secret = \"new secret\"\nsecret_fallbacks = [\"old secret\"]\nsecret_kdf = \"argon2id\"\n{SMALL}"
    ))
    .unwrap();
    let (ikm, fallbacks) = hex_of(&hardened);
    let hardened = hardened.build().unwrap();
    // The peer: the derived keys as ikm / ikm_fallbacks (hex), as a Lua configuration would
    // carry them (`ikm`, `ikm_fallbacks`: the 32 raw bytes).
    let peer = Config::from_text(&format!(
        r#"{{"ikm_hex": "{ikm}", "ikm_fallbacks_hex": ["{}"]}}"#,
        fallbacks[0]
    ))
    .unwrap()
    .build()
    .unwrap();
    assert!(opens(&peer, &login(&hardened)));
    assert!(opens(&hardened, &login(&peer)));
    // A node still on the old secret (hardened too) is read through the fallback.
    let old = Config::from_text(&format!(
        "secret = \"old secret\"\nsecret_kdf = \"argon2id\"\n{SMALL}"
    ))
    .unwrap()
    .build()
    .unwrap();
    assert!(opens(&hardened, &login(&old)));
    assert!(opens(&peer, &login(&old)));
    // A node that forgot secret_kdf has other keys.
    let plain = Config::from_text("secret = \"new secret\"")
        .unwrap()
        .build()
        .unwrap();
    assert!(!opens(&plain, &login(&hardened)));
}

#[test]
fn invalid_kdf_settings_name_the_option() {
    let err = Config::from_text("secret = \"s\"\nsecret_kdf = \"scrypt\"")
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(err.option(), "secret_kdf");
    assert_eq!(err.reason(), "invalid secret_kdf");
    let err = Config::from_text("secret = \"s\"\nsecret_kdf = \"argon2id\"\nargon2_iterations = 0")
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(err.reason(), "invalid argon2id parameters");
    assert!(!err.to_string().contains("\"s\""), "{err}");
    // Without a secret there is nothing to derive, but the name is still checked.
    assert!(
        Config::from_text("secret_kdf = \"argon\"")
            .unwrap()
            .build()
            .is_err()
    );
}
