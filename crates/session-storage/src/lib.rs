//! The storage trait for server-side sessions.
//!
//! **Not implemented yet.** This crate will hold the trait every server-side
//! backend implements (set with TTL, old key and metadata; get; delete; read
//! metadata) and, behind the `testkit` feature, the conformance suite every
//! backend runs against its real server. Until then it exports nothing.
#![forbid(unsafe_code)]
