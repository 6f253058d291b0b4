//! The actix-web 4 front door: [`SessionMiddleware`] (an actix [`Transform`]) gives each
//! request a [`SessionHandle`], which handlers take as an extractor; the middleware puts the
//! session's `Set-Cookie` values and headers on the response.
//!
//! It is a thin adapter over the same [`SessionHandle`] as the tower `SessionLayer`
//! (`crate::SessionLayer`, feature `tower`): lazy open, explicit save (Lua's habit) or
//! opt-in save-when-modified, a failed end-of-request save answered with an empty `500`
//! and logged. Enabling `actix` pulls no tower or axum crate, and `axum` pulls no actix one.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use resty_session::SessionHandle;
//! use resty_session::actix::{SessionError, SessionMiddleware};
//!
//! async fn visits(session: SessionHandle) -> Result<String, SessionError> {
//!     let mut s = session.start().await;
//!     let visits = s.get::<u64>("visits")?.unwrap_or(0) + 1;
//!     s.set("visits", &visits)?;
//!     s.save().await?;
//!     Ok(format!("visit number {visits}"))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = resty_session::Config::from_text(r#"secret = "change me""#)?;
//! let sessions = SessionMiddleware::from_config(&config)?;
//! actix_web::rt::System::new().block_on(async move {
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(sessions.clone())
//!             .route("/", web::get().to(visits))
//!     })
//!     .bind(("127.0.0.1", 8082))?
//!     .run()
//!     .await
//! })?;
//! # Ok(()) }
//! ```
//!
//! # Where actix differs from the tower layer
//!
//! - actix is not tower: the middleware is a [`Transform`] used with `App::wrap`,
//!   `Scope::wrap` or `Resource::wrap`. `HttpServer` builds one `App` per worker thread,
//!   so [`SessionMiddleware`] is cloned into each (it is `Send + Sync`; cloning shares the
//!   configuration and its store).
//! - Handlers and middleware futures are `!Send` and run on the worker's single-threaded
//!   runtime. [`SessionHandle`] does not care (it is `Send + Sync` either way), but a
//!   server-side store's connection pool is created on the runtime of the worker that first
//!   uses it and then shared by all workers, which is fine while the server runs.
//! - actix-web 4 is built on `http` 0.2 types while the engine uses `http` 1: the middleware
//!   copies the few request headers it keeps (cookies, user agent) and, only when a handler
//!   used the session, converts the response headers. Nothing is converted for a request
//!   that never touched its session.
//! - The response body type becomes [`EitherBody<B>`]: the handler's body, or the empty body
//!   of the `500` that replaces it when the session cannot be finished.
//! - The client address for `bind = ["ip"]` is the connection's peer address
//!   ([`ServiceRequest::peer_addr`]), never a header, unless you say which header your own
//!   proxy sets ([`SessionMiddleware::with_remote_addr`]). actix's `ConnectionInfo`
//!   (`realip_remote_addr`) trusts `Forwarded` / `X-Forwarded-For` from anyone, so it is not
//!   used.
//! - The scheme (secure cookies) is `https` when the listener is TLS
//!   (`AppConfig::secure`), as the tower layer reads it from the request URI.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use session_core::{Config, SessionConfig};

use crate::handle::{Captured, SessionHandle};
use crate::setup::{SetupError, build};

/// How the middleware finds the client address for `bind = ["ip"]`.
type RemoteAddrFn = dyn Fn(&ServiceRequest) -> Option<IpAddr> + Send + Sync;

/// The actix-web middleware: every request gets a [`SessionHandle`] (an extractor, also in
/// the request's extensions), and the response gets what the handler did with it
/// (`Set-Cookie` values, session response headers).
///
/// When the session cannot be finished — the save it makes in save-when-modified mode
/// fails (store down or full), or the handle was used while a guard was alive — the
/// handler's response is replaced by an empty `500 Internal Server Error` with
/// `Cache-Control: no-store` and no `Set-Cookie`, and the failure is logged with `tracing`
/// at error level (without the session id or cookie).
///
/// The session is opened lazily: a request whose handler never asks for it costs a few
/// pointer copies, no decryption and no storage call.
///
/// ```
/// # actix_web::rt::System::new().block_on(async {
/// use actix_web::{App, test, web};
/// use resty_session::SessionHandle;
/// use resty_session::actix::{SessionError, SessionMiddleware};
///
/// async fn login(session: SessionHandle) -> Result<&'static str, SessionError> {
///     let mut s = session.new_session().await;
///     s.set_subject(Some("john"))?;
///     s.save().await?;
///     Ok("welcome")
/// }
///
/// let config = resty_session::Config::from_text(r#"secret = "change me""#)?;
/// let app = test::init_service(
///     App::new()
///         .wrap(SessionMiddleware::from_config(&config)?)
///         .route("/login", web::get().to(login)),
/// )
/// .await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/login").to_request()).await;
/// assert!(res.headers().get("set-cookie").is_some());
/// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
#[must_use = "a middleware does nothing until an App wraps it"]
pub struct SessionMiddleware {
    config: SessionConfig,
    save_when_modified: bool,
    remote_addr: Arc<RemoteAddrFn>,
}

impl fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("config", &self.config)
            .field("save_when_modified", &self.save_when_modified)
            .finish_non_exhaustive()
    }
}

/// The default client address: the connection's peer.
fn peer_ip(request: &ServiceRequest) -> Option<IpAddr> {
    request.peer_addr().map(|a| a.ip())
}

impl SessionMiddleware {
    /// A middleware for a built configuration (storage already attached).
    ///
    /// ```
    /// let config = resty_session::Config::default().build()?;
    /// let sessions = resty_session::actix::SessionMiddleware::new(config);
    /// # let _ = sessions;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            save_when_modified: false,
            remote_addr: Arc::new(peer_ip),
        }
    }

    /// A middleware from options with Lua names, the storage chosen by its `storage` option
    /// (see [`build`]).
    ///
    /// # Errors
    ///
    /// A [`SetupError`] saying what to change (an invalid option, a backend whose cargo
    /// feature is off, ...).
    ///
    /// ```
    /// let config = resty_session::Config::from_text(r#"secret = "change me""#).unwrap();
    /// let sessions = resty_session::actix::SessionMiddleware::from_config(&config)?;
    /// # let _ = sessions;
    /// # Ok::<_, resty_session::SetupError>(())
    /// ```
    pub fn from_config(config: &Config) -> Result<Self, SetupError> {
        Ok(Self::new(build(config)?))
    }

    /// Save a session at the end of the request when the handler changed its data, subject
    /// or audience and did not save it. Off by default: as in Lua, a handler calls
    /// `save()`. When that save fails, the client gets an empty 500 instead of the handler's
    /// response.
    ///
    /// ```
    /// let sessions = resty_session::actix::SessionMiddleware::new(resty_session::Config::default().build()?)
    ///     .with_save_when_modified(true);
    /// # let _ = sessions;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn with_save_when_modified(mut self, on: bool) -> Self {
        self.save_when_modified = on;
        self
    }

    /// How to find the client address (for `bind = ["ip"]`). The default is the
    /// connection's peer address. Behind your own reverse proxy, read the header it sets,
    /// and only when the connection comes from it (a client can send any header):
    ///
    /// ```
    /// use std::net::IpAddr;
    /// let proxy: IpAddr = "10.0.0.2".parse().unwrap();
    /// let sessions = resty_session::actix::SessionMiddleware::new(resty_session::Config::default().build()?)
    ///     .with_remote_addr(move |req| {
    ///         let peer = req.peer_addr()?.ip();
    ///         if peer != proxy {
    ///             return Some(peer);
    ///         }
    ///         req.headers().get("x-real-ip")?.to_str().ok()?.parse().ok()
    ///     });
    /// # let _ = sessions;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn with_remote_addr<F>(mut self, f: F) -> Self
    where
        F: Fn(&ServiceRequest) -> Option<IpAddr> + Send + Sync + 'static,
    {
        self.remote_addr = Arc::new(f);
        self
    }

    /// The configuration this middleware uses.
    ///
    /// ```
    /// let sessions = resty_session::actix::SessionMiddleware::new(resty_session::Config::default().build()?);
    /// assert_eq!(sessions.config().cookie_name(), "session");
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The handle the middleware gives this request: the cookies and user agent copied,
    /// nothing decrypted.
    fn handle_for(&self, request: &ServiceRequest) -> SessionHandle {
        let headers = request.headers();
        let captured = Captured {
            cookies: headers
                .get_all(actix_web::http::header::COOKIE)
                .filter_map(|v| http::HeaderValue::from_bytes(v.as_bytes()).ok())
                .collect(),
            user_agent: headers
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| http::HeaderValue::from_bytes(v.as_bytes()).ok()),
            scheme: if request.app_config().secure() {
                "https"
            } else {
                "http"
            },
            remote_addr: (self.remote_addr)(request),
        };
        SessionHandle::new(self.config.clone(), captured, self.save_when_modified)
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            inner: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service made by [`SessionMiddleware`] around the wrapped actix service.
///
/// ```
/// # actix_web::rt::System::new().block_on(async {
/// use actix_web::dev::Transform;
/// let sessions = resty_session::actix::SessionMiddleware::new(resty_session::Config::default().build()?);
/// let inner = actix_web::dev::fn_service(|req: actix_web::dev::ServiceRequest| async move {
///     Ok::<_, actix_web::Error>(req.into_response(actix_web::HttpResponse::Ok().finish()))
/// });
/// let service: resty_session::actix::SessionService<_> = sessions.new_transform(inner).await.unwrap();
/// # let _ = service;
/// # Ok::<_, resty_session::ConfigError>(()) }).unwrap();
/// ```
pub struct SessionService<S> {
    inner: Rc<S>,
    middleware: SessionMiddleware,
}

impl<S> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("middleware", &self.middleware)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let handle = self.middleware.handle_for(&request);
        request.extensions_mut().insert(handle.clone());
        let inner = Rc::clone(&self.inner);
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            // Lazy: a request that never touched its session has nothing to apply.
            if !handle.is_loaded().await {
                return Ok(response.map_into_left_body());
            }
            let mut headers = to_http(response.headers());
            match handle.finish(&mut headers).await {
                Ok(()) => {
                    from_http(&headers, response.headers_mut());
                    Ok(response.map_into_left_body())
                }
                // `finish` logged the failure: the handler's response must not claim success.
                Err(_) => {
                    let (request, _dropped) = response.into_parts();
                    let failed = HttpResponse::InternalServerError()
                        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                        .finish();
                    Ok(ServiceResponse::new(request, failed).map_into_right_body())
                }
            }
        })
    }
}

/// The response headers as `http` 1 types, for the engine.
fn to_http(headers: &actix_web::http::header::HeaderMap) -> http::HeaderMap {
    let mut out = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    out
}

/// Back to actix: every header the engine may have touched (`Set-Cookie` and the session
/// headers) replaced by its values.
fn from_http(headers: &http::HeaderMap, out: &mut actix_web::http::header::HeaderMap) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    for name in headers.keys() {
        let Ok(actix_name) = HeaderName::from_bytes(name.as_str().as_bytes()) else {
            continue;
        };
        out.remove(&actix_name);
        for value in headers.get_all(name) {
            if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
                out.append(actix_name.clone(), value);
            }
        }
    }
}

/// The extractor error when a handler asks for a [`SessionHandle`] but no
/// [`SessionMiddleware`] wraps the route: a 500 whose body says what to add.
///
/// ```
/// use actix_web::ResponseError;
/// let response = resty_session::actix::MissingSessionMiddleware.error_response();
/// assert_eq!(response.status(), actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error(
    "no session middleware: add `.wrap(resty_session::actix::SessionMiddleware::from_config(&config)?)` \
     to the App or scope that serves this route"
)]
pub struct MissingSessionMiddleware;

impl ResponseError for MissingSessionMiddleware {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// `async fn handler(session: SessionHandle)`: the request's session, lazily opened.
/// `Option<SessionHandle>` (actix's blanket impl) is `None` when no middleware wraps the
/// route.
impl FromRequest for SessionHandle {
    type Error = MissingSessionMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<SessionHandle>()
                .cloned()
                .ok_or(MissingSessionMiddleware),
        )
    }
}

/// A handler error that actix turns into a response: `?` on any [`Error`](crate::Error) in
/// a handler returning `Result<_, SessionError>`.
///
/// The client gets `500 Internal Server Error` with a short generic text and a correlation
/// id (`session error (ref 1f2e3d4c5b6a)`), never the error itself (a store's error can name
/// a path or a session id). The whole error chain goes to the log as a `tracing` error event
/// with the same `error_id` (session ids in it shortened).
///
/// ```
/// use actix_web::ResponseError;
/// let err = resty_session::actix::SessionError::from(resty_session::Error::MissingCookie);
/// assert_eq!(err.error_response().status(), actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SessionError(#[from] pub crate::Error);

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body(crate::handle::logged_error_body(&self.0))
    }
}
