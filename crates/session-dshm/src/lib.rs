//! ngx-distributed-shm (dshm) storage for sessions.
//!
//! **Not implemented yet.** This crate will hold a client for the
//! ngx-distributed-shm line protocol implementing the `session-storage` trait,
//! as lua-resty-session's `resty.session.dshm` does. Until then it exports
//! nothing.
#![forbid(unsafe_code)]
