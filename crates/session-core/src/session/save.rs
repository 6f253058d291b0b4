//! Saving a session or remember cookie (Lua `save`, docs/semantics.md §7), as named
//! steps: the next header (new session id, creation time kept), the
//! plaintext (entries as JSON, deflated when worth it), the size check,
//! sealing, then writing the record to the store or the payload to the
//! cookie chunks.
//!
//! The byte-level steps are session-codec's pipeline ([`pack`],
//! [`seal_packed`]); this module adds what needs a configuration, a clock,
//! a store or the response.

use std::sync::Arc;

use session_codec::{
    DeflateLevel, Flags, HEADER_ENCODED_SIZE, HEADER_SIZE, Header, MAX_DATA_SIZE, Packed, Sealed,
    b64_encode, b64_encode_into, chunk_count, encode_stored_record, encoded_len, pack_with_level,
    seal_packed, split_payload,
};
use session_storage::{DynStorage, Metadata, SetRequest};

use super::state::Meta;
use super::{Kind, MAX_TTL, Session, State};
use crate::cookie::{chunk_name, expired_cookie, merge_set_cookie, remember_suffix};
use crate::error::{Error, Operation};
use crate::opened::{OpenedKey, header_text};
use crate::payload::{encode_entries, encode_value};

impl Session {
    /// Save the session (Lua `save`, docs/semantics.md §7): a new session id, the
    /// creation time kept, new `Set-Cookie` values (and a remember cookie
    /// when remember is active).
    ///
    /// # Errors
    ///
    /// `unable to save closed session`; size limits; storage failures.
    ///
    /// ```
    /// # session_core::block_on(async {
    /// # use session_core::*;
    /// let mut s = Session::new(&Config::default().build().unwrap(), Request::new());
    /// s.save().await.unwrap();
    /// assert_eq!(s.state(), State::Open);
    /// assert!(s.set_cookies()[0].starts_with("session="));
    /// # });
    /// ```
    pub async fn save(&mut self) -> Result<(), Error> {
        let span = crate::log::op_span!("save", self.config);
        let result = crate::log::in_span!(span, self.save_session());
        crate::log::finish_op(
            &span,
            "save",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn save_session(&mut self) -> Result<(), Error> {
        self.not_closed(Operation::Save)?;
        self.save_cookie(Kind::Session, State::Open).await?;
        if self.remember_active() {
            // Boxed: the remember cookie's open and save would otherwise make every save's
            // future (moved into the caller's) about twice as large.
            Box::pin(self.save_remember()).await;
        }
        Ok(())
    }

    /// Writes the remember cookie; a failure does not fail the operation
    /// that asked for it and is kept in [`Session::warnings`].
    pub(super) async fn save_remember(&mut self) {
        if self.remember_meta.is_none() {
            let _ = self.open_cookie(Kind::Remember, true).await;
        }
        if let Err(e) = self.save_cookie(Kind::Remember, State::Open).await {
            self.warnings.push(e);
        }
    }

    /// Writes the cookie of `kind` (and its record), leaving the session in
    /// `target` when it is the session cookie.
    pub(super) async fn save_cookie(&mut self, kind: Kind, target: State) -> Result<(), Error> {
        let config = self.config.clone();
        let name = kind.cookie_name(&config);
        let previous = self.meta_of(kind).map(|m| m.header);
        let now = config.now();
        let header = self.next_header(previous.as_ref(), now)?;
        self.prune_same_subject();
        let (packed, plain) = self.pack_entries(name)?;
        let chunks = self.chunks_for(name, packed.encoded_len())?;
        // A new session id: its key is derived now (it is in no table of recent keys), on
        // this thread unless it is a remember cookie's PBKDF2.
        let codec_kind = self.codec_kind(kind);
        let cipher_key = if codec_kind.is_slow() {
            Box::pin(self.cipher_key(0, &header.sid, kind)).await?
        } else {
            session_codec::derive_new_cipher_key(config.keys(), &header.sid, codec_kind)
        };
        let bind = self.request.bind(header.flags);
        let sealed = seal_packed(config.keys(), header, &cipher_key, packed, &bind)?;
        let suffix = match kind {
            Kind::Session => String::new(),
            Kind::Remember => remember_suffix(
                header.creation_time,
                u64::try_from(config.remember_rolling_timeout()).unwrap_or(0),
            ),
        };
        let mut working = self.set_cookies.clone();
        let (payload_part, whole) = match config.storage() {
            Some(storage) => {
                let cookie =
                    first_cookie(name, &sealed.raw_header, "", config.attributes(), &suffix);
                merge_set_cookie(&mut working, name, cookie);
                Box::pin(self.write_record(storage, kind, &sealed, previous.as_ref(), now)).await?;
                (sealed.payload, true)
            }
            None => {
                let old_chunks = previous.as_ref().map(|m| {
                    let data_size = usize::try_from(m.data_size).unwrap_or(usize::MAX);
                    chunk_count(name.len(), data_size).unwrap_or(1)
                });
                let first_len =
                    write_chunks(&mut working, name, &sealed, &suffix, config.attributes())?;
                for i in chunks + 1..=old_chunks.unwrap_or(0) {
                    let chunk = chunk_name(name, i);
                    let cookie = expired_cookie(&chunk, config.attributes());
                    merge_set_cookie(&mut working, &chunk, cookie);
                }
                // What the first cookie carries after the header.
                let whole = first_len == sealed.payload.len();
                let mut first_part = sealed.payload;
                first_part.truncate(first_len);
                (first_part, whole)
            }
        };
        self.set_cookies = working;
        // The browser's next request opens this cookie: what that open would decode is what
        // was just encoded, so the cache of opened sessions gets it now (the same terms as
        // after an open: one cookie or a record, a small payload), and the next open is a
        // hit instead of a first open. Only for a session this request opened (a client that
        // sends its cookie back): a new session's first cookie may never come back (a
        // crawler), and keeping it would cost every such save and evict sessions that do.
        // Not when decoding could give other entries back.
        if kind == Kind::Session
            && previous.is_some()
            && whole
            && plain.exact
            && config.opened().keeps_payload(payload_part.len())
            && let Some(text) = self.set_cookies.iter().find_map(|c| header_text(c, name))
        {
            let key = OpenedKey {
                remember: false,
                key_index: 0,
                text: &text,
            };
            config.opened().keep(
                key,
                &sealed.raw_header,
                &sealed.header,
                payload_part.clone(),
                plain.len,
                &self.entries,
            );
        }
        let meta = Meta {
            timestamp: now,
            header: sealed.header,
            key_index: 0,
            payload_part,
        };
        match kind {
            Kind::Session => {
                self.meta = Some(meta);
                self.state = target;
            }
            Kind::Remember => self.remember_meta = Some(meta),
        }
        Ok(())
    }

    /// The header of the next cookie: the session's flags (with STORAGE, and
    /// FORGET kept from the previous cookie), a fresh session id, the
    /// creation time kept and the rolling offset since it.
    fn next_header(&self, previous: Option<&Header>, now: u64) -> Result<Header, Error> {
        let mut flags = self.flags;
        flags.set(Flags::STORAGE, self.config.has_storage());
        let sid = self.config.new_sid().map_err(Error::GenerateSid)?;
        let (creation_time, rolling_offset) = match previous {
            Some(m) => {
                let creation = m.creation_time;
                let elapsed = now.saturating_sub(creation);
                let rolling = u32::try_from(elapsed).map_err(|_| Error::MaxRollingOffset)?;
                (creation, rolling)
            }
            None => (now, 0),
        };
        if creation_time > session_codec::MAX_CREATION_TIME {
            return Err(Error::Codec(session_codec::Error::CreationTimeLimit));
        }
        if previous.is_some_and(|m| m.flags.contains(Flags::FORGET)) {
            flags |= Flags::FORGET;
        }
        Ok(Header::new(flags, sid, creation_time, rolling_offset))
    }

    /// With `enforce_same_subject`, drop the entries whose subject is not the
    /// current entry's.
    fn prune_same_subject(&mut self) {
        if !self.config.enforce_same_subject() || self.entries.len() < 2 {
            return;
        }
        let Some(current) = self.entries.get(self.current) else {
            return;
        };
        let subject = current.subject.clone();
        let keep_index = self.current;
        let (mut index, mut kept, mut new_current) = (0, 0, 0);
        Arc::make_mut(&mut self.entries).retain(|e| {
            let keep = index == keep_index || e.subject == subject;
            if index == keep_index {
                new_current = kept;
            }
            if keep {
                kept += 1;
            }
            index += 1;
            keep
        });
        // The reference leaves the index stale (docs/semantics.md §19 #4); adjust it.
        self.current = new_current;
    }

    /// The plaintext: the entries as lua-cjson writes them, deflated above
    /// `compression_threshold` when that makes them shorter.
    ///
    /// A plaintext that would fit in one cookie (named `name`) even uncompressed is
    /// deflated at zlib level 1 instead of the reference's 6: whatever it compresses to
    /// still fits in one cookie, so the number of cookies never exceeds what the
    /// reference sends, for about a third less CPU (docs/benchmarks.md). Larger ones get
    /// the reference's level. Both open everywhere (docs/crypto.md §10).
    fn pack_entries(&self, name: &str) -> Result<(Packed, Plain), Error> {
        let mut json = Vec::with_capacity(128);
        let exact = encode_entries(&self.entries, &mut json).map_err(Error::JsonEncode)?;
        let plain = Plain {
            len: json.len(),
            exact,
        };
        let limit = self.config.max_plaintext_size();
        if json.len() > limit {
            // It would not open again.
            return Err(Error::PlaintextTooLarge { limit });
        }
        let level = if chunk_count(name.len(), encoded_len(json.len())).is_ok_and(|n| n == 1) {
            DeflateLevel::Fast
        } else {
            DeflateLevel::Reference
        };
        let packed = pack_with_level(json, self.config.compression_threshold(), level);
        Ok((packed, plain))
    }

    /// How many cookies carry a payload of `data_size` characters: one with
    /// a storage (whose record must fit the header's data-size field), else
    /// the chunk plan's count.
    fn chunks_for(&self, name: &str, data_size: usize) -> Result<usize, Error> {
        if self.config.has_storage() {
            if data_size > usize::try_from(MAX_DATA_SIZE).unwrap_or(usize::MAX) {
                return Err(Error::Codec(session_codec::Error::DataSizeLimit));
            }
            Ok(1)
        } else {
            Ok(chunk_count(name.len(), data_size)?)
        }
    }

    /// Server-side storage: the record under the new session id's key, the
    /// previous key kept for `stale_ttl`, with metadata when configured.
    async fn write_record(
        &self,
        storage: &dyn DynStorage,
        kind: Kind,
        sealed: &Sealed,
        previous: Option<&Header>,
        now: u64,
    ) -> Result<(), Error> {
        let config = &self.config;
        let key = config.storage_key(&sealed.header.sid);
        let stored = self.stored_record(&sealed.payload)?;
        let old_key = previous.map(|m| config.storage_key(&m.sid));
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let creation = i64::try_from(sealed.header.creation_time).unwrap_or(i64::MAX);
        let ttl = self.storage_ttl(kind, now, creation);
        let metadata = self.metadata();
        // The reference passes the stale TTL on every save, also without an old key (V7).
        let mut req = SetRequest::new(kind.cookie_name(config), &key, &stored, ttl, now)
            .with_remember(kind == Kind::Remember)
            .with_stale_ttl(config.stale_ttl());
        if let Some(old) = &old_key {
            req = req.with_old_key(old, config.stale_ttl());
        }
        if let Some(m) = &metadata {
            req = req.with_metadata(m);
        }
        storage.dyn_set(&req).await.map_err(Error::Store)
    }

    /// The storage record of `payload` with the info store, if any.
    pub(super) fn stored_record(&self, payload: &str) -> Result<String, Error> {
        let info = match self.info.as_ref().filter(|i| !i.is_empty()) {
            Some(info) => Some(encode_value(info).map_err(Error::InfoJsonEncode)?),
            None => None,
        };
        Ok(encode_stored_record(payload, info.as_deref()))
    }

    /// The storage metadata (docs/payload.md §8): audiences and subjects of the
    /// entries that have both, when `store_metadata` is on.
    pub(super) fn metadata(&self) -> Option<Metadata> {
        if !self.config.store_metadata() {
            return None;
        }
        let mut audiences = Vec::new();
        let mut subjects = Vec::new();
        let single = self.entries.len() == 1;
        for e in self.entries.iter() {
            if let (Some(a), Some(s)) = (&e.audience, &e.subject) {
                audiences.push(b64_encode(a.as_bytes()));
                subjects.push(self.config.metadata_subject(s, single));
            }
        }
        (!audiences.is_empty()).then(|| Metadata::new(audiences, subjects))
    }

    /// The record's TTL: the rolling timeout, capped by what is left of the
    /// absolute timeout (the reference's swapped formula under
    /// `compat_reference_storage_ttl`), at most [`MAX_TTL`], at least 1.
    fn storage_ttl(&self, kind: Kind, now: i64, creation: i64) -> u64 {
        let (a, r) = self.lifetimes(kind);
        let mut ttl = MAX_TTL;
        if r > 0 && r < MAX_TTL {
            ttl = r;
        }
        if a > 0 && a < MAX_TTL {
            let elapsed = now - creation;
            let left = if self.config.reference_storage_ttl() {
                a.saturating_add(elapsed)
            } else {
                a.saturating_sub(elapsed)
            };
            ttl = ttl.min(left);
        }
        u64::try_from(ttl.max(1)).unwrap_or(1)
    }
}

/// What [`Session::pack_entries`] learnt of the plaintext.
struct Plain {
    /// Its length before deflate.
    len: usize,
    /// Whether decoding it gives back exactly the session's entries.
    exact: bool,
}

/// `NAME=<header><part><attributes><suffix>`: the first (or only) cookie.
fn first_cookie(
    name: &str,
    raw_header: &[u8; HEADER_SIZE],
    part: &str,
    attributes: &str,
    suffix: &str,
) -> String {
    let mut cookie = String::with_capacity(
        name.len() + 1 + HEADER_ENCODED_SIZE + part.len() + attributes.len() + suffix.len(),
    );
    cookie.push_str(name);
    cookie.push('=');
    b64_encode_into(raw_header, &mut cookie);
    cookie.push_str(part);
    cookie.push_str(attributes);
    cookie.push_str(suffix);
    cookie
}

/// Cookie storage: the header and payload split over `NAME`, `NAME2`, …
/// (docs/cookie-format.md §6), merged into `working`. Returns the length of the part the
/// first cookie carries.
fn write_chunks(
    working: &mut Vec<String>,
    name: &str,
    sealed: &Sealed,
    suffix: &str,
    attributes: &str,
) -> Result<usize, Error> {
    let parts = split_payload(name.len(), &sealed.payload)?;
    for (i, part) in parts.iter().enumerate() {
        let index = i + 1;
        if index == 1 {
            let cookie = first_cookie(name, &sealed.raw_header, part, attributes, suffix);
            merge_set_cookie(working, name, cookie);
        } else {
            let chunk = chunk_name(name, index);
            let cookie = format!("{chunk}={part}{attributes}{suffix}");
            merge_set_cookie(working, &chunk, cookie);
        }
    }
    Ok(parts.first().map_or(0, |p| p.len()))
}
