//! Hardening (issue 10): failures are loud, defaults are safe, nothing leaks.
//!
//! Every configuration here has a long secret, except in the test of the secret warnings:
//! those warnings are emitted once per process.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod capture;
mod common;
#[path = "common/wrapped.rs"]
mod wrapped;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use resty_session::memory::MemoryStorage;
use resty_session::{Config, Error, HttpError, SessionConfig, SessionHandle, SessionLayer};

use common::{Browser, serve};
use wrapped::DownForWrites;

const SECRET: &str = "a long enough secret for the hardening tests";

fn config() -> Config {
    Config::from_text(&format!("secret = {SECRET:?}")).unwrap()
}

async fn set_without_saving(session: SessionHandle) -> &'static str {
    let mut s = session.open().await;
    s.set("visits", &1).unwrap();
    "handler says ok"
}

// ------------------------------------------------ item 1: a failed end-of-request save

#[tokio::test]
async fn a_failed_end_of_request_save_answers_500_and_is_logged() {
    capture::install();
    let built = config()
        .builder()
        .storage(DownForWrites::default())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/set", get(set_without_saving))
        .layer(SessionLayer::new(built).with_save_when_modified(true));
    let addr = serve(app).await;
    let r = Browser::new(addr).get("/set").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.body.contains("handler says ok"), "{}", r.body);
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    let logged = capture::records().into_iter().any(|r| {
        r.kind == "event"
            && r.level == tracing::Level::ERROR
            && r.text().contains("end-of-request session save failed")
            && r.field("error")
                .is_some_and(|e| e.contains("store down (test)"))
    });
    assert!(logged, "no error event for the failed save");

    // The same handler on a working store: 200 and the cookie.
    let built = config()
        .builder()
        .storage(MemoryStorage::new())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/set", get(set_without_saving))
        .layer(SessionLayer::new(built).with_save_when_modified(true));
    let r = Browser::new(serve(app).await).get("/set").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "handler says ok");
    assert_eq!(r.set_cookies().len(), 1);
}

#[tokio::test]
async fn finish_reports_the_failed_save_without_a_layer() {
    let built = config()
        .builder()
        .storage(DownForWrites::default())
        .build()
        .unwrap();
    let handle = SessionHandle::from_headers_saving_when_modified(built, &HeaderMap::new());
    handle.open().await.set("visits", &1).unwrap();
    let mut headers = HeaderMap::new();
    let err = handle.finish(&mut headers).await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    assert!(headers.is_empty());
}

// ----------------------------------------- item 3: error bodies do not leak internals

#[tokio::test]
async fn an_http_error_body_holds_no_path_pid_or_session_id() {
    capture::install();
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions");
    std::fs::create_dir(&sessions).unwrap();
    let store = resty_session::file::FileStorage::from_config(
        resty_session::file::FileConfig::default().with_path(&sessions),
    )
    .unwrap();
    let built = config().builder().storage(store).build().unwrap();

    async fn login(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.start().await;
        s.set_subject(Some("john"))?;
        s.save().await?;
        Ok("logged in")
    }
    let app = Router::new()
        .route("/login", get(login))
        .layer(SessionLayer::new(built));
    let mut browser = Browser::new(serve(app).await);
    assert_eq!(browser.get("/login").await.body, "logged in");
    let cookie = browser.cookie_header();
    let sid_part = cookie.split('=').nth(1).unwrap().to_owned();

    // The disk "goes away": the next save fails inside the file store.
    std::fs::remove_dir_all(&sessions).unwrap();
    let r = browser.get("/login").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = r.body;
    let pid = std::process::id().to_string();
    assert!(!body.contains(sessions.to_str().unwrap()), "{body}");
    assert!(!body.contains("/"), "{body}");
    assert!(!body.contains(&pid), "{body}");
    assert!(!body.contains(&sid_part[..20]), "{body}");
    assert!(body.starts_with("session error (ref "), "{body}");
    let id = body
        .trim_start_matches("session error (ref ")
        .trim_end_matches(')');
    assert_eq!(id.len(), 12, "{body}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{body}");

    // The detail is in the log, under the same id, with the session ids shortened.
    let event = capture::records()
        .into_iter()
        .find(|r| r.kind == "event" && r.field("error_id") == Some(id))
        .expect("no error event with the body's error_id");
    assert_eq!(event.level, tracing::Level::ERROR);
    let detail = event.field("error").unwrap();
    assert!(detail.contains("unable to store session data"), "{detail}");
    assert!(detail.contains(sessions.to_str().unwrap()), "{detail}");
    let longest_id_run = detail
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_id_run < 24, "a session id in the log: {detail}");
}

// ------------------------------------- item 8: a guard held while calling the handle

#[tokio::test]
async fn a_guard_held_while_calling_its_handle_is_an_error_not_a_hang() {
    let built = config().build().unwrap();
    let handle = SessionHandle::from_headers(built, &HeaderMap::new());
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut guard = handle.open().await;
        guard.set("k", &1).unwrap();
        // Today's code waited here forever for the guard this task holds.
        assert!(matches!(handle.destroy().await, Err(Error::Borrowed)));
        assert!(matches!(handle.logout().await, Err(Error::Borrowed)));
        let mut detached = handle.open().await;
        assert!(matches!(detached.open_error(), Some(Error::Borrowed)));
        assert!(matches!(detached.save().await, Err(Error::Borrowed)));
        assert!(matches!(
            handle.start().await.open_error(),
            Some(Error::Borrowed)
        ));
        assert!(matches!(
            handle.new_session().await.open_error(),
            Some(Error::Borrowed)
        ));
        drop(detached);
        // The real guard still holds the handler's change.
        assert_eq!(guard.get::<u64>("k").unwrap(), Some(1));
        guard.save().await.unwrap();
        drop(guard);
        // Free again: the same session comes back.
        assert_eq!(handle.open().await.get::<u64>("k").unwrap(), Some(1));
        // The misuse fails the response.
        let mut headers = HeaderMap::new();
        assert!(matches!(
            handle.finish(&mut headers).await,
            Err(Error::Borrowed)
        ));
    })
    .await
    .expect("the handle waited for a guard its own task holds");
}

#[tokio::test]
async fn a_handler_that_misuses_its_handle_gets_a_500_not_a_hang() {
    async fn misuse(session: SessionHandle) -> Result<&'static str, HttpError> {
        let mut s = session.open().await;
        s.set("k", &1)?;
        s.save().await?;
        let _ = session.logout().await;
        Ok("done")
    }
    let app = Router::new()
        .route("/misuse", get(misuse))
        .layer(SessionLayer::new(config().build().unwrap()));
    let addr = serve(app).await;
    let r = tokio::time::timeout(Duration::from_secs(5), Browser::new(addr).get("/misuse"))
        .await
        .expect("the request hung");
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookies().is_empty());
}

// ----------------------------------- the handle without tower (save when modified)

#[tokio::test]
async fn the_handle_saves_when_modified_without_a_layer() {
    let built: SessionConfig = config().build().unwrap();
    let handle = SessionHandle::from_headers_saving_when_modified(built.clone(), &HeaderMap::new());
    handle.start().await.set("cart", &vec![1, 2]).unwrap();
    let mut headers = HeaderMap::new();
    handle.finish(&mut headers).await.unwrap();
    let set_cookie = headers[http::header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap();
    let mut next = HeaderMap::new();
    next.insert(http::header::COOKIE, cookie.parse().unwrap());
    let handle = SessionHandle::from_headers(built, &next);
    let s = handle.open().await;
    assert!(s.exists(), "{:?}", s.open_error());
    assert_eq!(s.get::<Vec<u32>>("cart").unwrap(), Some(vec![1, 2]));
}

// ------------------------------------------------- item 7: weak or missing secrets

#[test]
fn missing_and_short_secrets_are_warned_once_without_the_secret() {
    capture::install();
    let warnings = |needle: &str| {
        capture::records()
            .into_iter()
            .filter(|r| r.kind == "event" && r.level == tracing::Level::WARN)
            .filter(|r| r.text().contains(needle))
            .count()
    };
    // No secret: a random per-process key, said once however many configurations are built.
    Config::default().build().unwrap();
    Config::default().build().unwrap();
    assert_eq!(warnings("random per-process key"), 1);
    // A short secret (here a 7-byte password) is flagged, and never printed.
    Config::from_text(r#"secret = "hunter2""#)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(warnings("shorter than 16 bytes"), 1);
    Config::from_text(r#"secret = "x""#)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(warnings("shorter than 16 bytes"), 1);
    for r in capture::records() {
        assert!(!r.text().contains("hunter2"), "{}", r.text());
    }
    // A long secret draws no warning of its own.
    let before = capture::records().len();
    config().build().unwrap();
    let after: Vec<_> = capture::records()[before..]
        .iter()
        .filter(|r| r.level == tracing::Level::WARN && r.text().contains("secret"))
        .map(capture::Record::text)
        .collect();
    assert!(after.is_empty(), "{after:?}");
}

// ------------------------------------------- item 5: the decoded size is bounded

fn cookie_of(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_cookie_inflating_past_the_bound_is_refused_with_a_typed_error() {
    use resty_session::{Request, Session};
    // A key holder writes 4 MB of very compressible data into a cookie (about 4 KB once
    // deflated), which the engine only allows with a raised bound.
    let raised = Config::from_text(&format!(
        "secret = {SECRET:?}\nmax_plaintext_size = 8388608"
    ))
    .unwrap()
    .build()
    .unwrap();
    let big = "a".repeat(4_000_000);
    let mut s = Session::new(&raised, Request::new());
    s.set("blob", &big).unwrap();
    s.save().await.unwrap();
    let cookie = cookie_of(s.set_cookies());
    assert!(cookie.len() < 16_000, "{} bytes of cookie", cookie.len());

    // The default bound for cookies (1 MiB) refuses it.
    let default = config().build().unwrap();
    assert_eq!(
        default.max_plaintext_size(),
        resty_session::crates::core::config::DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE
    );
    let mut s = Session::new(&default, Request::new().with_cookie(cookie.clone()));
    let err = s.open().await.unwrap_err();
    assert!(
        matches!(err, Error::PlaintextTooLarge { limit } if limit == 1024 * 1024),
        "{err:?}"
    );
    // The raised bound opens it (on a blocking thread: it inflates past 256 KiB).
    let mut s = Session::new(&raised, Request::new().with_cookie(cookie));
    s.open().await.unwrap();
    assert_eq!(
        s.get::<String>("blob").unwrap().map(|b| b.len()),
        Some(4_000_000)
    );

    // A save past the bound is refused (it would never open again).
    let mut s = Session::new(&default, Request::new());
    s.set("blob", &"b".repeat(2_000_000)).unwrap();
    assert!(matches!(
        s.save().await,
        Err(Error::PlaintextTooLarge { .. })
    ));
    // Out-of-range options are configuration errors.
    for bad in ["0", "100", "99999999999"] {
        let err = Config::from_text(&format!("secret = {SECRET:?}\nmax_plaintext_size = {bad}"))
            .unwrap()
            .build()
            .unwrap_err();
        assert_eq!(err.option(), "max_plaintext_size");
    }
}

#[tokio::test]
async fn a_large_server_side_record_opens_off_the_worker() {
    use resty_session::{Request, Session};
    capture::install();
    // Server-side stores default to the format's bound: a record Lua may write opens.
    let built = config()
        .builder()
        .storage(MemoryStorage::new())
        .build()
        .unwrap();
    assert_eq!(
        built.max_plaintext_size(),
        resty_session::crates::codec::MAX_PLAINTEXT_SIZE
    );
    let data: Vec<String> = (0..40_000).map(|i| format!("item number {i}")).collect();
    let mut s = Session::new(&built, Request::new());
    s.set("items", &data).unwrap();
    s.save().await.unwrap();
    let cookie = cookie_of(s.set_cookies());
    let mut s = Session::new(&built, Request::new().with_cookie(cookie));
    s.open().await.unwrap();
    assert_eq!(s.get::<Vec<String>>("items").unwrap(), Some(data));
    assert!(
        capture::records()
            .iter()
            .any(|r| r.text().contains("on a blocking thread")),
        "the large payload was decoded on the async worker"
    );
}
