//! What the store does where the conformance suite expects per-cookie-name namespacing,
//! which the reference's PostgreSQL layout does not have (docs/storage.md §11.1, §11.3): these are
//! the two suite cases `conformance.rs` does not run, pinned to the reference's behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use session_storage::testkit::Keys;
use session_storage::{Metadata, SetRequest, Storage};
use session_testsupport::clock::now;

/// Suite case `records_are_namespaced_by_cookie_name`: `sid` alone is the primary key, so
/// one key under two cookie names is one row. The upsert overwrites `data` and `exp` and
/// keeps the first `name`; GET and DELETE do not look at the name.
#[tokio::test]
async fn one_key_under_two_cookie_names_is_one_row() {
    let (store, _tables) = common::fresh("dev").await;
    let key = Keys::new().next();
    let t = now();
    store
        .set(&SetRequest::new("session", &key, "normal", 60, t))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("remember", &key, "persistent", 60, t))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", &key, t).await.unwrap().as_deref(),
        Some("persistent")
    );
    assert_eq!(
        store.get("remember", &key, t).await.unwrap().as_deref(),
        Some("persistent")
    );
    let client = store.connection().await.unwrap();
    let name: String = client
        .query_one(
            &format!("SELECT name FROM {} WHERE sid = $1", store.table()),
            &[&key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "session");
    store.delete("session", &key, t, None).await.unwrap();
    assert_eq!(store.get("remember", &key, t).await.unwrap(), None);
}

/// Suite case `metadata_collections_are_separate` (its cookie-name check): the metadata
/// table has no name column and GET_META does not join on it, so a collection read under
/// another cookie name lists the same sessions. Audience and subject do separate them.
#[tokio::test]
async fn collections_are_per_audience_and_subject_not_per_cookie_name() {
    let (store, _tables) = common::fresh("dev").await;
    let keys = Keys::new();
    let (k1, k2) = (keys.next(), keys.next());
    let t = now();
    let john = Metadata::new(vec!["Zm9v".into()], vec!["am9obg".into()]);
    let jane = Metadata::new(vec!["Zm9v".into()], vec!["amFuZQ".into()]);
    store
        .set(&SetRequest::new("session", &k1, "v", 60, t).with_metadata(&john))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", &k2, "v", 60, t).with_metadata(&jane))
        .await
        .unwrap();
    let john_keys = store
        .read_metadata("session", "Zm9v", "am9obg", t)
        .await
        .unwrap();
    assert_eq!(john_keys.keys().collect::<Vec<_>>(), vec![&k1]);
    let jane_keys = store
        .read_metadata("session", "Zm9v", "amFuZQ", t)
        .await
        .unwrap();
    assert_eq!(jane_keys.keys().collect::<Vec<_>>(), vec![&k2]);
    assert!(
        store
            .read_metadata("session", "YmFy", "am9obg", t)
            .await
            .unwrap()
            .is_empty()
    );
    let other = store
        .read_metadata("other_name", "Zm9v", "am9obg", t)
        .await
        .unwrap();
    assert_eq!(
        other, john_keys,
        "the reference ignores the cookie name here"
    );
}
