//! The engine's server-side mode end to end (issue 4, item 3), run against every store that
//! judges expiry by the engine's clock: `session-shm` (a private zone per test),
//! `session-file` (a fresh temporary directory per test), the in-memory reference store, and
//! the SQL stores on the reference's tables (`session-pg` on `SESSION_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; `session-mysql` on `SESSION_MYSQL_URL`, default
//! `mysql://root@127.0.0.1:3306/test`; tables of their own per test, dropped after). Each test
//! is one generic async function over a [`Store`]; `on_every_store!` instantiates it once per
//! store.
//!
//! Time is a [`FixedClock`] the tests move, so stale-TTL and expiry cases are exact; every
//! store judges expiry with the `now` the engine passes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use serde_json::{Value, json};
use session_core::env::{Clock as _, FixedClock, SequentialSid};
use session_core::session_codec::{
    Flags, HEADER_ENCODED_SIZE, Header, b64_decode, b64_encode, hash_storage_key, hash_subject,
};
use session_core::session_storage::memory::MemoryStorage;
use session_core::session_storage::{DynStorage, SessionIndex, SetRequest, Storage, StorageError};
use session_core::{Config, Request, Session, SessionConfig, State};
use session_file::{FileConfig, FileStorage};
use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};
use session_pg::{PostgresConfig, PostgresStorage};
use session_shm::{ShmStorage, ShmZone};

const NOW: u64 = 1_700_000_000;
use session_testsupport::engine::{self, SECRET, cookie_value, jar, open};
use session_testsupport::env;
use session_testsupport::names::unique;

/// One store under test, with the clock every config of the test shares.
struct Store {
    label: &'static str,
    store: Arc<dyn DynStorage>,
    clock: Arc<FixedClock>,
    _dir: Option<tempfile::TempDir>,
    _tables: Option<SqlTables>,
}

/// Tables a test created; dropped (from a runtime of their own) when the test ends.
enum SqlTables {
    Postgres(PostgresConfig, String),
    Mysql(MysqlConfig, String),
}

impl Drop for SqlTables {
    fn drop(&mut self) {
        let job = match self {
            Self::Postgres(config, table) => (Some(config.clone()), None, table.clone()),
            Self::Mysql(config, table) => (None, Some(config.clone()), table.clone()),
        };
        let dropped = session_testsupport::rt::block_on_own_thread(move || async move {
            let (pg, my, table) = job;
            if let Some(config) = pg {
                let store = PostgresStorage::from_config(config).unwrap();
                let client = store.connection().await.unwrap();
                client
                    .batch_execute(&format!("DROP TABLE {table}_meta; DROP TABLE {table}"))
                    .await
                    .unwrap();
            }
            if let Some(config) = my {
                let store = MysqlStorage::from_config(config).unwrap();
                let mut conn = store.connection().await.unwrap();
                conn.query_drop(format!("DROP TABLE {table}_meta, {table}"))
                    .await
                    .unwrap();
            }
        });
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop the test tables");
        }
    }
}

impl Store {
    fn with(
        label: &'static str,
        store: Arc<dyn DynStorage>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        Self {
            label,
            store,
            clock: Arc::new(FixedClock::new(NOW)),
            _dir: dir,
            _tables: None,
        }
    }

    async fn postgres() -> Self {
        let table = unique("pg");
        let mut config = PostgresConfig::from_url(&env::postgres_url())
            .unwrap()
            .with_tables(table.clone(), None);
        config.pool_size = Some(4);
        let store = PostgresStorage::from_config(config.clone()).unwrap();
        let created = store.create_schema().await;
        Self::sql(store, created, SqlTables::Postgres(config, table))
    }

    async fn mysql() -> Self {
        let table = unique("my");
        let mut config = MysqlConfig::from_url(&env::mysql_url())
            .unwrap()
            .with_tables(table.clone(), None);
        config.pool_size = Some(4);
        let store = MysqlStorage::from_config(config.clone()).unwrap();
        let created = store.create_schema().await;
        Self::sql(store, created, SqlTables::Mysql(config, table))
    }

    /// An SQL store on the fresh `tables` its `create_schema` made (`created`); fails loudly,
    /// naming the server, when that did not work.
    fn sql<S: Storage>(store: S, created: Result<(), StorageError>, tables: SqlTables) -> Self {
        let (label, server) = match &tables {
            SqlTables::Postgres(..) => {
                ("postgres", format!("PostgreSQL at {}", env::postgres_url()))
            }
            SqlTables::Mysql(..) => ("mysql", format!("MariaDB at {}", env::mysql_url())),
        };
        if let Err(e) = created {
            panic!("{server}: {e}");
        }
        let mut s = Self::with(label, Arc::new(store), None);
        s._tables = Some(tables);
        s
    }

    async fn shm() -> Self {
        let zone = ShmZone::new("server-side", 16 * 1024 * 1024);
        Self::with(
            "shm",
            Arc::new(ShmStorage::with_zone(zone, Some("sessions".into()), None)),
            None,
        )
    }

    async fn file() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = FileConfig::default()
            .with_path(dir.path())
            .with_suffix("session");
        let store = FileStorage::from_config(config).unwrap();
        Self::with("file", Arc::new(store), Some(dir))
    }

    async fn memory() -> Self {
        Self::with("memory", Arc::new(MemoryStorage::new()), None)
    }

    /// Whether a save with an old key leaves the old key in the metadata collections until
    /// its stale expiry (the SQL stores, docs/storage.md §13.3) rather than removing it at once.
    fn keeps_old_metadata(&self) -> bool {
        matches!(self.label, "postgres" | "mysql")
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap()
    }

    /// A config on this store and clock (secret added; random session ids).
    fn config(&self, json: Value) -> SessionConfig {
        engine::builder(json)
            .dyn_storage(Arc::clone(&self.store))
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    /// The same without a storage: cookie mode.
    fn cookie_config(&self, json: Value) -> SessionConfig {
        engine::builder(json)
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    async fn get(&self, name: &str, key: &str) -> Option<String> {
        self.store.dyn_get(name, key, self.now()).await.unwrap()
    }

    async fn index(&self, name: &str, audience: &str, subject: &str) -> SessionIndex {
        self.store
            .dyn_read_metadata(name, audience, subject, self.now())
            .await
            .unwrap()
    }
}

macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        on_every_store!(@on shm, $($test),*);
        on_every_store!(@on file, $($test),*);
        on_every_store!(@on memory, $($test),*);
        on_every_store!(@on postgres, $($test),*);
        on_every_store!(@on mysql, $($test),*);
    };
    (@on $store:ident, $($test:ident),*) => {
        mod $store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Store::$store().await).await;
                }
            )*
        }
    };
}

on_every_store!(
    save_writes_a_header_only_cookie_with_the_storage_flag_and_a_payload_record,
    open_reads_the_record_back,
    hash_storage_key_stores_under_the_sha256_of_the_session_id,
    store_metadata_lists_the_session_under_its_audience_and_subject,
    hash_subject_names_the_collection_with_the_hashed_subject,
    two_audiences_list_the_session_under_raw_subjects,
    info_store_is_written_as_the_second_element_and_persists_across_requests,
    destroy_deletes_the_record_and_its_metadata,
    logout_of_the_only_audience_deletes_the_record,
    logout_of_one_of_two_audiences_keeps_the_other_readable,
    previous_record_stays_readable_for_stale_ttl_then_fails_to_load,
    concurrent_requests_with_the_same_cookie_all_open_and_save,
    remember_cookie_keeps_its_own_record_under_the_remember_name,
    destroy_with_remember_deletes_both_records,
    remember_cookie_restores_a_session_whose_record_is_gone,
    refresh_rotates_the_record_and_touch_leaves_it,
    stale_record_expires_in_real_time_with_the_system_clock,
    storage_cookie_is_refused_by_a_cookie_config_and_vice_versa,
    cookie_prefix_is_part_of_the_record_name,
    record_in_the_reference_layout_opens,
    record_expires_with_the_storage_ttl,
);

/// The decoded header of cookie `name`.
fn header(set_cookies: &[String], name: &str) -> Header {
    Header::decode_base64(cookie_value(set_cookies, name))
        .unwrap()
        .0
}

/// The unhashed storage key of cookie `name`.
fn key_of(set_cookies: &[String], name: &str) -> String {
    hash_storage_key(&header(set_cookies, name).sid, false)
}

/// A stored record's elements (the JSON array of one or two strings).
fn elements(record: &str) -> Vec<String> {
    serde_json::from_str(record).unwrap()
}

/// The decoded info object of a stored record, if any.
fn info_of(record: &str) -> Option<Value> {
    let items = elements(record);
    let info = items.get(1)?;
    Some(serde_json::from_slice(&b64_decode(info).unwrap()).unwrap())
}

async fn saved(config: &SessionConfig, cookie: Option<&str>, set: &[(&str, Value)]) -> Session {
    let request = cookie.map_or_else(Request::new, |c| Request::new().with_cookie(c));
    let mut s = Session::new(config, request);
    if cookie.is_some() {
        s.open().await.unwrap();
    }
    for (k, v) in set {
        s.set(k, v).unwrap();
    }
    s.save().await.unwrap();
    s
}

/// The record of `key` and john's collection (default audience) are gone, and `cookie` no
/// longer opens.
async fn record_and_metadata_are_gone(
    store: &Store,
    config: &SessionConfig,
    key: &str,
    cookie: &str,
) {
    assert!(store.get("session", key).await.is_none(), "{}", store.label);
    assert!(
        store
            .index("session", "ZGVmYXVsdA", "am9obg")
            .await
            .is_empty()
    );
    assert_eq!(
        open(config, cookie).await.unwrap_err(),
        "unable to load session"
    );
}

async fn save_writes_a_header_only_cookie_with_the_storage_flag_and_a_payload_record(store: Store) {
    let config = store.config(json!({"audience": "app1"}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let cookies = s.set_cookies();
    assert_eq!(cookies.len(), 1, "{}: {cookies:?}", store.label);
    let value = cookie_value(cookies, "session");
    assert_eq!(value.len(), HEADER_ENCODED_SIZE, "header only");
    let h = header(cookies, "session");
    assert!(h.flags.contains(Flags::STORAGE));

    // The record: `["<payload>"]`, compact, under base64url(sid) and the cookie name.
    let key = key_of(cookies, "session");
    assert_eq!(key.len(), 43);
    let property = s.get_property("id").unwrap().unwrap().to_string();
    assert_eq!(property, key);
    let record = store.get("session", &key).await.expect("record stored");
    let payload = record
        .strip_prefix("[\"")
        .and_then(|r| r.strip_suffix("\"]"))
        .unwrap_or_else(|| panic!("not [\"payload\"]: {record}"));
    assert!(
        payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "payload is base64url: {payload}"
    );
    assert_eq!(payload.len(), usize::try_from(h.data_size).unwrap());
    assert!(info_of(&record).is_none());
}

async fn open_reads_the_record_back(store: Store) {
    let config = store.config(json!({"audience": "app1"}));
    let s = saved(&config, None, &[("k", json!("v")), ("n", json!(42))]).await;
    let cookie = jar(s.set_cookies());
    store.clock.advance(5);
    let o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.state(), State::Open);
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    assert_eq!(o.get::<i64>("n").unwrap(), Some(42));
    assert_eq!(
        o.cookie_metadata().unwrap().sid,
        s.cookie_metadata().unwrap().sid
    );
    // Opening does not write: no cookie, and the record is unchanged.
    assert!(o.set_cookies().is_empty());
}

async fn hash_storage_key_stores_under_the_sha256_of_the_session_id(store: Store) {
    let config = store.config(json!({"hash_storage_key": true}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let sid = header(s.set_cookies(), "session").sid;
    let hashed = hash_storage_key(&sid, true);
    assert_ne!(hashed, hash_storage_key(&sid, false));
    assert!(
        store.get("session", &hashed).await.is_some(),
        "{}",
        store.label
    );
    assert!(
        store
            .get("session", &b64_encode(sid.as_bytes()))
            .await
            .is_none()
    );
    let o = open(&config, &jar(s.set_cookies())).await.unwrap();
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    // A config without hashing looks under the raw key and finds nothing.
    let plain = store.config(json!({}));
    assert_eq!(
        open(&plain, &jar(s.set_cookies())).await.unwrap_err(),
        "unable to load session"
    );
}

async fn store_metadata_lists_the_session_under_its_audience_and_subject(store: Store) {
    let config = store.config(json!({
        "audience": "app1", "subject": "john@example.com", "store_metadata": true,
    }));
    let s = saved(&config, None, &[]).await;
    let first = key_of(s.set_cookies(), "session");
    let (aud, sub) = (b64_encode(b"app1"), b64_encode(b"john@example.com"));
    assert_eq!(
        (aud.as_str(), sub.as_str()),
        ("YXBwMQ", "am9obkBleGFtcGxlLmNvbQ")
    );
    let now = store.now();
    let index = store.index("session", &aud, &sub).await;
    assert_eq!(
        index.into_iter().collect::<Vec<_>>(),
        [(first.clone(), now + 3600)],
        "{}",
        store.label
    );

    // A second save moves the session to a new key: the old one leaves the collection.
    store.clock.advance(2);
    let s2 = saved(&config, Some(&jar(s.set_cookies())), &[]).await;
    let second = key_of(s2.set_cookies(), "session");
    let index = store.index("session", &aud, &sub).await;
    if store.keeps_old_metadata() {
        // SQL: the old row stays listed until its stale expiry (stale_ttl 10 s).
        assert_eq!(
            index,
            SessionIndex::from([(first.clone(), now + 2 + 10), (second, now + 2 + 3600)])
        );
    } else {
        assert_eq!(
            index.into_iter().collect::<Vec<_>>(),
            [(second, now + 2 + 3600)]
        );
    }
    // Another subject's collection is empty; a session without subject writes none.
    assert!(
        store
            .index("session", &aud, &b64_encode(b"jane"))
            .await
            .is_empty()
    );
    let anon = store.config(json!({"audience": "anon", "store_metadata": true}));
    saved(&anon, None, &[]).await;
    assert!(
        store
            .index("session", &b64_encode(b"anon"), "")
            .await
            .is_empty()
    );
}

async fn hash_subject_names_the_collection_with_the_hashed_subject(store: Store) {
    let config = store.config(json!({
        "subject": "john@example.com", "store_metadata": true, "hash_subject": true,
        "hash_storage_key": true,
    }));
    let s = saved(&config, None, &[]).await;
    let sid = header(s.set_cookies(), "session").sid;
    let hashed_key = hash_storage_key(&sid, true);
    let sub = hash_subject("john@example.com", true);
    assert_eq!(sub, "hV-W6YPx-Oi-lEaStvcZ_Q");
    let index = store.index("session", "ZGVmYXVsdA", &sub).await;
    assert_eq!(
        index.keys().collect::<Vec<_>>(),
        [&hashed_key],
        "{}",
        store.label
    );
    // Nothing under the plain subject.
    let plain = hash_subject("john@example.com", false);
    assert!(
        store
            .index("session", "ZGVmYXVsdA", &plain)
            .await
            .is_empty()
    );
}

async fn two_audiences_list_the_session_under_raw_subjects(store: Store) {
    let a1 = store.config(json!({"audience": "a1", "subject": "s1", "store_metadata": true}));
    let a2 = store.config(json!({"audience": "a2", "store_metadata": true}));
    let first = saved(&a1, None, &[("x", json!(1))]).await;
    let first_key = key_of(first.set_cookies(), "session");
    assert!(
        store
            .index("session", "YTE", "czE")
            .await
            .contains_key(&first_key)
    );

    // Join audience a2 with the same cookie (the open fails with "missing session audience"
    // and keeps the a1 entry), then save both.
    let mut b = Session::new(&a2, Request::new().with_cookie(jar(first.set_cookies())));
    assert_eq!(
        b.open().await.unwrap_err().to_string(),
        "missing session audience"
    );
    b.set_subject(Some("s2")).unwrap();
    b.save().await.unwrap();
    let key = key_of(b.set_cookies(), "session");
    // The reference's quirk: with two audiences the subjects are stored raw.
    let idx1 = store.index("session", "YTE", "s1").await;
    let idx2 = store.index("session", "YTI", "s2").await;
    assert!(idx1.contains_key(&key), "{}: {idx1:?}", store.label);
    assert!(idx2.contains_key(&key), "{}: {idx2:?}", store.label);
    // Both audiences open the new cookie.
    let cookie = jar(b.set_cookies());
    let o1 = open(&a1, &cookie).await.unwrap();
    assert_eq!(o1.get::<i64>("x").unwrap(), Some(1));
    open(&a2, &cookie).await.unwrap();
}

async fn info_store_is_written_as_the_second_element_and_persists_across_requests(store: Store) {
    let config = store.config(json!({"audience": "app1"}));
    // Request 1: data and info, one save.
    let mut s = Session::new(&config, Request::new());
    s.set("k", "v").unwrap();
    s.info().set("ik", "iv").unwrap();
    s.save().await.unwrap();
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    let record = store.get("session", &key).await.unwrap();
    assert_eq!(elements(&record).len(), 2, "{}: {record}", store.label);
    assert_eq!(info_of(&record), Some(json!({"app1": {"ik": "iv"}})));
    assert!(!record.contains(' '), "compact JSON: {record}");

    // Request 2: open, read, change the info alone and save it in place.
    store.clock.advance(3);
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(o.info().get::<String>("ik").unwrap().as_deref(), Some("iv"));
    o.info().set("ik", "changed").unwrap();
    o.info().set("visits", &2).unwrap();
    o.info().save().await.unwrap();
    assert!(o.set_cookies().is_empty(), "info:save issues no cookie");
    let rewritten = store.get("session", &key).await.unwrap();
    assert_eq!(
        elements(&rewritten)[0],
        elements(&record)[0],
        "same payload"
    );
    assert_eq!(
        info_of(&rewritten),
        Some(json!({"app1": {"ik": "changed", "visits": 2}}))
    );

    // Request 3: the same cookie sees the new info; the data is untouched.
    store.clock.advance(3);
    let mut o = open(&config, &cookie).await.unwrap();
    assert_eq!(
        o.info().get::<String>("ik").unwrap().as_deref(),
        Some("changed")
    );
    assert_eq!(o.info().get::<i64>("visits").unwrap(), Some(2));
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    // Info is not session data: it never appears in the payload.
    assert_eq!(o.get::<String>("ik").unwrap(), None);

    // Request 4: a full save carries the info to the new record.
    o.save().await.unwrap();
    let new_key = key_of(o.set_cookies(), "session");
    assert_ne!(new_key, key);
    let record = store.get("session", &new_key).await.unwrap();
    assert_eq!(
        info_of(&record),
        Some(json!({"app1": {"ik": "changed", "visits": 2}}))
    );
}

async fn destroy_deletes_the_record_and_its_metadata(store: Store) {
    let config = store.config(json!({"subject": "john", "store_metadata": true}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    assert!(
        !store
            .index("session", "ZGVmYXVsdA", "am9obg")
            .await
            .is_empty()
    );
    store.clock.advance(1);
    let mut o = open(&config, &cookie).await.unwrap();
    o.destroy().await.unwrap();
    assert_eq!(o.state(), State::Closed);
    assert!(
        o.set_cookies()[0].starts_with("session=; "),
        "{:?}",
        o.set_cookies()
    );
    record_and_metadata_are_gone(&store, &config, &key, &cookie).await;
}

async fn logout_of_the_only_audience_deletes_the_record(store: Store) {
    let config = store.config(json!({"subject": "john", "store_metadata": true}));
    let s = saved(&config, None, &[]).await;
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    let mut o = open(&config, &cookie).await.unwrap();
    o.logout().await.unwrap();
    record_and_metadata_are_gone(&store, &config, &key, &cookie).await;
}

async fn logout_of_one_of_two_audiences_keeps_the_other_readable(store: Store) {
    let a1 = store.config(json!({"audience": "a1"}));
    let a2 = store.config(json!({"audience": "a2"}));
    let first = saved(&a1, None, &[("x", json!(1))]).await;
    let mut b = Session::new(&a2, Request::new().with_cookie(jar(first.set_cookies())));
    let _ = b.open().await;
    b.set("y", &2).unwrap();
    b.info().set("i2", &true).unwrap();
    b.save().await.unwrap();
    let both = jar(b.set_cookies());

    let mut o = open(&a2, &both).await.unwrap();
    o.logout().await.unwrap();
    assert_eq!(o.state(), State::Closed);
    let after = jar(o.set_cookies());
    let record = store
        .get("session", &key_of(o.set_cookies(), "session"))
        .await
        .unwrap();
    assert_eq!(
        info_of(&record),
        None,
        "{}: a2's info left with a2",
        store.label
    );
    let o1 = open(&a1, &after).await.unwrap();
    assert_eq!(o1.get::<i64>("x").unwrap(), Some(1));
    assert_eq!(
        open(&a2, &after).await.unwrap_err(),
        "missing session audience"
    );
}

async fn previous_record_stays_readable_for_stale_ttl_then_fails_to_load(store: Store) {
    let config = store.config(json!({"stale_ttl": 10}));
    let s = saved(&config, None, &[("v", json!(1))]).await;
    let old_cookie = jar(s.set_cookies());
    store.clock.advance(100);
    let saved_at = store.now();
    // Request A saves: the old record is now stale, the new one live.
    let a = saved(&config, Some(&old_cookie), &[("v", json!(2))]).await;
    let new_cookie = jar(a.set_cookies());

    // Concurrent request B still carries the old cookie: it opens (and may save) until the
    // stale TTL runs out.
    for dt in [0, 5, 9] {
        store.clock.set(u64::try_from(saved_at).unwrap() + dt);
        let b = open(&config, &old_cookie)
            .await
            .unwrap_or_else(|e| panic!("{} +{dt}s: {e}", store.label));
        assert_eq!(b.get::<i64>("v").unwrap(), Some(1));
    }
    store.clock.set(u64::try_from(saved_at).unwrap() + 9);
    let b = saved(&config, Some(&old_cookie), &[("v", json!(3))]).await;
    let b_cookie = jar(b.set_cookies());

    // Past the stale TTL the old cookie fails; the new cookies keep working. (The file store
    // keeps a record whose expiry equals `now`, so check one second later.)
    store.clock.set(u64::try_from(saved_at).unwrap() + 11);
    assert_eq!(
        open(&config, &old_cookie).await.unwrap_err(),
        "unable to load session",
        "{}",
        store.label
    );
    let a = open(&config, &new_cookie).await.unwrap();
    assert_eq!(a.get::<i64>("v").unwrap(), Some(2));
    let b = open(&config, &b_cookie).await.unwrap();
    assert_eq!(b.get::<i64>("v").unwrap(), Some(3));
}

async fn concurrent_requests_with_the_same_cookie_all_open_and_save(store: Store) {
    const TASKS: i64 = 24;
    let config = store.config(json!({"subject": "john", "store_metadata": true}));
    let s = saved(&config, None, &[("n", json!(-1))]).await;
    let cookie = Arc::new(jar(s.set_cookies()));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let (config, cookie) = (config.clone(), Arc::clone(&cookie));
        tasks.push(tokio::spawn(async move {
            let mut s = Session::new(&config, Request::new().with_cookie(cookie.as_str()));
            s.open().await.map_err(|e| e.to_string())?;
            assert_eq!(s.get::<i64>("n").unwrap(), Some(-1));
            s.set("n", &i).unwrap();
            tokio::task::yield_now().await;
            s.save().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((i, jar(s.set_cookies())))
        }));
    }
    let mut cookies = Vec::new();
    for t in tasks {
        cookies.push(
            t.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: {e}", store.label)),
        );
    }
    // Every new cookie opens with its own value, and all are listed under the subject.
    let index = store.index("session", "ZGVmYXVsdA", "am9obg").await;
    for (i, cookie) in &cookies {
        let o = open(&config, cookie).await.unwrap();
        assert_eq!(o.get::<i64>("n").unwrap(), Some(*i));
        let key = o.get_property("id").unwrap().unwrap().to_string();
        assert!(
            index.contains_key(&key),
            "{}: {key} not indexed",
            store.label
        );
    }
    // SQL stores also still list the key every task opened, until its stale expiry.
    let listed_old = usize::from(store.keeps_old_metadata());
    assert_eq!(
        index.len(),
        usize::try_from(TASKS).unwrap() + listed_old,
        "{}",
        store.label
    );
}

async fn remember_cookie_keeps_its_own_record_under_the_remember_name(store: Store) {
    let config = store.config(json!({"remember": true, "remember_safety": "Low"}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let cookies = s.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let remember_value = cookie_value(cookies, "remember");
    assert_eq!(remember_value.len(), HEADER_ENCODED_SIZE, "header only");
    let rh = header(cookies, "remember");
    assert!(rh.flags.contains(Flags::STORAGE));
    let session_key = key_of(cookies, "session");
    let remember_key = key_of(cookies, "remember");
    assert_ne!(session_key, remember_key);
    assert!(
        store.get("session", &session_key).await.is_some(),
        "{}",
        store.label
    );
    assert!(store.get("remember", &remember_key).await.is_some());
    // Not under each other's name (the SQL stores key by session id alone).
    if store.store.dyn_capability().name_scoped {
        assert!(store.get("remember", &session_key).await.is_none());
        assert!(store.get("session", &remember_key).await.is_none());
    }

    // The session cookie is gone (browser closed): the remember cookie restores the session
    // and a new session cookie is issued.
    store.clock.advance(60);
    let only_remember = format!("remember={remember_value}");
    let mut o = Session::new(&config, Request::new().with_cookie(only_remember.as_str()));
    o.open().await.unwrap();
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    let new_session_key = key_of(o.set_cookies(), "session");
    let new_remember_key = key_of(o.set_cookies(), "remember");
    assert!(store.get("session", &new_session_key).await.is_some());
    assert!(store.get("remember", &new_remember_key).await.is_some());
}

async fn destroy_with_remember_deletes_both_records(store: Store) {
    let config = store.config(json!({"remember": true, "remember_safety": "None"}));
    let s = saved(&config, None, &[]).await;
    let session_key = key_of(s.set_cookies(), "session");
    let remember_key = key_of(s.set_cookies(), "remember");
    let mut o = open(&config, &jar(s.set_cookies())).await.unwrap();
    o.destroy().await.unwrap();
    assert!(
        store.get("session", &session_key).await.is_none(),
        "{}",
        store.label
    );
    assert!(
        store.get("remember", &remember_key).await.is_none(),
        "{}",
        store.label
    );
}

async fn storage_cookie_is_refused_by_a_cookie_config_and_vice_versa(store: Store) {
    let with_storage = store.config(json!({}));
    let cookie_only = store.cookie_config(json!({}));
    let s = saved(&with_storage, None, &[]).await;
    assert_eq!(
        open(&cookie_only, &jar(s.set_cookies())).await.unwrap_err(),
        "invalid session flags",
        "{}",
        store.label
    );
    let c = saved(&cookie_only, None, &[]).await;
    assert_eq!(
        open(&with_storage, &jar(c.set_cookies()))
            .await
            .unwrap_err(),
        "invalid session flags"
    );
}

async fn cookie_prefix_is_part_of_the_record_name(store: Store) {
    let config = store.config(json!({"cookie_prefix": "__Host-", "cookie_secure": true}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let key = key_of(s.set_cookies(), "__Host-session");
    assert!(
        store.get("__Host-session", &key).await.is_some(),
        "{}",
        store.label
    );
    if store.store.dyn_capability().name_scoped {
        assert!(store.get("session", &key).await.is_none());
    } else {
        // The reference's SQL tables key by session id alone (docs/storage.md §11, §12).
        assert!(store.get("session", &key).await.is_some());
    }
    open(&config, &jar(s.set_cookies())).await.unwrap();
}

/// Golden vector V7 (docs/cookie-format.md §12): the cookie and record the reference writes for
/// `k = "v"` with info `ik = "iv"`, session id 0x40.., audience `app1`.
async fn record_in_the_reference_layout_opens(store: Store) {
    const V7: &str = "session=AQEAQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8A8VNlAAAAAAA0AACzAZ5bD5zAdhft52POV4efAAAAxSSWwGW_Alb1-wtdyFgszg";
    const V7_VALUE: &str =
        r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#;
    const V7_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8";
    store
        .store
        .dyn_set(&SetRequest::new(
            "session",
            V7_KEY,
            V7_VALUE,
            3600,
            store.now(),
        ))
        .await
        .unwrap();
    let config = store.config(json!({
        "audience": "app1", "subject": "john@example.com", "store_metadata": true,
    }));
    let mut o = open(&config, V7).await.unwrap();
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
    assert_eq!(o.info().get::<String>("ik").unwrap().as_deref(), Some("iv"));

    // And what we write for the same inputs is the reference's record, byte for byte.
    let fresh = Store::with("again", Arc::clone(&store.store), None);
    let json = json!({
        "audience": "app1", "subject": "john@example.com", "store_metadata": true,
        "secret": SECRET,
    });
    let config = serde_json::from_value::<Config>(json)
        .unwrap()
        .builder()
        .dyn_storage(Arc::clone(&fresh.store))
        .clock(fresh.clock.clone())
        .sid_source(Arc::new(SequentialSid::new(0x40)))
        .build()
        .unwrap();
    store
        .store
        .dyn_delete("session", V7_KEY, store.now(), None)
        .await
        .unwrap();
    let mut s = Session::new(&config, Request::new());
    s.set("k", "v").unwrap();
    s.info().set("ik", "iv").unwrap();
    s.save().await.unwrap();
    assert_eq!(jar(s.set_cookies()), V7);
    assert_eq!(
        fresh.get("session", V7_KEY).await.as_deref(),
        Some(V7_VALUE),
        "{}",
        store.label
    );
}

async fn record_expires_with_the_storage_ttl(store: Store) {
    // rolling 3600 is the storage TTL; turn the cookie's own timeouts off so only storage
    // expiry can refuse the cookie.
    let config = store.config(json!({
        "rolling_timeout": 3600, "idling_timeout": 0, "absolute_timeout": 0,
    }));
    let s = saved(&config, None, &[]).await;
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");
    store.clock.advance(3599);
    assert!(
        store.get("session", &key).await.is_some(),
        "{}",
        store.label
    );
    store.clock.advance(2);
    assert!(
        store.get("session", &key).await.is_none(),
        "{}",
        store.label
    );
    // The cookie itself is past its rolling timeout by now, which is what the engine reports.
    assert_eq!(
        open(&config, &cookie).await.unwrap_err(),
        "session rolling timeout exceeded"
    );
}

async fn remember_cookie_restores_a_session_whose_record_is_gone(store: Store) {
    let config = store.config(json!({"remember": true, "remember_safety": "None"}));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let both = jar(s.set_cookies());
    let session_key = key_of(s.set_cookies(), "session");
    // The session record disappears (expired, evicted, or rotated by a concurrent request
    // long ago) while the browser still sends both cookies.
    store
        .store
        .dyn_delete("session", &session_key, store.now(), None)
        .await
        .unwrap();
    store.clock.advance(30);
    let mut o = Session::new(&config, Request::new().with_cookie(both.as_str()));
    o.open().await.unwrap();
    assert_eq!(
        o.get::<String>("k").unwrap().as_deref(),
        Some("v"),
        "{}",
        store.label
    );
    let new_key = key_of(o.set_cookies(), "session");
    assert_ne!(new_key, session_key);
    assert!(store.get("session", &new_key).await.is_some());
    // The restored session opens with its new cookies.
    let o2 = open(&config, &jar(o.set_cookies())).await.unwrap();
    assert_eq!(o2.get::<String>("k").unwrap().as_deref(), Some("v"));
}

async fn refresh_rotates_the_record_and_touch_leaves_it(store: Store) {
    let config = store.config(json!({
        "rolling_timeout": 200, "idling_timeout": 100, "absolute_timeout": 0, "stale_ttl": 10,
    }));
    let s = saved(&config, None, &[("k", json!("v"))]).await;
    let cookie = jar(s.set_cookies());
    let key = key_of(s.set_cookies(), "session");

    // 70 s later (past the 60 s touch threshold, before 75 % of the rolling timeout):
    // touch, a new header for the same session id and record.
    store.clock.advance(70);
    let mut o = open(&config, &cookie).await.unwrap();
    o.refresh().await.unwrap();
    assert_eq!(key_of(o.set_cookies(), "session"), key, "{}", store.label);
    assert_eq!(
        cookie_value(o.set_cookies(), "session").len(),
        HEADER_ENCODED_SIZE
    );
    let touched = jar(o.set_cookies());
    assert_ne!(touched, cookie);

    // 160 s after the save: a rolling save under a new key; the old record turns stale.
    store.clock.advance(90);
    let mut o = open(&config, &touched).await.unwrap();
    o.refresh().await.unwrap();
    let new_key = key_of(o.set_cookies(), "session");
    assert_ne!(new_key, key);
    assert!(store.get("session", &new_key).await.is_some());
    store.clock.advance(11);
    assert!(
        store.get("session", &key).await.is_none(),
        "{}",
        store.label
    );
    let o = open(&config, &jar(o.set_cookies())).await.unwrap();
    assert_eq!(o.get::<String>("k").unwrap().as_deref(), Some("v"));
}

/// The same stale-TTL contract with the real clock: the stores' own expiry (the zone's
/// expiry times for shm, mtimes for file) agrees with the engine's time.
async fn stale_record_expires_in_real_time_with_the_system_clock(store: Store) {
    let json = json!({"stale_ttl": 1, "secret": SECRET});
    let config = serde_json::from_value::<Config>(json)
        .unwrap()
        .builder()
        .dyn_storage(Arc::clone(&store.store))
        .build()
        .unwrap();
    let s = saved(&config, None, &[("v", json!(1))]).await;
    let old = jar(s.set_cookies());
    let new = saved(&config, Some(&old), &[("v", json!(2))]).await;
    open(&config, &old).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        open(&config, &old).await.unwrap_err(),
        "unable to load session",
        "{}",
        store.label
    );
    let o = open(&config, &jar(new.set_cookies())).await.unwrap();
    assert_eq!(o.get::<i64>("v").unwrap(), Some(2));
}
