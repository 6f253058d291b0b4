//! Configuration messages that help and never echo a value: the nearest known name for a
//! misspelt option, and parser messages with the offending value (a secret, a password, a
//! URL with credentials) left out.

use std::fmt;

/// The option of `known` closest to `unknown` by edit distance, when close enough to be a
/// likely misspelling (at most 1 edit for names up to 4 characters, up to 3 for longer ones).
///
/// ```
/// use session_core::config::closest_name;
/// let known = ["idling_timeout", "rolling_timeout", "secret"];
/// assert_eq!(closest_name("idling_timout", known), Some("idling_timeout"));
/// assert_eq!(closest_name("secrte", known), Some("secret"));
/// assert_eq!(closest_name("cassandra", known), None);
/// ```
pub fn closest_name<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match unknown.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    known
        .into_iter()
        .map(|name| (edit_distance(unknown, name), name))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// A serde message (from serde_json, toml or any serde deserializer) made safe to show and
/// more helpful:
///
/// - the value in `invalid type: ...` / `invalid value: ...` is left out, so a numeric
///   password or a secret given the wrong type is never printed;
/// - `unknown field` becomes `unknown option`, with the nearest known name when one is close;
/// - the credentials of a URL (`redis://user:password@host`) are replaced by `***`;
/// - serde_json's meaningless position of a value-to-struct conversion (`at line 0 column
///   0`) is dropped.
///
/// ```
/// use session_core::config::describe_serde_error;
/// assert_eq!(
///     describe_serde_error("invalid type: integer `918273645`, expected a string at line 0 column 0"),
///     "invalid type: integer, expected a string",
/// );
/// assert_eq!(
///     describe_serde_error("unknown field `hots`, expected one of `host`, `port`"),
///     "unknown option `hots` (did you mean `host`?)",
/// );
/// assert_eq!(
///     describe_serde_error("invalid node redis://app:hunter2@10.0.0.1:7000"),
///     "invalid node redis://***@10.0.0.1:7000",
/// );
/// ```
pub fn describe_serde_error(message: &str) -> String {
    let message = message
        .strip_suffix(" at line 0 column 0")
        .unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return unknown_field(rest);
    }
    redact_userinfo(&redact_values(message))
}

/// Replaces the userinfo of every `scheme://userinfo@host` in `message` by `***`.
fn redact_userinfo(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?`, `#`, quote or whitespace.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `unknown field `X`, expected one of `a`, `b`` (or `expected `a``, or `there are no
/// fields`), without the `unknown field `` prefix.
fn unknown_field(rest: &str) -> String {
    let Some((field, expected)) = rest.split_once('`') else {
        return "unknown option".to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest_name(field, known.iter().copied()) {
        Some(name) => format!("unknown option `{field}` (did you mean `{name}`?)"),
        None if known.is_empty() => format!("unknown option `{field}` (this block takes none)"),
        None => format!(
            "unknown option `{field}` (known: {})",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Leaves out the value of every `invalid type: <kind> <value>` and `invalid value: <kind>
/// <value>` (serde's `Unexpected`: integer, floating point, boolean, character values in
/// backticks, string values quoted).
fn redact_values(message: &str) -> String {
    const KINDS: &[&str] = &[
        "integer `",
        "floating point `",
        "boolean `",
        "character `",
        "string \"",
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = ["invalid type: ", "invalid value: "]
            .iter()
            .filter_map(|p| rest.find(p).map(|at| (at, p.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let Some(kind) = KINDS.iter().find(|k| rest.starts_with(**k)) else {
            continue;
        };
        // The kind's name, without the opening quote of its value.
        out.push_str(&kind[..kind.len() - 2]);
        // The value ends where serde's ", expected" starts; the last one, so a value that
        // itself contains ", expected" is still left out whole.
        match rest.rfind(", expected") {
            Some(end) if end >= kind.len() => rest = &rest[end..],
            _ => {
                out.push_str(" (value not shown)");
                return out;
            }
        }
    }
}

/// A configuration text's syntax or type error, as shown to users: the parser's message
/// made safe by [`describe_serde_error`] and the position, never the offending line.
pub(super) struct TextError {
    message: String,
}

impl TextError {
    /// A TOML error at a position of `text`: line and column from its span, never the line.
    pub(super) fn toml(text: &str, error: &toml::de::Error) -> Self {
        let message = describe_serde_error(error.message());
        let message = match error.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
                    before[nl + 1..].chars().count()
                }) + 1;
                format!("{message} (line {line}, column {column})")
            }
            None => message,
        };
        Self { message }
    }

    /// A JSON error: serde_json's message (with its position) made safe.
    pub(super) fn json(error: &serde_json::Error) -> Self {
        Self {
            message: describe_serde_error(&error.to_string()),
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TextError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_left_out_of_type_errors() {
        for (message, shown) in [
            (
                "invalid type: string \"hunter2, expected x\", expected u16",
                "invalid type: string, expected u16",
            ),
            (
                "invalid value: integer `-5`, expected u64 at line 1 column 9",
                "invalid value: integer, expected u64 at line 1 column 9",
            ),
            (
                "invalid type: floating point `1.5`, expected a string",
                "invalid type: floating point, expected a string",
            ),
            (
                "invalid type: boolean `true`, expected a string",
                "invalid type: boolean, expected a string",
            ),
            (
                "invalid type: sequence, expected a string",
                "invalid type: sequence, expected a string",
            ),
            (
                "invalid type: string \"abc",
                "invalid type: string (value not shown)",
            ),
        ] {
            assert_eq!(describe_serde_error(message), shown);
        }
    }

    #[test]
    fn url_credentials_are_left_out() {
        assert_eq!(
            describe_serde_error(
                "bad urls: redis://u:p@h/0 and mysql://root@db?x, not http://h/a@b"
            ),
            "bad urls: redis://***@h/0 and mysql://***@db?x, not http://h/a@b"
        );
    }

    #[test]
    fn unknown_fields_name_the_nearest_option() {
        assert_eq!(
            describe_serde_error("unknown field `x`, there are no fields"),
            "unknown option `x` (this block takes none)"
        );
        assert_eq!(
            describe_serde_error("unknown field `zzzz`, expected `host`"),
            "unknown option `zzzz` (known: `host`)"
        );
        assert_eq!(
            describe_serde_error("unknown field `prot`, expected one of `host`, `port`"),
            "unknown option `prot` (did you mean `port`?)"
        );
    }

    #[test]
    fn toml_errors_give_the_position_not_the_line() {
        let text = "audience = \"a\"\nsecret = \"hunter2";
        let err = toml::from_str::<toml::Value>(text).unwrap_err();
        let shown = TextError::toml(text, &err).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("line 2"), "{shown}");
    }
}
