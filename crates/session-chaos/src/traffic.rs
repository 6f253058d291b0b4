//! The clients: each keeps the newest session it was told is saved (a `200` with a
//! `Set-Cookie`) and checks, whenever it reads, that the session opens with what it wrote.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::{Rng, SeedableRng};

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// A new HTTP client.
pub(crate) fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What the clients saw, per server.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Requests sent.
    pub(crate) sent: u64,
    /// Answers by status (`timeout` when none came before the client gave up).
    pub(crate) by_status: BTreeMap<String, u64>,
    /// The slowest answer that was not a `200`.
    pub(crate) worst_error: Duration,
    /// The slowest answer of all.
    pub(crate) worst: Duration,
    /// Requests that took longer than the limit.
    pub(crate) over_limit: u64,
    /// Acknowledged saves found missing or changed.
    pub(crate) lost: Vec<String>,
}

/// The newest acknowledged save of a client.
#[derive(Clone, Debug)]
pub(crate) struct Acked {
    cookie: String,
    value: u64,
}

struct Answer {
    status: Option<u16>,
    cookie: Option<String>,
    body: String,
}

/// One request; `None` status when no answer came within `give_up`.
async fn send(
    client: &HttpClient,
    url: &str,
    cookie: Option<&str>,
    give_up: Duration,
    limit: Duration,
    tally: &Mutex<Tally>,
) -> Answer {
    let mut request = hyper::Request::get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let started = Instant::now();
    let answer = match request.body(Empty::new()) {
        Ok(request) => match tokio::time::timeout(give_up, client.request(request)).await {
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                let cookies: Vec<String> = response
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter_map(|v| v.split(';').next())
                    .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
                    .map(str::to_owned)
                    .collect();
                let body = tokio::time::timeout(give_up, response.into_body().collect())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                    .unwrap_or_default();
                Answer {
                    status: Some(status),
                    cookie: (!cookies.is_empty()).then(|| cookies.join("; ")),
                    body,
                }
            }
            Ok(Err(_)) | Err(_) => Answer {
                status: None,
                cookie: None,
                body: String::new(),
            },
        },
        Err(_) => Answer {
            status: None,
            cookie: None,
            body: String::new(),
        },
    };
    let elapsed = started.elapsed();
    let mut t = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    t.sent += 1;
    let key = answer
        .status
        .map_or_else(|| "timeout".to_owned(), |s| s.to_string());
    *t.by_status.entry(key).or_default() += 1;
    t.worst = t.worst.max(elapsed);
    if answer.status != Some(200) {
        t.worst_error = t.worst_error.max(elapsed);
    }
    if elapsed > limit {
        t.over_limit += 1;
    }
    answer
}

/// Everything a client needs.
#[derive(Clone)]
pub(crate) struct Target {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The longest a request may take.
    pub(crate) limit: Duration,
    /// What the clients saw.
    pub(crate) tally: Arc<Mutex<Tally>>,
}

impl Target {
    fn lost(&self, what: String) {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lost
            .push(what);
    }
}

/// One client: new sessions, reads and modifications until `stop`; returns its newest
/// acknowledged save.
pub(crate) async fn client(id: u64, target: Target, stop: Arc<AtomicBool>) -> Option<Acked> {
    let http = http_client();
    let give_up = target.limit + Duration::from_secs(5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(id);
    let mut acked: Option<Acked> = None;
    let mut next = id * 1_000_000_000;
    while !stop.load(Ordering::Relaxed) {
        next += 1;
        let roll: u8 = rng.random_range(0..20);
        match &acked {
            Some(a) if roll < 10 => {
                let url = format!("{}/read", target.base);
                let r = send(
                    &http,
                    &url,
                    Some(&a.cookie),
                    give_up,
                    target.limit,
                    &target.tally,
                )
                .await;
                match r.status {
                    Some(200) if r.body == a.value.to_string() => {}
                    Some(200) => target.lost(format!(
                        "client {id}: read {:?} where {} was saved",
                        r.body, a.value
                    )),
                    Some(404) => target.lost(format!(
                        "client {id}: the session saved with {} did not open ({})",
                        a.value, r.body
                    )),
                    // The store failed or hung: an error, not a loss.
                    _ => {}
                }
            }
            Some(a) if roll < 17 => {
                let url = format!("{}/modify?v={next}", target.base);
                let r = send(
                    &http,
                    &url,
                    Some(&a.cookie),
                    give_up,
                    target.limit,
                    &target.tally,
                )
                .await;
                match (r.status, r.cookie) {
                    (Some(200), Some(cookie)) => {
                        acked = Some(Acked {
                            cookie,
                            value: next,
                        })
                    }
                    (Some(404), _) => {
                        target.lost(format!(
                            "client {id}: the session saved with {} did not open to be modified ({})",
                            a.value, r.body
                        ));
                        acked = None;
                    }
                    // A failed save leaves the session the client holds: the run's
                    // `stale_ttl` is an hour, so even a save that happened half-way (the
                    // new record written, the answer lost) leaves it readable.
                    _ => {}
                }
            }
            _ => {
                let url = format!("{}/new?v={next}", target.base);
                let r = send(&http, &url, None, give_up, target.limit, &target.tally).await;
                if let (Some(200), Some(cookie)) = (r.status, r.cookie) {
                    acked = Some(Acked {
                        cookie,
                        value: next,
                    });
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    acked
}

/// After the run, with every store healthy again: each client's newest acknowledged save
/// must open with its value (a few tries while the stores settle).
pub(crate) async fn verify(target: &Target, acked: &[Acked]) {
    let http = http_client();
    let give_up = target.limit + Duration::from_secs(5);
    for a in acked {
        let url = format!("{}/read", target.base);
        let mut last = None;
        for _ in 0..20 {
            let r = send(
                &http,
                &url,
                Some(&a.cookie),
                give_up,
                target.limit,
                &target.tally,
            )
            .await;
            match r.status {
                Some(200 | 404) => {
                    last = Some((r.status, r.body));
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        match last {
            Some((Some(200), body)) if body == a.value.to_string() => {}
            Some((_, body)) => target.lost(format!(
                "at the end: the session saved with {} answers {body:?}",
                a.value
            )),
            None => target.lost(format!(
                "at the end: the session saved with {} could not be read (store still failing)",
                a.value
            )),
        }
    }
}
