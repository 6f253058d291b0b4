//! `cargo run -p resty-session --example edge-proxy`: the OpenResty "proxy" use of lua-resty-session, on
//! hyper. A reverse proxy on http://127.0.0.1:8081 admits a request only with a valid
//! session, removes the session cookies from what it forwards, and passes `Session-Subject`
//! and `Session-Id` upstream (Lua: `session.start()`, `session:clear_request_cookie()`,
//! `session:set_request_headers("subject", "id")`).
//!
//! ```text
//! cargo run -p resty-session --example demo &                 # sign in at http://127.0.0.1:8080/start
//! cargo run -p resty-session --example edge-proxy             # then open http://127.0.0.1:8081/anything
//! cargo run -p resty-session --example edge-proxy -- --upstream http://127.0.0.1:3000 --config shm.toml
//! ```
//!
//! Without `--upstream` an echo server is started in-process and shows what reached it. The
//! proxy and the demo share their default configuration, so a session started in the demo
//! (cookies are per host, not per port) opens here.
#![allow(clippy::print_stdout)]

#[allow(dead_code)]
#[path = "demo/app.rs"]
mod app;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode, Uri, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use resty_session::{SessionHandle, SessionLayer};
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one connection and are not forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|n| match n {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[derive(Clone)]
struct Proxy {
    upstream: Uri,
    client: Client<HttpConnector, Incoming>,
}

impl Proxy {
    async fn handle(self, mut request: Request<Incoming>) -> Response<Body> {
        let Some(handle) = request.extensions().get::<SessionHandle>().cloned() else {
            return text(StatusCode::INTERNAL_SERVER_ERROR, "no session layer".into());
        };
        // Lua: local session, err, exists = require "resty.session".start()
        let mut s = handle.start().await;
        if !s.exists() {
            let reason = s.open_error().map(ToString::to_string).unwrap_or_default();
            return text(
                StatusCode::UNAUTHORIZED,
                format!(
                    "401: no valid session ({reason}).\n\
                     Start one in the demo (http://127.0.0.1:8080/start), then come back.\n"
                ),
            );
        }
        // A client must not be able to send these itself.
        let spoofable: Vec<_> = request
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("session-"))
            .cloned()
            .collect();
        for name in spoofable {
            request.headers_mut().remove(name);
        }
        for name in HOP_BY_HOP {
            request.headers_mut().remove(*name);
        }
        // Lua: session:clear_request_cookie(); session:set_request_headers("subject", "id")
        let edits = s
            .clear_request_cookie()
            .and_then(|()| s.set_request_headers(&["subject", "id"]));
        if let Err(e) = edits {
            // No Cookie header to clear cannot happen here (the session opened from it).
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("session error: {e}"),
            );
        }
        s.apply_request_headers(request.headers_mut());
        drop(s); // let the layer finish the response while the upstream works

        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut parts = self.upstream.clone().into_parts();
        parts.path_and_query = path.parse().ok();
        match Uri::from_parts(parts) {
            Ok(uri) => *request.uri_mut() = uri,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad path: {e}")),
        }
        request.headers_mut().remove(header::HOST);
        match self.client.request(request).await {
            Ok(response) => response.map(BodyExt::boxed),
            Err(e) => text(StatusCode::BAD_GATEWAY, format!("upstream failed: {e}")),
        }
    }
}

/// The built-in upstream: shows which headers reached it.
async fn echo(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let get = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)")
            .to_owned()
    };
    Ok(text(
        StatusCode::OK,
        format!(
            "upstream saw {} {}\nCookie: {}\nSession-Subject: {}\nSession-Id: {}\n",
            request.method(),
            request.uri(),
            get("cookie"),
            get("session-subject"),
            get("session-id"),
        ),
    ))
}

async fn serve_echo() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(echo);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edge-proxy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: edge-proxy [--listen ADDR] [--upstream URL] [--config FILE]");
        return Ok(());
    }
    let (config, source) = app::load_config(&args)?;
    let layer = SessionLayer::from_config(&config).map_err(|e| e.to_string())?;
    let upstream: Uri = match arg(&args, "--upstream") {
        Some(url) => url.parse().map_err(|e| format!("--upstream {url}: {e}"))?,
        None => format!("http://{}", serve_echo().await?)
            .parse()
            .map_err(|e| format!("{e}"))?,
    };
    let listen = arg(&args, "--listen").unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("unable to listen on {listen}: {e}"))?;
    println!(
        "edge proxy on http://{listen}/ -> {upstream}  (configuration: {source})\n\
         start a session in the demo (cargo run -p resty-session --example demo) first"
    );

    let proxy = Proxy {
        upstream,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| e.to_string())?;
        let proxy = proxy.clone();
        let layer = layer.clone();
        tokio::spawn(async move {
            let service = tower::ServiceBuilder::new()
                // The client address, for `bind = ["ip"]`.
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(peer);
                    request
                })
                .layer(layer)
                .service_fn(move |request: Request<Incoming>| {
                    let proxy = proxy.clone();
                    async move {
                        let started = Instant::now();
                        let method = request.method().clone();
                        let path = request.uri().path().to_owned();
                        let handle = request.extensions().get::<SessionHandle>().cloned();
                        let response = proxy.handle(request).await;
                        let id = match handle {
                            Some(h) => h.log_id().await.map(|id| id.to_string()),
                            None => None,
                        };
                        eprintln!(
                            "{method} {path} {} {:.1}ms session={}",
                            response.status().as_u16(),
                            started.elapsed().as_secs_f64() * 1000.0,
                            id.as_deref().unwrap_or("-")
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}
