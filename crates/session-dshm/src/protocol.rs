//! The DSHM line protocol (docs/storage.md §8.1, §8.2): request encoding and a strict, bounded reply
//! parser.
//!
//! The parser is a pure function over the bytes received so far. It refuses a reply line
//! longer than [`MAX_LINE_LEN`] and a value announced longer than [`MAX_VALUE_LEN`] before
//! any of it is read, and tells the caller how many bytes it needs at least before it can
//! decide, so the reader never buffers more than one reply.
//!
//! Replies, as the server writes them (no leading CRLF, whatever its README says):
//!
//! ```text
//! LEN <n>\r\n<value>\r\nDONE\r\n     get hit, set (the stored value echoed)
//! DONE\r\n                          touch, delete
//! ERROR <code>\r\n                  not_found, malformed_request, bad_request, unexpected_data
//! ```
//!
//! `<n>` is the value's length in UTF-16 code units (a Java `String` length), which equals
//! the byte count for ASCII. The parser counts UTF-16 units over the UTF-8 bytes, so
//! non-ASCII values are framed correctly too.

pub(crate) use session_net::text::{ProtocolError, line_command};
use session_net::text::{find_crlf, printable};

/// The longest reply line accepted, without its `\r\n`.
pub(crate) const MAX_LINE_LEN: usize = 1024;

/// The largest value a reply may carry, in bytes (and in UTF-16 units): 32 MiB. The session
/// engine's payload limit is 16 MiB; a value announced larger is a protocol error and is
/// never read, and `set` refuses larger values before sending anything.
///
/// ```
/// assert_eq!(session_dshm::MAX_VALUE_LEN, 32 * 1024 * 1024);
/// ```
pub const MAX_VALUE_LEN: usize = 32 * 1024 * 1024;

/// `\r\nDONE\r\n` after a value.
const VALUE_TRAILER: &[u8] = b"\r\nDONE\r\n";

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `LEN n` + value + `DONE`.
    Value(String),
    /// `DONE` alone.
    Done,
    /// `ERROR <code>`: the code, as sent (printable ASCII only).
    Error(String),
}

/// What [`parse`] made of the bytes so far.
pub(crate) type Parsed = session_net::text::Parsed<Reply>;

fn bad(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(msg)
}

/// Walks UTF-8 `bytes` for `units` UTF-16 code units. `Ok(Ok(n))`: the first `n` bytes hold
/// exactly that many units. `Ok(Err((used, left)))`: the bytes ran out after `used` bytes
/// with `left` units still to go. `Err`: invalid UTF-8, or a count that splits a character.
fn utf16_span(bytes: &[u8], units: usize) -> Result<Result<usize, (usize, usize)>, ProtocolError> {
    let mut i = 0;
    let mut left = units;
    while left > 0 {
        let Some(&b) = bytes.get(i) else {
            return Ok(Err((i, left)));
        };
        let (width, cost) = match b {
            0x00..=0x7f => (1, 1),
            0xc2..=0xdf => (2, 1),
            0xe0..=0xef => (3, 1),
            0xf0..=0xf4 => (4, 2),
            _ => return Err(bad("value is not valid UTF-8")),
        };
        let Some(ch) = bytes.get(i..i + width) else {
            // A character cut at the end of what arrived: validate the part we have.
            if std::str::from_utf8(&bytes[i..]).is_err_and(|e| e.error_len().is_some()) {
                return Err(bad("value is not valid UTF-8"));
            }
            return Ok(Err((i, left)));
        };
        if std::str::from_utf8(ch).is_err() {
            return Err(bad("value is not valid UTF-8"));
        }
        if cost > left {
            return Err(bad("value length splits a character"));
        }
        left -= cost;
        i += width;
    }
    Ok(Ok(i))
}

/// Parses one reply from the start of `buf`. Never panics, whatever `buf` holds.
pub(crate) fn parse(buf: &[u8]) -> Result<Parsed, ProtocolError> {
    let window = &buf[..buf.len().min(MAX_LINE_LEN + 2)];
    let Some(line_len) = find_crlf(window) else {
        if buf.len() >= MAX_LINE_LEN + 2 {
            return Err(bad("reply line too long"));
        }
        return Ok(Parsed::Need(buf.len() + 1));
    };
    let line = &buf[..line_len];
    let after_line = line_len + 2;
    if line == b"DONE" {
        return Ok(Parsed::Done(after_line, Reply::Done));
    }
    if let Some(code) = line.strip_prefix(b"ERROR ") {
        if code.is_empty() || !code.iter().all(u8::is_ascii_graphic) {
            return Err(bad(format!("malformed error line {:?}", printable(line))));
        }
        return Ok(Parsed::Done(after_line, Reply::Error(printable(code))));
    }
    let Some(len) = line.strip_prefix(b"LEN ") else {
        return Err(bad(format!("unexpected reply {:?}", printable(line))));
    };
    // Digits only, as the Lua client's `^LEN (%d+)$`.
    if len.is_empty() || len.len() > 12 || !len.iter().all(u8::is_ascii_digit) {
        return Err(bad("LEN line has a malformed length"));
    }
    let units: usize = std::str::from_utf8(len)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("LEN line has an out-of-range length"))?;
    if units > MAX_VALUE_LEN {
        return Err(bad(format!(
            "value of {units} characters exceeds the {MAX_VALUE_LEN}-byte limit"
        )));
    }
    let data = &buf[after_line..];
    let value_len = match utf16_span(data, units)? {
        Ok(n) => n,
        Err((used, left)) => {
            // Every remaining unit takes at least one byte; the trailer follows.
            let need = after_line + used + left + VALUE_TRAILER.len();
            if used + left > MAX_VALUE_LEN {
                return Err(bad(format!("value exceeds the {MAX_VALUE_LEN}-byte limit")));
            }
            return Ok(Parsed::Need(need));
        }
    };
    if value_len > MAX_VALUE_LEN {
        return Err(bad(format!("value exceeds the {MAX_VALUE_LEN}-byte limit")));
    }
    let value_end = after_line + value_len;
    let total = value_end + VALUE_TRAILER.len();
    let tail = &buf[value_end..buf.len().min(total)];
    if !VALUE_TRAILER.starts_with(tail) {
        return Err(bad("value is not followed by CRLF and DONE"));
    }
    if buf.len() < total {
        return Ok(Parsed::Need(total));
    }
    let value = String::from_utf8(data[..value_len].to_vec())
        .map_err(|_| bad("value is not valid UTF-8"))?;
    Ok(Parsed::Done(total, Reply::Value(value)))
}

/// `set <key> <exptime> <length>\r\n<data>`: **no** CRLF after the data (docs/storage.md §8.1).
pub(crate) fn set_command(key: &str, exptime: u64, data: &[u8]) -> Vec<u8> {
    let header = format!("set {key} {exptime} {}\r\n", data.len());
    let mut out = Vec::with_capacity(header.len() + data.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn done(buf: &[u8]) -> (usize, Reply) {
        match parse(buf).unwrap() {
            Parsed::Done(n, r) => (n, r),
            Parsed::Need(n) => panic!("needs {n}"),
        }
    }

    #[test]
    fn reply_kinds_of_spec_8_2() {
        assert_eq!(done(b"DONE\r\n"), (6, Reply::Done));
        assert_eq!(
            done(b"ERROR not_found\r\n"),
            (17, Reply::Error("not_found".into()))
        );
        assert_eq!(
            done(b"ERROR malformed_request\r\n").1,
            Reply::Error("malformed_request".into())
        );
        let buf = b"LEN 10\r\ntest_value\r\nDONE\r\n";
        assert_eq!(done(buf), (buf.len(), Reply::Value("test_value".into())));
        // CRLF inside a value is data: the length frames it.
        let buf = b"LEN 4\r\na\r\nb\r\nDONE\r\n";
        assert_eq!(done(buf), (buf.len(), Reply::Value("a\r\nb".into())));
    }

    #[test]
    fn length_counts_utf16_units() {
        // "é" is 1 unit / 2 bytes, "😀" 2 units / 4 bytes, "中" 1 unit / 3 bytes.
        let v = "caf\u{e9} \u{1f600}\u{4e2d}";
        let buf = format!("LEN 8\r\n{v}\r\nDONE\r\n");
        assert_eq!(done(buf.as_bytes()), (buf.len(), Reply::Value(v.into())));
        // A count that splits a surrogate pair, or bytes that are not UTF-8.
        assert!(parse("LEN 1\r\n\u{1f600}\r\nDONE\r\n".as_bytes()).is_err());
        assert!(parse(b"LEN 2\r\n\xff\xfe\r\nDONE\r\n").is_err());
    }

    #[test]
    fn incomplete_replies_ask_for_more() {
        for full in [
            "LEN 5\r\nhello\r\nDONE\r\n",
            "LEN 4\r\n\u{e9}\u{4e2d}\u{1f600}\r\nDONE\r\n",
            "DONE\r\n",
            "ERROR not_found\r\n",
        ] {
            let full = full.as_bytes();
            for cut in 0..full.len() {
                match parse(&full[..cut]).unwrap() {
                    Parsed::Need(n) => assert!(n > cut && n <= full.len(), "{cut}: {n}"),
                    Parsed::Done(..) => panic!("done at {cut}"),
                }
            }
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        for buf in [
            &b"HELLO\r\n"[..],
            b"\r\nLEN 1\r\nx\r\nDONE\r\n",
            b"LEN\r\n",
            b"LEN x\r\n",
            b"LEN +5\r\n",
            b"LEN -1\r\n",
            b"LEN 1 2\r\n",
            b"LEN 99999999999999999999999\r\n",
            b"LEN 1\r\nxy\r\nDONE\r\n",
            b"LEN 1\r\nx\r\nEND\r\n",
            b"LEN 1\r\nx\n",
            b"ERROR\r\n",
            b"ERROR \r\n",
            b"ERROR a b\r\n",
            b"done\r\n",
        ] {
            let r = parse(buf);
            assert!(r.is_err(), "{:?}: {r:?}", String::from_utf8_lossy(buf));
        }
        assert!(matches!(parse(b"LEN 1\r\nx\r\nDON"), Ok(Parsed::Need(_))));
    }

    #[test]
    fn oversized_values_and_lines_are_refused_before_reading() {
        let line = format!("LEN {}\r\n", MAX_VALUE_LEN + 1);
        assert!(parse(line.as_bytes()).is_err());
        let line = format!("LEN {MAX_VALUE_LEN}\r\n");
        assert!(matches!(parse(line.as_bytes()), Ok(Parsed::Need(_))));
        let long = vec![b'A'; MAX_LINE_LEN + 2];
        assert!(parse(&long).is_err());
        assert_eq!(parse(&long[..10]), Ok(Parsed::Need(11)));
    }

    #[test]
    fn commands_are_encoded_like_the_lua_client() {
        assert_eq!(
            set_command("a:b", 60, b"value"),
            b"set a:b 60 5\r\nvalue".to_vec()
        );
        assert_eq!(line_command(&["touch", "k", "10"]), b"touch k 10\r\n");
        assert_eq!(line_command(&["get", "k"]), b"get k\r\n");
    }

    proptest! {
        /// Arbitrary server bytes never panic the parser; a value is only ever as large as
        /// the bytes that arrived, and never above the cap; a request for more is bounded.
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..2048)) {
            match parse(&buf) {
                Ok(Parsed::Done(n, reply)) => {
                    prop_assert!(n <= buf.len());
                    if let Reply::Value(v) = reply {
                        prop_assert!(v.len() <= buf.len());
                        prop_assert!(v.len() <= MAX_VALUE_LEN);
                    }
                }
                Ok(Parsed::Need(n)) => {
                    prop_assert!(n > buf.len());
                    prop_assert!(n <= MAX_LINE_LEN + 2 + MAX_VALUE_LEN + VALUE_TRAILER.len());
                }
                Err(_) => {}
            }
        }

        /// Reply-shaped input: a real header with random numbers and random tails.
        #[test]
        fn reply_shaped_bytes_never_panic(
            head in prop_oneof![Just("LEN "), Just("LEN 1"), Just("DONE"), Just("ERROR "), Just("")],
            nums in "[0-9 ]{0,40}",
            tail in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut buf = format!("{head}{nums}\r\n").into_bytes();
            buf.extend_from_slice(&tail);
            for cut in [buf.len(), buf.len() / 2] {
                match parse(&buf[..cut]) {
                    Ok(Parsed::Done(n, _)) => prop_assert!(n <= cut),
                    Ok(Parsed::Need(n)) => {
                        prop_assert!(n > cut);
                        prop_assert!(n <= MAX_LINE_LEN + 2 + MAX_VALUE_LEN + VALUE_TRAILER.len());
                    }
                    Err(_) => {}
                }
            }
        }

        /// Any UTF-8 value framed as the server frames it parses back to itself, at any cut.
        #[test]
        fn framed_values_round_trip(v in "\\PC{1,40}") {
            let units = v.encode_utf16().count();
            let buf = format!("LEN {units}\r\n{v}\r\nDONE\r\n").into_bytes();
            prop_assert_eq!(parse(&buf).unwrap(), Parsed::Done(buf.len(), Reply::Value(v.clone())));
            for cut in 0..buf.len() {
                let r = parse(&buf[..cut]);
                prop_assert!(matches!(r, Ok(Parsed::Need(n)) if n > cut && n <= buf.len()), "{:?}", r);
            }
        }
    }
}
