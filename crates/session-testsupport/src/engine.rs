//! The session engine on a store under test: a configuration with the reference's test
//! secret, the `Cookie` header a browser sends back, and an open in a new request.
//!
//! ```
//! use serde_json::json;
//! use session_core::{Request, Session, block_on};
//! use session_storage::memory::MemoryStorage;
//! use session_testsupport::engine;
//!
//! let store = MemoryStorage::new();
//! let config = engine::config_with(&store, json!({"subject": "john"}));
//! let mut s = Session::new(&config, Request::new());
//! s.set("k", &"v").unwrap();
//! block_on(s.save()).unwrap();
//! let cookie = engine::jar(s.set_cookies());
//! let key = engine::storage_key(&s);
//! assert_eq!(key.len(), 43);
//!
//! let again = block_on(engine::open(&config, &cookie)).unwrap();
//! assert_eq!(again.get::<String>("k").unwrap().as_deref(), Some("v"));
//! assert_eq!(engine::storage_key(&again), key);
//! ```

use serde_json::{Value, json};
use session_core::session_storage::Storage;
use session_core::{Config, Property, Request, Session, SessionConfig, SessionConfigBuilder};

/// The secret of the reference's own test suite (lua-resty-session's `spec/` files), which the
/// store tests configure.
pub const SECRET: &str = "RaJKp8UQW1";

/// A configuration builder for the Lua options in `json` (an object), with [`SECRET`] as its
/// `secret` unless `json` names a `secret` or an `ikm`; panics when the options are invalid.
///
/// ```
/// use serde_json::json;
///
/// let config = session_testsupport::engine::builder(json!({"remember": true}))
///     .build()
///     .unwrap();
/// assert!(!config.has_storage());
/// ```
pub fn builder(mut json: Value) -> SessionConfigBuilder {
    if json.get("secret").is_none() && json.get("ikm").is_none() {
        json["secret"] = json!(SECRET);
    }
    serde_json::from_value::<Config>(json)
        .unwrap_or_else(|e| panic!("invalid test configuration: {e}"))
        .builder()
}

/// A configuration for the Lua options in `json` (see [`builder`]) whose server-side records
/// go to `store`.
///
/// ```
/// use serde_json::json;
/// use session_storage::memory::MemoryStorage;
///
/// let config = session_testsupport::engine::config_with(&MemoryStorage::new(), json!({}));
/// assert!(config.has_storage());
/// ```
pub fn config_with<S: Storage + Clone>(store: &S, json: Value) -> SessionConfig {
    builder(json)
        .storage(store.clone())
        .build()
        .unwrap_or_else(|e| panic!("invalid test configuration: {e}"))
}

/// The `Cookie` header a browser sends after these `Set-Cookie` values (a cookie set to the
/// empty value, a deletion, is left out).
///
/// ```
/// let set = ["a=1; Path=/".to_owned(), "b=; Max-Age=0".to_owned(), "c=3".to_owned()];
/// assert_eq!(session_testsupport::engine::jar(&set), "a=1; c=3");
/// ```
pub fn jar(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|p| !p.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The value of cookie `name` in a list of `Set-Cookie` values; panics when it is not there.
///
/// ```
/// let set = ["session=abc; Path=/".to_owned(), "remember=def".to_owned()];
/// assert_eq!(session_testsupport::engine::cookie_value(&set, "remember"), "def");
/// ```
pub fn cookie_value<'a>(set_cookies: &'a [String], name: &str) -> &'a str {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"))
}

/// A new session of a new request carrying `cookie`, opened; the error's message when the
/// open fails (what the tests compare, e.g. `"unable to load session"`).
///
/// ```
/// use serde_json::json;
/// use session_core::block_on;
/// use session_storage::memory::MemoryStorage;
/// use session_testsupport::engine;
///
/// let config = engine::config_with(&MemoryStorage::new(), json!({}));
/// assert!(block_on(engine::open(&config, "")).is_err());
/// ```
pub async fn open(config: &SessionConfig, cookie: &str) -> Result<Session, String> {
    let mut s = Session::new(config, Request::new().with_cookie(cookie));
    s.open().await.map_err(|e| e.to_string())?;
    Ok(s)
}

/// The storage key of a saved or opened server-side session (its `id` property); panics when
/// the session has none.
///
/// See the [module example](self).
pub fn storage_key(s: &Session) -> String {
    match s.get_property("id") {
        Ok(Some(Property::Text(id))) => id,
        other => panic!("no id property: {other:?}"),
    }
}

/// A session saved by a new request: the session, the `Cookie` header a browser sends back
/// after it, and its storage key.
#[derive(Debug)]
pub struct Saved {
    /// The session, after its save.
    pub session: Session,
    /// The `Cookie` header of the next request ([`jar`] of its `Set-Cookie` values).
    pub cookie: String,
    /// Its storage key ([`storage_key`]).
    pub key: String,
}

/// Saves a new session of a new request with `values` set; panics when a step fails.
///
/// ```
/// use serde_json::json;
/// use session_core::block_on;
/// use session_storage::memory::MemoryStorage;
/// use session_testsupport::engine;
///
/// let config = engine::config_with(&MemoryStorage::new(), json!({}));
/// let saved = block_on(engine::save_new(&config, &[("k", json!("v"))]));
/// assert_eq!(saved.key.len(), 43);
/// assert!(saved.cookie.starts_with("session="));
/// ```
pub async fn save_new(config: &SessionConfig, values: &[(&str, Value)]) -> Saved {
    let mut session = Session::new(config, Request::new());
    for (name, value) in values {
        session
            .set(name, value)
            .unwrap_or_else(|e| panic!("set {name}: {e}"));
    }
    if let Err(e) = session.save().await {
        panic!("save: {e}");
    }
    let cookie = jar(session.set_cookies());
    let key = storage_key(&session);
    Saved {
        session,
        cookie,
        key,
    }
}

/// The engine round trip that ends in a logout, on `store` under `config` (a configuration
/// on that store with a subject and `store_metadata`): a saved session's record is in the
/// store; a new request opens it and logs out; the record is gone, the cookie no longer
/// opens (`unable to load session`), and deleting the gone record again is no error.
///
/// ```
/// use serde_json::json;
/// use session_core::block_on;
/// use session_storage::memory::MemoryStorage;
/// use session_testsupport::engine;
///
/// let store = MemoryStorage::new();
/// let config = engine::config_with(&store, json!({"subject": "jane", "store_metadata": true}));
/// block_on(engine::logout_deletes_the_record(&store, &config));
/// ```
pub async fn logout_deletes_the_record<S: Storage>(store: &S, config: &SessionConfig) {
    let Saved { cookie, key, .. } = save_new(config, &[("k", json!("v"))]).await;
    let now = crate::clock::now;
    let stored = store.get("session", &key, now()).await;
    assert!(stored.is_ok_and(|v| v.is_some()), "record stored");

    let mut o = open(config, &cookie)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    if let Err(e) = o.logout().await {
        panic!("logout: {e}");
    }
    let stored = store.get("session", &key, now()).await;
    assert!(stored.is_ok_and(|v| v.is_none()), "record deleted");
    assert_eq!(
        open(config, &cookie).await.err().as_deref(),
        Some("unable to load session")
    );
    // Deleting an already deleted session is fine.
    if let Err(e) = store.delete("session", &key, now(), None).await {
        panic!("delete of a deleted record: {e}");
    }
}
