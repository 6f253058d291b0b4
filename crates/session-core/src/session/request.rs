//! The request as the engine sees it.

use std::fmt;

use http::HeaderMap;
use session_codec::BindValues;

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
    pub(super) cookies: Vec<Vec<u8>>,
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
    /// [`Session::clear_request_cookie`](crate::Session::clear_request_cookie)).
    ///
    /// ```
    /// assert!(session_core::Request::new().cookie_headers().is_empty());
    /// ```
    pub fn cookie_headers(&self) -> &[Vec<u8>] {
        &self.cookies
    }

    pub(crate) fn bind(&self) -> BindValues<'_> {
        BindValues {
            ip: self.remote_addr.as_deref(),
            scheme: self.scheme.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}
