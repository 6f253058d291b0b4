//! The `warn` events of the network layer: a timed-out operation and a failed connection are
//! logged with the storage name and the operation, never with a key or a value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use session_net::conn::{Server, Target};
use session_net::deadline::Deadline;
use session_net::options::SocketLimits;
use session_net::pool::ConnPool;
use session_net::text::{Parsed, find_crlf};
use session_storage::{ErrorKind, StorageError};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Every event as `LEVEL field=value ...`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

const KEY: &str = "SECRETKEYiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn one_line(buf: &[u8]) -> Result<Parsed<String>, session_net::text::ProtocolError> {
    Ok(find_crlf(buf).map_or(Parsed::Need(buf.len() + 1), |end| {
        Parsed::Done(end + 2, String::from_utf8_lossy(&buf[..end]).into_owned())
    }))
}

#[test]
fn a_timed_out_operation_is_a_warn_event_naming_the_store() {
    let capture = Capture::default();
    let err = tracing::subscriber::with_default(capture.clone(), || {
        runtime().block_on(Deadline::new("memcached", Duration::from_millis(30)).run(
            "get",
            std::future::pending::<Result<(), StorageError>>(),
            || (),
        ))
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // Debug events (the deadline keeper starting) aside, one warning and nothing else.
    let events: Vec<String> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| !e.starts_with("DEBUG") && !e.starts_with("TRACE"))
        .cloned()
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].starts_with("WARN"), "{events:?}");
    assert!(events[0].contains("storage=\"memcached\""), "{events:?}");
    assert!(events[0].contains("operation=\"get\""), "{events:?}");
    assert!(events[0].contains("timeout_ms=30"), "{events:?}");
}

#[test]
fn mute_and_refusing_servers_log_warnings_without_the_key() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        runtime().block_on(async {
            // A server that accepts and never answers: the deadline cuts the request.
            let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = mute.local_addr().unwrap().port();
            let held = tokio::spawn(async move {
                let mut streams = Vec::new();
                while let Ok((s, _)) = mute.accept().await {
                    streams.push(s);
                }
            });
            let limits = SocketLimits {
                operation_timeout: Some(200),
                ..SocketLimits::default()
            }
            .resolve("dshm")
            .unwrap();
            let target = Target::Tcp("127.0.0.1".into(), port);
            let pool = ConnPool::new(Server::new("dshm", "DSHM", target), None, limits).unwrap();
            let request = format!("get {KEY}\r\n");
            let result: Result<String, StorageError> =
                session_net::with_conn!(&pool, "get", |conn| async {
                    Ok(conn.request(request.as_bytes(), one_line).await?)
                });
            assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
            held.abort();

            // Nothing listening: the connection failure is logged.
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = closed.local_addr().unwrap().port();
            drop(closed);
            let target = Target::Tcp("127.0.0.1".into(), port);
            let pool = ConnPool::new(Server::new("dshm", "DSHM", target), None, limits).unwrap();
            let result: Result<String, StorageError> =
                session_net::with_conn!(&pool, "get", |conn| async {
                    Ok(conn.request(request.as_bytes(), one_line).await?)
                });
            assert_eq!(result.unwrap_err().kind(), ErrorKind::Unavailable);
        });
    });
    let events = capture.0.lock().unwrap().clone();
    let warns = |needle: &str| {
        events
            .iter()
            .any(|e| e.starts_with("WARN") && e.contains("storage=\"dshm\"") && e.contains(needle))
    };
    assert!(
        warns("operation=\"get\""),
        "the timeout is logged: {events:?}"
    );
    assert!(
        warns("connect"),
        "the refused connection is logged: {events:?}"
    );
    for e in &events {
        assert!(!e.contains("SECRETKEY"), "an event shows the key: {e}");
    }
}
