//! Faults: nothing listening, a server that never answers, one that answers garbage, an
//! oversized or truncated reply, an unexpected `ERROR`, and a test server stopped and
//! restarted mid-run (typed errors within the timeouts, then the same store recovers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use session_dshm::{DshmConfig, DshmStorage};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::faults::{
    every_operation_fails_in_time, get_fails_within, is_outage, saved_before_the_outage,
    store_recovered,
};
use session_testsupport::net::{closed_port, read_request, scripted_server};
use support::TestServer;
use support::server::Shared;

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn local(port: u16) -> DshmConfig {
    DshmConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(200, 200, 300)
        .with_prefix("fault")
}

#[tokio::test]
async fn nothing_listening_is_unavailable_at_once() {
    let store = DshmStorage::from_config(local(closed_port())).unwrap();
    for _ in 0..3 {
        let err = get_fails_within(&store, K, Duration::from_secs(1)).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
        assert!(err.message().contains("127.0.0.1"), "{err}");
    }
    let err = DshmStorage::connect(local(closed_port()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn unroutable_host_times_out_within_connect_timeout() {
    // 10.255.255.1 is normally unroutable: connecting hangs until the connect timeout.
    // Wherever it is refused outright instead, Unavailable is just as right.
    let config = local(4321).with_host("10.255.255.1", 4321);
    let store = DshmStorage::from_config(config).unwrap();
    let err = get_fails_within(&store, K, Duration::from_millis(1_500)).await;
    assert!(is_outage(&err), "{err}");
}

#[tokio::test]
async fn silent_server_times_out_within_read_timeout() {
    let port = scripted_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(10));
    });
    let store = DshmStorage::from_config(local(port)).unwrap();
    let err = get_fails_within(&store, K, Duration::from_millis(1_000)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let err = store
        .set(&SetRequest::new("session", K, "[\"v\"]", 60, now()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn garbage_oversized_and_truncated_replies_are_typed_errors() {
    let garbage = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let readme_framing = scripted_server(|mut s| {
        // The README's `\r\nRESPONSE arg\r\n` framing, which the server does not use.
        read_request(&mut s);
        let _ = s.write_all(b"\r\nLEN 1\r\nx\r\nDONE\r\n");
    });
    let huge = scripted_server(|mut s| {
        read_request(&mut s);
        // Announces 1 GiB and sends a trickle: refused before reading it.
        let _ = s.write_all(b"LEN 1073741824\r\nxx");
        std::thread::sleep(Duration::from_secs(5));
    });
    let endless_line = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(&vec![b'A'; 100_000]);
        std::thread::sleep(Duration::from_secs(5));
    });
    let wrong_trailer = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"LEN 2\r\nxyz\r\nDONE\r\n");
    });
    let not_utf8 = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"LEN 2\r\n\xff\xff\r\nDONE\r\n");
    });
    let extra = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"ERROR not_found\r\nDONE\r\n");
    });
    let hang_up = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"LEN 10\r\nabc");
    });
    let hang_up_silently = scripted_server(|mut s| {
        read_request(&mut s);
    });
    for (port, kind) in [
        (garbage, ErrorKind::Backend),
        (readme_framing, ErrorKind::Backend),
        (huge, ErrorKind::Backend),
        (endless_line, ErrorKind::Backend),
        (wrong_trailer, ErrorKind::Backend),
        (not_utf8, ErrorKind::Backend),
        (extra, ErrorKind::Backend),
        (hang_up, ErrorKind::Unavailable),
        (hang_up_silently, ErrorKind::Unavailable),
    ] {
        let store = DshmStorage::from_config(local(port)).unwrap();
        let err = get_fails_within(&store, K, Duration::from_millis(1_000)).await;
        assert_eq!(err.kind(), kind, "{port}: {err}");
        let err = store
            .read_metadata("session", "YQ", "cw", now())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Backend | ErrorKind::Unavailable),
            "{err}"
        );
    }
}

#[tokio::test]
async fn error_replies_other_than_not_found_are_backend_errors() {
    let port = scripted_server(|mut s| {
        let mut buf = [0_u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                return;
            }
            // Every request line gets a bad_request (as a rate-limiter entry would).
            let _ = s.write_all(b"ERROR bad_request\r\n");
        }
    });
    let store = DshmStorage::from_config(local(port).with_pool_size(1)).unwrap();
    let now = now();
    let err = store.get("session", K, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.message().contains("bad_request"), "{err}");
    let err = store.delete("session", K, now, None).await.unwrap_err();
    assert!(err.message().contains("bad_request"), "{err}");
    let err = store
        .read_metadata("session", "YQ", "cw", now)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    // An ERROR to `set` leaves the server reading our data as a command: the store reports
    // it and drops the connection.
    let err = store
        .set(&SetRequest::new("session", K, "[\"v\"]", 60, now))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.message().contains("ERROR bad_request"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_server_gives_typed_errors_in_time_and_the_pool_recovers() {
    let mut server = TestServer::start();
    let port = server.port();
    let store = DshmStorage::from_config(local(port).with_pool_size(4)).unwrap();
    store.ping().await.unwrap();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let now = now();
    let save = SetRequest::new("session", K, "[\"v\"]", 60, now).with_metadata(&meta);
    saved_before_the_outage(&store, &save).await;

    server.stop();
    let limit = Duration::from_millis(1_000);
    for _ in 0..3 {
        every_operation_fails_in_time(&store, &save, limit).await;
    }

    // Back again (empty): the same store works without being rebuilt.
    let mut server = TestServer::start_on(port, Arc::new(Shared::default()));
    store_recovered(&store, &save).await;

    // Restarted while connections sit idle in the pool (data kept, as a Hazelcast cluster
    // would): the first call after the restart succeeds.
    let shared = server.shared();
    server.stop();
    let _server = TestServer::start_on(port, shared);
    assert_eq!(
        store
            .get("session", K, now)
            .await
            .expect("idle connections to the old server are replaced")
            .as_deref(),
        Some("[\"v\"]")
    );
    store.set(&save).await.unwrap();
}

#[tokio::test]
async fn ssl_and_bad_options_are_config_errors_naming_the_option() {
    let mut config = local(4321);
    config.ssl = Some(true);
    let err = DshmStorage::from_config(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`ssl`"), "{err}");
    let err = DshmStorage::from_url("dshm://127.0.0.1?connect_timeout=0").unwrap_err();
    assert!(err.message().contains("`connect_timeout`"), "{err}");
    let err = DshmStorage::from_url("dshm://127.0.0.1?ssl=true").unwrap_err();
    assert!(err.message().contains("`ssl`"), "{err}");
}

#[tokio::test]
async fn connect_checks_the_server_speaks_dshm() {
    let server = TestServer::start();
    let store = DshmStorage::connect(local(server.port())).await.unwrap();
    drop(store);
    let http = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let err = DshmStorage::connect(local(http)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
}

#[tokio::test]
async fn a_pooled_connection_dead_on_use_is_retried_once_on_a_fresh_one() {
    // Each connection answers its first request, then closes on the second without a reply
    // (it looks alive in the pool, and dies on use).
    let port = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"ERROR not_found\r\n");
        read_request(&mut s);
    });
    let store = DshmStorage::from_config(local(port).with_pool_size(1)).unwrap();
    let now = now();
    for _ in 0..4 {
        assert_eq!(store.get("session", K, now).await.unwrap(), None);
    }
    // A fresh connection that dies is not retried: the error comes back.
    let port = scripted_server(|mut s| read_request(&mut s));
    let store = DshmStorage::from_config(local(port).with_pool_size(1)).unwrap();
    let err = store.get("session", K, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}
