//! Observability (issue 10): every session operation has a span with its storage and
//! outcome, a session that does not open says why at debug level, store failures are logged
//! — and nothing captured at TRACE level holds the secret, a full session id, a cookie value
//! or a password. Cookie, shm and Redis storage (Redis at `$SESSION_REDIS_URL`, default
//! `redis://127.0.0.1:6379`; the test fails when it cannot reach it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod capture;

use std::collections::BTreeSet;
use std::sync::Mutex;

use resty_session::{Config, Error, Request, Session, SessionConfig};

const SECRET: &str = "observability-secret-7f3a9c1e5b2d";
const PASSWORD: &str = "obs-redis-password-4e8b1d";

/// Every string no record may contain, from every test of this file.
static FORBIDDEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn forbid(text: impl Into<String>) {
    FORBIDDEN.lock().unwrap().insert(text.into());
}

fn redis_host_port() -> (String, u16) {
    let url =
        std::env::var("SESSION_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let rest = url.trim_start_matches("redis://");
    let rest = rest.rsplit('@').next().unwrap();
    let hostport = rest.split('/').next().unwrap();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    (host.to_owned(), port.parse().unwrap())
}

fn build(storage: &str) -> SessionConfig {
    let text = match storage {
        "cookie" => format!("secret = {SECRET:?}"),
        "shm" => format!("secret = {SECRET:?}\nstorage = \"shm\"\n[shm]\nzone = \"observability\""),
        "redis" => {
            let (host, port) = redis_host_port();
            format!(
                "secret = {SECRET:?}\nstorage = \"redis\"\n[redis]\nhost = {host:?}\nport = {port}\nprefix = \"observability\""
            )
        }
        _ => unreachable!(),
    };
    resty_session::build(&Config::from_text(&text).unwrap()).unwrap()
}

/// The `Cookie` header for a session's `Set-Cookie` values, each value forbidden in logs.
fn cookie_of(session: &Session) -> String {
    let mut pairs = Vec::new();
    for set_cookie in session.set_cookies() {
        let pair = set_cookie.split(';').next().unwrap();
        let value = pair.split_once('=').unwrap().1;
        if !value.is_empty() {
            forbid(value);
        }
        pairs.push(pair.to_owned());
    }
    if let Some(meta) = session.cookie_metadata() {
        forbid(meta.sid.to_base64());
    }
    pairs.join("; ")
}

fn request(cookie: &str) -> Request {
    Request::new().with_cookie(cookie.to_owned())
}

/// start, set, save, open, refresh, touch, logout, destroy and failed opens, on `storage`.
async fn full_flow(storage: &str) {
    capture::install();
    forbid(SECRET);
    let config = build(storage);

    // Log in.
    let started = resty_session::start(&config, Request::new()).await;
    assert!(!started.exists);
    let mut s = started.session;
    s.set_subject(Some("john")).unwrap();
    s.set("quote", &"Lorem ipsum").unwrap();
    s.save().await.unwrap();
    let cookie = cookie_of(&s);

    // Next request: open, refresh, touch, save again (a new id).
    let mut s = Session::new(&config, request(&cookie));
    s.open().await.unwrap();
    s.refresh().await.unwrap();
    s.touch().await.unwrap();
    s.set("quote", &"dolor sit amet").unwrap();
    s.save().await.unwrap();
    let cookie = cookie_of(&s);

    // Log out.
    let mut s = Session::new(&config, request(&cookie));
    s.open().await.unwrap();
    s.logout().await.unwrap();
    cookie_of(&s);

    // Another session, destroyed.
    let mut s = Session::new(&config, Request::new());
    s.save().await.unwrap();
    let cookie = cookie_of(&s);
    let mut s = Session::new(&config, request(&cookie));
    s.open().await.unwrap();
    s.destroy().await.unwrap();

    // Opens that fail: no cookie, a forged MAC, a destroyed session.
    let mut s = Session::new(&config, Request::new());
    assert!(matches!(s.open().await, Err(Error::MissingCookie)));
    let mut s = Session::new(&config, Request::new());
    s.save().await.unwrap();
    let good = cookie_of(&s);
    let (name, value) = good.split_once('=').unwrap();
    let mut forged: Vec<u8> = value.bytes().collect();
    // The MAC is the header's last 16 bytes (base64url characters 89..110).
    forged[100] = if forged[100] == b'A' { b'B' } else { b'A' };
    let forged = format!("{name}={}", String::from_utf8(forged).unwrap());
    forbid(forged.split_once('=').unwrap().1);
    let mut s = Session::new(&config, request(&forged));
    assert!(s.open().await.is_err());
    if storage != "cookie" {
        let mut s = Session::new(&config, request(&cookie));
        assert!(s.open().await.is_err(), "a destroyed session opened");
    }

    // Spans: one per operation, with the storage name and an outcome.
    let records = capture::records();
    for op in ["open", "save", "refresh", "touch", "logout", "destroy"] {
        let name = format!("session.{op}");
        assert!(
            records
                .iter()
                .any(|r| r.kind == "span" && r.name == name && r.field("storage") == Some(storage)),
            "no {name} span for {storage}"
        );
    }
    for outcome in ["ok", "missing", "bad_mac"] {
        assert!(
            records
                .iter()
                .any(|r| r.kind == "record" && r.field("outcome") == Some(outcome)),
            "no outcome {outcome}"
        );
    }
    assert!(
        records.iter().any(|r| r.kind == "event"
            && r.level == tracing::Level::DEBUG
            && r.field("outcome") == Some("bad_mac")),
        "no debug event for a bad MAC"
    );
    if storage != "cookie" {
        assert!(
            records
                .iter()
                .any(|r| r.kind == "record" && r.field("outcome") == Some("not_found")),
            "no not_found outcome for the destroyed session"
        );
    }
    assert_nothing_forbidden();
}

fn assert_nothing_forbidden() {
    let forbidden = FORBIDDEN.lock().unwrap().clone();
    for record in capture::records() {
        let text = record.text();
        for secret in &forbidden {
            assert!(
                !text.contains(secret.as_str()),
                "a record holds a forbidden value: {text}"
            );
        }
        // No 43-character session id, whichever it is.
        let longest = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest < 43, "a record holds a full id or cookie: {text}");
    }
}

#[tokio::test]
async fn cookie_storage_is_observable_without_leaks() {
    full_flow("cookie").await;
}

#[tokio::test]
async fn shm_storage_is_observable_without_leaks() {
    full_flow("shm").await;
}

#[tokio::test]
async fn redis_storage_is_observable_without_leaks() {
    full_flow("redis").await;
}

#[tokio::test]
async fn a_failing_redis_logs_the_failure_without_the_password() {
    capture::install();
    forbid(SECRET);
    forbid(PASSWORD);
    // The machine's Redis has no password: AUTH with one fails, so does every operation.
    let (host, port) = redis_host_port();
    let text = format!(
        "secret = {SECRET:?}\nstorage = \"redis\"\n[redis]\nhost = {host:?}\nport = {port}\npassword = {PASSWORD:?}\nprefix = \"observability\""
    );
    let config = resty_session::build(&Config::from_text(&text).unwrap()).unwrap();
    let mut s = Session::new(&config, Request::new());
    let err = s.save().await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    assert!(
        capture::records().iter().any(|r| r.kind == "event"
            && r.level == tracing::Level::ERROR
            && r.field("outcome") == Some("store_failed")),
        "no error event for the failed store write"
    );
    assert_nothing_forbidden();
}
