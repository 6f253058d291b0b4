//! Passwords that break a naive URL parser, and the check that none of their text shows.

/// Passwords holding each character that ends a URL part when unescaped (`/`, `?`, `#`, `@`,
/// `:`, `&`, `%`), each made of the two marker words [`MARKERS`].
pub const PASSWORDS: &[&str] = &[
    "Pa55/w0rd",
    "Pa55?w0rd",
    "Pa55#w0rd",
    "Pa55@w0rd",
    "Pa55:w0rd",
    "Pa55&w0rd",
    "Pa55%w0rd",
    "Pa55/?w0rd",
];

/// The two words every [`PASSWORDS`] entry is made of: neither may appear in a message.
pub const MARKERS: [&str; 2] = ["Pa55", "w0rd"];

/// Panics, naming `what`, when `text` shows a piece of a [`PASSWORDS`] entry.
///
/// ```
/// session_testsupport::secrets::assert_hidden("a message", "invalid redis URL: malformed");
/// ```
///
/// ```should_panic
/// session_testsupport::secrets::assert_hidden("a message", "port must be a number, got \"w0rd\"");
/// ```
pub fn assert_hidden(what: &str, text: &str) {
    for marker in MARKERS {
        assert!(!text.contains(marker), "{what} shows the password: {text}");
    }
}
