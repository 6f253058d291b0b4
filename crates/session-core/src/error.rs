//! The engine's error types. Every `Display` text is the reason
//! lua-resty-session 4.1.5 gives for the same failure (docs/semantics.md §4.2, §18), so
//! logs read the same on both sides; a lower layer's detail, when there is one,
//! follows in parentheses as the reference formats it.
//!
//! A cause is either in the message or the [`source`](std::error::Error::source),
//! never both: where the reference's text carries the lower layer's detail
//! (`unable to load session (…)`), the cause is kept in the variant and
//! printed there; where it does not, the cause is the source.

use session_storage::StorageError;

use crate::env::SidError;

/// An instance operation, named in state-machine errors.
///
/// ```
/// use session_core::Operation;
/// assert_eq!(Operation::Touch.closed_message(), "unable to touch closed session");
/// assert_eq!(Operation::Touch.nonexistent_message(), "unable to touch nonexistent session");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `set_data`.
    SetData,
    /// `get_data`.
    GetData,
    /// `set`.
    Set,
    /// `get`.
    Get,
    /// `set_audience`.
    SetAudience,
    /// `get_audience`.
    GetAudience,
    /// `set_subject`.
    SetSubject,
    /// `get_subject`.
    GetSubject,
    /// `get_property`.
    GetProperty,
    /// `set_remember`.
    SetRemember,
    /// `get_remember`.
    GetRemember,
    /// `save`.
    Save,
    /// `touch`.
    Touch,
    /// `refresh`.
    Refresh,
    /// `logout`.
    Logout,
    /// `destroy`.
    Destroy,
    /// `clear_request_cookie`.
    ClearRequestCookie,
    /// `set_headers`.
    SetHeaders,
    /// `set_request_headers`.
    SetRequestHeaders,
    /// `set_response_headers`.
    SetResponseHeaders,
    /// `info:set`.
    InfoSet,
    /// `info:get`.
    InfoGet,
    /// `info:save`.
    InfoSave,
}

impl Operation {
    /// The reference's message when the operation is called on a closed
    /// session (where the reference raises).
    ///
    /// One deliberate difference: `get_data` says "get" (the reference says
    /// `unable to set session data on closed session`, docs/semantics.md §19 #5).
    ///
    /// ```
    /// use session_core::Operation;
    /// assert_eq!(Operation::GetData.closed_message(), "unable to get session data on closed session");
    /// ```
    pub const fn closed_message(self) -> &'static str {
        match self {
            Self::SetData => "unable to set session data on closed session",
            Self::GetData => "unable to get session data on closed session",
            Self::Set => "unable to set session data value on closed session",
            Self::Get => "unable to get session data value on closed session",
            Self::SetAudience => "unable to set audience on closed session",
            Self::GetAudience => "unable to get audience on closed session",
            Self::SetSubject => "unable to set subject on closed session",
            Self::GetSubject => "unable to get subject on closed session",
            Self::GetProperty => "unable to get session property on closed session",
            Self::SetRemember => "unable to set remember on closed session",
            Self::GetRemember => "unable to get remember on closed session",
            Self::Save => "unable to save closed session",
            Self::Touch => "unable to touch closed session",
            Self::Refresh => "unable to refresh closed session",
            Self::Logout => "unable to logout closed session",
            Self::Destroy => "unable to destroy closed session",
            Self::ClearRequestCookie => "unable to clear session request cookie on closed session",
            Self::SetHeaders => "unable to set request/response headers on closed session",
            Self::SetRequestHeaders => "unable to set request headers on closed session",
            Self::SetResponseHeaders => "unable to set response headers on closed session",
            Self::InfoSet => "unable to set session info on closed session",
            Self::InfoGet => "unable to get session info on closed session",
            Self::InfoSave => "unable to save session info on closed session",
        }
    }

    /// The reference's message when the operation needs an open session and
    /// the session is new (never opened or saved).
    ///
    /// ```
    /// use session_core::Operation;
    /// assert_eq!(Operation::InfoSave.nonexistent_message(), "unable to save session info on nonexistent session");
    /// ```
    pub const fn nonexistent_message(self) -> &'static str {
        match self {
            Self::Touch => "unable to touch nonexistent session",
            Self::Refresh => "unable to refresh nonexistent session",
            Self::Logout => "unable to logout nonexistent session",
            Self::Destroy => "unable to destroy nonexistent session",
            Self::ClearRequestCookie => {
                "unable to clear session request cookie on nonexistent session"
            }
            Self::SetHeaders => "unable to set request/response headers on nonexistent session",
            Self::SetRequestHeaders => "unable to set request headers on nonexistent session",
            Self::SetResponseHeaders => "unable to set response headers on nonexistent session",
            Self::InfoSave => "unable to save session info on nonexistent session",
            // Not reachable: the other operations are allowed on new sessions.
            _ => "unable to use nonexistent session",
        }
    }
}

/// A configuration error, found when a configuration is built. The message
/// starts with the reference's text; the option at fault is named after it.
///
/// ```
/// use session_core::Config;
/// let err = Config { ikm: Some("12345".into()), ..Config::default() }.build().unwrap_err();
/// assert_eq!(err.option(), "ikm");
/// assert!(err.to_string().starts_with("invalid ikm size"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (option `{option}`{})", detail_suffix(.detail))]
pub struct ConfigError {
    option: &'static str,
    reason: &'static str,
    detail: Option<String>,
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

impl ConfigError {
    pub(crate) fn new(option: &'static str, reason: &'static str) -> Self {
        Self {
            option,
            reason,
            detail: None,
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The Lua name of the option at fault.
    ///
    /// ```
    /// use session_core::Config;
    /// let err = Config { bind: Some(vec!["port".into()]), ..Config::default() }.build().unwrap_err();
    /// assert_eq!(err.option(), "bind");
    /// ```
    pub fn option(&self) -> &'static str {
        self.option
    }

    /// The reference's reason (without the option name), e.g. `invalid bind`.
    ///
    /// ```
    /// use session_core::Config;
    /// let err = Config { bind: Some(vec!["port".into()]), ..Config::default() }.build().unwrap_err();
    /// assert_eq!(err.reason(), "invalid bind");
    /// ```
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Everything a session operation can report.
///
/// `Display` gives the reference's reason. Use [`Error::is_audience_error`]
/// to tell a cookie that exists but lacks this audience from other failures.
///
/// ```
/// use session_core::Error;
/// assert_eq!(Error::MissingCookie.to_string(), "missing session cookie");
/// assert!(Error::MissingAudience.is_audience_error());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The operation is not allowed on a closed session (the reference raises).
    #[error("{}", .0.closed_message())]
    Closed(Operation),
    /// The operation needs an open session and this one is new.
    #[error("{}", .0.nonexistent_message())]
    Nonexistent(Operation),
    /// A byte-level failure of the cookie format (header, MAC, decryption,
    /// chunks, sizes); the text is the reference's.
    #[error(transparent)]
    Codec(#[from] session_codec::Error),

    /// The request carries no session cookie.
    #[error("missing session cookie")]
    MissingCookie,
    /// The cookie's age exceeds what the header can represent.
    #[error("session lifetime exceeded")]
    LifetimeExceeded,
    /// `absolute_timeout` passed.
    #[error("session absolute timeout exceeded")]
    AbsoluteTimeout,
    /// `remember_absolute_timeout` passed.
    #[error("session remember absolute timeout exceeded")]
    RememberAbsoluteTimeout,
    /// `rolling_timeout` passed.
    #[error("session rolling timeout exceeded")]
    RollingTimeout,
    /// `remember_rolling_timeout` passed.
    #[error("session remember rolling timeout exceeded")]
    RememberRollingTimeout,
    /// `idling_timeout` passed.
    #[error("session idling timeout exceeded")]
    IdlingTimeout,
    /// The cookie opened but holds no entry for this instance's audience.
    #[error("missing session audience")]
    MissingAudience,
    /// The decrypted plaintext is not the expected JSON.
    #[error("unable to json decode session data ({0})")]
    JsonDecode(serde_json::Error),
    /// The storage has no record for the cookie (or failed to read it).
    #[error("unable to load session{}", .0.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Load(Option<StorageError>),
    /// The session data is larger than `max_plaintext_size` (JSON bytes after inflate):
    /// an open stops inflating there, a save refuses to write it.
    #[error("session data too large (more than {limit} bytes; option `max_plaintext_size`)")]
    PlaintextTooLarge {
        /// The configured bound.
        limit: usize,
    },
    /// The stored record is not JSON.
    #[error("unable to json decode session ({0})")]
    StoredJson(serde_json::Error),
    /// The stored record's info element is not base64url.
    #[error("unable to base64url decode session info (invalid input)")]
    InfoBase64,
    /// The stored record's info element is not JSON.
    #[error("unable to json decode session info ({0})")]
    InfoJson(serde_json::Error),

    /// The session was revoked (`revocation` option): its subject signed out everywhere (or
    /// in this audience), or its id was revoked. See [`crate::revocation`].
    #[error("session revoked ({0})")]
    Revoked(crate::revocation::RevocationReason),
    /// The revocation store could not be read, so the session is not let through
    /// (`revocation.fail_open = true` lets it through instead).
    #[error("unable to check session revocation ({0})")]
    RevocationCheck(StorageError),

    /// No session id could be drawn.
    #[error("unable to generate session id ({0})")]
    GenerateSid(SidError),
    /// The session is older than the 32-bit rolling offset can express.
    #[error("session maximum rolling offset exceeded")]
    MaxRollingOffset,
    /// The session data could not be encoded.
    #[error("unable to json encode session data ({0})")]
    JsonEncode(serde_json::Error),
    /// The info store could not be encoded.
    #[error("unable to json encode session info ({0})")]
    InfoJsonEncode(serde_json::Error),
    /// The storage refused the record.
    #[error("unable to store session data ({0})")]
    Store(StorageError),
    /// The storage refused the info update.
    #[error("unable to store session info ({0})")]
    StoreInfo(StorageError),
    /// The storage refused to delete the record.
    #[error("unable to destroy session ({0})")]
    Destroy(StorageError),
    /// `clear_request_cookie` found no `Cookie` header.
    #[error("unable to clear session request cookie")]
    ClearRequestCookie,
    /// `clear_request_cookie` removed the whole header before the remember cookie.
    #[error("unable to clear persistent session request cookie")]
    ClearRememberRequestCookie,
    /// `set_data` was given something other than an object or array.
    #[error("invalid session data")]
    InvalidData,
    /// A value given to `set` (or asked of `get`) does not convert to or from JSON.
    #[error("invalid session data value ({0})")]
    Value(serde_json::Error),
    /// The request's session is already borrowed by a guard that is still alive (a
    /// framework handle's `open` or `destroy` called while the handler holds the guard an
    /// earlier call returned): use the guard's own methods, or drop it first. Waiting for
    /// it would never end, since the same task holds it.
    #[error(
        "session is already borrowed by a guard that is still alive (use the guard's methods, or drop it first)"
    )]
    Borrowed,
    /// A blocking task (key derivation, or decoding a large payload) failed to complete
    /// (it panicked or the runtime shut down); the task's error is the source.
    #[cfg(feature = "tokio")]
    #[error("unable to derive session key")]
    Blocking(#[source] tokio::task::JoinError),
}

impl From<session_codec::RecordError> for Error {
    fn from(e: session_codec::RecordError) -> Self {
        use session_codec::RecordError;
        match e {
            RecordError::Json(e) => Self::StoredJson(e),
            RecordError::InfoBase64 => Self::InfoBase64,
            RecordError::InfoJson(e) => Self::InfoJson(e),
            // `Shape`, and any kind a later codec adds: the record holds no payload.
            _ => Self::Codec(session_codec::Error::InvalidPayload),
        }
    }
}

impl Error {
    /// Whether this is the "cookie is fine, audience is missing" outcome of an
    /// open (the instance then holds the other audiences and can save).
    ///
    /// ```
    /// assert!(!session_core::Error::MissingCookie.is_audience_error());
    /// ```
    pub fn is_audience_error(&self) -> bool {
        matches!(self, Self::MissingAudience)
    }

    /// Whether the reference would raise (not return) this error: calls on a
    /// closed session and configuration errors.
    ///
    /// ```
    /// use session_core::{Error, Operation};
    /// assert!(Error::Closed(Operation::Get).is_programming_error());
    /// ```
    pub fn is_programming_error(&self) -> bool {
        matches!(self, Self::Closed(_) | Self::Config(_))
    }
}

/// A configuration text that is neither valid JSON nor valid TOML for
/// [`Config`](crate::Config); returned by
/// [`Config::from_text`](crate::Config::from_text). The parser's error is
/// kept as the source.
///
/// ```
/// let err = session_core::Config::from_text("idling_timeout = \"soon\"").unwrap_err();
/// assert_eq!(err.format(), "TOML");
/// assert!(err.to_string().starts_with("invalid TOML configuration"));
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("invalid {format} configuration: {source}")]
pub struct ParseConfigError {
    format: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl ParseConfigError {
    pub(crate) fn new(
        format: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            format,
            source: Box::new(source),
        }
    }

    /// The format the text was read as: `"JSON"` or `"TOML"`.
    ///
    /// ```
    /// let err = session_core::Config::from_text("{").unwrap_err();
    /// assert_eq!(err.format(), "JSON");
    /// ```
    #[must_use]
    pub fn format(&self) -> &'static str {
        self.format
    }
}
