//! Redis benchmarks against the local single instance (`SESSION_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), in one run so the ratios are visible:
//!
//! - `raw-get` / `raw-set-ex`: one `GET` / one `SET key value EX 60` through the store's pool
//!   (checkout included), the floor the store is measured against;
//! - `store-get` / `store-set`: `RedisStorage::get` / `RedisStorage::set` (fast path: no old key,
//!   no metadata), the same single command plus key building and error mapping;
//! - `engine-open` / `engine-save`: the session engine opening a saved session (cookie parse,
//!   `GET`, decrypt) and saving a new one (encrypt, `SET EX`), `store_metadata` off.
//!
//! Each runs with 1 task and with 32 concurrent tasks (one operation each per iteration, on a
//! multi-threaded Tokio runtime); an iteration's time is the time for the whole batch.
//! Records are written under the prefix `bench` with a 60 s TTL, so nothing lingers.
//!
//! Run: `cargo bench -p session-benches --bench redis`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use session_core::env::FixedClock;
use session_core::{Config, Request, Session, SessionConfig};
use session_redis::{RedisStorage, redis};
use session_storage::{SetRequest, Storage};
use tokio::runtime::Runtime;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// Rolling timeout 60 s, so every record the engine writes has a 60 s TTL.
const CONFIG: &str = r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":60,"absolute_timeout":0,"storage":"redis"}"#;

fn store() -> RedisStorage {
    let url =
        std::env::var("SESSION_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let sep = if url.contains('?') { '&' } else { '?' };
    RedisStorage::from_url(&format!(
        "{url}{sep}prefix=bench&connect_timeout=2000&pool_size=32"
    ))
    .expect("SESSION_REDIS_URL")
}

fn engine_config(store: &RedisStorage) -> SessionConfig {
    let config: Config = serde_json::from_str(CONFIG).unwrap();
    config
        .builder()
        .clock(Arc::new(FixedClock::new(1_700_000_000)))
        .storage(store.clone())
        .build()
        .unwrap()
}

fn cookie_header(session: &Session) -> String {
    session
        .set_cookies()
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Saves a new session holding `value` and returns the Cookie header a browser would send.
fn save_one(rt: &Runtime, config: &SessionConfig, value: &Value) -> String {
    rt.block_on(async {
        let mut s = Session::new(config, Request::new());
        s.set("v", value).unwrap();
        s.save().await.unwrap();
        cookie_header(&s)
    })
}

/// Runs `iters` batches of `tasks` concurrent `op(i)` calls and returns the total time.
fn batches<F, Fut>(rt: &Runtime, iters: u64, tasks: usize, op: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            if tasks == 1 {
                op(0).await;
            } else {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..tasks {
                    set.spawn(op(i));
                }
                while let Some(done) = set.join_next().await {
                    done.unwrap();
                }
            }
        }
        start.elapsed()
    })
}

fn redis_bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = store();
    rt.block_on(store.ping())
        .expect("a Redis server to benchmark against");
    let config = engine_config(&store);
    let value = Value::String("x".repeat(70));
    // A stored value of the engine's size (about 200 bytes).
    let stored = format!("[\"{}\"]", "A".repeat(190));
    rt.block_on(store.set(&SetRequest::new(
        "session",
        KEY,
        &stored,
        600,
        1_700_000_000,
    )))
    .unwrap();
    let record = store.layout().record_key("session", KEY);

    let mut g = c.benchmark_group("redis");
    for tasks in [1_usize, 32] {
        let s = store.clone();
        let rec = record.clone();
        g.bench_function(format!("raw-get/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    let (s, rec) = (s.clone(), rec.clone());
                    async move {
                        let mut conn = s.connection().await.unwrap();
                        let v: Option<Vec<u8>> = redis::cmd("GET")
                            .arg(&rec)
                            .query_async(&mut conn)
                            .await
                            .unwrap();
                        assert!(v.is_some());
                    }
                })
            });
        });
        let s = store.clone();
        g.bench_function(format!("store-get/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    let s = s.clone();
                    async move {
                        assert!(
                            s.get("session", KEY, 1_700_000_000)
                                .await
                                .unwrap()
                                .is_some()
                        );
                    }
                })
            });
        });
        // Saved just before it is measured: records live 60 s.
        let (cfg, hdr) = (config.clone(), save_one(&rt, &config, &value));
        g.bench_function(format!("engine-open/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    let (cfg, hdr) = (cfg.clone(), hdr.clone());
                    async move {
                        let mut s = Session::new(&cfg, Request::new().with_cookie(hdr.as_bytes()));
                        s.open().await.unwrap();
                        assert!(s.get::<Value>("v").unwrap().is_some());
                    }
                })
            });
        });
        let (s, val) = (store.clone(), stored.clone());
        g.bench_function(format!("raw-set-ex/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |i| {
                    let (s, val) = (s.clone(), val.clone());
                    async move {
                        let key = s
                            .layout()
                            .record_key("session", &format!("{}{i:02}", &KEY[..41]));
                        let mut conn = s.connection().await.unwrap();
                        let () = redis::cmd("SET")
                            .arg(&key)
                            .arg(&val)
                            .arg("EX")
                            .arg(60)
                            .query_async(&mut conn)
                            .await
                            .unwrap();
                    }
                })
            });
        });
        let (s, val) = (store.clone(), stored.clone());
        g.bench_function(format!("store-set/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |i| {
                    let (s, val) = (s.clone(), val.clone());
                    async move {
                        let key = format!("{}{i:02}", &KEY[..41]);
                        s.set(&SetRequest::new("session", &key, &val, 60, 1_700_000_000))
                            .await
                            .unwrap();
                    }
                })
            });
        });
        let cfg = config.clone();
        let v = value.clone();
        g.bench_function(format!("engine-save/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    let (cfg, v) = (cfg.clone(), v.clone());
                    async move {
                        let mut s = Session::new(&cfg, Request::new());
                        s.set("v", &v).unwrap();
                        s.save().await.unwrap();
                    }
                })
            });
        });
    }
    g.finish();
}

criterion_group!(benches, redis_bench);
criterion_main!(benches);
