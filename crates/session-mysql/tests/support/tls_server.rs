//! A private MariaDB with TLS for the TLS tests (the machine's server has TLS disabled).
//!
//! [`server`] generates a CA and a server certificate (SAN `localhost`, `127.0.0.1`) with the
//! `openssl` binary, initializes a data directory with `mariadb-install-db` (or
//! `mysql_install_db`), starts `mariadbd` (or `mysqld`) on a free port of 127.0.0.1 with
//! `--ssl-ca/--ssl-cert/--ssl-key`, waits until it answers and creates the `test` database.
//! Tests running at the same time share one server; it is killed and its directory removed
//! when the last [`TlsServer`] handle goes (a watchdog also kills it if the test process
//! dies). Anything that fails panics: the TLS tests fail, never skip.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};

/// A running private server; dropped last, it is killed.
#[derive(Debug)]
pub struct TlsServer {
    pub port: u16,
    pub dir: PathBuf,
    /// The test CA's certificate (PEM).
    pub ca: PathBuf,
    /// How long initializing and starting took.
    pub startup: Duration,
    child: Mutex<Child>,
}

impl TlsServer {
    /// A configuration for this server (root, no password, database `test`) without TLS
    /// options, with short test timeouts.
    pub fn config(&self) -> MysqlConfig {
        let mut c = MysqlConfig::default()
            .with_host("127.0.0.1", self.port)
            .with_database("test")
            .with_timeouts(3_000, 5_000, 5_000);
        c.username = Some("root".to_owned());
        c.pool_size = Some(2);
        c
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static SHARED: Mutex<Weak<TlsServer>> = Mutex::new(Weak::new());

/// The shared private server, started if no test holds it.
pub fn server() -> Arc<TlsServer> {
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(server) = shared.upgrade() {
        return server;
    }
    let server = Arc::new(start());
    *shared = Arc::downgrade(&server);
    server
}

/// The first of `names` found in PATH or the sbin directories.
fn program(names: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from))
        .collect();
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("none of {names:?} found: the TLS tests need openssl and a MariaDB (or MySQL) server");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn certificates(dir: &Path) {
    let openssl = program(&["openssl"]);
    let at = |name: &str| dir.join(name);
    run(
        Command::new(&openssl)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=session-mysql test CA", "-keyout"])
            .arg(at("ca.key"))
            .arg("-out")
            .arg(at("ca.pem")),
        "openssl (CA)",
    );
    run(
        Command::new(&openssl)
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .arg("-keyout")
            .arg(at("server.key"))
            .arg("-out")
            .arg(at("server.csr")),
        "openssl (server key)",
    );
    std::fs::write(at("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    run(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(at("server.csr"))
            .arg("-CA")
            .arg(at("ca.pem"))
            .arg("-CAkey")
            .arg(at("ca.key"))
            .arg("-CAcreateserial")
            .arg("-out")
            .arg(at("server.pem"))
            .arg("-extfile")
            .arg(at("ext.cnf")),
        "openssl (server certificate)",
    );
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start() -> TlsServer {
    let began = Instant::now();
    let dir = std::env::temp_dir().join(format!(
        "session-mysql-tls-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Removes the directory if starting fails (the server's `Drop` does it afterwards).
    let cleanup = RemoveOnDrop(dir.clone());
    certificates(&dir);
    let data = dir.join("data");
    run(
        Command::new(program(&["mariadb-install-db", "mysql_install_db"]))
            .arg("--no-defaults")
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--skip-test-db"]),
        "mariadb-install-db",
    );
    let port = session_testsupport::net::closed_port();
    let log = dir.join("error.log");
    let opt = |name: &str, path: &Path| format!("--{name}={}", path.display());
    let child = Command::new(program(&["mariadbd", "mysqld"]))
        .arg("--no-defaults")
        .arg(opt("datadir", &data))
        .arg(opt("socket", &dir.join("s.sock")))
        .arg(opt("pid-file", &dir.join("mariadbd.pid")))
        .arg(opt("log-error", &log))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--user=root",
            "--skip-name-resolve",
        ])
        .arg(opt("ssl-ca", &dir.join("ca.pem")))
        .arg(opt("ssl-cert", &dir.join("server.pem")))
        .arg(opt("ssl-key", &dir.join("server.key")))
        .args([
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start mariadbd");
    // Kill the server if this test process dies without dropping the handle.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; kill {} 2>/dev/null",
            std::process::id(),
            child.id()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut server = TlsServer {
        port,
        ca: dir.join("ca.pem"),
        dir,
        startup: Duration::ZERO,
        child: Mutex::new(child),
    };
    std::mem::forget(cleanup);
    wait_ready(&mut server, &log);
    server.startup = began.elapsed();
    eprintln!(
        "private TLS MariaDB on port {port} ready in {:?}",
        server.startup
    );
    server
}

/// Waits (up to 20 s) until the server answers a plain connection, then creates `test`.
fn wait_ready(server: &mut TlsServer, log: &Path) {
    let mut config = server.config();
    config.database = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.get_mut().unwrap().try_wait() {
            panic!(
                "the private TLS MariaDB exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        // On a thread of its own: the caller may be inside a tokio runtime.
        let attempt = config.clone();
        let done = session_testsupport::rt::block_on_own_thread(move || async move {
            let store = MysqlStorage::from_config(attempt)?;
            let mut conn = store.connection().await?;
            conn.query_drop("CREATE DATABASE IF NOT EXISTS test")
                .await
                .map_err(|e| session_storage::StorageError::backend(e.to_string()))?;
            drop(conn);
            store.disconnect().await
        })
        .expect("the readiness probe panicked");
        match done {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the private TLS MariaDB did not answer within 20 s ({last}):\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}
