//! Engine benchmarks on server-side storage, beside cookie storage in the same run: the same
//! 100-byte session opened (`open+get`), saved fresh (`new+set+save`) and opened then saved
//! again (`open+save`, a rolling request: new id, old record kept for `stale_ttl`), with
//! cookie storage, the in-process shm store and the file store (a temporary directory).
//!
//! Every case runs under one current-thread Tokio runtime (`Runtime::block_on`), as a
//! server would; the file store hands its I/O to Tokio's blocking pool. The clock is fixed so
//! records never expire during a run.
//!
//! Run: `cargo bench -p session-benches --bench storage`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use session_core::env::FixedClock;
use session_core::{Config, Request, Session, SessionConfig};
use session_file::{FileConfig, FileStorage};
use session_shm::{ShmStorage, ShmZone};
use tokio::runtime::Runtime;

const CONFIG: &str =
    r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":0,"absolute_timeout":0}"#;

/// A string of `len` characters that deflates like real text (as in `engine.rs`).
fn text(len: usize) -> String {
    let mut s = String::with_capacity(len);
    let mut i = 7u32;
    while s.len() < len {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        s.push(char::from(b'a' + u8::try_from((i >> 16) % 26).unwrap()));
        if i.is_multiple_of(5) {
            s.push(' ');
        }
    }
    s
}

/// The Cookie header a browser would send back after `session` was saved.
fn cookie_header(session: &Session) -> String {
    session
        .set_cookies()
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

enum Backend {
    Cookie,
    Shm,
    File(tempfile::TempDir),
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Shm => "shm",
            Self::File(_) => "file",
        }
    }

    fn config(&self) -> SessionConfig {
        let config: Config = serde_json::from_str(CONFIG).unwrap();
        let builder = config
            .builder()
            .clock(Arc::new(FixedClock::new(1_700_000_000)));
        match self {
            Self::Cookie => builder.build().unwrap(),
            Self::Shm => builder
                .storage(ShmStorage::with_zone(
                    ShmZone::new("bench", 256 * 1024 * 1024),
                    None,
                    None,
                ))
                .build()
                .unwrap(),
            Self::File(dir) => builder
                .storage(
                    FileStorage::from_config(FileConfig::default().with_path(dir.path())).unwrap(),
                )
                .build()
                .unwrap(),
        }
    }
}

fn storage(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let value = Value::String(text(70));
    let backends = [
        Backend::Cookie,
        Backend::Shm,
        Backend::File(tempfile::tempdir().unwrap()),
    ];
    let mut g = c.benchmark_group("storage");
    for backend in &backends {
        let label = backend.label();
        let config = backend.config();
        // A session saved just before each case that opens one: the save cases fill the
        // store, and the shm zone evicts its least recently used records when full.
        let fresh = || cookie_header(&save_one(&rt, &config, &value));
        let header = fresh();
        g.bench_function(format!("open+get/{label}/100B"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
                rt.block_on(s.open()).unwrap();
                s.get::<Value>("v").unwrap()
            })
        });
        g.bench_function(format!("new+set+save/{label}/100B"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new());
                s.set("v", black_box(&value)).unwrap();
                rt.block_on(s.save()).unwrap();
                s
            })
        });
        let header = fresh();
        g.bench_function(format!("open+save/{label}/100B"), |b| {
            b.iter(|| {
                let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
                rt.block_on(s.open()).unwrap();
                rt.block_on(s.save()).unwrap();
                s
            })
        });
    }
    g.finish();
}

fn save_one(rt: &Runtime, config: &SessionConfig, value: &Value) -> Session {
    let mut session = Session::new(config, Request::new());
    session.set("v", value).unwrap();
    rt.block_on(session.save()).unwrap();
    session
}

criterion_group!(benches, storage);
criterion_main!(benches);
