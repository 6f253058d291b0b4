//! Helpers the engine's integration tests share.

/// The `Cookie` header a browser sends after these `Set-Cookie` values
/// (expired cookies, `NAME=`, are dropped).
pub(crate) fn jar(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|p| !p.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}
