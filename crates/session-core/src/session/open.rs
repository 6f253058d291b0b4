//! Opening a session or remember cookie (Lua `open`, docs/semantics.md §5-§6), as
//! named steps: find the cookie, decode the header, check the storage flag
//! and the age, verify the MAC, load the payload (from the store or the
//! cookie chunks), record the metadata, decrypt, decode the entries, pick
//! this instance's audience.
//!
//! The byte-level steps are session-codec's pipeline
//! ([`decode_payload`], [`unseal`]); this module adds what needs a
//! configuration, a clock, a store or the request.

use std::sync::Arc;

use serde_json::{Map, Value};
use session_codec::{
    CipherKey, Flags, HEADER_ENCODED_SIZE, Header, SessionId, assemble_payload, chunk_count,
    decode_payload, parse_stored_record,
};

use session_storage::DynStorage;

use super::state::Meta;
use super::{Kind, Session, State};
use crate::config::SessionConfig;
use crate::cookie::{chunk_name, find_cookie};
use crate::error::Error;
use crate::opened::{HeaderText, OpenedKey};
use crate::payload::{Entry, open_entries, open_inline, opens_inline};

/// The payload of a cookie, loaded from the store or the cookie chunks.
struct Loaded {
    /// The whole payload, base64url text.
    payload: String,
    /// The length of the prefix [`Meta::payload_part`] keeps: the whole payload, or for a
    /// payload across several cookies what the first one carries.
    part_len: usize,
    /// The stored record's info store (server-side storage only).
    info: Option<Map<String, Value>>,
}

/// A loaded payload, decoded, or answered from the opened-sessions cache.
enum Decoded {
    /// The ciphertext, base64url-decoded.
    Ciphertext(Vec<u8>),
    /// The entries kept for the same bytes ([`crate::opened`]).
    Kept(Arc<Vec<Entry>>),
}

impl Session {
    /// Open the session from the request's cookies (Lua `open`, docs/semantics.md
    /// §5-§6), falling back to the remember cookie when enabled.
    ///
    /// # Errors
    ///
    /// The reference's reason: `missing session cookie`, `invalid session
    /// header`, timeouts, MAC, decryption, `missing session audience` (the
    /// cookie's other audiences are then kept for the next save), ….
    ///
    /// ```
    /// # session_core::block_on(async {
    /// use session_core::{Config, Request, Session};
    /// let config = Config::default().build().unwrap();
    /// let mut s = Session::new(&config, Request::new());
    /// assert_eq!(s.open().await.unwrap_err().to_string(), "missing session cookie");
    /// # });
    /// ```
    pub async fn open(&mut self) -> Result<(), Error> {
        let span = crate::log::op_span!("open", self.config);
        let result = crate::log::in_span!(span, self.open_session());
        crate::log::finish_op(
            &span,
            "open",
            &result,
            self.meta.as_ref().map(|m| &m.header.sid),
        );
        result
    }

    async fn open_session(&mut self) -> Result<(), Error> {
        let err = match self.open_cookie(Kind::Session, false).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if err.is_audience_error() || !self.remember {
            return Err(err);
        }
        // Boxed: the remember path's three cookie operations would otherwise make every
        // open's future (moved on each call) larger.
        Box::pin(self.open_remembered(err)).await
    }

    /// The session cookie did not open (`err`) and remember-me is on: open the remember
    /// cookie and, when it opens, save a fresh session from it.
    async fn open_remembered(&mut self, err: Error) -> Result<(), Error> {
        if let Err(remember_err) = self.open_cookie(Kind::Remember, false).await {
            // A revoked remember cookie says so (extension: `revocation`).
            return Err(match remember_err {
                Error::Revoked(_) => remember_err,
                _ => err,
            });
        }
        self.save_cookie(Kind::Remember, State::Open).await?;
        self.meta = None;
        self.state = State::New;
        self.save_cookie(Kind::Session, State::Open).await
    }

    /// Opens the cookie of `kind`; with `meta_only`, stops once its metadata
    /// is recorded (what destroy and the remember save need).
    pub(super) async fn open_cookie(&mut self, kind: Kind, meta_only: bool) -> Result<(), Error> {
        let config = self.config.clone();
        let name = kind.cookie_name(&config);
        let now = config.now();
        let (value, tail_invalid) = self.first_cookie_value(name)?;
        let remember = kind == Kind::Remember;
        // A header text opened before needs no decoding, and no MAC when it binds to nothing.
        let (header, raw, known_key, header_known) = match config.opened().known(remember, value) {
            Some(known) => (known.header, known.raw, known.key_index, true),
            None => {
                let (header, raw) = Header::decode_base64(value)?;
                (header, raw, None, false)
            }
        };
        let text: HeaderText = value
            .as_bytes()
            .get(..HEADER_ENCODED_SIZE)
            .and_then(|t| t.try_into().ok())
            .ok_or(Error::Codec(session_codec::Error::InvalidHeader))?;
        if header.flags.contains(Flags::STORAGE) != config.has_storage() {
            return Err(Error::Codec(session_codec::Error::InvalidFlags));
        }
        self.check_age(kind, &header, now)?;
        let key_index = match known_key {
            Some(index) => index,
            None => config
                .keys()
                .verify_mac(&raw, &self.request.bind(header.flags))?,
        };
        let loaded = match config.storage() {
            Some(storage) => Self::load_stored(storage, &config, name, &header, now).await?,
            None => self.load_chunks(name, &header, value, tail_invalid)?,
        };
        let opened_key = OpenedKey {
            remember,
            key_index,
            text: &text,
        };
        // Entries are kept under their header text: a header the cache did not know has none.
        let kept = if meta_only || !header_known {
            None
        } else {
            config.opened().entries(opened_key, &loaded.payload)
        };
        let decoded = match kept {
            Some(entries) => Decoded::Kept(entries),
            None => Decoded::Ciphertext(decode_payload(&header, &loaded.payload)?),
        };
        let Loaded {
            mut payload,
            part_len,
            info,
        } = loaded;
        let whole_payload = part_len == payload.len();
        payload.truncate(part_len);
        // Record the metadata before decrypting, as the reference does.
        let meta = Meta {
            timestamp: now,
            header,
            key_index,
            payload_part: payload,
        };
        let meta = match kind {
            Kind::Session => self.meta.insert(meta),
            Kind::Remember => self.remember_meta.insert(meta),
        };
        if meta_only {
            return Ok(());
        }
        let entries = match decoded {
            Decoded::Kept(entries) => entries,
            Decoded::Ciphertext(ciphertext) => {
                // The payload's text, for the cache, when the metadata kept all of it.
                let kept_text = (whole_payload
                    && config.opened().keeps_payload(meta.payload_part.len()))
                .then(|| meta.payload_part.clone());
                // An HKDF key and a small plain payload open on this thread: no sub-future
                // built and moved. A remember cookie's PBKDF2 key may move off it.
                let codec_kind = self.codec_kind(kind);
                let cipher_key = if codec_kind.is_slow() {
                    Box::pin(self.cipher_key(key_index, &header.sid, kind)).await?
                } else {
                    session_codec::derive_cipher_key(
                        config.keys(),
                        key_index,
                        &header.sid,
                        codec_kind,
                    )?
                };
                let limit = config.max_plaintext_size();
                let (entries, plaintext_len) = if opens_inline(&header, ciphertext.len()) {
                    open_inline(&header, &cipher_key, ciphertext, limit)?
                } else {
                    Box::pin(open_entries(header, cipher_key, ciphertext, limit)).await?
                };
                let entries = Arc::new(entries);
                if let Some(payload_text) = kept_text {
                    config.opened().keep(
                        opened_key,
                        &raw,
                        &header,
                        payload_text,
                        plaintext_len,
                        &entries,
                    );
                }
                entries
            }
        };
        if let Some(revocation) = config.revocation() {
            Box::pin(revocation.check(now, &header, &entries)).await?;
        }
        if config.has_storage() {
            self.install_info(info);
        }
        self.select_audience(entries)
    }

    /// The value of cookie `name` as text, and whether a non-UTF-8 tail was
    /// cut off. Cookie values are ASCII when valid; a non-UTF-8 tail can only
    /// be a broken payload, which the base64 step reports.
    fn first_cookie_value(&self, name: &str) -> Result<(&str, bool), Error> {
        let value = find_cookie(&self.request.cookies, name).ok_or(Error::MissingCookie)?;
        let (value, tail_invalid) = match std::str::from_utf8(value) {
            Ok(v) => (v, false),
            Err(e) => {
                let valid = &value[..e.valid_up_to()];
                (std::str::from_utf8(valid).unwrap_or_default(), true)
            }
        };
        if tail_invalid && value.len() < HEADER_ENCODED_SIZE {
            return Err(Error::Codec(session_codec::Error::HeaderBase64));
        }
        Ok((value, tail_invalid))
    }

    /// The age checks (docs/semantics.md §5): lifetime, absolute and rolling timeouts,
    /// then the idling timeout (session cookie) or a zero idling offset
    /// (remember cookie).
    fn check_age(&self, kind: Kind, header: &Header, now: u64) -> Result<(), Error> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let creation = i64::try_from(header.creation_time).unwrap_or(i64::MAX);
        let age = now - creation;
        if age > i64::from(u32::MAX) {
            return Err(Error::LifetimeExceeded);
        }
        let (absolute, rolling) = self.lifetimes(kind);
        if absolute != 0 && age > absolute {
            return Err(match kind {
                Kind::Session => Error::AbsoluteTimeout,
                Kind::Remember => Error::RememberAbsoluteTimeout,
            });
        }
        let since_save = age - i64::from(header.rolling_offset);
        if rolling != 0 && since_save > rolling {
            return Err(match kind {
                Kind::Session => Error::RollingTimeout,
                Kind::Remember => Error::RememberRollingTimeout,
            });
        }
        let idling = self.config.idling_timeout();
        match kind {
            Kind::Remember if header.idling_offset != 0 => {
                Err(Error::Codec(session_codec::Error::InvalidIdlingOffset))
            }
            Kind::Session
                if idling != 0 && since_save - i64::from(header.idling_offset) > idling =>
            {
                Err(Error::IdlingTimeout)
            }
            _ => Ok(()),
        }
    }

    /// Server-side storage: the record under the session id's key, parsed
    /// (docs/payload.md §6), its payload checked and decoded.
    async fn load_stored(
        storage: &dyn DynStorage,
        config: &SessionConfig,
        name: &str,
        header: &Header,
        now: u64,
    ) -> Result<Loaded, Error> {
        let key = config.storage_key(&header.sid);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let stored = storage
            .dyn_get(name, &key, now)
            .await
            .map_err(|e| Error::Load(Some(e)))?
            .ok_or(Error::Load(None))?;
        let record = parse_stored_record(stored)?;
        Ok(Loaded {
            part_len: record.payload.len(),
            payload: record.payload,
            info: record.info,
        })
    }

    /// Cookie storage: the payload after the header, across chunk cookies
    /// `NAME2`…`NAMEn` (docs/cookie-format.md §6.3), decoded.
    fn load_chunks(
        &self,
        name: &str,
        header: &Header,
        value: &str,
        tail_invalid: bool,
    ) -> Result<Loaded, Error> {
        let data_size = usize::try_from(header.data_size).unwrap_or(usize::MAX);
        let cookies = &self.request.cookies;
        let payload = assemble_payload(name.len(), data_size, value, |i| {
            find_cookie(cookies, &chunk_name(name, i)).and_then(|v| std::str::from_utf8(v).ok())
        })?;
        if tail_invalid {
            return Err(Error::Codec(session_codec::Error::PayloadBase64));
        }
        let payload = payload.into_owned();
        let part_len = if chunk_count(name.len(), data_size)? == 1 {
            payload.len()
        } else {
            // The chunks are concatenated after the first cookie's part.
            value
                .len()
                .saturating_sub(HEADER_ENCODED_SIZE)
                .min(payload.len())
        };
        Ok(Loaded {
            payload,
            part_len,
            info: None,
        })
    }

    /// Install a loaded record's info store (docs/payload.md §7.2), keeping this
    /// instance's own entry when the record has none for its audience.
    fn install_info(&mut self, stored: Option<Map<String, Value>>) {
        self.info = match stored {
            Some(mut stored) => {
                if let Some(aud) = self.entry().audience.clone()
                    && !stored.contains_key(&aud)
                    && let Some(mine) = self.info.as_ref().and_then(|i| i.get(&aud))
                {
                    stored.insert(aud, mine.clone());
                }
                Some(stored)
            }
            None => None,
        };
    }

    /// Make the opened entries the session's, current on this instance's
    /// audience; without one, keep them for the next save and append this
    /// instance's own entry (`missing session audience`, docs/payload.md §2).
    fn select_audience(&mut self, mut entries: Arc<Vec<Entry>>) -> Result<(), Error> {
        let audience = self.entry().audience.as_deref();
        let found = entries
            .iter()
            .position(|e| e.audience.is_some() && e.audience.as_deref() == audience);
        match found {
            Some(index) => {
                self.entries = entries;
                self.current = index;
                self.state = State::Open;
                Ok(())
            }
            None => {
                let own = self.entry().clone();
                Arc::make_mut(&mut entries).push(own);
                self.current = entries.len() - 1;
                self.entries = entries;
                self.state = State::New;
                Err(Error::MissingAudience)
            }
        }
    }

    /// The cipher key of the key at `key_index` for the cookie of `kind`:
    /// an HKDF-expand over the key's cached extract, or, for a remember
    /// cookie at Low safety or above, PBKDF2 — run on a blocking thread when
    /// inside a Tokio runtime (feature `tokio`). Open and save call it for the
    /// PBKDF2 kinds only and derive an HKDF key on their own thread.
    pub(super) async fn cipher_key(
        &self,
        key_index: usize,
        sid: &SessionId,
        kind: Kind,
    ) -> Result<CipherKey, Error> {
        let codec_kind = self.codec_kind(kind);
        #[cfg(feature = "tokio")]
        if codec_kind.is_slow()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let config = self.config.clone();
            let sid = *sid;
            return handle
                .spawn_blocking(move || {
                    session_codec::derive_cipher_key(config.keys(), key_index, &sid, codec_kind)
                })
                .await
                .map_err(Error::Blocking)?
                .map_err(Error::Codec);
        }
        Ok(session_codec::derive_cipher_key(
            self.config.keys(),
            key_index,
            sid,
            codec_kind,
        )?)
    }
}
