//! Faults: nothing listening, a server that never answers, one that answers garbage or
//! announces a huge value, and a private memcached stopped and restarted mid-run (typed
//! errors within the timeouts, then the same store recovers by itself).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use session_memcached::{MemcachedConfig, MemcachedStorage};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage, StorageError};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn local(port: u16) -> MemcachedConfig {
    MemcachedConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(200, 200, 300)
        .with_prefix("fault")
}

fn is_outage(err: &StorageError) -> bool {
    matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout)
}

/// A memcached of this test's own (never the shared one), killed on drop.
struct Server {
    child: Child,
}

impl Server {
    fn start(port: u16) -> Self {
        Self::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("memcached")
            .args(["-u", "root", "-l", "127.0.0.1", "-U", "0", "-m", "16"])
            .args(["-p", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("memcached must be installed (apt-get install memcached)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "memcached on {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn nothing_listening_is_unavailable_at_once() {
    let store = MemcachedStorage::from_config(local(free_port())).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let err = store.get("session", K, common::now()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable());
        assert!(err.message().contains("127.0.0.1"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
    let err = MemcachedStorage::connect(local(free_port()))
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
    let t = Instant::now();
    let err = store.get("session", K, common::now()).await.unwrap_err();
    assert!(is_outage(&err), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
}

/// A server that accepts and then does what `behave` does with each connection.
fn fake_server(behave: fn(std::net::TcpStream)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behave(stream));
        }
    });
    port
}

fn read_request(stream: &mut std::net::TcpStream) {
    let mut buf = [0_u8; 4096];
    let _ = stream.read(&mut buf);
}

#[tokio::test]
async fn silent_server_times_out_within_read_timeout() {
    let port = fake_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(10));
    });
    let store = MemcachedStorage::from_config(local(port)).unwrap();
    let t = Instant::now();
    let err = store.get("session", K, common::now()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(1_000),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn garbage_and_oversized_replies_are_backend_errors() {
    let garbage = fake_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let huge = fake_server(|mut s| {
        read_request(&mut s);
        // Announces 1 GiB and sends a trickle: refused before reading it.
        let key = format!("fault%3Asession%3A{K}");
        let _ = s.write_all(format!("VALUE {key} 0 1073741824\r\nxx").as_bytes());
        std::thread::sleep(Duration::from_secs(5));
    });
    let wrong_key = fake_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"VALUE other 0 1\r\nx\r\nEND\r\n");
    });
    let endless_line = fake_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(&vec![b'A'; 100_000]);
        std::thread::sleep(Duration::from_secs(5));
    });
    let hang_up = fake_server(|mut s| {
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
        let t = Instant::now();
        let err = store.get("session", K, common::now()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{port}: {err}");
        assert!(
            t.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            t.elapsed()
        );
        let err = store
            .read_metadata("session", "YQ", "cw", common::now())
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
    let port = free_port();
    let mut server = Server::start(port);
    let store = MemcachedStorage::from_config(local(port).with_pool_size(4)).unwrap();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let now = common::now();
    let save = SetRequest::new("session", K, "[\"v\"]", 60, now).with_metadata(&meta);
    store.set(&save).await.unwrap();
    assert!(store.get("session", K, now).await.unwrap().is_some());

    server.stop();
    let limit = Duration::from_millis(1_000);
    for _ in 0..3 {
        let t = Instant::now();
        let err = store.set(&save).await.unwrap_err();
        assert!(is_outage(&err), "set: {err}");
        assert!(t.elapsed() <= limit, "set took {:?}", t.elapsed());
        let t = Instant::now();
        let err = store.get("session", K, now).await.unwrap_err();
        assert!(is_outage(&err), "get: {err}");
        assert!(err.is_retryable());
        assert!(t.elapsed() <= limit, "get took {:?}", t.elapsed());
        let err = store
            .delete("session", K, now, Some(&meta))
            .await
            .unwrap_err();
        assert!(is_outage(&err), "delete: {err}");
        let err = store
            .read_metadata("session", "YQ", "cw", now)
            .await
            .unwrap_err();
        assert!(is_outage(&err), "read_metadata: {err}");
    }

    // Back again (empty): the same store works without being rebuilt.
    let mut server = Server::start(port);
    store.set(&save).await.expect("pool recovers after restart");
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"v\"]")
    );
    assert_eq!(
        store
            .read_metadata("session", "YQ", "cw", now)
            .await
            .unwrap()
            .get(K),
        Some(&(now + 60))
    );

    // Restarted while connections sit idle in the pool: the first call after the restart
    // succeeds (dead pooled connections are noticed and replaced).
    server.stop();
    let _server = Server::start(port);
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
    let port = free_port();
    let _server = Server::start_with(port, &["-I", "1m"]);
    let store = MemcachedStorage::from_config(local(port).with_pool_size(1)).unwrap();
    let now = common::now();
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
    let child = Command::new("memcached")
        .args(["-u", "root", "-m", "16", "-s"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("memcached must be installed");
    let _server = Server { child };
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
    let now = common::now();
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
