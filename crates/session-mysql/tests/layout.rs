//! The stored layout, read back with raw SQL: exactly the rows and columns lua-resty-session
//! 4.1.5's `mysql` storage writes (docs/storage.md §12, IT-8), on the reference schema
//! (`CHARACTER SET ascii`, connection `ascii`); and rows written the way the reference writes
//! them are read by the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fresh, key};
use session_mysql::MysqlStorage;
use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::mysql_async::{Conn, Row};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock::now;

async fn conn(store: &MysqlStorage) -> Conn {
    store.connection().await.unwrap()
}

/// `(sid, name, data, UNIX_TIMESTAMP(exp))` of every session row, by sid.
async fn session_rows(store: &MysqlStorage) -> Vec<(String, String, String, i64)> {
    let t = store.table_names().0;
    conn(store)
        .await
        .query(format!(
            "SELECT sid, name, data, UNIX_TIMESTAMP(exp) FROM `{t}` ORDER BY sid"
        ))
        .await
        .unwrap()
}

/// `(aud, sub, sid)` of every metadata row.
async fn meta_rows(store: &MysqlStorage) -> Vec<(String, String, String)> {
    let tm = store.table_names().1;
    conn(store)
        .await
        .query(format!(
            "SELECT aud, sub, sid FROM `{tm}` ORDER BY aud, sub, sid"
        ))
        .await
        .unwrap()
}

/// Whether the row's `exp` equals `FROM_UNIXTIME(t)` as the server computes it.
async fn exp_is(store: &MysqlStorage, sid: &str, t: i64) -> bool {
    let table = store.table_names().0;
    let same: Option<i64> = conn(store)
        .await
        .exec_first(
            format!("SELECT exp = FROM_UNIXTIME(?) FROM `{table}` WHERE sid = ?"),
            (t, sid),
        )
        .await
        .unwrap();
    same == Some(1)
}

fn meta(pairs: &[(&str, &str)]) -> Metadata {
    Metadata::new(
        pairs.iter().map(|p| p.0.to_owned()).collect(),
        pairs.iter().map(|p| p.1.to_owned()).collect(),
    )
}

#[tokio::test]
async fn create_schema_makes_the_reference_tables() {
    let (store, _tables) = fresh("schema").await;
    let (t, tm) = store.table_names();
    let mut c = conn(&store).await;
    let columns: Vec<Row> = c
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, COLUMN_KEY \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME IN (?, ?) ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (t, tm),
        )
        .await
        .unwrap();
    let got: Vec<(String, String, String, Option<String>, String)> = columns
        .into_iter()
        .map(session_mysql::mysql_async::from_row)
        .collect();
    let s = |v: &str| v.to_owned();
    let ascii = Some(s("ascii"));
    assert_eq!(
        got,
        vec![
            (s(t), s("sid"), s("char(43)"), ascii.clone(), s("PRI")),
            (s(t), s("name"), s("varchar(255)"), ascii.clone(), s("")),
            (s(t), s("data"), s("mediumtext"), ascii.clone(), s("")),
            (s(t), s("exp"), s("datetime"), None, s("MUL")),
            (s(tm), s("aud"), s("varchar(255)"), ascii.clone(), s("PRI")),
            (s(tm), s("sub"), s("varchar(255)"), ascii.clone(), s("PRI")),
            (s(tm), s("sid"), s("char(43)"), ascii.clone(), s("PRI")),
        ]
    );
    let rules: Option<(String, String, String)> = c
        .exec_first(
            "SELECT REFERENCED_TABLE_NAME, DELETE_RULE, UPDATE_RULE \
             FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (tm,),
        )
        .await
        .unwrap();
    assert_eq!(rules, Some((s(t), s("CASCADE"), s("CASCADE"))));
    // Idempotent, like the reference's CREATE TABLE IF NOT EXISTS.
    store.create_schema().await.unwrap();
}

#[tokio::test]
async fn set_writes_one_row_with_exp_from_unixtime_now_plus_ttl() {
    let (store, _tables) = fresh("set").await;
    let (k, now) = (key("set"), now());
    let value = r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq"]"#;
    store
        .set(&SetRequest::new("session", &k, value, 3600, now))
        .await
        .unwrap();
    assert_eq!(
        session_rows(&store).await,
        vec![(k.clone(), "session".into(), value.into(), now + 3600)]
    );
    assert!(exp_is(&store, &k, now + 3600).await);
    assert!(
        meta_rows(&store).await.is_empty(),
        "no metadata on the fast path"
    );
}

#[tokio::test]
async fn upsert_replaces_data_only_keeping_exp_and_name() {
    let (store, _tables) = fresh("upsert").await;
    let (k, now) = (key("ups"), now());
    store
        .set(&SetRequest::new("session", &k, "first", 60, now))
        .await
        .unwrap();
    // info:save re-sets the same key; MySQL keeps the old exp (docs/storage.md §12.3 quirk).
    store
        .set(&SetRequest::new("remember", &k, "second", 600, now + 30))
        .await
        .unwrap();
    assert_eq!(
        session_rows(&store).await,
        vec![(k.clone(), "session".into(), "second".into(), now + 60)]
    );
    assert_eq!(
        store.get("session", &k, now + 60).await.unwrap().as_deref(),
        Some("second")
    );
    assert_eq!(store.get("session", &k, now + 61).await.unwrap(), None);
}

#[tokio::test]
async fn old_key_is_shortened_to_stale_ttl_never_extended_never_created() {
    let (store, _tables) = fresh("expire").await;
    let now = now();
    let (old_long, old_short, missing) = (key("ol"), key("os"), key("om"));
    let (new1, new2, new3) = (key("n1"), key("n2"), key("n3"));
    store
        .set(&SetRequest::new("session", &old_long, "a", 3600, now))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", &old_short, "b", 5, now))
        .await
        .unwrap();

    store
        .set(&SetRequest::new("session", &new1, "c", 3600, now).with_old_key(&old_long, 10))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", &new2, "d", 3600, now).with_old_key(&old_short, 10))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", &new3, "e", 3600, now).with_old_key(&missing, 10))
        .await
        .unwrap();
    let rows = session_rows(&store).await;
    let exp = |sid: &str| rows.iter().find(|r| r.0 == sid).map(|r| r.3);
    assert_eq!(
        exp(&old_long),
        Some(now + 10),
        "shortened to now + stale_ttl"
    );
    assert_eq!(exp(&old_short), Some(now + 5), "a shorter life is kept");
    assert_eq!(exp(&missing), None, "a missing old key is not created");
    assert_eq!(exp(&new1), Some(now + 3600));
    assert_eq!(rows.len(), 5);
    // The old record is readable through its last second, then gone.
    assert_eq!(
        store
            .get("session", &old_long, now + 10)
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        store.get("session", &old_long, now + 11).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn metadata_rows_are_aud_sub_sid_and_the_old_keys_stay_until_their_row_goes() {
    let (store, _tables) = fresh("meta").await;
    let now = now();
    let (old, new) = (key("mo"), key("mn"));
    let m = meta(&[("Zm9v", "am9obg"), ("YmFy", "amFuZQ")]);
    store
        .set(&SetRequest::new("session", &old, "v", 3600, now).with_metadata(&m))
        .await
        .unwrap();
    store
        .set(
            &SetRequest::new("session", &new, "v", 3600, now)
                .with_old_key(&old, 10)
                .with_metadata(&m),
        )
        .await
        .unwrap();
    let s = |v: &str| v.to_owned();
    let mut expected = vec![
        (s("YmFy"), s("amFuZQ"), old.clone()),
        (s("YmFy"), s("amFuZQ"), new.clone()),
        (s("Zm9v"), s("am9obg"), old.clone()),
        (s("Zm9v"), s("am9obg"), new.clone()),
    ];
    expected.sort();
    assert_eq!(meta_rows(&store).await, expected);

    // The old key is listed with its stale expiry until it passes.
    let listed = store
        .read_metadata("session", "Zm9v", "am9obg", now)
        .await
        .unwrap();
    assert_eq!(listed.get(&old), Some(&(now + 10)));
    assert_eq!(listed.get(&new), Some(&(now + 3600)));
    let listed = store
        .read_metadata("session", "Zm9v", "am9obg", now + 10)
        .await
        .unwrap();
    assert!(listed.contains_key(&old), "exp >= now is still live");
    let listed = store
        .read_metadata("session", "Zm9v", "am9obg", now + 11)
        .await
        .unwrap();
    assert!(!listed.contains_key(&old) && listed.contains_key(&new));

    // Saving the same metadata again is a no-op (ON DUPLICATE KEY UPDATE sid = sid).
    store
        .set(&SetRequest::new("session", &new, "v2", 3600, now).with_metadata(&m))
        .await
        .unwrap();
    assert_eq!(meta_rows(&store).await.len(), 4);

    // CLEANUP removes expired rows and, by cascade, their metadata.
    assert_eq!(store.cleanup(now + 11).await.unwrap(), 1);
    assert_eq!(meta_rows(&store).await.len(), 2);
    assert!(meta_rows(&store).await.iter().all(|r| r.2 == new));
}

#[tokio::test]
async fn delete_removes_the_row_and_cascades_to_metadata() {
    let (store, _tables) = fresh("delete").await;
    let now = now();
    let (gone, kept) = (key("dg"), key("dk"));
    let m = meta(&[("Zm9v", "am9obg")]);
    for k in [&gone, &kept] {
        store
            .set(&SetRequest::new("session", k, "v", 3600, now).with_metadata(&m))
            .await
            .unwrap();
    }
    store.delete("session", &gone, now, Some(&m)).await.unwrap();
    let rows = session_rows(&store).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, kept);
    assert_eq!(
        meta_rows(&store).await,
        vec![("Zm9v".into(), "am9obg".into(), kept.clone())]
    );
    // Deleting a missing key is fine.
    store.delete("session", &gone, now, None).await.unwrap();
}

#[tokio::test]
async fn rows_written_as_the_reference_writes_them_are_read() {
    let (store, _tables) = fresh("interop").await;
    let (t, tm) = store.table_names();
    let now = now();
    let (k1, k2, k3) = (key("r1"), key("r2"), key("r3"));
    let value = r#"["cGF5bG9hZA","eyJhcHAxIjp7fX0"]"#;
    let mut c = conn(&store).await;
    // The reference splices the values into the SQL text (its SET with the MariaDB-compatible
    // upsert, which an OpenResty peer on MariaDB needs), and SET_META in one statement.
    c.query_drop(format!(
        "INSERT INTO {t} (sid, name, data, exp) VALUES ('{k1}', 'session', '{value}', \
         FROM_UNIXTIME({})) ON DUPLICATE KEY UPDATE data = VALUES(data)",
        now + 3600
    ))
    .await
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO {t} (sid, name, data, exp) VALUES ('{k2}', 'session', '[\"x\"]', \
         FROM_UNIXTIME({}))",
        now - 1
    ))
    .await
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO {t} (sid, name, data, exp) VALUES ('{k3}', 'session', '[\"y\"]', \
         FROM_UNIXTIME({}))",
        now
    ))
    .await
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO {tm} (aud, sub, sid) VALUES ('ZGVmYXVsdA', 'am9obg', '{k1}'), \
         ('ZGVmYXVsdA', 'am9obg', '{k2}'), ('ZGVmYXVsdA', 'am9obg', '{k3}') \
         ON DUPLICATE KEY UPDATE sid = sid"
    ))
    .await
    .unwrap();
    drop(c);

    assert_eq!(
        store.get("session", &k1, now).await.unwrap().as_deref(),
        Some(value)
    );
    assert_eq!(
        store.get("session", &k2, now).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.get("session", &k3, now).await.unwrap().as_deref(),
        Some("[\"y\"]")
    );
    let listed = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed.get(&k1), Some(&(now + 3600)));
    assert_eq!(listed.get(&k3), Some(&now));
}

#[tokio::test]
async fn same_key_under_two_cookie_names_is_one_row_as_in_the_reference() {
    let (store, _tables) = fresh("names").await;
    let (k, now) = (key("nm"), now());
    let m = meta(&[("Zm9v", "am9obg")]);
    store
        .set(&SetRequest::new("session", &k, "normal", 60, now).with_metadata(&m))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("remember", &k, "persistent", 60, now))
        .await
        .unwrap();
    assert_eq!(
        session_rows(&store).await,
        vec![(k.clone(), "session".into(), "persistent".into(), now + 60)]
    );
    // GET and GET_META do not look at the cookie name.
    assert_eq!(
        store.get("other", &k, now).await.unwrap().as_deref(),
        Some("persistent")
    );
    let listed = store
        .read_metadata("other", "Zm9v", "am9obg", now)
        .await
        .unwrap();
    assert!(listed.contains_key(&k));
}

#[tokio::test]
async fn bad_rows_and_values_give_typed_errors_not_panics() {
    let (store, _tables) = fresh("bad").await;
    let t = store.table_names().0;
    let now = now();
    let (null_data, null_exp) = (key("bn"), key("be"));
    let mut c = conn(&store).await;
    c.exec_drop(
        format!(
            "INSERT INTO `{t}` (sid, name, data, exp) VALUES (?, 'session', NULL, FROM_UNIXTIME(?))"
        ),
        (&null_data, now + 60),
    )
    .await
    .unwrap();
    c.exec_drop(
        format!("INSERT INTO `{t}` (sid, name, data, exp) VALUES (?, 'session', 'x', NULL)"),
        (&null_exp,),
    )
    .await
    .unwrap();
    drop(c);
    let err = store.get("session", &null_data, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecord, "{err}");
    assert_eq!(store.get("session", &null_exp, now).await.unwrap(), None);

    // Non-ASCII text in the reference's ascii table: the server either refuses it (a typed
    // error) or keeps it; either way nothing panics and a read never returns other bytes.
    let k = key("bu");
    match store
        .set(&SetRequest::new("session", &k, "caf\u{e9}", 60, now))
        .await
    {
        Ok(()) => {
            let got = store.get("session", &k, now).await.unwrap();
            assert_eq!(got.as_deref(), Some("caf\u{e9}"), "bytes kept as they are");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
}

#[tokio::test]
async fn connections_keep_the_server_time_zone_and_use_the_configured_charset() {
    let (store, _tables) = fresh("session").await;
    for _ in 0..3 {
        let mut c = conn(&store).await;
        let (tz, global_tz, charset): (String, String, String) = c
            .query_first("SELECT @@session.time_zone, @@global.time_zone, @@character_set_client")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            tz, global_tz,
            "time_zone must not be changed (docs/storage.md §12.5)"
        );
        assert_eq!(charset, "ascii");
    }
}

#[tokio::test]
async fn a_session_time_zone_shifts_nothing_as_long_as_every_client_uses_it() {
    // Rows written in another session time zone (a peer with a different server default)
    // are read consistently by a peer with the same zone: every statement goes through
    // FROM_UNIXTIME in the connection's zone.
    let (store, _tables) = fresh("tz").await;
    let (k, now) = (key("tz"), now());
    store
        .set(&SetRequest::new("session", &k, "v", 60, now))
        .await
        .unwrap();
    let t = store.table_names().0;
    let mut c = conn(&store).await;
    c.query_drop("SET time_zone = '+05:00'").await.unwrap();
    let live: Option<i64> = c
        .exec_first(
            format!("SELECT COUNT(*) FROM `{t}` WHERE sid = ? AND exp >= FROM_UNIXTIME(?)"),
            (&k, now),
        )
        .await
        .unwrap();
    // In +05:00 the UTC-written DATETIME reads five hours earlier: expired.
    assert_eq!(live, Some(0));
    drop(c);
    // The store's own connections are reset to the server's zone.
    assert_eq!(
        store.get("session", &k, now).await.unwrap().as_deref(),
        Some("v")
    );
}
