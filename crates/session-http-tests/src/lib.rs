//! Not published. The facade's cross-store HTTP suites live in this crate's `tests/` so the
//! facade's examples build with only what they use (axum, tokio and cookie storage); this
//! library only compiles the root README's code blocks as doctests.
#![forbid(unsafe_code)]

/// The repository's README: every Rust block in it is compiled by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct RootReadme;
