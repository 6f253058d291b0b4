//! Key escaping on the wire (docs/storage.md §5.5): OpenResty's `ngx.escape_uri` in its default
//! ("URI component") mode, applied by lua-resty-memcached to the whole key.

/// The largest key memcached accepts, in bytes (after escaping). Longer keys are refused
/// with [`ErrorKind::InvalidInput`](session_storage::ErrorKind::InvalidInput) before anything
/// is sent.
///
/// ```
/// assert_eq!(session_memcached::MAX_KEY_LEN, 250);
/// ```
pub const MAX_KEY_LEN: usize = 250;

/// Escapes `key` the way lua-resty-memcached sends it: every byte except ASCII letters,
/// digits and `- . _ ~ ! * ' ( )` becomes `%` and two **uppercase** hex digits, colons
/// included.
///
/// ```
/// use session_memcached::escape_key;
/// assert_eq!(escape_key("sessions:session:K"), "sessions%3Asession%3AK");
/// assert_eq!(escape_key("a@b c/d+e%f"), "a%40b%20c%2Fd%2Be%25f");
/// assert_eq!(escape_key("AZaz09-._~!*'()"), "AZaz09-._~!*'()");
/// ```
#[must_use]
pub fn escape_key(key: &str) -> String {
    session_net::text::escape_uri(key, b"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_examples() {
        assert_eq!(escape_key(":"), "%3A");
        assert_eq!(escape_key("@"), "%40");
        assert_eq!(escape_key(" "), "%20");
        assert_eq!(escape_key("/"), "%2F");
        assert_eq!(escape_key("+"), "%2B");
        assert_eq!(escape_key("%"), "%25");
        assert_eq!(escape_key("é"), "%C3%A9");
        assert_eq!(escape_key("\r\n\0"), "%0D%0A%00");
    }

    proptest! {
        #[test]
        fn escaped_keys_are_wire_safe(s in ".*") {
            let e = escape_key(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}
