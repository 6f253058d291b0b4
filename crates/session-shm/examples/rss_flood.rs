//! Floods a shm zone with saves and reports the process's resident memory against the
//! zone's capacity (docs/benchmarks.md, "shm: capacity in resident memory").
//!
//! `cargo run --release -p session-shm --example rss_flood -- [capacity MiB] [seconds] [value bytes,...]`
//! (defaults 64, 10, 1000). Each save is a new 43-character key with a value of the given
//! size, as the engine writes for a new session; the zone never sees a read. With several
//! sizes (`200,1100`), each floods for the given seconds in turn (small sessions, then large:
//! the allocator's worst case).
#![allow(clippy::print_stdout)] // an example: stdout is its output

use std::time::{Duration, Instant};

use session_shm::{ShmConfig, ShmStorage};
use session_storage::{SetRequest, Storage};

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_owned))
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let capacity_mib: u64 = args.next().map_or(Ok(64), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(10), |a| a.parse())?;
    let sizes: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1000".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let empty = status_bytes("VmRSS");
    let capacity = capacity_mib * 1024 * 1024;
    let store = ShmStorage::from_config(
        ShmConfig::default()
            .with_zone("rss-flood")
            .with_capacity(Some(capacity)),
    )?;
    let now = 1_700_000_000;
    let start = Instant::now();
    let mut saves: u64 = 0;
    let mut peak = 0;
    runtime.block_on(async {
        for (phase, value_len) in sizes.iter().enumerate() {
            let value = "v".repeat(*value_len);
            let until = Duration::from_secs(seconds * (phase as u64 + 1));
            while start.elapsed() < until {
                for _ in 0..1000 {
                    let key = format!("{saves:043}");
                    store
                        .set(&SetRequest::new("session", &key, &value, 3600, now))
                        .await?;
                    saves += 1;
                }
                peak = peak.max(status_bytes("VmRSS"));
            }
        }
        Ok::<_, session_storage::StorageError>(())
    })?;
    let used = store.zone().used_bytes();
    let hwm = status_bytes("VmHWM");
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "capacity {capacity_mib} MiB, values {sizes:?} B, {seconds} s each: {saves} saves ({:.0}/s)",
        saves as f64 / start.elapsed().as_secs_f64()
    );
    println!(
        "empty process {:.1} MiB; peak RSS {:.1} MiB (VmHWM {:.1}); zone accounts {:.1} MiB",
        mib(empty),
        mib(peak),
        mib(hwm),
        mib(used)
    );
    let budget = capacity as f64 * 1.3 + empty as f64;
    println!(
        "peak − empty = {:.2} × capacity; budget capacity × 1.3 + empty = {:.1} MiB: {}",
        (hwm.saturating_sub(empty)) as f64 / capacity as f64,
        budget / (1024.0 * 1024.0),
        if (hwm as f64) <= budget {
            "within"
        } else {
            "OVER"
        }
    );
    Ok(())
}
