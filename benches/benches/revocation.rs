//! Revocation of cookie sessions: `open` + `get` of a 100-byte cookie session with a subject,
//! without revocation and with it (revocation store in memory and in shm, cache warm: the
//! lookup is answered from the per-subject cache), and with the cache off (`cache_ttl = 0`: a
//! store read per open, for scale). Target: warm within 1.2x of the open without revocation.
//!
//! Run: `cargo bench -p session-benches --bench revocation`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use session_core::session_storage::DynStorage;
use session_core::session_storage::memory::MemoryStorage;
use session_core::{Config, Request, Session, SessionConfig, block_on, revocation};

const OPTIONS: &str =
    r#""secret":"bench","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0"#;

/// A revocation store and its `cache_ttl`.
type Revocation = (Arc<dyn DynStorage>, u64);

fn config(revocation: Option<Revocation>) -> SessionConfig {
    match revocation {
        None => Config::from_text(&format!("{{{OPTIONS}}}"))
            .unwrap()
            .build()
            .unwrap(),
        Some((store, cache_ttl)) => Config::from_text(&format!(
            r#"{{{OPTIONS},"revocation":{{"storage":"bench","cache_ttl":{cache_ttl}}}}}"#
        ))
        .unwrap()
        .builder()
        .revocation_storage(store)
        .build()
        .unwrap(),
    }
}

/// A saved session of subject `john` with 70 characters of data; its Cookie header.
fn cookie(config: &SessionConfig) -> String {
    let mut session = Session::new(config, Request::new());
    session.set_subject(Some("john")).unwrap();
    session.set("v", &"x".repeat(70)).unwrap();
    block_on(session.save()).unwrap();
    session.set_cookies()[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn open(c: &mut Criterion) {
    let shm: Arc<dyn DynStorage> = Arc::new(session_shm::ShmStorage::with_zone(
        session_shm::ShmZone::new("bench-revocations", 16 * 1024 * 1024),
        None,
        None,
    ));
    let cases: [(&str, Option<Revocation>); 4] = [
        ("off", None),
        ("memory-warm", Some((Arc::new(MemoryStorage::new()), 3600))),
        ("shm-warm", Some((shm.clone(), 3600))),
        ("shm-uncached", Some((shm, 0))),
    ];
    let mut g = c.benchmark_group("revocation");
    for (label, revocation) in cases {
        let with_store = revocation.is_some();
        let config = config(revocation);
        let header = cookie(&config);
        if with_store {
            // Another subject has a record, so the store is not empty.
            block_on(revocation::revoke_subject(&config, "mallory", None)).unwrap();
        }
        g.bench_function(format!("open+get/{label}"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
                block_on(s.open()).unwrap();
                s.get::<Value>("v").unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, open);
criterion_main!(benches);
