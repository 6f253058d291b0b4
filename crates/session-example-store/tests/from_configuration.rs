//! The store selected by name from configuration, its `[capped]` block handed to it as serde
//! data, end to end through a session save and open.
#![allow(clippy::unwrap_used, missing_docs)]

use resty_session::{Backends, Config, Request, Session, SetupError};
use session_example_store::CappedStorage;
use session_storage::{Backend as _, SetRequest, Storage as _};

fn backends() -> Backends {
    Backends::builtin().with::<CappedStorage>()
}

#[tokio::test]
async fn storage_capped_selects_the_store_and_a_session_round_trips() {
    let config = Config::from_text(
        "secret = \"s\"\nstorage = \"capped\"\nstore_metadata = true\nsubject = \"ann\"\n[capped]\nmax_records = 10",
    )
    .unwrap();
    let built = resty_session::build_with(&config, &backends()).unwrap();
    assert!(built.has_storage());

    let mut session = Session::new(&built, Request::new());
    session.set("cart", &vec![1, 2, 3]).unwrap();
    session.save().await.unwrap();
    let cookie = session.set_cookies()[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let mut reopened = Session::new(&built, Request::new().with_cookie(cookie.as_str()));
    reopened.open().await.unwrap();
    assert_eq!(
        reopened.get::<Vec<u32>>("cart").unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(reopened.get_subject().unwrap(), Some("ann"));
}

#[tokio::test]
async fn max_records_from_the_block_reaches_the_store() {
    let config: session_example_store::CappedConfig = serde_json_value(r#"{"max_records": 2}"#);
    let store = CappedStorage::from_config(config).unwrap();
    for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
        let ttl = 100 + u64::try_from(i).unwrap();
        store
            .set(&SetRequest::new("session", key, "v", ttl, 1_000))
            .await
            .unwrap();
    }
    assert_eq!(store.len(), 2);
    // The record closest to expiry made room.
    assert_eq!(store.get("session", "a", 1_001).await.unwrap(), None);
    assert!(store.get("session", "c", 1_001).await.unwrap().is_some());
}

/// The block through the facade's parser, as configuration would hand it.
fn serde_json_value(json: &str) -> session_example_store::CappedConfig {
    let config = Config::from_text(&format!("{{\"capped\": {json}}}")).unwrap();
    let block = config.backends["capped"].clone();
    serde::Deserialize::deserialize(block).unwrap()
}

#[test]
fn its_options_are_checked_with_helpful_errors() {
    let typo = Config::from_text("storage = \"capped\"\n[capped]\nmax_record = 3").unwrap();
    let err = resty_session::build_with(&typo, &backends()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `[capped]` options: unknown option `max_record` (did you mean `max_records`?)"
    );
    let zero = Config::from_text("storage = \"capped\"\n[capped]\nmax_records = 0").unwrap();
    let err = resty_session::build_with(&zero, &backends()).unwrap_err();
    assert!(
        matches!(
            err,
            SetupError::Storage {
                backend: "capped",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("at least 1"), "{err}");
}

#[test]
fn without_registration_the_name_is_unknown() {
    let config = Config::from_text("storage = \"capped\"").unwrap();
    let err = resty_session::build(&config).unwrap_err();
    assert!(matches!(err, SetupError::UnknownStorage(_)), "{err}");
}
