//! What goes to logs: error chains and session ids with the session ids shortened.
//!
//! The engine emits [`tracing`] spans and events (see the crate docs, "Observability"); it
//! never logs a secret, a cookie value or a full session id. Errors of a store may carry a
//! key or a file name that holds the whole session id, so every error chain the engine (or
//! the `resty-session` facade) logs goes through [`error_chain`], which cuts every long
//! base64url/hex run down to its first 8 characters.

use std::error::Error as StdError;
use std::fmt::{self, Write as _};

use session_codec::SessionId;

/// Runs of id characters at least this long are shortened: a session id is 43 base64url
/// characters, a hashed storage key 43 as well.
const LONG_RUN: usize = 24;
/// What is kept of a shortened run.
const KEPT: usize = 8;

/// The error and its sources, `": "`-separated (a source whose text its parent already
/// shows is left out), with long id-like runs shortened to 8 characters and `…`.
///
/// ```
/// let err = std::io::Error::other("cannot rename onto /srv/sessions/session_QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8");
/// let text = session_core::log::error_chain(&err).to_string();
/// assert_eq!(text, "cannot rename onto /srv/sessions/session_…");
/// ```
pub fn error_chain<'a>(err: &'a (dyn StdError + 'static)) -> ErrorChain<'a> {
    ErrorChain(err)
}

/// The [`Display`](fmt::Display) of [`error_chain`].
///
/// ```
/// let err = std::io::Error::other("disk full");
/// assert_eq!(format!("{}", session_core::log::error_chain(&err)), "disk full");
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(&'a (dyn StdError + 'static));

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        let mut shown = String::new();
        let mut current: Option<&(dyn StdError + 'static)> = Some(self.0);
        let mut depth = 0;
        while let Some(err) = current {
            shown.clear();
            let _ = write!(shown, "{err}");
            if depth == 0 {
                text.push_str(&shown);
            } else if !shown.is_empty() && !text.contains(shown.as_str()) {
                text.push_str(": ");
                text.push_str(&shown);
            }
            depth += 1;
            // A cycle or an absurd depth ends the walk.
            if depth > 16 {
                break;
            }
            current = err.source();
        }
        f.write_str(&shorten_ids(&text))
    }
}

/// `text` with every run of at least 24 base64url characters (`A-Z a-z 0-9 - _`) cut to
/// its first 8 and `…`.
///
/// ```
/// let text = session_core::log::shorten_ids("key sessions:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8 gone");
/// assert_eq!(text, "key sessions:QEFCQ0RF… gone");
/// ```
#[must_use]
pub fn shorten_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= LONG_RUN {
            out.push_str(&run[..KEPT]);
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A session id as logs show it: its first 8 base64url characters and `…`.
///
/// ```
/// use session_core::session_codec::SessionId;
/// let sid = SessionId::from_bytes([0x40; 32]);
/// assert_eq!(session_core::log::ShortId::new(&sid).to_string(), "QEBAQEBA…");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortId([u8; KEPT]);

impl ShortId {
    /// The first 8 characters of `sid` in base64url.
    ///
    /// ```
    /// use session_core::session_codec::SessionId;
    /// let id = session_core::log::ShortId::new(&SessionId::from_bytes([0; 32]));
    /// assert_eq!(format!("{id:?}"), "ShortId(AAAAAAAA…)");
    /// ```
    #[must_use]
    pub fn new(sid: &SessionId) -> Self {
        // 6 bytes are exactly 8 base64url characters.
        let mut text = String::with_capacity(KEPT);
        session_codec::b64_encode_into(&sid.as_bytes()[..6], &mut text);
        let mut out = [b'-'; KEPT];
        for (slot, b) in out.iter_mut().zip(text.bytes()) {
            *slot = b;
        }
        Self(out)
    }
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            f.write_char(char::from(b))?;
        }
        f.write_char('…')
    }
}

impl fmt::Debug for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortId({self})")
    }
}

/// A short, stable name for an operation's outcome, for spans and metrics: `ok`, or what
/// went wrong (`missing`, `expired`, `bad_mac`, `store_failed`, …). Never holds data.
///
/// ```
/// use session_core::{Error, log::outcome};
/// assert_eq!(outcome(&Ok::<(), Error>(())), "ok");
/// assert_eq!(outcome::<()>(&Err(Error::MissingCookie)), "missing");
/// assert_eq!(outcome::<()>(&Err(Error::IdlingTimeout)), "expired");
/// ```
pub fn outcome<T>(result: &Result<T, crate::Error>) -> &'static str {
    use crate::Error as E;
    use session_codec::Error as C;
    let Err(err) = result else {
        return "ok";
    };
    match err {
        E::MissingCookie => "missing",
        E::LifetimeExceeded
        | E::AbsoluteTimeout
        | E::RememberAbsoluteTimeout
        | E::RollingTimeout
        | E::RememberRollingTimeout
        | E::IdlingTimeout => "expired",
        E::MissingAudience => "missing_audience",
        E::Codec(C::InvalidMac) => "bad_mac",
        E::Codec(C::Decrypt) => "bad_ciphertext",
        E::Codec(C::MissingChunk) => "missing_chunk",
        E::Codec(C::InflateLimit) | E::PlaintextTooLarge { .. } => "too_large",
        E::Codec(
            C::CookieSizeLimit | C::DataSizeLimit | C::CreationTimeLimit | C::IdlingOffsetLimit,
        ) => "size_limit",
        E::Codec(_) => "malformed",
        E::Load(None) => "not_found",
        E::Revoked(_) => "revoked",
        E::RevocationCheck(_) => "store_failed",
        E::Load(Some(_)) | E::Store(_) | E::StoreInfo(_) | E::Destroy(_) => "store_failed",
        E::JsonDecode(_) | E::StoredJson(_) | E::InfoBase64 | E::InfoJson(_) => "bad_data",
        E::Closed(_) => "closed",
        E::Nonexistent(_) => "nonexistent",
        E::Borrowed => "borrowed",
        E::Config(_) => "config",
        _ => "failed",
    }
}

/// Whether an error is a store's failure (logged at warn/error level), rather than a
/// client's cookie that does not open (logged at debug level).
pub(crate) fn is_store_failure(err: &crate::Error) -> bool {
    matches!(
        err,
        crate::Error::Load(Some(_))
            | crate::Error::RevocationCheck(_)
            | crate::Error::Store(_)
            | crate::Error::StoreInfo(_)
            | crate::Error::Destroy(_)
    )
}

/// The span of one session operation: `session.<op>` at debug level with the storage's name;
/// `outcome` (and `sid`, the new id's first 8 characters) are recorded when it ends.
macro_rules! op_span {
    ($op:literal, $config:expr) => {
        tracing::debug_span!(
            concat!("session.", $op),
            storage = $config.storage_name(),
            outcome = tracing::field::Empty,
            sid = tracing::field::Empty,
        )
    };
}
pub(crate) use op_span;

/// Await an operation's future inside its span; a disabled span (no subscriber wants it)
/// is not entered, and the future is then not moved into an `Instrumented` wrapper first.
macro_rules! in_span {
    ($span:expr, $fut:expr) => {
        if $span.is_disabled() {
            $fut.await
        } else {
            tracing::Instrument::instrument($fut, $span.clone()).await
        }
    };
}
pub(crate) use in_span;

/// Record how an operation ended on its span, and log why it failed: a store failure at
/// error level (warn for a failed read), anything else — a cookie that does not open, an
/// operation on a closed session — at debug level. Error texts go through [`error_chain`].
pub(crate) fn finish_op(
    span: &tracing::Span,
    op: &'static str,
    result: &Result<(), crate::Error>,
    sid: Option<&SessionId>,
) {
    let outcome = outcome(result);
    if !span.is_disabled() {
        span.record("outcome", outcome);
        if let Some(sid) = sid {
            span.record("sid", tracing::field::display(ShortId::new(sid)));
        }
    }
    let Err(err) = result else {
        return;
    };
    let _entered = span.enter();
    if is_store_failure(err) {
        if matches!(
            err,
            crate::Error::Load(_) | crate::Error::RevocationCheck(_)
        ) {
            tracing::warn!(op, outcome, error = %error_chain(err), "session store read failed");
        } else {
            tracing::error!(op, outcome, error = %error_chain(err), "session store write failed");
        }
    } else {
        tracing::debug!(op, outcome, reason = %error_chain(err), "session operation did not succeed");
    }
}

/// Secrets shorter than this draw a warning: HKDF/SHA-256 stretches nothing, so a short
/// secret is a guessable key.
pub const MIN_SECRET_LEN: usize = 16;

/// Warn (once per process and hazard) about the key a configuration is built with: no
/// secret (a random per-process key: sessions die on restart and differ between nodes) or
/// a short `secret` / `secret_fallbacks` entry. Never prints the secret, only its flaw.
pub(crate) fn warn_key_hazards(config: &crate::Config, random_key: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static MISSING: AtomicBool = AtomicBool::new(false);
    static SHORT: AtomicBool = AtomicBool::new(false);
    if random_key {
        if !MISSING.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "no `secret`, `ikm` or `ikm_hex` configured: sessions are sealed with a random \
                 per-process key, so they die on restart and differ between nodes; set `secret`"
            );
        }
        return;
    }
    let uses_secret = config.ikm.is_none() && config.ikm_hex.is_none();
    let short_secret = uses_secret
        && config
            .secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_SECRET_LEN);
    let short_fallback = config.ikm_fallbacks.is_none()
        && config.ikm_fallbacks_hex.is_none()
        && config
            .secret_fallbacks
            .as_ref()
            .is_some_and(|list| list.iter().any(|s| s.len() < MIN_SECRET_LEN));
    if (short_secret || short_fallback) && !SHORT.swap(true, Ordering::Relaxed) {
        let option = if short_secret {
            "secret"
        } else {
            "secret_fallbacks"
        };
        let hardened = config.secret_kdf.as_deref() == Some("argon2id");
        tracing::warn!(
            option,
            min_len = MIN_SECRET_LEN,
            secret_kdf = if hardened { "argon2id" } else { "sha256" },
            "a configured secret is shorter than {MIN_SECRET_LEN} bytes: its key can be guessed; \
             use a long random secret (e.g. `session keygen`){}",
            if hardened {
                ""
            } else {
                ", or slow guessing down with secret_kdf = \"argon2id\""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_skip_repeated_sources_and_shorten_ids() {
        #[derive(Debug, thiserror::Error)]
        #[error("unable to store session data ({0})")]
        struct Outer(#[source] std::io::Error);
        let inner =
            std::io::Error::other("cannot write /d/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8");
        let err = Outer(inner);
        assert_eq!(
            error_chain(&err).to_string(),
            "unable to store session data (cannot write /d/QEFCQ0RF…)"
        );
    }

    #[test]
    fn short_runs_are_kept() {
        assert_eq!(
            shorten_ids("pid 12345 at 2026-12-04"),
            "pid 12345 at 2026-12-04"
        );
        assert_eq!(shorten_ids(""), "");
        assert_eq!(shorten_ids("é".repeat(30).as_str()), "é".repeat(30));
    }
}
