//! The rows the store writes and reads, checked with raw SQL against docs/storage.md §11 and IT-8:
//! what the reference writes, the store writes; what the reference writes (its exact spliced
//! statements, run by hand), the store reads.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;

use session_pg::PostgresStorage;
use session_storage::testkit::Keys;
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::names::unique;

const NAME: &str = "session";

/// (sid, name, data, exp as Unix seconds) of every row, by sid.
async fn rows(store: &PostgresStorage) -> Vec<(String, String, String, i64)> {
    let client = store.connection().await.unwrap();
    let sql = format!(
        "SELECT sid, name, data, EXTRACT(EPOCH FROM exp)::int8 FROM {} ORDER BY sid",
        store.table()
    );
    client
        .query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn row(store: &PostgresStorage, key: &str) -> Option<(String, String, i64)> {
    rows(store)
        .await
        .into_iter()
        .find(|(sid, ..)| sid == key)
        .map(|(_, name, data, exp)| (name, data, exp))
}

/// Whether the row's `exp` is exactly the reference's expression for `secs`.
async fn exp_is_reference_expression(store: &PostgresStorage, key: &str, secs: i64) -> bool {
    let client = store.connection().await.unwrap();
    let sql = format!(
        "SELECT exp = TO_TIMESTAMP({secs}) AT TIME ZONE 'UTC' FROM {} WHERE sid = $1",
        store.table()
    );
    client.query_one(&sql, &[&key]).await.unwrap().get(0)
}

/// Every (aud, sub, sid) row of the metadata table.
async fn meta_rows(store: &PostgresStorage) -> BTreeSet<(String, String, String)> {
    let client = store.connection().await.unwrap();
    let sql = format!("SELECT aud, sub, sid FROM {}", store.table_meta());
    client
        .query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

fn triple(a: &str, s: &str, k: &str) -> (String, String, String) {
    (a.to_owned(), s.to_owned(), k.to_owned())
}

#[tokio::test]
async fn set_writes_the_reference_row_and_upsert_keeps_the_name() {
    let (store, _tables) = common::fresh("lay").await;
    let key = Keys::new().next();
    let t = now();
    store
        .set(&SetRequest::new(NAME, &key, "[\"payload\"]", 60, t))
        .await
        .unwrap();
    assert_eq!(
        rows(&store).await,
        vec![(
            key.clone(),
            NAME.to_owned(),
            "[\"payload\"]".to_owned(),
            t + 60
        )]
    );
    assert!(exp_is_reference_expression(&store, &key, t + 60).await);
    assert!(
        meta_rows(&store).await.is_empty(),
        "fast path writes no metadata"
    );

    // The upsert updates data and exp, not name (docs/storage.md §11.3 SET).
    store
        .set(&SetRequest::new(
            "remember",
            &key,
            "[\"second\"]",
            120,
            t + 5,
        ))
        .await
        .unwrap();
    assert_eq!(
        row(&store, &key).await,
        Some((NAME.to_owned(), "[\"second\"]".to_owned(), t + 125))
    );
}

#[tokio::test]
async fn metadata_rows_are_aud_sub_sid_and_not_duplicated() {
    let (store, _tables) = common::fresh("lay").await;
    let key = Keys::new().next();
    let t = now();
    let meta = Metadata::new(
        vec!["ZGVmYXVsdA".into(), "YXBwMg".into()],
        vec!["am9obg".into(), "raw subject@x".into()],
    );
    let req = SetRequest::new(NAME, &key, "v", 60, t).with_metadata(&meta);
    store.set(&req).await.unwrap();
    store.set(&req).await.unwrap(); // ON CONFLICT DO NOTHING
    assert_eq!(
        meta_rows(&store).await,
        BTreeSet::from([
            triple("ZGVmYXVsdA", "am9obg", &key),
            triple("YXBwMg", "raw subject@x", &key),
        ])
    );
    let index = store
        .read_metadata(NAME, "ZGVmYXVsdA", "am9obg", t)
        .await
        .unwrap();
    assert_eq!(index.into_iter().collect::<Vec<_>>(), vec![(key, t + 60)]);
}

#[tokio::test]
async fn old_key_is_shortened_only_and_keeps_its_metadata_rows() {
    let (store, _tables) = common::fresh("lay").await;
    let keys = Keys::new();
    let (old, new, short, missing) = (keys.next(), keys.next(), keys.next(), keys.next());
    let t = now();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    store
        .set(&SetRequest::new(NAME, &old, "old", 3600, t).with_metadata(&meta))
        .await
        .unwrap();
    store
        .set(
            &SetRequest::new(NAME, &new, "new", 3600, t)
                .with_old_key(&old, 10)
                .with_metadata(&meta),
        )
        .await
        .unwrap();
    assert_eq!(row(&store, &old).await.unwrap().2, t + 10, "EXPIRE old");
    assert!(exp_is_reference_expression(&store, &old, t + 10).await);
    assert_eq!(row(&store, &new).await.unwrap().2, t + 3600);
    // SQL backends do not remove the old key's metadata rows (docs/storage.md §11.4).
    assert_eq!(
        meta_rows(&store).await,
        BTreeSet::from([triple("YQ", "cw", &old), triple("YQ", "cw", &new)])
    );
    let index = store.read_metadata(NAME, "YQ", "cw", t + 10).await.unwrap();
    assert_eq!(
        index.get(&old),
        Some(&(t + 10)),
        "visible until its stale exp"
    );
    let index = store.read_metadata(NAME, "YQ", "cw", t + 11).await.unwrap();
    assert!(!index.contains_key(&old) && index.contains_key(&new));

    // Shorten-only: an old row expiring before now + stale_ttl keeps its exp.
    store
        .set(&SetRequest::new(NAME, &short, "s", 5, t))
        .await
        .unwrap();
    store
        .set(&SetRequest::new(NAME, &new, "new2", 3600, t).with_old_key(&short, 10))
        .await
        .unwrap();
    assert_eq!(row(&store, &short).await.unwrap().2, t + 5);

    // A missing old key is not created.
    store
        .set(&SetRequest::new(NAME, &new, "new3", 3600, t).with_old_key(&missing, 10))
        .await
        .unwrap();
    assert_eq!(row(&store, &missing).await, None);
}

#[tokio::test]
async fn expiry_is_judged_with_now_inclusive_of_the_exp_second() {
    let (store, _tables) = common::fresh("lay").await;
    let key = Keys::new().next();
    let t = now();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    store
        .set(&SetRequest::new(NAME, &key, "v", 60, t).with_metadata(&meta))
        .await
        .unwrap();
    // get: exp >= now
    assert_eq!(
        store.get(NAME, &key, t + 60).await.unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(store.get(NAME, &key, t + 61).await.unwrap(), None);
    // GET_META: exp >= now
    assert!(
        store
            .read_metadata(NAME, "YQ", "cw", t + 60)
            .await
            .unwrap()
            .contains_key(&key)
    );
    assert!(
        store
            .read_metadata(NAME, "YQ", "cw", t + 61)
            .await
            .unwrap()
            .is_empty()
    );
    // The expired row is still there until CLEANUP (no TTL in PostgreSQL).
    assert!(row(&store, &key).await.is_some());
}

#[tokio::test]
async fn delete_removes_the_row_and_cascades_to_metadata() {
    let (store, _tables) = common::fresh("lay").await;
    let keys = Keys::new();
    let (gone, kept) = (keys.next(), keys.next());
    let t = now();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    for key in [&gone, &kept] {
        store
            .set(&SetRequest::new(NAME, key, "v", 60, t).with_metadata(&meta))
            .await
            .unwrap();
    }
    // metadata is ignored by the SQL store; the cascade does the work.
    store.delete(NAME, &gone, t, None).await.unwrap();
    assert_eq!(row(&store, &gone).await, None);
    assert_eq!(
        meta_rows(&store).await,
        BTreeSet::from([triple("YQ", "cw", &kept)])
    );
    store.delete(NAME, &gone, t, Some(&meta)).await.unwrap(); // missing: fine
}

#[tokio::test]
async fn cleanup_deletes_rows_expired_before_now_with_their_metadata() {
    let (store, _tables) = common::fresh("lay").await;
    let keys = Keys::new();
    let (expired, at_now, live) = (keys.next(), keys.next(), keys.next());
    let t = now();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    for (key, ttl) in [(&expired, 10), (&at_now, 20), (&live, 60)] {
        store
            .set(&SetRequest::new(NAME, key, "v", ttl, t).with_metadata(&meta))
            .await
            .unwrap();
    }
    assert_eq!(store.cleanup(t + 20).await.unwrap(), 1);
    let left: Vec<String> = rows(&store).await.into_iter().map(|r| r.0).collect();
    let want: BTreeSet<String> = [at_now.clone(), live.clone()].into();
    assert_eq!(left.into_iter().collect::<BTreeSet<_>>(), want);
    assert_eq!(
        meta_rows(&store).await,
        BTreeSet::from([triple("YQ", "cw", &at_now), triple("YQ", "cw", &live)])
    );
}

#[tokio::test]
async fn rows_written_by_the_reference_statements_are_read() {
    let (store, _tables) = common::fresh("lay").await;
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let old = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
    let t = now();
    let (table, meta) = (store.table().to_owned(), store.table_meta());
    // The reference's own text (docs/storage.md §11.3/§11.4): values spliced, statements joined by
    // ";\n" and sent as one simple query.
    let lua = [
        format!(
            "INSERT INTO {table} (sid, name, data, exp) VALUES ('{old}', 'session', '[\"old\"]', TO_TIMESTAMP({}) AT TIME ZONE 'UTC') ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp",
            t + 3600
        ),
        format!(
            "INSERT INTO {table} (sid, name, data, exp) VALUES ('{key}', 'session', '[\"DfMi\",\"eyJ9\"]', TO_TIMESTAMP({}) AT TIME ZONE 'UTC') ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp",
            t + 3600
        ),
        format!(
            "UPDATE {table} SET exp = TO_TIMESTAMP({0}) AT TIME ZONE 'UTC' WHERE sid = '{old}' AND exp > TO_TIMESTAMP({0}) AT TIME ZONE 'UTC'",
            t + 10
        ),
        format!(
            "INSERT INTO {meta} (aud, sub, sid) VALUES ('ZGVmYXVsdA', 'am9obg', '{key}'), ('YXBwMg', 'am9obg', '{key}') ON CONFLICT DO NOTHING"
        ),
    ]
    .join(";\n");
    store
        .connection()
        .await
        .unwrap()
        .batch_execute(&lua)
        .await
        .unwrap();

    assert_eq!(
        store.get(NAME, key, t).await.unwrap().as_deref(),
        Some("[\"DfMi\",\"eyJ9\"]")
    );
    assert_eq!(
        store.get(NAME, old, t + 10).await.unwrap().as_deref(),
        Some("[\"old\"]")
    );
    assert_eq!(store.get(NAME, old, t + 11).await.unwrap(), None);
    for aud in ["ZGVmYXVsdA", "YXBwMg"] {
        let index = store.read_metadata(NAME, aud, "am9obg", t).await.unwrap();
        assert_eq!(
            index.into_iter().collect::<Vec<_>>(),
            vec![(key.to_owned(), t + 3600)]
        );
    }
    // And the rows our store writes for the same request are the same rows.
    let (table2, _t2) = common::fresh("lay").await;
    table2
        .set(&SetRequest::new(NAME, old, "[\"old\"]", 3600, t))
        .await
        .unwrap();
    let m = Metadata::new(
        vec!["ZGVmYXVsdA".into(), "YXBwMg".into()],
        vec!["am9obg".into(), "am9obg".into()],
    );
    table2
        .set(
            &SetRequest::new(NAME, key, "[\"DfMi\",\"eyJ9\"]", 3600, t)
                .with_old_key(old, 10)
                .with_metadata(&m),
        )
        .await
        .unwrap();
    assert_eq!(rows(&store).await, rows(&table2).await);
    assert_eq!(meta_rows(&store).await, meta_rows(&table2).await);
}

#[tokio::test]
async fn a_failing_multi_statement_set_is_all_or_nothing() {
    let (store, _tables) = common::fresh("lay").await;
    let key = Keys::new().next();
    let t = now();
    store
        .connection()
        .await
        .unwrap()
        .batch_execute(&format!("DROP TABLE {}", store.table_meta()))
        .await
        .unwrap();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let err = store
        .set(&SetRequest::new(NAME, &key, "v", 60, t).with_metadata(&meta))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
    assert_eq!(
        row(&store, &key).await,
        None,
        "SET was rolled back with SET_META"
    );
    // The connection is still usable afterwards.
    store
        .set(&SetRequest::new(NAME, &key, "v", 60, t))
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_tables_and_bad_values_are_typed_errors() {
    let config = common::base_config().with_tables(unique("none"), None);
    let store = PostgresStorage::from_config(config).unwrap();
    let err = store.get(NAME, "k", 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("create_schema"), "{err}");

    let (store, _tables) = common::fresh("lay").await;
    let err = store
        .set(&SetRequest::new(NAME, "k", "nul\u{0}byte", 60, 0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn columns_of_unexpected_types_are_invalid_records_not_panics() {
    let (store, _tables) = common::fresh("lay").await;
    let t = now();
    let client = store.connection().await.unwrap();
    client
        .batch_execute(&format!(
            "ALTER TABLE {0} ALTER COLUMN data TYPE BYTEA USING data::bytea; \
             INSERT INTO {0} (sid, name, data, exp) VALUES ('k', 'session', 'x', TO_TIMESTAMP({1}))",
            store.table(),
            t + 60
        ))
        .await
        .unwrap();
    let err = store.get(NAME, "k", t).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecord, "{err}");
}
