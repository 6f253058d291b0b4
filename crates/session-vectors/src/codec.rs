//! The codec-level checks of a vectors case, and the verdict on a case.
//!
//! Each case gets the codec-level checks that apply to it (header fields,
//! key derivation intermediates, MAC, decryption, inflation, byte-for-byte
//! re-sealing, codec-level corruptions), then the engine-level check of
//! [`crate::engine`]. A case passes when every check that applies passes and
//! at least one applied; it is skipped, with the reason, when none applied.

use serde_json::Value;
use session_codec::{
    BindValues, CookieKind, Error, Flags, Header, Ikm, Key, Keyring, MAX_PLAINTEXT_SIZE,
    RememberSafety, b64_decode, b64_encode, open_cookie, open_payload,
};

use crate::engine::{self, Verdict};

/// What one check produced.
type Check = Result<(), String>;

/// The verdict on one case of a vectors file.
///
/// ```
/// use session_vectors::{Outcome, check_case};
/// let case = serde_json::json!({"kind": "a kind from the future", "config": {"secret": "s"}});
/// assert!(matches!(check_case(&case), Outcome::Skip(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check that applies passed; the text says which levels ran
    /// (`codec`, `engine`, `codec + engine`).
    Pass(&'static str),
    /// A check failed; the text says which and how.
    Fail(String),
    /// No check applied; the text says why.
    Skip(String),
}

/// Checks one case: the codec-level checks that apply to it, then the
/// engine-level check of [`engine::check`].
///
/// ```
/// use session_vectors::{Outcome, check_case};
/// let case = serde_json::json!({
///     "kind": "negative",
///     "config": {"secret": "RaJKp8UQW1"},
///     "open": {"request": {"cookie": null, "now": 1700000000}},
///     "expected": {"ok": false, "err": "missing session cookie"},
/// });
/// assert_eq!(check_case(&case), Outcome::Pass("engine"));
/// ```
#[must_use]
pub fn check_case(case: &Value) -> Outcome {
    let codec = codec_checks(case);
    let engine = engine::check(case);
    // Only these kinds are decided at byte level; the others (operations,
    // remember fallback, timeouts, transport, plain opens, save errors) are
    // engine behaviour, even when the codec can check the cookies they hold.
    let codec_decides = matches!(case["kind"].as_str(), Some("roundtrip" | "negative"));
    match (codec, engine) {
        (Some(Err(e)), _) => Outcome::Fail(format!("codec: {e}")),
        (_, Verdict::Fail(e)) => Outcome::Fail(format!("engine: {e}")),
        (Some(Ok(())), Verdict::Pass) => Outcome::Pass("codec + engine"),
        (Some(Ok(())), Verdict::Skip(_)) if codec_decides => Outcome::Pass("codec"),
        (Some(Ok(())), Verdict::Skip(why)) => {
            Outcome::Skip(format!("{why}; the codec checks of its cookies passed"))
        }
        (None, Verdict::Pass) => Outcome::Pass("engine"),
        (None, Verdict::Skip(why)) => Outcome::Skip(why),
    }
}

// ---------------------------------------------------------------------------
// Configuration, as far as the codec needs it.

/// The key and cookie settings of a case configuration.
struct CodecConfig {
    ring: Keyring,
    session_name: String,
    remember_name: String,
    remember_safety: RememberSafety,
    storage: bool,
    timeouts_disabled: bool,
    remember: bool,
}

fn hex32(v: &Value, what: &str) -> Result<Ikm, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("{what} is not a string"))?;
    let bytes = hex::decode(s).map_err(|e| format!("{what}: {e}"))?;
    Ikm::try_from_slice(&bytes).map_err(|e| format!("{what}: {e}"))
}

fn secret_ikm(v: &Value, what: &str) -> Result<Ikm, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("{what} is not a string"))?;
    Ok(Ikm::from_secret(s.as_bytes()))
}

impl CodecConfig {
    fn from_json(config: &Value) -> Result<CodecConfig, String> {
        let primary = if !config["ikm_hex"].is_null() {
            hex32(&config["ikm_hex"], "ikm_hex")?
        } else if let Some(ikm) = config["ikm"].as_str() {
            Ikm::try_from_slice(ikm.as_bytes()).map_err(|e| format!("ikm: {e}"))?
        } else if !config["secret"].is_null() {
            secret_ikm(&config["secret"], "secret")?
        } else {
            return Err("no secret or ikm: the process-wide random key cannot be replayed".into());
        };
        let mut fallbacks = Vec::new();
        if let Some(list) = config["ikm_fallbacks_hex"].as_array() {
            for (i, v) in list.iter().enumerate() {
                fallbacks.push(Key::new(hex32(v, &format!("ikm_fallbacks_hex[{i}]"))?));
            }
        } else if let Some(list) = config["ikm_fallbacks"].as_array() {
            for (i, v) in list.iter().enumerate() {
                let s = v
                    .as_str()
                    .ok_or(format!("ikm_fallbacks[{i}] is not a string"))?;
                fallbacks.push(Key::new(
                    Ikm::try_from_slice(s.as_bytes())
                        .map_err(|e| format!("ikm_fallbacks[{i}]: {e}"))?,
                ));
            }
        } else if let Some(list) = config["secret_fallbacks"].as_array() {
            for (i, v) in list.iter().enumerate() {
                fallbacks.push(Key::new(secret_ikm(v, &format!("secret_fallbacks[{i}]"))?));
            }
        }
        let ring = Keyring::new(Key::new(primary)).with_fallbacks(fallbacks);
        let prefix = config["cookie_prefix"]
            .as_str()
            .filter(|p| matches!(*p, "__Host-" | "__Secure-"))
            .unwrap_or_default();
        let session_name = format!(
            "{prefix}{}",
            config["cookie_name"].as_str().unwrap_or("session")
        );
        let remember_name = format!(
            "{prefix}{}",
            config["remember_cookie_name"]
                .as_str()
                .unwrap_or("remember")
        );
        let remember_safety = match &config["remember_safety"] {
            Value::String(s) => RememberSafety::from_name(s),
            Value::Bool(false) => RememberSafety::None,
            _ => RememberSafety::Medium,
        };
        let storage = match &config["storage"] {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => s != "cookie",
            _ => true,
        };
        // Timeouts left out take the library defaults, which are not zero.
        let timeouts_disabled = ["idling_timeout", "rolling_timeout", "absolute_timeout"]
            .iter()
            .all(|k| config[*k].as_u64() == Some(0));
        Ok(CodecConfig {
            ring,
            session_name,
            remember_name,
            remember_safety,
            storage,
            timeouts_disabled,
            remember: config["remember"].as_bool() == Some(true),
        })
    }

    fn kind_of(&self, cookie_name: &str) -> CookieKind {
        if cookie_name == self.remember_name {
            CookieKind::Remember(self.remember_safety)
        } else {
            CookieKind::Session
        }
    }
}

// ---------------------------------------------------------------------------
// Cookie-header handling for replaying a request.

/// The first `name=value` pair of a Cookie header whose name is exactly
/// `name` (`;`-separated, spaces after separators skipped).
fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim_start().split_once('=')?;
        (n.trim_end() == name).then(|| v.trim_start())
    })
}

fn bind_values(request: &Value) -> BindValues<'_> {
    BindValues {
        ip: request["remote_addr"].as_str(),
        scheme: request["scheme"].as_str(),
        user_agent: request["user_agent"].as_str(),
    }
}

/// The text of an error up to a trailing parenthesised detail from the
/// crypto or base64 backend.
fn strip_detail(err: &str) -> &str {
    match err.rfind(" (") {
        Some(i) if err.ends_with(')') => &err[..i],
        _ => err,
    }
}

/// Every error the codec alone can produce when opening a cookie-storage
/// session cookie (without the engine's timeout, flags and audience checks).
const CODEC_ERRORS: &[Error] = &[
    Error::InvalidHeader,
    Error::HeaderBase64,
    Error::InvalidType,
    Error::InvalidSessionId,
    Error::InvalidCreationTime,
    Error::InvalidRollingOffset,
    Error::InvalidDataSize,
    Error::InvalidTag,
    Error::InvalidIdlingOffset,
    Error::InvalidMac,
    Error::InvalidPayload,
    Error::PayloadBase64,
    Error::Decrypt,
    Error::Inflate,
    Error::MissingChunk,
    Error::CookieSizeLimit,
];

fn is_codec_error(expected: &str) -> bool {
    CODEC_ERRORS
        .iter()
        .any(|e| strip_detail(&e.to_string()) == strip_detail(expected))
}

// ---------------------------------------------------------------------------
// The checks.

/// Runs the codec-level checks that apply to a case: `None` when none apply.
fn codec_checks(case: &Value) -> Option<Check> {
    let config = match CodecConfig::from_json(&case["config"]) {
        Ok(c) => c,
        Err(e) => return Some(Err(format!("config: {e}"))),
    };
    let mut applied = false;
    let mut run = |check: Check| -> Check {
        applied = true;
        check
    };
    let result = (|| -> Check {
        // Written cookies: header fields, key schedule, MAC, payload, re-seal.
        for (cookies, decoded, crypto, request) in [
            ("cookies", "decoded", "crypto", &case["open"]["request"]),
            (
                "cookies_after",
                "decoded_after",
                "crypto_after",
                &case["request"],
            ),
        ] {
            if let Some(map) = case[decoded].as_object() {
                for (name, fields) in map {
                    run(check_written_cookie(
                        case,
                        &config,
                        &case[cookies],
                        name,
                        fields,
                        &case[crypto][name],
                        request,
                    )
                    .map_err(|e| format!("{decoded}.{name}: {e}")))?;
                }
            }
        }
        match case["kind"].as_str() {
            Some("roundtrip") => {
                if let Some(check) = reopen_with_open_config(case) {
                    run(check)?;
                }
            }
            Some("negative") => {
                if let Some(check) = codec_negative(case) {
                    run(check)?;
                }
            }
            _ => {}
        }
        Ok(())
    })();
    match result {
        Err(e) => Some(Err(e)),
        Ok(()) if applied => Some(Ok(())),
        Ok(()) => None,
    }
}

fn field_u64(fields: &Value, key: &str) -> Result<u64, String> {
    fields[key]
        .as_u64()
        .ok_or_else(|| format!("{key} missing or not an integer"))
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

fn hex_field(crypto: &Value, key: &str) -> Result<String, String> {
    crypto[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("crypto.{key} missing"))
}

/// Checks one cookie the library wrote (`decoded` / `crypto` of a case).
fn check_written_cookie(
    case: &Value,
    config: &CodecConfig,
    cookies: &Value,
    name: &str,
    fields: &Value,
    crypto: &Value,
    request: &Value,
) -> Check {
    let value = cookies[name]
        .as_str()
        .ok_or_else(|| format!("no cookie {name} in the case's cookie map"))?;
    let (header, raw) =
        Header::decode_base64(value).map_err(|e| format!("header does not decode: {e}"))?;
    check_header_fields(&header, &raw, fields)?;
    let (payload, crypto) = locate_payload(case, cookies, name, value, &header, crypto)?;
    if !crypto.is_object() {
        return Err("no crypto block for this cookie".into());
    }
    let cookie = Written {
        header: &header,
        kind: config.kind_of(name),
        index: usize::try_from(field_u64(crypto, "ikm_index")?).map_err(|e| e.to_string())?,
        bind: bind_values(request),
        payload: &payload,
        crypto,
    };
    let key = config.ring.get(cookie.index).ok_or_else(|| {
        format!(
            "ikm_index {}: the configuration has no such key",
            cookie.index
        )
    })?;
    check_key_schedule(config, key, &cookie)?;
    // 3. The MAC verifies, with that key.
    let matched = config
        .ring
        .verify_mac(&raw, &cookie.bind)
        .map_err(|e| format!("MAC does not verify: {e}"))?;
    expect_eq("key that verified the MAC", matched, cookie.index)?;
    check_plaintext(config, &cookie)?;
    check_reseal(config, key, &cookie, value)
}

/// One written cookie as the checks below see it, once its header is decoded and its payload
/// found.
struct Written<'a> {
    header: &'a Header,
    kind: CookieKind,
    index: usize,
    bind: BindValues<'a>,
    payload: &'a str,
    crypto: &'a Value,
}

/// 1. Every decoded header field against the case's `fields`.
fn check_header_fields(header: &Header, raw: &[u8], fields: &Value) -> Check {
    expect_eq("type", u64::from(raw[0]), field_u64(fields, "type")?)?;
    expect_eq(
        "flags",
        u64::from(header.flags.bits()),
        field_u64(fields, "flags")?,
    )?;
    if let Some(names) = fields["flag_names"].as_array() {
        let want: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        expect_eq("flag_names", header.flags.names(), want)?;
    }
    expect_eq(
        "sid",
        header.sid.to_base64().as_str(),
        fields["sid"].as_str().unwrap_or(""),
    )?;
    expect_eq(
        "creation_time",
        header.creation_time,
        field_u64(fields, "creation_time")?,
    )?;
    expect_eq(
        "rolling_offset",
        u64::from(header.rolling_offset),
        field_u64(fields, "rolling_offset")?,
    )?;
    expect_eq(
        "data_size",
        u64::from(header.data_size),
        field_u64(fields, "data_size")?,
    )?;
    expect_eq(
        "tag",
        b64_encode(&header.tag).as_str(),
        fields["tag"].as_str().unwrap_or(""),
    )?;
    expect_eq(
        "idling_offset",
        u64::from(header.idling_offset),
        field_u64(fields, "idling_offset")?,
    )?;
    expect_eq(
        "mac",
        b64_encode(&header.mac).as_str(),
        fields["mac"].as_str().unwrap_or(""),
    )
}

/// Where the payload is: after the header (and in chunks), or in storage; with the crypto
/// block that describes it (a stored record's own when the cookie has none).
fn locate_payload<'a>(
    case: &'a Value,
    cookies: &Value,
    name: &str,
    value: &str,
    header: &Header,
    crypto: &'a Value,
) -> Result<(String, &'a Value), String> {
    if header.flags.contains(Flags::STORAGE) {
        let storage = &case["storage"];
        let record: Value = serde_json::from_str(storage["value"].as_str().unwrap_or("null"))
            .map_err(|e| format!("storage.value is not JSON: {e}"))?;
        let stored = record[0]
            .as_str()
            .ok_or("storage.value[0] is not a string")?
            .to_owned();
        let crypto = if crypto.is_object() {
            crypto
        } else {
            &storage["crypto"]
        };
        Ok((stored, crypto))
    } else {
        let payload =
            session_codec::assemble_payload(name.len(), header.data_size as usize, value, |i| {
                cookies[format!("{name}{i}")].as_str()
            })
            .map_err(|e| format!("payload does not reassemble: {e}"))?;
        Ok((payload.into_owned(), crypto))
    }
}

/// 2. Key schedule intermediates: IKM, MAC key, bind suffix, AES key and IV.
fn check_key_schedule(config: &CodecConfig, key: &Key, cookie: &Written<'_>) -> Check {
    let (header, crypto) = (cookie.header, cookie.crypto);
    expect_eq(
        "ikm_hex",
        hex::encode(key.ikm().as_bytes()),
        hex_field(crypto, "ikm_hex")?,
    )?;
    let derivation = config.ring.derivation();
    expect_eq(
        "mac_key_hex",
        hex::encode(key.mac_key(&header.sid, derivation).as_bytes()),
        hex_field(crypto, "mac_key_hex")?,
    )?;
    let suffix = cookie
        .bind
        .suffix(header.flags)
        .map(hex::encode)
        .unwrap_or_default();
    let want_suffix = hex_field(crypto, "bind_suffix_hex")?;
    expect_eq("bind_suffix_hex", suffix.as_str(), want_suffix.as_str())?;
    let cipher_key = key.cipher_key(&header.sid, cookie.kind, derivation);
    expect_eq(
        "aes_key_hex",
        hex::encode(cipher_key.aes_key()),
        hex_field(crypto, "aes_key_hex")?,
    )?;
    expect_eq(
        "iv_hex",
        hex::encode(cipher_key.iv()),
        hex_field(crypto, "iv_hex")?,
    )
}

/// 4. Decrypt (and inflate) to the plaintext.
fn check_plaintext(config: &CodecConfig, cookie: &Written<'_>) -> Check {
    let plaintext = open_payload(
        &config.ring,
        cookie.header,
        cookie.index,
        cookie.kind,
        cookie.payload,
        MAX_PLAINTEXT_SIZE,
    )
    .map_err(|e| format!("payload does not open: {e}"))?;
    let want_plain = cookie.crypto["plaintext"]
        .as_str()
        .ok_or("crypto.plaintext missing")?;
    expect_eq(
        "plaintext",
        String::from_utf8_lossy(&plaintext).as_ref(),
        want_plain,
    )?;
    if let Some(want) = cookie.crypto["deflated"].as_bool() {
        expect_eq(
            "deflated",
            cookie.header.flags.contains(Flags::DEFLATE),
            want,
        )?;
    }
    Ok(())
}

/// 5. Re-seal with the decoded header fields: same bytes. A deflated payload is re-sealed
///    from its compressed bytes (zlib's exact output is not something a writer must
///    reproduce, docs/crypto.md §10).
fn check_reseal(config: &CodecConfig, key: &Key, cookie: &Written<'_>, value: &str) -> Check {
    let header = cookie.header;
    let mut body = b64_decode(cookie.payload).ok_or("payload is not base64url")?;
    config
        .ring
        .open(header, cookie.index, cookie.kind, &mut body)
        .map_err(|e| format!("payload does not decrypt: {e}"))?;
    let deflated = header.flags.contains(Flags::DEFLATE);
    if let Some(len) = cookie.crypto["deflated_len"].as_u64().filter(|_| deflated) {
        expect_eq("deflated_len", body.len() as u64, len)?;
    }
    let ring = Keyring::new(key.clone()).with_derivation(config.ring.derivation());
    let mut resealed = Header::new(
        header.flags,
        header.sid,
        header.creation_time,
        header.rolling_offset,
    );
    ring.seal(&mut resealed, cookie.kind, &mut body, &cookie.bind)
        .map_err(|e| format!("re-seal failed: {e}"))?;
    if header.idling_offset != 0 {
        resealed.idling_offset = header.idling_offset;
        ring.sign(&mut resealed, 0, &cookie.bind)
            .map_err(|e| format!("re-sign failed: {e}"))?;
    }
    let mut again = String::new();
    resealed
        .encode_base64_into(&mut again)
        .map_err(|e| format!("re-encode failed: {e}"))?;
    expect_eq("re-sealed header", again.as_str(), &value[..110])?;
    expect_eq(
        "re-sealed payload",
        b64_encode(&body).as_str(),
        cookie.payload,
    )
}

/// A roundtrip opened with a different configuration (key rotation): the
/// cookie's MAC must verify and its payload open with the opening keys.
fn reopen_with_open_config(case: &Value) -> Option<Check> {
    let open_config = &case["open"]["config"];
    if !open_config.is_object() || case["expected"]["ok"] != true {
        return None;
    }
    Some((|| {
        let config =
            CodecConfig::from_json(open_config).map_err(|e| format!("open.config: {e}"))?;
        let request = &case["open"]["request"];
        let header = request["cookie"]
            .as_str()
            .ok_or("open.request.cookie missing")?;
        let first =
            cookie(header, &config.session_name).ok_or("no session cookie in the request")?;
        if config.storage {
            let (_, raw) = Header::decode_base64(first).map_err(|e| e.to_string())?;
            config
                .ring
                .verify_mac(&raw, &bind_values(request))
                .map_err(|e| format!("open.config: {e}"))?;
            return Ok(());
        }
        let kind = config.kind_of(&config.session_name);
        open_cookie(
            &config.ring,
            kind,
            config.session_name.len(),
            first,
            |i| cookie(header, &format!("{}{i}", config.session_name)),
            &bind_values(request),
        )
        .map(|_| ())
        .map_err(|e| format!("does not open with open.config: {e}"))
    })())
}

/// A negative case the codec alone can decide: cookie storage, no timeouts,
/// the session cookie present, no remember fallback in play, and an expected
/// error that only the codec produces.
fn codec_negative(case: &Value) -> Option<Check> {
    let expected = case["expected"]["err"].as_str()?;
    if case["expected"]["ok"] == true || !is_codec_error(expected) {
        return None;
    }
    let open_config = if case["open"]["config"].is_object() {
        &case["open"]["config"]
    } else {
        &case["config"]
    };
    let config = CodecConfig::from_json(open_config).ok()?;
    let request = &case["open"]["request"];
    let header = request["cookie"].as_str()?;
    let first = cookie(header, &config.session_name)?;
    if config.storage || !config.timeouts_disabled {
        return None;
    }
    if config.remember && cookie(header, &config.remember_name).is_some() {
        return None;
    }
    let result = open_cookie(
        &config.ring,
        CookieKind::Session,
        config.session_name.len(),
        first,
        |i| cookie(header, &format!("{}{i}", config.session_name)),
        &bind_values(request),
    );
    Some(match result {
        Ok(_) => Err(format!("opened, expected \"{expected}\"")),
        Err(e) => expect_eq(
            "error",
            strip_detail(&e.to_string()),
            strip_detail(expected),
        ),
    })
}
