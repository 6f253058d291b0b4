//! The layer and extractor driven by real HTTP requests: an axum server on 127.0.0.1:0 and a
//! hyper client with a cookie jar.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/stores.rs"]
mod stores;
#[path = "common/wrapped.rs"]
mod wrapped;

#[allow(dead_code)]
#[path = "../../session/examples/demo/app.rs"]
mod app;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::{Browser, serve};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use resty_session::env::FixedClock;
use resty_session::memory::MemoryStorage;
use resty_session::{Config, HttpError, SessionHandle, SessionLayer};
use session_testsupport::env;
use stores::redis_block;
use wrapped::Counting;

fn config(extra: &str) -> Config {
    Config::from_text(&format!("secret = \"http tests\"\n{extra}")).unwrap()
}

// ------------------------------------------------------------------ helpers

async fn login(session: SessionHandle) -> Result<String, HttpError> {
    let mut s = session.new_session().await;
    s.set_subject(Some("john"))?;
    s.set("n", &0)?;
    s.save().await?;
    Ok(s.get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default())
}

async fn whoami(session: SessionHandle) -> Result<axum::response::Response, HttpError> {
    let s = session.open().await;
    if !s.exists() {
        let reason = s.open_error().map(ToString::to_string).unwrap_or_default();
        return Ok((StatusCode::UNAUTHORIZED, reason).into_response());
    }
    let subject = s.get_subject()?.unwrap_or("-").to_owned();
    let id = s
        .get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default();
    Ok(format!("{subject} {id}").into_response())
}

async fn bump(session: SessionHandle) -> Result<String, HttpError> {
    let mut s = session.start().await;
    let n = s.get::<u64>("n")?.unwrap_or(0) + 1;
    s.set("n", &n)?;
    s.save().await?;
    Ok(s.get_property("id")?
        .map(|p| p.to_string())
        .unwrap_or_default())
}

fn routes() -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .route("/bump", get(bump))
        .route("/plain", get(|| async { "no session here" }))
        .route("/destroy", get(destroy))
}

async fn destroy(session: SessionHandle) -> Result<String, HttpError> {
    Ok(session.destroy().await?.to_string())
}

// ------------------------------------------------------------------ one suite, every storage

/// The same routes against a storage: login, open, save (new id each time, concurrent saves
/// included), the old cookie's fate, destroy.
async fn route_suite(cfg: Config, server_side: bool) {
    let addr = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
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
    // Replaying the destroyed cookie: server-side its record is gone; a cookie session is
    // self-contained and opens until it times out (as in Lua).
    let replayed = before_destroy.clone().get("/whoami").await.status;
    assert_eq!(replayed == StatusCode::UNAUTHORIZED, server_side);
    assert_eq!(
        b2.get("/whoami").await.status,
        StatusCode::OK,
        "the other session lives on"
    );
}

// The stores, their configuration and clean-up are shared with the actix-web suite (`actix.rs`).
stores::route_suites!(route_suite, config, "route-suite");

// ------------------------------------------------------------------ rolling saves

/// Each request opens the cookie the previous one set and saves again. Until the tenth, the
/// session holds integers only and each open is answered from the opened-sessions cache,
/// which the previous save filled; from then on every third request adds 0.1 to a float,
/// whose cookie is decoded in full (a float may come back as a neighbouring value).
async fn roll(session: SessionHandle) -> Result<String, HttpError> {
    let mut s = session.start().await;
    let n = s.get::<u64>("n")?.unwrap_or(0) + 1;
    s.set("n", &n)?;
    if n > 10 && n % 3 == 0 {
        let x = s.get::<f64>("x")?.unwrap_or(0.0) + 0.1;
        s.set("x", &x)?;
    }
    s.save().await?;
    Ok(format!("{n} {:?}", s.get::<f64>("x")?))
}

#[tokio::test]
async fn rolling_saves_read_back_what_each_save_wrote() {
    let server_side = config("storage = \"custom\"")
        .builder()
        .storage(MemoryStorage::default())
        .build()
        .unwrap();
    for built in [config("").build().unwrap(), server_side] {
        let app = Router::new().route("/roll", get(roll));
        let addr = serve(app.layer(SessionLayer::new(built))).await;
        let mut b = Browser::new(addr);
        // What the next request reads: the float through the payload's JSON.
        let mut stored: Option<f64> = None;
        for n in 1..=30u64 {
            let reply = b.get("/roll").await;
            assert_eq!(reply.status, StatusCode::OK, "request {n}");
            let shown = if n > 10 && n % 3 == 0 {
                let x = stored.unwrap_or(0.0) + 0.1;
                let text = serde_json::to_string(&x).unwrap();
                stored = Some(serde_json::from_str(&text).unwrap());
                Some(x)
            } else {
                stored
            };
            assert_eq!(reply.body, format!("{n} {shown:?}"), "request {n}");
        }
    }
}

// ------------------------------------------------------------------ the demo

#[tokio::test]
async fn demo_walks_the_lua_readme_synopsis() {
    let addr = serve(app::router(&Config::from_text(app::DEFAULT_CONFIG).unwrap()).unwrap()).await;
    let mut b = Browser::new(addr);

    let r = b.get("/").await;
    assert!(r.body.contains(r#"href="/start""#));
    assert!(
        r.set_cookies().is_empty(),
        "the index page must not touch the session"
    );

    let r = b.get("/start").await;
    // The link goes on to the started session (the index's "Start the test" is on `/start`).
    assert!(
        r.body
            .contains(r#"<a href="/started">Check if it really was</a>"#)
    );
    assert!(!r.body.contains("Start the test"));
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
    assert!(r.body.contains(r#"href="/modify""#));

    let r = b.get("/modify").await;
    assert!(r.body.contains(r#"href="/modified""#));
    let r = b.get("/modified").await;
    assert!(r.body.contains(r#"<strong id="subject">Lua Fan</strong>"#));
    assert!(r.body.contains("Lorem ipsum dolor sit amet"));
    assert!(r.body.contains(r#"href="/destroy""#));

    let before = b.jar.clone();
    let r = b.get("/destroy").await;
    assert!(r.body.contains(r#"href="/destroyed""#));
    assert!(!b.jar.contains_key("session"), "destroy expires the cookie");
    let r = b.get("/destroyed").await;
    assert!(
        r.body
            .contains(r#"<strong id="subject">Anonymous</strong>"#)
    );
    assert!(r.body.contains(r#"href="/""#));

    // Cookie storage: a copy of the old cookie still opens (that is what immutable cookie
    // sessions mean, as in Lua); server-side storage is tested below.
    let mut replay = b.clone();
    replay.jar = before;
    let r = replay.get("/started").await;
    assert!(r.body.contains("Lua Fan"));
}

#[tokio::test]
async fn demo_large_session_uses_several_cookies_and_reads_back_intact() {
    let addr = serve(app::router(&Config::from_text(app::DEFAULT_CONFIG).unwrap()).unwrap()).await;
    let mut b = Browser::new(addr);
    let r = b.get("/large").await;
    assert!(
        r.body
            .contains("Stored <strong id=\"length\">9000</strong>"),
        "{}",
        r.body
    );
    assert!(b.jar.contains_key("session2"), "jar: {:?}", b.jar.keys());
    let chunks = b.jar.keys().filter(|k| k.starts_with("session")).count();
    assert!(chunks >= 3);
    let r = b.get("/large").await;
    assert!(
        r.body
            .contains(r#"intact: <strong id="intact">yes</strong>"#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!(r#"<strong id="cookies">{chunks}</strong>"#))
    );
    // Clearing shrinks the session back to one cookie and expires the extra chunks.
    let _ = b.get("/large/clear").await;
    assert!(!b.jar.contains_key("session2"), "jar: {:?}", b.jar.keys());
}

#[tokio::test]
async fn demo_remember_me_survives_the_loss_of_the_session_cookie() {
    let addr = serve(app::router(&Config::from_text(app::DEFAULT_CONFIG).unwrap()).unwrap()).await;

    // Without "remember me": losing the session cookie signs the user out.
    let mut b = Browser::new(addr);
    let r = b.post_form("/account/login", "user=Ann").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!b.jar.contains_key("remember"));
    b.jar.remove("account");
    assert!(b.get("/account").await.body.contains("Not signed in"));

    // With it: a second, persistent cookie opens the session again.
    let mut b = Browser::new(addr);
    b.post_form("/account/login", "user=%3Cb%3EAnn&remember=on")
        .await;
    assert!(b.jar.contains_key("account") && b.jar.contains_key("remember"));
    let r = b.get("/account").await;
    assert!(
        r.body
            .contains(r#"<strong id="user">&lt;b&gt;Ann</strong>"#),
        "{}",
        r.body
    );
    b.jar.remove("account");
    let r = b.get("/account").await;
    assert!(
        r.body
            .contains(r#"<strong id="user">&lt;b&gt;Ann</strong>"#),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"<strong id="remember">yes</strong>"#));
    assert!(
        b.jar.contains_key("account"),
        "the session cookie is written again"
    );

    // Signing out removes both.
    b.request(http::Method::POST, "/account/logout", &[], String::new())
        .await;
    assert!(!b.jar.contains_key("account") && !b.jar.contains_key("remember"));
    assert!(b.get("/account").await.body.contains("Not signed in"));
}

// ------------------------------------------------------------------ the layer

#[tokio::test]
async fn a_request_that_never_touches_the_session_costs_no_storage_call_and_no_cookie() {
    let store = Counting::new(MemoryStorage::default());
    let built = config("storage = \"custom\"")
        .builder()
        .storage(store.clone())
        .build()
        .unwrap();
    let addr = serve(routes().layer(SessionLayer::new(built))).await;
    let mut b = Browser::new(addr);
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

    // Untrusted cookies never panic and say why they fail.
    for junk in ["", "x", "AAAA", &"A".repeat(5000), "%00%ff"] {
        b.jar.insert("session".into(), junk.into());
        let r = b.get("/whoami").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{junk:?}: {}", r.body);
    }
}

#[tokio::test]
async fn explicit_save_is_the_default_as_in_lua() {
    async fn set_only(session: SessionHandle) -> Result<&'static str, HttpError> {
        session.start().await.set("k", "v")?;
        Ok("set, not saved")
    }
    let app = routes().route("/set-only", get(set_only));
    let addr = serve(app.layer(SessionLayer::from_config(&config("")).unwrap())).await;
    let mut b = Browser::new(addr);
    let r = b.get("/set-only").await;
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn save_when_modified_saves_changed_sessions_once_and_leaves_read_only_ones_alone() {
    async fn set_only(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.open().await;
        let n = s.get::<u64>("n")?.unwrap_or(0);
        s.set("n", &(n + 1))?;
        Ok("set")
    }
    async fn read_only(session: SessionHandle) -> Result<String, HttpError> {
        let s = session.start().await;
        Ok(s.get::<u64>("n")?.unwrap_or(0).to_string())
    }
    let store = Counting::new(MemoryStorage::default());
    let built = config("storage = \"custom\"")
        .builder()
        .storage(store.clone())
        .build()
        .unwrap();
    let app = routes()
        .route("/set-only", get(set_only))
        .route("/read-only", get(read_only));
    let layer = SessionLayer::new(built).with_save_when_modified(true);
    let addr = serve(app.layer(layer)).await;
    let mut b = Browser::new(addr);

    let r = b.get("/set-only").await;
    assert_eq!(r.set_cookies().len(), 1, "a new, changed session is saved");
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);
    let r = b.get("/read-only").await;
    assert_eq!(r.body, "1");
    assert!(r.set_cookies().is_empty(), "reading does not save");
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);

    // A handler that saves itself is not saved twice.
    b.get("/bump").await;
    assert_eq!(store.sets.load(Ordering::SeqCst), 2);
    assert_eq!(b.get("/read-only").await.body, "2");
}

#[tokio::test]
async fn response_session_headers_are_applied() {
    async fn headers(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.open().await;
        s.set_response_headers(&[])?; // the configured list
        Ok("ok")
    }
    let app = routes().route("/headers", get(headers));
    let cfg = config(r#"response_headers = ["id", "subject", "timeout", "audience"]"#);
    let addr = serve(app.layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let mut b = Browser::new(addr);
    let id = b.get("/login").await.body;
    let r = b.get("/headers").await;
    assert_eq!(r.headers["session-subject"], "john");
    assert_eq!(r.headers["session-audience"], "default");
    assert_eq!(r.headers["session-id"], id.as_str());
    assert_eq!(id.len(), 43);
    let timeout: u64 = r.headers["session-timeout"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(timeout > 800 && timeout <= 900, "idling timeout: {timeout}");
}

#[tokio::test]
async fn handler_without_the_layer_gets_a_500_that_says_what_to_add() {
    async fn maybe(session: Option<SessionHandle>) -> &'static str {
        if session.is_some() {
            "layer"
        } else {
            "no layer"
        }
    }
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/maybe", get(maybe));
    let addr = serve(app).await;
    let r = Browser::new(addr).get("/whoami").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("SessionLayer"), "{}", r.body);
    assert_eq!(Browser::new(addr).get("/maybe").await.body, "no layer");
}

// ------------------------------------------------------------------ proxy use

#[tokio::test]
async fn proxy_forwards_without_session_cookies_and_with_session_headers() {
    // The upstream echoes what it received.
    async fn echo(headers: http::HeaderMap) -> String {
        let get = |n: &str| {
            headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| "<none>".into())
        };
        format!(
            "cookie={}\nsubject={}\nid={}",
            get("cookie"),
            get("session-subject"),
            get("session-id")
        )
    }
    let upstream = serve(Router::new().route("/echo", get(echo))).await;

    let proxy = move |session: SessionHandle, request: axum::extract::Request| async move {
        let mut s = session.open().await;
        if !s.exists() {
            return (StatusCode::UNAUTHORIZED, "no session").into_response();
        }
        s.clear_request_cookie().unwrap();
        s.set_request_headers(&["subject", "id"]).unwrap();
        let mut forward = http::Request::builder()
            .uri(format!("http://{upstream}/echo"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        *forward.headers_mut() = request.headers().clone();
        s.apply_request_headers(forward.headers_mut());
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let response = client.request(forward).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&body).into_owned().into_response()
    };
    // Cookie storage with a large session: every chunk must be stripped.
    async fn big_login(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.new_session().await;
        s.set_subject(Some("john"))?;
        let mut x: u32 = 0x1234_5678;
        let noise: String = (0..9000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                char::from(b'a' + u8::try_from(x % 26).unwrap())
            })
            .collect();
        s.set("noise", &noise)?;
        s.save().await?;
        Ok("ok")
    }
    let app = routes()
        .route("/proxy", get(proxy))
        .route("/big-login", get(big_login));
    let addr = serve(app.layer(SessionLayer::from_config(&config("")).unwrap())).await;
    let mut b = Browser::new(addr);
    assert_eq!(b.get("/proxy").await.status, StatusCode::UNAUTHORIZED);

    let id = b.get("/login").await.body;
    b.jar.insert("theme".into(), "dark".into());
    let r = b.get("/proxy").await;
    assert_eq!(
        r.body,
        format!("cookie=theme=dark\nsubject=john\nid={id}"),
        "{}",
        r.body
    );

    b.get("/big-login").await;
    assert!(b.jar.contains_key("session2"), "{:?}", b.jar.keys());
    let r = b.get("/proxy").await;
    assert!(
        r.body.starts_with("cookie=theme=dark\nsubject=john\n"),
        "{}",
        r.body
    );
}

// ------------------------------------------------------------------ concurrency

#[tokio::test]
async fn concurrent_saves_with_one_cookie_get_new_ids_and_the_old_stays_valid_for_stale_ttl() {
    let cfg = config("storage = \"shm\"\nstale_ttl = 10\n[shm]\nzone = \"http-concurrency\"");
    let clock = Arc::new(FixedClock::new(1_800_000_000));
    let store = resty_session::storage_from_config(&cfg).unwrap().unwrap();
    let built = cfg
        .builder()
        .dyn_storage(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    let addr = serve(routes().layer(SessionLayer::new(built))).await;
    let mut b = Browser::new(addr);
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

// ------------------------------------------------------------------ storages from configuration

#[tokio::test]
async fn file_storage_chosen_by_configuration_keeps_one_file_per_session() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&format!(
        "storage = \"file\"\n[file]\npath = {:?}\nsuffix = \"session\"",
        dir.path().to_str().unwrap()
    ));
    let addr = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let mut b = Browser::new(addr);
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

/// Needs a Redis server: `SESSION_REDIS_URL` (default `redis://127.0.0.1:6379`, which
/// `cargo xtask test` starts). Fails, rather than skips, when there is none.
#[tokio::test]
async fn redis_storage_chosen_by_configuration_shares_sessions_between_servers() {
    let url = env::redis_url();
    let prefix = format!("facade-test-{}", std::process::id());
    let cfg = config(&format!(
        "storage = \"redis\"\nstale_ttl = 1\n[redis]\nprefix = \"{prefix}\"\n{}",
        redis_block(&url)
    ));
    // Two servers (two "nodes" of one service) share the store.
    let a = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let b = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let mut on_a = Browser::new(a);
    let r = on_a.get("/login").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "is Redis running at {url}? {}",
        r.body
    );
    assert!(
        on_a.jar["session"].len() < 200,
        "the cookie holds only the header"
    );
    let mut on_b = Browser::new(b);
    on_b.jar = on_a.jar.clone();
    assert!(on_b.get("/whoami").await.body.starts_with("john "));
    // A save on one server leaves the old id readable for stale_ttl (1 s), then gone.
    let old = on_b.clone();
    on_b.get("/bump").await;
    assert_eq!(old.clone().get("/whoami").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        old.clone().get("/whoami").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(on_b.get("/whoami").await.status, StatusCode::OK);
}

#[test]
fn configuration_errors_say_what_to_do() {
    let err = |text: &str| resty_session::build(&config(text)).unwrap_err().to_string();
    assert!(resty_session::build(&config("storage = \"dshm\"")).is_ok());
    assert_eq!(
        err("storage = \"redis\"\n[redis]\nhots = \"x\""),
        "invalid `[redis]` options: unknown option `hots` (did you mean `host`?)"
    );
    assert!(err("storage = \"cassandra\"").contains("dyn_storage"));
    assert!(
        err("storage = \"shm\"\n[shm]\ncapacity = \"lots\"")
            .starts_with("invalid `[shm]` options: invalid type: string, expected")
    );
    assert!(
        err("storage = \"file\"\n[file]\npath = \"/nonexistent/dir\"")
            .starts_with("unable to create the file storage")
    );
    assert!(err("bind = [\"port\"]").starts_with("invalid bind"));
    let disabled = resty_session::SetupError::FeatureDisabled {
        backend: "shm".into(),
        feature: "shm",
    };
    assert!(disabled.to_string().contains(r#"features = ["shm"]"#));
}
