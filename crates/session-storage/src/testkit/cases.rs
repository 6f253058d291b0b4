//! The conformance cases. Each is an `async fn(Arc<S>, Clock)` named after what it checks.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Clock, Keys, LARGE_VALUE_LEN, ok};
use crate::{BoxFuture, Metadata, SetRequest, Storage};

/// The type of a case, as listed by [`all`].
pub type CaseFn<S> = fn(Arc<S>, Clock) -> BoxFuture<'static, ()>;

#[doc(hidden)]
#[macro_export]
macro_rules! __storage_cases {
    ($cb:ident ! ($($args:tt)*)) => {
        $crate::$cb! { ($($args)*)
            set_then_get_returns_value
            get_of_missing_key_returns_none
            set_overwrites_existing_record
            delete_removes_record
            delete_of_missing_key_succeeds
            records_are_namespaced_by_cookie_name
            value_round_trips_byte_for_byte
            large_value_round_trips
            names_and_keys_with_every_engine_character_work
            record_expires_after_ttl
            old_key_stays_readable_for_stale_ttl_then_expires
            save_with_missing_old_key_does_not_create_it
            remember_flag_does_not_change_behaviour
            metadata_lists_every_saved_key_with_its_expiry
            metadata_collections_are_separate
            metadata_prunes_expired_entries
            metadata_drops_old_key_after_save_with_old_key
            delete_with_metadata_removes_key_from_collection
            metadata_with_raw_subjects_works
            read_metadata_of_unknown_collection_is_empty
            concurrent_saves_of_different_sessions_all_persist
            concurrent_saves_of_one_session_never_tear
        }
    };
}

/// Every case with its name, in suite order.
///
/// ```
/// use session_storage::memory::MemoryStorage;
/// assert!(session_storage::testkit::cases::all::<MemoryStorage>().len() > 20);
/// ```
#[must_use]
pub fn all<S: Storage>() -> Vec<(&'static str, CaseFn<S>)> {
    crate::__storage_cases!(__storage_emit_list!(S))
}

const NAME: &str = "test_name";
const VALUE: &str = "test_value";
const LONG_TTL: u64 = 60;

fn meta(pairs: &[(&str, &str)]) -> Metadata {
    Metadata::new(
        pairs.iter().map(|(a, _)| (*a).to_owned()).collect(),
        pairs.iter().map(|(_, s)| (*s).to_owned()).collect(),
    )
}

async fn get<S: Storage>(s: &S, name: &str, key: &str, now: i64) -> Option<String> {
    ok(s.get(name, key, now).await, "get")
}

async fn set<S: Storage>(s: &S, req: &SetRequest<'_>) {
    ok(s.set(req).await, "set");
}

async fn keys_of<S: Storage>(s: &S, aud: &str, sub: &str, now: i64) -> BTreeSet<String> {
    ok(s.read_metadata(NAME, aud, sub, now).await, "read_metadata")
        .into_keys()
        .collect()
}

/// ST-1: a simple set, then get.
pub async fn set_then_get_returns_value<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    let now = clock.now();
    set(&*s, &SetRequest::new(NAME, &key, VALUE, LONG_TTL, now)).await;
    assert_eq!(get(&*s, NAME, &key, now).await.as_deref(), Some(VALUE));
}

/// A key never written reads as `None`, not as an error.
pub async fn get_of_missing_key_returns_none<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    assert_eq!(get(&*s, NAME, &key, clock.now()).await, None);
}

/// `set` is an upsert (the info store rewrites the current key in place).
pub async fn set_overwrites_existing_record<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    let now = clock.now();
    set(&*s, &SetRequest::new(NAME, &key, "first", LONG_TTL, now)).await;
    set(&*s, &SetRequest::new(NAME, &key, "second", LONG_TTL, now)).await;
    assert_eq!(get(&*s, NAME, &key, now).await.as_deref(), Some("second"));
}

/// ST-7: delete removes the record.
pub async fn delete_removes_record<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    let now = clock.now();
    set(&*s, &SetRequest::new(NAME, &key, VALUE, 2, now)).await;
    ok(s.delete(NAME, &key, now, None).await, "delete");
    assert_eq!(get(&*s, NAME, &key, now).await, None);
}

/// Deleting a key that does not exist succeeds (docs/storage.md §4.6).
pub async fn delete_of_missing_key_succeeds<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let key = keys.next();
    ok(
        s.delete(NAME, &key, clock.now(), None).await,
        "delete of a missing key",
    );
    let m = meta(&[("Zm9v", "am9obg")]);
    ok(
        s.delete(NAME, &keys.next(), clock.now(), Some(&m)).await,
        "delete of a missing key with metadata",
    );
}

/// The same key under two cookie names is two records (for a store without name scope,
/// [`Capability::name_scoped`](crate::Capability::name_scoped), one record: the last save wins).
pub async fn records_are_namespaced_by_cookie_name<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    let now = clock.now();
    set(
        &*s,
        &SetRequest::new("session", &key, "normal", LONG_TTL, now),
    )
    .await;
    set(
        &*s,
        &SetRequest::new("remember", &key, "persistent", LONG_TTL, now),
    )
    .await;
    if !s.capability().name_scoped {
        // The reference's SQL tables: one record per key, whatever the name; the last
        // save wins and a delete under either name removes it.
        for name in ["session", "remember"] {
            assert_eq!(
                get(&*s, name, &key, now).await.as_deref(),
                Some("persistent"),
                "a store without name scope keeps one record per key"
            );
        }
        ok(s.delete("session", &key, now, None).await, "delete");
        assert_eq!(get(&*s, "remember", &key, now).await, None);
        return;
    }
    assert_eq!(
        get(&*s, "session", &key, now).await.as_deref(),
        Some("normal")
    );
    assert_eq!(
        get(&*s, "remember", &key, now).await.as_deref(),
        Some("persistent")
    );
    ok(s.delete("session", &key, now, None).await, "delete");
    assert_eq!(get(&*s, "session", &key, now).await, None);
    assert_eq!(
        get(&*s, "remember", &key, now).await.as_deref(),
        Some("persistent")
    );
}

/// Values come back byte for byte: every printable ASCII character, JSON punctuation and
/// escapes, whitespace, and non-ASCII UTF-8.
pub async fn value_round_trips_byte_for_byte<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let now = clock.now();
    let printable: String = (0x20_u8..0x7f).map(char::from).collect();
    let values = [
        printable,
        r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#
            .to_owned(),
        "tab\there\nnewline\r\n\\\"quoted\"".to_owned(),
        "caf\u{e9} \u{2603} \u{1f600} \u{4e2d}\u{6587}".to_owned(),
        "x".to_owned(),
    ];
    for value in &values {
        let key = keys.next();
        set(&*s, &SetRequest::new(NAME, &key, value, LONG_TTL, now)).await;
        assert_eq!(
            get(&*s, NAME, &key, now).await.as_deref(),
            Some(value.as_str())
        );
    }
}

/// A [`LARGE_VALUE_LEN`]-byte value round-trips.
pub async fn large_value_round_trips<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    let now = clock.now();
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut value = String::with_capacity(LARGE_VALUE_LEN);
    value.push_str("[\"");
    let mut i: usize = 0;
    while value.len() < LARGE_VALUE_LEN - 2 {
        value.push(char::from(B64[(i * 7 + i / 64) % 64]));
        i += 1;
    }
    value.push_str("\"]");
    set(&*s, &SetRequest::new(NAME, &key, &value, LONG_TTL, now)).await;
    let got = get(&*s, NAME, &key, now).await;
    assert!(
        got.as_deref() == Some(value.as_str()),
        "large value did not round-trip"
    );
}

/// Cookie names and keys with every character the engine can produce.
pub async fn names_and_keys_with_every_engine_character_work<S: Storage>(s: Arc<S>, clock: Clock) {
    let now = clock.now();
    let keys = Keys::new();
    let uniq = keys.next();
    let names = [
        "session",
        "remember",
        "__Host-session",
        "__Secure-remember",
        "a!#$%&'*+-.^_`|~z",
        "Session_2-x",
    ];
    let special_keys = [
        format!("-{}", &uniq[1..]),
        format!("_{}", &uniq[1..]),
        format!("{}-_", &uniq[..41]),
        format!("AZaz09-_{}", &uniq[8..]),
    ];
    for name in names {
        for key in special_keys.iter().cloned().chain([keys.next()]) {
            let value = format!("[\"{name}/{key}\"]");
            set(&*s, &SetRequest::new(name, &key, &value, LONG_TTL, now)).await;
            assert_eq!(
                get(&*s, name, &key, now).await.as_deref(),
                Some(value.as_str()),
                "name {name:?} key {key:?}"
            );
        }
    }
    let m = meta(&[("X19Ib3N0LWFwcA", "dXNlcl8tMQ"), ("YS1iX2M", "LV8tXw")]);
    let key = keys.next();
    set(
        &*s,
        &SetRequest::new("__Host-session", &key, VALUE, LONG_TTL, now).with_metadata(&m),
    )
    .await;
    for (aud, sub) in m.pairs() {
        let got = ok(
            s.read_metadata("__Host-session", aud, sub, now).await,
            "read_metadata",
        );
        assert!(got.contains_key(&key), "{aud}/{sub}");
    }
}

/// ST-6: the TTL is honoured.
pub async fn record_expires_after_ttl<S: Storage>(s: Arc<S>, clock: Clock) {
    let key = Keys::new().next();
    set(&*s, &SetRequest::new(NAME, &key, VALUE, 1, clock.now())).await;
    assert_eq!(
        get(&*s, NAME, &key, clock.now()).await.as_deref(),
        Some(VALUE)
    );
    clock.advance(2).await;
    assert_eq!(
        get(&*s, NAME, &key, clock.now()).await,
        None,
        "expired record still readable"
    );
}

/// ST-5: after a save with an old key, the old record stays readable until the stale TTL
/// ends, then is gone; the new record lives on.
pub async fn old_key_stays_readable_for_stale_ttl_then_expires<S: Storage>(
    s: Arc<S>,
    clock: Clock,
) {
    let keys = Keys::new();
    let (old, new) = (keys.next(), keys.next());
    let now = clock.now();
    set(&*s, &SetRequest::new(NAME, &old, "old", LONG_TTL, now)).await;
    set(
        &*s,
        &SetRequest::new(NAME, &new, "new", LONG_TTL, now).with_old_key(&old, 1),
    )
    .await;
    assert_eq!(
        get(&*s, NAME, &old, clock.now()).await.as_deref(),
        Some("old"),
        "old key must stay readable during the stale ttl"
    );
    clock.advance(2).await;
    assert_eq!(
        get(&*s, NAME, &old, clock.now()).await,
        None,
        "old key outlived its stale ttl"
    );
    assert_eq!(
        get(&*s, NAME, &new, clock.now()).await.as_deref(),
        Some("new")
    );
}

/// A save naming an old key that does not exist succeeds and does not create it.
pub async fn save_with_missing_old_key_does_not_create_it<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let (old, new) = (keys.next(), keys.next());
    let now = clock.now();
    let m = meta(&[("Zm9v", "am9obg")]);
    set(
        &*s,
        &SetRequest::new(NAME, &new, VALUE, LONG_TTL, now)
            .with_old_key(&old, 10)
            .with_metadata(&m),
    )
    .await;
    assert_eq!(get(&*s, NAME, &old, now).await, None);
    assert_eq!(get(&*s, NAME, &new, now).await.as_deref(), Some(VALUE));
}

/// `remember = true` behaves exactly like `false` (4.1.5): the old key still gets the stale
/// TTL instead of being deleted.
pub async fn remember_flag_does_not_change_behaviour<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let (old, new) = (keys.next(), keys.next());
    let now = clock.now();
    set(
        &*s,
        &SetRequest::new("remember", &old, "old", LONG_TTL, now).with_remember(true),
    )
    .await;
    let req = SetRequest::new("remember", &new, "new", LONG_TTL, now)
        .with_old_key(&old, 10)
        .with_remember(true);
    set(&*s, &req).await;
    assert_eq!(
        get(&*s, "remember", &old, now).await.as_deref(),
        Some("old")
    );
    assert_eq!(
        get(&*s, "remember", &new, now).await.as_deref(),
        Some("new")
    );
}

/// ST-2/ST-3: every key saved with metadata is listed, with expiry `now + ttl`, in each of
/// its collections; the record itself is readable.
pub async fn metadata_lists_every_saved_key_with_its_expiry<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let m = meta(&[("Zm9v", "am9obg"), ("YmFy", "amFuZQ")]);
    let now = clock.now();
    let saved: Vec<String> = (0..3).map(|_| keys.next()).collect();
    for key in &saved {
        set(
            &*s,
            &SetRequest::new(NAME, key, VALUE, LONG_TTL, now).with_metadata(&m),
        )
        .await;
    }
    for key in &saved {
        assert_eq!(get(&*s, NAME, key, now).await.as_deref(), Some(VALUE));
    }
    for (aud, sub) in m.pairs() {
        let got = ok(s.read_metadata(NAME, aud, sub, now).await, "read_metadata");
        for key in &saved {
            assert_eq!(
                got.get(key),
                Some(&(now + 60)),
                "{aud}/{sub} lacks a key or its expiry"
            );
        }
    }
}

/// Collections are per (cookie name, audience, subject).
pub async fn metadata_collections_are_separate<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let now = clock.now();
    let (k1, k2) = (keys.next(), keys.next());
    let john = meta(&[("Zm9v", "am9obg")]);
    let jane = meta(&[("Zm9v", "amFuZQ")]);
    set(
        &*s,
        &SetRequest::new(NAME, &k1, VALUE, LONG_TTL, now).with_metadata(&john),
    )
    .await;
    set(
        &*s,
        &SetRequest::new(NAME, &k2, VALUE, LONG_TTL, now).with_metadata(&jane),
    )
    .await;
    assert_eq!(
        keys_of(&*s, "Zm9v", "am9obg", now).await,
        BTreeSet::from([k1.clone()])
    );
    assert_eq!(
        keys_of(&*s, "Zm9v", "amFuZQ", now).await,
        BTreeSet::from([k2])
    );
    assert!(keys_of(&*s, "YmFy", "am9obg", now).await.is_empty());
    let other = ok(
        s.read_metadata("other_name", "Zm9v", "am9obg", now).await,
        "read_metadata",
    );
    if s.capability().name_scoped {
        assert!(other.is_empty(), "collections must be per cookie name");
    } else {
        // The reference's SQL tables have no name column: the same collection.
        assert_eq!(
            other.keys().cloned().collect::<BTreeSet<_>>(),
            BTreeSet::from([k1]),
            "a store without name scope reads one collection whatever the name"
        );
    }
}

/// ST-4: an expired member disappears from its collection; a live one stays.
pub async fn metadata_prunes_expired_entries<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let (short, long) = (keys.next(), keys.next());
    let m = meta(&[("Zm9v", "am9obg"), ("YmFy", "amFuZQ")]);
    set(
        &*s,
        &SetRequest::new(NAME, &short, VALUE, 1, clock.now()).with_metadata(&m),
    )
    .await;
    clock.advance(2).await;
    set(
        &*s,
        &SetRequest::new(NAME, &long, VALUE, LONG_TTL, clock.now()).with_metadata(&m),
    )
    .await;
    for (aud, sub) in m.pairs() {
        let got = keys_of(&*s, aud, sub, clock.now()).await;
        assert!(got.contains(&long), "{aud}/{sub} lacks the live key");
        assert!(
            !got.contains(&short),
            "{aud}/{sub} still lists the expired key"
        );
    }
}

/// After a save with an old key, the old key leaves the collection (at once for appended
/// and sorted-set collections, once its stale TTL ends for SQL); the new key is listed.
pub async fn metadata_drops_old_key_after_save_with_old_key<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let (old, new) = (keys.next(), keys.next());
    let m = meta(&[("Zm9v", "am9obg")]);
    let now = clock.now();
    set(
        &*s,
        &SetRequest::new(NAME, &old, VALUE, LONG_TTL, now).with_metadata(&m),
    )
    .await;
    let req = SetRequest::new(NAME, &new, VALUE, LONG_TTL, now)
        .with_old_key(&old, 1)
        .with_metadata(&m);
    set(&*s, &req).await;
    assert!(
        keys_of(&*s, "Zm9v", "am9obg", clock.now())
            .await
            .contains(&new)
    );
    clock.advance(2).await;
    let got = keys_of(&*s, "Zm9v", "am9obg", clock.now()).await;
    assert!(got.contains(&new), "new key missing from collection");
    assert!(
        !got.contains(&old),
        "old key still listed after its stale ttl"
    );
}

/// ST-8: delete with metadata removes the key from the collection, leaving others.
pub async fn delete_with_metadata_removes_key_from_collection<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let (gone, kept) = (keys.next(), keys.next());
    let m = meta(&[("Zm9v", "am9obg")]);
    let now = clock.now();
    set(
        &*s,
        &SetRequest::new(NAME, &gone, VALUE, LONG_TTL, now).with_metadata(&m),
    )
    .await;
    set(
        &*s,
        &SetRequest::new(NAME, &kept, VALUE, LONG_TTL, now).with_metadata(&m),
    )
    .await;
    assert!(keys_of(&*s, "Zm9v", "am9obg", now).await.contains(&gone));
    ok(s.delete(NAME, &gone, now, Some(&m)).await, "delete");
    assert_eq!(get(&*s, NAME, &gone, now).await, None);
    let got = keys_of(&*s, "Zm9v", "am9obg", now).await;
    assert!(!got.contains(&gone), "deleted key still listed");
    assert!(got.contains(&kept), "delete removed another key");
}

/// With several audiences the reference stores subjects unencoded (docs/storage.md §2.7): raw
/// subjects with `@`, `.`, `:`, spaces, `+`, `=` and non-ASCII work as collection names.
pub async fn metadata_with_raw_subjects_works<S: Storage>(s: Arc<S>, clock: Clock) {
    let keys = Keys::new();
    let key = keys.next();
    let now = clock.now();
    let m = meta(&[
        ("YTE", "john.doe@example.com"),
        ("YTI", "user:42 a+b=c"),
        ("YTM", "J\u{fc}rgen"),
    ]);
    set(
        &*s,
        &SetRequest::new(NAME, &key, VALUE, LONG_TTL, now).with_metadata(&m),
    )
    .await;
    for (aud, sub) in m.pairs() {
        assert!(
            keys_of(&*s, aud, sub, now).await.contains(&key),
            "{aud}/{sub}"
        );
    }
    ok(s.delete(NAME, &key, now, Some(&m)).await, "delete");
    for (aud, sub) in m.pairs() {
        assert!(
            !keys_of(&*s, aud, sub, now).await.contains(&key),
            "{aud}/{sub}"
        );
    }
}

/// Reading a collection that never existed gives an empty map, not an error.
pub async fn read_metadata_of_unknown_collection_is_empty<S: Storage>(s: Arc<S>, clock: Clock) {
    let sub = Keys::new().next();
    assert!(keys_of(&*s, "bm9uZQ", &sub, clock.now()).await.is_empty());
}

/// 16 tasks each save 4 sessions (with metadata under their own subject) at the same time;
/// every record and collection entry is there afterwards.
pub async fn concurrent_saves_of_different_sessions_all_persist<S: Storage>(
    s: Arc<S>,
    clock: Clock,
) {
    let keys = Arc::new(Keys::new());
    let now = clock.now();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (s, keys) = (Arc::clone(&s), Arc::clone(&keys));
        tasks.push(tokio::spawn(async move {
            let m = meta(&[("Y29uYw", &format!("c3ViamVjdA-{t}"))]);
            let mut mine = Vec::new();
            for i in 0..4 {
                let key = keys.next();
                let value = format!("[\"task {t} save {i}\"]");
                set(
                    &*s,
                    &SetRequest::new(NAME, &key, &value, LONG_TTL, now).with_metadata(&m),
                )
                .await;
                mine.push((key, value));
            }
            (m, mine)
        }));
    }
    for task in tasks {
        let (m, mine) = match task.await {
            Ok(v) => v,
            Err(e) => panic!("saving task failed: {e}"),
        };
        for (key, value) in &mine {
            assert_eq!(
                get(&*s, NAME, key, now).await.as_deref(),
                Some(value.as_str())
            );
        }
        let (aud, sub) = (&m.audiences[0], &m.subjects[0]);
        let listed = keys_of(&*s, aud, sub, now).await;
        for (key, _) in &mine {
            assert!(listed.contains(key), "{sub} lacks a concurrently saved key");
        }
    }
}

/// 8 tasks overwrite one session with 64 KiB values while 4 tasks read it: every read is
/// one complete written value, and the final value is one of them.
pub async fn concurrent_saves_of_one_session_never_tear<S: Storage>(s: Arc<S>, clock: Clock) {
    const LEN: usize = 64 * 1024;
    let key = Arc::new(Keys::new().next());
    let now = clock.now();
    let value_of = |t: u8| -> String { char::from(b'a' + t).to_string().repeat(LEN) };
    set(
        &*s,
        &SetRequest::new(NAME, &key, &value_of(0), LONG_TTL, now),
    )
    .await;
    let mut writers = Vec::new();
    for t in 0..8_u8 {
        let (s, key, value) = (Arc::clone(&s), Arc::clone(&key), value_of(t));
        writers.push(tokio::spawn(async move {
            for _ in 0..8 {
                set(&*s, &SetRequest::new(NAME, &key, &value, LONG_TTL, now)).await;
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (s, key) = (Arc::clone(&s), Arc::clone(&key));
        readers.push(tokio::spawn(async move {
            for _ in 0..16 {
                let got = get(&*s, NAME, &key, now).await;
                check_whole(got.as_deref(), LEN);
            }
        }));
    }
    for task in writers.into_iter().chain(readers) {
        if let Err(e) = task.await {
            panic!("concurrent task failed: {e}");
        }
    }
    check_whole(get(&*s, NAME, &key, now).await.as_deref(), LEN);
}

fn check_whole(got: Option<&str>, len: usize) {
    let Some(v) = got else {
        panic!("record vanished while being overwritten");
    };
    let first = v.as_bytes().first().copied();
    assert!(
        v.len() == len
            && first.is_some_and(|c| (b'a'..b'i').contains(&c))
            && v.bytes().all(|b| Some(b) == first),
        "torn or foreign value of length {}",
        v.len()
    );
}
