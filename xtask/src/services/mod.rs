//! Throwaway test servers on loopback for `cargo xtask test`.
//!
//! `start` brings up every server the storage tests need (installing the
//! Debian packages when missing and permitted) and returns a guard that stops
//! them when dropped. Servers a person already runs can be used instead by
//! setting the tests' address variables and `SESSION_SERVICES=external`.
//!
//! Redis (session-redis's tests read these defaults; each can be overridden by
//! the environment variable in brackets):
//!
//! | deployment | address | auth |
//! |---|---|---|
//! | single, the machine's own server | 127.0.0.1:6379 (`SESSION_REDIS_URL`) | none |
//! | single with ACL user, password and a unix socket | 127.0.0.1:6390, `<dir>/redis.sock` | `password`; user `sessions` / `sessionspass` |
//! | single over TLS (CA in `<dir>/tls/ca.crt`) | 127.0.0.1:6391 | none |
//! | Sentinel: master, replica | 127.0.0.1:6380, 127.0.0.1:6381 | `password` |
//! | Sentinel: three sentinels, master name `mymaster` | 127.0.0.1:26379-26381 (`SESSION_REDIS_SENTINELS`) | `sentinelpass` |
//! | Cluster, three masters | 127.0.0.1:7000-7002 (`SESSION_REDIS_CLUSTER_NODES`) | `password` |
//!
//! Memcached (session-memcached's tests): 127.0.0.1:11211 (`SESSION_MEMCACHED_ADDR`), started
//! as `memcached -l 127.0.0.1 -p 11211 -U 0 -m 64 -I 4m -A` (items up to 4 MiB: the
//! conformance suite stores 2 MiB values) when nothing answers there (a memcached
//! already there, e.g. Debian's own service, is used as it is).
//!
//! `<dir>` is `$TMPDIR/session-xtask-redis`. Servers run daemonized with
//! `--save "" --appendonly no`. A deployment that already answers (another
//! run's) is reused and left running; only what this run started is stopped.
//! The 6379 server is the machine's: it is started only when nothing answers
//! there, and never stopped otherwise.
//!
//! PostgreSQL (session-pg's tests, and the facade's and session-core's SQL tests): the
//! machine's server on 127.0.0.1:5432 when one answers there or `SESSION_PG_URL` is set;
//! else a private one (see [`postgres`]) on a free loopback port, whose address
//! (`SESSION_PG_URL`, user `postgres` without password, database `test`) and CA
//! (`SESSION_PG_TLS`) are handed to the tests.
//!
//! MariaDB (session-mysql's tests and the same others): the machine's server on
//! 127.0.0.1:3306 when one answers there or `SESSION_MYSQL_URL` is set; else a private
//! one (see [`mariadb`]) on a free loopback port (`SESSION_MYSQL_URL`, `root` without
//! password, database `test`; `SESSION_MYSQL_SOCKET`, its unix socket).
//!
//! The private SQL servers live in `<target>/xtask-services/{pg,mariadb}` (`<target>` is
//! `$CARGO_TARGET_DIR`, else the workspace's `target`; `$TMPDIR/session-xtask-services`
//! when PostgreSQL's unprivileged user cannot reach `<target>`), initialised afresh
//! each time; stopping one removes its data and keeps its logs there. One that
//! `services start` left running is reused, as the Redis deployments are.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod mariadb;
mod memcached;
mod postgres;
mod redis;

/// Running test servers; dropping it stops the ones this run started.
#[derive(Debug, Default)]
pub(crate) struct Services {
    /// (port, password) of every Redis server to shut down on drop.
    owned: Vec<(u16, Option<&'static str>)>,
    /// Ports of the memcached servers this run started.
    memcached: Vec<u16>,
    /// The private SQL servers this run started.
    sql: Vec<SqlServer>,
    /// What the tests must be told: the private SQL servers' addresses.
    env: Vec<(String, String)>,
}

impl Services {
    /// The variables that point the tests at the private servers (empty when the
    /// machine's own servers, or those of the environment, are used).
    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Takes `server` into the set this run stops, and returns it for filling in.
    fn own(&mut self, server: SqlServer) -> &mut SqlServer {
        self.sql.push(server);
        let last = self.sql.len() - 1;
        &mut self.sql[last]
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for server in self.sql.drain(..).rev() {
            server.stop();
        }
        for (port, password) in self.owned.drain(..).rev() {
            redis::shutdown(port, password);
        }
        for port in self.memcached.drain(..) {
            memcached::memcached_shutdown(port);
        }
    }
}

/// Starts the test servers.
pub(crate) fn start() -> Result<Services, String> {
    let mut services = Services::default();
    if std::env::var("SESSION_SERVICES").as_deref() == Ok("external") {
        eprintln!("services: SESSION_SERVICES=external, using the servers in the environment");
        return Ok(services);
    }
    let pg = postgres::wanted();
    let maria = mariadb::wanted();
    ensure_packages(pg, maria)?;
    redis::start_redis(&mut services)?;
    memcached::start_memcached(&mut services)?;
    if pg {
        postgres::start(&mut services)?;
    } else {
        eprintln!("services: postgresql: SESSION_PG_URL, else the server on 127.0.0.1:5432");
    }
    if maria {
        mariadb::start(&mut services)?;
    } else {
        eprintln!("services: mariadb: SESSION_MYSQL_URL, else the server on 127.0.0.1:3306");
    }
    Ok(services)
}

/// Starts the test servers and leaves them running (`cargo xtask services start`), for
/// running one crate's tests by hand; returns the variables to export for them. [`stop`]
/// stops them.
pub(crate) fn start_detached() -> Result<Vec<(String, String)>, String> {
    let mut services = start()?;
    let env = std::mem::take(&mut services.env);
    std::mem::forget(services);
    Ok(env)
}

/// Stops the test servers `cargo xtask services start` (or any run) left behind: the Redis
/// deployments (never 6379), a memcached this tool started and the private SQL servers.
pub(crate) fn stop() {
    redis::stop_redis();
    // Only a memcached this tool started (it left its pid file); never the system's.
    if redis::redis_dir().join("memcached.pid").exists() {
        memcached::memcached_shutdown(memcached::MEMCACHED);
    }
    for kind in ["pg", "mariadb"] {
        for dir in candidate_dirs(kind) {
            if dir.exists() {
                SqlServer::new(kind, dir).stop();
            }
        }
    }
}

/// A private PostgreSQL or MariaDB: `kind` is `pg` or `mariadb`.
#[derive(Debug)]
struct SqlServer {
    kind: &'static str,
    dir: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
}

impl SqlServer {
    fn new(kind: &'static str, dir: PathBuf) -> Self {
        Self {
            kind,
            dir,
            port: 0,
            env: Vec::new(),
        }
    }

    /// The server of `kind` an earlier `services start` left running, if it answers.
    fn running(kind: &'static str, answers: fn(u16) -> bool) -> Option<Self> {
        candidate_dirs(kind).into_iter().find_map(|dir| {
            let port = std::fs::read_to_string(dir.join("port"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            let env = std::fs::read_to_string(dir.join("env")).ok()?;
            let env = env
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            answers(port).then_some(Self {
                kind,
                dir,
                port,
                env,
            })
        })
    }

    /// Records the port and variables for [`SqlServer::running`].
    fn save(&self) -> Result<(), String> {
        let env: String = self.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        for (name, text) in [("port", format!("{}\n", self.port)), ("env", env)] {
            let file = self.dir.join(name);
            std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        Ok(())
    }

    /// Stops the server and removes its data (the logs stay).
    fn stop(self) {
        match self.kind {
            "pg" => postgres::stop(&self.dir),
            _ => mariadb::stop(&self.dir),
        }
        for name in ["data", "port", "env"] {
            let path = self.dir.join(name);
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

/// Where a private server of `kind` lives: under the target directory, else (for a
/// server running as another user who cannot reach it) under the temporary directory.
fn candidate_dirs(kind: &str) -> [PathBuf; 2] {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || crate::workspace_root().join("target"),
        |dir| crate::workspace_root().join(dir),
    );
    [
        target.join("xtask-services").join(kind),
        std::env::temp_dir()
            .join("session-xtask-services")
            .join(kind),
    ]
}

/// An empty directory for a new server of `kind` (stopping, with `stop`, one an earlier
/// run left there). `other_user`: the server runs as another user, who must be able to
/// reach the directory (every existing ancestor searchable by others).
fn fresh_dir(kind: &str, other_user: bool, stop: fn(&Path)) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let [target, temp] = candidate_dirs(kind);
    let reachable = target
        .ancestors()
        .filter_map(|dir| std::fs::metadata(dir).ok())
        .all(|m| m.permissions().mode() & 0o001 != 0);
    let dir = if other_user && !reachable {
        temp
    } else {
        target
    };
    if dir.exists() {
        stop(&dir);
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if other_user {
        // Searchable by the server's user whatever the umask.
        if let Some(parent) = dir.parent() {
            set_mode(parent, 0o755)?;
        }
    }
    Ok(dir)
}

/// A user a server runs as (when xtask runs as root).
#[derive(Debug, Clone, Copy)]
struct User {
    uid: u32,
    gid: u32,
}

impl User {
    /// The user `name` and its primary group, from `id`.
    fn named(name: &str) -> Option<Self> {
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, name]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        Some(Self {
            uid: id("-u")?,
            gid: id("-g")?,
        })
    }

    /// The owner of `path`.
    fn owner(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Self {
            uid: m.uid(),
            gid: m.gid(),
        })
    }

    /// Makes `cmd` run as this user (without root's supplementary groups).
    fn apply(self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        cmd.uid(self.uid).gid(self.gid);
    }

    fn chown(self, path: &Path) -> Result<(), String> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| format!("chown {}: {e}", path.display()))
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// `path` opened for appending (created if need be), for a command's output.
fn log_file(path: &Path) -> Result<File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|p| p.is_file())
    })
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs the Debian packages providing the missing binaries, when running as root.
///
/// Sentinels run as `redis-server --sentinel` (the same program `redis-sentinel`
/// is), so the `redis-sentinel` package, whose install would start a system
/// sentinel on 26379, is not needed.
///
/// `pg` / `maria`: a private PostgreSQL / MariaDB is wanted. PostgreSQL comes from
/// `postgresql` (the server and its client tools); MariaDB from `mariadb-server-core`
/// (`mariadbd`, `mariadb-install-db`) and `mariadb-client-core` (`my_print_defaults`, which
/// `mariadb-install-db` runs), whose install starts no server.
/// Installs `redis-server` (and the other non-SQL servers' packages) when missing.
pub(crate) fn ensure_redis_installed() -> Result<(), String> {
    ensure_packages(false, false)
}

fn ensure_packages(pg: bool, maria: bool) -> Result<(), String> {
    let mut missing = Vec::new();
    for (bin, package) in [
        ("redis-server", "redis-server"),
        ("redis-cli", "redis-tools"),
        ("openssl", "openssl"),
        ("memcached", "memcached"),
    ] {
        if which(bin).is_none() && !missing.contains(&package) {
            missing.push(package);
        }
    }
    if pg && postgres::binaries().is_none() {
        missing.push("postgresql");
    }
    if maria && mariadb::binaries().is_none() {
        missing.extend(["mariadb-server-core", "mariadb-client-core"]);
    }
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() || which("apt-get").is_none() {
        return Err(format!(
            "missing {} and cannot install them (need root and apt-get)",
            missing.join(", ")
        ));
    }
    eprintln!("services: apt-get install {}", missing.join(" "));
    let quiet = |cmd: &mut Command| {
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    quiet(Command::new("apt-get").arg("update"))?;
    let status = quiet(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )?;
    if !status.success() {
        return Err(format!("apt-get install {} failed", missing.join(" ")));
    }
    if missing.contains(&"memcached") {
        // Debian starts its own memcached on 11211 (items up to 1 MiB); the tests get one
        // of their own there instead.
        let _ = Command::new("service")
            .args(["memcached", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = wait_for("memcached stop", Duration::from_secs(5), || {
            !memcached::memcached_answers(memcached::MEMCACHED)
        });
    }
    if missing.contains(&"postgresql") {
        // Debian creates a cluster and starts it on 5432; the tests get a private server
        // instead, and a later run must not take that one (it has no database `test`)
        // for the machine's.
        let _ = Command::new("service")
            .args(["postgresql", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = wait_for("postgresql stop", Duration::from_secs(30), || {
            !postgres::answers(5432)
        });
    }
    Ok(())
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} not ready after {timeout:?}"))
}

/// Runs `openssl` with whitespace-separated `args` in `dir`.
fn openssl(dir: &Path, args: &str) -> Result<(), String> {
    let status = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("openssl {args} failed"))
    }
}

#[cfg(test)]
mod tests {
    /// Brings the test servers up and leaves them running, for working on the storage
    /// crates: `cargo test -p xtask -- --ignored services_up`.
    #[test]
    #[ignore = "starts servers and leaves them running"]
    fn services_up() {
        if let Err(e) = super::start_detached() {
            panic!("{e}");
        }
    }

    /// Stops them again: `cargo test -p xtask -- --ignored services_down`.
    #[test]
    #[ignore = "stops the test servers"]
    fn services_down() {
        super::stop();
        let ports = super::redis::CLUSTER
            .into_iter()
            .chain(super::redis::SENTINEL_DATA);
        for port in ports.chain([super::redis::AUTH]) {
            assert!(
                !super::redis::answers(port, Some(super::redis::PASSWORD)),
                "{port} still up"
            );
        }
        for port in super::redis::SENTINELS {
            assert!(
                !super::redis::answers(port, Some(super::redis::SENTINEL_PASSWORD)),
                "{port} still up"
            );
        }
    }
}
