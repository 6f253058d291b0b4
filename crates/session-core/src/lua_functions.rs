//! The module-level functions of the Lua API (`session.new`, `session.open`,
//! `session.start`, `session.logout`, `session.destroy`, docs/semantics.md §3).

use crate::config::SessionConfig;
use crate::error::Error;
use crate::session::{Request, Session};

/// The result of [`open`]: the session (always, so a new one can be started
/// on it), the open error if any, and whether a session exists.
#[derive(Debug)]
#[non_exhaustive]
pub struct Opened {
    /// The session.
    pub session: Session,
    /// Why the open failed, if it did.
    pub error: Option<Error>,
    /// Whether the open succeeded.
    pub exists: bool,
}

/// The result of [`start`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Started {
    /// The session.
    pub session: Session,
    /// The open or refresh error, if any.
    pub error: Option<Error>,
    /// Whether the open succeeded.
    pub exists: bool,
    /// Whether the refresh succeeded (true even when nothing was due).
    pub refreshed: bool,
}

/// The result of [`logout`] and [`destroy`]. Unlike Lua, the session is
/// returned too, because its `Set-Cookie` values must reach the response.
#[derive(Debug)]
#[non_exhaustive]
pub struct Ended {
    /// The session (closed when `done`).
    pub session: Session,
    /// The open or operation error, if any.
    pub error: Option<Error>,
    /// Whether the open succeeded.
    pub exists: bool,
    /// Whether the logout / destroy succeeded.
    pub done: bool,
}

/// A new session (Lua `session.new`).
///
/// ```
/// use session_core::{Config, Request, State};
/// let config = Config::default().build().unwrap();
/// assert_eq!(session_core::new(&config, Request::new()).state(), State::New);
/// ```
pub fn new(config: &SessionConfig, request: Request) -> Session {
    Session::new(config, request)
}

/// Open the request's session (Lua `session.open`).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request};
/// let config = Config::default().build().unwrap();
/// let opened = session_core::open(&config, Request::new()).await;
/// assert!(!opened.exists);
/// assert_eq!(opened.error.unwrap().to_string(), "missing session cookie");
/// # });
/// ```
pub async fn open(config: &SessionConfig, request: Request) -> Opened {
    let mut session = Session::new(config, request);
    let result = session.open().await;
    Opened {
        session,
        exists: result.is_ok(),
        error: result.err(),
    }
}

/// Open and refresh the request's session (Lua `session.start`).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request};
/// let config = Config::default().build().unwrap();
/// let started = session_core::start(&config, Request::new()).await;
/// assert!(!started.exists && !started.refreshed);
/// # });
/// ```
pub async fn start(config: &SessionConfig, request: Request) -> Started {
    let (opened, refreshed) = open_then(config, request, Then::Refresh).await;
    Started {
        session: opened.session,
        error: opened.error,
        exists: opened.exists,
        refreshed,
    }
}

/// Open the request's session and log out of the configured audience (Lua
/// `session.logout`).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request};
/// let config = Config::default().build().unwrap();
/// let ended = session_core::logout(&config, Request::new()).await;
/// assert!(!ended.done);
/// # });
/// ```
pub async fn logout(config: &SessionConfig, request: Request) -> Ended {
    end(config, request, Then::Logout).await
}

/// Open the request's session and destroy it (Lua `session.destroy`).
///
/// ```
/// # session_core::block_on(async {
/// use session_core::{Config, Request};
/// let config = Config::default().build().unwrap();
/// let ended = session_core::destroy(&config, Request::new()).await;
/// assert!(!ended.exists);
/// # });
/// ```
pub async fn destroy(config: &SessionConfig, request: Request) -> Ended {
    end(config, request, Then::Destroy).await
}

/// What the Lua helpers do after a successful open.
#[derive(Debug, Clone, Copy)]
enum Then {
    Refresh,
    Logout,
    Destroy,
}

/// Open the request's session and, when it exists, run `then` on it: the
/// open's result (with `then`'s error, if any) and whether `then` succeeded.
async fn open_then(config: &SessionConfig, request: Request, then: Then) -> (Opened, bool) {
    let mut opened = open(config, request).await;
    if !opened.exists {
        return (opened, false);
    }
    let session = &mut opened.session;
    let result = match then {
        Then::Refresh => session.refresh().await,
        Then::Logout => session.logout().await,
        Then::Destroy => session.destroy().await,
    };
    let done = result.is_ok();
    opened.error = result.err();
    (opened, done)
}

async fn end(config: &SessionConfig, request: Request, then: Then) -> Ended {
    let (opened, done) = open_then(config, request, then).await;
    Ended {
        session: opened.session,
        error: opened.error,
        exists: opened.exists,
        done,
    }
}
