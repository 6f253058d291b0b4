//! The decoded headers and entries of recently opened sessions, per built configuration.
//!
//! A browser sends the same cookie on every request until the session is saved again, and
//! every open of it base64-decodes the same header and payload, verifies the same MAC,
//! decrypts the same ciphertext under the same key and parses the same JSON. All of it is a
//! pure function of the configuration and the cookie's bytes, except the MAC of a header
//! that binds to the request (address, scheme, user agent): the header is a function of its
//! text; the key that verifies its MAC, of its bytes when it binds to nothing; the entries,
//! of the cookie kind, that key, the header (which carries the session id the cipher key is
//! derived from, and the payload's tag, size and flags) and the payload's text, since
//! AES-GCM authenticates the ciphertext. This table keeps them for the sessions opened
//! last, so the same bytes again are answered from it:
//!
//! - the same header text: its decoded header, and for a header that binds to nothing the
//!   index of the key whose MAC matched (a bound header's MAC is computed again);
//! - the same header text, key and payload text: the entries, shared with the session until
//!   it first changes them (copy on write).
//!
//! A hit still runs every check that depends on the time or the request: the storage flag,
//! the age and timeouts, a bound MAC, the stored record's presence (server-side storage),
//! revocation, the audience.
//!
//! - Direct-mapped: 1 024 slots chosen by a hash of the header text's session-id characters
//!   (random: drawn by a CSPRNG, ours or the reference's); a newer session evicts the slot's
//!   previous one. The table is allocated when the first session opens (16 KiB).
//! - Filled only after a full open succeeded (MAC, decryption, inflation and JSON decoding),
//!   or by the save that wrote the cookie of a session its request opened, which keeps the
//!   entries it encoded when decoding them gives back exactly those (no floating-point
//!   numbers): the browser's next request then opens it from here (a new session's first
//!   cookie is not kept: its client may never send it back). A touch moves its session's
//!   entry to the new header text. A forged or broken cookie keeps and evicts nothing.
//! - Bounded: only payloads of at most [`MAX_PAYLOAD`] characters whose plaintext is at most
//!   [`MAX_PLAINTEXT`] bytes are kept (worst case about 9 MiB for a full table of such
//!   sessions; a small session's entry is well under 1 KiB). Server-side records are kept on
//!   the same terms, compared by their payload text.
//! - Texts are compared without early exit; a busy or poisoned slot is a miss (no waiting,
//!   no panic).
//! - It holds decoded session data (not keys) in memory beyond the request, as the
//!   in-process stores hold their records;
//!   [`SessionConfigBuilder::opened_cache`](crate::config::SessionConfigBuilder::opened_cache)
//!   turns it off.

use std::sync::{Arc, Mutex, OnceLock};

use session_codec::{HEADER_ENCODED_SIZE, HEADER_SIZE, Header, constant_time_eq};

use crate::payload::Entry;

/// Slots per configuration (a power of two).
const SLOTS: usize = 1024;
/// The longest payload text (base64url characters) kept.
pub(crate) const MAX_PAYLOAD: usize = 4096;
/// The longest plaintext (bytes) whose entries are kept.
pub(crate) const MAX_PLAINTEXT: usize = 4096;

/// The header text of a cookie (its first 110 characters).
pub(crate) type HeaderText = [u8; HEADER_ENCODED_SIZE];

/// The header text of `cookie` when it is `name=<value>…` (a `Set-Cookie` value).
pub(crate) fn header_text(cookie: &str, name: &str) -> Option<HeaderText> {
    let value = cookie.strip_prefix(name)?.strip_prefix('=')?;
    value.as_bytes().get(..HEADER_ENCODED_SIZE)?.try_into().ok()
}

/// What identifies an opened cookie: its kind, the key that verified it, its header's text.
#[derive(Clone, Copy)]
pub(crate) struct OpenedKey<'a> {
    /// A remember cookie (whose cipher key is derived otherwise).
    pub(crate) remember: bool,
    /// The index of the key whose MAC matched.
    pub(crate) key_index: usize,
    /// The header's text.
    pub(crate) text: &'a HeaderText,
}

/// A header text opened before: its bytes, decoded, and the key that verified its MAC when
/// that MAC depends on the header's bytes alone.
pub(crate) struct Known {
    pub(crate) header: Header,
    pub(crate) raw: [u8; HEADER_SIZE],
    /// `None` when the header binds to the request (its MAC must be computed again).
    pub(crate) key_index: Option<usize>,
}

struct Opened {
    remember: bool,
    key_index: usize,
    text: HeaderText,
    raw: [u8; HEADER_SIZE],
    header: Header,
    payload: Box<str>,
    entries: Arc<Vec<Entry>>,
}

/// The slot of a header text: a multiplicative hash of the characters that carry the start
/// of the session id (the type byte and the flags take the first four).
fn slot_index(text: &HeaderText) -> usize {
    let mut word = [0u8; 8];
    word.copy_from_slice(&text[4..12]);
    let hash = u64::from_le_bytes(word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top ten bits: SLOTS is 1 << 10.
    usize::try_from(hash >> 54).unwrap_or_default() & (SLOTS - 1)
}

/// One slot: a session opened last among those whose header text hashes here.
type Slot = Mutex<Option<Box<Opened>>>;

/// The table (see the module docs). `enabled = false` makes every lookup a miss.
pub(crate) struct OpenedCache {
    enabled: bool,
    slots: OnceLock<Box<[Slot]>>,
}

impl OpenedCache {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            slots: OnceLock::new(),
        }
    }

    fn slot(&self, text: &HeaderText) -> Option<&Slot> {
        self.slots.get()?.get(slot_index(text))
    }

    /// The header of `cookie_value` when a cookie with the same header text was opened
    /// before (its MAC matched then).
    pub(crate) fn known(&self, remember: bool, cookie_value: &str) -> Option<Known> {
        if !self.enabled {
            return None;
        }
        let text: &HeaderText = cookie_value
            .as_bytes()
            .get(..HEADER_ENCODED_SIZE)?
            .try_into()
            .ok()?;
        let slot = self.slot(text)?.try_lock().ok()?;
        let opened = slot.as_ref()?;
        if !(constant_time_eq(&opened.text, text) & (opened.remember == remember)) {
            return None;
        }
        let unbound = !opened.header.flags.binds_request();
        Some(Known {
            header: opened.header,
            raw: opened.raw,
            key_index: unbound.then_some(opened.key_index),
        })
    }

    /// The entries kept for exactly this header text, key and payload text, shared: a
    /// session copies them when it first changes them.
    pub(crate) fn entries(&self, key: OpenedKey<'_>, payload: &str) -> Option<Arc<Vec<Entry>>> {
        if !self.enabled || payload.len() > MAX_PAYLOAD {
            return None;
        }
        let slot = self.slot(key.text)?.try_lock().ok()?;
        let opened = slot.as_ref()?;
        // Both sides passed the MAC check, so neither is forged; still, whether a slot holds
        // another session's bytes must not show in the time taken.
        let same = constant_time_eq(&opened.text, key.text)
            & constant_time_eq(opened.payload.as_bytes(), payload.as_bytes())
            & (opened.remember == key.remember)
            & (opened.key_index == key.key_index);
        same.then(|| Arc::clone(&opened.entries))
    }

    /// Whether a payload of `len` characters can be kept (what to copy it for).
    pub(crate) fn keeps_payload(&self, len: usize) -> bool {
        self.enabled && len <= MAX_PAYLOAD
    }

    /// Keep `entries`, opened from `payload` (whose plaintext was `plaintext_len` bytes)
    /// under `key` and the header `raw` (decoded: `header`), when they are small enough.
    pub(crate) fn keep(
        &self,
        key: OpenedKey<'_>,
        raw: &[u8; HEADER_SIZE],
        header: &Header,
        payload: String,
        plaintext_len: usize,
        entries: &Arc<Vec<Entry>>,
    ) {
        if !self.keeps_payload(payload.len()) || plaintext_len > MAX_PLAINTEXT {
            return;
        }
        self.slots.get_or_init(|| {
            (0..SLOTS)
                .map(|_| Mutex::new(None))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        let opened = Opened {
            remember: key.remember,
            key_index: key.key_index,
            text: *key.text,
            raw: *raw,
            header: *header,
            payload: payload.into_boxed_str(),
            entries: Arc::clone(entries),
        };
        let Some(slot) = self.slot(key.text) else {
            return;
        };
        let Ok(mut slot) = slot.try_lock() else {
            return;
        };
        // The evicted session's box is reused; what it held is dropped after the lock is
        // released.
        let evicted = match slot.as_deref_mut() {
            Some(kept) => Some(std::mem::replace(kept, opened)),
            None => {
                *slot = Some(Box::new(opened));
                None
            }
        };
        drop(slot);
        drop(evicted);
    }
}

impl OpenedCache {
    /// A touch rewrote the header `old` (bytes) of a session cookie verified by key
    /// `key_index` (a new idling offset and MAC; the same type, flags and session id, so the
    /// same slot, and the same payload, which the idling offset is not authenticated with):
    /// the kept entries now answer the new header text, `text` (bytes `raw`, decoded
    /// `header`). Nothing changes when the slot holds something else.
    pub(crate) fn touched(
        &self,
        old: &[u8; HEADER_SIZE],
        key_index: usize,
        text: &HeaderText,
        raw: &[u8; HEADER_SIZE],
        header: &Header,
    ) {
        if !self.enabled {
            return;
        }
        let Some(slot) = self.slot(text) else {
            return;
        };
        let Ok(mut slot) = slot.try_lock() else {
            return;
        };
        if let Some(opened) = slot.as_deref_mut()
            && constant_time_eq(&opened.raw, old)
                & !opened.remember
                & (opened.key_index == key_index)
        {
            opened.text = *text;
            opened.raw = *raw;
            opened.header = *header;
        }
    }
}

impl std::fmt::Debug for OpenedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCache")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use session_codec::Flags;

    use crate::{Config, Request, Session, block_on};

    fn entries(user: &str) -> Arc<Vec<Entry>> {
        let mut e = Entry::new("default", None);
        e.data = crate::payload::Data::new(json!({ "user": user }));
        Arc::new(vec![e])
    }

    /// A real cookie's header text, bytes, decoded header and payload text.
    struct Saved {
        text: HeaderText,
        raw: [u8; HEADER_SIZE],
        header: Header,
        payload: String,
    }

    impl Saved {
        /// Keeps `user`'s entries in `cache` under this cookie's header, with `text` and
        /// `payload` as the texts they were opened from.
        fn keep(
            &self,
            cache: &OpenedCache,
            text: &HeaderText,
            payload: &str,
            len: usize,
            user: &str,
        ) {
            cache.keep(
                key(text),
                &self.raw,
                &self.header,
                payload.into(),
                len,
                &entries(user),
            );
        }
    }

    fn cookie(bind: bool) -> Saved {
        let config = Config {
            secret: Some("RaJKp8UQW1".into()),
            bind: bind.then(|| vec!["scheme".into()]),
            ..Config::default()
        }
        .build()
        .unwrap();
        let mut s = Session::new(&config, Request::new());
        s.set("user", "john").unwrap();
        block_on(s.save()).unwrap();
        let set_cookie = &s.set_cookies()[0];
        let value = set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1;
        let (header, raw) = Header::decode_base64(value).unwrap();
        let text = value.as_bytes()[..HEADER_ENCODED_SIZE].try_into().unwrap();
        Saved {
            text,
            raw,
            header,
            payload: value[HEADER_ENCODED_SIZE..].to_owned(),
        }
    }

    fn key(text: &HeaderText) -> OpenedKey<'_> {
        OpenedKey {
            remember: false,
            key_index: 0,
            text,
        }
    }

    fn value(text: &HeaderText, payload: &str) -> String {
        format!("{}{payload}", std::str::from_utf8(text).unwrap())
    }

    #[test]
    fn the_same_bytes_again_are_answered_and_any_other_bytes_are_not() {
        let cache = OpenedCache::new(true);
        let saved = cookie(false);
        let (text, payload) = (saved.text, &saved.payload);
        assert!(cache.entries(key(&text), payload).is_none(), "empty table");
        assert!(cache.known(false, &value(&text, payload)).is_none());
        saved.keep(&cache, &text, payload, 20, "john");
        assert_eq!(cache.entries(key(&text), payload), Some(entries("john")));
        let known = cache.known(false, &value(&text, payload)).unwrap();
        assert!(known.header == saved.header && known.raw == saved.raw);
        assert_eq!(known.key_index, Some(0), "unbound: no MAC to compute");

        let mut other = payload.clone();
        other.push('A');
        assert!(
            cache.entries(key(&text), &other).is_none(),
            "longer payload"
        );
        other.pop();
        other.replace_range(0..1, if payload.starts_with('A') { "B" } else { "A" });
        assert!(cache.entries(key(&text), &other).is_none(), "other payload");
        let mut other_mac = text;
        other_mac[HEADER_ENCODED_SIZE - 2] ^= 1;
        assert!(cache.entries(key(&other_mac), payload).is_none());
        assert!(cache.known(false, &value(&other_mac, payload)).is_none());
        assert!(
            cache.known(true, &value(&text, payload)).is_none(),
            "other kind"
        );
        let remember = OpenedKey {
            remember: true,
            ..key(&text)
        };
        assert!(cache.entries(remember, payload).is_none(), "other kind");
        let other_key = OpenedKey {
            key_index: 1,
            ..key(&text)
        };
        assert!(cache.entries(other_key, payload).is_none(), "other key");
        assert!(
            cache.known(false, &value(&text, payload)[..100]).is_none(),
            "short"
        );
    }

    #[test]
    fn a_bound_header_is_known_but_its_mac_is_computed_again() {
        let cache = OpenedCache::new(true);
        let saved = cookie(true);
        let (text, payload) = (saved.text, &saved.payload);
        assert!(saved.header.flags.contains(Flags::BIND_SCHEME));
        saved.keep(&cache, &text, payload, 20, "john");
        let known = cache.known(false, &value(&text, payload)).unwrap();
        assert!(known.raw == saved.raw);
        assert_eq!(known.key_index, None);
    }

    #[test]
    fn a_session_in_the_same_slot_evicts_the_previous_one() {
        let cache = OpenedCache::new(true);
        let saved = cookie(false);
        let (a, payload) = (saved.text, &saved.payload);
        saved.keep(&cache, &a, payload, 1, "a");
        // Another text in the same slot: the same session-id characters, another MAC.
        let mut b = a;
        b[HEADER_ENCODED_SIZE - 2] ^= 1;
        assert_eq!(slot_index(&a), slot_index(&b));
        saved.keep(&cache, &b, payload, 1, "b");
        assert!(cache.entries(key(&a), payload).is_none());
        assert_eq!(cache.entries(key(&b), payload), Some(entries("b")));
        // A text in another slot leaves it alone.
        let mut c = a;
        c[4] = if c[4] == b'A' { b'B' } else { b'A' };
        assert_ne!(slot_index(&a), slot_index(&c));
        saved.keep(&cache, &c, payload, 1, "c");
        assert_eq!(cache.entries(key(&b), payload), Some(entries("b")));
    }

    #[test]
    fn large_payloads_and_plaintexts_are_not_kept_and_a_disabled_table_keeps_nothing() {
        let cache = OpenedCache::new(true);
        let saved = cookie(false);
        let (text, payload) = (saved.text, &saved.payload);
        let long = "x".repeat(MAX_PAYLOAD + 1);
        saved.keep(&cache, &text, &long, 10, "a");
        assert!(cache.entries(key(&text), &long).is_none());
        saved.keep(&cache, &text, "p", MAX_PLAINTEXT + 1, "a");
        assert!(cache.entries(key(&text), "p").is_none());

        let off = OpenedCache::new(false);
        saved.keep(&off, &text, payload, 1, "a");
        assert!(off.entries(key(&text), payload).is_none());
        assert!(off.known(false, &value(&text, payload)).is_none());
        assert!(off.slots.get().is_none(), "nothing allocated");
    }

    #[test]
    fn slots_spread_random_session_ids() {
        // 4 096 random header texts over 1 024 slots: every slot is used about four times.
        let mut counts = vec![0u32; SLOTS];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..4 * SLOTS {
            let mut text = [b'A'; HEADER_ENCODED_SIZE];
            for c in &mut text[4..48] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *c = alphabet[usize::try_from(x % 64).unwrap()];
            }
            counts[slot_index(&text)] += 1;
        }
        let used = counts.iter().filter(|&&c| c > 0).count();
        assert!(used > SLOTS * 9 / 10, "{used} of {SLOTS} slots used");
        assert!(counts.iter().all(|&c| c < 20), "no crowded slot");
    }
}

/// The cache seen through sessions: what it answers, and what still runs on a hit.
#[cfg(test)]
mod session_tests {
    use std::sync::Arc;

    use session_codec::HEADER_ENCODED_SIZE;
    use session_storage::memory::MemoryStorage;

    use crate::env::FixedClock;
    use crate::{Config, Error, Request, Session, SessionConfig, block_on};

    fn config(clock: &Arc<FixedClock>, cache: bool) -> SessionConfig {
        Config {
            secret: Some("RaJKp8UQW1".into()),
            idling_timeout: Some(60),
            ..Config::default()
        }
        .builder()
        .clock(clock.clone())
        .opened_cache(cache)
        .build()
        .unwrap()
    }

    /// The `Cookie` header value that a save of `user` sets.
    fn saved(config: &SessionConfig, user: &str) -> String {
        let mut s = Session::new(config, Request::new());
        s.set("user", user).unwrap();
        block_on(s.save()).unwrap();
        first_cookie(&s)
    }

    /// The `Cookie` header value for the first cookie `s` sets.
    fn first_cookie(s: &Session) -> String {
        s.set_cookies()[0].split(';').next().unwrap().to_owned()
    }

    fn open(config: &SessionConfig, cookie: &str) -> Result<Option<String>, Error> {
        let mut s = Session::new(config, Request::new().with_cookie(cookie.to_owned()));
        block_on(s.open())?;
        s.get::<String>("user")
    }

    /// Whether the cache holds the entries of `cookie` (a session cookie under key 0).
    fn cached(config: &SessionConfig, cookie: &str) -> bool {
        let value = cookie.split_once('=').unwrap().1;
        let text = value.as_bytes()[..HEADER_ENCODED_SIZE].try_into().unwrap();
        let payload = &value[HEADER_ENCODED_SIZE..];
        let key = super::OpenedKey {
            remember: false,
            key_index: 0,
            text: &text,
        };
        config.opened().entries(key, payload).is_some()
            && config.opened().known(false, value).is_some()
    }

    #[test]
    fn a_reopened_cookie_is_answered_from_the_cache_and_still_times_out() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, true);
        let cookie = saved(&config, "john");
        assert!(
            !cached(&config, &cookie),
            "a new session's save keeps nothing"
        );
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert!(cached(&config, &cookie));

        // A change made on a hit is the request's own.
        let mut s = Session::new(&config, Request::new().with_cookie(cookie.clone()));
        block_on(s.open()).unwrap();
        s.set("user", "jane").unwrap();
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));

        // The age checks run on a hit too.
        clock.advance(61);
        assert!(matches!(open(&config, &cookie), Err(Error::IdlingTimeout)));
    }

    #[test]
    fn a_save_keeps_its_entries_unless_decoding_could_differ() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, true);
        // A new session's cookie is not kept: its client may never send it back.
        let first = saved(&config, "john");
        assert!(!cached(&config, &first));
        // A session the request opened (its client sends cookies back) is kept when saved;
        // a change after the save is the session's own (copy on write), not the cookie's.
        let mut s = Session::new(&config, Request::new().with_cookie(first.clone()));
        block_on(s.open()).unwrap();
        s.set("user", "jim").unwrap();
        block_on(s.save()).unwrap();
        let cookie = first_cookie(&s);
        s.set("user", "jane").unwrap();
        assert!(cached(&config, &cookie));
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("jim"));
        drop(s);

        // A floating-point number may decode to a neighbouring value: nothing kept, and
        // the open decodes the cookie (and keeps what it decoded).
        let mut s = Session::new(&config, Request::new().with_cookie(cookie.clone()));
        block_on(s.open()).unwrap();
        s.set("score", &0.1_f64).unwrap();
        block_on(s.save()).unwrap();
        let with_float = first_cookie(&s);
        assert!(!cached(&config, &with_float));
        assert_eq!(open(&config, &with_float).unwrap().as_deref(), Some("jim"));
        assert!(cached(&config, &with_float));

        // A payload over several cookies is not kept (an open keeps none either).
        let mut s = Session::new(&config, Request::new().with_cookie(cookie));
        block_on(s.open()).unwrap();
        let mut x = 1u64;
        let noise: String = (0..6000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + u8::try_from(x % 26).unwrap())
            })
            .collect();
        s.set("noise", &noise).unwrap();
        block_on(s.save()).unwrap();
        assert!(s.set_cookies().len() > 1, "{}", s.set_cookies().len());
        let header: String = s
            .set_cookies()
            .iter()
            .map(|c| c.split(';').next().unwrap())
            .collect::<Vec<_>>()
            .join("; ");
        let value = header.split_once('=').unwrap().1;
        assert!(config.opened().known(false, value).is_none());
        assert_eq!(open(&config, &header).unwrap().as_deref(), Some("jim"));
    }

    #[test]
    fn a_touched_cookie_is_answered_with_what_was_kept_for_the_old_one() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, true);
        let old = saved(&config, "john");
        clock.advance(30);
        let mut s = Session::new(&config, Request::new().with_cookie(old.clone()));
        block_on(s.open()).unwrap();
        block_on(s.touch()).unwrap();
        let touched = first_cookie(&s);
        assert_ne!(touched, old);
        assert!(cached(&config, &touched));
        assert!(
            !cached(&config, &old),
            "the slot answers the new header now"
        );
        // The touched cookie outlives the old one's idling timeout (60 s here).
        clock.advance(45);
        assert_eq!(open(&config, &touched).unwrap().as_deref(), Some("john"));
        assert!(matches!(open(&config, &old), Err(Error::IdlingTimeout)));
        // Refusing the old cookie evicted nothing.
        assert!(cached(&config, &touched));
    }

    #[test]
    fn a_changed_payload_behind_a_cached_header_is_decrypted_and_refused() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, true);
        let cookie = saved(&config, "john");
        open(&config, &cookie).unwrap();
        assert!(cached(&config, &cookie));
        // Another base64url character inside the payload (not the last, whose low bits the
        // decoder ignores): same header, same length, other ciphertext.
        let at = cookie.len() - 5;
        let mut forged = cookie.clone();
        let other = if &cookie[at..=at] == "A" { "B" } else { "A" };
        forged.replace_range(at..=at, other);
        let err = open(&config, &forged).unwrap_err();
        assert!(
            matches!(err, Error::Codec(_)),
            "refused by the cipher, not answered from the cache: {err:?}"
        );
        assert!(cached(&config, &cookie), "a refused cookie evicts nothing");
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
    }

    #[test]
    fn turned_off_it_keeps_nothing_and_opens_the_same() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, false);
        let cookie = saved(&config, "john");
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert!(!cached(&config, &cookie));
    }

    #[test]
    fn the_option_turns_it_off_and_the_builder_overrides_the_option() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let off: Config =
            serde_json::from_str(r#"{"secret": "s", "opened_cache": false}"#).unwrap();
        let config = off.clone().builder().clock(clock.clone()).build().unwrap();
        let cookie = saved(&config, "john");
        assert!(!cached(&config, &cookie));
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert!(!cached(&config, &cookie));
        let config = off
            .builder()
            .clock(clock)
            .opened_cache(true)
            .build()
            .unwrap();
        let cookie = saved(&config, "john");
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert!(cached(&config, &cookie));
    }

    #[test]
    fn threads_opening_many_cookies_at_once_always_get_their_own_data() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = config(&clock, true);
        // More sessions than slots, so threads also evict each other's entries.
        let cookies: Arc<Vec<(String, String)>> = Arc::new(
            (0..1500)
                .map(|i| {
                    let user = format!("user-{i}");
                    (saved(&config, &user), user)
                })
                .collect(),
        );
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (config, cookies) = (config.clone(), Arc::clone(&cookies));
                std::thread::spawn(move || {
                    for round in 0..3000 {
                        let (cookie, user) =
                            &cookies[(round * 7 + t * 13) % 40 + (round % 37) * 40];
                        assert_eq!(
                            open(&config, cookie).unwrap().as_deref(),
                            Some(user.as_str())
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[test]
    fn server_side_records_are_compared_by_their_payload() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = Config {
            secret: Some("RaJKp8UQW1".into()),
            ..Config::default()
        }
        .builder()
        .clock(clock.clone())
        .storage(MemoryStorage::new())
        .build()
        .unwrap();
        let first = saved(&config, "john");
        // The save of a session the request opened keeps what it wrote.
        let mut s = Session::new(&config, Request::new().with_cookie(first));
        block_on(s.open()).unwrap();
        block_on(s.save()).unwrap();
        let cookie = first_cookie(&s);
        let value = cookie.split_once('=').unwrap().1;
        assert!(config.opened().known(false, value).is_some());
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        assert_eq!(open(&config, &cookie).unwrap().as_deref(), Some("john"));
        // The record's info store is the record's, not the cache's.
        let mut s = Session::new(&config, Request::new().with_cookie(cookie.clone()));
        block_on(s.open()).unwrap();
        assert_eq!(s.get::<String>("user").unwrap().as_deref(), Some("john"));
    }

    #[test]
    fn a_cached_session_bound_to_the_scheme_opens_only_on_that_scheme() {
        let clock = Arc::new(FixedClock::new(1_700_000_000));
        let config = Config {
            secret: Some("RaJKp8UQW1".into()),
            bind: Some(vec!["scheme".into()]),
            ..Config::default()
        }
        .builder()
        .clock(clock)
        .build()
        .unwrap();
        let mut s = Session::new(&config, Request::new().with_scheme("https"));
        s.set("user", "john").unwrap();
        block_on(s.save()).unwrap();
        let cookie = first_cookie(&s);
        let open_on = |scheme: &'static str| {
            let request = Request::new()
                .with_scheme(scheme)
                .with_cookie(cookie.clone());
            let mut s = Session::new(&config, request);
            block_on(s.open()).map(|()| s.get::<String>("user").unwrap())
        };
        assert_eq!(open_on("https").unwrap().as_deref(), Some("john"));
        assert_eq!(open_on("https").unwrap().as_deref(), Some("john"));
        let err = open_on("http").unwrap_err();
        assert!(
            matches!(err, Error::Codec(session_codec::Error::InvalidMac)),
            "{err:?}"
        );
    }
}
