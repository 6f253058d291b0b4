//! File names (docs/storage.md §10.2) and the reference's file-name check (§10.6).

use session_storage::StorageError;

/// Refuses a part that could leave the directory or truncate a path: `/`, `\` or NUL.
pub(crate) fn check_part(what: &'static str, part: &str) -> Result<(), StorageError> {
    if part.bytes().any(|b| b == b'/' || b == b'\\' || b == 0) {
        return Err(StorageError::invalid_input(format!(
            "{what} contains '/', '\\' or NUL and cannot be part of a file name"
        )));
    }
    Ok(())
}

/// `[P_]name_key[.U]`, after checking every part.
pub(crate) fn file_name(
    prefix: Option<&str>,
    suffix: Option<&str>,
    name: &str,
    key_part: &str,
) -> Result<String, StorageError> {
    check_part("cookie name", name)?;
    check_part("key", key_part)?;
    let mut out = String::with_capacity(
        prefix.map_or(0, |p| p.len() + 1)
            + name.len()
            + 1
            + key_part.len()
            + suffix.map_or(0, |s| s.len() + 1),
    );
    if let Some(p) = prefix {
        out.push_str(p);
        out.push('_');
    }
    out.push_str(name);
    out.push('_');
    out.push_str(key_part);
    if let Some(s) = suffix {
        out.push('.');
        out.push_str(s);
    }
    Ok(out)
}

/// The reference's `validate_file_name(prefix, suffix, name, filename)` (docs/storage.md §10.6):
/// whether `filename` (a bare name) is a record or metadata file of cookie `name`.
/// Cleanup only ever deletes files that pass it.
///
/// ```
/// use session_file::validate_file_name;
/// let sid = "ABCdef123_-iJqwertYUIOpasdfgHJKLzxcvbnmJuis";
/// assert!(validate_file_name(Some("pref"), Some("suff"), "name", &format!("pref_name_{sid}.suff")));
/// assert!(validate_file_name(None, None, "name", "name_some-aud:some-sub"));
/// assert!(!validate_file_name(None, None, "name", "name_abc"));
/// ```
#[must_use]
pub fn validate_file_name(
    prefix: Option<&str>,
    suffix: Option<&str>,
    name: &str,
    filename: &str,
) -> bool {
    if filename == "." || filename == ".." {
        return false;
    }
    let f = filename.as_bytes();
    let len = f.len();
    let mut start = 0;
    if let Some(p) = prefix {
        let p = p.as_bytes();
        if f.get(p.len()) != Some(&b'_') || (!p.is_empty() && !f.starts_with(p)) {
            return false;
        }
        if !p.is_empty() {
            start = p.len() + 1;
        }
    }
    let mut end = len;
    if let Some(s) = suffix {
        let s = s.as_bytes();
        let Some(dot) = len.checked_sub(s.len() + 1) else {
            return false;
        };
        if f.get(dot) != Some(&b'.') || (!s.is_empty() && !f.ends_with(s)) {
            return false;
        }
        end = dot;
    }
    let name = name.as_bytes();
    let name_end = start + name.len();
    if f.get(start..name_end) != Some(name) || f.get(name_end) != Some(&b'_') {
        return false;
    }
    let Some(rest) = f.get(name_end + 1..end) else {
        return false;
    };
    if rest.len() < 3 {
        return false;
    }
    if rest.len() != 43 {
        // first ':' at 1-based position >= 2, and not at position 43
        match rest.iter().skip(1).position(|b| *b == b':') {
            None => return false,
            Some(i) if i + 2 == 43 => return false,
            Some(_) => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "ABCdef123_-iJqwertYUIOpasdfgHJKLzxcvbnmJuis";
    const META: &str = "some-aud:some-sub";

    #[test]
    fn reference_rejections_for_every_combination() {
        for (p, s) in [
            (Some("pref"), Some("suff")),
            (Some("pref"), None),
            (None, Some("suff")),
            (None, None),
        ] {
            for bad in ["some.conf", "abc", "name_abc", ".", ".."] {
                assert!(!validate_file_name(p, s, "name", bad), "{p:?} {s:?} {bad}");
            }
        }
    }

    #[test]
    fn reference_acceptances() {
        let cases: [(Option<&str>, Option<&str>, &str, &str); 7] = [
            (Some("pref"), Some("suff"), "pref_name_", ".suff"),
            (Some("@-_-"), Some("-_-@"), "@-_-_name_", ".-_-@"),
            (Some("pref"), None, "pref_name_", ""),
            (Some("@-_-"), None, "@-_-_name_", ""),
            (None, Some("suff"), "name_", ".suff"),
            (None, Some("-_-@"), "name_", ".-_-@"),
            (None, None, "name_", ""),
        ];
        for (p, s, head, tail) in cases {
            for rest in [SID, META] {
                let f = format!("{head}{rest}{tail}");
                assert!(validate_file_name(p, s, "name", &f), "{f}");
            }
        }
    }

    #[test]
    fn our_file_names_pass_the_check() {
        let f = file_name(Some("p"), Some("s"), "session", SID).unwrap();
        assert_eq!(f, format!("p_session_{SID}.s"));
        assert!(validate_file_name(Some("p"), Some("s"), "session", &f));
        let f = file_name(None, None, "session", "ZGVmYXVsdA:am9obg").unwrap();
        assert_eq!(f, "session_ZGVmYXVsdA:am9obg");
        assert!(validate_file_name(None, None, "session", &f));
        assert!(!validate_file_name(None, None, "other", &f));
    }

    #[test]
    fn traversal_is_refused() {
        for bad in ["../x", "a/b", "a\\b", "a\0b"] {
            assert!(file_name(None, None, bad, SID).is_err());
            assert!(file_name(None, None, "session", bad).is_err());
        }
    }

    #[test]
    fn validate_never_panics_on_odd_input() {
        for f in [
            "",
            "_",
            "name_",
            "name_:",
            "pref_",
            ".suff",
            "é_name_x:y",
            "name_\u{e9}\u{e9}:",
        ] {
            for (p, s) in [
                (Some("pref"), Some("suff")),
                (None, None),
                (Some(""), Some("")),
            ] {
                let _ = validate_file_name(p, s, "name", f);
            }
        }
    }
}
