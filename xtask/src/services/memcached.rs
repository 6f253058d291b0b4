//! A memcached for session-memcached's tests: 127.0.0.1:11211, items up to 4 MiB.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::redis::redis_dir;
use super::{Services, is_root, wait_for};

pub(super) const MEMCACHED: u16 = 11211;

/// Whether a memcached answers `version` on `port`.
pub(super) fn memcached_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"version\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("VERSION ")
}

/// The `item_size_max` setting of the memcached on `port`.
fn memcached_item_size_max(port: u16) -> Option<u64> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"stats settings\r\n").ok()?;
    for line in BufReader::new(stream).lines() {
        let line = line.ok()?;
        if line.starts_with("END") {
            return None;
        }
        if let Some(v) = line.strip_prefix("STAT item_size_max ") {
            return v.trim().parse().ok();
        }
    }
    None
}

/// Stops the memcached on `port` (started with `-A`, so it takes `shutdown`).
pub(super) fn memcached_shutdown(port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        let _ = stream.write_all(b"shutdown\r\n");
    }
    let _ = wait_for("memcached shutdown", Duration::from_secs(5), || {
        !memcached_answers(port)
    });
    let _ = std::fs::remove_file(redis_dir().join("memcached.pid"));
}

pub(super) fn start_memcached(services: &mut Services) -> Result<(), String> {
    if memcached_answers(MEMCACHED) {
        let max = memcached_item_size_max(MEMCACHED).unwrap_or(0);
        if max < 4 << 20 {
            return Err(format!(
                "the memcached on 127.0.0.1:{MEMCACHED} takes items up to {max} bytes; the \
                 conformance suite stores 2 MiB values: restart it with `-I 4m`, or stop it and \
                 let xtask start one"
            ));
        }
        eprintln!("services: memcached :{MEMCACHED} (already running)");
        return Ok(());
    }
    let dir = redis_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = MEMCACHED.to_string();
    let pid = dir.join("memcached.pid");
    let mut cmd = Command::new("memcached");
    cmd.args([
        "-d",
        "-l",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "0",
        "-m",
        "64",
        "-I",
        "4m",
        "-A",
        "-P",
    ])
    .arg(&pid);
    if is_root() {
        cmd.args(["-u", "root"]);
    }
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run memcached: {e}"))?;
    if !status.success() {
        return Err(format!("memcached failed to start ({status})"));
    }
    services.memcached.push(MEMCACHED);
    wait_for("memcached", Duration::from_secs(10), || {
        memcached_answers(MEMCACHED)
    })?;
    eprintln!("services: memcached :{MEMCACHED}");
    Ok(())
}
