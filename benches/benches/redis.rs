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

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
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

/// Engine ÷ raw ratios from paired rounds: each round times `BATCHES` raw batches and
/// `BATCHES` engine batches back to back (which goes first alternates), so the machine's drift
/// hits both sides of a round alike. Returns the 25th, 50th and 75th percentiles of the
/// per-round ratios and the median batch times.
fn paired<R, RF, E, EF>(rt: &Runtime, tasks: usize, raw: R, engine: E) -> [f64; 5]
where
    R: Fn(usize) -> RF,
    RF: Future<Output = ()> + Send + 'static,
    E: Fn(usize) -> EF,
    EF: Future<Output = ()> + Send + 'static,
{
    const ROUNDS: usize = 150;
    const BATCHES: u64 = 16;
    // Warm both paths (connections, caches) before measuring.
    batches(rt, BATCHES * 4, tasks, &raw);
    batches(rt, BATCHES * 4, tasks, &engine);
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut raws, mut engines) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (r, e) = if round % 2 == 0 {
            let r = batches(rt, BATCHES, tasks, &raw);
            (r, batches(rt, BATCHES, tasks, &engine))
        } else {
            let e = batches(rt, BATCHES, tasks, &engine);
            (batches(rt, BATCHES, tasks, &raw), e)
        };
        ratios.push(e.as_secs_f64() / r.as_secs_f64());
        raws.push(r.as_secs_f64() / BATCHES as f64);
        engines.push(e.as_secs_f64() / BATCHES as f64);
    }
    let pick = |v: &mut Vec<f64>, q: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) * q / 100]
    };
    [
        pick(&mut ratios, 25),
        pick(&mut ratios, 50),
        pick(&mut ratios, 75),
        pick(&mut raws, 50) * 1e6,
        pick(&mut engines, 50) * 1e6,
    ]
}

/// Whether the command line asks for the paired comparison: no filter at all, or a filter
/// naming `paired` (option values such as `--measurement-time 5` are not filters).
fn paired_wanted() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return false;
    }
    let filters: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    filters.is_empty() || filters.iter().any(|f| f.contains("paired"))
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
        for (what, target, [p25, p50, p75, raw, engine]) in [
            ("engine-open ÷ raw-get   ", 1.2, open),
            ("engine-save ÷ raw-set-ex", 1.3, save),
        ] {
            eprintln!(
                "redis/paired/{tasks:<2} {what}: median {p50:.3} (middle half {p25:.3}–{p75:.3}; \
                 target ≤ {target}); median batch raw {raw:.1} µs, engine {engine:.1} µs"
            );
        }
    }
}

criterion_group!(benches, redis_bench);

fn main() {
    benches();
    paired_report();
    Criterion::default().configure_from_args().final_summary();
}
