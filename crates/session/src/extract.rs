//! The axum extractor for [`SessionHandle`].

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::handle::SessionHandle;

/// The rejection when a handler asks for a [`SessionHandle`] but no
/// [`SessionLayer`](crate::SessionLayer) wraps the route: a 500 whose body says what to add.
///
/// ```
/// use axum_core::response::IntoResponse;
/// let response = resty_session::MissingSessionLayer.into_response();
/// assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error(
    "no session layer: add `.layer(resty_session::SessionLayer::from_config(&config)?)` to the router \
     (after the routes that use the session)"
)]
pub struct MissingSessionLayer;

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// `async fn handler(session: SessionHandle)`: the request's session, lazily opened.
impl<S: Send + Sync> FromRequestParts<S> for SessionHandle {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SessionHandle>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// `async fn handler(session: Option<SessionHandle>)`: `None` when no layer wraps the route
/// (for handlers shared between routes with and without sessions).
impl<S: Send + Sync> OptionalFromRequestParts<S> for SessionHandle {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<SessionHandle>().cloned())
    }
}

/// A handler error that axum can turn into a response: `?` on any [`Error`](crate::Error)
/// in a handler returning `Result<_, HttpError>`.
///
/// The client gets `500 Internal Server Error` with a short generic text and a correlation
/// id (`session error (ref 1f2e3d4c5b6a)`), never the error itself: a store's error can
/// name a file path, a process id or a whole session id. The whole error chain goes to the
/// log as a `tracing` error event with the same `error_id` (session ids in it shortened to
/// 8 characters).
///
/// ```
/// use axum_core::response::IntoResponse;
/// let err = resty_session::HttpError::from(resty_session::Error::MissingCookie);
/// assert_eq!(err.into_response().status(), http::StatusCode::INTERNAL_SERVER_ERROR);
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HttpError(#[from] pub crate::Error);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(http::header::CACHE_CONTROL, "no-store")],
            crate::handle::logged_error_body(&self.0),
        )
            .into_response()
    }
}
