//! The server-side storage record (docs/payload.md §6): the JSON array
//! `["<payload>", "<info>"?]` a store keeps under the session's key, where
//! `<payload>` is the base64url ciphertext that the cookie no longer carries
//! and `<info>`, when present, is base64url of the info store's JSON object.

use serde_json::{Map, Value};

use crate::b64::{b64_decode, b64_encode_into};

/// A parsed storage record.
///
/// ```
/// let record = session_codec::parse_stored_record(r#"["AAAA"]"#.to_owned())?;
/// assert_eq!(record.payload, "AAAA");
/// assert!(record.info.is_none());
/// # Ok::<(), session_codec::RecordError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRecord {
    /// Element 1: the base64url ciphertext.
    pub payload: String,
    /// Element 2, decoded: the info store, an object per audience (`None`
    /// when absent or not a JSON object).
    pub info: Option<Map<String, Value>>,
}

/// Why a storage record does not parse. The texts are the reference's.
///
/// ```
/// let err = session_codec::parse_stored_record("[1]".to_owned()).unwrap_err();
/// assert_eq!(err.to_string(), "invalid session payload");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is not JSON.
    #[error("unable to json decode session ({0})")]
    Json(serde_json::Error),
    /// The record is JSON but not an array whose first element is a string.
    #[error("invalid session payload")]
    Shape,
    /// The info element is not base64url.
    #[error("unable to base64url decode session info (invalid input)")]
    InfoBase64,
    /// The info element is not JSON.
    #[error("unable to json decode session info ({0})")]
    InfoJson(serde_json::Error),
}

/// Parses a storage record `["payload", "info"?]`.
///
/// The exact layout every writer produces (lua-cjson's and ours), with plain
/// base64url strings, is split without the JSON parser and keeps the payload
/// in the record's own buffer; anything else (whitespace, escapes, other
/// shapes) goes through the JSON parser, which gives the same result for
/// those inputs.
///
/// # Errors
///
/// [`RecordError`], naming the part at fault.
///
/// ```
/// use session_codec::parse_stored_record;
/// let record = parse_stored_record(
///     r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#.to_owned(),
/// )?;
/// assert_eq!(record.info.unwrap()["app1"]["ik"], "iv");
/// # Ok::<(), session_codec::RecordError>(())
/// ```
pub fn parse_stored_record(stored: String) -> Result<StoredRecord, RecordError> {
    if let Some((payload, info)) = split_plain_record(&stored) {
        let info = match info {
            Some(info) => decode_info(info)?,
            None => None,
        };
        // The payload is `stored[2..2 + len]`: keep it in the record's own buffer.
        let len = payload.len();
        let mut payload = stored;
        payload.truncate(2 + len);
        payload.drain(..2);
        return Ok(StoredRecord { payload, info });
    }
    parse_stored_json(&stored)
}

/// [`parse_stored_record`] through the JSON parser, for any layout.
fn parse_stored_json(stored: &str) -> Result<StoredRecord, RecordError> {
    let value: Value = serde_json::from_str(stored).map_err(RecordError::Json)?;
    let Value::Array(mut items) = value else {
        return Err(RecordError::Shape);
    };
    let info = match items.get(1) {
        Some(Value::String(s)) => decode_info(s)?,
        _ => None,
    };
    items.truncate(1);
    match items.pop() {
        Some(Value::String(payload)) => Ok(StoredRecord { payload, info }),
        _ => Err(RecordError::Shape),
    }
}

/// The fast path of [`parse_stored_record`]: `["P"]` or `["P","I"]` with
/// base64url strings, which hold nothing JSON would unescape.
fn split_plain_record(stored: &str) -> Option<(&str, Option<&str>)> {
    let inner = stored.strip_prefix("[\"")?.strip_suffix("\"]")?;
    let (payload, info) = match inner.find('"') {
        Some(i) => {
            let (payload, rest) = inner.split_at(i);
            (payload, Some(rest.strip_prefix("\",\"")?))
        }
        None => (inner, None),
    };
    (is_b64url(payload) && info.is_none_or(is_b64url)).then_some((payload, info))
}

/// Whether `s` holds base64url characters only (a branch-free fold the compiler vectorizes).
fn is_b64url(s: &str) -> bool {
    s.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
    })
}

/// Element 2 of a record: base64url of a JSON object (anything but an object is no info).
fn decode_info(info: &str) -> Result<Option<Map<String, Value>>, RecordError> {
    let bytes = b64_decode(info).ok_or(RecordError::InfoBase64)?;
    match serde_json::from_slice::<Value>(&bytes).map_err(RecordError::InfoJson)? {
        Value::Object(map) => Ok(Some(map)),
        _ => Ok(None),
    }
}

/// Writes a storage record: `["payload"]`, or `["payload","B64(info_json)"]`
/// when `info_json` (the info store, already encoded as JSON) is given.
///
/// ```
/// use session_codec::{encode_stored_record, parse_stored_record};
/// assert_eq!(encode_stored_record("AAAA", None), r#"["AAAA"]"#);
/// let record = encode_stored_record("AAAA", Some(br#"{"app1":{}}"#));
/// assert_eq!(record, r#"["AAAA","eyJhcHAxIjp7fX0"]"#);
/// assert!(parse_stored_record(record)?.info.is_some());
/// # Ok::<(), session_codec::RecordError>(())
/// ```
#[must_use]
pub fn encode_stored_record(payload: &str, info_json: Option<&[u8]>) -> String {
    let mut out = String::with_capacity(payload.len() + 8);
    out.push_str("[\"");
    out.push_str(payload);
    out.push('"');
    if let Some(json) = info_json {
        out.push_str(",\"");
        b64_encode_into(json, &mut out);
        out.push('"');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(r: Result<StoredRecord, RecordError>) -> String {
        match r {
            Ok(StoredRecord { payload, info }) => format!("ok {payload} {info:?}"),
            Err(e) => format!("err {e}"),
        }
    }

    #[test]
    fn stored_record_fast_path_agrees_with_the_json_parser() {
        let cases = [
            r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq","eyJhcHAxIjp7ImlrIjoiaXYifX0"]"#,
            r#"["DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq"]"#,
            r#"[""]"#,
            r#"["",""]"#,
            r#"["a","b","c"]"#,
            r#"["a","W10"]"#,
            r#"["a","!!"]"#,
            r#"["a","bm90IGpzb24"]"#,
            r#"[ "a" ]"#,
            r#"["a\u0041"]"#,
            r#"["a"],"b"]"#,
            r#"["a""]"#,
            r#"[1]"#,
            r#"{"a":1}"#,
            r#"[]"#,
            r#""a""#,
            r#"["a","#,
            "",
        ];
        for case in cases {
            assert_eq!(
                show(parse_stored_record(case.to_owned())),
                show(parse_stored_json(case)),
                "{case}"
            );
        }
        assert!(split_plain_record(cases[0]).is_some());
        assert!(split_plain_record(r#"["a\u0041"]"#).is_none());
    }

    #[test]
    fn encoded_records_parse_back() {
        let info = br#"{"app1":{"ik":"iv"}}"#;
        let record = encode_stored_record("DfMi67nH", Some(info));
        let parsed = parse_stored_record(record).unwrap();
        assert_eq!(parsed.payload, "DfMi67nH");
        assert_eq!(
            serde_json::to_vec(&parsed.info.unwrap()).unwrap(),
            info.to_vec()
        );
    }

    proptest::proptest! {
        #[test]
        fn stored_record_fast_path_agrees_on_arbitrary_text(s in r#"\[?"?[A-Za-z0-9_\-",\\ ]{0,24}"?\]?"#) {
            proptest::prop_assert_eq!(show(parse_stored_record(s.clone())), show(parse_stored_json(&s)));
        }
    }
}
