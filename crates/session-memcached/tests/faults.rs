//! Faults: nothing listening, a server that never answers, one that answers garbage or
//! announces a huge value, and a private memcached stopped and restarted mid-run (typed
//! errors within the timeouts, then the same store recovers by itself).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session_memcached::{MemcachedConfig, MemcachedStorage};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::faults::{
    every_operation_fails_in_time, get_fails_within, is_outage, saved_before_the_outage,
    store_recovered,
};
use session_testsupport::net::{ServerProcess, closed_port, read_request, scripted_server};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn local(port: u16) -> MemcachedConfig {
    MemcachedConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(200, 200, 300)
        .with_prefix("fault")
}

/// A memcached of this test's own (never the shared one) on `port`, killed on drop.
fn private_server(port: u16) -> ServerProcess {
    private_server_with(port, &[])
}

fn private_server_with(port: u16, extra: &[&str]) -> ServerProcess {
    let mut command = Command::new("memcached");
    command
        .args(["-u", "root", "-l", "127.0.0.1", "-U", "0", "-m", "16"])
        .args(["-p", &port.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ServerProcess::start(
        command,
        port,
        "memcached must be installed (apt-get install memcached)",
    )
}

#[tokio::test]
async fn nothing_listening_is_unavailable_at_once() {
    let store = MemcachedStorage::from_config(local(closed_port())).unwrap();
    for _ in 0..3 {
        let err = get_fails_within(&store, K, Duration::from_secs(1)).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
        assert!(err.message().contains("127.0.0.1"), "{err}");
    }
    let err = MemcachedStorage::connect(local(closed_port()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn unroutable_host_times_out_within_connect_timeout() {
    // 10.255.255.1 is normally unroutable: connecting hangs until the connect timeout.
    // Wherever it is refused outright instead, Unavailable is just as right.
    let config = local(11211).with_host("10.255.255.1", 11211);
    let store = MemcachedStorage::from_config(config).unwrap();
    let err = get_fails_within(&store, K, Duration::from_millis(1_500)).await;
    assert!(is_outage(&err), "{err}");
}

#[tokio::test]
async fn silent_server_times_out_within_read_timeout() {
    let port = scripted_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(10));
    });
    let store = MemcachedStorage::from_config(local(port)).unwrap();
    let err = get_fails_within(&store, K, Duration::from_millis(1_000)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn garbage_and_oversized_replies_are_backend_errors() {
    let garbage = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let huge = scripted_server(|mut s| {
        read_request(&mut s);
        // Announces 1 GiB and sends a trickle: refused before reading it.
        let key = format!("fault%3Asession%3A{K}");
        let _ = s.write_all(format!("VALUE {key} 0 1073741824\r\nxx").as_bytes());
        std::thread::sleep(Duration::from_secs(5));
    });
    let wrong_key = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"VALUE other 0 1\r\nx\r\nEND\r\n");
    });
    let endless_line = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(&vec![b'A'; 100_000]);
        std::thread::sleep(Duration::from_secs(5));
    });
    let hang_up = scripted_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"VALUE fau");
    });
    for (port, kind) in [
        (garbage, ErrorKind::Backend),
        (huge, ErrorKind::Backend),
        (wrong_key, ErrorKind::Backend),
        (endless_line, ErrorKind::Backend),
        (hang_up, ErrorKind::Unavailable),
    ] {
        let store = MemcachedStorage::from_config(local(port)).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_memcached_gives_typed_errors_in_time_and_the_pool_recovers() {
    let port = closed_port();
    let mut server = private_server(port);
    let store = MemcachedStorage::from_config(local(port).with_pool_size(4)).unwrap();
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
    let mut server = private_server(port);
    store_recovered(&store, &save).await;

    // Restarted while connections sit idle in the pool: the first call after the restart
    // succeeds (dead pooled connections are noticed and replaced).
    server.stop();
    let _server = private_server(port);
    store
        .set(&save)
        .await
        .expect("idle connections to the old server are replaced");
    assert!(store.get("session", K, now).await.unwrap().is_some());
}

#[tokio::test]
async fn bad_ssl_settings_are_config_errors_naming_the_option() {
    // Without the `tls` feature `ssl = true` is refused; with it, only over a unix socket.
    let err =
        MemcachedStorage::from_config(local(11211).with_ssl(false).with_socket("/tmp/m.sock"))
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`ssl`"), "{err}");
    let result = MemcachedStorage::from_config(local(11211).with_ssl(false));
    if cfg!(feature = "tls") {
        assert!(result.is_ok());
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("`tls` feature"), "{err}");
    }
    let err = MemcachedStorage::from_url("memcache://127.0.0.1?connect_timeout=0").unwrap_err();
    assert!(err.message().contains("`connect_timeout`"), "{err}");
}

#[tokio::test]
async fn value_above_the_servers_item_limit_is_a_backend_error_and_the_store_goes_on() {
    let port = closed_port();
    let _server = private_server_with(port, &["-I", "1m"]);
    let store = MemcachedStorage::from_config(local(port).with_pool_size(1)).unwrap();
    let now = now();
    let big = format!("[\"{}\"]", "A".repeat(2 * 1024 * 1024));
    let err = store
        .set(&SetRequest::new("session", K, &big, 60, now))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.message().contains("SERVER_ERROR"), "{err}");
    store
        .set(&SetRequest::new("session", K, "[\"small\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"small\"]")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_works() {
    let path = std::env::temp_dir().join(format!("session-memcached-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut command = Command::new("memcached");
    command
        .args(["-u", "root", "-m", "16", "-s"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = ServerProcess::spawn(command, "memcached must be installed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&path).is_err() {
        assert!(
            Instant::now() < deadline,
            "memcached on {} did not start",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("memcache+unix://{}?prefix=sock", path.display());
    let store = MemcachedStorage::from_url(&url).unwrap();
    let now = now();
    store
        .set(&SetRequest::new("session", K, "[\"u\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"u\"]")
    );
    let _ = std::fs::remove_file(&path);
}
