//! A loopback server and a small HTTP client with a cookie jar, for the facade's tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Serve `router` on 127.0.0.1:0; returns its address. The server lives as long as the runtime.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// A response, reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

/// An HTTP/1.1 client with a browser-like cookie jar (one host, path `/`).
#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub jar: BTreeMap<String, String>,
    client: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            jar: BTreeMap::new(),
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The `Cookie` header this jar sends.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request(http::Method::GET, path, &[], String::new())
            .await
    }

    pub async fn post_form(&mut self, path: &str, form: &str) -> Reply {
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.request(http::Method::POST, path, &headers, form.to_owned())
            .await
    }

    /// Send a request with the jar's cookies (plus `headers`), store the response's cookies.
    pub async fn request(
        &mut self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Reply {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.jar.is_empty() {
            builder = builder.header(http::header::COOKIE, self.cookie_header());
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).unwrap();
        let response = self.client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let reply = Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        for cookie in reply.set_cookies() {
            self.store(&cookie);
        }
        reply
    }

    /// Store one `Set-Cookie` value as a browser would (an empty value or `Max-Age=0`, or an
    /// `Expires` in the past as the engine writes for deletion, removes the cookie).
    pub fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let pair = parts.next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        let expired = parts.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == "max-age=0" || a.starts_with("expires=thu, 01 jan 1970")
        });
        if expired || value.is_empty() {
            self.jar.remove(name.trim());
        } else {
            self.jar.insert(name.trim().to_owned(), value.to_owned());
        }
    }
}
