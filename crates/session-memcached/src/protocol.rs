//! The memcached text protocol: request encoding and a strict, bounded reply parser.
//!
//! The parser is a pure function over the bytes received so far. It never allocates more
//! than the value it returns, refuses a reply line longer than [`MAX_LINE_LEN`] and a value
//! announced larger than [`MAX_VALUE_LEN`] before any of it is read, and tells the caller how
//! many bytes it needs at least before it can decide, so the reader never buffers more than
//! one reply.

use std::fmt;

pub(crate) use session_net::text::{ProtocolError, line_command};
use session_net::text::{find_crlf, printable};

/// The longest reply line accepted, without its `\r\n` (a `VALUE` line with a 250-byte key
/// and every number at its widest is under 330 bytes).
pub(crate) const MAX_LINE_LEN: usize = 1024;

/// The largest value a reply may carry: 32 MiB. The session engine's payload limit is
/// 16 MiB, memcached's default item size limit is 1 MiB; anything announced larger is a
/// protocol error and is never read.
///
/// ```
/// assert_eq!(session_memcached::MAX_VALUE_LEN, 32 * 1024 * 1024);
/// ```
pub const MAX_VALUE_LEN: usize = 32 * 1024 * 1024;

/// A stored item as returned by `get`/`gets`. `Debug` prints its length, not its bytes.
///
/// ```no_run
/// # async fn demo(mut conn: session_memcached::MemcachedConnection) -> Result<(), session_storage::StorageError> {
/// if let Some(item) = conn.gets("sessions%3Asession%3AK").await? {
///     println!("{} bytes, flags {}, cas {:?}", item.data.len(), item.flags, item.cas);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Item {
    /// The stored bytes.
    pub data: Vec<u8>,
    /// The client flags (the reference always writes 0).
    pub flags: u32,
    /// The CAS unique, for `gets` replies.
    pub cas: Option<u64>,
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are session records: print their size, never their bytes.
        f.debug_struct("Item")
            .field("len", &self.data.len())
            .field("flags", &self.flags)
            .field("cas", &self.cas)
            .finish()
    }
}

/// The one-line answers of storage, `touch` and `delete` commands.
///
/// ```
/// use session_memcached::Status;
/// assert_eq!(Status::Stored.to_string(), "STORED");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `STORED`: a `set`, `add`, `append` or `cas` took effect.
    Stored,
    /// `NOT_STORED`: `add` of an existing key, `append` of a missing one.
    NotStored,
    /// `EXISTS`: a `cas` whose item changed since `gets`.
    Exists,
    /// `NOT_FOUND`: `touch`, `delete` or `cas` of a missing key.
    NotFound,
    /// `DELETED`: `delete` took effect.
    Deleted,
    /// `TOUCHED`: `touch` took effect.
    Touched,
}

impl Status {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "STORED",
            Self::NotStored => "NOT_STORED",
            Self::Exists => "EXISTS",
            Self::NotFound => "NOT_FOUND",
            Self::Deleted => "DELETED",
            Self::Touched => "TOUCHED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(Status),
    /// `END` alone (`None`) or one `VALUE` block followed by `END`.
    Value(Option<Item>),
    Version(String),
    /// `ERROR`, `CLIENT_ERROR <msg>` or `SERVER_ERROR <msg>`, as sent (printable ASCII only).
    Error(String),
}

/// What [`parse`] made of the bytes so far.
pub(crate) type Parsed = session_net::text::Parsed<Reply>;

fn bad(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(msg)
}

fn number<T: std::str::FromStr>(field: &[u8], what: &str) -> Result<T, ProtocolError> {
    // Digits only: `str::parse` would also take a leading '+'.
    if field.is_empty() || field.len() > 20 || !field.iter().all(u8::is_ascii_digit) {
        return Err(bad(format!("VALUE line has a malformed {what}")));
    }
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("VALUE line has an out-of-range {what}")))
}

/// Parses one reply from the start of `buf`. `key` is the (wire) key of a `get`/`gets`
/// request: a `VALUE` line naming another key is an error. Never panics, whatever `buf` holds.
pub(crate) fn parse(buf: &[u8], key: Option<&[u8]>) -> Result<Parsed, ProtocolError> {
    let window = &buf[..buf.len().min(MAX_LINE_LEN + 2)];
    let Some(line_len) = find_crlf(window) else {
        if buf.len() >= MAX_LINE_LEN + 2 {
            return Err(bad("reply line too long"));
        }
        return Ok(Parsed::Need(buf.len() + 1));
    };
    let line = &buf[..line_len];
    let after_line = line_len + 2;
    let status = |s| Ok(Parsed::Done(after_line, Reply::Status(s)));
    match line {
        b"STORED" => return status(Status::Stored),
        b"NOT_STORED" => return status(Status::NotStored),
        b"EXISTS" => return status(Status::Exists),
        b"NOT_FOUND" => return status(Status::NotFound),
        b"DELETED" => return status(Status::Deleted),
        b"TOUCHED" => return status(Status::Touched),
        b"END" => return Ok(Parsed::Done(after_line, Reply::Value(None))),
        b"ERROR" => return Ok(Parsed::Done(after_line, Reply::Error("ERROR".to_owned()))),
        _ => {}
    }
    if line.starts_with(b"CLIENT_ERROR") || line.starts_with(b"SERVER_ERROR") {
        return Ok(Parsed::Done(after_line, Reply::Error(printable(line))));
    }
    if let Some(version) = line.strip_prefix(b"VERSION ") {
        return Ok(Parsed::Done(after_line, Reply::Version(printable(version))));
    }
    let Some(fields) = line.strip_prefix(b"VALUE ") else {
        return Err(bad(format!("unexpected reply {:?}", printable(line))));
    };
    let fields: Vec<&[u8]> = fields.split(|&b| b == b' ').collect();
    let (name, flags, len, cas) = match fields.as_slice() {
        [name, flags, len] => (*name, *flags, *len, None),
        [name, flags, len, cas] => (*name, *flags, *len, Some(*cas)),
        _ => return Err(bad("VALUE line does not have 3 or 4 fields")),
    };
    if key.is_some_and(|k| k != name) {
        return Err(bad("VALUE line names another key"));
    }
    let flags: u32 = number(flags, "flags field")?;
    let len: usize = number(len, "length")?;
    if len > MAX_VALUE_LEN {
        return Err(bad(format!(
            "value of {len} bytes exceeds the {MAX_VALUE_LEN}-byte limit"
        )));
    }
    let cas: Option<u64> = cas.map(|c| number(c, "cas unique")).transpose()?;
    // data, "\r\n", then "END\r\n"
    let data_end = after_line + len;
    let total = data_end + 2 + 5;
    if buf.len() < total {
        // Fail early when what already arrived cannot be right.
        if buf.len() >= data_end + 2 && &buf[data_end..data_end + 2] != b"\r\n" {
            return Err(bad("value is not followed by CRLF"));
        }
        return Ok(Parsed::Need(total));
    }
    if &buf[data_end..data_end + 2] != b"\r\n" {
        return Err(bad("value is not followed by CRLF"));
    }
    if &buf[data_end + 2..total] != b"END\r\n" {
        return Err(bad("VALUE block is not followed by END"));
    }
    let item = Item {
        data: buf[after_line..data_end].to_vec(),
        flags,
        cas,
    };
    Ok(Parsed::Done(total, Reply::Value(Some(item))))
}

/// A storage command: `<cmd> <key> <flags> <exptime> <bytes>[ <cas>]\r\n<data>\r\n`.
pub(crate) fn storage_command(
    cmd: &str,
    key: &str,
    flags: u32,
    exptime: u64,
    data: &[u8],
    cas: Option<u64>,
) -> Vec<u8> {
    let mut header = format!("{cmd} {key} {flags} {exptime} {}", data.len());
    if let Some(cas) = cas {
        header.push(' ');
        header.push_str(&cas.to_string());
    }
    header.push_str("\r\n");
    let mut out = Vec::with_capacity(header.len() + data.len() + 2);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn done(buf: &[u8], key: Option<&[u8]>) -> (usize, Reply) {
        match parse(buf, key).unwrap() {
            Parsed::Done(n, r) => (n, r),
            Parsed::Need(n) => panic!("needs {n}"),
        }
    }

    #[test]
    fn status_lines() {
        for (line, s) in [
            ("STORED", Status::Stored),
            ("NOT_STORED", Status::NotStored),
            ("EXISTS", Status::Exists),
            ("NOT_FOUND", Status::NotFound),
            ("DELETED", Status::Deleted),
            ("TOUCHED", Status::Touched),
        ] {
            let buf = format!("{line}\r\n");
            assert_eq!(done(buf.as_bytes(), None), (buf.len(), Reply::Status(s)));
        }
        assert_eq!(done(b"END\r\n", None), (5, Reply::Value(None)));
        assert_eq!(
            done(b"SERVER_ERROR out of memory\r\n", None).1,
            Reply::Error("SERVER_ERROR out of memory".into())
        );
        assert_eq!(done(b"ERROR\r\n", None).1, Reply::Error("ERROR".into()));
        assert_eq!(
            done(b"VERSION 1.6.18\r\n", None).1,
            Reply::Version("1.6.18".into())
        );
    }

    #[test]
    fn value_blocks() {
        let buf = b"VALUE k 0 5\r\nhello\r\nEND\r\n";
        let (n, r) = done(buf, Some(b"k"));
        assert_eq!(n, buf.len());
        let Reply::Value(Some(item)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            (item.data.as_slice(), item.flags, item.cas),
            (&b"hello"[..], 0, None)
        );
        let buf = b"VALUE k 7 2 12345\r\n\r\n\r\nEND\r\n";
        let Reply::Value(Some(item)) = done(buf, Some(b"k")).1 else {
            panic!()
        };
        assert_eq!(
            (item.data.as_slice(), item.flags, item.cas),
            (&b"\r\n"[..], 7, Some(12345))
        );
    }

    #[test]
    fn incomplete_replies_ask_for_more() {
        let full = b"VALUE k 0 5\r\nhello\r\nEND\r\n";
        for cut in 0..full.len() {
            match parse(&full[..cut], Some(b"k")).unwrap() {
                Parsed::Need(n) => assert!(n > cut && n <= full.len(), "{cut}: {n}"),
                Parsed::Done(..) => panic!("done at {cut}"),
            }
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        for buf in [
            &b"HELLO\r\n"[..],
            b"VALUE k 0\r\n",
            b"VALUE k 0 5 1 2\r\n",
            b"VALUE k x 5\r\n",
            b"VALUE k 0 +5\r\n",
            b"VALUE k 0 99999999999999999999999\r\n",
            b"VALUE other 0 1\r\nx\r\nEND\r\n",
            b"VALUE k 0 1\r\nxy\r\nEND\r\n",
            b"VALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\nEND\r\n",
        ] {
            assert!(
                parse(buf, Some(b"k")).is_err(),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn oversized_values_and_lines_are_refused_before_reading() {
        let line = format!("VALUE k 0 {}\r\n", MAX_VALUE_LEN + 1);
        assert!(parse(line.as_bytes(), Some(b"k")).is_err());
        let line = format!("VALUE k 0 {MAX_VALUE_LEN}\r\n");
        assert!(matches!(
            parse(line.as_bytes(), Some(b"k")),
            Ok(Parsed::Need(_))
        ));
        let long = vec![b'A'; MAX_LINE_LEN + 2];
        assert!(parse(&long, None).is_err());
        assert_eq!(parse(&long[..10], None), Ok(Parsed::Need(11)));
    }

    #[test]
    fn commands_are_encoded_like_the_text_protocol() {
        assert_eq!(
            storage_command("set", "a%3Ab", 0, 60, b"v", None),
            b"set a%3Ab 0 60 1\r\nv\r\n"
        );
        assert_eq!(
            storage_command("cas", "k", 0, 5, b"xy", Some(42)),
            b"cas k 0 5 2 42\r\nxy\r\n"
        );
        assert_eq!(line_command(&["touch", "k", "10"]), b"touch k 10\r\n");
    }

    proptest! {
        /// Arbitrary server bytes never panic the parser; a value is only ever as large as
        /// the bytes that arrived, and never above the cap.
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..2048)) {
            match parse(&buf, Some(b"k")) {
                Ok(Parsed::Done(n, reply)) => {
                    prop_assert!(n <= buf.len());
                    if let Reply::Value(Some(item)) = reply {
                        prop_assert!(item.data.len() <= buf.len());
                        prop_assert!(item.data.len() <= MAX_VALUE_LEN);
                    }
                }
                Ok(Parsed::Need(n)) => prop_assert!(n > buf.len()),
                Err(_) => {}
            }
        }

        /// Reply-shaped input (a real header with random numbers and random tails).
        #[test]
        fn reply_shaped_bytes_never_panic(
            head in prop_oneof![Just("VALUE k "), Just("VALUE "), Just("STORED"), Just("END"), Just("SERVER_ERROR ")],
            nums in "[0-9 ]{0,60}",
            tail in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut buf = format!("{head}{nums}\r\n").into_bytes();
            buf.extend_from_slice(&tail);
            for cut in [buf.len(), buf.len() / 2] {
                match parse(&buf[..cut], Some(b"k")) {
                    Ok(Parsed::Done(n, _)) => prop_assert!(n <= cut),
                    Ok(Parsed::Need(n)) => prop_assert!(n > cut && n <= MAX_VALUE_LEN + MAX_LINE_LEN + 16),
                    Err(_) => {}
                }
            }
        }
    }
}
