//! The stored layout, byte for byte (docs/storage.md §14.4 IT-4), and the shared vectors' redis cases:
//! what lua-resty-session 4.1.5 stored is loaded into a real Redis with raw commands, opened
//! through this crate, and compared with what this crate stores for the same save.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

mod common;

use session_redis::redis::{self, AsyncCommands};
use session_redis::{RedisConnection, RedisStorage};
use session_storage::{Metadata, SetRequest, Storage};
use session_testsupport::clock;
use session_testsupport::names::unique;

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const OLD: &str = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";

async fn conn(store: &RedisStorage) -> RedisConnection {
    store.connection().await.expect("a redis connection")
}

async fn ttl(c: &mut RedisConnection, key: &str) -> i64 {
    c.ttl(key).await.unwrap()
}

async fn layout_after_set_with_metadata(store: RedisStorage) {
    let prefix = store.layout().prefix.clone().unwrap();
    let mut c = conn(&store).await;
    let now = clock::now();
    let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
    store
        .set(&SetRequest::new("session", OLD, "[\"old\"]", 60, now))
        .await
        .unwrap();
    let req = SetRequest::new("session", K, "[\"new\"]", 60, now)
        .with_old_key(OLD, 10)
        .with_metadata(&meta);
    store.set(&req).await.unwrap();

    let record = format!("{prefix}:session:{K}");
    let mkey = format!("{prefix}:session:ZGVmYXVsdA:am9obg");
    let value: Vec<u8> = c.get(&record).await.unwrap();
    assert_eq!(value, b"[\"new\"]");
    let t = ttl(&mut c, &record).await;
    assert!((58..=60).contains(&t), "record ttl {t}");
    let score: Option<i64> = c.zscore(&mkey, K).await.unwrap();
    assert_eq!(score, Some(now + 60));
    let t = ttl(&mut c, &mkey).await;
    assert!((58..=60).contains(&t), "metadata ttl {t}");
    let old_score: Option<i64> = c.zscore(&mkey, OLD).await.unwrap();
    assert_eq!(old_score, None, "old key left the collection");
    let t = ttl(&mut c, &format!("{prefix}:session:{OLD}")).await;
    assert!(
        (8..=10).contains(&t),
        "old record shortened to stale ttl, got {t}"
    );

    // An old key with a shorter TTL keeps it; one without expiry is left alone.
    let short = format!("{prefix}:session:short_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii");
    let () = c.set_ex(&short, "v", 3).await.unwrap();
    let persistent = format!("{prefix}:session:persist_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii");
    let () = c.set(&persistent, "v").await.unwrap();
    for old in [
        "short_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
        "persist_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
    ] {
        store
            .set(&SetRequest::new("session", K, "[\"x\"]", 60, now).with_old_key(old, 10))
            .await
            .unwrap();
    }
    assert!(ttl(&mut c, &short).await <= 3);
    assert_eq!(ttl(&mut c, &persistent).await, -1);
    // A missing old key is not created.
    store
        .set(
            &SetRequest::new("session", K, "[\"x\"]", 60, now)
                .with_old_key("missing_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", 10),
        )
        .await
        .unwrap();
    let exists: bool = c
        .exists(format!(
            "{prefix}:session:missing_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"
        ))
        .await
        .unwrap();
    assert!(!exists);

    // delete with metadata: record unlinked, member removed, no EXPIRE change.
    store.delete("session", K, now, Some(&meta)).await.unwrap();
    let exists: bool = c.exists(&record).await.unwrap();
    assert!(!exists);
    let score: Option<i64> = c.zscore(&mkey, K).await.unwrap();
    assert_eq!(score, None);
    let _: () = c.del(&[short, persistent, mkey]).await.unwrap();
}

#[tokio::test]
async fn single_layout_matches_the_reference() {
    let prefix = unique("layout");
    layout_after_set_with_metadata(common::store(common::single_config().with_prefix(prefix)))
        .await;
}

#[tokio::test]
async fn cluster_layout_matches_the_reference() {
    let prefix = unique("layout");
    layout_after_set_with_metadata(common::store(common::cluster_config().with_prefix(prefix)))
        .await;
}

#[tokio::test]
async fn sentinel_layout_matches_the_reference() {
    let prefix = unique("layout");
    layout_after_set_with_metadata(common::store(common::sentinel_config().with_prefix(prefix)))
        .await;
}

#[tokio::test]
async fn foreign_records_never_panic() {
    let prefix = unique("foreign");
    let store = common::store(common::single_config().with_prefix(prefix.clone()));
    let mut c = conn(&store).await;
    let now = clock::now();
    // Not UTF-8.
    let () = c
        .set_ex(format!("{prefix}:session:bin"), &[0xff_u8, 0xfe][..], 60)
        .await
        .unwrap();
    let err = store.get("session", "bin", now).await.unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
    // Wrong type under the record key.
    let _: () = c
        .hset(format!("{prefix}:session:hash"), "f", "v")
        .await
        .unwrap();
    let err = store.get("session", "hash", now).await.unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
    // Wrong type under the metadata key, and a metadata member that is not UTF-8.
    let _: () = c.set(format!("{prefix}:session:a:s"), "x").await.unwrap();
    let err = store
        .read_metadata("session", "a", "s", now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
    let _: () = c
        .zadd(format!("{prefix}:session:a:t"), &[0xff_u8][..], now + 60)
        .await
        .unwrap();
    let err = store
        .read_metadata("session", "a", "t", now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
    let _: () = c
        .del(&[
            format!("{prefix}:session:bin"),
            format!("{prefix}:session:hash"),
            format!("{prefix}:session:a:s"),
            format!("{prefix}:session:a:t"),
        ])
        .await
        .unwrap();
}

/// One redis case of the shared vectors.
struct Case {
    name: String,
    cookie: String,
    key: String,
    value: String,
    ttl: u64,
    /// (audience, subject, members [(key, score)], ttl)
    metadata: Vec<(String, String, Vec<(String, i64)>, u64)>,
}

fn vectors() -> Vec<Case> {
    let path = session_testsupport::env::vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for case in json["cases"].as_array().unwrap() {
        if case["config"]["storage"] != "redis" || !case["storage"].is_object() {
            continue;
        }
        let s = &case["storage"];
        let full = s["key"].as_str().unwrap();
        let (cookie, key) = full.split_once(':').unwrap();
        let mut metadata = Vec::new();
        for m in s["metadata"].as_array().into_iter().flatten() {
            let mkey = m["key"].as_str().unwrap();
            let mut parts = mkey.splitn(3, ':');
            assert_eq!(parts.next(), Some(cookie));
            let aud = parts.next().unwrap().to_owned();
            let sub = parts.next().unwrap().to_owned();
            let members = m["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_i64().unwrap()))
                .collect();
            metadata.push((aud, sub, members, m["ttl"].as_u64().unwrap()));
        }
        out.push(Case {
            name: case["name"].as_str().unwrap().to_owned(),
            cookie: cookie.to_owned(),
            key: key.to_owned(),
            value: s["value"].as_str().unwrap().to_owned(),
            ttl: s["ttl"].as_u64().unwrap(),
            metadata,
        });
    }
    out
}

/// Everything stored under `key`, for comparison: type, bytes, TTL rounded to 10 s, and
/// members with scores for sorted sets.
async fn snapshot(
    c: &mut RedisConnection,
    key: &str,
) -> (String, Vec<u8>, i64, Vec<(Vec<u8>, i64)>) {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(c).await.unwrap();
    let ttl = ttl(c, key).await;
    let (bytes, members) = match kind.as_str() {
        "string" => (c.get(key).await.unwrap(), Vec::new()),
        "zset" => (Vec::new(), c.zrange_withscores(key, 0, -1).await.unwrap()),
        other => panic!("{key}: unexpected type {other}"),
    };
    (kind, bytes, (ttl + 5) / 10, members)
}

#[tokio::test]
async fn vectors_written_by_lua_open_here_and_match_what_we_write() {
    let cases = vectors();
    assert!(
        cases.len() >= 3,
        "expected the redis cases of the shared vectors"
    );
    // The vectors use no prefix, as lua-resty-session's default; our copy goes under a
    // unique prefix so both can be compared side by side.
    let lua = common::store(common::single_config());
    let prefix = unique("vectors");
    let ours = common::store(common::single_config().with_prefix(prefix.clone()));
    let mut c = conn(&lua).await;
    for case in &cases {
        let name = &case.name;
        let now = case
            .metadata
            .first()
            .map_or_else(clock::now, |(_, _, members, _)| {
                members[0].1 - i64::try_from(case.ttl).unwrap()
            });
        // 1. Load what lua-resty-session stored, with the commands it uses.
        let record = format!("{}:{}", case.cookie, case.key);
        let () = c.set_ex(&record, &case.value, case.ttl).await.unwrap();
        for (aud, sub, members, ttl) in &case.metadata {
            let mkey = format!("{}:{aud}:{sub}", case.cookie);
            for (member, score) in members {
                let _: () = c.zadd(&mkey, member, *score).await.unwrap();
            }
            let _: () = c.expire(&mkey, i64::try_from(*ttl).unwrap()).await.unwrap();
        }
        // 2. This crate opens it, byte for byte, and lists it in its collections.
        let got = lua
            .get(&case.cookie, &case.key, clock::now())
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(case.value.as_str()), "{name}: get");
        for (aud, sub, members, _) in &case.metadata {
            let index = lua
                .read_metadata(&case.cookie, aud, sub, clock::now())
                .await
                .unwrap();
            for (member, score) in members {
                assert_eq!(index.get(member), Some(score), "{name}: read_metadata");
            }
        }
        // 3. The same save through this crate stores the same bytes, TTLs and sets.
        let meta = Metadata::new(
            case.metadata.iter().map(|m| m.0.clone()).collect(),
            case.metadata.iter().map(|m| m.1.clone()).collect(),
        );
        let mut req = SetRequest::new(&case.cookie, &case.key, &case.value, case.ttl, now);
        if !case.metadata.is_empty() {
            req = req.with_metadata(&meta);
        }
        ours.set(&req).await.unwrap();
        let mut keys = vec![record.clone()];
        keys.extend(
            case.metadata
                .iter()
                .map(|(a, s, _, _)| format!("{}:{a}:{s}", case.cookie)),
        );
        for key in &keys {
            let theirs = snapshot(&mut c, key).await;
            let mine = snapshot(&mut c, &format!("{prefix}:{key}")).await;
            assert_eq!(mine, theirs, "{name}: {key} differs");
        }
        let _: () = c.del(&keys).await.unwrap();
        let prefixed: Vec<String> = keys.iter().map(|k| format!("{prefix}:{k}")).collect();
        let _: () = c.del(&prefixed).await.unwrap();
    }
}
