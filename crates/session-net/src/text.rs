//! What the line-based text protocols (memcached's, DSHM's) share: the parse result, the
//! protocol error, command and key encoding, and the printable form of server lines.

/// What a reply parser made of the bytes read so far.
///
/// ```
/// use session_net::text::Parsed;
/// let parsed: Parsed<&str> = Parsed::Done(8, "STORED");
/// assert!(matches!(parsed, Parsed::Done(8, _)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<R> {
    /// A complete reply using the first `usize` bytes.
    Done(usize, R),
    /// Not enough bytes yet: at least this many (in total) are needed.
    Need(usize),
}

/// A reply that breaks the protocol. The connection cannot be used any more.
///
/// ```
/// let e = session_net::text::ProtocolError::new("reply line too long");
/// assert_eq!(e.to_string(), "reply line too long");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(String);

impl ProtocolError {
    /// A protocol error saying `msg`.
    ///
    /// ```
    /// let e = session_net::text::ProtocolError::new(format!("unexpected reply {}", "DONE"));
    /// assert_eq!(e.message(), "unexpected reply DONE");
    /// ```
    #[must_use]
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }

    /// What broke the protocol.
    ///
    /// ```
    /// assert_eq!(session_net::text::ProtocolError::new("x").message(), "x");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Printable ASCII of a server line, cut to 200 bytes (other bytes become `?`), for error
/// messages.
///
/// ```
/// assert_eq!(session_net::text::printable(b"SERVER_ERROR \x00oops"), "SERVER_ERROR ?oops");
/// ```
#[must_use]
pub fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(200)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// The offset of the first `\r\n` in `buf`.
///
/// ```
/// assert_eq!(session_net::text::find_crlf(b"END\r\n"), Some(3));
/// assert_eq!(session_net::text::find_crlf(b"END\r"), None);
/// ```
#[must_use]
pub fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// A one-line command: `<words joined by spaces>\r\n`.
///
/// ```
/// assert_eq!(session_net::text::line_command(&["touch", "k", "10"]), b"touch k 10\r\n");
/// ```
#[must_use]
pub fn line_command(words: &[&str]) -> Vec<u8> {
    let mut out = words.join(" ").into_bytes();
    out.extend_from_slice(b"\r\n");
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// OpenResty's `ngx.escape_uri` in its default (URI component) mode: every byte except ASCII
/// letters, digits, `- . _ ~ ! * ' ( )` and the bytes of `keep` becomes `%` and two
/// **uppercase** hex digits. The result never holds a space, CR or LF unless `keep` does.
///
/// ```
/// use session_net::text::escape_uri;
/// assert_eq!(escape_uri("a:b c", b""), "a%3Ab%20c");
/// assert_eq!(escape_uri("a:b c", b":"), "a:b%20c");
/// ```
#[must_use]
pub fn escape_uri(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!*'()".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}
