//! Key building shared by redis, memcached, dshm and shm (docs/storage.md §5.1).

/// Prefix and suffix of a store's keys, with the reference's joining rules.
///
/// Parts are joined with `:`. An empty prefix or suffix still counts as set (so
/// `prefix = ""` gives a leading `:`), exactly as in the reference; only the file store treats
/// `""` as unset, and it has its own naming.
///
/// ```
/// use session_storage::KeyLayout;
/// let k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// let layout = KeyLayout::new(Some("sessions".into()), Some("s".into()));
/// assert_eq!(layout.record_key("session", k), format!("sessions:session:{k}:s"));
/// assert_eq!(
///     layout.metadata_key("session", "ZGVmYXVsdA", "am9obg"),
///     "sessions:session:ZGVmYXVsdA:am9obg:s",
/// );
/// assert_eq!(KeyLayout::default().record_key("session", k), format!("session:{k}"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLayout {
    /// Prepended with `:` when present (even if empty).
    pub prefix: Option<String>,
    /// Appended with `:` when present (even if empty).
    pub suffix: Option<String>,
}

impl KeyLayout {
    /// A layout with the given prefix and suffix.
    ///
    /// ```
    /// let layout = session_storage::KeyLayout::new(Some(String::new()), None);
    /// assert_eq!(layout.record_key("n", "k"), ":n:k");
    /// ```
    #[must_use]
    pub const fn new(prefix: Option<String>, suffix: Option<String>) -> Self {
        Self { prefix, suffix }
    }

    /// `[prefix ":"] name ":" key [":" suffix]`.
    ///
    /// ```
    /// let layout = session_storage::KeyLayout::new(None, Some("u".into()));
    /// assert_eq!(layout.record_key("n", "k"), "n:k:u");
    /// ```
    #[must_use]
    pub fn record_key(&self, name: &str, key: &str) -> String {
        self.join(&[name, key])
    }

    /// `[prefix ":"] name ":" audience ":" subject [":" suffix]`.
    ///
    /// ```
    /// let layout = session_storage::KeyLayout::new(Some("p".into()), None);
    /// assert_eq!(layout.metadata_key("n", "a", "s"), "p:n:a:s");
    /// ```
    #[must_use]
    pub fn metadata_key(&self, name: &str, audience: &str, subject: &str) -> String {
        self.join(&[name, audience, subject])
    }

    fn join(&self, parts: &[&str]) -> String {
        let len = self.prefix.as_ref().map_or(0, |p| p.len() + 1)
            + self.suffix.as_ref().map_or(0, |s| s.len() + 1)
            + parts.iter().map(|p| p.len() + 1).sum::<usize>();
        let mut out = String::with_capacity(len);
        if let Some(prefix) = &self.prefix {
            out.push_str(prefix);
            out.push(':');
        }
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(part);
        }
        if let Some(suffix) = &self.suffix {
            out.push(':');
            out.push_str(suffix);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn all_eight_combinations_match_spec_table() {
        let p = || Some("P".to_owned());
        let u = || Some("U".to_owned());
        let cases = [
            (p(), u(), true, "P:N:X:S:U"),
            (p(), u(), false, "P:N:X:U"),
            (p(), None, true, "P:N:X:S"),
            (None, u(), true, "N:X:S:U"),
            (p(), None, false, "P:N:X"),
            (None, u(), false, "N:X:U"),
            (None, None, true, "N:X:S"),
            (None, None, false, "N:X"),
        ];
        for (prefix, suffix, with_subject, want) in cases {
            let layout = KeyLayout::new(prefix, suffix);
            let got = if with_subject {
                layout.metadata_key("N", "X", "S")
            } else {
                layout.record_key("N", "X")
            };
            assert_eq!(got, want);
        }
    }

    #[test]
    fn spec_examples() {
        let layout = KeyLayout::new(Some("sessions".into()), None);
        assert_eq!(
            layout.record_key("session", K),
            format!("sessions:session:{K}")
        );
        assert_eq!(
            layout.metadata_key("session", "ZGVmYXVsdA", "am9obg"),
            "sessions:session:ZGVmYXVsdA:am9obg"
        );
        let layout = KeyLayout::new(None, Some("s".into()));
        assert_eq!(layout.record_key("session", K), format!("session:{K}:s"));
    }

    #[test]
    fn empty_prefix_and_suffix_count_as_set() {
        let layout = KeyLayout::new(Some(String::new()), Some(String::new()));
        assert_eq!(layout.record_key("n", "k"), ":n:k:");
    }
}
