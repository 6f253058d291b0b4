//! `init({storage = "shm"})` as in Lua: configurations that name no storage
//! of their own get the one given to `init`. Its own test binary, because
//! `init` sets process-wide defaults.
#![allow(clippy::unwrap_used, missing_docs)]

use resty_session::{Config, Request};

#[tokio::test]
async fn a_storage_given_to_init_is_used_by_configurations_without_one() {
    resty_session::init(
        Config::from_text("secret = \"s\"\nstorage = \"shm\"\n[shm]\nzone = \"init-test\"")
            .unwrap(),
    )
    .unwrap();
    let plain = Config::from_text("audience = \"app\"").unwrap();
    assert!(
        resty_session::storage_from_config(&plain)
            .unwrap()
            .is_some()
    );
    let built = resty_session::build(&plain).unwrap();
    assert!(built.has_storage());

    let mut session = resty_session::Session::new(&built, Request::new());
    session.set("k", &"v").unwrap();
    session.save().await.unwrap();
    // A server-side cookie is the 110-character header alone.
    let cookie = session.set_cookies()[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(cookie.len(), "session=".len() + 110);

    let mut again = resty_session::Session::new(&built, Request::new().with_cookie(cookie));
    again.open().await.unwrap();
    assert_eq!(again.get::<String>("k").unwrap().as_deref(), Some("v"));
}
