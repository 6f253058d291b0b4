//! The HTTP cookie edge: reading request cookies the way nginx does, building
//! `Set-Cookie` strings, merging them into a response, and removing the
//! session cookies from a request `Cookie` header for proxying.
//!
//! Everything here works on header values only, so any HTTP framework can use
//! it. The formats are the reference's, byte for byte (docs/cookie-format.md §7-§11).

/// The attribute suffix of a deleting cookie (docs/cookie-format.md §7.3).
pub const EXPIRED_SUFFIX: &str = "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0";

/// Maximum number of chunk cookies a session may use (docs/cookie-format.md §6).
pub const MAX_CHUNKS: usize = 9;

/// Longest remember `Max-Age`, 400 days (docs/cookie-format.md §7.2).
pub const MAX_REMEMBER_MAX_AGE: u64 = 34_560_000;

/// Find the value of cookie `name` in the request's `Cookie` header values,
/// with nginx's `$cookie_NAME` semantics (docs/cookie-format.md §10).
///
/// Pairs are separated by `;` (or `,`), spaces after a separator are skipped,
/// the name is matched ASCII case-insensitively and may be followed by spaces
/// before `=`; the value runs up to the next `;`. The first match wins, and
/// several `Cookie` header values are searched in order.
///
/// ```
/// use session_core::cookie::find_cookie;
/// let headers: [&[u8]; 1] = [b"a=1; session=abc; session=def"];
/// assert_eq!(find_cookie(&headers, "session"), Some(&b"abc"[..]));
/// assert_eq!(find_cookie(&headers, "SESSION"), Some(&b"abc"[..]));
/// assert_eq!(find_cookie(&headers, "missing"), None);
/// ```
pub fn find_cookie<'a, H: AsRef<[u8]> + 'a>(headers: &'a [H], name: &str) -> Option<&'a [u8]> {
    let name = name.as_bytes();
    headers
        .iter()
        .find_map(|header| find_in_header(header.as_ref(), name))
}

fn find_in_header<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    if name.len() > value.len() {
        return None;
    }
    let end = value.len();
    let mut start = 0;
    while start < end {
        let matched = end - start >= name.len()
            && value[start..start + name.len()].eq_ignore_ascii_case(name);
        if matched {
            start += name.len();
            while start < end && value[start] == b' ' {
                start += 1;
            }
            if start < end && value[start] == b'=' {
                start += 1;
                while start < end && value[start] == b' ' {
                    start += 1;
                }
                let last = memchr::memchr(b';', &value[start..]).map_or(end, |i| start + i);
                return Some(&value[start..last]);
            }
            if start < end {
                // nginx consumes the byte it compared against '='.
                start += 1;
            }
        }
        // skip to the next pair (values can be kilobytes long: chunked cookies)
        start = memchr::memchr2(b';', b',', &value[start..]).map_or(end, |i| start + i + 1);
        while start < end && value[start] == b' ' {
            start += 1;
        }
    }
    None
}

/// The name of chunk `index` (1-based) of cookie `name`: `name` for the first
/// chunk, `name2` … `name9` for the others (docs/cookie-format.md §6.2).
///
/// ```
/// use session_core::cookie::chunk_name;
/// assert_eq!(chunk_name("session", 1), "session");
/// assert_eq!(chunk_name("session", 3), "session3");
/// ```
pub fn chunk_name(name: &str, index: usize) -> String {
    if index <= 1 {
        name.to_owned()
    } else {
        format!("{name}{index}")
    }
}

/// The cookie attributes that shape the attribute string (docs/cookie-format.md §7.1, §8),
/// after prefix processing.
///
/// ```
/// use session_core::cookie::CookieAttributes;
/// let attrs = CookieAttributes::default();
/// assert_eq!(attrs.render(), "; Path=/; SameSite=Lax; HttpOnly");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieAttributes {
    /// `Domain`, omitted when `None`, empty or `localhost`.
    pub domain: Option<String>,
    /// `Path`.
    pub path: String,
    /// `SameSite`, verbatim.
    pub same_site: String,
    /// `Priority`, verbatim.
    pub priority: Option<String>,
    /// `SameParty`.
    pub same_party: bool,
    /// `Partitioned`.
    pub partitioned: bool,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        Self {
            domain: None,
            path: "/".to_owned(),
            same_site: "Lax".to_owned(),
            priority: None,
            same_party: false,
            partitioned: false,
            secure: false,
            http_only: true,
        }
    }
}

impl CookieAttributes {
    /// Render the attribute string, which always starts with `"; "`, in the
    /// order `Domain, Path, SameSite, Priority, SameParty, Partitioned,
    /// Secure, HttpOnly`.
    ///
    /// ```
    /// use session_core::cookie::CookieAttributes;
    /// let attrs = CookieAttributes {
    ///     domain: Some("example.com".into()),
    ///     priority: Some("High".into()),
    ///     same_party: true,
    ///     partitioned: true,
    ///     secure: true,
    ///     ..CookieAttributes::default()
    /// };
    /// assert_eq!(
    ///     attrs.render(),
    ///     "; Domain=example.com; Path=/; SameSite=Lax; Priority=High; SameParty; Partitioned; Secure; HttpOnly"
    /// );
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(64);
        if let Some(domain) = &self.domain
            && !domain.is_empty()
            && domain != "localhost"
        {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        out.push_str("; Path=");
        out.push_str(&self.path);
        out.push_str("; SameSite=");
        out.push_str(&self.same_site);
        if let Some(priority) = &self.priority {
            out.push_str("; Priority=");
            out.push_str(priority);
        }
        if self.same_party {
            out.push_str("; SameParty");
        }
        if self.partitioned {
            out.push_str("; Partitioned");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        out
    }
}

/// The `; Expires=…; Max-Age=…` suffix of a remember cookie (docs/cookie-format.md §7.2):
/// `max_age` is `remember_rolling_timeout`, or 400 days when that is 0 or
/// larger; `Expires` is `creation_time + max_age`.
///
/// ```
/// use session_core::cookie::remember_suffix;
/// assert_eq!(
///     remember_suffix(1_700_000_000, 604_800),
///     "; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Max-Age=604800"
/// );
/// assert_eq!(
///     remember_suffix(1_700_000_000, 0),
///     "; Expires=Wed, 18 Dec 2024 22:13:20 GMT; Max-Age=34560000"
/// );
/// ```
pub fn remember_suffix(creation_time: u64, remember_rolling_timeout: u64) -> String {
    let max_age =
        if remember_rolling_timeout == 0 || remember_rolling_timeout > MAX_REMEMBER_MAX_AGE {
            MAX_REMEMBER_MAX_AGE
        } else {
            remember_rolling_timeout
        };
    format!(
        "; Expires={}; Max-Age={max_age}",
        http_date(creation_time.saturating_add(max_age))
    )
}

/// Format Unix seconds as an IMF-fixdate (`Tue, 21 Nov 2023 22:13:20 GMT`).
///
/// ```
/// use session_core::cookie::http_date;
/// assert_eq!(http_date(1), "Thu, 01 Jan 1970 00:00:01 GMT");
/// assert_eq!(http_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
/// ```
pub fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[usize::try_from(days % 7).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from(month.saturating_sub(1))
        .unwrap_or(0)
        .min(11)];
    format!(
        "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A deleting `Set-Cookie` value for `name` (docs/cookie-format.md §7.3).
///
/// ```
/// use session_core::cookie::expired_cookie;
/// assert_eq!(
///     expired_cookie("session", "; Path=/; SameSite=Lax; HttpOnly"),
///     "session=; Path=/; SameSite=Lax; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"
/// );
/// ```
pub fn expired_cookie(name: &str, attributes: &str) -> String {
    let mut out = String::with_capacity(name.len() + attributes.len() + EXPIRED_SUFFIX.len() + 1);
    out.push_str(name);
    out.push('=');
    out.push_str(attributes);
    out.push_str(EXPIRED_SUFFIX);
    out
}

/// Merge one `Set-Cookie` value for cookie `name` into a response's list
/// (docs/cookie-format.md §9): the first value that starts with `name=` is replaced in
/// place, otherwise the new value is appended.
///
/// ```
/// use session_core::cookie::merge_set_cookie;
/// let mut list = vec!["a=1".to_owned(), "session=old; Path=/".to_owned(), "b=2".to_owned()];
/// merge_set_cookie(&mut list, "session", "session=new; Path=/".to_owned());
/// assert_eq!(list, ["a=1", "session=new; Path=/", "b=2"]);
/// merge_set_cookie(&mut list, "other", "other=1".to_owned());
/// assert_eq!(list.len(), 4);
/// ```
pub fn merge_set_cookie(list: &mut Vec<String>, name: &str, value: String) {
    let slot = list.iter_mut().find(|existing| {
        existing.len() > name.len()
            && existing.as_bytes()[name.len()] == b'='
            && existing.as_bytes().starts_with(name.as_bytes())
    });
    match slot {
        Some(existing) => *existing = value,
        None => list.push(value),
    }
}

/// Whether a `Set-Cookie` value sets cookie `name` (starts with `name=`).
pub(crate) fn sets_cookie(value: &[u8], name: &str) -> bool {
    value.len() > name.len() && value[name.len()] == b'=' && value.starts_with(name.as_bytes())
}

fn is_trim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_trim(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_trim(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Remove cookie `name` (and, when `chunks > 1`, its chunk cookies
/// `name2..name{chunks}`) from a request `Cookie` header value, with the
/// reference's tokenizer (docs/cookie-format.md §11), whose output format is observable.
///
/// Returns `None` when the input is empty (the reference reports failure),
/// `Some(vec![])` when nothing is left (remove the header), otherwise the new
/// header value.
///
/// ```
/// use session_core::cookie::clear_cookie;
/// assert_eq!(clear_cookie(b"a=1; session=abc; b=2", "session", 1), Some(b"a=1; b=2".to_vec()));
/// assert_eq!(clear_cookie(b"session=abc", "session", 1), Some(vec![]));
/// assert_eq!(clear_cookie(b"flag; session=abc; x", "session", 1), Some(b"flag;x".to_vec()));
/// assert_eq!(clear_cookie(b"", "session", 1), None);
/// ```
pub fn clear_cookie(header: &[u8], name: &str, chunks: usize) -> Option<Vec<u8>> {
    if header.is_empty() {
        return None;
    }
    let cookie_name = name.as_bytes();
    let n = header.len();
    let mut out = Vec::with_capacity(n);
    let mut in_value = false;
    let mut skip = false;
    let mut start = 0;
    for i in 0..n {
        let b = header[i];
        let last = i == n - 1;
        if in_value {
            if b == b';' || last {
                if !skip {
                    let value = if b == b';' {
                        trim(&header[start..i])
                    } else {
                        trim(&header[start..])
                    };
                    out.extend_from_slice(value);
                    if !last {
                        out.extend_from_slice(b"; ");
                    }
                }
                if last {
                    break;
                }
                in_value = false;
                start = i + 1;
                skip = false;
            }
            continue;
        }
        let raw = if b == b'=' || b == b';' {
            &header[start..i]
        } else if last {
            &header[start..]
        } else {
            continue;
        };
        let current = trim(raw);
        if b == b';' || last {
            if !current.is_empty() {
                out.extend_from_slice(current);
                if !last {
                    out.push(b';');
                }
            } else if last {
                break;
            }
        } else {
            if current == cookie_name {
                skip = true;
            } else if chunks > 1
                && let [prefix @ .., digit] = current
                && digit.is_ascii_digit()
            {
                let d = usize::from(digit - b'0');
                if (2..=chunks).contains(&d) && prefix == cookie_name {
                    skip = true;
                }
            }
            if !skip {
                out.extend_from_slice(current);
                out.push(b'=');
            }
            in_value = true;
        }
        start = i + 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clear(input: &str, chunks: usize) -> Option<String> {
        clear_cookie(input.as_bytes(), "session", chunks)
            .map(|v| String::from_utf8(v).unwrap_or_default())
    }

    #[test]
    fn clear_request_cookie_table_of_cookie_format_section_11() {
        let table: &[(&str, &str)] = &[
            ("session=abc", ""),
            ("session=abc; a=1", "a=1"),
            ("a=1; session=abc", "a=1; "),
            ("a=1; session=abc; b=2", "a=1; b=2"),
            ("a=1;session=abc;b=2", "a=1; b=2"),
            ("  a = 1 ;  session = abc ; b=2  ", "a=1; b=2"),
            ("flag; session=abc; x", "flag;x"),
            ("a; b; c=1", "a;b;c=1"),
            ("a=1; b", "a=1; b"),
            ("a=", "a"),
            ("a=1; b=", "a=1; b"),
            ("a=x=y; session=1", "a=x=y; "),
            ("Session=abc; a=1", "Session=abc; a=1"),
            ("session2=abc; a=1", "session2=abc; a=1"),
            (";;a=1;;", "a=1; "),
            ("a=1; session=abc; ", "a=1; "),
            ("session=1; session=2; a=3", "a=3"),
            (
                "session=AQAA; Path=/; SameSite=Lax; HttpOnly",
                "Path=/; SameSite=Lax; HttpOnly",
            ),
        ];
        for (input, expected) in table {
            assert_eq!(
                clear(input, 1).as_deref(),
                Some(*expected),
                "input {input:?}"
            );
        }
        assert_eq!(
            clear(
                "a=1; session=x; session2=xx; b=2; session3=yy; session4=zz; session10=q",
                3
            )
            .as_deref(),
            Some("a=1; b=2; session4=zz; session10=q")
        );
        assert_eq!(clear("", 1), None);
    }

    #[test]
    fn find_cookie_matches_nginx_semantics() {
        let h: [&[u8]; 1] = [b"a=1; session=abc; b=2"];
        assert_eq!(find_cookie(&h, "session"), Some(&b"abc"[..]));
        let h: [&[u8]; 1] = [b"session = abc ;x"];
        assert_eq!(find_cookie(&h, "session"), Some(&b"abc "[..]));
        let h: [&[u8]; 1] = [b"sessionx=1, session=2"];
        assert_eq!(find_cookie(&h, "session"), Some(&b"2"[..]));
        let h: [&[u8]; 2] = [b"a=1", b"session=2"];
        assert_eq!(find_cookie(&h, "session"), Some(&b"2"[..]));
        let h: [&[u8]; 1] = [b"session"];
        assert_eq!(find_cookie(&h, "session"), None);
        let h: [&[u8]; 1] = [b"session="];
        assert_eq!(find_cookie(&h, "session"), Some(&b""[..]));
        let h: [&[u8]; 1] = [b"ses"];
        assert_eq!(find_cookie(&h, "session"), None);
    }

    #[test]
    fn find_cookie_first_duplicate_wins() {
        let h: [&[u8]; 1] = [b"session=first; session=second"];
        assert_eq!(find_cookie(&h, "session"), Some(&b"first"[..]));
    }

    #[test]
    fn attribute_string_table_of_cookie_format_section_7_1_is_rendered() {
        let attrs = CookieAttributes {
            same_site: "Strict".into(),
            secure: true,
            http_only: false,
            ..CookieAttributes::default()
        };
        assert_eq!(attrs.render(), "; Path=/; SameSite=Strict; Secure");
        let attrs = CookieAttributes {
            domain: Some("localhost".into()),
            ..CookieAttributes::default()
        };
        assert_eq!(attrs.render(), "; Path=/; SameSite=Lax; HttpOnly");
        let attrs = CookieAttributes {
            domain: Some(String::new()),
            ..CookieAttributes::default()
        };
        assert_eq!(attrs.render(), "; Path=/; SameSite=Lax; HttpOnly");
    }

    #[test]
    fn set_cookie_merging_replaces_first_match_or_appends() {
        let mut list = vec!["other=1; Path=/".to_owned()];
        merge_set_cookie(&mut list, "session", "session=x".to_owned());
        assert_eq!(list, ["other=1; Path=/", "session=x"]);
        let mut list = vec!["session=old".to_owned()];
        merge_set_cookie(&mut list, "session", "session=new".to_owned());
        assert_eq!(list, ["session=new"]);
        let mut list = vec!["session2=old".to_owned()];
        merge_set_cookie(&mut list, "session", "session=new".to_owned());
        assert_eq!(list, ["session2=old", "session=new"]);
        let mut list = Vec::new();
        merge_set_cookie(&mut list, "session", "session=new".to_owned());
        assert_eq!(list, ["session=new"]);
    }

    #[test]
    fn http_date_formats_far_dates() {
        assert_eq!(http_date(1_734_560_000), "Wed, 18 Dec 2024 22:13:20 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
