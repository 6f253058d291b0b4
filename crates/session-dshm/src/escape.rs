//! Key escaping on the wire (docs/storage.md §5.5): the DSHM Lua client splits the key on `:`,
//! escapes each piece with `ngx.escape_uri` (URI-component mode) and joins the pieces with
//! `:` again, so colons survive and every other byte outside the unreserved set is escaped.

/// Escapes `key` the way the ngx-distributed-shm Lua client sends it: every byte except
/// ASCII letters, digits, `- . _ ~ ! * ' ( )` and the `:` separators becomes `%` and two
/// **uppercase** hex digits. The result never holds a space, CR or LF.
///
/// ```
/// use session_dshm::escape_key;
/// assert_eq!(escape_key("sessions:session:K"), "sessions:session:K");
/// assert_eq!(escape_key("session:YQ:a@b c/d+e%f"), "session:YQ:a%40b%20c%2Fd%2Be%25f");
/// assert_eq!(escape_key(":n:k"), ":n:k");
/// ```
#[must_use]
pub fn escape_key(key: &str) -> String {
    // Escaping each `:`-separated piece and joining them with `:` is escaping all but `:`.
    session_net::text::escape_uri(key, b":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The Lua client's algorithm written out: split on ':' keeping empty pieces, escape
    /// each piece as a whole, join with ':'.
    fn lua_escape(key: &str) -> String {
        key.split(':')
            .map(|piece| {
                piece
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~!*'()".contains(&b) {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(":")
    }

    #[test]
    fn spec_examples() {
        assert_eq!(escape_key("@"), "%40");
        assert_eq!(escape_key(" "), "%20");
        assert_eq!(escape_key("/"), "%2F");
        assert_eq!(escape_key("+"), "%2B");
        assert_eq!(escape_key("%"), "%25");
        assert_eq!(escape_key("a@b"), "a%40b");
        assert_eq!(escape_key("\u{e9}"), "%C3%A9");
        assert_eq!(escape_key("\r\n\0"), "%0D%0A%00");
        assert_eq!(escape_key("p::s:"), "p::s:");
    }

    proptest! {
        #[test]
        fn same_as_split_escape_join(s in ".*") {
            prop_assert_eq!(escape_key(&s), lua_escape(&s));
        }

        #[test]
        fn escaped_keys_are_wire_safe(s in ".*") {
            let e = escape_key(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_graphic()));
        }
    }
}
