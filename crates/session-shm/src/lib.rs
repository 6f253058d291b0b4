//! In-process storage for sessions, the counterpart of an OpenResty shared dictionary.
//!
//! **Not implemented yet.** This crate will hold a bounded, TTL-aware,
//! process-wide store implementing the `session-storage` trait. Until then it
//! exports nothing.
#![forbid(unsafe_code)]
