//! The request as the engine sees it.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use session_codec::{BindValues, Flags};

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
    pub(super) cookies: Vec<CookieHeader>,
    remote_addr: Option<RemoteAddr>,
    scheme: Option<Cow<'static, str>>,
    user_agent: Option<Text>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("cookies", &self.cookies.len())
            .field(
                "remote_addr",
                &self.remote_addr.as_ref().and_then(RemoteAddr::text),
            )
            .field("scheme", &self.scheme)
            .field("user_agent", &self.user_agent.as_ref().map(Text::as_str))
            .finish()
    }
}

/// One `Cookie` request header value: the request's own header value (shared, not
/// copied) or bytes given by the caller.
///
/// ```
/// let req = session_core::Request::new().with_cookie("a=1");
/// let header: &session_core::CookieHeader = &req.cookie_headers()[0];
/// assert_eq!(header.as_bytes(), b"a=1");
/// ```
#[derive(Clone)]
pub struct CookieHeader(Bytes);

/// Header bytes: the request's own header value (shared), or the caller's copy.
#[derive(Clone)]
enum Bytes {
    Shared(HeaderValue),
    Owned(Vec<u8>),
}

impl CookieHeader {
    /// The header value's bytes.
    ///
    /// ```
    /// let req = session_core::Request::new().with_cookie("a=1");
    /// assert_eq!(req.cookie_headers()[0].as_bytes(), b"a=1");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Bytes {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Shared(value) => value.as_bytes(),
            Self::Owned(bytes) => bytes,
        }
    }
}

impl From<Vec<u8>> for CookieHeader {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::Owned(bytes))
    }
}

impl AsRef<[u8]> for CookieHeader {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for CookieHeader {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Never the value: a cookie header carries session cookies.
impl fmt::Debug for CookieHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CookieHeader({} bytes)", self.as_bytes().len())
    }
}

/// The client address: text given by the caller, or an address formatted only when a
/// cookie binds to it.
#[derive(Clone)]
enum RemoteAddr {
    Text(String),
    Ip(IpAddr, OnceLock<String>),
}

impl RemoteAddr {
    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Ip(ip, text) => Some(text.get_or_init(|| ip.to_string())),
        }
    }
}

/// A text bind value: header bytes that are valid UTF-8 (checked when it is made).
#[derive(Clone)]
struct Text(Bytes);

impl Text {
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
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

    /// The `Cookie` and `User-Agent` values of a request's headers (shared with the
    /// `HeaderMap`, not copied).
    ///
    /// ```
    /// use http::{HeaderMap, header};
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::COOKIE, "session=abc".parse().unwrap());
    /// headers.insert(header::USER_AGENT, "curl/8.0".parse().unwrap());
    /// let req = session_core::Request::from_headers(&headers);
    /// assert_eq!(req.cookie_headers()[0].as_bytes(), b"session=abc");
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut request = Self::new();
        for value in headers.get_all(http::header::COOKIE) {
            request = request.with_cookie_header(value.clone());
        }
        match headers.get(http::header::USER_AGENT) {
            Some(ua) => request.with_user_agent_header(ua.clone()),
            None => request,
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
        self.cookies.push(CookieHeader(Bytes::Owned(value.into())));
        self
    }

    /// Add a `Cookie` header value of the request, shared rather than copied (what
    /// [`from_headers`](Self::from_headers) and the framework layers use).
    ///
    /// ```
    /// let value = http::HeaderValue::from_static("a=1");
    /// let req = session_core::Request::new().with_cookie_header(value);
    /// assert_eq!(req.cookie_headers()[0].as_bytes(), b"a=1");
    /// ```
    #[must_use]
    pub fn with_cookie_header(mut self, value: HeaderValue) -> Self {
        self.cookies.push(CookieHeader(Bytes::Shared(value)));
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
        self.remote_addr = Some(RemoteAddr::Text(addr.into()));
        self
    }

    /// Set the client address as an [`IpAddr`]; it is formatted (as nginx formats
    /// `$remote_addr`) only when a cookie is bound to the address.
    ///
    /// ```
    /// let req = session_core::Request::new().with_remote_ip([10, 0, 0, 1].into());
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_remote_ip(mut self, ip: IpAddr) -> Self {
        self.remote_addr = Some(RemoteAddr::Ip(ip, OnceLock::new()));
        self
    }

    /// Set the scheme (`http` / `https`), for `bind = ["scheme"]` (those two are kept
    /// without an allocation).
    ///
    /// ```
    /// let req = session_core::Request::new().with_scheme("https");
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl AsRef<str>) -> Self {
        self.scheme = Some(match scheme.as_ref() {
            "https" => Cow::Borrowed("https"),
            "http" => Cow::Borrowed("http"),
            other => Cow::Owned(other.to_owned()),
        });
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
        self.user_agent = Some(Text(Bytes::Owned(user_agent.into().into_bytes())));
        self
    }

    /// Set the `User-Agent` from the request's header value, shared rather than copied;
    /// a value that is not UTF-8 is read lossily (as [`from_headers`](Self::from_headers)
    /// always did).
    ///
    /// ```
    /// let ua = http::HeaderValue::from_static("curl/8.0");
    /// let req = session_core::Request::new().with_user_agent_header(ua);
    /// # let _ = req;
    /// ```
    #[must_use]
    pub fn with_user_agent_header(mut self, value: HeaderValue) -> Self {
        self.user_agent = Some(match std::str::from_utf8(value.as_bytes()) {
            Ok(_) => Text(Bytes::Shared(value)),
            Err(_) => Text(Bytes::Owned(
                String::from_utf8_lossy(value.as_bytes())
                    .into_owned()
                    .into_bytes(),
            )),
        });
        self
    }

    /// The `Cookie` header values, as given (or as rewritten by
    /// [`Session::clear_request_cookie`](crate::Session::clear_request_cookie)).
    ///
    /// ```
    /// assert!(session_core::Request::new().cookie_headers().is_empty());
    /// ```
    pub fn cookie_headers(&self) -> &[CookieHeader] {
        &self.cookies
    }

    /// The bind values a cookie with `flags` mixes into its MAC: only those it binds to
    /// are read (the address formatted, the User-Agent checked), the others are `None`.
    pub(crate) fn bind(&self, flags: Flags) -> BindValues<'_> {
        let bound = |flag: Flags| flags.contains(flag);
        BindValues {
            ip: bound(Flags::BIND_IP)
                .then(|| self.remote_addr.as_ref().and_then(RemoteAddr::text))
                .flatten(),
            scheme: bound(Flags::BIND_SCHEME)
                .then_some(self.scheme.as_deref())
                .flatten(),
            user_agent: bound(Flags::BIND_USER_AGENT)
                .then(|| self.user_agent.as_ref().map(Text::as_str))
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_formatted_only_for_a_cookie_bound_to_it() {
        let req = Request::new().with_remote_ip("2001:db8::1".parse().unwrap());
        assert_eq!(req.bind(Flags::BIND_SCHEME).ip, None);
        let Some(RemoteAddr::Ip(_, text)) = &req.remote_addr else {
            panic!("an address")
        };
        assert!(text.get().is_none(), "formatted without a bind");
        assert_eq!(req.bind(Flags::BIND_IP).ip, Some("2001:db8::1"));
        let given = Request::new().with_remote_addr("10.0.0.1");
        assert_eq!(given.bind(Flags::BIND_IP).ip, Some("10.0.0.1"));
    }

    #[test]
    fn header_values_read_as_the_copies_did() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::COOKIE, HeaderValue::from_static("a=1"));
        headers.append(http::header::COOKIE, HeaderValue::from_static("b=2"));
        let ua = HeaderValue::from_bytes(b"agent \xff/1").unwrap();
        headers.insert(http::header::USER_AGENT, ua);
        let req = Request::from_headers(&headers);
        let cookies: Vec<&[u8]> = req
            .cookie_headers()
            .iter()
            .map(CookieHeader::as_bytes)
            .collect();
        assert_eq!(cookies, [&b"a=1"[..], b"b=2"]);
        assert_eq!(req.cookie_headers().join(&b"; "[..]), b"a=1; b=2");
        // Not UTF-8: read lossily, as `from_headers` always did.
        assert_eq!(
            req.bind(Flags::BIND_USER_AGENT).user_agent,
            Some("agent \u{fffd}/1")
        );
        let utf8 = Request::new().with_user_agent_header(HeaderValue::from_static("curl/8.0"));
        assert_eq!(
            utf8.bind(Flags::BIND_USER_AGENT).user_agent,
            Some("curl/8.0")
        );
    }

    #[test]
    fn http_and_https_need_no_allocation() {
        let req = Request::new().with_scheme(String::from("https"));
        assert!(matches!(req.scheme, Some(Cow::Borrowed("https"))));
        let other = Request::new().with_scheme("ws");
        assert_eq!(other.bind(Flags::BIND_SCHEME).scheme, Some("ws"));
    }

    #[test]
    fn debug_shows_no_cookie() {
        let req = Request::new().with_cookie("session=secret-value");
        let text = format!("{req:?} {:?}", req.cookie_headers()[0]);
        assert!(!text.contains("secret-value"), "{text}");
    }
}
