//! The actix-web front door driven by real HTTP requests: an actix `HttpServer` on
//! 127.0.0.1:0 (its own thread and actix system, two workers) and the same hyper client with
//! a cookie jar as the axum suites. The routes and assertions mirror `http.rs` and
//! `hardening.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture;
mod common;
#[path = "common/stores.rs"]
mod stores;
#[path = "common/wrapped.rs"]
mod wrapped;

#[allow(dead_code)]
#[path = "../../session/examples/actix.rs"]
mod actix_demo;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::{App, HttpResponse, HttpServer, web};
use common::Browser;
use http::StatusCode;
use resty_session::actix::{SessionError, SessionMiddleware};
use resty_session::env::FixedClock;
use resty_session::memory::MemoryStorage;
use resty_session::{Config, SessionHandle};
use session_testsupport::env;
use wrapped::{Counting, DownForWrites};

fn config(extra: &str) -> Config {
    Config::from_text(&format!("secret = \"actix tests\"\n{extra}")).unwrap()
}

/// Serve `routes` wrapped in `sessions` on 127.0.0.1:0, on a thread of its own (actix runs
/// its own single-threaded runtimes); returns the address. The server lives as long as the
/// test process.
fn serve(sessions: SessionMiddleware, routes: fn(&mut web::ServiceConfig)) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(sessions.clone())
                    .configure(routes)
                    .route("/plain", web::get().to(|| async { "no session here" }))
            })
            .workers(2)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .unwrap()
            .run();
            ready_tx.send(()).unwrap();
            server.await.unwrap();
        });
    });
    ready_rx.recv().unwrap();
    addr
}

// ------------------------------------------------------------------ helpers

async fn login(session: SessionHandle) -> Result<String, SessionError> {
    let mut s = session.new_session().await;
    s.set_subject(Some("john"))?;
    s.set("n", &0)?;
    s.save().await?;
    Ok(s.get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default())
}

async fn whoami(session: SessionHandle) -> Result<HttpResponse, SessionError> {
    let s = session.open().await;
    if !s.exists() {
        let reason = s.open_error().map(ToString::to_string).unwrap_or_default();
        return Ok(HttpResponse::Unauthorized().body(reason));
    }
    let subject = s.get_subject()?.unwrap_or("-").to_owned();
    let id = s
        .get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default();
    Ok(HttpResponse::Ok().body(format!("{subject} {id}")))
}

async fn bump(session: SessionHandle) -> Result<String, SessionError> {
    let mut s = session.start().await;
    let n = s.get::<u64>("n")?.unwrap_or(0) + 1;
    s.set("n", &n)?;
    s.save().await?;
    Ok(s.get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default())
}

async fn destroy(session: SessionHandle) -> Result<String, SessionError> {
    Ok(session.destroy().await?.to_string())
}

/// Changes the session without saving it.
async fn set_only(session: SessionHandle) -> Result<&'static str, SessionError> {
    let mut s = session.open().await;
    let n = s.get::<u64>("n")?.unwrap_or(0);
    s.set("n", &(n + 1))?;
    Ok("handler says ok")
}

async fn read_only(session: SessionHandle) -> Result<String, SessionError> {
    let s = session.start().await;
    Ok(s.get::<u64>("n")?.unwrap_or(0).to_string())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login))
        .route("/whoami", web::get().to(whoami))
        .route("/bump", web::get().to(bump))
        .route("/destroy", web::get().to(destroy))
        .route("/set-only", web::get().to(set_only))
        .route("/read-only", web::get().to(read_only));
}

// ------------------------------------------------------------------ one suite, every storage

/// The same routes against a storage: login, open, save (new id each time, concurrent saves
/// included), the old cookie's fate, destroy.
async fn route_suite(cfg: Config, server_side: bool) {
    let addr = serve(SessionMiddleware::from_config(&cfg).unwrap(), routes);
    let mut b = Browser::new(addr);
    assert_eq!(b.get("/whoami").await.status, StatusCode::UNAUTHORIZED);
    let id0 = b.get("/login").await.body;
    assert_eq!(id0.len(), 43);
    assert_eq!(
        b.jar["session"].len() == 110,
        server_side,
        "a header-only cookie (82 bytes) iff server-side"
    );
    assert_eq!(b.get("/whoami").await.body, format!("john {id0}"));

    let old = b.clone();
    let (mut b1, mut b2) = (b.clone(), b.clone());
    let (r1, r2) = tokio::join!(b1.get("/bump"), b2.get("/bump"));
    assert!(
        r1.body != r2.body && r1.body != id0,
        "each save is a new session id"
    );
    for mut who in [old.clone(), b1.clone(), b2.clone()] {
        assert_eq!(who.get("/whoami").await.status, StatusCode::OK);
    }

    let before_destroy = b1.clone();
    assert_eq!(b1.get("/destroy").await.body, "true");
    assert!(!b1.jar.contains_key("session"));
    assert_eq!(b1.get("/whoami").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b1.get("/destroy").await.body,
        "false",
        "nothing left to destroy"
    );
    let replayed = before_destroy.clone().get("/whoami").await.status;
    assert_eq!(replayed == StatusCode::UNAUTHORIZED, server_side);
    assert_eq!(
        b2.get("/whoami").await.status,
        StatusCode::OK,
        "the other session lives on"
    );
}

// The stores, their configuration and clean-up are shared with the axum suite (`http.rs`).
stores::route_suites!(route_suite, config, "actix-route-suite");

// ------------------------------------------------------------------ the demo

#[tokio::test]
async fn demo_walks_the_lua_readme_synopsis_on_actix() {
    let cfg = Config::from_text(actix_demo::DEFAULT_CONFIG).unwrap();
    let addr = serve(
        SessionMiddleware::from_config(&cfg).unwrap(),
        actix_demo::routes,
    );
    let mut b = Browser::new(addr);
    let r = b.get("/").await;
    assert!(r.body.contains(r#"href="/start""#));
    assert!(
        r.set_cookies().is_empty(),
        "the index must not touch the session"
    );
    let r = b.get("/start").await;
    assert!(
        r.body
            .contains(r#"<a href="/started">Check if it really was</a>"#)
    );
    assert!(b.jar.contains_key("session"));
    let r = b.get("/started").await;
    assert!(
        r.body
            .contains(r#"<strong id="subject">OpenResty Fan</strong>"#)
    );
    assert!(
        r.body
            .contains("The quick brown fox jumps over the lazy dog")
    );
    b.get("/modify").await;
    let r = b.get("/modified").await;
    assert!(r.body.contains(r#"<strong id="subject">Lua Fan</strong>"#));
    assert!(r.body.contains("Lorem ipsum dolor sit amet"));
    let r = b.get("/destroy").await;
    assert!(r.body.contains(r#"href="/destroyed""#));
    assert!(!b.jar.contains_key("session"), "destroy expires the cookie");
    let r = b.get("/destroyed").await;
    assert!(
        r.body
            .contains(r#"<strong id="subject">Anonymous</strong>"#)
    );
}

// ------------------------------------------------------------------ the middleware

#[tokio::test]
async fn a_request_that_never_touches_the_session_costs_no_storage_call_and_no_cookie() {
    let store = Counting::new(MemoryStorage::default());
    let built = config("storage = \"custom\"")
        .builder()
        .storage(store.clone())
        .build()
        .unwrap();
    let mut b = Browser::new(serve(SessionMiddleware::new(built), routes));
    b.get("/login").await;
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);

    let gets = store.gets.load(Ordering::SeqCst);
    let r = b.get("/plain").await;
    assert_eq!(r.body, "no session here");
    assert!(r.set_cookies().is_empty());
    b.jar.insert("session".into(), "garbage~!{}".into());
    let r = b.get("/plain").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(store.gets.load(Ordering::SeqCst), gets, "no storage read");

    for junk in ["", "x", "AAAA", &"A".repeat(5000), "%00%ff"] {
        b.jar.insert("session".into(), junk.into());
        let r = b.get("/whoami").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{junk:?}: {}", r.body);
    }
}

#[tokio::test]
async fn explicit_save_is_the_default_as_in_lua() {
    let mut b = Browser::new(serve(
        SessionMiddleware::from_config(&config("")).unwrap(),
        routes,
    ));
    let r = b.get("/set-only").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn save_when_modified_saves_changed_sessions_once_and_leaves_read_only_ones_alone() {
    let store = Counting::new(MemoryStorage::default());
    let built = config("storage = \"custom\"")
        .builder()
        .storage(store.clone())
        .build()
        .unwrap();
    let sessions = SessionMiddleware::new(built).with_save_when_modified(true);
    let mut b = Browser::new(serve(sessions, routes));

    let r = b.get("/set-only").await;
    assert_eq!(r.set_cookies().len(), 1, "a new, changed session is saved");
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);
    let r = b.get("/read-only").await;
    assert_eq!(r.body, "1");
    assert!(r.set_cookies().is_empty(), "reading does not save");
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);

    b.get("/bump").await;
    assert_eq!(
        store.sets.load(Ordering::SeqCst),
        2,
        "a handler's own save is not repeated"
    );
    assert_eq!(b.get("/read-only").await.body, "2");
}

#[tokio::test]
async fn a_failed_end_of_request_save_answers_an_empty_500_and_is_logged() {
    capture::install();
    let built = config("")
        .builder()
        .storage(DownForWrites::default())
        .build()
        .unwrap();
    let sessions = SessionMiddleware::new(built).with_save_when_modified(true);
    let r = Browser::new(serve(sessions, routes)).get("/set-only").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty(), "{}", r.body);
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    assert_eq!(r.headers["cache-control"], "no-store");
    let logged = capture::records().into_iter().any(|r| {
        r.kind == "event"
            && r.level == tracing::Level::ERROR
            && r.text().contains("end-of-request session save failed")
            && r.field("error")
                .is_some_and(|e| e.contains("store down (test)"))
    });
    assert!(logged, "no error event for the failed save");
}

#[tokio::test]
async fn a_handler_error_is_a_generic_500_with_a_reference() {
    let built = config("")
        .builder()
        .storage(DownForWrites::default())
        .build()
        .unwrap();
    let r = Browser::new(serve(SessionMiddleware::new(built), routes))
        .get("/login")
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.starts_with("session error (ref "), "{}", r.body);
    assert!(!r.body.contains("store down"), "{}", r.body);
}

#[tokio::test]
async fn a_handler_without_the_middleware_gets_a_500_that_says_what_to_add() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            async fn maybe(session: Option<SessionHandle>) -> &'static str {
                if session.is_some() { "some" } else { "none" }
            }
            let server = HttpServer::new(|| {
                App::new()
                    .route("/whoami", web::get().to(whoami))
                    .route("/maybe", web::get().to(maybe))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            tx.send(()).unwrap();
            server.await.unwrap();
        });
    });
    rx.recv().unwrap();
    let mut b = Browser::new(addr);
    let r = b.get("/whoami").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("SessionMiddleware"), "{}", r.body);
    assert_eq!(b.get("/maybe").await.body, "none");
}

#[tokio::test]
async fn bind_ip_uses_the_peer_address_or_the_trusted_proxy_hook() {
    let cfg = config("bind = [\"ip\"]");
    // The connection's address: the same loopback client opens its session.
    let mut b = Browser::new(serve(SessionMiddleware::from_config(&cfg).unwrap(), routes));
    b.get("/login").await;
    assert_eq!(b.get("/whoami").await.status, StatusCode::OK);
    // A header is ignored by default: a client cannot choose its address.
    let r = b
        .request(
            http::Method::GET,
            "/whoami",
            &[("x-real-ip", "10.9.9.9")],
            String::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Behind a trusted proxy (the hook reads its header): another address is refused.
    let sessions = SessionMiddleware::from_config(&cfg)
        .unwrap()
        .with_remote_addr(|req| {
            req.headers()
                .get("x-real-ip")?
                .to_str()
                .ok()?
                .parse::<IpAddr>()
                .ok()
        });
    let mut b = Browser::new(serve(sessions, routes));
    let from = |ip: &'static str| [("x-real-ip", ip)];
    b.request(
        http::Method::GET,
        "/login",
        &from("10.0.0.1"),
        String::new(),
    )
    .await;
    let ok = b
        .request(
            http::Method::GET,
            "/whoami",
            &from("10.0.0.1"),
            String::new(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let other = b
        .request(
            http::Method::GET,
            "/whoami",
            &from("10.0.0.2"),
            String::new(),
        )
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{}", other.body);
}

#[tokio::test]
async fn response_session_headers_are_applied() {
    async fn headers(session: SessionHandle) -> Result<&'static str, SessionError> {
        let mut s = session.open().await;
        s.set_response_headers(&[])?;
        Ok("ok")
    }
    fn with_headers(cfg: &mut web::ServiceConfig) {
        routes(cfg);
        cfg.route("/headers", web::get().to(headers));
    }
    let cfg = config(r#"response_headers = ["id", "subject", "timeout", "audience"]"#);
    let mut b = Browser::new(serve(
        SessionMiddleware::from_config(&cfg).unwrap(),
        with_headers,
    ));
    let id = b.get("/login").await.body;
    let r = b.get("/headers").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["session-id"], id.as_str());
    assert_eq!(r.headers["session-subject"], "john");
}

#[tokio::test]
async fn a_handler_that_misuses_its_handle_gets_a_500_not_a_hang() {
    async fn misuse(session: SessionHandle) -> Result<&'static str, SessionError> {
        let mut guard = session.open().await;
        guard.set("k", "v")?;
        // The handle while its guard is alive: an error, never a wait.
        let second = session.open().await;
        assert!(second.open_error().is_some());
        Ok("handler says ok")
    }
    fn with_misuse(cfg: &mut web::ServiceConfig) {
        cfg.route("/misuse", web::get().to(misuse));
    }
    let sessions = SessionMiddleware::from_config(&config("")).unwrap();
    let r = Browser::new(serve(sessions, with_misuse))
        .get("/misuse")
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty(), "{}", r.body);
    assert!(r.set_cookies().is_empty());
}

// ------------------------------------------------------------------ concurrency

#[tokio::test]
async fn concurrent_saves_with_one_cookie_get_new_ids_and_the_old_stays_valid_for_stale_ttl() {
    let cfg = config("storage = \"shm\"\nstale_ttl = 10\n[shm]\nzone = \"actix-concurrency\"");
    let clock = Arc::new(FixedClock::new(1_800_000_000));
    let store = resty_session::storage_from_config(&cfg).unwrap().unwrap();
    let built = cfg
        .builder()
        .dyn_storage(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut b = Browser::new(serve(SessionMiddleware::new(built), routes));
    let id0 = b.get("/login").await.body;
    let old = b.clone();

    // Two requests race with the same cookie; each save makes its own new session.
    let (mut b1, mut b2) = (b.clone(), b.clone());
    let (r1, r2) = tokio::join!(b1.get("/bump"), b2.get("/bump"));
    let (id1, id2) = (r1.body, r2.body);
    assert_eq!(id1.len(), 43);
    assert!(id1 != id2 && id1 != id0 && id2 != id0);

    let check = |mut b: Browser| async move { b.get("/whoami").await };
    for (who, b) in [
        ("old", old.clone()),
        ("first", b1.clone()),
        ("second", b2.clone()),
    ] {
        let r = check(b).await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
    }

    // Past stale_ttl the old record is gone; the new ones live on.
    clock.advance(11);
    let r = check(old).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.starts_with("unable to load session"), "{}", r.body);
    for b in [b1, b2] {
        assert_eq!(check(b).await.status, StatusCode::OK);
    }
}

/// Many requests with one cookie at once, spread over the server's two workers: each
/// request's save is its own new session, none is lost or mixed up with another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_saves_over_both_workers_each_get_their_own_session() {
    let cfg = config("storage = \"shm\"\n[shm]\nzone = \"actix-many\"");
    let mut b = Browser::new(serve(SessionMiddleware::from_config(&cfg).unwrap(), routes));
    let id0 = b.get("/login").await.body;
    let racers: Vec<Browser> = (0..24).map(|_| b.clone()).collect();
    let handles: Vec<_> = racers
        .into_iter()
        .map(|mut r| {
            tokio::spawn(async move {
                let reply = r.get("/bump").await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                (reply.body, r)
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::from([id0]);
    for h in handles {
        let (id, mut r) = h.await.unwrap();
        assert_eq!(id.len(), 43);
        assert!(ids.insert(id.clone()), "a session id was handed out twice");
        // Each racer's cookie opens its own session: one bump on top of the login's 0.
        assert_eq!(r.get("/read-only").await.body, "1");
        assert_eq!(r.get("/whoami").await.body, format!("john {id}"));
    }
    assert_eq!(ids.len(), 25);
}

// ------------------------------------------------------------------ storages from configuration

#[tokio::test]
async fn file_storage_chosen_by_configuration_keeps_one_file_per_session() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&format!(
        "storage = \"file\"\n[file]\npath = {:?}\nsuffix = \"session\"",
        dir.path().to_str().unwrap()
    ));
    let mut b = Browser::new(serve(SessionMiddleware::from_config(&cfg).unwrap(), routes));
    b.get("/login").await;
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files(), 1);
    assert!(
        b.jar["session"].len() < 200,
        "the cookie holds only the header"
    );
    assert!(b.get("/whoami").await.body.starts_with("john "));
    assert_eq!(b.get("/destroy").await.body, "true");
    assert_eq!(files(), 0);
    assert_eq!(b.get("/whoami").await.status, StatusCode::UNAUTHORIZED);
}

/// Needs a Redis server: `SESSION_REDIS_URL` (default `redis://127.0.0.1:6379`). Two
/// servers of one service, an actix-web one and an axum one, share the store: a session
/// saved through either front door opens through the other.
#[tokio::test]
async fn redis_sessions_are_shared_between_an_actix_and_an_axum_server() {
    async fn axum_whoami(
        session: resty_session::SessionHandle,
    ) -> Result<(StatusCode, String), resty_session::HttpError> {
        let s = session.open().await;
        if !s.exists() {
            return Ok((StatusCode::UNAUTHORIZED, String::new()));
        }
        let subject = s.get_subject()?.unwrap_or("-").to_owned();
        let id = s
            .get_property("id")?
            .map(|p| p.to_string())
            .unwrap_or_default();
        Ok((StatusCode::OK, format!("{subject} {id}")))
    }
    async fn axum_bump(
        session: resty_session::SessionHandle,
    ) -> Result<String, resty_session::HttpError> {
        let mut s = session.start().await;
        let n = s.get::<u64>("n")?.unwrap_or(0) + 1;
        s.set("n", &n)?;
        s.save().await?;
        Ok(n.to_string())
    }

    let url = env::redis_url();
    let cfg = config(&format!(
        "storage = \"redis\"\nstale_ttl = 1\n[redis]\nprefix = \"actix-shared-{}\"\n{}",
        std::process::id(),
        stores::redis_block(&url)
    ));
    let on_actix = serve(SessionMiddleware::from_config(&cfg).unwrap(), routes);
    let on_axum = common::serve(
        axum::Router::new()
            .route("/whoami", axum::routing::get(axum_whoami))
            .route("/bump", axum::routing::get(axum_bump))
            .layer(resty_session::SessionLayer::from_config(&cfg).unwrap()),
    )
    .await;

    let mut a = Browser::new(on_actix);
    let r = a.get("/login").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "is Redis running at {url}? {}",
        r.body
    );
    assert!(
        a.jar["session"].len() < 200,
        "the cookie holds only the header"
    );
    let mut x = Browser::new(on_axum);
    x.jar = a.jar.clone();
    assert_eq!(x.get("/whoami").await.body, format!("john {}", r.body));

    // A save on axum, read back on actix; the old id stays readable for stale_ttl (1 s).
    let old = x.clone();
    assert_eq!(x.get("/bump").await.body, "1");
    a.jar = x.jar.clone();
    assert_eq!(a.get("/read-only").await.body, "1");
    assert_eq!(a.get("/bump").await.status, StatusCode::OK);
    x.jar = a.jar.clone();
    assert!(x.get("/whoami").await.body.starts_with("john "));
    let mut old_on_actix = Browser::new(on_actix);
    old_on_actix.jar = old.jar.clone();
    assert_eq!(old_on_actix.get("/whoami").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        old_on_actix.get("/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        old.clone().get("/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(a.get("/read-only").await.body, "2");
}
