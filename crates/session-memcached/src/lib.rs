//! Memcached storage for sessions.
//!
//! **Not implemented yet.** This crate will hold the memcached backend of the
//! `session-storage` trait, with the key escaping of lua-resty-session's
//! `resty.session.memcached`. Until then it exports nothing.
#![forbid(unsafe_code)]
