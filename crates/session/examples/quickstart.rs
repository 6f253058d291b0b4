//! The README's quick start: `cargo run -p resty-session --example quickstart`, then open
//! http://127.0.0.1:3000.
use axum::{Router, routing::get};
use resty_session::{Config, HttpError, SessionHandle, SessionLayer};

async fn hello(session: SessionHandle) -> Result<String, HttpError> {
    let mut s = session.start().await; // Lua: require "resty.session".start()
    let visits = s.get::<u64>("visits")?.unwrap_or(0) + 1;
    s.set("visits", &visits)?;
    s.save().await?; // Lua: session:save()
    Ok(format!("Hello, visit number {visits}"))
}

#[tokio::main]
async fn main() {
    // Print errors with Display (`{e}`): each says what to change, e.g. the cargo feature to enable.
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_text(r#"secret = "change me""#)?; // Lua option names, TOML or JSON
    let app = Router::new()
        .route("/", get(hello))
        .layer(SessionLayer::from_config(&config)?);
    axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?;
    Ok(())
}
