//! The other networked stores against their local servers: PostgreSQL (`SESSION_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`), MariaDB / MySQL (`SESSION_MYSQL_URL`,
//! default `mysql://root@127.0.0.1:3306/test`) and memcached (`SESSION_MEMCACHED_ADDR`,
//! default `127.0.0.1:11211`).
//!
//! For each store, with 1 task and with 32 concurrent tasks (an iteration's time is the
//! whole batch):
//! - `raw-get` / `raw-set`: the store's own read / write statement (or memcached command)
//!   sent by hand through the store's pool, checkout included: the floor (the SQL writes
//!   insert a new row each time, as the engine's saves of new sessions do);
//! - `engine-open` / `engine-save`: the session engine opening a saved session (cookie
//!   parse, read, decrypt) and saving a new one (encrypt, write), `store_metadata` off.
//!
//! The SQL stores run on tables of their own (`bench_sessions_<pid>`), dropped at the end.
//! As in the Redis benchmark, the run ends with paired comparisons (`paired/...`, see
//! `session_benches::paired`), printed when no filter is given or the filter names `paired`.
//!
//! Run: `cargo bench -p session-benches --bench stores`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group};
use serde_json::Value;
use session_benches::{batches, paired, paired_wanted};
use session_core::env::FixedClock;
use session_core::{Config, Request, Session, SessionConfig};
use session_memcached::{MemcachedConfig, MemcachedStorage};
use session_mysql::mysql_async::prelude::Queryable;
use session_mysql::{MysqlConfig, MysqlStorage};
use session_pg::{PostgresConfig, PostgresStorage};
use session_storage::DynStorage;
use tokio::runtime::Runtime;

const NOW: i64 = 1_700_000_000;
/// A stored record of the engine's size (about 200 bytes).
fn stored() -> String {
    format!("[\"{}\"]", "A".repeat(190))
}

type Op = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One store under test: its engine configuration, a raw read and a raw write of a record
/// of the engine's size, and what to do at the end.
struct Bench {
    label: &'static str,
    config: SessionConfig,
    raw_get: Op,
    raw_set: Op,
    teardown: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

fn engine_config(store: Arc<dyn DynStorage>) -> SessionConfig {
    let config: Config = serde_json::from_str(
        r#"{"secret":"bench","idling_timeout":0,"rolling_timeout":60,"absolute_timeout":0,"storage":"bench"}"#,
    )
    .unwrap();
    config
        .builder()
        .clock(Arc::new(FixedClock::new(NOW.unsigned_abs())))
        .dyn_storage(store)
        .build()
        .unwrap()
}

/// 43 characters, distinct per task.
fn key(i: usize) -> String {
    format!("{}{i:03}", "B".repeat(40))
}

/// 43 characters, never the same twice in a run: the raw SQL writes insert a new row each
/// time, as the engine's saves do (rewriting a row with the same value is a no-op for
/// InnoDB, no log flush, and would flatter the floor).
fn fresh_key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("C{:042}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn postgres(rt: &Runtime) -> Bench {
    let url = std::env::var("SESSION_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let table = format!("bench_sessions_{}", std::process::id());
    let mut options = PostgresConfig::from_url(&url)
        .unwrap()
        .with_tables(table.clone(), None);
    options.pool_size = Some(32);
    let store = PostgresStorage::from_config(options).unwrap();
    rt.block_on(store.create_schema())
        .expect("a PostgreSQL server at SESSION_PG_URL");
    let get_sql = format!(
        "SELECT data FROM {table} WHERE sid = $1 AND exp >= TO_TIMESTAMP($2) AT TIME ZONE 'UTC'"
    );
    let set_sql = format!(
        "INSERT INTO {table} (sid, name, data, exp) VALUES ($1, $2, $3, TO_TIMESTAMP($4) AT TIME \
         ZONE 'UTC') ON CONFLICT (sid) DO UPDATE SET data = EXCLUDED.data, exp = EXCLUDED.exp"
    );
    let (s, sql) = (store.clone(), set_sql.clone());
    rt.block_on(async move {
        let c = s.connection().await.unwrap();
        let st = c.prepare_cached(&sql).await.unwrap();
        c.execute(
            &st,
            &[&key(0), &"session", &stored(), &((NOW + 600) as f64)],
        )
        .await
        .unwrap();
    });
    let s = store.clone();
    let raw_get: Op = Arc::new(move |_| {
        let (s, sql) = (s.clone(), get_sql.clone());
        Box::pin(async move {
            let c = s.connection().await.unwrap();
            let st = c.prepare_cached(&sql).await.unwrap();
            let row = c.query_opt(&st, &[&key(0), &(NOW as f64)]).await.unwrap();
            assert!(row.is_some());
        })
    });
    let s = store.clone();
    let raw_set: Op = Arc::new(move |_| {
        let (s, sql) = (s.clone(), set_sql.clone());
        Box::pin(async move {
            let c = s.connection().await.unwrap();
            let st = c.prepare_cached(&sql).await.unwrap();
            c.execute(
                &st,
                &[&fresh_key(), &"session", &stored(), &((NOW + 60) as f64)],
            )
            .await
            .unwrap();
        })
    });
    let s = store.clone();
    Bench {
        label: "postgres",
        config: engine_config(Arc::new(store)),
        raw_get,
        raw_set,
        teardown: Some(Box::pin(async move {
            let c = s.connection().await.unwrap();
            c.batch_execute(&format!("DROP TABLE {table}_meta; DROP TABLE {table}"))
                .await
                .unwrap();
        })),
    }
}

fn mysql(rt: &Runtime) -> Bench {
    let url = std::env::var("SESSION_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let table = format!("bench_sessions_{}", std::process::id());
    let mut options = MysqlConfig::from_url(&url)
        .unwrap()
        .with_tables(table.clone(), None);
    options.pool_size = Some(32);
    let store = MysqlStorage::from_config(options).unwrap();
    rt.block_on(store.create_schema())
        .expect("a MariaDB server at SESSION_MYSQL_URL");
    let get_sql = format!("SELECT data FROM {table} WHERE sid = ? AND exp >= FROM_UNIXTIME(?)");
    let set_sql = format!(
        "INSERT INTO {table} (sid, name, data, exp) VALUES (?, ?, ?, FROM_UNIXTIME(?)) \
         ON DUPLICATE KEY UPDATE data = VALUES(data)"
    );
    let (s, sql) = (store.clone(), set_sql.clone());
    rt.block_on(async move {
        let mut c = s.connection().await.unwrap();
        c.exec_drop(&sql, (key(0), "session", stored(), NOW + 600))
            .await
            .unwrap();
    });
    let s = store.clone();
    let raw_get: Op = Arc::new(move |_| {
        let (s, sql) = (s.clone(), get_sql.clone());
        Box::pin(async move {
            let mut c = s.connection().await.unwrap();
            let row: Option<String> = c.exec_first(&sql, (key(0), NOW)).await.unwrap();
            assert!(row.is_some());
        })
    });
    let s = store.clone();
    let raw_set: Op = Arc::new(move |_| {
        let (s, sql) = (s.clone(), set_sql.clone());
        Box::pin(async move {
            let mut c = s.connection().await.unwrap();
            c.exec_drop(&sql, (fresh_key(), "session", stored(), NOW + 60))
                .await
                .unwrap();
        })
    });
    let s = store.clone();
    Bench {
        label: "mysql",
        config: engine_config(Arc::new(store)),
        raw_get,
        raw_set,
        teardown: Some(Box::pin(async move {
            let mut c = s.connection().await.unwrap();
            c.query_drop(format!("DROP TABLE {table}_meta, {table}"))
                .await
                .unwrap();
        })),
    }
}

fn memcached(rt: &Runtime) -> Bench {
    let addr = std::env::var("SESSION_MEMCACHED_ADDR").unwrap_or_else(|_| "127.0.0.1:11211".into());
    let mut options = MemcachedConfig::from_url(&format!("memcache://{addr}"))
        .unwrap()
        .with_prefix(format!("bench{}", std::process::id()));
    options.pool_size = Some(32);
    let store = MemcachedStorage::from_config(options).unwrap();
    let record = store.record_wire_key("session", &key(0));
    let (s, r) = (store.clone(), record.clone());
    rt.block_on(async move {
        let mut c = s
            .connection()
            .await
            .expect("a memcached at SESSION_MEMCACHED_ADDR");
        c.set(&r, 600, stored().as_bytes()).await.unwrap();
    });
    let s = store.clone();
    let raw_get: Op = Arc::new(move |_| {
        let (s, r) = (s.clone(), record.clone());
        Box::pin(async move {
            let mut c = s.connection().await.unwrap();
            assert!(c.get(&r).await.unwrap().is_some());
        })
    });
    let s = store.clone();
    let raw_set: Op = Arc::new(move |i| {
        let s = s.clone();
        Box::pin(async move {
            let k = s.record_wire_key("session", &key(i));
            let mut c = s.connection().await.unwrap();
            c.set(&k, 60, stored().as_bytes()).await.unwrap();
        })
    });
    Bench {
        label: "memcached",
        config: engine_config(Arc::new(store)),
        raw_get,
        raw_set,
        teardown: None,
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Saves a new session and returns the Cookie header a browser would send back.
fn cookie_of_saved(rt: &Runtime, config: &SessionConfig) -> String {
    rt.block_on(async {
        let mut s = Session::new(config, Request::new());
        s.set("v", &"x".repeat(70)).unwrap();
        s.save().await.unwrap();
        s.set_cookies()
            .iter()
            .map(|c| c.split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn engine_open(config: &SessionConfig, header: &str) -> Op {
    let (config, header) = (config.clone(), header.to_owned());
    Arc::new(move |_| {
        let (config, header) = (config.clone(), header.clone());
        Box::pin(async move {
            let mut s = Session::new(&config, Request::new().with_cookie(header.as_bytes()));
            s.open().await.unwrap();
            assert!(s.get::<Value>("v").unwrap().is_some());
        })
    })
}

fn engine_save(config: &SessionConfig) -> Op {
    let config = config.clone();
    Arc::new(move |_| {
        let config = config.clone();
        Box::pin(async move {
            let mut s = Session::new(&config, Request::new());
            s.set("v", &"x".repeat(70)).unwrap();
            s.save().await.unwrap();
        })
    })
}

fn call(op: &Op) -> impl Fn(usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + '_ {
    move |i| op(i)
}

fn stores_bench(c: &mut Criterion) {
    let rt = runtime();
    let benches = [postgres(&rt), mysql(&rt), memcached(&rt)];
    let mut g = c.benchmark_group("stores");
    for b in &benches {
        let header = cookie_of_saved(&rt, &b.config);
        let (open, save) = (engine_open(&b.config, &header), engine_save(&b.config));
        for tasks in [1_usize, 32] {
            let label = b.label;
            for (name, op) in [
                ("raw-get", &b.raw_get),
                ("engine-open", &open),
                ("raw-set", &b.raw_set),
                ("engine-save", &save),
            ] {
                g.bench_function(format!("{name}/{label}/{tasks}"), |bench| {
                    bench.iter_custom(|iters| batches(&rt, iters, tasks, call(op)));
                });
            }
        }
    }
    g.finish();
    if paired_wanted() {
        for b in &benches {
            let header = cookie_of_saved(&rt, &b.config);
            let (open, save) = (engine_open(&b.config, &header), engine_save(&b.config));
            for tasks in [1_usize, 32] {
                let label = b.label;
                paired(&rt, tasks, call(&b.raw_get), call(&open)).report(
                    &format!("stores/paired/{label}/{tasks:<2} engine-open ÷ raw-get"),
                    1.2,
                );
                paired(&rt, tasks, call(&b.raw_set), call(&save)).report(
                    &format!("stores/paired/{label}/{tasks:<2} engine-save ÷ raw-set"),
                    1.3,
                );
            }
        }
    }
    for b in benches {
        if let Some(teardown) = b.teardown {
            rt.block_on(teardown);
        }
    }
}

criterion_group!(benches, stores_bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
