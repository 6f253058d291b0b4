//! The session engine of lua-resty-session 4.1.5, in Rust, wire-compatible:
//! a cookie written by the Lua library opens here and vice versa.
//!
//! `session-core` holds the configuration (Lua option names and defaults),
//! the session state machine, audiences, subject, remember-me cookies,
//! timeouts, chunked cookies, request/response headers and the storage calls.
//! The byte format lives in [`session_codec`]; server-side stores implement
//! [`session_storage::Storage`]. HTTP is seen only as header values, so any
//! framework can use it:
//!
//! ```
//! # session_core::block_on(async {
//! use http::HeaderMap;
//! use session_core::{Config, Request};
//!
//! // Once, at start-up: validate the options and cache the keys.
//! let config: Config = serde_json::from_str(r#"{"secret": "RaJKp8UQW1", "audience": "shop"}"#)?;
//! let config = config.build()?;
//!
//! // Per request: the Cookie header (plus remote address, scheme and
//! // User-Agent when `bind` is used) in, Set-Cookie values out.
//! let request_headers = HeaderMap::new();
//! let request = Request::from_headers(&request_headers).with_scheme("https");
//! let started = session_core::start(&config, request).await;
//! let mut session = started.session;
//! if !started.exists {
//!     session.set_subject(Some("john@example.com"))?;
//!     session.set("cart", &vec![1, 2, 3])?;
//!     session.save().await?;
//! }
//! let mut response_headers = HeaderMap::new();
//! session.apply_response_headers(&mut response_headers);
//! assert!(response_headers.contains_key(http::header::SET_COOKIE));
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # Lua → Rust
//!
//! | lua-resty-session | session-core |
//! |---|---|
//! | `session.init(cfg)` | [`init`]`(Config)` |
//! | `session.new(cfg)` | [`new`]`(&SessionConfig, Request)` / [`Session::new`] |
//! | `session.open(cfg)` | [`open`]`(..).await` → [`Opened`] `{session, error, exists}` |
//! | `session.start(cfg)` | [`start`]`(..).await` → [`Started`] `{session, error, exists, refreshed}` |
//! | `session.logout(cfg)` | [`logout`]`(..).await` → [`Ended`] `{session, error, exists, done}` |
//! | `session.destroy(cfg)` | [`destroy`]`(..).await` → [`Ended`] |
//! | `session:open()` | [`Session::open`]`().await` |
//! | `session:save()` | [`Session::save`]`().await` |
//! | `session:touch()` | [`Session::touch`]`().await` |
//! | `session:refresh()` | [`Session::refresh`]`().await` |
//! | `session:logout()` | [`Session::logout`]`().await` |
//! | `session:destroy()` | [`Session::destroy`]`().await` |
//! | `session:close()` | [`Session::close`] |
//! | `session:clear_request_cookie()` | [`Session::clear_request_cookie`], then [`Session::apply_request_headers`] |
//! | `session:set_headers(...)` | [`Session::set_headers`]`(&[names])` (`&[]` = configured lists) |
//! | `session:set_request_headers(...)` | [`Session::set_request_headers`] |
//! | `session:set_response_headers(...)` | [`Session::set_response_headers`] |
//! | `session:get_property(name)` | [`Session::get_property`] → [`Property`]; typed: [`Session::cookie_metadata`] |
//! | `session:set_remember(v)` / `get_remember()` | [`Session::set_remember`] / [`Session::get_remember`] |
//! | `session:set_data(t)` / `get_data()` | [`Session::set_data`] / [`Session::get_data`] (JSON values) |
//! | `session:set(k, v)` / `get(k)` | [`Session::set`]`(k, &v)` / [`Session::get`]`::<T>(k)`; raw: [`Session::set_value`] / [`Session::get_value`] |
//! | `session:set_audience(a)` / `get_audience()` | [`Session::set_audience`] / [`Session::get_audience`] |
//! | `session:set_subject(s)` / `get_subject()` | [`Session::set_subject`] / [`Session::get_subject`] |
//! | `session.info:set(k, v)` / `get(k)` / `save()` | [`Session::info`]`().set(k, &v)` / `.get::<T>(k)` / `.save().await` |
//! | `ngx.header["Set-Cookie"]` | [`Session::set_cookies`], [`Session::apply_response_headers`] |
//!
//! Where Lua raises (a call on a closed session, an invalid configuration),
//! Rust returns [`Error::Closed`] / [`ConfigError`]; nothing panics.
//!
//! # Time and session ids
//!
//! The clock ([`env::Clock`]) and the session-id source ([`env::SidSource`])
//! are injectable through [`SessionConfigBuilder`]; nothing else reads the
//! system clock. Without a `secret` (or `ikm`), the key is drawn from the OS
//! random source once per process (a warning says so); if that source fails,
//! building the configuration fails rather than falling back to a weak key.
//!
//! # Remember cookies and async runtimes
//!
//! A remember cookie at `remember_safety` Low or above is encrypted with
//! PBKDF2 (1 000 to 1 000 000 iterations) on every remember open and save.
//! With the `tokio` feature, and when called inside a Tokio runtime, the
//! engine runs that derivation with `tokio::task::spawn_blocking`, so it never
//! blocks a worker thread; outside a runtime (or without the feature) it runs
//! inline. Session cookies never use PBKDF2.
//!
//! # Observability
//!
//! The engine emits [`tracing`] data and installs no subscriber. Each operation —
//! [`Session::open`], [`Session::save`], [`Session::touch`], [`Session::refresh`],
//! [`Session::logout`], [`Session::destroy`] — runs in a debug-level span named
//! `session.<operation>` with the fields `storage` ([`SessionConfig::storage_name`]),
//! `outcome` (`ok`, `missing`, `expired`, `bad_mac`, `not_found`, `store_failed`, …; see
//! [`log::outcome`]) and `sid` (the session id's first 8 characters). A session that does not
//! open says why in a debug event; a store failure is a warning (read) or an error (write);
//! configuration hazards (no secret, a secret under 16 bytes) are warnings, once per
//! process, when a configuration is built. Nothing logged holds a secret, a cookie value or
//! a full session id: error texts go through [`log::error_chain`]. Without a subscriber the
//! spans cost a branch each.
//!
//! # Beyond the reference
//!
//! Opt-in features lua-resty-session does not have, none of which changes the cookie format:
//! [`admin`] lists and revokes a subject's server-side sessions (log out everywhere),
//! [`revocation`] takes back cookie sessions through a revocation store checked on open (a Lua
//! peer does not check it), `secret_kdf = "argon2id"` hardens a weak secret
//! ([`Config::derived_ikms`] gives the keys to hand a Lua peer as its `ikm`), and
//! [`maintenance`] sweeps expired records on a schedule.
//!
//! # Payload size
//!
//! `max_plaintext_size` bounds the session data an open decodes (JSON bytes after inflate;
//! inflating stops there with [`Error::PlaintextTooLarge`]) and a save writes: by default
//! 1 MiB with cookie storage ([`config::DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE`]: the worst
//! cookie then costs milliseconds) and the format's limit
//! ([`MAX_PLAINTEXT_SIZE`](session_codec::MAX_PLAINTEXT_SIZE), 12 MiB) with a server-side
//! store, where records written by the Lua library may be that large. With the `tokio`
//! feature inside a runtime, a payload past 256 KiB (ciphertext, or output once inflating)
//! is decrypted, inflated and decoded on a blocking thread.
//!
//! # Repeated opens
//!
//! A browser sends the same cookie until the session is saved again. Each built
//! configuration keeps the decoded header and entries of the 1 024 sessions it opened last
//! (payloads and plaintexts up to 4 KiB), compared by the header's and the payload's text;
//! the same cookie again then costs no base64, no decryption and no JSON parsing, and no
//! MAC when its header binds to nothing. The time checks, a MAC bound to the request, the
//! stored record's presence, revocation and the audience still run on every open. Session
//! data is thereby kept in memory beyond its request (keys are, in any case);
//! [`SessionConfigBuilder::opened_cache`]`(false)` turns the cache off.
//!
//! # Test-only sources
//!
//! `env::FixedClock` and `env::SequentialSid` exist only with the `testing` cargo feature
//! (for tests, vectors and benches): sequential ids repeat, and a production build must not
//! be able to pick them.
//!
//! # Storage
//!
//! Attach a store with [`SessionConfigBuilder::storage`] (generic) or
//! [`SessionConfigBuilder::dyn_storage`] (chosen at run time). The engine
//! calls it exactly where the reference does (docs/semantics.md §17). Without a store,
//! the `async` operations complete at once; [`block_on`] runs them without a
//! runtime.
//!
//! # Differences from the reference
//!
//! None of them stops a cookie or record written by the reference from
//! opening here.
//!
//! 1. `get_data` on a closed session says "unable to **get** session data on
//!    closed session" (the reference says "set").
//! 2. `enforce_same_subject` and multi-audience `logout` keep a valid current
//!    entry (the reference leaves a stale index and can raise).
//! 3. `bind = []` means no binding (the reference's next save raises).
//! 4. Timeout properties of a never-opened session are `None` (the reference
//!    raises); `get_property("ikm")` returns nothing (no key material).
//! 5. MACs are compared in constant time.
//! 6. Clearing the remember request cookie uses the remember cookie's own
//!    chunk count.
//! 7. An empty `Set-Cookie` list on the response is appended to (the
//!    reference fails silently).
//! 8. `info().save()` returns `Ok(())` on success (the reference returns
//!    nothing); it does not update the remember record (as observed).
//! 9. Storage TTL on save uses the intended formula `min(R, A − elapsed)`;
//!    `compat_reference_storage_ttl = true` restores the reference's
//!    `A + elapsed`.
//! 10. Cookie names are configuration-validated as HTTP tokens; unknown
//!     options are rejected with their name; timeouts must be non-negative
//!     integers.
//! 11. JSON is read with serde_json: nesting deeper than 128 levels, or
//!     invalid UTF-8 inside strings, fails the open with `unable to json
//!     decode session data (…)`. Numbers are written in shortest form (Lua
//!     uses `%.14g`).
//! 12. A multi-audience `logout` whose removed entry was the last one
//!     finishes and writes the remember cookie (the reference raises).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admin;
pub mod config;
pub mod cookie;
pub mod env;
mod error;
mod executor;
pub mod log;
mod lua_functions;
pub mod maintenance;
mod opened;
mod payload;
pub mod revocation;
mod session;

pub use config::{Config, SessionConfig, SessionConfigBuilder, init};
pub use error::{ConfigError, Error, Operation, ParseConfigError};
pub use executor::block_on;
pub use lua_functions::{Ended, Opened, Started, destroy, logout, new, open, start};
pub use session::{
    CookieHeader, CookieMetadata, Info, Inspection, Property, Request, Session, State,
};

pub use session_codec;
pub use session_storage;
