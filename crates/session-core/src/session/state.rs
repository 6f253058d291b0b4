//! The values of the state machine: [`State`], what is known about a
//! cookie ([`CookieMetadata`]), [`Property`] and [`Inspection`].

use std::fmt;

use serde_json::Value;
use session_codec::{Flags, Header, SessionId, b64_encode};

/// The state of a session (docs/semantics.md §4.1).
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

/// What the engine keeps about a cookie it opened or wrote.
#[derive(Clone)]
pub(crate) struct Meta {
    pub(crate) timestamp: u64,
    pub(crate) header: Header,
    pub(crate) key_index: usize,
    /// Cookie storage: what the first cookie carries after the header; server
    /// storage: the whole base64url payload.
    pub(crate) payload_part: String,
}

impl Meta {
    pub(crate) fn public(&self) -> CookieMetadata {
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
