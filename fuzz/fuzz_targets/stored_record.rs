//! The storage record parse (`[payload, info?]`, docs/payload.md §6) the engine runs on every
//! server-side open: `session_codec::parse_stored_record`, no engine needed.
//!
//! Two passes per input: (1) the input as the whole record, whose result must be what a
//! plain JSON reading of the record gives (the parser's fast path must agree with it);
//! (2) a valid payload with the input, base64url-encoded, as the info element: the record
//! `encode_stored_record` writes, which parses exactly when the input is JSON and keeps
//! the payload. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use session_codec::{RecordError, b64_decode, b64_encode, encode_stored_record, parse_stored_record};

const PAYLOAD: &str = "DfMi67nHoPCCSB_0zkYUHclYU7V7i4R55896nkEfeSpHv1UReHIq";

/// The record's meaning, read with serde_json alone: `(payload, info)` or why not.
fn reference(record: &str) -> Result<(String, Option<Map<String, Value>>), String> {
    let value: Value = serde_json::from_str(record).map_err(|_| "json".to_owned())?;
    let Value::Array(items) = value else { return Err("shape".into()) };
    let info = match items.get(1) {
        Some(Value::String(s)) => {
            let bytes = b64_decode(s).ok_or("info base64")?;
            match serde_json::from_slice::<Value>(&bytes).map_err(|_| "info json".to_owned())? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        }
        _ => None,
    };
    match items.into_iter().next() {
        Some(Value::String(payload)) => Ok((payload, info)),
        _ => Err("shape".into()),
    }
}

fn kind(e: &RecordError) -> &'static str {
    match e {
        RecordError::Json(_) => "json",
        RecordError::InfoBase64 => "info base64",
        RecordError::InfoJson(_) => "info json",
        _ => "shape",
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed = parse_stored_record(text.to_owned())
            .map(|r| (r.payload, r.info))
            .map_err(|e| kind(&e).to_owned());
        assert_eq!(parsed, reference(text), "{text:?}");
    }

    let record = format!("[\"{PAYLOAD}\",\"{}\"]", b64_encode(data));
    assert_eq!(encode_stored_record(PAYLOAD, Some(data)), record);
    match parse_stored_record(record) {
        Ok(parsed) => {
            assert_eq!(parsed.payload, PAYLOAD);
            let json = serde_json::from_slice::<Value>(data).expect("the info parsed");
            assert_eq!(parsed.info.is_some(), json.is_object());
        }
        Err(e) => {
            // Only the info element can be at fault: it is not JSON.
            assert!(matches!(e, RecordError::InfoJson(_)), "{e}");
            assert!(serde_json::from_slice::<Value>(data).is_err());
        }
    }
});
