//! The session engine end to end on memcached: save, open in a new `Session`, refresh
//! (old record kept for `stale_ttl`), metadata listing, logout and destroy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Raw;
use serde_json::json;
use session_core::{Request, Session, State};
use session_memcached::MemcachedStorage;
use session_storage::Storage;
use session_testsupport::clock::now;
use session_testsupport::engine::{self, config_with, jar, open, storage_key};
use session_testsupport::names::unique;

fn store() -> MemcachedStorage {
    common::store_with(common::config().with_prefix(unique("engine")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_open_save_again_and_destroy() {
    let store = store();
    let config = config_with(&store, json!({"subject": "john", "store_metadata": true}));
    let mut s = Session::new(&config, Request::new());
    s.set("user", &"john").unwrap();
    s.set("n", &42).unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = storage_key(&s);
    assert_eq!(key.len(), 43);

    // The record: `["<payload>"]` under the escaped key, with the rolling timeout as TTL.
    let mut raw = Raw::connect();
    let wire = store.record_wire_key("session", &key);
    let record = String::from_utf8(raw.get(&wire).expect("record stored")).unwrap();
    assert!(
        record.starts_with("[\"") && record.ends_with("\"]"),
        "{record}"
    );
    let ttl = raw.ttl(&wire).unwrap();
    assert!((3_590..=3_600).contains(&ttl), "TTL {ttl}");
    // Listed under default/john (base64url-encoded).
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(index.contains_key(&key), "{index:?}");

    // A new Session opens it.
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(o.get::<String>("user").unwrap().as_deref(), Some("john"));
    assert_eq!(o.get::<i64>("n").unwrap(), Some(42));

    // Save again: a new record; the old one is touched to stale_ttl (10 s) and its
    // collection entry tombstoned.
    o.save().await.unwrap();
    let new_cookie = jar(o.set_cookies());
    let new_key = storage_key(&o);
    assert_ne!(new_key, key);
    let old_ttl = raw
        .ttl(&wire)
        .expect("old record readable during stale_ttl");
    assert!((1..=10).contains(&old_ttl), "old TTL {old_ttl}");
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(
        index.contains_key(&new_key) && !index.contains_key(&key),
        "{index:?}"
    );

    // Destroy deletes the record and takes it out of the collection.
    let mut d = open(&config, &new_cookie).await.unwrap();
    d.destroy().await.unwrap();
    assert_eq!(d.state(), State::Closed);
    assert_eq!(raw.get(&store.record_wire_key("session", &new_key)), None);
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(!index.contains_key(&new_key), "{index:?}");
    assert_eq!(
        open(&config, &new_cookie).await.unwrap_err(),
        "unable to load session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_deletes_the_record() {
    let store = store();
    let config = config_with(&store, json!({"subject": "jane", "store_metadata": true}));
    engine::logout_deletes_the_record(&store, &config).await;
}
