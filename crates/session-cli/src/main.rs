//! The `session` command-line tool: mint, inspect and debug session cookies
//! compatible with lua-resty-session 4.1.5.
//!
//! ```text
//! session keygen
//! session mint --config crates/session-cli/examples/config.json --subject john --data '{"n":1}'
//! session inspect --config crates/session-cli/examples/config.json --cookie 'session=AQAA…'
//! ```
//!
//! CONFIG is a path to a JSON or TOML file, or inline JSON, in the Lua
//! option names (plus `ikm_hex` / `ikm_fallbacks_hex`). Results are JSON on
//! standard output; errors go to standard error with a non-zero exit.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};
use session_core::env::{Clock, OsRandomSid, SidSource, SystemClock};
use session_core::session_codec::{Header, b64_encode};
use session_core::session_storage::{Metadata, SessionIndex, SetRequest, Storage, StorageError};
use session_core::{Config, Property, Request, Session, SessionConfig, State, block_on};

#[derive(Parser)]
#[command(
    name = "session",
    version,
    about = "Mint, inspect and debug lua-resty-session 4.1.5 compatible session cookies",
    long_about = "Mint, inspect and debug session cookies that lua-resty-session 4.1.5 (OpenResty) \
reads and writes.\n\nCONFIG is a path to a JSON or TOML file, or inline JSON, with the Lua option \
names (secret, ikm, audience, cookie_name, idling_timeout, ...), plus ikm_hex / ikm_fallbacks_hex \
for binary keys. Output is JSON on stdout; errors go to stderr with a non-zero exit."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Request values shared by `mint` and `inspect`.
#[derive(clap::Args)]
struct RequestArgs {
    /// Configuration: a JSON or TOML file, or inline JSON.
    #[arg(long, value_name = "CONFIG")]
    config: String,
    /// The current time, in Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// The audience to use instead of the configured one.
    #[arg(long, value_name = "A")]
    audience: Option<String>,
    /// Client address, for sessions bound with bind = ["ip"].
    #[arg(long, value_name = "ADDR")]
    remote_addr: Option<String>,
    /// Request scheme (http or https), for bind = ["scheme"].
    #[arg(long, value_name = "SCHEME")]
    scheme: Option<String>,
    /// User-Agent header value, for bind = ["user_agent"].
    #[arg(long, value_name = "UA")]
    user_agent: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or re-save) a session and print its Set-Cookie values.
    ///
    /// Prints {"set_cookie": [...], "cookies": {name: value}} (plus "storage"
    /// records when the configuration names a storage backend).
    ///
    /// Example:
    ///   session mint --config crates/session-cli/examples/config.json --subject john --data '{"role":"admin"}'
    ///
    /// With --cookie, the existing session is opened first and re-saved: its
    /// other audiences, creation time and rolling offset are kept, as a save
    /// after open does.
    Mint {
        #[command(flatten)]
        request: RequestArgs,
        /// The session subject.
        #[arg(long, value_name = "S")]
        subject: Option<String>,
        /// The session data: a JSON object.
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
        /// Also write a remember ("remember me") cookie (true) or set FORGET (false).
        #[arg(long, value_name = "BOOL")]
        remember: Option<bool>,
        /// A Cookie request header holding a session to re-save.
        #[arg(long, value_name = "COOKIE HEADER")]
        cookie: Option<String>,
    },
    /// Decode the session cookies of a Cookie header and open the session.
    ///
    /// Prints the decoded header of each session cookie, and the open result:
    /// ok, err, exists, state, data, audience, subject, remember, properties.
    ///
    /// Example:
    ///   session inspect --config crates/session-cli/examples/config.json --cookie 'session=AQAA...'
    Inspect {
        #[command(flatten)]
        request: RequestArgs,
        /// The Cookie request header.
        #[arg(long, value_name = "COOKIE HEADER")]
        cookie: String,
    },
    /// Print a fresh random 32-byte ikm (hex and base64url).
    ///
    /// Example:
    ///   session keygen
    Keygen,
}

/// A store that records what a save writes, so `mint` can print it.
#[derive(Default, Clone)]
struct RecordingStore(Arc<Mutex<Vec<Value>>>);

impl Storage for RecordingStore {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        let record = json!({
            "name": req.name,
            "key": req.key,
            "value": req.value,
            "ttl": req.ttl,
            "old_key": req.old_key,
            "stale_ttl": req.stale_ttl,
            "metadata": req.metadata.map(|m| json!({"audiences": m.audiences, "subjects": m.subjects})),
        });
        self.0
            .lock()
            .map_err(|_| StorageError::backend("lock poisoned"))?
            .push(record);
        Ok(())
    }

    async fn get(&self, _: &str, _: &str, _: i64) -> Result<Option<String>, StorageError> {
        Ok(None)
    }

    async fn delete(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        Ok(())
    }

    async fn read_metadata(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<SessionIndex, StorageError> {
        Ok(SessionIndex::new())
    }
}

fn load_config(spec: &str) -> Result<Config, String> {
    let text = if spec.trim_start().starts_with('{') {
        spec.to_owned()
    } else {
        std::fs::read_to_string(spec)
            .map_err(|e| format!("cannot read configuration {spec}: {e}"))?
    };
    Config::from_text(&text).map_err(|e| e.to_string())
}

/// The time `--now` gives (the engine's deterministic clocks are test-only).
#[derive(Debug)]
struct AtTime(u64);

impl Clock for AtTime {
    fn now(&self) -> u64 {
        self.0
    }
}

fn build(args: &RequestArgs, store: &RecordingStore) -> Result<SessionConfig, String> {
    let config = load_config(&args.config)?;
    let uses_storage = matches!(
        &config.storage,
        Some(session_core::config::StorageOption::Name(n)) if !n.is_empty() && n != "cookie"
    );
    let clock: Arc<dyn Clock> = match args.now {
        Some(now) => Arc::new(AtTime(now)),
        None => Arc::new(SystemClock),
    };
    let mut builder = config.builder().clock(clock);
    if uses_storage {
        builder = builder.storage(store.clone());
    }
    builder
        .build()
        .map_err(|e| format!("invalid configuration: {e}"))
}

fn request(args: &RequestArgs, cookie: Option<&str>) -> Request {
    let mut r = Request::new();
    if let Some(c) = cookie {
        r = r.with_cookie(c);
    }
    if let Some(v) = &args.remote_addr {
        r = r.with_remote_addr(v.clone());
    }
    if let Some(v) = &args.scheme {
        r = r.with_scheme(v.clone());
    }
    if let Some(v) = &args.user_agent {
        r = r.with_user_agent(v.clone());
    }
    r
}

fn cookies_map(set_cookies: &[String]) -> Map<String, Value> {
    let mut map = Map::new();
    for c in set_cookies {
        let pair = c.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            if value.is_empty() {
                map.remove(name);
            } else {
                map.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    map
}

#[allow(clippy::too_many_arguments)]
fn mint(
    args: &RequestArgs,
    subject: Option<&str>,
    data: Option<&str>,
    remember: Option<bool>,
    cookie: Option<&str>,
) -> Result<Value, String> {
    let store = RecordingStore::default();
    let config = build(args, &store)?;
    let mut session = Session::new(&config, request(args, cookie));
    let fail = |e: session_core::Error| e.to_string();
    if let Some(aud) = &args.audience {
        session.set_audience(aud).map_err(fail)?;
    }
    if cookie.is_some()
        && let Err(e) = block_on(session.open())
        && !e.is_audience_error()
    {
        return Err(format!("cannot open the session in --cookie: {e}"));
    }
    if let Some(subject) = subject {
        session.set_subject(Some(subject)).map_err(fail)?;
    }
    if let Some(data) = data {
        let value: Value =
            serde_json::from_str(data).map_err(|e| format!("--data is not JSON: {e}"))?;
        session.set_data(value).map_err(fail)?;
    }
    if let Some(remember) = remember {
        session.set_remember(remember).map_err(fail)?;
    }
    block_on(session.save()).map_err(|e| format!("save failed: {e}"))?;
    let mut out = json!({
        "set_cookie": session.set_cookies(),
        "cookies": cookies_map(session.set_cookies()),
    });
    let records = store.0.lock().map(|r| r.clone()).unwrap_or_default();
    if !records.is_empty() {
        out["storage"] = Value::Array(records);
    }
    for warning in session.warnings() {
        eprintln!("session: warning: {warning}");
    }
    Ok(out)
}

fn decoded(value: &str) -> Value {
    match Header::decode_base64(value) {
        Ok((h, _)) => json!({
            "type": 1,
            "flags": h.flags.bits(),
            "flag_names": h.flags.names(),
            "sid": h.sid.to_base64(),
            "creation_time": h.creation_time,
            "rolling_offset": h.rolling_offset,
            "data_size": h.data_size,
            "tag": b64_encode(&h.tag),
            "idling_offset": h.idling_offset,
            "mac": b64_encode(&h.mac),
        }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

fn property(session: &Session, name: &str) -> Value {
    match session.get_property(name) {
        Ok(Some(Property::Text(s))) => Value::String(s),
        Ok(Some(Property::Number(n))) => json!(n),
        _ => Value::Null,
    }
}

fn inspect(args: &RequestArgs, cookie: &str) -> Result<Value, String> {
    let store = RecordingStore::default();
    let config = build(args, &store)?;
    let req = request(args, Some(cookie));
    let mut headers = Map::new();
    for name in [config.cookie_name(), config.remember_cookie_name()] {
        if let Some(value) = session_core::cookie::find_cookie(req.cookie_headers(), name) {
            headers.insert(name.to_owned(), decoded(&String::from_utf8_lossy(value)));
        }
    }
    let mut session = Session::new(&config, req);
    if let Some(aud) = &args.audience {
        session.set_audience(aud).map_err(|e| e.to_string())?;
    }
    let result = block_on(session.open());
    let view = session.inspect();
    let closed = session.state() == State::Closed;
    let mut properties = Map::new();
    for name in [
        "id",
        "timeout",
        "idling-timeout",
        "rolling-timeout",
        "absolute-timeout",
    ] {
        properties.insert(
            name.to_owned(),
            if closed {
                Value::Null
            } else {
                property(&session, name)
            },
        );
    }
    Ok(json!({
        "headers": headers,
        "ok": result.is_ok(),
        "err": result.as_ref().err().map(ToString::to_string),
        "exists": result.is_ok(),
        "state": session.state().as_str(),
        "data": view.data,
        "audience": view.audience,
        "subject": view.subject,
        "remember": session.get_remember().ok(),
        "properties": properties,
        "set_cookie": session.set_cookies(),
    }))
}

fn keygen() -> Result<Value, String> {
    let ikm = OsRandomSid
        .generate()
        .map_err(|e| format!("random generator failed: {e}"))?;
    Ok(json!({ "ikm_hex": hex::encode(ikm), "ikm_base64url": b64_encode(&ikm) }))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Mint {
            request,
            subject,
            data,
            remember,
            cookie,
        } => mint(
            request,
            subject.as_deref(),
            data.as_deref(),
            *remember,
            cookie.as_deref(),
        ),
        Command::Inspect { request, cookie } => inspect(request, cookie),
        Command::Keygen => keygen(),
    };
    match result {
        Ok(value) => {
            let mut stdout = std::io::stdout().lock();
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            if writeln!(stdout, "{text}").is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("session: {e}");
            ExitCode::FAILURE
        }
    }
}
