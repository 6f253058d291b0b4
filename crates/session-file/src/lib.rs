//! File-system storage for sessions: one file per session.
//!
//! **Not implemented yet.** This crate will hold the file backend of the
//! `session-storage` trait, with the file names and mtime-based expiry of
//! lua-resty-session's `resty.session.file`. Until then it exports nothing.
#![forbid(unsafe_code)]
