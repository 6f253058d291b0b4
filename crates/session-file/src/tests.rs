//! Byte-level layout checks against the reference (docs/storage.md §10, IT-7).

use super::*;
use session_storage::collection::{encode_entry, tombstone};
use std::os::unix::fs::PermissionsExt;

const K: &str = "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const OLD: &str = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const NOW: i64 = 1_700_000_000;

fn setup(prefix: Option<&str>, suffix: Option<&str>) -> (tempfile::TempDir, FileStorage) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = FileConfig::default().with_path(dir.path());
    cfg.prefix = prefix.map(Into::into);
    cfg.suffix = suffix.map(Into::into);
    let store = FileStorage::from_config(cfg).unwrap();
    (dir, store)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn mtime(p: &Path) -> i64 {
    io::to_unix_secs(std::fs::metadata(p).unwrap().modified().unwrap())
}

#[test]
fn file_names_match_the_reference_for_every_prefix_suffix_combination() {
    for (p, s, record, meta) in [
        (
            None,
            None,
            format!("session_{K}"),
            "session_ZGVmYXVsdA:am9obg".to_owned(),
        ),
        (
            Some("P"),
            None,
            format!("P_session_{K}"),
            "P_session_ZGVmYXVsdA:am9obg".to_owned(),
        ),
        (
            None,
            Some("U"),
            format!("session_{K}.U"),
            "session_ZGVmYXVsdA:am9obg.U".to_owned(),
        ),
        (
            Some("P"),
            Some("U"),
            format!("P_session_{K}.U"),
            "P_session_ZGVmYXVsdA:am9obg.U".to_owned(),
        ),
        (
            Some(""),
            Some(""),
            format!("session_{K}"),
            "session_ZGVmYXVsdA:am9obg".to_owned(),
        ),
    ] {
        let (dir, store) = setup(p, s);
        let m = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
        rt().block_on(store.set(&SetRequest::new("session", K, "v", 60, NOW).with_metadata(&m)))
            .unwrap();
        assert!(dir.path().join(&record).is_file(), "{record}");
        assert!(dir.path().join(&meta).is_file(), "{meta}");
    }
}

#[test]
fn record_mtime_is_expiry_and_mode_is_0600_and_content_exact() {
    let (dir, store) = setup(None, Some("session"));
    rt().block_on(store.set(&SetRequest::new("n", K, "[\"p\"]", 60, NOW)))
        .unwrap();
    let path = dir.path().join(format!("n_{K}.session"));
    assert_eq!(mtime(&path), NOW + 60);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "[\"p\"]");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // no temporary files left behind
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn get_honours_mtime_expiry_with_equal_still_valid() {
    let (_dir, store) = setup(None, None);
    let rt = rt();
    rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW)))
        .unwrap();
    assert_eq!(
        rt.block_on(store.get("n", K, NOW + 60)).unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(rt.block_on(store.get("n", K, NOW + 61)).unwrap(), None);
}

#[test]
fn old_file_mtime_is_shortened_only() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    rt.block_on(store.set(&SetRequest::new("n", OLD, "o", 60, NOW)))
        .unwrap();
    rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key(OLD, 10)))
        .unwrap();
    assert_eq!(mtime(&dir.path().join(format!("n_{OLD}"))), NOW + 10);
    // an old file that expires sooner keeps its mtime
    rt.block_on(store.set(&SetRequest::new("n", OLD, "o", 5, NOW)))
        .unwrap();
    rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key(OLD, 10)))
        .unwrap();
    assert_eq!(mtime(&dir.path().join(format!("n_{OLD}"))), NOW + 5);
    // a missing old file is not created
    let missing = "missing_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
    rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key(missing, 10)))
        .unwrap();
    assert!(!dir.path().join(format!("n_{missing}")).exists());
}

#[test]
fn metadata_file_holds_exact_appended_entries() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    let m = Metadata::new(vec!["foo".into()], vec!["john".into()]);
    rt.block_on(store.set(&SetRequest::new("n", OLD, "o", 60, NOW).with_metadata(&m)))
        .unwrap();
    let req = SetRequest::new("n", K, "v", 60, NOW)
        .with_old_key(OLD, 10)
        .with_metadata(&m);
    rt.block_on(store.set(&req)).unwrap();
    rt.block_on(store.delete("n", K, NOW, Some(&m))).unwrap();
    let content = std::fs::read_to_string(dir.path().join("n_foo:john")).unwrap();
    let want = format!(
        "{}{}{}{}",
        encode_entry(OLD, NOW + 60).unwrap(),
        encode_entry(K, NOW + 60).unwrap(),
        tombstone(OLD),
        tombstone(K)
    );
    assert_eq!(content, want);
}

#[test]
fn collection_written_by_the_reference_reads_back() {
    let (dir, store) = setup(None, Some("session"));
    let content = format!(
        "{}{}{}",
        encode_entry(K, NOW + 100).unwrap(),
        encode_entry(OLD, NOW + 100).unwrap(),
        tombstone(OLD)
    );
    std::fs::write(dir.path().join("n_foo:john.session"), content).unwrap();
    let got = rt()
        .block_on(store.read_metadata("n", "foo", "john", NOW))
        .unwrap();
    assert_eq!(got, SessionIndex::from([(K.to_owned(), NOW + 100)]));
}

#[test]
fn malformed_collection_is_a_typed_error() {
    let (dir, store) = setup(None, None);
    std::fs::write(dir.path().join("n_foo:john"), format!("{K}:*******;")).unwrap();
    let err = rt()
        .block_on(store.read_metadata("n", "foo", "john", NOW))
        .unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
}

#[test]
fn non_utf8_record_is_a_typed_error() {
    let (dir, store) = setup(None, None);
    std::fs::write(dir.path().join(format!("n_{K}")), [0xff, 0xfe]).unwrap();
    let err = rt().block_on(store.get("n", K, 0)).unwrap_err();
    assert_eq!(err.kind(), session_storage::ErrorKind::InvalidRecord);
}

#[test]
fn path_traversal_is_refused_with_invalid_input() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    let m = Metadata::new(vec!["a".into()], vec!["../../etc/x".into()]);
    for res in [
        rt.block_on(store.set(&SetRequest::new("../n", K, "v", 60, NOW))),
        rt.block_on(store.set(&SetRequest::new("n", "a/b", "v", 60, NOW))),
        rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW).with_old_key("../x", 1))),
        rt.block_on(store.set(&SetRequest::new("n", K, "v", 60, NOW).with_metadata(&m))),
        rt.block_on(store.delete("n", "x\0y", NOW, None)),
    ] {
        assert_eq!(
            res.unwrap_err().kind(),
            session_storage::ErrorKind::InvalidInput
        );
    }
    assert!(rt.block_on(store.get("n/..", K, NOW)).is_err());
    assert!(
        rt.block_on(store.read_metadata("n", "a", "../b", NOW))
            .is_err()
    );
    // nothing was written by the refused calls
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn cleanup_removes_only_expired_files_of_that_cookie_name() {
    let (dir, store) = setup(Some("p"), Some("s"));
    let rt = rt();
    rt.block_on(store.set(&SetRequest::new("n", K, "v", 10, NOW)))
        .unwrap();
    rt.block_on(store.set(&SetRequest::new("n", OLD, "v", 1000, NOW)))
        .unwrap();
    rt.block_on(store.set(&SetRequest::new("other", K, "v", 10, NOW)))
        .unwrap();
    std::fs::write(dir.path().join("unrelated.conf"), "x").unwrap();
    assert_eq!(rt.block_on(store.cleanup("n", NOW + 100)).unwrap(), 1);
    assert!(!dir.path().join(format!("p_n_{K}.s")).exists());
    assert!(dir.path().join(format!("p_n_{OLD}.s")).exists());
    assert!(dir.path().join(format!("p_other_{K}.s")).exists());
    assert!(dir.path().join("unrelated.conf").exists());
}

#[test]
fn cleanup_removes_temp_files_left_by_a_crash_after_a_grace_hour() {
    let (dir, store) = setup(Some("p"), Some("s"));
    let rt = rt();
    let stale = dir.path().join(format!(".p_n_{K}.s.4242.7.tmp"));
    let fresh = dir.path().join(format!(".p_n_{OLD}.s.4242.8.tmp"));
    let foreign = dir.path().join(".p_other_x.s.1.1.tmp");
    for (path, mtime) in [(&stale, NOW), (&fresh, NOW + 3000), (&foreign, NOW)] {
        std::fs::write(path, "[\"half\"]").unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime.unsigned_abs()),
        )
        .unwrap();
    }
    assert_eq!(rt.block_on(store.cleanup("n", NOW + 3601)).unwrap(), 1);
    assert!(!stale.exists());
    assert!(fresh.exists(), "an hour has not passed since its mtime");
    assert!(
        foreign.exists(),
        "another cookie name's temp file is not ours to remove"
    );
}

#[test]
fn config_rejects_bad_prefix_and_missing_dir_and_ignores_pool() {
    assert!(FileStorage::from_config(FileConfig::default().with_suffix("a/b")).is_err());
    assert!(
        FileStorage::from_config(FileConfig::default().with_path("/nonexistent/dir/xyz")).is_err()
    );
    let cfg: FileConfig = serde_json::from_str(r#"{"pool":"default","prefix":""}"#).unwrap();
    assert_eq!(cfg.pool.as_deref(), Some("default"));
}

#[test]
fn time_conversions_round_trip() {
    for s in [-5_i64, -1, 0, 1, NOW, 1 << 40] {
        assert_eq!(io::to_unix_secs(io::to_system_time(s)), s);
    }
}

#[test]
fn a_save_syncs_the_directory_and_the_record_survives_a_new_store() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    let before = io::DIR_SYNCS.load(std::sync::atomic::Ordering::Relaxed);
    rt.block_on(store.set(&SetRequest::new("n", K, "[\"durable\"]", 60, NOW)))
        .unwrap();
    assert!(
        io::DIR_SYNCS.load(std::sync::atomic::Ordering::Relaxed) > before,
        "the rename is made durable by a directory sync"
    );
    drop(store);
    // A store opened afresh on the directory (as after a restart) reads the newest record.
    let again = FileStorage::from_config(FileConfig::default().with_path(dir.path())).unwrap();
    assert_eq!(
        rt.block_on(again.get("n", K, NOW)).unwrap().as_deref(),
        Some("[\"durable\"]")
    );
    rt.block_on(again.set(&SetRequest::new("n", K, "[\"newer\"]", 60, NOW)))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(format!("n_{K}"))).unwrap(),
        "[\"newer\"]"
    );
}

#[test]
fn syncing_a_missing_directory_is_an_error_without_the_session_id() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    assert!(io::sync_dir(&gone).is_err());
    let err = io::write_atomic(&gone, &gone.join(format!("n_{K}")), b"v", NOW).unwrap_err();
    assert!(!format!("{err}").contains(K), "{err}");
    assert!(!format!("{err:?}").contains(K), "{err:?}");
    assert!(
        format!("{err}").contains("n_test_key_1"),
        "a short prefix names the file: {err}"
    );
}

/// Session ids `0000…`, `0001…` (43 characters each).
fn sid(i: usize) -> String {
    format!("{i:04}{}", "k".repeat(39))
}

#[test]
fn cleanup_compacts_a_subjects_metadata_file_to_its_live_entries() {
    let (dir, store) = setup(Some("p"), Some("s"));
    let rt = rt();
    let m = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);
    // A subject who keeps rotating one session: each save appends an entry and a tombstone.
    rt.block_on(store.set(&SetRequest::new("n", &sid(0), "v", 600, NOW).with_metadata(&m)))
        .unwrap();
    for i in 1..200 {
        let (old, new) = (sid(i - 1), sid(i));
        let req = SetRequest::new("n", &new, "v", 600, NOW)
            .with_old_key(&old, 0)
            .with_metadata(&m);
        rt.block_on(store.set(&req)).unwrap();
    }
    // And a second device whose session expired.
    rt.block_on(store.set(&SetRequest::new("n", &sid(500), "v", 5, NOW).with_metadata(&m)))
        .unwrap();
    let path = dir.path().join("p_n_ZGVmYXVsdA:am9obg.s");
    let before = std::fs::metadata(&path).unwrap().len();
    let mtime_before = mtime(&path);
    let listed = rt
        .block_on(store.read_metadata("n", "ZGVmYXVsdA", "am9obg", NOW + 10))
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");

    let done = rt.block_on(store.cleanup("n", NOW + 10)).unwrap();
    // 199 rotated-away records (stale_ttl 0) and the expired one deleted, one file compacted.
    assert_eq!(done, 199 + 1 + 1);
    let content = std::fs::read_to_string(&path).unwrap();
    assert_eq!(content, encode_entry(&sid(199), NOW + 600).unwrap());
    assert!(
        content.len() as u64 * 100 < before,
        "{} of {before}",
        content.len()
    );
    assert_eq!(mtime(&path), mtime_before, "the file keeps its expiry");
    assert_eq!(
        rt.block_on(store.read_metadata("n", "ZGVmYXVsdA", "am9obg", NOW + 10))
            .unwrap(),
        listed
    );
    assert!(dir.path().join(format!("p_n_{}.s", sid(199))).exists());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Compact already: nothing more to do.
    assert_eq!(rt.block_on(store.cleanup("n", NOW + 10)).unwrap(), 0);
}

#[test]
fn appends_racing_a_compaction_are_kept() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    let m = Metadata::new(vec!["a".into()], vec!["s".into()]);
    for i in 0..3 {
        rt.block_on(store.set(&SetRequest::new("n", &sid(i), "v", 600, NOW).with_metadata(&m)))
            .unwrap();
        rt.block_on(store.delete("n", &sid(i), NOW, Some(&m)))
            .unwrap();
    }
    let path = dir.path().join("n_a:s");
    // A writer (a Lua peer, say) opened the collection just before the compaction renamed
    // the new file over it, and writes just after.
    let mut early = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let replaced = io::compact_one(dir.path(), &path, NOW)
        .unwrap()
        .expect("compacted");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    std::io::Write::write_all(
        &mut early,
        encode_entry(&sid(7), NOW + 600).unwrap().as_bytes(),
    )
    .unwrap();
    // And one that opened it after the rename.
    rt.block_on(store.set(&SetRequest::new("n", &sid(8), "v", 600, NOW).with_metadata(&m)))
        .unwrap();
    io::copy_late_appends(&replaced).unwrap();
    let listed = rt
        .block_on(store.read_metadata("n", "a", "s", NOW))
        .unwrap();
    assert_eq!(
        listed.keys().cloned().collect::<Vec<_>>(),
        vec![sid(7), sid(8)],
        "both appends survive"
    );
}

#[test]
fn compaction_leaves_records_and_unparsable_collections_alone() {
    let (dir, store) = setup(None, None);
    let rt = rt();
    let garbage = dir.path().join("n_a:s");
    let bad = format!("{}:!!!!!!!;{}", sid(1), tombstone(&sid(1)));
    std::fs::write(&garbage, &bad).unwrap();
    rt.block_on(store.set(&SetRequest::new("n", &sid(2), "v", 600, NOW)))
        .unwrap();
    assert_eq!(rt.block_on(store.cleanup("n", NOW)).unwrap(), 0);
    assert_eq!(std::fs::read_to_string(&garbage).unwrap(), bad);
    assert_eq!(
        rt.block_on(store.get("n", &sid(2), NOW))
            .unwrap()
            .as_deref(),
        Some("v")
    );
}
