//! The cookie chunk plan (docs/cookie-format.md §6): how many cookies a payload needs, how
//! to split it, and how to put it back together.

use std::borrow::Cow;

use crate::error::Error;
use crate::header::HEADER_ENCODED_SIZE;

/// The budget of one cookie's `name=value` in bytes.
pub const MAX_COOKIE_SIZE: usize = 4096;
/// The most cookies one session (or remember session) may span.
pub const MAX_COOKIES: usize = 9;
/// The budget of all chunks together.
pub const MAX_COOKIES_SIZE: usize = MAX_COOKIES * MAX_COOKIE_SIZE;

/// How many cookies carry a payload of `data_size` base64url characters for
/// a cookie named with `name_len` bytes (prefix included).
///
/// This is the reference's loop: the first cookie carries
/// `name=`, the 110-character header and payload; every further cookie costs
/// `name`, one digit and `=` more.
///
/// # Errors
///
/// [`Error::CookieSizeLimit`] when nine cookies are not enough (or the name
/// alone leaves no room for the header).
///
/// ```
/// use session_codec::chunk_count;
/// assert_eq!(chunk_count(7, 3978), Ok(1));
/// assert_eq!(chunk_count(7, 3979), Ok(2));
/// assert_eq!(chunk_count(7, 12032), Ok(3));
/// assert_eq!(chunk_count(7, 36674), Ok(9));
/// assert!(chunk_count(7, 36675).is_err());
/// ```
pub fn chunk_count(name_len: usize, data_size: usize) -> Result<usize, Error> {
    if name_len + 1 + HEADER_ENCODED_SIZE > MAX_COOKIE_SIZE {
        return Err(Error::CookieSizeLimit);
    }
    let mut space = name_len + 1 + HEADER_ENCODED_SIZE + data_size;
    if space > MAX_COOKIES_SIZE {
        return Err(Error::CookieSizeLimit);
    }
    if space <= MAX_COOKIE_SIZE {
        return Ok(1);
    }
    for i in 2..=MAX_COOKIES {
        space += name_len + 2;
        if space > MAX_COOKIES_SIZE {
            return Err(Error::CookieSizeLimit);
        }
        if space <= MAX_COOKIE_SIZE * i {
            return Ok(i);
        }
    }
    Err(Error::CookieSizeLimit)
}

/// The largest data size `n` cookies can carry: `4094·n − 109 − n·L`
/// (`None` when `n` is 0, above 9, or the name is too long).
///
/// ```
/// use session_codec::max_data_size;
/// assert_eq!(max_data_size(7, 1), Some(3978));
/// assert_eq!(max_data_size(8, 2), Some(8063));
/// assert_eq!(max_data_size(14, 9), Some(36611));
/// ```
#[must_use]
pub fn max_data_size(name_len: usize, chunks: usize) -> Option<usize> {
    if chunks == 0 || chunks > MAX_COOKIES {
        return None;
    }
    (4094 * chunks).checked_sub(109 + chunks * name_len)
}

/// Payload characters carried by the first cookie when there are two or
/// more chunks: `4096 − 110 − L − 1`.
fn first_part_len(name_len: usize) -> usize {
    (MAX_COOKIE_SIZE - HEADER_ENCODED_SIZE - 1).saturating_sub(name_len)
}

/// Payload characters carried by each further cookie: `4096 − L − 2`.
fn other_part_len(name_len: usize) -> usize {
    (MAX_COOKIE_SIZE - 2).saturating_sub(name_len)
}

/// Splits a base64url payload into the parts of each cookie: part 0 follows
/// the header in cookie `NAME`, part `i` is the whole value of cookie
/// `NAME{i+1}`. With one chunk the only part is the whole payload.
///
/// # Errors
///
/// [`Error::CookieSizeLimit`] as [`chunk_count`]; [`Error::InvalidPayload`]
/// when the payload is not ASCII (base64url always is).
///
/// ```
/// let payload = "a".repeat(12032);
/// let parts = session_codec::split_payload(7, &payload).unwrap();
/// assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [3978, 4087, 3967]);
/// ```
pub fn split_payload(name_len: usize, payload: &str) -> Result<Vec<&str>, Error> {
    if !payload.is_ascii() {
        return Err(Error::InvalidPayload);
    }
    let n = chunk_count(name_len, payload.len())?;
    if n == 1 {
        return Ok(vec![payload]);
    }
    let mut parts = Vec::with_capacity(n);
    let (first, mut rest) = payload.split_at(first_part_len(name_len).min(payload.len()));
    parts.push(first);
    while !rest.is_empty() {
        let (part, tail) = rest.split_at(other_part_len(name_len).min(rest.len()));
        parts.push(part);
        rest = tail;
    }
    debug_assert_eq!(parts.len(), n);
    Ok(parts)
}

/// Reassembles the payload of a cookie-storage session (docs/cookie-format.md §6.3).
///
/// `first_value` is the value of cookie `NAME` (header included);
/// `chunk(i)` returns the value of cookie `NAME{i}` for `i` in `2..=n`.
/// With one chunk the payload is the **last** `data_size` characters of the
/// first value; with more it is everything after the header followed by each
/// chunk. The result is checked against `data_size`.
///
/// # Errors
///
/// [`Error::CookieSizeLimit`] (from [`chunk_count`]),
/// [`Error::MissingChunk`], [`Error::InvalidPayload`] (wrong length), or
/// [`Error::PayloadBase64`] when the cut falls inside a non-ASCII character.
///
/// ```
/// use session_codec::assemble_payload;
/// let first = format!("{}{}", "H".repeat(110), "abcd");
/// assert_eq!(assemble_payload(7, 4, &first, |_| None).unwrap(), "abcd");
/// assert!(assemble_payload(7, 200, &first, |_| None).is_err()); // shorter than announced
/// ```
pub fn assemble_payload<'a, F>(
    name_len: usize,
    data_size: usize,
    first_value: &'a str,
    mut chunk: F,
) -> Result<Cow<'a, str>, Error>
where
    F: FnMut(usize) -> Option<&'a str>,
{
    let n = chunk_count(name_len, data_size)?;
    let payload: Cow<'a, str> = if n == 1 {
        let start = first_value.len().saturating_sub(data_size);
        Cow::Borrowed(first_value.get(start..).ok_or(Error::PayloadBase64)?)
    } else {
        let mut s = String::with_capacity(data_size);
        s.push_str(
            first_value
                .get(HEADER_ENCODED_SIZE..)
                .ok_or(Error::PayloadBase64)?,
        );
        for i in 2..=n {
            let part = chunk(i).ok_or(Error::MissingChunk)?;
            if s.len() + part.len() > data_size {
                // Longer than announced: no need to copy the rest.
                return Err(Error::InvalidPayload);
            }
            s.push_str(part);
        }
        Cow::Owned(s)
    };
    if payload.len() != data_size {
        return Err(Error::InvalidPayload);
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // small test indices
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn capacities_match_the_cookie_format_table() {
        for (l, caps) in [
            (7usize, [3978usize, 8065, 12152]),
            (8, [3977, 8063, 12149]),
            (14, [3971, 8051, 12131]),
        ] {
            for (i, cap) in caps.iter().enumerate() {
                let n = i + 1;
                assert_eq!(max_data_size(l, n), Some(*cap));
                assert_eq!(chunk_count(l, *cap), Ok(n), "L={l} n={n}");
                assert_eq!(chunk_count(l, *cap + 1), Ok(n + 1), "L={l} n={n}+1");
            }
        }
        assert_eq!(max_data_size(7, 9), Some(36674));
        assert_eq!(max_data_size(8, 9), Some(36665));
        assert_eq!(max_data_size(14, 9), Some(36611));
        assert_eq!(chunk_count(14, 36611), Ok(9));
        assert_eq!(chunk_count(14, 36612), Err(Error::CookieSizeLimit));
    }

    #[test]
    fn closed_form_agrees_with_the_loop() {
        for l in [1usize, 6, 7, 8, 14, 40] {
            for d in (0..37_000).step_by(7) {
                let expect = (1..=9).find(|&n| max_data_size(l, n).is_some_and(|m| d <= m));
                assert_eq!(chunk_count(l, d).ok(), expect, "L={l} D={d}");
            }
        }
    }

    #[test]
    fn v9_split_has_the_reference_boundaries() {
        let payload = "x".repeat(12032);
        let parts = split_payload(7, &payload).unwrap();
        let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(sizes, [3978, 4087, 3967]);
        // name=value lengths: 4096 / 4096 / 3976.
        assert_eq!(7 + 1 + 110 + sizes[0], 4096);
        assert_eq!(8 + 1 + sizes[1], 4096);
        assert_eq!(8 + 1 + sizes[2], 3976);
    }

    #[test]
    fn missing_chunk_is_reported() {
        let first = "H".repeat(4000);
        assert_eq!(
            assemble_payload(7, 5000, &first, |_| None),
            Err(Error::MissingChunk)
        );
    }

    #[test]
    fn single_chunk_takes_the_last_data_size_characters() {
        let value = format!("{}junk{}", "H".repeat(110), "payload");
        assert_eq!(assemble_payload(7, 7, &value, |_| None).unwrap(), "payload");
    }

    #[test]
    fn non_ascii_cut_is_an_error_not_a_panic() {
        let value = format!("{}é", "H".repeat(110));
        assert_eq!(
            assemble_payload(7, 1, &value, |_| None),
            Err(Error::PayloadBase64)
        );
    }

    #[test]
    fn absurd_name_length_is_refused() {
        assert_eq!(chunk_count(4000, 0), Err(Error::CookieSizeLimit));
    }

    proptest! {
        #[test]
        fn split_then_join_is_identity(len in 0usize..=36_674, l in prop::sample::select(vec![7usize, 8, 14])) {
            let payload: String = (0..len).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
            match split_payload(l, &payload) {
                Ok(parts) => {
                    prop_assert!(len <= max_data_size(l, 9).unwrap());
                    prop_assert_eq!(parts.len(), chunk_count(l, len).unwrap());
                    let header = "H".repeat(HEADER_ENCODED_SIZE);
                    let first = format!("{header}{}", parts[0]);
                    prop_assert!(l + 1 + first.len() <= MAX_COOKIE_SIZE);
                    for p in &parts[1..] {
                        prop_assert!(l + 2 + p.len() <= MAX_COOKIE_SIZE);
                        prop_assert!(!p.is_empty());
                    }
                    let joined = assemble_payload(l, len, &first, |i| parts.get(i - 1).copied()).unwrap();
                    prop_assert_eq!(joined.as_ref(), payload.as_str());
                }
                Err(e) => {
                    prop_assert_eq!(e, Error::CookieSizeLimit);
                    prop_assert!(len > max_data_size(l, 9).unwrap());
                }
            }
        }

        #[test]
        fn limit_is_enforced_exactly(l in 1usize..40) {
            let max = max_data_size(l, 9).unwrap();
            prop_assert_eq!(chunk_count(l, max), Ok(9));
            prop_assert_eq!(chunk_count(l, max + 1), Err(Error::CookieSizeLimit));
        }
    }
}
