//! "Sign out all my devices" through the HTTP layer (issue 12, part 1): three browsers log in as
//! the same user on a file store with `store_metadata = true`, another user logs in too; one of
//! the first three asks to sign out everywhere. Its handler calls
//! `Session::revoke_everywhere` on the request's session, then destroys its own cookie: every
//! device of that user is signed out, the other user is not.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::{Browser, serve};
use resty_session::{Config, HttpError, SessionHandle, SessionLayer};

async fn login(session: SessionHandle, user: &str) -> Result<String, HttpError> {
    let mut s = session.new_session().await;
    s.set_subject(Some(user))?;
    s.save().await?;
    Ok("ok".into())
}

async fn whoami(session: SessionHandle) -> Result<axum::response::Response, HttpError> {
    let s = session.open().await;
    if !s.exists() {
        return Ok(StatusCode::UNAUTHORIZED.into_response());
    }
    Ok(s.get_subject()?.unwrap_or("-").to_owned().into_response())
}

/// The "sign out all my devices" button.
async fn sign_out_everywhere(
    session: SessionHandle,
) -> Result<axum::response::Response, HttpError> {
    let s = session.open().await;
    if !s.exists() {
        return Ok(StatusCode::UNAUTHORIZED.into_response());
    }
    let revoked = match s.revoke_everywhere().await {
        Ok(n) => n,
        Err(e) => {
            let text = session_core::log::error_chain(&e).to_string();
            return Ok((StatusCode::INTERNAL_SERVER_ERROR, text).into_response());
        }
    };
    drop(s);
    session.destroy().await?; // and clear this device's cookie
    Ok(revoked.to_string().into_response())
}

fn routes() -> Router {
    Router::new()
        .route(
            "/login/john",
            get(|s| async move { login(s, "john").await }),
        )
        .route(
            "/login/jane",
            get(|s| async move { login(s, "jane").await }),
        )
        .route("/whoami", get(whoami))
        .route("/sign-out-everywhere", get(sign_out_everywhere))
}

#[tokio::test]
async fn sign_out_all_my_devices_on_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::from_text(&format!(
        "secret = \"devices\"\nstore_metadata = true\nstorage = \"file\"\n[file]\npath = {:?}",
        dir.path().to_str().unwrap()
    ))
    .unwrap();
    let addr = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let mut devices = [Browser::new(addr), Browser::new(addr), Browser::new(addr)];
    for device in &mut devices {
        assert_eq!(device.get("/login/john").await.body, "ok");
        assert_eq!(device.get("/whoami").await.body, "john");
    }
    let mut other = Browser::new(addr);
    other.get("/login/jane").await;

    let [laptop, phone, tablet] = &mut devices;
    let r = phone.get("/sign-out-everywhere").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "3"));
    for device in [laptop, phone, tablet] {
        assert_eq!(device.get("/whoami").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(other.get("/whoami").await.body, "jane");
}

#[tokio::test]
async fn without_store_metadata_the_handler_reports_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::from_text(&format!(
        "secret = \"devices\"\nstorage = \"file\"\n[file]\npath = {:?}",
        dir.path().to_str().unwrap()
    ))
    .unwrap();
    let addr = serve(routes().layer(SessionLayer::from_config(&cfg).unwrap())).await;
    let mut b = Browser::new(addr);
    b.get("/login/john").await;
    let r = b.get("/sign-out-everywhere").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body
            .contains("needs a server-side storage with store_metadata = true"),
        "{}",
        r.body
    );
    assert_eq!(b.get("/whoami").await.body, "john");
}
