//! The pieces every store's URL form (`redis://`, `postgres://`, `memcache://`, ...) shares:
//! percent-decoding, typed option values and the query string, each failing with a
//! [`Config`](session_storage::ErrorKind::Config) error that names the store's URL.
//!
//! Credentials never reach an error: the user information ends at the *last* `@` of the
//! location, so a password with an unescaped `/` or `?` still parses, and
//! [`UrlSyntax::redact_credentials`] withholds the detail of any error whose message would
//! show a piece of the user information or of a `password` option. `Debug` of
//! [`UrlParts`] and [`Authority`] hides them too.

use std::fmt;

use session_storage::StorageError;

/// The URL syntax helpers of one store; `name` goes into every error message
/// (`invalid postgres URL: ...`).
///
/// ```
/// use session_net::url::UrlSyntax;
/// const URL: UrlSyntax = UrlSyntax::new("postgres");
/// assert_eq!(URL.decode("s%40cret")?, "s@cret");
/// assert_eq!(URL.number::<u16>("port", "5432")?, 5432);
/// assert!(URL.boolean("ssl", "on")?);
/// let pairs: Vec<_> = URL.query_pairs(Some("a=1&&b")).collect::<Result<_, _>>()?;
/// assert_eq!(pairs, [("a".to_owned(), "1".to_owned()), ("b".to_owned(), String::new())]);
/// assert_eq!(
///     URL.boolean("ssl", "maybe").unwrap_err().message(),
///     "invalid postgres URL: `ssl` must be true or false, got \"maybe\""
/// );
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UrlSyntax {
    name: &'static str,
}

impl UrlSyntax {
    /// The helpers for the URLs of store `name`.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// assert!(url.invalid("no host").message().starts_with("invalid redis URL"));
    /// ```
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Self { name }
    }

    /// A configuration error: `invalid <name> URL: <msg>`.
    ///
    /// ```
    /// let err = session_net::url::UrlSyntax::new("dshm").invalid("fragments are not supported");
    /// assert_eq!(err.message(), "invalid dshm URL: fragments are not supported");
    /// ```
    #[must_use]
    pub fn invalid(&self, msg: impl fmt::Display) -> StorageError {
        StorageError::config(format!("invalid {} URL: {msg}", self.name))
    }

    /// Percent-decodes `s` (`+` stays `+`); the result must be UTF-8.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// assert_eq!(url.decode("a+b%2Fc")?, "a+b/c");
    /// assert!(url.decode("%4").is_err());
    /// assert!(url.decode("%ff").is_err());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    pub fn decode(&self, s: &str) -> Result<String, StorageError> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'%' {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => return Err(self.invalid("bad percent-encoding")),
                }
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        String::from_utf8(out).map_err(|_| self.invalid("percent-encoding is not UTF-8"))
    }

    /// Option `name`'s value `v` as a number.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// assert_eq!(url.number::<u64>("connect_timeout", "250")?, 250);
    /// assert!(url.number::<u16>("port", "70000").is_err());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `v` does not parse as a `T`.
    pub fn number<T: std::str::FromStr>(&self, name: &str, v: &str) -> Result<T, StorageError> {
        v.parse()
            .map_err(|_| self.invalid(format!("`{name}` must be a number, got {v:?}")))
    }

    /// Option `name`'s value `v` as a boolean: `true`/`1`/`yes`/`on` or
    /// `false`/`0`/`no`/`off`.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// assert!(!url.boolean("ssl", "off")?);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Any other value.
    pub fn boolean(&self, name: &str, v: &str) -> Result<bool, StorageError> {
        match v {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(format!("`{name}` must be true or false, got {v:?}"))),
        }
    }

    /// Splits `host[:port]` (an IPv6 literal in brackets: `[::1]:6379`) into the raw host and
    /// port texts, undecoded; the host may be empty.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// assert_eq!(url.split_host_port("[::1]:6379")?, ("::1", Some("6379")));
    /// assert_eq!(url.split_host_port("cache")?, ("cache", None));
    /// assert!(url.split_host_port("[::1").is_err());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An unclosed `[`, or anything but `:port` after `]`.
    pub fn split_host_port<'s>(
        &self,
        s: &'s str,
    ) -> Result<(&'s str, Option<&'s str>), StorageError> {
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| self.invalid("unclosed '[' in host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| self.invalid("junk after ']'"))?,
                ),
            };
            Ok((host, port))
        } else {
            Ok(match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            })
        }
    }

    /// `host[:port]` decoded: a non-empty host and the port as a number.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("memcached");
    /// assert_eq!(url.host_port("cache%2DA:11211")?, ("cache-A".to_owned(), Some(11211)));
    /// assert!(url.host_port(":11211").is_err());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`split_host_port`](Self::split_host_port), an empty host, a bad port.
    pub fn host_port(&self, s: &str) -> Result<(String, Option<u16>), StorageError> {
        let (host, port) = self.split_host_port(s)?;
        if host.is_empty() {
            return Err(self.invalid("empty host"));
        }
        Ok((
            self.decode(host)?,
            port.map(|p| self.number("port", p)).transpose()?,
        ))
    }

    /// The decoded `name=value` pairs of a query string (without its `?`), skipping empty
    /// pairs; a pair without `=` has an empty value.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// let pairs: Vec<_> = url.query_pairs(None).collect::<Result<_, _>>()?;
    /// assert!(pairs.is_empty());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    pub fn query_pairs<'a>(
        &'a self,
        query: Option<&'a str>,
    ) -> impl Iterator<Item = Result<(String, String), StorageError>> + 'a {
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Ok((self.decode(name)?, self.decode(value)?))
            })
    }
}

/// A store URL cut at its delimiters, nothing decoded yet:
/// `scheme://location[?query]`.
///
/// ```
/// use session_net::url::UrlSyntax;
/// let parts = UrlSyntax::new("redis").split("redis://h:1/2?db=3", "missing scheme")?;
/// assert_eq!((parts.scheme, parts.location, parts.query), ("redis", "h:1/2", Some("db=3")));
/// assert!(!parts.has_fragment());
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UrlParts<'a> {
    /// What comes before `://`.
    pub scheme: &'a str,
    /// What comes between `://` and the first `?`.
    pub location: &'a str,
    /// What comes after the first `?`, when there is one.
    pub query: Option<&'a str>,
}

/// The location without its user information, for `Debug`.
fn without_userinfo(location: &str) -> String {
    match location.rfind('@') {
        Some(at) => format!("<redacted>@{}", &location[at + 1..]),
        None => location.to_owned(),
    }
}

impl fmt::Debug for UrlParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlParts")
            .field("scheme", &self.scheme)
            .field("location", &without_userinfo(self.location))
            .field("query", &self.query.map(|_| "<redacted>"))
            .finish()
    }
}

impl UrlParts<'_> {
    /// Whether the URL has a `#` anywhere after its scheme (the stores support no fragment).
    ///
    /// ```
    /// use session_net::url::UrlSyntax;
    /// assert!(UrlSyntax::new("pg").split("postgres://h?a=1#x", "")?.has_fragment());
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn has_fragment(&self) -> bool {
        self.location.contains('#') || self.query.is_some_and(|q| q.contains('#'))
    }
}

/// The `[user[:password]@]hosts[/path]` of a [`UrlParts::location`]: the credentials
/// decoded (an empty user name is `None`), the hosts and the path undecoded.
///
/// ```
/// use session_net::url::UrlSyntax;
/// let url = UrlSyntax::new("mysql");
/// let a = url.authority("app:s%40cret@[::1]:3306/db")?;
/// assert_eq!((a.username.as_deref(), a.password.as_deref()), (Some("app"), Some("s@cret")));
/// assert_eq!((a.hosts, a.path), ("[::1]:3306", "db"));
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authority<'a> {
    /// The user name, decoded; `None` when absent or empty.
    pub username: Option<String>,
    /// The password, decoded; `None` when there is no `:` in the user information.
    pub password: Option<String>,
    /// The host part (`host[:port]`, or several separated by commas), undecoded.
    pub hosts: &'a str,
    /// What follows the first `/` after the authority, undecoded; empty when none.
    pub path: &'a str,
}

impl fmt::Debug for Authority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("hosts", &self.hosts)
            .field("path", &self.path)
            .finish()
    }
}

impl UrlSyntax {
    /// Cuts `url` into scheme, location and query; `missing_scheme` is the error text when
    /// there is no `://`.
    ///
    /// The query starts at the first `?`, unless that `?` is inside the user information: when
    /// the text before it has no `@` and the text after it reaches an `@` before any `=` or
    /// `&`, that `@` ends a password holding an unescaped `?`.
    ///
    /// ```
    /// use session_net::url::UrlSyntax;
    /// let err = UrlSyntax::new("dshm").split("h:1", "missing `scheme://`").unwrap_err();
    /// assert_eq!(err.message(), "invalid dshm URL: missing `scheme://`");
    /// let parts = UrlSyntax::new("redis").split("redis://u:pa?ss@h:1/0?prefix=p", "")?;
    /// assert_eq!((parts.location, parts.query), ("u:pa?ss@h:1/0", Some("prefix=p")));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `url` has no `://`.
    pub fn split<'a>(
        &self,
        url: &'a str,
        missing_scheme: &str,
    ) -> Result<UrlParts<'a>, StorageError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| self.invalid(missing_scheme))?;
        let (mut location, mut query) = match rest.split_once('?') {
            Some((l, q)) => (l, Some(q)),
            None => (rest, None),
        };
        let userinfo_end = query
            .filter(|_| !location.contains('@'))
            .and_then(|q| q.find('@').filter(|&at| !q[..at].contains(['=', '&'])));
        if let Some(at) = userinfo_end {
            // `rest` = location ? q; the user information ends at that `@`.
            let host_start = location.len() + 1 + at + 1;
            let after = &rest[host_start..];
            let host_end = after.find('?').map_or(rest.len(), |i| host_start + i);
            location = &rest[..host_end];
            query = rest.get(host_end + 1..).filter(|_| host_end < rest.len());
        }
        Ok(UrlParts {
            scheme,
            location,
            query,
        })
    }

    /// Splits a location into credentials, hosts and path (see [`Authority`]). The user
    /// information runs to the last `@`, so a password may hold an unescaped `/`.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// let a = url.authority(":pw@a:1,b:2/m/4")?;
    /// assert_eq!((a.username, a.password.as_deref()), (None, Some("pw")));
    /// assert_eq!((a.hosts, a.path), ("a:1,b:2", "m/4"));
    /// let a = url.authority("u:pa/ss@h/0")?;
    /// assert_eq!((a.password.as_deref(), a.hosts, a.path), (Some("pa/ss"), "h", "0"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A user name or password that does not [`decode`](Self::decode).
    pub fn authority<'a>(&self, location: &'a str) -> Result<Authority<'a>, StorageError> {
        let (userinfo, after) = match location.rsplit_once('@') {
            Some((userinfo, after)) => (Some(userinfo), after),
            None => (None, location),
        };
        let (hosts, path) = after.split_once('/').unwrap_or((after, ""));
        let (user, pass) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
            Some(Ok((u, p))) => (u, Some(p)),
            Some(Err(u)) => (u, None),
            None => ("", None),
        };
        Ok(Authority {
            username: (!user.is_empty()).then(|| self.decode(user)).transpose()?,
            password: pass.map(|p| self.decode(p)).transpose()?,
            hosts,
            path,
        })
    }

    /// `host[:port]` decoded, either part optional: an empty host is `None`.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("postgres");
    /// assert_eq!(url.optional_host_port(":5433")?, (None, Some(5433)));
    /// assert_eq!(url.optional_host_port("db")?, (Some("db".to_owned()), None));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`split_host_port`](Self::split_host_port), a bad port.
    pub fn optional_host_port(
        &self,
        s: &str,
    ) -> Result<(Option<String>, Option<u16>), StorageError> {
        let (host, port) = self.split_host_port(s)?;
        Ok((
            (!host.is_empty()).then(|| self.decode(host)).transpose()?,
            port.map(|p| self.number("port", p)).transpose()?,
        ))
    }

    /// Calls `apply` with each decoded `name=value` pair of `query`
    /// (see [`query_pairs`](Self::query_pairs)), stopping at the first error.
    ///
    /// ```
    /// let url = session_net::url::UrlSyntax::new("redis");
    /// let mut seen = Vec::new();
    /// url.apply_query(Some("a=1&b=%32"), |name, value| {
    ///     seen.push(format!("{name}={value}"));
    ///     Ok(())
    /// })?;
    /// assert_eq!(seen, ["a=1", "b=2"]);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A pair that does not decode, or the first error of `apply`.
    pub fn apply_query(
        &self,
        query: Option<&str>,
        mut apply: impl FnMut(&str, String) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        for pair in self.query_pairs(query) {
            let (name, value) = pair?;
            apply(&name, value)?;
        }
        Ok(())
    }
}

impl UrlSyntax {
    /// `result` of parsing `url`, with the detail of its error withheld when the message
    /// would show a piece of the URL's user information (everything between `://` and the
    /// last `@`) or of a `password`/`sentinel_password` query option: then the error (same
    /// kind) only says that the URL is malformed and how credentials must be written.
    ///
    /// ```
    /// use session_net::url::UrlSyntax;
    /// const URL: UrlSyntax = UrlSyntax::new("redis");
    /// let url = "redis://app:s3cret@h?prefx=x";
    /// let typo = Err::<(), _>(URL.invalid("unknown option `prefx`"));
    /// let err = URL.redact_credentials(url, typo).unwrap_err();
    /// assert_eq!(err.message(), "invalid redis URL: unknown option `prefx`"); // nothing secret
    /// let leaky = Err::<(), _>(URL.invalid("`port` must be a number, got \"s3cr\""));
    /// let err = URL.redact_credentials("redis://u:s3cr/t@h", leaky).unwrap_err();
    /// assert!(!err.message().contains("s3cr"), "{err}");
    /// assert!(err.message().starts_with("invalid redis URL"));
    /// ```
    ///
    /// # Errors
    ///
    /// `result`'s error, redacted as above.
    pub fn redact_credentials<T>(
        &self,
        url: &str,
        result: Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let Err(e) = result else { return result };
        let secrets = secret_fragments(url);
        let message = e.message();
        if secrets.iter().any(|s| message.contains(s.as_str())) {
            return Err(StorageError::new(
                e.kind(),
                format!(
                    "invalid {} URL: malformed (details withheld: they would show credentials; \
                     percent-encode `/`, `?`, `#`, `@` and `:` in the user name and password)",
                    self.name
                ),
            ));
        }
        Err(e)
    }
}

/// The pieces of `url`'s user information and password options, raw and percent-decoded,
/// as an error message could show them.
fn secret_fragments(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut raw: Vec<&str> = Vec::new();
    if let Some(at) = rest.rfind('@') {
        raw.push(&rest[..at]);
    }
    // A pair without `=` right after a password option is most likely the rest of a
    // password holding an unescaped `&`.
    let mut after_password = false;
    for pair in rest.split(['?', '&']) {
        match pair.split_once('=') {
            Some((name, value)) => {
                after_password = name.ends_with("password");
                if after_password {
                    raw.push(value);
                }
            }
            None if after_password => raw.push(pair),
            None => {}
        }
    }
    let mut out = Vec::new();
    for r in raw {
        let decoded = UrlSyntax::new("").decode(r).ok();
        for piece in std::iter::once(r)
            .chain(r.split([':', '/', '?', '&', '=', '#', '@', ',', '%', '[', ']']))
            .chain(decoded.as_deref())
        {
            if !piece.is_empty() {
                out.push(piece.to_owned());
            }
        }
        if let Some(d) = decoded {
            out.extend(
                d.split([':', '/', '?', '&', '=', '#', '@', ','])
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
