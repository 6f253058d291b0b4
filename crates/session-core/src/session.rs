//! The session engine: one [`Session`] per request (spec 04).

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use session_codec::{
    BindValues, CipherKey, CookieKind, Flags, HEADER_ENCODED_SIZE, Header, Keyring, MAX_DATA_SIZE,
    SessionId, assemble_payload, b64_decode, b64_encode, b64_encode_into, chunk_count, deflate,
    encoded_len, hash_storage_key, hash_subject, inflate, should_deflate, split_payload,
};
use session_storage::{Metadata, SetRequest};

use crate::config::{HeaderProperty, SessionConfig};
use crate::cookie::{
    chunk_name, clear_cookie, expired_cookie, find_cookie, merge_set_cookie, remember_suffix,
    sets_cookie,
};
use crate::error::{Error, Operation};
use crate::payload::{Entry, decode_entries, encode_entries, encode_value};

/// Largest plaintext an inflate may produce (the 24-bit data-size field
/// bounds what a reference writer can store).
const INFLATE_LIMIT: usize = session_codec::MAX_PLAINTEXT_SIZE;
/// The longest TTL a storage is given (400 days).
const MAX_TTL: i64 = 34_560_000;

/// The request as the engine sees it: `Cookie` header values, plus the values
/// a bound session mixes into its MAC.
///
/// ```
/// use session_core::Request;
/// let req = Request::new()
///     .with_cookie("session=abc")
///     .with_remote_addr("127.0.0.1")
///     .with_scheme("https")
///     .with_user_agent("curl/8.0");
/// assert_eq!(req.cookie_headers().len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct Request {
    cookies: Vec<Vec<u8>>,
    remote_addr: Option<String>,
    scheme: Option<String>,
    user_agent: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("cookies", &self.cookies.len())
            .field("remote_addr", &self.remote_addr)
            .field("scheme", &self.scheme)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Request {
    /// An empty request (no cookies, no bind values).
    ///
    /// ```
    /// assert!(session_core::Request::new().cookie_headers().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The `Cookie` and `User-Agent` values of a request's headers.
    ///
    /// ```
    /// use http::{HeaderMap, header};
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::COOKIE, "session=abc".parse().unwrap());
    /// headers.insert(header::USER_AGENT, "curl/8.0".parse().unwrap());
    /// let req = session_core::Request::from_headers(&headers);
    /// assert_eq!(req.cookie_headers()[0], b"session=abc");
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            cookies: headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect(),
            user_agent: headers
                .get(http::header::USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            remote_addr: None,
            scheme: None,
        }
    }

    /// Add a `Cookie` header value.
    ///
    /// ```
    /// let req = session_core::Request::new().with_cookie("a=1").with_cookie("b=2");
    /// assert_eq!(req.cookie_headers().len(), 2);
    /// ```
    #[must_use]
    pub fn with_cookie(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.cookies.push(value.into());
        self
    }

    /// Set the client address (nginx `$remote_addr`), for `bind = ["ip"]`.
    ///
    /// ```
    /// let req = session_core::Request::new().with_remote_addr("10.0.0.1");
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_remote_addr(mut self, addr: impl Into<String>) -> Self {
        self.remote_addr = Some(addr.into());
        self
    }

    /// Set the scheme (`http` / `https`), for `bind = ["scheme"]`.
    ///
    /// ```
    /// let req = session_core::Request::new().with_scheme("https");
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// Set the `User-Agent` value, for `bind = ["user_agent"]`.
    ///
    /// ```
    /// let req = session_core::Request::new().with_user_agent("curl/8.0");
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The `Cookie` header values, as given (or as rewritten by
    /// [`Session::clear_request_cookie`]).
    ///
    /// ```
    /// assert!(session_core::Request::new().cookie_headers().is_empty());
    /// ```
    pub fn cookie_headers(&self) -> &[Vec<u8>] {
        &self.cookies
    }

    fn bind(&self) -> BindValues<'_> {
        BindValues {
            ip: self.remote_addr.as_deref(),
            scheme: self.scheme.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

/// The state of a session (spec 04 §4.1).
///
/// ```
/// assert_eq!(session_core::State::Open.as_str(), "open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Constructed, or an open found no cookie / no entry for this audience.
    New,
    /// Opened or saved.
    Open,
    /// Closed by `close`, `logout` or `destroy`.
    Closed,
}

impl State {
    /// `"new"`, `"open"` or `"closed"`, as the reference names them.
    ///
    /// ```
    /// assert_eq!(session_core::State::New.as_str(), "new");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// What is known about the cookie this session last opened or wrote (spec
/// 04 §4), without key material.
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request, Session};
/// let config = Config { secret: Some("s".into()), ..Config::default() }.build().unwrap();
/// let mut session = Session::new(&config, Request::new());
/// session.save().await.unwrap();
/// let meta = session.cookie_metadata().unwrap();
/// assert_eq!(meta.rolling_offset, 0);
/// assert_eq!(meta.key_index, 0);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieMetadata {
    /// Time of the open or save that produced this record.
    pub timestamp: u64,
    /// The cookie's flags.
    pub flags: Flags,
    /// The session id.
    pub sid: SessionId,
    /// Creation time of the session.
    pub creation_time: u64,
    /// Seconds from creation to the last save.
    pub rolling_offset: u32,
    /// Length of the base64url payload.
    pub data_size: u32,
    /// Seconds from the last save to the last touch.
    pub idling_offset: u32,
    /// Which key verified or wrote the cookie (0 = primary, n = fallback n).
    pub key_index: usize,
}

#[derive(Clone)]
struct Meta {
    timestamp: u64,
    header: Header,
    key_index: usize,
    /// Cookie storage: what the first cookie carries after the header; server
    /// storage: the whole base64url payload.
    payload_part: String,
}

impl Meta {
    fn public(&self) -> CookieMetadata {
        CookieMetadata {
            timestamp: self.timestamp,
            flags: self.header.flags,
            sid: self.header.sid,
            creation_time: self.header.creation_time,
            rolling_offset: self.header.rolling_offset,
            data_size: self.header.data_size,
            idling_offset: self.header.idling_offset,
            key_index: self.key_index,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Remember,
}

/// A `get_property` value.
///
/// ```
/// use session_core::Property;
/// assert_eq!(Property::Number(5).to_string(), "5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Property {
    /// A text value (`id`, `audience`, `subject`, `initial_chunk`, …).
    Text(String),
    /// A number (timeouts, times, offsets, flags, sizes).
    Number(i64),
    /// Raw bytes (`nonce`, `sid`, `header`).
    Bytes(Vec<u8>),
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bytes(b) => f.write_str(&b64_encode(b)),
        }
    }
}

/// A view of the current entry that works in every state (for tools, tests
/// and logs); the Lua API raises on a closed session, this does not.
///
/// ```
/// use session_core::{Config, Request, Session};
/// let config = Config::default().build().unwrap();
/// let session = Session::new(&config, Request::new());
/// let view = session.inspect();
/// assert_eq!(view.audience, Some("default"));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Inspection<'a> {
    /// The state.
    pub state: State,
    /// The current entry's data (`None` when there is no current entry).
    pub data: Option<&'a Value>,
    /// The current entry's audience.
    pub audience: Option<&'a str>,
    /// The current entry's subject.
    pub subject: Option<&'a str>,
    /// Number of audience entries.
    pub entries: usize,
}

/// One session, bound to one request (spec 04). Build it with
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
    entries: Vec<Entry>,
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

fn set_header(list: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, value: HeaderValue) {
    match list.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => list.push((name, value)),
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
        let c = &config.0;
        Self {
            config: config.clone(),
            request,
            state: State::New,
            entries: vec![Entry::new(&c.audience, c.subject.as_deref())],
            current: 0,
            flags: c.bind,
            remember: c.remember,
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
    /// session's cookies are merged with them (spec 01 §9).
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

    /// Headers the session wants set on the response (from
    /// [`Session::set_response_headers`]).
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.response_headers().is_empty());
    /// ```
    pub fn response_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.response_headers
    }

    /// Headers the session wants set on the (proxied) request (from
    /// [`Session::set_request_headers`]).
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.request_headers().is_empty());
    /// ```
    pub fn request_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.request_headers
    }

    /// The rewritten request `Cookie` header after
    /// [`Session::clear_request_cookie`]: `None` = unchanged, `Some(empty)` =
    /// remove the header, otherwise the new value.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.request_cookie_edit().is_none());
    /// ```
    pub fn request_cookie_edit(&self) -> Option<&[u8]> {
        self.request_cookie_edit.as_deref()
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

    /// Put the session's output on a response's headers: its `Set-Cookie`
    /// values merged with those already there (spec 01 §9), and the session
    /// headers from [`Session::set_response_headers`].
    ///
    /// ```
    /// # session_core::block_on(async {
    /// use http::{HeaderMap, header::SET_COOKIE};
    /// use session_core::{Config, Request, Session};
    /// let config = Config::default().build().unwrap();
    /// let mut session = Session::new(&config, Request::new());
    /// session.save().await.unwrap();
    /// let mut headers = HeaderMap::new();
    /// headers.append(SET_COOKIE, "other=1; Path=/".parse().unwrap());
    /// session.apply_response_headers(&mut headers);
    /// assert_eq!(headers.get_all(SET_COOKIE).iter().count(), 2);
    /// # });
    /// ```
    pub fn apply_response_headers(&self, headers: &mut HeaderMap) {
        let mut list: Vec<HeaderValue> = headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        for cookie in &self.set_cookies {
            let Ok(value) = HeaderValue::from_str(cookie) else {
                continue;
            };
            let name = cookie.split('=').next().unwrap_or_default();
            match list.iter_mut().find(|v| sets_cookie(v.as_bytes(), name)) {
                Some(slot) => *slot = value,
                None => list.push(value),
            }
        }
        headers.remove(http::header::SET_COOKIE);
        for value in list {
            headers.append(http::header::SET_COOKIE, value);
        }
        for (name, value) in &self.response_headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// Apply the request edits (cookie rewrite, session headers) to the
    /// headers of a request about to be proxied upstream.
    ///
    /// ```
    /// use http::HeaderMap;
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// let mut headers = HeaderMap::new();
    /// s.apply_request_headers(&mut headers);
    /// assert!(headers.is_empty());
    /// ```
    pub fn apply_request_headers(&self, headers: &mut HeaderMap) {
        if let Some(edit) = &self.request_cookie_edit {
            headers.remove(http::header::COOKIE);
            if !edit.is_empty()
                && let Ok(value) = HeaderValue::from_bytes(edit)
            {
                headers.insert(http::header::COOKIE, value);
            }
        }
        for (name, value) in &self.request_headers {
            headers.insert(name.clone(), value.clone());
        }
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
            data: entry.map(|e| &e.data),
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
        &mut self.entries[self.current.min(last)]
    }

    fn data_key<'k>(&self, key: &'k str) -> std::borrow::Cow<'k, str> {
        if self.config.0.storage.is_none() && key.starts_with('@') {
            std::borrow::Cow::Owned(format!("${key}"))
        } else {
            std::borrow::Cow::Borrowed(key)
        }
    }

    // ------------------------------------------------------------ accessors

    /// Replace the current audience's data (Lua `set_data`); it must be a JSON
    /// object or array.
    ///
    /// # Errors
    ///
    /// `invalid session data` for other values; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_data(serde_json::json!({"a": 1})).unwrap();
    /// assert!(s.set_data(serde_json::json!(1)).is_err());
    /// ```
    pub fn set_data(&mut self, data: Value) -> Result<(), Error> {
        self.not_closed(Operation::SetData)?;
        if !matches!(data, Value::Object(_) | Value::Array(_)) {
            return Err(Error::InvalidData);
        }
        self.entry_mut().data = data;
        Ok(())
    }

    /// The current audience's data (Lua `get_data`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_data().unwrap(), &serde_json::json!({}));
    /// ```
    pub fn get_data(&self) -> Result<&Value, Error> {
        self.not_closed(Operation::GetData)?;
        Ok(&self.entry().data)
    }

    /// Set one value (Lua `set(key, value)`). With cookie storage a key
    /// starting with `@` is stored as `$@key` (spec 03 §3.5).
    ///
    /// # Errors
    ///
    /// The value does not serialize to JSON; the data is not an object;
    /// closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set("n", &1).unwrap();
    /// assert_eq!(s.get::<i32>("n").unwrap(), Some(1));
    /// ```
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.not_closed(Operation::Set)?;
        let value = serde_json::to_value(value).map_err(Error::Value)?;
        self.set_value(key, Some(value))
    }

    /// Set (`Some`) or remove (`None`, Lua `set(key, nil)`) one JSON value.
    ///
    /// # Errors
    ///
    /// The data is not an object; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_value("k", Some(serde_json::json!("v"))).unwrap();
    /// s.set_value("k", None).unwrap();
    /// assert_eq!(s.get_value("k").unwrap(), None);
    /// ```
    pub fn set_value(&mut self, key: &str, value: Option<Value>) -> Result<(), Error> {
        self.not_closed(Operation::Set)?;
        let key = self.data_key(key).into_owned();
        let entry = self.entry_mut();
        if let Value::Array(items) = &entry.data
            && items.is_empty()
        {
            entry.data = Value::Object(Map::new());
        }
        let Value::Object(map) = &mut entry.data else {
            return Err(Error::InvalidData);
        };
        match value {
            Some(v) => {
                map.insert(key, v);
            }
            None => {
                map.remove(&key);
            }
        }
        Ok(())
    }

    /// Get one value, deserialized (Lua `get(key)`).
    ///
    /// # Errors
    ///
    /// The value does not deserialize into `T`; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get::<String>("missing").unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.get_value(key)? {
            Some(v) => T::deserialize(v).map(Some).map_err(Error::Value),
            None => Ok(None),
        }
    }

    /// Get one raw JSON value.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.get_value("x").unwrap().is_none());
    /// ```
    pub fn get_value(&self, key: &str) -> Result<Option<&Value>, Error> {
        self.not_closed(Operation::Get)?;
        let key = self.data_key(key);
        Ok(self.entry().data.get(key.as_ref()))
    }

    /// Move the current entry to another audience (Lua `set_audience`, spec
    /// 03 §3.1).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_audience("shop").unwrap();
    /// assert_eq!(s.get_audience().unwrap(), Some("shop"));
    /// ```
    pub fn set_audience(&mut self, audience: &str) -> Result<(), Error> {
        self.not_closed(Operation::SetAudience)?;
        let old = self.entry().audience.clone();
        if old.as_deref() == Some(audience) {
            return Ok(());
        }
        if let Some(info) = &mut self.info
            && let Some(old) = &old
            && let Some(obj) = info.remove(old)
        {
            info.insert(audience.to_owned(), obj);
        }
        if self.entries.len() == 1 {
            self.entry_mut().audience = Some(audience.to_owned());
            return Ok(());
        }
        let other = self
            .entries
            .iter()
            .position(|e| e.audience.as_deref() == Some(audience));
        self.entry_mut().audience = Some(audience.to_owned());
        if let Some(p) = other
            && p != self.current
        {
            self.entries.remove(p);
            if p < self.current {
                self.current -= 1;
            }
        }
        Ok(())
    }

    /// The current audience (Lua `get_audience`); `None` if Lua wrote `null`.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_audience().unwrap(), Some("default"));
    /// ```
    pub fn get_audience(&self) -> Result<Option<&str>, Error> {
        self.not_closed(Operation::GetAudience)?;
        Ok(self.entry().audience.as_deref())
    }

    /// Set or clear the current subject (Lua `set_subject`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_subject(Some("john")).unwrap();
    /// assert_eq!(s.get_subject().unwrap(), Some("john"));
    /// ```
    pub fn set_subject(&mut self, subject: Option<&str>) -> Result<(), Error> {
        self.not_closed(Operation::SetSubject)?;
        self.entry_mut().subject = subject.map(str::to_owned);
        Ok(())
    }

    /// The current subject (Lua `get_subject`).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_subject().unwrap(), None);
    /// ```
    pub fn get_subject(&self) -> Result<Option<&str>, Error> {
        self.not_closed(Operation::GetSubject)?;
        Ok(self.entry().subject.as_deref())
    }

    /// Turn persistent ("remember me") cookies on or off (Lua
    /// `set_remember`, spec 04 §8).
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.set_remember(true).unwrap();
    /// assert!(s.get_remember().unwrap());
    /// ```
    pub fn set_remember(&mut self, remember: bool) -> Result<(), Error> {
        self.not_closed(Operation::SetRemember)?;
        self.flags.set(Flags::FORGET, !remember);
        self.remember = remember;
        Ok(())
    }

    /// Whether a remember cookie is written (Lua `get_remember`, spec 04 §12):
    /// false once the session cookie carries FORGET.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(!s.get_remember().unwrap());
    /// ```
    pub fn get_remember(&self) -> Result<bool, Error> {
        self.not_closed(Operation::GetRemember)?;
        Ok(self.remember_active())
    }

    fn remember_active(&self) -> bool {
        if self
            .meta
            .as_ref()
            .is_some_and(|m| m.header.flags.contains(Flags::FORGET))
        {
            return false;
        }
        if self.flags.contains(Flags::FORGET) {
            return false;
        }
        self.remember
    }

    /// A session property (Lua `get_property`, spec 04 §16): `id`, `nonce`,
    /// `audience`, `subject`, `timeout`, `idling-timeout`, `rolling-timeout`,
    /// `absolute-timeout` (also with `_`), or a metadata field (`timestamp`,
    /// `flags`, `sid`, `creation_time`, `rolling_offset`, `data_size`,
    /// `idling_offset`, `header`, `initial_chunk`, `ciphertext`). Key material
    /// is never exposed.
    ///
    /// # Errors
    ///
    /// Closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.get_property("audience").unwrap(), Some(Property::Text("default".into())));
    /// assert_eq!(s.get_property("timeout").unwrap(), None);
    /// ```
    pub fn get_property(&self, name: &str) -> Result<Option<Property>, Error> {
        self.not_closed(Operation::GetProperty)?;
        Ok(self.property(name))
    }

    fn timeouts(&self) -> Option<(Option<i64>, Option<i64>, Option<i64>)> {
        let m = self.meta.as_ref()?;
        let c = &self.config.0;
        let t = i64::try_from(m.timestamp).unwrap_or(i64::MAX);
        let creation = i64::try_from(m.header.creation_time).unwrap_or(i64::MAX);
        let rolling = i64::from(m.header.rolling_offset);
        let idling = i64::from(m.header.idling_offset);
        let since_save = t - creation - rolling;
        Some((
            (c.idling_timeout != 0).then(|| c.idling_timeout - (since_save - idling)),
            (c.rolling_timeout != 0).then(|| c.rolling_timeout - since_save),
            (c.absolute_timeout != 0).then(|| c.absolute_timeout - (t - creation)),
        ))
    }

    fn property(&self, name: &str) -> Option<Property> {
        let meta = self.meta.as_ref();
        let number = |n: u64| Property::Number(i64::try_from(n).unwrap_or(i64::MAX));
        match name {
            "id" => meta.map(|m| Property::Text(m.header.sid.to_base64())),
            "nonce" | "sid" => meta.map(|m| Property::Bytes(m.header.sid.as_bytes().to_vec())),
            "audience" => self.entry().audience.clone().map(Property::Text),
            "subject" => self.entry().subject.clone().map(Property::Text),
            "idling-timeout" | "idling_timeout" => self.timeouts()?.0.map(Property::Number),
            "rolling-timeout" | "rolling_timeout" => self.timeouts()?.1.map(Property::Number),
            "absolute-timeout" | "absolute_timeout" => self.timeouts()?.2.map(Property::Number),
            "timeout" => {
                let (i, r, a) = self.timeouts()?;
                [i, r, a].into_iter().flatten().min().map(Property::Number)
            }
            "timestamp" => meta.map(|m| number(m.timestamp)),
            "flags" => meta.map(|m| number(u64::from(m.header.flags.bits()))),
            "creation_time" => meta.map(|m| number(m.header.creation_time)),
            "rolling_offset" => meta.map(|m| number(u64::from(m.header.rolling_offset))),
            "data_size" => meta.map(|m| number(u64::from(m.header.data_size))),
            "idling_offset" => meta.map(|m| number(u64::from(m.header.idling_offset))),
            "header" => {
                meta.and_then(|m| m.header.encode().ok().map(|h| Property::Bytes(h.to_vec())))
            }
            "initial_chunk" if self.config.0.storage.is_none() => {
                meta.map(|m| Property::Text(m.payload_part.clone()))
            }
            "ciphertext" if self.config.0.storage.is_some() => {
                meta.map(|m| Property::Text(m.payload_part.clone()))
            }
            _ => None,
        }
    }

    /// The info store (Lua `session.info`, spec 03 §7).
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.info().set("k", &"v").unwrap();
    /// assert_eq!(s.info().get::<String>("k").unwrap().as_deref(), Some("v"));
    /// ```
    pub fn info(&mut self) -> Info<'_> {
        Info { session: self }
    }

    // ---------------------------------------------------------------- open

    /// Open the session from the request's cookies (Lua `open`, spec 04
    /// §5-§6), falling back to the remember cookie when enabled.
    ///
    /// # Errors
    ///
    /// The reference's reason: `missing session cookie`, `invalid session
    /// header`, timeouts, MAC, decryption, `missing session audience` (the
    /// cookie's other audiences are then kept for the next save), ….
    ///
    /// ```
    /// # session_core::block_on(async {
    /// use session_core::{Config, Request, Session};
    /// let config = Config::default().build().unwrap();
    /// let mut s = Session::new(&config, Request::new());
    /// assert_eq!(s.open().await.unwrap_err().to_string(), "missing session cookie");
    /// # });
    /// ```
    pub async fn open(&mut self) -> Result<(), Error> {
        let err = match self.open_cookie(Kind::Session, false).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if err.is_audience_error() || !self.remember {
            return Err(err);
        }
        if self.open_cookie(Kind::Remember, false).await.is_err() {
            return Err(err);
        }
        self.save_cookie(Kind::Remember, State::Open).await?;
        self.meta = None;
        self.state = State::New;
        self.save_cookie(Kind::Session, State::Open).await
    }

    fn cookie_name(&self, kind: Kind) -> &str {
        match kind {
            Kind::Session => &self.config.0.cookie_name,
            Kind::Remember => &self.config.0.remember_cookie_name,
        }
    }

    fn codec_kind(&self, kind: Kind) -> CookieKind {
        match kind {
            Kind::Session => CookieKind::Session,
            Kind::Remember => CookieKind::Remember(self.config.0.remember_safety),
        }
    }

    async fn open_cookie(&mut self, kind: Kind, meta_only: bool) -> Result<(), Error> {
        let c = std::sync::Arc::clone(&self.config.0);
        let name: &str = match kind {
            Kind::Session => &c.cookie_name,
            Kind::Remember => &c.remember_cookie_name,
        };
        let now = c.clock.now();
        let value = find_cookie(&self.request.cookies, name).ok_or(Error::MissingCookie)?;
        // Cookie values are ASCII when valid; a non-UTF-8 tail can only be a
        // broken payload, which the base64 step reports.
        let (value, tail_invalid) = match std::str::from_utf8(value) {
            Ok(v) => (v, false),
            Err(e) => {
                let valid = &value[..e.valid_up_to()];
                (std::str::from_utf8(valid).unwrap_or_default(), true)
            }
        };
        if tail_invalid && value.len() < HEADER_ENCODED_SIZE {
            return Err(Error::Codec(session_codec::Error::HeaderBase64));
        }
        let (header, raw) = Header::decode_base64(value)?;
        if header.flags.contains(Flags::STORAGE) != c.storage.is_some() {
            return Err(Error::Codec(session_codec::Error::InvalidFlags));
        }
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let creation = i64::try_from(header.creation_time).unwrap_or(i64::MAX);
        let age = now_i - creation;
        if age > i64::from(u32::MAX) {
            return Err(Error::LifetimeExceeded);
        }
        let (absolute, rolling) = match kind {
            Kind::Session => (c.absolute_timeout, c.rolling_timeout),
            Kind::Remember => (c.remember_absolute_timeout, c.remember_rolling_timeout),
        };
        if absolute != 0 && age > absolute {
            return Err(match kind {
                Kind::Session => Error::AbsoluteTimeout,
                Kind::Remember => Error::RememberAbsoluteTimeout,
            });
        }
        let since_save = age - i64::from(header.rolling_offset);
        if rolling != 0 && since_save > rolling {
            return Err(match kind {
                Kind::Session => Error::RollingTimeout,
                Kind::Remember => Error::RememberRollingTimeout,
            });
        }
        match kind {
            Kind::Remember if header.idling_offset != 0 => {
                return Err(Error::Codec(session_codec::Error::InvalidIdlingOffset));
            }
            Kind::Session
                if c.idling_timeout != 0
                    && since_save - i64::from(header.idling_offset) > c.idling_timeout =>
            {
                return Err(Error::IdlingTimeout);
            }
            _ => {}
        }
        let key_index = c.keys.verify_mac(&raw, &self.request.bind())?;

        // Payload.
        let data_size = usize::try_from(header.data_size).unwrap_or(usize::MAX);
        let mut info_store = None;
        let payload_part: String;
        let mut ciphertext = Vec::new();
        if let Some(storage) = &c.storage {
            let key = hash_storage_key(&header.sid, c.hash_storage_key);
            let stored = storage
                .dyn_get(name, &key, now_i)
                .await
                .map_err(|e| Error::Load(Some(e)))?
                .ok_or(Error::Load(None))?;
            let (payload, info) = parse_stored(stored)?;
            info_store = info;
            if payload.len() != data_size {
                return Err(Error::Codec(session_codec::Error::InvalidPayload));
            }
            if !session_codec::b64_decode_into(&payload, &mut ciphertext) {
                return Err(Error::Codec(session_codec::Error::PayloadBase64));
            }
            payload_part = payload;
        } else {
            let cookies = &self.request.cookies;
            let payload = assemble_payload(name.len(), data_size, value, |i| {
                find_cookie(cookies, &chunk_name(name, i)).and_then(|v| std::str::from_utf8(v).ok())
            })?;
            if tail_invalid || !session_codec::b64_decode_into(&payload, &mut ciphertext) {
                return Err(Error::Codec(session_codec::Error::PayloadBase64));
            }
            let n = chunk_count(name.len(), data_size)?;
            payload_part = if n == 1 {
                payload.into_owned()
            } else {
                value
                    .get(HEADER_ENCODED_SIZE..)
                    .unwrap_or_default()
                    .to_owned()
            };
        }

        // Record the metadata before decrypting, as the reference does.
        let meta = Meta {
            timestamp: now,
            header,
            key_index,
            payload_part,
        };
        match kind {
            Kind::Session => self.meta = Some(meta),
            Kind::Remember => self.remember_meta = Some(meta),
        }
        if meta_only {
            return Ok(());
        }

        let cipher_key = self.cipher_key(key_index, &header.sid, kind).await?;
        Keyring::open_with_cipher_key(&header, &cipher_key, &mut ciphertext)?;
        let plaintext = if header.flags.contains(Flags::DEFLATE) {
            inflate(&ciphertext, INFLATE_LIMIT)?
        } else {
            ciphertext
        };
        let mut entries = decode_entries(&plaintext).map_err(Error::JsonDecode)?;

        if c.storage.is_some() {
            // Install the info store (spec 03 §7.2).
            self.info = match info_store {
                Some(mut stored) => {
                    if let Some(aud) = self.entry().audience.clone()
                        && !stored.contains_key(&aud)
                        && let Some(mine) = self.info.as_ref().and_then(|i| i.get(&aud))
                    {
                        stored.insert(aud, mine.clone());
                    }
                    Some(stored)
                }
                None => None,
            };
        }

        let audience = self.entry().audience.as_deref();
        let found = entries
            .iter()
            .position(|e| e.audience.is_some() && e.audience.as_deref() == audience);
        match found {
            Some(index) => {
                self.entries = entries;
                self.current = index;
                self.state = State::Open;
                Ok(())
            }
            None => {
                let own = self.entry().clone();
                entries.push(own);
                self.current = entries.len() - 1;
                self.entries = entries;
                self.state = State::New;
                Err(Error::MissingAudience)
            }
        }
    }

    async fn cipher_key(
        &self,
        key_index: usize,
        sid: &SessionId,
        kind: Kind,
    ) -> Result<CipherKey, Error> {
        let codec_kind = self.codec_kind(kind);
        #[cfg(feature = "tokio")]
        if codec_kind.is_slow()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let config = self.config.clone();
            let sid = *sid;
            return handle
                .spawn_blocking(move || {
                    session_codec::derive_cipher_key(&config.0.keys, key_index, &sid, codec_kind)
                })
                .await
                .map_err(|e| Error::Blocking(e.to_string()))?
                .map_err(Error::Codec);
        }
        Ok(session_codec::derive_cipher_key(
            &self.config.0.keys,
            key_index,
            sid,
            codec_kind,
        )?)
    }

    // ---------------------------------------------------------------- save

    fn prune_same_subject(&mut self) {
        if !self.config.0.enforce_same_subject || self.entries.len() < 2 {
            return;
        }
        let Some(current) = self.entries.get(self.current) else {
            return;
        };
        let subject = current.subject.clone();
        let keep_index = self.current;
        let (mut index, mut kept, mut new_current) = (0, 0, 0);
        self.entries.retain(|e| {
            let keep = index == keep_index || e.subject == subject;
            if index == keep_index {
                new_current = kept;
            }
            if keep {
                kept += 1;
            }
            index += 1;
            keep
        });
        // The reference leaves the index stale (spec 04 §19 #4); adjust it.
        self.current = new_current;
    }

    fn metadata(&self) -> Option<Metadata> {
        let c = &self.config.0;
        if !c.store_metadata {
            return None;
        }
        let mut audiences = Vec::new();
        let mut subjects = Vec::new();
        let single = self.entries.len() == 1;
        for e in &self.entries {
            if let (Some(a), Some(s)) = (&e.audience, &e.subject) {
                audiences.push(b64_encode(a.as_bytes()));
                subjects.push(if single || !c.raw_multi_subjects {
                    hash_subject(s, c.hash_subject)
                } else {
                    s.clone()
                });
            }
        }
        (!audiences.is_empty()).then(|| Metadata::new(audiences, subjects))
    }

    fn storage_ttl(&self, kind: Kind, now: i64, creation: i64) -> u64 {
        let c = &self.config.0;
        let (r, a) = match kind {
            Kind::Session => (c.rolling_timeout, c.absolute_timeout),
            Kind::Remember => (c.remember_rolling_timeout, c.remember_absolute_timeout),
        };
        let mut ttl = MAX_TTL;
        if r > 0 && r < MAX_TTL {
            ttl = r;
        }
        if a > 0 && a < MAX_TTL {
            let elapsed = now - creation;
            let left = if c.reference_storage_ttl {
                a.saturating_add(elapsed)
            } else {
                a.saturating_sub(elapsed)
            };
            ttl = ttl.min(left);
        }
        u64::try_from(ttl.max(1)).unwrap_or(1)
    }

    async fn save_cookie(&mut self, kind: Kind, target: State) -> Result<(), Error> {
        let c = std::sync::Arc::clone(&self.config.0);
        let previous = match kind {
            Kind::Session => self.meta.as_ref().map(|m| m.header),
            Kind::Remember => self.remember_meta.as_ref().map(|m| m.header),
        };
        let mut flags = self.flags;
        flags.set(Flags::STORAGE, c.storage.is_some());
        let sid = SessionId::from_bytes(c.sid_source.generate().map_err(Error::GenerateSid)?);
        let now = c.clock.now();
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let (creation_time, rolling_offset) = match &previous {
            Some(m) => {
                let creation = m.creation_time;
                let elapsed = now.saturating_sub(creation);
                let rolling = u32::try_from(elapsed).map_err(|_| Error::MaxRollingOffset)?;
                (creation, rolling)
            }
            None => (now, 0),
        };
        if creation_time > session_codec::MAX_CREATION_TIME {
            return Err(Error::Codec(session_codec::Error::CreationTimeLimit));
        }
        if previous
            .as_ref()
            .is_some_and(|m| m.flags.contains(Flags::FORGET))
        {
            flags |= Flags::FORGET;
        }
        self.prune_same_subject();

        let mut json = Vec::with_capacity(128);
        encode_entries(&self.entries, &mut json).map_err(Error::JsonEncode)?;
        let mut plaintext = json;
        if should_deflate(plaintext.len(), c.compression_threshold)
            && let Some(deflated) = deflate(&plaintext)
        {
            plaintext = deflated;
            flags |= Flags::DEFLATE;
        }
        let data_size = encoded_len(plaintext.len());
        let name: &str = match kind {
            Kind::Session => &c.cookie_name,
            Kind::Remember => &c.remember_cookie_name,
        };
        let chunks = if c.storage.is_some() {
            if data_size > usize::try_from(MAX_DATA_SIZE).unwrap_or(usize::MAX) {
                return Err(Error::Codec(session_codec::Error::DataSizeLimit));
            }
            1
        } else {
            chunk_count(name.len(), data_size)?
        };

        let mut header = Header::new(flags, sid, creation_time, rolling_offset);
        let cipher_key = self.cipher_key(0, &sid, kind).await?;
        let raw = c.keys.seal_with_cipher_key(
            &mut header,
            &cipher_key,
            &mut plaintext,
            &self.request.bind(),
        )?;
        let mut value = String::with_capacity(HEADER_ENCODED_SIZE + data_size);
        b64_encode_into(&raw, &mut value);
        let mut payload = String::with_capacity(data_size);
        b64_encode_into(&plaintext, &mut payload);

        let suffix = match kind {
            Kind::Session => String::new(),
            Kind::Remember => remember_suffix(
                creation_time,
                u64::try_from(c.remember_rolling_timeout).unwrap_or(0),
            ),
        };
        let mut working = self.set_cookies.clone();
        let payload_part;
        if let Some(storage) = &c.storage {
            let cookie = format!("{name}={value}{}{suffix}", c.attributes);
            merge_set_cookie(&mut working, name, cookie);
            let key = hash_storage_key(&sid, c.hash_storage_key);
            let stored = self.stored_value(&payload)?;
            let old_key = previous
                .as_ref()
                .map(|m| hash_storage_key(&m.sid, c.hash_storage_key));
            let ttl = self.storage_ttl(
                kind,
                now_i,
                i64::try_from(creation_time).unwrap_or(i64::MAX),
            );
            let metadata = self.metadata();
            // The reference passes the stale TTL on every save, also without an old key (V7).
            let mut req = SetRequest::new(name, &key, &stored, ttl, now_i)
                .with_remember(kind == Kind::Remember)
                .with_stale_ttl(c.stale_ttl);
            if let Some(old) = &old_key {
                req = req.with_old_key(old, c.stale_ttl);
            }
            if let Some(m) = &metadata {
                req = req.with_metadata(m);
            }
            storage.dyn_set(&req).await.map_err(Error::Store)?;
            payload_part = payload;
        } else {
            let parts = split_payload(name.len(), &payload)?;
            for (i, part) in parts.iter().enumerate() {
                let index = i + 1;
                let chunk = chunk_name(name, index);
                let cookie = if index == 1 {
                    format!("{chunk}={value}{part}{}{suffix}", c.attributes)
                } else {
                    format!("{chunk}={part}{}{suffix}", c.attributes)
                };
                merge_set_cookie(&mut working, &chunk, cookie);
            }
            if let Some(m) = &previous {
                let old_n = chunk_count(
                    name.len(),
                    usize::try_from(m.data_size).unwrap_or(usize::MAX),
                )
                .unwrap_or(1);
                for i in chunks + 1..=old_n {
                    let chunk = chunk_name(name, i);
                    let cookie = expired_cookie(&chunk, &c.attributes);
                    merge_set_cookie(&mut working, &chunk, cookie);
                }
            }
            payload_part = parts.first().map(|p| (*p).to_owned()).unwrap_or_default();
        }
        self.set_cookies = working;
        let meta = Meta {
            timestamp: now,
            header,
            key_index: 0,
            payload_part,
        };
        match kind {
            Kind::Session => {
                self.meta = Some(meta);
                self.state = target;
            }
            Kind::Remember => self.remember_meta = Some(meta),
        }
        Ok(())
    }

    fn stored_value(&self, payload: &str) -> Result<String, Error> {
        let mut out = String::with_capacity(payload.len() + 8);
        out.push_str("[\"");
        out.push_str(payload);
        out.push('"');
        if let Some(info) = self.info.as_ref().filter(|i| !i.is_empty()) {
            let json = encode_value(info).map_err(Error::InfoJsonEncode)?;
            out.push_str(",\"");
            b64_encode_into(&json, &mut out);
            out.push('"');
        }
        out.push(']');
        Ok(out)
    }

    async fn save_remember(&mut self) {
        if self.remember_meta.is_none() {
            let _ = self.open_cookie(Kind::Remember, true).await;
        }
        if let Err(e) = self.save_cookie(Kind::Remember, State::Open).await {
            self.warnings.push(e);
        }
    }

    /// Save the session (Lua `save`, spec 04 §7): a new session id, the
    /// creation time kept, new `Set-Cookie` values (and a remember cookie
    /// when remember is active).
    ///
    /// # Errors
    ///
    /// `unable to save closed session`; size limits; storage failures.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// assert_eq!(s.state(), State::Open);
    /// assert!(s.set_cookies()[0].starts_with("session="));
    /// # });
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        self.not_closed(Operation::Save)?;
        self.save_cookie(Kind::Session, State::Open).await?;
        if self.remember_active() {
            self.save_remember().await;
        }
        Ok(())
    }

    /// Renew the idle timer without a new session id (Lua `touch`, spec 04 §9).
    ///
    /// # Errors
    ///
    /// `unable to touch nonexistent session` / closed session.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.touch().await.is_err());
    /// s.save().await.unwrap();
    /// s.touch().await.unwrap();
    /// # });
    /// ```
    pub async fn touch(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Touch)?;
        self.touch_cookie()
    }

    fn touch_cookie(&mut self) -> Result<(), Error> {
        let c = std::sync::Arc::clone(&self.config.0);
        let Some(meta) = self.meta.as_mut() else {
            return Err(Error::Nonexistent(Operation::Touch));
        };
        let now = i64::try_from(c.clock.now()).unwrap_or(i64::MAX);
        let creation = i64::try_from(meta.header.creation_time).unwrap_or(i64::MAX);
        let idle = (now - creation - i64::from(meta.header.rolling_offset))
            .clamp(0, i64::from(session_codec::MAX_IDLING_OFFSET));
        meta.header.idling_offset = u32::try_from(idle).unwrap_or(session_codec::MAX_IDLING_OFFSET);
        let raw = c
            .keys
            .sign(&mut meta.header, meta.key_index, &self.request.bind())?;
        let name = &c.cookie_name;
        let mut cookie = String::with_capacity(
            name.len() + 1 + HEADER_ENCODED_SIZE + meta.payload_part.len() + c.attributes.len(),
        );
        cookie.push_str(name);
        cookie.push('=');
        b64_encode_into(&raw, &mut cookie);
        if c.storage.is_none() {
            cookie.push_str(&meta.payload_part);
        }
        cookie.push_str(&c.attributes);
        merge_set_cookie(&mut self.set_cookies, name, cookie);
        Ok(())
    }

    /// Save or touch when due (Lua `refresh`, spec 04 §10).
    ///
    /// # Errors
    ///
    /// `unable to refresh nonexistent session` / closed session; save errors.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.refresh().await.unwrap(); // nothing due yet
    /// # });
    /// ```
    pub async fn refresh(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Refresh)?;
        let c = std::sync::Arc::clone(&self.config.0);
        if c.rolling_timeout == 0 && c.idling_timeout == 0 {
            return Ok(());
        }
        let Some(meta) = &self.meta else {
            return Ok(());
        };
        let t = i64::try_from(meta.timestamp).unwrap_or(i64::MAX);
        let creation = i64::try_from(meta.header.creation_time).unwrap_or(i64::MAX);
        let elapsed = t - creation - i64::from(meta.header.rolling_offset);
        let idling = i64::from(meta.header.idling_offset);
        // ceil(0.75 × rolling_timeout)
        let threshold = (c.rolling_timeout.saturating_mul(3) + 3) / 4;
        if c.rolling_timeout > 0 && elapsed > threshold {
            return self.save_cookie(Kind::Session, State::Open).await;
        }
        if c.idling_timeout > 0 && elapsed - idling > c.touch_threshold {
            return self.touch_cookie();
        }
        Ok(())
    }

    /// Log out of the current audience (Lua `logout`, spec 04 §11): with one
    /// audience this is [`Session::destroy`]; otherwise the other audiences
    /// are saved without this one.
    ///
    /// # Errors
    ///
    /// `unable to logout nonexistent session` / closed session; save errors.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.logout().await.unwrap();
    /// assert_eq!(s.state(), State::Closed);
    /// # });
    /// ```
    pub async fn logout(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Logout)?;
        if self.entries.len() <= 1 {
            return self.destroy_cookies().await;
        }
        if let Some(info) = &mut self.info {
            if let Some(aud) = self
                .entries
                .get(self.current)
                .and_then(|e| e.audience.as_ref())
            {
                info.remove(aud);
            }
            if info.is_empty() {
                self.info = None;
            }
        }
        let removed = self.current.min(self.entries.len() - 1);
        self.entries.remove(removed);
        // The reference keeps the (now stale) index; it points at the entry
        // that moved into the removed slot, if any.
        self.save_cookie(Kind::Session, State::Closed).await?;
        if self.remember_active() {
            self.save_remember().await;
        }
        Ok(())
    }

    /// Delete the session (Lua `destroy`, spec 04 §13): expiring cookies (and
    /// storage records) for the session and, when active, the remember cookie.
    ///
    /// # Errors
    ///
    /// `unable to destroy nonexistent session` / closed session; storage errors.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.destroy().await.unwrap();
    /// assert!(s.set_cookies()[0].starts_with("session=; "));
    /// # });
    /// ```
    pub async fn destroy(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Destroy)?;
        self.destroy_cookies().await
    }

    async fn destroy_kind(&mut self, kind: Kind) -> Result<(), Error> {
        let c = std::sync::Arc::clone(&self.config.0);
        let name = self.cookie_name(kind).to_owned();
        let meta = match kind {
            Kind::Session => self.meta.clone(),
            Kind::Remember => self.remember_meta.clone(),
        };
        let chunks = match (&c.storage, &meta) {
            (None, Some(m)) => chunk_count(
                name.len(),
                usize::try_from(m.header.data_size).unwrap_or(usize::MAX),
            )?,
            _ => 1,
        };
        let mut working = self.set_cookies.clone();
        for i in 1..=chunks {
            let chunk = chunk_name(&name, i);
            let cookie = expired_cookie(&chunk, &c.attributes);
            merge_set_cookie(&mut working, &chunk, cookie);
        }
        if let (Some(storage), Some(m)) = (&c.storage, &meta) {
            let key = hash_storage_key(&m.header.sid, c.hash_storage_key);
            let metadata = self.metadata();
            let timestamp = i64::try_from(m.timestamp).unwrap_or(i64::MAX);
            storage
                .dyn_delete(&name, &key, timestamp, metadata.as_ref())
                .await
                .map_err(Error::Destroy)?;
        }
        self.set_cookies = working;
        Ok(())
    }

    async fn destroy_cookies(&mut self) -> Result<(), Error> {
        self.destroy_kind(Kind::Session).await?;
        self.state = State::Closed;
        if self.remember_active() {
            if self.remember_meta.is_none() && self.open_cookie(Kind::Remember, true).await.is_err()
            {
                return Ok(());
            }
            self.destroy_kind(Kind::Remember).await?;
        }
        Ok(())
    }

    /// Close the session without touching cookies or storage (Lua `close`).
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.close();
    /// assert!(s.get_data().is_err());
    /// ```
    pub fn close(&mut self) {
        self.state = State::Closed;
    }

    /// Remove the session cookies from the request's `Cookie` header before
    /// proxying it (Lua `clear_request_cookie`, spec 04 §14, 01 §11).
    ///
    /// # Errors
    ///
    /// `unable to clear session request cookie` without a `Cookie` header;
    /// nonexistent / closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.clear_request_cookie().is_err());
    /// ```
    pub fn clear_request_cookie(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::ClearRequestCookie)?;
        let c = std::sync::Arc::clone(&self.config.0);
        let header = self.request.cookies.join(&b"; "[..]);
        let chunks = |name: &str, meta: Option<&Meta>| -> usize {
            match (&c.storage, meta) {
                (None, Some(m)) => chunk_count(
                    name.len(),
                    usize::try_from(m.header.data_size).unwrap_or(usize::MAX),
                )
                .unwrap_or(1),
                _ => 1,
            }
        };
        let n = chunks(&c.cookie_name, self.meta.as_ref());
        let mut out = clear_cookie(&header, &c.cookie_name, n).ok_or(Error::ClearRequestCookie)?;
        if self.remember_active() {
            let name = &c.remember_cookie_name;
            let n = match &self.remember_meta {
                Some(m) => chunks(name, Some(m)),
                None => find_cookie(&self.request.cookies, name)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| Header::decode_base64(v).ok())
                    .map(|(h, _)| {
                        chunk_count(name.len(), usize::try_from(h.data_size).unwrap_or(0))
                            .unwrap_or(1)
                    })
                    .unwrap_or(1),
            };
            if c.storage.is_some() {
                out = clear_cookie(&out, name, 1).ok_or(Error::ClearRememberRequestCookie)?;
            } else {
                out = clear_cookie(&out, name, n).ok_or(Error::ClearRememberRequestCookie)?;
            }
        }
        self.request.cookies = if out.is_empty() {
            Vec::new()
        } else {
            vec![out.clone()]
        };
        self.request_cookie_edit = Some(out);
        Ok(())
    }

    fn header_properties(
        &self,
        names: &[&str],
        configured: &[HeaderProperty],
    ) -> Vec<HeaderProperty> {
        if names.is_empty() {
            configured.to_vec()
        } else {
            names
                .iter()
                .filter_map(|n| HeaderProperty::from_name(n))
                .collect()
        }
    }

    fn header_values(&self, props: &[HeaderProperty]) -> Vec<(HeaderName, HeaderValue)> {
        props
            .iter()
            .filter_map(|p| {
                let value = self.property(p.name())?;
                let value = HeaderValue::from_str(&value.to_string()).ok()?;
                Some((HeaderName::from_static(header_static(*p)), value))
            })
            .collect()
    }

    /// Set session headers on both request and response (Lua `set_headers`):
    /// with no names, the configured `request_headers` on the request and
    /// `response_headers` on the response; with names, those on both.
    /// Unknown names, and properties without a value, are skipped.
    ///
    /// # Errors
    ///
    /// Nonexistent / closed session.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.set_headers(&["id", "audience"]).unwrap();
    /// assert_eq!(s.response_headers().len(), 2);
    /// # });
    /// ```
    pub fn set_headers(&mut self, names: &[&str]) -> Result<(), Error> {
        self.must_be_open(Operation::SetHeaders)?;
        let req = self.header_properties(names, &self.config.0.request_headers.clone());
        let res = self.header_properties(names, &self.config.0.response_headers.clone());
        for (n, v) in self.header_values(&req) {
            set_header(&mut self.request_headers, n, v);
        }
        for (n, v) in self.header_values(&res) {
            set_header(&mut self.response_headers, n, v);
        }
        Ok(())
    }

    /// Set session headers on the request (Lua `set_request_headers`).
    ///
    /// # Errors
    ///
    /// Nonexistent / closed session.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.set_request_headers(&["id"]).unwrap();
    /// assert_eq!(s.request_headers()[0].0, "session-id");
    /// # });
    /// ```
    pub fn set_request_headers(&mut self, names: &[&str]) -> Result<(), Error> {
        self.must_be_open(Operation::SetRequestHeaders)?;
        let props = self.header_properties(names, &self.config.0.request_headers.clone());
        for (n, v) in self.header_values(&props) {
            set_header(&mut self.request_headers, n, v);
        }
        Ok(())
    }

    /// Set session headers on the response (Lua `set_response_headers`).
    ///
    /// # Errors
    ///
    /// Nonexistent / closed session.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// s.set_response_headers(&["timeout"]).unwrap();
    /// assert_eq!(s.response_headers()[0].0, "session-timeout");
    /// # });
    /// ```
    pub fn set_response_headers(&mut self, names: &[&str]) -> Result<(), Error> {
        self.must_be_open(Operation::SetResponseHeaders)?;
        let props = self.header_properties(names, &self.config.0.response_headers.clone());
        for (n, v) in self.header_values(&props) {
            set_header(&mut self.response_headers, n, v);
        }
        Ok(())
    }
}

fn header_static(p: HeaderProperty) -> &'static str {
    match p {
        HeaderProperty::Id => "session-id",
        HeaderProperty::Audience => "session-audience",
        HeaderProperty::Subject => "session-subject",
        HeaderProperty::Timeout => "session-timeout",
        HeaderProperty::IdlingTimeout => "session-idling-timeout",
        HeaderProperty::RollingTimeout => "session-rolling-timeout",
        HeaderProperty::AbsoluteTimeout => "session-absolute-timeout",
    }
}

/// Parse a stored record `["payload", "info"?]` (spec 03 §6).
fn parse_stored(stored: String) -> Result<(String, Option<Map<String, Value>>), Error> {
    if let Some((payload, info)) = split_plain_record(&stored) {
        let info = match info {
            Some(info) => decode_info(info)?,
            None => None,
        };
        // The payload is `stored[2..2 + len]`: keep it in the record's own buffer.
        let len = payload.len();
        let mut payload = stored;
        payload.truncate(2 + len);
        payload.drain(..2);
        return Ok((payload, info));
    }
    parse_stored_json(&stored)
}

/// [`parse_stored`] through the JSON parser, for any layout.
fn parse_stored_json(stored: &str) -> Result<(String, Option<Map<String, Value>>), Error> {
    let value: Value = serde_json::from_str(stored).map_err(Error::StoredJson)?;
    let Value::Array(mut items) = value else {
        return Err(Error::Codec(session_codec::Error::InvalidPayload));
    };
    let info = match items.get(1) {
        Some(Value::String(s)) => decode_info(s)?,
        _ => None,
    };
    items.truncate(1);
    match items.pop() {
        Some(Value::String(payload)) => Ok((payload, info)),
        _ => Err(Error::Codec(session_codec::Error::InvalidPayload)),
    }
}

/// The fast path of [`parse_stored`]: the exact layout every writer produces (cjson's and
/// ours), `["P"]` or `["P","I"]` with base64url strings, which hold nothing JSON would
/// unescape. Anything else (whitespace, escapes, other shapes) goes through the JSON parser,
/// which gives the same result for these inputs.
fn split_plain_record(stored: &str) -> Option<(&str, Option<&str>)> {
    let inner = stored.strip_prefix("[\"")?.strip_suffix("\"]")?;
    let (payload, info) = match inner.find('"') {
        Some(i) => {
            let (payload, rest) = inner.split_at(i);
            (payload, Some(rest.strip_prefix("\",\"")?))
        }
        None => (inner, None),
    };
    (is_b64url(payload) && info.is_none_or(is_b64url)).then_some((payload, info))
}

/// Whether `s` holds base64url characters only (a branch-free fold the compiler vectorizes).
fn is_b64url(s: &str) -> bool {
    s.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
    })
}

/// Element 2 of a stored record: base64url of a JSON object (anything but an object is no
/// info, as before).
fn decode_info(info: &str) -> Result<Option<Map<String, Value>>, Error> {
    let bytes = b64_decode(info).ok_or(Error::InfoBase64)?;
    match serde_json::from_slice::<Value>(&bytes).map_err(Error::InfoJson)? {
        Value::Object(map) => Ok(Some(map)),
        _ => Ok(None),
    }
}

/// The info store of a session (Lua `session.info`, spec 03 §7): with a
/// server-side storage a per-audience object kept next to the payload (not
/// encrypted); with cookie storage the data keys `@key`.
#[derive(Debug)]
pub struct Info<'a> {
    session: &'a mut Session,
}

impl Info<'_> {
    /// Set an info value (`info:set`).
    ///
    /// # Errors
    ///
    /// The value does not serialize; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.info().set("k", &1).unwrap();
    /// ```
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let s = &mut *self.session;
        s.not_closed(Operation::InfoSet)?;
        let value = serde_json::to_value(value).map_err(Error::Value)?;
        if s.config.0.storage.is_none() {
            let entry = s.entry_mut();
            let Value::Object(map) = &mut entry.data else {
                return Err(Error::InvalidData);
            };
            map.insert(format!("@{key}"), value);
            return Ok(());
        }
        let audience = s.entry().audience.clone().unwrap_or_default();
        let info = s.info.get_or_insert_with(Map::new);
        let slot = info
            .entry(audience)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(map) = slot {
            map.insert(key.to_owned(), value);
        }
        Ok(())
    }

    /// Get an info value (`info:get`).
    ///
    /// # Errors
    ///
    /// The value does not deserialize; closed session.
    ///
    /// ```
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert_eq!(s.info().get::<i32>("k").unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let s = &*self.session;
        s.not_closed(Operation::InfoGet)?;
        let value = if s.config.0.storage.is_none() {
            s.entry().data.get(format!("@{key}"))
        } else {
            let audience = s.entry().audience.clone().unwrap_or_default();
            s.info
                .as_ref()
                .and_then(|i| i.get(&audience))
                .and_then(|o| o.get(key))
        };
        match value {
            Some(v) => T::deserialize(v).map(Some).map_err(Error::Value),
            None => Ok(None),
        }
    }

    /// Persist the info store (`info:save`): with a storage, rewrite the
    /// current record (no new session id, no cookie); with cookie storage,
    /// a full [`Session::save`]. Returns success (the reference returns
    /// nothing, spec 04 §19 #3).
    ///
    /// # Errors
    ///
    /// `unable to save session info on nonexistent session` / closed session;
    /// storage failures.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// assert!(s.info().save().await.is_err());
    /// s.save().await.unwrap();
    /// s.info().save().await.unwrap();
    /// # });
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        let s = &mut *self.session;
        s.must_be_open(Operation::InfoSave)?;
        let c = std::sync::Arc::clone(&s.config.0);
        let Some(storage) = &c.storage else {
            return s.save().await;
        };
        if s.info.as_ref().is_none_or(Map::is_empty) {
            return Ok(());
        }
        let Some(meta) = &s.meta else {
            return Err(Error::Nonexistent(Operation::InfoSave));
        };
        let stored = s.stored_value(&meta.payload_part)?;
        let key = hash_storage_key(&meta.header.sid, c.hash_storage_key);
        let now = i64::try_from(c.clock.now()).unwrap_or(i64::MAX);
        let creation = i64::try_from(meta.header.creation_time).unwrap_or(i64::MAX);
        let mut ttl = MAX_TTL;
        if c.rolling_timeout > 0 && c.rolling_timeout < MAX_TTL {
            ttl = c.rolling_timeout;
        }
        ttl -= now - creation - i64::from(meta.header.rolling_offset);
        if c.absolute_timeout > 0 && c.absolute_timeout < MAX_TTL {
            ttl = ttl.min(c.absolute_timeout - (now - creation));
        }
        let ttl = u64::try_from(ttl.max(1)).unwrap_or(1);
        let req = SetRequest::new(&c.cookie_name, &key, &stored, ttl, now);
        storage.dyn_set(&req).await.map_err(Error::StoreInfo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(r: Result<(String, Option<Map<String, Value>>), Error>) -> String {
        match r {
            Ok((payload, info)) => format!("ok {payload} {info:?}"),
            Err(e) => format!("err {e}"),
        }
    }

    #[test]
    fn stored_record_fast_path_agrees_with_the_json_parser() {
        let cases = [
            r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#,
            r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq"]"#,
            r#"[""]"#,
            r#"["",""]"#,
            r#"["a","b","c"]"#,
            r#"["a","W10"]"#,
            r#"["a","!!"]"#,
            r#"["a","bm90IGpzb24"]"#,
            r#"[ "a" ]"#,
            r#"["a\u0041"]"#,
            r#"["a"],"b"]"#,
            r#"["a""]"#,
            r#"[1]"#,
            r#"{"a":1}"#,
            r#"[]"#,
            r#""a""#,
            r#"["a","#,
            "",
        ];
        for case in cases {
            assert_eq!(
                show(parse_stored(case.to_owned())),
                show(parse_stored_json(case)),
                "{case}"
            );
        }
        assert!(split_plain_record(cases[0]).is_some());
        assert!(split_plain_record(r#"["a\u0041"]"#).is_none());
    }

    proptest::proptest! {
        #[test]
        fn stored_record_fast_path_agrees_on_arbitrary_text(s in r#"\[?"?[A-Za-z0-9_\-",\\ ]{0,24}"?\]?"#) {
            proptest::prop_assert_eq!(show(parse_stored(s.clone())), show(parse_stored_json(&s)));
        }
    }
}
