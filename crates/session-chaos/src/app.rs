//! The application under test: three routes over one session layer, each saving explicitly
//! (an acknowledged save is a `200` whose `Set-Cookie` the client then keeps).

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use resty_session::{Config, Error, SessionHandle, SessionLayer, SetupError};
use serde::Deserialize;

/// The value a client writes.
#[derive(Deserialize)]
pub(crate) struct Value {
    v: u64,
}

/// The router for one storage configuration.
pub(crate) fn router(config: &Config) -> Result<Router, SetupError> {
    Ok(Router::new()
        .route("/new", get(new))
        .route("/read", get(read))
        .route("/modify", get(modify))
        .layer(SessionLayer::from_config(config)?))
}

/// A status for a session that did not open: `503` when the store failed, `404` otherwise.
fn not_opened(error: Option<&Error>) -> Response {
    match error {
        Some(Error::Load(Some(_))) => {
            (StatusCode::SERVICE_UNAVAILABLE, "store failed").into_response()
        }
        Some(e) => (StatusCode::NOT_FOUND, format!("not opened: {e}")).into_response(),
        None => (StatusCode::NOT_FOUND, "not opened").into_response(),
    }
}

fn failed_save(e: &Error) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("save failed: {}", e.to_string().len()),
    )
        .into_response()
}

async fn new(session: SessionHandle, Query(value): Query<Value>) -> Response {
    let mut s = session.new_session().await;
    if let Err(e) = s.set("v", &value.v) {
        return failed_save(&e);
    }
    match s.save().await {
        Ok(()) => "saved".into_response(),
        Err(e) => failed_save(&e),
    }
}

async fn read(session: SessionHandle) -> Response {
    let s = session.open().await;
    if !s.exists() {
        return not_opened(s.open_error());
    }
    match s.get::<u64>("v") {
        Ok(Some(v)) => v.to_string().into_response(),
        _ => (StatusCode::NOT_FOUND, "no value").into_response(),
    }
}

async fn modify(session: SessionHandle, Query(value): Query<Value>) -> Response {
    let mut s = session.open().await;
    if !s.exists() {
        return not_opened(s.open_error());
    }
    if let Err(e) = s.set("v", &value.v) {
        return failed_save(&e);
    }
    match s.save().await {
        Ok(()) => "saved".into_response(),
        Err(e) => failed_save(&e),
    }
}
