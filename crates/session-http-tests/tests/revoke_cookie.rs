//! Revocation of cookie sessions (issue 12, part 2) with the revocation store on shm, file,
//! redis, postgres, mysql, memcached and dshm, each configured as an application would
//! (`[revocation] storage = "<kind>"` plus its block, built by the facade's backend table).
//!
//! One scenario per store, with two "processes" (two configurations sharing the revocation
//! store, each with its own cache) and a shared fixed clock: lookups are cached (one store read
//! per subject and cache period), a revocation made by the other process is seen once the
//! period has passed, a revoked cookie is rejected ("revoked") while another subject's is not,
//! a sign-in after the revocation works, one session id can be revoked alone, and an audience
//! alone. Real servers: a store that cannot be reached fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "common/wrapped.rs"]
mod wrapped;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use resty_session::env::FixedClock;
use resty_session::{
    Backends, BoxedStorage, Config, DynStorage, Request, RevocationReason, Session, SessionConfig,
    revocation,
};
use session_testsupport::env;
use session_testsupport::names::unique;
use wrapped::Counting;

const CACHE_TTL: u64 = 5;

/// One process: its configuration (cookie storage, `audience`) and its revocation store's
/// read counter.
struct Process {
    config: SessionConfig,
    gets: Arc<AtomicUsize>,
}

impl Process {
    fn new(text: &Config, store: &Arc<dyn DynStorage>, clock: &Arc<FixedClock>, aud: &str) -> Self {
        let counting = Counting::new(BoxedStorage::from_arc(store.clone()));
        let gets = counting.gets.clone();
        let mut text = text.clone();
        text.audience = Some(aud.to_owned());
        let config = text
            .builder()
            .option_blocks(Backends::builtin().option_blocks())
            .revocation_storage(Arc::new(counting))
            .clock(clock.clone())
            .build()
            .unwrap();
        Self { config, gets }
    }

    fn reads(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    /// A new session of `subject`, saved; its `Cookie` header value and its id.
    async fn login(&self, subject: &str) -> (String, String) {
        let mut session = Session::new(&self.config, Request::new());
        session.set_subject(Some(subject)).unwrap();
        session.save().await.unwrap();
        let cookie = session.set_cookies()[0]
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let id = match session.get_property("id").unwrap() {
            Some(resty_session::Property::Text(id)) => id,
            other => panic!("no id: {other:?}"),
        };
        (cookie, id)
    }

    /// The open's error text, `None` when it opened.
    async fn open(&self, cookie: &str) -> Option<String> {
        let mut session = Session::new(&self.config, Request::new().with_cookie(cookie.to_owned()));
        session.open().await.err().map(|e| e.to_string())
    }
}

fn config(revocation_block: &str) -> Config {
    Config::from_text(&format!(
        "secret = \"revoke cookie sessions\"\n[revocation]\ncache_ttl = {CACHE_TTL}\n{revocation_block}"
    ))
    .unwrap()
}

async fn scenario(text: Config) {
    // Built by the facade from the `revocation` block, as `resty_session::build` does.
    let store = Backends::builtin()
        .revocation_storage(&text)
        .unwrap()
        .unwrap();
    assert!(resty_session::build(&text).unwrap().has_revocation());
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let a = Process::new(&text, &store, &clock, "shop");
    let b = Process::new(&text, &store, &clock, "shop");
    let (alice, bob) = (unique("alice"), unique("bob"));
    let (alice1, _) = a.login(&alice).await;
    let (bob1, _) = a.login(&bob).await;

    // Cached: one read per subject and period, however many opens.
    for _ in 0..5 {
        assert_eq!(b.open(&alice1).await, None);
    }
    assert_eq!(b.reads(), 1);
    assert_eq!(b.open(&bob1).await, None);
    assert_eq!(b.reads(), 2);

    // A revokes alice; A sees it at once, B once its cached lookup is older than the period.
    clock.advance(1);
    revocation::revoke_subject(&a.config, &alice, None)
        .await
        .unwrap();
    let err = a
        .open(&alice1)
        .await
        .expect("revoked in the revoking process");
    assert!(err.contains("revoked"), "{err}");
    assert_eq!(b.open(&alice1).await, None, "B's lookup is still cached");
    assert_eq!(b.reads(), 2);
    clock.advance(CACHE_TTL);
    let err = b.open(&alice1).await.expect("seen after the cache period");
    assert_eq!(
        err,
        format!("session revoked ({})", RevocationReason::Subject)
    );
    assert_eq!(b.reads(), 3);
    assert_eq!(b.open(&bob1).await, None, "another subject is not revoked");
    assert_eq!(b.reads(), 4);

    // A sign-in after the revocation opens; one session id can be revoked alone.
    let (alice2, id2) = a.login(&alice).await;
    let (alice3, _) = a.login(&alice).await;
    assert_eq!(a.open(&alice2).await, None);
    revocation::revoke_id(&a.config, &alice, &id2[..12])
        .await
        .unwrap();
    let err = a.open(&alice2).await.unwrap();
    assert_eq!(err, format!("session revoked ({})", RevocationReason::Id));
    assert_eq!(a.open(&alice3).await, None);
    assert!(
        a.open(&alice1).await.is_some(),
        "the earlier revocation stands"
    );

    // One audience alone: bob's blog session survives his shop revocation.
    let blog = Process::new(&text, &store, &clock, "blog");
    let (bob_blog, _) = blog.login(&bob).await;
    clock.advance(1);
    revocation::revoke_subject(&a.config, &bob, Some("shop"))
        .await
        .unwrap();
    clock.advance(CACHE_TTL);
    let err = b.open(&bob1).await.unwrap();
    assert_eq!(
        err,
        format!("session revoked ({})", RevocationReason::Audience)
    );
    assert_eq!(blog.open(&bob_blog).await, None);
}

#[tokio::test]
async fn revoke_cookie_sessions_on_shm() {
    scenario(config(&format!(
        "storage = \"shm\"\n[revocation.shm]\nzone = \"{}\"",
        unique("revocations")
    )))
    .await;
}

#[tokio::test]
async fn revoke_cookie_sessions_on_file() {
    let dir = tempfile::tempdir().unwrap();
    scenario(config(&format!(
        "storage = \"file\"\n[revocation.file]\npath = {:?}",
        dir.path().to_str().unwrap()
    )))
    .await;
}

fn redis_block(url: &str) -> String {
    let rest = url.trim_start_matches("redis://");
    let rest = rest.rsplit('@').next().unwrap();
    let hostport = rest.split('/').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    format!("host = \"{host}\"\nport = {port}")
}

/// Needs Redis: `SESSION_REDIS_URL` (default `redis://127.0.0.1:6379`).
#[tokio::test]
async fn revoke_cookie_sessions_on_redis() {
    scenario(config(&format!(
        "storage = \"redis\"\n[revocation.redis]\nprefix = \"{}\"\n{}",
        unique("revocations"),
        redis_block(&env::redis_url())
    )))
    .await;
}

/// The facade reports a revocation block it cannot build under `revocation`, and the engine
/// refuses a revocation on cookie storage or with a stray block.
#[tokio::test]
async fn invalid_revocation_blocks_are_refused() {
    let err = resty_session::build(&config("storage = \"cassandra\"")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid `revocation`: unknown storage \"cassandra\""),
        "{err}"
    );
    let err = resty_session::build(&config("storage = \"cookie\"")).unwrap_err();
    assert!(err.to_string().contains("revocation.storage"), "{err}");
    let err = resty_session::build(&config("storage = \"shm\"\ncache_tll = 3")).unwrap_err();
    assert!(
        err.to_string().contains("did you mean `cache_ttl`"),
        "{err}"
    );
}

async fn on_backend(backend: &str, options: serde_json::Value) {
    let mut text = config(&format!("storage = \"{backend}\""));
    text.revocation
        .as_mut()
        .unwrap()
        .backends
        .insert(backend.into(), options);
    scenario(text).await;
}

/// Needs PostgreSQL: `SESSION_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
#[tokio::test]
async fn revoke_cookie_sessions_on_postgres() {
    let table = unique("revocations");
    let options = resty_session::postgres::PostgresConfig::from_url(&env::postgres_url())
        .unwrap()
        .with_tables(table.clone(), None);
    let store = resty_session::postgres::PostgresStorage::from_config(options.clone()).unwrap();
    store
        .create_schema()
        .await
        .expect("a PostgreSQL server at SESSION_PG_URL");
    on_backend("postgres", serde_json::to_value(&options).unwrap()).await;
    let client = store.connection().await.unwrap();
    client
        .batch_execute(&format!("DROP TABLE {table}_meta; DROP TABLE {table}"))
        .await
        .unwrap();
}

/// Needs MariaDB or MySQL: `SESSION_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`).
#[tokio::test]
async fn revoke_cookie_sessions_on_mysql() {
    let table = unique("revocations");
    let options = resty_session::mysql::MysqlConfig::from_url(&env::mysql_url())
        .unwrap()
        .with_tables(table.clone(), None);
    let store = resty_session::mysql::MysqlStorage::from_config(options.clone()).unwrap();
    store
        .create_schema()
        .await
        .expect("a MariaDB server at SESSION_MYSQL_URL");
    on_backend("mysql", serde_json::to_value(&options).unwrap()).await;
    let mut conn = store.connection().await.unwrap();
    resty_session::mysql::mysql_async::prelude::Queryable::query_drop(
        &mut conn,
        format!("DROP TABLE {table}_meta, {table}"),
    )
    .await
    .unwrap();
}

/// A revocation record lives until every session created before it has passed its absolute
/// timeout (here the remember cookie's 30 days), then the file store's own cleanup sweeps it.
#[tokio::test]
async fn the_file_store_cleanup_sweeps_expired_revocation_records() {
    let dir = tempfile::tempdir().unwrap();
    let files = resty_session::file::FileStorage::from_config(
        resty_session::file::FileConfig::default().with_path(dir.path()),
    )
    .unwrap();
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let config = Config::from_text("secret = \"revoke cookie sessions\"")
        .unwrap()
        .builder()
        .revocation_storage(Arc::new(files.clone()))
        .clock(clock.clone())
        .build()
        .unwrap();
    revocation::revoke_subject(&config, "alice", None)
        .await
        .unwrap();
    let name = format!("{}-revocation", config.cookie_name());
    let now = 1_700_000_000;
    assert_eq!(files.cleanup(&name, now + 2_592_000).await.unwrap(), 0);
    assert_eq!(files.cleanup(&name, now + 2_592_001).await.unwrap(), 1);
}

/// Needs memcached: `SESSION_MEMCACHED_ADDR` (default `127.0.0.1:11211`, which
/// `cargo xtask services start` starts).
#[tokio::test]
async fn revoke_cookie_sessions_on_memcached() {
    let addr = env::memcached_addr();
    let options =
        resty_session::memcached::MemcachedConfig::from_url(&format!("memcache://{addr}"))
            .unwrap()
            .with_prefix(unique("revocations"));
    on_backend("memcached", serde_json::to_value(&options).unwrap()).await;
}

/// The in-process DSHM server session-dshm's tests use.
#[path = "../../session-dshm/tests/support/server.rs"]
mod dshm_server;

#[tokio::test]
async fn revoke_cookie_sessions_on_dshm() {
    let server = dshm_server::TestServer::start();
    let options = resty_session::dshm::DshmConfig::from_url(&format!(
        "dshm://127.0.0.1:{}?prefix={}",
        server.port(),
        unique("revocations")
    ))
    .unwrap();
    on_backend("dshm", serde_json::to_value(&options).unwrap()).await;
}
