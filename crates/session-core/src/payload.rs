//! The plaintext model: an array of audience entries `[data, audience,
//! subject?]` (docs/payload.md §1), written the way lua-cjson writes it and read
//! leniently, as everything Lua may write must open.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use session_codec::{CipherKey, Flags, Header, Keyring, MAX_PLAINTEXT_SIZE, inflate};
use std::io;

use crate::config::StorageOption;
use crate::error::{ConfigError, Error};

/// The default `max_plaintext_size` with cookie storage: 1 MiB of JSON. A cookie carries at
/// most 9 × 4 KB of base64 (about 27 KB of ciphertext); what the engine writes there
/// deflates real session data well below this bound, and the worst cookie a key holder can
/// forge (a deflate bomb) then costs about a millisecond to inflate and a few to decode,
/// instead of 12 MiB and seconds.
pub const DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE: usize = 1024 * 1024;

/// The smallest `max_plaintext_size` accepted.
const MIN_PLAINTEXT_SIZE: u64 = 1024;

/// Opening more than this many bytes (ciphertext in, or inflated plaintext out) runs on a
/// blocking thread (feature `tokio`, inside a runtime): about a millisecond of work inline
/// at most, so a large server-side record never stalls the other requests of a worker.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) const INLINE_OPEN_SIZE: usize = 256 * 1024;

/// `max_plaintext_size`: the option, validated, else the default for the storage kind.
pub(crate) fn max_plaintext_size(
    option: Option<u64>,
    server_side: bool,
) -> Result<usize, ConfigError> {
    let max = u64::try_from(MAX_PLAINTEXT_SIZE).unwrap_or(u64::MAX);
    match option {
        None if server_side => Ok(MAX_PLAINTEXT_SIZE),
        None => Ok(DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE),
        Some(v) if (MIN_PLAINTEXT_SIZE..=max).contains(&v) => {
            Ok(usize::try_from(v).unwrap_or(MAX_PLAINTEXT_SIZE))
        }
        Some(_) => Err(
            ConfigError::new("max_plaintext_size", "invalid max_plaintext_size").with_detail(
                format!("must be from {MIN_PLAINTEXT_SIZE} to {MAX_PLAINTEXT_SIZE} bytes"),
            ),
        ),
    }
}

/// The storage's name in spans and logs.
pub(crate) fn storage_name(option: Option<&StorageOption>, has_instance: bool) -> String {
    match option {
        Some(StorageOption::Name(name))
            if !name.is_empty() && (name != "cookie" || !has_instance) =>
        {
            name.clone()
        }
        _ if has_instance => "custom".to_owned(),
        _ => "cookie".to_owned(),
    }
}

/// The plaintext of a decrypted buffer: inflated when the header says so, at most `limit`
/// bytes either way ([`Error::PlaintextTooLarge`] past it, found without producing more
/// than `limit + 1` bytes).
fn bounded_plaintext(header: &Header, buf: Vec<u8>, limit: usize) -> Result<Vec<u8>, Error> {
    if header.flags.contains(Flags::DEFLATE) {
        inflate(&buf, limit).map_err(|e| match e {
            session_codec::Error::InflateLimit => Error::PlaintextTooLarge { limit },
            e => Error::Codec(e),
        })
    } else if buf.len() > limit {
        Err(Error::PlaintextTooLarge { limit })
    } else {
        Ok(buf)
    }
}

/// Whether [`open_entries`] would do all its work on the calling thread for a ciphertext of
/// `len` bytes: [`open_inline`] then does the same without a future. A deflated payload
/// may inflate past [`INLINE_OPEN_SIZE`], so it always takes the async path.
pub(crate) fn opens_inline(header: &Header, len: usize) -> bool {
    !header.flags.contains(Flags::DEFLATE) && len <= INLINE_OPEN_SIZE
}

/// Decrypt, inflate and decode, on the calling thread.
pub(crate) fn open_inline(
    header: &Header,
    key: &CipherKey,
    mut ciphertext: Vec<u8>,
    limit: usize,
) -> Result<(Vec<Entry>, usize), Error> {
    Keyring::open_with_cipher_key(header, key, &mut ciphertext)?;
    let plaintext = bounded_plaintext(header, ciphertext, limit)?;
    decode_sized(&plaintext)
}

/// The entries of `plaintext`, and its length (what a cache of opened sessions weighs).
fn decode_sized(plaintext: &[u8]) -> Result<(Vec<Entry>, usize), Error> {
    let entries = decode_entries(plaintext).map_err(Error::JsonDecode)?;
    Ok((entries, plaintext.len()))
}

/// The entries of a payload's ciphertext, and the plaintext's length: decrypted with
/// `key`, inflated up to `limit` bytes, decoded from JSON. Inside a Tokio runtime (feature `tokio`), work above
/// [`INLINE_OPEN_SIZE`] bytes moves to a blocking thread: a large ciphertext at once, a
/// deflated one once its first 256 KiB are inflated.
pub(crate) async fn open_entries(
    header: Header,
    key: CipherKey,
    ciphertext: Vec<u8>,
    limit: usize,
) -> Result<(Vec<Entry>, usize), Error> {
    #[cfg(feature = "tokio")]
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        if ciphertext.len() > INLINE_OPEN_SIZE {
            tracing::trace!(
                bytes = ciphertext.len(),
                "session payload decoded on a blocking thread"
            );
            return runtime
                .spawn_blocking(move || open_inline(&header, &key, ciphertext, limit))
                .await
                .map_err(Error::Blocking)?;
        }
        let mut buf = ciphertext;
        Keyring::open_with_cipher_key(&header, &key, &mut buf)?;
        if header.flags.contains(Flags::DEFLATE) && limit > INLINE_OPEN_SIZE {
            return match inflate(&buf, INLINE_OPEN_SIZE) {
                Ok(plaintext) => decode_sized(&plaintext),
                Err(session_codec::Error::InflateLimit) => {
                    tracing::trace!("large session payload inflated on a blocking thread");
                    runtime
                        .spawn_blocking(move || {
                            let plaintext = bounded_plaintext(&header, buf, limit)?;
                            decode_sized(&plaintext)
                        })
                        .await
                        .map_err(Error::Blocking)?
                }
                Err(e) => Err(Error::Codec(e)),
            };
        }
        let plaintext = bounded_plaintext(&header, buf, limit)?;
        return decode_sized(&plaintext);
    }
    open_inline(&header, &key, ciphertext, limit)
}

/// An entry's data: a JSON value, or the JSON text a payload carried for it, parsed as a
/// whole only when something needs the whole (`get_data`, a change, a save; once, and kept
/// with the text, also in the opened-sessions cache). Reading one key ([`Data::get`]) reads
/// the text without building the value: a first open does not build and drop a map of
/// everything the handler does not read.
#[derive(Debug)]
pub(crate) enum Data {
    /// A value given or changed by the application.
    Value(Value),
    /// The text read from the payload (valid JSON), the value once parsed, and how many
    /// reads scanned the text (see [`Data::get`]).
    Text(Box<str>, OnceLock<Value>, AtomicU8),
}

impl Data {
    pub(crate) fn new(value: Value) -> Self {
        Self::Value(value)
    }

    fn from_text(text: &str) -> Self {
        Self::Text(text.into(), OnceLock::new(), AtomicU8::new(0))
    }

    /// The value, parsed from the text on first need. A text that is valid JSON but holds a
    /// number out of `f64`'s range does not parse (the reference reads it as infinity).
    pub(crate) fn value(&self) -> Result<&Value, serde_json::Error> {
        match self {
            Self::Value(value) => Ok(value),
            Self::Text(text, parsed, _) => {
                if let Some(value) = parsed.get() {
                    return Ok(value);
                }
                let value = serde_json::from_str(text)?;
                Ok(parsed.get_or_init(|| value))
            }
        }
    }

    /// The value, to change: from then on the data is the value, not the text.
    pub(crate) fn value_mut(&mut self) -> Result<&mut Value, serde_json::Error> {
        match self {
            Self::Value(value) => Ok(value),
            Self::Text(text, parsed, _) => {
                let value = match parsed.take() {
                    Some(value) => value,
                    None => serde_json::from_str(text)?,
                };
                *self = Self::Value(value);
                self.value_mut()
            }
        }
    }

    /// The value of `key` when the data is an object holding it (the last one when the
    /// text repeats a key, as parsing the whole would keep), deserialized. The text is
    /// scanned for the key by the first [`SCANNED_READS`] reads (a first open reads a key or
    /// two); a later read, or any read of a text longer than [`SCANNED_TEXT`], parses the
    /// whole once instead, so that data read again and again (from the opened-sessions
    /// cache) or a large session is not scanned for every key.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, serde_json::Error> {
        let text = match self {
            Self::Text(text, parsed, reads)
                if parsed.get().is_none()
                    && text.len() <= SCANNED_TEXT
                    && reads.fetch_add(1, Ordering::Relaxed) < SCANNED_READS =>
            {
                text
            }
            _ => return self.value()?.get(key).map(T::deserialize).transpose(),
        };
        // Only an object has keys (the text is valid JSON, so one that opens with `{` is one).
        if !text.trim_start().starts_with('{') {
            return Ok(None);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let found = serde::Deserializer::deserialize_map(&mut de, Find(key))?;
        found.map(|raw| serde_json::from_str(raw.get())).transpose()
    }
}

impl Clone for Data {
    fn clone(&self) -> Self {
        match self {
            Self::Value(value) => Self::Value(value.clone()),
            Self::Text(text, parsed, reads) => Self::Text(
                text.clone(),
                parsed.clone(),
                AtomicU8::new(reads.load(Ordering::Relaxed)),
            ),
        }
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.value().ok() == other.value().ok()
    }
}

/// The longest data text [`Data::get`] reads a key from without parsing the whole (about 20
/// short values): above it, one parse serves every later read.
const SCANNED_TEXT: usize = 1024;

/// How many reads of one data text scan it before the next parses the whole.
const SCANNED_READS: u8 = 4;

/// Looks for one key at the top level of a JSON object: its value's text, if any.
struct Find<'k>(&'k str);

impl<'de> serde::de::Visitor<'de> for Find<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(same) = map.next_key_seed(KeyIs(self.0))? {
            if same {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a key (unescaped, without a copy when it has no escapes) is the one looked for.
struct KeyIs<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// One audience entry of a session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The application's data for this audience (an object, normally).
    pub(crate) data: Data,
    /// The audience; `None` when Lua wrote `null` (never matches).
    pub(crate) audience: Option<String>,
    /// The subject; absent when the entry has 2 elements or a `null` third.
    pub(crate) subject: Option<String>,
}

impl Entry {
    pub(crate) fn new(audience: &str, subject: Option<&str>) -> Self {
        Self {
            data: Data::new(Value::Object(Map::new())),
            audience: Some(audience.to_owned()),
            subject: subject.map(str::to_owned),
        }
    }
}

/// A serde_json formatter that escapes like lua-cjson: `/` as `\/` and DEL as
/// `\u007f` (everything else as serde_json does, which matches cjson).
struct CjsonFormatter;

impl serde_json::ser::Formatter for CjsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Most strings hold neither byte: one vectorised scan, one write.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for i in memchr::memchr2_iter(b'/', 0x7f, bytes) {
            let escape: &[u8] = if bytes[i] == b'/' { b"\\/" } else { b"\\u007f" };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            start = i + 1;
        }
        writer.write_all(&bytes[start..])
    }
}

/// Writes `value` as lua-cjson does: what serde_json with [`CjsonFormatter`] writes, byte
/// for byte (the tests hold it to that), with strings escaped by [`write_str`] instead of
/// serde_json's byte-at-a-time scan.
///
/// Clears `exact` when decoding what it wrote may not give back `value` itself: a
/// floating-point number (serde_json's default parser rounds some decimal texts to a
/// neighbouring `f64`). Integers, strings, booleans, `null`, arrays and objects come back
/// as they were.
fn write_value(
    out: &mut Vec<u8>,
    value: &Value,
    exact: &mut bool,
) -> Result<(), serde_json::Error> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            *exact &= !number.is_f64();
            let mut ser = serde_json::Serializer::with_formatter(&mut *out, CjsonFormatter);
            serde::Serialize::serialize(number, &mut ser)?;
        }
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, exact)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, item, exact)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// `0x01` in every byte of a word.
const ONES: u64 = u64::from_ne_bytes([1; 8]);
/// `0x80` in every byte of a word.
const HIGHS: u64 = ONES * 0x80;

/// Whether any of the 8 bytes of `word` is below `n` (`n` ≤ 128; exact as a yes/no).
const fn any_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * n as u64) & !word & HIGHS != 0
}

/// Whether any of the 8 bytes of `word` is `byte`.
const fn any_equal(word: u64, byte: u8) -> bool {
    any_below(word ^ (ONES * byte as u64), 1)
}

/// Whether any of the 8 bytes of `word` must be escaped in a cjson string: a control
/// character, `"`, `\`, `/` or DEL.
const fn any_escaped(word: u64) -> bool {
    any_below(word, 0x20)
        | any_equal(word, b'"')
        | any_equal(word, b'\\')
        | any_equal(word, b'/')
        | any_equal(word, 0x7f)
}

/// The escape of `byte` in a cjson string, or `None` when it is written as is: serde_json's
/// escapes (`\"`, `\\`, `\b \f \n \r \t`, `\u00xx` with lowercase hex for the other
/// control characters) plus cjson's `\/` and `\u007f`.
fn escape(byte: u8, buf: &mut [u8; 6]) -> Option<&[u8]> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        0x00..=0x1f | 0x7f => {
            *buf = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ];
            return Some(&buf[..]);
        }
        _ => return None,
    };
    buf[0] = b'\\';
    buf[1] = short;
    Some(&buf[..2])
}

/// Writes `text` as a cjson string. Runs of bytes that need no escape — all of most
/// strings — are found 8 bytes at a time and copied in one call.
fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut at = 0;
    let mut buf = [0u8; 6];
    while at < bytes.len() {
        if let Some(chunk) = bytes.get(at..at + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !any_escaped(u64::from_ne_bytes(word)) {
                at += 8;
                continue;
            }
        }
        if let Some(escaped) = escape(bytes[at], &mut buf) {
            out.extend_from_slice(&bytes[start..at]);
            out.extend_from_slice(escaped);
            start = at + 1;
        }
        at += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Encode entries as the reference writes them: compact, subject omitted when
/// absent, `null` for a missing audience (docs/payload.md §4 writer rules).
///
/// Returns whether [`decode_entries`] gives back exactly `entries` from what was written
/// (false when the data holds a floating-point number; see [`write_value`]): what the
/// cache of opened sessions may keep for a cookie just saved.
pub(crate) fn encode_entries(
    entries: &[Entry],
    out: &mut Vec<u8>,
) -> Result<bool, serde_json::Error> {
    let mut exact = true;
    out.push(b'[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_value(out, entry.data.value()?, &mut exact)?;
        out.push(b',');
        match &entry.audience {
            Some(audience) => write_str(out, audience),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(subject) = &entry.subject {
            out.push(b',');
            write_str(out, subject);
        }
        out.push(b']');
    }
    out.push(b']');
    Ok(exact)
}

/// Encode any JSON value the cjson way (used for the info store).
pub(crate) fn encode_value<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, CjsonFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Decode the plaintext leniently (docs/payload.md §4 reader rules): entries of 2 or
/// 3 elements, `null` subject or audience, any JSON value as data.
pub(crate) fn decode_entries(bytes: &[u8]) -> Result<Vec<Entry>, serde_json::Error> {
    // Straight into entries: no intermediate `Value` arrays for the list and each entry.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let entries = serde::Deserializer::deserialize_any(&mut de, EntriesVisitor)?;
    de.end()?;
    Ok(entries)
}

/// The top level: an array of entries, anything else an error.
struct EntriesVisitor;

impl<'de> serde::de::Visitor<'de> for EntriesVisitor {
    type Value = Vec<Entry>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of audience entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // A hint from the input is not trusted beyond a few entries.
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(8));
        while let Some(entry) = seq.next_element::<Entry>()? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// One entry, read leniently as everything Lua may write must open: `[data, audience,
/// subject?, ...]` with a non-string audience or subject read as absent and extra items
/// ignored; anything but an array is kept as data that never matches an audience.
impl<'de> serde::Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl EntryVisitor {
    fn data(data: Value) -> Entry {
        Entry {
            data: Data::new(data),
            audience: None,
            subject: None,
        }
    }
}

/// A string item as an audience or subject; anything else (`null` above all) as none.
fn text(item: Option<Value>) -> Option<String> {
    match item {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an audience entry")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        // The data's text, parsed when needed (see `Data`).
        let data = match seq.next_element::<&'de RawValue>()? {
            Some(text) => Data::from_text(text.get()),
            None => Data::new(Value::Object(Map::new())),
        };
        let audience = text(seq.next_element::<Value>()?);
        let subject = text(seq.next_element::<Value>()?);
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Entry {
            data,
            audience,
            subject,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        let data = <Value as serde::Deserialize>::deserialize(
            serde::de::value::MapAccessDeserializer::new(map),
        )?;
        Ok(Self::data(data))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Entry, E> {
        Ok(Self::data(Value::String(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Entry, E> {
        Ok(Self::data(Value::String(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Entry, E> {
        Ok(Self::data(Value::Bool(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Entry, E> {
        Ok(Self::data(Value::from(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Entry, E> {
        Ok(Self::data(Value::from(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Entry, E> {
        Ok(Self::data(Value::from(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Entry, E> {
        Ok(Self::data(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(entries: &[Entry]) -> String {
        let mut out = Vec::new();
        encode_entries(entries, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_small_plain_payloads_open_without_a_future() {
        let sid = session_codec::SessionId::from_bytes([1; 32]);
        let plain = Header::new(Flags::NONE, sid, 1, 0);
        let deflated = Header::new(Flags::DEFLATE, sid, 1, 0);
        assert!(opens_inline(&plain, 100));
        assert!(opens_inline(&plain, INLINE_OPEN_SIZE));
        // Past the bound, the async path moves the work to a blocking thread.
        assert!(!opens_inline(&plain, INLINE_OPEN_SIZE + 1));
        // A deflated payload may inflate past the bound, whatever its size.
        assert!(!opens_inline(&deflated, 100));
    }

    #[test]
    fn new_empty_session_encodes_as_reference() {
        assert_eq!(
            encode(&[Entry::new("default", None)]),
            r#"[[{},"default"]]"#
        );
    }

    #[test]
    fn subject_is_omitted_never_null() {
        let mut e = Entry::new("a3", None);
        e.data = Data::new(json!({}));
        let mut a1 = Entry::new("a1", Some("s1"));
        a1.data = Data::new(json!({"x": 1}));
        assert_eq!(encode(&[a1, e]), r#"[[{"x":1},"a1","s1"],[{},"a3"]]"#);
    }

    #[test]
    fn slash_and_del_are_escaped_like_cjson() {
        let mut e = Entry::new("default", None);
        e.data = Data::new(json!({"s": "a\u{1}b\u{7f}c/é"}));
        assert_eq!(
            encode(&[e]),
            "[[{\"s\":\"a\\u0001b\\u007fc\\/é\"},\"default\"]]"
        );
    }

    #[test]
    fn reader_accepts_null_subject_and_null_audience() {
        let entries = decode_entries(br#"[[{},null,"sub"],[{"a":1},"x",null],[[],"y"]]"#).unwrap();
        assert_eq!(entries[0].audience, None);
        assert_eq!(entries[0].subject.as_deref(), Some("sub"));
        assert_eq!(entries[1].subject, None);
        assert_eq!(entries[2].data.value().unwrap(), &json!([]));
    }

    /// The reading of the `Value`-based decoder this one replaced, kept as the oracle.
    fn decode_via_value(bytes: &[u8]) -> Option<Vec<Entry>> {
        let Value::Array(items) = serde_json::from_slice::<Value>(bytes).ok()? else {
            return None;
        };
        let entry = |value: Value| match value {
            Value::Array(items) => {
                let mut items = items.into_iter();
                let data = items.next().unwrap_or_else(|| Value::Object(Map::new()));
                let text = |v: Option<Value>| match v {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                };
                let audience = text(items.next());
                Entry {
                    data: Data::new(data),
                    audience,
                    subject: text(items.next()),
                }
            }
            other => Entry {
                data: Data::new(other),
                audience: None,
                subject: None,
            },
        };
        Some(items.into_iter().map(entry).collect())
    }

    #[test]
    fn reader_reads_what_the_value_based_reader_read() {
        for text in [
            r#"[]"#,
            r#"[[]]"#,
            r#"[[{}]]"#,
            r#"[[{"a":[1,2.5,{"b":null}]},"x","s",4,[5]]]"#,
            r#"[{"a":1},"str",12,-3,1.5e3,true,null,[1,2],[{},7,false]]"#,
            r#"[[null,"a"],[{"u":"\/x"},"b",{"s":1}]]"#,
            r#" [ [ { } , "default" ] ] "#,
        ] {
            let got = decode_entries(text.as_bytes()).unwrap();
            assert_eq!(Some(got), decode_via_value(text.as_bytes()), "{text}");
        }
        for bad in ["{}", "[", "[[]] x", "\"1\"", "[[{]]", "null", "[[1,]]"] {
            assert!(decode_entries(bad.as_bytes()).is_err(), "{bad}");
            assert!(decode_via_value(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z/]{0,5}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c]{1,2}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn reader_agrees_on_any_json_list(items in proptest::collection::vec(json(), 0..4)) {
            let text = Value::Array(items).to_string();
            let new = decode_entries(text.as_bytes()).ok();
            proptest::prop_assert!(new.is_some());
            proptest::prop_assert_eq!(new, decode_via_value(text.as_bytes()));
        }

        #[test]
        fn reader_agrees_with_the_value_based_reader(text in "[\\[\\]{}\",:a-c0-9nultrefs ]{0,40}") {
            let new = decode_entries(text.as_bytes()).ok();
            let old = decode_via_value(text.as_bytes());
            if old.is_none() && new.is_some() {
                // Only where an entry's data is JSON with a number beyond `f64` (read
                // lazily, see `Data`; the reference reads it as infinity).
                proptest::prop_assert!(serde_json::from_str::<IgnoredAny>(&text).is_ok());
                proptest::prop_assert!(serde_json::from_str::<Value>(&text).is_err());
            } else {
                proptest::prop_assert_eq!(new, old);
            }
        }

        /// A key read from the payload's text is what the parsed text holds, for any data and
        /// any key, as any type; so is the whole.
        #[test]
        fn data_read_from_text_is_the_value(
            value in json_with_any_text(),
            key in proptest::prop_oneof![
                proptest::strategy::Just(String::new()),
                "[a-c]{1,2}",
                "\\PC{0,3}",
            ],
        ) {
            use proptest::prop_assert_eq;
            let mut text = Vec::new();
            write_value(&mut text, &value, &mut true).unwrap();
            let lazy = Data::from_text(std::str::from_utf8(&text).unwrap());
            // What an open read before: the whole text parsed (a float may come back as a
            // neighbouring value either way).
            let whole: Value = serde_json::from_slice(&text).unwrap();
            let parsed = Data::new(whole.clone());
            prop_assert_eq!(lazy.get::<Value>(&key).ok(), parsed.get::<Value>(&key).ok());
            prop_assert_eq!(lazy.get::<String>(&key).ok(), parsed.get::<String>(&key).ok());
            prop_assert_eq!(lazy.get::<i64>(&key).ok(), parsed.get::<i64>(&key).ok());
            prop_assert_eq!(lazy.get::<f64>(&key).ok(), parsed.get::<f64>(&key).ok());
            prop_assert_eq!(lazy.value().unwrap(), &whole);
            // The same once the whole was parsed.
            prop_assert_eq!(lazy.get::<Value>(&key).ok(), parsed.get::<Value>(&key).ok());
        }
    }

    #[test]
    fn data_read_from_text() {
        let data = Data::from_text(r#"{"a":1,"b":"x\/y","a":"last","big":1e999,"n":null}"#);
        // A repeated key: the last one, as parsing the whole keeps.
        assert_eq!(data.get::<String>("a").unwrap().as_deref(), Some("last"));
        assert_eq!(data.get::<String>("b").unwrap().as_deref(), Some("x/y"));
        assert_eq!(data.get::<Value>("n").unwrap(), Some(Value::Null));
        assert_eq!(data.get::<Value>("missing").unwrap(), None);
        assert!(data.get::<i64>("b").is_err(), "a type error is an error");
        // A number beyond f64 opens (the reference reads infinity) but does not read.
        assert!(data.get::<f64>("big").is_err());
        assert!(data.value().is_err());
        let entries = [Entry {
            data,
            audience: Some("default".into()),
            subject: None,
        }];
        assert!(encode_entries(&entries, &mut Vec::new()).is_err());
        // A long text is parsed once, on the first read.
        let long = format!(r#"{{"a":1,"pad":"{}"}}"#, "x".repeat(SCANNED_TEXT));
        let data = Data::from_text(&long);
        assert_eq!(data.get::<i64>("a").unwrap(), Some(1));
        assert!(matches!(&data, Data::Text(_, parsed, _) if parsed.get().is_some()));
        // A short one is scanned by the first reads, then parsed once.
        let short = Data::from_text(r#"{"a":1}"#);
        for _ in 0..SCANNED_READS {
            assert_eq!(short.get::<i64>("a").unwrap(), Some(1));
            assert!(matches!(&short, Data::Text(_, parsed, _) if parsed.get().is_none()));
        }
        assert_eq!(short.get::<i64>("a").unwrap(), Some(1));
        assert!(matches!(&short, Data::Text(_, parsed, _) if parsed.get().is_some()));
        // Not an object: no key.
        for text in ["[1,2]", "\"a\"", "3", "null", "true"] {
            assert_eq!(
                Data::from_text(text).get::<Value>("a").unwrap(),
                None,
                "{text}"
            );
        }
        // A change parses the text once and keeps the value.
        let mut data = Data::from_text(r#"{"a":1}"#);
        data.value_mut().unwrap()["b"] = json!(2);
        assert!(matches!(data, Data::Value(_)));
        assert_eq!(data.get::<i64>("a").unwrap(), Some(1));
        assert_eq!(data.value().unwrap(), &json!({"a": 1, "b": 2}));
    }

    /// What serde_json with [`CjsonFormatter`] writes: the writer this one replaced, kept as
    /// the oracle.
    fn write_via_serde(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, CjsonFormatter);
        serde::Serialize::serialize(value, &mut ser).unwrap();
        out
    }

    fn written(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, value, &mut true).unwrap();
        out
    }

    #[test]
    fn writer_escapes_every_byte_as_serde_with_cjson_escapes_did() {
        // Every ASCII byte alone, and at each position of a 17-byte string (the word scan
        // and the byte loop both see it), and non-ASCII text.
        for byte in 0u8..0x80 {
            let c = char::from(byte);
            for at in 0..17 {
                let mut text: String = "abcdefghijklmnopq".into();
                text.replace_range(at..=at, &c.to_string());
                let value = Value::String(text);
                assert_eq!(
                    written(&value),
                    write_via_serde(&value),
                    "byte {byte:#x} at {at}"
                );
            }
        }
        let value = json!({"é/ü": ["ß\u{7f}\"\\", 1.5, -7, u64::MAX, null, true, false, {}, []]});
        assert_eq!(written(&value), write_via_serde(&value));
        assert_eq!(written(&json!("a/b")), br#""a\/b""#);
    }

    proptest::proptest! {
        #[test]
        fn writer_writes_what_serde_with_cjson_escapes_wrote(value in json_with_any_text()) {
            proptest::prop_assert_eq!(written(&value), write_via_serde(&value));
        }
    }

    /// Whether `value` holds a floating-point number anywhere.
    fn has_float(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.is_f64(),
            Value::Array(items) => items.iter().any(has_float),
            Value::Object(map) => map.values().any(has_float),
            _ => false,
        }
    }

    fn any_entry() -> impl proptest::strategy::Strategy<Value = Entry> {
        use proptest::prelude::*;
        (
            json_with_any_text(),
            proptest::option::of("(\\PC|[\\x00-\\x1f\\x7f\"\\\\/]){0,12}"),
            proptest::option::of("\\PC{0,12}"),
        )
            .prop_map(|(data, audience, subject)| Entry {
                data: Data::new(data),
                audience,
                subject,
            })
    }

    proptest::proptest! {
        /// What a save may keep in the cache of opened sessions: whenever the writer says
        /// its text decodes exactly, decoding it gives back the same entries; it says so
        /// for everything but floating-point numbers.
        #[test]
        fn exact_writes_decode_to_the_same_entries(
            entries in proptest::collection::vec(any_entry(), 1..4)
        ) {
            let mut out = Vec::new();
            let exact = encode_entries(&entries, &mut out).unwrap();
            proptest::prop_assert_eq!(exact, !entries.iter().any(|e| has_float(e.data.value().unwrap())));
            if exact {
                proptest::prop_assert_eq!(decode_entries(&out).unwrap(), entries);
            }
        }
    }

    #[test]
    fn floats_are_not_exact() {
        let mut e = Entry::new("default", None);
        e.data = Data::new(json!({"n": [1, -2, u64::MAX], "s": "a/b\u{7f}", "o": {}, "a": []}));
        let mut out = Vec::new();
        assert!(encode_entries(std::slice::from_ref(&e), &mut out).unwrap());
        e.data = Data::new(json!({"f": 0.1}));
        out.clear();
        assert!(!encode_entries(std::slice::from_ref(&e), &mut out).unwrap());
    }

    /// Any JSON value, its strings and keys drawn from all of Unicode (escapes included).
    fn json_with_any_text() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "(\\PC|[\\x00-\\x1f\\x7f\"\\\\/]){0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn reader_rejects_non_array_plaintext() {
        assert!(decode_entries(b"{}").is_err());
        assert!(decode_entries(b"[").is_err());
    }

    #[test]
    fn json_round_trip_of_simple_object() {
        let mut e = Entry::new("default", None);
        e.data = Data::new(json!({"foo": "bar", "test": 123}));
        let s = encode(&[e.clone()]);
        assert_eq!(decode_entries(s.as_bytes()).unwrap(), vec![e]);
    }
}
