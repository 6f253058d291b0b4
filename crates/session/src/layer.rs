//! The tower layer: a [`SessionHandle`] per request, its output on the response.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use session_core::{Config, SessionConfig};

use crate::handle::{SessionHandle, capture};
use crate::setup::{SetupError, build};

/// How the layer finds the client address for `bind = ["ip"]`.
type RemoteAddrFn = dyn Fn(&http::Extensions, &http::HeaderMap) -> Option<IpAddr> + Send + Sync;

/// A tower [`Layer`](tower_layer::Layer) that gives every request a [`SessionHandle`]
/// (in its extensions; with the `axum` feature also as an extractor) and, on the response,
/// applies what the handler did: `Set-Cookie` values and session response headers.
///
/// When the layer cannot finish the session — the save it makes in save-when-modified mode
/// fails (store down or full), or the handle was used while a guard was alive — the
/// handler's response is replaced by an empty `500 Internal Server Error` (the response body
/// type must implement `Default`, as axum's and hyper's do) and the failure is logged with
/// `tracing` at error level.
///
/// The session is opened lazily: a request whose handler never asks for it costs a few
/// pointer copies, no decryption and no storage call.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::get};
/// use resty_session::{Config, SessionHandle, SessionLayer};
///
/// async fn hello(session: SessionHandle) -> String {
///     let s = session.start().await;
///     format!("hello {}", s.get_subject().ok().flatten().unwrap_or("Anonymous"))
/// }
///
/// let config = Config::from_text(r#"secret = "change me""#)?;
/// let app: Router = Router::new()
///     .route("/", get(hello))
///     .layer(SessionLayer::from_config(&config)?);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct SessionLayer {
    config: SessionConfig,
    save_when_modified: bool,
    remote_addr: Arc<RemoteAddrFn>,
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("config", &self.config)
            .field("save_when_modified", &self.save_when_modified)
            .finish_non_exhaustive()
    }
}

/// The default client-address lookup: a `SocketAddr` in the request extensions (as a
/// hand-written hyper server can insert). With axum's `ConnectInfo`, see
/// [`SessionLayer::with_remote_addr`].
fn default_remote_addr(ext: &http::Extensions, _headers: &http::HeaderMap) -> Option<IpAddr> {
    ext.get::<SocketAddr>().map(SocketAddr::ip)
}

impl SessionLayer {
    /// A layer for a built configuration (storage already attached).
    ///
    /// ```
    /// let config = resty_session::Config::default().build()?;
    /// let layer = resty_session::SessionLayer::new(config);
    /// # let _ = layer;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            save_when_modified: false,
            remote_addr: Arc::new(default_remote_addr),
        }
    }

    /// A layer from options with Lua names, the storage chosen by its `storage` option (see
    /// [`build`](crate::build)).
    ///
    /// # Errors
    ///
    /// A [`SetupError`] saying what to change (an invalid option, a backend whose cargo
    /// feature is off, ...).
    ///
    /// ```
    /// let config = resty_session::Config::from_text(r#"secret = "change me""#).unwrap();
    /// let layer = resty_session::SessionLayer::from_config(&config)?;
    /// # let _ = layer;
    /// # Ok::<_, resty_session::SetupError>(())
    /// ```
    pub fn from_config(config: &Config) -> Result<Self, SetupError> {
        Ok(Self::new(build(config)?))
    }

    /// Save a session at the end of the request when the handler changed its data, subject
    /// or audience and did not save it (the tower-sessions habit). Off by default: as in
    /// Lua, a handler calls `save()`. When that save fails, the client gets a 500 instead of
    /// the handler's response (the change is lost, and says so).
    ///
    /// ```
    /// let layer = resty_session::SessionLayer::new(resty_session::Config::default().build()?)
    ///     .with_save_when_modified(true);
    /// # let _ = layer;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn with_save_when_modified(mut self, on: bool) -> Self {
        self.save_when_modified = on;
        self
    }

    /// How to find the client address (for `bind = ["ip"]`), e.g. axum's `ConnectInfo`
    /// (`ext.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())`) or a trusted
    /// `X-Real-IP` set by your own proxy. The default reads a `SocketAddr` from the request
    /// extensions.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// let layer = resty_session::SessionLayer::new(resty_session::Config::default().build()?)
    ///     .with_remote_addr(|_ext, headers| {
    ///         headers.get("x-real-ip")?.to_str().ok()?.parse::<IpAddr>().ok()
    ///     });
    /// # let _ = layer;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn with_remote_addr<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::Extensions, &http::HeaderMap) -> Option<IpAddr> + Send + Sync + 'static,
    {
        self.remote_addr = Arc::new(f);
        self
    }

    /// The configuration this layer uses.
    ///
    /// ```
    /// let layer = resty_session::SessionLayer::new(resty_session::Config::default().build()?);
    /// assert_eq!(layer.config().cookie_name(), "session");
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The handle the layer would give this request (used by the service; public for
    /// frameworks that are not tower-based).
    ///
    /// ```
    /// let layer = resty_session::SessionLayer::new(resty_session::Config::default().build()?);
    /// let handle = layer.handle_for(&http::Request::new(()));
    /// # let _ = handle;
    /// # Ok::<_, resty_session::ConfigError>(())
    /// ```
    pub fn handle_for<B>(&self, request: &http::Request<B>) -> SessionHandle {
        let remote = (self.remote_addr)(request.extensions(), request.headers());
        let captured = capture(request.headers(), request.uri().scheme_str(), remote);
        SessionHandle::new(self.config.clone(), captured, self.save_when_modified)
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`SessionLayer`].
///
/// ```
/// use tower_layer::Layer;
/// let layer = resty_session::SessionLayer::new(resty_session::Config::default().build()?);
/// let service: resty_session::SessionService<()> = layer.layer(());
/// # let _ = service;
/// # Ok::<_, resty_session::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// The future of [`SessionService`]: the inner service's response, with the session's
/// cookies and headers applied.
///
/// ```
/// fn boxed() -> resty_session::ResponseFuture<http::Response<()>, std::convert::Infallible> {
///     Box::pin(async { Ok(http::Response::new(())) })
/// }
/// # let _ = boxed();
/// ```
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

/// The response when the session could not be finished (an end-of-request save failed, or
/// the handle was misused): `500 Internal Server Error`, the handler's body and headers
/// dropped (an empty body: the layer is generic over the body type), no `Set-Cookie`.
fn failed_response<B: Default>() -> http::Response<B> {
    let mut response = http::Response::new(B::default());
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for SessionService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let handle = self.layer.handle_for(&request);
        request.extensions_mut().insert(handle.clone());
        // The clone that was driven to readiness serves this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            match handle.finish(response.headers_mut()).await {
                Ok(()) => Ok(response),
                // `finish` logged the failure: the handler's response must not claim success.
                Err(_) => Ok(failed_response()),
            }
        })
    }
}
