//! The per-request session handle the [`SessionLayer`](crate::SessionLayer) gives each
//! request, usable without tower too ([`SessionHandle::from_headers`] and
//! [`SessionHandle::finish`]).

use std::fmt;
use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use http::HeaderValue;
use serde_json::Value;
use session_core::{Error, Request, Session, SessionConfig, State};

/// What the layer took from the request, kept until the handler first touches the session.
/// `HeaderValue` clones share the request's bytes, so keeping them (and handing them to the
/// engine's [`Request`]) copies nothing; the address is formatted only if a cookie binds to it.
pub(crate) struct Captured {
    pub(crate) cookies: Vec<HeaderValue>,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) scheme: &'static str,
    pub(crate) remote_addr: Option<IpAddr>,
}

impl Captured {
    fn to_request(&self) -> Request {
        let mut request = Request::new().with_scheme(self.scheme);
        for cookie in &self.cookies {
            request = request.with_cookie_header(cookie.clone());
        }
        if let Some(ua) = &self.user_agent {
            request = request.with_user_agent_header(ua.clone());
        }
        if let Some(addr) = self.remote_addr {
            request = request.with_remote_ip(addr);
        }
        request
    }
}

/// The data, audience and subject of a session, to tell whether a handler changed it.
#[derive(PartialEq)]
struct Fingerprint {
    data: Option<Value>,
    audience: Option<String>,
    subject: Option<String>,
}

impl Fingerprint {
    fn of(session: &Session) -> Self {
        let view = session.inspect();
        Self {
            data: view.data.cloned(),
            audience: view.audience.map(str::to_owned),
            subject: view.subject.map(str::to_owned),
        }
    }
}

/// A loaded session and what the layer needs to know about it.
pub(crate) struct Slot {
    pub(crate) session: Session,
    exists: bool,
    error: Option<Error>,
    refreshed: bool,
    /// In save-when-modified mode: the state last persisted (or loaded).
    saved: Option<Fingerprint>,
    /// A stand-in given while the real slot was borrowed: never saved, never applied.
    detached: bool,
}

/// Where the request's session is: not loaded yet, loaded and free, or held by a guard.
enum SlotState {
    Empty,
    Ready(Box<Slot>),
    Borrowed,
}

pub(crate) struct Shared {
    config: SessionConfig,
    captured: Captured,
    save_when_modified: bool,
    state: Mutex<SlotState>,
    /// Set when the handle was used while a guard was alive: the response must fail.
    misused: AtomicBool,
}

impl Shared {
    /// The slot's state. The lock is held for a few instructions, never across an await,
    /// so a poisoned lock (a panic in those instructions) still holds a valid state.
    fn state(&self) -> MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The session of one request, given by [`SessionLayer`] (in the
/// request's extensions, and as an axum extractor with the `axum` feature), or made by
/// [`SessionHandle::from_headers`] in frameworks without tower (no cargo feature needed).
///
/// Nothing is decrypted until a handler asks: [`open`](Self::open) (Lua `session.open()`),
/// [`start`](Self::start) (Lua `session.start()`: open and refresh), or
/// [`new_session`](Self::new_session) (Lua `session.new()`). Each returns a [`SessionGuard`]
/// that derefs to the engine's [`Session`], with every Lua method (`get`, `set`,
/// `set_subject`, `save`, `destroy`, `clear_request_cookie`, ...). The layer puts the
/// session's `Set-Cookie` values and session headers on the response.
///
/// Cloning is cheap; clones share the same session. One [`SessionGuard`] exists at a time:
/// while you hold one, use its methods (`s.destroy().await`), not the handle's. Calling the
/// handle then never waits (it could wait forever): [`destroy`](Self::destroy) and
/// [`logout`](Self::logout) return [`Error::Borrowed`], and [`open`](Self::open),
/// [`start`](Self::start) and [`new_session`](Self::new_session) return a detached guard
/// whose [`open_error`](SessionGuard::open_error) is [`Error::Borrowed`] and whose
/// [`save`](SessionGuard::save) fails; the mistake is logged and the layer answers 500.
///
/// ```no_run
/// use resty_session::SessionHandle;
///
/// async fn visits(session: SessionHandle) -> Result<String, resty_session::Error> {
///     let mut s = session.start().await;
///     let visits = s.get::<u64>("visits")?.unwrap_or(0) + 1;
///     s.set("visits", &visits)?;
///     s.save().await?;
///     Ok(format!("visit number {visits}"))
/// }
/// ```
#[cfg_attr(feature = "tower", doc = "\n[`SessionLayer`]: crate::SessionLayer")]
#[cfg_attr(
    not(feature = "tower"),
    doc = "\n[`SessionLayer`]: https://docs.rs/resty-session/latest/resty_session/struct.SessionLayer.html"
)]
#[derive(Clone)]
pub struct SessionHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("cookies", &self.shared.captured.cookies.len())
            .field("save_when_modified", &self.shared.save_when_modified)
            .finish_non_exhaustive()
    }
}

impl SessionHandle {
    pub(crate) fn new(config: SessionConfig, captured: Captured, save_when_modified: bool) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                captured,
                save_when_modified,
                state: Mutex::new(SlotState::Empty),
                misused: AtomicBool::new(false),
            }),
        }
    }

    /// A handle outside any layer, for tests and for frameworks without tower: the session of
    /// a request with these headers. Apply its output with [`SessionHandle::finish`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = resty_session::Config::default().build()?;
    /// let handle = resty_session::SessionHandle::from_headers(config, &http::HeaderMap::new());
    /// let s = handle.open().await;
    /// assert!(!s.exists());
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub fn from_headers(config: SessionConfig, headers: &http::HeaderMap) -> Self {
        Self::new(config, capture(headers, None, None), false)
    }

    /// The same, in save-when-modified mode: [`finish`](Self::finish) saves a session the
    /// handler changed and did not save (what
    /// [`SessionLayer::with_save_when_modified`] does).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = resty_session::Config::default().build()?;
    /// let handle = resty_session::SessionHandle::from_headers_saving_when_modified(config, &http::HeaderMap::new());
    /// handle.new_session().await.set("visits", &1)?;
    /// let mut headers = http::HeaderMap::new();
    /// handle.finish(&mut headers).await?;
    /// assert!(headers.contains_key(http::header::SET_COOKIE));
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    #[cfg_attr(
        feature = "tower",
        doc = "\n[`SessionLayer::with_save_when_modified`]: crate::SessionLayer::with_save_when_modified"
    )]
    #[cfg_attr(
        not(feature = "tower"),
        doc = "\n[`SessionLayer::with_save_when_modified`]: https://docs.rs/resty-session/latest/resty_session/struct.SessionLayer.html#method.with_save_when_modified"
    )]
    pub fn from_headers_saving_when_modified(
        config: SessionConfig,
        headers: &http::HeaderMap,
    ) -> Self {
        Self::new(config, capture(headers, None, None), true)
    }

    /// Take the slot for a guard; `None` when a guard holds it already.
    fn borrow(&self) -> Option<SessionGuard> {
        let mut state = self.shared.state();
        let slot = match std::mem::replace(&mut *state, SlotState::Borrowed) {
            SlotState::Empty => None,
            SlotState::Ready(slot) => Some(slot),
            SlotState::Borrowed => return None,
        };
        Some(SessionGuard {
            slot,
            home: Some(Arc::clone(&self.shared)),
        })
    }

    /// The guard given while the real one is alive: a detached, empty session whose save
    /// fails with [`Error::Borrowed`]; the response is failed by [`finish`](Self::finish).
    fn detached(&self, method: &'static str) -> SessionGuard {
        self.shared.misused.store(true, Ordering::Relaxed);
        tracing::error!(
            method,
            "session handle used while a SessionGuard of the same request is alive; \
             use the guard's methods or drop it first (the response will be a 500)"
        );
        SessionGuard {
            slot: Some(Box::new(Slot {
                session: Session::new(&self.shared.config, Request::new()),
                exists: false,
                error: Some(Error::Borrowed),
                refreshed: true,
                saved: None,
                detached: true,
            })),
            home: None,
        }
    }

    async fn load(&self, guard: &mut SessionGuard) {
        if guard.slot.is_some() {
            return;
        }
        let mut session = Session::new(&self.shared.config, self.shared.captured.to_request());
        let result = session.open().await;
        let mut loaded = Slot {
            exists: result.is_ok(),
            error: result.err(),
            session,
            refreshed: false,
            saved: None,
            detached: false,
        };
        if self.shared.save_when_modified {
            loaded.saved = Some(Fingerprint::of(&loaded.session));
        }
        guard.slot = Some(Box::new(loaded));
    }

    /// The request's session, opened from its cookies on first use (Lua `session.open()`).
    /// When no valid session is there, the guard holds a new one
    /// ([`exists`](SessionGuard::exists) is false, [`open_error`](SessionGuard::open_error)
    /// says why), which a handler can fill and save.
    ///
    /// Later calls in the same request return the same session. Called while a guard is
    /// alive, it returns a detached guard (see [`SessionHandle`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let s = handle.open().await;
    /// assert_eq!(s.open_error().unwrap().to_string(), "missing session cookie");
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn open(&self) -> SessionGuard {
        let Some(mut guard) = self.borrow() else {
            return self.detached("open");
        };
        self.load(&mut guard).await;
        guard
    }

    /// Open and refresh (Lua `session.start()`): a session past the rolling threshold is
    /// saved with a new id, an idle one is touched. The refresh runs once per request; a
    /// refresh error is kept in [`open_error`](SessionGuard::open_error) and logged (the
    /// session read from the request stays usable).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let s = handle.start().await;
    /// assert!(!s.exists());
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn start(&self) -> SessionGuard {
        let Some(mut guard) = self.borrow() else {
            return self.detached("start");
        };
        self.load(&mut guard).await;
        if let Some(loaded) = guard.slot.as_deref_mut()
            && loaded.exists
            && !loaded.refreshed
        {
            loaded.refreshed = true;
            let before = loaded.session.cookie_metadata().map(|m| m.sid);
            if let Err(e) = loaded.session.refresh().await {
                tracing::warn!(
                    error = %session_core::log::error_chain(&e),
                    "session refresh failed; the request keeps the session it sent"
                );
                loaded.error = Some(e);
            } else if before != loaded.session.cookie_metadata().map(|m| m.sid)
                && let Some(saved) = &mut loaded.saved
            {
                *saved = Fingerprint::of(&loaded.session);
            }
        }
        guard
    }

    /// A new, empty session that ignores the request's cookie (Lua `session.new()`), e.g. to
    /// log a user in with a fresh session id. `Set-Cookie` values from an earlier use in the
    /// same request are kept. Called while a guard is alive, it returns a detached guard
    /// (see [`SessionHandle`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let mut s = handle.new_session().await;
    /// s.set_subject(Some("OpenResty Fan"))?;
    /// s.save().await?;
    /// assert!(s.set_cookies()[0].starts_with("session="));
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn new_session(&self) -> SessionGuard {
        let Some(mut guard) = self.borrow() else {
            return self.detached("new_session");
        };
        let previous = guard.slot.take().map(|mut s| s.session.take_set_cookies());
        let session = Session::new(&self.shared.config, self.shared.captured.to_request())
            .with_response_cookies(previous.unwrap_or_default());
        guard.slot = Some(Box::new(Slot {
            saved: self
                .shared
                .save_when_modified
                .then(|| Fingerprint::of(&session)),
            session,
            exists: false,
            error: None,
            refreshed: true,
            detached: false,
        }));
        guard
    }

    /// Open the session and destroy it (Lua `session.destroy()`): its cookies are expired on
    /// the response and its server-side records deleted. `Ok(false)` when the request had no
    /// valid session (nothing to destroy).
    ///
    /// # Errors
    ///
    /// The storage could not delete the record; [`Error::Borrowed`] while a
    /// [`SessionGuard`] of this request is alive (use its `destroy`).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// assert!(!handle.destroy().await?);
    /// let guard = handle.open().await;
    /// assert!(matches!(handle.destroy().await, Err(resty_session::Error::Borrowed)));
    /// # drop(guard);
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn destroy(&self) -> Result<bool, Error> {
        let Some(mut s) = self.borrow() else {
            self.detached("destroy");
            return Err(Error::Borrowed);
        };
        self.load(&mut s).await;
        if s.state() != State::Open {
            return Ok(false);
        }
        s.destroy().await.map(|()| true)
    }

    /// Open the session and log out of the configured audience (Lua `session.logout()`).
    /// `Ok(false)` when the request had no valid session.
    ///
    /// # Errors
    ///
    /// Saving the remaining audiences or deleting the record failed; [`Error::Borrowed`]
    /// while a [`SessionGuard`] of this request is alive (use its `logout`).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// assert!(!handle.logout().await?);
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn logout(&self) -> Result<bool, Error> {
        let Some(mut s) = self.borrow() else {
            self.detached("logout");
            return Err(Error::Borrowed);
        };
        self.load(&mut s).await;
        if s.state() != State::Open {
            return Ok(false);
        }
        s.logout().await.map(|()| true)
    }

    /// Whether a handler has touched the session in this request (nothing is decrypted
    /// before that).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// assert!(!handle.is_loaded().await);
    /// let _ = handle.open().await;
    /// assert!(handle.is_loaded().await);
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn is_loaded(&self) -> bool {
        !matches!(*self.shared.state(), SlotState::Empty)
    }

    /// The session id for logs, shortened (see [`LogId`]); `None` when the session was not
    /// used or has no id, or while a [`SessionGuard`] holds it (ask the guard's
    /// `cookie_metadata`). Never opens the session.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// assert!(handle.log_id().await.is_none());
    /// handle.new_session().await.save().await?;
    /// assert_eq!(handle.log_id().await.unwrap().to_string().chars().count(), 9);
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn log_id(&self) -> Option<LogId> {
        let state = self.shared.state();
        let SlotState::Ready(slot) = &*state else {
            return None;
        };
        let meta = slot.session.cookie_metadata()?;
        Some(LogId::new(&meta.sid.to_base64()))
    }

    /// Finish the request: in save-when-modified mode save a changed session nobody saved,
    /// then put the session's `Set-Cookie` values and response headers on `headers` (the
    /// values move there: a second call adds no `Set-Cookie`). The layer calls this; call it
    /// yourself only with [`SessionHandle::from_headers`].
    ///
    /// # Errors
    ///
    /// The save this call made failed (the store is down or full: answer 5xx, the change is
    /// lost); [`Error::Borrowed`] when the handle was used while a guard was alive, or a
    /// guard is still alive now. Nothing is put on `headers` then. Each failure is logged
    /// (`tracing` error).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// handle.new_session().await.save().await?;
    /// let mut headers = http::HeaderMap::new();
    /// handle.finish(&mut headers).await?;
    /// assert!(headers.contains_key(http::header::SET_COOKIE));
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn finish(&self, headers: &mut http::HeaderMap) -> Result<(), Error> {
        if self.shared.misused.load(Ordering::Relaxed) {
            return Err(Error::Borrowed);
        }
        let Some(mut guard) = self.borrow() else {
            tracing::error!(
                "the response is ready while a SessionGuard of its request is still alive \
                 (moved into a task or the body?); the response will be a 500"
            );
            return Err(Error::Borrowed);
        };
        let Some(loaded) = guard.slot.as_deref_mut() else {
            return Ok(());
        };
        if let Some(saved) = &loaded.saved
            && loaded.session.state() != State::Closed
            && *saved != Fingerprint::of(&loaded.session)
        {
            // Boxed: only save-when-modified layers get here, and the save future would
            // otherwise grow every request's future.
            match Box::pin(loaded.session.save()).await {
                Ok(()) => loaded.saved = Some(Fingerprint::of(&loaded.session)),
                Err(e) => {
                    tracing::error!(
                        error = %session_core::log::error_chain(&e),
                        "end-of-request session save failed; the change is lost and the response will be a 500"
                    );
                    return Err(e);
                }
            }
        }
        loaded.session.move_response_headers(headers);
        Ok(())
    }
}

#[cold]
fn unreachable_slot() -> ! {
    unreachable!("the session slot is filled before a guard is handed out")
}

/// Exclusive access to the request's session; derefs to the engine's [`Session`].
///
/// Hold it only as long as needed: while it is alive, the [`SessionHandle`] it came from
/// refuses other borrows (see [`SessionHandle`]), and the layer cannot finish the response.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
/// let mut s = handle.open().await;
/// s.set("quote", "The quick brown fox jumps over the lazy dog")?;
/// s.save().await?;
/// assert!(s.exists());
/// # Ok::<_, resty_session::Error>(()) }).unwrap();
/// ```
pub struct SessionGuard {
    /// Always `Some` once handed out (`None` only while loading).
    slot: Option<Box<Slot>>,
    /// Where the slot goes back on drop; `None` for a detached guard.
    home: Option<Arc<Shared>>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(home) = &self.home {
            *home.state() = match self.slot.take() {
                Some(slot) => SlotState::Ready(slot),
                None => SlotState::Empty,
            };
        }
    }
}

impl fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionGuard")
            .field("session", &self.slot().session)
            .field("exists", &self.slot().exists)
            .field("detached", &self.slot().detached)
            .finish_non_exhaustive()
    }
}

impl SessionGuard {
    fn slot(&self) -> &Slot {
        match &self.slot {
            Some(slot) => slot,
            None => unreachable_slot(),
        }
    }

    fn slot_mut(&mut self) -> &mut Slot {
        match &mut self.slot {
            Some(slot) => slot,
            None => unreachable_slot(),
        }
    }

    /// Whether the session exists: the open succeeded or it has been saved since, and it was
    /// not destroyed or logged out (Lua's `exists`, kept up to date).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let mut s = handle.open().await;
    /// assert!(!s.exists());
    /// s.save().await?;
    /// assert!(s.exists());
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub fn exists(&self) -> bool {
        self.slot().session.state() == State::Open
    }

    /// Why the open (or the refresh of [`SessionHandle::start`]) failed: `missing session
    /// cookie`, `session idling timeout exceeded`, ... (the Lua library's reasons);
    /// [`Error::Borrowed`] for a detached guard.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let s = handle.open().await;
    /// assert!(matches!(s.open_error(), Some(resty_session::Error::MissingCookie)));
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub fn open_error(&self) -> Option<&Error> {
        self.slot().error.as_ref()
    }

    /// Save the session (Lua `save`), and remember that this state is persisted (so the
    /// save-when-modified mode does not save it again).
    ///
    /// # Errors
    ///
    /// As [`Session::save`]; [`Error::Borrowed`] on a detached guard.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let handle = resty_session::SessionHandle::from_headers(resty_session::Config::default().build()?, &http::HeaderMap::new());
    /// let mut s = handle.new_session().await;
    /// s.save().await?;
    /// # Ok::<_, resty_session::Error>(()) }).unwrap();
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        let slot = self.slot_mut();
        if slot.detached {
            return Err(Error::Borrowed);
        }
        slot.session.save().await?;
        if slot.saved.is_some() {
            slot.saved = Some(Fingerprint::of(&slot.session));
        }
        Ok(())
    }
}

impl Deref for SessionGuard {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.slot().session
    }
}

impl DerefMut for SessionGuard {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.slot_mut().session
    }
}

/// A session id shortened for logs: the first 8 characters and `…`. Enough to follow one
/// session through a log, not enough to be worth stealing.
///
/// ```
/// let id = resty_session::LogId::new("QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8");
/// assert_eq!(id.to_string(), "QEFCQ0RF…");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LogId([u8; 8], usize);

impl LogId {
    /// Keep the first 8 bytes of `id` (base64url text).
    ///
    /// ```
    /// assert_eq!(resty_session::LogId::new("abc").to_string(), "abc…");
    /// ```
    pub fn new(id: &str) -> Self {
        let mut out = [0u8; 8];
        let bytes: Vec<u8> = id
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .take(8)
            .collect();
        out[..bytes.len()].copy_from_slice(&bytes);
        Self(out, bytes.len())
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::str::from_utf8(&self.0[..self.1]).unwrap_or_default();
        write!(f, "{text}…")
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogId({self})")
    }
}

/// What the layer keeps of a request (cookies, user agent, scheme, client address).
pub(crate) fn capture(
    headers: &http::HeaderMap,
    scheme: Option<&str>,
    remote_addr: Option<IpAddr>,
) -> Captured {
    Captured {
        cookies: headers
            .get_all(http::header::COOKIE)
            .iter()
            .cloned()
            .collect(),
        user_agent: headers.get(http::header::USER_AGENT).cloned(),
        scheme: match scheme {
            Some("https") => "https",
            _ => "http",
        },
        remote_addr,
    }
}

/// The body a front door sends for a session error a handler returned: a 12-hex-digit
/// reference only. The error chain goes to an error event with the same `error_id`, so a
/// client never sees a path, a pid or a session id.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn logged_error_body(error: &Error) -> String {
    let id = correlation_id();
    tracing::error!(
        error_id = %id,
        error = %session_core::log::error_chain(error),
        "session error in a handler; the client got a 500 with this error_id"
    );
    format!("session error (ref {id})")
}

/// A 12-hex-digit id telling one error apart from the others in the log: a per-process
/// random key (std's `RandomState`) hashed with a counter. Not a secret, just unlikely to
/// repeat.
#[cfg(any(feature = "axum", feature = "actix"))]
fn correlation_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = KEY
        .get_or_init(std::collections::hash_map::RandomState::new)
        .build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}
