//! Session headers on the request and the response (Lua `set_headers`,
//! docs/semantics.md §15), putting the session's output on HTTP headers, and clearing
//! the session cookies from a request before it is proxied.

use http::{HeaderMap, HeaderName, HeaderValue};
use session_codec::{Header, chunk_count};

use super::Session;
use super::state::Meta;
use crate::config::HeaderProperty;
use crate::cookie::{clear_cookie, find_cookie, sets_cookie};
use crate::error::{Error, Operation};

/// Which message session headers go on.
#[derive(Debug, Clone, Copy)]
enum Side {
    Request,
    Response,
}

fn set_header(list: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, value: HeaderValue) {
    match list.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => list.push((name, value)),
    }
}

impl Session {
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

    /// Put the session's output on a response's headers: its `Set-Cookie`
    /// values merged with those already there (docs/cookie-format.md §9), and the session
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
        if !self.set_cookies.is_empty() {
            self.apply_set_cookies(headers);
        }
        for (name, value) in &self.response_headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// As [`apply_response_headers`](Self::apply_response_headers), moving the
    /// `Set-Cookie` values into the response instead of copying them (what the framework
    /// layers do once the handler is done): [`set_cookies`](Self::set_cookies) is empty
    /// afterwards.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// use http::{HeaderMap, header::SET_COOKIE};
    /// use session_core::{Config, Request, Session};
    /// let config = Config::default().build().unwrap();
    /// let mut session = Session::new(&config, Request::new());
    /// session.save().await.unwrap();
    /// let mut headers = HeaderMap::new();
    /// session.move_response_headers(&mut headers);
    /// assert!(headers.get(SET_COOKIE).unwrap().to_str().unwrap().starts_with("session="));
    /// assert!(session.set_cookies().is_empty());
    /// # });
    /// ```
    pub fn move_response_headers(&mut self, headers: &mut HeaderMap) {
        if !self.set_cookies.is_empty() && !headers.contains_key(http::header::SET_COOKIE) {
            // The common case, nothing to merge with: each value's bytes become the header
            // value's (checked, not copied).
            for cookie in self.set_cookies.drain(..) {
                if let Ok(value) = HeaderValue::try_from(cookie) {
                    headers.append(http::header::SET_COOKIE, value);
                }
            }
        }
        self.apply_response_headers(headers);
        self.set_cookies.clear();
    }

    /// Adds this session's `Set-Cookie` values, replacing a value the response already has
    /// for the same cookie name.
    fn apply_set_cookies(&self, headers: &mut HeaderMap) {
        if !headers.contains_key(http::header::SET_COOKIE) {
            // The common case: nothing to merge with.
            for cookie in &self.set_cookies {
                if let Ok(value) = HeaderValue::from_str(cookie) {
                    headers.append(http::header::SET_COOKIE, value);
                }
            }
            return;
        }
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

    /// Remove the session cookies from the request's `Cookie` header before
    /// proxying it (Lua `clear_request_cookie`, docs/semantics.md §14, 01 §11).
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
        let c = self.config.clone();
        let header = self.request.cookies.join(&b"; "[..]);
        let chunks = |name: &str, meta: Option<&Meta>| -> usize {
            match (c.storage(), meta) {
                (None, Some(m)) => chunk_count(
                    name.len(),
                    usize::try_from(m.header.data_size).unwrap_or(usize::MAX),
                )
                .unwrap_or(1),
                _ => 1,
            }
        };
        let n = chunks(c.cookie_name(), self.meta.as_ref());
        let mut out = clear_cookie(&header, c.cookie_name(), n).ok_or(Error::ClearRequestCookie)?;
        if self.remember_active() {
            let name = c.remember_cookie_name();
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
            if c.storage().is_some() {
                out = clear_cookie(&out, name, 1).ok_or(Error::ClearRememberRequestCookie)?;
            } else {
                out = clear_cookie(&out, name, n).ok_or(Error::ClearRememberRequestCookie)?;
            }
        }
        self.request.cookies = if out.is_empty() {
            Vec::new()
        } else {
            vec![out.clone().into()]
        };
        self.request_cookie_edit = Some(out);
        Ok(())
    }

    /// Put the session headers `names` (or, with none, the configured list
    /// for `side`) on the request or the response.
    fn add_session_headers(&mut self, names: &[&str], side: Side) {
        let configured = match side {
            Side::Request => self.config.request_headers(),
            Side::Response => self.config.response_headers(),
        };
        let values: Vec<(HeaderName, HeaderValue)> = if names.is_empty() {
            self.header_values(configured.iter().copied())
        } else {
            self.header_values(names.iter().filter_map(|n| HeaderProperty::from_name(n)))
        };
        let list = match side {
            Side::Request => &mut self.request_headers,
            Side::Response => &mut self.response_headers,
        };
        for (n, v) in values {
            set_header(list, n, v);
        }
    }

    /// The header of each property that has a value.
    fn header_values(
        &self,
        props: impl Iterator<Item = HeaderProperty>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        props
            .filter_map(|p| {
                let value = self.property(p.name())?;
                let value = HeaderValue::from_str(&value.to_string()).ok()?;
                Some((HeaderName::from_static(header_static(p)), value))
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
        self.add_session_headers(names, Side::Request);
        self.add_session_headers(names, Side::Response);
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
        self.add_session_headers(names, Side::Request);
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
        self.add_session_headers(names, Side::Response);
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
