//! MySQL and MariaDB storage for sessions.
//!
//! **Not implemented yet.** This crate will hold the MySQL / MariaDB backend of
//! the `session-storage` trait, using the same tables as lua-resty-session's
//! `resty.session.mysql`. Until then it exports nothing.
#![forbid(unsafe_code)]
