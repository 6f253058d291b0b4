//! `cargo xtask chaos`: a real HTTP server (axum and the `resty-session` layer) on Redis and
//! on file storage, driven with mixed traffic (new sessions, reads, modifications, each
//! saved explicitly) while a private Redis is stopped (SIGSTOP), continued, killed and
//! restarted, and while the file store's disk is full. It prints the requests sent, the
//! answers by status, the worst error latency and the acknowledged saves lost, and fails
//! when any acknowledged save is lost or any request takes longer than the store's
//! deadline plus a second.
//!
//! Usage: `session-chaos [--seconds N]` (default 60). Needs `redis-server` and the right to
//! mount a tmpfs (root, or `unshare --user --map-root-user --mount`, which `cargo xtask
//! chaos` arranges).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

mod app;
mod disk;
mod redis;
mod traffic;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resty_session::Config;
use tokio::time::{Instant, sleep_until};

use disk::SmallDisk;
use redis::PrivateRedis;
use traffic::{Tally, Target};

/// The Redis store's per-operation deadline in this run, milliseconds.
const REDIS_DEADLINE_MS: u64 = 2000;
/// Clients per server.
const CLIENTS: u64 = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = match args.as_slice() {
        [] => 60,
        [flag, n] if flag == "--seconds" => match n.parse::<u64>() {
            Ok(n) if n >= 10 => n,
            _ => {
                eprintln!("session-chaos: --seconds takes a number of at least 10");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: session-chaos [--seconds N]");
            return ExitCode::from(2);
        }
    };
    let base = std::env::temp_dir().join(format!("session-chaos-{}", std::process::id()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("session-chaos: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(seconds, &base));
    runtime.shutdown_timeout(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&base);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("session-chaos: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves `config` on a free loopback port; returns its base URL.
async fn serve(config: &Config) -> Result<String, String> {
    let router = app::router(config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(format!("http://{addr}"))
}

fn config(text: &str) -> Result<Config, String> {
    Config::from_text(text).map_err(|e| e.to_string())
}

/// Runs the traffic and the faults; `Ok(false)` when a save was lost or a request hung.
async fn run(seconds: u64, base: &std::path::Path) -> Result<bool, String> {
    let mut redis = PrivateRedis::start(&base.join("redis"))?;
    let disk = SmallDisk::mount(&base.join("disk"), 256)?;
    // An hour of stale TTL: a save that failed half-way never takes the previous session away.
    let secret = "secret = \"chaos run secret, at least sixteen bytes\"\nstale_ttl = 3600\n";
    let redis_url = serve(&config(&format!(
        "{secret}storage = \"redis\"\n[redis]\nhost = \"127.0.0.1\"\nport = {}\noperation_timeout = {REDIS_DEADLINE_MS}\n",
        redis.port()
    ))?)
    .await?;
    let file_url = serve(&config(&format!(
        "{secret}storage = \"file\"\n[file]\npath = \"{}/\"\n",
        disk.sessions().display()
    ))?)
    .await?;
    // A request may take the store's deadline and a second more.
    let redis_target = Target {
        base: redis_url,
        limit: Duration::from_millis(REDIS_DEADLINE_MS) + Duration::from_secs(1),
        tally: Arc::new(Mutex::new(Tally::default())),
    };
    let file_target = Target {
        base: file_url,
        limit: Duration::from_secs(1),
        tally: Arc::new(Mutex::new(Tally::default())),
    };

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (n, target) in [&redis_target, &file_target].into_iter().enumerate() {
        for i in 0..CLIENTS {
            let id = (n as u64) * 100 + i + 1;
            clients.push((
                n,
                tokio::spawn(traffic::client(id, target.clone(), stop.clone())),
            ));
        }
    }

    let start = Instant::now();
    let at = |fraction: f64| start + Duration::from_secs_f64(seconds as f64 * fraction);
    sleep_until(at(0.10)).await;
    eprintln!("chaos: SIGSTOP redis");
    redis.pause()?;
    sleep_until(at(0.22)).await;
    eprintln!("chaos: SIGCONT redis");
    redis.resume()?;
    sleep_until(at(0.35)).await;
    eprintln!("chaos: SIGKILL redis");
    redis.kill()?;
    sleep_until(at(0.42)).await;
    eprintln!("chaos: restart redis");
    redis.restart()?;
    sleep_until(at(0.55)).await;
    let filled = disk.fill()?;
    eprintln!(
        "chaos: file store's disk full ({} KiB of filler)",
        filled / 1024
    );
    sleep_until(at(0.70)).await;
    disk.free()?;
    eprintln!("chaos: file store's disk freed");
    sleep_until(at(0.90)).await;
    stop.store(true, Ordering::Relaxed);

    let mut acked = [Vec::new(), Vec::new()];
    for (n, client) in clients {
        if let Some(a) = client.await.map_err(|e| format!("client task: {e}"))? {
            acked[n].push(a);
        }
    }
    traffic::verify(&redis_target, &acked[0]).await;
    traffic::verify(&file_target, &acked[1]).await;

    let mut ok = true;
    for (name, target) in [("redis", &redis_target), ("file", &file_target)] {
        let t = target
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let statuses: Vec<String> = t
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        println!("{name}: requests sent: {}", t.sent);
        println!("{name}: answers by status: {}", statuses.join(", "));
        println!(
            "{name}: worst error latency: {:?} (limit {:?}); slowest answer: {:?}",
            t.worst_error, target.limit, t.worst
        );
        println!("{name}: requests over the limit: {}", t.over_limit);
        println!("{name}: acknowledged saves lost: {}", t.lost.len());
        for lost in t.lost.iter().take(10) {
            println!("{name}:   {lost}");
        }
        let errors = t.sent - t.by_status.get("200").copied().unwrap_or(0);
        if errors == 0 {
            println!("{name}: no request failed: the faults did not reach the store");
            ok = false;
        }
        ok &= t.lost.is_empty() && t.over_limit == 0 && !t.by_status.contains_key("timeout");
    }
    println!("acknowledged saves lost: {}", {
        let r = redis_target.tally.lock().map(|t| t.lost.len()).unwrap_or(0);
        let f = file_target.tally.lock().map(|t| t.lost.len()).unwrap_or(0);
        r + f
    });
    println!("chaos: {}", if ok { "passed" } else { "FAILED" });
    Ok(ok)
}
