//! `bench-server KIND ADDR`: one HTTP server of `cargo xtask bench-http` (docs/benchmarks.md).
//!
//! Every kind serves the same four routes on one current-thread runtime (the xtask pins the
//! process to one CPU): axum on a tokio current-thread runtime, actix-web on one worker (its
//! own single-threaded runtime; actix's accept thread and idle system thread share the CPU):
//!
//! - `GET /open`: open the request's session and read `user` (500 when it is missing);
//! - `GET /save`: a new session, set `user` and `role`, save;
//! - `GET /save2k`: a new session, set `big` to the 2 KB value of [`value_2k`], save;
//! - `GET /open2k`: open the request's session and read `big` (500 when it is missing).
//!
//! Clients mint the cookies of the open routes with one request to the matching save route.
//! Kinds: `plain` (no session: the floor), `ours-cookie`, `ours-shm`, `ours-redis`
//! (resty-session's layer and extractor), `actix-cookie`, `actix-shm`, `actix-redis` (the
//! same stores and handlers behind resty-session's actix-web middleware), `actix-plain`
//! (actix-web without a session: its floor), `jar` (axum-extra's `PrivateCookieJar`, the whole
//! session as one encrypted JSON cookie), `ts-memory` (tower-sessions 0.15, `MemoryStore`),
//! `ts-redis` (tower-sessions 0.14 on tower-sessions-redis-store 0.16, fred). Both Redis
//! servers use database 15 of 127.0.0.1, port `$BENCH_REDIS_PORT` (default 6379).

#![allow(clippy::print_stdout)] // prints its address once it listens

use std::process::ExitCode;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// The user name stored by `/save`.
const USER: &str = "bench-user";
/// The role stored by `/save`.
const ROLE: &str = "admin";

/// The 2 KB value of `/save2k`: 2048 bytes of lowercase words, drawn from a 32-word list by
/// xorshift32 (seed 1), joined by spaces, cut at 2048 bytes. Deflate shrinks it to about half,
/// like ordinary text; docs/benchmarks.md gives the same in Lua for the reference's endpoints.
fn value_2k() -> String {
    const WORDS: [&str; 32] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "session",
        "cookie", "cipher", "header", "payload", "storage",
    ];
    let mut state: u32 = 1;
    let mut out = String::with_capacity(2100);
    while out.len() < 2048 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(WORDS[(state % 32) as usize]);
    }
    out.truncate(2048);
    out
}

/// The Redis database both Redis servers use (the xtask empties it after each run).
const REDIS_DB: u8 = 15;

fn redis_port() -> u16 {
    std::env::var("BENCH_REDIS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(6379)
}

type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(addr)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench-server KIND ADDR");
        return ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = match kind.strip_prefix("actix-") {
        Some(store) => actix::serve(store, addr),
        None => runtime.block_on(serve(kind, addr)),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server {kind}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// resty-session's configuration for `store` (`cookie`, `shm` or `redis`), the same behind
/// both front doors.
fn ours_config(store: &str) -> Result<String, Failure> {
    const SECRET: &str = "secret = \"bench-http secret\"\n";
    Ok(match store {
        "cookie" => SECRET.to_owned(),
        "shm" => format!("{SECRET}storage = \"shm\"\n[shm]\nzone = \"bench\"\n"),
        "redis" => format!(
            "{SECRET}storage = \"redis\"\n\
             [redis]\nhost = \"127.0.0.1\"\nport = {}\ndatabase = {REDIS_DB}\n",
            redis_port()
        ),
        other => return Err(format!("unknown store {other} (cookie, shm or redis)").into()),
    })
}

async fn serve(kind: &str, addr: &str) -> Result<(), Failure> {
    let app = match kind {
        "plain" => plain::router(),
        "ours-cookie" | "ours-shm" | "ours-redis" => {
            ours::router(&ours_config(kind.trim_start_matches("ours-"))?)?
        }
        "jar" => jar::router(),
        "ts-memory" => ts_memory::router(),
        "ts-redis" => {
            ts_redis::router(&format!("redis://127.0.0.1:{}/{REDIS_DB}", redis_port())).await?
        }
        other => return Err(format!("unknown server kind {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// A 500 for a missing value: a wrong cookie shows in wrk's non-2xx count.
fn missing() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

mod plain {
    use super::{Router, get};

    pub(crate) fn router() -> Router {
        Router::new()
            .route("/open", get(|| async { "ok" }))
            .route("/save", get(|| async { "ok" }))
            .route("/save2k", get(|| async { "ok" }))
            .route("/open2k", get(|| async { "ok" }))
    }
}

mod ours {
    use std::sync::Arc;

    use resty_session::{Config, HttpError, SessionHandle, SessionLayer};

    use super::{Failure, ROLE, Router, StatusCode, USER, get, missing, value_2k};

    pub(crate) fn router(config: &str) -> Result<Router, Failure> {
        let config = Config::from_text(config)?;
        let big: Arc<str> = value_2k().into();
        Ok(Router::new()
            .route("/open", get(open))
            .route("/open2k", get(open_2k))
            .route("/save", get(save))
            .route(
                "/save2k",
                get(move |session: SessionHandle| save_2k(session, Arc::clone(&big))),
            )
            .layer(SessionLayer::from_config(&config)?))
    }

    async fn open(session: SessionHandle) -> Result<Result<String, StatusCode>, HttpError> {
        let s = session.open().await;
        Ok(s.get::<String>("user")?
            .map(|v| v.len().to_string())
            .ok_or_else(missing))
    }

    async fn open_2k(session: SessionHandle) -> Result<Result<String, StatusCode>, HttpError> {
        let s = session.open().await;
        Ok(s.get::<String>("big")?
            .map(|v| v.len().to_string())
            .ok_or_else(missing))
    }

    async fn save(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.new_session().await;
        s.set("user", USER)?;
        s.set("role", ROLE)?;
        s.save().await?;
        Ok("saved")
    }

    async fn save_2k(session: SessionHandle, big: Arc<str>) -> Result<&'static str, HttpError> {
        let mut s = session.new_session().await;
        s.set("big", &*big)?;
        s.save().await?;
        Ok("saved")
    }
}

/// The routes of `ours` behind resty-session's actix-web middleware.
mod actix {
    use std::sync::Arc;

    use actix_web::{App, HttpResponse, HttpServer, web};
    use resty_session::actix::{SessionError, SessionMiddleware};
    use resty_session::{Config, SessionHandle};

    use super::{Failure, ROLE, USER, ours_config, value_2k};

    /// Serve `store`'s routes on `addr` with one actix worker, until killed; `plain` serves
    /// them without a session (actix's own floor, as `plain` is axum's).
    pub(crate) fn serve(store: &str, addr: &str) -> Result<(), Failure> {
        let config = match store {
            "plain" => None,
            _ => Some(Config::from_text(&ours_config(store)?)?),
        };
        let big: Arc<str> = value_2k().into();
        let listener = std::net::TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        actix_web::rt::System::new().block_on(async move {
            let server = match config {
                None => HttpServer::new(|| {
                    App::new()
                        .route("/open", web::get().to(|| async { "ok" }))
                        .route("/open2k", web::get().to(|| async { "ok" }))
                        .route("/save", web::get().to(|| async { "ok" }))
                        .route("/save2k", web::get().to(|| async { "ok" }))
                })
                .workers(1)
                .listen(listener)?
                .run(),
                Some(config) => {
                    // Built on the system's runtime, as the axum kinds build theirs on tokio's.
                    let sessions = SessionMiddleware::from_config(&config)?;
                    HttpServer::new(move || {
                        let big = Arc::clone(&big);
                        App::new()
                            .wrap(sessions.clone())
                            .route("/open", web::get().to(|s| read(s, "user")))
                            .route("/open2k", web::get().to(|s| read(s, "big")))
                            .route("/save", web::get().to(save))
                            .route(
                                "/save2k",
                                web::get().to(move |s: SessionHandle| save_2k(s, Arc::clone(&big))),
                            )
                    })
                    .workers(1)
                    .listen(listener)?
                    .run()
                }
            };
            println!("listening {local}");
            server.await?;
            Ok(())
        })
    }

    async fn read(
        session: SessionHandle,
        name: &'static str,
    ) -> Result<HttpResponse, SessionError> {
        let s = session.open().await;
        Ok(match s.get::<String>(name)? {
            Some(v) => HttpResponse::Ok().body(v.len().to_string()),
            None => HttpResponse::InternalServerError().finish(),
        })
    }

    async fn save(session: SessionHandle) -> Result<&'static str, SessionError> {
        let mut s = session.new_session().await;
        s.set("user", USER)?;
        s.set("role", ROLE)?;
        s.save().await?;
        Ok("saved")
    }

    async fn save_2k(session: SessionHandle, big: Arc<str>) -> Result<&'static str, SessionError> {
        let mut s = session.new_session().await;
        s.set("big", &*big)?;
        s.save().await?;
        Ok("saved")
    }
}

mod jar {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use axum::extract::{FromRef, State};
    use axum_extra::extract::PrivateCookieJar;
    use axum_extra::extract::cookie::{Cookie, Key};
    use serde_json::Value;

    use super::{ROLE, Router, StatusCode, USER, get, missing, value_2k};

    #[derive(Clone)]
    struct AppState {
        key: Key,
        big: Arc<str>,
    }

    impl FromRef<AppState> for Key {
        fn from_ref(state: &AppState) -> Self {
            state.key.clone()
        }
    }

    pub(crate) fn router() -> Router {
        let state = AppState {
            key: Key::from(&[7u8; 64]),
            big: value_2k().into(),
        };
        Router::new()
            .route("/open", get(|jar| read(jar, "user")))
            .route("/open2k", get(|jar| read(jar, "big")))
            .route("/save", get(save))
            .route("/save2k", get(save_2k))
            .with_state(state)
    }

    /// The session is one cookie holding a JSON object, as a session library would keep it.
    fn session(jar: &PrivateCookieJar) -> Option<BTreeMap<String, Value>> {
        serde_json::from_str(jar.get("session")?.value()).ok()
    }

    async fn read(jar: PrivateCookieJar, name: &'static str) -> Result<String, StatusCode> {
        match session(&jar).as_ref().and_then(|s| s.get(name)) {
            Some(Value::String(v)) => Ok(v.len().to_string()),
            _ => Err(missing()),
        }
    }

    fn store(
        jar: PrivateCookieJar,
        map: &BTreeMap<&str, &str>,
    ) -> (PrivateCookieJar, &'static str) {
        let value = serde_json::to_string(map).unwrap_or_default();
        let mut cookie = Cookie::new("session", value);
        cookie.set_path("/");
        cookie.set_http_only(true);
        (jar.add(cookie), "saved")
    }

    async fn save(jar: PrivateCookieJar) -> (PrivateCookieJar, &'static str) {
        store(jar, &BTreeMap::from([("user", USER), ("role", ROLE)]))
    }

    async fn save_2k(
        State(state): State<AppState>,
        jar: PrivateCookieJar,
    ) -> (PrivateCookieJar, &'static str) {
        store(jar, &BTreeMap::from([("big", &*state.big)]))
    }
}

mod ts_memory {
    use std::sync::Arc;

    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    use super::{ROLE, Router, StatusCode, USER, get, missing, value_2k};

    fn failed<E>(_: E) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    pub(crate) fn router() -> Router {
        let big: Arc<str> = value_2k().into();
        Router::new()
            .route("/open", get(|s| read(s, "user")))
            .route("/open2k", get(|s| read(s, "big")))
            .route("/save", get(save))
            .route(
                "/save2k",
                get(move |s: Session| save_2k(s, Arc::clone(&big))),
            )
            .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
    }

    async fn read(session: Session, name: &'static str) -> Result<String, StatusCode> {
        let value: Option<String> = session.get(name).await.map_err(failed)?;
        value.map(|v| v.len().to_string()).ok_or_else(missing)
    }

    async fn save(session: Session) -> Result<&'static str, StatusCode> {
        session.insert("user", USER).await.map_err(failed)?;
        session.insert("role", ROLE).await.map_err(failed)?;
        Ok("saved")
    }

    async fn save_2k(session: Session, big: Arc<str>) -> Result<&'static str, StatusCode> {
        session.insert("big", &*big).await.map_err(failed)?;
        Ok("saved")
    }
}

mod ts_redis {
    use std::sync::Arc;

    use tower_sessions_014::{Session, SessionManagerLayer};
    use tower_sessions_redis_store::RedisStore;
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

    use super::{Failure, ROLE, Router, StatusCode, USER, get, missing, value_2k};

    /// fred connections in the pool (each one pipelined).
    const POOL_SIZE: usize = 4;

    fn failed<E>(_: E) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    pub(crate) async fn router(url: &str) -> Result<Router, Failure> {
        let pool = Pool::new(Config::from_url(url)?, None, None, None, POOL_SIZE)?;
        pool.init().await?;
        let big: Arc<str> = value_2k().into();
        Ok(Router::new()
            .route("/open", get(|s| read(s, "user")))
            .route("/open2k", get(|s| read(s, "big")))
            .route("/save", get(save))
            .route(
                "/save2k",
                get(move |s: Session| save_2k(s, Arc::clone(&big))),
            )
            .layer(SessionManagerLayer::new(RedisStore::new(pool)).with_secure(false)))
    }

    async fn read(session: Session, name: &'static str) -> Result<String, StatusCode> {
        let value: Option<String> = session.get(name).await.map_err(failed)?;
        value.map(|v| v.len().to_string()).ok_or_else(missing)
    }

    async fn save(session: Session) -> Result<&'static str, StatusCode> {
        session.insert("user", USER).await.map_err(failed)?;
        session.insert("role", ROLE).await.map_err(failed)?;
        Ok("saved")
    }

    async fn save_2k(session: Session, big: Arc<str>) -> Result<&'static str, StatusCode> {
        session.insert("big", &*big).await.map_err(failed)?;
        Ok("saved")
    }
}

#[cfg(test)]
mod tests {
    use super::value_2k;

    #[test]
    fn the_2k_value_is_2048_bytes_of_words() {
        let v = value_2k();
        assert_eq!(v.len(), 2048);
        assert!(v.bytes().all(|b| b == b' ' || b.is_ascii_lowercase()));
        assert!(v.starts_with(&value_2k()[..20]));
    }
}
