//! The `session` command-line tool: mint, inspect and debug session cookies
//! compatible with lua-resty-session 4.1.5.
//!
//! ```text
//! session keygen
//! session mint --config crates/session-cli/examples/config.json --subject john --data '{"n":1}'
//! session inspect --config crates/session-cli/examples/config.json --cookie 'session=AQAA…'
//! session sessions --config app.toml --subject john --audience shop
//! session revoke --config app.toml --subject john [--audience shop] [--id 3fQx_a9B]
//! ```
//!
//! On cookie storage, `revoke` writes to the configuration's `revocation` store (any storage
//! kind, `revocation = { storage = "file", file = { path = "..." } }`), and `inspect` of a
//! revoked cookie prints `"ok": false` with the reason.
//!
//! CONFIG is a path to a JSON or TOML file, or inline JSON, in the Lua
//! option names (plus `ikm_hex` / `ikm_fallbacks_hex`). Its `storage` option picks the store
//! as it does for the `resty-session` library (cookie, file, redis, postgres, mysql /
//! mariadb, memcached, dshm, with their option blocks): `mint` writes the record there and
//! `inspect` reads it back. (`shm` works too, but lives in the process: a record minted by
//! one command is gone for the next.) Results are JSON on standard output; errors and
//! warnings go to standard error, errors with a non-zero exit.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use resty_session::{Backends, BoxedStorage, Capability};
use serde_json::{Map, Value, json};
use session_core::config::StorageOption;
use session_core::env::{Clock, OsRandomSid, SidSource, SystemClock};
use session_core::session_codec::{Header, b64_encode};
use session_core::session_storage::{Metadata, SessionIndex, SetRequest, Storage, StorageError};
use session_core::{
    Config, Property, Request, Session, SessionConfig, State, admin, log, revocation,
};

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

/// The subject (and audiences) `sessions` and `revoke` work on.
#[derive(clap::Args)]
struct SubjectArgs {
    /// Configuration: a JSON or TOML file, or inline JSON.
    #[arg(long, value_name = "CONFIG")]
    config: String,
    /// The subject whose sessions to list or revoke.
    #[arg(long, value_name = "S")]
    subject: String,
    /// An audience to look in (repeat for several; default: the configured audience).
    #[arg(long = "audience", value_name = "A")]
    audiences: Vec<String>,
    /// The current time, in Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or re-save) a session and print its Set-Cookie values.
    ///
    /// Prints {"set_cookie": [...], "cookies": {name: value}, "cookie_header": "..."}
    /// (the Cookie header a browser would send back), plus the "storage" records written
    /// when the configuration names a storage backend. Without a secret (or ikm) in the
    /// configuration the cookie is sealed with a throwaway random key, and a warning says so.
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
        /// Print only the Cookie header a browser would send back (no JSON), for
        /// `session inspect --cookie "$(session mint ... --print-cookie-header)"`.
        #[arg(long)]
        print_cookie_header: bool,
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
    /// List the live server-side sessions of a subject.
    ///
    /// Prints {"sessions": [{"id": "<first 8 characters of the storage key>", "audience": A,
    /// "expires": UNIX, "remember": BOOL}, ...]}. Needs a server-side storage with
    /// store_metadata = true in the configuration.
    ///
    /// Example:
    ///   session sessions --config app.toml --subject john --audience shop
    Sessions {
        #[command(flatten)]
        target: SubjectArgs,
    },
    /// Revoke sessions of a subject: one (--id) or all of them.
    ///
    /// Server-side storage (with store_metadata = true): deletes the records (a cookie
    /// pointing at one no longer opens) and drops them from the subject's index; --id is a
    /// unique prefix of the id `session sessions` prints.
    ///
    /// Cookie storage (with a `revocation` store in the configuration): writes the subject's
    /// revocation record, so its sessions created before now no longer open (in the
    /// --audience given, else in every audience); --id is the `sid` `session inspect` prints,
    /// or its first 8 characters or more. Processes that cache lookups see it within their
    /// revocation.cache_ttl.
    ///
    /// Prints {"revoked": N}: the sessions deleted (server-side), or the revocations written
    /// (cookie storage: one per audience, or one).
    ///
    /// Example:
    ///   session revoke --config app.toml --subject john --id 3fQx_a9B
    Revoke {
        #[command(flatten)]
        target: SubjectArgs,
        /// Revoke only the session whose id starts with this prefix (ids are base64url: one
        /// in 64 starts with `-`, which is read as the value, not as an option).
        #[arg(long, value_name = "PREFIX", allow_hyphen_values = true)]
        id: Option<String>,
    },
    /// Print the IKMs a configuration's secret (and secret_fallbacks) give, as hex.
    ///
    /// Prints {"ikm_hex": "<64 hex>", "fallbacks": ["<64 hex>", ...], "secret_kdf": KDF}.
    /// With secret_kdf = "argon2id" this is the hardened key to give a Lua peer as its ikm
    /// (and ikm_fallbacks), so it opens the cookies this configuration writes. The output is
    /// key material: keep it as secret as the secret.
    ///
    /// Example:
    ///   session derive-ikm --config app.toml
    DeriveIkm {
        /// Configuration: a JSON or TOML file, or inline JSON.
        #[arg(long, value_name = "CONFIG")]
        config: String,
    },
    /// Print a fresh random 32-byte ikm (hex and base64url).
    ///
    /// Example:
    ///   session keygen
    Keygen,
}

/// The configured store, recording what each save writes so `mint` can print it.
#[derive(Clone)]
struct RecordingStore {
    inner: BoxedStorage,
    log: Arc<Mutex<Vec<Value>>>,
}

impl Storage for RecordingStore {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        self.inner.set(req).await?;
        let record = json!({
            "name": req.name,
            "key": req.key,
            "value": req.value,
            "ttl": req.ttl,
            "old_key": req.old_key,
            "stale_ttl": req.stale_ttl,
            "metadata": req.metadata.map(|m| json!({"audiences": m.audiences, "subjects": m.subjects})),
        });
        self.log
            .lock()
            .map_err(|_| StorageError::backend("lock poisoned"))?
            .push(record);
        Ok(())
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.inner.get(name, key, now).await
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.inner.delete(name, key, now, metadata).await
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.inner.read_metadata(name, audience, subject, now).await
    }

    fn capability(&self) -> Capability {
        self.inner.capability()
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

/// A configuration built with the store its `storage` option names (every store of the
/// `resty-session` crate), the writes of which go to `log`.
struct Built {
    config: SessionConfig,
    /// No secret and no ikm: the key is random, per process.
    throwaway_key: bool,
    /// The storage name, when it keeps records in this process only.
    per_process: Option<String>,
}

fn build(args: &RequestArgs, log: &Arc<Mutex<Vec<Value>>>) -> Result<Built, String> {
    let config = load_config(&args.config)?;
    let throwaway_key = config.secret.is_none() && config.ikm.is_none() && config.ikm_hex.is_none();
    let per_process = match &config.storage {
        Some(StorageOption::Name(name)) if name == "shm" => Some(name.clone()),
        _ => None,
    };
    let backends = Backends::builtin();
    let storage = backends
        .storage(&config)
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let revocation = backends
        .revocation_storage(&config)
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let clock: Arc<dyn Clock> = match args.now {
        Some(now) => Arc::new(AtTime(now)),
        None => Arc::new(SystemClock),
    };
    let mut builder = config
        .builder()
        .option_blocks(backends.option_blocks())
        .clock(clock);
    if let Some(store) = revocation {
        builder = builder.revocation_storage(store);
    }
    if let Some(store) = storage {
        builder = builder.storage(RecordingStore {
            inner: BoxedStorage::from_arc(store),
            log: Arc::clone(log),
        });
    }
    let config = builder
        .build()
        .map_err(|e| format!("invalid configuration: {e}"))?;
    Ok(Built {
        config,
        throwaway_key,
        per_process,
    })
}

/// A current-thread Tokio runtime: the networked stores and the file store need one.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
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

/// The Cookie request header a browser would send back after these Set-Cookie values.
fn cookie_header(cookies: &Map<String, Value>) -> String {
    cookies
        .iter()
        .filter_map(|(name, value)| value.as_str().map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join("; ")
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

fn mint(
    args: &RequestArgs,
    subject: Option<&str>,
    data: Option<&str>,
    remember: Option<bool>,
    cookie: Option<&str>,
) -> Result<Value, String> {
    let log = Arc::default();
    let built = build(args, &log)?;
    if built.throwaway_key {
        eprintln!(
            "session: warning: the configuration has no secret (nor ikm): this cookie was \
             sealed with a throwaway random key, and nothing (not even `session inspect`) can \
             open it; set `secret` in the configuration"
        );
    }
    if let Some(name) = &built.per_process {
        eprintln!(
            "session: warning: `{name}` storage lives in this process only: the record written \
             now is gone when the command exits; use file, redis, postgres, mysql, memcached or \
             dshm to inspect it later"
        );
    }
    let config = built.config;
    let rt = runtime()?;
    let mut session = Session::new(&config, request(args, cookie));
    let fail = |e: session_core::Error| e.to_string();
    if let Some(aud) = &args.audience {
        session.set_audience(aud).map_err(fail)?;
    }
    if cookie.is_some()
        && let Err(e) = rt.block_on(session.open())
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
    rt.block_on(session.save())
        .map_err(|e| format!("save failed: {e}"))?;
    let cookies = cookies_map(session.set_cookies());
    let mut out = json!({
        "set_cookie": session.set_cookies(),
        "cookie_header": cookie_header(&cookies),
        "cookies": cookies,
    });
    let records = log.lock().map(|r| r.clone()).unwrap_or_default();
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
    let config = build(args, &Arc::default())?.config;
    let rt = runtime()?;
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
    let result = rt.block_on(session.open());
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
    let revoked = match &result {
        Err(session_core::Error::Revoked(reason)) => Value::String(reason.to_string()),
        _ => Value::Null,
    };
    Ok(json!({
        "headers": headers,
        "ok": result.is_ok(),
        "err": result.as_ref().err().map(ToString::to_string),
        "revoked": revoked,
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

/// The configuration of `sessions` / `revoke`, on the store it names.
fn build_admin(args: &SubjectArgs) -> Result<SessionConfig, String> {
    let config = load_config(&args.config)?;
    let backends = Backends::builtin();
    let storage = backends
        .storage(&config)
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let revocation = backends
        .revocation_storage(&config)
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let clock: Arc<dyn Clock> = match args.now {
        Some(now) => Arc::new(AtTime(now)),
        None => Arc::new(SystemClock),
    };
    let mut builder = config
        .builder()
        .option_blocks(backends.option_blocks())
        .clock(clock);
    if let Some(store) = storage {
        builder = builder.dyn_storage(store);
    }
    if let Some(store) = revocation {
        builder = builder.revocation_storage(store);
    }
    builder
        .build()
        .map_err(|e| format!("invalid configuration: {e}"))
}

fn sessions(args: &SubjectArgs) -> Result<Value, String> {
    let config = build_admin(args)?;
    let audiences: Vec<&str> = args.audiences.iter().map(String::as_str).collect();
    let found = runtime()?
        .block_on(admin::list_sessions(&config, &args.subject, &audiences))
        .map_err(|e| log::error_chain(&e).to_string())?;
    let sessions: Vec<Value> = found
        .iter()
        .map(|s| {
            json!({
                "id": s.short_id(),
                "audience": s.audience(),
                "expires": s.expires(),
                "remember": s.is_remember(),
            })
        })
        .collect();
    Ok(json!({ "sessions": sessions }))
}

fn revoke(args: &SubjectArgs, id: Option<&str>) -> Result<Value, String> {
    let config = build_admin(args)?;
    let audiences: Vec<&str> = args.audiences.iter().map(String::as_str).collect();
    let rt = runtime()?;
    if !config.has_storage() {
        return revoke_cookie_sessions(&rt, &config, &args.subject, &audiences, id);
    }
    let revoked = match id {
        Some(prefix) => rt
            .block_on(admin::revoke_session(
                &config,
                &args.subject,
                &audiences,
                prefix,
            ))
            .map(|_| 1),
        None => rt.block_on(admin::revoke_all(&config, &args.subject, &audiences)),
    }
    .map_err(|e| log::error_chain(&e).to_string())?;
    Ok(json!({ "revoked": revoked }))
}

/// `revoke` on cookie storage: the configuration's revocation store gets the subject's record.
fn revoke_cookie_sessions(
    rt: &tokio::runtime::Runtime,
    config: &SessionConfig,
    subject: &str,
    audiences: &[&str],
    id: Option<&str>,
) -> Result<Value, String> {
    let fail = |e: revocation::RevocationError| log::error_chain(&e).to_string();
    let written = match id {
        Some(id) => {
            rt.block_on(revocation::revoke_id(config, subject, id))
                .map_err(fail)?;
            1
        }
        None if audiences.is_empty() => {
            rt.block_on(revocation::revoke_subject(config, subject, None))
                .map_err(fail)?;
            1
        }
        None => {
            for audience in audiences {
                rt.block_on(revocation::revoke_subject(config, subject, Some(audience)))
                    .map_err(fail)?;
            }
            audiences.len()
        }
    };
    Ok(json!({ "revoked": written }))
}

fn derive_ikm(spec: &str) -> Result<Value, String> {
    let config = load_config(spec)?;
    let started = std::time::Instant::now();
    let (primary, fallbacks) = config
        .derived_ikms()
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let primary = primary.ok_or(
        "the configuration has no secret (nor ikm / ikm_hex): nothing to derive; set `secret`",
    )?;
    Ok(json!({
        "ikm_hex": hex::encode(primary.as_bytes()),
        "fallbacks": fallbacks.iter().map(|f| hex::encode(f.as_bytes())).collect::<Vec<_>>(),
        "secret_kdf": config.secret_kdf.as_deref().unwrap_or("sha256"),
        "derivation_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
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
            print_cookie_header,
        } => mint(
            request,
            subject.as_deref(),
            data.as_deref(),
            *remember,
            cookie.as_deref(),
        )
        .map(|out| {
            if *print_cookie_header {
                out["cookie_header"].clone()
            } else {
                out
            }
        }),
        Command::Inspect { request, cookie } => inspect(request, cookie),
        Command::Sessions { target } => sessions(target),
        Command::Revoke { target, id } => revoke(target, id.as_deref()),
        Command::DeriveIkm { config } => derive_ikm(config),
        Command::Keygen => keygen(),
    };
    match result {
        Ok(value) => {
            let mut stdout = std::io::stdout().lock();
            let text = match value {
                // A bare string (the Cookie header) is printed as is, for `$(...)`.
                Value::String(text) => text,
                value => serde_json::to_string_pretty(&value).unwrap_or_default(),
            };
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
