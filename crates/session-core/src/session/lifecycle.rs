//! The lifecycle operations: touch, refresh, logout, destroy, close.

use std::sync::Arc;

use session_codec::{HEADER_ENCODED_SIZE, b64_encode_into, chunk_count};

use super::{Kind, Session, State};
use crate::cookie::{chunk_name, expired_cookie, merge_set_cookie};
use crate::error::{Error, Operation};
use crate::opened::header_text;

impl Session {
    /// Renew the idle timer without a new session id (Lua `touch`, docs/semantics.md §9).
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
        let span = crate::log::op_span!("touch", self.config);
        let result = crate::log::in_span!(span, self.touch_session());
        crate::log::finish_op(
            &span,
            "touch",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn touch_session(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Touch)?;
        self.touch_cookie()
    }

    fn touch_cookie(&mut self) -> Result<(), Error> {
        let c = self.config.clone();
        let Some(meta) = self.meta.as_mut() else {
            return Err(Error::Nonexistent(Operation::Touch));
        };
        let now = i64::try_from(c.now()).unwrap_or(i64::MAX);
        let creation = i64::try_from(meta.header.creation_time).unwrap_or(i64::MAX);
        let idle = (now - creation - i64::from(meta.header.rolling_offset))
            .clamp(0, i64::from(session_codec::MAX_IDLING_OFFSET));
        let old_raw = meta.header.encode();
        meta.header.idling_offset = u32::try_from(idle).unwrap_or(session_codec::MAX_IDLING_OFFSET);
        let bind = self.request.bind(meta.header.flags);
        let raw = c.keys().sign(&mut meta.header, meta.key_index, &bind)?;
        let name = c.cookie_name();
        let mut cookie = String::with_capacity(
            name.len() + 1 + HEADER_ENCODED_SIZE + meta.payload_part.len() + c.attributes().len(),
        );
        cookie.push_str(name);
        cookie.push('=');
        b64_encode_into(&raw, &mut cookie);
        // The browser's next request sends the touched header: the opened-sessions cache
        // answers it with what it kept for the old one.
        if let (Ok(old_raw), Some(text)) = (old_raw, header_text(&cookie, name)) {
            c.opened()
                .touched(&old_raw, meta.key_index, &text, &raw, &meta.header);
        }
        if c.storage().is_none() {
            cookie.push_str(&meta.payload_part);
        }
        cookie.push_str(c.attributes());
        merge_set_cookie(&mut self.set_cookies, name, cookie);
        Ok(())
    }

    /// Save or touch when due (Lua `refresh`, docs/semantics.md §10).
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
        let span = crate::log::op_span!("refresh", self.config);
        let result = crate::log::in_span!(span, self.refresh_session());
        crate::log::finish_op(
            &span,
            "refresh",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn refresh_session(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Refresh)?;
        let c = self.config.clone();
        if c.rolling_timeout() == 0 && c.idling_timeout() == 0 {
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
        let threshold = (c.rolling_timeout().saturating_mul(3) + 3) / 4;
        if c.rolling_timeout() > 0 && elapsed > threshold {
            return self.save_cookie(Kind::Session, State::Open).await;
        }
        if c.idling_timeout() > 0 && elapsed - idling > c.touch_threshold() {
            return self.touch_cookie();
        }
        Ok(())
    }

    /// Log out of the current audience (Lua `logout`, docs/semantics.md §11): with one
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
        let span = crate::log::op_span!("logout", self.config);
        let result = crate::log::in_span!(span, self.logout_session());
        crate::log::finish_op(
            &span,
            "logout",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn logout_session(&mut self) -> Result<(), Error> {
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
        Arc::make_mut(&mut self.entries).remove(removed);
        // The reference keeps the (now stale) index; it points at the entry
        // that moved into the removed slot, if any.
        self.save_cookie(Kind::Session, State::Closed).await?;
        if self.remember_active() {
            Box::pin(self.save_remember()).await;
        }
        Ok(())
    }

    /// Delete the session (Lua `destroy`, docs/semantics.md §13): expiring cookies (and
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
        let span = crate::log::op_span!("destroy", self.config);
        let result = crate::log::in_span!(span, self.destroy_session());
        crate::log::finish_op(
            &span,
            "destroy",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn destroy_session(&mut self) -> Result<(), Error> {
        self.must_be_open(Operation::Destroy)?;
        self.destroy_cookies().await
    }

    async fn destroy_kind(&mut self, kind: Kind) -> Result<(), Error> {
        let c = self.config.clone();
        let name = kind.cookie_name(&c);
        let meta = self.meta_of(kind).cloned();
        let chunks = match (c.storage(), &meta) {
            (None, Some(m)) => chunk_count(
                name.len(),
                usize::try_from(m.header.data_size).unwrap_or(usize::MAX),
            )?,
            _ => 1,
        };
        let mut working = self.set_cookies.clone();
        for i in 1..=chunks {
            let chunk = chunk_name(name, i);
            let cookie = expired_cookie(&chunk, c.attributes());
            merge_set_cookie(&mut working, &chunk, cookie);
        }
        if let (Some(storage), Some(m)) = (c.storage(), &meta) {
            let key = c.storage_key(&m.header.sid);
            let metadata = self.metadata();
            let timestamp = i64::try_from(m.timestamp).unwrap_or(i64::MAX);
            storage
                .dyn_delete(name, &key, timestamp, metadata.as_ref())
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
}
