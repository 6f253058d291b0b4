//! `cargo run -p resty-session --example actix --features actix`: lua-resty-session's README
//! synopsis on actix-web, at http://127.0.0.1:8082, with cookie storage (no server needed).
//! The same routes and texts as the axum demo (`--example demo`): `/`, `/start`, `/started`,
//! `/modify`, `/modified`, `/destroy`, `/destroyed`.
//!
//! ```text
//! cargo run -p resty-session --example actix --features actix
//! cargo run -p resty-session --example actix --features actix -- --listen 127.0.0.1:9000
//! ```
#![allow(clippy::print_stdout)]

use actix_web::{App, HttpResponse, HttpServer, web};
use resty_session::actix::{SessionError, SessionMiddleware};
use resty_session::{Config, SessionHandle};

/// Cookie storage and a fixed secret, so that sessions survive a restart of the demo. Use
/// your own long random secret in production.
pub(crate) const DEFAULT_CONFIG: &str = r#"
secret = "session demo secret, change me"
"#;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actix demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.iter().position(|a| a == "--listen") {
        Some(i) => args
            .get(i + 1)
            .cloned()
            .ok_or("--listen needs an address")?,
        None => "127.0.0.1:8082".to_owned(),
    };
    let config = Config::from_text(DEFAULT_CONFIG).map_err(|e| e.to_string())?;
    let sessions = SessionMiddleware::from_config(&config).map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || App::new().wrap(sessions.clone()).configure(routes))
            .bind(&listen)
            .map_err(|e| format!("unable to listen on {listen}: {e}"))?;
        println!("session demo (actix-web) on http://{listen}/  (cookie storage)");
        server.run().await.map_err(|e| e.to_string())
    })
}

/// The synopsis routes, for an `App` wrapped in a [`SessionMiddleware`].
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/start", web::get().to(start))
        .route("/started", web::get().to(started))
        .route("/modify", web::get().to(modify))
        .route("/modified", web::get().to(modified))
        .route("/destroy", web::get().to(destroy))
        .route("/destroyed", web::get().to(destroyed));
}

/// HTML-escapes user-supplied text.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.6rem; }} blockquote {{ border-left: 4px solid #4a7; margin: 1rem 0; padding: .3rem 1rem; background: #f4faf6; }}
</style></head>
<body>
{body}
<nav><a href="/">Home</a></nav>
</body></html>"#
        ))
}

async fn index() -> HttpResponse {
    page(
        "session demo",
        r#"<h1>session: lua-resty-session for Rust, on actix-web</h1>
<p>The flow of lua-resty-session's README synopsis, served by the Rust crate.
Storage: <strong id="storage">cookie</strong>.</p>
<p><a href="/start">Start the test</a></p>"#,
    )
}

/// `/start`: Lua `session.new()`, subject, quote, `save()`.
async fn start(session: SessionHandle) -> Result<HttpResponse, SessionError> {
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
async fn subject_and_quote(session: &SessionHandle) -> Result<(String, String), SessionError> {
    let s = session.start().await;
    let subject = s.get_subject()?.unwrap_or("Anonymous").to_owned();
    let quote = s
        .get::<String>("quote")?
        .unwrap_or_else(|| "no quote".into());
    Ok((subject, quote))
}

/// `/started`: Lua `session.start()`, then subject and quote.
async fn started(session: SessionHandle) -> Result<HttpResponse, SessionError> {
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
async fn modify(session: SessionHandle) -> Result<HttpResponse, SessionError> {
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
async fn modified(session: SessionHandle) -> Result<HttpResponse, SessionError> {
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
async fn destroy(session: SessionHandle) -> Result<HttpResponse, SessionError> {
    session.destroy().await?;
    Ok(page(
        "Destroy",
        r#"<p>The session was destroyed.</p><p><a href="/destroyed">Check that it is really destroyed</a></p>"#,
    ))
}

/// `/destroyed`: Lua `session.open()`; no session is left.
async fn destroyed(session: SessionHandle) -> Result<HttpResponse, SessionError> {
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
