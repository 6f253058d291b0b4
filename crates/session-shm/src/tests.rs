//! Layout, capacity and semantics checks that need the raw dictionary.

use super::*;
use session_storage::collection::{encode_entry, tombstone};

const K: &str = "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const K1: &str = "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const OLD: &str = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const NOW: i64 = 1_700_000_000;

fn store() -> ShmStorage {
    ShmStorage::with_zone(ShmZone::new("t", 1 << 20), Some("sessions".into()), None)
}

fn meta() -> Metadata {
    Metadata::new(vec!["foo".into()], vec!["john".into()])
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// The stored expiry of the item at `key` (which must exist).
fn exp_of(s: &ShmStorage, key: &str) -> Option<i64> {
    s.zone()
        .peek(key, |slot, _| slot.exp)
        .expect("item present")
}

#[test]
fn fixtures_are_43_chars() {
    assert_eq!((K.len(), K1.len(), OLD.len()), (43, 43, 43));
}

#[test]
fn record_and_metadata_keys_follow_reference_layout() {
    let s = store();
    let m = meta();
    block(s.set(&SetRequest::new("test_name", K, "v", 60, NOW).with_metadata(&m))).unwrap();
    s.zone()
        .peek(&format!("sessions:test_name:{K}"), |rec, _| {
            assert!(
                matches!(rec.item, Item::Record(ref v) if v.to_string().as_deref() == Some("v"))
            );
            assert_eq!(rec.exp, Some(NOW + 60));
        })
        .unwrap();
    assert_eq!(
        s.raw_list("sessions:test_name:foo:john").unwrap(),
        [encode_entry(K, NOW + 60).unwrap()]
    );
}

#[test]
fn save_with_old_key_appends_entry_then_tombstone() {
    let s = store();
    let m = meta();
    block(s.set(&SetRequest::new("n", OLD, "o", 60, NOW).with_metadata(&m))).unwrap();
    let req = SetRequest::new("n", K, "v", 60, NOW)
        .with_old_key(OLD, 10)
        .with_metadata(&m);
    block(s.set(&req)).unwrap();
    assert_eq!(
        s.raw_list("sessions:n:foo:john").unwrap(),
        [
            encode_entry(OLD, NOW + 60).unwrap(),
            encode_entry(K, NOW + 60).unwrap(),
            tombstone(OLD)
        ]
    );
    // the old record was shortened to the stale ttl
    assert_eq!(exp_of(&s, &format!("sessions:n:{OLD}")), Some(NOW + 10));
}

#[test]
fn stale_ttl_only_shortens() {
    let s = store();
    block(s.set(&SetRequest::new("n", OLD, "o", 5, NOW))).unwrap();
    block(s.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key(OLD, 10))).unwrap();
    assert_eq!(exp_of(&s, &format!("sessions:n:{OLD}")), Some(NOW + 5));
}

#[test]
fn list_in_reference_layout_reads_back_and_is_compacted() {
    let s = store();
    // What the reference leaves: entries, a tombstone, an expired entry, one per element.
    let elements = vec![
        encode_entry(K, NOW + 100).unwrap(),
        encode_entry(K1, NOW + 50).unwrap(),
        encode_entry(OLD, NOW - 1).unwrap(),
        tombstone(K1),
    ];
    s.zone()
        .insert(
            "sessions:n:foo:john",
            Slot::new(
                Item::List {
                    elements,
                    compact_at: 99,
                },
                None,
            ),
            NOW,
        )
        .unwrap();
    let got = block(s.read_metadata("n", "foo", "john", NOW)).unwrap();
    assert_eq!(got, SessionIndex::from([(K.to_owned(), NOW + 100)]));
    assert_eq!(exp_of(&s, "sessions:n:foo:john"), Some(NOW + 100));
    assert_eq!(
        s.raw_list("sessions:n:foo:john").unwrap(),
        [encode_entry(K, NOW + 100).unwrap()]
    );
}

#[test]
fn malformed_list_element_is_a_typed_error_not_a_panic() {
    let s = store();
    s.zone()
        .insert(
            "sessions:n:foo:john",
            Slot::new(
                Item::List {
                    elements: vec![format!("{K}:!!!!!!!;")],
                    compact_at: 99,
                },
                None,
            ),
            NOW,
        )
        .unwrap();
    let err = block(s.read_metadata("n", "foo", "john", NOW)).unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
}

#[test]
fn rpush_onto_a_record_is_value_not_a_list() {
    let s = store();
    s.put_record("sessions:n:foo:john".into(), "scalar", NOW + 60, NOW)
        .unwrap();
    let m = meta();
    let err = block(s.set(&SetRequest::new("n", K, "v", 60, NOW).with_metadata(&m))).unwrap_err();
    assert_eq!(err.message(), "value not a list");
}

#[test]
fn collections_stay_bounded_by_compaction() {
    let s = store();
    let m = meta();
    for i in 0..500 {
        let key = format!("{:0>43}", i);
        let req = SetRequest::new("n", &key, "v", 1, NOW + i).with_metadata(&m);
        block(s.set(&req)).unwrap();
    }
    let len = s.raw_list("sessions:n:foo:john").unwrap().len();
    assert!(len <= 2 * MIN_COMPACT_AT, "list grew to {len}");
}

#[test]
fn capacity_is_enforced_by_evicting_least_recently_used() {
    let zone = ShmZone::new("small", 64 * 1024);
    let s = ShmStorage::with_zone(zone.clone(), None, None);
    let value = "x".repeat(1024);
    for i in 0..1000 {
        let key = format!("{i:0>43}");
        block(s.set(&SetRequest::new("n", &key, &value, 3600, NOW))).unwrap();
    }
    assert!(zone.used_bytes() <= 64 * 1024, "used {}", zone.used_bytes());
    let last = format!("{:0>43}", 999);
    assert!(
        block(s.get("n", &last, NOW)).unwrap().is_some(),
        "newest record was evicted"
    );
}

#[test]
fn a_save_flood_never_takes_the_accounted_size_past_the_capacity() {
    const CAPACITY: u64 = 256 * 1024;
    let zone = ShmZone::new("flood", CAPACITY);
    let s = ShmStorage::with_zone(zone.clone(), Some("sessions".into()), None);
    let m = meta();
    let mut peak = 0;
    for i in 0..4000u32 {
        // Record sizes of small and 2 KB sessions, some with an old key and metadata.
        let value = "v".repeat(100 + (i as usize * 37) % 2500);
        let key = format!("{i:0>43}");
        let old = format!("{:0>43}", i.saturating_sub(1));
        let mut req = SetRequest::new("n", &key, &value, 3600, NOW);
        if i % 3 == 0 {
            req = req.with_old_key(&old, 10).with_metadata(&m);
        }
        block(s.set(&req)).unwrap();
        let used = zone.used_bytes();
        assert!(used <= CAPACITY, "save {i}: {used} bytes accounted");
        peak = peak.max(used);
    }
    // It did fill up (the flood is ~20× the capacity), and each item counts its overhead.
    assert!(peak > CAPACITY * 3 / 4, "peak {peak}");
    let entries = zone.len() as u64;
    assert!(entries * crate::zone::ITEM_OVERHEAD <= CAPACITY);
    let key = format!("sessions:n:{:0>43}", 3999);
    let weight = zone
        .peek(&key, |slot, weight| {
            assert_eq!(slot.weight(&key), weight);
            weight
        })
        .expect("the newest record stays");
    let value_len: usize = 100 + (3999 * 37) % 2500;
    let blocks = value_len.div_ceil(crate::zone::BLOCK) as u64;
    assert_eq!(
        weight,
        crate::zone::ITEM_OVERHEAD + key.len() as u64 + blocks * 272
    );
}

#[test]
fn values_of_every_size_come_back_whole() {
    let s = store();
    for len in [0, 1, 255, 256, 257, 512, 1000, 5000] {
        let value: String = "é€x".chars().cycle().take(len).collect();
        block(s.set(&SetRequest::new("n", K, &value, 60, NOW))).unwrap();
        assert_eq!(
            block(s.get("n", K, NOW)).unwrap().as_deref(),
            Some(&*value),
            "{len}"
        );
    }
}

#[test]
fn record_larger_than_the_zone_is_no_memory() {
    let s = ShmStorage::with_zone(ShmZone::new("tiny", 1024), None, None);
    let err = block(s.set(&SetRequest::new("n", K, &"x".repeat(2048), 60, NOW))).unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::CapacityExceeded);
    assert_eq!(err.message(), "no memory");
}

#[test]
fn an_expired_record_is_freed_when_read() {
    let zone = ShmZone::new("rt", 1 << 20);
    let s = ShmStorage::with_zone(zone.clone(), None, None);
    // the old key shortened to a stale ttl of 0: expired at once
    block(s.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key(K, 0))).unwrap();
    assert_eq!(zone.len(), 1);
    assert_eq!(block(s.get("n", K, NOW)).unwrap(), None);
    assert!(zone.is_empty());
    assert_eq!(zone.used_bytes(), 0);
}

#[test]
fn writes_free_expired_items_at_the_lru_tail() {
    let zone = ShmZone::new("tail", 1 << 20);
    let s = ShmStorage::with_zone(zone.clone(), None, None);
    for i in 0..3 {
        let key = format!("{i:0>43}");
        block(s.set(&SetRequest::new("n", &key, "v", 10, NOW))).unwrap();
    }
    // ten seconds later all three have expired; each write frees up to two at the tail
    let later = format!("{:0>43}", 9);
    block(s.set(&SetRequest::new("n", &later, "v", 10, NOW + 10))).unwrap();
    assert_eq!(zone.len(), 2);
    block(s.set(&SetRequest::new("n", K, "v", 10, NOW + 10))).unwrap();
    assert_eq!(
        zone.len(),
        2,
        "the last expired one went, the live ones stay"
    );
}

#[test]
fn reads_keep_items_from_eviction() {
    // room for four records: the least recently used goes first, and a read counts as use
    let weight = crate::zone::ITEM_OVERHEAD + "n:".len() as u64 + 43 + 272;
    let zone = ShmZone::new("lru", 4 * weight + weight / 2);
    assert_eq!(zone.shard_count(), 1);
    let s = ShmStorage::with_zone(zone.clone(), None, None);
    let key = |i: u32| format!("{i:0>43}");
    let value = "v".repeat(200);
    for i in 0..8 {
        block(s.set(&SetRequest::new("n", &key(i), &value, 60, NOW))).unwrap();
    }
    assert_eq!(zone.len(), 4);
    assert_eq!(zone.used_bytes(), 4 * weight);
    assert!(
        block(s.get("n", &key(3), NOW)).unwrap().is_none(),
        "evicted first"
    );
    assert!(block(s.get("n", &key(4), NOW)).unwrap().is_some());
    block(s.set(&SetRequest::new("n", &key(100), &value, 60, NOW))).unwrap();
    assert!(
        block(s.get("n", &key(4), NOW)).unwrap().is_some(),
        "read, so kept"
    );
    assert!(
        block(s.get("n", &key(5), NOW)).unwrap().is_none(),
        "least recent, so evicted"
    );
    assert!(block(s.get("n", &key(6), NOW)).unwrap().is_some());
}

#[test]
fn large_zones_are_sharded_and_every_shard_is_bounded() {
    let zone = ShmZone::new("sharded", 64 * 1024 * 1024);
    assert_eq!(zone.shard_count(), 16);
    assert_eq!(ShmZone::new("s", 12 * 1024 * 1024).shard_count(), 2);
    assert_eq!(ShmZone::new("s", 1).shard_count(), 1);
    // a record larger than one shard (4 MiB) is "no memory", as in a full dictionary
    let s = ShmStorage::with_zone(zone.clone(), None, None);
    let err = block(s.set(&SetRequest::new("n", K, &"x".repeat(5 << 20), 60, NOW))).unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::CapacityExceeded);
    block(s.set(&SetRequest::new("n", K, &"x".repeat(3 << 20), 60, NOW))).unwrap();
    assert!(zone.used_bytes() > 3 << 20);
}

#[test]
fn zones_are_shared_by_name_and_missing_zone_fails() {
    let mut cfg = ShmConfig {
        zone: "unit-shared".into(),
        ..ShmConfig::default()
    };
    let a = ShmStorage::from_config(cfg.clone()).unwrap();
    cfg.capacity = None;
    let b = ShmStorage::from_config(cfg.clone()).unwrap();
    block(a.set(&SetRequest::new("n", K, "v", 60, NOW))).unwrap();
    assert_eq!(block(b.get("n", K, NOW)).unwrap().as_deref(), Some("v"));
    cfg.zone = "unit-undeclared".into();
    let err = ShmStorage::from_config(cfg).unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::Config);
}

#[test]
fn config_defaults_and_unknown_fields() {
    let cfg: ShmConfig = serde_json::from_str(r#"{"connect_timeout":10000}"#).unwrap();
    assert_eq!(cfg, ShmConfig::default());
    assert_eq!(cfg.zone, "sessions");
}
