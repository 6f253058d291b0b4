//! `cargo run -p resty-session --example demo`: lua-resty-session's README synopsis, served by the Rust crate
//! on http://127.0.0.1:8080, plus a remember-me login, a live properties page and a session
//! large enough for several cookies.
//!
//! ```text
//! cargo run -p resty-session --example demo                     # cookie storage, no server needed
//! cargo run -p resty-session --example demo -- --listen 127.0.0.1:9000
//! cargo run -p resty-session --example demo --features file -- --config file.toml
//! ```
//!
//! Another storage needs its cargo feature (`--features file`, `redis`, `postgres`, ...; the
//! demo says which when it is missing) and a configuration file (or `SESSION_CONFIG=FILE`)
//! with lua-resty-session's option names, in TOML or JSON:
//!
//! ```toml
//! secret = "a long random secret"
//! storage = "file"
//! [file]
//! path = "/tmp"
//! ```
#![allow(clippy::print_stdout)]

mod app;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: demo [--config FILE] [--listen ADDR]\n\n\
             FILE: TOML or JSON with lua-resty-session's option names (or set ${}).\n\
             ADDR: default 127.0.0.1:8080.",
            app::CONFIG_ENV
        );
        return Ok(());
    }
    let (config, source) = app::load_config(&args)?;
    let listen = match args.iter().position(|a| a == "--listen") {
        Some(i) => args
            .get(i + 1)
            .cloned()
            .ok_or("--listen needs an address")?,
        None => "127.0.0.1:8080".to_owned(),
    };
    let router = app::router(&config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("unable to listen on {listen}: {e}"))?;
    println!("session demo on http://{listen}/  (configuration: {source})");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
