//! PostgreSQL storage for sessions.
//!
//! **Not implemented yet.** This crate will hold the PostgreSQL backend of the
//! `session-storage` trait, using the same tables as lua-resty-session's
//! `resty.session.postgres`. Until then it exports nothing.
#![forbid(unsafe_code)]
