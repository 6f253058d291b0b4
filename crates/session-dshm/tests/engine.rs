//! The session engine end to end on the DSHM test server: save, open in a new `Session`,
//! save again (old record kept for `stale_ttl`), metadata listing, logout and destroy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use session_core::{Request, Session, State};
use session_storage::Storage;
use session_testsupport::clock::now;
use session_testsupport::engine::{self, config_with, jar, open, storage_key};
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_open_save_again_and_destroy() {
    let server = TestServer::start();
    let store = support::store(&server);
    let config = config_with(&store, json!({"subject": "john", "store_metadata": true}));
    let mut s = Session::new(&config, Request::new());
    s.set("user", &"john").unwrap();
    s.set("n", &42).unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = storage_key(&s);
    assert_eq!(key.len(), 43);

    // The record: `["<payload>"]` under `sessions:session:<key>`, with the rolling timeout.
    let wire = store.record_wire_key("session", &key);
    assert_eq!(wire, format!("sessions:session:{key}"));
    let record = server.value(&wire).expect("record stored");
    assert!(
        record.starts_with("[\"") && record.ends_with("\"]"),
        "{record}"
    );
    let ttl = server.ttl(&wire).unwrap().unwrap();
    assert!(
        ttl > Duration::from_secs(3_590) && ttl <= Duration::from_secs(3_600),
        "TTL {ttl:?}"
    );
    // Listed under default/john (base64url-encoded).
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(index.contains_key(&key), "{index:?}");
    assert!(server.value("sessions:session:ZGVmYXVsdA:am9obg").is_some());

    // A new Session opens it.
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(o.get::<String>("user").unwrap().as_deref(), Some("john"));
    assert_eq!(o.get::<i64>("n").unwrap(), Some(42));

    // Save again: a new record; the old one is touched to stale_ttl (10 s) and leaves the
    // collection.
    o.save().await.unwrap();
    let new_cookie = jar(o.set_cookies());
    let new_key = storage_key(&o);
    assert_ne!(new_key, key);
    let old_ttl = server
        .ttl(&wire)
        .expect("old record readable during stale_ttl")
        .unwrap();
    assert!(old_ttl <= Duration::from_secs(10), "old TTL {old_ttl:?}");
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(
        index.contains_key(&new_key) && !index.contains_key(&key),
        "{index:?}"
    );

    // Destroy deletes the record and takes it out of the collection (deleted when empty).
    let mut d = open(&config, &new_cookie).await.unwrap();
    d.destroy().await.unwrap();
    assert_eq!(d.state(), State::Closed);
    assert_eq!(
        server.value(&store.record_wire_key("session", &new_key)),
        None
    );
    let index = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now())
        .await
        .unwrap();
    assert!(!index.contains_key(&new_key), "{index:?}");
    assert_eq!(server.value("sessions:session:ZGVmYXVsdA:am9obg"), None);
    assert_eq!(
        open(&config, &new_cookie).await.unwrap_err(),
        "unable to load session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_deletes_the_record() {
    let server = TestServer::start();
    let store = support::store(&server);
    let config = config_with(&store, json!({"subject": "jane", "store_metadata": true}));
    engine::logout_deletes_the_record(&store, &config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_missing_on_the_server_fails_to_open() {
    let server = TestServer::start();
    let store = support::store(&server);
    let config = config_with(&store, json!({}));
    let mut s = Session::new(&config, Request::new());
    s.set("k", &"v").unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    // The record is gone from the server: `ERROR not_found` → cannot open.
    store
        .delete("session", &storage_key(&s), now(), None)
        .await
        .unwrap();
    assert_eq!(
        open(&config, &cookie).await.unwrap_err(),
        "unable to load session"
    );
}
