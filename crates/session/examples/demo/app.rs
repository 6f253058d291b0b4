//! The demo application: lua-resty-session's README synopsis, a remember-me login, a live
//! properties page and a session too large for one cookie. Shared by `main.rs` and the
//! HTTP and browser tests of `crates/session-http-tests`.

use std::time::Instant;

use axum::extract::{Form, OriginalUri, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resty_session::{Config, HttpError, SessionHandle, SessionLayer, SetupError};
use serde::Deserialize;

/// The demo's configuration when none is given: cookie storage, and a fixed secret so that
/// sessions survive a restart of the demo. Use your own long random secret in production.
pub(crate) const DEFAULT_CONFIG: &str = r#"
secret = "session demo secret, change me"
"#;

/// The environment variable naming a configuration file (as `--config FILE`).
pub(crate) const CONFIG_ENV: &str = "SESSION_CONFIG";

/// The configuration named by `--config FILE` (in `args`) or `$SESSION_CONFIG`, else
/// [`DEFAULT_CONFIG`]. JSON or TOML, with lua-resty-session's option names.
pub(crate) fn load_config(args: &[String]) -> Result<(Config, String), String> {
    let from_args = args
        .iter()
        .position(|a| a == "--config")
        .map(|i| {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| "--config needs a file name".to_owned())
        })
        .transpose()?;
    let path = from_args.or_else(|| std::env::var(CONFIG_ENV).ok().filter(|p| !p.is_empty()));
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("unable to read configuration {path}: {e}"))?;
            Ok((
                Config::from_text(&text).map_err(|e| format!("{path}: {e}"))?,
                path,
            ))
        }
        None => Ok((
            Config::from_text(DEFAULT_CONFIG).map_err(|e| e.to_string())?,
            "built-in (cookie storage)".into(),
        )),
    }
}

/// Which storage a configuration uses, for the pages.
fn storage_name(config: &Config) -> String {
    match &config.storage {
        Some(resty_session::StorageOption::Name(name)) if !name.is_empty() => name.clone(),
        _ => "cookie".into(),
    }
}

/// The demo's routes. The synopsis pages and the properties and large-payload pages share
/// the session configured by `config`; the login pages under `/account` use the same
/// options with `remember = true` and their own cookie name, so a "remember me" session
/// survives the loss of its session cookie.
pub(crate) fn router(config: &Config) -> Result<Router, SetupError> {
    let storage = storage_name(config);
    let main_layer = SessionLayer::from_config(config)?;

    let mut account_config = config.clone();
    account_config.remember = Some(true);
    account_config.cookie_name = Some("account".into());
    let account_layer = SessionLayer::from_config(&account_config)?;

    let main = Router::new()
        .route("/", get(move || index(storage.clone())))
        .route("/start", get(start))
        .route("/started", get(started))
        .route("/modify", get(modify))
        .route("/modified", get(modified))
        .route("/destroy", get(destroy))
        .route("/destroyed", get(destroyed))
        .route("/properties", get(properties_page))
        .route("/properties.json", get(properties_json))
        .route("/large", get(large))
        .route("/large/clear", get(large_clear))
        .layer(middleware::from_fn(log_request))
        .layer(main_layer);
    let account = Router::new()
        .route("/", get(account))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(middleware::from_fn(log_request))
        .layer(account_layer);
    Ok(main.nest("/account", account))
}

/// Logs method, path, status, time and the session id truncated; never a cookie.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Under `/account` the router sees a stripped path; log what the client asked for.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned());
    let handle = request.extensions().get::<SessionHandle>().cloned();
    let response = next.run(request).await;
    let id = match &handle {
        Some(h) => h.log_id().await.map(|id| id.to_string()),
        None => None,
    };
    eprintln!(
        "{method} {path} {} {:.1}ms session={}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
        id.as_deref().unwrap_or("-"),
    );
    response
}

/// HTML-escapes user-supplied text.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.6rem; }} blockquote {{ border-left: 4px solid #4a7; margin: 1rem 0; padding: .3rem 1rem; background: #f4faf6; }}
a {{ color: #1a5fb4; }} code, td {{ font-family: ui-monospace, monospace; }} td {{ padding: .2rem .8rem .2rem 0; }}
nav {{ margin-top: 2rem; font-size: .9rem; }}
</style></head>
<body>
{body}
<nav><a href="/">Home</a> · <a href="/account">Remember-me login</a> · <a href="/properties">Properties</a> · <a href="/large">Large session</a></nav>
</body></html>"#
    ))
}

async fn index(storage: String) -> Html<String> {
    page(
        "session demo",
        &format!(
            r#"<h1>session: lua-resty-session for Rust</h1>
<p>The flow of lua-resty-session's README synopsis, served by the Rust crate.
Storage: <strong id="storage">{}</strong>.</p>
<p><a href="/start">Start the test</a></p>
<ul>
<li><a href="/account">A "remember me" login</a>: a persistent session that outlives its session cookie.</li>
<li><a href="/properties">The session's properties</a> (id, timeouts), live.</li>
<li><a href="/large">A large session</a>, split over several cookies.</li>
</ul>"#,
            esc(&storage)
        ),
    )
}

// ---------------------------------------------------------------- the synopsis

/// `/start`: Lua `session.new()`, subject, quote, `save()`.
async fn start(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let mut s = session.new_session().await;
    s.set_subject(Some("OpenResty Fan"))?;
    s.set("quote", "The quick brown fox jumps over the lazy dog")?;
    s.save().await?;
    Ok(page(
        "Start",
        r#"<p>A new session was saved.</p><p><a href="/started">Check if it really was</a></p>"#,
    ))
}

/// What the show pages print: the subject (or "Anonymous") and the quote (or "no quote").
async fn subject_and_quote(session: &SessionHandle) -> Result<(String, String), HttpError> {
    let s = session.start().await;
    let subject = s.get_subject()?.unwrap_or("Anonymous").to_owned();
    let quote = s
        .get::<String>("quote")?
        .unwrap_or_else(|| "no quote".into());
    Ok((subject, quote))
}

/// `/started`: Lua `session.start()`, then subject and quote.
async fn started(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let (subject, quote) = subject_and_quote(&session).await?;
    Ok(page(
        "Started",
        &format!(
            r#"<p>Session was started by <strong id="subject">{}</strong></p>
<blockquote id="quote">{}</blockquote>
<p><a href="/modify">Modify the session</a></p>"#,
            esc(&subject),
            esc(&quote)
        ),
    ))
}

/// `/modify`: Lua `session.start()`, new subject and quote, `save()`.
async fn modify(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let mut s = session.start().await;
    s.set_subject(Some("Lua Fan"))?;
    s.set("quote", "Lorem ipsum dolor sit amet")?;
    s.save().await?;
    Ok(page(
        "Modify",
        r#"<p>The session was modified.</p><p><a href="/modified">Check if it is modified</a></p>"#,
    ))
}

/// `/modified`: subject and quote again.
async fn modified(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let (subject, quote) = subject_and_quote(&session).await?;
    Ok(page(
        "Modified",
        &format!(
            r#"<p>Session was modified by <strong id="subject">{}</strong></p>
<blockquote id="quote">{}</blockquote>
<p><a href="/destroy">Destroy the session</a></p>"#,
            esc(&subject),
            esc(&quote)
        ),
    ))
}

/// `/destroy`: Lua `session.destroy()`.
async fn destroy(session: SessionHandle) -> Result<Html<String>, HttpError> {
    session.destroy().await?;
    Ok(page(
        "Destroy",
        r#"<p>The session was destroyed.</p><p><a href="/destroyed">Check that it is really destroyed</a></p>"#,
    ))
}

/// `/destroyed`: Lua `session.open()`; no session is left.
async fn destroyed(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let s = session.open().await;
    let subject = s.get_subject()?.unwrap_or("Anonymous").to_owned();
    Ok(page(
        "Destroyed",
        &format!(
            r#"<p>Session was really destroyed, you are known as <strong id="subject">{}</strong></p>
<p><a href="/">Start again</a></p>"#,
            esc(&subject)
        ),
    ))
}

// ---------------------------------------------------------------- properties

async fn properties(session: &SessionHandle) -> Result<serde_json::Value, HttpError> {
    // `open`, not `start`: looking must not touch the session, so the idle timer runs down.
    let s = session.open().await;
    let property = |name: &str| -> Result<serde_json::Value, HttpError> {
        Ok(match s.get_property(name)? {
            Some(resty_session::Property::Number(n)) => n.into(),
            Some(p) => p.to_string().into(),
            None => serde_json::Value::Null,
        })
    };
    Ok(serde_json::json!({
        "exists": s.exists(),
        "reason": s.open_error().map(ToString::to_string),
        "id": property("id")?,
        "audience": property("audience")?,
        "subject": property("subject")?,
        "timeout": property("timeout")?,
        "idling_timeout": property("idling_timeout")?,
        "rolling_timeout": property("rolling_timeout")?,
        "absolute_timeout": property("absolute_timeout")?,
        "created": s.cookie_metadata().map(|m| m.creation_time),
    }))
}

async fn properties_json(session: SessionHandle) -> Result<Json<serde_json::Value>, HttpError> {
    Ok(Json(properties(&session).await?))
}

async fn properties_page(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let initial = properties(&session).await?;
    let rows = [
        "exists",
        "reason",
        "id",
        "audience",
        "subject",
        "timeout",
        "idling_timeout",
        "rolling_timeout",
        "absolute_timeout",
        "created",
    ]
    .iter()
    .map(|k| {
        format!(
            r#"<tr><th align="left">{k}</th><td id="{k}">{}</td></tr>"#,
            esc(&initial[*k].to_string())
        )
    })
    .collect::<String>();
    Ok(page(
        "Properties",
        &format!(
            r#"<h1>Session properties</h1>
<p>Read with <code>open()</code> once a second (no refresh, so the idling timeout runs down).
<a href="/start">Start a session</a> if there is none.</p>
<table>{rows}</table>
<script>
async function tick() {{
  const r = await fetch('/properties.json', {{ credentials: 'same-origin' }});
  const p = await r.json();
  for (const [k, v] of Object.entries(p)) {{
    const td = document.getElementById(k);
    if (td) td.textContent = JSON.stringify(v);
  }}
}}
setInterval(tick, 1000);
</script>"#
        ),
    ))
}

// ---------------------------------------------------------------- large payload

/// Characters stored by `/large`: pseudo-random, so deflate cannot shrink them into one cookie.
const LARGE_LEN: usize = 9000;

fn large_blob(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed | 1;
    (0..LARGE_LEN)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[usize::from(u8::try_from(x & 63).unwrap_or(0))])
        })
        .collect()
}

fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Names of the session cookies the browser sent (`session`, `session2`, ...).
fn session_cookie_names(headers: &HeaderMap, base: &str) -> Vec<String> {
    let mut names: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split('=').next())
        .map(str::trim)
        .filter(|name| {
            name.strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// `/large`: the first visit stores [`LARGE_LEN`] characters (several cookies with cookie
/// storage); later visits check that they come back intact.
async fn large(session: SessionHandle, headers: HeaderMap) -> Result<Html<String>, HttpError> {
    let mut s = session.start().await;
    let cookie_name = s.config().cookie_name().to_owned();
    let sent = session_cookie_names(&headers, &cookie_name);
    let body = match (s.get::<String>("blob")?, s.get::<String>("blob_sum")?) {
        (Some(blob), Some(sum)) => {
            let intact = fnv1a(&blob) == sum;
            format!(
                r#"<h1>Large session</h1>
<p>Read back <strong id="length">{}</strong> characters, intact: <strong id="intact">{}</strong>.</p>
<p>The browser sent <strong id="cookies">{}</strong> session cookie(s): <code>{}</code>.</p>
<p><a href="/large">Reload</a> · <a href="/large/clear">Clear it</a></p>"#,
                blob.len(),
                if intact { "yes" } else { "NO" },
                sent.len(),
                esc(&sent.join(", ")),
            )
        }
        _ => {
            let seed = s.config().now() ^ 0x9e37_79b9_7f4a_7c15;
            let blob = large_blob(seed);
            s.set("blob_sum", &fnv1a(&blob))?;
            s.set("blob", &blob)?;
            s.save().await?;
            let written = s
                .set_cookies()
                .iter()
                .filter_map(|c| c.split('=').next())
                .filter(|n| n.starts_with(cookie_name.as_str()))
                .count();
            format!(
                r#"<h1>Large session</h1>
<p>Stored <strong id="length">{LARGE_LEN}</strong> characters in <strong id="written">{written}</strong> cookie(s).</p>
<p><a href="/large">Reload to read them back</a></p>"#
            )
        }
    };
    Ok(page("Large session", &body))
}

async fn large_clear(session: SessionHandle) -> Result<Redirect, HttpError> {
    let mut s = session.start().await;
    if s.exists() {
        s.set_value("blob", None)?;
        s.set_value("blob_sum", None)?;
        s.save().await?;
    }
    Ok(Redirect::to("/large"))
}

// ---------------------------------------------------------------- remember me

async fn account(session: SessionHandle) -> Result<Html<String>, HttpError> {
    let s = session.start().await;
    let body = match s.get_subject()? {
        Some(user) if s.exists() => format!(
            r#"<h1>Account</h1>
<p>Signed in as <strong id="user">{}</strong>. Remember me: <strong id="remember">{}</strong>.</p>
<form method="post" action="/account/logout"><button id="logout">Sign out</button></form>"#,
            esc(user),
            if s.get_remember()? { "yes" } else { "no" },
        ),
        _ => r#"<h1>Account</h1>
<p id="anonymous">Not signed in.</p>
<form method="post" action="/account/login">
<label>Name <input name="user" id="user-input" value="OpenResty Fan"></label>
<label><input type="checkbox" name="remember" id="remember-input"> Remember me</label>
<button id="login">Sign in</button>
</form>
<p>With "remember me" a second, persistent cookie keeps you signed in after the browser
drops the session cookie.</p>"#
            .to_owned(),
    };
    Ok(page("Account", &body))
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    remember: Option<String>,
}

async fn login(session: SessionHandle, Form(form): Form<LoginForm>) -> Response {
    let user = form.user.trim();
    if user.is_empty() || user.len() > 200 {
        return (StatusCode::BAD_REQUEST, "a name of 1 to 200 bytes, please").into_response();
    }
    let mut s = session.new_session().await;
    let result = async {
        s.set_subject(Some(user))?;
        s.set_remember(form.remember.is_some())?;
        s.save().await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => HttpError::from(e).into_response(),
    }
}

async fn logout(session: SessionHandle) -> Result<Redirect, HttpError> {
    session.destroy().await?;
    Ok(Redirect::to("/account"))
}
