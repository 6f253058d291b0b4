//! What is really stored (docs/storage.md §7, §14.4 IT-5): wire keys, values, exptimes and collection
//! bytes after each operation, read back with a raw text-protocol client; and records laid
//! out by the reference are read by the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Raw;
use session_memcached::{MemcachedStorage, escape_key};
use session_storage::collection::{encode_entry, tombstone};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::names::unique;

/// The reference's storage-test fixtures (docs/storage.md §14.1).
const NAME: &str = "test_name";
const VALUE: &str = "test_value";
const K: &str = "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const K1: &str = "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const OLD: &str = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";

/// A store with compaction on `set` switched off, so collection bytes are exact.
fn store(prefix: &str) -> MemcachedStorage {
    common::store_with(
        common::config()
            .with_prefix(prefix)
            .with_compaction_probability(0.0),
    )
}

fn meta(pairs: &[(&str, &str)]) -> Metadata {
    Metadata::new(
        pairs.iter().map(|p| p.0.to_owned()).collect(),
        pairs.iter().map(|p| p.1.to_owned()).collect(),
    )
}

fn assert_ttl_near(raw: &mut Raw, key: &str, want: i64) {
    let ttl = raw.ttl(key).unwrap_or_else(|| panic!("{key} is missing"));
    assert!(
        (want - 3..=want).contains(&ttl),
        "{key}: TTL {ttl}, want about {want}"
    );
}

#[test]
fn fixtures_are_43_characters() {
    for k in [K, K1, OLD] {
        assert_eq!(k.len(), 43);
    }
}

#[tokio::test]
async fn record_is_stored_under_the_escaped_key_with_the_ttl() {
    let prefix = unique("lay");
    let store = store(&prefix);
    let now = now();
    store
        .set(&SetRequest::new(NAME, K, VALUE, 60, now))
        .await
        .unwrap();

    let wire = format!("{}%3Atest_name%3A{K}", escape_key(&prefix));
    assert_eq!(store.record_wire_key(NAME, K), wire);
    let mut raw = Raw::connect();
    assert_eq!(raw.get(&wire).as_deref(), Some(VALUE.as_bytes()));
    assert_ttl_near(&mut raw, &wire, 60);
    // Nothing under the unescaped key.
    assert_eq!(raw.get(&format!("{prefix}:test_name:{K}")), None);

    // An upsert overwrites in place and resets the TTL.
    store
        .set(&SetRequest::new(NAME, K, "[\"v2\"]", 30, now))
        .await
        .unwrap();
    assert_eq!(raw.get(&wire).as_deref(), Some(&b"[\"v2\"]"[..]));
    assert_ttl_near(&mut raw, &wire, 30);

    store.delete(NAME, K, now, None).await.unwrap();
    assert_eq!(raw.get(&wire), None);
}

#[tokio::test]
async fn prefix_and_suffix_variants_are_escaped_as_a_whole() {
    let now = now();
    let tag = unique("fix");
    let cases = [
        (Some(tag.clone()), None, format!("{tag}%3Asession%3A{K}")),
        (None, Some(tag.clone()), format!("session%3A{K}%3A{tag}")),
        (
            Some(String::new()),
            Some(tag.clone()),
            format!("%3Asession%3A{K}%3A{tag}"),
        ),
        (
            Some(format!("{tag} @x")),
            Some("s/u".to_owned()),
            format!("{tag}%20%40x%3Asession%3A{K}%3As%2Fu"),
        ),
    ];
    let mut raw = Raw::connect();
    for (prefix, suffix, want) in cases {
        let mut config = common::config();
        config.prefix = prefix;
        config.suffix = suffix;
        let store = common::store_with(config);
        store
            .set(&SetRequest::new("session", K, VALUE, 60, now))
            .await
            .unwrap();
        assert_eq!(store.record_wire_key("session", K), want);
        assert_eq!(raw.get(&want).as_deref(), Some(VALUE.as_bytes()), "{want}");
        store.delete("session", K, now, None).await.unwrap();
    }
}

#[tokio::test]
async fn metadata_collection_holds_the_exact_appended_entries() {
    let prefix = unique("lay");
    let store = store(&prefix);
    let mut raw = Raw::connect();
    let now = now();
    let m = meta(&[("foo", "john"), ("bar", "jane")]);

    // A session with an old one: record, old record touched, per collection add + tombstone.
    store
        .set(&SetRequest::new(NAME, OLD, VALUE, 60, now))
        .await
        .unwrap();
    store
        .set(
            &SetRequest::new(NAME, K, VALUE, 60, now)
                .with_old_key(OLD, 10)
                .with_metadata(&m),
        )
        .await
        .unwrap();
    let old_wire = store.record_wire_key(NAME, OLD);
    assert_eq!(
        raw.get(&old_wire).as_deref(),
        Some(VALUE.as_bytes()),
        "old stays readable"
    );
    assert_ttl_near(&mut raw, &old_wire, 10);

    let e = encode_entry(K, now + 60).unwrap();
    for (aud, sub) in [("foo", "john"), ("bar", "jane")] {
        let mkey = store.metadata_wire_key(NAME, aud, sub);
        assert_eq!(
            mkey,
            format!("{}%3Atest_name%3A{aud}%3A{sub}", escape_key(&prefix))
        );
        let bytes = String::from_utf8(raw.get(&mkey).unwrap()).unwrap();
        assert_eq!(bytes, format!("{e}{}", tombstone(OLD)));
        assert_eq!(bytes.len(), 52 + 44);
        // `add` with exptime 0: the collection never expires by itself.
        assert_eq!(raw.ttl(&mkey), Some(-1));
    }

    // A second session joins through `append`.
    store
        .set(&SetRequest::new(NAME, K1, VALUE, 120, now).with_metadata(&meta(&[("foo", "john")])))
        .await
        .unwrap();
    let mkey = store.metadata_wire_key(NAME, "foo", "john");
    let e1 = encode_entry(K1, now + 120).unwrap();
    assert_eq!(
        String::from_utf8(raw.get(&mkey).unwrap()).unwrap(),
        format!("{e}{}{e1}", tombstone(OLD))
    );
    let index = store.read_metadata(NAME, "foo", "john", now).await.unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.get(K), Some(&(now + 60)));
    assert_eq!(index.get(K1), Some(&(now + 120)));

    // Delete: a tombstone, then an unconditional compaction: only live entries remain and
    // the collection gets the exptime of its longest-lived member.
    store.delete(NAME, K, now, Some(&m)).await.unwrap();
    assert_eq!(raw.get(&store.record_wire_key(NAME, K)), None);
    assert_eq!(String::from_utf8(raw.get(&mkey).unwrap()).unwrap(), e1);
    assert_ttl_near(&mut raw, &mkey, 120);
    // The bar/jane collection had only K: compaction deletes it.
    assert_eq!(raw.get(&store.metadata_wire_key(NAME, "bar", "jane")), None);

    store
        .delete(NAME, K1, now, Some(&meta(&[("foo", "john")])))
        .await
        .unwrap();
    assert_eq!(raw.get(&mkey), None);
}

#[tokio::test]
async fn touch_of_the_old_key_is_unconditional_and_may_lengthen_it() {
    let store = store(&unique("lay"));
    let mut raw = Raw::connect();
    let now = now();
    store
        .set(&SetRequest::new(NAME, OLD, VALUE, 5, now))
        .await
        .unwrap();
    store
        .set(&SetRequest::new(NAME, K, VALUE, 60, now).with_old_key(OLD, 30))
        .await
        .unwrap();
    assert_ttl_near(&mut raw, &store.record_wire_key(NAME, OLD), 30);

    // A missing old key is not created (`touch` answers NOT_FOUND, ignored).
    store
        .set(
            &SetRequest::new(NAME, K1, VALUE, 60, now)
                .with_old_key("missing_old_key_iiiiiiiiiiiiiiiiiiiiiiiiiii", 10),
        )
        .await
        .unwrap();
    assert_eq!(
        raw.get(&store.record_wire_key(NAME, "missing_old_key_iiiiiiiiiiiiiiiiiiiiiiiiiii")),
        None
    );
}

#[tokio::test]
async fn compaction_on_set_rewrites_live_entries_with_an_exptime() {
    let prefix = unique("lay");
    let store = common::store_with(
        common::config()
            .with_prefix(&prefix)
            .with_compaction_probability(1.0),
    );
    let mut raw = Raw::connect();
    let now = now();
    let m = meta(&[("foo", "john")]);
    let mkey = store.metadata_wire_key(NAME, "foo", "john");
    // What another writer left: an expired entry, a tombstoned one, a live one.
    let stale = format!(
        "{}{}{}{}",
        encode_entry(OLD, now - 5).unwrap(),
        encode_entry(K1, now + 500).unwrap(),
        encode_entry(K, now + 50).unwrap(),
        tombstone(K),
    );
    raw.set(&mkey, 0, stale.as_bytes());
    store
        .set(&SetRequest::new(NAME, K, VALUE, 60, now).with_metadata(&m))
        .await
        .unwrap();
    // Rebuilt: live entries only (in key order), exptime = max_exp - now.
    let mut want = [
        encode_entry(K, now + 60).unwrap(),
        encode_entry(K1, now + 500).unwrap(),
    ];
    want.sort();
    assert_eq!(
        String::from_utf8(raw.get(&mkey).unwrap()).unwrap(),
        want.concat()
    );
    assert_ttl_near(&mut raw, &mkey, 500);
}

#[tokio::test]
async fn records_and_collections_written_by_the_reference_are_read() {
    let prefix = unique("lay");
    let store = store(&prefix);
    let mut raw = Raw::connect();
    let now = now();
    // The reference's `set`: `set <escaped key> 0 <ttl> <len>`.
    let record = "[\"AAECAwQ\",\"eyJ4IjoxfQ\"]";
    raw.set(
        &format!("{}%3Asession%3A{K}", escape_key(&prefix)),
        60,
        record.as_bytes(),
    );
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some(record)
    );

    // Its collection under a raw subject (two-audience quirk): `:` `@` and space escaped.
    let mkey = format!(
        "{}%3Asession%3AYXBw%3Ajohn%40example.com%3A%20x",
        escape_key(&prefix)
    );
    assert_eq!(
        store.metadata_wire_key("session", "YXBw", "john@example.com: x"),
        mkey
    );
    let bytes = format!(
        "{}{}{}{}",
        encode_entry(K, now + 100).unwrap(),
        encode_entry(K1, now + 200).unwrap(),
        tombstone(K1),
        encode_entry(OLD, now).unwrap(), // exp == now: expired
    );
    raw.set(&mkey, 0, bytes.as_bytes());
    let index = store
        .read_metadata("session", "YXBw", "john@example.com: x", now)
        .await
        .unwrap();
    assert_eq!(
        index.into_iter().collect::<Vec<_>>(),
        [(K.to_owned(), now + 100)]
    );
    // read_metadata does not compact.
    assert_eq!(raw.get(&mkey).as_deref(), Some(bytes.as_bytes()));
    // The spec's example entry.
    assert_eq!(
        encode_entry(K, 1_700_003_600).unwrap(),
        format!("{K}:EP9TZQA;")
    );
}

#[tokio::test]
async fn malformed_stored_data_is_a_typed_error() {
    let prefix = unique("lay");
    let store = store(&prefix);
    let mut raw = Raw::connect();
    let now = now();
    raw.set(&store.record_wire_key(NAME, K), 60, b"\xff\xfe not utf-8");
    let err = store.get(NAME, K, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecord, "{err}");

    raw.set(
        &store.metadata_wire_key(NAME, "foo", "john"),
        60,
        format!("{K}:EP9T*QA;").as_bytes(),
    );
    let err = store
        .read_metadata(NAME, "foo", "john", now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecord, "{err}");
    // The store still works afterwards (the connection was not out of step).
    store
        .set(&SetRequest::new(NAME, K1, VALUE, 60, now))
        .await
        .unwrap();
}

#[tokio::test]
async fn keys_too_long_for_memcached_are_refused_before_sending() {
    let store = store(&unique("lay"));
    let now = now();
    let long_name = "n".repeat(200);
    let err = store
        .set(&SetRequest::new(&long_name, K, VALUE, 60, now))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = store.get(&long_name, K, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn ttl_above_thirty_days_is_sent_unchanged_like_the_reference() {
    // Quirk (docs/storage.md §7.1): memcached reads an exptime above 2 592 000 as an absolute Unix
    // time, so the record is already expired.
    let store = store(&unique("lay"));
    let mut raw = Raw::connect();
    let now = now();
    store
        .set(&SetRequest::new(NAME, K, VALUE, 2_592_001, now))
        .await
        .unwrap();
    assert_eq!(raw.get(&store.record_wire_key(NAME, K)), None);
    store
        .set(&SetRequest::new(NAME, K, VALUE, 2_592_000, now))
        .await
        .unwrap();
    assert_ttl_near(&mut raw, &store.record_wire_key(NAME, K), 2_592_000);
}

#[tokio::test]
async fn raw_connection_speaks_every_command() {
    use session_memcached::Status;
    let store = store(&unique("lay"));
    let key = store.record_wire_key(NAME, K);
    let mut conn = store.connection().await.unwrap();
    assert_eq!(conn.add(&key, 60, b"a").await.unwrap(), Status::Stored);
    assert_eq!(conn.add(&key, 60, b"a").await.unwrap(), Status::NotStored);
    assert_eq!(conn.append(&key, b"b").await.unwrap(), Status::Stored);
    let item = conn.gets(&key).await.unwrap().unwrap();
    assert_eq!(item.data, b"ab");
    let cas = item.cas.unwrap();
    assert_eq!(conn.cas(&key, 60, b"c", cas).await.unwrap(), Status::Stored);
    assert_eq!(conn.cas(&key, 60, b"d", cas).await.unwrap(), Status::Exists);
    assert_eq!(conn.touch(&key, 5).await.unwrap(), Status::Touched);
    assert_eq!(conn.get(&key).await.unwrap().unwrap().data, b"c");
    assert_eq!(conn.delete(&key).await.unwrap(), Status::Deleted);
    assert_eq!(conn.delete(&key).await.unwrap(), Status::NotFound);
    assert_eq!(conn.touch(&key, 5).await.unwrap(), Status::NotFound);
    assert_eq!(conn.set(&key, 0, b"").await.unwrap(), Status::Stored);
    assert_eq!(conn.get(&key).await.unwrap().unwrap().data, b"");
    let err = conn.get("has space").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!store.version().await.unwrap().is_empty());
}
