//! HTTP sessions for Rust, wire-compatible with lua-resty-session 4.x.
//!
//! **Not implemented yet.** This facade will re-export the session engine, the
//! codec and the storage trait, with one cargo feature per storage backend and
//! tower / axum integration. Until then it exports nothing.
#![forbid(unsafe_code)]
