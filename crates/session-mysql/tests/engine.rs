//! The session engine on this store: a `session_core::Session` saves, a new `Session` opens
//! the record from MariaDB, a save with the previous key shortens it, and logout / destroy
//! delete the row and, by cascade, its metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use session_core::env::FixedClock;
use session_core::session_codec::{Header, hash_storage_key};
use session_core::session_storage::Storage;
use session_core::{Request, Session, SessionConfig, State};
use session_mysql::MysqlStorage;
use session_mysql::mysql_async::prelude::Queryable;
use session_testsupport::clock::now;
use session_testsupport::engine::{self, cookie_value, jar, open};

fn config(store: &MysqlStorage, clock: &Arc<FixedClock>, json: Value) -> SessionConfig {
    engine::builder(json)
        .storage(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// The storage key of cookie `name`.
fn key_of(set_cookies: &[String], name: &str) -> String {
    let header = Header::decode_base64(cookie_value(set_cookies, name))
        .unwrap()
        .0;
    hash_storage_key(&header.sid, false)
}

async fn rows(store: &MysqlStorage) -> (Vec<(String, String, i64)>, u64) {
    let (t, tm) = store.table_names();
    let mut c = store.connection().await.unwrap();
    let sessions = c
        .query(format!(
            "SELECT sid, name, UNIX_TIMESTAMP(exp) FROM `{t}` ORDER BY sid"
        ))
        .await
        .unwrap();
    let meta: Option<u64> = c
        .query_first(format!("SELECT COUNT(*) FROM `{tm}`"))
        .await
        .unwrap();
    (sessions, meta.unwrap())
}

#[tokio::test]
async fn save_open_regenerate_logout_and_destroy_through_the_engine() {
    let (store, _tables) = common::fresh("engine").await;
    let now = now();
    let clock = Arc::new(FixedClock::new(u64::try_from(now).unwrap()));
    let config = config(
        &store,
        &clock,
        json!({"subject": "john", "store_metadata": true}),
    );

    // Save: one row under the cookie's storage key, exp = now + rolling_timeout (3600).
    let mut s = Session::new(&config, Request::new());
    s.set("user", &json!({"name": "John", "n": 42})).unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    let (sessions, meta) = rows(&store).await;
    assert_eq!(
        sessions,
        vec![(key.clone(), "session".to_owned(), now + 3600)]
    );
    assert_eq!(meta, 1, "subject john in the default audience");
    let listed = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now)
        .await
        .unwrap();
    assert_eq!(listed.get(&key), Some(&(now + 3600)));

    // A new session with the cookie opens the record.
    clock.advance(5);
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(
        o.get::<Value>("user").unwrap(),
        Some(json!({"name": "John", "n": 42}))
    );

    // Saving again regenerates the id; the old row is shortened to now + stale_ttl (10).
    o.set("n", &1).unwrap();
    o.save().await.unwrap();
    let new_cookie = jar(o.set_cookies());
    let new_key = key_of(o.set_cookies(), "session");
    assert_ne!(new_key, key);
    let (sessions, meta) = rows(&store).await;
    let exp = |sid: &str| sessions.iter().find(|r| r.0 == sid).map(|r| r.2);
    assert_eq!(exp(&key), Some(now + 5 + 10));
    assert_eq!(exp(&new_key), Some(now + 5 + 3600));
    assert_eq!(meta, 2, "the old key's metadata stays until its row goes");
    assert!(open(&config, &cookie).await.is_ok(), "stale but readable");
    clock.advance(11);
    assert_eq!(
        open(&config, &cookie).await.unwrap_err(),
        "unable to load session"
    );

    // Logout of the only audience deletes the record and its metadata.
    let mut o = open(&config, &new_cookie).await.unwrap();
    assert_eq!(o.get::<i64>("n").unwrap(), Some(1));
    o.logout().await.unwrap();
    let (sessions, meta) = rows(&store).await;
    assert!(sessions.iter().all(|r| r.0 != new_key));
    assert_eq!(meta, 1, "only the stale key's row is left");
    assert_eq!(
        open(&config, &new_cookie).await.unwrap_err(),
        "unable to load session"
    );

    // Destroy deletes too.
    let mut s = Session::new(&config, Request::new());
    s.set("k", &"v").unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    let mut o = open(&config, &cookie).await.unwrap();
    o.destroy().await.unwrap();
    assert_eq!(o.state(), State::Closed);
    let (sessions, _) = rows(&store).await;
    assert!(sessions.iter().all(|r| r.0 != key));
    assert_eq!(
        open(&config, &cookie).await.unwrap_err(),
        "unable to load session"
    );
}

#[tokio::test]
async fn remember_sessions_are_stored_under_the_remember_cookie_name() {
    let (store, _tables) = common::fresh("remember").await;
    let now = now();
    let clock = Arc::new(FixedClock::new(u64::try_from(now).unwrap()));
    let config = config(&store, &clock, json!({"remember": true}));
    let mut s = Session::new(&config, Request::new());
    s.set("k", &"v").unwrap();
    s.set_remember(true).unwrap();
    s.save().await.unwrap();
    let key = key_of(s.set_cookies(), "remember");
    let (sessions, _) = rows(&store).await;
    assert!(
        sessions
            .iter()
            .any(|r| r.0 == key && r.1 == "remember" && r.2 == now + 604_800),
        "{sessions:?}"
    );
}
