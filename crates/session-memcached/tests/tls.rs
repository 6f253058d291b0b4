//! TLS against a real memcached: a private `memcached -Z` of this test, with a CA and a server
//! certificate (SAN `localhost` and `127.0.0.1`) made by the `openssl` binary, and one plain
//! (`notls:`) listener on the same server. Tests fail, never skip, when the server or the
//! certificates cannot be made.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use session_memcached::{MemcachedConfig, MemcachedStorage};
use session_storage::{ErrorKind, Metadata, SetRequest, Storage, StorageError};
use session_testsupport::clock::now;
use session_testsupport::names::unique;
use session_testsupport::net::{START_TIMEOUT, ServerProcess, closed_port, wait_until_listening};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const K2: &str = "HxAREhMUFRYXGBkaGxwdHh8AAECAwQFBgcICQoLDA0O";

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate signed by it, made once per test binary.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn chain(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    fn key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
}

fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("session-memcached-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=session-memcached test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&dir, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&dir, &csr);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "4242",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "server.pem",
            ],
        );
        Certs { dir }
    })
}

/// A TLS memcached of this test's own on `tls_port`, with a plain listener on `plain_port`;
/// killed on drop.
struct Server {
    process: ServerProcess,
    tls_port: u16,
    plain_port: u16,
}

impl Server {
    fn start() -> Self {
        Self::start_on(closed_port(), closed_port())
    }

    fn start_on(tls_port: u16, plain_port: u16) -> Self {
        let c = certs();
        let mut command = Command::new("memcached");
        command
            .args(["-u", "root", "-U", "0", "-m", "16", "-Z"])
            .arg("-o")
            .arg(format!(
                "ssl_chain_cert={},ssl_key={}",
                c.chain().display(),
                c.key().display()
            ))
            .arg("-l")
            .arg(format!("127.0.0.1:{tls_port},notls:127.0.0.1:{plain_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ServerProcess::spawn(
            command,
            "memcached must be installed (apt-get install memcached)",
        );
        for port in [tls_port, plain_port] {
            wait_until_listening(port, "memcached -Z (built without TLS?)", START_TIMEOUT);
        }
        Self {
            process,
            tls_port,
            plain_port,
        }
    }

    /// A `stats` counter, read over the plain listener.
    fn stat(&self, name: &str) -> u64 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.plain_port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(b"stats\r\n").unwrap();
        let mut out = Vec::new();
        let mut chunk = [0_u8; 4096];
        while !out.ends_with(b"END\r\n") {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0, "stats cut short");
            out.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8(out).unwrap();
        let prefix = format!("STAT {name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no stat {name}"))
            .parse()
            .unwrap()
    }

    fn stop(&mut self) {
        self.process.stop();
    }
}

fn tls(port: u16, verify: bool) -> MemcachedConfig {
    MemcachedConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(1_000, 1_000, 1_000)
        .with_prefix(unique("tls"))
        .with_ssl(verify)
}

fn trusted(port: u16) -> MemcachedConfig {
    tls(port, true).with_trusted_certificate(certs().ca())
}

/// A failure that must come quickly and be typed (never a hang).
async fn fails_in_time(store: &MemcachedStorage, within: Duration) -> StorageError {
    let t = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), store.get("session", K, now()))
        .await
        .expect("the store hung")
        .unwrap_err();
    assert!(t.elapsed() < within, "{:?}: {err}", t.elapsed());
    eprintln!("{:?}: {err}", t.elapsed());
    err
}

#[tokio::test]
async fn unverified_tls_round_trips_records_and_metadata_on_reused_connections() {
    let server = Server::start();
    let store = MemcachedStorage::connect(tls(server.tls_port, false).with_pool_size(1))
        .await
        .unwrap();
    // The startup probes may still be waiting to be accepted (a loaded machine can delay
    // memcached's accept by more than a few ms): settle first, until five reads 50 ms
    // apart each see only their own connection.
    let mut connections = server.stat("total_connections");
    let mut quiet = 0;
    while quiet < 5 {
        std::thread::sleep(Duration::from_millis(50));
        let next = server.stat("total_connections");
        quiet = if next == connections + 1 {
            quiet + 1
        } else {
            0
        };
        connections = next;
    }
    let now = now();
    let meta = Metadata::new(vec!["ZGVmYXVsdA".into()], vec!["am9obg".into()]);

    store
        .set(&SetRequest::new("session", K, "[\"one\"]", 60, now).with_metadata(&meta))
        .await
        .unwrap();
    store
        .set(
            &SetRequest::new("session", K2, "[\"two\"]", 120, now)
                .with_metadata(&meta)
                .with_old_key(K, 10),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"one\"]")
    );
    assert_eq!(
        store.get("session", K2, now).await.unwrap().as_deref(),
        Some("[\"two\"]")
    );
    let sessions = store
        .read_metadata("session", "ZGVmYXVsdA", "am9obg", now)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions.get(K2), Some(&(now + 120)));

    // A value spread over many TLS records is read whole, with the same caps.
    let big = format!("[\"{}\"]", "x".repeat(600 * 1024));
    store
        .set(&SetRequest::new("session", K, &big, 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some(big.as_str())
    );

    store.delete("session", K2, now, Some(&meta)).await.unwrap();
    assert_eq!(store.get("session", K2, now).await.unwrap(), None);
    assert!(
        store
            .read_metadata("session", "ZGVmYXVsdA", "am9obg", now)
            .await
            .unwrap()
            .is_empty()
    );
    // Every request went over the one pooled TLS connection: the only connection opened
    // since the first probe is the second probe's.
    assert_eq!(server.stat("total_connections"), connections + 1);
    assert!(format!("{store:?}").contains("tls: true"), "{store:?}");
}

#[tokio::test]
async fn verified_tls_with_the_test_ca_works_by_name_and_by_ip() {
    let server = Server::start();
    let now = now();
    // Host is an IP, the verified name (and SNI) is `server_name`.
    let store = MemcachedStorage::connect(trusted(server.tls_port).with_server_name("localhost"))
        .await
        .unwrap();
    store
        .set(&SetRequest::new("session", K, "[\"v\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"v\"]")
    );
    // Host name, no server_name.
    let mut config = trusted(server.tls_port);
    config.host = Some("localhost".into());
    MemcachedStorage::connect(config).await.unwrap();
    // IP address checked against the certificate's IP SAN.
    MemcachedStorage::connect(trusted(server.tls_port))
        .await
        .unwrap();
    // The URL form.
    let url = format!(
        "memcache://127.0.0.1:{}?ssl=true&ssl_verify=true&server_name=localhost\
         &ssl_trusted_certificate={}&connect_timeout=1000",
        server.tls_port,
        certs().ca().display()
    );
    let store = MemcachedStorage::from_url(&url).unwrap();
    assert!(!store.version().await.unwrap().is_empty());
}

#[tokio::test]
async fn webpki_roots_alone_fail_certificate_verification() {
    let server = Server::start();
    // Verification is the default: no `ssl_verify`, no CA file.
    let mut config = tls(server.tls_port, true).with_server_name("localhost");
    config.ssl_verify = None;
    let store = MemcachedStorage::from_config(config).unwrap();
    for _ in 0..2 {
        let err = fails_in_time(&store, Duration::from_secs(2)).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(!err.is_retryable());
        assert!(
            err.message().contains("certificate verification failed"),
            "{err}"
        );
        assert!(err.message().contains("UnknownIssuer"), "{err}");
    }
}

#[tokio::test]
async fn a_wrong_server_name_fails_certificate_verification() {
    let server = Server::start();
    let store =
        MemcachedStorage::from_config(trusted(server.tls_port).with_server_name("other.example"))
            .unwrap();
    let err = fails_in_time(&store, Duration::from_secs(2)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.message().contains("certificate verification failed"),
        "{err}"
    );
    assert!(err.message().contains("other.example"), "{err}");
    // An IP the certificate does not name either.
    let mut config = trusted(server.tls_port);
    config.server_name = Some("127.0.0.2".into());
    let err = fails_in_time(
        &MemcachedStorage::from_config(config).unwrap(),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.message().contains("certificate verification failed"),
        "{err}"
    );
}

#[tokio::test]
async fn a_plain_client_on_the_tls_port_fails_typed_and_in_time() {
    let server = Server::start();
    let config = MemcachedConfig::default()
        .with_host("127.0.0.1", server.tls_port)
        .with_timeouts(300, 300, 300);
    let store = MemcachedStorage::from_config(config).unwrap();
    let err = fails_in_time(&store, Duration::from_millis(1_500)).await;
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Backend
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_tls_client_on_a_plain_port_fails_typed_and_in_time() {
    let server = Server::start();
    let store =
        MemcachedStorage::from_config(tls(server.plain_port, false).with_timeouts(300, 300, 300))
            .unwrap();
    let err = fails_in_time(&store, Duration::from_millis(1_500)).await;
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Timeout | ErrorKind::Backend | ErrorKind::Unavailable
        ),
        "{err}"
    );
    assert!(
        err.message().contains("TLS handshake") || err.kind() == ErrorKind::Timeout,
        "{err}"
    );
    // Nothing listening at all: refused at once, as without TLS.
    let store = MemcachedStorage::from_config(tls(closed_port(), false)).unwrap();
    let err = fails_in_time(&store, Duration::from_millis(500)).await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn a_restarted_tls_server_gives_typed_errors_then_the_pool_recovers() {
    let mut server = Server::start();
    let (tls_port, plain_port) = (server.tls_port, server.plain_port);
    let store = MemcachedStorage::from_config(tls(tls_port, false).with_pool_size(2)).unwrap();
    let now = now();
    store
        .set(&SetRequest::new("session", K, "[\"a\"]", 60, now))
        .await
        .unwrap();
    server.stop();
    let err = fails_in_time(&store, Duration::from_secs(2)).await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let _server = Server::start_on(tls_port, plain_port);
    // The old idle connections are noticed closed (or retried once) without an error.
    store
        .set(&SetRequest::new("session", K, "[\"b\"]", 60, now))
        .await
        .unwrap();
    assert_eq!(
        store.get("session", K, now).await.unwrap().as_deref(),
        Some("[\"b\"]")
    );
}

#[tokio::test]
async fn unusable_tls_settings_are_config_errors_naming_the_option() {
    let dir = &certs().dir;
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    for (config, needle) in [
        (
            tls(11211, true).with_trusted_certificate(dir.join("missing.pem")),
            "`ssl_trusted_certificate`",
        ),
        (
            tls(11211, true).with_trusted_certificate(&not_pem),
            "`ssl_trusted_certificate`",
        ),
        (
            tls(11211, true).with_server_name("bad name!"),
            "`server_name`",
        ),
        (
            tls(11211, false).with_socket("/tmp/memcached.sock"),
            "`ssl`",
        ),
    ] {
        let err = MemcachedStorage::from_config(config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains(needle), "{err}");
    }
    // `ssl_verify = false` does not read the CA file.
    MemcachedStorage::from_config(
        tls(11211, false).with_trusted_certificate(dir.join("missing.pem")),
    )
    .unwrap();
}
