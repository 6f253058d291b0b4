//! Redis storage for sessions: single instance, Sentinel and Cluster, pooled.
//!
//! **Not implemented yet.** This crate will hold the Redis backend of the
//! `session-storage` trait, wire-compatible with lua-resty-session's
//! `resty.session.redis`, `redis.sentinel` and `redis.cluster` modules (keys,
//! values, TTLs and metadata sorted sets). Until then it exports nothing.
#![forbid(unsafe_code)]
