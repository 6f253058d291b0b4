//! The session engine on this store: save, open in a new request, rotate, logout and
//! destroy, with the rows checked in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use serde_json::{Value, json};
use session_core::{Request, Session, State};
use session_pg::PostgresStorage;
use session_testsupport::clock::now;
use session_testsupport::engine::{config_with, jar, open, storage_key};

/// (name, data, exp) of the row of `key`, if any.
async fn row(store: &PostgresStorage, key: &str) -> Option<(String, String, i64)> {
    let client = store.connection().await.unwrap();
    let sql = format!(
        "SELECT name, data, EXTRACT(EPOCH FROM exp)::int8 FROM {} WHERE sid = $1",
        store.table()
    );
    client
        .query_opt(&sql, &[&key])
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

async fn meta_count(store: &PostgresStorage) -> i64 {
    let client = store.connection().await.unwrap();
    let sql = format!("SELECT count(*) FROM {}", store.table_meta());
    client.query_one(&sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_open_rotate_and_destroy() {
    let (store, _tables) = common::fresh("eng").await;
    let config = config_with(&store, json!({"subject": "john", "store_metadata": true}));

    let mut s = Session::new(&config, Request::new());
    s.set("user", &json!({"name": "John", "n": 42})).unwrap();
    let t = now();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = storage_key(&s);
    let (name, data, exp) = row(&store, &key).await.expect("record stored");
    assert_eq!(name, "session");
    assert!(data.starts_with("[\"") && data.ends_with("\"]"), "{data}");
    assert!(
        (t + 3600..=t + 3601).contains(&exp),
        "rolling timeout: {exp} vs {t}"
    );
    let index = store.read_metadata_now("ZGVmYXVsdA", "am9obg").await;
    assert!(index.contains_key(&key), "listed under default/john");

    // A new request opens it.
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(
        o.get::<Value>("user").unwrap(),
        Some(json!({"name": "John", "n": 42}))
    );

    // Saving again rotates the id: the old row is shortened to stale_ttl (10 s).
    o.set("more", &1).unwrap();
    o.save().await.unwrap();
    let new_key = storage_key(&o);
    assert_ne!(new_key, key);
    let new_cookie = jar(o.set_cookies());
    let (_, _, old_exp) = row(&store, &key).await.expect("old row kept while stale");
    let now = now();
    assert!(
        old_exp <= now + 10,
        "old row expires within stale_ttl: {old_exp} vs {now}"
    );
    assert!(
        open(&config, &cookie).await.is_ok(),
        "old cookie still opens while stale"
    );

    // Destroy deletes the record; its metadata rows go by cascade.
    let mut d = open(&config, &new_cookie).await.unwrap();
    d.destroy().await.unwrap();
    assert_eq!(d.state(), State::Closed);
    assert_eq!(row(&store, &new_key).await, None);
    assert_eq!(
        open(&config, &new_cookie).await.unwrap_err(),
        "unable to load session"
    );
    let index = store.read_metadata_now("ZGVmYXVsdA", "am9obg").await;
    assert!(!index.contains_key(&new_key));
    assert!(
        meta_count(&store).await <= 1,
        "only the stale old key's row may remain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_deletes_the_record() {
    let (store, _tables) = common::fresh("eng").await;
    let config = config_with(&store, json!({"subject": "john", "store_metadata": true}));
    let mut s = Session::new(&config, Request::new());
    s.set("k", "v").unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = storage_key(&s);
    assert!(row(&store, &key).await.is_some());

    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    o.logout().await.unwrap();
    assert_eq!(row(&store, &key).await, None);
    assert_eq!(meta_count(&store).await, 0);
    assert_eq!(
        open(&config, &cookie).await.unwrap_err(),
        "unable to load session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_session_is_stored_under_the_remember_name() {
    let (store, _tables) = common::fresh("eng").await;
    let config = config_with(&store, json!({"remember": true}));
    let mut s = Session::new(&config, Request::new());
    s.set("k", "v").unwrap();
    s.save().await.unwrap();
    let client = store.connection().await.unwrap();
    let names: Vec<String> = client
        .query(
            &format!("SELECT name FROM {} ORDER BY name", store.table()),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["remember", "session"]);
}

/// `read_metadata` at the current time.
trait ReadNow {
    async fn read_metadata_now(&self, aud: &str, sub: &str) -> session_storage::SessionIndex;
}

impl ReadNow for PostgresStorage {
    async fn read_metadata_now(&self, aud: &str, sub: &str) -> session_storage::SessionIndex {
        use session_storage::Storage;
        self.read_metadata("session", aud, sub, now())
            .await
            .unwrap()
    }
}
