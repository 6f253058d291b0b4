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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod memcached;
mod redis;

pub(crate) use redis::stop_redis;

/// Running test servers; dropping it stops the ones this run started.
#[derive(Debug, Default)]
pub(crate) struct Services {
    /// (port, password) of every Redis server to shut down on drop.
    owned: Vec<(u16, Option<&'static str>)>,
    /// Ports of the memcached servers this run started.
    memcached: Vec<u16>,
}

impl Drop for Services {
    fn drop(&mut self) {
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
    ensure_packages()?;
    redis::start_redis(&mut services)?;
    memcached::start_memcached(&mut services)?;
    Ok(services)
}

/// Starts the test servers and leaves them running (`cargo xtask services start`), for
/// running one crate's tests by hand; [`stop`] stops them.
pub(crate) fn start_detached() -> Result<(), String> {
    start().map(std::mem::forget)
}

/// Stops the test servers `cargo xtask services start` (or any run) left behind: the Redis
/// deployments (never 6379) and a memcached this tool started.
pub(crate) fn stop() {
    stop_redis();
    // Only a memcached this tool started (it left its pid file); never the system's.
    if redis::redis_dir().join("memcached.pid").exists() {
        memcached::memcached_shutdown(memcached::MEMCACHED);
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|p| p.is_file())
    })
}

fn is_root() -> bool {
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
fn ensure_packages() -> Result<(), String> {
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
