//! `cargo xtask bench-http [--seconds N] [--rounds N] [--servers a,b,..] [--routes /a,/b,..]`:
//! resty-session and its peers behind the same axum routes, and resty-session behind
//! actix-web, measured with `wrk` (docs/benchmarks.md).
//!
//! Builds `session-bench-http` in release mode, then for each round starts every server in
//! turn (order rotated per round) on one current-thread runtime pinned to CPU 0, mints the
//! cookies of the open routes with one request to the matching save route, and runs
//! `wrk -t1 -c32 --latency` pinned to CPU 1 on each route. Prints, per route, the median
//! req/s and p99 of each server, the cost per request above the plain endpoint, and the
//! median of the per-round ratios ours ÷ each peer and ours ÷ the best peer of the round, and
//! actix-web ÷ axum for each store both front doors ran.
//! With `LRS_BENCH_URL` set, the lua-resty-session reference at that address is measured on
//! the same paths (not started or pinned by this tool). A benchmark, not a test: `cargo xtask
//! test` does not run it. `BENCH_BASELINE_BIN` with `--servers before-KIND,…` adds the same
//! server built from an older commit, for a before/after ratio from one run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The routes, in the order they are run and printed.
const ROUTES: [(&str, &str); 4] = [
    ("/open", "open small session, read a value"),
    ("/save", "new + set 2 values + save"),
    ("/save2k", "save with a 2 KB value"),
    ("/open2k", "open with a 2 KB value"),
];

/// The servers of the bench crate; `reference` is added when `LRS_BENCH_URL` is set.
const SERVERS: [&str; 11] = [
    "plain",
    "actix-plain",
    "ours-cookie",
    "ours-shm",
    "ours-redis",
    "actix-cookie",
    "actix-shm",
    "actix-redis",
    "jar",
    "ts-memory",
    "ts-redis",
];
/// The peers "best peer" is chosen from (the reference is compared separately).
const PEERS: [&str; 3] = ["jar", "ts-memory", "ts-redis"];
const OURS: [&str; 6] = [
    "ours-cookie",
    "ours-shm",
    "ours-redis",
    "actix-cookie",
    "actix-shm",
    "actix-redis",
];
/// What both front doors serve, compared in a table of their own: `plain` (no session) and
/// resty-session's stores, `ours-<store>` (axum) beside `actix-<store>`.
const FRONT_DOOR_STORES: [&str; 4] = ["plain", "cookie", "shm", "redis"];

/// The axum and the actix-web server of `store` (one of [`FRONT_DOOR_STORES`]).
fn front_doors(store: &str) -> (String, String) {
    let axum = if store == "plain" {
        "plain".to_owned()
    } else {
        format!("ours-{store}")
    };
    (axum, format!("actix-{store}"))
}
const REFERENCE: &str = "reference";
/// `--servers before-ours-cookie,…` runs that server from the bench-server binary named by
/// `BENCH_BASELINE_BIN` (built from an older commit), beside today's: a before/after ratio
/// from one run, on the same cores and load.
const BASELINE_PREFIX: &str = "before-";

fn baseline_bin(server: &str) -> Result<std::path::PathBuf, String> {
    std::env::var_os("BENCH_BASELINE_BIN")
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            format!("{server} needs BENCH_BASELINE_BIN: a bench-server built from the older commit")
        })
}
/// The Redis database the Redis servers write to, emptied after each of their runs.
const REDIS_DB: u8 = 15;

struct Options {
    seconds: u32,
    rounds: u32,
    servers: Vec<String>,
    /// The routes run (the others print as `–`).
    routes: Vec<&'static str>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 5,
        rounds: 3,
        servers: SERVERS.iter().map(|s| (*s).to_owned()).collect(),
        routes: ROUTES.iter().map(|(r, _)| *r).collect(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--seconds" => {
                options.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?;
            }
            "--rounds" => {
                options.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?;
            }
            "--servers" => {
                let list = value("--servers")?;
                options.servers = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = options.servers.iter().find(|s| {
                    let kind = s.strip_prefix(BASELINE_PREFIX).unwrap_or(s);
                    !SERVERS.contains(&kind)
                }) {
                    return Err(format!(
                        "unknown server {bad} (known: {})",
                        SERVERS.join(",")
                    ));
                }
            }
            "--routes" => {
                let list = value("--routes")?;
                let mut routes = Vec::new();
                for wanted in list.split(',') {
                    let Some((route, _)) = ROUTES.iter().find(|(r, _)| *r == wanted) else {
                        let known: Vec<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
                        return Err(format!(
                            "unknown route {wanted} (known: {})",
                            known.join(",")
                        ));
                    };
                    routes.push(*route);
                }
                options.routes = routes;
            }
            other => return Err(format!("bench-http: unknown option {other}")),
        }
    }
    if options.seconds == 0 || options.rounds == 0 {
        return Err("--seconds and --rounds must be at least 1".into());
    }
    Ok(options)
}

/// One wrk run.
#[derive(Clone, Copy)]
struct Sample {
    rps: f64,
    p99_us: f64,
    bad: u64,
}

/// `(round, server, route)` → sample.
type Results = BTreeMap<(u32, String, &'static str), Sample>;

/// Per server: (resident bytes just after start, peak resident bytes at the end of its run),
/// the largest over the rounds.
type Memory = BTreeMap<String, (u64, u64)>;

/// A field of /proc/PID/status in bytes (`VmRSS`, `VmHWM`).
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_owned))
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    ensure_wrk()?;
    crate::cargo(&["build", "--release", "-p", "session-bench-http"])?;
    let server_bin = target_dir()?.join("release").join("bench-server");
    let redis_up = TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().map_err(|e| format!("{e}"))?,
        Duration::from_secs(1),
    )
    .is_ok();
    let mut servers = options.servers.clone();
    if !redis_up {
        eprintln!("bench-http: no Redis on 127.0.0.1:6379, skipping ours-redis and ts-redis");
        servers.retain(|s| !s.ends_with("-redis"));
    }
    let reference = std::env::var("LRS_BENCH_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if reference.is_some() {
        servers.push(REFERENCE.to_owned());
    }
    let mut results = Results::new();
    let mut memory = Memory::new();
    let mut loads = Vec::new();
    for round in 0..options.rounds {
        let mut order = servers.clone();
        let turn = round as usize % order.len().max(1);
        order.rotate_left(turn);
        loads.push(loadavg());
        for server in &order {
            eprintln!(
                "bench-http: round {} / {}: {server}",
                round + 1,
                options.rounds
            );
            let running = if server == REFERENCE {
                None
            } else {
                match server.strip_prefix(BASELINE_PREFIX) {
                    Some(kind) => Some(Server::start(&baseline_bin(server)?, kind)?),
                    None => Some(Server::start(&server_bin, server)?),
                }
            };
            let base = match (&running, &reference) {
                (Some(s), _) => format!("http://{}", s.addr),
                (None, Some(url)) => url.trim_end_matches('/').to_owned(),
                (None, None) => continue,
            };
            let empty_rss = running
                .as_ref()
                .map_or(0, |s| proc_status_bytes(s.child.id(), "VmRSS"));
            for route in options.routes.iter().copied() {
                // Minted just before its run: a save flood may have evicted an older session
                // from a bounded store (shm).
                let cookie = match route {
                    "/open" => mint(&base, "/save")?,
                    "/open2k" => mint(&base, "/save2k")?,
                    _ => String::new(),
                };
                let sample = wrk(&format!("{base}{route}"), &cookie, options.seconds)?;
                if sample.bad > 0 {
                    eprintln!(
                        "bench-http: {server} {route}: {} non-2xx responses",
                        sample.bad
                    );
                }
                results.insert((round, server.clone(), route), sample);
            }
            if let Some(s) = &running {
                let peak = proc_status_bytes(s.child.id(), "VmHWM");
                let entry = memory.entry(server.clone()).or_default();
                *entry = (entry.0.max(empty_rss), entry.1.max(peak));
            }
            drop(running);
            if server.ends_with("-redis") {
                flush_redis_db();
            }
        }
    }
    loads.push(loadavg());
    print!(
        "{}",
        report(&results, &servers, options.rounds, &options, &loads)
    );
    println!(
        "\nResident memory of each server (largest over the rounds): just after start, and its\n\
         peak (VmHWM) after its four runs ({} s of them saves).\n",
        2 * options.seconds
    );
    println!("| server | empty (MiB) | peak (MiB) |\n|---|---:|---:|");
    for (server, (empty, peak)) in &memory {
        let mib = |b: u64| b as f64 / 1_048_576.0;
        println!("| {server} | {:.1} | {:.1} |", mib(*empty), mib(*peak));
    }
    Ok(())
}

/// Installs wrk with apt-get when it is missing.
fn ensure_wrk() -> Result<(), String> {
    let present = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !present("taskset") {
        return Err("taskset (util-linux) is required".into());
    }
    if present("wrk") {
        return Ok(());
    }
    eprintln!("bench-http: installing wrk (apt-get install -y wrk)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").arg("update").status();
        if !install() {
            return Err("cannot install wrk: run `apt-get install wrk`".into());
        }
    }
    Ok(())
}

fn target_dir() -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(std::path::PathBuf::from)
        .ok_or_else(|| "cargo metadata: no target_directory".into())
}

/// A bench server pinned to CPU 0, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &std::path::Path, kind: &str) -> Result<Self, String> {
        let mut child = Command::new("taskset")
            .args(["-c", "0"])
            .arg(bin)
            .args([kind, "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let Some(addr) = line.trim().strip_prefix("listening ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("bench-server {kind} did not start"));
        };
        Ok(Self { child, addr })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET` with `Connection: close`; returns the status and the raw response head.
fn http_get(base: &str, path: &str) -> Result<(u16, String), String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("{base}: only http:// URLs"))?;
    let (host, prefix) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let mut stream = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    write!(
        stream,
        "GET {prefix}{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("{base}{path}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head))
}

/// The `Cookie` header a browser would send after `GET path`.
fn mint(base: &str, path: &str) -> Result<String, String> {
    let (status, head) = http_get(base, path)?;
    if status != 200 {
        return Err(format!("{base}{path}: status {status}"));
    }
    let cookies: Vec<&str> = head
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then_some(value)
        })
        .filter_map(|v| v.trim().split(';').next())
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .collect();
    // Empty for the plain endpoint; a session server that sets none fails its open route.
    Ok(cookies.join("; "))
}

fn wrk(url: &str, cookie: &str, seconds: u32) -> Result<Sample, String> {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "1", "wrk", "-t1", "-c32", "--latency"])
        .arg(format!("-d{seconds}s"));
    if !cookie.is_empty() {
        cmd.arg("-H").arg(format!("Cookie: {cookie}"));
    }
    let output = cmd
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_wrk(&text).ok_or_else(|| format!("cannot read wrk's output for {url}:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Sample> {
    let mut rps = None;
    let mut p99_us = None;
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("99%") {
            p99_us = parse_duration_us(v.trim());
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            bad = v.trim().parse().unwrap_or(u64::MAX);
        }
    }
    Some(Sample {
        rps: rps?,
        p99_us: p99_us?,
        bad,
    })
}

/// `1.23ms`, `456.00us`, `1.20s` → microseconds.
fn parse_duration_us(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return None,
    };
    Some(number * scale)
}

/// Empties the bench's Redis database (only that one) with a raw RESP exchange.
fn flush_redis_db() {
    let Ok(mut stream) = TcpStream::connect("127.0.0.1:6379") else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(stream, "SELECT {REDIS_DB}\r\nFLUSHDB\r\n");
    let mut buf = [0u8; 64];
    let mut got = 0;
    // Two replies (+OK\r\n each) before the connection is dropped.
    while got < 10 {
        match stream.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    })
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

/// The Markdown report: one table of medians, one of ratios.
fn report(
    results: &Results,
    servers: &[String],
    rounds: u32,
    options: &Options,
    loads: &[String],
) -> String {
    let sample = |round: u32, server: &str, route: &str| {
        results
            .iter()
            .find(|((r, s, p), _)| *r == round && s == server && *p == route)
            .map(|(_, v)| *v)
    };
    let med = |server: &str, route: &str, f: fn(Sample) -> f64| {
        median(
            (0..rounds)
                .filter_map(|r| sample(r, server, route).map(f))
                .collect(),
        )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## bench-http: {rounds} rounds × {} s per run, wrk -t1 -c32 (CPU 1), server on CPU 0",
        options.seconds
    );
    let _ = writeln!(
        out,
        "load average at each round start, then at the end: {}\n",
        loads.join(" | ")
    );
    let _ = writeln!(
        out,
        "Median req/s (p99 in ms) per server and route; µs/req above plain = 10⁶/req/s − 10⁶/plain.\n"
    );
    let mut head = String::from("| server |");
    let mut rule = String::from("|---|");
    for (route, _) in ROUTES {
        let _ = write!(head, " {route} req/s (p99) | µs above plain |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for server in servers {
        let mut line = format!("| {server} |");
        for (route, _) in ROUTES {
            let rps = med(server, route, |s| s.rps);
            let p99 = med(server, route, |s| s.p99_us);
            let plain = med("plain", route, |s| s.rps);
            let above = match (rps, plain) {
                (Some(r), Some(p)) if r > 0.0 && p > 0.0 => format!("{:.1}", 1e6 / r - 1e6 / p),
                _ => "–".into(),
            };
            let bad: u64 = (0..rounds)
                .filter_map(|r| sample(r, server, route))
                .map(|s| s.bad)
                .sum();
            let flag = if bad > 0 { " ⚠ non-2xx" } else { "" };
            let _ = write!(
                line,
                " {} ({}){flag} | {above} |",
                rps.map_or_else(|| "–".into(), |v| format!("{v:.0}")),
                p99.map_or_else(|| "–".into(), |v| format!("{:.2}", v / 1e3)),
            );
        }
        let _ = writeln!(out, "{line}");
    }
    let peers: Vec<&str> = PEERS
        .iter()
        .copied()
        .filter(|p| servers.iter().any(|s| s == p))
        .collect();
    let mut others: Vec<&str> = peers.clone();
    if servers.iter().any(|s| s == REFERENCE) {
        others.push(REFERENCE);
    }
    let _ = writeln!(
        out,
        "\nMedian of per-round ratios, ours ÷ peer (req/s; > 1 is faster). Best peer: the fastest of {} in the same round.\n",
        peers.join(", ")
    );
    let mut head = String::from("| ours | route | ÷ best peer |");
    let mut rule = String::from("|---|---|---:|");
    for other in &others {
        let _ = write!(head, " ÷ {other} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    // Ours, and the same servers built from an older commit (`before-ours-…`): before and
    // after against the peers of the same rounds.
    let rows = servers
        .iter()
        .map(String::as_str)
        .filter(|s| OURS.contains(&s.strip_prefix(BASELINE_PREFIX).unwrap_or(s)));
    for ours in rows {
        for (route, _) in ROUTES {
            let ratio_to = |pick: &dyn Fn(u32) -> Option<f64>| {
                median(
                    (0..rounds)
                        .filter_map(|r| Some(sample(r, ours, route)?.rps / pick(r)?))
                        .collect(),
                )
            };
            let best = ratio_to(&|r| {
                peers
                    .iter()
                    .filter_map(|p| sample(r, p, route).map(|s| s.rps))
                    .reduce(f64::max)
            });
            let mut line = format!("| {ours} | {route} | {} |", fmt_ratio(best));
            for other in &others {
                let v = ratio_to(&|r| sample(r, other, route).map(|s| s.rps));
                let _ = write!(line, " {} |", fmt_ratio(v));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    // Tables of one server's req/s over another's, as the median of per-round ratios: each
    // row is (label, numerator server, denominator server).
    let ratio_table =
        |out: &mut String, title: &str, column: &str, rows: &[(String, String, String)]| {
            if rows.is_empty() {
                return;
            }
            let _ = writeln!(out, "\nMedian of per-round ratios, {title}\n");
            let mut head = format!("| {column} |");
            let mut rule = String::from("|---|");
            for (route, _) in ROUTES {
                let _ = write!(head, " {route} |");
                rule.push_str("---:|");
            }
            let _ = writeln!(out, "{head}\n{rule}");
            for (label, top, bottom) in rows {
                let mut line = format!("| {label} |");
                for (route, _) in ROUTES {
                    let v = median(
                        (0..rounds)
                            .filter_map(|r| {
                                Some(sample(r, top, route)?.rps / sample(r, bottom, route)?.rps)
                            })
                            .collect(),
                    );
                    let _ = write!(line, " {} |", fmt_ratio(v));
                }
                let _ = writeln!(out, "{line}");
            }
        };
    // Today's server beside the same server built from an older commit (`before-KIND`).
    let baselines: Vec<(String, String, String)> = servers
        .iter()
        .filter_map(|s| s.strip_prefix(BASELINE_PREFIX))
        .filter(|kind| servers.iter().any(|s| s == kind))
        .map(|kind| {
            (
                kind.to_owned(),
                kind.to_owned(),
                format!("{BASELINE_PREFIX}{kind}"),
            )
        })
        .collect();
    ratio_table(
        &mut out,
        "today ÷ before (req/s of `KIND` ÷ `before-KIND`, the same server built from `BENCH_BASELINE_BIN`'s commit; > 1: today is faster).",
        "server",
        &baselines,
    );
    let doors: Vec<(String, String, String)> = FRONT_DOOR_STORES
        .iter()
        .filter_map(|store| {
            let (axum, actix) = front_doors(store);
            (servers.contains(&axum) && servers.contains(&actix))
                .then(|| ((*store).to_owned(), actix, axum))
        })
        .collect();
    ratio_table(
        &mut out,
        "actix-web ÷ axum (req/s of `actix-<store>` ÷ `ours-<store>`, `actix-plain` ÷ `plain`; > 1: actix is faster).",
        "store",
        &doors,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `rps` requests per second (p99 1 ms, no failures).
    fn sample(rps: f64) -> Sample {
        Sample {
            rps,
            p99_us: 1000.0,
            bad: 0,
        }
    }

    #[test]
    fn wrk_output_is_read() {
        let text = "Running 5s test @ http://127.0.0.1:1/open\n  1 threads and 32 connections\n\
            \x20 Latency Distribution\n     50%    1.10ms\n     75%    1.20ms\n     90%  900.00us\n\
            \x20    99%    2.50ms\n  61234 requests in 5.00s, 8.00MB read\n\
            \x20 Non-2xx or 3xx responses: 3\nRequests/sec:  12246.80\nTransfer/sec:      1.60MB\n";
        let s = parse_wrk(text).unwrap();
        assert!((s.rps - 12246.8).abs() < 1e-9);
        assert!((s.p99_us - 2500.0).abs() < 1e-9);
        assert_eq!(s.bad, 3);
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn durations_convert_to_microseconds() {
        assert_eq!(parse_duration_us("900.00us"), Some(900.0));
        assert_eq!(parse_duration_us("1.50s"), Some(1_500_000.0));
        assert_eq!(parse_duration_us("12"), None);
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn the_report_compares_actix_with_axum_per_store() {
        let mut results = Results::new();
        for round in 0..3 {
            for (route, _) in ROUTES {
                results.insert((round, "ours-cookie".into(), route), sample(1000.0));
                let actix = if round == 1 { 3000.0 } else { 1500.0 };
                results.insert((round, "actix-cookie".into(), route), sample(actix));
                results.insert((round, "actix-shm".into(), route), sample(900.0));
                results.insert((round, "plain".into(), route), sample(2000.0));
                results.insert((round, "actix-plain".into(), route), sample(2200.0));
            }
        }
        let options = parse_options(&[]).unwrap();
        let servers = [
            "plain",
            "actix-plain",
            "ours-cookie",
            "actix-cookie",
            "actix-shm",
        ]
        .map(String::from);
        let text = report(&results, &servers, 3, &options, &[]);
        // The median of the per-round ratios (1.5, 3, 1.5), per route.
        assert!(
            text.contains("| cookie | 1.50 | 1.50 | 1.50 | 1.50 |"),
            "{text}"
        );
        assert!(
            text.contains("| plain | 1.10 | 1.10 | 1.10 | 1.10 |"),
            "{text}"
        );
        // shm ran behind one front door only: no row.
        assert!(!text.contains("| shm |"), "{text}");
    }

    #[test]
    fn the_report_compares_today_with_before() {
        let mut results = Results::new();
        for round in 0..3 {
            for (route, _) in ROUTES {
                let today = if round == 2 { 900.0 } else { 1200.0 };
                results.insert((round, "ours-cookie".into(), route), sample(today));
                results.insert((round, "before-ours-cookie".into(), route), sample(1000.0));
                results.insert((round, "before-ours-shm".into(), route), sample(1000.0));
                results.insert((round, "plain".into(), route), sample(2000.0));
            }
        }
        let options = parse_options(&[]).unwrap();
        let servers = [
            "plain",
            "ours-cookie",
            "before-ours-cookie",
            "before-ours-shm",
        ]
        .map(String::from);
        let text = report(&results, &servers, 3, &options, &[]);
        // The median of the per-round ratios (1.2, 1.2, 0.9), per route.
        assert!(
            text.contains("| ours-cookie | 1.20 | 1.20 | 1.20 | 1.20 |"),
            "{text}"
        );
        // A baseline without today's server beside it: no row.
        assert!(!text.contains("| ours-shm |"), "{text}");
        // Before and after, each against the peers of the same rounds (plain is none).
        assert!(text.contains("| before-ours-cookie | /open |"), "{text}");
    }

    #[test]
    fn options_are_parsed_and_checked() {
        let args: Vec<String> = ["--seconds", "2", "--rounds", "4", "--servers", "plain,jar"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let o = parse_options(&args).unwrap();
        assert_eq!((o.seconds, o.rounds), (2, 4));
        assert_eq!(o.servers, ["plain", "jar"]);
        assert!(parse_options(&["--servers".into(), "nginx".into()]).is_err());
        let actix = parse_options(&["--servers".into(), "actix-cookie,actix-redis".into()]);
        assert_eq!(actix.unwrap().servers, ["actix-cookie", "actix-redis"]);
        assert!(parse_options(&["--rounds".into(), "0".into()]).is_err());
        let routes = parse_options(&["--routes".into(), "/open2k,/open".into()]).unwrap();
        assert_eq!(routes.routes, ["/open2k", "/open"]);
        assert_eq!(parse_options(&[]).unwrap().routes.len(), ROUTES.len());
        assert!(parse_options(&["--routes".into(), "/login".into()]).is_err());
    }
}
