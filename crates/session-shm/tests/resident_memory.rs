//! The zone's capacity bounds the process's resident memory: after a flood of saves worth
//! many times the capacity, resident memory has grown by at most 1.3 × the capacity
//! (docs/benchmarks.md). One test in its own binary, so no other test's memory counts.

use session_shm::{ShmStorage, ShmZone};
use session_storage::{SetRequest, Storage};

/// `VmRSS` of this process in bytes, from /proc/self/status (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

#[test]
fn a_save_flood_stays_within_the_capacity_in_resident_memory() {
    const CAPACITY: u64 = 16 * 1024 * 1024;
    let Some(before) = resident_bytes() else {
        eprintln!("no /proc/self/status: resident memory not measurable here");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let zone = ShmZone::new("resident", CAPACITY);
    let store = ShmStorage::with_zone(zone.clone(), None, None);
    // Small-session records, then 2 KB ones (the allocator's worst case: the small entries'
    // freed memory must serve the large ones), then both interleaved; each phase is about
    // 3 × the capacity.
    let small = "v".repeat(200);
    let large = "v".repeat(1_100);
    let phases: [(&str, u32); 3] = [("small", 60_000), ("large", 30_000), ("mixed", 40_000)];
    let mut peak = 0;
    runtime.block_on(async {
        for (phase, count) in phases {
            for i in 0..count {
                let value = match phase {
                    "small" => &small,
                    "large" => &large,
                    _ if i % 2 == 0 => &small,
                    _ => &large,
                };
                let key = format!("{phase}-{i:0>37}");
                store
                    .set(&SetRequest::new(
                        "session",
                        &key,
                        value,
                        3600,
                        1_700_000_000,
                    ))
                    .await
                    .unwrap();
                if i % 1000 == 0 {
                    peak = peak.max(resident_bytes().unwrap_or(0));
                }
            }
        }
    });
    peak = peak.max(resident_bytes().unwrap_or(0));
    assert!(zone.used_bytes() <= CAPACITY);
    let grown = peak.saturating_sub(before);
    eprintln!(
        "resident memory grew by {:.2} × the capacity",
        grown as f64 / CAPACITY as f64
    );
    assert!(
        grown as f64 <= CAPACITY as f64 * 1.3,
        "resident memory grew by {grown} bytes for a {CAPACITY}-byte zone"
    );
}
