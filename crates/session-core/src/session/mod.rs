//! The session engine: one [`Session`] per request (docs/semantics.md).
//!
//! The engine is split by what a reader looks for:
//!
//! - [`request`]: the request as the engine sees it;
//! - [`state`]: the state machine's values, the cookie metadata, properties;
//! - this module: the [`Session`] value, its constructor and getters;
//! - `data`: the Lua accessors (data, audience, subject, remember, properties);
//! - `open`, `save`: reading and writing a session or remember cookie;
//! - `lifecycle`: touch, refresh, logout, destroy, close;
//! - `headers`: response and request headers, clearing the request cookie;
//! - `info`: the info store.

use std::fmt;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use session_codec::{CookieKind, Flags};

use crate::config::SessionConfig;
use crate::error::{Error, Operation};
use crate::payload::Entry;

mod data;
mod headers;
mod info;
mod lifecycle;
mod open;
pub(crate) mod request;
mod save;
pub(crate) mod state;

pub use info::Info;
pub use request::{CookieHeader, Request};
use state::Meta;
pub use state::{CookieMetadata, Inspection, Property, State};

/// The longest TTL a storage is given (400 days).
const MAX_TTL: i64 = 34_560_000;

/// Which of a session's two cookies an operation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Remember,
}

impl Kind {
    /// The configured name of this cookie.
    fn cookie_name(self, config: &SessionConfig) -> &str {
        match self {
            Self::Session => config.cookie_name(),
            Self::Remember => config.remember_cookie_name(),
        }
    }
}

/// One session, bound to one request (docs/semantics.md). Build it with
/// [`Session::new`] (or the helpers [`crate::open`], [`crate::start`], …),
/// call the Lua-named operations, then hand the response its cookies with
/// [`Session::apply_response_headers`] (or read [`Session::set_cookies`]).
///
/// Operations that may touch a storage are `async`; with cookie storage
/// their futures are ready at once (see [`crate::block_on`]).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request, Session};
/// let config = Config { secret: Some("RaJKp8UQW1".into()), ..Config::default() }.build().unwrap();
///
/// // Request 1: log in.
/// let mut session = Session::new(&config, Request::new());
/// session.set_subject(Some("john"))?;
/// session.set("quote", &"Lorem ipsum")?;
/// session.save().await?;
/// let set_cookie = session.set_cookies()[0].clone();
///
/// // Request 2: the browser sends the cookie back.
/// let cookie = set_cookie.split(';').next().unwrap().to_owned();
/// let mut session = Session::new(&config, Request::new().with_cookie(cookie));
/// session.open().await?;
/// assert_eq!(session.get::<String>("quote")?.as_deref(), Some("Lorem ipsum"));
/// assert_eq!(session.get_subject()?, Some("john"));
/// # Ok::<_, session_core::Error>(()) }).unwrap();
/// ```
pub struct Session {
    config: SessionConfig,
    request: Request,
    state: State,
    /// Shared with the opened-sessions cache until first changed (copy on write).
    entries: Arc<Vec<Entry>>,
    current: usize,
    flags: Flags,
    remember: bool,
    info: Option<Map<String, Value>>,
    meta: Option<Meta>,
    remember_meta: Option<Meta>,
    set_cookies: Vec<String>,
    request_cookie_edit: Option<Vec<u8>>,
    request_headers: Vec<(HeaderName, HeaderValue)>,
    response_headers: Vec<(HeaderName, HeaderValue)>,
    warnings: Vec<Error>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("entries", &self.entries.len())
            .field("current", &self.current)
            .field("flags", &self.flags)
            .field("remember", &self.remember)
            .field("set_cookies", &self.set_cookies.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session (state new, one empty entry for the configured audience
    /// and subject), as Lua's `session.new()`.
    ///
    /// ```
    /// use session_core::{Config, Request, Session, State};
    /// let config = Config::default().build().unwrap();
    /// let session = Session::new(&config, Request::new());
    /// assert_eq!(session.state(), State::New);
    /// ```
    pub fn new(config: &SessionConfig, request: Request) -> Self {
        Self {
            config: config.clone(),
            request,
            state: State::New,
            entries: config.fresh_entries(),
            current: 0,
            flags: config.bind(),
            remember: config.remember(),
            info: None,
            meta: None,
            remember_meta: None,
            set_cookies: Vec::new(),
            request_cookie_edit: None,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Start from the `Set-Cookie` values already on the response, so the
    /// session's cookies are merged with them (docs/cookie-format.md §9).
    ///
    /// ```
    /// use session_core::{Config, Request, Session};
    /// let config = Config::default().build().unwrap();
    /// let session = Session::new(&config, Request::new()).with_response_cookies(vec!["a=1".into()]);
    /// assert_eq!(session.set_cookies(), ["a=1"]);
    /// ```
    #[must_use]
    pub fn with_response_cookies(mut self, set_cookies: Vec<String>) -> Self {
        self.set_cookies = set_cookies;
        self
    }

    /// The state.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.state(), State::New);
    /// ```
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration this session uses.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.config().cookie_name(), "session");
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The request (with any cookie rewrite applied).
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new().with_cookie("a=1"));
    /// assert_eq!(s.request().cookie_headers().len(), 1);
    /// ```
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Every `Set-Cookie` value for the response, in order (the ones given to
    /// [`Session::with_response_cookies`] merged with the session's).
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.set_cookies().is_empty());
    /// ```
    pub fn set_cookies(&self) -> &[String] {
        &self.set_cookies
    }

    /// Take the `Set-Cookie` values out of the session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.take_set_cookies().is_empty());
    /// ```
    pub fn take_set_cookies(&mut self) -> Vec<String> {
        std::mem::take(&mut self.set_cookies)
    }

    /// Problems that did not fail an operation (the reference logs them),
    /// e.g. a remember cookie that could not be written during `save`.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.warnings().is_empty());
    /// ```
    pub fn warnings(&self) -> &[Error] {
        &self.warnings
    }

    /// The current entry regardless of state (see [`Inspection`]).
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.inspect().entries, 1);
    /// ```
    pub fn inspect(&self) -> Inspection<'_> {
        let entry = self.entries.get(self.current);
        Inspection {
            state: self.state,
            data: entry.and_then(|e| e.data.value().ok()),
            audience: entry.and_then(|e| e.audience.as_deref()),
            subject: entry.and_then(|e| e.subject.as_deref()),
            entries: self.entries.len(),
        }
    }

    /// The metadata of the session cookie last opened or written.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.cookie_metadata().is_none());
    /// ```
    pub fn cookie_metadata(&self) -> Option<CookieMetadata> {
        self.meta.as_ref().map(Meta::public)
    }

    /// The metadata of the remember cookie last opened or written.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.remember_metadata().is_none());
    /// ```
    pub fn remember_metadata(&self) -> Option<CookieMetadata> {
        self.remember_meta.as_ref().map(Meta::public)
    }

    // ----------------------------------------------------------------- state

    fn not_closed(&self, op: Operation) -> Result<(), Error> {
        if self.state == State::Closed {
            Err(Error::Closed(op))
        } else {
            Ok(())
        }
    }

    fn must_be_open(&self, op: Operation) -> Result<(), Error> {
        match self.state {
            State::Open => Ok(()),
            State::New => Err(Error::Nonexistent(op)),
            State::Closed => Err(Error::Closed(op)),
        }
    }

    fn entry(&self) -> &Entry {
        // `current` is always in range except after a multi-audience logout,
        // which closes the session; accessors check the state first.
        let last = self.entries.len().saturating_sub(1);
        &self.entries[self.current.min(last)]
    }

    fn entry_mut(&mut self) -> &mut Entry {
        let last = self.entries.len().saturating_sub(1);
        &mut Arc::make_mut(&mut self.entries)[self.current.min(last)]
    }

    fn data_key<'k>(&self, key: &'k str) -> std::borrow::Cow<'k, str> {
        if !self.config.has_storage() && key.starts_with('@') {
            std::borrow::Cow::Owned(format!("${key}"))
        } else {
            std::borrow::Cow::Borrowed(key)
        }
    }

    /// The key derivation of the cookie of `kind`.
    fn codec_kind(&self, kind: Kind) -> CookieKind {
        match kind {
            Kind::Session => CookieKind::Session,
            Kind::Remember => CookieKind::Remember(self.config.remember_safety()),
        }
    }

    /// What is known about the cookie of `kind`.
    fn meta_of(&self, kind: Kind) -> Option<&Meta> {
        match kind {
            Kind::Session => self.meta.as_ref(),
            Kind::Remember => self.remember_meta.as_ref(),
        }
    }

    /// The `(absolute, rolling)` timeouts of the cookie of `kind`.
    fn lifetimes(&self, kind: Kind) -> (i64, i64) {
        let c = &self.config;
        match kind {
            Kind::Session => (c.absolute_timeout(), c.rolling_timeout()),
            Kind::Remember => (c.remember_absolute_timeout(), c.remember_rolling_timeout()),
        }
    }
}
