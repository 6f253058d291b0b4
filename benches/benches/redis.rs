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
//! Criterion measures each of these on its own, one after the other; on a small machine that
//! also runs the Redis server, the load drifts between benchmarks by 10-30 %, which is as large
//! as the differences being measured. So the run ends with a **paired** comparison
//! (`paired/...`): many short rounds, each timing raw batches and engine batches back to back in
//! alternating order, so drift hits both sides alike; it prints the median and the middle half
//! of the per-round ratios engine ÷ raw. It runs when no filter is given or the filter names
//! `paired`.
//!
//! Run: `cargo bench -p session-benches --bench redis` (only the paired comparison:
//! `cargo bench -p session-benches --bench redis -- paired`).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group};
use serde_json::Value;
use session_benches::{batches, paired, paired_wanted};
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

/// One raw `GET` of `record` through the store's pool (checkout included).
async fn raw_get(store: RedisStorage, record: String) {
    let mut conn = store.connection().await.unwrap();
    let v: Option<Vec<u8>> = redis::cmd("GET")
        .arg(&record)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(v.is_some());
}

/// One raw `SET key value EX 60` through the store's pool, task `i` writing its own key.
async fn raw_set_ex(store: RedisStorage, value: String, i: usize) {
    let key = store
        .layout()
        .record_key("session", &format!("{}{i:02}", &KEY[..41]));
    let mut conn = store.connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg(&key)
        .arg(&value)
        .arg("EX")
        .arg(60)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// The engine opening the session whose cookies are `header` and reading its value.
async fn engine_open(config: SessionConfig, header: String) {
    let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
    s.open().await.unwrap();
    assert!(s.get::<Value>("v").unwrap().is_some());
}

/// The engine saving a new session holding `value`.
async fn engine_save(config: SessionConfig, value: Value) {
    let mut s = Session::new(&config, Request::new());
    s.set("v", &value).unwrap();
    s.save().await.unwrap();
}

/// What every measurement shares: the runtime, the store, the engine's configuration, the
/// session value, and a stored record of the engine's size under the key [`KEY`].
struct Fixture {
    rt: Runtime,
    store: RedisStorage,
    config: SessionConfig,
    value: Value,
    stored: String,
    record: String,
}

impl Fixture {
    fn new() -> Self {
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
        Self {
            rt,
            store,
            config,
            value,
            stored,
            record,
        }
    }
}

fn redis_bench(c: &mut Criterion) {
    let Fixture {
        rt,
        store,
        config,
        value,
        stored,
        record,
    } = Fixture::new();

    let mut g = c.benchmark_group("redis");
    for tasks in [1_usize, 32] {
        g.bench_function(format!("raw-get/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    raw_get(store.clone(), record.clone())
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
        let hdr = save_one(&rt, &config, &value);
        g.bench_function(format!("engine-open/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    engine_open(config.clone(), hdr.clone())
                })
            });
        });
        g.bench_function(format!("raw-set-ex/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |i| {
                    raw_set_ex(store.clone(), stored.clone(), i)
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
        g.bench_function(format!("engine-save/{tasks}"), |b| {
            b.iter_custom(|iters| {
                batches(&rt, iters, tasks, |_| {
                    engine_save(config.clone(), value.clone())
                })
            });
        });
    }
    g.finish();
}

fn paired_report() {
    if !paired_wanted() {
        return;
    }
    let Fixture {
        rt,
        store,
        config,
        value,
        stored,
        record,
    } = Fixture::new();
    let hdr = save_one(&rt, &config, &value);
    for tasks in [1_usize, 32] {
        let open = paired(
            &rt,
            tasks,
            |_| raw_get(store.clone(), record.clone()),
            |_| engine_open(config.clone(), hdr.clone()),
        );
        let save = paired(
            &rt,
            tasks,
            |i| raw_set_ex(store.clone(), stored.clone(), i),
            |_| engine_save(config.clone(), value.clone()),
        );
        open.report(
            &format!("redis/paired/{tasks:<2} engine-open ÷ raw-get   "),
            1.2,
        );
        save.report(
            &format!("redis/paired/{tasks:<2} engine-save ÷ raw-set-ex"),
            1.3,
        );
    }
}

criterion_group!(benches, redis_bench);

fn main() {
    benches();
    paired_report();
    Criterion::default().configure_from_args().final_summary();
}
