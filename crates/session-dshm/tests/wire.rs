//! What goes over the wire (docs/storage.md §8, §14.4 IT-6): the exact bytes the client sends for
//! each operation, compared with the bytes the Lua client sends, written out by hand from
//! the spec; the test server's own replies checked against docs/storage.md §8.2; and records and
//! collections laid out by the reference read by this store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use session_dshm::{DshmStorage, escape_key};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use support::{Raw, TestServer};

/// The reference's storage-test fixtures (docs/storage.md §14.1).
const NAME: &str = "test_name";
const VALUE: &str = "test_value";
const K: &str = "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const K1: &str = "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
const OLD: &str = "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
/// `now` such that `now + 60` = 1 700 003 600, whose `<exp7>` is `EP9TZQA` (docs/storage.md §5.3).
const NOW: i64 = 1_700_003_540;

fn meta(pairs: &[(&str, &str)]) -> Metadata {
    Metadata::new(
        pairs.iter().map(|p| p.0.to_owned()).collect(),
        pairs.iter().map(|p| p.1.to_owned()).collect(),
    )
}

/// One connection, so the received bytes are in request order.
fn store(server: &TestServer, prefix: Option<&str>, suffix: Option<&str>) -> DshmStorage {
    let mut config = support::config(server.port()).with_pool_size(1);
    config.prefix = prefix.map(str::to_owned);
    config.suffix = suffix.map(str::to_owned);
    DshmStorage::from_config(config).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn fixtures_are_43_characters() {
    for k in [K, K1, OLD] {
        assert_eq!(k.len(), 43);
    }
}

#[tokio::test]
async fn fast_path_set_get_delete_send_the_lua_bytes() {
    let server = TestServer::start();
    let store = store(&server, Some("sessions"), None);
    store
        .set(&SetRequest::new(NAME, K, VALUE, 60, NOW))
        .await
        .unwrap();
    // No CRLF after the data (docs/storage.md §8.1).
    assert_eq!(
        text(&server.take_received()),
        "set sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii 60 10\r\ntest_value"
    );
    assert_eq!(
        store.get(NAME, K, NOW).await.unwrap().as_deref(),
        Some(VALUE)
    );
    assert_eq!(
        text(&server.take_received()),
        "get sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\r\n"
    );
    store.delete(NAME, K, NOW, None).await.unwrap();
    assert_eq!(
        text(&server.take_received()),
        "delete sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\r\n"
    );
    // A miss (`ERROR not_found`) is no value; a second delete of the missing key is fine.
    assert_eq!(store.get(NAME, K, NOW).await.unwrap(), None);
    store.delete(NAME, K, NOW, None).await.unwrap();
}

#[tokio::test]
async fn set_with_old_key_and_metadata_sends_touch_and_read_modify_writes() {
    let server = TestServer::start();
    let store = store(&server, Some("sessions"), None);
    server.put(
        "sessions:test_name:old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
        "old",
        60,
    );
    let m = meta(&[("foo", "john"), ("bar", "jane")]);
    store
        .set(
            &SetRequest::new(NAME, K, VALUE, 60, NOW)
                .with_old_key(OLD, 10)
                .with_metadata(&m),
        )
        .await
        .unwrap();
    let want = concat!(
        "set sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii 60 10\r\ntest_value",
        "touch sessions:test_name:old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii 10\r\n",
        // update(M, K, now + ttl): the collection did not exist.
        "get sessions:test_name:foo:john\r\n",
        "set sessions:test_name:foo:john 60 52\r\ntest_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
        // update(M, OLD, 0): OLD was not a member, K stays.
        "get sessions:test_name:foo:john\r\n",
        "set sessions:test_name:foo:john 60 52\r\ntest_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
        "get sessions:test_name:bar:jane\r\n",
        "set sessions:test_name:bar:jane 60 52\r\ntest_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
        "get sessions:test_name:bar:jane\r\n",
        "set sessions:test_name:bar:jane 60 52\r\ntest_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
    );
    assert_eq!(text(&server.take_received()), want);

    // What is stored: the record for 60 s, the old record touched to 10 s, the collection
    // holding exactly the live entry, with a TTL of max_exp - now = 60 s.
    let rec = "sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
    assert_eq!(server.value(rec).as_deref(), Some(VALUE));
    let ttl = server.ttl(rec).unwrap().unwrap();
    assert!(
        ttl > Duration::from_secs(58) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );
    let old_ttl = server
        .ttl("sessions:test_name:old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii")
        .unwrap()
        .unwrap();
    assert!(old_ttl <= Duration::from_secs(10), "{old_ttl:?}");
    assert_eq!(
        server.value("sessions:test_name:foo:john").as_deref(),
        Some("test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;")
    );
    let mttl = server.ttl("sessions:test_name:foo:john").unwrap().unwrap();
    assert!(mttl > Duration::from_secs(58), "{mttl:?}");
    // Every key lands in the region named by the prefix (docs/storage.md §8.3).
    assert_eq!(server.region_holding(rec).as_deref(), Some("sessions"));
    assert_eq!(
        server
            .region_holding("sessions:test_name:foo:john")
            .as_deref(),
        Some("sessions")
    );

    // read_metadata is one `get M`.
    let index = store.read_metadata(NAME, "foo", "john", NOW).await.unwrap();
    assert_eq!(
        text(&server.take_received()),
        "get sessions:test_name:foo:john\r\n"
    );
    assert_eq!(
        index.into_iter().collect::<Vec<_>>(),
        [(K.to_owned(), 1_700_003_600)]
    );
}

#[tokio::test]
async fn old_key_leaves_the_collection_and_delete_rewrites_or_deletes_it() {
    let server = TestServer::start();
    let store = store(&server, Some("sessions"), None);
    let m = meta(&[("foo", "john")]);
    // OLD and K1 are members; saving K with old key OLD removes OLD.
    for key in [OLD, K1] {
        store
            .set(&SetRequest::new(NAME, key, VALUE, 60, NOW).with_metadata(&m))
            .await
            .unwrap();
    }
    server.take_received();
    store
        .set(
            &SetRequest::new(NAME, K, VALUE, 30, NOW)
                .with_old_key(OLD, 10)
                .with_metadata(&m),
        )
        .await
        .unwrap();
    // now + 30 = 1 700 003 570 → bytes f2 fe 53 65 00 → 8v5TZQA.
    let want = concat!(
        "set sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii 30 10\r\ntest_value",
        "touch sessions:test_name:old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii 10\r\n",
        "get sessions:test_name:foo:john\r\n",
        // BTreeMap order: old_key_…, test_key_1…, test_key_2…; max_exp - now = 60.
        "set sessions:test_name:foo:john 60 156\r\n",
        "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
        "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:8v5TZQA;",
        "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
        "get sessions:test_name:foo:john\r\n",
        "set sessions:test_name:foo:john 60 104\r\n",
        "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:8v5TZQA;",
        "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
    );
    assert_eq!(text(&server.take_received()), want);

    // delete K: the collection is rewritten without it.
    store.delete(NAME, K, NOW, Some(&m)).await.unwrap();
    let want = concat!(
        "delete sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\r\n",
        "get sessions:test_name:foo:john\r\n",
        "set sessions:test_name:foo:john 60 52\r\n",
        "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
    );
    assert_eq!(text(&server.take_received()), want);
    // delete K1: nothing is left, so the collection is deleted.
    store.delete(NAME, K1, NOW, Some(&m)).await.unwrap();
    let want = concat!(
        "delete sessions:test_name:test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\r\n",
        "get sessions:test_name:foo:john\r\n",
        "delete sessions:test_name:foo:john\r\n",
    );
    assert_eq!(text(&server.take_received()), want);
    assert_eq!(server.value("sessions:test_name:foo:john"), None);
    assert!(
        store
            .read_metadata(NAME, "foo", "john", NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn keys_are_escaped_per_piece_and_prefix_suffix_follow_the_layout() {
    let server = TestServer::start();
    // No prefix, a suffix, a raw subject: `:` survives, `@` and space are escaped.
    let store1 = store(&server, None, Some("s"));
    store1
        .read_metadata(NAME, "foo", "a@b c:d", NOW)
        .await
        .unwrap();
    assert_eq!(
        text(&server.take_received()),
        "get test_name:foo:a%40b%20c:d:s\r\n"
    );
    store1.get("__Host-session", K, NOW).await.unwrap();
    assert_eq!(
        text(&server.take_received()),
        "get __Host-session:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:s\r\n"
    );
    // An empty prefix still counts as set: a leading `:`.
    let store2 = store(&server, Some(""), None);
    store2.get(NAME, K, NOW).await.unwrap();
    assert_eq!(
        text(&server.take_received()),
        "get :test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii\r\n"
    );
    // Non-ASCII: UTF-8 bytes, uppercase hex.
    store2
        .read_metadata("n", "YQ", "J\u{fc}rgen", NOW)
        .await
        .unwrap();
    assert_eq!(text(&server.take_received()), "get :n:YQ:J%C3%BCrgen\r\n");
    assert_eq!(escape_key("sessions:session:K"), "sessions:session:K");
    // Without a prefix, the cookie name is the region.
    store1
        .set(&SetRequest::new(NAME, K, VALUE, 60, NOW))
        .await
        .unwrap();
    assert_eq!(
        server
            .region_holding("test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:s")
            .as_deref(),
        Some("test_name")
    );
}

#[tokio::test]
async fn records_and_collections_written_by_the_reference_are_read() {
    let server = TestServer::start();
    let store = store(&server, Some("sessions"), None);
    // As the Lua client stores them (docs/storage.md §5.3): a live K, a tombstoned OLD, a live K1
    // expired at NOW.
    server.put(
        "sessions:test_name:test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
        "[\"cGF5bG9hZA\",\"aW5mbw\"]",
        60,
    );
    server.put(
        "sessions:test_name:ZGVmYXVsdA:am9obg",
        concat!(
            "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
            "test_key_1iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;",
            "old_key_iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii;",
            "test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:1P5TZQA;",
        ),
        60,
    );
    assert_eq!(
        store.get(NAME, K, NOW).await.unwrap().as_deref(),
        Some("[\"cGF5bG9hZA\",\"aW5mbw\"]")
    );
    // 1P5TZQA = 1 700 003 540 = NOW: expired (strict).
    let index = store
        .read_metadata(NAME, "ZGVmYXVsdA", "am9obg", NOW)
        .await
        .unwrap();
    assert_eq!(
        index.into_iter().collect::<Vec<_>>(),
        [(K.to_owned(), 1_700_003_600)]
    );
    // A collection that does not parse is an error on read…
    server.put("sessions:test_name:YQ:cw", &format!("{K}:EP9T*QA;"), 60);
    let err = store
        .read_metadata(NAME, "YQ", "cw", NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecord, "{err}");
    // …and counts as empty for an update, which overwrites it.
    store
        .set(&SetRequest::new(NAME, K1, VALUE, 60, NOW).with_metadata(&meta(&[("YQ", "cw")])))
        .await
        .unwrap();
    assert_eq!(
        server.value("sessions:test_name:YQ:cw").as_deref(),
        Some("test_key_2iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:EP9TZQA;")
    );
}

#[tokio::test]
async fn arguments_the_server_would_refuse_are_refused_before_sending() {
    let server = TestServer::start();
    let store = store(&server, Some("sessions"), None);
    for req in [
        SetRequest::new(NAME, K, "", 60, NOW),
        SetRequest::new(NAME, K, VALUE, 2_147_483_648, NOW),
        SetRequest::new(NAME, K, VALUE, 60, NOW).with_old_key(OLD, 2_147_483_648),
    ] {
        let err = store.set(&req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert!(server.take_received().is_empty());
    // The largest exptime the server parses is sent as is.
    store
        .set(&SetRequest::new(NAME, K, VALUE, 2_147_483_647, NOW))
        .await
        .unwrap();
    assert!(text(&server.take_received()).contains(" 2147483647 10\r\n"));
}

/// The test server answers as docs/storage.md §8.2 says the real one does.
#[test]
fn test_server_replies_as_spec_8_2() {
    let server = TestServer::start();
    let mut raw = Raw::connect(server.port());
    assert_eq!(raw.cmd(b"get nothing:here\r\n"), b"ERROR not_found\r\n");
    assert_eq!(
        raw.cmd(b"set a:b 60 5\r\nhello"),
        b"LEN 5\r\nhello\r\nDONE\r\n"
    );
    assert_eq!(raw.cmd(b"GET a:b\r\n"), b"LEN 5\r\nhello\r\nDONE\r\n");
    // Numeric data is normalised; LEN counts UTF-16 units.
    assert_eq!(raw.cmd(b"set n 60 4\r\n0123"), b"LEN 3\r\n123\r\nDONE\r\n");
    assert_eq!(
        raw.cmd("set u 60 9\r\n\u{e9}\u{1f600}\u{4e2d}".as_bytes()),
        "LEN 4\r\n\u{e9}\u{1f600}\u{4e2d}\r\nDONE\r\n".as_bytes()
    );
    assert_eq!(raw.cmd(b"touch missing 10\r\n"), b"DONE\r\n");
    assert_eq!(raw.cmd(b"delete missing\r\n"), b"DONE\r\n");
    assert_eq!(raw.cmd(b"touch a:b 0\r\n"), b"DONE\r\n");
    assert_eq!(server.ttl("a:b"), Some(None), "exptime 0 never expires");
    for bad in [
        &b"set k 60\r\n"[..],
        b"set k 60 0\r\n",
        b"set k -1 1\r\n",
        b"set k x 1\r\n",
        b"set k 60 1 2\r\n",
        b"set k 2147483648 1\r\n",
        b"get\r\n",
        b"get a b\r\n",
        b"get  k\r\n",
        b"touch k\r\n",
        b"touch k -5\r\n",
        b"delete\r\n",
        b"incr k 1 0 0\r\n",
        b"hello\r\n",
        b"\r\n",
        b"get k\xc3\xa9\r\n",
    ] {
        assert_eq!(
            raw.cmd(bad),
            b"ERROR malformed_request\r\n",
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // A CRLF after set data is read as an empty command: the client would be out of step.
    raw.send(b"set c 60 1\r\nx\r\n");
    assert_eq!(raw.reply(), b"LEN 1\r\nx\r\nDONE\r\n");
    assert_eq!(raw.reply(), b"ERROR malformed_request\r\n");
    assert!(raw.silent_for(Duration::from_millis(100)));
    // TTLs run in real time.
    assert_eq!(raw.cmd(b"set t 1 1\r\nx"), b"LEN 1\r\nx\r\nDONE\r\n");
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(raw.cmd(b"get t\r\n"), b"ERROR not_found\r\n");
}
