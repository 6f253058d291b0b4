//! Log out everywhere (issue 12, part 1) on every store that keeps metadata indexes, each
//! configured as an application would (`storage = "<kind>"` plus its block, through
//! `resty_session::build`): shm, file, redis single, sentinel and cluster, postgres and mysql
//! (tables of their own, dropped after), memcached and dshm (the in-process test server).
//!
//! One scenario per store: subject A holds three sessions (two in `shop`, one in `blog`),
//! subject B one (in `shop`). List them, revoke one by its short id, revoke the rest, and check
//! that the revoked cookies no longer open while B's still does. Real servers: a store that
//! cannot be reached fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use resty_session::env::FixedClock;
use resty_session::{
    AdminError, Backends, Config, DynStorage, Request, Session, SessionConfig, admin,
};
use session_testsupport::env;
use session_testsupport::names::unique;

fn config(extra: &str) -> Config {
    Config::from_text(&format!(
        "secret = \"revoke everywhere\"\nstore_metadata = true\n{extra}"
    ))
    .unwrap()
}

/// A new session of `subject` in `audience`, saved; returns its `Cookie` header value.
async fn login(config: &SessionConfig, subject: &str) -> String {
    let mut session = Session::new(config, Request::new());
    let audience = config.audience();
    session.set_subject(Some(subject)).unwrap();
    session.set("device", &audience).unwrap();
    session.save().await.unwrap();
    session.set_cookies()[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn opens(config: &SessionConfig, cookie: &str) -> bool {
    resty_session::open(config, Request::new().with_cookie(cookie.to_owned()))
        .await
        .exists
}

/// The configuration with `audience`, on `store` (one store for every audience, as one
/// application process would share it).
fn with_audience(config: &Config, store: &Arc<dyn DynStorage>, audience: &str) -> SessionConfig {
    let mut config = config.clone();
    config.audience = Some(audience.to_owned());
    config
        .builder()
        .option_blocks(Backends::builtin().option_blocks())
        .dyn_storage(store.clone())
        .build()
        .unwrap()
}

async fn scenario(config: Config) {
    let store = resty_session::storage_from_config(&config)
        .unwrap()
        .unwrap();
    let shop = with_audience(&config, &store, "shop");
    let blog = with_audience(&config, &store, "blog");
    let config = with_audience(&config, &store, "default");
    let (a, b) = (unique("alice"), unique("bob"));
    let a_shop1 = login(&shop, &a).await;
    let a_shop2 = login(&shop, &a).await;
    let a_blog = login(&blog, &a).await;
    let b_shop = login(&shop, &b).await;
    for cookie in [&a_shop1, &a_shop2, &b_shop] {
        assert!(opens(&shop, cookie).await);
    }
    assert!(opens(&blog, &a_blog).await);
    let now = i64::try_from(config.now()).unwrap();
    let both = ["shop", "blog"];

    // List: per audience, and across audiences.
    let in_shop = admin::list_sessions(&config, &a, &["shop"]).await.unwrap();
    assert_eq!(in_shop.len(), 2);
    assert!(
        in_shop
            .iter()
            .all(|s| s.audience() == "shop" && !s.is_remember())
    );
    assert!(
        in_shop
            .iter()
            .all(|s| s.expires() > now && s.key().len() == 43)
    );
    let all = admin::list_sessions(&config, &a, &both).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|s| s.audience() == "blog").count(), 1);
    assert_eq!(
        admin::list_sessions(&config, &b, &both)
            .await
            .unwrap()
            .len(),
        1
    );
    // The configured audience ("default") holds none of them.
    assert!(
        admin::list_sessions(&config, &a, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // Revoke the blog session by its short id.
    let in_blog = all.iter().find(|s| s.audience() == "blog").unwrap();
    let revoked = admin::revoke_session(&config, &a, &both, in_blog.short_id())
        .await
        .unwrap();
    assert_eq!(revoked.key(), in_blog.key());
    assert!(!opens(&blog, &a_blog).await, "a revoked session opens");
    assert!(opens(&shop, &a_shop1).await && opens(&shop, &a_shop2).await);
    let left = admin::list_sessions(&config, &a, &both).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|s| s.key() != in_blog.key()));
    let again = admin::revoke_session(&config, &a, &both, in_blog.short_id()).await;
    assert!(
        matches!(again, Err(AdminError::NotFound { .. })),
        "{again:?}"
    );

    // Revoke all of A's: B is untouched.
    assert_eq!(admin::revoke_all(&config, &a, &both).await.unwrap(), 2);
    for cookie in [&a_shop1, &a_shop2] {
        assert!(!opens(&shop, cookie).await, "a revoked session opens");
    }
    assert!(
        admin::list_sessions(&config, &a, &both)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(admin::revoke_all(&config, &a, &both).await.unwrap(), 0);
    assert!(opens(&shop, &b_shop).await);
    assert_eq!(
        admin::list_sessions(&config, &b, &["shop"])
            .await
            .unwrap()
            .len(),
        1
    );

    // "Sign out all my devices" from B's own request.
    let opened = resty_session::open(&shop, Request::new().with_cookie(b_shop.clone())).await;
    assert!(opened.exists);
    assert_eq!(opened.session.revoke_everywhere().await.unwrap(), 1);
    assert!(!opens(&shop, &b_shop).await);
    assert!(
        admin::list_sessions(&config, &b, &both)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn revoke_everywhere_on_shm() {
    scenario(config(&format!(
        "storage = \"shm\"\n[shm]\nzone = \"{}\"",
        unique("revoke")
    )))
    .await;
}

#[tokio::test]
async fn revoke_everywhere_on_file() {
    let dir = tempfile::tempdir().unwrap();
    scenario(config(&format!(
        "storage = \"file\"\n[file]\npath = {:?}",
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
async fn revoke_everywhere_on_redis() {
    scenario(config(&format!(
        "storage = \"redis\"\n[redis]\nprefix = \"{}\"\n{}",
        unique("revoke"),
        redis_block(&env::redis_url())
    )))
    .await;
}

async fn on_backend(backend: &str, options: serde_json::Value) {
    let mut cfg = config(&format!("storage = \"{backend}\""));
    cfg.backends.insert(backend.into(), options);
    scenario(cfg).await;
}

/// Needs PostgreSQL: `SESSION_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
#[tokio::test]
async fn revoke_everywhere_on_postgres() {
    let table = unique("revoke");
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
async fn revoke_everywhere_on_mysql() {
    let table = unique("revoke");
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

/// Needs memcached: `SESSION_MEMCACHED_ADDR` (default `127.0.0.1:11211`, which
/// `cargo xtask services start` starts).
#[tokio::test]
async fn revoke_everywhere_on_memcached() {
    let addr = env::memcached_addr();
    let options =
        resty_session::memcached::MemcachedConfig::from_url(&format!("memcache://{addr}"))
            .unwrap()
            .with_prefix(unique("revoke"));
    on_backend("memcached", serde_json::to_value(&options).unwrap()).await;
}

/// The in-process DSHM server session-dshm's tests use (written from docs/storage.md §8).
#[path = "../../session-dshm/tests/support/server.rs"]
mod dshm_server;

#[tokio::test]
async fn revoke_everywhere_on_dshm() {
    let server = dshm_server::TestServer::start();
    let options = resty_session::dshm::DshmConfig::from_url(&format!(
        "dshm://127.0.0.1:{}?prefix={}",
        server.port(),
        unique("revoke")
    ))
    .unwrap();
    on_backend("dshm", serde_json::to_value(&options).unwrap()).await;
}

#[tokio::test]
async fn cookie_storage_and_metadata_off_are_refused_with_a_typed_error() {
    let cookie = resty_session::build(&config("")).unwrap();
    let err = admin::list_sessions(&cookie, "a", &[]).await.unwrap_err();
    assert!(matches!(err, AdminError::Unsupported { .. }));
    assert!(
        err.to_string()
            .contains("needs a server-side storage with store_metadata = true"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let no_meta = Config::from_text(&format!(
        "secret = \"s\"\nstorage = \"file\"\n[file]\npath = {:?}",
        dir.path().to_str().unwrap()
    ))
    .unwrap();
    let no_meta = resty_session::build(&no_meta).unwrap();
    for err in [
        admin::revoke_all(&no_meta, "a", &[]).await.unwrap_err(),
        admin::revoke_session(&no_meta, "a", &[], "abcd")
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                AdminError::Unsupported {
                    store_metadata: false,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

/// A remember ("remember me") session leaves records under both cookie names, all listed and
/// all revoked: the remember cookie cannot bring the session back. A record a refresh replaced
/// is no longer in the index (docs/storage.md §4.1): it stays readable for `stale_ttl` (10 s),
/// out of revocation's reach, so a second sweep after `stale_ttl` is what ends everything.
async fn remember_scenario(config: Config) {
    let store = resty_session::storage_from_config(&config)
        .unwrap()
        .unwrap();
    let clock = Arc::new(FixedClock::new(1_800_000_000));
    let config = config
        .builder()
        .option_blocks(Backends::builtin().option_blocks())
        .dyn_storage(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    let subject = unique("carol");
    let mut session = Session::new(&config, Request::new());
    session.set_subject(Some(&subject)).unwrap();
    session.set_remember(true).unwrap();
    session.save().await.unwrap();
    let first: Vec<String> = session
        .set_cookies()
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(first.len(), 2, "{first:?}");
    let remember_only = first
        .iter()
        .find(|c| c.starts_with("remember="))
        .unwrap()
        .clone();
    // Back a minute later through the remember cookie alone: new records, both cookies renewed;
    // the first remember record now lives `stale_ttl` more, outside the index.
    clock.advance(60);
    let back =
        resty_session::open(&config, Request::new().with_cookie(remember_only.clone())).await;
    assert!(back.exists);
    let renewed = back
        .session
        .set_cookies()
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");

    let listed = admin::list_sessions(&config, &subject, &[]).await.unwrap();
    assert!(listed.len() >= 2, "{listed:#?}");
    assert_eq!(listed.iter().filter(|s| s.is_remember()).count(), 1);
    assert_eq!(
        admin::revoke_all(&config, &subject, &[]).await.unwrap(),
        listed.len()
    );
    assert!(
        admin::list_sessions(&config, &subject, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !opens(&config, &renewed).await,
        "the renewed cookies still open"
    );
    // The limit: the first remember cookie, replaced a minute ago, still reads for
    // `stale_ttl`, and opening it starts new sessions (in the index again)…
    assert!(opens(&config, &remember_only).await);
    assert_eq!(
        admin::list_sessions(&config, &subject, &[])
            .await
            .unwrap()
            .len(),
        2
    );
    // …so a second sweep once `stale_ttl` has passed ends everything for good.
    clock.advance(config_stale_ttl());
    assert!(!opens(&config, &remember_only).await);
    assert_eq!(admin::revoke_all(&config, &subject, &[]).await.unwrap(), 2);
    assert!(!opens(&config, &remember_only).await);
    assert!(
        admin::list_sessions(&config, &subject, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

/// The default `stale_ttl`, plus one second.
fn config_stale_ttl() -> u64 {
    11
}

#[tokio::test]
async fn remember_records_are_revoked_too_on_shm() {
    remember_scenario(config(&format!(
        "remember = true\nstorage = \"shm\"\n[shm]\nzone = \"{}\"",
        unique("revoke")
    )))
    .await;
}

#[tokio::test]
async fn remember_records_are_revoked_too_on_file() {
    let dir = tempfile::tempdir().unwrap();
    remember_scenario(config(&format!(
        "remember = true\nstorage = \"file\"\n[file]\npath = {:?}",
        dir.path().to_str().unwrap()
    )))
    .await;
}

/// The Sentinel and cluster deployments `cargo xtask services start` runs, as session-redis's
/// tests reach them (`SESSION_REDIS_SENTINELS`, `SESSION_REDIS_CLUSTER_NODES`, passwords).
#[path = "../../session-redis/tests/common/mod.rs"]
mod redis_common;

/// Needs the Redis Sentinel deployment (`cargo xtask services start`).
#[tokio::test]
async fn revoke_everywhere_on_redis_sentinel() {
    let mut options = redis_common::sentinel_config();
    options.prefix = Some(unique("revoke"));
    on_backend("redis", serde_json::to_value(&options).unwrap()).await;
}

/// Needs the Redis cluster (`cargo xtask services start`).
#[tokio::test]
async fn revoke_everywhere_on_redis_cluster() {
    let mut options = redis_common::cluster_config();
    options.prefix = Some(unique("revoke"));
    on_backend("redis", serde_json::to_value(&options).unwrap()).await;
}
