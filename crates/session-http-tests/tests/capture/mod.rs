//! A tiny `tracing` subscriber for tests: every span (with its fields, also those recorded
//! later) and every event, at every level, from every thread, kept in memory.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::span;
use tracing::{Event, Level, Metadata, Subscriber};

/// One captured span creation, span record or event.
#[derive(Debug, Clone)]
pub struct Record {
    /// `"span"`, `"record"` (fields added to a span later) or `"event"`.
    pub kind: &'static str,
    pub level: Level,
    pub target: String,
    /// The span's name, or the event's callsite name.
    pub name: String,
    pub fields: Vec<(String, String)>,
}

impl Record {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Everything a reader of the log would see of this record.
    pub fn text(&self) -> String {
        let mut out = format!("{} {} {} {}", self.kind, self.level, self.target, self.name);
        for (n, v) in &self.fields {
            out.push_str(&format!(" {n}={v}"));
        }
        out
    }
}

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static SPAN_NAMES: Mutex<Vec<(u64, &'static str, Level, &'static str)>> = Mutex::new(Vec::new());

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

struct Capture;

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, attrs: &span::Attributes<'_>) -> span::Id {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let meta = attrs.metadata();
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        SPAN_NAMES
            .lock()
            .unwrap()
            .push((id, meta.name(), *meta.level(), meta.target()));
        RECORDS.lock().unwrap().push(Record {
            kind: "span",
            level: *meta.level(),
            target: meta.target().to_owned(),
            name: meta.name().to_owned(),
            fields: fields.0,
        });
        span::Id::from_u64(id)
    }

    fn record(&self, span: &span::Id, values: &span::Record<'_>) {
        let mut fields = Fields(Vec::new());
        values.record(&mut fields);
        let (name, level, target) = SPAN_NAMES
            .lock()
            .unwrap()
            .iter()
            .find(|(id, ..)| *id == span.into_u64())
            .map(|(_, n, l, t)| (*n, *l, *t))
            .unwrap_or(("?", Level::TRACE, "?"));
        RECORDS.lock().unwrap().push(Record {
            kind: "record",
            level,
            target: target.to_owned(),
            name: name.to_owned(),
            fields: fields.0,
        });
    }

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        RECORDS.lock().unwrap().push(Record {
            kind: "event",
            level: *meta.level(),
            target: meta.target().to_owned(),
            name: meta.name().to_owned(),
            fields: fields.0,
        });
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Install the capturing subscriber for the whole test process (once).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Capture).unwrap();
    });
}

/// Every record captured so far.
pub fn records() -> Vec<Record> {
    RECORDS.lock().unwrap().clone()
}
